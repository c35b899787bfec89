//! The step gadget (one slot's state transition, signature aside) against the engine and its
//! native twin: every slot of real batches satisfies it with the engine's roots and public data;
//! a witness that breaks exactly one rule is rejected by both the native twin and the gadget.

mod common;

use ark_r1cs_std::{alloc::AllocVar, fields::fp::FpVar, GR1CSVar};
use zkrollup::primitives::eddsa::PrivateKey;
use zkrollup::primitives::transfer::constraints::step_var;
use zkrollup::primitives::transfer::{apply_step, LeafPreimage, StepFault, StepWitness};
use zkrollup::{Account, Batch, BatchParams, Fr, State, StateTree, Transfer};

const DEPTH: usize = 2;

fn key(i: u8) -> PrivateKey {
    PrivateKey::from_bytes([i; 32])
}

fn state() -> State {
    State::from_accounts(
        DEPTH,
        vec![
            (1, Account::new(key(1).public_key(), 1000, 4)),
            (2, Account::new(key(2).public_key(), u64::MAX - 5, 0)),
            (7, Account::new(key(7).public_key(), 3, u64::MAX)),
            (15, Account::new(key(15).public_key(), 0, 0)),
        ],
    )
    .unwrap()
}

/// Run the gadget: (the first unsatisfied constraint's namespace path, root after, public bytes).
fn run(root_before: Fr, w: &StepWitness) -> (Option<String>, Fr, Vec<u8>) {
    let (failing, (root, bytes)) = common::gadget::first_unsatisfied(|cs| {
        let root = FpVar::new_witness(cs.clone(), || Ok(root_before)).unwrap();
        let out = step_var(cs, DEPTH, &root, w).unwrap();
        (out.root_after.value().unwrap(), common::gadget::bytes(&out.public_bits))
    });
    (failing, root, bytes)
}

fn gadget(root_before: Fr, w: &StepWitness) -> (bool, Fr, Vec<u8>) {
    let (failing, root, bytes) = run(root_before, w);
    (failing.is_none(), root, bytes)
}

#[test]
fn every_slot_of_real_batches_satisfies_the_gadget() {
    let mut s = state();
    let params = BatchParams::new(6, Fr::from(1u64));
    let transfers = vec![
        Transfer::signed(&key(1), 1, 2, 5, 4, params.domain),
        Transfer::signed(&key(1), 1, 1, 995, 5, params.domain),
        Transfer::signed(&key(2), 2, 15, u64::MAX, 0, params.domain),
        Transfer::signed(&key(15), 15, 1, 0, 0, params.domain),
        Transfer::signed(&key(1), 1, 0, 7, 6, params.domain),
    ];
    let w = s.apply_batch(&Batch::new(transfers), &params).unwrap();
    for (i, slot) in w.slots.iter().enumerate() {
        let step = slot.step_witness();
        assert_eq!(apply_step(DEPTH, slot.root_before, &step), Ok(slot.root_after), "slot {i}, native twin");
        let (ok, root, bytes) = gadget(slot.root_before, &step);
        assert!(ok, "slot {i} unsatisfied");
        assert_eq!(root, slot.root_after, "slot {i} root");
        assert_eq!(bytes, w.public_data[104 + 16 * i..120 + 16 * i], "slot {i} public bytes");
    }
    assert_eq!(w.slots[5].root_after, w.new_root);
}

/// A step built straight from the tree, with no rule checked: sender update with field
/// arithmetic (so even a wrapped nonce or balance lands in the tree), then the receiver's path.
fn manual(s: &State, from: u32, to: u32, amount: u64, nonce: u64) -> (Fr, StepWitness) {
    let mut tree: StateTree = s.tree().clone();
    let preimage = |i: u32| {
        s.account(i).map_or_else(LeafPreimage::default, |a| LeafPreimage { ax: a.pubkey.x(), ay: a.pubkey.y(), balance: a.balance, nonce: a.nonce })
    };
    let sender = preimage(from);
    let sender_path = tree.path(u64::from(from)).unwrap();
    let leaf = |p: &LeafPreimage, balance: Fr, nonce: Fr| zkrollup::primitives::poseidon::poseidon(&[p.ax, p.ay, balance, nonce]);
    if from != 0 {
        let new = leaf(&sender, Fr::from(sender.balance) - Fr::from(amount), Fr::from(sender.nonce) + Fr::from(1u64));
        tree.set_leaf(u64::from(from), new).unwrap();
    }
    let mut receiver = preimage(to);
    if from == to && from != 0 {
        receiver = LeafPreimage { balance: sender.balance.wrapping_sub(amount), nonce: sender.nonce.wrapping_add(1), ..sender };
    }
    let receiver_path = tree.path(u64::from(to)).unwrap();
    (s.root(), StepWitness { from, to, amount, nonce, sender, sender_path, receiver, receiver_path })
}

