//! The dev chain's settler. On a dev chain with an `OptimisticRollup` (`--dev --settlement
//! optimistic`) the node makes its own batches final once they may be (past their challenge
//! window unchallenged, or proved), crediting their payouts, as `zkrollup watch --finalize` does
//! against a real L1: the dev chain has no JSON-RPC for a watcher. The records are the ones the
//! chain logged (`BatchPosted`), the payouts the ones the node stored with each batch, checked
//! against the record's hash before they are sent.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use revm::primitives::U256;
use zkrollup::export::optimistic::finalize_batches_calldata;
use zkrollup::optimistic::{keccak256, StoredBatch};

use crate::l1::dev_chain::{addresses, DevChain, SharedDevChain};
use crate::l1::L1Error;
use crate::store::Store;

/// The most batches one `finalizeBatches` call takes, as the watcher's.
const FINALIZE_AT_ONCE: u64 = 16;

/// Finalize what may be, every `poll`, until `stop`; an error is said once (and again when it
/// changes) and the round retried.
pub fn run(chain: SharedDevChain, store: Arc<Store>, poll: Duration, stop: Arc<AtomicBool>) {
    let mut said = None;
    while !stop.load(Ordering::Relaxed) {
        let store = store.clone();
        match chain.with(move |c| finalize_ready(c, &store)) {
            Ok(Some((first, last))) => {
                eprintln!("zkrollup-node: dev chain: batches {first}..={last} final");
                said = None;
            }
            Ok(None) => said = None,
            Err(e) => {
                let text = e.to_string();
                if said.as_ref() != Some(&text) {
                    eprintln!("zkrollup-node: dev settler: {text}");
                    said = Some(text);
                }
            }
        }
        std::thread::sleep(poll);
    }
}

/// Send `finalizeBatches` for the next batches that may be final now (at most
/// [`FINALIZE_AT_ONCE`]): the ids finalized, if any.
pub fn finalize_ready(c: &mut DevChain, store: &Store) -> Result<Option<(u64, u64)>, L1Error> {
    let finalized: u64 = c.view_u256("finalized()", &[])?.saturating_to();
    let count: u64 = c.view_u256("batchCount()", &[])?.saturating_to();
    let window: u64 = c.view_u256("challengeWindow()", &[])?.saturating_to();
    let now = c.head().timestamp;
    let mut ready: Vec<(StoredBatch, Vec<u8>)> = Vec::new();
    for id in finalized + 1..=count.min(finalized + FINALIZE_AT_ONCE) {
        let Some(r) = c.posted(id) else { break };
        // Still the batch's record (not one a revert dropped), unchallenged and past its
        // window, or proved.
        if c.view_u256("batchHash(uint256)", &[U256::from(id).to_be_bytes::<32>()])?.to_be_bytes::<32>() != r.hash() {
            break;
        }
        let challenger = c.view_u256("challengeOf(bytes32)", &[r.hash()])?;
        if !r.proven && (!challenger.is_zero() || now <= r.posted_at + window) {
            break;
        }
        let payouts = store
            .batch(id)
            .map_err(|e| L1Error::Bad(e.to_string()))?
            .and_then(|b| b.payouts)
            .and_then(|p| hex::decode(p).ok())
            .ok_or_else(|| L1Error::Bad(format!("batch {id}: the node has no payouts for it")))?;
        if keccak256(&payouts) != r.payouts_hash {
            return Err(L1Error::Bad(format!("batch {id}: the node's payouts are not the ones its record commits to")));
        }
        ready.push((r, payouts));
    }
    let (Some(first), Some(last)) = (ready.first().map(|(r, _)| r.batch_id), ready.last().map(|(r, _)| r.batch_id)) else {
        return Ok(None);
    };
    let rollup = c.rollup_address().ok_or_else(|| L1Error::Bad("no rollup deployed".into()))?;
    let sent = c.send(addresses::SETTLER, Some(rollup), finalize_batches_calldata(&ready), U256::ZERO)?;
    if !sent.receipt.success {
        return Err(L1Error::Bad(format!("finalizeBatches {first}..={last} reverted: 0x{}", hex::encode(&sent.receipt.revert))));
    }
    Ok(Some((first, last)))
}
