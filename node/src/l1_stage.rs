//! The L1 stage: watches the rollup for `L1Request` events once they have enough confirmations
//! and hands them to the mempool; sends proved batches with `submitBatch`, one at a time in id
//! order, and follows each to confirmation (resending when it is stuck).
//!
//! No batch is sent twice: before sending, the stage reads the contract's `batchCount`; a batch
//! already counted there (sent before a crash that lost the record) is marked confirmed after its
//! root is checked against the contract's. A batch the contract refuses stops the stage: the
//! node reports it (`GET /v1/batches/{id}`, `/v1/status`) for an operator to look at.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::collections::HashMap;
use std::time::{Duration, Instant};

use ark_ff::PrimeField;
use revm::primitives::U256;
use zkrollup::Fr;

use crate::l1::{L1Error, RollupView, SignedTx, L1};
use crate::metrics::Metrics;
use crate::sequencer::Sequencer;
use crate::store::{now_ms, root_text, BatchStatus, Stage, Store, StoredBatch, StoredTx};

/// What the stage last saw of L1, for `/v1/status`.
#[derive(Clone, Debug, Default)]
pub struct L1Seen {
    /// The head's number.
    pub head: u64,
    /// The contract's state.
    pub rollup: Option<RollupView>,
    /// The last error from L1, if the last step failed.
    pub error: Option<String>,
}

/// The stage.
pub struct L1Stage<B: L1> {
    /// The L1.
    pub l1: B,
    /// The store.
    pub store: Arc<Store>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The mempool the watcher feeds.
    pub sequencer: Arc<Mutex<Sequencer>>,
    /// Blocks a request or batch needs on top of it (1: the block that holds it is enough).
    pub confirmations: u64,
    /// A sent batch not mined after this long is sent again with a higher fee.
    pub resend_after: Duration,
    /// What the stage saw last.
    pub seen: Arc<Mutex<L1Seen>>,
    /// The genesis root, for a check at batch 0.
    pub genesis_root: Fr,
    /// When each waiting batch's transaction was last broadcast (this run).
    pub last_broadcast: HashMap<u64, Instant>,
}

/// A root as a field element from an L1 word.
pub fn root_of(word: U256) -> Fr {
    Fr::from_be_bytes_mod_order(&word.to_be_bytes::<32>())
}

impl<B: L1> L1Stage<B> {
    /// Check the store against L1 on start: the contract must not be behind the batches the
    /// node recorded as confirmed, and at the last of those its root must be the node's.
    pub fn check_on_start(&mut self) -> Result<(), String> {
        let view = self.l1.rollup().map_err(|e| e.to_string())?;
        let head = self.l1.head().map_err(|e| e.to_string())?;
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = L1Seen { head: head.number, rollup: Some(view), error: None };
        let confirmed = self.store.stage_heads().map_err(|e| e.to_string())?[3];
        if view.batch_count < confirmed {
            return Err(format!(
                "L1 has {} batches but the node recorded {confirmed} as confirmed: wrong chain or contract?",
                view.batch_count
            ));
        }
        let expected = self.root_after(view.batch_count)?;
        match expected {
            Some(root) if root_text(root_of(view.state_root)) == root => Ok(()),
            Some(root) => Err(format!(
                "L1 root after batch {} is {}, the node's is {root}",
                view.batch_count,
                root_text(root_of(view.state_root))
            )),
            None => Err(format!("L1 has batch {} which this node never sealed", view.batch_count)),
        }
    }

    /// The root the node's batch `id` left (the genesis root for 0), if the node has it.
    fn root_after(&self, id: u64) -> Result<Option<String>, String> {
        if id == 0 {
            return Ok(Some(root_text(self.genesis_root)));
        }
        Ok(self.store.batch(id).map_err(|e| e.to_string())?.map(|b| b.new_root))
    }

