//! Load generator: opens accounts through L1 deposits (the dev chain's deposit call, or real
//! `depositNew` transactions with `--l1-rpc`), then sends signed transfers from many concurrent
//! clients, with a progress line each second, and reports the API's acceptance rate and, with
//! `--settle`, end-to-end throughput and the latency from acceptance to L1 confirmation.
//!
//! ```sh
//! cargo run --release -p zkrollup-node -- --dev --genesis G.json --data D --listen 127.0.0.1:8080 &
//! cargo run --release -p zkrollup-node --example loadgen -- --url http://127.0.0.1:8080 \
//!     --accounts 64 --clients 16 --transfers 4000 --settle
//! # a node on a real L1: deposits paid by the key in ZKROLLUP_FUNDER_KEY
//! ZKROLLUP_FUNDER_KEY=0x... cargo run --release -p zkrollup-node --example loadgen -- \
//!     --url http://127.0.0.1:8080 --l1-rpc http://127.0.0.1:8545 --rollup 0x... --accounts 16
//! ```
//! Transfers are signed before the clock starts, so the figure is the node's, not the signer's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};
use zkrollup::decimal::{fr_to_decimal, parse_fr};
use zkrollup::files::transfer_entry;
use zkrollup::primitives::eddsa::PrivateKey;
use zkrollup::Transfer;

#[derive(Parser)]
struct Args {
    /// The node's address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Accounts to open through deposits.
    #[arg(long, default_value_t = 64)]
    accounts: u32,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Transfers to send in all.
    #[arg(long, default_value_t = 4000)]
    transfers: usize,
    /// Wait until every transfer is confirmed on L1 and report end-to-end figures.
    #[arg(long)]
    settle: bool,
    /// Pace: at most this many transfers a second in all (0: as fast as the node answers).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Seed of the accounts' keys (a second run against the same node needs another).
    #[arg(long, default_value_t = 1)]
    seed: u32,
    /// A node on a real L1: its JSON-RPC URL; accounts are opened by `depositNew` transactions
    /// paid by the key in ZKROLLUP_FUNDER_KEY.
    #[arg(long, requires = "rollup")]
    l1_rpc: Option<String>,
    /// With --l1-rpc: the rollup's address.
    #[arg(long)]
    rollup: Option<String>,
}

/// Each account's deposit, in gwei.
const DEPOSIT: u64 = 1_000_000_000;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn get(agent: &ureq::Agent, url: &str) -> (u16, Value) {
    let mut r = agent.get(url).call().expect("the node answers");
    (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null))
}

fn post(agent: &ureq::Agent, url: &str, body: &[u8]) -> (u16, Value) {
    let mut r = agent.post(url).header("content-type", "application/json").send(body).expect("the node answers");
    (r.status().as_u16(), r.body_mut().read_json().unwrap_or(Value::Null))
}

fn key(seed: u32, i: u32) -> PrivateKey {
    let mut b = [0x5au8; 32];
    b[..4].copy_from_slice(&seed.to_be_bytes());
    b[4..8].copy_from_slice(&i.to_be_bytes());
    PrivateKey::from_bytes(b)
}

/// Accounts opened through the dev chain's deposit call: their indexes.
fn dev_deposits(a: &ureq::Agent, url: &str, keys: &[PrivateKey]) -> Vec<u32> {
    keys.iter()
        .map(|k| {
            let p = k.public_key();
            let body = json!({"type": "deposit_new", "pubkey": [fr_to_decimal(p.x()), fr_to_decimal(p.y())],
                "owner": "0x00000000000000000000000000000000000000aa", "amount": DEPOSIT.to_string()});
            let (code, v) = post(a, &format!("{url}/v1/dev/deposits"), body.to_string().as_bytes());
            assert_eq!(code, 200, "deposit refused: {v}");
            v["index"].as_str().unwrap().parse::<u32>().unwrap()
        })
        .collect()
}

