//! The batch circuit against the engine: a valid v2 batch (L1 requests, transfers, a
//! withdrawal) satisfies it with the engine's commitment; a witness breaking one rule
//! (signature, kind of message, domain, batch id, padding, queue order, public data) does not;
//! and Groth16 proves and verifies it end to end, and no forced proof of a bad witness verifies.

use ark_ff::PrimeField;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use zkrollup::primitives::babyjubjub::Fl;
use zkrollup::primitives::batch::BatchCircuit;
use zkrollup::primitives::eddsa::PrivateKey;
use zkrollup::prover::{prove, prove_unchecked, setup_insecure_dev, verify};
use zkrollup::primitives::commitment::commitment;
use zkrollup::primitives::request::RequestKind;
use zkrollup::{Account, Batch, BatchParams, BatchWitness, Fr, Request, State, Transfer};

fn key(i: u8) -> PrivateKey {
    PrivateKey::from_bytes([i; 32])
}

const DOMAIN: u64 = 99;
const BATCH_ID: u64 = 12;
const M: usize = 3;
/// Where L2 slot 0 starts in the public data.
const L2: usize = 104 + 45 * M;

/// Accounts 1 and 5; L1: a new account 6, a deposit to 5, a full exit of 1 after it paid;
/// L2: 1 -> 5, a withdrawal from 5 and (for n > 2) a self-transfer of 5.
fn batch(depth: usize, n: usize) -> BatchWitness {
    let mut state = State::from_accounts(
        depth,
        vec![(1, Account::new(key(1).public_key(), 100, 0)), (5, Account::new(key(5).public_key(), 7, 3))],
    )
    .unwrap();
    let params = BatchParams::new(n, Fr::from(DOMAIN)).with_l1_slots(M).with_batch_id(BATCH_ID);
    let mut transfers = vec![Transfer::signed(&key(1), 1, 5, 60, 0, params.domain), Transfer::signed(&key(5), 5, 0, 9, 3, params.domain)];
    if n > 2 {
        transfers.push(Transfer::signed(&key(5), 5, 5, 60, 4, params.domain));
    }
    let k6 = key(6).public_key();
    let requests = vec![Request::deposit_new(6, 30, (k6.x(), k6.y()), [6; 20]), Request::deposit(5, 2, [5; 20])];
    state.apply_batch(&Batch::new(transfers).with_requests(requests), &params).unwrap()
}

fn satisfied(circuit: BatchCircuit) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.generate_constraints(cs.clone()).unwrap();
    cs.is_satisfied().unwrap()
}

/// The circuit with its claimed commitment taken from `data` (what the contract would compute).
fn claiming(w: &BatchWitness, data: &[u8]) -> BatchCircuit {
    let mut circuit = w.circuit(3);
    circuit.public_commitment = commitment(data);
    circuit
}

#[test]
fn a_valid_batch_satisfies_the_circuit_with_the_engines_commitment() {
    let w = batch(3, 4);
    let circuit = w.circuit(3);
    assert_eq!(circuit.public_commitment, w.commitment);
    assert_eq!(circuit.public_data().unwrap(), w.public_data);
    assert!(satisfied(circuit));
}

#[test]
fn a_transfer_signature_on_a_withdrawal_and_the_reverse_are_unsatisfied() {
    let w = batch(3, 3);
    // Slot 1 is a withdrawal of 9 from 5: sign its values as a transfer to 1 instead.
    let mut circuit = w.circuit(3);
    let as_transfer = Transfer { to: 1, ..w.slots[1].transfer };
    circuit.slots[1].signature = Some(key(5).sign(as_transfer.message(w.domain)));
    assert!(!satisfied(circuit));
    // Slot 0 is a transfer 1 -> 5: sign its values as a withdrawal instead.
    let mut circuit = w.circuit(3);
    let as_withdrawal = Transfer { to: 0, ..w.slots[0].transfer };
    circuit.slots[0].signature = Some(key(1).sign(as_withdrawal.message(w.domain)));
    assert!(!satisfied(circuit));
}

