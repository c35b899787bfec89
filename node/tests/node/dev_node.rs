//! A dev-mode node end to end over HTTP: deposits queued on its in-process L1, transfers from
//! concurrent clients, batches proved and confirmed, a withdrawal paid out, a restart.



use std::collections::HashMap;
use std::time::Duration;

use crate::common::{genesis, key, metric, Node};
use serde_json::json;

const OWNER: &str = "0x00000000000000000000000000000000000000aa";
const PAYEE: &str = "0x00000000000000000000000000000000000000bb";

#[test]
fn transfers_deposits_and_a_withdrawal_settle_on_the_dev_chain() {
    let dir = tempfile::tempdir().unwrap();
    let g = genesis(dir.path(), 4, 4, 1_000);
    let data = dir.path().join("data");
    let args = ["--batch-size", "4", "--l1-slots", "1", "--batch-timeout-ms", "300"];
    let mut node = Node::start(&g, &data, &args);
    let s = node.status();
    assert_eq!(s["node_root"], s["l1_root"], "{s}");

    // A new account through L1: slot 5, owned by OWNER.
    let dep = node.deposit_new(&key(5), OWNER, 500);
    assert_eq!(dep["index"], "5");
    let start = std::time::Instant::now();
    while node.get("/v1/accounts/5").0 != 200 {
        assert!(start.elapsed() < Duration::from_secs(600), "the deposit never reached the mempool");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Four clients at once, each sending from its own account in a ring.
    let ids: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..=4u32)
            .map(|from| {
                let node = &node;
                s.spawn(move || {
                    let to = from % 4 + 1;
                    (0..6).map(|nonce| node.transfer(&key(from), from, to, 10 + nonce, nonce).unwrap()).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(ids.len(), 24);
    // The new account pays and withdraws.
    let pay = node.transfer(&key(5), 5, 1, 10, 0).unwrap();
    let out = node.transfer(&key(5), 5, 0, 100, 1).unwrap();
    let s = node.wait_settled(Duration::from_secs(600));
    assert_eq!(s["node_root"], s["l1_root"], "{s}");

    // Every transfer is in a confirmed batch, and each batch lists it once.
    let mut seen: HashMap<u64, u64> = HashMap::new();
    let last: u64 = s["last_confirmed"].as_str().unwrap().parse().unwrap();
    for b in 1..=last {
        let (code, batch) = node.get(&format!("/v1/batches/{b}"));
        assert_eq!(code, 200);
        assert_eq!(batch["status"], "confirmed", "{batch}");
        for t in batch["transfers"].as_array().unwrap() {
            let id: u64 = t.as_str().unwrap().parse().unwrap();
            assert!(seen.insert(id, b).is_none(), "transfer {id} in two batches");
        }
    }
    for id in ids.iter().chain([&pay, &out]) {
        let (code, t) = node.get(&format!("/v1/transfers/{id}"));
        assert_eq!(code, 200);
        assert_eq!(t["status"], "confirmed", "{t}");
        assert_eq!(t["batch_id"].as_str().unwrap().parse::<u64>().unwrap(), seen[id]);
    }
    assert_eq!(seen.len(), 26);

    // Balances: each ring account sent 10+..+15 = 75 and received as much.
    let (_, a1) = node.get("/v1/accounts/1");
    assert_eq!(a1["balance"], "1010", "{a1}");
    assert_eq!(a1["nonce"], "6");
    assert_eq!(a1["pending_balance"], a1["balance"]);
    let (_, a5) = node.get("/v1/accounts/5");
    assert_eq!((a5["balance"].as_str(), a5["nonce"].as_str()), (Some("390"), Some("2")), "{a5}");

    // The withdrawal is owed to the account's owner on L1, who pulls it.
    let (_, owner) = node.get(&format!("/v1/dev/l1/{OWNER}"));
    let owed: u128 = owner["pending_balance"].as_str().unwrap().parse().unwrap();
    assert!(owed >= 100 * 1_000_000_000, "{owner}");
    let (code, w) = node.post("/v1/dev/withdraw", &json!({"owner": OWNER, "to": PAYEE, "amount_wei": (100u128 * 1_000_000_000).to_string()}));
    assert_eq!(code, 200, "{w}");
    let (_, payee) = node.get(&format!("/v1/dev/l1/{PAYEE}"));
    assert_eq!(payee["eth_balance"], (100u128 * 1_000_000_000).to_string());

    // A restart resumes with the same roots and goes on.
    let before = node.status();
    node.restart();
    let after = node.status();
    for k in ["node_root", "l1_root", "last_confirmed", "transfers_accepted"] {
        assert_eq!(before[k], after[k], "{k}");
    }
    node.transfer(&key(1), 1, 2, 1, 6).unwrap();
    let s = node.wait_settled(Duration::from_secs(600));
    assert_eq!(s["node_root"], s["l1_root"]);
    assert_ne!(s["node_root"], after["node_root"]);
}

/// Submissions are refused with 503 while `--max-backlog` sealed batches wait for proof and L1,
/// and taken again once they are confirmed. The prover is held back (dev mode's hold) until the
/// backlog is reached, so the test does not depend on outrunning it.
#[test]
fn a_backlog_of_sealed_batches_holds_submissions_back_until_the_prover_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let g = genesis(dir.path(), 4, 2, 1_000);
    let args = ["--batch-size", "1", "--l1-slots", "1", "--batch-timeout-ms", "50", "--max-backlog", "2"];
    let node = Node::start(&g, &dir.path().join("data"), &args);
    let hold = |held: bool| {
        let (code, v) = node.post("/v1/dev/prover", &json!({"hold": held}));
        assert_eq!((code, v["held"].as_bool()), (200, Some(held)), "{v}");
    };
    hold(true);
    assert_eq!(node.status()["prover_held"], true);
    // Two one-transfer batches, sealed and held: the backlog is full.
    for nonce in 0..2 {
        node.transfer(&key(1), 1, 2, 1, nonce).unwrap();
    }
    node.wait_for("two batches sealed", |s| s["last_sealed"] == "2");
    let refused = node.transfer(&key(1), 1, 2, 1, 2).unwrap_err();
    assert_eq!((refused["status"].as_u64(), refused["body"]["rule"].as_str()), (Some(503), Some("backlog")), "{refused}");
    let s = node.status();
    assert_eq!((s["last_proved"].as_str(), s["transfers_accepted"].as_str()), (Some("0"), Some("2")), "nothing proved, the refused one not stored: {s}");
    assert!(node.metrics().contains("zkrollup_transfers_rejected_total{name=\"backlog\"} 1"));

    // Let go, the prover catches up and the rest go in (each retried while the backlog is full).
    hold(false);
    let start = std::time::Instant::now();
    let mut nonce = 2;
    while nonce < 8 {
        match node.transfer(&key(1), 1, 2, 1, nonce) {
            Ok(_) => nonce += 1,
            Err(e) => {
                assert_eq!((e["status"].as_u64(), e["body"]["rule"].as_str()), (Some(503), Some("backlog")), "{e}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        assert!(start.elapsed() < Duration::from_secs(600), "the backlog never drained: {}", node.status());
    }
    let s = node.wait_settled(Duration::from_secs(600));
    assert_eq!(s["last_confirmed"], "8");
    assert_eq!(s["node_root"], s["l1_root"]);
}

/// `POST /v1/dev/chain {"advance_s": N}` moves the dev chain's clock ahead: a block at the new
/// time, batches landing after it, and the lead kept across a restart (the blocks keep the time).
#[test]
fn the_dev_chains_clock_moves_ahead_and_stays_ahead_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let g = genesis(dir.path(), 4, 2, 1_000);
    let mut node = Node::start(&g, &dir.path().join("data"), &["--batch-size", "2", "--l1-slots", "1", "--batch-timeout-ms", "200"]);
    let time = |node: &Node| -> u64 { node.get("/v1/dev/chain").1["time"].as_str().unwrap().parse().unwrap() };
    let t0 = time(&node);
    let (code, moved) = node.post("/v1/dev/chain", &json!({"advance_s": 7 * 24 * 3600}));
    assert_eq!(code, 200, "{moved}");
    let t1: u64 = moved["time"].as_str().unwrap().parse().unwrap();
    assert!(t1 >= t0 + 7 * 24 * 3600, "{t0} -> {t1}");
    let (code, refused) = node.post("/v1/dev/chain", &json!({"advance_s": -1}));
    assert_eq!((code, refused["rule"].as_str()), (400, Some("bad_value")), "{refused}");
    node.transfer(&key(1), 1, 2, 1, 0).unwrap();
    let s = node.wait_settled(Duration::from_secs(600));
    assert_eq!(s["node_root"], s["l1_root"], "{s}");
    node.restart();
    assert!(time(&node) >= t1, "the clock stays ahead after a restart");
    node.transfer(&key(1), 1, 2, 1, 1).unwrap();
    let s = node.wait_settled(Duration::from_secs(600));
    assert_eq!(s["node_root"], s["l1_root"], "{s}");
    assert!(time(&node) >= t1);
}

/// What the alert rules in `deploy/prometheus/rules.yml` read: the L1 queue's length and its
/// oldest request's age by L1's clock (against `maturity` and `exodusDelay`), the stages'
/// heads, the failed batch and the build. A deposit waits while the prover is held and the
/// dev chain's clock moves 1,000 s: its age shows, then goes to 0 once a batch consumes it.
#[test]
fn the_metrics_the_alert_rules_read_follow_the_queue_the_stages_and_the_build() {
    let dir = tempfile::tempdir().unwrap();
    let g = genesis(dir.path(), 4, 2, 1_000);
    let data = dir.path().join("data");
    let node = Node::start(&g, &data, &["--batch-size", "1", "--l1-slots", "1", "--batch-timeout-ms", "50"]);
    let metrics = || node.metrics();
    let info = zkrollup::prover::bundle::load_info(&data.join("keys/dev-m1-n1-d4")).unwrap();
    let m = metrics();
    let build = format!(
        "zkrollup_build_info{{version=\"{}\",key_sha256=\"{}\",settlement=\"validity\"}}",
        env!("CARGO_PKG_VERSION"),
        info.proving_key_sha256
    );
    assert_eq!(metric(&m, &build), Some(1.0), "{m}");
    assert_eq!(metric(&m, "zkrollup_l1_maturity_seconds"), Some(3600.0), "the dev chain's default: {m}");
    assert_eq!(metric(&m, "zkrollup_l1_exodus_delay_seconds"), Some(604800.0), "{m}");

    let (code, v) = node.post("/v1/dev/prover", &json!({"hold": true}));
    assert_eq!(code, 200, "{v}");
    node.deposit_new(&key(3), OWNER, 500);
    let (code, v) = node.post("/v1/dev/chain", &json!({"advance_s": 1000}));
    assert_eq!(code, 200, "{v}");
    let start = std::time::Instant::now();
    let m = loop {
        let m = metrics();
        if metric(&m, "zkrollup_l1_oldest_request_age_seconds").is_some_and(|age| age >= 1000.0) {
            break m;
        }
        assert!(start.elapsed() < Duration::from_secs(600), "the deposit's age never showed: {m}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(metric(&m, "zkrollup_l1_requests_waiting"), Some(1.0), "{m}");
    assert_eq!(metric(&m, "zkrollup_batch_head{name=\"proved\"}"), Some(0.0), "held: {m}");
    assert_eq!(metric(&m, "zkrollup_failed_batch"), Some(0.0), "{m}");
    let head = metric(&m, "zkrollup_l1_head").unwrap();
    assert_eq!(head.to_string(), node.get("/v1/dev/chain").1["head"].as_str().unwrap(), "{m}");

    node.post("/v1/dev/prover", &json!({"hold": false}));
    let s = node.wait_settled(Duration::from_secs(600));
    let m = loop {
        let m = metrics();
        if metric(&m, "zkrollup_l1_requests_waiting") == Some(0.0) {
            break m;
        }
        assert!(start.elapsed() < Duration::from_secs(600), "the deposit was never consumed: {m}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(metric(&m, "zkrollup_l1_oldest_request_age_seconds"), Some(0.0), "{m}");
    let confirmed: f64 = s["last_confirmed"].as_str().unwrap().parse().unwrap();
    assert!(confirmed >= 1.0, "{s}");
    assert_eq!(metric(&m, "zkrollup_batch_head{name=\"confirmed\"}"), Some(confirmed), "{m}");
    assert_eq!(metric(&m, "zkrollup_batch_head{name=\"sealed\"}"), Some(confirmed), "{m}");
}
