//! Proof jobs in PostgreSQL: one row per batch, leased to one worker at a time.
//!
//! A job's life: `queued` (enqueued by the node) → `leased` (claimed by a worker with
//! `FOR UPDATE SKIP LOCKED`, under a lease id and an expiry the worker's heartbeat extends) →
//! `proved` (only the lease's holder can complete it) or back to `queued` (the lease expired,
//! the worker gave up, or the node found the proof wrong), until `max_attempts` leases have been
//! spent: then `failed`, with every attempt's error kept, until an operator retries it. Times are
//! the database's (`now()`), so workers' clocks do not matter. The node prunes proved jobs once
//! it has taken their proofs; totals that must outlive them (lease expiries) are kept in
//! `fleet_counters`, updated in the statement that does what they count.

use std::time::Duration;

use rand::Rng;
use tokio_postgres::{Client, NoTls};

/// The environment variable naming a file that holds the database password, used when the URL
/// has none (a container's secret: the password stays off the command line).
pub const PASSWORD_FILE_VARIABLE: &str = "ZKROLLUP_DB_PASSWORD_FILE";

/// What went wrong with the queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// PostgreSQL refused or the connection failed (a restart: reconnect and retry).
    #[error("PostgreSQL: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// The password file named by `ZKROLLUP_DB_PASSWORD_FILE` cannot be read.
    #[error("the database password file: {0}")]
    PasswordFile(String),
    /// The database was migrated by a newer program.
    #[error("the database's schema is version {database}, newer than this program's {known}: upgrade the program")]
    SchemaTooNew {
        /// The database's version.
        database: i32,
        /// The newest this program knows.
        known: i32,
    },
    /// The lease is not held any more: it expired and the job went back to the queue (and maybe
    /// to another worker), or the job was finished.
    #[error("job {batch_id}: lease {lease_id} is no longer held")]
    LeaseLost {
        /// The job.
        batch_id: u64,
        /// The lease that was presented.
        lease_id: String,
    },
    /// No job has this batch id.
    #[error("no proof job for batch {0}")]
    NoSuchJob(u64),
    /// A status the schema does not know (a newer program wrote it).
    #[error("job {0}: unknown status {1:?}")]
    BadStatus(u64, String),
    /// Only a failed job can be retried.
    #[error("job {0} is {1:?}, not failed")]
    NotFailed(u64, JobStatus),
    /// The database's schema is older than this program's: the node migrates it when it
    /// connects (workers never do), so start or upgrade the node first.
    #[error("the database's schema is version {database}, older than this program's {needed}: the node migrates it (start it first)")]
    SchemaTooOld {
        /// The database's version (0: no schema).
        database: i32,
        /// The version this program needs.
        needed: i32,
    },
    /// This worker is quarantined: the node refused a proof it handed in. It claims nothing
    /// until an operator lets it go (`zkrollup node prover-jobs --release-worker`).
    #[error("{0}")]
    Quarantined(String),
    /// The queue refused what the worker handed in (a proof larger than any proof).
    #[error("the queue refused it: {0}")]
    Refused(String),
    /// PostgreSQL did not answer in time (a cut network): drop the connection and reconnect.
    #[error("PostgreSQL did not answer within {0:?}")]
    TimedOut(Duration),
}

/// Await a queue call for at most `limit`: a server behind a cut link never answers, and TCP
/// would wait minutes before it says so.
pub async fn within<T>(limit: Duration, call: impl std::future::Future<Output = Result<T, QueueError>>) -> Result<T, QueueError> {
    tokio::time::timeout(limit, call).await.unwrap_or(Err(QueueError::TimedOut(limit)))
}

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker holds its lease.
    Leased,
    /// A proof came back from the lease's holder.
    Proved,
    /// Out of attempts.
    Failed,
}

impl JobStatus {
    /// Its name in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Leased => "leased",
            JobStatus::Proved => "proved",
            JobStatus::Failed => "failed",
        }
    }

    fn parse(batch_id: u64, s: &str) -> Result<JobStatus, QueueError> {
        Ok(match s {
            "queued" => JobStatus::Queued,
            "leased" => JobStatus::Leased,
            "proved" => JobStatus::Proved,
            "failed" => JobStatus::Failed,
            _ => return Err(QueueError::BadStatus(batch_id, s.to_string())),
        })
    }
}

