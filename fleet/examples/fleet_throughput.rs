//! The fleet's throughput: batches proved per minute by 1, 2, ... `zkrollup-worker` processes
//! draining a queue of real proof jobs, and what bounds a fleet of K workers.
//!
//! ```text
//! cargo build --release -p zkrollup-fleet --bin zkrollup-worker --example fleet_throughput
//! target/release/examples/fleet_throughput --keys KEY_DIR --workers 1,2,3 --jobs 12 --threads 1
//! ```
//!
//! It starts a throwaway PostgreSQL on loopback (as the tests do) unless `--db` names one, builds
//! a chain of batches for the key's shape from a genesis of its own, and for each worker count:
//! starts the workers, lets each load the key on a warm-up job, enqueues `--jobs` jobs at once
//! and times them from enqueue to the last proof handed in. Every proof is verified after. It
//! then times, on this machine, what the node spends on each job (a verification, and the
//! queue's round trips), the bounds of the model in BENCHMARKS.md.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use ark_serialize::CanonicalDeserialize;
use clap::Parser;
use zkrollup::primitives::eddsa::PrivateKey;
use zkrollup::prover::{bundle, Proof};
use zkrollup::{Account, Batch, BatchParams, BatchWitness, Fr, State, Transfer};
use zkrollup_fleet::queue::{NewJob, Queue};

#[allow(dead_code)]
#[path = "../tests/fleet/pg.rs"]
mod pg;

#[derive(Parser)]
struct Cli {
    /// The key folder (circuit.json, proving_key.bin, verifying_key.bin).
    #[arg(long)]
    keys: PathBuf,
    /// Worker counts to measure, in turn.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    workers: Vec<usize>,
    /// Jobs timed in a round.
    #[arg(long, default_value_t = 12)]
    jobs: usize,
    /// Timed rounds at each count (the median is reported).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Proving threads a worker.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// A PostgreSQL to use (its proof_jobs table must be empty); by default a throwaway one.
    #[arg(long)]
    db: Option<String>,
}

