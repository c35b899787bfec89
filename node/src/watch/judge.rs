//! Judging a batch: its data read from the transaction that posted it, re-applied with the
//! native model from the state before it, and checked against the record L1 keeps.

use alloy::primitives::Address;
use zkrollup::export::optimistic::{decode_post_batch, decode_submit_batch};
use zkrollup::optimistic::{keccak256, payouts, replay, replay_proved, PostedBatch, StoredBatch};
use zkrollup::BatchWitness;

use super::metrics::WatchMetrics;
use super::store::{Verdict, WatchedBatch};
use super::{RoundError, Watcher};
use crate::l1::rpc::TxCall;

impl Watcher {
    /// Re-apply batch `id` (its record, when stored; its transaction's call) and say what the
    /// model makes of it.
    pub(super) fn judge(&mut self, id: u64, record: Option<StoredBatch>, call: Option<TxCall>, block: u64) -> Result<WatchedBatch, RoundError> {
        self.metrics.checked.inc();
        let proved_on_l1 = record.is_none_or(|r| r.proven);
        let mut b = WatchedBatch {
            id,
            record: record.map(|r| hex::encode(r.abi_encode())),
            data: None,
            proved_on_l1,
            verdict: Verdict::Accepted,
            payouts: None,
            block,
        };
        if let Some(earlier) = self.batches.iter().find(|b| b.verdict != Verdict::Accepted) {
            b.verdict = Verdict::Unchecked { after: earlier.id };
            return Ok(b);
        }
        if let Some(r) = record {
            if r.old_root != self.state.root() {
                // Every earlier batch was accepted, so L1's root before it is the model's.
                let why = format!("batch {id} starts from root {}, the model is at {}", r.old_root, self.state.root());
                return Err(if id == 1 {
                    RoundError::Fatal(format!("{why}: --genesis is not this rollup's genesis state"))
                } else {
                    RoundError::Inconsistent(why)
                });
            }
        }
        let posted = match self.read_call(record, proved_on_l1, call) {
            Ok(p) => p,
            Err(reason) => {
                self.metrics.unreadable.inc();
                eprintln!("zkrollup watch: WARNING batch {id} cannot be read ({reason}): it and every later batch go unchecked");
                b.verdict = Verdict::Unreadable { reason };
                return Ok(b);
            }
        };
        b.data = Some(WatchedBatch::data_of(&posted));
        let mut after = self.state.clone();
        let replayed = if proved_on_l1 { replay_proved(&mut after, &posted, &self.params(id)) } else { replay(&mut after, &posted, &self.params(id)) };
        match replayed {
            Ok(w) => match record.map(|r| agrees(&r, &w)).unwrap_or(Ok(())) {
                Ok(()) => {
                    b.payouts = Some(hex::encode(payouts(&w)));
                    self.state = after;
                    self.accepted = id;
                }
                Err(reason) => {
                    self.metrics.unreadable.inc();
                    eprintln!("zkrollup watch: WARNING batch {id}: {reason}; not challenged, and later batches go unchecked");
                    b.verdict = Verdict::Unreadable { reason };
                }
            },
            Err(e) if proved_on_l1 => {
                self.metrics.unreadable.inc();
                let reason = format!("L1 verified a proof of it, yet the model refuses it: {e}");
                eprintln!("zkrollup watch: WARNING batch {id}: {reason}");
                b.verdict = Verdict::Unreadable { reason };
            }
            Err(e) => {
                WatchMetrics::inc(&self.metrics.refused, e.name());
                eprintln!("zkrollup watch: batch {id} cannot be proved: {e}");
                b.verdict = Verdict::Refused { rule: e.name().to_string(), reason: e.to_string() };
            }
        }
        Ok(b)
    }

    /// The batch a transaction's call carries: a direct call of the rollup (`postBatch`, or
    /// `submitBatch` for a batch taken with its proof) whose signatures hash to the record's.
    fn read_call(&self, record: Option<StoredBatch>, proved: bool, call: Option<TxCall>) -> Result<PostedBatch, String> {
        let TxCall { to, input } = call.ok_or("the L1 node does not know its transaction")?;
        if to != Some(self.l1_rollup()) {
            return Err(format!("its transaction calls {}, not the rollup (posted through a contract?)", to.map_or("nothing".into(), |a| a.to_string())));
        }
        let posted = if proved { decode_submit_batch(&input) } else { decode_post_batch(&input) }.map_err(|e| e.to_string())?;
        if let Some(r) = record {
            if !proved && keccak256(&posted.sig_data) != r.sig_hash {
                return Err("the call's sigData is not the one the record hashes".into());
            }
            if posted.new_root != r.new_root {
                return Err("the call's newRoot is not the record's".into());
            }
        }
        Ok(posted)
    }

    fn l1_rollup(&self) -> Address {
        self.l1.rollup_address()
    }
}

/// Whether the model's witness is the record's: the same commitment (what a proof answers)
/// and payouts.
fn agrees(r: &StoredBatch, w: &BatchWitness) -> Result<(), String> {
    if w.commitment != r.commitment {
        return Err("the model re-applies it, but to another commitment than the record's".into());
    }
    if keccak256(&payouts(w)) != r.payouts_hash {
        return Err("the model re-applies it, but with other payouts than the record's".into());
    }
    Ok(())
}
