//! Re-planning (audit F1): when a sealed batch can no longer land on L1 (it reverted, say
//! `MatureRequestSkipped` after a delay longer than `maturity`), the node rewinds instead of
//! halting for good. Every sealed batch after the last confirmed one is dropped, the sealed and
//! proved accounts go back to the confirmed ones, and the batches' operations go back to the
//! mempool with the L1 requests first (a request may have matured meanwhile, and a batch with a
//! free L1 slot must then take it), then the transfers in acceptance order. Sealing starts over
//! from there; a transfer that no longer applies is dropped with its rule when the mempool is
//! loaded ([`crate::sequencer::Sequencer::load`]).
//!
//! After a reorg of L1 under requests the node read (audit F3), the rewind also forgets every
//! request no confirmed batch consumed and reads them again from L1: the replaced blocks may
//! have held other requests, or none.
//!
//! Under optimistic settlement (SPEC-v3) L1 itself can take confirmed batches back: a challenge
//! left unanswered reverts the batch and every later one. The L1 stage then asks for a rewind to
//! the last batch L1 kept ([`request_revert`]); it drops confirmed batches too, and rebuilds the
//! confirmed accounts from the genesis state and the kept batches' writes.
//!
//! A rewind is asked for (by the L1 stage, or by the operator's `zkrollup node rewind`) and
//! carried out at the next start, before any stage runs, so that no stage writes beside it; the
//! L1 stage then restarts the process in place ([`crate::node::restart_in_place`]).

use serde::{Deserialize, Serialize};

use zkrollup::{Account, Fr};

use crate::store::{root_text, PendingOp, Stage, Store, StoreError};

/// A rewind asked for and not yet carried out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requested {
    /// Why.
    pub reason: String,
    /// The first batch it drops (the one after the last confirmed, when asked).
    pub from_batch: u64,
    /// Whether the requests no confirmed batch consumed are read from L1 again (after a reorg).
    #[serde(default)]
    pub reread: bool,
    /// Whether L1 reverted confirmed batches (optimistic settlement): batches from `from_batch`
    /// on are dropped even when the node had confirmed them.
    #[serde(default)]
    pub revert: bool,
}

/// What a rewind did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Done {
    /// The last confirmed batch: sealing goes on after it.
    pub confirmed: u64,
    /// Batches dropped.
    pub batches: u64,
    /// Operations put back in the mempool.
    pub operations: usize,
}

/// Rewinds asked for the same batch, at most: past it the node says why it cannot go on
/// rather than loop (a key that does not fit the verifier fails every time).
pub const MAX_REWINDS_AT_ONE_BATCH: u32 = 3;

/// Ask for a rewind at the next start. Refused (the node says why it cannot go on) when the
/// same batch was rewound [`MAX_REWINDS_AT_ONE_BATCH`] times already.
pub fn request(store: &Store, reason: &str) -> Result<Result<(), String>, StoreError> {
    let confirmed = store.stage_heads()?[3];
    let from_batch = confirmed + 1;
    let (at, times): (u64, u32) = store.meta("rewinds_at")?.unwrap_or((0, 0));
    let times = if at == from_batch { times } else { 0 };
    if times >= MAX_REWINDS_AT_ONE_BATCH {
        return Ok(Err(format!(
            "batch {from_batch} cannot land after {times} rewinds ({reason}): the cause is not a delay; see the batch's failure"
        )));
    }
    // A re-read asked for before stays asked for.
    let reread = requested(store)?.is_some_and(|r| r.reread);
    let txn = store.begin()?;
    txn.set_meta("rewind", &Requested { reason: reason.to_string(), from_batch, reread, revert: false })?;
    txn.set_meta("rewinds_at", &(from_batch, times + 1))?;
    txn.commit()?;
    Ok(Ok(()))
}

/// Ask for a rewind that also reads the requests no confirmed batch consumed again, after a
/// reorg. Not counted against [`MAX_REWINDS_AT_ONE_BATCH`]: a reorg says nothing of whether
/// the batch can land.
pub fn request_reread(store: &Store, reason: &str) -> Result<(), StoreError> {
    let from_batch = store.stage_heads()?[3] + 1;
    let txn = store.begin()?;
    txn.set_meta("rewind", &Requested { reason: reason.to_string(), from_batch, reread: true, revert: false })?;
    txn.commit()
}

/// Ask for a rewind to batch `kept`, the last one L1 kept after reverting later ones
/// (optimistic settlement); not counted against [`MAX_REWINDS_AT_ONE_BATCH`]: each revert is
/// L1's verdict on other batches, and slashes the sequencer.
pub fn request_revert(store: &Store, reason: &str, kept: u64) -> Result<(), StoreError> {
    let txn = store.begin()?;
    txn.set_meta("rewind", &Requested { reason: reason.to_string(), from_batch: kept + 1, reread: false, revert: true })?;
    txn.commit()
}

/// The rewind asked for, if any.
pub fn requested(store: &Store) -> Result<Option<Requested>, StoreError> {
    store.meta("rewind")
}

