//! The node's store: redb (one-phase and two-phase commit) against SQLite in WAL mode with
//! `synchronous = FULL`, on the node's own write pattern, every commit durable (fsync).
//!
//! - `accept/K`: the ingest thread's group commit of K submissions: K transfer records (the
//!   batch-file entry as JSON, about 330 bytes), K mempool entries, the two counters.
//! - `seal`: the batcher's commit: a 2 KB batch record, 8 account rows, 8 mempool entries gone,
//!   the stage head.
//!
//! SQLite is compiled in only for this comparison:
//! `cargo bench -p zkrollup-node --features compare-sqlite --bench store_commit`.

use std::cell::RefCell;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use redb::{Database, ReadableTable, TableDefinition};
use rusqlite::{params, Connection};

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const TRANSFERS: TableDefinition<u64, &[u8]> = TableDefinition::new("transfers");
const PENDING: TableDefinition<u64, &[u8]> = TableDefinition::new("pending");
const BATCHES: TableDefinition<u64, &[u8]> = TableDefinition::new("batches");
const ACCOUNTS: TableDefinition<u32, &[u8]> = TableDefinition::new("accounts");

/// A transfer record as the node stores it: the signed entry and its bookkeeping.
fn transfer_record(id: u64) -> Vec<u8> {
    format!(
        r#"{{"entry":{{"from":{},"to":{},"amount":"{}","nonce":"{}","sig":{{"r8x":"{}","r8y":"{}","s":"{}"}}}},"batch":null,"accepted_ms":1796112670753}}"#,
        id % 64,
        (id + 1) % 64,
        id * 7,
        id / 64,
        "1".repeat(77),
        "2".repeat(77),
        "3".repeat(76)
    )
    .into_bytes()
}

/// The store under test.
trait Backend {
    fn accept(&mut self, k: usize);
    fn seal(&mut self);
}

struct Redb {
    db: Database,
    two_phase: bool,
    next_id: u64,
    next_batch: u64,
    _dir: tempfile::TempDir,
}

impl Redb {
    fn new(two_phase: bool) -> Redb {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("node.redb")).unwrap();
        Redb { db, two_phase, next_id: 1, next_batch: 1, _dir: dir }
    }
}

impl Backend for Redb {
    fn accept(&mut self, k: usize) {
        let mut txn = self.db.begin_write().unwrap();
        txn.set_two_phase_commit(self.two_phase);
        {
            let mut transfers = txn.open_table(TRANSFERS).unwrap();
            let mut pending = txn.open_table(PENDING).unwrap();
            for _ in 0..k {
                let id = self.next_id;
                transfers.insert(id, transfer_record(id).as_slice()).unwrap();
                pending.insert(id, br#"{"Transfer":1}"#.as_slice()).unwrap();
                self.next_id += 1;
            }
            let mut meta = txn.open_table(META).unwrap();
            meta.insert("next_transfer_id", self.next_id).unwrap();
            meta.insert("next_seq", self.next_id).unwrap();
        }
        txn.commit().unwrap();
    }

    fn seal(&mut self) {
        let mut txn = self.db.begin_write().unwrap();
        txn.set_two_phase_commit(self.two_phase);
        {
            let b = self.next_batch;
            txn.open_table(BATCHES).unwrap().insert(b, vec![b'b'; 2048].as_slice()).unwrap();
            let mut accounts = txn.open_table(ACCOUNTS).unwrap();
            for i in 0..8u32 {
                accounts.insert((b as u32 * 8 + i) % 4096, [b'a'; 72].as_slice()).unwrap();
            }
            let mut pending = txn.open_table(PENDING).unwrap();
            let first: Vec<u64> = pending.iter().unwrap().take(8).map(|e| e.unwrap().0.value()).collect();
            for s in first {
                pending.remove(s).unwrap();
            }
            txn.open_table(META).unwrap().insert("head_sealed", b).unwrap();
            self.next_batch += 1;
        }
        txn.commit().unwrap();
    }
}

struct Sqlite {
    conn: Connection,
    next_id: u64,
    next_batch: u64,
    _dir: tempfile::TempDir,
}

impl Sqlite {
    fn new() -> Sqlite {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("node.sqlite")).unwrap();
        // The conservative configuration the issue names: WAL, and an fsync at every commit.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        conn.execute_batch(
            "PRAGMA synchronous = FULL;
             CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
             CREATE TABLE transfers (id INTEGER PRIMARY KEY, body BLOB NOT NULL);
             CREATE TABLE pending (seq INTEGER PRIMARY KEY, op BLOB NOT NULL);
             CREATE TABLE batches (id INTEGER PRIMARY KEY, body BLOB NOT NULL);
             CREATE TABLE accounts (idx INTEGER PRIMARY KEY, body BLOB NOT NULL);",
        )
        .unwrap();
        Sqlite { conn, next_id: 1, next_batch: 1, _dir: dir }
    }
}

