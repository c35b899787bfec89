//! Vouchers a second, off chain (BENCHMARKS.md): the payer signs 10,000 (each total durable
//! first) and the payee accepts each against anvil's JSON-RPC (the channel read at the head,
//! the signature checked, the best stored durably), one after the other, as the end-to-end test
//! does. Needs `npm ci --prefix node/js` (anvil).
//! Run: `cargo run --release -p zkrollup-channels --example voucher_rate [-- COUNT]`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use zkrollup_channels::contract::{creation_code, open_calldata};
use zkrollup_channels::l1::ChannelsL1;
use zkrollup_channels::payee::Payee;
use zkrollup_channels::payer::Payer;
use zkrollup_channels::rpc::RpcChannels;

fn main() {
    let count: u64 = std::env::args().nth(1).map_or(10_000, |a| a.parse().expect("COUNT"));
    let anvil = common::Anvil::start();
    let url = anvil.url();
    let sender: PrivateKeySigner = common::ANVIL_KEYS[1].parse().unwrap();
    let recipient: PrivateKeySigner = common::ANVIL_KEYS[2].parse().unwrap();
    let mut deployer = RpcChannels::connect(&url, Some(sender.clone()), Address::ZERO, 1).unwrap();
    let at = deployer.transact(None, creation_code(), U256::ZERO).unwrap().created.unwrap();
    let mut l1 = RpcChannels::connect(&url, Some(sender.clone()), at, 1).unwrap();
    let expiry = l1.now().unwrap() + 30 * 24 * 3600;
    let deposit = U256::from(10u64).pow(U256::from(19u64));
    l1.send(open_calldata(recipient.address(), Address::ZERO, expiry, 3600), deposit).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let payer = Payer::open(&dir.path().join("payer.redb"), sender, l1.chain_id(), at).unwrap();
    let payee = Payee::open(&dir.path().join("payee.redb"), recipient.address(), l1.chain_id(), at, 3600, U256::MAX).unwrap();
    let mut reader = RpcChannels::connect(&url, None, at, 1).unwrap();
    let unit = U256::from(100_000_000_000_000u64);
    let (mut pay, mut accept) = (Vec::with_capacity(count as usize), Vec::with_capacity(count as usize));
    let all = Instant::now();
    for _ in 0..count {
        let t = Instant::now();
        let v = payer.pay(1, unit, deposit).unwrap();
        pay.push(t.elapsed());
        let t = Instant::now();
        payee.accept(&mut reader, &v).unwrap();
        accept.push(t.elapsed());
    }
    let total = all.elapsed();
    pay.sort();
    accept.sort();
    let median = |v: &[Duration]| v[v.len() / 2].as_secs_f64() * 1e3;
    println!("{count} vouchers in {:.1} s: {:.0} a second", total.as_secs_f64(), count as f64 / total.as_secs_f64());
    println!("pay (sign, total durable first): median {:.3} ms", median(&pay));
    println!("accept (channel read over JSON-RPC, signature checked, best durable): median {:.3} ms", median(&accept));
}
