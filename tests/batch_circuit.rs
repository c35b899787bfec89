//! The batch circuit against the engine: a valid batch satisfies it with the engine's
//! commitment; a witness breaking one rule (signature, padding, public data) does not; and
//! Groth16 proves and verifies it end to end, in ark-groth16 and in snarkjs.

use ark_ff::PrimeField;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use zkrollup::primitives::babyjubjub::Fl;
use zkrollup::primitives::batch::BatchCircuit;
use zkrollup::primitives::eddsa::PrivateKey;
use zkrollup::prover::{prove, prove_unchecked, setup_insecure_dev, verify};
use zkrollup::{Account, Batch, BatchParams, BatchWitness, Fr, State, Transfer};

fn key(i: u8) -> PrivateKey {
    PrivateKey::from_bytes([i; 32])
}

fn batch(depth: usize, n: usize) -> BatchWitness {
    let mut state = State::from_accounts(
        depth,
        vec![(1, Account::new(key(1).public_key(), 100, 0)), (5, Account::new(key(5).public_key(), 7, 3))],
    )
    .unwrap();
    let params = BatchParams::new(n).with_domain(Fr::from(99u64));
    let mut transfers = vec![Transfer::signed(&key(1), 1, 5, 60, 0, params.domain)];
    if n > 2 {
        transfers.push(Transfer::signed(&key(5), 5, 5, 67, 3, params.domain));
    }
    state.apply_batch(&Batch::new(transfers), &params).unwrap()
}

fn satisfied(circuit: BatchCircuit) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.generate_constraints(cs.clone()).unwrap();
    cs.is_satisfied().unwrap()
}

#[test]
fn a_valid_batch_satisfies_the_circuit_with_the_engines_commitment() {
    let w = batch(3, 3);
    let circuit = w.circuit(3);
    assert_eq!(circuit.public_commitment, w.commitment);
    assert!(satisfied(circuit));
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
    data[64 + 15] ^= 1; // slot 0's amount, lowest byte
    let mut circuit = w.circuit(3);
    circuit.public_commitment = zkrollup::primitives::commitment::commitment(&data);
    assert!(!satisfied(circuit));
}

#[test]
fn groth16_end_to_end_at_n2_d4() {
    let w = batch(4, 2);
    let (pk, vk) = setup_insecure_dev(BatchCircuit::blank(4, 2, w.domain), 2026).unwrap();
    let proof = prove(&pk, w.circuit(4)).unwrap();
    assert!(verify(&vk, &[w.commitment], &proof).unwrap());
    // The fast path (matrices built once, witness-only synthesis) proves the same statement and
    // refuses a corrupt witness.
    let fast = zkrollup::prover::fast::FastProver::new(BatchCircuit::blank(4, 2, w.domain)).unwrap();
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
    data[64 + 15] ^= 1;
    let mut bytes = w.circuit(4);
    bytes.public_commitment = zkrollup::primitives::commitment::commitment(&data);
    for (name, circuit) in [("overdraft", overdraft), ("padding amount", padding), ("public data byte", bytes)] {
        let claimed = circuit.public_commitment;
        assert!(prove(&pk, circuit.clone()).is_err(), "{name}: prove accepted it");
        let forced = prove_unchecked(&pk, circuit).unwrap();
        assert!(!verify(&vk, &[claimed], &forced).unwrap(), "{name}: a proof verified");
    }
}
