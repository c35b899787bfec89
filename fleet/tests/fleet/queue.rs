//! The queue's rules against a real PostgreSQL: migrations once, each job claimed once and in
//! batch order, only the lease's holder completes, expired leases return to the queue, attempts
//! run out into `failed` with every error kept, a refused proof is proved again, and a server
//! restart loses nothing.

use std::collections::HashSet;
use std::time::Duration;

use crate::pg::Postgres;
use zkrollup_fleet::queue::{JobStatus, NewJob, Queue, QueueError};

const KEY: &str = "aa11";

fn job(batch_id: u64, max_attempts: i32) -> NewJob {
    NewJob { batch_id, key_sha256: KEY.into(), witness: vec![batch_id as u8; 100], max_attempts }
}

const LONG: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrations_apply_once_when_many_connect_at_once() {
    let pg = Postgres::start();
    let url = pg.url();
    let all: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { Queue::connect(&url).await.map(|_| ()) })
        })
        .collect();
    for h in all {
        h.await.unwrap().unwrap();
    }
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let versions: Vec<i32> = client.query("SELECT version FROM schema_migrations", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, vec![1, 2, 3]);
    // A database migrated by a newer program is refused, not written to.
    client.execute("INSERT INTO schema_migrations (version) VALUES (99)", &[]).await.unwrap();
    assert!(matches!(Queue::connect(&url).await, Err(QueueError::SchemaTooNew { database: 99, known: 3 })));
}

/// A worker attaches without migrating (audit F5: only the node runs DDL, and a worker stopped
/// mid-connect holds no lock): before the node has migrated it is told so, after it attaches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_attach_to_the_schema_the_node_made_and_never_migrate() {
    let pg = Postgres::start();
    let url = pg.url();
    assert!(matches!(Queue::attach(&url).await, Err(QueueError::SchemaTooOld { database: 0, needed: 3 })));
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let tables: i64 = client.query_one("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", &[]).await.unwrap().get(0);
    assert_eq!(tables, 0, "attaching created nothing");
    Queue::connect(&url).await.unwrap();
    // A transaction left open on the migration lock (as a stopped process would leave it) does
    // not hold a worker up.
    client.batch_execute("BEGIN; SELECT pg_advisory_xact_lock(8821270118021231984)").await.unwrap();
    let q = tokio::time::timeout(LONG, Queue::attach(&url)).await.expect("attached while the lock is held").unwrap();
    q.enqueue(&job(1, 3)).await.unwrap();
    client.batch_execute("ROLLBACK").await.unwrap();
}

