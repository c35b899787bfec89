//! Protocol v2.1 (SPEC-v2 section 8), from the outside audit's findings V1 to V3: a FullExit can
//! always be queued (outside the deposit cap, one an account at a time), so a sequencer that
//! keeps the queue full cannot keep an owner from exiting nor exodus out of reach; the index
//! counter never wraps; the constructor refuses what anyone could stop (in the parent's
//! constructor test, and here at depth 16). Real proofs where a batch is proved; an INSECURE
//! accept-all verifier where the test is about the contract's own logic at depth 16.

use std::sync::OnceLock;

use super::*;

/// Contracts for these tests. `InsecureAcceptAllVerifier` accepts every proof (INSECURE: for
/// tests of the contract's logic only) and states the shape it is given; `ShapelessVerifier` is
/// a verifier as generated before v2.1, without `batchSize()`, `l1Slots()` and `depth()`;
/// `SequencerBot` is a sequencer that is a contract: it submits a batch and, in the same
/// transaction, fills the deposit cap again and re-queues a FullExit of its own account.
const STUBS: &str = r#"// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

contract InsecureAcceptAllVerifier {
    uint256 public batchSize;
    uint256 public l1Slots;
    uint256 public depth;

    constructor(uint256 n, uint256 m, uint256 d) {
        batchSize = n;
        l1Slots = m;
        depth = d;
    }

    function verifyProof(uint256[2] calldata, uint256[2][2] calldata, uint256[2] calldata, uint256[1] calldata)
        external
        pure
        returns (bool)
    {
        return true;
    }
}

contract ShapelessVerifier {
    function verifyProof(uint256[2] calldata, uint256[2][2] calldata, uint256[2] calldata, uint256[1] calldata)
        external
        pure
        returns (bool)
    {
        return false;
    }
}

interface IRollup {
    function deposit(uint32 index) external payable;
    function requestFullExit(uint32 index) external;
}

contract SequencerBot {
    address public rollup;

    function setRollup(address r) external {
        rollup = r;
    }

    /// Submit (`submitCall`, reverting as it reverts), then `deposits` deposits of msg.value
    /// split evenly to `index`, then a FullExit of `index` if the rollup takes one.
    function step(bytes calldata submitCall, uint32 index, uint256 deposits) external payable {
        (bool ok, bytes memory err) = rollup.call(submitCall);
        if (!ok) {
            assembly {
                revert(add(err, 32), mload(err))
            }
        }
        for (uint256 i = 0; i < deposits; i++) {
            IRollup(rollup).deposit{value: msg.value / deposits}(index);
        }
        try IRollup(rollup).requestFullExit(index) {} catch {}
    }
}
"#;

/// The stubs, compiled once.
fn stubs() -> &'static std::collections::HashMap<String, evm::Contract> {
    static COMPILED: OnceLock<std::collections::HashMap<String, evm::Contract>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Stubs.sol");
        std::fs::write(&path, STUBS).unwrap();
        evm::compile(&[&path])
    })
}

/// Deploy stub `name` with these constructor arguments; its address.
pub fn deploy_stub(chain: &mut Chain, name: &str, args: &[[u8; 32]]) -> Address {
    chain.deploy(account(DEPLOYER), &stubs()[name].bytecode, &args.concat()).0
}

/// The sequencer's refill after a batch: deposits to its account `index` until the cap is full
/// again, and a FullExit of it whenever its last one was consumed. Each accepted request joins
/// the model's queue.
fn refill(r: &mut Rollup, sequencer: Address, index: u32) {
    while r.word("openDeposits()") < U256::from(MAX_OPEN) {
        assert!(r.deposit(sequencer, index, gwei(MIN_DEPOSIT)).is_success());
    }
    if r.word_of("exitPending(uint256)", u64_word(u64::from(index))) == U256::ZERO {
        assert!(r.full_exit(sequencer, index).is_success());
    }
}

/// The time request `k` was queued.
fn queued_at(r: &mut Rollup, k: U256) -> u64 {
    let out = r.chain.view(r.address, [selector("requestAt(uint256)").as_slice(), &k.to_be_bytes::<32>()].concat());
    U256::from_be_slice(&out[32..64]).to::<u64>()
}

