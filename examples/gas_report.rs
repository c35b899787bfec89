//! The gas tables of BENCHMARKS.md: every entry point of `ZKRollup` v2, the generated verifier
//! and `OptimisticRollup` (SPEC-v3), in revm (Osaka rules, solc from `verifier-sol/`), with real
//! proofs at depth 16.
//! Needs `npm ci --prefix verifier-sol`.
//! Run: `cargo run --release --example gas_report -- [N M]` (default N = 16, M = 4).
//!
//! The story: a deployment with 2N + 4 genesis accounts; four users open accounts (depositNew);
//! batch 1 consumes them with N transfers; batches 2 and 3 each consume four top-ups (deposit)
//! with four withdrawals (to the four new accounts' owners) and N - 4 transfers; an owner pulls
//! its payout; then a full exit waits past the exodus delay, exodus starts, one account exits and
//! the request is cancelled.
//!
//! `OptimisticRollup`'s story, on a deployment of its own with the same genesis: the four
//! accounts open (post 1), then batches of four deposits, four withdrawals and N - 4 transfers
//! are posted (posts 2 to 4), finalized one and two at a time, one more is challenged and
//! proved, one with a wrong root is challenged and reverted, and a hybrid `submitBatch` follows,
//! final at once, to compare with `ZKRollup`'s batch #3 (owners already credited).

#[path = "../tests/common/evm.rs"]
mod evm;

use ark_ff::PrimeField;
use evm::{account, address_word, calldata_gas, selector, u64_word, Chain, Outcome};
use revm::primitives::{Address, U256};
use zkrollup::export::calldata::{
    deposit_calldata, deposit_new_calldata, exit_calldata, request_full_exit_calldata, submit_batch_calldata,
    verify_proof_calldata, withdraw_pending_calldata, word,
};
use zkrollup::export::solidity::render_verifier;
use zkrollup::primitives::batch::Shape;
use zkrollup::primitives::eddsa::PrivateKey;
use zkrollup::prover::{bundle, prove};
use zkrollup::{Account, Batch, BatchParams, Fr, Request, State, Transfer};

const DEPTH: usize = 16;
const SEQUENCER: u8 = 0x5e;
const OWNER: u8 = 0x60;

fn gwei(x: u64) -> U256 {
    U256::from(x) * U256::from(1_000_000_000u64)
}

/// `ZKRollup`'s constructor arguments (`OptimisticRollup`'s first ones): the genesis owned by
/// OWNER, SEQUENCER, a maturity of 900 s, this exodus delay, 1,024 open deposits, 10^6 gwei at least.
fn rollup_args(verifier: Address, g: &zkrollup::Genesis, n: usize, m: usize, exodus_delay: u64) -> Vec<[u8; 32]> {
    vec![
        address_word(verifier),
        word(g.root),
        u64_word(u64::from(g.next_index)),
        address_word(account(OWNER)),
        u64_word(g.total),
        u64_word(n as u64),
        u64_word(m as u64),
        u64_word(DEPTH as u64),
        address_word(account(SEQUENCER)),
        u64_word(900),
        u64_word(exodus_delay),
        u64_word(1024),
        u64_word(1_000_000),
    ]
}

