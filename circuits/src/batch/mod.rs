//! The batch circuit: N slots of transfers over a tree of depth D, proving that the tree moved
//! from `old_root` to `new_root` under SPEC section 4, with the commitment of section 5 as the
//! only public input.
//!
//! | input | kind | type, bits |
//! | --- | --- | --- |
//! | `c` | public | commitment, 253 bits |
//! | `domain` | constant | field element, fixed at setup |
//! | `old_root`, `new_root` | witness | field elements, 254 bits, checked `< r` |
//! | per slot: `from`, `to`, `amount`, `nonce`, leaves and paths | witness | see [`crate::transfer::constraints`] |
//! | per slot: `R8`, `S` | witness | point on the curve, 251 bits `< l` |
//!
//! Phases: (1) the old root's bits; (2) per slot: the state step, the signed message, the
//! signature (skipped for padding, whose `R8` and `S` are pinned to `(0, 1)` and 0); (3) the
//! new root's bits; (4) the public data's bits, their SHA-256, the commitment equal to `c`.

use ark_r1cs_std::{
    alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::fp::FpVar, fields::FieldVar, GR1CSVar,
};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use crate::babyjubjub::constraints::PointVar;
use crate::commitment::constraints::commitment_var;
use crate::commitment::{commitment, public_data};
use crate::eddsa::constraints::verify_var;
use crate::eddsa::Signature;
use crate::merkle::{empty_roots, MerklePath};
use crate::poseidon::constraints::poseidon_var;
use crate::range::constraints::{enforce_le_constant, pack_le};
use crate::transfer::constraints::step_var;
use crate::transfer::{apply_step, StepWitness};
use crate::Fr;

/// One slot: its state step and (for a real transfer) its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotInput {
    /// The state transition.
    pub step: StepWitness,
    /// The sender's signature; `None` for padding.
    pub signature: Option<Signature>,
}

/// The batch circuit with its witness.
#[derive(Clone, Debug)]
pub struct BatchCircuit {
    /// D.
    pub depth: usize,
    /// The deployment's domain.
    pub domain: Fr,
    /// The root before the batch.
    pub old_root: Fr,
    /// The N slots.
    pub slots: Vec<SlotInput>,
    /// The public input the proof is for (normally [`BatchCircuit::commitment`]).
    pub public_commitment: Fr,
}

impl BatchCircuit {
    /// The circuit for `slots` from `old_root`, claiming the commitment they imply natively (or
    /// an arbitrary one if a step is invalid; the circuit is then unsatisfied anyway).
    pub fn new(depth: usize, domain: Fr, old_root: Fr, slots: Vec<SlotInput>) -> Self {
        let mut circuit = BatchCircuit { depth, domain, old_root, slots, public_commitment: Fr::from(0u64) };
        circuit.public_commitment = circuit.commitment().unwrap_or_default();
        circuit
    }

    /// A circuit of this shape over an empty tree, all padding: what setup synthesizes.
    pub fn blank(depth: usize, batch_size: usize, domain: Fr) -> Self {
        let z = empty_roots();
        let slot_zero = MerklePath { index: 0, siblings: (0..depth).map(|h| [z[h]; 3]).collect() };
        let pad = SlotInput { step: StepWitness::padding(slot_zero), signature: None };
        BatchCircuit::new(depth, domain, z[depth], vec![pad; batch_size])
    }

    /// The new root and the commitment, computed natively; `None` if a step is invalid.
    pub fn commitment(&self) -> Option<Fr> {
        let mut root = self.old_root;
        for slot in &self.slots {
            root = apply_step(self.depth, root, &slot.step).ok()?;
        }
        let public: Vec<(u32, u32, u64)> = self.slots.iter().map(|s| (s.step.from, s.step.to, s.step.amount)).collect();
        Some(commitment(&public_data(self.old_root, root, &public)))
    }
}

/// Strict big-endian bits of a field element (256, the top two zero): 254 bits, their
/// combination equal to `x`, and the integer at most `r - 1`.
fn strict_be_bits(cs: &ConstraintSystemRef<Fr>, x: &FpVar<Fr>) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    use ark_ff::{BigInteger, PrimeField};
    let value = x.value().map(|v| v.into_bigint());
    let bits = (0..254)
        .map(|i| Boolean::new_witness(cs.clone(), || value.map(|v| v.get_bit(i))))
        .collect::<Result<Vec<_>, _>>()?;
    pack_le(&bits).enforce_equal(x)?;
    let mut r_minus_1 = Fr::MODULUS;
    r_minus_1.sub_with_borrow(&ark_ff::BigInt::from(1u64));
    enforce_le_constant(&bits, r_minus_1.as_ref())?;
    let mut be = vec![Boolean::FALSE, Boolean::FALSE];
    be.extend(bits.into_iter().rev());
    Ok(be)
}

impl ConstraintSynthesizer<Fr> for BatchCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let c = FpVar::new_input(cs.clone(), || Ok(self.public_commitment))?;
        let domain = FpVar::constant(self.domain);
        // (1)
        let old_root = FpVar::new_witness(cs.clone(), || Ok(self.old_root))?;
        let mut public_bits = strict_be_bits(&cs, &old_root)?;
        // (2)
        let mut root = old_root;
        let mut slot_bits = Vec::with_capacity(128 * self.slots.len());
        for slot in &self.slots {
            let out = step_var(cs.clone(), self.depth, &root, &slot.step)?;
            let [from, to, amount, nonce] = &out.fields;
            let message = poseidon_var(&[domain.clone(), from.clone(), to.clone(), amount.clone(), nonce.clone()])?;
            let sig = slot.signature.unwrap_or(Signature { r8: (Fr::from(0u64), Fr::from(1u64)), s: Fr::from(0u64) });
            let w = |v: Fr| FpVar::new_witness(cs.clone(), || Ok(v));
            let r8 = PointVar { x: w(sig.r8.0)?, y: w(sig.r8.1)? };
            let s = w(sig.s)?;
            let pad = FpVar::from(out.is_padding.clone());
            (&pad * &r8.x).enforce_equal(&FpVar::zero())?;
            (&pad * (&r8.y - FpVar::one())).enforce_equal(&FpVar::zero())?;
            (&pad * &s).enforce_equal(&FpVar::zero())?;
            let key = PointVar { x: out.sender_key.0.clone(), y: out.sender_key.1.clone() };
            verify_var(&key, &message, &r8, &s, &!&out.is_padding)?;
            slot_bits.extend(out.public_bits);
            root = out.root_after;
        }
        // (3)
        public_bits.extend(strict_be_bits(&cs, &root)?);
        // (4)
        public_bits.extend(slot_bits);
        commitment_var(&public_bits)?.enforce_equal(&c)
    }
}
