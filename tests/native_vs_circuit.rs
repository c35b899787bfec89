//! Property: on random small trees and random mixed batches of all five operations (DepositNew,
//! Deposit, FullExit, transfer, withdrawal), valid and invalid, the native model accepts a batch
//! exactly when the circuit is satisfied by the witness the batch implies, and then the roots and
//! the commitment agree.
//!
//! For a batch the native model rejects there is no honest witness, so the test builds the one a
//! prover would try: every slot applied with the circuit's own field arithmetic, no rule checked.

use std::collections::HashMap;

use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use ark_ec::CurveGroup;
use zkrollup::primitives::babyjubjub::{is_negative, torsion_points};
use zkrollup::primitives::batch::{BatchCircuit, SlotInput};
use zkrollup::primitives::commitment::Header;
use zkrollup::primitives::eddsa::PrivateKey;
use zkrollup::primitives::poseidon::poseidon;
use zkrollup::primitives::request::{RequestWitness, SlotKey};
use zkrollup::primitives::transfer::{LeafPreimage, StepWitness};
use zkrollup::{Account, Batch, BatchParams, Fr, Request, RequestKind, State, StateTree, Transfer};

const DEPTH: usize = 2; // 16 slots
const N: usize = 3;
const M: usize = 2;

fn key(i: u32) -> PrivateKey {
    PrivateKey::from_bytes([i as u8 + 1; 32])
}

