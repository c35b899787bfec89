//! The moves a round makes, read from the chain again each time: resolve, reclaim, defend,
//! finalize, challenge. A move already made is not made again while the events lag.

use alloy::primitives::U256;
use zkrollup::export::optimistic::{
    challenge_batch_calldata, finalize_batches_calldata, prove_batch_calldata, reclaim_challenge_bond_calldata, resolve_challenge_calldata,
};
use zkrollup::optimistic::{keccak256, replay, StoredBatch};

use super::metrics::WatchMetrics;
use super::store::{Verdict, WatchedBatch, WatchedChallenge};
use super::{RoundError, Watcher};
use crate::l1::L1Error;

/// The most batches one `finalizeBatches` call takes (each credits at most N + M payouts).
const FINALIZE_AT_ONCE: usize = 16;

impl Watcher {
    /// The moves the chain calls for, at `now` (the head's time).
    pub(super) fn act(&mut self, now: u64) -> Result<(), RoundError> {
        // Resolve the lowest challenge past its deadline on a batch still pending: that reverts
        // every later one too.
        let pending = |w: &Watcher, r: &StoredBatch| w.current_record(r.batch_id).is_some_and(|c| c.hash() == r.hash()) && r.batch_id > w.finalized;
        let mut open: Vec<(StoredBatch, WatchedChallenge)> =
            self.challenges.values().filter_map(|c| c.record().map(|r| (r, c.clone()))).collect();
        open.sort_by_key(|(r, _)| r.batch_id);
        if let Some((r, _)) = open.iter().find(|(r, c)| pending(self, r) && now > c.deadline && !r.proven) {
            self.send("resolve", r.batch_id, resolve_challenge_calldata(r), U256::ZERO)?;
        }
        // Reclaim this watcher's bonds on records no longer pending (dropped by a revert); a
        // settler (it finalizes) reclaims everyone's: an open challenge holds the node's posts.
        let me = self.me.map(|a| hex::encode(a.0 .0));
        for (r, c) in &open {
            if (self.finalize || Some(&c.challenger) == me.as_ref()) && !pending(self, r) && self.current_record(r.batch_id).is_none_or(|cur| cur.hash() != r.hash()) {
                // Counted when its ChallengeRefunded is read.
                self.send("reclaim", r.batch_id, reclaim_challenge_bond_calldata(r), U256::ZERO)?;
            }
        }
        if self.exodus {
            return Ok(());
        }
        // Defend: prove every challenged batch the model accepts, within its response window.
        if self.defender.is_some() {
            for (r, c) in &open {
                let accepted = self.batches.get(r.batch_id as usize - 1).is_some_and(|b| b.verdict == Verdict::Accepted);
                // A proof is random: the move is known by its record, not its call data.
                let id = keccak256(&[b"prove".as_slice(), &r.hash()].concat());
                if pending(self, r) && accepted && !r.proven && now <= c.deadline && !self.done.contains(&id) {
                    match self.defence(r) {
                        Ok(call) => {
                            self.send_as_move("prove", r.batch_id, id, call, U256::ZERO)?;
                        }
                        Err(why) => eprintln!("zkrollup watch: WARNING cannot prove challenged batch {}: {why}", r.batch_id),
                    }
                }
            }
        }
        // Finalize the next batches the model accepts that are past their window unchallenged,
        // or proved.
        if self.finalize {
            let ready = self.finalizable(now);
            if let Some((first, _)) = ready.first() {
                let first = first.batch_id;
                self.send("finalize", first, finalize_batches_calldata(&ready), U256::ZERO)?;
            }
        }
        // Challenge the first pending batch the model refuses, within its window.
        if self.challenge {
            let refused = self.batches.iter().find(|b| matches!(b.verdict, Verdict::Refused { .. }) && b.id > self.finalized).and_then(WatchedBatch::record);
            if let Some(r) = refused {
                if now > r.posted_at + self.challenge_window && !self.challenges.contains_key(&r.hash()) && self.warned.insert(r.batch_id) {
                    eprintln!(
                        "zkrollup watch: WARNING batch {} cannot be proved, and its challenge window closed unchallenged: it can become \
                         final; later batches go unchecked",
                        r.batch_id
                    );
                }
                if !r.proven
                    && !self.challenges.contains_key(&r.hash())
                    && now <= r.posted_at + self.challenge_window
                    && self.send("challenge", r.batch_id, challenge_batch_calldata(&r), self.challenge_bond)?
                {
                    self.metrics.challenges_opened.inc();
                }
            }
        }
        Ok(())
    }

