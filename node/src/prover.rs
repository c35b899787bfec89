//! The proving stage: one long-lived [`FastProver`] and proving key, and its own copy of the state
//! as of the last proved batch. It takes sealed batches in id order, re-derives each one's witness
//! by applying it to that state (so a restart needs only the stored accounts and batches), proves,
//! checks the proof against the verifying key, and stores the proof, the `submitBatch` call data
//! and the proved accounts in one transaction.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zkrollup::export::calldata::submit_batch_calldata;
use zkrollup::export::optimistic::post_batch_calldata;
use zkrollup::optimistic::sig_data;
use zkrollup::primitives::batch::Shape;
use zkrollup::prover::fast::FastProver;
use zkrollup::prover::{snarkjs, Proof, ProvingKey, VerifyingKey};
use zkrollup::{Account, Batch, BatchWitness, Fr, Request, State};

use crate::metrics::Metrics;
use crate::sequencer::{params, request_of};
use crate::store::{root_text, BatchStatus, Stage, Store, StoredBatch};

/// A hold on the proving stage (dev mode's `POST /v1/dev/prover`): while held, the stage
/// starts no proof (one under way finishes), so that sealed batches pile up on purpose. Tests
/// and demos use it to reach a backlog, or a kill with batches waiting for proof, whatever the
/// machine's speed.
#[derive(Clone, Default)]
pub struct ProverHold(Arc<AtomicBool>);

impl ProverHold {
    /// Hold the stage (`true`) or let it go on (`false`).
    pub fn set(&self, held: bool) {
        self.0.store(held, Ordering::SeqCst);
    }

