//! The batch circuit (SPEC-v2): M L1 slots then N L2 slots over a tree of depth D, proving that
//! the tree moved from `old_root` to `new_root` under SPEC-v2 section 3, with the commitment of
//! section 5 as the only public input.
//!
//! | input | kind | type, bits |
//! | --- | --- | --- |
//! | `c` | public | commitment, 253 bits |
//! | `domain` | witness | field element, 254 bits, checked `< r`; in the public data |
//! | `batch_id` | witness | u64, 64 bits |
//! | `old_root`, `new_root` | witness | field elements, 254 bits, checked `< r` |
//! | per L1 slot: kind, `index`, `amount`, key, leaf and path | witness | see [`crate::request::constraints`] |
//! | per L2 slot: `from`, `to`, `amount`, `nonce`, leaves and paths | witness | see [`crate::transfer::constraints`] |
//! | per L2 slot: `R8`, `S` | witness | point on the curve, 251 bits `< l` |
//!
//! Phases: (1) the domain's, batch id's and old root's bits; (2) per L1 slot: the request step,
//! padding only after the last request; (3) per L2 slot: the state step, the signed message
//! (`to = 2^32` for a withdrawal), the signature (skipped for padding, whose `R8` and `S` are
//! pinned to `(0, 1)` and 0); (4) the new root's bits; (5) the public data's bits, their
//! SHA-256, the commitment equal to `c`.
//!
//! The domain is a witness, not a constant: it is bound by the commitment, which the contract
//! computes with its own domain, so one setup serves every deployment of the same M, N, D.

use ark_r1cs_std::{alloc::AllocVar, eq::EqGadget, fields::fp::FpVar, fields::FieldVar};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use ark_relations::ns;

use crate::babyjubjub::constraints::PointVar;
use crate::commitment::constraints::commitment_var;
use crate::commitment::{commitment, public_data, Header};
use crate::eddsa::constraints::verify_var;
use crate::eddsa::Signature;
use crate::merkle::{empty_roots, MerklePath};
use crate::poseidon::constraints::poseidon_var;
use crate::range::constraints::{be_bits_padded, enforce_u64, strict_bytes_be};
use crate::request::constraints::request_var;
use crate::request::{apply_request, RequestWitness};
use crate::transfer::constraints::step_var;
use crate::transfer::{apply_step, StepWitness};
use crate::Fr;

/// One L2 slot: its state step and (for a transfer or withdrawal) its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotInput {
    /// The state transition.
    pub step: StepWitness,
    /// The sender's signature; `None` for padding.
    pub signature: Option<Signature>,
}

/// The circuit's shape: what one trusted setup is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    /// D, the tree's depth.
    pub depth: usize,
    /// M, the L1 slots.
    pub l1_slots: usize,
    /// N, the L2 slots.
    pub batch_size: usize,
}

/// The batch circuit with its witness.
#[derive(Clone, Debug)]
pub struct BatchCircuit {
    /// D.
    pub depth: usize,
    /// The deployment's domain.
    pub domain: Fr,
    /// The batch's number in the chain.
    pub batch_id: u64,
    /// The root before the batch.
    pub old_root: Fr,
    /// The M L1 slots.
    pub requests: Vec<RequestWitness>,
    /// The N L2 slots.
    pub slots: Vec<SlotInput>,
    /// The public input the proof is for (normally [`BatchCircuit::commitment`]).
    pub public_commitment: Fr,
}

impl BatchCircuit {
    /// The circuit for these slots from `old_root`, claiming the commitment they imply natively
    /// (or 0 if a step is invalid; the circuit is then unsatisfied anyway).
    pub fn new(
        depth: usize,
        header: (Fr, u64),
        old_root: Fr,
        requests: Vec<RequestWitness>,
        slots: Vec<SlotInput>,
    ) -> Self {
        let (domain, batch_id) = header;
        let mut circuit =
            BatchCircuit { depth, domain, batch_id, old_root, requests, slots, public_commitment: Fr::from(0u64) };
        circuit.public_commitment = circuit.commitment().unwrap_or_default();
        circuit
    }

