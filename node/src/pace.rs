//! The batcher's pace against the contract's `maturity` (audit F1): a batch with a free L1 slot
//! reverts (`MatureRequestSkipped`) when it lands more than `maturity` after a request it could
//! have taken. So while a batch sealed now would need more than half of `maturity` to reach L1
//! (a proving backlog, an L1 that refuses or does not mine), the batcher seals only batches
//! whose L1 slots are all taken, and submissions are answered 503. The estimate comes from the
//! store: the recent proving time and time on L1, and the wait of the oldest batch not yet sent
//! or confirmed. A rewind ([`crate::rewind`]) stays the answer for a batch sealed before.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::{now_ms, BatchStatus, Store, StoreError, StoredBatch};

/// Batches whose times make the recent proving and L1 times (their medians).
const RECENT: u64 = 8;
/// The estimate is made again at most this often.
const REFRESH: Duration = Duration::from_millis(500);

/// The times [`estimate`] works from, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Times {
    /// Batches sealed and not yet proved.
    pub unproved: u64,
    /// The recent proving time of a batch.
    pub prove_ms: u64,
    /// The recent time from a proof to confirmation on L1.
    pub l1_ms: u64,
    /// How long the oldest batch not yet proved has waited since it was sealed.
    pub proof_wait_ms: u64,
    /// How long the oldest batch proved and not yet confirmed has waited since its proof.
    pub l1_wait_ms: u64,
}

/// Milliseconds from sealing a batch now to its landing on L1: its own proof and those of the
/// batches sealed before it, then its time on L1. A stage whose oldest batch has waited longer
/// than the recent times say (a prover or an L1 that stalls) is taken to need at least as long
/// again.
pub fn estimate(t: Times) -> u64 {
    let proving = t.unproved.saturating_add(1).saturating_mul(t.prove_ms).max(t.proof_wait_ms);
    proving.saturating_add(t.l1_ms.max(t.l1_wait_ms))
}

/// The estimate and the hold, shared by the batcher (which updates and obeys it) and the API
/// (which answers 503 while it holds).
#[derive(Debug)]
pub struct Pace {
    maturity_ms: u64,
    held: AtomicBool,
    eta_ms: AtomicU64,
    last: Mutex<Option<Instant>>,
}

impl Pace {
    /// For a contract whose `maturity` is this many seconds.
    pub fn new(maturity_s: u64) -> Pace {
        Pace { maturity_ms: maturity_s.saturating_mul(1000), held: AtomicBool::new(false), eta_ms: AtomicU64::new(0), last: Mutex::new(None) }
    }

    /// Whether batches with a free L1 slot are held back now.
    pub fn held(&self) -> bool {
        self.held.load(Ordering::Relaxed)
    }

    /// The last estimate, in milliseconds.
    pub fn eta_ms(&self) -> u64 {
        self.eta_ms.load(Ordering::Relaxed)
    }

    /// The contract's maturity in seconds.
    pub fn maturity_s(&self) -> u64 {
        self.maturity_ms / 1000
    }

    /// Estimate again from the store (at most every [`REFRESH`]). Holds when the estimate is
    /// over half of `maturity` while a batch is on its way (an empty pipeline never holds: the
    /// next batch goes straight through, and its time tells); lets go under 40%.
    pub fn update(&self, store: &Store) -> Result<(), StoreError> {
        {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|t| t.elapsed() < REFRESH) {
                return Ok(());
            }
            *last = Some(Instant::now());
        }
        let heads = store.stage_heads()?;
        let mut recent = Vec::new();
        for id in heads[3].saturating_sub(RECENT - 1).max(1)..=heads[0] {
            if let Some(b) = store.batch(id)? {
                recent.push(b);
            }
        }
        let eta = estimate_from(&recent, heads, now_ms());
        self.eta_ms.store(eta, Ordering::Relaxed);
        let on_its_way = heads[0] > heads[3];
        let held = self.held();
        let hold = on_its_way && if held { eta.saturating_mul(10) >= self.maturity_ms.saturating_mul(4) } else { eta.saturating_mul(2) > self.maturity_ms };
        if hold != held {
            self.held.store(hold, Ordering::Relaxed);
            eprintln!(
                "zkrollup-node: a batch sealed now would reach L1 in about {} s (maturity {} s): {}",
                eta / 1000,
                self.maturity_s(),
                if hold { "batches with a free L1 slot are held back, submissions refused" } else { "sealing as usual again" }
            );
        }
        Ok(())
    }
}

