//! The payer and the payee against `PaymentChannels` in revm (an in-process [`ChannelsL1`]):
//! totals that never go back across restarts, vouchers accepted only as the chain backs them and
//! kept across restarts, and claims the payee makes by itself in time.

#[allow(unused_imports)]
#[path = "../../tests/common/evm.rs"]
mod evm;

use std::cell::RefCell;
use std::rc::Rc;

use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use evm::{account, Chain};
use zkrollup_channels::contract::{channel_calldata, creation_code, decode_channel, open_calldata, requestCloseCall};
use zkrollup_channels::l1::{ChannelsL1, L1Error, OnchainChannel};
use zkrollup_channels::payee::{Payee, PayeeError, Refusal};
use zkrollup_channels::payer::{PayError, Payer};
use zkrollup_channels::store::StoreError;
use zkrollup_channels::voucher::VoucherError;

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;
const START: u64 = 1_000_000;

fn ether(x: u64) -> U256 {
    U256::from(x) * U256::from(10u64).pow(U256::from(18u64))
}

fn key(byte: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(byte)).unwrap()
}

/// One chain with the contract, shared by the parties' views of it.
struct World {
    chain: Chain,
    at: Address,
    now: u64,
}

type Shared = Rc<RefCell<World>>;

fn world() -> Shared {
    let mut chain = Chain::new();
    chain.set_time(START);
    let (at, _) = chain.deploy(account(0xd0), &creation_code(), &[]);
    Rc::new(RefCell::new(World { chain, at, now: START }))
}

fn set_time(w: &Shared, t: u64) {
    let mut w = w.borrow_mut();
    w.now = t;
    w.chain.set_time(t);
}

/// A party's L1: the shared chain, its transactions from `me`.
struct RevmL1 {
    world: Shared,
    me: Address,
}

impl ChannelsL1 for RevmL1 {
    fn now(&mut self) -> Result<u64, L1Error> {
        Ok(self.world.borrow().now)
    }

    fn channel(&mut self, id: u64) -> Result<OnchainChannel, L1Error> {
        let mut w = self.world.borrow_mut();
        let at = w.at;
        let out = w.chain.view(at, channel_calldata(id));
        decode_channel(&out).map_err(|e| L1Error::Unavailable(e.to_string()))
    }

    fn send(&mut self, data: Vec<u8>, value: U256) -> Result<(), L1Error> {
        let mut w = self.world.borrow_mut();
        let at = w.at;
        let out = w.chain.call_value(self.me, at, data, value);
        if out.is_success() {
            Ok(())
        } else {
            Err(L1Error::Reverted(format!("0x{}", hex::encode(out.revert_selector()))))
        }
    }
}

/// Open a channel from `sender` to `recipient`: its id.
fn open(w: &Shared, sender: Address, recipient: Address, expiry: u64, delay: u64, deposit: U256) -> u64 {
    let mut l1 = RevmL1 { world: w.clone(), me: sender };
    w.borrow_mut().chain.fund(sender, ether(1_000));
    l1.send(open_calldata(recipient, Address::ZERO, expiry, delay as u32), deposit).unwrap();
    let mut id = 1;
    while l1.channel(id + 1).unwrap().is_live() {
        id += 1;
    }
    id
}

#[test]
fn the_payer_never_signs_a_smaller_or_repeated_total_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payer.redb");
    let contract = Address::repeat_byte(0xcc);
    let payer = Payer::open(&path, key(0x51), 1, contract).unwrap();
    let limit = ether(10);
    let totals: Vec<U256> = [1u64, 2, 3].iter().map(|x| payer.pay(7, ether(*x), limit).unwrap().cumulative).collect();
    assert_eq!(totals, vec![ether(1), ether(3), ether(6)]);
    assert_eq!(payer.pay(7, ether(5), limit), Err(PayError::AboveLimit { total: ether(11), limit }));
    assert_eq!(payer.pay(7, U256::ZERO, limit), Err(PayError::ZeroAmount));
    assert_eq!(payer.total(7).unwrap(), ether(6), "a refused payment changes nothing");
    assert_eq!(payer.total(8).unwrap(), U256::ZERO, "channels apart");
    drop(payer);
    let payer = Payer::open(&path, key(0x51), 1, contract).unwrap();
    let v = payer.pay(7, ether(4), limit).unwrap();
    assert_eq!(v.cumulative, ether(10), "on from the stored total after a restart");
    // The store belongs to its key, chain and contract.
    drop(payer);
    assert!(matches!(Payer::open(&path, key(0x52), 1, contract), Err(StoreError::OtherDeployment { .. })));
    assert!(matches!(Payer::open(&path, key(0x51), 2, contract), Err(StoreError::OtherDeployment { .. })));
}