    /// A circuit of this shape over an empty tree, all padding: what setup synthesizes.
    pub fn blank(shape: Shape) -> Self {
        let z = empty_roots();
        let slot_zero = MerklePath { index: 0, siblings: (0..shape.depth).map(|h| [z[h]; 3]).collect() };
        let request = RequestWitness::padding(slot_zero.clone());
        let pad = SlotInput { step: StepWitness::padding(slot_zero), signature: None };
        BatchCircuit::new(
            shape.depth,
            (Fr::from(0u64), 1),
            z[shape.depth],
            vec![request; shape.l1_slots],
            vec![pad; shape.batch_size],
        )
    }

    /// This circuit's shape.
    pub fn shape(&self) -> Shape {
        Shape { depth: self.depth, l1_slots: self.requests.len(), batch_size: self.slots.len() }
    }

    /// The public data, computed natively; `None` if a step is invalid or padding precedes a
    /// request.
    pub fn public_data(&self) -> Option<Vec<u8>> {
        let mut root = self.old_root;
        let mut padding_seen = false;
        for request in &self.requests {
            let padding = request.kind == crate::request::RequestKind::Padding;
            if padding_seen && !padding {
                return None;
            }
            padding_seen |= padding;
            root = apply_request(self.depth, root, request).ok()?;
        }
        for slot in &self.slots {
            root = apply_step(self.depth, root, &slot.step).ok()?;
        }
        let header = Header { domain: self.domain, batch_id: self.batch_id, old_root: self.old_root, new_root: root };
        let l1: Vec<_> = self.requests.iter().map(RequestWitness::public_bytes).collect();
        let l2: Vec<(u32, u32, u64)> = self.slots.iter().map(|s| (s.step.from, s.step.to, s.step.amount)).collect();
        Some(public_data(&header, &l1, &l2))
    }

    /// The commitment, computed natively; `None` as for [`BatchCircuit::public_data`].
    pub fn commitment(&self) -> Option<Fr> {
        self.public_data().map(|data| commitment(&data))
    }
}

impl ConstraintSynthesizer<Fr> for BatchCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let c = FpVar::new_input(cs.clone(), || Ok(self.public_commitment))?;
        let w = |v: Fr| FpVar::new_witness(cs.clone(), || Ok(v));
        // (1)
        let domain = w(self.domain)?;
        let batch_id = w(Fr::from(self.batch_id))?;
        let old_root = w(self.old_root)?;
        let mut public_bits = strict_bytes_be(&domain)?;
        public_bits.extend(be_bits_padded(&enforce_u64(&batch_id)?, 64));
        public_bits.extend(strict_bytes_be(&old_root)?);
        // (2)
        let mut root = old_root;
        let mut section_bits = Vec::new();
        let mut previous_padding: Option<FpVar<Fr>> = None;
        for request in &self.requests {
            let out = request_var(cs.clone(), self.depth, &root, request)?;
            if let Some(before) = previous_padding {
                let _ns = ns!(cs, "L1 padding only after the last request");
                (before * (FpVar::one() - &out.padding)).enforce_equal(&FpVar::zero())?;
            }
            previous_padding = Some(out.padding);
            section_bits.extend(out.public_bits);
            root = out.root_after;
        }
        // (3)
        for slot in &self.slots {
            let out = step_var(cs.clone(), self.depth, &root, &slot.step)?;
            let [from, to, amount, nonce] = &out.fields;
            let message = poseidon_var(&[domain.clone(), from.clone(), to.clone(), amount.clone(), nonce.clone()])?;
            let sig = slot.signature.unwrap_or(Signature { r8: (Fr::from(0u64), Fr::from(1u64)), s: Fr::from(0u64) });
            let r8 = PointVar { x: w(sig.r8.0)?, y: w(sig.r8.1)? };
            let s = w(sig.s)?;
            let pad = FpVar::from(out.is_padding.clone());
            (&pad * &r8.x).enforce_equal(&FpVar::zero())?;
            (&pad * (&r8.y - FpVar::one())).enforce_equal(&FpVar::zero())?;
            (&pad * &s).enforce_equal(&FpVar::zero())?;
            let key = PointVar { x: out.sender_key.0.clone(), y: out.sender_key.1.clone() };
            verify_var(&key, &message, &r8, &s, &!&out.is_padding)?;
            section_bits.extend(out.public_bits);
            root = out.root_after;
        }
        // (4)
        public_bits.extend(strict_bytes_be(&root)?);
        // (5)
        public_bits.extend(section_bits);
        commitment_var(&public_bits)?.enforce_equal(&c)
    }
}
