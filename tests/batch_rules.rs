//! Every rule of SPEC section 4: a batch breaking exactly that rule is rejected with an error
//! naming the slot and the rule, and the state is left exactly as it was.

use zkrollup::primitives::eddsa::{PrivateKey, SignatureError};
use zkrollup::primitives::babyjubjub::Fl;
use zkrollup::{Account, Batch, BatchError, BatchParams, Fr, Party, Rule, State, Transfer};
use ark_ff::PrimeField;

const DEPTH: usize = 2; // 16 slots
const N: usize = 4;

fn key(i: u8) -> PrivateKey {
    PrivateKey::from_bytes([i; 32])
}

/// Slots 1, 2, 3 hold accounts of keys 1, 2, 3; slot 3's balance is near 2^64.
fn state() -> State {
    State::from_accounts(
        DEPTH,
        vec![
            (1, Account::new(key(1).public_key(), 1000, 5)),
            (2, Account::new(key(2).public_key(), 50, 0)),
            (3, Account::new(key(3).public_key(), u64::MAX - 10, 0)),
            (4, Account::new(key(4).public_key(), 10, u64::MAX)),
        ],
    )
    .unwrap()
}

fn params() -> BatchParams {
    BatchParams::new(N)
}

fn send(from: u8, to: u32, amount: u64, nonce: u64) -> Transfer {
    Transfer::signed(&key(from), u32::from(from), to, amount, nonce, params().domain)
}

/// Apply `transfers` (a valid first slot, then the bad one) and check the error and the state.
fn rejects(transfers: Vec<Transfer>, slot: usize, rule: Rule) {
    let mut s = state();
    let (root, accounts) = (s.root(), s.accounts());
    let err = s.apply_batch(&Batch::new(transfers), &params()).unwrap_err();
    assert_eq!(err, BatchError::Slot { slot, rule: rule.clone() });
    assert!(err.to_string().starts_with(&format!("slot {slot}: ")), "{err}");
    assert_eq!(s.root(), root, "root changed after a rejected batch");
    assert_eq!(s.accounts(), accounts, "accounts changed after a rejected batch");
}

/// A valid transfer to put before the bad one, so that rejection must undo real work.
fn good() -> Transfer {
    send(1, 2, 10, 5)
}

#[test]
fn a_valid_batch_applies_in_order_and_pads() {
    let mut s = state();
    let old = s.root();
    let w = s.apply_batch(&Batch::new(vec![good(), send(2, 1, 60, 0), send(1, 1, 7, 6)]), &params()).unwrap();
    assert_eq!(w.slots.len(), N);
    assert_eq!(w.old_root, old);
    assert_eq!(w.new_root, s.root());
    assert_ne!(w.new_root, old);
    // 1 -> 2: 10; 2 -> 1: 60 (2 had 50 + 10); 1 -> 1: 7 only bumps the nonce.
    assert_eq!(s.account(1).map(|a| (a.balance, a.nonce)), Some((1000 - 10 + 60, 7)));
    assert_eq!(s.account(2).map(|a| (a.balance, a.nonce)), Some((0, 1)));
    assert!(w.slots[3].transfer.is_padding());
    // The chain of roots links the slots.
    for pair in w.slots.windows(2) {
        assert_eq!(pair[0].root_after, pair[1].root_before);
    }
    for slot in &w.slots {
        let sender_leaf = |a: Option<Account>| a.map_or(Fr::from(0u64), |a| a.leaf());
        assert_eq!(slot.sender_path.root(sender_leaf(slot.sender_before)), slot.root_before);
        let after = if slot.transfer.is_padding() { slot.sender_before } else { slot.sender_after };
        assert_eq!(slot.sender_path.root(sender_leaf(after)), slot.root_after_sender);
        assert_eq!(slot.receiver_path.root(sender_leaf(slot.receiver_before)), slot.root_after_sender);
    }
    assert_eq!(w.public_data.len(), 64 + 16 * N);
    assert_eq!(w.commitment, zkrollup::primitives::commitment::commitment(&w.public_data));
}

#[test]
fn too_many_transfers() {
    let mut s = state();
    let root = s.root();
    let err = s.apply_batch(&Batch::new(vec![good(); N + 1]), &params()).unwrap_err();
    assert_eq!(err, BatchError::TooManyTransfers { transfers: N + 1, batch_size: N });
    assert_eq!(s.root(), root);
}

#[test]
fn padding_with_a_non_zero_field() {
    for (to, amount, nonce) in [(1, 0, 0), (0, 1, 0), (0, 0, 1)] {
        let pad = Transfer { to, amount, nonce, ..Transfer::PADDING };
        rejects(vec![good(), pad], 1, Rule::PaddingNotEmpty { to, amount, nonce });
    }
}

