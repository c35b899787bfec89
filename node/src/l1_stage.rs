//! The L1 stage: watches the rollup for `L1Request` events once their block is final (the
//! `finalized` tag by default, or a depth: [`Finality`]) and hands them to the mempool; sends
//! proved batches with `submitBatch` in id order at consecutive nonces, several in flight, and
//! follows each to confirmation at the same finality (resending when it is stuck).
//!
//! No batch is sent twice: before sending, the stage reads the contract's `batchCount`; a batch
//! already counted there (sent before a crash that lost the record) is marked confirmed after its
//! root is checked against the contract's. A batch the contract refuses, once the refusal is
//! final, leads to a rewind ([`crate::rewind`]) when nothing sent after it can land any more.
//! The watcher's cursor keeps its block's hash: when a reorg replaces that block, the node
//! rewinds and reads the requests no confirmed batch consumed again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::collections::HashMap;
use std::time::{Duration, Instant};

use ark_ff::PrimeField;
use revm::primitives::U256;
use zkrollup::Fr;

use crate::l1::{Finality, L1Error, LoggedRequest, RollupView, SignedTx, FALLBACK_DEPTH, L1};
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
    /// When a block's requests and receipts are final enough to act on.
    pub finality: Finality,
    /// A sent batch not mined after this long is sent again with a higher fee.
    pub resend_after: Duration,
    /// Batches sent and not yet confirmed, at most (at consecutive nonces).
    pub max_in_flight: u64,
    /// What the stage saw last.
    pub seen: Arc<Mutex<L1Seen>>,
    /// The genesis root, for a check at batch 0.
    pub genesis_root: Fr,
    /// The first block that can hold the rollup's events (its deployment's): the watcher starts
    /// there on a fresh store.
    pub first_block: u64,
    /// The most blocks one `eth_getLogs` query spans (`--log-range`).
    pub log_range: u64,
    /// Rounds in a row that found the next batch would revert, and when the first was.
    pub doomed: Option<(u32, Instant)>,
    /// When each waiting batch's transaction was last broadcast (this run).
    pub last_broadcast: HashMap<u64, Instant>,
    /// Whether the L1 node was found without a `finalized` tag (said once).
    pub no_finalized_tag: bool,
    /// Optimistic settlement (SPEC-v3): L1 can revert confirmed batches, and posting holds
    /// while a challenge is open.
    pub optimistic: bool,
}

/// The last transaction a batch's record holds, as signed.
fn stored_signed(tx: &StoredTx) -> Result<SignedTx, L1Error> {
    let bad = || L1Error::Bad(format!("bad stored transaction at nonce {}", tx.nonce));
    Ok(SignedTx {
        hash: tx.hashes.last().and_then(|h| hex::decode(h).ok()).and_then(|h| h.try_into().ok()).ok_or_else(bad)?,
        raw: hex::decode(&tx.raw).map_err(|_| bad())?,
        nonce: tx.nonce,
    })
}