#[test]
fn a_domain_other_than_the_one_signed_is_unsatisfied() {
    // The contract hashes its own domain into the public data; signatures were made for 99.
    let w = batch(3, 3);
    let mut data = w.public_data.clone();
    data[31] ^= 1;
    assert!(!satisfied(claiming(&w, &data)));
    let mut circuit = w.circuit(3);
    circuit.domain += Fr::from(1u64);
    circuit.public_commitment = circuit.commitment().unwrap();
    assert!(!satisfied(circuit));
}

#[test]
fn batch_k_offered_as_batch_k_plus_1_is_unsatisfied() {
    let w = batch(3, 3);
    let mut data = w.public_data.clone();
    data[32..40].copy_from_slice(&(BATCH_ID + 1).to_be_bytes());
    assert!(!satisfied(claiming(&w, &data)));
}

#[test]
fn non_zero_l1_padding_and_padding_before_a_request_are_unsatisfied() {
    let w = batch(3, 3);
    assert_eq!(w.requests[2].kind, RequestKind::Padding);
    for byte in [0, 4, 12, 44] {
        let mut data = w.public_data.clone();
        data[104 + 90 + byte] = 1;
        assert!(!satisfied(claiming(&w, &data)), "L1 padding byte {byte}");
    }
    let mut circuit = w.circuit(3);
    circuit.requests[2].amount = 1;
    assert!(!satisfied(circuit));
    // Padding, then the requests: each slot's step is valid on its own, the order is not.
    let mut circuit = w.circuit(3);
    let mut reordered = batch(3, 3);
    let pad = zkrollup::primitives::request::RequestWitness::padding(reordered.requests[0].path.clone());
    reordered.requests.rotate_right(1);
    reordered.requests[0] = pad;
    circuit.requests = reordered.requests;
    assert!(!satisfied(circuit));
}

#[test]
fn l1_rules_broken_inside_the_batch_are_unsatisfied() {
    let w = batch(3, 3);
    // A DepositNew onto the slot of account 5.
    let mut circuit = w.circuit(3);
    circuit.requests[0].index = 5;
    circuit.requests[0].path = w.requests[1].path.clone();
    assert!(!satisfied(circuit));
    // A Deposit onto the empty slot 7.
    let mut circuit = w.circuit(3);
    circuit.requests[1].index = 7;
    assert!(!satisfied(circuit));
    // The DepositNew's key with the other sign bit.
    let mut circuit = w.circuit(3);
    circuit.requests[0].key.sign = !circuit.requests[0].key.sign;
    assert!(!satisfied(circuit));
}

#[test]
fn a_withdrawal_over_the_balance_is_unsatisfied() {
    let w = batch(3, 3);
    let mut circuit = w.circuit(3);
    circuit.slots[1].step.amount = 7 + 60 + 2 + 1;
    circuit.slots[1].signature = Some(key(5).sign(Transfer { amount: 70, ..w.slots[1].transfer }.message(w.domain)));
    assert!(!satisfied(circuit));
}

#[test]
fn a_signature_by_another_key_is_unsatisfied() {
    let w = batch(3, 3);
    let mut circuit = w.circuit(3);
    let t = &w.slots[0].transfer;
    circuit.slots[0].signature = Some(key(2).sign(t.message(w.domain)));
    assert!(!satisfied(circuit));
}

#[test]
fn a_malleated_signature_s_plus_l_is_unsatisfied() {
    let w = batch(3, 3);
    let mut circuit = w.circuit(3);
    let sig = circuit.slots[1].signature.as_mut().unwrap();
    sig.s += Fr::from_bigint(Fl::MODULUS).unwrap();
    assert!(!satisfied(circuit));
}

