//! Audit F15: the gas a `submitBatch` can cost grows with every payout to an owner never
//! credited before, so a fixed gas limit is too small for a wide shape whose batch an attacker
//! fills with such payouts (withdrawals cost them nothing). The worst batch of N = 64, M = 16 is
//! built here (64 withdrawals and 16 FullExits, each to its own first-time owner) and run in revm:
//! it needs more than the old fixed 2,000,000, and no more than the engine's bound
//! ([`submit_batch_gas_bound`]) less the generated verifier's share, which the INSECURE
//! accept-all verifier here does not spend (the real verifier's share is checked against
//! `VERIFY_PROOF_GAS` in `the_generated_verifier_accepts_real_proofs_and_nothing_else`).

use zkrollup::export::gas::submit_batch_gas_bound;

use super::v2_1::{deploy_stub, keys_free_rollup_bytecode};
use super::*;

/// The node's gas limit for every batch before the fix.
const OLD_FIXED_LIMIT: u64 = 2_000_000;
const WIDE_N: usize = 64;
const WIDE_M: usize = 16;
/// Accounts opened by DepositNew, each owned by its own address: indices 2..=81.
const OPENED: u32 = (WIDE_N + WIDE_M) as u32;

/// The owner of opened account `index`: one address each.
fn owner(index: u32) -> Address {
    let mut a = [0xee; 20];
    a[16..].copy_from_slice(&index.to_be_bytes());
    Address::from(a)
}

fn wide_key(index: u32) -> PrivateKey {
    PrivateKey::from_bytes([index as u8; 32])
}