#[test]
fn receiver_zero() {
    rejects(vec![good(), send(1, 0, 1, 6)], 1, Rule::ReceiverIsZero);
}

#[test]
fn index_outside_the_tree() {
    rejects(vec![good(), send(1, 16, 1, 6)], 1, Rule::IndexOutOfRange { party: Party::Receiver, index: 16, capacity: 16 });
    let far = Transfer::signed(&key(1), 99, 2, 1, 6, params().domain);
    rejects(vec![good(), far], 1, Rule::IndexOutOfRange { party: Party::Sender, index: 99, capacity: 16 });
}

#[test]
fn sender_without_account() {
    let t = Transfer::signed(&key(9), 9, 2, 1, 0, params().domain);
    rejects(vec![good(), t], 1, Rule::NoAccount { party: Party::Sender, index: 9 });
}

#[test]
fn receiver_without_account() {
    rejects(vec![good(), send(1, 9, 1, 6)], 1, Rule::NoAccount { party: Party::Receiver, index: 9 });
}

#[test]
fn unsigned_transfer() {
    let t = Transfer { signature: None, ..send(1, 2, 1, 6) };
    rejects(vec![good(), t], 1, Rule::MissingSignature);
}

#[test]
fn signature_by_the_wrong_key() {
    let t = Transfer::signed(&key(2), 1, 2, 1, 6, params().domain);
    rejects(vec![good(), t], 1, Rule::BadSignature(SignatureError::Mismatch));
}

#[test]
fn signature_on_other_values() {
    // Signed for amount 1, submitted with amount 2.
    let t = Transfer { amount: 2, ..send(1, 2, 1, 6) };
    rejects(vec![good(), t], 1, Rule::BadSignature(SignatureError::Mismatch));
}

#[test]
fn signature_for_another_domain() {
    let t = Transfer::signed(&key(1), 1, 2, 1, 6, Fr::from(7u64));
    rejects(vec![good(), t], 1, Rule::BadSignature(SignatureError::Mismatch));
}

#[test]
fn malleated_signature_s_plus_l() {
    let mut t = send(1, 2, 1, 6);
    let sig = t.signature.as_mut().unwrap();
    sig.s += Fr::from_bigint(Fl::MODULUS).unwrap();
    rejects(vec![good(), t], 1, Rule::BadSignature(SignatureError::SNotCanonical));
}

#[test]
fn r8_off_the_curve() {
    let mut t = send(1, 2, 1, 6);
    t.signature.as_mut().unwrap().r8.1 += Fr::from(1u64);
    rejects(vec![good(), t], 1, Rule::BadSignature(SignatureError::R8NotOnCurve));
}

#[test]
fn wrong_nonce() {
    // The first slot moved the nonce from 5 to 6: 5 is now stale.
    rejects(vec![good(), send(1, 2, 1, 5)], 1, Rule::WrongNonce { expected: 6, got: 5 });
    rejects(vec![good(), send(1, 2, 1, 7)], 1, Rule::WrongNonce { expected: 6, got: 7 });
}

#[test]
fn overdraft() {
    // After the first slot the sender has 990.
    rejects(vec![good(), send(1, 2, 991, 6)], 1, Rule::InsufficientBalance { balance: 990, amount: 991 });
}

#[test]
fn nonce_exhausted() {
    rejects(vec![good(), send(4, 2, 1, u64::MAX)], 1, Rule::NonceExhausted);
}

#[test]
fn receiver_overflow() {
    // Slot 3 holds 2^64 - 11; 11 more would reach 2^64.
    rejects(vec![good(), send(1, 3, 11, 6)], 1, Rule::ReceiverOverflow { balance: u64::MAX - 10, amount: 11 });
    let mut s = state();
    s.apply_batch(&Batch::new(vec![send(1, 3, 10, 5)]), &params()).unwrap();
    assert_eq!(s.account(3).unwrap().balance, u64::MAX);
}

#[test]
fn self_transfer_of_the_whole_balance_only_bumps_the_nonce() {
    let mut s = state();
    s.apply_batch(&Batch::new(vec![send(2, 2, 50, 0)]), &params()).unwrap();
    assert_eq!(s.account(2).map(|a| (a.balance, a.nonce)), Some((50, 1)));
}

#[test]
fn check_batch_changes_nothing() {
    let s = state();
    let root = s.root();
    s.check_batch(&Batch::new(vec![good()]), &params()).unwrap();
    assert_eq!(s.root(), root);
    assert!(s.check_batch(&Batch::new(vec![send(1, 2, 1, 0)]), &params()).is_err());
}
