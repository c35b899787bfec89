//! The schema, as numbered migrations applied in order, each once, in one transaction under an
//! advisory lock, by the node (and the operator's tools) when it connects; a worker only checks
//! the version ([`check`]), so it never holds the lock or runs DDL (audit F5). Workers reach the
//! jobs only through the functions of migration 3 ([`WORKER_FUNCTIONS`]).

use tokio_postgres::Client;

use crate::queue::QueueError;

/// The migrations, in order. Never edit one that has shipped: add the next.
pub const MIGRATIONS: &[(i32, &str)] = &[
    (
    1,
    "CREATE TABLE proof_jobs (
        batch_id      BIGINT PRIMARY KEY,
        key_sha256    TEXT NOT NULL,
        witness       BYTEA NOT NULL,
        status        TEXT NOT NULL CHECK (status IN ('queued', 'leased', 'proved', 'failed')),
        attempts      INTEGER NOT NULL DEFAULT 0,
        max_attempts  INTEGER NOT NULL CHECK (max_attempts > 0),
        lease_id      TEXT,
        lease_expires TIMESTAMPTZ,
        worker        TEXT,
        proof         BYTEA,
        prove_ms      BIGINT,
        errors        TEXT[] NOT NULL DEFAULT '{}',
        created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
        CHECK ((status = 'leased') = (lease_id IS NOT NULL AND lease_expires IS NOT NULL)),
        CHECK ((status = 'proved') = (proof IS NOT NULL))
    );
    CREATE INDEX proof_jobs_queued ON proof_jobs (batch_id) WHERE status = 'queued';
    CREATE INDEX proof_jobs_leased ON proof_jobs (lease_expires) WHERE status = 'leased';",
    ),
    // Totals that outlive the jobs they count (proved jobs are pruned), kept by whoever acts:
    // any worker or the node may return an expired lease to the queue.
    (
        2,
        "CREATE TABLE fleet_counters (
        name  TEXT PRIMARY KEY,
        value BIGINT NOT NULL DEFAULT 0
    );
    INSERT INTO fleet_counters (name) VALUES ('lease_expiries');",
    ),
    // Least privilege for workers (audit F5): a worker's role needs no table right, only
    // EXECUTE on these functions, which run as the queue's owner and take the worker's identity
    // from its login role (`session_user`), which it cannot choose. A worker that logs in as
    // the owner itself (one trusted role for the whole fleet) is known by the name it gives.
    // A worker whose proof the node refused is quarantined: it claims nothing until an operator
    // lets it go. EXECUTE is granted by `zkrollup node prover-jobs --grant-worker ROLE`.
    (
        3,
        "CREATE TABLE fleet_quarantine (
        worker TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        since  TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE FUNCTION fleet_identity(p_name TEXT) RETURNS TEXT
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
        SELECT CASE WHEN session_user = current_user THEN left(p_name, 200) ELSE session_user::text END
    $$;
    CREATE FUNCTION fleet_schema_version() RETURNS INTEGER
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
        SELECT coalesce(max(version), 0) FROM schema_migrations
    $$;
    CREATE FUNCTION fleet_claim(p_name TEXT, p_key TEXT, p_lease_secs DOUBLE PRECISION, p_lease_id TEXT)
    RETURNS TABLE (job BIGINT, attempt INTEGER, job_witness BYTEA)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
    DECLARE
        who TEXT := fleet_identity(p_name);
        why TEXT;
    BEGIN
        SELECT q.reason INTO why FROM fleet_quarantine q WHERE q.worker = who;
        IF FOUND THEN
            RAISE EXCEPTION 'worker % is quarantined: %', who, why USING ERRCODE = 'ZKQ01';
        END IF;
        RETURN QUERY
        UPDATE proof_jobs j SET status = 'leased', lease_id = p_lease_id,
               lease_expires = now() + make_interval(secs => p_lease_secs),
               attempts = j.attempts + 1, worker = who, updated_at = now()
         WHERE j.batch_id = (SELECT i.batch_id FROM proof_jobs i WHERE i.status = 'queued' AND i.key_sha256 = p_key
                              ORDER BY i.batch_id LIMIT 1 FOR UPDATE SKIP LOCKED)
           AND j.status = 'queued'
        RETURNING j.batch_id, j.attempts, j.witness;
    END $$;
    CREATE FUNCTION fleet_heartbeat(p_batch BIGINT, p_lease_id TEXT, p_lease_secs DOUBLE PRECISION) RETURNS BOOLEAN
    LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
        WITH held AS (
            UPDATE proof_jobs SET lease_expires = now() + make_interval(secs => p_lease_secs), updated_at = now()
             WHERE batch_id = p_batch AND lease_id = p_lease_id AND status = 'leased' RETURNING 1)
        SELECT count(*) = 1 FROM held
    $$;
    CREATE FUNCTION fleet_complete(p_batch BIGINT, p_lease_id TEXT, p_proof BYTEA, p_prove_ms BIGINT) RETURNS BOOLEAN
    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
    BEGIN
        -- A Groth16 proof is a few hundred bytes: nothing larger is stored.
        IF octet_length(p_proof) > 4096 THEN
            RAISE EXCEPTION 'a proof of % bytes: at most 4096', octet_length(p_proof) USING ERRCODE = 'ZKQ02';
        END IF;
        UPDATE proof_jobs SET status = 'proved', proof = p_proof, prove_ms = greatest(p_prove_ms, 0), lease_id = NULL,
               lease_expires = NULL, updated_at = now()
         WHERE batch_id = p_batch AND lease_id = p_lease_id AND status = 'leased';
        RETURN FOUND;
    END $$;
    CREATE FUNCTION fleet_release(p_batch BIGINT, p_lease_id TEXT, p_note TEXT) RETURNS BOOLEAN
    LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
        WITH held AS (
            UPDATE proof_jobs SET status = 'queued', attempts = greatest(attempts - 1, 0),
                   errors = array_append(errors, left(p_note, 500)), lease_id = NULL, lease_expires = NULL, updated_at = now()
             WHERE batch_id = p_batch AND lease_id = p_lease_id AND status = 'leased' RETURNING 1)
        SELECT count(*) = 1 FROM held
    $$;
    CREATE FUNCTION fleet_give_up(p_batch BIGINT, p_lease_id TEXT, p_error TEXT) RETURNS TEXT
    LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
        UPDATE proof_jobs SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
               errors = array_append(errors, left(p_error, 500)), lease_id = NULL, lease_expires = NULL, updated_at = now()
         WHERE batch_id = p_batch AND lease_id = p_lease_id AND status = 'leased'
        RETURNING status
    $$;
    CREATE FUNCTION fleet_queued_keys() RETURNS SETOF TEXT
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
        SELECT DISTINCT key_sha256 FROM proof_jobs WHERE status = 'queued' ORDER BY 1
    $$;
    CREATE FUNCTION fleet_requeue_expired() RETURNS TABLE (job BIGINT, job_status TEXT)
    LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $$
        WITH expired AS (
            UPDATE proof_jobs SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
                   errors = array_append(errors, 'attempt ' || attempts || ': lease of ' || coalesce(worker, '?') || ' expired'),
                   lease_id = NULL, lease_expires = NULL, updated_at = now()
             WHERE status = 'leased' AND lease_expires < now()
            RETURNING batch_id, status),
        counted AS (
            UPDATE fleet_counters SET value = value + (SELECT count(*) FROM expired) WHERE name = 'lease_expiries')
        SELECT batch_id, status FROM expired
    $$;
    REVOKE ALL ON FUNCTION fleet_identity(TEXT), fleet_schema_version(), fleet_claim(TEXT, TEXT, DOUBLE PRECISION, TEXT),
        fleet_heartbeat(BIGINT, TEXT, DOUBLE PRECISION), fleet_complete(BIGINT, TEXT, BYTEA, BIGINT),
        fleet_release(BIGINT, TEXT, TEXT), fleet_give_up(BIGINT, TEXT, TEXT), fleet_queued_keys(), fleet_requeue_expired()
        FROM PUBLIC;",
    ),
];

