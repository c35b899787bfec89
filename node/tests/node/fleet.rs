//! The node with a prover fleet: a real PostgreSQL (started by the test), `zkrollup-worker`
//! processes fetching the proving key from the node over HTTP, and clients sending transfers
//! throughout. Each test makes one fault (in `fleet_faults.rs`, and on a network of hosts in
//! `fleet_hosts.rs`) and ends the same way, in [`Fleet::finish`]: every batch proved by a worker,
//! verified by the node and confirmed on L1 exactly once, with L1's root the node's.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::{genesis, key, riding_client, ClientPlan, Node};
use crate::lan::Lan;
use zkrollup_fleet::queue::{JobRow, JobStatus, Queue, QueueError};

#[allow(dead_code)]
#[path = "../../../fleet/tests/fleet/pg.rs"]
pub mod pg;

/// Accounts in the genesis, each sending to the next.
const ACCOUNTS: u32 = 4;

/// The worker program (another crate's binary).
fn worker_binary() -> PathBuf {
    crate::common::workspace_built();
    std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("zkrollup-worker")
}

/// A worker process, killed when dropped.
pub struct Worker {
    child: Child,
    /// The name it works under.
    pub name: String,
}

impl Worker {
    /// SIGKILL it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Pause it where it stands (SIGSTOP): it claims nothing, and a lease it holds expires.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// Let a paused worker go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("CONT");
    }

    /// Send it a signal (`TERM`, `KILL`, ...).
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill").args([&format!("-{signal}"), &self.child.id().to_string()]).status().unwrap();
        assert!(ok.success(), "kill -{signal} {}", self.name);
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Wait for it to exit, within `limit`: its exit status.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(start.elapsed() < limit, "worker {} still runs after {limit:?}", self.name);
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Clients sending transfers, riding out the node's restarts.
pub struct Traffic {
    clients: Vec<JoinHandle<()>>,
}

/// PostgreSQL, a node proving through it, and the test's own connection to the queue.
pub struct Fleet {
    pub pg: pg::Postgres,
    pub dir: tempfile::TempDir,
    pub node: Node,
    /// The node's URL, for clients (a restarted node keeps its port).
    pub url: Arc<Mutex<String>>,
    /// The database's URL for workers.
    db: String,
    /// Where the node serves the proving key to workers (`--keys-listen`).
    pub keys_url: String,
    pub rt: tokio::runtime::Runtime,
    bin: PathBuf,
}

impl Fleet {
    /// PostgreSQL and a node on loopback, batches of 2.
    pub fn start() -> Fleet {
        Fleet::start_on(None)
    }

    /// PostgreSQL and a node on loopback, or on the machine's address in `lan` too.
    pub fn start_on(lan: Option<&Lan>) -> Fleet {
        let pg = match lan {
            Some(lan) => pg::Postgres::start_also_on(&[&lan.address()], &lan.subnet()),
            None => pg::Postgres::start(),
        };
        let address = lan.map_or("127.0.0.1".to_string(), Lan::address);
        let dir = tempfile::tempdir().unwrap();
        let g = genesis(dir.path(), 4, ACCOUNTS, 1_000_000);
        let url = pg.url();
        // The proving key for the workers on an address of its own (never the public API's).
        let keys_at = format!("{address}:{}", crate::common::free_port());
        let mut args = vec!["--dev", "--batch-size", "2", "--l1-slots", "1", "--batch-timeout-ms", "200", "--prover-queue", &url];
        args.extend_from_slice(&["--keys-listen", &keys_at]);
        if lan.is_some() {
            // The workers in the lan's hosts fetch the keys from the node's lan address.
            args.push("--insecure-dev-listen-public");
        }
        let node = Node::start_on(&address, &g, &dir.path().join("data"), &args, &[]);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let url = Arc::new(Mutex::new(node.url.clone()));
        Fleet { db: pg.url_at(&address), keys_url: format!("http://{keys_at}"), pg, dir, node, url, rt, bin: worker_binary() }
    }

    /// A worker run by `c` (its program and first arguments) on this machine.
    pub fn worker_from(&self, mut c: Command, name: &str, lease_secs: u32) -> Worker {
        let cache = self.dir.path().join(format!("cache-{name}"));
        c.args(["--db", &self.db, "--keys-from", &self.keys_url, "--cache", cache.to_str().unwrap()])
            .args(["--threads", "1", "--lease-secs", &lease_secs.to_string(), "--name", name])
            .stderr(Stdio::inherit());
        Worker { child: c.spawn().unwrap(), name: name.to_string() }
    }