/// The audit's V1 attack, with real proofs: the sequencer fills the deposit cap with deposits of
/// its own and re-queues a FullExit of its own account after every batch. An owner's FullExit is
/// accepted anyway, waits its turn and is consumed in queue order (its balance credited); a
/// second owner's, left unconsumed when the sequencer stops, lets anyone start exodus once it is
/// older than exodusDelay. The ledger holds after every step.
#[test]
fn a_full_exit_is_queued_and_consumed_while_the_sequencer_keeps_the_queue_full() {
    let keys = keys();
    let mut r = Rollup::deploy(&keys, genesis(), D as u8, MAX_OPEN);
    let (seq, owner) = (account(SEQUENCER), account(GENESIS_OWNER));
    // The sequencer's own account 3, the deposit cap filled, its FullExit queued.
    assert!(r.deposit_new(seq, pubkey(3), seq, gwei(MIN_DEPOSIT)).is_success());
    refill(&mut r, seq, 3);
    r.assert_ledger();
    // New deposits are censored (the residual the README states) ...
    r.refused("a deposit under a full cap", owner, deposit_calldata(1), gwei(MIN_DEPOSIT), "QueueFull()");
    // ... but not exits: the owner of account 1 queues its FullExit.
    assert!(r.full_exit(owner, 1).is_success());
    let exit_k = r.word("requestCount()");
    r.assert_ledger();
    let mut round = 0;
    while r.word("consumed()") < exit_k {
        round += 1;
        assert!(round <= 10, "the FullExit was not reached in queue order");
        r.chain.set_time(1_000_000 + round * MATURITY);
        // Each batch takes the M oldest requests, whoever queued them.
        let before = r.word("consumed()");
        let out = r.submit(&format!("round{round}"), M, vec![]);
        assert!(out.is_success(), "{out:?}");
        assert_eq!(r.word("consumed()"), before + U256::from(M));
        r.assert_ledger();
        refill(&mut r, seq, 3);
        r.assert_ledger();
        r.refused("a deposit under a full cap", owner, deposit_calldata(1), gwei(MIN_DEPOSIT), "QueueFull()");
    }
    assert_eq!(r.pending(owner), gwei(100_000), "account 1's balance, credited to its owner");
    assert_eq!(r.state.account(1).unwrap().balance, 0);
    assert_eq!(r.word_of("exitPending(uint256)", u64_word(1)), U256::ZERO);

    // The owner of account 2 queues its FullExit; the sequencer stops consuming. Exodus opens
    // once the oldest request waiting is older than exodusDelay: by the time the owner's own
    // request is, at the latest.
    assert!(r.full_exit(owner, 2).is_success());
    let (last_k, first_k) = (r.word("requestCount()"), r.word("consumed()") + U256::from(1));
    let (owners_request, oldest) = (queued_at(&mut r, last_k), queued_at(&mut r, first_k));
    assert!(oldest <= owners_request);
    r.chain.set_time(oldest + EXODUS_DELAY);
    r.refused("exodus at exactly exodusDelay", owner, selector("activateExodus()").to_vec(), U256::ZERO, "NoExpiredRequest()");
    r.chain.set_time(owners_request + EXODUS_DELAY + 1);
    let out = r.chain.call(owner, r.address, selector("activateExodus()").to_vec());
    assert!(out.is_success(), "{out:?}");
    // Account 2 exits from the last proved root; the queue is cancelled, deposits refunded.
    assert!(r.chain.call(owner, r.address, exit_calldata(&r.state, 2).unwrap()).is_success());
    assert_eq!(r.pending(owner), gwei(150_000));
    assert!(r.chain.call(owner, r.address, cancel(&r.queue)).is_success());
    r.queue.clear();
    r.credited.insert(seq);
    assert_eq!(r.word_of("exitPending(uint256)", u64_word(2)), U256::ZERO, "cancelling clears the flag");
    assert_eq!(r.word("openDeposits()"), U256::ZERO);
    let l2: u64 = r.state.accounts().iter().filter(|(i, _)| *i != 2).map(|(_, a)| a.balance).sum();
    let mut owed = gwei(l2);
    for who in r.credited.clone() {
        owed += r.pending(who);
    }
    assert_eq!(r.chain.balance(r.address), owed, "contract balance = L2 not exited + pending");
}

