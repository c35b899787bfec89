//! The node's one durable store (redb): every stage's state, each step one write transaction.
//!
//! Tables:
//! - `meta`: the node's configuration and counters (next transfer id, next sequence number, the
//!   L1 block the watcher has read up to, the next L1 request it expects).
//! - `transfers`: every accepted transfer by id, with the batch that took it.
//! - `pending`: the mempool as the sequence in which operations were accepted, transfers and
//!   L1 requests interleaved (the batcher keeps that order where it matters).
//! - `requests`: every L1 request seen, by queue position `k`.
//! - `batches`: every sealed batch, its contents, the accounts it wrote, its proof and L1 state.
//! - `accounts_sealed`, `accounts_proved`, `accounts_confirmed`: the accounts as of the last
//!   sealed, proved and L1-confirmed batch; each advances, in the transaction that moves a batch
//!   into that stage, by the accounts the batch wrote. The tree is rebuilt from them on start and
//!   its root checked against the batch's.
//!
//! Every commit is durable (see [`Store::begin`]): a crash leaves the last commit.
//! Why redb and not SQLite, which commits faster here: BENCHMARKS.md, "The node's store".

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use zkrollup::primitives::eddsa::PublicKey;
use zkrollup::{Account, Fr};

use ark_ff::{BigInteger, PrimeField};

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const TRANSFERS: TableDefinition<u64, &[u8]> = TableDefinition::new("transfers");
const PENDING: TableDefinition<u64, &[u8]> = TableDefinition::new("pending");
const REQUESTS: TableDefinition<u64, &[u8]> = TableDefinition::new("requests");
const BATCHES: TableDefinition<u64, &[u8]> = TableDefinition::new("batches");
const ACCOUNTS_SEALED: TableDefinition<u32, &[u8]> = TableDefinition::new("accounts_sealed");
const ACCOUNTS_PROVED: TableDefinition<u32, &[u8]> = TableDefinition::new("accounts_proved");
const ACCOUNTS_CONFIRMED: TableDefinition<u32, &[u8]> = TableDefinition::new("accounts_confirmed");

/// Why the store failed; any of these stops the step that met it, with nothing written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// redb's own errors (I/O, corruption, a second process holding the file).
    #[error("store: {0}")]
    Db(String),
    /// A stored value that does not decode: the file was written by something else.
    #[error("store: corrupt {table} entry {key}: {problem}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The key.
        key: String,
        /// What is wrong.
        problem: String,
    },
}

macro_rules! db_err {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(e.to_string())
            }
        }
    )*};
}
db_err!(redb::DatabaseError, redb::TransactionError, redb::TableError, redb::StorageError, redb::CommitError);

/// Which stage's account table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// After the last sealed batch.
    Sealed,
    /// After the last proved batch.
    Proved,
    /// After the last batch confirmed on L1.
    Confirmed,
}

impl Stage {
    fn table(self) -> TableDefinition<'static, u32, &'static [u8]> {
        match self {
            Stage::Sealed => ACCOUNTS_SEALED,
            Stage::Proved => ACCOUNTS_PROVED,
            Stage::Confirmed => ACCOUNTS_CONFIRMED,
        }
    }
}

/// An accepted transfer as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredTransfer {
    /// The batch-file entry as accepted (the `zkrollup sign` JSON).
    pub entry: serde_json::Value,
    /// The batch that took it, once sealed.
    pub batch: Option<u64>,
    /// When it was accepted (Unix milliseconds).
    pub accepted_ms: u64,
    /// Why it was dropped, if it was: after a rewind it no longer applied (a terminal status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped: Option<String>,
}

/// One operation of the mempool, in acceptance order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PendingOp {
    /// A transfer or withdrawal by id.
    Transfer(u64),
    /// An L1 request by queue position.
    Request(u64),
}

/// An L1 request as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredRequest {
    /// The 65-byte record, hex.
    pub record: String,
    /// The L1 block it was logged in.
    pub block: u64,
    /// The batch that consumed it, once sealed.
    pub batch: Option<u64>,
    /// When the node saw it (Unix milliseconds).
    pub seen_ms: u64,
}

/// A batch's stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchStatus {
    /// Its state changes are committed; waiting for its proof.
    Sealed,
    /// Proved and verified; waiting to be sent.
    Proved,
    /// Sent to L1; waiting for enough confirmations.
    Submitted,
    /// Confirmed on L1.
    Confirmed,
    /// L1 refused it (reverted): the pipeline stops here for an operator to look.
    Failed,
}

