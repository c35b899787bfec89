//! Property: on random small trees and random batches, valid and invalid, the native model
//! accepts a batch exactly when the circuit is satisfied by the witness the batch implies, and
//! then the roots and the commitment agree.
//!
//! For a batch the native model rejects there is no honest witness, so the test builds the one a
//! prover would try: every slot applied with the circuit's own field arithmetic, no rule checked.

use std::collections::HashMap;

use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use zkrollup::primitives::batch::{BatchCircuit, SlotInput};
use zkrollup::primitives::eddsa::PrivateKey;
use zkrollup::primitives::poseidon::poseidon;
use zkrollup::primitives::transfer::{LeafPreimage, StepWitness};
use zkrollup::{Account, Batch, BatchParams, Fr, State, StateTree, Transfer};

const DEPTH: usize = 2; // 16 slots
const N: usize = 3;

fn key(i: u32) -> PrivateKey {
    PrivateKey::from_bytes([i as u8 + 1; 32])
}

/// The witness a prover would build for `transfers`, with no rule checked.
fn attempt(state: &State, transfers: &[Transfer], domain: Fr) -> BatchCircuit {
    let mut tree: StateTree = state.tree().clone();
    let mut leaves: HashMap<u32, (Fr, Fr, Fr, Fr)> = state
        .accounts()
        .into_iter()
        .map(|(i, a)| (i, (a.pubkey.x(), a.pubkey.y(), Fr::from(a.balance), Fr::from(a.nonce))))
        .collect();
    // The circuit witness holds u64s; a value outside u64 (only reachable after an invalid
    // slot) is cut to its low 64 bits, which changes nothing: the batch is already unsatisfiable.
    let to_u64 = |x: Fr| -> u64 {
        let bytes = ark_ff::BigInteger::to_bytes_le(&ark_ff::PrimeField::into_bigint(x));
        u64::from_le_bytes(bytes[..8].try_into().unwrap())
    };
    let preimage = |leaves: &HashMap<u32, (Fr, Fr, Fr, Fr)>, i: u32| {
        leaves.get(&i).map_or_else(LeafPreimage::default, |&(ax, ay, b, n)| LeafPreimage { ax, ay, balance: to_u64(b), nonce: to_u64(n) })
    };
    let mut slots = Vec::new();
    let mut padded = transfers.to_vec();
    padded.resize(N, Transfer::PADDING);
    for t in &padded {
        let sender = preimage(&leaves, t.from);
        let sender_path = tree.path(u64::from(t.from)).unwrap();
        if !t.is_padding() {
            let (ax, ay, b, n) = leaves.get(&t.from).copied().unwrap_or_default();
            let updated = (ax, ay, b - Fr::from(t.amount), n + Fr::from(1u64));
            tree.set_leaf(u64::from(t.from), poseidon(&[updated.0, updated.1, updated.2, updated.3])).unwrap();
            leaves.insert(t.from, updated);
        }
        let receiver = preimage(&leaves, t.to);
        let receiver_path = tree.path(u64::from(t.to)).unwrap();
        if !t.is_padding() {
            let (ax, ay, b, n) = leaves.get(&t.to).copied().unwrap_or_default();
            let updated = (ax, ay, b + Fr::from(t.amount), n);
            tree.set_leaf(u64::from(t.to), poseidon(&[updated.0, updated.1, updated.2, updated.3])).unwrap();
            leaves.insert(t.to, updated);
        }
        let step = StepWitness { from: t.from, to: t.to, amount: t.amount, nonce: t.nonce, sender, sender_path, receiver, receiver_path };
        slots.push(SlotInput { step, signature: if t.is_padding() { None } else { t.signature } });
    }
    let mut circuit = BatchCircuit::new(DEPTH, domain, state.root(), slots);
    // The commitment the batch's public data would have if it were applied as written.
    let public: Vec<(u32, u32, u64)> = padded.iter().map(|t| t.public_slot()).collect();
    let data = zkrollup::primitives::commitment::public_data(state.root(), tree.root(), &public);
    circuit.public_commitment = zkrollup::primitives::commitment::commitment(&data);
    circuit
}

fn random_state(rng: &mut StdRng) -> State {
    let mut accounts = Vec::new();
    for i in 1..16u32 {
        if rng.gen_bool(0.6) {
            let balance = if rng.gen_bool(0.2) { u64::MAX - rng.gen_range(0..50) } else { rng.gen_range(0..100) };
            let nonce = if rng.gen_bool(0.1) { u64::MAX } else { rng.gen_range(0..3) };
            accounts.push((i, Account::new(key(i).public_key(), balance, nonce)));
        }
    }
    State::from_accounts(DEPTH, accounts).unwrap()
}

/// A transfer that is often valid and otherwise wrong in one of many ways.
fn random_transfer(rng: &mut StdRng, state: &State, nonces: &mut HashMap<u32, u64>, domain: Fr) -> Transfer {
    if rng.gen_bool(0.1) {
        // Padding, sometimes with a stray field.
        let stray = rng.gen_bool(0.3);
        return Transfer { amount: if stray { 1 } else { 0 }, ..Transfer::PADDING };
    }
    let from = rng.gen_range(1..16u32);
    let to = if rng.gen_bool(0.05) { 0 } else { rng.gen_range(1..16u32) };
    let nonce = *nonces.entry(from).or_insert_with(|| state.account(from).map_or(0, |a| a.nonce));
    let nonce = if rng.gen_bool(0.1) { nonce.wrapping_add(1) } else { nonce };
    let balance = state.account(from).map_or(0, |a| a.balance);
    let amount = match rng.gen_range(0..10) {
        0 => balance.saturating_add(1),
        1 => rng.gen_range(0..60),
        _ => rng.gen_range(0..=balance.min(30)),
    };
    let signer = if rng.gen_bool(0.05) { key(from + 1) } else { key(from) };
    let t = Transfer::signed(&signer, from, to, amount, nonce, domain);
    nonces.insert(from, nonce.wrapping_add(1));
    t
}

fn satisfied(circuit: BatchCircuit) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.generate_constraints(cs.clone()).unwrap();
    cs.is_satisfied().unwrap()
}

#[test]
fn native_model_accepts_exactly_when_the_circuit_is_satisfied() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let domain = Fr::from(3u64);
    let params = BatchParams::new(N).with_domain(domain);
    let (mut accepted, mut rejected) = (0, 0);
    for case in 0..24 {
        let state = random_state(&mut rng);
        let mut nonces = HashMap::new();
        let count = rng.gen_range(1..=N);
        let transfers: Vec<Transfer> = (0..count).map(|_| random_transfer(&mut rng, &state, &mut nonces, domain)).collect();
        let circuit = attempt(&state, &transfers, domain);
        let mut native = state.clone();
        match native.apply_batch(&Batch::new(transfers.clone()), &params) {
            Ok(w) => {
                accepted += 1;
                assert_eq!(circuit.public_commitment, w.commitment, "case {case}: commitment");
                assert_eq!(w.circuit(DEPTH).slots, circuit.slots, "case {case}: witness");
                assert!(satisfied(circuit), "case {case}: native accepts, circuit unsatisfied: {transfers:?}");
            }
            Err(e) => {
                rejected += 1;
                assert!(!satisfied(circuit), "case {case}: native rejects ({e}), circuit satisfied: {transfers:?}");
            }
        }
    }
    // The generator must exercise both sides.
    assert!(accepted >= 4 && rejected >= 4, "accepted {accepted}, rejected {rejected}");
}