/// Worker processes, killed when dropped.
struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `count` witnesses of consecutive batches from a genesis of signers, for `shape`.
fn witnesses(info: &bundle::CircuitInfo, count: usize) -> anyhow::Result<Vec<BatchWitness>> {
    let n = info.batch_size;
    let keys: Vec<PrivateKey> = (0..2 * n).map(|i| PrivateKey::from_bytes([i as u8 + 1; 32])).collect();
    let accounts = keys.iter().enumerate().map(|(i, k)| (i as u32 + 1, Account::new(k.public_key(), 1_000_000_000, 0))).collect();
    let mut state = State::from_accounts(info.depth, accounts)?;
    let mut out = Vec::with_capacity(count);
    for b in 0..count {
        let params = BatchParams::new(n, Fr::from(1u64)).with_l1_slots(info.l1_slots).with_batch_id(b as u64 + 1);
        // Slot i: account 2i+1 pays 2i+2, its b-th transfer.
        let transfers = (0..n)
            .map(|i| Transfer::signed(&keys[2 * i], 2 * i as u32 + 1, 2 * i as u32 + 2, 1 + b as u64, b as u64, params.domain))
            .collect();
        out.push(state.apply_batch(&Batch::new(transfers), &params)?);
    }
    Ok(out)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let info = bundle::load_info(&cli.keys).with_context(|| format!("{}", cli.keys.display()))?;
    let vk = bundle::load_verifying(&cli.keys)?;
    let worker = std::env::current_exe()?.parent().and_then(|p| p.parent()).context("no binary folder")?.join("zkrollup-worker");
    if !worker.exists() {
        bail!("{} is missing: cargo build --release -p zkrollup-fleet --bin zkrollup-worker", worker.display());
    }
    let per_run = cli.jobs * cli.rounds + cli.workers.iter().max().copied().unwrap_or(1);
    let all = witnesses(&info, per_run * cli.workers.len())?;
    let server = if cli.db.is_none() { Some(pg::Postgres::start()) } else { None };
    let db = cli.db.clone().unwrap_or_else(|| server.as_ref().expect("started").url());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let q = rt.block_on(Queue::connect(&db))?;
    let cache = tempfile::tempdir()?;
    let sha = info.proving_key_sha256.clone();
    let enqueue = |w: &BatchWitness| -> anyhow::Result<()> {
        let job = NewJob { batch_id: w.batch_id, key_sha256: sha.clone(), witness: w.to_bytes(), max_attempts: 3 };
        if !rt.block_on(q.enqueue(&job))? {
            bail!("batch {} is queued already: use an empty database", w.batch_id);
        }
        Ok(())
    };
    let wait_proved = |from: u64, to: u64| -> anyhow::Result<Vec<zkrollup_fleet::queue::ProvedJob>> {
        loop {
            let proved = rt.block_on(q.proved(from, (to - from + 1) as i64))?;
            if proved.len() as u64 == to - from + 1 {
                return Ok(proved);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };

    println!(
        "shape N = {}, M = {}, D = {}; {} jobs a round, median of {} rounds; {} thread(s) a worker",
        info.batch_size, info.l1_slots, info.depth, cli.jobs, cli.rounds, cli.threads
    );
    println!("| workers | jobs | seconds (median) | batches/min | vs 1 worker | median prove (s) |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut one = None;
    let mut next = 0usize;
    let mut proofs = Vec::new();
    for &count in &cli.workers {
        let workers = Workers(
            (0..count)
                .map(|i| {
                    Command::new(&worker)
                        .args(["--db", &db, "--keys-from", cli.keys.to_str().unwrap(), "--cache"])
                        .arg(cache.path().join(format!("w{i}")))
                        .args(["--threads", &cli.threads.to_string(), "--name", &format!("w{count}-{i}")])
                        .stderr(Stdio::null())
                        .spawn()
                })
                .collect::<Result<_, _>>()?,
        );
        // Warm-up: one job a worker, so that each has loaded the key before the clock starts.
        let warm = &all[next..next + count];
        for w in warm {
            enqueue(w)?;
        }
        wait_proved(warm[0].batch_id, warm[count - 1].batch_id)?;
        next += count;
        let mut runs = Vec::new();
        let mut ms = Vec::new();
        for _ in 0..cli.rounds {
            let timed = &all[next..next + cli.jobs];
            next += cli.jobs;
            let t0 = Instant::now();
            for w in timed {
                enqueue(w)?;
            }
            let proved = wait_proved(timed[0].batch_id, timed[cli.jobs - 1].batch_id)?;
            runs.push(t0.elapsed().as_secs_f64());
            ms.extend(proved.iter().map(|p| p.prove_ms));
            proofs.extend(proved.into_iter().zip(timed.iter().map(|w| w.commitment)));
        }
        drop(workers);
        runs.sort_by(f64::total_cmp);
        ms.sort();
        let secs = runs[runs.len() / 2];
        let rate = cli.jobs as f64 / secs * 60.0;
        let base = *one.get_or_insert(rate / count as f64);
        println!("| {count} | {} | {secs:.1} | {rate:.1} | {:.2}x | {:.2} |", cli.jobs, rate / base, ms[ms.len() / 2] as f64 / 1000.0);
    }

    // What the node spends on a job: a verification (it checks every proof) ...
    let t0 = Instant::now();
    for (p, commitment) in &proofs {
        let proof = Proof::deserialize_compressed(p.proof.as_slice())?;
        if !zkrollup::prover::verify(&vk, &[*commitment], &proof)? {
            bail!("batch {}: the proof does not verify", p.batch_id);
        }
    }
    let verify = t0.elapsed().as_secs_f64() / proofs.len() as f64;
    // ... and the queue's round trips for one job, enqueue to proof taken back.
    let w = &all[0];
    let t0 = Instant::now();
    let rounds = 200u64;
    for i in 0..rounds {
        let job = NewJob { batch_id: 1_000_000 + i, key_sha256: "0".repeat(64), witness: w.to_bytes(), max_attempts: 1 };
        rt.block_on(q.enqueue(&job))?;
        let lease = rt.block_on(q.claim("timing", &"0".repeat(64), Duration::from_secs(60)))?.context("claim")?;
        rt.block_on(q.heartbeat(&lease, Duration::from_secs(60)))?;
        rt.block_on(q.complete(&lease, b"proof", 1))?;
        rt.block_on(q.proved(1_000_000 + i, 1))?;
    }
    let queue = t0.elapsed().as_secs_f64() / rounds as f64;
    println!("all {} proofs verify; the node verifies one in {:.2} ms; the queue's round trips for one job (enqueue, claim, heartbeat, complete, take back) {:.2} ms", proofs.len(), verify * 1e3, queue * 1e3);
    Ok(())
}
