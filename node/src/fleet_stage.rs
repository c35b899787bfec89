//! The proving stage with a prover fleet (`--prover-queue postgres://...`): in place of the
//! in-process prover, each sealed batch's witness goes to PostgreSQL as a proof job
//! (zkrollup-fleet's queue), workers on any hosts prove them, and this stage takes the proofs
//! back in batch order, verifies each against the public input it derived itself, and stores it
//! as the in-process prover would. A proof that does not verify goes back to the queue. The
//! fleet is not trusted, so nothing it does stops the node (audit F5): a job out of attempts is
//! re-queued after a back-off that doubles up to [`MAX_BACKOFF`], with `/readyz` saying why
//! proving waits; a job whose witness someone else wrote gets the node's own again.
//!
//! Restart-safe with nothing of its own in the store: it re-derives the witnesses of every
//! sealed, unproved batch from the proved state and enqueues them again (a job in place is kept,
//! after a check that it is this node's), and proofs already in the queue are collected.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ark_serialize::CanonicalDeserialize;
use zkrollup::primitives::batch::Shape;
use zkrollup::prover::{Proof, VerifyingKey};
use zkrollup::{BatchWitness, Fr, Request, State};
use zkrollup_fleet::queue::{within, JobRow, JobStatus, NewJob, Queue, QueueError};

use crate::health::Health;
use crate::metrics::{Label, Metrics};
use crate::prover::{derive_witness, store_proved};
use crate::store::{BatchStatus, Stage, Store};

/// Jobs enqueued ahead of the last proved batch, at most.
const AHEAD: usize = 256;
/// Proved jobs kept in the queue behind the last proof taken (older ones are pruned).
const KEEP_PROVED: u64 = 1024;
/// Leases a job may use.
pub const MAX_ATTEMPTS: i32 = 5;

/// The longest wait before a failed job is queued again.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Worker names that get a series of their own in `fleet_prove_seconds`; later ones share
/// `other` (a worker's default name changes with each restart).
const NAMED_WORKERS: usize = 32;

/// How long one queue call may take before the connection counts as lost.
const CALL_LIMIT: Duration = Duration::from_secs(10);

/// Run a queue call to its end within [`CALL_LIMIT`].
fn wait<T>(rt: &tokio::runtime::Runtime, call: impl std::future::Future<Output = Result<T, QueueError>>) -> Result<T, QueueError> {
    rt.block_on(within(CALL_LIMIT, call))
}

/// What the operator reads when a job ran out of attempts.
fn failed(job: &JobRow, again_in: Duration) -> String {
    let last = job.errors.last().map_or("", String::as_str);
    format!("proof job {} failed after {} attempts (last: {last}); queued again in {} s", job.batch_id, job.attempts, again_in.as_secs())
}

/// The wait before a job that failed `times` times before is queued again: 1 s, doubling.
fn backoff(times: u32) -> Duration {
    Duration::from_secs(1u64 << times.min(16)).min(MAX_BACKOFF)
}

/// A worker's self-chosen name as a metric label: `[A-Za-z0-9._-]`, at most 64 characters,
/// anything else `_` (a raw name could inject lines into `/metrics`: audit F13).
pub fn worker_label(name: &str) -> String {
    let safe: String =
        name.chars().take(64).map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    if safe.is_empty() { "_".into() } else { safe }
}

/// A failed job's back-off: how often it was re-queued, and when it is next due.
#[derive(Clone, Copy, Debug, Default)]
struct Backoff {
    times: u32,
    due: Option<Instant>,
}

/// The stage.
pub struct FleetStage {
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    shape: Shape,
    domain: Fr,
    vk: VerifyingKey,
    key_sha256: String,
    url: String,
    rt: tokio::runtime::Runtime,
    queue: Option<Queue>,
    /// The state after the last batch enqueued.
    state: State,
    enqueued: u64,
    /// Witnesses enqueued and not yet proved, by batch.
    pending: BTreeMap<u64, (BatchWitness, Vec<Request>)>,
    proved: u64,
    /// The queue's lease-expiry total when last read.
    expiries_seen: u64,
    /// Failed jobs' back-offs, by batch.
    backoffs: HashMap<u64, Backoff>,
    /// Worker labels given a series of their own.
    named_workers: BTreeSet<String>,
    health: Arc<Health>,
}

/// Why a round stopped: the queue (retried) or the node's own store and batches (fatal).
enum RoundError {
    Queue(QueueError),
    Fatal(String),
}

impl From<QueueError> for RoundError {
    fn from(e: QueueError) -> Self {
        RoundError::Queue(e)
    }
}

