//! Following L1: the blocks past the cursor read (events, and each batch call's data) before
//! anything changes, then applied to the watcher's memory and store in one transaction.

use std::collections::HashMap;

use zkrollup::optimistic::StoredBatch;

use super::events::{self, Event, Logged};
use super::store::{WatchTxn, WatchedBatch, WatchedChallenge};
use super::{Cursor, Reading, RoundError, Watcher};
use crate::l1::rpc::TxCall;
use crate::l1::{Finality, L1Error, FALLBACK_DEPTH, L1};

impl Watcher {
    /// The newest block final enough to act on.
    fn safe_block(&mut self, head: u64) -> Result<u64, L1Error> {
        Ok(match self.confirmations {
            Finality::Depth(d) => head.saturating_sub(d - 1),
            Finality::Finalized => match self.l1.finalized()? {
                Some(b) => b.number,
                None => head.saturating_sub(FALLBACK_DEPTH - 1),
            },
        })
    }

    /// What L1 holds past the cursor, up to the safe block (None: nothing new). A reorg under
    /// the cursor is [`RoundError::Inconsistent`].
    pub(super) fn read(&mut self, head: u64) -> Result<Option<Reading>, RoundError> {
        let cursor: Option<Cursor> = self.store.meta("cursor")?.flatten();
        if let Some(c) = cursor {
            match self.l1.block_at(c.number)? {
                Some(b) if b.hash == c.hash => {}
                _ => {
                    self.metrics.l1_reorgs.inc();
                    return Err(RoundError::Inconsistent(format!("block {} is no longer the one read (a reorg)", c.number)));
                }
            }
        }
        let from = cursor.map_or(self.first_block, |c| c.number + 1);
        let safe = self.safe_block(head)?;
        if from > safe {
            return Ok(None);
        }
        let to = safe.min(from + self.log_range - 1);
        let to_ref = self.l1.block_at(to)?.ok_or_else(|| L1Error::Unavailable(format!("block {to} missing")))?;
        let raw = self.l1.logs(&events::topics(), from, to)?;
        let mut logs = Vec::with_capacity(raw.len());
        let mut calls = HashMap::new();
        for log in &raw {
            let Some(logged) = events::decode(log) else {
                return Err(RoundError::Inconsistent(format!("a log of the rollup in block {} does not decode", log.block)));
            };
            if matches!(logged.event, Event::Posted(_) | Event::Submitted { .. }) && !calls.contains_key(&logged.tx) {
                calls.insert(logged.tx, self.l1.transaction_call(logged.tx)?);
            }
            logs.push(logged);
        }
        Ok(Some(Reading { logs, calls, to: to_ref }))
    }

    /// Apply a reading in one store transaction; on any failure the memory is read again.
    pub(super) fn apply(&mut self, reading: Reading) -> Result<(), RoundError> {
        let t = self.store.begin()?;
        let result = (|| {
            for logged in &reading.logs {
                self.apply_event(&t, logged, &reading.calls)?;
            }
            t.put_meta("finalized", &self.finalized)?;
            t.put_meta("exodus", &self.exodus)?;
            t.put_meta("cursor", &Some(Cursor { number: reading.to.number, hash: reading.to.hash }))?;
            Ok::<(), RoundError>(())
        })();
        match result.and_then(|()| t.commit().map_err(RoundError::from)) {
            Ok(()) => {
                self.metrics.cursor.set(reading.to.number as i64);
                self.metrics.finalized.set(self.finalized as i64);
                Ok(())
            }
            Err(e) => {
                self.load().map_err(|e| RoundError::Inconsistent(format!("{e:#}")))?;
                Err(e)
            }
        }
    }