    /// Whether the stage is held.
    pub fn held(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Batch `b`'s witness, derived by applying it to `state` (the state before it, which it
/// advances), checked against the sealed root; and its requests.
pub fn derive_witness(
    store: &Store,
    state: &mut State,
    shape: Shape,
    domain: Fr,
    b: &StoredBatch,
) -> Result<(BatchWitness, Vec<Request>), String> {
    let mut transfers = Vec::with_capacity(b.transfers.len());
    for id in &b.transfers {
        let t = store.transfer(*id).map_err(|e| e.to_string())?.ok_or(format!("transfer {id} missing"))?;
        transfers.push(zkrollup::files::parse_transfer(&t.entry.to_string()).map_err(|e| e.to_string())?);
    }
    let mut requests = Vec::with_capacity(b.requests.len());
    for k in &b.requests {
        let r = store.request(*k).map_err(|e| e.to_string())?.ok_or(format!("request {k} missing"))?;
        requests.push(request_of(&r)?);
    }
    let batch = Batch::new(transfers).with_requests(requests.clone());
    let witness = state
        .apply_batch(&batch, &params(shape, domain, b.id))
        .map_err(|e| format!("batch {} does not apply to the proved state: {e}", b.id))?;
    if root_text(witness.new_root) != b.new_root {
        return Err(format!("batch {}: re-applied root {} differs from the sealed {}", b.id, root_text(witness.new_root), b.new_root));
    }
    Ok((witness, requests))
}

/// Store a checked proof of batch `b`: the proof, the `submitBatch` call data and the proved
/// accounts, in one transaction.
pub fn store_proved(
    store: &Store,
    b: StoredBatch,
    proof: &Proof,
    witness: &BatchWitness,
    requests: &[Request],
    shape: Shape,
    elapsed: Duration,
) -> Result<(), String> {
    let calldata = submit_batch_calldata(proof, &witness.public_data, shape.l1_slots, requests).map_err(|e| e.to_string())?;
    store_ready(store, with_payouts(b, witness), Some(proof), calldata, elapsed)
}

/// Store batch `b` ready for L1 without a proof (optimistic settlement, SPEC-v3): its
/// `postBatch` call data, with the signatures, and the accounts, in one transaction.
pub fn store_unproved(store: &Store, b: StoredBatch, witness: &BatchWitness, requests: &[Request], shape: Shape, elapsed: Duration) -> Result<(), String> {
    let slots: Vec<zkrollup::Transfer> = witness.slots.iter().map(|s| s.transfer).collect();
    let calldata = post_batch_calldata(&witness.public_data, shape.l1_slots, requests, &sig_data(&slots)).map_err(|e| e.to_string())?;
    store_ready(store, with_payouts(b, witness), None, calldata, elapsed)
}

/// Batch `b` with its payouts (what finalizing it on an `OptimisticRollup` credits).
fn with_payouts(mut b: StoredBatch, witness: &BatchWitness) -> StoredBatch {
    b.payouts = Some(hex::encode(zkrollup::optimistic::payouts(witness)));
    b
}

/// [`store_unproved`] with the first signature in `sigData` made invalid (its `S` plus one),
/// INSECURE: a batch no one can prove from L1 data, for tests of watchers and reverts. Marked
/// done in the same transaction, so the batch posted again after its revert is honest.
fn store_unproved_corrupt(store: &Store, b: StoredBatch, witness: &BatchWitness, requests: &[Request], shape: Shape, elapsed: Duration) -> Result<(), String> {
    let mut slots: Vec<zkrollup::Transfer> = witness.slots.iter().map(|s| s.transfer).collect();
    let Some(sig) = slots.iter_mut().find_map(|t| t.signature.as_mut()) else {
        return Err(format!("--insecure-corrupt-signatures-of-batch {}: the batch has no signature to corrupt", b.id));
    };
    sig.s += Fr::from(1u64);
    eprintln!("zkrollup-node: INSECURE: batch {} is posted with an invalid signature in its sigData", b.id);
    let calldata = post_batch_calldata(&witness.public_data, shape.l1_slots, requests, &sig_data(&slots)).map_err(|e| e.to_string())?;
    let txn = store.begin().map_err(|e| e.to_string())?;
    txn.set_meta("insecure_corrupted_batch", &b.id).map_err(|e| e.to_string())?;
    store_ready_in(txn, with_payouts(b, witness), None, calldata, elapsed)
}

fn store_ready(store: &Store, b: StoredBatch, proof: Option<&Proof>, calldata: Vec<u8>, elapsed: Duration) -> Result<(), String> {
    store_ready_in(store.begin().map_err(|e| e.to_string())?, b, proof, calldata, elapsed)
}

fn store_ready_in(txn: crate::store::Txn, mut b: StoredBatch, proof: Option<&Proof>, calldata: Vec<u8>, elapsed: Duration) -> Result<(), String> {
    b.status = BatchStatus::Proved;
    b.proof = proof.map(snarkjs::proof_json);
    b.calldata = Some(hex::encode(calldata));
    b.prove_ms = Some(elapsed.as_millis() as u64);
    let writes: Vec<(u32, Account)> = b.writes.iter().map(|(i, a)| (*i, a.0)).collect();
    txn.put_batch(&b).map_err(|e| e.to_string())?;
    txn.put_accounts(Stage::Proved, &writes).map_err(|e| e.to_string())?;
    txn.commit().map_err(|e| e.to_string())
}

/// The proving stage's state.
pub struct ProverStage {
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    shape: Shape,
    domain: Fr,
    /// The prover and its key; None: batches are posted without a proof (optimistic
    /// settlement), the stage only re-derives and checks each one's witness.
    prover: Option<(FastProver, ProvingKey)>,
    vk: VerifyingKey,
    state: State,
    /// The last batch proved.
    proved: u64,
    /// INSECURE, tests only: the batch posted once with an invalid signature.
    corrupt: Option<u64>,
}

impl ProverStage {
    /// Load the proved accounts and check them against the last proved batch's root.
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        store: Arc<Store>,
        metrics: Arc<Metrics>,
        shape: Shape,
        domain: Fr,
        prover: Option<(FastProver, ProvingKey)>,
        vk: VerifyingKey,
        proved: u64,
        expected_root: Fr,
    ) -> Result<ProverStage, String> {
        let state = store.state(Stage::Proved, shape.depth, expected_root)?;
        Ok(ProverStage { store, metrics, shape, domain, prover, vk, state, proved, corrupt: None })
    }

    /// INSECURE, tests only: post batch `id` once with an invalid signature in its `sigData`.
    pub fn insecure_corrupt_signatures_of_batch(mut self, id: Option<u64>) -> ProverStage {
        self.corrupt = id;
        self
    }

    /// Prove the next sealed batch, if any; its id.
    pub fn prove_next(&mut self) -> Result<Option<u64>, String> {
        let Some(b) = self.store.first_batch_in(BatchStatus::Sealed, self.proved + 1).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let t0 = Instant::now();
        let mut next = self.state.clone();
        let (witness, requests) = derive_witness(&self.store, &mut next, self.shape, self.domain, &b)?;
        let elapsed = match &self.prover {
            Some((prover, pk)) => {
                let proof = prover.prove(pk, witness.circuit(self.shape.depth)).map_err(|e| e.to_string())?;
                // Every proof is checked before it leaves the node.
                if !zkrollup::prover::verify(&self.vk, &[witness.commitment], &proof).map_err(|e| e.to_string())? {
                    return Err(format!("batch {}: the proof does not verify", b.id));
                }
                let elapsed = t0.elapsed();
                store_proved(&self.store, b, &proof, &witness, &requests, self.shape, elapsed)?;
                elapsed
            }
            None => {
                let elapsed = t0.elapsed();
                let done = || self.store.meta::<u64>("insecure_corrupted_batch").map_err(|e| e.to_string());
                if self.corrupt == Some(b.id) && done()?.is_none() {
                    store_unproved_corrupt(&self.store, b, &witness, &requests, self.shape, elapsed)?;
                } else {
                    store_unproved(&self.store, b, &witness, &requests, self.shape, elapsed)?;
                }
                elapsed
            }
        };
        self.state = next;
        self.proved = witness.batch_id;
        self.metrics.proving_seconds.observe(elapsed.as_secs_f64());
        Metrics::inc(&self.metrics.batches, "proved");
        Ok(Some(witness.batch_id))
    }

    /// Prove batches as they are sealed until `stop` is set, none while `hold` is held; a
    /// failure is fatal to the node.
    pub fn run(mut self, stop: Arc<AtomicBool>, hold: ProverHold) -> Result<(), String> {
        while !stop.load(Ordering::Relaxed) {
            if hold.held() || self.prove_next()?.is_none() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }
}