/// Accounts opened by `depositNew` transactions on a real L1, all sent at once: their indexes,
/// read from the rollup's `L1Request` events.
fn l1_deposits(rpc: &str, rollup: &str, keys: &[PrivateKey]) -> Vec<u32> {
    use zkrollup_node::l1::L1;
    let funder_key = std::env::var("ZKROLLUP_FUNDER_KEY").expect("set ZKROLLUP_FUNDER_KEY to the depositing account's key (hex)");
    let funder: alloy::signers::local::PrivateKeySigner = funder_key.trim().parse().expect("ZKROLLUP_FUNDER_KEY: a private key");
    let rollup: alloy::primitives::Address = rollup.parse().expect("--rollup: an address");
    let mut chain = zkrollup_node::l1::rpc::RpcL1::connect(rpc, rollup, &funder_key).expect("the L1 node answers");
    let from = chain.head().expect("the L1 head").number + 1;
    let value = alloy::primitives::U256::from(DEPOSIT) * alloy::primitives::U256::from(1_000_000_000u64);
    let calls = keys
        .iter()
        .map(|k| {
            let p = k.public_key();
            (rollup, zkrollup::export::calldata::deposit_new_calldata(p.x(), p.y(), &funder.address().0 .0), value, 500_000)
        })
        .collect();
    let receipts = chain.send_all_as(&funder, calls).expect("the deposits are mined");
    assert!(receipts.iter().all(|r| r.success), "a deposit reverted: {receipts:?}");
    let to = receipts.iter().map(|r| r.block).max().unwrap_or(from);
    let mut by_key = std::collections::HashMap::new();
    for log in chain.l1_requests(from, to).expect("the rollup's events") {
        if let Ok(zkrollup::Request { pubkey: Some((x, y)), index, .. }) = zkrollup::Request::from_record(&log.record) {
            by_key.insert((fr_to_decimal(x), fr_to_decimal(y)), index);
        }
    }
    keys.iter()
        .map(|k| {
            let p = k.public_key();
            *by_key.get(&(fr_to_decimal(p.x()), fr_to_decimal(p.y()))).expect("every deposit logged")
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args = Args::parse();
    let a = agent();
    let (_, status) = get(&a, &format!("{}/v1/status", args.url));
    let domain = parse_fr(status["domain"].as_str().expect("a node's status")).unwrap();

    // 1. Accounts through L1 deposits.
    eprintln!("opening {} accounts through deposits ...", args.accounts);
    let keys: Vec<PrivateKey> = (0..args.accounts).map(|i| key(args.seed, i)).collect();
    let indexes = match &args.l1_rpc {
        None => dev_deposits(&a, &args.url, &keys),
        Some(rpc) => l1_deposits(rpc, args.rollup.as_deref().unwrap(), &keys),
    };
    for &i in &indexes {
        while get(&a, &format!("{}/v1/accounts/{i}", args.url)).0 != 200 {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    // 2. Every transfer signed in advance: account k sends to account k+1, its nonces in order.
    let n = indexes.len();
    let mut per_client: Vec<Vec<Vec<u8>>> = vec![Vec::new(); args.clients];
    let mut nonces = vec![0u64; n];
    for t in 0..args.transfers {
        let k = t % n;
        let tr = Transfer::signed(&key(args.seed, k as u32), indexes[k], indexes[(k + 1) % n], 1, nonces[k], domain);
        nonces[k] += 1;
        // An account's transfers all go through one client, so they arrive in nonce order.
        per_client[k % args.clients].push(serde_json::to_vec(&transfer_entry(&tr)).unwrap());
    }

    // 3. The clients, with a progress line each second.
    let accepted = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut api_secs = 0.0;
    let (ids, mut latencies): (Vec<u64>, Vec<f64>) = std::thread::scope(|s| {
        let handles: Vec<_> = per_client
            .into_iter()
            .map(|bodies| {
                let (accepted, refused, url) = (accepted.clone(), refused.clone(), args.url.clone());
                let gap = (args.rate > 0.0).then(|| Duration::from_secs_f64(args.clients as f64 / args.rate));
                s.spawn(move || {
                    let a = agent();
                    let mut out = Vec::new();
                    for (i, body) in bodies.into_iter().enumerate() {
                        if let Some(gap) = gap {
                            // Each client's i-th transfer goes at i gaps from the start.
                            let due = start + gap * i as u32;
                            std::thread::sleep(due.saturating_duration_since(Instant::now()));
                        }
                        let t0 = Instant::now();
                        let (code, v) = post(&a, &format!("{url}/v1/transfers"), &body);
                        if code == 202 {
                            accepted.fetch_add(1, Ordering::Relaxed);
                            out.push((v["id"].as_str().unwrap().parse::<u64>().unwrap(), t0.elapsed().as_secs_f64()));
                        } else {
                            refused.fetch_add(1, Ordering::Relaxed);
                            eprintln!("refused ({code}): {v}");
                        }
                    }
                    out
                })
            })
            .collect();
        let progress = s.spawn(|| {
            let a = agent();
            while accepted.load(Ordering::Relaxed) + refused.load(Ordering::Relaxed) < args.transfers as u64 {
                std::thread::sleep(Duration::from_secs(1));
                let (_, st) = get(&a, &format!("{}/v1/status", args.url));
                let done = accepted.load(Ordering::Relaxed);
                eprintln!(
                    "{:>6.1} s  accepted {done:>7} ({:>6.0}/s)  refused {}  mempool {}  sealed {}  confirmed {}",
                    start.elapsed().as_secs_f64(),
                    done as f64 / start.elapsed().as_secs_f64(),
                    refused.load(Ordering::Relaxed),
                    st["mempool"],
                    st["last_sealed"].as_str().unwrap_or("?"),
                    st["last_confirmed"].as_str().unwrap_or("?"),
                );
            }
        });
        let all: Vec<(u64, f64)> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
        // The clock stops with the last client, not with the progress line's next tick.
        api_secs = start.elapsed().as_secs_f64();
        progress.join().unwrap();
        all.into_iter().unzip()
    });
    latencies.sort_by(f64::total_cmp);
    println!(
        "API: {} accepted in {api_secs:.2} s = {:.0} transfers/s ({} clients); submit latency p50 {:.1} ms, p99 {:.1} ms; {} refused",
        ids.len(),
        ids.len() as f64 / api_secs,
        args.clients,
        percentile(&latencies, 0.5) * 1e3,
        percentile(&latencies, 0.99) * 1e3,
        refused.load(Ordering::Relaxed)
    );
    if !args.settle {
        return;
    }

    // 4. Until every transfer is confirmed on L1.
    let last_id = *ids.iter().max().expect("some transfer accepted");
    loop {
        let (_, t) = get(&a, &format!("{}/v1/transfers/{last_id}", args.url));
        if t["status"] == "confirmed" {
            let (_, st) = get(&a, &format!("{}/v1/status", args.url));
            if st["mempool"] == 0 && st["last_sealed"] == st["last_confirmed"] {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let total = start.elapsed().as_secs_f64();
    let mut confirm = Vec::with_capacity(ids.len());
    let mut batch_confirmed: std::collections::HashMap<String, f64> = Default::default();
    for id in &ids {
        let (_, t) = get(&a, &format!("{}/v1/transfers/{id}", args.url));
        let b = t["batch_id"].as_str().unwrap().to_string();
        let at = match batch_confirmed.get(&b) {
            Some(&v) => v,
            None => {
                let (_, batch) = get(&a, &format!("{}/v1/batches/{b}", args.url));
                let v: f64 = batch["confirmed_ms"].as_str().unwrap().parse().unwrap();
                batch_confirmed.insert(b, v);
                v
            }
        };
        let accepted: f64 = t["accepted_ms"].as_str().unwrap().parse().unwrap();
        confirm.push((at - accepted) / 1e3);
    }
    confirm.sort_by(f64::total_cmp);
    println!(
        "end to end: {} transfers proved and confirmed in {total:.1} s = {:.1} transfers/s over {} batches; \
         acceptance to L1 confirmation p50 {:.1} s, p99 {:.1} s",
        ids.len(),
        ids.len() as f64 / total,
        batch_confirmed.len(),
        percentile(&confirm, 0.5),
        percentile(&confirm, 0.99)
    );
}