fn ok(what: &str, out: Outcome) -> u64 {
    assert!(matches!(out, Outcome::Success { .. }), "{what}: {out:?}");
    out.gas()
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("N M")).collect();
    let (n, m) = (args.first().copied().unwrap_or(16), args.get(1).copied().unwrap_or(4));
    assert!(n >= 4 && m >= 4, "the story needs N >= 4 and M >= 4");
    let shape = Shape { depth: DEPTH, l1_slots: m, batch_size: n };
    let dir = tempfile::tempdir().unwrap();
    let info = bundle::setup_to_dir(dir.path(), shape, Some(1)).unwrap();
    let pk = bundle::load_proving(dir.path(), &info).unwrap();
    let sol = dir.path().join("Groth16Verifier.sol");
    std::fs::write(&sol, render_verifier(&pk.vk, &info).unwrap()).unwrap();
    let contracts = evm::compile(&[&sol, &evm::root().join("verifier-sol/ZKRollup.sol")]);

    let keys: Vec<PrivateKey> = (0..2 * n + 8).map(|i| PrivateKey::from_bytes([i as u8 + 1; 32])).collect();
    let genesis_count = 2 * n + 4;
    let accounts = (0..genesis_count).map(|i| (i as u32 + 1, Account::new(keys[i].public_key(), 1_000_000, 0)));
    let mut state = State::from_accounts(DEPTH, accounts.collect()).unwrap();
    let g = state.genesis().unwrap();
    let genesis_state = state.clone();

    let mut chain = Chain::new();
    chain.set_time(1_000_000);
    chain.fund(account(1), gwei(1_000_000_000));
    let (verifier, deploy_verifier) = chain.deploy(account(1), &contracts["Groth16Verifier"].bytecode, &[]);
    let ctor = rollup_args(verifier, &g, n, m, 7 * 24 * 3600).concat();
    let (rollup, deploy_rollup) = chain.deploy_value(account(1), &contracts["ZKRollup"].bytecode, &ctor, gwei(g.total));
    let domain = Fr::from_be_bytes_mod_order(&chain.view_word(rollup, selector("domain()")));
    let params = |id: u64| BatchParams::new(n, domain).with_l1_slots(m).with_batch_id(id);
    let user = |i: usize| account(0xA0 + i as u8);
    let owner = |i: usize| account(0xB0 + i as u8);
    let bytes20 = |a: Address| a.0 .0;

    // Four new accounts, each owned by its own address.
    let mut queued = Vec::new();
    let mut deposit_new_gas = Vec::new();
    for i in 0..4 {
        let k = keys[genesis_count + i].public_key();
        chain.fund(user(i), gwei(20_000_000));
        let call = deposit_new_calldata(k.x(), k.y(), &bytes20(owner(i)));
        deposit_new_gas.push(ok("depositNew", chain.call_value(user(i), rollup, call, gwei(5_000_000))));
        queued.push(Request::deposit_new(g.next_index + i as u32, 5_000_000, (k.x(), k.y()), bytes20(user(i))));
    }
    let transfers = |nonce: u64, count: usize| -> Vec<Transfer> {
        (0..count)
            .map(|i| {
                let from = 2 * i as u32 + 1;
                Transfer::signed(&keys[2 * i], from, from + 1, 1_000 + i as u64, nonce, domain)
            })
            .collect()
    };
    let submit = |chain: &mut Chain, state: &mut State, id: u64, requests: Vec<Request>, l2: Vec<Transfer>| -> (u64, u64) {
        let w = state.apply_batch(&Batch::new(l2).with_requests(requests.clone()), &params(id)).unwrap();
        let proof = prove(&pk, w.circuit(DEPTH)).unwrap();
        let call = submit_batch_calldata(&proof, &w.public_data, m, &requests).unwrap();
        let data_gas = calldata_gas(&call);
        (ok("submitBatch", chain.call(account(SEQUENCER), rollup, call)), data_gas)
    };
    let (batch1, batch1_data) = submit(&mut chain, &mut state, 1, std::mem::take(&mut queued), transfers(0, n));

    // Four top-ups from the four users.
    let top_ups = |chain: &mut Chain, queued: &mut Vec<Request>| -> Vec<u64> {
        (0..4)
            .map(|i| {
                let index = g.next_index + i as u32;
                queued.push(Request::deposit(index, 2_000_000, bytes20(user(i))));
                ok("deposit", chain.call_value(user(i), rollup, deposit_calldata(index), gwei(2_000_000)))
            })
            .collect()
    };
    let deposit_gas = top_ups(&mut chain, &mut queued);

    // Batches 2 and 3: four deposits, four withdrawals (one from each new account), N - 4
    // transfers. Batch 2 credits four owners with no pending balance yet; batch 3 the same four,
    // whose pending balances are then not zero.
    let withdrawals = |nonce: u64| -> Vec<Transfer> {
        let mut l2: Vec<Transfer> = (0..4)
            .map(|i| Transfer::signed(&keys[genesis_count + i], g.next_index + i as u32, 0, 1_000_000, nonce, domain))
            .collect();
        l2.extend(transfers(nonce + 1, n - 4));
        l2
    };
    let (batch2, batch2_data) = submit(&mut chain, &mut state, 2, std::mem::take(&mut queued), withdrawals(0));
    top_ups(&mut chain, &mut queued);
    let (batch3, _) = submit(&mut chain, &mut state, 3, std::mem::take(&mut queued), withdrawals(1));

    // Batch 4: the same four owners withdrew everything before it; their slots keep the gas
    // reserve bit, so the credits rewrite live slots.
    let withdraw_all: Vec<u64> = (0..4)
        .map(|i| {
            let all = gwei(2_000_000).to::<u128>();
            ok("withdrawPending", chain.call(owner(i), rollup, withdraw_pending_calldata(&bytes20(owner(i)), all)))
        })
        .collect();
    top_ups(&mut chain, &mut queued);
    let (batch4, _) = submit(&mut chain, &mut state, 4, std::mem::take(&mut queued), withdrawals(2));

    // A full exit of a genesis account waits in the queue.
    let full_exit = ok("requestFullExit", chain.call(account(OWNER), rollup, request_full_exit_calldata(2 * n as u32 + 1)));
    let exit_request = Request::full_exit(2 * n as u32 + 1, bytes20(account(OWNER)));
    let withdraw = ok(
        "withdrawPending",
        chain.call(owner(0), rollup, withdraw_pending_calldata(&bytes20(owner(0)), gwei(1_000_000).to::<u128>())),
    );

    // Exodus: the full exit waits past the delay; one account exits; the request is cancelled.
    chain.set_time(1_000_000 + 7 * 24 * 3600 + 1);
    let activate = ok("activateExodus", chain.call(account(0x77), rollup, selector("activateExodus()").to_vec()));
    let exit = ok("performExodus", chain.call(account(0x77), rollup, exit_calldata(&state, g.next_index).unwrap()));
    let record = exit_request.record();
    let mut cancel = selector("cancelOutstandingRequests(bytes)").to_vec();
    cancel.extend_from_slice(&u64_word(32));
    cancel.extend_from_slice(&u64_word(record.len() as u64));
    cancel.extend_from_slice(&record);
    cancel.resize(cancel.len() + 31, 0);
    let cancel_gas = ok("cancelOutstandingRequests", chain.call(account(0x77), rollup, cancel));

    // The verifier alone, against its floor.
    let mut probe_state = State::from_accounts(DEPTH, vec![(1, Account::new(keys[0].public_key(), 10, 0))]).unwrap();
    let pw = probe_state.apply_batch(&Batch::default(), &params(5)).unwrap();
    let proof = prove(&pk, pw.circuit(DEPTH)).unwrap();
    let verify_call = verify_proof_calldata(&proof, pw.commitment);
    let verify = ok("verifyProof", chain.call(account(3), verifier, verify_call.clone()));
    let floor = 21_000 + calldata_gas(&verify_call) + 181_000 + 6_150;

    println!("N = {n}, M = {m}, D = {DEPTH}; transaction gas, intrinsic 21,000 included");
    println!();
    println!("| entry point | gas |");
    println!("| --- | --- |");
    println!("| deploy verifier | {deploy_verifier} |");
    println!("| deploy ZKRollup (and its PoseidonT5) | {deploy_rollup} |");
    println!("| verifyProof (floor {floor}) | {verify} ({:+.2}%) |", 100.0 * (verify as f64 - floor as f64) / floor as f64);
    println!("| depositNew, first / later | {} / {} |", deposit_new_gas[0], deposit_new_gas[3]);
    println!("| deposit, first / later | {} / {} |", deposit_gas[0], deposit_gas[3]);
    println!("| requestFullExit | {full_exit} |");
    println!("| submitBatch #1: 4 DepositNew, {n} transfers | {batch1} (calldata {batch1_data}) |");
    println!("| submitBatch #2: 4 deposits, 4 withdrawals to 4 owners with no pending balance, {} transfers | {batch2} (calldata {batch2_data}) |", n - 4);
    println!("| submitBatch #3: the same, the 4 owners' pending balances not zero | {batch3} |");
    println!("| submitBatch #4: the same, the 4 owners having withdrawn everything before | {batch4} |");
    println!("| withdrawPending, part / all | {withdraw} / {} |", withdraw_all[0]);
    println!("| activateExodus | {activate} |");
    println!("| performExodus (D = {DEPTH}: 17 Poseidon hashes) | {exit} |");
    println!("| cancelOutstandingRequests, 1 record | {cancel_gas} |");
    println!();
    optimistic(&sol, &pk, &keys, genesis_state, n, m, batch3);
}

