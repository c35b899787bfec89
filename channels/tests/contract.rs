//! `PaymentChannels.sol` (SPEC-channels section 3) in revm, compiled by the pinned solc, with
//! vouchers from the crate's EIP-712 signer. After every call the contract's ETH is the sum over
//! live channels of `deposit - claimed`, and every refusal is its error with nothing changed.

#[allow(unused_imports)]
#[path = "../../tests/common/evm.rs"]
mod evm;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolValue};
use evm::{account, Chain, Outcome};
use rand::{Rng, SeedableRng};
use zkrollup_channels::contract::{
    channelCountCall, channel_calldata, claim_and_close_calldata, decode_channel, claim_calldata, creation_code, eip712DomainCall, extendCall,
    open_calldata, refundCall, requestCloseCall, topUpCall, voucherDigestCall, PAYMENT_CHANNELS_HEX,
};
use zkrollup_channels::l1::OnchainChannel as Onchain;
use zkrollup_channels::voucher::{compact, digest, domain, sign_voucher, Voucher};

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;
const START: u64 = 1_000_000;
/// revm's chain id.
const CHAIN_ID: u64 = 1;

fn ether(x: u64) -> U256 {
    U256::from(x) * U256::from(10u64).pow(U256::from(18u64))
}

fn key(byte: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(byte)).unwrap()
}