    /// One round: watch, then submit or follow.
    pub fn step(&mut self) -> Result<(), L1Error> {
        let head = self.l1.head()?;
        // Requests with enough confirmations.
        let cursor: u64 = self.store.meta("l1_cursor").map_err(|e| L1Error::Bad(e.to_string()))?.unwrap_or(0);
        let safe = (head.number + 1).saturating_sub(self.confirmations);
        if safe > cursor {
            let logs = self.l1.l1_requests(cursor + 1, safe)?;
            let mut seq = self.sequencer.lock().unwrap_or_else(|p| p.into_inner());
            seq.add_requests(&logs, safe).map_err(L1Error::Bad)?;
        }
        let view = self.l1.rollup()?;
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            seen.head = head.number;
            seen.rollup = Some(view);
            seen.error = None;
        }
        let heads = self.store.stage_heads().map_err(|e| L1Error::Bad(e.to_string()))?;
        let next = heads[3] + 1;
        let Some(b) = self.store.batch(next).map_err(|e| L1Error::Bad(e.to_string()))? else { return Ok(()) };
        match b.status {
            BatchStatus::Sealed | BatchStatus::Failed | BatchStatus::Confirmed => Ok(()),
            BatchStatus::Proved => self.send(b, &view),
            BatchStatus::Submitted => self.follow(b, &view, head.number),
        }
    }

    fn send(&mut self, mut b: StoredBatch, view: &RollupView) -> Result<(), L1Error> {
        if view.batch_count >= b.id {
            // Counted on L1 already (the record of its sending was lost): never send it again.
            return self.confirm(b, None);
        }
        let calldata = hex::decode(b.calldata.as_deref().unwrap_or_default()).map_err(|e| L1Error::Bad(e.to_string()))?;
        let nonce = self.l1.sequencer_nonce()?;
        let tx = self.l1.sign_batch(&calldata, nonce, 0)?;
        b.status = BatchStatus::Submitted;
        b.tx = Some(StoredTx {
            hashes: vec![hex::encode(tx.hash)],
            raw: hex::encode(&tx.raw),
            nonce,
            sent_ms: now_ms(),
            attempts: 1,
            block: None,
            gas_used: None,
        });
        // Stored first, broadcast second: after a crash in between, the same bytes go out again.
        self.put(&b, None)?;
        Metrics::inc(&self.metrics.batches, "submitted");
        self.broadcast(b.id, &tx)
    }

    fn broadcast(&mut self, batch: u64, tx: &SignedTx) -> Result<(), L1Error> {
        self.last_broadcast.insert(batch, Instant::now());
        self.l1.broadcast(tx)
    }

    fn follow(&mut self, mut b: StoredBatch, view: &RollupView, head: u64) -> Result<(), L1Error> {
        let tx = b.tx.clone().ok_or_else(|| L1Error::Bad(format!("batch {} submitted without a transaction", b.id)))?;
        let bad_hash = || L1Error::Bad(format!("batch {}: bad stored transaction", b.id));
        let mut mined = None;
        for h in &tx.hashes {
            let hash: [u8; 32] = hex::decode(h).ok().and_then(|h| h.try_into().ok()).ok_or_else(bad_hash)?;
            if let Some(r) = self.l1.receipt(hash)? {
                mined = Some(r);
                break;
            }
        }
        let raw = hex::decode(&tx.raw).map_err(|_| bad_hash())?;
        let last = SignedTx {
            hash: hex::decode(tx.hashes.last().ok_or_else(bad_hash)?).ok().and_then(|h| h.try_into().ok()).ok_or_else(bad_hash)?,
            raw,
            nonce: tx.nonce,
        };
        match mined {
            Some(r) if r.success => {
                if head + 1 >= r.block + self.confirmations {
                    return self.confirm(b, Some(r));
                }
                Ok(())
            }
            Some(r) => {
                // Refused by the contract: stop here for the operator.
                b.status = BatchStatus::Failed;
                b.failure = Some(format!("submitBatch reverted in block {}: 0x{}", r.block, hex::encode(&r.revert)));
                eprintln!("zkrollup-node: batch {} {}", b.id, b.failure.as_deref().unwrap_or_default());
                Metrics::inc(&self.metrics.batches, "failed");
                self.put(&b, None)
            }
            None if view.batch_count >= b.id => self.confirm(b, None),
            None if now_ms().saturating_sub(tx.sent_ms) > self.resend_after.as_millis() as u64 => {
                // Stuck: the same nonce with a higher fee replaces it.
                let calldata =
                    hex::decode(b.calldata.as_deref().unwrap_or_default()).map_err(|e| L1Error::Bad(e.to_string()))?;
                let next = self.l1.sign_batch(&calldata, tx.nonce, tx.attempts)?;
                let mut hashes = tx.hashes.clone();
                hashes.push(hex::encode(next.hash));
                b.tx = Some(StoredTx { hashes, raw: hex::encode(&next.raw), sent_ms: now_ms(), attempts: tx.attempts + 1, ..tx });
                self.put(&b, None)?;
                self.broadcast(b.id, &next)
            }
            None => {
                // Not mined yet: broadcast again now and then, in case the L1 node restarted and
                // lost its pool, or this node restarted before its first broadcast.
                let due = self.last_broadcast.get(&b.id).is_none_or(|t| t.elapsed() > Duration::from_secs(2));
                if due {
                    self.broadcast(b.id, &last)?;
                }
                Ok(())
            }
        }
    }

    fn confirm(&mut self, mut b: StoredBatch, receipt: Option<crate::l1::Receipt>) -> Result<(), L1Error> {
        let view = self.l1.rollup()?;
        if view.batch_count == b.id && root_text(root_of(view.state_root)) != b.new_root {
            return Err(L1Error::Bad(format!(
                "L1 root after batch {} is {}, the node's is {}",
                b.id,
                root_text(root_of(view.state_root)),
                b.new_root
            )));
        }
        if let (Some(r), Some(tx)) = (&receipt, b.tx.as_mut()) {
            tx.block = Some(r.block);
            tx.gas_used = Some(r.gas_used);
            self.metrics.l1_gas.inc_by(r.gas_used);
        }
        b.status = BatchStatus::Confirmed;
        b.confirmed_ms = Some(now_ms());
        let writes: Vec<_> = b.writes.iter().map(|(i, a)| (*i, a.0)).collect();
        self.put(&b, Some(&writes))?;
        Metrics::inc(&self.metrics.batches, "confirmed");
        let now = now_ms();
        for id in &b.transfers {
            if let Ok(Some(t)) = self.store.transfer(*id) {
                self.metrics.confirmation_seconds.observe(now.saturating_sub(t.accepted_ms) as f64 / 1000.0);
            }
        }
        Ok(())
    }

    fn put(&self, b: &StoredBatch, confirmed: Option<&[(u32, zkrollup::Account)]>) -> Result<(), L1Error> {
        let bad = |e: crate::store::StoreError| L1Error::Bad(e.to_string());
        let txn = self.store.begin().map_err(bad)?;
        txn.put_batch(b).map_err(bad)?;
        if let Some(w) = confirmed {
            txn.put_accounts(Stage::Confirmed, w).map_err(bad)?;
        }
        txn.commit().map_err(bad)
    }

    /// Run rounds every `poll` until `stop`; L1 errors are reported and retried, store errors
    /// are fatal.
    pub fn run(mut self, poll: Duration, stop: Arc<AtomicBool>) -> Result<(), String> {
        while !stop.load(Ordering::Relaxed) {
            match self.step() {
                Ok(()) => {}
                Err(L1Error::Unavailable(e)) => {
                    self.seen.lock().unwrap_or_else(|p| p.into_inner()).error = Some(e);
                }
                Err(L1Error::Bad(e)) => return Err(e),
            }
            std::thread::sleep(poll);
        }
        Ok(())
    }
}
