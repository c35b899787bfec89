//! Crash safety: a dev-mode node under load, killed with SIGKILL at random moments (accepting,
//! sealing, proving, submitting, waiting for confirmations) and restarted each time. At the end
//! no accepted transfer is lost or applied twice, no batch was sent twice, and the node's root,
//! L1's root and a model of every stored transfer agree.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::Duration;

use crate::common::{genesis, kill_at_random, riding_client, ClientPlan, Node};
use rand::{Rng, SeedableRng};
use serde_json::json;

#[test]
fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let seed: u64 = std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("crash test seed {seed} (CRASH_SEED={seed} reruns it)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let accounts = 4u32;
    let g = genesis(dir.path(), 4, accounts, 1_000_000);
    // Three confirmations and a 400 ms block time: a batch waits for confirmation a while. The
    // store commits in two phases here (the anvil test kills one that commits in one).
    let args = ["--batch-size", "4", "--l1-slots", "1", "--batch-timeout-ms", "200", "--confirmations", "3", "--block-time-ms", "400", "--two-phase-commit"];
    let mut node = Node::start(&g, &dir.path().join("data"), &args);
    let domain = node.domain();
    let url = Mutex::new(node.url.clone());
    let stop = AtomicBool::new(false);
    let acked = Mutex::new(Vec::new());
    let mut deposits = 0u64;
    let plan = ClientPlan { transfers: 25, pause: Duration::from_millis(600) };
    std::thread::scope(|s| {
        for from in 1..=accounts {
            let (url, stop, acked) = (&url, &stop, &acked);
            // At least 25 transfers each, and on until the kills have met every stage: more
            // than the prover keeps up with on 2 cores, so batches queue up at every stage.
            s.spawn(move || riding_client(url, domain, from, from % accounts + 1, plan, stop, acked));
        }
        let deposit_now_and_then = |_: usize, node: &Node, rng: &mut dyn rand::RngCore| {
            // A deposit on L1 now and then, so L1 slots are used too.
            if rng.gen_bool(0.1) {
                let (code, _) = node.post("/v1/dev/deposits", &json!({"type": "deposit", "index": 1, "amount": "7"}));
                deposits += u64::from(code == 200);
            }
        };
        let stages = kill_at_random(&mut node, &url, &mut rng, 12, &stop, deposit_now_and_then, |_| {});
        eprintln!("the kills met {stages:?}");
    });
    let s = node.wait_settled(Duration::from_secs(900));
    assert_eq!(s["node_root"], s["l1_root"], "{s}");

    // Every stored transfer is in exactly one confirmed batch; every acknowledged one is stored.
    let stored: u64 = s["transfers_accepted"].as_str().unwrap().parse().unwrap();
    let acked: HashSet<u64> = acked.into_inner().unwrap().into_iter().collect();
    assert!(acked.len() as u64 >= u64::from(accounts) * plan.transfers, "only {} transfers acknowledged", acked.len());
    assert!(acked.iter().all(|id| (1..=stored).contains(id)), "an acknowledged transfer is not stored");
    let last: u64 = s["last_confirmed"].as_str().unwrap().parse().unwrap();
    let mut in_batch: HashMap<u64, u64> = HashMap::new();
    let mut requests = 0;
    for b in 1..=last {
        let (_, batch) = node.get(&format!("/v1/batches/{b}"));
        assert_eq!(batch["status"], "confirmed");
        assert!(batch["tx"].is_null() || batch["tx"]["attempts"] == 1, "{batch}");
        requests += batch["requests"].as_array().unwrap().len() as u64;
        for t in batch["transfers"].as_array().unwrap() {
            let id: u64 = t.as_str().unwrap().parse().unwrap();
            assert!(in_batch.insert(id, b).is_none(), "transfer {id} in two batches");
        }
    }
    assert_eq!(in_batch.len() as u64, stored, "every stored transfer is in a batch");
    // No batch was sent twice and none reverted: the sequencer sent one transaction per batch.
    let (_, chain) = node.get("/v1/dev/chain");
    assert_eq!(chain["sequencer_txs"], last.to_string(), "{chain}");
    assert_eq!(chain["sequencer_reverts"], "0");
    // Each deposit the dev chain took was consumed once.
    assert_eq!(requests, deposits);

    // The balances are what the stored transfers and deposits make of genesis.
    let mut balance: HashMap<u32, i128> = (1..=accounts).map(|i| (i, 1_000_000)).collect();
    for id in 1..=stored {
        let (_, t) = node.get(&format!("/v1/transfers/{id}"));
        let (from, to) = (t["transfer"]["from"].as_u64().unwrap() as u32, t["transfer"]["to"].as_u64().unwrap() as u32);
        let amount: i128 = t["transfer"]["amount"].as_str().unwrap().parse().unwrap();
        *balance.get_mut(&from).unwrap() -= amount;
        *balance.get_mut(&to).unwrap() += amount;
    }
    *balance.get_mut(&1).unwrap() += 7 * deposits as i128;
    for i in 1..=accounts {
        let (_, a) = node.get(&format!("/v1/accounts/{i}"));
        assert_eq!(a["balance"].as_str().unwrap().parse::<i128>().unwrap(), balance[&i], "account {i}: {a}");
    }
}
