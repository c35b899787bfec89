//! The L1 request gadget against the engine and its native twin: every L1 slot of real batches
//! satisfies it with the engine's roots and public data; a witness that breaks exactly one rule
//! of SPEC-v2 section 3 is rejected by both twins, and the gadget names the failing constraint.

mod common;

use ark_ec::CurveGroup;
use ark_r1cs_std::{alloc::AllocVar, fields::fp::FpVar, GR1CSVar};
use zkrollup::primitives::babyjubjub::{is_negative, torsion_points};
use zkrollup::primitives::eddsa::PrivateKey;
use zkrollup::primitives::request::constraints::request_var;
use zkrollup::primitives::request::{apply_request, RequestFault, RequestKind, RequestWitness, SlotKey};
use zkrollup::primitives::transfer::LeafPreimage;
use zkrollup::{Account, Batch, BatchParams, Fr, Request, State};

const DEPTH: usize = 2;
const ADDR: [u8; 20] = [9; 20];

fn key(i: u8) -> PrivateKey {
    PrivateKey::from_bytes([i; 32])
}

fn state() -> State {
    State::from_accounts(
        DEPTH,
        vec![
            (1, Account::new(key(1).public_key(), 1000, 4)),
            (2, Account::new(key(2).public_key(), u64::MAX - 5, 0)),
            (7, Account::new(key(7).public_key(), 3, 9)),
        ],
    )
    .unwrap()
}

/// Run the gadget: (the first unsatisfied constraint's namespace path, root after, public bytes).
fn run(root_before: Fr, w: &RequestWitness) -> (Option<String>, Fr, Vec<u8>) {
    let (failing, (root, bytes)) = common::gadget::first_unsatisfied(|cs| {
        let root = FpVar::new_witness(cs.clone(), || Ok(root_before)).unwrap();
        let out = request_var(cs, DEPTH, &root, w).unwrap();
        (out.root_after.value().unwrap(), common::gadget::bytes(&out.public_bits))
    });
    (failing, root, bytes)
}

/// Both twins reject `w`; the gadget's first failing constraint is in namespace `constraint`.
fn rejected(root: Fr, w: &RequestWitness, fault: RequestFault, constraint: &str) {
    assert_eq!(apply_request(DEPTH, root, w), Err(fault), "native twin");
    let failing = run(root, w).0.unwrap_or_else(|| panic!("gadget satisfied by a witness breaking {fault:?}"));
    assert!(failing.contains(constraint), "{fault:?}: first failing constraint is {failing}, expected {constraint}");
}

/// A request's witness straight from the state, with no rule checked.
fn manual(s: &State, kind: RequestKind, index: u32, amount: u64, key: SlotKey) -> (Fr, RequestWitness) {
    let leaf = s.account(index).map_or_else(LeafPreimage::default, |a| a.preimage());
    let path = s.tree().path(u64::from(index)).unwrap();
    (s.root(), RequestWitness { kind, index, amount, key, leaf, path })
}

fn slot_key(i: u8) -> SlotKey {
    SlotKey::of(&key(i).public_key())
}

#[test]
fn every_l1_slot_of_a_real_batch_satisfies_the_gadget() {
    let mut s = state();
    let params = BatchParams::new(1, Fr::from(1u64)).with_l1_slots(5);
    let k = key(9).public_key();
    let requests = vec![
        Request::deposit_new(3, 40, (k.x(), k.y()), ADDR),
        Request::deposit(3, 2, ADDR),
        Request::deposit(2, 5, ADDR),
        Request::full_exit(1, ADDR),
    ];
    let w = s.apply_batch(&Batch::new(vec![]).with_requests(requests), &params).unwrap();
    let mut root = w.old_root;
    for (i, r) in w.requests.iter().enumerate() {
        let after = apply_request(DEPTH, root, r).unwrap_or_else(|e| panic!("slot {i}, native twin: {e:?}"));
        let (failing, gadget_root, bytes) = run(root, r);
        assert_eq!(failing, None, "slot {i}");
        assert_eq!(gadget_root, after, "slot {i} root");
        assert_eq!(bytes, w.public_data[104 + 45 * i..149 + 45 * i], "slot {i} public bytes");
        root = after;
    }
    assert_eq!(w.requests[4].kind, RequestKind::Padding);
    assert_eq!(root, w.new_root);
}

#[test]
fn deposit_new_onto_an_occupied_slot() {
    let (root, w) = manual(&state(), RequestKind::DepositNew, 1, 5, slot_key(9));
    rejected(root, &w, RequestFault::AccountExists, "no account preimage unless Deposit or FullExit");
    let (root, mut w) = manual(&state(), RequestKind::DepositNew, 1, 5, slot_key(9));
    w.leaf = LeafPreimage::default();
    rejected(root, &w, RequestFault::AccountExists, "L1 slot leaf in tree");
}