impl BatchStatus {
    /// The API's name.
    pub fn name(self) -> &'static str {
        match self {
            BatchStatus::Sealed => "sealed",
            BatchStatus::Proved => "proved",
            BatchStatus::Submitted => "submitted",
            BatchStatus::Confirmed => "confirmed",
            BatchStatus::Failed => "failed",
        }
    }
}

/// The L1 transaction carrying a batch: stored, signed, before it is first broadcast, so a
/// restart broadcasts the same bytes again rather than a second transaction.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredTx {
    /// The hash of every version sent (a resend replaces the last at the same nonce), hex.
    pub hashes: Vec<String>,
    /// The last version's bytes, hex.
    pub raw: String,
    /// The sequencer nonce all versions use.
    pub nonce: u64,
    /// When the last version was signed (Unix milliseconds).
    pub sent_ms: u64,
    /// How many versions were signed (a resend pays a higher fee).
    pub attempts: u32,
    /// The block that included it, once seen.
    pub block: Option<u64>,
    /// Gas used, once included.
    pub gas_used: Option<u64>,
}

/// A sealed batch and everything after.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredBatch {
    /// Its id (the contract's `batchCount` after it).
    pub id: u64,
    /// Its stage.
    pub status: BatchStatus,
    /// Why it was sealed: "size" (N transfers waiting) or "timeout".
    pub reason: String,
    /// The transfer ids in its L2 slots, in order.
    pub transfers: Vec<u64>,
    /// The queue positions of the requests in its L1 slots, in order.
    pub requests: Vec<u64>,
    /// The root before and after it, decimal.
    pub old_root: String,
    /// The root after it.
    pub new_root: String,
    /// Every account it wrote, as it left them.
    pub writes: Vec<(u32, StoredAccount)>,
    /// When it was sealed (Unix milliseconds).
    pub sealed_ms: u64,
    /// The proof (snarkjs JSON), once proved.
    pub proof: Option<serde_json::Value>,
    /// The `submitBatch` call data, hex, once proved.
    pub calldata: Option<String>,
    /// Proving time in milliseconds.
    pub prove_ms: Option<u64>,
    /// The L1 transaction, once sent.
    pub tx: Option<StoredTx>,
    /// When it was confirmed (Unix milliseconds).
    pub confirmed_ms: Option<u64>,
    /// Why L1 refused it.
    pub failure: Option<String>,
    /// Its payouts as `finalizeBatches` takes them (SPEC-v3), hex, once ready for L1.
    #[serde(default)]
    pub payouts: Option<String>,
}

/// An account as stored: key, balance, nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAccount(#[serde(with = "account_hex")] pub Account);

mod account_hex {
    use super::*;
    pub fn serialize<S: serde::Serializer>(a: &Account, s: S) -> Result<S::Ok, S::Error> {
        hex::encode(encode_account(a)).serialize(s)
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Account, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(text).map_err(serde::de::Error::custom)?;
        decode_account(&bytes).map_err(serde::de::Error::custom)
    }
}

/// `Ax || Ay || balance || nonce`, big-endian, 80 bytes.
pub fn encode_account(a: &Account) -> Vec<u8> {
    let mut out = Vec::with_capacity(80);
    out.extend(a.pubkey.x().into_bigint().to_bytes_be());
    out.extend(a.pubkey.y().into_bigint().to_bytes_be());
    out.extend(a.balance.to_be_bytes());
    out.extend(a.nonce.to_be_bytes());
    out
}

/// The inverse of [`encode_account`].
pub fn decode_account(bytes: &[u8]) -> Result<Account, String> {
    if bytes.len() != 80 {
        return Err(format!("an account is 80 bytes, not {}", bytes.len()));
    }
    let x = Fr::from_be_bytes_mod_order(&bytes[..32]);
    let y = Fr::from_be_bytes_mod_order(&bytes[32..64]);
    let pubkey = PublicKey::from_coordinates(x, y).map_err(|e| e.to_string())?;
    let balance = u64::from_be_bytes(bytes[64..72].try_into().expect("8 bytes"));
    let nonce = u64::from_be_bytes(bytes[72..].try_into().expect("8 bytes"));
    Ok(Account::new(pubkey, balance, nonce))
}

fn to_json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("plain data serializes")
}

fn from_json<T: DeserializeOwned>(table: &'static str, key: impl ToString, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt { table, key: key.to_string(), problem: e.to_string() })
}