    /// A worker on this machine, its leases lasting `lease_secs`.
    pub fn worker(&self, name: &str, lease_secs: u32) -> Worker {
        self.worker_from(Command::new(&self.bin), name, lease_secs)
    }

    /// A worker on host `i` of `lan`.
    pub fn worker_on(&self, lan: &Lan, i: usize, name: &str, lease_secs: u32) -> Worker {
        self.worker_from(lan.command(i, &self.bin), name, lease_secs)
    }

    /// Every account sends `each` transfers to the next, a pause of `pause_ms` after each.
    pub fn traffic(&self, each: u64, pause_ms: u64) -> Traffic {
        let domain = self.node.domain();
        let clients = (1..=ACCOUNTS)
            .map(|from| {
                let url = self.url.clone();
                let plan = ClientPlan { transfers: each, pause: Duration::from_millis(pause_ms) };
                // Stopped from the start: the client sends its `each` and no more.
                let stop = AtomicBool::new(true);
                std::thread::spawn(move || riding_client(&url, domain, from, from % ACCOUNTS + 1, plan, &stop, &Mutex::new(Vec::new())))
            })
            .collect();
        Traffic { clients }
    }

    /// A connection of the test's own (a fresh one: PostgreSQL may have restarted), attached as
    /// a worker's is: it takes no lock, so a paused worker cannot hold it up.
    pub fn queue(&self) -> Queue {
        let start = Instant::now();
        loop {
            match self.rt.block_on(Queue::attach(&self.pg.url())) {
                Ok(q) => return q,
                // The node migrates the schema on its first round: wait for it.
                Err(QueueError::SchemaTooOld { .. }) if start.elapsed() < Duration::from_secs(600) => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => panic!("attaching to the queue: {e}"),
            }
        }
    }

    /// A job's row.
    pub fn job(&self, batch: u64) -> JobRow {
        let q = self.queue();
        self.rt.block_on(q.job(batch)).unwrap()
    }

