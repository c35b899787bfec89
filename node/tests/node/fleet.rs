//! The node with a prover fleet: proof jobs through a real PostgreSQL (started by the test), two
//! `zkrollup-worker` processes fetching the proving key from the node over HTTP; one is killed
//! with SIGKILL while it holds a lease, and its job is leased again and proved by the other. Every batch is proved by a worker, verified by the node, and
//! confirmed on L1 exactly once, and L1's root is the node's.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{genesis, key, Node};
use zkrollup_fleet::queue::{JobStatus, Queue};

#[allow(dead_code)]
#[path = "../../../fleet/tests/fleet/pg.rs"]
mod pg;

/// The worker program (another crate's binary).
fn worker_binary() -> std::path::PathBuf {
    crate::common::workspace_built();
    std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("zkrollup-worker")
}

/// A worker process, killed when dropped.
struct Worker(Child);

impl Worker {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

fn worker(bin: &std::path::Path, db: &str, node: &str, cache: &std::path::Path, name: &str) -> Worker {
    Worker(Command::new(bin)
        .args(["--db", db, "--keys-from", node, "--cache", cache.to_str().unwrap(), "--threads", "1", "--lease-secs", "3", "--name", name])
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap())
}

#[test]
fn a_node_proves_through_postgres_with_two_workers_one_killed_on_the_way() {
    let pg = pg::Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let g = genesis(dir.path(), 4, 4, 1_000_000);
    let args = ["--batch-size", "2", "--l1-slots", "1", "--batch-timeout-ms", "200", "--prover-queue", &pg.url()];
    let node = Node::start(&g, &dir.path().join("data"), &args);
    let bin = worker_binary();
    let mut a = worker(&bin, &pg.url(), &node.url, &dir.path().join("cache-a"), "a");
    let mut b = worker(&bin, &pg.url(), &node.url, &dir.path().join("cache-b"), "b");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let queue = rt.block_on(Queue::connect(&pg.url())).unwrap();
    let mut killed_holding = None;
    std::thread::scope(|s| {
        s.spawn(|| {
            for round in 0..8u64 {
                for from in 1..=4u32 {
                    node.transfer(&key(from), from, from % 4 + 1, 1 + round, round).unwrap();
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        });
        // Worker a dies with SIGKILL while it holds a lease (mid-proof): its job must go back
        // to the queue when the lease expires, and b prove it.
        let start = std::time::Instant::now();
        while killed_holding.is_none() {
            assert!(start.elapsed() < Duration::from_secs(120), "worker a never held a lease");
            if let Some((batch, _)) = rt.block_on(queue.leased()).unwrap().into_iter().find(|(_, w)| w == "a") {
                a.kill();
                killed_holding = Some(batch);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let s = node.wait_settled(Duration::from_secs(300));
    b.kill();
    assert_eq!(s["node_root"], s["l1_root"], "{s}");
    let last: u64 = s["last_confirmed"].as_str().unwrap().parse().unwrap();
    assert!(last >= 16, "32 transfers in batches of 2: {last} batches");
    let (_, chain) = node.get("/v1/dev/chain");
    assert_eq!(chain["sequencer_txs"], last.to_string(), "one transaction a batch: {chain}");
    // Every proof came from a worker (the node has no proving key loaded): the queue holds one
    // proved job a batch, and the node's metrics show the fleet's.
    assert_eq!(rt.block_on(queue.counts()).unwrap(), vec![(JobStatus::Proved, last as i64)]);
    let (_, metrics) = node.get("/metrics");
    let text = metrics.as_str().unwrap().to_string();
    for line in ["zkrollup_fleet_jobs{name=\"proved\"}", "zkrollup_fleet_prove_seconds_count{name=\"b\"}", "zkrollup_fleet_lease_expiries_total"] {
        assert!(text.contains(line), "{line} missing from {text}");
    }
    // The job a held was leased again, after a's lease expired, and proved by b.
    let job = rt.block_on(queue.job(killed_holding.unwrap())).unwrap();
    assert_eq!((job.status, job.worker.as_deref()), (JobStatus::Proved, Some("b")), "{job:?}");
    assert!(job.attempts >= 2 && job.errors.iter().any(|e| e.contains("lease of a expired")), "{job:?}");
    // The key was fetched once and checked: it sits in b's cache under its sha256.
    let cached: Vec<_> = std::fs::read_dir(dir.path().join("cache-b")).unwrap().filter_map(Result::ok).map(|e| e.file_name()).collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
}