impl From<String> for RoundError {
    fn from(e: String) -> Self {
        RoundError::Fatal(e)
    }
}

impl FleetStage {
    /// Load the proved accounts (checked against the last proved batch's root).
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        store: Arc<Store>,
        metrics: Arc<Metrics>,
        shape: Shape,
        domain: Fr,
        vk: VerifyingKey,
        key_sha256: String,
        url: String,
        proved: u64,
        expected_root: Fr,
        health: Arc<Health>,
    ) -> Result<FleetStage, String> {
        let state = store.state(Stage::Proved, shape.depth, expected_root)?;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        Ok(FleetStage {
            store,
            metrics,
            shape,
            domain,
            vk,
            key_sha256,
            url,
            rt,
            queue: None,
            state,
            enqueued: proved,
            pending: BTreeMap::new(),
            proved,
            expiries_seen: 0,
            backoffs: HashMap::new(),
            named_workers: BTreeSet::new(),
            health,
        })
    }

    /// One round: re-queue expired leases, enqueue sealed batches, take proofs back in order.
    /// Whether anything moved.
    fn round(&mut self) -> Result<bool, RoundError> {
        if self.queue.as_ref().is_none_or(Queue::is_closed) {
            self.queue = Some(wait(&self.rt, Queue::connect(&self.url))?);
        }
        let q = self.queue.as_ref().expect("connected");
        let rt = &self.rt;
        wait(rt, q.requeue_expired())?;
        let mut moved = false;

        // Jobs out of attempts (leases expired, proofs refused): queued again after a back-off.
        let failed_jobs = wait(rt, q.failed())?;
        self.backoffs.retain(|b, _| *b > self.proved);
        for job in &failed_jobs {
            let b = self.backoffs.entry(job.batch_id).or_default();
            match b.due {
                None => {
                    let wait_for = backoff(b.times);
                    b.due = Some(Instant::now() + wait_for);
                    let why = failed(job, wait_for);
                    eprintln!("zkrollup-node: {why}");
                    self.metrics.fleet_failed_jobs.inc();
                    self.health.block("prover", why);
                }
                Some(due) if Instant::now() >= due => {
                    wait(rt, q.retry(job.batch_id, MAX_ATTEMPTS))?;
                    b.times += 1;
                    b.due = None;
                    eprintln!("zkrollup-node: proof job {} queued again", job.batch_id);
                }
                Some(_) => {}
            }
        }

        // Enqueue what was sealed, in order, a bounded distance ahead.
        let sealed = self.store.stage_heads().map_err(|e| e.to_string())?[0];
        while self.enqueued < sealed && self.pending.len() < AHEAD {
            let id = self.enqueued + 1;
            let b = self.store.batch(id).map_err(|e| e.to_string())?.ok_or(format!("batch {id} missing"))?;
            let mut next = self.state.clone();
            let (witness, requests) = derive_witness(&self.store, &mut next, self.shape, self.domain, &b)?;
            let bytes = witness.to_bytes();
            let job = NewJob { batch_id: id, key_sha256: self.key_sha256.clone(), witness: bytes.clone(), max_attempts: MAX_ATTEMPTS };
            if !wait(rt, q.enqueue(&job))? && wait(rt, q.witness(id))?.as_deref() != Some(bytes.as_slice()) {
                // Written by someone else (a hostile worker, or another node on this database):
                // the job is this node's, so its witness is put back and the job starts over.
                let why = format!(
                    "the queue held another witness for batch {id}: replaced by the node's own (is this database shared with another node?)"
                );
                eprintln!("zkrollup-node: {why}");
                self.metrics.fleet_foreign_witnesses.inc();
                self.health.block("prover", why);
                wait(rt, q.replace_witness(&job))?;
            }
            self.state = next;
            self.enqueued = id;
            self.pending.insert(id, (witness, requests));
            moved = true;
        }

        // Take proofs back in batch order; a later one waits in the queue for its turn.
        let proofs = wait(rt, q.proved(self.proved + 1, 16))?;
        for p in proofs {
            if p.batch_id != self.proved + 1 {
                break;
            }
            let Some((witness, requests)) = self.pending.get(&p.batch_id) else { break };
            let proof = Proof::deserialize_compressed(p.proof.as_slice()).ok();
            let valid = match &proof {
                Some(proof) => zkrollup::prover::verify(&self.vk, &[witness.commitment], proof).unwrap_or(false),
                None => false,
            };
            if !valid {
                // Every proof is checked before it is used: this one goes back to the queue.
                let reason = if proof.is_some() { "the proof does not verify" } else { "the proof does not decode" };
                eprintln!("zkrollup-node: batch {}: {reason} (from worker {:?})", p.batch_id, worker_label(&p.worker));
                self.metrics.fleet_refused_proofs.inc();
                // The job goes back to the queue, the attempt charged to the worker, which is
                // quarantined (audit F5): it claims nothing more until an operator lets it go.
                if let Some(w) = wait(rt, q.refuse_proof(p.batch_id, reason))? {
                    eprintln!(
                        "zkrollup-node: worker {w:?} quarantined: it claims no job until `zkrollup node prover-jobs --release-worker NAME`"
                    );
                }
                break;
            }
            let b = self.store.batch(p.batch_id).map_err(|e| e.to_string())?.ok_or(format!("batch {} missing", p.batch_id))?;
            if b.status != BatchStatus::Sealed {
                return Err(RoundError::Fatal(format!("batch {} is {:?}, not sealed", b.id, b.status)));
            }
            let took = Duration::from_millis(p.prove_ms);
            store_proved(&self.store, b, proof.as_ref().expect("valid"), witness, requests, self.shape, took)?;
            self.pending.remove(&p.batch_id);
            self.proved = p.batch_id;
            self.metrics.proving_seconds.observe(took.as_secs_f64());
            let mut name = worker_label(&p.worker);
            if !self.named_workers.contains(&name) {
                if self.named_workers.len() < NAMED_WORKERS {
                    self.named_workers.insert(name.clone());
                } else {
                    name = "other".into();
                }
            }
            self.metrics.fleet_prove_seconds.get_or_create(&Label { name }).observe(took.as_secs_f64());
            if failed_jobs.is_empty() {
                self.health.clear("prover");
            }
            self.metrics.fleet_attempts.observe(p.attempts as f64);
            Metrics::inc(&self.metrics.batches, "proved");
            moved = true;
        }

        if moved && self.proved > KEEP_PROVED {
            wait(rt, q.prune_proved(self.proved - KEEP_PROVED))?;
        }
        // Expiries are counted in the queue (workers return expired leases too).
        let expiries = wait(rt, q.lease_expiries())?;
        self.metrics.fleet_lease_expiries.inc_by(expiries.saturating_sub(self.expiries_seen));
        self.expiries_seen = self.expiries_seen.max(expiries);
        // Each gauge set once to its new value: zeroing them all first left a moment in which a
        // scrape read no jobs at all (seen under load in a clean-clone run).
        let counts = wait(rt, q.counts())?;
        for status in [JobStatus::Queued, JobStatus::Leased, JobStatus::Proved, JobStatus::Failed] {
            let n = counts.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n);
            self.metrics.fleet_jobs.get_or_create(&Label { name: status.as_str().into() }).set(n);
            if status == JobStatus::Queued {
                self.metrics.fleet_queue_depth.set(n);
            }
        }
        self.metrics.fleet_workers.set(wait(rt, q.workers_seen(Duration::from_secs(300)))?);
        self.metrics.fleet_quarantined_workers.set(wait(rt, q.quarantined())?.len() as i64);
        Ok(moved)
    }

    /// Run rounds until `stop`, none while `hold` is held: PostgreSQL failures are reported and
    /// retried (a restarted server is reconnected), the node's own failures are fatal.
    pub fn run(mut self, stop: Arc<AtomicBool>, hold: crate::prover::ProverHold) -> Result<(), String> {
        let mut reported = false;
        while !stop.load(Ordering::Relaxed) {
            if hold.held() {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            match self.round() {
                Ok(moved) => {
                    if reported {
                        self.health.clear("prover_queue");
                    }
                    reported = false;
                    if !moved {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
                Err(RoundError::Queue(e)) => {
                    if !reported {
                        eprintln!("zkrollup-node: prover queue: {e} (retrying)");
                        reported = true;
                    }
                    self.health.block("prover_queue", format!("the prover queue: {e} (retrying)"));
                    self.queue = None;
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(RoundError::Fatal(e)) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Audit F13: a name that would inject lines into `/metrics` becomes a harmless label,
    /// bounded in length.
    #[test]
    fn worker_names_become_safe_bounded_labels() {
        assert_eq!(worker_label("w-1.host_2"), "w-1.host_2");
        assert_eq!(worker_label("x\"} 1.0\nzkrollup_l1_gas_used_total 9"), "x___1.0_zkrollup_l1_gas_used_total_9");
        assert_eq!(worker_label(&"a".repeat(100)), "a".repeat(64));
        assert_eq!(worker_label(""), "_");
        assert_eq!(worker_label("é"), "_");
    }

    #[test]
    fn the_backoff_doubles_to_its_bound() {
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }
}