/// A stopping worker gives its job back: queued at once, its attempt not counted, and the
/// released lease no longer valid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_job_is_queued_at_once_with_its_attempt_given_back() {
    let pg = Postgres::start();
    let q = Queue::connect(&pg.url()).await.unwrap();
    q.enqueue(&job(1, 3)).await.unwrap();
    let lease = q.claim("stopping", KEY, LONG).await.unwrap().unwrap();
    q.release(&lease, "released by a stopping worker").await.unwrap();
    let row = q.job(1).await.unwrap();
    assert_eq!((row.status, row.attempts), (JobStatus::Queued, 0), "{row:?}");
    assert!(row.errors[0].contains("released by a stopping worker"), "{row:?}");
    assert!(matches!(q.release(&lease, "again").await, Err(QueueError::LeaseLost { .. })));
    assert!(matches!(q.complete(&lease, b"late", 1).await, Err(QueueError::LeaseLost { .. })));
    let again = q.claim("next", KEY, LONG).await.unwrap().unwrap();
    assert_eq!((again.batch_id, again.attempt), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_claim_every_job_exactly_once_oldest_first() {
    let pg = Postgres::start();
    let q = Queue::connect(&pg.url()).await.unwrap();
    for b in 1..=60 {
        assert!(q.enqueue(&job(b, 3)).await.unwrap());
    }
    assert!(!q.enqueue(&job(7, 3)).await.unwrap(), "a job is enqueued once");
    // One worker alone takes them oldest first.
    let first = q.claim("solo", KEY, LONG).await.unwrap().unwrap();
    assert_eq!((first.batch_id, first.attempt, first.witness.clone()), (1, 1, vec![1u8; 100]));
    q.complete(&first, b"proof 1", 5).await.unwrap();
    // Eight workers, each on its own connection, race for the rest, all starting together.
    // Each first claims one job and holds it until all eight hold one (so the work is shared
    // whatever the scheduling), then completes it and races for more.
    let (start, holding) = (std::sync::Arc::new(tokio::sync::Barrier::new(8)), std::sync::Arc::new(tokio::sync::Barrier::new(8)));
    let workers = (0..8).map(|w| {
        let (url, start, holding) = (pg.url(), start.clone(), holding.clone());
        tokio::spawn(async move {
            let q = Queue::connect(&url).await.unwrap();
            start.wait().await;
            let first = q.claim(&format!("w{w}"), KEY, LONG).await.unwrap().expect("a job for each worker");
            holding.wait().await;
            q.complete(&first, format!("proof {}", first.batch_id).as_bytes(), 1).await.unwrap();
            let mut mine = vec![first.batch_id];
            while let Some(l) = q.claim(&format!("w{w}"), KEY, LONG).await.unwrap() {
                q.complete(&l, format!("proof {}", l.batch_id).as_bytes(), 1).await.unwrap();
                mine.push(l.batch_id);
            }
            mine
        })
    });
    let workers: Vec<_> = workers.collect();
    let mut all = Vec::new();
    for h in workers {
        all.extend(h.await.unwrap());
    }
    all.sort();
    assert_eq!(all, (2..=60).collect::<Vec<u64>>(), "every job once");
    let proved = q.proved(1, 100).await.unwrap();
    assert_eq!(proved.len(), 60);
    assert!(proved.iter().all(|p| p.proof == format!("proof {}", p.batch_id).as_bytes()));
    assert_eq!(proved.iter().map(|p| p.worker.clone()).collect::<HashSet<_>>().len(), 9, "the work was shared (solo and eight)");
    assert_eq!(q.counts().await.unwrap(), vec![(JobStatus::Proved, 60)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_lease_holder_completes_and_an_expired_lease_goes_back_to_the_queue() {
    let pg = Postgres::start();
    let q = Queue::connect(&pg.url()).await.unwrap();
    q.enqueue(&job(1, 3)).await.unwrap();
    let a = q.claim("a", KEY, LONG).await.unwrap().unwrap();
    assert!(q.claim("b", KEY, LONG).await.unwrap().is_none(), "a leased job is not claimed again");
    assert!(q.requeue_expired().await.unwrap().is_empty(), "not expired yet");
    // The lease cut to 100 ms by a heartbeat, and waited out (a wait of at least that long,
    // however slow the machine).
    q.heartbeat(&a, Duration::from_millis(100)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(q.requeue_expired().await.unwrap(), vec![(1, JobStatus::Queued)]);
    let b = q.claim("b", KEY, LONG).await.unwrap().unwrap();
    assert_eq!(b.attempt, 2);
    // The first worker's late result, and its heartbeat, are refused.
    assert!(matches!(q.complete(&a, b"late", 1).await, Err(QueueError::LeaseLost { batch_id: 1, .. })));
    assert!(matches!(q.heartbeat(&a, LONG).await, Err(QueueError::LeaseLost { .. })));
    assert!(matches!(q.give_up(&a, "late").await, Err(QueueError::LeaseLost { .. })));
    q.complete(&b, b"proof", 9).await.unwrap();
    let row = q.job(1).await.unwrap();
    assert_eq!((row.status, row.attempts, row.worker.as_deref()), (JobStatus::Proved, 2, Some("b")));
    assert_eq!(row.errors, vec!["attempt 1: lease of a expired".to_string()]);
    // A finished job cannot be completed again, even by its holder.
    assert!(matches!(q.complete(&b, b"again", 1).await, Err(QueueError::LeaseLost { .. })));
    let proved = q.proved(1, 10).await.unwrap();
    assert_eq!((proved[0].proof.as_slice(), proved[0].attempts), (&b"proof"[..], 2));
    // The expiry is counted in the queue, whoever returned the lease.
    assert_eq!(q.lease_expiries().await.unwrap(), 1);
    // Pruning deletes proved jobs only, up to the batch given.
    q.enqueue(&job(2, 3)).await.unwrap();
    assert_eq!(q.prune_proved(5).await.unwrap(), 1);
    assert!(matches!(q.job(1).await, Err(QueueError::NoSuchJob(1))));
    assert_eq!(q.job(2).await.unwrap().status, JobStatus::Queued);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_keeps_a_lease_past_its_first_expiry() {
    let pg = Postgres::start();
    let q = Queue::connect(&pg.url()).await.unwrap();
    q.enqueue(&job(1, 3)).await.unwrap();
    let first = Duration::from_millis(300);
    let l = q.claim("a", KEY, first).await.unwrap().unwrap();
    // Nothing returns expired leases here until the check below, so each heartbeat finds the
    // lease held however late it comes; each extends it by a minute from its own moment.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        q.heartbeat(&l, LONG).await.unwrap();
    }
    // 600 ms and more after the claim: past its first expiry, kept by the heartbeats.
    assert!(q.requeue_expired().await.unwrap().is_empty());
    q.complete(&l, b"proof", 1200).await.unwrap();
    assert_eq!(q.job(1).await.unwrap().attempts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_attempts_a_job_fails_with_every_attempts_error() {
    let pg = Postgres::start();
    let q = Queue::connect(&pg.url()).await.unwrap();
    q.enqueue(&job(1, 3)).await.unwrap();
    let l = q.claim("a", KEY, LONG).await.unwrap().unwrap();
    assert_eq!(q.give_up(&l, "out of memory").await.unwrap(), JobStatus::Queued);
    let l = q.claim("b", KEY, Duration::from_millis(100)).await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(q.requeue_expired().await.unwrap(), vec![(1, JobStatus::Queued)]);
    let _ = l;
    // A refused proof is charged to its worker (quarantined), not to the job.
    let l = q.claim("c", KEY, LONG).await.unwrap().unwrap();
    q.complete(&l, b"wrong", 1).await.unwrap();
    assert_eq!(q.refuse_proof(1, "the proof does not verify").await.unwrap().as_deref(), Some("c"));
    assert_eq!(q.job(1).await.unwrap().status, JobStatus::Queued);
    let l = q.claim("d", KEY, LONG).await.unwrap().unwrap();
    assert_eq!(l.attempt, 3);
    assert_eq!(q.give_up(&l, "disk full").await.unwrap(), JobStatus::Failed);
    let row = q.job(1).await.unwrap();
    assert_eq!((row.status, row.attempts), (JobStatus::Failed, 3));
    assert_eq!(
        row.errors,
        vec![
            "attempt 1: out of memory".to_string(),
            "attempt 2: lease of b expired".to_string(),
            "attempt 3 by c: the proof does not verify".to_string(),
            "attempt 3: disk full".to_string()
        ]
    );
    assert!(q.claim("d", KEY, LONG).await.unwrap().is_none(), "a failed job is not claimed");
    assert!(q.proved(1, 10).await.unwrap().is_empty());
    assert_eq!(q.failed().await.unwrap().iter().map(|j| j.batch_id).collect::<Vec<_>>(), vec![1]);

    // The operator retries it: two more attempts, its errors kept; only a failed job retries.
    q.retry(1, 2).await.unwrap();
    assert!(matches!(q.retry(1, 2).await, Err(QueueError::NotFailed(1, JobStatus::Queued))));
    assert!(matches!(q.retry(9, 2).await, Err(QueueError::NoSuchJob(9))));
    assert!(q.failed().await.unwrap().is_empty());
    let l = q.claim("d", KEY, LONG).await.unwrap().unwrap();
    assert_eq!(l.attempt, 4);
    assert_eq!(q.give_up(&l, "again").await.unwrap(), JobStatus::Queued);
    let l = q.claim("e", KEY, LONG).await.unwrap().unwrap();
    assert_eq!(q.give_up(&l, "and again").await.unwrap(), JobStatus::Failed, "two more attempts, no more");
    assert_eq!(q.job(1).await.unwrap().errors.len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_proof_is_proved_again_and_workers_take_only_their_keys_jobs() {
    let pg = Postgres::start();
    let q = Queue::connect(&pg.url()).await.unwrap();
    q.enqueue(&job(1, 3)).await.unwrap();
    q.enqueue(&NewJob { key_sha256: "bb22".into(), ..job(2, 3) }).await.unwrap();
    let l = q.claim("a", KEY, LONG).await.unwrap().unwrap();
    assert_eq!(l.batch_id, 1);
    assert!(q.claim("a", KEY, LONG).await.unwrap().is_none(), "job 2 needs another key");
    q.complete(&l, b"wrong", 1).await.unwrap();
    assert_eq!(q.refuse_proof(1, "the proof does not verify").await.unwrap().as_deref(), Some("a"));
    assert!(matches!(q.refuse_proof(1, "twice").await, Err(QueueError::NoSuchJob(1))), "only a proved job is refused");
    // Worker a is quarantined (audit F5): it claims nothing, whatever the key, until released.
    assert!(matches!(q.claim("a", "bb22", LONG).await, Err(QueueError::Quarantined(m)) if m.contains("batch 1: the proof does not verify")));
    assert_eq!(q.quarantined().await.unwrap().iter().map(|w| w.0.as_str()).collect::<Vec<_>>(), vec!["a"]);
    // The job was not charged for it: b's is its first attempt.
    let l = q.claim("b", KEY, LONG).await.unwrap().unwrap();
    assert_eq!((l.batch_id, l.attempt), (1, 1));
    assert!(q.release_worker("a").await.unwrap());
    assert!(!q.release_worker("a").await.unwrap(), "released once");
    let other = q.claim("a", "bb22", LONG).await.unwrap().unwrap();
    assert_eq!(other.batch_id, 2);
}

/// Audit F5: a worker with a login role of its own, granted by [`Queue::grant_worker`], runs
/// the worker functions and nothing else (no table read or written, no DDL, no other
/// function), and is known by its role whatever name it gives: its quarantine holds under any
/// name, and a proof larger than any proof is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_role_reaches_jobs_only_through_the_functions_and_is_known_by_its_role() {
    let pg = Postgres::start();
    let q = Queue::connect(&pg.url()).await.unwrap();
    let (admin, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    admin.batch_execute("CREATE ROLE prover1 LOGIN").await.unwrap();
    q.grant_worker("prover1").await.unwrap();
    let url = pg.url().replace("postgres://postgres@", "postgres://prover1@");
    let w = Queue::attach(&url).await.unwrap();
    q.enqueue(&job(1, 3)).await.unwrap();
    let l = w.claim("anyone", KEY, LONG).await.unwrap().unwrap();
    w.heartbeat(&l, LONG).await.unwrap();
    assert_eq!(q.job(1).await.unwrap().worker.as_deref(), Some("prover1"), "known by its role, not the name it gave");

    let (raw, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    for sql in [
        "SELECT * FROM proof_jobs",
        "UPDATE proof_jobs SET status = 'failed'",
        "INSERT INTO proof_jobs (batch_id, key_sha256, witness, status, max_attempts) VALUES (9, 'x', '', 'queued', 1)",
        "DELETE FROM fleet_quarantine",
        "DROP TABLE proof_jobs",
        "CREATE TABLE mine (x INTEGER)",
        "SELECT fleet_identity('postgres')",
        "SELECT * FROM schema_migrations",
    ] {
        let e = raw.batch_execute(sql).await.unwrap_err();
        assert_eq!(e.code(), Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE), "{sql}: {e}");
    }

    assert!(matches!(w.complete(&l, &[0; 5000], 1).await, Err(QueueError::Refused(m)) if m.contains("5000 bytes")));
    w.complete(&l, b"wrong", 1).await.unwrap();
    assert_eq!(q.refuse_proof(1, "the proof does not verify").await.unwrap().as_deref(), Some("prover1"));
    assert!(matches!(w.claim("someone-else", KEY, LONG).await, Err(QueueError::Quarantined(m)) if m.contains("prover1")));
    assert!(q.release_worker("prover1").await.unwrap());
    assert_eq!(w.claim("anyone", KEY, LONG).await.unwrap().unwrap().batch_id, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_drops_connections_and_loses_no_job_or_lease() {
    let pg = Postgres::start();
    let q = Queue::connect(&pg.url()).await.unwrap();
    for b in 1..=3 {
        q.enqueue(&job(b, 3)).await.unwrap();
    }
    let l = q.claim("a", KEY, LONG).await.unwrap().unwrap();
    let done = q.claim("a", KEY, LONG).await.unwrap().unwrap();
    q.complete(&done, b"proof 2", 1).await.unwrap();
    pg.restart();
    assert!(matches!(q.heartbeat(&l, LONG).await, Err(QueueError::Db(_))), "the old connection is gone");
    assert!(q.is_closed());
    let q = Queue::connect(&pg.url()).await.unwrap();
    q.heartbeat(&l, LONG).await.unwrap();
    q.complete(&l, b"proof 1", 1).await.unwrap();
    assert_eq!(q.proved(1, 10).await.unwrap().iter().map(|p| p.batch_id).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(q.claim("b", KEY, LONG).await.unwrap().unwrap().batch_id, 3);
}
