//! A stateless worker: claims proof jobs for the keys it can get, proves each with one
//! long-lived `FastProver` a key, heartbeats the lease while it proves, and hands the proof in.
//!
//! It keeps nothing but its key cache: killed at any moment, its lease expires and the job goes
//! to another worker. Every queue call has a deadline (a third of the lease, at least 2 s): cut
//! off from PostgreSQL, where TCP would wait minutes, it drops the connection, reconnects, and
//! when its lease was lost meanwhile drops its late result (the queue would refuse it anyway).
//! Told to stop (SIGTERM, SIGINT), it gives its job back at once, the attempt not counted, and
//! returns without waiting for the proof it abandons.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ark_serialize::CanonicalSerialize;
use zkrollup::primitives::batch::Shape;
use zkrollup::prover::fast::FastProver;
use zkrollup::prover::{bundle, ProvingKey};
use zkrollup::BatchWitness;

use crate::keys::{key_dir, KeySource};
use crate::queue::{within, Lease, Queue, QueueError};

/// How often a proving worker looks whether it is to stop.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// How a worker runs.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// The queue's PostgreSQL URL.
    pub db: String,
    /// Where keys come from.
    pub keys_from: KeySource,
    /// The key cache.
    pub cache: PathBuf,
    /// Its name in the queue (host and process, by default).
    pub name: String,
    /// How long a lease lasts without a heartbeat (heartbeats come at a third of it).
    pub lease: Duration,
    /// Proving threads.
    pub threads: usize,
    /// Only this key's jobs (sha256); otherwise every key the queued jobs name.
    pub key_sha256: Option<String>,
}

struct Loaded {
    shape: Shape,
    pk: Arc<ProvingKey>,
    prover: Arc<FastProver>,
}

/// The worker's state between jobs.
pub struct Worker {
    cfg: WorkerConfig,
    pool: Arc<rayon::ThreadPool>,
    keys: HashMap<String, Loaded>,
    /// Keys that failed to load, and when (retried after a minute).
    bad_keys: HashMap<String, Instant>,
    queue: Option<Queue>,
    /// Set when the worker is to stop: checked between jobs and while proving.
    stop: Arc<AtomicBool>,
}

/// One job's end, for the log.
#[derive(Debug)]
pub enum Outcome {
    /// Proved and accepted.
    Proved { batch_id: u64, ms: u64 },
    /// The lease was lost before the proof was in.
    LeaseLost { batch_id: u64 },
    /// The job could not be proved (its witness or the prover failed).
    GaveUp { batch_id: u64, error: String },
    /// The worker is stopping: the job went back to the queue, its attempt not counted.
    Released { batch_id: u64 },
    /// The proof did not verify against the key's own verifying key: the key's other files are
    /// wrong (a hostile key server, a damaged cache). The key was dropped (and its cached copy
    /// deleted) and the job given back, its attempt not counted.
    KeyRejected { batch_id: u64 },
}

