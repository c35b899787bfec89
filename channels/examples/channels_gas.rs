//! `PaymentChannels`' gas (BENCHMARKS.md), in revm at the Osaka rules with the committed
//! bytecode: each entry point as a transaction, its 21,000 included, between parties whose
//! accounts already exist (a first payment to an empty address adds 25,000).
//! Run: `cargo run --release -p zkrollup-channels --example channels_gas`.

#[allow(unused_imports)]
#[path = "../../tests/common/evm.rs"]
mod evm;

use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use evm::{account, Chain};

use zkrollup_channels::contract::{claim_and_close_calldata, claim_calldata, creation_code, open_calldata, refundCall, requestCloseCall, topUpCall};
use zkrollup_channels::voucher::{compact, domain, sign_voucher, Voucher};

fn main() {
    let ether = |x: u64| U256::from(x) * U256::from(10u64).pow(U256::from(18u64));
    let mut chain = Chain::new();
    let start = 1_000_000u64;
    chain.set_time(start);
    let (at, deploy) = chain.deploy(account(0xd0), &creation_code(), &[]);
    let key = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x51)).unwrap();
    // Addresses without zero bytes, as almost all are (a zero byte of calldata costs 4, not 16).
    let (sender, recipient, hot) = (key.address(), Address::repeat_byte(0x22), PrivateKeySigner::from_bytes(&B256::repeat_byte(0x77)).unwrap());
    for who in [sender, recipient, Address::repeat_byte(0x33)] {
        chain.fund(who, ether(1_000));
    }
    let d = domain(1, at);
    let sign = |k: &PrivateKeySigner, id: u64, amount: U256| sign_voucher(k, &d, &Voucher { channelId: U256::from(id), cumulativeAmount: amount });
    let gas = |chain: &mut Chain, what: &str, from: Address, data: Vec<u8>, value: U256| {
        let out = chain.call_value(from, at, data, value);
        assert!(out.is_success(), "{what}: {out:?}");
        println!("| {what} | {} |", out.gas());
    };
    let expiry = start + 30 * 24 * 3600;
    println!("PaymentChannels (deploy {deploy} gas)");
    println!();
    println!("| call | gas |");
    println!("| --- | --- |");
    gas(&mut chain, "`open`, the first channel ever", sender, open_calldata(recipient, Address::ZERO, expiry, 86_400), ether(5));
    gas(&mut chain, "`open`, the sender signing", sender, open_calldata(recipient, Address::ZERO, expiry, 86_400), ether(5));
    gas(&mut chain, "`open`, a delegated signer", sender, open_calldata(recipient, hot.address(), expiry, 86_400), ether(5));
    gas(&mut chain, "`topUp`", Address::repeat_byte(0x33), topUpCall { id: U256::from(2u64) }.abi_encode(), ether(1));
    gas(&mut chain, "`claim`, the first (65-byte voucher)", Address::repeat_byte(0x33), claim_calldata(2, ether(1), &sign(&key, 2, ether(1))), U256::ZERO);
    gas(&mut chain, "`claim`, a later one (65-byte voucher)", Address::repeat_byte(0x33), claim_calldata(2, ether(2), &sign(&key, 2, ether(2))), U256::ZERO);
    gas(&mut chain, "`claim`, a later one (64-byte voucher)", Address::repeat_byte(0x33), claim_calldata(2, ether(3), &compact(&sign(&key, 2, ether(3))).unwrap()), U256::ZERO);
    gas(&mut chain, "`claim`, a delegated signer's first", Address::repeat_byte(0x33), claim_calldata(3, ether(1), &sign(&hot, 3, ether(1))), U256::ZERO);
    gas(&mut chain, "`claimAndClose` with a new voucher, after a claim", recipient, claim_and_close_calldata(2, ether(4), &sign(&key, 2, ether(4))), U256::ZERO);
    gas(&mut chain, "`claimAndClose` with a new voucher, nothing claimed before", recipient, claim_and_close_calldata(1, ether(4), &sign(&key, 1, ether(4))), U256::ZERO);
    // Channel 4, claimed from once, for a close with nothing new.
    assert!(chain.call_value(sender, at, open_calldata(recipient, Address::ZERO, expiry, 86_400), ether(5)).is_success());
    assert!(chain.call(Address::repeat_byte(0x33), at, claim_calldata(4, ether(1), &sign(&key, 4, ether(1)))).is_success());
    gas(&mut chain, "`claimAndClose` with nothing new to claim (no voucher), after a claim", recipient, claim_and_close_calldata(4, U256::ZERO, &[]), U256::ZERO);
    gas(&mut chain, "`requestClose`", sender, requestCloseCall { id: U256::from(3u64) }.abi_encode(), U256::ZERO);
    chain.set_time(start + 86_400 + 1);
    gas(&mut chain, "`refund`, after a claim (delegated signer)", Address::repeat_byte(0x33), refundCall { id: U256::from(3u64) }.abi_encode(), U256::ZERO);
}