/// Carry out the rewind asked for, in one transaction, when L1 counts exactly the batches the
/// node keeps (`l1.batch_count`: the confirmed ones, or after a revert the ones L1 kept, at the
/// root the node has for the last of them); otherwise a batch landed that the node has yet to
/// confirm, and the rewind waits (the L1 stage restarts the node again once it has confirmed
/// it). `genesis` is the genesis state's accounts, from which a revert rebuilds the confirmed
/// ones. Nothing is done when none was asked for.
pub fn perform(store: &Store, l1: &crate::l1::RollupView, genesis: &[(u32, Account)], genesis_root: Fr) -> Result<Option<Done>, StoreError> {
    let l1_batch_count = l1.batch_count;
    let Some(asked) = requested(store)? else { return Ok(None) };
    let heads = store.stage_heads()?;
    let confirmed = if asked.revert { asked.from_batch - 1 } else { heads[3] };
    let l1_root = root_text(crate::l1_stage::root_of(l1.state_root));
    let kept_root = match confirmed {
        0 => Some(root_text(genesis_root)),
        id => store.batch(id)?.map(|b| b.new_root),
    };
    if l1_batch_count != confirmed || (asked.revert && kept_root.as_deref() != Some(l1_root.as_str())) {
        eprintln!(
            "zkrollup-node: a rewind ({}) waits: L1 counts {l1_batch_count} batches at root {l1_root}, the node keeps {confirmed}{}",
            asked.reason,
            kept_root.map_or(String::new(), |r| format!(" at root {r}"))
        );
        return Ok(None);
    }
    let txn = store.begin()?;
    if asked.revert {
        // The confirmed accounts as the kept batches left them: the genesis state, then each
        // kept batch's writes in order.
        txn.replace_accounts(Stage::Confirmed, genesis)?;
        for id in 1..=confirmed {
            let missing = || StoreError::Corrupt { table: "batches", key: id.to_string(), problem: "missing, though L1 kept it".into() };
            let b = txn.batch(id)?.ok_or_else(missing)?;
            let writes: Vec<(u32, Account)> = b.writes.iter().map(|(i, a)| (*i, a.0)).collect();
            txn.put_accounts(Stage::Confirmed, &writes)?;
        }
        txn.set_meta("head_confirmed", &confirmed)?;
    }
    let (mut requests, mut transfers) = (Vec::new(), Vec::new());
    for id in confirmed + 1..=heads[0] {
        let Some(b) = txn.batch(id)? else { continue };
        requests.extend(b.requests.iter().copied());
        transfers.extend(b.transfers.iter().copied());
        txn.remove_batch(id)?;
    }
    let waiting = txn.pending_all()?;
    txn.remove_pending(&waiting.iter().map(|(seq, _)| *seq).collect::<Vec<_>>())?;
    for (_, op) in waiting {
        match op {
            PendingOp::Request(k) => requests.push(k),
            PendingOp::Transfer(id) => transfers.push(id),
        }
    }
    if asked.reread {
        // Every request past those L1's confirmed batches consumed is forgotten, and the
        // watcher reads on from the block of the last consumed one (from its first block when
        // none was): what the reorg put in their place comes in again, checked as ever.
        let next_k: u64 = txn.meta("next_request_k")?.unwrap_or(1);
        let back = match l1.consumed {
            0 => None,
            k => txn.request(k)?.map(|r| r.block.saturating_sub(1)),
        };
        for k in l1.consumed + 1..next_k {
            txn.remove_request(k)?;
        }
        requests.retain(|k| *k <= l1.consumed);
        txn.set_meta("next_request_k", &(l1.consumed + 1))?;
        match back {
            Some(block) => txn.set_meta("l1_cursor", &block)?,
            None => txn.remove_meta("l1_cursor")?,
        }
        txn.remove_meta("l1_cursor_hash")?;
    }
    for &k in &requests {
        if let Some(mut r) = txn.request(k)? {
            r.batch = None;
            txn.put_request(k, &r)?;
        }
    }
    for &id in &transfers {
        if let Some(mut t) = txn.transfer(id)? {
            t.batch = None;
            txn.put_transfer(id, &t)?;
        }
    }
    // The mempool anew: the requests first, in queue order, then the transfers in acceptance
    // order, those of the dropped batches among the ones still waiting.
    requests.sort_unstable();
    requests.dedup();
    transfers.sort_unstable();
    transfers.dedup();
    for &k in &requests {
        txn.push_pending(PendingOp::Request(k))?;
    }
    for &id in &transfers {
        txn.push_pending(PendingOp::Transfer(id))?;
    }
    let accounts = txn.accounts(Stage::Confirmed)?;
    txn.replace_accounts(Stage::Sealed, &accounts)?;
    txn.replace_accounts(Stage::Proved, &accounts)?;
    for key in ["head_sealed", "head_proved", "head_submitted"] {
        txn.set_meta(key, &confirmed)?;
    }
    txn.remove_meta("failed_batch")?;
    txn.remove_meta("rewind")?;
    txn.commit()?;
    let done = Done { confirmed, batches: heads[0].saturating_sub(confirmed), operations: requests.len() + transfers.len() };
    eprintln!(
        "zkrollup-node: rewound ({}): {} batches after batch {confirmed} dropped, {} operations back in the mempool{}",
        asked.reason,
        done.batches,
        done.operations,
        if asked.reread { format!(", requests after {} to be read again", l1.consumed) } else { String::new() }
    );
    Ok(Some(done))
}