/// `OptimisticRollup`'s entry points (SPEC-v3 section 3), on its own deployment.
#[allow(clippy::too_many_arguments)]
fn optimistic(
    verifier_sol: &std::path::Path,
    pk: &zkrollup::prover::ProvingKey,
    keys: &[PrivateKey],
    mut state: State,
    n: usize,
    m: usize,
    zk_batch3: u64,
) {
    use zkrollup::export::optimistic::{
        challenge_batch_calldata, finalize_batches_calldata, post_batch_calldata, prove_batch_calldata, resolve_challenge_calldata,
    };
    use zkrollup::optimistic::{keccak256, payouts, sig_data, StoredBatch};
    let root = evm::root();
    let contracts = evm::compile(&[verifier_sol, &root.join("verifier-sol/OptimisticRollup.sol"), &root.join("verifier-sol/PoseidonT5.sol")]);
    let g = state.genesis().unwrap();
    let genesis_count = g.next_index as usize - 1;
    let mut chain = Chain::new();
    let mut now = 1_000_000;
    chain.set_time(now);
    chain.fund(account(1), gwei(1_000_000_000));
    chain.fund(account(SEQUENCER), gwei(10_000_000_000));
    let (verifier, _) = chain.deploy(account(1), &contracts["Groth16Verifier"].bytecode, &[]);
    let (poseidon, _) = chain.deploy(account(1), &contracts["PoseidonT5"].bytecode, &[]);
    let (window, response) = (7 * 24 * 3600u64, 24 * 3600u64);
    let bond = gwei(50_000_000);
    let mut ctor = rollup_args(verifier, &g, n, m, 8 * 24 * 3600);
    ctor.extend([
        u64_word(window),
        u64_word(response),
        bond.to_be_bytes::<32>(),
        gwei(1_000_000_000).to_be_bytes::<32>(),
        u64_word(5_000),
        address_word(poseidon),
    ]);
    let ctor = ctor.concat();
    let (rollup, deploy) = chain.deploy_value(account(1), &contracts["OptimisticRollup"].bytecode, &ctor, gwei(g.total));
    // Two bonds: the slash below leaves one, enough to go on posting.
    ok("depositSequencerBond", chain.call_value(account(SEQUENCER), rollup, selector("depositSequencerBond()").to_vec(), gwei(2_000_000_000)));
    let domain = Fr::from_be_bytes_mod_order(&chain.view_word(rollup, selector("domain()")));
    let params = |id: u64| BatchParams::new(n, domain).with_l1_slots(m).with_batch_id(id);
    let user = |i: usize| account(0xA0 + i as u8);
    let owner = |i: usize| account(0xB0 + i as u8);
    let bytes20 = |a: Address| a.0 .0;
    let mut queued = Vec::new();
    for i in 0..4 {
        let k = keys[genesis_count + i].public_key();
        chain.fund(user(i), gwei(100_000_000));
        let call = deposit_new_calldata(k.x(), k.y(), &bytes20(owner(i)));
        ok("depositNew", chain.call_value(user(i), rollup, call, gwei(5_000_000)));
        queued.push(Request::deposit_new(g.next_index + i as u32, 5_000_000, (k.x(), k.y()), bytes20(user(i))));
    }
    let top_ups = |chain: &mut Chain, queued: &mut Vec<Request>| {
        for i in 0..4 {
            let index = g.next_index + i as u32;
            queued.push(Request::deposit(index, 1_000_000, bytes20(user(i))));
            ok("deposit", chain.call_value(user(i), rollup, deposit_calldata(index), gwei(1_000_000)));
        }
    };
    // Signed at each sender's nonce in `state`.
    let transfers = |state: &State, count: usize| -> Vec<Transfer> {
        (0..count)
            .map(|i| {
                let from = 2 * i as u32 + 1;
                Transfer::signed(&keys[2 * i], from, from + 1, 1_000 + i as u64, state.account(from).unwrap().nonce, domain)
            })
            .collect()
    };
    let withdrawals = |state: &State| -> Vec<Transfer> {
        let mut l2: Vec<Transfer> = (0..4)
            .map(|i| {
                let from = g.next_index + i as u32;
                Transfer::signed(&keys[genesis_count + i], from, 0, 100_000, state.account(from).unwrap().nonce, domain)
            })
            .collect();
        l2.extend(transfers(state, n - 4));
        l2
    };
    // Post a batch; its record, payouts and witness.
    let post = |chain: &mut Chain, state: &mut State, id: u64, at: u64, requests: Vec<Request>, l2: Vec<Transfer>, wrong_root: bool| {
        let batch = Batch::new(l2).with_requests(requests.clone());
        let old_root = state.root();
        let w = state.apply_batch(&batch, &params(id)).unwrap();
        let mut data = w.public_data.clone();
        if wrong_root {
            data[72..104].copy_from_slice(&word(Fr::from(7u64)));
        }
        let sigs = sig_data(&batch.padded(n).unwrap());
        let call = post_batch_calldata(&data, m, &requests, &sigs).unwrap();
        let gas = ok("postBatch", chain.call(account(SEQUENCER), rollup, call));
        let consumed_before = U256::from_be_bytes(chain.view_word(rollup, selector("consumed()"))).to::<u64>() - requests.len() as u64;
        let record = StoredBatch {
            batch_id: id,
            posted_at: at,
            consumed_before,
            consumed_after: consumed_before + requests.len() as u64,
            old_root,
            new_root: Fr::from_be_bytes_mod_order(&data[72..104]),
            commitment: zkrollup::primitives::commitment::commitment(&data),
            payouts_hash: keccak256(&payouts(&w)),
            sig_hash: keccak256(&sigs),
            proven: false,
        };
        (gas, record, payouts(&w), w)
    };
    let l2 = transfers(&state, n);
    let (post1, r1, p1, _) = post(&mut chain, &mut state, 1, now, std::mem::take(&mut queued), l2, false);
    top_ups(&mut chain, &mut queued);
    let l2 = withdrawals(&state);
    let (post2, r2, p2, _) = post(&mut chain, &mut state, 2, now, std::mem::take(&mut queued), l2, false);
    top_ups(&mut chain, &mut queued);
    let l2 = withdrawals(&state);
    let (_, r3, p3, _) = post(&mut chain, &mut state, 3, now, std::mem::take(&mut queued), l2, false);
    top_ups(&mut chain, &mut queued);
    let l2 = withdrawals(&state);
    let (_, r4, p4, _) = post(&mut chain, &mut state, 4, now, std::mem::take(&mut queued), l2, false);
    now += window + 1;
    chain.set_time(now);
    let fin1 = ok("finalizeBatches [1]", chain.call(account(0x77), rollup, finalize_batches_calldata(&[(r1, p1)])));
    let fin2 = ok("finalizeBatches [2]", chain.call(account(0x77), rollup, finalize_batches_calldata(&[(r2, p2)])));
    let fin34 = ok("finalizeBatches [3, 4]", chain.call(account(0x77), rollup, finalize_batches_calldata(&[(r3, p3), (r4, p4)])));
    // Batch 5 challenged and proved; batch 6, with a wrong root, challenged and reverted.
    let l2 = transfers(&state, n);
    let (_, r5, p5, w5) = post(&mut chain, &mut state, 5, now, vec![], l2, false);
    let after5 = state.clone();
    let l2 = transfers(&state, n);
    let (_, r6, _, _) = post(&mut chain, &mut state, 6, now, vec![], l2, true);
    // The prover and batch 6's challenger are owners already credited (a first credit of an
    // address adds about 17,100 gas, as for submitBatch's first-time owners).
    chain.fund(account(0xCC), gwei(1_000_000_000));
    chain.fund(owner(1), gwei(1_000_000_000));
    let challenge = ok("challengeBatch", chain.call_value(account(0xCC), rollup, challenge_batch_calldata(&r5), bond));
    ok("challengeBatch", chain.call_value(owner(1), rollup, challenge_batch_calldata(&r6), bond));
    let proof = prove(pk, w5.circuit(DEPTH)).unwrap();
    let prove_gas = ok("proveBatch", chain.call(owner(0), rollup, prove_batch_calldata(&r5, &proof)));
    now += response + 1;
    chain.set_time(now);
    let resolve = ok("resolveChallenge", chain.call(account(0x78), rollup, resolve_challenge_calldata(&r6)));
    state = after5;
    let proven5 = StoredBatch { proven: true, ..r5 };
    ok("finalizeBatches [5]", chain.call(account(0x77), rollup, finalize_batches_calldata(&[(proven5, p5)])));
    // The hybrid, final at once: four deposits, four withdrawals to owners already credited.
    top_ups(&mut chain, &mut queued);
    let requests = std::mem::take(&mut queued);
    let l2 = withdrawals(&state);
    let w = state.apply_batch(&Batch::new(l2).with_requests(requests.clone()), &params(6)).unwrap();
    let proof = prove(pk, w.circuit(DEPTH)).unwrap();
    let hybrid = ok("submitBatch", chain.call(account(SEQUENCER), rollup, submit_batch_calldata(&proof, &w.public_data, m, &requests).unwrap()));
    assert_eq!(U256::from_be_bytes(chain.view_word(rollup, selector("finalized()"))), U256::from(6), "final at once");

    println!("OptimisticRollup, N = {n}, M = {m}, D = {DEPTH}; windows of 7 days and 1 day");
    println!();
    println!("| entry point | gas |");
    println!("| --- | --- |");
    println!("| deploy OptimisticRollup (PoseidonT5 deployed before it) | {deploy} |");
    println!("| postBatch #1: 4 DepositNew, {n} transfers | {post1} |");
    println!("| postBatch #2: 4 deposits, 4 withdrawals, {} transfers | {post2} |", n - 4);
    println!("| finalizeBatches [1]: no payouts | {fin1} |");
    println!("| finalizeBatches [2]: 4 withdrawals to owners with no pending balance | {fin2} |");
    println!("| finalizeBatches [3, 4]: 4 withdrawals each, owners credited before | {fin34} |");
    println!("| challengeBatch | {challenge} |");
    println!("| proveBatch (answering a challenge; the prover credited before) | {prove_gas} |");
    println!("| resolveChallenge (reverting 1 batch; the challenger credited before) | {resolve} |");
    println!("| submitBatch, final at once (as ZKRollup's #3: {zk_batch3}) | {hybrid} ({:+}) |", hybrid as i64 - zk_batch3 as i64);
}
