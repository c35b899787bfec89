//! End to end on anvil with `zkrollup-channel`: deploy and open from the command line; 10,000
//! vouchers signed and accepted off chain (the library the CLI runs, against anvil's JSON-RPC);
//! more paid and accepted from the command line, the totals going on from the stores; `accept`
//! SIGKILLed at random moments losing no voucher it said it accepted; the payee's `watch`
//! claiming by itself a margin before the expiry a close request set; the refund after expiry.
//! Every wei accounted for.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use common::{Anvil, ANVIL_KEYS};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use zkrollup_channels::l1::ChannelsL1;
use zkrollup_channels::payee::Payee;
use zkrollup_channels::payer::Payer;
use zkrollup_channels::rpc::RpcChannels;

const HOUR: u64 = 3600;

/// `zkrollup-channel ARGS` with `key` in the environment.
fn cli(anvil: &Anvil, key: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkrollup-channel"))
        .args(["--rpc", &anvil.url()])
        .args(args)
        .env("ZKROLLUP_CHANNEL_KEY", key)
        .output()
        .unwrap()
}

/// Its JSON answer, which must be a success.
fn ok(out: Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn balance(anvil: &Anvil, who: Address) -> U256 {
    anvil.call("eth_getBalance", json!([who.to_string(), "latest"])).as_str().unwrap().parse().unwrap()
}

/// A child process killed when dropped (a failing test leaves none behind).
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_channel_lives_on_anvil_through_the_cli() {
    let seed: u64 = std::env::var("CHANNELS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("channel kill seed {seed} (CHANNELS_SEED={seed} reruns it)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let anvil = Anvil::start();
    let (sender_key, payee_key) = (ANVIL_KEYS[1], ANVIL_KEYS[2]);
    let sender: PrivateKeySigner = sender_key.parse().unwrap();
    let payee_address = payee_key.parse::<PrivateKeySigner>().unwrap().address();
    let deployed = ok(cli(&anvil, ANVIL_KEYS[0], &["deploy"]));
    let contract = deployed["contract"].as_str().unwrap().to_string();
    let at: Address = contract.parse().unwrap();
    // A voucher pays 10^14 wei: the 10,000 of them an ether, out of a deposit of ten.
    let unit = U256::from(100_000_000_000_000u64);
    let deposit = U256::from(10u64).pow(U256::from(19u64));

    let opened = ok(cli(&anvil, sender_key, &["--contract", &contract, "open", "--recipient", &payee_address.to_string(), "--deposit", &deposit.to_string(), "--duration", &(30 * 24 * HOUR).to_string(), "--settle-delay", &HOUR.to_string()]));
    let id = opened["channel"].as_u64().unwrap();
    assert_eq!(id, 1);
    let status = ok(cli(&anvil, sender_key, &["--contract", &contract, "status", "--channel", "1"]));
    assert_eq!((status["open"].as_bool(), status["deposit"].as_str()), (Some(true), Some(deposit.to_string().as_str())));

    // 10,000 vouchers, signed and accepted off chain against anvil's view.
    let (payer_store, payee_store) = (dir.path().join("payer.redb"), dir.path().join("payee.redb"));
    {
        let payer = Payer::open(&payer_store, sender.clone(), 31337, at).unwrap();
        let payee = Payee::open(&payee_store, payee_address, 31337, at, HOUR, U256::MAX).unwrap();
        let mut l1 = RpcChannels::connect(&anvil.url(), None, at, 1).unwrap();
        for i in 1..=10_000u64 {
            let v = payer.pay(id, unit, deposit).unwrap();
            let a = payee.accept(&mut l1, &v).unwrap();
            assert_eq!((a.cumulative, a.increment), (unit * U256::from(i), unit));
        }
    }

    // The payee claims the latest from the command line.
    let c = ["--contract", contract.as_str()];
    let claimed = ok(cli(&anvil, payee_key, &[&c[..], &["claim", "--channel", "1", "--store", path(&payee_store)]].concat()));
    assert_eq!(claimed["claimed_up_to"], (unit * U256::from(10_000u64)).to_string());

    // From the command line: the totals go on from both stores.
    let pay = |amount: &str| ok(cli(&anvil, sender_key, &[&c[..], &["pay", "--channel", "1", "--amount", amount, "--store", path(&payer_store)]].concat()));
    let accept = |v: &Value| cli(&anvil, payee_key, &[&c[..], &["accept", "--voucher", &v.to_string(), "--store", path(&payee_store)]].concat());
    let v = pay(&unit.to_string());
    assert_eq!(v["cumulative"], (unit * U256::from(10_001u64)).to_string());
    assert_eq!(ok(accept(&v))["increment"], unit.to_string());
    let refused = accept(&v);
    assert_eq!(refused.status.code(), Some(1), "a replayed voucher");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not more than"), "{}", String::from_utf8_lossy(&refused.stderr));

    // `accept` SIGKILLed at random moments: a voucher it said it accepted is never lost, and
    // the store takes the next one after any kill.
    let mut acknowledged = unit * U256::from(10_001u64);
    for _ in 0..12 {
        let v = pay(&unit.to_string());
        let mut child = Command::new(env!("CARGO_BIN_EXE_zkrollup-channel"))
            .args(["--rpc", &anvil.url(), "--contract", &contract, "accept", "--voucher", &v.to_string(), "--store", path(&payee_store)])
            .env("ZKROLLUP_CHANNEL_KEY", payee_key)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..40)));
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            acknowledged = v["cumulative"].as_str().unwrap().parse().unwrap();
        }
        let best = Payee::open(&payee_store, payee_address, 31337, at, HOUR, U256::MAX).unwrap().best(id).unwrap().unwrap().0;
        assert!(best >= acknowledged, "an acknowledged voucher lost: best {best}, acknowledged {acknowledged}");
    }
    let last = pay(&unit.to_string());
    ok(accept(&last));
    let best: U256 = last["cumulative"].as_str().unwrap().parse().unwrap();
    let claimed_before = unit * U256::from(10_000u64);

    // The payee's watch runs; the sender asks to close; a margin before the new expiry the
    // payee claims by itself.
    let watch = Command::new(env!("CARGO_BIN_EXE_zkrollup-channel"))
        .args(["--rpc", &anvil.url(), "--contract", &contract, "watch", "--store", path(&payee_store), "--margin", "600", "--poll-ms", "100"])
        .env("ZKROLLUP_CHANNEL_KEY", payee_key)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let watch = Running(watch);
    let payee_before = balance(&anvil, payee_address);
    ok(cli(&anvil, sender_key, &[&c[..], &["request-close", "--channel", "1"]].concat()));
    let expiry = ok(cli(&anvil, sender_key, &[&c[..], &["status", "--channel", "1"]].concat()))["expiry"].as_u64().unwrap();
    let mut l1 = RpcChannels::connect(&anvil.url(), None, at, 1).unwrap();
    assert_eq!(expiry, l1.now().unwrap() + HOUR, "the settle delay from the request's block");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(l1.channel(id).unwrap().claimed, claimed_before, "not yet: an hour from expiry");
    anvil.call("evm_setNextBlockTimestamp", json!([expiry - 600]));
    anvil.call("evm_mine", json!([]));
    let start = Instant::now();
    while l1.channel(id).unwrap().claimed != best {
        assert!(start.elapsed() < Duration::from_secs(60), "the payee did not claim by itself");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(watch);
    // The payee pays its claim's gas: it gained what it was owed less the fee.
    let gained = balance(&anvil, payee_address) - payee_before;
    let owed = best - claimed_before;
    // The claim's fee: under 100,000 gas at anvil's price of at most a gwei or so.
    assert!(gained <= owed && owed - gained < U256::from(10u64).pow(U256::from(14u64)), "paid {gained} of {owed}");

    // After expiry the rest goes back to the sender; the contract holds nothing.
    let refused = cli(&anvil, sender_key, &[&c[..], &["refund", "--channel", "1"]].concat());
    assert_eq!(refused.status.code(), Some(1), "no refund before expiry");
    anvil.call("evm_setNextBlockTimestamp", json!([expiry + 1]));
    anvil.call("evm_mine", json!([]));
    let sender_before = balance(&anvil, sender.address());
    ok(cli(&anvil, ANVIL_KEYS[0], &[&c[..], &["refund", "--channel", "1"]].concat()));
    assert_eq!(balance(&anvil, sender.address()) - sender_before, deposit - best, "the rest to the sender");
    assert_eq!(balance(&anvil, at), U256::ZERO);
    assert_eq!(ok(cli(&anvil, sender_key, &[&c[..], &["status", "--channel", "1"]].concat()))["open"], false);
}