impl Worker {
    /// A worker with its proving pool.
    pub fn new(cfg: WorkerConfig) -> Result<Worker, String> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(cfg.threads.max(1))
            .thread_name(|i| format!("prover-{i}"))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Worker { cfg, pool: Arc::new(pool), keys: HashMap::new(), bad_keys: HashMap::new(), queue: None, stop: Arc::default() })
    }

    /// Work until `stop`: every failure of PostgreSQL or of a key source is logged and retried.
    /// A job in proof when `stop` is set is given back (see [`Queue::release`]).
    pub async fn run(&mut self, stop: Arc<AtomicBool>) {
        self.stop = stop.clone();
        while !stop.load(Ordering::Relaxed) {
            match self.step().await {
                Ok(Some(outcome)) => eprintln!("zkrollup-worker {}: {outcome:?}", self.cfg.name),
                Ok(None) => tokio::time::sleep(Duration::from_millis(200)).await,
                Err(e @ QueueError::Quarantined(_)) => {
                    // Said every 30 s until an operator lets this worker go.
                    eprintln!("zkrollup-worker {}: {e}: see `zkrollup node prover-jobs --release-worker`", self.cfg.name);
                    for _ in 0..300 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                Err(e) => {
                    eprintln!("zkrollup-worker {}: {e}", self.cfg.name);
                    if matches!(e, QueueError::Db(_) | QueueError::TimedOut(_)) {
                        self.queue = None;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }

    /// How long one queue call may take before the connection counts as lost: a third of a
    /// lease (the heartbeat's period), and at least 2 s.
    fn call_limit(&self) -> Duration {
        (self.cfg.lease / 3).max(Duration::from_secs(2))
    }

    /// The connection, made anew when there is none or it closed.
    async fn connected(&mut self) -> Result<&Queue, QueueError> {
        if self.queue.as_ref().is_none_or(Queue::is_closed) {
            self.queue = None;
            self.queue = Some(within(self.call_limit(), Queue::attach(&self.cfg.db)).await?);
        }
        Ok(self.queue.as_ref().expect("connected"))
    }

    /// One queue call within [`Self::call_limit`]; a connection that failed or hung is dropped.
    async fn call<T>(&mut self, f: impl for<'q> FnOnce(&'q Queue) -> Pin<Box<dyn Future<Output = Result<T, QueueError>> + Send + 'q>>) -> Result<T, QueueError> {
        let limit = self.call_limit();
        let result = match self.connected().await {
            Ok(q) => within(limit, f(q)).await,
            Err(e) => Err(e),
        };
        if matches!(result, Err(QueueError::Db(_) | QueueError::TimedOut(_))) {
            self.queue = None;
        }
        result
    }

    /// Claim and prove one job, if one waits for a key this worker can get.
    pub async fn step(&mut self) -> Result<Option<Outcome>, QueueError> {
        // Any worker may return expired leases to the queue; the node does too.
        self.call(|q| Box::pin(q.requeue_expired())).await?;
        let wanted = match &self.cfg.key_sha256 {
            Some(k) => vec![k.clone()],
            None => self.call(|q| Box::pin(q.queued_keys())).await?,
        };
        for key in wanted {
            if !self.keys.contains_key(&key) && !self.load_key(&key).await {
                continue;
            }
            let (name, lease) = (self.cfg.name.clone(), self.cfg.lease);
            let k = key.clone();
            if let Some(lease) = self.call(move |q| Box::pin(async move { q.claim(&name, &k, lease).await })).await? {
                return Ok(Some(self.prove(lease, &key).await?));
            }
        }
        Ok(None)
    }

    async fn load_key(&mut self, sha256: &str) -> bool {
        if self.bad_keys.get(sha256).is_some_and(|t| t.elapsed() < Duration::from_secs(60)) {
            return false;
        }
        let (source, cache, key) = (self.cfg.keys_from.clone(), self.cfg.cache.clone(), sha256.to_string());
        let pool = self.pool.clone();
        let loaded = tokio::task::spawn_blocking(move || -> Result<Loaded, String> {
            let dir = key_dir(&source, &cache, &key).map_err(|e| e.to_string())?;
            let info = bundle::load_info(&dir).map_err(|e| e.to_string())?;
            // The folder must be the key asked for (a cached one is not fetched again): its
            // proving key, whose hash pins its verifying key, then checks every proof.
            if !info.proving_key_sha256.eq_ignore_ascii_case(&key) {
                return Err(format!("{} holds key {}", dir.display(), info.proving_key_sha256));
            }
            let pk = bundle::load_proving(&dir, &info).map_err(|e| e.to_string())?;
            let shape = info.shape();
            let prover = pool.install(|| bundle::load_prover(&dir, &info)).map_err(|e| e.to_string())?;
            Ok(Loaded { shape, pk: Arc::new(pk), prover: Arc::new(prover) })
        })
        .await;
        match loaded {
            Ok(Ok(l)) => {
                eprintln!("zkrollup-worker {}: key {sha256} loaded (N = {}, M = {}, D = {})", self.cfg.name, l.shape.batch_size, l.shape.l1_slots, l.shape.depth);
                self.keys.insert(sha256.to_string(), l);
                true
            }
            Ok(Err(e)) => {
                eprintln!("zkrollup-worker {}: key {sha256}: {e}", self.cfg.name);
                self.bad_keys.insert(sha256.to_string(), Instant::now());
                false
            }
            Err(e) => {
                eprintln!("zkrollup-worker {}: key {sha256}: {e}", self.cfg.name);
                false
            }
        }
    }

    async fn prove(&mut self, lease: Lease, key: &str) -> Result<Outcome, QueueError> {
        let loaded = &self.keys[key];
        let batch_id = lease.batch_id;
        let witness = match BatchWitness::from_bytes(&lease.witness) {
            Ok(w) if w.batch_id == batch_id => w,
            Ok(w) => return self.give_up(lease, format!("the witness is for batch {}", w.batch_id)).await,
            Err(e) => return self.give_up(lease, format!("the witness does not decode: {e}")).await,
        };
        let circuit = witness.circuit(loaded.shape.depth);
        let (pool, prover, pk) = (self.pool.clone(), loaded.prover.clone(), loaded.pk.clone());
        let (own_key, commitment) = (loaded.pk.clone(), witness.commitment);
        let t0 = Instant::now();
        let mut proving = tokio::task::spawn_blocking(move || pool.install(|| prover.prove(&pk, circuit)));
        let (beat, period) = (self.cfg.lease / 3, self.cfg.lease);
        let mut beats = tokio::time::interval_at(tokio::time::Instant::now() + beat, beat);
        let mut stop_check = tokio::time::interval(STOP_CHECK);
        let mut lost = false;
        let result = loop {
            tokio::select! {
                r = &mut proving => break r,
                _ = stop_check.tick() => {
                    if self.stop.load(Ordering::Relaxed) {
                        // The proof runs on in the pool until the process exits; nothing waits for it.
                        if lost {
                            return Ok(Outcome::LeaseLost { batch_id });
                        }
                        let held = lease.clone();
                        let why = "released by a stopping worker";
                        return match self.call(move |q| Box::pin(async move { q.release(&held, why).await })).await {
                            Ok(()) => Ok(Outcome::Released { batch_id }),
                            Err(QueueError::LeaseLost { .. }) => Ok(Outcome::LeaseLost { batch_id }),
                            Err(e) => Err(e),
                        };
                    }
                }
                _ = beats.tick(), if !lost => {
                    let held = lease.clone();
                    match self.call(move |q| Box::pin(async move { q.heartbeat(&held, period).await })).await {
                        Ok(()) => {}
                        // Lost: finish the proof (it cannot be stopped) and drop it.
                        Err(QueueError::LeaseLost { .. }) => lost = true,
                        // PostgreSQL unreachable: keep proving and beat again (reconnecting);
                        // the lease may survive, and if not the queue refuses the late proof.
                        Err(e) => eprintln!("zkrollup-worker {}: heartbeat for batch {batch_id}: {e}", self.cfg.name),
                    }
                }
            }
        };
        let ms = t0.elapsed().as_millis() as u64;
        let proof = match result {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                // The node's witness satisfies its circuit; against these matrices it does not:
                // wrong matrices, or a wrong witness. The key is fetched again, and the attempt
                // counts (a witness that is wrong fails its job in the end).
                if matches!(e, zkrollup::prover::ProverError::Unsatisfied(_)) {
                    self.drop_key(key);
                }
                return self.give_up(lease, format!("proving failed: {e}")).await;
            }
            Err(e) => return self.give_up(lease, format!("the proving task died: {e}")).await,
        };
        if lost {
            return Ok(Outcome::LeaseLost { batch_id });
        }
        // Checked against the verifying key inside the proving key (which its hash pins) before
        // it goes out: with wrong matrices or a wrong circuit.json (a hostile key server, a
        // damaged cache) every proof is wrong, and the node would refuse it and quarantine this
        // worker (audit F14). The key is dropped instead and the job given back, not charged.
        if !zkrollup::prover::verify(&own_key.vk, &[commitment], &proof).unwrap_or(false) {
            self.drop_key(key);
            let held = lease.clone();
            let why = "released: the worker's key made a proof that does not verify (its key files are dropped)";
            return match self.call(move |q| Box::pin(async move { q.release(&held, why).await })).await {
                Ok(()) | Err(QueueError::LeaseLost { .. }) => Ok(Outcome::KeyRejected { batch_id }),
                Err(e) => Err(e),
            };
        }
        let mut bytes = Vec::new();
        proof.serialize_compressed(&mut bytes).expect("writing to memory does not fail");
        // Hand it in, through reconnections, for as long as a lease lasts: past that the lease
        // has surely expired and the job gone to another worker.
        let start = Instant::now();
        loop {
            let (held, proof) = (lease.clone(), bytes.clone());
            match self.call(move |q| Box::pin(async move { q.complete(&held, &proof, ms).await })).await {
                Ok(()) => return Ok(Outcome::Proved { batch_id, ms }),
                Err(QueueError::LeaseLost { .. }) => return Ok(Outcome::LeaseLost { batch_id }),
                Err(e) if start.elapsed() > period => return Err(e),
                Err(e) => {
                    eprintln!("zkrollup-worker {}: handing in batch {batch_id}: {e} (retrying)", self.cfg.name);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }

    /// Forget a key that makes wrong proofs: out of memory and out of the cache, so that it is
    /// fetched again; a shared folder (the operator's to fix) is not loaded again for a minute.
    fn drop_key(&mut self, sha256: &str) {
        self.keys.remove(sha256);
        let cached = self.cfg.cache.join(sha256.to_ascii_lowercase());
        if matches!(self.cfg.keys_from, KeySource::Http(_)) {
            if let Err(e) = std::fs::remove_dir_all(&cached) {
                eprintln!("zkrollup-worker {}: deleting {}: {e}", self.cfg.name, cached.display());
            }
        } else {
            self.bad_keys.insert(sha256.to_string(), Instant::now());
        }
        eprintln!("zkrollup-worker {}: key {sha256} made a wrong proof: dropped, to be fetched again", self.cfg.name);
    }

    async fn give_up(&mut self, lease: Lease, error: String) -> Result<Outcome, QueueError> {
        let batch_id = lease.batch_id;
        let e = error.clone();
        match self.call(move |q| Box::pin(async move { q.give_up(&lease, &e).await })).await {
            Ok(_) => Ok(Outcome::GaveUp { batch_id, error }),
            Err(QueueError::LeaseLost { .. }) => Ok(Outcome::LeaseLost { batch_id }),
            Err(e) => Err(e),
        }
    }
}