/// The store.
pub struct Store {
    db: Database,
    two_phase: bool,
}

/// One write transaction: everything a step changes, committed at once.
pub struct Txn {
    txn: WriteTransaction,
}

impl Store {
    /// Open (or create) the store at `path`, committing in two phases when `two_phase` (see
    /// [`Store::begin`]).
    pub fn open(path: &Path, two_phase: bool) -> Result<Store, StoreError> {
        Store::init(Database::create(path)?, two_phase)
    }

    /// A store on another redb backend (the tests' disk that fails on demand).
    pub fn open_on(backend: impl redb::StorageBackend, two_phase: bool) -> Result<Store, StoreError> {
        Store::init(redb::Builder::new().create_with_backend(backend)?, two_phase)
    }

    fn init(db: Database, two_phase: bool) -> Result<Store, StoreError> {
        let store = Store { db, two_phase };
        // Create every table, so readers never meet a missing one.
        let t = store.begin()?;
        for def in [TRANSFERS, PENDING, REQUESTS, BATCHES] {
            t.txn.open_table(def)?;
        }
        t.txn.open_table(META)?;
        for s in [Stage::Sealed, Stage::Proved, Stage::Confirmed] {
            t.txn.open_table(s.table())?;
        }
        t.commit()?;
        Ok(store)
    }

    /// Begin a write transaction (redb runs one at a time; others wait). Its commit is
    /// durable: redb's one-phase commit writes the new state with checksums, flips to it and
    /// fsyncs once; a crash at any moment leaves the last commit (the node's crash tests kill it
    /// mid-commit). With `two_phase` it fsyncs the new state before the flip and again after,
    /// which also holds against an adversary who controls the disk's write order, crashes the
    /// machine mid-fsync and chooses data to collide with the checksum: +0.1 to +0.15 ms a
    /// commit and about 15% of the API's rate (BENCHMARKS.md).
    pub fn begin(&self) -> Result<Txn, StoreError> {
        let mut txn = self.db.begin_write()?;
        txn.set_two_phase_commit(self.two_phase);
        Ok(Txn { txn })
    }

    /// A meta value.
    pub fn meta<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(META)?;
        // The guard borrows the table: the value is taken out before both go.
        let v = t.get(key)?.map(|v| from_json("meta", key, v.value())).transpose();
        v
    }

    /// Every account of a stage.
    pub fn accounts(&self, stage: Stage) -> Result<Vec<(u32, Account)>, StoreError> {
        let r = self.db.begin_read()?;
        read_accounts(&r.open_table(stage.table())?)
    }

    /// A stage's state: its accounts with the tree rebuilt, refused unless the root is
    /// `expected` (the root the stage's last batch left).
    pub fn state(&self, stage: Stage, depth: usize, expected: Fr) -> Result<zkrollup::State, String> {
        let accounts = self.accounts(stage).map_err(|e| e.to_string())?;
        let state = zkrollup::State::from_accounts(depth, accounts).map_err(|e| e.to_string())?;
        if state.root() != expected {
            return Err(format!(
                "the stored {stage:?} accounts have root {}, but the stage's last batch left {}",
                root_text(state.root()),
                root_text(expected)
            ));
        }
        Ok(state)
    }

    /// One account of a stage.
    pub fn account(&self, stage: Stage, index: u32) -> Result<Option<Account>, StoreError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(stage.table())?;
        let v = t
            .get(index)?
            .map(|v| {
                decode_account(v.value())
                    .map_err(|problem| StoreError::Corrupt { table: "accounts", key: index.to_string(), problem })
            })
            .transpose();
        v
    }

    /// A transfer by id.
    pub fn transfer(&self, id: u64) -> Result<Option<StoredTransfer>, StoreError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(TRANSFERS)?;
        // The guard borrows the table: the value is taken out before both go.
        let v = t.get(id)?.map(|v| from_json("transfers", id, v.value())).transpose();
        v
    }

    /// Number of accepted transfers.
    pub fn transfer_count(&self) -> Result<u64, StoreError> {
        let r = self.db.begin_read()?;
        Ok(r.open_table(TRANSFERS)?.len()?)
    }

    /// Every accepted transfer, by id (for audits and tests).
    pub fn transfers(&self) -> Result<Vec<(u64, StoredTransfer)>, StoreError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(TRANSFERS)?;
        let mut out = Vec::new();
        for entry in t.iter()? {
            let (k, v) = entry?;
            out.push((k.value(), from_json("transfers", k.value(), v.value())?));
        }
        Ok(out)
    }

    /// The mempool in acceptance order: (sequence number, operation).
    pub fn pending(&self) -> Result<Vec<(u64, PendingOp)>, StoreError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(PENDING)?;
        let mut out = Vec::new();
        for entry in t.iter()? {
            let (k, v) = entry?;
            out.push((k.value(), from_json("pending", k.value(), v.value())?));
        }
        Ok(out)
    }

    /// An L1 request by queue position.
    pub fn request(&self, k: u64) -> Result<Option<StoredRequest>, StoreError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(REQUESTS)?;
        // The guard borrows the table: the value is taken out before both go.
        let v = t.get(k)?.map(|v| from_json("requests", k, v.value())).transpose();
        v
    }

    /// A batch by id.
    pub fn batch(&self, id: u64) -> Result<Option<StoredBatch>, StoreError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(BATCHES)?;
        // The guard borrows the table: the value is taken out before both go.
        let v = t.get(id)?.map(|v| from_json("batches", id, v.value())).transpose();
        v
    }

    /// The last batch id, 0 when none was sealed.
    pub fn last_batch_id(&self) -> Result<u64, StoreError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(BATCHES)?;
        let last = t.last()?.map_or(0, |(k, _)| k.value());
        Ok(last)
    }

    /// The first batch from id `from` on that is in `status`, if any.
    pub fn first_batch_in(&self, status: BatchStatus, from: u64) -> Result<Option<StoredBatch>, StoreError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(BATCHES)?;
        for entry in t.range(from..)? {
            let (k, v) = entry?;
            let b: StoredBatch = from_json("batches", k.value(), v.value())?;
            if b.status == status {
                return Ok(Some(b));
            }
        }
        Ok(None)
    }

    /// The last batch id in each stage (0 for none): sealed, proved, submitted, confirmed. Kept
    /// in `meta` by [`Txn::put_batch`], in the transaction that moves the batch.
    pub fn stage_heads(&self) -> Result<[u64; 4], StoreError> {
        let mut heads = [0u64; 4];
        for (h, key) in heads.iter_mut().zip(HEAD_KEYS) {
            *h = self.meta(key)?.unwrap_or(0);
        }
        Ok(heads)
    }

    /// The batch L1 refused, if one did (the pipeline stops there).
    pub fn failed_batch(&self) -> Result<Option<u64>, StoreError> {
        self.meta("failed_batch")
    }
}

