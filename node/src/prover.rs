//! The proving stage: one long-lived [`FastProver`] and proving key, and its own copy of the state
//! as of the last proved batch. It takes sealed batches in id order, re-derives each one's witness
//! by applying it to that state (so a restart needs only the stored accounts and batches), proves,
//! checks the proof against the verifying key, and stores the proof, the `submitBatch` call data
//! and the proved accounts in one transaction.

use std::sync::Arc;
use std::time::{Duration, Instant};

use zkrollup::export::calldata::submit_batch_calldata;
use zkrollup::primitives::batch::{BatchCircuit, Shape};
use zkrollup::prover::fast::FastProver;
use zkrollup::prover::{snarkjs, ProvingKey, VerifyingKey};
use zkrollup::{Account, Batch, Fr, State};

use crate::metrics::Metrics;
use crate::sequencer::{params, request_of};
use crate::store::{root_text, BatchStatus, Stage, Store};

/// The proving stage's state.
pub struct ProverStage {
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    shape: Shape,
    domain: Fr,
    prover: FastProver,
    pk: ProvingKey,
    vk: VerifyingKey,
    state: State,
    /// The last batch proved.
    proved: u64,
}

impl ProverStage {
    /// Load the proved accounts and check them against the last proved batch's root.
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        store: Arc<Store>,
        metrics: Arc<Metrics>,
        shape: Shape,
        domain: Fr,
        pk: ProvingKey,
        vk: VerifyingKey,
        proved: u64,
        expected_root: Fr,
    ) -> Result<ProverStage, String> {
        let state = store.state(Stage::Proved, shape.depth, expected_root)?;
        let prover = FastProver::new(BatchCircuit::blank(shape)).map_err(|e| e.to_string())?;
        Ok(ProverStage { store, metrics, shape, domain, prover, pk, vk, state, proved })
    }

    /// Prove the next sealed batch, if any; its id.
    pub fn prove_next(&mut self) -> Result<Option<u64>, String> {
        let Some(mut b) = self.store.first_batch_in(BatchStatus::Sealed, self.proved + 1).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let mut transfers = Vec::with_capacity(b.transfers.len());
        for id in &b.transfers {
            let t = self.store.transfer(*id).map_err(|e| e.to_string())?.ok_or(format!("transfer {id} missing"))?;
            transfers.push(zkrollup::files::parse_transfer(&t.entry.to_string()).map_err(|e| e.to_string())?);
        }
        let mut requests = Vec::with_capacity(b.requests.len());
        for k in &b.requests {
            let r = self.store.request(*k).map_err(|e| e.to_string())?.ok_or(format!("request {k} missing"))?;
            requests.push(request_of(&r)?);
        }
        let batch = Batch::new(transfers).with_requests(requests.clone());
        let t0 = Instant::now();
        let mut next = self.state.clone();
        let witness = next
            .apply_batch(&batch, &params(self.shape, self.domain, b.id))
            .map_err(|e| format!("batch {} does not apply to the proved state: {e}", b.id))?;
        if root_text(witness.new_root) != b.new_root {
            return Err(format!("batch {}: re-applied root {} differs from the sealed {}", b.id, root_text(witness.new_root), b.new_root));
        }
        let proof = self.prover.prove(&self.pk, witness.circuit(self.shape.depth)).map_err(|e| e.to_string())?;
        // Every proof is checked before it leaves the node.
        if !zkrollup::prover::verify(&self.vk, &[witness.commitment], &proof).map_err(|e| e.to_string())? {
            return Err(format!("batch {}: the proof does not verify", b.id));
        }
        let elapsed = t0.elapsed();
        let calldata = submit_batch_calldata(&proof, &witness.public_data, self.shape.l1_slots, &requests)
            .map_err(|e| e.to_string())?;
        b.status = BatchStatus::Proved;
        b.proof = Some(snarkjs::proof_json(&proof));
        b.calldata = Some(hex::encode(calldata));
        b.prove_ms = Some(elapsed.as_millis() as u64);
        let writes: Vec<(u32, Account)> = b.writes.iter().map(|(i, a)| (*i, a.0)).collect();
        let txn = self.store.begin().map_err(|e| e.to_string())?;
        txn.put_batch(&b).map_err(|e| e.to_string())?;
        txn.put_accounts(Stage::Proved, &writes).map_err(|e| e.to_string())?;
        txn.commit().map_err(|e| e.to_string())?;
        self.state = next;
        self.proved = b.id;
        self.metrics.proving_seconds.observe(elapsed.as_secs_f64());
        Metrics::inc(&self.metrics.batches, "proved");
        Ok(Some(b.id))
    }

    /// Prove batches as they are sealed until `stop` is set; a failure is fatal to the node.
    pub fn run(mut self, stop: Arc<std::sync::atomic::AtomicBool>) -> Result<(), String> {
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            if self.prove_next()?.is_none() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }
}