/// The estimate from the last batches (`heads`: the stage heads, `now`: Unix milliseconds).
fn estimate_from(batches: &[StoredBatch], heads: [u64; 4], now: u64) -> u64 {
    let median = |mut v: Vec<u64>| -> u64 {
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or(0)
    };
    let prove = median(batches.iter().filter_map(|b| b.prove_ms).collect());
    let l1 = median(
        batches
            .iter()
            .filter_map(|b| Some(b.confirmed_ms?.saturating_sub(b.sealed_ms + b.prove_ms?)))
            .collect(),
    );
    let oldest = |statuses: &[BatchStatus]| batches.iter().find(|b| statuses.contains(&b.status));
    estimate(Times {
        unproved: heads[0].saturating_sub(heads[1]),
        prove_ms: prove,
        l1_ms: l1,
        proof_wait_ms: oldest(&[BatchStatus::Sealed]).map_or(0, |b| now.saturating_sub(b.sealed_ms)),
        l1_wait_ms: oldest(&[BatchStatus::Proved, BatchStatus::Submitted, BatchStatus::Failed])
            .map_or(0, |b| now.saturating_sub(b.sealed_ms + b.prove_ms.unwrap_or(0))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_counts_the_proofs_ahead_and_the_longer_of_the_l1_times() {
        let t = Times { unproved: 0, prove_ms: 2_000, l1_ms: 3_000, ..Times::default() };
        assert_eq!(estimate(t), 5_000);
        assert_eq!(estimate(Times { unproved: 3, ..t }), 11_000);
        // The oldest batch in flight has waited 60 s already: L1 is slower than it was.
        assert_eq!(estimate(Times { l1_wait_ms: 60_000, ..t }), 62_000);
        // The oldest batch waiting for its proof has waited 90 s: the prover stalls.
        assert_eq!(estimate(Times { unproved: 3, proof_wait_ms: 90_000, ..t }), 93_000);
        assert_eq!(estimate(Times { unproved: u64::MAX, prove_ms: u64::MAX, ..t }), u64::MAX);
    }

    fn batch(id: u64, status: BatchStatus, sealed_ms: u64, prove_ms: Option<u64>, confirmed_ms: Option<u64>) -> StoredBatch {
        StoredBatch {
            id,
            status,
            reason: "timeout".into(),
            transfers: vec![],
            requests: vec![],
            old_root: "0".into(),
            new_root: "0".into(),
            writes: vec![],
            sealed_ms,
            proof: None,
            calldata: None,
            prove_ms,
            tx: None,
            confirmed_ms,
            failure: None,
            payouts: None,
        }
    }

    #[test]
    fn a_batch_on_l1_for_too_long_holds_the_batcher_and_its_confirmation_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("node.redb"), false).unwrap();
        let put = |b: &StoredBatch| {
            let txn = store.begin().unwrap();
            txn.put_batch(b).unwrap();
            txn.commit().unwrap();
        };
        let now = now_ms();
        // Batch 1 took 2 s to prove and 10 s on L1; batch 2, proved 10 minutes ago, is not mined.
        put(&batch(1, BatchStatus::Confirmed, now - 700_000, Some(2_000), Some(now - 688_000)));
        put(&batch(2, BatchStatus::Submitted, now - 602_000, Some(2_000), None));
        let pace = Pace::new(900);
        pace.update(&store).unwrap();
        assert!(pace.held(), "about {} s to L1, maturity 900 s", pace.eta_ms() / 1000);
        assert!((602_000..700_000).contains(&pace.eta_ms()), "{}", pace.eta_ms());
        // Batch 2 lands: nothing is on its way, and the next batch goes through.
        put(&batch(2, BatchStatus::Confirmed, now - 602_000, Some(2_000), Some(now_ms())));
        std::thread::sleep(REFRESH);
        pace.update(&store).unwrap();
        assert!(!pace.held());
    }
}
