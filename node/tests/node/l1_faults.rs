//! The review's L1 faults (audit-services section 4.4), made by a fault-injecting JSON-RPC proxy
//! in front of anvil: a log missing from one `eth_getLogs` answer (F2), the L1 node refusing
//! the sequencer's transactions for a while (F4), the provider down with its key in the URL
//! (F9), and a reorg by anvil under a deposit the node had read (F3). Each ends with every transfer and deposit settled, L1's root the node's, and the node
//! never stopped.

use std::time::{Duration, Instant};

use alloy::consensus::{Transaction, TxEnvelope};
use alloy::eips::eip2718::Decodable2718;
use alloy::primitives::{Address, U256};
use serde_json::Value;
use zkrollup::export::calldata::deposit_calldata;
use zkrollup::primitives::batch::Shape;
use zkrollup_node::l1::rpc::RpcL1;

use crate::anvil::{deployed, rpc_node_via};
use crate::common::{anvil_signer, key, Anvil, Node, ANVIL_KEYS};
use crate::proxy::Proxy;

const GWEI: u64 = 1_000_000_000;
const LONG: Duration = Duration::from_secs(600);

/// Wait until `until` holds of `GET path`'s (status, body).
fn wait_get(node: &Node, path: &str, what: &str, until: impl Fn(u16, &Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let (code, v) = node.get(path);
        if until(code, &v) {
            return v;
        }
        assert!(start.elapsed() < LONG, "{what}: {code} {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn metrics(node: &Node) -> String {
    ureq::get(&format!("{}/metrics", node.url)).call().unwrap().body_mut().read_to_string().unwrap()
}

#[test]
fn a_log_missing_from_one_eth_get_logs_answer_is_read_again_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let anvil = Anvil::start(dir.path());
    let (keys, g, d) = deployed(&anvil, dir.path(), Shape { depth: 4, l1_slots: 1, batch_size: 2 }, 2);
    let proxy = Proxy::start(&anvil.url());
    proxy.set(|f| {
        f.drop_request_logs.insert(1);
    });
    let node = rpc_node_via(&proxy.url("/"), dir.path(), &keys, &g, &d, &["--batch-timeout-ms", "200"]);
    // Two deposits, to accounts 1 and 2; request 1's log is left out of the first answer that
    // holds it.
    let rollup: Address = d["rollup"].as_str().unwrap().parse().unwrap();
    let chain = RpcL1::connect(&anvil.url(), rollup, ANVIL_KEYS[0]).unwrap();
    for (index, gwei) in [(1u32, 7u64), (2, 9)] {
        let (r, _) = chain.send_as(&anvil_signer(2), Some(rollup), deposit_calldata(index), U256::from(gwei * GWEI), 200_000).unwrap();
        assert!(r.success);
    }
    let s = wait_get(&node, "/v1/status", "both requests seen", |_, s| s["next_l1_request"] == "3");
    assert!(proxy.faults.lock().unwrap().drop_request_logs.is_empty(), "the log was dropped: {s}");
    node.transfer(&key(1), 1, 2, 1, 0).unwrap();
    let s = node.wait_settled(LONG);
    assert_eq!(s["node_root"], s["l1_root"], "{s}");
    let balance = |i: u32| node.get(&format!("/v1/accounts/{i}")).1["balance"].as_str().unwrap().parse::<u64>().unwrap();
    assert_eq!((balance(1), balance(2)), (1_000_000 + 7 - 1, 1_000_000 + 9 + 1), "both deposits applied once");
    let text = metrics(&node);
    let rescans: u64 = text.lines().find_map(|l| l.strip_prefix("zkrollup_l1_rescans_total ")).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(rescans >= 1, "the incomplete answer was read again: {text}");
}

#[test]
fn refused_transactions_are_signed_again_at_the_estimate_not_at_compounding_fees() {
    let dir = tempfile::tempdir().unwrap();
    let anvil = Anvil::start(dir.path());
    let (keys, g, d) = deployed(&anvil, dir.path(), Shape { depth: 4, l1_slots: 1, batch_size: 2 }, 2);
    let proxy = Proxy::start(&anvil.url());
    proxy.set(|f| f.refuse_sends = true);
    let node = rpc_node_via(&proxy.url("/"), dir.path(), &keys, &g, &d, &["--batch-timeout-ms", "200", "--resend-after-ms", "500"]);
    node.transfer(&key(1), 1, 2, 1, 0).unwrap();
    // The node says why it cannot settle, classified, and keeps trying.
    wait_get(&node, "/readyz", "readyz names the refusal", |code, v| {
        code == 503 && v["blocked"]["l1"].as_str().is_some_and(|e| e.contains("insufficient_funds"))
    });
    let start = Instant::now();
    while proxy.sends.lock().unwrap().len() < 6 {
        assert!(start.elapsed() < LONG, "the node stopped sending");
        std::thread::sleep(Duration::from_millis(50));
    }
    proxy.set(|f| f.refuse_sends = false);
    let s = node.wait_settled(LONG);
    assert_eq!(s["node_root"], s["l1_root"], "{s}");
    assert_eq!(wait_get(&node, "/readyz", "ready again", |code, _| code == 200)["ready"], true);

    // Every version was signed at the estimate: none offers more than the first did by the
    // compounding 25% a resend (six refusals would have made it 1.25^5 = 3 times the first).
    let fees = |raw: &str| {
        let bytes = hex::decode(raw.trim_start_matches("0x")).unwrap();
        let tx = TxEnvelope::decode_2718(&mut &bytes[..]).unwrap();
        (tx.max_fee_per_gas(), tx.max_priority_fee_per_gas().unwrap())
    };
    let sends = proxy.sends.lock().unwrap().clone();
    let (first_fee, first_priority) = fees(&sends[0].1);
    for (forwarded, raw) in &sends {
        let (fee, priority) = fees(raw);
        assert!(fee <= 2 * first_fee && priority <= 2 * first_priority.max(1), "forwarded {forwarded}: {fee} {priority} after {first_fee} {first_priority}");
    }
    assert!(metrics(&node).contains(r#"zkrollup_l1_refusals_total{name="insufficient_funds"}"#), "{}", metrics(&node));
}

#[test]
fn a_provider_down_is_shown_without_the_key_in_its_url_and_ridden_out() {
    let dir = tempfile::tempdir().unwrap();
    let anvil = Anvil::start(dir.path());
    let (keys, g, d) = deployed(&anvil, dir.path(), Shape { depth: 4, l1_slots: 1, batch_size: 2 }, 2);
    let proxy = Proxy::start(&anvil.url());
    let node = rpc_node_via(&proxy.url("/v3/SECRETKEY123"), dir.path(), &keys, &g, &d, &["--batch-timeout-ms", "200"]);
    proxy.set(|f| f.down = true);
    let s = wait_get(&node, "/v1/status", "the outage shown", |_, s| !s["l1_error"].is_null());
    let (code, ready) = node.get("/readyz");
    assert_eq!(code, 503, "{ready}");
    for text in [s.to_string(), ready.to_string()] {
        assert!(!text.contains("SECRETKEY123") && !text.contains("/v3/"), "the URL's path leaked: {text}");
    }
    proxy.set(|f| f.down = false);
    node.transfer(&key(1), 1, 2, 1, 0).unwrap();
    let s = node.wait_settled(LONG);
    assert_eq!(s["node_root"], s["l1_root"], "{s}");
}

/// The node's status, riding out the moments its API is down (a restart in place).
pub(crate) fn status_through_restarts(node: &Node) -> Option<Value> {
    let r = ureq::get(&format!("{}/v1/status", node.url)).config().http_status_as_error(false).build().call().ok()?;
    let mut r = r;
    r.body_mut().read_json().ok()
}

/// Wait until everything sealed is confirmed and L1 counts it, through restarts in place; the
/// process must never stop. The status then.
pub(crate) fn settled_through_restarts(node: &mut Node) -> Value {
    let start = Instant::now();
    loop {
        if let Some(s) = status_through_restarts(node) {
            let settled = s["mempool"] == 0
                && s["last_confirmed"] == s["last_sealed"]
                && s["l1_batch_count"].as_str() == s["last_confirmed"].as_str()
                && s["last_confirmed"] != "0";
            if settled {
                return s;
            }
        }
        assert!(node.is_running(), "the node stopped");
        assert!(start.elapsed() < LONG, "not settled: {:?}", status_through_restarts(node));
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Audit F1 (scenario A): L1 refuses the sequencer's transactions for longer than the
/// contract's maturity while a deposit waits, so the batch sealed before the deposit (one
/// transfer, a free L1 slot) can no longer land: it reverts with `MatureRequestSkipped`. The
/// node holds back new batches with a free L1 slot meanwhile (503 `l1_slow`), rewinds by
/// itself, seals again with the deposit first, and everything lands; the process never
/// stopped (a restart in place keeps its process id and address).
#[test]
fn a_batch_that_can_no_longer_land_is_rewound_and_sealed_again() {
    let dir = tempfile::tempdir().unwrap();
    let anvil = Anvil::start(dir.path());
    let shape = Shape { depth: 4, l1_slots: 1, batch_size: 2 };
    let (keys, g, d) = crate::anvil::deployed_with(&anvil, dir.path(), shape, 2, &["--maturity", "5"]);
    let proxy = Proxy::start(&anvil.url());
    proxy.set(|f| f.refuse_sends = true);
    let mut node = rpc_node_via(&proxy.url("/"), dir.path(), &keys, &g, &d, &["--batch-timeout-ms", "1000", "--resend-after-ms", "1000"]);
    let id = node.transfer(&key(1), 1, 2, 1, 0).unwrap();
    wait_get(&node, "/v1/batches/1", "batch 1 sent (and refused)", |code, b| code == 200 && b["status"] == "submitted");
    let rollup: Address = d["rollup"].as_str().unwrap().parse().unwrap();
    let chain = RpcL1::connect(&anvil.url(), rollup, ANVIL_KEYS[0]).unwrap();
    let (r, _) = chain.send_as(&anvil_signer(2), Some(rollup), deposit_calldata(2), U256::from(7 * GWEI), 200_000).unwrap();
    assert!(r.success);
    wait_get(&node, "/v1/status", "the deposit seen", |_, s| s["next_l1_request"] == "2");
    // Batch 1 has waited longer than half the maturity: the batcher holds back batches with a
    // free L1 slot, and says so; transfers are refused meanwhile.
    wait_get(&node, "/readyz", "the batcher held back", |code, v| code == 503 && v["blocked"]["batcher"].is_string());
    let refused = node.transfer(&key(2), 2, 1, 1, 0).unwrap_err();
    assert_eq!((refused["status"].as_u64(), refused["body"]["rule"].as_str()), (Some(503), Some("l1_slow")), "{refused}");
    // The deposit matures (L1's clock moves on), then L1 takes transactions again.
    anvil.call("evm_increaseTime", serde_json::json!([60]));
    anvil.call("evm_mine", serde_json::json!([]));
    proxy.set(|f| f.refuse_sends = false);

    let s = settled_through_restarts(&mut node);
    assert_eq!(s["node_root"], s["l1_root"], "{s}");
    assert!(s["failed_batch"].is_null(), "{s}");
    let (_, b1) = node.get("/v1/batches/1");
    assert_eq!(b1["requests"], serde_json::json!(["1"]), "batch 1 sealed again with the deposit: {b1}");
    let (_, t) = node.get(&format!("/v1/transfers/{id}"));
    assert_eq!(t["status"], "confirmed", "{t}");
    let balance = |i: u32| node.get(&format!("/v1/accounts/{i}")).1["balance"].as_str().unwrap().parse::<u64>().unwrap();
    assert_eq!((balance(1), balance(2)), (1_000_000 - 1, 1_000_000 + 7 + 1));
    assert!(node.is_running(), "the same process throughout");
}

/// A deposit sent from anvil's account 2 straight into the pool (mined when the test mines),
/// as JSON for `eth_sendTransaction` and `anvil_reorg`.
fn deposit_tx(rollup: Address, index: u32, gwei: u64) -> Value {
    serde_json::json!({
        "from": anvil_signer(2).address().to_string(),
        "to": rollup.to_string(),
        "value": format!("{:#x}", U256::from(gwei * GWEI)),
        "input": format!("0x{}", hex::encode(deposit_calldata(index))),
        "gas": "0x30d40",
    })
}

/// Audit F3 (scenario D) at depth 1 (`--confirmations 1`): the node reads a deposit to
/// account 1 in the head block and sends a batch with it; a reorg then replaces that block with
/// one holding a deposit to account 2 instead. The node notices (its cursor's block hash),
/// rewinds, reads the requests again, and settles the deposit that L1 now has; the batch it
/// had sent reverts (`QueueMismatch`) and is sealed again. The process never stopped.
#[test]
fn a_reorg_under_a_deposit_read_is_noticed_and_the_requests_are_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let anvil = Anvil::start(dir.path());
    let shape = Shape { depth: 4, l1_slots: 1, batch_size: 2 };
    let (keys, g, d) = deployed(&anvil, dir.path(), shape, 2);
    let rollup: Address = d["rollup"].as_str().unwrap().parse().unwrap();
    // Blocks come only when the test mines them, until the reorg is made.
    anvil.call("evm_setIntervalMining", serde_json::json!([0]));
    anvil.call("evm_setAutomine", serde_json::json!([false]));
    // The key in the environment: the restart in place must hand it on.
    let extra = ["--confirmations", "1", "--batch-timeout-ms", "200"];
    let mut node = crate::anvil::rpc_node_with_environment_key(&anvil.url(), dir.path(), &keys, &g, &d, &extra);
    let first = anvil.call("eth_sendTransaction", serde_json::json!([deposit_tx(rollup, 1, 7)]));
    anvil.call("evm_mine", serde_json::json!([]));
    wait_get(&node, "/v1/status", "the deposit to account 1 read", |_, s| s["next_l1_request"] == "2");
    let b1 = wait_get(&node, "/v1/batches/1", "batch 1 sent with it", |code, b| code == 200 && b["status"] == "submitted");
    assert_eq!(b1["requests"], serde_json::json!(["1"]), "{b1}");

    // The head block, which holds the deposit to account 1, is replaced by one with a deposit
    // to account 2 in its place; the batch stays in the pool. Mining goes on.
    anvil.call("anvil_reorg", serde_json::json!([1, [[deposit_tx(rollup, 2, 9), 0]]]));
    assert!(anvil.call("eth_getTransactionReceipt", serde_json::json!([first])).is_null(), "the first deposit is gone");
    anvil.call("evm_setIntervalMining", serde_json::json!([1]));

    let s = settled_through_restarts(&mut node);
    assert_eq!(s["node_root"], s["l1_root"], "{s}");
    assert!(s["failed_batch"].is_null(), "{s}");
    let mut chain = RpcL1::connect(&anvil.url(), rollup, ANVIL_KEYS[0]).unwrap();
    let l1 = zkrollup_node::l1::L1::rollup(&mut chain).unwrap();
    assert_eq!((l1.request_count, l1.consumed), (1, 1), "one request on L1, the one the reorg put there, consumed");
    let balance = |i: u32| node.get(&format!("/v1/accounts/{i}")).1["balance"].as_str().unwrap().parse::<u64>().unwrap();
    assert_eq!((balance(1), balance(2)), (1_000_000, 1_000_000 + 9), "the deposit L1 kept, not the one it dropped");
    assert!(node.is_running(), "the same process throughout (a restart in place keeps it)");
}
