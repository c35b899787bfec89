//! Bad input over HTTP: each fault gets a 4xx naming it, nothing is stored, and the node goes on.



use std::time::Duration;

use crate::common::{genesis, key, Node};
use serde_json::{json, Value};
use zkrollup::files::transfer_entry;
use zkrollup::Transfer;

fn entry(t: &Transfer) -> Value {
    serde_json::to_value(transfer_entry(t)).unwrap()
}

#[test]
fn every_bad_submission_is_a_4xx_naming_its_fault_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let g = genesis(dir.path(), 4, 3, 100);
    let node = Node::start(&g, &dir.path().join("data"), &["--batch-size", "2", "--l1-slots", "1", "--rate-limit", "50"]);
    let domain = node.domain();
    let good = Transfer::signed(&key(1), 1, 2, 5, 0, domain);

    let mut cases: Vec<(&str, Vec<u8>, u16, &str, &str)> = vec![
        ("malformed JSON", br#"{"from": 1,"#.to_vec(), 400, "malformed_json", "EOF"),
        ("not an object", b"[1, 2]".to_vec(), 400, "bad_shape", "expected struct TransferEntry"),
        ("a string for a number", br#"{"from": "1", "to": 2, "amount": "5", "nonce": "0"}"#.to_vec(), 400, "bad_shape", "invalid type"),
        ("an unknown field", br#"{"from": 1, "to": 2, "amount": "5", "nonce": "0", "fee": "1"}"#.to_vec(), 400, "bad_shape", "unknown field"),
        ("a number for a decimal string", br#"{"from": 1, "to": 2, "amount": 5, "nonce": "0"}"#.to_vec(), 400, "bad_shape", "invalid type"),
    ];
    let mut amount_too_big = entry(&good);
    amount_too_big["amount"] = json!("18446744073709551616");
    let mut from_too_big = entry(&good);
    from_too_big["from"] = json!(4294967296u64);
    let mut tampered = entry(&good);
    tampered["amount"] = json!("6");
    // The signed values padded with zeros (F8: a megabyte of store for a zero-value transfer).
    let mut padded = entry(&good);
    padded["amount"] = json!("005");
    let mut padded_signature = entry(&good);
    padded_signature["signature"]["S"] = json!(format!("0{}", padded_signature["signature"]["S"].as_str().unwrap()));
    let mut unsigned = entry(&good);
    unsigned.as_object_mut().unwrap().remove("signature");
    let owned: Vec<(&str, Value, u16, &str, &str)> = vec![
        ("an amount of 2^64", amount_too_big, 400, "bad_value", "amount"),
        ("a slot beyond 32 bits", from_too_big, 400, "bad_value", "from"),
        ("an amount with leading zeros", padded, 400, "bad_value", "leading zero"),
        ("a signature with a leading zero", padded_signature, 400, "bad_value", "leading zero"),
        ("a signature over other values", tampered, 422, "bad_signature", "signature invalid"),
        ("no signature", unsigned, 422, "missing_signature", "not signed"),
        ("a signature by another key", entry(&Transfer::signed(&key(2), 1, 2, 5, 0, domain)), 422, "bad_signature", "signature"),
        ("another domain", entry(&Transfer::signed(&key(1), 1, 2, 5, 0, domain + zkrollup::Fr::from(1u64))), 422, "bad_signature", "signature"),
        ("a nonce gap", entry(&Transfer::signed(&key(1), 1, 2, 5, 3, domain)), 422, "wrong_nonce", "sender's nonce is 0"),
        ("more than the balance", entry(&Transfer::signed(&key(1), 1, 2, 101, 0, domain)), 422, "insufficient_balance", "sender has 100"),
        ("an empty sender slot", entry(&Transfer::signed(&key(9), 9, 2, 1, 0, domain)), 422, "no_account", "sender slot 9"),
        ("an empty receiver slot", entry(&Transfer::signed(&key(1), 1, 9, 1, 0, domain)), 422, "no_account", "receiver slot 9"),
        ("a slot outside the tree", entry(&Transfer::signed(&key(1), 1, 256, 1, 0, domain)), 422, "index_out_of_range", "256"),
        ("padding", json!({"from": 0, "to": 0, "amount": "0", "nonce": "0"}), 400, "padding", "padding"),
    ];
    for (name, v, code, rule, text) in owned {
        cases.push((name, v.to_string().into_bytes(), code, rule, text));
    }
    cases.push(("a body over 16 KiB", vec![b' '; (16 << 10) + 1], 413, "body_too_large", "limit"));
    for (name, body, code, rule, text) in &cases {
        let (got, v) = node.post_bytes("/v1/transfers", body);
        assert_eq!(got, *code, "{name}: {v}");
        assert_eq!(v["rule"], *rule, "{name}: {v}");
        let error = v["error"].as_str().unwrap_or_default();
        assert!(error.contains(text), "{name}: {error:?} does not name {text:?}");
    }
    assert_eq!(node.status()["transfers_accepted"], "0", "nothing was stored");

    // The good transfer, spaced out within the body limit, is accepted once and stored as its
    // canonical entry; its replay is refused.
    let spaced = entry(&good).to_string().replace(':', &format!(":{}", " ".repeat(1000)));
    let (code, v) = node.post_bytes("/v1/transfers", spaced.as_bytes());
    assert_eq!(code, 202, "{v}");
    let (_, stored) = node.get(&format!("/v1/transfers/{}", v["id"].as_str().unwrap()));
    assert_eq!(stored["transfer"], entry(&good), "{stored}");
    let (code, v) = node.post("/v1/transfers", &entry(&good));
    assert_eq!((code, v["rule"].as_str()), (422, Some("wrong_nonce")), "{v}");
    // The pending state counts the accepted transfer: account 1 has 95 to spend.
    let (code, v) = node.post("/v1/transfers", &entry(&Transfer::signed(&key(1), 1, 2, 96, 1, domain)));
    assert_eq!((code, v["rule"].as_str()), (422, Some("insufficient_balance")), "{v}");
    let (_, a) = node.get("/v1/accounts/1");
    assert_eq!((a["pending_balance"].as_str(), a["pending_nonce"].as_str()), (Some("95"), Some("1")), "{a}");

    // Reads with bad ids.
    assert_eq!(node.get("/v1/transfers/abc").0, 400);
    assert_eq!(node.get("/v1/transfers/999").0, 404);
    assert_eq!(node.get("/v1/accounts/-1").0, 400);
    assert_eq!(node.get("/v1/accounts/77").0, 404);
    assert_eq!(node.get("/v1/batches/5").0, 404);

    // The node is unaffected and its metrics count the refusals by rule.
    let s = node.wait_settled(Duration::from_secs(600));
    assert_eq!(s["transfers_accepted"], "1");
    assert_eq!(s["node_root"], s["l1_root"]);
    let (code, _) = node.get("/healthz");
    assert_eq!(code, 200);
    let metrics = ureq::get(&format!("{}/metrics", node.url)).call().unwrap().body_mut().read_to_string().unwrap();
    assert!(metrics.contains("zkrollup_transfers_accepted_total 1"), "{metrics}");
    assert!(metrics.contains(r#"zkrollup_transfers_rejected_total{name="bad_signature"} 3"#), "{metrics}");
    assert!(metrics.contains(r#"zkrollup_transfers_rejected_total{name="wrong_nonce"} 2"#), "{metrics}");

    // A flood from one address meets the rate limit (50 a second, in bursts of 50): it goes on
    // until a 429 (one connection, so each request costs well under the 20 ms a token takes to
    // come back), and the limiter let through no more than its burst and the tokens of the
    // flood's own duration, however long that was.
    std::thread::sleep(Duration::from_secs(1));
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let flood = |agent: &ureq::Agent| agent.post(&format!("{}/v1/transfers", node.url)).header("content-type", "application/json").send(&b"{"[..]).unwrap().status().as_u16();
    let start = std::time::Instant::now();
    let mut codes = Vec::new();
    while !codes.contains(&429) {
        assert!(codes.len() < 100_000, "100,000 requests and no 429");
        codes.push(flood(&agent));
    }
    let codes: Vec<u16> = codes.into_iter().chain((0..100).map(|_| flood(&agent))).collect();
    let elapsed = start.elapsed().as_secs_f64();
    let admitted = codes.iter().filter(|&&c| c == 400).count();
    assert!(admitted as f64 <= 50.0 + 50.0 * elapsed + 1.0, "{admitted} admitted in {elapsed:.3} s");
    assert!(codes.iter().all(|&c| c == 429 || c == 400), "{codes:?}");
}