#[test]
fn the_payee_accepts_only_what_the_chain_backs_and_keeps_the_best_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let w = world();
    let at = w.borrow().at;
    let (sender, me, someone) = (key(0x51), Address::repeat_byte(0x22), Address::repeat_byte(0x23));
    let id = open(&w, sender.address(), me, START + 10 * DAY, DAY, ether(5));
    let theirs = open(&w, sender.address(), someone, START + 10 * DAY, DAY, ether(5));
    let payer = Payer::open(&dir.path().join("payer.redb"), sender.clone(), 1, at).unwrap();
    let path = dir.path().join("payee.redb");
    let payee = Payee::open(&path, me, 1, at, HOUR, ether(100)).unwrap();
    let mut l1 = RevmL1 { world: w.clone(), me };

    let v1 = payer.pay(id, ether(1), ether(5)).unwrap();
    let a = payee.accept(&mut l1, &v1).unwrap();
    assert_eq!((a.cumulative, a.increment), (ether(1), ether(1)));
    let v2 = payer.pay(id, ether(2), ether(5)).unwrap();
    assert_eq!(payee.accept(&mut l1, &v2).unwrap().increment, ether(2));
    let refused = |r: Result<_, PayeeError>| match r {
        Err(PayeeError::Refused(why)) => why,
        other => panic!("not refused: {other:?}"),
    };
    assert_eq!(refused(payee.accept(&mut l1, &v1)), Refusal::NotLarger { best: ether(3), got: ether(1) }, "an old voucher");
    assert_eq!(refused(payee.accept(&mut l1, &v2)), Refusal::NotLarger { best: ether(3), got: ether(3) }, "a replay");
    // Above the deposit, a forged signature, another recipient's channel, no channel.
    let big = Payer::open(&dir.path().join("big.redb"), sender.clone(), 1, at).unwrap().pay(id, ether(6), ether(100)).unwrap();
    assert_eq!(refused(payee.accept(&mut l1, &big)), Refusal::AboveDeposit { deposit: ether(5), got: ether(6) });
    let forged = Payer::open(&dir.path().join("forged.redb"), key(0x99), 1, at).unwrap().pay(id, ether(4), ether(5)).unwrap();
    assert!(matches!(refused(payee.accept(&mut l1, &forged)), Refusal::Signature(VoucherError::WrongSigner { .. })));
    let other = payer.pay(theirs, ether(1), ether(5)).unwrap();
    assert_eq!(refused(payee.accept(&mut l1, &other)), Refusal::NotForMe { recipient: someone });
    let none = Payer::open(&dir.path().join("none.redb"), sender.clone(), 1, at).unwrap().pay(99, ether(1), ether(5)).unwrap();
    assert_eq!(refused(payee.accept(&mut l1, &none)), Refusal::NoChannel(99));
    assert_eq!(payee.best(id).unwrap().unwrap().0, ether(3), "no refusal changed the best");

    // Across a restart the best voucher is still there; a close request that leaves no time to
    // claim a new voucher makes the payee refuse it.
    drop(payee);
    let payee = Payee::open(&path, me, 1, at, HOUR, ether(100)).unwrap();
    assert_eq!(payee.best(id).unwrap().unwrap(), (ether(3), v2.signature.clone()));
    RevmL1 { world: w.clone(), me: sender.address() }.send(requestCloseCall { id: U256::from(id) }.abi_encode(), U256::ZERO).unwrap();
    set_time(&w, START + DAY - HOUR);
    let late = payer.pay(id, ether(1), ether(5)).unwrap();
    assert_eq!(refused(payee.accept(&mut l1, &late)), Refusal::TooLate { expiry: START + DAY, now: START + DAY - HOUR, margin: HOUR });
}

#[test]
fn the_payee_claims_by_itself_before_expiry_and_past_its_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let w = world();
    let at = w.borrow().at;
    let (sender, me) = (key(0x51), Address::repeat_byte(0x22));
    let slow = open(&w, sender.address(), me, START + 10 * DAY, DAY, ether(5));
    let busy = open(&w, sender.address(), me, START + 10 * DAY, DAY, ether(5));
    let payer = Payer::open(&dir.path().join("payer.redb"), sender.clone(), 1, at).unwrap();
    let payee = Payee::open(&dir.path().join("payee.redb"), me, 1, at, HOUR, ether(2)).unwrap();
    let mut l1 = RevmL1 { world: w.clone(), me };
    payee.accept(&mut l1, &payer.pay(slow, ether(1), ether(5)).unwrap()).unwrap();
    payee.accept(&mut l1, &payer.pay(busy, ether(1), ether(5)).unwrap()).unwrap();
    assert_eq!(payee.claim_due(&mut l1).unwrap(), vec![], "below the threshold, far from expiry");
    // Past the threshold: the busy channel is claimed at once.
    payee.accept(&mut l1, &payer.pay(busy, ether(1), ether(5)).unwrap()).unwrap();
    let before = w.borrow_mut().chain.balance(me);
    assert_eq!(payee.claim_due(&mut l1).unwrap(), vec![(busy, ether(2))]);
    assert_eq!(w.borrow_mut().chain.balance(me) - before, ether(2));
    assert_eq!(payee.claim_due(&mut l1).unwrap(), vec![], "nothing new to claim");
    // The sender asks to close the slow channel: the payee claims a margin before the end.
    RevmL1 { world: w.clone(), me: sender.address() }.send(requestCloseCall { id: U256::from(slow) }.abi_encode(), U256::ZERO).unwrap();
    set_time(&w, START + DAY - HOUR - 1);
    assert_eq!(payee.claim_due(&mut l1).unwrap(), vec![], "a second before the margin");
    set_time(&w, START + DAY - HOUR);
    assert_eq!(payee.claim_due(&mut l1).unwrap(), vec![(slow, ether(1))]);
    assert_eq!(w.borrow_mut().chain.balance(me) - before, ether(3));
    assert_eq!(l1.channel(slow).unwrap().claimed, ether(1));
}