/// A job for the queue.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// The batch it proves.
    pub batch_id: u64,
    /// The sha256 (hex) of the proving key it needs: only workers holding that key claim it.
    pub key_sha256: String,
    /// The witness, in the engine's compact binary form.
    pub witness: Vec<u8>,
    /// Leases it may use before it fails.
    pub max_attempts: i32,
}

/// A job a worker holds.
#[derive(Clone, Debug)]
pub struct Lease {
    /// The batch it proves.
    pub batch_id: u64,
    /// The lease's id: the worker presents it to heartbeat, complete or give up.
    pub lease_id: String,
    /// Which attempt this is (1 for the first).
    pub attempt: i32,
    /// The witness.
    pub witness: Vec<u8>,
}

/// A proof a worker returned.
#[derive(Clone, Debug)]
pub struct ProvedJob {
    /// The batch.
    pub batch_id: u64,
    /// The proof as the worker sent it (unchecked: the node verifies it).
    pub proof: Vec<u8>,
    /// The worker that proved it.
    pub worker: String,
    /// How long it took, by the worker's account.
    pub prove_ms: u64,
    /// Leases it took, this one included.
    pub attempts: i32,
}

/// A job as the queue sees it (for operators and tests).
#[derive(Clone, Debug)]
pub struct JobRow {
    /// The batch.
    pub batch_id: u64,
    /// Where it is.
    pub status: JobStatus,
    /// Leases taken so far.
    pub attempts: i32,
    /// Its limit.
    pub max_attempts: i32,
    /// The worker that held it last.
    pub worker: Option<String>,
    /// Each failed attempt's error, in order.
    pub errors: Vec<String>,
}

/// A connection to the queue.
pub struct Queue {
    client: Client,
}

fn id(batch_id: u64) -> i64 {
    // Batch ids count from 1 and stay far below 2^63.
    batch_id as i64
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The queue's own refusals (SQLSTATE `ZKQ01`, `ZKQ02`, raised by the worker functions) as
/// their errors; any other as it is.
fn refused(e: tokio_postgres::Error) -> QueueError {
    let ours = |code: &str| e.code().is_some_and(|c| c.code() == code);
    let message = || e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_string());
    if ours("ZKQ01") {
        QueueError::Quarantined(message())
    } else if ours("ZKQ02") {
        QueueError::Refused(message())
    } else {
        QueueError::Db(e)
    }
}

impl Queue {
    /// Connect (`postgres://user@host:port/db`), driving the connection on the current tokio
    /// runtime, and apply any migrations the database lacks.
    /// Unless the URL says otherwise, connecting gives up after 10 s and the connection sends
    /// TCP keepalives, so a server that vanished is noticed.
    pub async fn connect(url: &str) -> Result<Queue, QueueError> {
        let mut client = Queue::open(url).await?;
        crate::migrations::migrate(&mut client).await?;
        Ok(Queue { client })
    }

    /// Connect as a worker does: the schema must be this program's already (the node migrates
    /// it). No lock and no transaction is taken, so a worker stopped at any point (SIGSTOP, a
    /// cut link) holds up nobody else's connection.
    pub async fn attach(url: &str) -> Result<Queue, QueueError> {
        let client = Queue::open(url).await?;
        crate::migrations::check(&client).await?;
        Ok(Queue { client })
    }