/// The functions a worker's role may run (and nothing else): `GRANT EXECUTE` on these, by
/// `zkrollup node prover-jobs --grant-worker ROLE`.
pub const WORKER_FUNCTIONS: &[&str] = &[
    "fleet_schema_version()",
    "fleet_claim(TEXT, TEXT, DOUBLE PRECISION, TEXT)",
    "fleet_heartbeat(BIGINT, TEXT, DOUBLE PRECISION)",
    "fleet_complete(BIGINT, TEXT, BYTEA, BIGINT)",
    "fleet_release(BIGINT, TEXT, TEXT)",
    "fleet_give_up(BIGINT, TEXT, TEXT)",
    "fleet_queued_keys()",
    "fleet_requeue_expired()",
];

/// The advisory lock key that serializes migrations (any constant no other code uses).
const MIGRATION_LOCK: i64 = 0x7a6b_726f_6c6c_7570; // "zkrollup"

/// Check that the schema is exactly this program's, without a lock or a transaction, through
/// `fleet_schema_version()` (a worker's role may read no table). A database without that
/// function is older than migration 3.
pub async fn check(client: &Client) -> Result<i32, QueueError> {
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    let current: i32 = match client.query_one("SELECT fleet_schema_version()", &[]).await {
        Ok(row) => row.try_get(0)?,
        // Older than migration 3: its version from the table, where this role may read it.
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_FUNCTION) => {
            match client.query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[]).await {
                Ok(row) => row.try_get(0)?,
                Err(_) => 0,
            }
        }
        Err(e) => return Err(e.into()),
    };
    match current.cmp(&newest) {
        std::cmp::Ordering::Less => Err(QueueError::SchemaTooOld { database: current, needed: newest }),
        std::cmp::Ordering::Greater => Err(QueueError::SchemaTooNew { database: current, known: newest }),
        std::cmp::Ordering::Equal => Ok(current),
    }
}

/// Apply the migrations this database lacks; the schema's version after.
pub async fn migrate(client: &mut Client) -> Result<i32, QueueError> {
    let txn = client.transaction().await?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    txn.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER PRIMARY KEY,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )",
    )
    .await?;
    let current: i32 = txn.query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[]).await?.try_get(0)?;
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > newest {
        return Err(QueueError::SchemaTooNew { database: current, known: newest });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        txn.batch_execute(sql).await?;
        txn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[version]).await?;
    }
    txn.commit().await?;
    Ok(newest)
}
