//! Every rule of SPEC-v2 sections 2-4: a batch breaking exactly that rule is rejected with an
//! error naming the section, the slot and the rule, and the state is left exactly as it was.

use ark_ec::CurveGroup;
use ark_ff::PrimeField;
use zkrollup::primitives::babyjubjub::{torsion_points, Fl};
use zkrollup::primitives::eddsa::{PrivateKey, PublicKeyError, SignatureError};
use zkrollup::{Account, Batch, BatchError, BatchParams, Fr, Party, Request, Rule, Section, State, Transfer};

const DEPTH: usize = 2; // 16 slots
const N: usize = 4;
const M: usize = 3;
const ADDR: [u8; 20] = [0xA1; 20];

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
    BatchParams::new(N, Fr::from(77u64)).with_l1_slots(M)
}

fn send(from: u8, to: u32, amount: u64, nonce: u64) -> Transfer {
    Transfer::signed(&key(from), u32::from(from), to, amount, nonce, params().domain)
}

/// Apply `batch` and check the error and that the state is unchanged.
fn rejects_batch(batch: Batch, section: Section, slot: usize, rule: Rule) {
    let mut s = state();
    let (root, accounts) = (s.root(), s.accounts());
    let err = s.apply_batch(&batch, &params()).unwrap_err();
    assert_eq!(err, BatchError::Slot { section, slot, rule: rule.clone() });
    assert!(err.to_string().starts_with(&format!("{section} slot {slot}: ")), "{err}");
    assert_eq!(s.root(), root, "root changed after a rejected batch");
    assert_eq!(s.accounts(), accounts, "accounts changed after a rejected batch");
}

/// Apply L2 `transfers` (a valid first slot, then the bad one) after a valid L1 request, and
/// check the error and the state.
fn rejects(transfers: Vec<Transfer>, slot: usize, rule: Rule) {
    rejects_batch(Batch::new(transfers).with_requests(vec![Request::deposit(2, 1, ADDR)]), Section::L2, slot, rule);
}

/// Apply L1 `requests` (a valid first request, then the bad one) before a valid L2 slot.
fn rejects_request(bad: Request, rule: Rule) {
    let batch = Batch::new(vec![good()]).with_requests(vec![Request::deposit(1, 5, ADDR), bad]);
    rejects_batch(batch, Section::L1, 1, rule);
}

fn new_key(i: u8) -> (Fr, Fr) {
    let k = key(i).public_key();
    (k.x(), k.y())
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
    assert_eq!(w.public_data.len(), 104 + 45 * M + 16 * N);
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
fn a_batch_of_every_operation_applies_l1_first() {
    let mut s = state();
    let batch = Batch::new(vec![
        Transfer::signed(&key(9), 5, 2, 30, 0, params().domain), // the new account spends at once
        send(1, 0, 100, 5),                                       // a withdrawal
    ])
    .with_requests(vec![
        Request::deposit_new(5, 40, new_key(9), ADDR),
        Request::deposit(1, 7, ADDR),
        Request::full_exit(2, ADDR),
    ]);
    let w = s.apply_batch(&batch, &params()).unwrap();
    assert_eq!(s.account(5).map(|a| (a.balance, a.nonce)), Some((10, 1)));
    assert_eq!(s.account(1).map(|a| (a.balance, a.nonce)), Some((1000 + 7 - 100, 6)));
    assert_eq!(s.account(2).map(|a| (a.balance, a.nonce)), Some((30, 0)));
    // The FullExit publishes the balance it took (50), though queued with 0.
    assert_eq!(w.requests[2].amount, 50);
    assert_eq!(w.public_data.len(), 104 + 45 * M + 16 * N);
    let l1 = &w.public_data[104..];
    assert_eq!(&l1[90..103], &[3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 50]);
    let withdrawal = &w.public_data[104 + 45 * M + 16..104 + 45 * M + 32];
    assert_eq!(withdrawal, &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100]);
}

#[test]
fn withdrawals_follow_the_transfer_rules() {
    rejects(vec![good(), send(1, 0, 991, 6)], 1, Rule::InsufficientBalance { balance: 990, amount: 991 });
    rejects(vec![good(), send(1, 0, 1, 5)], 1, Rule::WrongNonce { expected: 6, got: 5 });
    rejects(vec![good(), send(4, 0, 1, u64::MAX)], 1, Rule::NonceExhausted);
    let t = Transfer::signed(&key(9), 9, 0, 1, 0, params().domain);
    rejects(vec![good(), t], 1, Rule::NoAccount { party: Party::Sender, index: 9 });
}