    async fn open(url: &str) -> Result<Client, QueueError> {
        let mut config: tokio_postgres::Config = url.parse()?;
        // The password from a file (a container's secret), never on the command line.
        if let Some(path) = std::env::var_os(PASSWORD_FILE_VARIABLE).filter(|_| config.get_password().is_none()) {
            let password = std::fs::read_to_string(&path)
                .map_err(|e| QueueError::PasswordFile(format!("{PASSWORD_FILE_VARIABLE}={}: {e}", std::path::Path::new(&path).display())))?;
            config.password(password.trim_end_matches(['\r', '\n']));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.keepalives(true).keepalives_idle(Duration::from_secs(30));
        let (client, connection) = config.connect(NoTls).await?;
        tokio::spawn(async move {
            // Ends when the server goes away; the next call on the client then fails with a
            // closed connection, and the owner reconnects.
            let _ = connection.await;
        });
        Ok(client)
    }

    /// Whether the connection is gone (reconnect).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Queue a job; false when a job for that batch exists already (a node that restarted).
    pub async fn enqueue(&self, job: &NewJob) -> Result<bool, QueueError> {
        let n = self
            .client
            .execute(
                "INSERT INTO proof_jobs (batch_id, key_sha256, witness, status, max_attempts)
                 VALUES ($1, $2, $3, 'queued', $4) ON CONFLICT (batch_id) DO NOTHING",
                &[&id(job.batch_id), &job.key_sha256, &job.witness, &job.max_attempts],
            )
            .await?;
        Ok(n == 1)
    }

    /// Claim the oldest queued job for this key, leased to this worker for `lease` (its
    /// identity is its login role; `worker` counts only for a fleet that shares the queue
    /// owner's role); None when none waits. Concurrent claimers skip each other's rows, so no
    /// job is claimed twice. [`QueueError::Quarantined`] when the node refused this worker's
    /// proof.
    pub async fn claim(&self, worker: &str, key_sha256: &str, lease: Duration) -> Result<Option<Lease>, QueueError> {
        let lease_id = format!("{:032x}", rand::thread_rng().gen::<u128>());
        let row = self
            .client
            .query_opt("SELECT job, attempt, job_witness FROM fleet_claim($1, $2, $3, $4)", &[&worker, &key_sha256, &secs(lease), &lease_id])
            .await
            .map_err(refused)?;
        row.map(|r| {
            Ok(Lease { batch_id: r.try_get::<_, i64>(0)? as u64, lease_id, attempt: r.try_get(1)?, witness: r.try_get(2)? })
        })
        .transpose()
    }

    /// Extend a held lease to `lease` from now; [`QueueError::LeaseLost`] when it is not held.
    pub async fn heartbeat(&self, held: &Lease, lease: Duration) -> Result<(), QueueError> {
        let row = self
            .client
            .query_one("SELECT fleet_heartbeat($1, $2, $3)", &[&id(held.batch_id), &held.lease_id, &secs(lease)])
            .await?;
        self.held(row.try_get::<_, bool>(0)?, held)
    }

    fn held(&self, still: bool, held: &Lease) -> Result<(), QueueError> {
        if still {
            Ok(())
        } else {
            Err(QueueError::LeaseLost { batch_id: held.batch_id, lease_id: held.lease_id.clone() })
        }
    }

    /// Hand in a proof; accepted only from the lease's holder while it holds it.
    pub async fn complete(&self, held: &Lease, proof: &[u8], prove_ms: u64) -> Result<(), QueueError> {
        let row = self
            .client
            .query_one("SELECT fleet_complete($1, $2, $3, $4)", &[&id(held.batch_id), &held.lease_id, &proof, &(prove_ms as i64)])
            .await
            .map_err(refused)?;
        self.held(row.try_get::<_, bool>(0)?, held)
    }

    /// The holder gives the job back for `why` (it is stopping, or its key is wrong): back to
    /// the queue at once, its attempt not counted, so a worker's restart neither waits out the
    /// lease nor costs the job an attempt.
    pub async fn release(&self, held: &Lease, why: &str) -> Result<(), QueueError> {
        let note = format!("attempt {}: {why}", held.attempt);
        let row = self.client.query_one("SELECT fleet_release($1, $2, $3)", &[&id(held.batch_id), &held.lease_id, &note]).await?;
        self.held(row.try_get::<_, bool>(0)?, held)
    }

    /// The holder could not prove it: back to the queue with `error` recorded, or failed when
    /// out of attempts. Its status after.
    pub async fn give_up(&self, held: &Lease, error: &str) -> Result<JobStatus, QueueError> {
        let error = format!("attempt {}: {error}", held.attempt);
        let row = self.client.query_one("SELECT fleet_give_up($1, $2, $3)", &[&id(held.batch_id), &held.lease_id, &error]).await?;
        match row.try_get::<_, Option<String>>(0)? {
            Some(status) => JobStatus::parse(held.batch_id, &status),
            None => Err(QueueError::LeaseLost { batch_id: held.batch_id, lease_id: held.lease_id.clone() }),
        }
    }

    /// Leases past their expiry go back to the queue (or fail, out of attempts): the jobs and
    /// their status after.
    pub async fn requeue_expired(&self) -> Result<Vec<(u64, JobStatus)>, QueueError> {
        let rows = self.client.query("SELECT job, job_status FROM fleet_requeue_expired()", &[]).await?;
        rows.iter()
            .map(|r| {
                let b = r.try_get::<_, i64>(0)? as u64;
                Ok((b, JobStatus::parse(b, r.try_get(1)?)?))
            })
            .collect()
    }

    /// The node found a returned proof wrong: the worker that handed it in is quarantined (it
    /// claims nothing more until an operator lets it go) and the job goes back to the queue,
    /// the attempt charged to the worker, not to the job (audit F5: a lying worker cannot make
    /// a job fail). The worker, when the job names one.
    pub async fn refuse_proof(&self, batch_id: u64, error: &str) -> Result<Option<String>, QueueError> {
        let row = self
            .client
            .query_opt(
                "WITH job AS (
                     UPDATE proof_jobs SET status = 'queued', attempts = greatest(attempts - 1, 0),
                            errors = array_append(errors, 'attempt ' || attempts || ' by ' || coalesce(worker, '?') || ': ' || $2),
                            proof = NULL, prove_ms = NULL, updated_at = now()
                      WHERE batch_id = $1 AND status = 'proved'
                     RETURNING worker),
                 quarantined AS (
                     INSERT INTO fleet_quarantine (worker, reason)
                     SELECT worker, 'batch ' || $1 || ': ' || $2 FROM job WHERE worker IS NOT NULL
                     ON CONFLICT (worker) DO NOTHING)
                 SELECT worker FROM job",
                &[&id(batch_id), &error],
            )
            .await?;
        match row {
            Some(r) => Ok(r.try_get(0)?),
            None => Err(QueueError::NoSuchJob(batch_id)),
        }
    }