    /// Wait until `worker` holds a lease (within `limit`): its batch and lease id.
    pub fn leased_by(&self, worker: &str, limit: Duration) -> (u64, String) {
        let q = self.queue();
        let start = Instant::now();
        loop {
            assert!(start.elapsed() < limit, "worker {worker} held no lease within {limit:?}");
            let leased = self.rt.block_on(q.leased()).unwrap();
            if let Some((batch, _, lease)) = leased.into_iter().find(|(_, w, _)| w == worker) {
                return (batch, lease);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Wait until `until` holds of the node's status, within `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration, until: impl Fn(&serde_json::Value) -> bool) {
        let start = Instant::now();
        while !until(&self.node.status()) {
            assert!(start.elapsed() < limit, "{what}: not within {limit:?}: {}", self.node.status());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Make `who` prove a batch, whatever the machine's speed: the other workers are paused
    /// (SIGSTOP), one more transfer makes a new batch, and the test waits until `who` has proved
    /// a batch sealed after that moment (while the others are paused every job is `who`'s, a
    /// paused one's expired lease included); then the others go on. The batch.
    pub fn prove_alone(&self, who: &Worker, others: &[&Worker]) -> u64 {
        for w in others {
            w.pause();
        }
        let sealed: u64 = self.node.status()["last_sealed"].as_str().unwrap().parse().unwrap();
        self.one_more_transfer();
        let q = self.queue();
        let start = Instant::now();
        let batch = loop {
            let proved = self.rt.block_on(q.proved(sealed + 1, 1000)).unwrap();
            if let Some(p) = proved.iter().find(|p| p.worker == who.name) {
                break p.batch_id;
            }
            assert!(start.elapsed() < Duration::from_secs(600), "{} alone proved no batch after {sealed} in 10 minutes", who.name);
            std::thread::sleep(Duration::from_millis(50));
        };
        for w in others {
            w.resume();
        }
        batch
    }

    /// One transfer from account 1 at its pending nonce, sent again while a client's transfer
    /// takes that nonce first or the node asks to wait.
    fn one_more_transfer(&self) {
        let start = Instant::now();
        loop {
            let (_, a) = self.node.get("/v1/accounts/1");
            let nonce = a["pending_nonce"].as_str().unwrap().parse().unwrap();
            match self.node.transfer(&key(1), 1, 2, 1, nonce) {
                Ok(_) => return,
                Err(e) if e["status"] == 503 || e["status"] == 429 || e["body"]["rule"] == "wrong_nonce" => {}
                Err(e) => panic!("one more transfer: {e}"),
            }
            assert!(start.elapsed() < Duration::from_secs(600), "no transfer accepted in 10 minutes");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Let the clients finish and the node settle, then check the end every fleet test shares:
    /// at least `min_batches` batches, each proved by a worker (the node has no proving key),
    /// verified, and confirmed on L1 by exactly one transaction; L1's root is the node's. The
    /// number of batches.
    pub fn finish(&self, traffic: Traffic, min_batches: u64) -> u64 {
        for c in traffic.clients {
            c.join().expect("a client failed");
        }
        let s = self.node.wait_settled(Duration::from_secs(600));
        assert_eq!(s["node_root"], s["l1_root"], "{s}");
        let last: u64 = s["last_confirmed"].as_str().unwrap().parse().unwrap();
        assert!(last >= min_batches, "{last} batches, expected at least {min_batches}");
        let (_, chain) = self.node.get("/v1/dev/chain");
        assert_eq!(chain["sequencer_txs"], last.to_string(), "one transaction a batch: {chain}");
        let q = self.queue();
        assert_eq!(self.rt.block_on(q.counts()).unwrap(), vec![(JobStatus::Proved, last as i64)], "one proved job a batch");
        last
    }
}

/// A worker killed with SIGKILL while it holds a lease: the job is leased again and proved by
/// the other worker, and the dead worker's late result, handed in by hand with its lease, is
/// refused.
#[test]
fn a_worker_killed_mid_proof_loses_its_job_to_another_and_its_late_result_is_refused() {
    let fleet = Fleet::start();
    // a alone at first, so that it is sure to take a job.
    let mut a = fleet.worker("a", 3);
    let traffic = fleet.traffic(8, 300);
    let (batch, lease) = fleet.leased_by("a", Duration::from_secs(600));
    a.kill();
    let _b = fleet.worker("b", 3);
    let last = fleet.finish(traffic, 16);

    let job = fleet.job(batch);
    assert_eq!((job.status, job.worker.as_deref()), (JobStatus::Proved, Some("b")), "{job:?}");
    assert!(job.attempts >= 2 && job.errors.iter().any(|e| e.contains("lease of a expired")), "{job:?}");
    // a's result, late: refused, and the job keeps b's proof.
    let q = fleet.queue();
    let proof = fleet.rt.block_on(q.proved(batch, 1)).unwrap().remove(0);
    let held = zkrollup_fleet::queue::Lease { batch_id: batch, lease_id: lease, attempt: 1, witness: Vec::new() };
    let late = fleet.rt.block_on(q.complete(&held, b"a's late proof", 1));
    assert!(matches!(late, Err(zkrollup_fleet::queue::QueueError::LeaseLost { .. })), "{late:?}");
    assert_eq!(fleet.rt.block_on(q.proved(batch, 1)).unwrap()[0].proof, proof.proof);

    let metrics = fleet.node.metrics();
    for line in ["zkrollup_fleet_prove_seconds_count{name=\"b\"}", "zkrollup_fleet_queue_depth 0", "zkrollup_fleet_workers_seen"] {
        assert!(metrics.contains(line), "{line} missing from {metrics}");
    }
    for line in [format!("zkrollup_fleet_jobs{{name=\"proved\"}} {last}"), format!("zkrollup_fleet_attempts_count {last}")] {
        assert!(metrics.contains(&line), "{line} missing from {metrics}");
    }
    // The job a held took two leases or more, and a's lease expired.
    let value = |name: &str| metrics.lines().find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok()).unwrap();
    assert!(value("zkrollup_fleet_attempts_sum ") > last as f64, "{metrics}");
    assert!(value("zkrollup_fleet_lease_expiries_total ") >= 1.0, "{metrics}");
    // The key was fetched once and checked: it sits in b's cache under its sha256.
    let cached: Vec<_> = std::fs::read_dir(fleet.dir.path().join("cache-b")).unwrap().filter_map(Result::ok).map(|e| e.file_name()).collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
}