    fn apply_event(&mut self, t: &WatchTxn, logged: &Logged, calls: &HashMap<[u8; 32], Option<TxCall>>) -> Result<(), RoundError> {
        let next = self.batches.len() as u64 + 1;
        let new_id = match &logged.event {
            Event::Posted(r) => Some(r.batch_id),
            Event::Submitted { batch_id } => Some(*batch_id),
            _ => None,
        };
        if new_id.is_some_and(|id| id != next) {
            return Err(RoundError::Inconsistent(format!("batch {} logged; {next} was expected", new_id.unwrap_or(0))));
        }
        match &logged.event {
            Event::Posted(record) => {
                let call = calls.get(&logged.tx).cloned().flatten();
                let b = self.judge(next, Some(*record), call, logged.block)?;
                t.put_batch(&b)?;
                self.batches.push(b);
            }
            Event::Submitted { batch_id } => {
                let call = calls.get(&logged.tx).cloned().flatten();
                let b = self.judge(*batch_id, None, call, logged.block)?;
                t.put_batch(&b)?;
                self.batches.push(b);
                self.finalized = self.finalized.max(*batch_id);
            }
            Event::Challenged { batch_id, record_hash, challenger, deadline } => {
                let record = self.current_record(*batch_id).filter(|r| r.hash() == *record_hash).ok_or_else(|| {
                    RoundError::Inconsistent(format!("a challenge of batch {batch_id} names a record the watcher does not hold"))
                })?;
                let c = WatchedChallenge { record: hex::encode(record.abi_encode()), challenger: hex::encode(challenger), deadline: *deadline };
                eprintln!("zkrollup watch: batch {batch_id} challenged by 0x{}, deadline {deadline}", hex::encode(challenger));
                t.put_challenge(record_hash, &c)?;
                self.challenges.insert(*record_hash, c);
            }
            Event::Proven { batch_id, prover } => {
                let Some(mut record) = self.current_record(*batch_id) else {
                    return Err(RoundError::Inconsistent(format!("batch {batch_id} proved; the watcher holds no record of it")));
                };
                let old = record.hash();
                t.close_challenge(&old)?;
                self.challenges.remove(&old);
                record.proven = true;
                let b = &mut self.batches[*batch_id as usize - 1];
                b.record = Some(hex::encode(record.abi_encode()));
                t.put_batch(b)?;
                if self.me.is_some_and(|me| me.0 .0 == *prover) {
                    self.metrics.defences.inc();
                }
                eprintln!("zkrollup watch: batch {batch_id} proved by 0x{}", hex::encode(prover));
            }
            Event::Reverted { from_id, to_id, challenger } => {
                if let Some(r) = self.current_record(*from_id) {
                    t.close_challenge(&r.hash())?;
                    self.challenges.remove(&r.hash());
                }
                if self.me.is_some_and(|me| me.0 .0 == *challenger) {
                    self.metrics.challenges_won.inc();
                }
                eprintln!("zkrollup watch: batches {from_id} to {to_id} reverted (challenger 0x{})", hex::encode(challenger));
                if !self.exodus {
                    t.drop_batches_from(*from_id)?;
                    self.batches.truncate(*from_id as usize - 1);
                    if self.accepted >= *from_id {
                        let (state, accepted) = self.state_after(*from_id - 1).map_err(RoundError::Inconsistent)?;
                        (self.state, self.accepted) = (state, accepted);
                    }
                }
            }
            Event::Refunded { record_hash } => {
                if let Some(c) = self.challenges.remove(record_hash) {
                    if self.me.is_some_and(|me| hex::encode(me.0 .0) == c.challenger) {
                        self.metrics.bonds_reclaimed.inc();
                    }
                }
                t.close_challenge(record_hash)?;
            }
            Event::Finalized { to_id } => self.finalized = self.finalized.max(*to_id),
            Event::Exodus => {
                eprintln!("zkrollup watch: exodus is active: no batch is posted or challenged any more; open challenges can still be resolved");
                self.exodus = true;
            }
        }
        Ok(())
    }

    /// Batch `id`'s stored record as the watcher holds it (None: unknown or final at once).
    pub(super) fn current_record(&self, id: u64) -> Option<StoredBatch> {
        self.batches.get((id as usize).checked_sub(1)?).and_then(WatchedBatch::record)
    }
}