#[test]
fn the_dearest_wide_batch_needs_more_than_the_old_limit_and_fits_the_bound() {
    let shape = Shape { depth: 16, l1_slots: WIDE_M, batch_size: WIDE_N };
    let mut chain = Chain::new();
    chain.set_time(1_000_000);
    chain.fund(account(DEPLOYER), gwei(10_000_000));
    let verifier = deploy_stub(&mut chain, "InsecureAcceptAllVerifier", &[u64_word(WIDE_N as u64), u64_word(WIDE_M as u64), u64_word(16)]);
    let mut state = State::from_accounts(16, vec![(1, Account::new(key(1).public_key(), 100_000, 0))]).unwrap();
    let g = state.genesis().unwrap();
    let mut args = constructor_args(verifier, &g, 16, u64::from(OPENED), account(SEQUENCER));
    args[160..192].copy_from_slice(&u64_word(WIDE_N as u64));
    args[192..224].copy_from_slice(&u64_word(WIDE_M as u64));
    let (rollup, _) = chain.deploy_value(account(DEPLOYER), &keys_free_rollup_bytecode(), &args, gwei(g.total));
    let domain = Fr::from_be_bytes_mod_order(&chain.view_word(rollup, selector("domain()")));
    let pending = |chain: &mut Chain, who: Address| {
        U256::from_be_slice(&chain.view(rollup, [selector("pendingBalance(address)").as_slice(), &address_word(who)].concat()))
    };
    // ETH conservation: the contract holds the L2 balances, the deposits queued and the payouts
    // owed, to the wei.
    let conserved = |chain: &mut Chain, state: &State, queue: &[Request]| {
        let l2: u64 = (1..=OPENED + 1).filter_map(|i| state.account(i)).map(|a| a.balance).sum();
        let queued: u64 = queue.iter().filter(|r| r.kind != RequestKind::FullExit).map(|r| r.amount).sum();
        let owed = (1..=OPENED + 1).map(|i| pending(chain, owner(i))).fold(U256::ZERO, |a, b| a + b);
        assert_eq!(chain.balance(rollup), gwei(l2 + queued) + owed, "ETH conserved");
    };

    let mut queue: Vec<Request> = Vec::new();
    let mut batch_id = 0;
    let mut batch = |chain: &mut Chain, state: &mut State, queue: &mut Vec<Request>, transfers: Vec<Transfer>, gas: u64| {
        let params = BatchParams::new(WIDE_N, domain).with_l1_slots(WIDE_M).with_batch_id(batch_id + 1);
        let consumed: Vec<Request> = queue.iter().take(WIDE_M).cloned().collect();
        let mut next = state.clone();
        let w = next.apply_batch(&Batch::new(transfers).with_requests(consumed.clone()), &params).unwrap();
        let call = submit_batch_calldata(&Proof::default(), &w.public_data, WIDE_M, &consumed).unwrap();
        let out = chain.call_with_gas(account(SEQUENCER), rollup, call.clone(), gas);
        if out.is_success() {
            batch_id += 1;
            *state = next;
            queue.drain(..consumed.len());
        }
        (out, call)
    };

    // 80 accounts opened, 16 a batch, each owned by an address of its own.
    for round in 0..OPENED / WIDE_M as u32 {
        for index in 2 + round * WIDE_M as u32..2 + (round + 1) * WIDE_M as u32 {
            let k = wide_key(index).public_key();
            let depositor = account(0xd1);
            chain.fund(depositor, gwei(3_000));
            let out = chain.call_value(depositor, rollup, deposit_new_calldata(k.x(), k.y(), &addr_bytes(owner(index))), gwei(2_000));
            queue.extend(out.l1_requests().iter().map(|r| Request::from_record(r).unwrap()));
            assert_eq!(queue.last().map(|r| r.index), Some(index), "{out:?}");
        }
        conserved(&mut chain, &state, &queue);
        let (out, _) = batch(&mut chain, &mut state, &mut queue, vec![], OLD_FIXED_LIMIT);
        assert!(out.is_success(), "opening batch {round}: {out:?}");
        conserved(&mut chain, &state, &queue);
    }
    // The dearest batch: every L1 slot a FullExit and every L2 slot a withdrawal, each paid to
    // an owner never credited before.
    for index in 2 + WIDE_N as u32..2 + OPENED {
        let out = chain.call(owner(index), rollup, request_full_exit_calldata(index));
        queue.extend(out.l1_requests().iter().map(|r| Request::from_record(r).unwrap()));
        assert_eq!(queue.last().map(|r| r.index), Some(index), "{out:?}");
    }
    let withdrawals: Vec<Transfer> = (2..2 + WIDE_N as u32).map(|i| Transfer::signed(&wide_key(i), i, 0, 1_500, 0, domain)).collect();
    let root_before = chain.view_word(rollup, selector("stateRoot()"));
    let (out, call) = batch(&mut chain, &mut state, &mut queue, withdrawals.clone(), OLD_FIXED_LIMIT);
    assert!(matches!(&out, Outcome::Halt { reason, .. } if reason.contains("OutOfGas")), "the old fixed limit is too small: {out:?}");
    assert_eq!(chain.view_word(rollup, selector("stateRoot()")), root_before, "out of gas changes nothing");
    conserved(&mut chain, &state, &queue);

    let needed = chain.gas_limit_needed(account(SEQUENCER), rollup, &call).expect("the batch lands with gas enough");
    let bound = submit_batch_gas_bound(shape) - VERIFY_PROOF_GAS;
    eprintln!("N = {WIDE_N}, M = {WIDE_M}: the dearest batch needs {needed} gas (accept-all verifier); the bound less the verifier's share is {bound}");
    assert!(needed > OLD_FIXED_LIMIT && needed <= bound, "needed {needed}, bound {bound}");
    // Not loose either: within a tenth of what the dearest batch needs.
    assert!(bound - needed < needed / 10, "the bound {bound} is far above the {needed} needed");
    let (out, _) = batch(&mut chain, &mut state, &mut queue, withdrawals, bound);
    assert!(out.is_success(), "at the bound: {out:?}");
    for index in 2..2 + OPENED {
        let paid = if index < 2 + WIDE_N as u32 { 1_500 } else { 2_000 };
        assert_eq!(pending(&mut chain, owner(index)), gwei(paid), "owner of {index}");
    }
    conserved(&mut chain, &state, &queue);
}
