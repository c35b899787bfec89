//! The one small durable store the payer and the payee each keep (redb): a value per channel
//! and the deployment and party it was made for, each change one durable transaction.

use std::path::Path;

use alloy::primitives::Address;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

const PER_CHANNEL: TableDefinition<u64, &[u8]> = TableDefinition::new("per_channel");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// Why the store failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// redb's own errors (I/O, a second process holding the file).
    #[error("store: {0}")]
    Db(String),
    /// The file was made for another contract, chain or party.
    #[error("store {path} was made for {made_for}, not {this}")]
    OtherDeployment {
        /// The file.
        path: String,
        /// What it was made for.
        made_for: String,
        /// What this run is for.
        this: String,
    },
}

fn bad(e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(e.to_string())
}

/// A store of one value per channel, for one party of one deployment.
pub struct ChannelStore {
    db: Database,
}

impl ChannelStore {
    /// Open (or make) the store at `path` for `party` on the contract `contract` of chain
    /// `chain_id`; one made for anything else is refused.
    pub fn open(path: &Path, chain_id: u64, contract: Address, party: Address) -> Result<ChannelStore, StoreError> {
        let db = Database::create(path).map_err(bad)?;
        let this = format!("chain {chain_id}, contract {contract}, party {party}");
        let w = db.begin_write().map_err(bad)?;
        {
            let mut meta = w.open_table(META).map_err(bad)?;
            w.open_table(PER_CHANNEL).map_err(bad)?;
            let made_for = meta.get("made_for").map_err(bad)?.map(|v| String::from_utf8_lossy(v.value()).into_owned());
            match made_for {
                None => {
                    meta.insert("made_for", this.as_bytes()).map_err(bad)?;
                }
                Some(m) if m == this => {}
                Some(made_for) => return Err(StoreError::OtherDeployment { path: path.display().to_string(), made_for, this }),
            }
        }
        w.commit().map_err(bad)?;
        Ok(ChannelStore { db })
    }

    /// Channel `id`'s value, if any.
    pub fn get(&self, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let r = self.db.begin_read().map_err(bad)?;
        let t = r.open_table(PER_CHANNEL).map_err(bad)?;
        let v = t.get(id).map_err(bad)?.map(|v| v.value().to_vec());
        Ok(v)
    }

    /// Every channel's value, by id.
    pub fn all(&self) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let r = self.db.begin_read().map_err(bad)?;
        let t = r.open_table(PER_CHANNEL).map_err(bad)?;
        let mut out = Vec::new();
        for entry in t.iter().map_err(bad)? {
            let (k, v) = entry.map_err(bad)?;
            out.push((k.value(), v.value().to_vec()));
        }
        Ok(out)
    }

    /// Replace channel `id`'s value with `update(old)` in one durable transaction, when
    /// `update` gives one; `update`'s answer either way.
    pub fn update<T, E>(&self, id: u64, update: impl FnOnce(Option<&[u8]>) -> Result<(Vec<u8>, T), E>) -> Result<Result<T, E>, StoreError> {
        let w = self.db.begin_write().map_err(bad)?;
        let answer = {
            let mut t = w.open_table(PER_CHANNEL).map_err(bad)?;
            let old = t.get(id).map_err(bad)?.map(|v| v.value().to_vec());
            match update(old.as_deref()) {
                Ok((new, answer)) => {
                    t.insert(id, new.as_slice()).map_err(bad)?;
                    Ok(answer)
                }
                Err(e) => Err(e),
            }
        };
        if answer.is_ok() {
            w.commit().map_err(bad)?;
        }
        Ok(answer)
    }
}
