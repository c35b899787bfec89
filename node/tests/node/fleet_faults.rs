//! Faults of a fleet on one machine: a worker that hands in wrong proofs, PostgreSQL restarted
//! mid-run, the node killed while jobs are out. Each ends as every fleet test does
//! ([`Fleet::finish`]): each batch proved, verified and on L1 exactly once.

use std::time::Duration;

use ark_ec::AffineRepr;
use ark_serialize::CanonicalSerialize;
use zkrollup::prover::Proof;
use zkrollup_fleet::queue::{JobStatus, Lease, Queue};

use crate::fleet::Fleet;

/// Only a fleet that is stuck takes this long.
const LONG: Duration = Duration::from_secs(600);

/// Claim a job as a worker named "liar" would (the queue's own API), waiting for one.
fn claim(fleet: &Fleet, q: &Queue) -> Lease {
    let start = std::time::Instant::now();
    loop {
        let keys = fleet.rt.block_on(q.queued_keys()).unwrap();
        if let Some(key) = keys.first() {
            if let Some(lease) = fleet.rt.block_on(q.claim("liar", key, LONG)).unwrap() {
                return lease;
            }
        }
        assert!(start.elapsed() < LONG, "no job to claim");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A worker that returns wrong proofs (bytes that are no proof; a proof of points that do not
/// verify; a real proof of another batch): the node refuses each, the job goes back to the
/// queue and an honest worker proves it, and the liar is quarantined.
#[test]
fn wrong_proofs_are_refused_and_their_jobs_proved_again() {
    let fleet = Fleet::start();
    let traffic = fleet.traffic(6, 200);
    let q = fleet.queue();
    // No honest worker yet: the liar takes batches 1, 2 and 3, and holds 3 (a long lease) until
    // it has another batch's real proof to hand in for it.
    let (one, two, three) = (claim(&fleet, &q), claim(&fleet, &q), claim(&fleet, &q));
    assert_eq!((one.batch_id, two.batch_id, three.batch_id), (1, 2, 3));
    fleet.rt.block_on(q.complete(&one, b"not a proof", 1)).unwrap();
    let points = Proof { a: ark_bn254::G1Affine::generator(), b: ark_bn254::G2Affine::generator(), c: ark_bn254::G1Affine::generator() };
    let mut bytes = Vec::new();
    points.serialize_compressed(&mut bytes).unwrap();
    fleet.rt.block_on(q.complete(&two, &bytes, 1)).unwrap();
    let _honest = fleet.worker("honest", 10);
    // Once batch 1 is proved for real, the liar hands its proof in for batch 3.
    fleet.wait_for("batch 1 proved", LONG, |s| s["last_proved"].as_str().is_some_and(|p| p.parse::<u64>().unwrap() >= 1));
    let real = fleet.rt.block_on(q.proved(1, 1)).unwrap().remove(0);
    fleet.rt.block_on(q.complete(&three, &real.proof, 1)).unwrap();
    fleet.finish(traffic, 12);

    for (lease, reason) in [(&one, "the proof does not decode"), (&two, "the proof does not verify"), (&three, "the proof does not verify")] {
        let job = fleet.job(lease.batch_id);
        assert_eq!((job.status, job.worker.as_deref()), (JobStatus::Proved, Some("honest")), "{job:?}");
        assert_eq!(job.errors, vec![format!("attempt 1 by liar: {reason}")], "{job:?}");
        // The liar's attempt is charged to the liar, not to the job (audit F5).
        assert_eq!(job.attempts, 1, "{job:?}");
    }
    assert!(fleet.node.metrics().contains("zkrollup_fleet_refused_proofs_total 3"), "{}", fleet.node.metrics());
    // The liar is quarantined since its first wrong proof: it claims nothing more.
    let claimed = fleet.rt.block_on(q.claim("liar", "any", LONG));
    assert!(matches!(claimed, Err(zkrollup_fleet::queue::QueueError::Quarantined(_))), "{claimed:?}");
    assert!(fleet.node.metrics().contains("zkrollup_fleet_quarantined_workers 1"), "{}", fleet.node.metrics());
}

/// PostgreSQL stopped at once (as if killed) and started again while workers hold leases: the
/// node and the workers reconnect, and nothing is lost.
#[test]
fn postgres_restarted_mid_run_loses_nothing() {
    let fleet = Fleet::start();
    let a = fleet.worker("a", 10);
    let b = fleet.worker("b", 10);
    let traffic = fleet.traffic(8, 250);
    fleet.wait_for("a batch proved", LONG, |s| s["last_proved"].as_str().is_some_and(|p| p != "0"));
    // While a holds a lease (b paused meanwhile, so that a is sure to take one).
    b.pause();
    fleet.leased_by("a", LONG);
    b.resume();
    fleet.pg.restart();
    let sealed_before: u64 = fleet.node.status()["last_sealed"].as_str().unwrap().parse().unwrap();
    // Both workers come back: each proves a batch sealed after the restart.
    for (w, other) in [(&a, &b), (&b, &a)] {
        assert!(fleet.prove_alone(w, &[other]) > sealed_before);
    }
    fleet.finish(traffic, 16);
}

/// The node killed with SIGKILL while workers hold leases, and restarted after they handed
/// their proofs in: it finds its jobs in the queue and takes those proofs, proving nothing twice.
#[test]
fn the_node_killed_with_jobs_out_takes_their_proofs_after_its_restart() {
    let mut fleet = Fleet::start();
    // a alone until the node is down, so that it is sure to hold a job then.
    let _a = fleet.worker("a", 10);
    let traffic = fleet.traffic(8, 250);
    fleet.wait_for("a batch proved", LONG, |s| s["last_proved"].as_str().is_some_and(|p| p != "0"));
    let (out, _) = fleet.leased_by("a", LONG);
    fleet.node.kill();
    // The job out is proved while the node is down.
    let start = std::time::Instant::now();
    while fleet.job(out).status != JobStatus::Proved {
        assert!(start.elapsed() < LONG, "job {out} was not proved while the node was down: {:?}", fleet.job(out));
        std::thread::sleep(Duration::from_millis(50));
    }
    fleet.node.restart();
    *fleet.url.lock().unwrap() = fleet.node.url.clone();
    let _b = fleet.worker("b", 10);
    let last = fleet.finish(traffic, 16);
    assert!(last > out);
    let job = fleet.job(out);
    assert_eq!((job.attempts, job.worker.as_deref()), (1, Some("a")), "the proof made while the node was down was taken: {job:?}");
}

/// `zkrollup node prover-jobs`, as an operator runs it: its JSON.
fn prover_jobs(fleet: &Fleet, args: &[&str]) -> (bool, serde_json::Value, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkrollup-node"))
        .args(["prover-jobs", "--prover-queue", &fleet.pg.url()])
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.success(), json, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Audit F5: a job out of attempts (a worker gives it up five times; a wrong proof is charged
/// to its worker instead, see above) does not stop the node: `/readyz` says why proving waits,
/// the job is queued again after a back-off, an honest worker proves it and the batches land.
/// The operator's `prover-jobs` shows the job's errors.
#[test]
fn a_job_out_of_attempts_is_queued_again_and_the_node_never_stops() {
    let fleet = Fleet::start();
    let traffic = fleet.traffic(2, 100);
    let q = fleet.queue();
    for attempt in 1..=zkrollup_node::fleet_stage::MAX_ATTEMPTS {
        // Job 1, each time the node has refused the last proof and queued it again.
        let start = std::time::Instant::now();
        while fleet.rt.block_on(q.job(1)).ok().map(|j| j.status) != Some(JobStatus::Queued) {
            assert!(start.elapsed() < LONG, "job 1 was not queued (again)");
            std::thread::sleep(Duration::from_millis(20));
        }
        let lease = claim(&fleet, &q);
        assert_eq!((lease.batch_id, lease.attempt), (1, attempt));
        fleet.rt.block_on(q.give_up(&lease, "out of memory")).unwrap();
    }
    // The node is up and says why it cannot prove; the job goes back to the queue by itself.
    let start = std::time::Instant::now();
    let why = loop {
        let (code, v) = fleet.node.get("/readyz");
        if code == 503 {
            if let Some(why) = v["blocked"]["prover"].as_str().filter(|w| w.contains("proof job 1 failed after 5 attempts")) {
                break why.to_string();
            }
        }
        assert!(start.elapsed() < LONG, "/readyz never named the failed job: {code} {v}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(why.contains("out of memory"), "{why}");
    assert_eq!(fleet.node.get("/healthz").0, 200, "the node still serves");
    let start = std::time::Instant::now();
    while fleet.job(1).status != JobStatus::Queued {
        assert!(start.elapsed() < LONG, "job 1 was never queued again: {:?}", fleet.job(1));
        std::thread::sleep(Duration::from_millis(20));
    }

    let _honest = fleet.worker("honest", 10);
    fleet.finish(traffic, 4);
    let job = fleet.job(1);
    assert_eq!((job.attempts, job.max_attempts, job.worker.as_deref()), (6, 10, Some("honest")), "{job:?}");
    assert_eq!(job.errors.len(), 5, "every attempt's error is on record: {job:?}");
    let (code, v) = fleet.node.get("/readyz");
    assert_eq!(code, 200, "ready again once proofs move: {v}");
    let metrics = ureq::get(&format!("{}/metrics", fleet.node.url)).call().unwrap().body_mut().read_to_string().unwrap();
    assert!(metrics.contains("zkrollup_fleet_failed_jobs_total 1"), "{metrics}");
    // The operator's retry is for failed jobs only.
    let (ok, _, err) = prover_jobs(&fleet, &["--retry", "1"]);
    assert!(!ok && err.contains("job 1 is Proved, not failed"), "{err}");
}

/// Run SQL on the queue's database as its owner (an operator, or anyone with the workers'
/// credentials as the review found them).
fn sql(fleet: &Fleet, statement: &str) {
    fleet.rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(&fleet.pg.url(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.batch_execute(statement).await.unwrap();
    });
}

/// Audit F10: a queue the node cannot read (a column's type changed by someone with the
/// database's credentials) was a panic that killed the proving thread while the API answered
/// on. Now it is an error the node reports and retries: `/readyz` names it, the node serves,
/// and proving resumes once the column is put back.
#[test]
fn a_queue_the_node_cannot_read_is_reported_and_retried_not_a_dead_stage() {
    let fleet = Fleet::start();
    // Once the node has made the schema.
    fleet.queue();
    sql(&fleet, "ALTER TABLE fleet_counters ALTER COLUMN value TYPE integer");
    let traffic = fleet.traffic(2, 100);
    let start = std::time::Instant::now();
    loop {
        let (code, v) = fleet.node.get("/readyz");
        if code == 503 && v["blocked"]["prover_queue"].as_str().is_some_and(|w| w.contains("the prover queue")) {
            break;
        }
        assert!(start.elapsed() < LONG, "/readyz never named the unreadable queue: {code} {v}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(fleet.node.get("/healthz").0, 200, "the node still serves");
    sql(&fleet, "ALTER TABLE fleet_counters ALTER COLUMN value TYPE bigint");
    let _w = fleet.worker("w", 10);
    fleet.finish(traffic, 2);
    let (code, v) = fleet.node.get("/readyz");
    assert_eq!(code, 200, "{v}");
}

/// `matrices.bin` (an 8-byte magic, three u64 counts, the coefficients of 32 bytes each, then A,
/// B and C, each as u64 row and term counts, u32 row starts and (u32 variable, u32
/// coefficient) terms) with one constraint negated in A and in B: one whose A or B is the
/// constant (so that one of them is not 0 at any witness). A·z times B·z is unchanged there, so
/// the witness still satisfies every constraint, but the polynomials are not those the proving
/// key was made for.
fn negate_one_constraint(file: &[u8]) -> Vec<u8> {
    use ark_ff::{BigInteger, One, PrimeField};
    let u64_at = |at: usize| u64::from_le_bytes(file[at..at + 8].try_into().unwrap()) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(file[at..at + 4].try_into().unwrap()) as usize;
    let ncoeff = u64_at(24);
    let coefficient = |i: usize| if i == 0 { zkrollup::Fr::one() } else { zkrollup::Fr::from_le_bytes_mod_order(&file[32 + 32 * i..64 + 32 * i]) };
    // Each matrix: where its row starts and its terms are.
    let mut at = 32 + 32 * ncoeff;
    let mut blocks = Vec::new();
    for _ in 0..3 {
        let (nstarts, nterms) = (u64_at(at), u64_at(at + 8));
        blocks.push((at + 16, at + 16 + 4 * nstarts, nstarts - 1));
        at += 16 + 4 * nstarts + 8 * nterms;
    }
    let terms_of = |(starts, terms, _): (usize, usize, usize), i: usize| (u32_at(starts + 4 * i)..u32_at(starts + 4 * i + 4)).map(move |t| terms + 8 * t);
    let (a, b) = (blocks[0], blocks[1]);
    let constant = |m, i| terms_of(m, i).count() == 1 && terms_of(m, i).all(|t| u32_at(t) == 0);
    let row = (0..a.2).find(|&i| constant(a, i) || constant(b, i)).expect("a constraint whose A or B is the constant");
    let mut out = file.to_vec();
    let mut added = Vec::new();
    for block in [a, b] {
        for t in terms_of(block, row) {
            added.extend_from_slice(&(-coefficient(u32_at(t + 4))).into_bigint().to_bytes_le());
            out[t + 4..t + 8].copy_from_slice(&((ncoeff + added.len() / 32 - 1) as u32).to_le_bytes());
        }
    }
    out[24..32].copy_from_slice(&((ncoeff + added.len() / 32) as u64).to_le_bytes());
    let end = 32 + 32 * ncoeff;
    [&out[..end], &added[..], &out[end..]].concat()
}

/// Audit F14: a worker whose cached key folder holds wrong matrices (one constraint negated,
/// and `circuit.json` made to name the changed file: what the proving key's hash does not pin)
/// checks its proof against the proving key's own verifying key before handing it in. The
/// wrong proof never reaches the node: the worker drops the key, gives the job back uncharged,
/// fetches the key again from the node (on `--keys-listen`, not the public API) and proves. No
/// proof is refused, no one quarantined.
#[test]
fn a_worker_with_wrong_matrices_hands_in_no_wrong_proof_and_fetches_its_key_again() {
    let fleet = Fleet::start();
    let keys = fleet.dir.path().join("data/keys/dev-m1-n2-d4");
    let info: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(keys.join("circuit.json")).unwrap()).unwrap();
    let sha = info["proving_key_sha256"].as_str().unwrap().to_ascii_lowercase();
    let cached = fleet.dir.path().join("cache-w").join(&sha);
    std::fs::create_dir_all(&cached).unwrap();
    for f in std::fs::read_dir(&keys).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), cached.join(f.file_name())).unwrap();
    }
    // One constraint negated in A and in B: still satisfied, but the proof is wrong.
    let matrices = negate_one_constraint(&std::fs::read(cached.join("matrices.bin")).unwrap());
    std::fs::write(cached.join("matrices.bin"), &matrices).unwrap();
    let mut changed = info.clone();
    changed["matrices_sha256"] = zkrollup::prover::keys::sha256_hex(&matrices).into();
    std::fs::write(cached.join("circuit.json"), serde_json::to_string_pretty(&changed).unwrap()).unwrap();

    let _w = fleet.worker("w", 10);
    let traffic = fleet.traffic(2, 100);
    fleet.finish(traffic, 4);
    let job = fleet.job(1);
    assert_eq!((job.status, job.attempts, job.worker.as_deref()), (JobStatus::Proved, 1, Some("w")), "{job:?}");
    assert!(job.errors.iter().any(|e| e.contains("made a proof that does not verify")), "{job:?}");
    let metrics = fleet.node.metrics();
    for line in ["zkrollup_fleet_refused_proofs_total 0", "zkrollup_fleet_quarantined_workers 0"] {
        assert!(metrics.contains(line), "{line} missing from {metrics}");
    }
    // The keys are served on --keys-listen only, never on the public API.
    assert_eq!(fleet.node.get(&format!("/v1/keys/{sha}/proving_key.bin")).0, 404);
    let served = ureq::get(&format!("{}/v1/keys/{sha}/circuit.json", fleet.keys_url)).call().unwrap().body_mut().read_to_string().unwrap();
    assert!(served.contains(&sha), "{served}");
    // The key was fetched again: the cache holds the node's matrices now.
    assert_eq!(std::fs::read(cached.join("matrices.bin")).unwrap(), std::fs::read(keys.join("matrices.bin")).unwrap());
}
