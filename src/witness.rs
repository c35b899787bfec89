//! What the circuit needs to prove a batch: per L1 slot, the request as the circuit takes it;
//! per L2 slot, the leaves and Merkle paths around each update and the roots between them; plus
//! the public data and its commitment.
//!
//! A leaf's siblings do not change when that leaf is updated, so one path per update serves both
//! the membership check before it and the recomputed root after it.

use zkrollup_circuits::merkle::MerklePath;
use zkrollup_circuits::request::RequestWitness;

use crate::{Account, Fr, Transfer};

/// The witness of one L2 slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotWitness {
    /// The slot as proved (padding for an empty slot).
    pub transfer: Transfer,
    /// Root before the slot.
    pub root_before: Fr,
    /// Sender's account before the slot (`None`: empty leaf, as for padding's slot 0).
    pub sender_before: Option<Account>,
    /// Sender's account after its update.
    pub sender_after: Option<Account>,
    /// Path of `from`; valid before and after the sender's update.
    pub sender_path: MerklePath,
    /// Root after the sender's update.
    pub root_after_sender: Fr,
    /// Receiver's account after the sender's update and before its own (`None` for a
    /// withdrawal, whose receiver side is the empty slot 0).
    pub receiver_before: Option<Account>,
    /// Receiver's account after the slot.
    pub receiver_after: Option<Account>,
    /// Path of `to` (slot 0 for a withdrawal) in the tree after the sender's update.
    pub receiver_path: MerklePath,
    /// Root after the slot.
    pub root_after: Fr,
}

/// The witness of a whole batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchWitness {
    /// The deployment's domain.
    pub domain: Fr,
    /// The batch's number in the chain.
    pub batch_id: u64,
    /// Root before the batch.
    pub old_root: Fr,
    /// Root after the batch.
    pub new_root: Fr,
    /// One witness per L1 slot, M in all (padding after the requests).
    pub requests: Vec<RequestWitness>,
    /// One witness per L2 slot, N in all.
    pub slots: Vec<SlotWitness>,
    /// The public data bytes (SPEC-v2 section 5).
    pub public_data: Vec<u8>,
    /// The commitment, the proof's single public input.
    pub commitment: Fr,
}

impl SlotWitness {
    /// The circuit's view of this slot's state transition (its signature aside).
    pub fn step_witness(&self) -> zkrollup_circuits::transfer::StepWitness {
        let preimage = |a: Option<Account>| a.map_or_else(Default::default, |a| a.preimage());
        zkrollup_circuits::transfer::StepWitness {
            from: self.transfer.from,
            to: self.transfer.to,
            amount: self.transfer.amount,
            nonce: self.transfer.nonce,
            sender: preimage(self.sender_before),
            sender_path: self.sender_path.clone(),
            receiver: preimage(self.receiver_before),
            receiver_path: self.receiver_path.clone(),
        }
    }
}

impl BatchWitness {
    /// The batch circuit for this witness over a tree of `depth` levels.
    pub fn circuit(&self, depth: usize) -> zkrollup_circuits::batch::BatchCircuit {
        let slots = self
            .slots
            .iter()
            .map(|s| zkrollup_circuits::batch::SlotInput {
                step: s.step_witness(),
                // Padding carries no signature in the circuit, whatever the batch file held.
                signature: if s.transfer.is_padding() { None } else { s.transfer.signature },
            })
            .collect();
        zkrollup_circuits::batch::BatchCircuit::new(
            depth,
            (self.domain, self.batch_id),
            self.old_root,
            self.requests.clone(),
            slots,
        )
    }
}