/// The same attack by a sequencer that is a contract: each transaction submits a batch, then
/// fills the deposit cap again and re-queues the FullExit of its account, so the queue is never
/// below its cap between two transactions. The owner's FullExit gets in all the same and is
/// consumed in queue order.
#[test]
fn a_sequencer_contract_refilling_in_the_same_transaction_cannot_keep_an_exit_out() {
    let keys = keys();
    let mut chain = Chain::new();
    let bot = deploy_stub(&mut chain, "SequencerBot", &[]);
    let mut r = Rollup::deploy_on(chain, &keys, genesis(), D as u8, MAX_OPEN, bot);
    let set = [selector("setRollup(address)").as_slice(), &address_word(r.address)].concat();
    assert!(r.chain.call(account(DEPLOYER), bot, set).is_success());
    let (driver, owner) = (account(0xB0), account(GENESIS_OWNER));
    // The bot's account 3, owned by the bot (opened by the driver), the cap filled, its exit queued.
    assert!(r.deposit_new(driver, pubkey(3), bot, gwei(MIN_DEPOSIT)).is_success());
    while r.word("openDeposits()") < U256::from(MAX_OPEN) {
        assert!(r.deposit(driver, 3, gwei(MIN_DEPOSIT)).is_success());
    }
    r.refused("a deposit under a full cap", owner, deposit_calldata(1), gwei(MIN_DEPOSIT), "QueueFull()");
    assert!(r.full_exit(owner, 1).is_success());
    let exit_k = r.word("requestCount()");
    r.assert_ledger();
    let mut round = 0;
    while r.word("consumed()") < exit_k {
        round += 1;
        assert!(round <= 10, "the FullExit was not reached in queue order");
        r.chain.set_time(1_000_000 + round * MATURITY);
        // The deposits the batch frees, made again in the same transaction.
        let consumed_deposits = r.queue[..M].iter().filter(|q| q.kind != RequestKind::FullExit).count() as u64;
        let value = gwei(MIN_DEPOSIT * consumed_deposits.max(1));
        let out = r.submit_via(&format!("bot{round}"), M, vec![], |chain, call| {
            let mut step = selector("step(bytes,uint32,uint256)").to_vec();
            step.extend_from_slice(&u64_word(96));
            step.extend_from_slice(&u64_word(3));
            step.extend_from_slice(&u64_word(consumed_deposits));
            step.extend_from_slice(&u64_word(call.len() as u64));
            step.extend_from_slice(&call);
            step.resize(step.len() + (32 - call.len() % 32) % 32, 0);
            chain.fund(driver, value + gwei(1));
            chain.call_value(driver, bot, step, if consumed_deposits == 0 { U256::ZERO } else { value })
        });
        assert!(out.is_success(), "round {round}: {out:?}");
        r.assert_ledger();
        assert_eq!(r.word("openDeposits()"), U256::from(MAX_OPEN), "the cap is full after every transaction");
        r.refused("a deposit under a full cap", owner, deposit_calldata(1), gwei(MIN_DEPOSIT), "QueueFull()");
    }
    assert_eq!(r.pending(owner), gwei(100_000), "account 1's balance, credited to its owner");
    r.assert_ledger();
}

/// At most one FullExit of an account waits: a second reverts `ExitPending(index)` and changes
/// nothing; once a batch consumes the first, the owner may queue another.
#[test]
fn a_second_full_exit_of_an_account_waits_for_the_first() {
    let keys = keys();
    let mut r = Rollup::deploy(&keys, genesis(), D as u8, MAX_OPEN);
    let owner = account(GENESIS_OWNER);
    assert!(r.full_exit(owner, 1).is_success());
    assert_eq!(r.word_of("exitPending(uint256)", u64_word(1)), U256::from(1));
    r.refused_naming("a second FullExit of account 1", owner, request_full_exit_calldata(1), U256::ZERO, "ExitPending(uint256)", Some(1));
    // Another account's is its own matter; FullExits take no room under the deposit cap.
    assert!(r.full_exit(owner, 2).is_success());
    assert_eq!(r.word("openDeposits()"), U256::ZERO);
    r.assert_ledger();
    assert!(r.submit("exits", 2, vec![]).is_success());
    r.assert_ledger();
    assert_eq!(r.pending(owner), gwei(150_000));
    for index in [1u64, 2] {
        assert_eq!(r.word_of("exitPending(uint256)", u64_word(index)), U256::ZERO, "account {index}'s flag cleared");
    }
    // Consumed, a new one is accepted (of a zero balance now), and again only one.
    assert!(r.full_exit(owner, 1).is_success());
    r.refused_naming("a second FullExit again", owner, request_full_exit_calldata(1), U256::ZERO, "ExitPending(uint256)", Some(1));
    r.assert_ledger();
}