/// The witness a prover would build for `batch`, with no rule checked.
fn attempt(state: &State, batch: &Batch, params: &BatchParams) -> BatchCircuit {
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
    let set = |tree: &mut StateTree, leaves: &mut HashMap<u32, (Fr, Fr, Fr, Fr)>, i: u32, v: (Fr, Fr, Fr, Fr)| {
        tree.set_leaf(u64::from(i), poseidon(&[v.0, v.1, v.2, v.3])).unwrap();
        leaves.insert(i, v);
    };

    let mut requests = Vec::new();
    for r in &batch.requests {
        let leaf = preimage(&leaves, r.index);
        let path = tree.path(u64::from(r.index)).unwrap();
        let (ax, ay, b, n) = leaves.get(&r.index).copied().unwrap_or_default();
        let (amount, key, after) = match r.kind {
            RequestKind::DepositNew => {
                let (x, y) = r.pubkey.unwrap();
                let key = SlotKey { x, y, sign: is_negative(x) };
                (r.amount, key, (x, y, Fr::from(r.amount), Fr::from(0u64)))
            }
            RequestKind::Deposit => (r.amount, SlotKey::default(), (ax, ay, b + Fr::from(r.amount), n)),
            _ => {
                let amount = if r.amount == 0 { leaf.balance } else { r.amount };
                (amount, SlotKey::default(), (ax, ay, Fr::from(0u64), n))
            }
        };
        set(&mut tree, &mut leaves, r.index, after);
        requests.push(RequestWitness { kind: r.kind, index: r.index, amount, key, leaf, path });
    }
    while requests.len() < params.l1_slots {
        requests.push(RequestWitness::padding(tree.path(0).unwrap()));
    }

    let mut slots = Vec::new();
    let mut padded = batch.transfers.clone();
    padded.resize(params.batch_size, Transfer::PADDING);
    for t in &padded {
        let sender = preimage(&leaves, t.from);
        let sender_path = tree.path(u64::from(t.from)).unwrap();
        if !t.is_padding() {
            let (ax, ay, b, n) = leaves.get(&t.from).copied().unwrap_or_default();
            set(&mut tree, &mut leaves, t.from, (ax, ay, b - Fr::from(t.amount), n + Fr::from(1u64)));
        }
        let receiver = if t.is_withdrawal() { LeafPreimage::default() } else { preimage(&leaves, t.to) };
        let receiver_path = tree.path(u64::from(t.to)).unwrap();
        if !t.is_padding() && !t.is_withdrawal() {
            let (ax, ay, b, n) = leaves.get(&t.to).copied().unwrap_or_default();
            set(&mut tree, &mut leaves, t.to, (ax, ay, b + Fr::from(t.amount), n));
        }
        let step = StepWitness { from: t.from, to: t.to, amount: t.amount, nonce: t.nonce, sender, sender_path, receiver, receiver_path };
        slots.push(SlotInput { step, signature: if t.is_padding() { None } else { t.signature } });
    }
    let mut circuit = BatchCircuit::new(DEPTH, (params.domain, params.batch_id), state.root(), requests, slots);
    // The commitment the batch's public data would have if it were applied as written.
    let header = Header { domain: params.domain, batch_id: params.batch_id, old_root: state.root(), new_root: tree.root() };
    let l1: Vec<_> = circuit.requests.iter().map(RequestWitness::public_bytes).collect();
    let public: Vec<(u32, u32, u64)> = padded.iter().map(|t| t.public_slot()).collect();
    let data = zkrollup::primitives::commitment::public_data(&header, &l1, &public);
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

/// Usually an index that holds an account, sometimes any index.
fn some_account(rng: &mut StdRng, state: &State) -> u32 {
    let held: Vec<u32> = state.accounts().into_iter().map(|(i, _)| i).collect();
    if held.is_empty() || rng.gen_bool(0.1) {
        rng.gen_range(1..16u32)
    } else {
        held[rng.gen_range(0..held.len())]
    }
}

/// An L1 request that is often valid and otherwise wrong in one of many ways.
fn random_request(rng: &mut StdRng, state: &State, next_new: &mut u32) -> Request {
    let addr = [7; 20];
    match rng.gen_range(0..3) {
        0 => {
            // A new account, usually at a free index; its key usually valid, sometimes off the
            // curve, of small order, or outside the subgroup (which is allowed).
            let index = if rng.gen_bool(0.1) { rng.gen_range(1..16u32) } else { *next_new };
            *next_new += 1;
            let key = key(index + 20).public_key();
            let torsion = torsion_points();
            let pubkey = match rng.gen_range(0..16) {
                0 => (key.x(), key.y() + Fr::from(1u64)),
                1 => {
                    let t = torsion[rng.gen_range(0..8)];
                    (t.x, t.y)
                }
                2 => {
                    let p = (key.point() + torsion[rng.gen_range(1..8)]).into_affine();
                    (p.x, p.y)
                }
                _ => (key.x(), key.y()),
            };
            let amount = if rng.gen_bool(0.05) { u64::MAX } else { rng.gen_range(0..100) };
            Request::deposit_new(index, amount, pubkey, addr)
        }
        1 => {
            let index = some_account(rng, state);
            let amount = if rng.gen_bool(0.15) { u64::MAX - rng.gen_range(0..10) } else { rng.gen_range(0..100) };
            Request::deposit(index, amount, addr)
        }
        _ => {
            let index = some_account(rng, state);
            let balance = state.account(index).map_or(0, |a| a.balance);
            let amount = match rng.gen_range(0..8) {
                0 => balance,
                1 => balance.wrapping_add(1),
                _ => 0,
            };
            Request { amount, ..Request::full_exit(index, addr) }
        }
    }
}

/// A transfer or withdrawal that is often valid and otherwise wrong in one of many ways.
fn random_transfer(rng: &mut StdRng, state: &State, nonces: &mut HashMap<u32, u64>, domain: Fr) -> Transfer {
    if rng.gen_bool(0.1) {
        // Padding, sometimes with a stray field.
        let stray = rng.gen_bool(0.3);
        return Transfer { amount: if stray { 1 } else { 0 }, ..Transfer::PADDING };
    }
    let from = some_account(rng, state);
    let to = if rng.gen_bool(0.3) { 0 } else { rng.gen_range(1..16u32) };
    let nonce = *nonces.entry(from).or_insert_with(|| state.account(from).map_or(0, |a| a.nonce));
    let nonce = if rng.gen_bool(0.1) { nonce.wrapping_add(1) } else { nonce };
    let balance = state.account(from).map_or(0, |a| a.balance);
    let amount = match rng.gen_range(0..10) {
        0 => balance.saturating_add(1),
        1 => rng.gen_range(0..60),
        _ => rng.gen_range(0..=balance.min(30)),
    };
    let signer = if rng.gen_bool(0.05) { key(from + 1) } else { key(from) };
    let mut t = Transfer::signed(&signer, from, to, amount, nonce, domain);
    if rng.gen_bool(0.05) {
        // A transfer's signature on a withdrawal, or the reverse.
        let swapped = Transfer { to: if to == 0 { 1 } else { 0 }, ..t };
        t.signature = Transfer::signed(&signer, from, swapped.to, amount, nonce, domain).signature;
    }
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
    let (mut accepted, mut rejected) = (0, 0);
    let mut kinds = [0usize; 5]; // accepted batches with DepositNew, Deposit, FullExit, transfer, withdrawal
    for case in 0..48 {
        let params = BatchParams::new(N, domain).with_l1_slots(M).with_batch_id(case + 1);
        let state = random_state(&mut rng);
        let mut next_new = (1..16u32).find(|&i| state.account(i).is_none()).unwrap_or(15);
        let requests: Vec<Request> =
            (0..rng.gen_range(0..=M)).map(|_| random_request(&mut rng, &state, &mut next_new)).collect();
        let mut nonces = HashMap::new();
        let count = rng.gen_range(1..=N - usize::from(!requests.is_empty()));
        let transfers: Vec<Transfer> = (0..count).map(|_| random_transfer(&mut rng, &state, &mut nonces, domain)).collect();
        let batch = Batch::new(transfers).with_requests(requests);
        let circuit = attempt(&state, &batch, &params);
        let mut native = state.clone();
        match native.apply_batch(&batch, &params) {
            Ok(w) => {
                accepted += 1;
                for r in &batch.requests {
                    kinds[r.kind.type_byte() as usize - 1] += 1;
                }
                for t in batch.transfers.iter().filter(|t| !t.is_padding()) {
                    kinds[if t.is_withdrawal() { 4 } else { 3 }] += 1;
                }
                assert_eq!(circuit.public_commitment, w.commitment, "case {case}: commitment");
                assert_eq!(w.circuit(DEPTH).requests, circuit.requests, "case {case}: L1 witness");
                assert_eq!(w.circuit(DEPTH).slots, circuit.slots, "case {case}: L2 witness");
                assert!(satisfied(circuit), "case {case}: native accepts, circuit unsatisfied: {batch:?}");
            }
            Err(e) => {
                rejected += 1;
                assert!(!satisfied(circuit), "case {case}: native rejects ({e}), circuit satisfied: {batch:?}");
            }
        }
    }
    // The generator must exercise both sides, and every operation in accepted batches.
    assert!(accepted >= 6 && rejected >= 6, "accepted {accepted}, rejected {rejected}");
    assert!(kinds.iter().all(|&k| k >= 1), "operations in accepted batches: {kinds:?}");
}