#[test]
fn a_signature_for_another_domain_is_unsatisfied() {
    let w = batch(3, 3);
    let mut circuit = w.circuit(3);
    circuit.slots[0].signature = Some(key(1).sign(w.slots[0].transfer.message(Fr::from(98u64))));
    assert!(!satisfied(circuit));
}

#[test]
fn padding_with_a_non_zero_amount_or_a_signature_is_unsatisfied() {
    let w = batch(3, 3);
    let mut circuit = w.circuit(3);
    circuit.slots[2].step.amount = 1;
    assert!(!satisfied(circuit));
    let mut circuit = w.circuit(3);
    circuit.slots[2].signature = Some(key(1).sign(Fr::from(0u64)));
    assert!(!satisfied(circuit));
}

#[test]
fn public_data_that_differs_from_the_transfer_proved_is_unsatisfied() {
    let w = batch(3, 3);
    let mut data = w.public_data.clone();
    data[L2 + 15] ^= 1; // slot 0's amount, lowest byte
    assert!(!satisfied(claiming(&w, &data)));
}

#[test]
fn groth16_end_to_end_at_n2_d4() {
    let w = batch(4, 2);
    let shape = w.circuit(4).shape();
    let (pk, vk) = setup_insecure_dev(BatchCircuit::blank(shape), 2026).unwrap();
    let proof = prove(&pk, w.circuit(4)).unwrap();
    assert!(verify(&vk, &[w.commitment], &proof).unwrap());
    // The fast path (matrices built once, witness-only synthesis) proves the same statement and
    // refuses a corrupt witness.
    let fast = zkrollup::prover::fast::FastProver::new(BatchCircuit::blank(shape)).unwrap();
    assert!(verify(&vk, &[w.commitment], &fast.prove(&pk, w.circuit(4)).unwrap()).unwrap());
    let mut corrupt = w.circuit(4);
    corrupt.slots[0].step.amount += 1;
    assert!(matches!(fast.prove(&pk, corrupt), Err(zkrollup::prover::ProverError::Unsatisfied(_))));
    assert!(!verify(&vk, &[w.commitment + Fr::from(1u64)], &proof).unwrap());
    // A witness with a foreign signature: prove refuses it, and forcing a proof gives one that
    // does not verify.
    let mut bad = w.circuit(4);
    bad.slots[0].signature = Some(key(2).sign(w.slots[0].transfer.message(w.domain)));
    assert!(prove(&pk, bad.clone()).is_err());
    let forced = prove_unchecked(&pk, bad).unwrap();
    assert!(!verify(&vk, &[w.commitment], &forced).unwrap());
    // More witnesses that break one rule each: none gives a proof that verifies.
    let mut overdraft = w.circuit(4);
    overdraft.slots[0].step.amount = 101;
    let mut padding = w.circuit(4);
    padding.slots[1].step.amount = 1;
    let mut data = w.public_data.clone();
    data[L2 + 15] ^= 1;
    let mut bytes = w.circuit(4);
    bytes.public_commitment = commitment(&data);
    let mut next = w.public_data.clone();
    next[32..40].copy_from_slice(&(BATCH_ID + 1).to_be_bytes());
    let mut exit = w.circuit(4);
    exit.requests[1].kind = RequestKind::FullExit;
    let cases = [
        ("overdraft", overdraft),
        ("padding amount", padding),
        ("public data byte", bytes),
        ("a deposit turned into a full exit of less than the balance", exit),
    ];
    for (name, circuit) in cases {
        let claimed = circuit.public_commitment;
        assert!(prove(&pk, circuit.clone()).is_err(), "{name}: prove accepted it");
        let forced = prove_unchecked(&pk, circuit).unwrap();
        assert!(!verify(&vk, &[claimed], &forced).unwrap(), "{name}: a proof verified");
    }
    // The valid proof of batch 12 does not verify as batch 13's.
    assert!(!verify(&vk, &[commitment(&next)], &proof).unwrap());
}