    /// The next batches after the final ones that `finalizeBatches` takes at `now` (at most
    /// [`FINALIZE_AT_ONCE`]), each with its payouts: accepted by the model (a batch it refuses is
    /// never helped to finality), and proved, or past its window with no challenge.
    fn finalizable(&self, now: u64) -> Vec<(StoredBatch, Vec<u8>)> {
        let mut out = Vec::new();
        for b in self.batches.iter().skip(self.finalized as usize).take(FINALIZE_AT_ONCE) {
            let (Some(r), Some(p)) = (b.record(), b.payouts.as_deref().and_then(|p| hex::decode(p).ok())) else { break };
            let unchallenged = !self.challenges.contains_key(&r.hash());
            if b.verdict != Verdict::Accepted || !(r.proven || (unchallenged && now > r.posted_at + self.challenge_window)) {
                break;
            }
            out.push((r, p));
        }
        out
    }

    /// The `proveBatch` call for a challenged record the model accepted.
    fn defence(&self, r: &StoredBatch) -> Result<Vec<u8>, String> {
        let d = self.defender.as_ref().ok_or("no proving key")?;
        let (mut state, upto) = self.state_after(r.batch_id - 1)?;
        if upto != r.batch_id - 1 {
            return Err(format!("batch {} follows a batch the model did not accept", r.batch_id));
        }
        let b = &self.batches[r.batch_id as usize - 1];
        let posted = b.posted().ok_or("its stored data does not decode")?;
        let w = replay(&mut state, &posted, &self.params(r.batch_id)).map_err(|e| e.to_string())?;
        eprintln!("zkrollup watch: proving challenged batch {}", r.batch_id);
        let proof = d.prover.prove(&d.pk, w.circuit(self.shape.depth)).map_err(|e| e.to_string())?;
        if !zkrollup::prover::verify(&d.vk, &[w.commitment], &proof).map_err(|e| e.to_string())? {
            return Err(format!("batch {}: the proof does not verify (are the keys the deployment's?)", r.batch_id));
        }
        Ok(prove_batch_calldata(r, &proof))
    }

    /// Send a move unless already made; whether it was mined successfully.
    fn send(&mut self, what: &str, batch: u64, data: Vec<u8>, value: U256) -> Result<bool, RoundError> {
        let id = keccak256(&data);
        self.send_as_move(what, batch, id, data, value)
    }

    /// [`Watcher::send`] of a move known by `id`.
    fn send_as_move(&mut self, what: &str, batch: u64, id: [u8; 32], data: Vec<u8>, value: U256) -> Result<bool, RoundError> {
        if self.done.contains(&id) {
            return Ok(false);
        }
        match self.l1.send_call(data, value, self.last_sent.as_ref(), self.tx_wait) {
            Ok((_, Some(r))) if r.success => {
                eprintln!("zkrollup watch: {what} batch {batch}: mined in block {}", r.block);
                self.done.insert(id);
                self.last_sent = None;
                Ok(true)
            }
            Ok((_, Some(r))) => {
                WatchMetrics::inc(&self.metrics.l1_refusals, "reverted");
                eprintln!("zkrollup watch: {what} batch {batch}: reverted in block {}", r.block);
                self.last_sent = None;
                Ok(false)
            }
            Ok((tx, None)) => {
                eprintln!("zkrollup watch: {what} batch {batch}: not mined yet (nonce {}); sent again next round if still due", tx.nonce);
                self.last_sent = Some(tx);
                Ok(false)
            }
            Err(L1Error::Refused { kind, message }) => {
                WatchMetrics::inc(&self.metrics.l1_refusals, kind);
                eprintln!("zkrollup watch: {what} batch {batch}: refused ({kind}): {message}");
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }
}