/// The repository root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Compile Solidity files with the pinned solcjs: creation code by contract name.
fn compile(files: &[PathBuf]) -> HashMap<String, Vec<u8>> {
    let out = std::process::Command::new("node").arg(root().join("verifier-sol/compile.mjs")).args(files).output().expect("node runs");
    assert!(out.status.success(), "solc: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["contracts"].as_object().unwrap().iter().map(|(n, c)| (n.clone(), hex::decode(c["bytecode"].as_str().unwrap()).unwrap())).collect()
}

/// The contract on a chain, with the checks made after every call.
struct Rig {
    chain: Chain,
    at: Address,
    now: u64,
}

impl Rig {
    fn new() -> Rig {
        let mut chain = Chain::new();
        chain.set_time(START);
        let (at, _) = chain.deploy(account(0xd0), &creation_code(), &[]);
        let mut rig = Rig { chain, at, now: START };
        for who in [SENDER, RECIPIENT, OTHER] {
            rig.chain.fund(who, ether(1_000));
        }
        rig
    }

    /// A rig whose sender (its key signs its vouchers) holds 100 ether.
    fn with_sender() -> (Rig, PrivateKeySigner) {
        let mut rig = Rig::new();
        let k = sender_key();
        rig.chain.fund(k.address(), ether(100));
        (rig, k)
    }

    fn time(&mut self, t: u64) {
        self.now = t;
        self.chain.set_time(t);
    }

    fn count(&mut self) -> u64 {
        let out = self.chain.view(self.at, channelCountCall {}.abi_encode());
        U256::abi_decode(&out).unwrap().to()
    }

    fn channel(&mut self, id: u64) -> Onchain {
        decode_channel(&self.chain.view(self.at, channel_calldata(id))).unwrap()
    }

    /// Everything a call could change: the channels, the balances of the parties and the
    /// contract's.
    fn snapshot(&mut self, who: &[Address]) -> (Vec<Onchain>, Vec<U256>) {
        let n = self.count();
        let channels = (1..=n).map(|id| self.channel(id)).collect();
        let mut balances: Vec<U256> = who.iter().map(|a| self.chain.balance(*a)).collect();
        balances.push(self.chain.balance(self.at));
        (channels, balances)
    }

    /// The identity: the contract holds exactly what its live channels owe.
    fn check_identity(&mut self) {
        let n = self.count();
        let mut owed = U256::ZERO;
        for id in 1..=n {
            let c = self.channel(id);
            if c.sender != Address::ZERO {
                assert!(c.claimed <= c.deposit, "channel {id}: claimed above the deposit");
                owed += c.deposit - c.claimed;
            }
        }
        assert_eq!(self.chain.balance(self.at), owed, "the contract's ETH is what its channels owe");
    }

    /// A call that must succeed: its outcome, after the identity is checked.
    fn ok(&mut self, what: &str, from: Address, data: Vec<u8>, value: U256) -> Outcome {
        let out = self.chain.call_value(from, self.at, data, value);
        assert!(out.is_success(), "{what}: {out:?}");
        self.check_identity();
        out
    }

    /// A call that must be refused with `error`, changing nothing.
    fn refused(&mut self, what: &str, from: Address, data: Vec<u8>, value: U256, error: &str) {
        let parties = [SENDER, RECIPIENT, OTHER, from];
        let before = self.snapshot(&parties);
        let out = self.chain.call_value(from, self.at, data, value);
        assert!(!out.is_success(), "{what}: accepted");
        assert_eq!(out.revert_selector(), evm::selector(error), "{what}: refused with another error than {error}: {out:?}");
        // The caller paid no gas here (gas price zero): nothing may differ.
        assert_eq!(self.snapshot(&parties), before, "{what}: the refusal changed something");
        self.check_identity();
    }

    fn open(&mut self, from: Address, recipient: Address, signer: Address, expiry: u64, delay: u32, value: U256) -> u64 {
        self.ok("open", from, open_calldata(recipient, signer, expiry, delay), value);
        self.count()
    }

    fn domain(&self) -> alloy::sol_types::Eip712Domain {
        domain(CHAIN_ID, self.at)
    }

    fn voucher(&self, signer: &PrivateKeySigner, id: u64, amount: U256) -> Vec<u8> {
        sign_voucher(signer, &self.domain(), &Voucher { channelId: U256::from(id), cumulativeAmount: amount }).to_vec()
    }
}

/// The sender (its key signs its vouchers), the recipient, a third party.
const SENDER: Address = Address::new([0x11; 20]);
const RECIPIENT: Address = Address::new([0x22; 20]);
const OTHER: Address = Address::new([0x33; 20]);

/// The sender's key: the tests open channels from its address.
fn sender_key() -> PrivateKeySigner {
    key(0x51)
}

#[test]
fn the_committed_bytecode_is_solcs_compilation_of_the_source() {
    let compiled = compile(&[root().join("verifier-sol/PaymentChannels.sol")]);
    assert_eq!(hex::encode(&compiled["PaymentChannels"]), PAYMENT_CHANNELS_HEX.trim(), "run: node verifier-sol/compile.mjs verifier-sol/PaymentChannels.sol and commit channels/contracts/PaymentChannels.hex");
}

#[test]
fn the_digest_and_the_domain_are_the_libraries() {
    let mut r = Rig::new();
    let v = Voucher { channelId: U256::from(7u64), cumulativeAmount: ether(3) };
    let out = r.chain.view(r.at, voucherDigestCall { id: v.channelId, cumulativeAmount: v.cumulativeAmount }.abi_encode());
    assert_eq!(B256::abi_decode(&out).unwrap(), digest(&r.domain(), &v));
    let out = r.chain.view(r.at, eip712DomainCall {}.abi_encode());
    let d = eip712DomainCall::abi_decode_returns(&out).unwrap();
    assert_eq!(d.fields.0, [0x0f]);
    assert_eq!((d.name.as_str(), d.version.as_str()), ("zkrollup PaymentChannels", "1"));
    assert_eq!((d.chainId, d.verifyingContract), (U256::from(CHAIN_ID), r.at));
    assert_eq!((d.salt, d.extensions.len()), (B256::ZERO, 0));
}

/// ethers 6 (pinned in `tests/js`) signs the same bytes as the crate for the same key and
/// voucher, over the same digest as the contract's `voucherDigest`, and the contract pays it.
#[test]
fn an_outside_eip712_signer_makes_the_same_voucher_and_the_contract_pays_it() {
    let script = root().join("tests/js/eip712_voucher.mjs");
    assert!(root().join("tests/js/node_modules/ethers").is_dir(), "ethers is not installed: run `npm ci --prefix tests/js`");
    let (mut r, k) = Rig::with_sender();
    let id = r.open(k.address(), RECIPIENT, Address::ZERO, START + 10 * DAY, DAY as u32, ether(5));
    for amount in [U256::from(1u64), ether(1) + U256::from(7u64), ether(5)] {
        let key_hex = format!("0x{}", hex::encode(k.credential().to_bytes()));
        let out = std::process::Command::new("node")
            .arg(&script)
            .args([key_hex, CHAIN_ID.to_string(), r.at.to_string(), id.to_string(), amount.to_string()])
            .output()
            .expect("node runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let theirs = hex::decode(v["signature"].as_str().unwrap().trim_start_matches("0x")).unwrap();
        let voucher = Voucher { channelId: U256::from(id), cumulativeAmount: amount };
        assert_eq!(v["digest"].as_str().unwrap(), digest(&r.domain(), &voucher).to_string());
        assert_eq!(theirs, r.voucher(&k, id, amount), "the same signature bytes for {amount}");
        r.ok("claim with ethers' voucher", OTHER, claim_calldata(id, amount, &theirs), U256::ZERO);
    }
    assert_eq!(r.channel(id).claimed, ether(5));
}

/// The honest life: open, claim, top up, claim past the first deposit, close request, refund;
/// every wei accounted for.
#[test]
fn an_honest_channel_pays_exactly_what_its_vouchers_say_and_refunds_the_rest() {
    let (mut r, k) = Rig::with_sender();
    let sender = k.address();
    let out = r.ok("open", sender, open_calldata(RECIPIENT, Address::ZERO, START + 10 * DAY, DAY as u32), ether(5));
    let id = r.count();
    assert_eq!(id, 1);
    // ChannelOpened, encoded by hand in the contract: the recipient indexed, the rest in data.
    let Outcome::Success { logs, .. } = out else { unreachable!() };
    assert_eq!(logs.len(), 1);
    let topic = alloy::primitives::keccak256("ChannelOpened(uint256,address,address,address,uint256,uint64,uint32)");
    let word = |x: U256| B256::from(x.to_be_bytes::<32>());
    assert_eq!(logs[0].topics(), &[topic, word(U256::from(1u64)), RECIPIENT.into_word()]);
    let data = (sender, Address::ZERO, ether(5), START + 10 * DAY, DAY as u32).abi_encode_params();
    assert_eq!(logs[0].data.data.to_vec(), data);
    assert_eq!(
        r.channel(1),
        Onchain { sender, expiry: START + 10 * DAY, settle_delay: DAY as u32, recipient: RECIPIENT, deposit: ether(5), signer: Address::ZERO, claimed: U256::ZERO }
    );
    let recipient_before = r.chain.balance(RECIPIENT);
    // Anyone may bring the voucher: the recipient is paid.
    r.ok("claim 2", OTHER, claim_calldata(id, ether(2), &r.voucher(&k, id, ether(2))), U256::ZERO);
    assert_eq!(r.chain.balance(RECIPIENT) - recipient_before, ether(2));
    r.ok("top up", OTHER, topUpCall { id: U256::from(id) }.abi_encode(), ether(3));
    assert_eq!(r.channel(1).deposit, ether(8));
    r.ok("claim 7", RECIPIENT, claim_calldata(id, ether(7), &r.voucher(&k, id, ether(7))), U256::ZERO);
    assert_eq!(r.chain.balance(RECIPIENT) - recipient_before, ether(7));
    assert_eq!(r.channel(1).claimed, ether(7));
    r.ok("request close", sender, requestCloseCall { id: U256::from(id) }.abi_encode(), U256::ZERO);
    assert_eq!(r.channel(1).expiry, START + DAY);
    r.time(START + DAY + 1);
    let sender_before = r.chain.balance(sender);
    r.ok("refund", OTHER, refundCall { id: U256::from(id) }.abi_encode(), U256::ZERO);
    assert_eq!(r.chain.balance(sender) - sender_before, ether(1), "the unclaimed ether back to the sender");
    assert_eq!(r.channel(1), Onchain::default(), "deleted");
    assert_eq!(r.chain.balance(r.at), U256::ZERO);
    assert_eq!(r.count(), 1, "ids are never reused");
}

#[test]
fn old_replayed_and_foreign_vouchers_pay_nothing() {
    let (mut r, k) = Rig::with_sender();
    let one = r.open(k.address(), RECIPIENT, Address::ZERO, START + 10 * DAY, DAY as u32, ether(5));
    let two = r.open(k.address(), RECIPIENT, Address::ZERO, START + 10 * DAY, DAY as u32, ether(5));
    let v3 = r.voucher(&k, one, ether(3));
    r.ok("claim 3", RECIPIENT, claim_calldata(one, ether(3), &v3), U256::ZERO);
    r.refused("the same voucher again", RECIPIENT, claim_calldata(one, ether(3), &v3), U256::ZERO, "NothingToClaim()");
    let v2 = r.voucher(&k, one, ether(2));
    r.refused("an older voucher", RECIPIENT, claim_calldata(one, ether(2), &v2), U256::ZERO, "NothingToClaim()");
    r.refused("channel 1's voucher on channel 2", RECIPIENT, claim_calldata(two, ether(3), &v3), U256::ZERO, "BadSignature()");
    r.refused("a voucher for another amount", RECIPIENT, claim_calldata(one, ether(4), &v3), U256::ZERO, "BadSignature()");
    // Another deployment, and another chain.
    let (b, _) = r.chain.deploy(account(0xd9), &creation_code(), &[]);
    assert_ne!(b, r.at);
    let foreign = sign_voucher(&k, &domain(CHAIN_ID, b), &Voucher { channelId: U256::from(one), cumulativeAmount: ether(4) });
    r.refused("deployment B's voucher on A", RECIPIENT, claim_calldata(one, ether(4), &foreign), U256::ZERO, "BadSignature()");
    let chain_2 = sign_voucher(&k, &domain(2, r.at), &Voucher { channelId: U256::from(one), cumulativeAmount: ether(4) });
    r.refused("another chain's voucher", RECIPIENT, claim_calldata(one, ether(4), &chain_2), U256::ZERO, "BadSignature()");
    r.refused("someone else's signature", RECIPIENT, claim_calldata(one, ether(4), &r.voucher(&key(0x99), one, ether(4))), U256::ZERO, "BadSignature()");
}

#[test]
fn signatures_the_spec_refuses_are_refused_and_its_two_forms_accepted() {
    let (mut r, k) = Rig::with_sender();
    let id = r.open(k.address(), RECIPIENT, Address::ZERO, START + 10 * DAY, DAY as u32, ether(5));
    let sig: [u8; 65] = r.voucher(&k, id, ether(1)).try_into().unwrap();
    // The high-s twin recovers the same key; the contract refuses it.
    let n = U256::from_str_radix("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", 16).unwrap();
    let mut twin = sig;
    twin[32..64].copy_from_slice(&(n - U256::from_be_slice(&sig[32..64])).to_be_bytes::<32>());
    twin[64] = if sig[64] == 27 { 28 } else { 27 };
    r.refused("the high-s twin", RECIPIENT, claim_calldata(id, ether(1), &twin), U256::ZERO, "BadSignature()");
    for v in [0u8, 1, 26, 29] {
        let mut bad = sig;
        bad[64] = v;
        r.refused(&format!("v = {v}"), RECIPIENT, claim_calldata(id, ether(1), &bad), U256::ZERO, "BadSignature()");
    }
    r.refused("63 bytes", RECIPIENT, claim_calldata(id, ether(1), &sig[..63]), U256::ZERO, "BadSignature()");
    r.refused("66 bytes", RECIPIENT, claim_calldata(id, ether(1), &[&sig[..], &[0]].concat()), U256::ZERO, "BadSignature()");
    let mut zero = [0u8; 65];
    zero[64] = 27;
    r.refused("nothing recovers", RECIPIENT, claim_calldata(id, ether(1), &zero), U256::ZERO, "BadSignature()");
    r.ok("the 64-byte form", RECIPIENT, claim_calldata(id, ether(1), &compact(&sig).unwrap()), U256::ZERO);
    r.ok("the 65-byte form", RECIPIENT, claim_calldata(id, ether(2), &r.voucher(&k, id, ether(2))), U256::ZERO);
    assert_eq!(r.channel(id).claimed, ether(2));
}

#[test]
fn a_delegated_signer_signs_and_the_sender_then_does_not() {
    let (mut r, k) = Rig::with_sender();
    let hot = key(0x77);
    let id = r.open(k.address(), RECIPIENT, hot.address(), START + 10 * DAY, DAY as u32, ether(5));
    assert_eq!(r.channel(id).signer, hot.address());
    r.refused("the sender's own voucher", RECIPIENT, claim_calldata(id, ether(1), &r.voucher(&k, id, ether(1))), U256::ZERO, "BadSignature()");
    r.ok("the hot key's voucher", RECIPIENT, claim_calldata(id, ether(1), &r.voucher(&hot, id, ether(1))), U256::ZERO);
}

/// Every time boundary at ±1 second: opening against the settle delay's range and expiry,
/// claiming at expiry, refunding at expiry and after, a close request against the settle
/// delay, topping up and closing at expiry.
#[test]
fn every_boundary_holds_to_the_second() {
    let (mut r, k) = Rig::with_sender();
    let s = k.address();
    let open = |recipient, delay: u64, expiry: u64| open_calldata(recipient, Address::ZERO, expiry, delay as u32);
    r.refused("a settle delay of an hour less a second", s, open(RECIPIENT, HOUR - 1, START + DAY), ether(1), "SettleDelayOutOfRange()");
    r.refused("30 days and a second", s, open(RECIPIENT, 30 * DAY + 1, START + 60 * DAY), ether(1), "SettleDelayOutOfRange()");
    r.refused("expiry a second too soon", s, open(RECIPIENT, HOUR, START + HOUR - 1), ether(1), "ExpiryTooSoon()");
    r.ok("an hour, expiring then", s, open(RECIPIENT, HOUR, START + HOUR), ether(1));
    r.ok("30 days", s, open(RECIPIENT, 30 * DAY, START + 30 * DAY), ether(1));
    let id = r.open(s, RECIPIENT, Address::ZERO, START + 2 * DAY, HOUR as u32, ether(4));
    let expiry = START + 2 * DAY;
    // A close request brings expiry to now + the settle delay, never later than it was.
    r.time(START + 2 * DAY - HOUR + 1);
    r.ok("request close within the delay of expiry", s, requestCloseCall { id: U256::from(id) }.abi_encode(), U256::ZERO);
    assert_eq!(r.channel(id).expiry, expiry, "expiry stays: it was closer than the delay");
    r.ok("extend", s, extendCall { id: U256::from(id), expiry: expiry + DAY }.abi_encode(), U256::ZERO);
    r.refused("extend to the same", s, extendCall { id: U256::from(id), expiry: expiry + DAY }.abi_encode(), U256::ZERO, "ExpiryNotExtended()");
    r.ok("request close", s, requestCloseCall { id: U256::from(id) }.abi_encode(), U256::ZERO);
    let expiry = r.now + HOUR;
    assert_eq!(r.channel(id).expiry, expiry, "now + the settle delay");
    // At expiry: claim and top up work; refund does not yet.
    r.time(expiry);
    r.refused("refund at expiry", OTHER, refundCall { id: U256::from(id) }.abi_encode(), U256::ZERO, "ChannelNotExpired()");
    r.ok("top up at expiry", OTHER, topUpCall { id: U256::from(id) }.abi_encode(), ether(1));
    r.ok("claim at expiry", OTHER, claim_calldata(id, ether(1), &r.voucher(&k, id, ether(1))), U256::ZERO);
    // A second later: the recipient's time is over.
    r.time(expiry + 1);
    r.refused("claim after expiry", OTHER, claim_calldata(id, ether(2), &r.voucher(&k, id, ether(2))), U256::ZERO, "ChannelExpired()");
    r.refused("top up after expiry", OTHER, topUpCall { id: U256::from(id) }.abi_encode(), ether(1), "ChannelExpired()");
    r.refused("close after expiry", RECIPIENT, claim_and_close_calldata(id, ether(2), &r.voucher(&k, id, ether(2))), U256::ZERO, "ChannelExpired()");
    r.ok("refund after expiry", OTHER, refundCall { id: U256::from(id) }.abi_encode(), U256::ZERO);
}

/// A voucher above the deposit pays the deposit; after a top-up the same voucher pays the rest.
#[test]
fn a_voucher_above_the_deposit_is_paid_in_two_steps_across_a_top_up() {
    let (mut r, k) = Rig::with_sender();
    let id = r.open(k.address(), RECIPIENT, Address::ZERO, START + 10 * DAY, DAY as u32, ether(1));
    let v = r.voucher(&k, id, ether(3) / U256::from(2));
    let before = r.chain.balance(RECIPIENT);
    r.ok("claim 1.5 of 1", RECIPIENT, claim_calldata(id, ether(3) / U256::from(2), &v), U256::ZERO);
    assert_eq!(r.chain.balance(RECIPIENT) - before, ether(1), "the whole deposit");
    r.refused("again, nothing new", RECIPIENT, claim_calldata(id, ether(3) / U256::from(2), &v), U256::ZERO, "NothingToClaim()");
    r.ok("top up 1", k.address(), topUpCall { id: U256::from(id) }.abi_encode(), ether(1));
    r.ok("the same voucher", RECIPIENT, claim_calldata(id, ether(3) / U256::from(2), &v), U256::ZERO);
    assert_eq!(r.chain.balance(RECIPIENT) - before, ether(3) / U256::from(2), "the rest of the voucher");
}

/// `claimAndClose`: the recipient only; a voucher bringing nothing new needs no signature.
#[test]
fn the_recipient_claims_and_closes_in_one_call() {
    let (mut r, k) = Rig::with_sender();
    let id = r.open(k.address(), RECIPIENT, Address::ZERO, START + 10 * DAY, DAY as u32, ether(5));
    let v = r.voucher(&k, id, ether(2));
    r.refused("by the sender", k.address(), claim_and_close_calldata(id, ether(2), &v), U256::ZERO, "NotRecipient()");
    r.refused("with another amount's voucher", RECIPIENT, claim_and_close_calldata(id, ether(2), &r.voucher(&k, id, ether(3))), U256::ZERO, "BadSignature()");
    let (rb, sb) = (r.chain.balance(RECIPIENT), r.chain.balance(k.address()));
    r.ok("claim and close", RECIPIENT, claim_and_close_calldata(id, ether(2), &v), U256::ZERO);
    assert_eq!((r.chain.balance(RECIPIENT) - rb, r.chain.balance(k.address()) - sb), (ether(2), ether(3)));
    assert_eq!(r.channel(id), Onchain::default());
    r.refused("a closed channel", RECIPIENT, claim_calldata(id, ether(3), &r.voucher(&k, id, ether(3))), U256::ZERO, "UnknownChannel()");
    // Nothing new to claim: no signature needed.
    let id = r.open(k.address(), RECIPIENT, Address::ZERO, START + 10 * DAY, DAY as u32, ether(5));
    r.ok("claim 1", RECIPIENT, claim_calldata(id, ether(1), &r.voucher(&k, id, ether(1))), U256::ZERO);
    let sb = r.chain.balance(k.address());
    r.ok("close without a signature", RECIPIENT, claim_and_close_calldata(id, ether(1), &[]), U256::ZERO);
    assert_eq!(r.chain.balance(k.address()) - sb, ether(4));
}

#[test]
fn every_other_refusal_is_its_error_and_changes_nothing() {
    let (mut r, k) = Rig::with_sender();
    let s = k.address();
    let open = |recipient, value| (open_calldata(recipient, Address::ZERO, START + DAY, HOUR as u32), value);
    let (d, v) = open(RECIPIENT, U256::ZERO);
    r.refused("no deposit", s, d, v, "ZeroDeposit()");
    r.chain.fund(s, U256::from(1u64) << 100);
    let (d, _) = open(RECIPIENT, U256::ZERO);
    r.refused("2^96 wei", s, d, U256::from(1u64) << 96, "DepositTooLarge()");
    let (d, v) = open(Address::ZERO, ether(1));
    r.refused("to nobody", s, d, v, "ZeroAddress()");
    let (d, v) = open(s, ether(1));
    r.refused("to oneself", s, d, v, "SelfChannel()");
    let (d, v) = open(RECIPIENT, (U256::from(1u64) << 96) - U256::from(1u64));
    r.ok("2^96 - 1 wei", s, d, v);
    r.refused("a top-up past 2^96", OTHER, topUpCall { id: U256::from(1u64) }.abi_encode(), U256::from(1u64), "DepositTooLarge()");
    r.refused("a zero top-up", OTHER, topUpCall { id: U256::from(1u64) }.abi_encode(), U256::ZERO, "ZeroDeposit()");
    for (what, data) in [
        ("top up", topUpCall { id: U256::from(9u64) }.abi_encode()),
        ("extend", extendCall { id: U256::from(9u64), expiry: START + 9 * DAY }.abi_encode()),
        ("request close", requestCloseCall { id: U256::from(9u64) }.abi_encode()),
        ("refund", refundCall { id: U256::from(9u64) }.abi_encode()),
        ("claim", claim_calldata(9, ether(1), &r.voucher(&k, 9, ether(1)))),
        ("claim and close", claim_and_close_calldata(9, ether(1), &r.voucher(&k, 9, ether(1)))),
    ] {
        let value = if what == "top up" { ether(1) } else { U256::ZERO };
        r.refused(&format!("{what} on an unknown channel"), s, data, value, "UnknownChannel()");
    }
    r.refused("extend by another", OTHER, extendCall { id: U256::from(1u64), expiry: START + 9 * DAY }.abi_encode(), U256::ZERO, "NotSender()");
    r.refused("close request by another", RECIPIENT, requestCloseCall { id: U256::from(1u64) }.abi_encode(), U256::ZERO, "NotSender()");
    r.refused("an earlier expiry", s, extendCall { id: U256::from(1u64), expiry: START + DAY - 1 }.abi_encode(), U256::ZERO, "ExpiryNotExtended()");
    r.refused("nothing to claim", RECIPIENT, claim_calldata(1, U256::ZERO, &r.voucher(&k, 1, U256::ZERO)), U256::ZERO, "NothingToClaim()");
    // Plain ether is refused (no receive function): nothing to name but a revert.
    let out = r.chain.call_value(OTHER, r.at, vec![], ether(1));
    assert!(!out.is_success());
    r.check_identity();
}

/// Reentrant parties: a recipient that calls claim, claimAndClose and refund again from its
/// receive, and a sender that asks for its refund again; neither gets a wei more, and a
/// recipient that refuses payment only loses its own claim.
#[test]
fn reentrant_senders_and_recipients_get_nothing_extra() {
    let mut r = Rig::new();
    let fixtures = compile(&[root().join("channels/tests/fixtures/Reentrant.sol")]);
    let args = r.at.abi_encode();
    let (evil_recipient, _) = r.chain.deploy(account(0xd1), &fixtures["ReentrantRecipient"], &args);
    let (evil_sender, _) = r.chain.deploy(account(0xd2), &fixtures["ReentrantSender"], &args);
    let (refuser, _) = r.chain.deploy(account(0xd3), &fixtures["Refuser"], &[]);
    let k = sender_key();
    r.chain.fund(k.address(), ether(100));

    let id = r.open(k.address(), evil_recipient, Address::ZERO, START + 10 * DAY, DAY as u32, ether(5));
    let v = r.voucher(&k, id, ether(2));
    alloy::sol! { function arm(uint256 id, uint256 amount, bytes signature); function claimAndClose(); function reentered() returns (uint256); function payments() returns (uint256); }
    let arm = armCall { id: U256::from(id), amount: ether(2), signature: v.clone().into() }.abi_encode();
    assert!(r.chain.call(OTHER, evil_recipient, arm).is_success());
    let sender_before = r.chain.balance(k.address());
    r.ok("claim to a reentrant recipient", OTHER, claim_calldata(id, ether(2), &v), U256::ZERO);
    assert_eq!(r.chain.balance(evil_recipient), ether(2), "paid once");
    // Its calls back: the claim again finds nothing new, the refund finds the channel open, and
    // the close with nothing new (its right as the recipient) closes it, the rest to the sender.
    let reentered = |r: &mut Rig, at| U256::abi_decode(&r.chain.view(at, reenteredCall {}.abi_encode())).unwrap();
    assert_eq!(reentered(&mut r, evil_recipient), U256::from(1u64));
    assert_eq!(r.channel(id), Onchain::default());
    assert_eq!(r.chain.balance(k.address()) - sender_before, ether(3), "the rest to the sender");
    assert_eq!(r.chain.balance(r.at), U256::ZERO);
    let out = r.chain.call(OTHER, evil_recipient, claimAndCloseCall {}.abi_encode());
    assert!(!out.is_success(), "closed already");
    assert_eq!(r.chain.balance(evil_recipient), ether(2), "nothing more");

    let hot = key(0x78);
    alloy::sol! { function open(address recipient, address signer, uint64 expiry, uint32 settleDelay) payable; }
    let open_evil = openCall { recipient: RECIPIENT, signer: hot.address(), expiry: START + DAY, settleDelay: HOUR as u32 }.abi_encode();
    r.chain.fund(OTHER, ether(100));
    assert!(r.chain.call_value(OTHER, evil_sender, open_evil, ether(3)).is_success());
    r.check_identity();
    let id = r.count();
    r.ok("claim 1", RECIPIENT, claim_calldata(id, ether(1), &r.voucher(&hot, id, ether(1))), U256::ZERO);
    r.time(START + DAY + 1);
    r.ok("refund to a reentrant sender", OTHER, refundCall { id: U256::from(id) }.abi_encode(), U256::ZERO);
    assert_eq!(r.chain.balance(evil_sender), ether(2), "refunded once");
    assert_eq!(reentered(&mut r, evil_sender), U256::ZERO);

    // A recipient that refuses payment: its claim fails; the sender's refund is untouched.
    r.time(START);
    let id = r.open(k.address(), refuser, Address::ZERO, START + 2 * HOUR, HOUR as u32, ether(1));
    r.refused("a claim the recipient refuses", OTHER, claim_calldata(id, ether(1), &r.voucher(&k, id, ether(1))), U256::ZERO, "TransferFailed()");
    r.time(START + 2 * HOUR + 1);
    let before = r.chain.balance(k.address());
    r.ok("the sender's refund", OTHER, refundCall { id: U256::from(id) }.abi_encode(), U256::ZERO);
    assert_eq!(r.chain.balance(k.address()) - before, ether(1));
}

/// Random operations against a model in Rust: after each, the contract agrees with the model on
/// every channel and every balance, and a call the model refuses is refused.
#[test]
fn random_operations_agree_with_a_reference_model() {
    let seed: u64 = std::env::var("CHANNELS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("channels property test seed {seed} (CHANNELS_SEED={seed} reruns it)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut r = Rig::new();
    let k = sender_key();
    r.chain.fund(k.address(), ether(1_000));
    #[derive(Clone, Copy, Debug, Default, PartialEq)]
    struct Model {
        live: bool,
        expiry: u64,
        delay: u64,
        deposit: u128,
        claimed: u128,
        best_voucher: u128,
    }
    let mut model: Vec<Model> = Vec::new();
    let gwei = |x: u128| U256::from(x) * U256::from(1_000_000_000u64);
    for step in 0..300 {
        if rng.gen_bool(0.15) || model.is_empty() {
            let delay = rng.gen_range(HOUR..=2 * DAY);
            let expiry = r.now + delay + rng.gen_range(0..3 * DAY);
            let deposit = rng.gen_range(1..1_000u128);
            r.open(k.address(), RECIPIENT, Address::ZERO, expiry, delay as u32, gwei(deposit));
            model.push(Model { live: true, expiry, delay, deposit, claimed: 0, best_voucher: 0 });
            continue;
        }
        let i = rng.gen_range(0..model.len());
        let id = i as u64 + 1;
        let m = model[i];
        match rng.gen_range(0..6) {
            0 => {
                // A voucher, new or old.
                let amount = rng.gen_range(0..m.deposit + 200);
                let data = claim_calldata(id, gwei(amount), &r.voucher(&k, id, gwei(amount)));
                let pay = amount.min(m.deposit).saturating_sub(m.claimed);
                if !m.live {
                    r.refused("claim", RECIPIENT, data, U256::ZERO, "UnknownChannel()");
                } else if r.now > m.expiry {
                    r.refused("claim", RECIPIENT, data, U256::ZERO, "ChannelExpired()");
                } else if pay == 0 {
                    r.refused("claim", RECIPIENT, data, U256::ZERO, "NothingToClaim()");
                } else {
                    r.ok("claim", RECIPIENT, data, U256::ZERO);
                    model[i].claimed += pay;
                    model[i].best_voucher = model[i].best_voucher.max(amount);
                }
            }
            1 => {
                let add = rng.gen_range(0..500u128);
                let data = topUpCall { id: U256::from(id) }.abi_encode();
                if !m.live {
                    r.refused("top up", OTHER, data, gwei(add), "UnknownChannel()");
                } else if r.now > m.expiry {
                    r.refused("top up", OTHER, data, gwei(add), "ChannelExpired()");
                } else if add == 0 {
                    r.refused("top up", OTHER, data, gwei(add), "ZeroDeposit()");
                } else {
                    r.ok("top up", OTHER, data, gwei(add));
                    model[i].deposit += add;
                }
            }
            2 => {
                let data = requestCloseCall { id: U256::from(id) }.abi_encode();
                if !m.live {
                    r.refused("request close", k.address(), data, U256::ZERO, "UnknownChannel()");
                } else {
                    r.ok("request close", k.address(), data, U256::ZERO);
                    model[i].expiry = m.expiry.min(r.now + m.delay);
                }
            }
            3 => {
                let data = refundCall { id: U256::from(id) }.abi_encode();
                if !m.live {
                    r.refused("refund", OTHER, data, U256::ZERO, "UnknownChannel()");
                } else if r.now <= m.expiry {
                    r.refused("refund", OTHER, data, U256::ZERO, "ChannelNotExpired()");
                } else {
                    let before = r.chain.balance(k.address());
                    r.ok("refund", OTHER, data, U256::ZERO);
                    assert_eq!(r.chain.balance(k.address()) - before, gwei(m.deposit - m.claimed));
                    model[i].live = false;
                }
            }
            4 => {
                let amount = rng.gen_range(0..m.deposit + 200);
                let data = claim_and_close_calldata(id, gwei(amount), &r.voucher(&k, id, gwei(amount)));
                if !m.live {
                    r.refused("claim and close", RECIPIENT, data, U256::ZERO, "UnknownChannel()");
                } else if r.now > m.expiry {
                    r.refused("claim and close", RECIPIENT, data, U256::ZERO, "ChannelExpired()");
                } else {
                    let (rb, sb) = (r.chain.balance(RECIPIENT), r.chain.balance(k.address()));
                    r.ok("claim and close", RECIPIENT, data, U256::ZERO);
                    let pay = amount.min(m.deposit).saturating_sub(m.claimed);
                    assert_eq!(r.chain.balance(RECIPIENT) - rb, gwei(pay));
                    assert_eq!(r.chain.balance(k.address()) - sb, gwei(m.deposit - m.claimed - pay));
                    model[i].live = false;
                }
            }
            _ => {
                let t = r.now + rng.gen_range(0..DAY);
                r.time(t);
            }
        }
        for (j, m) in model.iter().enumerate() {
            let c = r.channel(j as u64 + 1);
            if m.live {
                assert_eq!((c.expiry, c.deposit, c.claimed), (m.expiry, gwei(m.deposit), gwei(m.claimed)), "step {step}, channel {}", j + 1);
            } else {
                assert_eq!(c, Onchain::default(), "step {step}, channel {} deleted", j + 1);
            }
        }
    }
}
