//! The schema, as numbered migrations applied in order, each once, in one transaction under an
//! advisory lock, by the node (and the operator's tools) when it connects; a worker only checks
//! the version ([`check`]), so it never holds the lock or runs DDL (audit F5).

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
];

/// The advisory lock key that serializes migrations (any constant no other code uses).
const MIGRATION_LOCK: i64 = 0x7a6b_726f_6c6c_7570; // "zkrollup"

/// Check that the schema is exactly this program's, without a lock or a transaction.
pub async fn check(client: &Client) -> Result<i32, QueueError> {
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    let exists: bool = client.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[]).await?.try_get(0)?;
    let current: i32 = if exists {
        client.query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[]).await?.try_get(0)?
    } else {
        0
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
