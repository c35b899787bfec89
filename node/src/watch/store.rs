//! The watcher's own durable store (redb): the batches it has read and its verdict on each,
//! the challenges open, and its cursor on L1. Everything one round of events changes is one
//! transaction, so a watcher killed at any moment starts again from the last whole round.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zkrollup::optimistic::{PostedBatch, StoredBatch};
use zkrollup::Fr;

use crate::store::StoreError;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const BATCHES: TableDefinition<u64, &[u8]> = TableDefinition::new("batches");
const CHALLENGES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("challenges");

/// What the watcher concluded of a batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// The model re-applied it to the root posted: it can be proved, and is never challenged.
    Accepted,
    /// The model refuses it (`rule`): it cannot be proved, so it is challenged.
    Refused {
        /// The rule's short name.
        rule: String,
        /// The model's words.
        reason: String,
    },
    /// Its data could not be read (posted through another contract, say): never challenged,
    /// and nothing after it can be checked; said loudly.
    Unreadable {
        /// Why.
        reason: String,
    },
    /// Built on batch `after`, which was refused or unreadable: it falls with that one.
    Unchecked {
        /// The batch it is built on that the model could not take.
        after: u64,
    },
}

/// A batch as the watcher read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchedBatch {
    /// Its id.
    pub id: u64,
    /// Its stored record (ABI hex); None for a batch final at once (the hybrid's).
    pub record: Option<String>,
    /// Its data as posted: new root, l1Data, l2Data, sigData (hex); None when unreadable.
    pub data: Option<[String; 4]>,
    /// Taken with its proof (the hybrid): its signatures never reached L1.
    pub proved_on_l1: bool,
    /// The verdict.
    pub verdict: Verdict,
    /// Its payouts bytes (hex), once accepted: what `finalizeBatches` is given for it.
    #[serde(default)]
    pub payouts: Option<String>,
    /// The block that logged it.
    pub block: u64,
}

impl WatchedBatch {
    /// The stored record.
    pub fn record(&self) -> Option<StoredBatch> {
        self.record.as_deref().and_then(|h| hex::decode(h).ok()).and_then(|b| StoredBatch::abi_decode(&b))
    }

    /// The batch's data as posted.
    pub fn posted(&self) -> Option<PostedBatch> {
        let [root, l1, l2, sig] = self.data.as_ref()?;
        let root: [u8; 32] = hex::decode(root).ok()?.try_into().ok()?;
        Some(PostedBatch {
            new_root: <Fr as ark_ff::PrimeField>::from_be_bytes_mod_order(&root),
            l1_data: hex::decode(l1).ok()?,
            l2_data: hex::decode(l2).ok()?,
            sig_data: hex::decode(sig).ok()?,
        })
    }

    /// The data of `p` as stored.
    pub fn data_of(p: &PostedBatch) -> [String; 4] {
        [hex::encode(zkrollup::export::calldata::word(p.new_root)), hex::encode(&p.l1_data), hex::encode(&p.l2_data), hex::encode(&p.sig_data)]
    }
}

/// An open challenge (one not yet proved, resolved or refunded).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchedChallenge {
    /// The challenged record (ABI hex).
    pub record: String,
    /// Who challenged (hex).
    pub challenger: String,
    /// When its response window closes.
    pub deadline: u64,
}

impl WatchedChallenge {
    /// The challenged record.
    pub fn record(&self) -> Option<StoredBatch> {
        hex::decode(&self.record).ok().and_then(|b| StoredBatch::abi_decode(&b))
    }
}

/// The watcher's store.
pub struct WatchStore {
    db: Database,
}

/// One round's changes, committed at once.
pub struct WatchTxn {
    txn: WriteTransaction,
}

fn corrupt(table: &'static str, key: String, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { table, key, problem: e.to_string() }
}

impl WatchStore {
    /// Open (or create) the store at `path`.
    pub fn open(path: &Path) -> Result<WatchStore, StoreError> {
        let store = WatchStore { db: Database::create(path)? };
        let t = store.begin()?;
        t.txn.open_table(META)?;
        t.txn.open_table(BATCHES)?;
        t.txn.open_table(CHALLENGES)?;
        t.commit()?;
        Ok(store)
    }

    /// Begin a write transaction.
    pub fn begin(&self) -> Result<WatchTxn, StoreError> {
        Ok(WatchTxn { txn: self.db.begin_write()? })
    }

    /// A meta value.
    pub fn meta<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(META)?;
        let value = t.get(key)?;
        let out = match value {
            Some(v) => Some(serde_json::from_slice(v.value()).map_err(|e| corrupt("meta", key.into(), e))?),
            None => None,
        };
        Ok(out)
    }

    /// Every batch read, in order.
    pub fn batches(&self) -> Result<Vec<WatchedBatch>, StoreError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(BATCHES)?;
        let mut out = Vec::new();
        for entry in t.iter()? {
            let (k, v) = entry?;
            out.push(serde_json::from_slice(v.value()).map_err(|e| corrupt("batches", k.value().to_string(), e))?);
        }
        Ok(out)
    }

    /// Every open challenge.
    pub fn challenges(&self) -> Result<Vec<WatchedChallenge>, StoreError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(CHALLENGES)?;
        let mut out = Vec::new();
        for entry in t.iter()? {
            let (k, v) = entry?;
            out.push(serde_json::from_slice(v.value()).map_err(|e| corrupt("challenges", hex::encode(k.value()), e))?);
        }
        Ok(out)
    }
}

impl WatchTxn {
    /// Set a meta value.
    pub fn put_meta<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).map_err(|e| corrupt("meta", key.into(), e))?;
        self.txn.open_table(META)?.insert(key, bytes.as_slice())?;
        Ok(())
    }

    /// Store a batch (over any earlier one of its id).
    pub fn put_batch(&self, b: &WatchedBatch) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(b).map_err(|e| corrupt("batches", b.id.to_string(), e))?;
        self.txn.open_table(BATCHES)?.insert(b.id, bytes.as_slice())?;
        Ok(())
    }

    /// Drop batches `from ..` (reverted).
    pub fn drop_batches_from(&self, from: u64) -> Result<(), StoreError> {
        let mut t = self.txn.open_table(BATCHES)?;
        t.retain_in(from.., |_, _| false)?;
        Ok(())
    }

    /// Record an open challenge, by its record's hash.
    pub fn put_challenge(&self, hash: &[u8; 32], c: &WatchedChallenge) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(c).map_err(|e| corrupt("challenges", hex::encode(hash), e))?;
        self.txn.open_table(CHALLENGES)?.insert(hash.as_slice(), bytes.as_slice())?;
        Ok(())
    }

    /// Close a challenge.
    pub fn close_challenge(&self, hash: &[u8; 32]) -> Result<(), StoreError> {
        self.txn.open_table(CHALLENGES)?.remove(hash.as_slice())?;
        Ok(())
    }

    /// Forget everything read (a reorg under the cursor: read again from the first block).
    pub fn clear(&self) -> Result<(), StoreError> {
        self.txn.open_table(BATCHES)?.retain(|_, _| false)?;
        self.txn.open_table(CHALLENGES)?.retain(|_, _| false)?;
        Ok(())
    }

    /// Commit, durably.
    pub fn commit(self) -> Result<(), StoreError> {
        self.txn.commit()?;
        Ok(())
    }
}