/// The audit's V2: at depth 16 the last index a DepositNew gets is 2^32 - 2 (the 32-bit counter
/// then reads 2^32 - 1 and never wraps); the next DepositNew is refused `TreeFull`, and deposits,
/// FullExits and exodus keep working for the accounts at both ends of the tree. The counter is
/// written to the last index directly (4.3 billion DepositNews away); batches are checked by the
/// INSECURE accept-all verifier, their roots computed by the engine.
#[test]
fn the_index_counter_stops_at_the_last_slot_of_a_depth_16_tree() {
    const DEPTH: u8 = 16;
    let mut chain = Chain::new();
    chain.set_time(1_000_000);
    chain.fund(account(DEPLOYER), gwei(10_000_000));
    let verifier = deploy_stub(&mut chain, "InsecureAcceptAllVerifier", &[u64_word(N as u64), u64_word(M as u64), u64_word(16)]);
    let mut state = State::from_accounts(16, vec![(1, Account::new(key(1).public_key(), 100_000, 0))]).unwrap();
    let g = state.genesis().unwrap();
    let rollup_code = keys_free_rollup_bytecode();
    let args = constructor_args(verifier, &g, DEPTH, MAX_OPEN, account(SEQUENCER));
    // A genesis that leaves no free slot is refused; the last free one is accepted.
    for (next, ok) in [(u32::MAX, false), (u32::MAX - 1, true)] {
        let mut a = args.clone();
        a[64..96].copy_from_slice(&u64_word(u64::from(next)));
        let out = chain.create_value(account(DEPLOYER), [rollup_code.as_slice(), &a].concat(), gwei(g.total));
        match ok {
            true => assert!(out.is_success(), "{out:?}"),
            false => assert!(out.bad_configuration().is_some_and(|s| s.contains("leaves no free slot")), "{out:?}"),
        }
    }
    let (rollup, _) = chain.deploy_value(account(DEPLOYER), &rollup_code, &args, gwei(g.total));
    let domain = Fr::from_be_bytes_mod_order(&chain.view_word(rollup, selector("domain()")));
    let view = |chain: &mut Chain, sig: &str| U256::from_be_bytes(chain.view_word(rollup, selector(sig)));
    assert_eq!(view(&mut chain, "indexEnd()"), U256::from(u32::MAX));
    // The counters' slot (1): requestCount, consumed, then nextIndex at bit 128.
    let last = u32::MAX - 1;
    chain.set_storage(rollup, U256::from(1), U256::from(last) << 128);
    assert_eq!(view(&mut chain, "nextIndex()"), U256::from(last));

    let (carol, carol_owner) = (account(0xC1), account(0xC2));
    let mut queue: Vec<Request> = Vec::new();
    let send = |chain: &mut Chain, from: Address, data: Vec<u8>, value: U256, queue: &mut Vec<Request>| {
        chain.fund(from, value + gwei(1));
        let out = chain.call_value(from, rollup, data, value);
        queue.extend(out.l1_requests().iter().map(|r| Request::from_record(r).unwrap()));
        out
    };
    // The last slot is assigned; the counter reads 2^32 - 1 and the next DepositNew is refused.
    let (x, y) = pubkey(5);
    let out = send(&mut chain, carol, deposit_new_calldata(x, y, &addr_bytes(carol_owner)), gwei(5_000), &mut queue);
    assert!(out.is_success(), "{out:?}");
    assert_eq!(queue[0].index, last);
    assert_eq!(view(&mut chain, "nextIndex()"), U256::from(u32::MAX));
    let before = (view(&mut chain, "requestCount()"), chain.balance(rollup));
    let out = send(&mut chain, carol, deposit_new_calldata(x, y, &addr_bytes(carol_owner)), gwei(5_000), &mut queue);
    assert_eq!(out.revert_selector(), selector("TreeFull()"), "{out:?}");
    assert_eq!((view(&mut chain, "requestCount()"), chain.balance(rollup)), before, "TreeFull changed nothing");
    // Deposits to both ends of the tree.
    for index in [last, 1] {
        let out = send(&mut chain, carol, deposit_calldata(index), gwei(1_000), &mut queue);
        assert!(out.is_success(), "deposit to {index}: {out:?}");
    }

    // Batches: the engine applies them, the accept-all verifier lets them through.
    let mut batch_id = 0;
    let mut submit = |chain: &mut Chain, state: &mut State, queue: &mut Vec<Request>, n: usize| {
        batch_id += 1;
        let params = BatchParams::new(N, domain).with_l1_slots(M).with_batch_id(batch_id);
        let consumed: Vec<Request> = queue.drain(..n).collect();
        let w = state.apply_batch(&Batch::new(vec![]).with_requests(consumed.clone()), &params).unwrap();
        let call = submit_batch_calldata(&Proof::default(), &w.public_data, M, &consumed).unwrap();
        let out = chain.call(account(SEQUENCER), rollup, call);
        assert!(out.is_success(), "batch {batch_id}: {out:?}");
        assert_eq!(U256::from_be_bytes(chain.view_word(rollup, selector("stateRoot()"))), U256::from_be_bytes(word(state.root())));
    };
    submit(&mut chain, &mut state, &mut queue, 2);
    assert_eq!(state.account(last).map(|a| a.balance), Some(6_000));
    // A FullExit of account 1: queued, consumed, paid to its owner.
    let out = send(&mut chain, account(GENESIS_OWNER), request_full_exit_calldata(1), U256::ZERO, &mut queue);
    assert!(out.is_success(), "{out:?}");
    submit(&mut chain, &mut state, &mut queue, 2);
    let pending = |chain: &mut Chain, who: Address| {
        let out = chain.view(rollup, [selector("pendingBalance(address)").as_slice(), &address_word(who)].concat());
        U256::from_be_slice(&out)
    };
    assert_eq!(pending(&mut chain, account(GENESIS_OWNER)), gwei(101_000));
    // The top account's FullExit is taken too; it and a deposit wait past the delay.
    for (from, data, value) in [(carol_owner, request_full_exit_calldata(last), U256::ZERO), (carol, deposit_calldata(last), gwei(2_000))] {
        let out = send(&mut chain, from, data, value, &mut queue);
        assert!(out.is_success(), "{out:?}");
    }
    chain.set_time(1_000_000 + EXODUS_DELAY + 1);
    assert!(chain.call(account(0x77), rollup, selector("activateExodus()").to_vec()).is_success());
    // Both ends of the tree exit from the last root.
    for index in [1, last] {
        let out = chain.call(account(0x77), rollup, exit_calldata(&state, index).unwrap());
        assert!(out.is_success(), "performExodus({index}): {out:?}");
    }
    assert_eq!(pending(&mut chain, carol_owner), gwei(6_000));
    assert!(chain.call(account(0x77), rollup, cancel(&queue)).is_success());
    assert_eq!(pending(&mut chain, carol), gwei(2_000), "the waiting deposit refunded");
    let flag = chain.view(rollup, [selector("exitPending(uint256)").as_slice(), &u64_word(u64::from(last))].concat());
    assert_eq!(U256::from_be_slice(&flag), U256::ZERO, "cancelling clears the FullExit's flag");
    // The contract holds exactly what it owes.
    let owed = [account(GENESIS_OWNER), carol, carol_owner].into_iter().map(|w| pending(&mut chain, w)).fold(U256::ZERO, |a, b| a + b);
    assert_eq!(owed, gwei(109_000));
    assert_eq!(chain.balance(rollup), owed);
}

/// `ZKRollup`'s creation bytecode, compiled with the stubs (no proving key needed).
pub fn keys_free_rollup_bytecode() -> Vec<u8> {
    static COMPILED: OnceLock<Vec<u8>> = OnceLock::new();
    COMPILED.get_or_init(|| evm::compile(&[&evm::root().join("verifier-sol/ZKRollup.sol")])["ZKRollup"].bytecode.clone()).clone()
}