#[test]
fn deposit_or_full_exit_onto_an_empty_slot() {
    let (root, w) = manual(&state(), RequestKind::Deposit, 3, 5, SlotKey::default());
    rejected(root, &w, RequestFault::NoAccount, "L1 slot leaf in tree");
    let (root, w) = manual(&state(), RequestKind::FullExit, 3, 0, SlotKey::default());
    rejected(root, &w, RequestFault::NoAccount, "L1 slot leaf in tree");
}

#[test]
fn full_exit_amount_other_than_the_balance() {
    let (root, w) = manual(&state(), RequestKind::FullExit, 1, 999, SlotKey::default());
    rejected(root, &w, RequestFault::WrongExitAmount, "FullExit amount is the balance");
    let (root, w) = manual(&state(), RequestKind::FullExit, 1, 0, SlotKey::default());
    rejected(root, &w, RequestFault::WrongExitAmount, "FullExit amount is the balance");
}

#[test]
fn deposit_overflowing_the_balance() {
    let (root, w) = manual(&state(), RequestKind::Deposit, 2, 6, SlotKey::default());
    rejected(root, &w, RequestFault::BalanceOverflow, "L1 balance below 2^64");
}

#[test]
fn off_curve_wrong_sign_and_small_order_keys() {
    let s = state();
    let k = slot_key(9);
    let ns = "DepositNew key recovered from its packed form";
    let (root, w) = manual(&s, RequestKind::DepositNew, 3, 5, SlotKey { y: k.y + Fr::from(1u64), ..k });
    rejected(root, &w, RequestFault::BadKey, ns);
    let (root, w) = manual(&s, RequestKind::DepositNew, 3, 5, SlotKey { sign: !k.sign, ..k });
    rejected(root, &w, RequestFault::BadKey, ns);
    let (root, w) = manual(&s, RequestKind::DepositNew, 3, 5, SlotKey { x: -k.x, ..k });
    rejected(root, &w, RequestFault::BadKey, ns);
    for t in torsion_points() {
        let (root, w) = manual(&s, RequestKind::DepositNew, 3, 5, SlotKey { x: t.x, y: t.y, sign: is_negative(t.x) });
        rejected(root, &w, RequestFault::BadKey, ns);
    }
    // Outside the subgroup but 8·A != identity: accepted.
    let p = (key(9).public_key().point() + torsion_points()[5]).into_affine();
    let (root, w) = manual(&s, RequestKind::DepositNew, 3, 5, SlotKey { x: p.x, y: p.y, sign: is_negative(p.x) });
    assert!(apply_request(DEPTH, root, &w).is_ok() && run(root, &w).0.is_none());
}

#[test]
fn a_key_on_a_slot_that_is_not_a_deposit_new() {
    let (root, w) = manual(&state(), RequestKind::Deposit, 1, 5, slot_key(9));
    rejected(root, &w, RequestFault::KeyNotEmpty, "DepositNew key recovered from its packed form");
}

#[test]
fn non_zero_l1_padding() {
    let s = state();
    let (root, pad) = manual(&s, RequestKind::Padding, 0, 0, SlotKey::default());
    assert!(run(root, &pad).0.is_none() && apply_request(DEPTH, root, &pad) == Ok(root));
    let (_, w) = manual(&s, RequestKind::Padding, 0, 1, SlotKey::default());
    rejected(root, &w, RequestFault::PaddingNotEmpty, "L1 padding is all zero");
    let (_, w) = manual(&s, RequestKind::Padding, 0, 0, slot_key(9));
    rejected(root, &w, RequestFault::PaddingNotEmpty, "DepositNew key recovered from its packed form");
    let (_, mut w) = manual(&s, RequestKind::Padding, 0, 0, SlotKey::default());
    w.leaf.balance = 1;
    rejected(root, &w, RequestFault::PaddingNotEmpty, "no account preimage unless Deposit or FullExit");
}

#[test]
fn deposit_new_at_slot_zero_or_outside_the_tree() {
    let (root, w) = manual(&state(), RequestKind::DepositNew, 0, 5, slot_key(9));
    rejected(root, &w, RequestFault::ReservedIndex, "request index is not slot 0");
    let (root, mut w) = manual(&state(), RequestKind::DepositNew, 3, 5, slot_key(9));
    w.index = 16 + 3;
    rejected(root, &w, RequestFault::IndexOutOfRange, "index below 4^depth");
}