/// The most blocks one `eth_getLogs` query spans, by default.
pub const LOG_RANGE: u64 = 2000;

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
        if self.optimistic && view.batch_count < confirmed {
            // Reverted by a challenge (SPEC-v3): the first round follows it.
            eprintln!("zkrollup-node: L1 counts {} batches, the node confirmed {confirmed}: reverted on L1; following", view.batch_count);
            return Ok(());
        }
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

    /// The newest block whose requests and receipts the node acts on.
    fn safe_block(&mut self, head: u64) -> Result<u64, L1Error> {
        let depth = match self.finality {
            Finality::Depth(d) => d,
            Finality::Finalized => match self.l1.finalized()? {
                Some(b) => return Ok(b.number.min(head)),
                None => {
                    if !self.no_finalized_tag {
                        self.no_finalized_tag = true;
                        eprintln!("zkrollup-node: the L1 node has no `finalized` block: a block is final at depth {FALLBACK_DEPTH}");
                    }
                    FALLBACK_DEPTH
                }
            },
        };
        Ok((head + 1).saturating_sub(depth))
    }

    /// One round: watch, then submit or follow; while a rewind is asked for, only follow the
    /// batches in flight until none can land any more, then restart to carry it out.
    pub fn step(&mut self) -> Result<(), L1Error> {
        let bad = |e: crate::store::StoreError| L1Error::Bad(e.to_string());
        let head = self.l1.head()?;
        let safe = self.safe_block(head.number)?;
        if crate::rewind::requested(&self.store).map_err(bad)?.is_none() {
            self.watch(safe)?;
        }
        let rewinding = crate::rewind::requested(&self.store).map_err(bad)?;
        let view = self.l1.rollup()?;
        // What is final: the batches counted there can no longer be taken back. Before the
        // rollup's first block (it was just deployed) that is nothing.
        let settled = if safe >= head.number {
            view
        } else if safe < self.first_block {
            RollupView { state_root: U256::ZERO, batch_count: 0, consumed: 0, request_count: 0 }
        } else {
            self.l1.rollup_at(safe)?
        };
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            seen.head = head.number;
            seen.rollup = Some(view);
            seen.error = None;
        }
        self.measure_queue(&head, &view);
        let heads = self.store.stage_heads().map_err(bad)?;
        if let Some(asked) = rewinding.as_ref().filter(|r| r.revert) {
            // Nothing is followed any more: the posts in flight were cancelled.
            if self.stands_at(&view, asked.from_batch - 1)? {
                crate::node::restart_in_place(&format!("carrying out the rewind asked for ({})", asked.reason));
            }
            self.seen.lock().unwrap_or_else(|p| p.into_inner()).error =
                Some(format!("a rewind waits for L1 to stand at batch {}: {}", asked.from_batch - 1, asked.reason));
            return Ok(());
        }
        if self.optimistic && rewinding.is_none() && settled.batch_count < heads[3] {
            return self.after_revert(&view, &settled, heads);
        }
        // Follow the batches in flight, oldest first. They were sent at consecutive nonces, so
        // L1 mines them in order; one is confirmed only after every earlier one.
        let mut all_confirmed = true;
        let mut next_nonce = None;
        for id in heads[3] + 1..=heads[2] {
            let Some(b) = self.store.batch(id).map_err(bad)? else { break };
            match b.status {
                BatchStatus::Submitted => {
                    next_nonce = b.tx.as_ref().map(|t| t.nonce + 1);
                    let only = heads[2] == id && heads[3] + 1 == id;
                    all_confirmed &= self.follow(b, &settled, safe, all_confirmed, only)?;
                }
                BatchStatus::Confirmed => {}
                // A refused batch: once nothing sent after it can still land, rewind.
                BatchStatus::Failed if rewinding.is_none() => return self.after_failure(&b, &view, heads),
                BatchStatus::Failed | BatchStatus::Sealed | BatchStatus::Proved => break,
            }
        }
        let heads = self.store.stage_heads().map_err(bad)?;
        if let Some(asked) = rewinding {
            if self.nothing_left_to_land(&view, heads)? {
                crate::node::restart_in_place(&format!("carrying out the rewind asked for ({})", asked.reason));
            }
            // Said in /readyz and /v1/status while the batches in flight land or fail.
            self.seen.lock().unwrap_or_else(|p| p.into_inner()).error =
                Some(format!("a rewind waits for the transactions in flight to land or fail: {}", asked.reason));
            return Ok(());
        }
        // Send the next proved batch while fewer than `max_in_flight` wait.
        if heads[2].saturating_sub(heads[3]) >= self.max_in_flight.max(1) || self.store.failed_batch().map_err(bad)?.is_some() {
            return Ok(());
        }
        match self.store.batch(heads[2].max(heads[3]) + 1).map_err(bad)? {
            Some(b) if b.status == BatchStatus::Proved => {
                if self.optimistic {
                    if let Some(why) = self.l1.post_hold(heads[3])? {
                        return Err(L1Error::Refused { kind: "post_held", message: format!("batch {} waits: {why}", b.id) });
                    }
                }
                self.send(b, &view, &settled, heads[3], next_nonce)
            }
            _ => Ok(()),
        }
    }

    /// The L1 gauges: the head, when L1 was read, and the queue's length and its oldest
    /// request's age by L1's clock (what `maturity` and `exodusDelay` are measured against).
    fn measure_queue(&mut self, head: &crate::l1::Head, view: &RollupView) {
        let m = &self.metrics;
        m.l1_head.set(head.number as i64);
        m.l1_head_timestamp.set(head.timestamp as i64);
        m.l1_last_read.set((now_ms() / 1000) as i64);
        let waiting = view.request_count.saturating_sub(view.consumed);
        m.l1_requests_waiting.set(waiting as i64);
        if waiting == 0 {
            m.l1_oldest_request_age.set(0);
            return;
        }
        // The views were read at a head at or past `head`: a request queued after it reads as
        // time 0 there, and the gauge keeps its last value for a round, as it does when the read
        // fails (a gauge is not worth failing the round that moves batches).
        if let Ok(queued) = self.l1.request_time_at(view.consumed + 1, head.number) {
            if queued > 0 {
                m.l1_oldest_request_age.set(head.timestamp.saturating_sub(queued) as i64);
            }
        }
    }

    /// Whether L1 (`view`) counts exactly `kept` batches, at the root the node has for batch
    /// `kept`.
    fn stands_at(&self, view: &RollupView, kept: u64) -> Result<bool, L1Error> {
        let kept_root = self.root_after(kept).map_err(L1Error::Bad)?;
        Ok(view.batch_count == kept && kept_root.as_deref() == Some(root_text(root_of(view.state_root)).as_str()))
    }

    /// L1 (at the last final block, `settled`) counts fewer batches than the node confirmed: a
    /// challenge reverted them (optimistic settlement). `postBatch` binds neither the batch's id
    /// nor its old root, so a post still in flight would land on the reverted base, unprovable:
    /// each is first replaced at its nonce by a transaction that does nothing. Once every nonce
    /// the node used is spent and L1 stands at the root the node has for the last kept batch,
    /// the node rewinds to it and posts the dropped operations again.
    fn after_revert(&mut self, view: &RollupView, settled: &RollupView, heads: [u64; 4]) -> Result<(), L1Error> {
        let bad = |e: crate::store::StoreError| L1Error::Bad(e.to_string());
        let kept = settled.batch_count;
        let mut sent = Vec::new();
        for id in heads[3] + 1..=heads[2] {
            if let Some(tx) = self.store.batch(id).map_err(bad)?.filter(|b| b.status == BatchStatus::Submitted).and_then(|b| b.tx) {
                sent.push(tx);
            }
        }
        let spent = self.l1.sequencer_nonce()?;
        let waiting: Vec<&StoredTx> = sent.iter().filter(|t| t.nonce >= spent).collect();
        if !waiting.is_empty() {
            for tx in &waiting {
                let last = stored_signed(tx)?;
                match self.l1.sign_cancel(tx.nonce, &last).and_then(|c| self.l1.broadcast(&c)) {
                    Ok(()) | Err(L1Error::Refused { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            return Err(L1Error::Unavailable(format!(
                "L1 reverted batches {}..={}: cancelling the {} posts in flight (nonces {}..) before posting again",
                kept + 1,
                heads[3],
                waiting.len(),
                spent
            )));
        }
        if !self.stands_at(view, kept)? {
            // A post landed after the revert, on its base: it cannot be proved, and waits for
            // its own challenge.
            return Err(L1Error::Refused {
                kind: "reverted_base",
                message: format!(
                    "L1 reverted to batch {kept}, then counts {} batches at root {}, not the node's batch {kept}: waiting for \
                     the batches posted on the reverted base to be challenged and reverted too",
                    view.batch_count,
                    root_text(root_of(view.state_root))
                ),
            });
        }
        let reason = format!("L1 reverted batches {}..={} after a challenge", kept + 1, heads[3]);
        crate::rewind::request_revert(&self.store, &reason, kept).map_err(bad)?;
        Metrics::inc(&self.metrics.batches, "reverted");
        crate::node::restart_in_place(&reason)
    }

    /// Read the requests in final blocks past the cursor (at most `log_range` blocks a round),
    /// after checking that the cursor's block is still the one read (otherwise a reorg replaced
    /// it: a rewind that reads the requests again is asked for).
    fn watch(&mut self, safe: u64) -> Result<(), L1Error> {
        let bad = |e: crate::store::StoreError| L1Error::Bad(e.to_string());
        let cursor: u64 = self.store.meta("l1_cursor").map_err(bad)?.unwrap_or(self.first_block.saturating_sub(1));
        let read: Option<String> = self.store.meta("l1_cursor_hash").map_err(bad)?;
        if let Some(read) = &read {
            if !self.still_canonical(cursor, read)? {
                return self.reorg(cursor);
            }
        }
        if safe <= cursor {
            return Ok(());
        }
        // At most `log_range` blocks a query: providers refuse wider ones.
        let to = safe.min(cursor + self.log_range.max(1));
        let to_block = self.l1.block_at(to)?.ok_or_else(|| L1Error::Unavailable(format!("L1 has no block {to} yet")))?;
        let logs = self.l1.l1_requests(cursor + 1, to)?;
        let next_k = self.sequencer.lock().unwrap_or_else(|p| p.into_inner()).next_request();
        self.check_requests(&logs, next_k, cursor, to)?;
        // Nothing was replaced while it was read: the cursor's block and block `to` are the
        // ones they were before.
        let moved = self.l1.block_at(to)? != Some(to_block);
        let cursor_moved = match &read {
            Some(read) => !self.still_canonical(cursor, read)?,
            None => false,
        };
        if moved || cursor_moved {
            return Err(L1Error::Unavailable(format!("L1 reorganized blocks {}..={to} while they were read: reading again", cursor + 1)));
        }
        let mut seq = self.sequencer.lock().unwrap_or_else(|p| p.into_inner());
        seq.add_requests(&logs, to, &hex::encode(to_block.hash)).map_err(L1Error::Bad)
    }

    /// Whether block `number` is still the one with hash `read` (hex). An L1 node that does not
    /// have the block (one behind the others of a load-balanced provider) is no evidence of a
    /// reorg: asked again next round.
    fn still_canonical(&mut self, number: u64, read: &str) -> Result<bool, L1Error> {
        match self.l1.block_at(number)? {
            Some(b) => Ok(hex::encode(b.hash) == read),
            None => Err(L1Error::Unavailable(format!("L1 does not have block {number}, which the node read up to (behind?)"))),
        }
    }

    /// A reorg replaced block `cursor`, whose requests (and those before it) the node read:
    /// ask for a rewind that reads every request no confirmed batch consumed again.
    fn reorg(&mut self, cursor: u64) -> Result<(), L1Error> {
        let reason = format!("L1 reorganized: block {cursor}, read up to, was replaced");
        eprintln!("zkrollup-node: {reason}: the requests not yet consumed will be read again");
        self.metrics.l1_reorgs.inc();
        crate::rewind::request_reread(&self.store, &reason).map_err(|e| L1Error::Bad(e.to_string()))
    }

    /// Whether nothing this node sent after its last confirmed batch can land any more: L1
    /// counts exactly the confirmed batches and every nonce used since is spent (mined,
    /// reverted or taken).
    fn nothing_left_to_land(&mut self, view: &RollupView, heads: [u64; 4]) -> Result<bool, L1Error> {
        if view.batch_count != heads[3] {
            return Ok(false);
        }
        let bad = |e: crate::store::StoreError| L1Error::Bad(e.to_string());
        let mut last_nonce = None;
        for id in heads[3] + 1..=heads[0] {
            if let Some(tx) = self.store.batch(id).map_err(bad)?.and_then(|b| b.tx) {
                last_nonce = last_nonce.max(Some(tx.nonce));
            }
        }
        match last_nonce {
            Some(n) => Ok(self.l1.sequencer_nonce()? > n),
            None => Ok(true),
        }
    }

    /// Batch `failed` was refused by L1. When L1 counts exactly the batches the node confirmed
    /// and every nonce the node used for a later batch is spent (mined, reverted or taken), no
    /// transaction of the node's can land any more: ask for a rewind and restart in place.
    fn after_failure(&mut self, failed: &StoredBatch, view: &RollupView, heads: [u64; 4]) -> Result<(), L1Error> {
        if !self.nothing_left_to_land(view, heads)? {
            return Ok(());
        }
        let reason = format!("batch {} was refused ({})", failed.id, failed.failure.as_deref().unwrap_or("reverted"));
        self.rewind(&reason)
    }

    /// Ask for a rewind and restart in place; when the same batch was rewound too often, say
    /// so instead (the node cannot go on by itself).
    fn rewind(&mut self, reason: &str) -> Result<(), L1Error> {
        match crate::rewind::request(&self.store, reason).map_err(|e| L1Error::Bad(e.to_string()))? {
            Ok(()) => {
                Metrics::inc(&self.metrics.batches, "rewound");
                crate::node::restart_in_place(reason)
            }
            Err(why) => Err(L1Error::Refused { kind: "halted", message: why }),
        }
    }

    /// An `eth_getLogs` answer is trusted only when it is whole (audit F2: load-balanced
    /// providers drop logs of recent blocks without an error): the requests it brings must
    /// follow on from the last one stored, the contract's `requestCount()` at block `to` must
    /// be the last of them, and its `requestAt` chain hash must be theirs. Otherwise nothing is
    /// stored, the cursor goes back to the block of the last stored request, and the range is
    /// read again next round.
    fn check_requests(&mut self, logs: &[LoggedRequest], next_k: u64, cursor: u64, to: u64) -> Result<(), L1Error> {
        let fresh: Vec<&LoggedRequest> = logs.iter().filter(|r| r.k >= next_k).collect();
        let contiguous = fresh.iter().enumerate().all(|(i, r)| r.k == next_k + i as u64);
        let last = next_k - 1 + fresh.len() as u64;
        let counted = self.l1.request_count_at(to)?;
        let mut problem = None;
        if !contiguous || counted != last {
            problem = Some(format!(
                "eth_getLogs over blocks {}..={to} gave requests up to {last}{}, the contract counts {counted} at block {to}",
                cursor + 1,
                if contiguous { "" } else { " with a gap" }
            ));
        } else if !fresh.is_empty() {
            let mut chain = self.l1.request_chain_at(next_k - 1, to)?;
            for r in &fresh {
                chain = crate::l1::chain_step(chain, &r.record);
            }
            if chain != self.l1.request_chain_at(last, to)? {
                problem = Some(format!("requests {next_k}..={last} as eth_getLogs gave them do not hash to the contract's chain at block {to}"));
            }
        }
        let Some(problem) = problem else { return Ok(()) };
        // Back to the block of the last stored request, whose successors went missing.
        let back = match next_k.checked_sub(1).filter(|k| *k > 0) {
            Some(k) => self.store.request(k).map_err(|e| L1Error::Bad(e.to_string()))?.map_or(cursor, |r| r.block.saturating_sub(1)),
            None => self.first_block.saturating_sub(1),
        };
        if back < cursor {
            let txn = self.store.begin().map_err(|e| L1Error::Bad(e.to_string()))?;
            txn.set_meta("l1_cursor", &back).map_err(|e| L1Error::Bad(e.to_string()))?;
            txn.remove_meta("l1_cursor_hash").map_err(|e| L1Error::Bad(e.to_string()))?;
            txn.commit().map_err(|e| L1Error::Bad(e.to_string()))?;
        }
        self.metrics.l1_rescans.inc();
        Err(L1Error::Unavailable(format!("{problem}: reading again from block {}", back.min(cursor) + 1)))
    }

    /// Send batch `b` (`view`: L1 at the head, `settled`: at the last final block); `confirmed`
    /// is the last confirmed batch, `next_nonce` the nonce after the last batch in flight (None
    /// when none is).
    fn send(&mut self, mut b: StoredBatch, view: &RollupView, settled: &RollupView, confirmed: u64, next_nonce: Option<u64>)
        -> Result<(), L1Error> {
        if view.batch_count >= b.id {
            // Counted on L1 already (the record of its sending was lost): never send it again.
            // Only the batch right after the confirmed ones is marked so, in order, once final.
            return if b.id == confirmed + 1 && settled.batch_count >= b.id { self.confirm(b, None, settled) } else { Ok(()) };
        }
        let calldata = hex::decode(b.calldata.as_deref().unwrap_or_default()).map_err(|e| L1Error::Bad(e.to_string()))?;
        let nonce = match next_nonce {
            Some(n) => n,
            None => self.l1.sequencer_nonce()?,
        };
        let tx = self.l1.sign_batch(&calldata, nonce, None)?;
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

    /// Follow a sent batch: confirm it (when `may_confirm`: every earlier batch is) or mark it
    /// failed once its receipt is in a block at or below `safe` (`settled`: L1 there), replace
    /// it when stuck, or broadcast it again. Whether it is confirmed now.
    fn follow(&mut self, mut b: StoredBatch, settled: &RollupView, safe: u64, may_confirm: bool, only_in_flight: bool)
        -> Result<bool, L1Error> {
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
        let last = stored_signed(&tx)?;
        match mined {
            // Not final yet: a reorg could still take it back, or mine it elsewhere.
            Some(r) if r.block > safe => Ok(false),
            Some(r) if r.success => {
                if may_confirm {
                    self.confirm(b, Some(r), settled)?;
                    return Ok(true);
                }
                Ok(false)
            }
            Some(r) => {
                // Refused by the contract, for good: a rewind follows once nothing sent after
                // it can land.
                b.status = BatchStatus::Failed;
                b.failure = Some(format!("submitBatch reverted in block {}: 0x{}", r.block, hex::encode(&r.revert)));
                eprintln!("zkrollup-node: batch {} {}", b.id, b.failure.as_deref().unwrap_or_default());
                Metrics::inc(&self.metrics.batches, "failed");
                self.put(&b, None)?;
                Ok(false)
            }
            None if settled.batch_count >= b.id => {
                // Counted on L1 while its receipt is out of reach (an L1 node that lost blocks'
                // history): the contract's count is what matters.
                if may_confirm {
                    self.confirm(b, None, settled)?;
                }
                Ok(may_confirm)
            }
            None if now_ms().saturating_sub(tx.sent_ms) > self.resend_after.as_millis() as u64 => {
                let calldata =
                    hex::decode(b.calldata.as_deref().unwrap_or_default()).map_err(|e| L1Error::Bad(e.to_string()))?;
                // The nonce used by a transaction that is none of this batch's (the key used
                // elsewhere): this one can never land at it (audit F4).
                if self.l1.sequencer_nonce()? > tx.nonce && !self.any_mined(&tx.hashes)? {
                    return self.nonce_taken(b, &calldata, only_in_flight);
                }
                // Stuck: the same nonce with a higher fee replaces it (within the fee caps; at
                // the cap it is broadcast again as it is, and the refusal shown).
                let next = match self.l1.sign_batch(&calldata, tx.nonce, Some(&last)) {
                    Ok(next) => next,
                    Err(e @ L1Error::Refused { .. }) => {
                        let due = self.last_broadcast.get(&b.id).is_none_or(|t| t.elapsed() > Duration::from_secs(2));
                        if due {
                            self.broadcast(b.id, &last)?;
                        }
                        return Err(e);
                    }
                    Err(e) => return Err(e),
                };
                let mut hashes = tx.hashes.clone();
                hashes.push(hex::encode(next.hash));
                b.tx = Some(StoredTx { hashes, raw: hex::encode(&next.raw), sent_ms: now_ms(), attempts: tx.attempts + 1, ..tx });
                self.put(&b, None)?;
                Metrics::inc(&self.metrics.batches, "resent");
                self.broadcast(b.id, &next)?;
                Ok(false)
            }
            None => {
                // Not mined yet: broadcast again now and then, in case the L1 node restarted and
                // lost its pool, or this node restarted before its first broadcast.
                let due = self.last_broadcast.get(&b.id).is_none_or(|t| t.elapsed() > Duration::from_secs(2));
                if due {
                    self.broadcast(b.id, &last)?;
                }
                Ok(false)
            }
        }
    }

    /// Whether any of these transactions (hex hashes) has a receipt.
    fn any_mined(&mut self, hashes: &[String]) -> Result<bool, L1Error> {
        for h in hashes {
            let hash: [u8; 32] = hex::decode(h).ok().and_then(|h| h.try_into().ok()).ok_or_else(|| L1Error::Bad(format!("bad stored hash {h}")))?;
            if self.l1.receipt(hash)?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Batch `b`'s nonce was used by another transaction. When `b` is the only batch in flight
    /// it is signed again at the sequencer's next nonce; behind or before other batches in
    /// flight, their order on L1 would break, so the node says so and waits for its operator.
    fn nonce_taken(&mut self, mut b: StoredBatch, calldata: &[u8], only_in_flight: bool) -> Result<bool, L1Error> {
        let tx = b.tx.clone().expect("a submitted batch has its transaction");
        let taken = tx.nonce;
        if !only_in_flight {
            return Err(L1Error::Refused {
                kind: "nonce_taken",
                message: format!(
                    "nonce {taken} of batch {} was used by another transaction of the sequencer's key, with other batches in flight: \
                     use the key for nothing else, then restart the node",
                    b.id
                ),
            });
        }
        let nonce = self.l1.sequencer_nonce()?;
        let next = self.l1.sign_batch(calldata, nonce, None)?;
        let mut hashes = tx.hashes.clone();
        hashes.push(hex::encode(next.hash));
        b.tx = Some(StoredTx { hashes, raw: hex::encode(&next.raw), nonce, sent_ms: now_ms(), attempts: tx.attempts + 1, ..tx });
        self.put(&b, None)?;
        Metrics::inc(&self.metrics.l1_refusals, "nonce_taken");
        eprintln!(
            "zkrollup-node: batch {}: its nonce {taken} was used by another transaction of the sequencer's key: signed again at nonce {nonce}",
            b.id
        );
        self.broadcast(b.id, &next)?;
        Ok(false)
    }

    /// Mark batch `b` confirmed (`settled`: L1 at the last final block, which counts it).
    fn confirm(&mut self, mut b: StoredBatch, receipt: Option<crate::l1::Receipt>, settled: &RollupView) -> Result<(), L1Error> {
        let view = settled;
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
                Ok(()) => self.doomed = None,
                Err(L1Error::Unavailable(e)) => {
                    self.seen.lock().unwrap_or_else(|p| p.into_inner()).error = Some(e);
                }
                Err(e @ L1Error::Refused { kind, .. }) => {
                    Metrics::inc(&self.metrics.l1_refusals, kind);
                    if kind == "would_revert" {
                        // The batch next to land would revert, again and again over seconds:
                        // it can no longer land (a request matured meanwhile, say). Rewind.
                        let (times, since) = self.doomed.get_or_insert((0, Instant::now()));
                        *times += 1;
                        if *times >= 5 && since.elapsed() >= Duration::from_secs(10) {
                            let reason = e.to_string();
                            if let Err(e) = self.rewind(&reason) {
                                self.seen.lock().unwrap_or_else(|p| p.into_inner()).error = Some(e.to_string());
                            }
                        }
                    }
                    let text = e.to_string();
                    let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
                    if seen.error.as_deref() != Some(text.as_str()) {
                        eprintln!("zkrollup-node: {text}");
                    }
                    seen.error = Some(text);
                }
                Err(L1Error::Bad(e)) => return Err(e),
            }
            std::thread::sleep(poll);
        }
        Ok(())
    }
}