impl Backend for Sqlite {
    fn accept(&mut self, k: usize) {
        let txn = self.conn.transaction().unwrap();
        {
            let mut put = txn.prepare_cached("INSERT INTO transfers (id, body) VALUES (?1, ?2)").unwrap();
            let mut push = txn.prepare_cached("INSERT INTO pending (seq, op) VALUES (?1, ?2)").unwrap();
            for _ in 0..k {
                let id = self.next_id;
                put.execute(params![id as i64, transfer_record(id)]).unwrap();
                push.execute(params![id as i64, br#"{"Transfer":1}"#.as_slice()]).unwrap();
                self.next_id += 1;
            }
            let mut meta = txn.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)").unwrap();
            meta.execute(params!["next_transfer_id", self.next_id as i64]).unwrap();
            meta.execute(params!["next_seq", self.next_id as i64]).unwrap();
        }
        txn.commit().unwrap();
    }

    fn seal(&mut self) {
        let txn = self.conn.transaction().unwrap();
        {
            let b = self.next_batch;
            txn.prepare_cached("INSERT INTO batches (id, body) VALUES (?1, ?2)")
                .unwrap()
                .execute(params![b as i64, vec![b'b'; 2048]])
                .unwrap();
            let mut put = txn.prepare_cached("INSERT OR REPLACE INTO accounts (idx, body) VALUES (?1, ?2)").unwrap();
            for i in 0..8u32 {
                put.execute(params![(b as u32 * 8 + i) % 4096, [b'a'; 72].as_slice()]).unwrap();
            }
            txn.prepare_cached("DELETE FROM pending WHERE seq IN (SELECT seq FROM pending ORDER BY seq LIMIT 8)")
                .unwrap()
                .execute([])
                .unwrap();
            txn.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES ('head_sealed', ?1)")
                .unwrap()
                .execute(params![b as i64])
                .unwrap();
            self.next_batch += 1;
        }
        txn.commit().unwrap();
    }
}

fn backends() -> Vec<(&'static str, Box<dyn Backend>)> {
    vec![
        ("redb_1pc", Box::new(Redb::new(false))),
        ("redb_2pc", Box::new(Redb::new(true))),
        ("sqlite_wal_full", Box::new(Sqlite::new())),
    ]
}

fn store_commit(c: &mut Criterion) {
    let mut g = c.benchmark_group("store_commit");
    g.sample_size(200);
    for k in [1usize, 32] {
        for (name, mut store) in backends() {
            g.bench_function(BenchmarkId::new(format!("accept_{k}"), name), |b| b.iter(|| store.accept(k)));
        }
    }
    for (name, store) in backends() {
        // Each seal takes the 8 submissions accepted before it (not timed), as a batcher does.
        let store = RefCell::new(store);
        g.bench_function(BenchmarkId::new("seal", name), |b| {
            b.iter_batched(|| store.borrow_mut().accept(8), |()| store.borrow_mut().seal(), BatchSize::PerIteration)
        });
    }
    g.finish();
}

criterion_group!(benches, store_commit);
criterion_main!(benches);