#[test]
fn a_transfer_signature_does_not_pass_as_a_withdrawal_nor_the_reverse() {
    // The same (from, amount, nonce) signed as one kind and submitted as the other: the
    // withdrawal message carries `2^32` where the transfer's carries `to`.
    let transfer = send(1, 2, 5, 6);
    let as_withdrawal = Transfer { to: 0, ..transfer };
    rejects(vec![good(), as_withdrawal], 1, Rule::BadSignature(SignatureError::Mismatch));
    let withdrawal = send(1, 0, 5, 6);
    let as_transfer = Transfer { to: 2, ..withdrawal };
    rejects(vec![good(), as_transfer], 1, Rule::BadSignature(SignatureError::Mismatch));
}

#[test]
fn l1_requests_break_each_rule() {
    // Slot 1 holds an account: a DepositNew there is refused.
    rejects_request(Request::deposit_new(1, 5, new_key(9), ADDR), Rule::AccountExists { index: 1 });
    // Deposit and FullExit onto an empty slot.
    rejects_request(Request::deposit(9, 5, ADDR), Rule::NoAccount { party: Party::Account, index: 9 });
    rejects_request(Request::full_exit(9, ADDR), Rule::NoAccount { party: Party::Account, index: 9 });
    rejects_request(Request::deposit(0, 5, ADDR), Rule::NoAccount { party: Party::Account, index: 0 });
    // A FullExit whose amount is neither 0 nor the balance (50).
    let exit = Request { amount: 49, ..Request::full_exit(2, ADDR) };
    rejects_request(exit, Rule::WrongExitAmount { balance: 50, amount: 49 });
    // Keys: off the curve, of small order.
    let (x, y) = new_key(9);
    rejects_request(Request::deposit_new(5, 5, (x, y + Fr::from(1u64)), ADDR), Rule::BadKey(PublicKeyError::NotOnCurve));
    for t in torsion_points() {
        rejects_request(Request::deposit_new(5, 5, (t.x, t.y), ADDR), Rule::BadKey(PublicKeyError::SmallOrder));
    }
    // Slot 0 and slots outside the tree.
    rejects_request(Request::deposit_new(0, 5, new_key(9), ADDR), Rule::ReservedIndex);
    rejects_request(Request::deposit_new(16, 5, new_key(9), ADDR), Rule::IndexOutOfRange { party: Party::Account, index: 16, capacity: 16 });
    // A deposit that would take the balance to 2^64.
    rejects_request(Request::deposit(3, 11, ADDR), Rule::ReceiverOverflow { balance: u64::MAX - 10, amount: 11 });
    // The first request's own change counts: a DepositNew twice at one index.
    let twice = Batch::new(vec![]).with_requests(vec![
        Request::deposit_new(5, 1, new_key(9), ADDR),
        Request::deposit_new(5, 1, new_key(8), ADDR),
    ]);
    rejects_batch(twice, Section::L1, 1, Rule::AccountExists { index: 5 });
}

#[test]
fn keys_outside_the_subgroup_may_enter_and_sign() {
    let mut s = state();
    let k = key(9);
    let shifted = zkrollup::primitives::eddsa::PublicKey::from_point((k.public_key().point() + torsion_points()[2]).into_affine()).unwrap();
    let mut withdrawal = Transfer { from: 5, to: 0, amount: 3, nonce: 0, signature: None };
    withdrawal.signature = Some(k.sign_as(&shifted, withdrawal.message(params().domain)));
    let batch = Batch::new(vec![withdrawal]).with_requests(vec![Request::deposit_new(5, 10, (shifted.x(), shifted.y()), ADDR)]);
    s.apply_batch(&batch, &params()).unwrap();
    assert_eq!(s.account(5).unwrap().balance, 7);
}

#[test]
fn too_many_requests() {
    let mut s = state();
    let root = s.root();
    let err = s.apply_batch(&Batch::new(vec![]).with_requests(vec![Request::deposit(1, 1, ADDR); M + 1]), &params()).unwrap_err();
    assert_eq!(err, BatchError::TooManyRequests { requests: M + 1, l1_slots: M });
    assert_eq!(s.root(), root);
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
    let t = Transfer::signed(&key(1), 1, 2, 1, 6, params().domain + Fr::from(1u64));
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