/// Both twins reject `w`; the gadget's first failing constraint is in namespace `constraint`.
fn rejected(root: Fr, w: &StepWitness, fault: StepFault, constraint: &str) {
    assert_eq!(apply_step(DEPTH, root, w), Err(fault), "native twin");
    let failing = run(root, w).0.unwrap_or_else(|| panic!("gadget satisfied by a witness breaking {fault:?}"));
    assert!(failing.contains(constraint), "{fault:?}: first failing constraint is {failing}, expected {constraint}");
}

#[test]
fn the_manual_builder_makes_valid_steps_when_the_rules_hold() {
    let (root, w) = manual(&state(), 1, 2, 5, 4);
    assert!(apply_step(DEPTH, root, &w).is_ok());
    assert!(gadget(root, &w).0);
}

#[test]
fn overdraft() {
    let (root, w) = manual(&state(), 1, 15, 1001, 4);
    rejected(root, &w, StepFault::InsufficientBalance, "sender balance covers amount");
}

#[test]
fn receiver_overflow() {
    let (root, w) = manual(&state(), 1, 2, 6, 4);
    rejected(root, &w, StepFault::ReceiverOverflow, "receiver balance below 2^64");
}

#[test]
fn wrong_nonce() {
    let (root, w) = manual(&state(), 1, 2, 1, 3);
    rejected(root, &w, StepFault::WrongNonce, "nonce matches sender");
}

#[test]
fn nonce_exhausted() {
    let (root, w) = manual(&state(), 7, 1, 1, u64::MAX);
    rejected(root, &w, StepFault::NonceExhausted, "sender nonce below 2^64 - 1");
}

#[test]
fn unknown_receiver_empty_leaf() {
    let (root, w) = manual(&state(), 1, 3, 1, 4);
    rejected(root, &w, StepFault::ReceiverNotInTree, "receiver leaf in tree");
}

#[test]
fn unknown_sender_empty_leaf() {
    let (root, w) = manual(&state(), 3, 1, 0, 0);
    rejected(root, &w, StepFault::SenderNotInTree, "sender leaf in tree");
}

#[test]
fn sender_leaf_with_a_made_up_balance() {
    let (root, mut w) = manual(&state(), 1, 2, 5, 4);
    w.sender.balance += 1;
    rejected(root, &w, StepFault::SenderNotInTree, "sender leaf in tree");
}

#[test]
fn a_withdrawal_changes_only_the_sender() {
    let s = state();
    let (root, w) = manual(&s, 1, 0, 1, 4);
    let (ok, after, bytes) = gadget(root, &w);
    assert!(ok);
    assert_eq!(apply_step(DEPTH, root, &w), Ok(after));
    let sender = LeafPreimage { balance: 999, nonce: 5, ..w.sender };
    assert_eq!(after, w.sender_path.root(sender.leaf()));
    assert_eq!(bytes, [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
}

#[test]
fn a_withdrawal_with_a_receiver_leaf_or_over_the_balance() {
    let (root, mut w) = manual(&state(), 1, 0, 1, 4);
    w.receiver = LeafPreimage { balance: 1, ..w.sender };
    rejected(root, &w, StepFault::PaddingNotEmpty, "padding is all zero");
    let (root, w) = manual(&state(), 1, 0, 1001, 4);
    rejected(root, &w, StepFault::InsufficientBalance, "sender balance covers amount");
    let (root, w) = manual(&state(), 7, 0, 1, u64::MAX);
    rejected(root, &w, StepFault::NonceExhausted, "sender nonce below 2^64 - 1");
}

#[test]
fn padding_with_a_non_zero_amount_or_field() {
    let s = state();
    let (root, pad) = manual(&s, 0, 0, 0, 0);
    assert!(gadget(root, &pad).0 && apply_step(DEPTH, root, &pad) == Ok(root));
    let mutations: [fn(&mut StepWitness); 4] = [
        |w| w.amount = 1,
        |w| w.nonce = 1,
        |w| w.sender.balance = 9,
        |w| w.receiver.ax = Fr::from(1u64),
    ];
    for mutate in mutations {
        let mut w = pad.clone();
        mutate(&mut w);
        rejected(root, &w, StepFault::PaddingNotEmpty, "padding is all zero");
    }
    let (_, to_one) = manual(&s, 0, 1, 0, 0);
    rejected(root, &to_one, StepFault::PaddingNotEmpty, "padding is all zero");
}

#[test]
fn index_outside_the_tree() {
    let (root, mut w) = manual(&state(), 1, 2, 5, 4);
    w.to = 16 + 2; // 18 = 2 mod 16: the same low bits, outside a depth-2 tree
    rejected(root, &w, StepFault::IndexOutOfRange, "indices below 4^depth");
}