    /// The quarantined workers: (identity, why, since when as text), oldest first.
    pub async fn quarantined(&self) -> Result<Vec<(String, String, String)>, QueueError> {
        let rows = self.client.query("SELECT worker, reason, since::text FROM fleet_quarantine ORDER BY since", &[]).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
    }

    /// Let a quarantined worker claim jobs again (an operator's call); false when it was not.
    pub async fn release_worker(&self, worker: &str) -> Result<bool, QueueError> {
        Ok(self.client.execute("DELETE FROM fleet_quarantine WHERE worker = $1", &[&worker]).await? == 1)
    }

    /// Let login role `role` work as a prover (run by the queue's owner or an administrator):
    /// EXECUTE on the worker functions only, no right on any table.
    pub async fn grant_worker(&self, role: &str) -> Result<(), QueueError> {
        // A role name as an identifier, quoted: it cannot be a bind parameter.
        let quoted = format!("\"{}\"", role.replace('"', "\"\""));
        for f in crate::migrations::WORKER_FUNCTIONS {
            self.client.batch_execute(&format!("GRANT EXECUTE ON FUNCTION {f} TO {quoted}")).await?;
        }
        Ok(())
    }

    /// Proved jobs from batch `from` on, in batch order, at most `limit`.
    pub async fn proved(&self, from: u64, limit: i64) -> Result<Vec<ProvedJob>, QueueError> {
        let rows = self
            .client
            .query(
                "SELECT batch_id, proof, coalesce(worker, ''), coalesce(prove_ms, 0), attempts FROM proof_jobs
                 WHERE status = 'proved' AND batch_id >= $1 ORDER BY batch_id LIMIT $2",
                &[&id(from), &limit],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ProvedJob {
                    batch_id: r.try_get::<_, i64>(0)? as u64,
                    proof: r.try_get(1)?,
                    worker: r.try_get(2)?,
                    prove_ms: r.try_get::<_, i64>(3)? as u64,
                    attempts: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// One job as the queue sees it.
    pub async fn job(&self, batch_id: u64) -> Result<JobRow, QueueError> {
        let r = self
            .client
            .query_opt(
                "SELECT status, attempts, max_attempts, worker, errors FROM proof_jobs WHERE batch_id = $1",
                &[&id(batch_id)],
            )
            .await?
            .ok_or(QueueError::NoSuchJob(batch_id))?;
        Ok(JobRow {
            batch_id,
            status: JobStatus::parse(batch_id, r.try_get(0)?)?,
            attempts: r.try_get(1)?,
            max_attempts: r.try_get(2)?,
            worker: r.try_get(3)?,
            errors: r.try_get(4)?,
        })
    }

    /// The jobs leased now, with their workers and lease ids, in batch order.
    pub async fn leased(&self) -> Result<Vec<(u64, String, String)>, QueueError> {
        let rows = self
            .client
            .query(
                "SELECT batch_id, coalesce(worker, ''), lease_id FROM proof_jobs WHERE status = 'leased' ORDER BY batch_id",
                &[],
            )
            .await?;
        rows.iter().map(|r| Ok((r.try_get::<_, i64>(0)? as u64, r.try_get(1)?, r.try_get(2)?))).collect()
    }

    /// The keys (sha256) that queued jobs need.
    pub async fn queued_keys(&self) -> Result<Vec<String>, QueueError> {
        let rows = self.client.query("SELECT fleet_queued_keys()", &[]).await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// The stored witness of a job, if there is one (a node checks a job it finds in place is
    /// its own).
    pub async fn witness(&self, batch_id: u64) -> Result<Option<Vec<u8>>, QueueError> {
        let row = self.client.query_opt("SELECT witness FROM proof_jobs WHERE batch_id = $1", &[&id(batch_id)]).await?;
        row.map(|r| Ok(r.try_get(0)?)).transpose()
    }

    /// Workers that finished or held a job within `window`.
    pub async fn workers_seen(&self, window: Duration) -> Result<i64, QueueError> {
        let row = self
            .client
            .query_one(
                "SELECT count(DISTINCT worker) FROM proof_jobs
                 WHERE worker IS NOT NULL AND updated_at > now() - make_interval(secs => $1)",
                &[&secs(window)],
            )
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Jobs by status (for metrics).
    pub async fn counts(&self) -> Result<Vec<(JobStatus, i64)>, QueueError> {
        let rows = self.client.query("SELECT status, count(*) FROM proof_jobs GROUP BY status ORDER BY status", &[]).await?;
        rows.iter().map(|r| Ok((JobStatus::parse(0, r.try_get(0)?)?, r.try_get(1)?))).collect()
    }

    /// The failed jobs, in batch order (for the operator).
    pub async fn failed(&self) -> Result<Vec<JobRow>, QueueError> {
        let rows = self
            .client
            .query("SELECT batch_id FROM proof_jobs WHERE status = 'failed' ORDER BY batch_id", &[])
            .await?;
        let mut jobs = Vec::with_capacity(rows.len());
        for r in rows {
            jobs.push(self.job(r.try_get::<_, i64>(0)? as u64).await?);
        }
        Ok(jobs)
    }

    /// An operator's retry: a failed job back in the queue with `more` attempts on top of those
    /// it spent (its errors kept). [`QueueError::NotFailed`] when it is not failed.
    pub async fn retry(&self, batch_id: u64, more: i32) -> Result<(), QueueError> {
        let n = self
            .client
            .execute(
                "UPDATE proof_jobs SET status = 'queued', max_attempts = attempts + $2, updated_at = now()
                 WHERE batch_id = $1 AND status = 'failed'",
                &[&id(batch_id), &more],
            )
            .await?;
        if n == 1 {
            return Ok(());
        }
        let job = self.job(batch_id).await?;
        Err(QueueError::NotFailed(batch_id, job.status))
    }

    /// The node's own witness for `batch_id` in place of the one the queue holds (written by
    /// someone else): the job starts over, queued, with no attempts spent and no proof.
    pub async fn replace_witness(&self, job: &NewJob) -> Result<(), QueueError> {
        self.client
            .execute(
                "UPDATE proof_jobs SET witness = $2, key_sha256 = $3, status = 'queued', attempts = 0, max_attempts = $4,
                        proof = NULL, prove_ms = NULL, lease_id = NULL, lease_expires = NULL,
                        errors = array_append(errors, 'the witness was replaced by the node''s own'), updated_at = now()
                 WHERE batch_id = $1",
                &[&id(job.batch_id), &job.witness, &job.key_sha256, &job.max_attempts],
            )
            .await?;
        Ok(())
    }

    /// Leases that expired since the queue was made, whoever returned them to the queue.
    pub async fn lease_expiries(&self) -> Result<u64, QueueError> {
        let row = self.client.query_one("SELECT value FROM fleet_counters WHERE name = 'lease_expiries'", &[]).await?;
        Ok(row.try_get::<_, i64>(0)? as u64)
    }

    /// Delete the proved jobs up to `batch_id` (their proofs taken, the node has no more use
    /// for them): the table stays as small as the jobs in flight and a recent history.
    pub async fn prune_proved(&self, batch_id: u64) -> Result<u64, QueueError> {
        Ok(self.client.execute("DELETE FROM proof_jobs WHERE status = 'proved' AND batch_id <= $1", &[&id(batch_id)]).await?)
    }
}