/// `meta` keys of the last batch that reached each stage.
const HEAD_KEYS: [&str; 4] = ["head_sealed", "head_proved", "head_submitted", "head_confirmed"];

impl Txn {
    /// Commit durably.
    pub fn commit(self) -> Result<(), StoreError> {
        Ok(self.txn.commit()?)
    }

    /// A meta value.
    pub fn meta<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let t = self.txn.open_table(META)?;
        let v = t.get(key)?.map(|v| from_json("meta", key, v.value())).transpose();
        v
    }

    /// Set a meta value.
    pub fn set_meta<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        self.txn.open_table(META)?.insert(key, to_json(value).as_slice())?;
        Ok(())
    }

    /// Take the next value of a counter (starting at `first`).
    pub fn next(&self, counter: &str, first: u64) -> Result<u64, StoreError> {
        let n = self.meta::<u64>(counter)?.unwrap_or(first);
        self.set_meta(counter, &(n + 1))?;
        Ok(n)
    }

    /// Write accounts into a stage's table.
    pub fn put_accounts(&self, stage: Stage, accounts: &[(u32, Account)]) -> Result<(), StoreError> {
        let mut t = self.txn.open_table(stage.table())?;
        for (i, a) in accounts {
            t.insert(*i, encode_account(a).as_slice())?;
        }
        Ok(())
    }

    /// Store a transfer.
    pub fn put_transfer(&self, id: u64, t: &StoredTransfer) -> Result<(), StoreError> {
        self.txn.open_table(TRANSFERS)?.insert(id, to_json(t).as_slice())?;
        Ok(())
    }

    /// A transfer by id.
    pub fn transfer(&self, id: u64) -> Result<Option<StoredTransfer>, StoreError> {
        let t = self.txn.open_table(TRANSFERS)?;
        let v = t.get(id)?.map(|v| from_json("transfers", id, v.value())).transpose();
        v
    }

    /// The mempool, in order.
    pub fn pending_all(&self) -> Result<Vec<(u64, PendingOp)>, StoreError> {
        let t = self.txn.open_table(PENDING)?;
        let mut out = Vec::new();
        for entry in t.iter()? {
            let (k, v) = entry?;
            out.push((k.value(), from_json("pending", k.value(), v.value())?));
        }
        Ok(out)
    }

    /// A stage's accounts.
    pub fn accounts(&self, stage: Stage) -> Result<Vec<(u32, Account)>, StoreError> {
        read_accounts(&self.txn.open_table(stage.table())?)
    }

    /// A stage's accounts replaced by these.
    pub fn replace_accounts(&self, stage: Stage, accounts: &[(u32, Account)]) -> Result<(), StoreError> {
        let mut t = self.txn.open_table(stage.table())?;
        t.retain(|_, _| false)?;
        for (i, a) in accounts {
            t.insert(*i, encode_account(a).as_slice())?;
        }
        Ok(())
    }

    /// Delete a batch record.
    pub fn remove_batch(&self, id: u64) -> Result<(), StoreError> {
        self.txn.open_table(BATCHES)?.remove(id)?;
        Ok(())
    }

    /// Delete a meta value.
    pub fn remove_meta(&self, key: &str) -> Result<(), StoreError> {
        self.txn.open_table(META)?.remove(key)?;
        Ok(())
    }

    /// Append an operation to the mempool.
    pub fn push_pending(&self, op: PendingOp) -> Result<u64, StoreError> {
        let seq = self.next("next_seq", 1)?;
        self.txn.open_table(PENDING)?.insert(seq, to_json(&op).as_slice())?;
        Ok(seq)
    }

    /// Remove operations from the mempool.
    pub fn remove_pending(&self, seqs: &[u64]) -> Result<(), StoreError> {
        let mut t = self.txn.open_table(PENDING)?;
        for s in seqs {
            t.remove(*s)?;
        }
        Ok(())
    }

    /// Store an L1 request.
    pub fn put_request(&self, k: u64, r: &StoredRequest) -> Result<(), StoreError> {
        self.txn.open_table(REQUESTS)?.insert(k, to_json(r).as_slice())?;
        Ok(())
    }

    /// Forget an L1 request (a reorg may have replaced it).
    pub fn remove_request(&self, k: u64) -> Result<(), StoreError> {
        self.txn.open_table(REQUESTS)?.remove(k)?;
        Ok(())
    }

    /// An L1 request by queue position.
    pub fn request(&self, k: u64) -> Result<Option<StoredRequest>, StoreError> {
        let t = self.txn.open_table(REQUESTS)?;
        let v = t.get(k)?.map(|v| from_json("requests", k, v.value())).transpose();
        v
    }

    /// Store a batch, and move the stage heads it reached (stages are reached in id order).
    pub fn put_batch(&self, b: &StoredBatch) -> Result<(), StoreError> {
        self.txn.open_table(BATCHES)?.insert(b.id, to_json(b).as_slice())?;
        let reached = match b.status {
            BatchStatus::Sealed => 1,
            BatchStatus::Proved => 2,
            BatchStatus::Submitted => 3,
            BatchStatus::Confirmed => 4,
            BatchStatus::Failed => {
                // The first failure is the cause; later batches fail behind it (F11).
                if self.meta::<u64>("failed_batch")?.is_none_or(|first| first > b.id) {
                    self.set_meta("failed_batch", &b.id)?;
                }
                2
            }
        };
        for key in &HEAD_KEYS[..reached] {
            if self.meta::<u64>(key)?.unwrap_or(0) < b.id {
                self.set_meta(key, &b.id)?;
            }
        }
        Ok(())
    }

    /// A batch by id.
    pub fn batch(&self, id: u64) -> Result<Option<StoredBatch>, StoreError> {
        let t = self.txn.open_table(BATCHES)?;
        let v = t.get(id)?.map(|v| from_json("batches", id, v.value())).transpose();
        v
    }
}

/// Every account in a stage's table, decoded.
fn read_accounts(t: &impl ReadableTable<u32, &'static [u8]>) -> Result<Vec<(u32, Account)>, StoreError> {
    let mut out = Vec::new();
    for entry in t.iter()? {
        let (k, v) = entry?;
        let a = decode_account(v.value()).map_err(|problem| StoreError::Corrupt { table: "accounts", key: k.value().to_string(), problem })?;
        out.push((k.value(), a));
    }
    Ok(out)
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A root as the store and API write it: decimal.
pub fn root_text(root: Fr) -> String {
    zkrollup::decimal::fr_to_decimal(root)
}
