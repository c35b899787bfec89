//! The step gadget, twin of [`super::apply_step`].
//!
//! Inputs (all witnesses; the root before comes from the previous slot):
//!
//! | input | type | bits |
//! | --- | --- | --- |
//! | `from`, `to` | slot index | `2 * depth` (so `< 4^depth`) |
//! | `amount` | u64 | 64 |
//! | `nonce` | u64 | equal to the sender's, a u64 by the tree's invariant |
//! | sender, receiver leaf preimages | `Ax, Ay: Fr`, `balance, nonce: u64` | u64 by the tree's invariant |
//! | sender, receiver siblings | `Fr` | `3 * depth` each |
//!
//! Phases: (1) decompose indices and amount, find padding and withdrawals (`to == 0`); (2)
//! padding is all zero, and a withdrawal's receiver leaf is zero; (3) the sender's leaf is in the
//! tree; (4) nonce and balance rules, the sender's new leaf; (5) the receiver's leaf is in the
//! updated tree (slot 0's empty leaf for a withdrawal); (6) the receiver's new balance and leaf
//! (unchanged for a withdrawal).
//! Every new balance and nonce is range-checked to 64 bits, so by induction every leaf the
//! circuit writes holds u64 values, which is why the values read from leaves need no check.

use ark_r1cs_std::{
    alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::fp::FpVar, fields::FieldVar,
};
use ark_relations::{gr1cs::{ConstraintSystemRef, SynthesisError}, ns};

use super::{LeafPreimage, StepWitness};
use crate::merkle::constraints::MerklePathVar;
use crate::poseidon::Poseidon;
use crate::range::constraints::{be_bits_padded as be, enforce_u64};
use crate::Fr;

/// What a step gives the rest of the circuit.
pub struct StepOutput {
    /// The root after the step.
    pub root_after: FpVar<Fr>,
    /// The slot's public data bits: `from (32) || to (32) || amount (64)`, big-endian.
    pub public_bits: Vec<Boolean<Fr>>,
    /// Whether the slot is padding.
    pub is_padding: Boolean<Fr>,
    /// The sender's key `(Ax, Ay)`, for the signature check.
    pub sender_key: (FpVar<Fr>, FpVar<Fr>),
    /// `from`, the message's `to` (`2^32` for a withdrawal), `amount`, `nonce`: the signed message.
    pub fields: [FpVar<Fr>; 4],
}

struct LeafVar {
    ax: FpVar<Fr>,
    ay: FpVar<Fr>,
    balance: FpVar<Fr>,
    nonce: FpVar<Fr>,
}

impl LeafVar {
    fn new(cs: &ConstraintSystemRef<Fr>, leaf: &LeafPreimage) -> Result<Self, SynthesisError> {
        let w = |v: Fr| FpVar::new_witness(cs.clone(), || Ok(v));
        Ok(LeafVar { ax: w(leaf.ax)?, ay: w(leaf.ay)?, balance: w(Fr::from(leaf.balance))?, nonce: w(Fr::from(leaf.nonce))? })
    }

    /// `H(Ax, Ay, balance, nonce)` when `real` is 1, or 0 (slot 0, always empty) when it is 0.
    fn leaf(&self, balance: &FpVar<Fr>, nonce: &FpVar<Fr>, real: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
        let h = Poseidon::for_inputs(4).expect("4 inputs").hash_var(&[self.ax.clone(), self.ay.clone(), balance.clone(), nonce.clone()])?;
        Ok(h * real)
    }

    fn all(&self) -> [&FpVar<Fr>; 4] {
        [&self.ax, &self.ay, &self.balance, &self.nonce]
    }
}

/// Enforce one slot's step from `root_before` in a tree of `depth` levels.
pub fn step_var(
    cs: ConstraintSystemRef<Fr>,
    depth: usize,
    root_before: &FpVar<Fr>,
    w: &StepWitness,
) -> Result<StepOutput, SynthesisError> {
    assert!(w.sender_path.depth() == depth && w.receiver_path.depth() == depth, "paths of the tree's depth");
    let witness = |v: Fr| FpVar::new_witness(cs.clone(), || Ok(v));

    // (1) Indices below 4^depth, the amount a u64; padding is from == 0.
    let from = witness(Fr::from(w.from))?;
    let to = witness(Fr::from(w.to))?;
    let amount = witness(Fr::from(w.amount))?;
    let nonce = witness(Fr::from(w.nonce))?;
    let (from_bits, to_bits, amount_bits) = {
        let _ns = ns!(cs, "indices below 4^depth, amount below 2^64");
        (
            from.to_bits_le_with_top_bits_zero(2 * depth)?.0,
            to.to_bits_le_with_top_bits_zero(2 * depth)?.0,
            enforce_u64(&amount)?,
        )
    };
    let is_padding = from.is_zero()?;
    let is_withdrawal = to.is_zero()? & !&is_padding;
    let pad = FpVar::from(is_padding.clone());
    let real = FpVar::one() - &pad;
    // 1 for a transfer, 0 for a withdrawal or padding: whether the receiver side moves.
    let credit = &real - FpVar::from(is_withdrawal.clone());
    let sender = LeafVar::new(&cs, &w.sender)?;
    let receiver = LeafVar::new(&cs, &w.receiver)?;

    // (2) Padding: every field and leaf value zero; no receiver leaf unless a transfer.
    {
        let _ns = ns!(cs, "padding is all zero");
        for v in [&to, &amount, &nonce].into_iter().chain(sender.all()) {
            (&pad * v).enforce_equal(&FpVar::zero())?;
        }
        let no_receiver = FpVar::one() - &credit;
        for v in receiver.all() {
            (&no_receiver * v).enforce_equal(&FpVar::zero())?;
        }
    }

    // (3) The sender's leaf is in the tree.
    let sender_path = MerklePathVar::new_witness(cs.clone(), &w.sender_path)?;
    {
        let _ns = ns!(cs, "sender leaf in tree");
        let leaf = sender.leaf(&sender.balance, &sender.nonce, &real)?;
        sender_path.root(&leaf, &from_bits)?.enforce_equal(root_before)?;
    }

    // (4) Nonce matches; the amount is covered; the nonce can grow.
    {
        let _ns = ns!(cs, "nonce matches sender");
        nonce.enforce_equal(&sender.nonce)?;
    }
    let new_balance = &sender.balance - &amount;
    let new_nonce = &sender.nonce + FpVar::one();
    {
        let _ns = ns!(cs, "sender balance covers amount");
        enforce_u64(&new_balance)?;
    }
    {
        let _ns = ns!(cs, "sender nonce below 2^64 - 1");
        enforce_u64(&new_nonce)?;
    }
    let root_mid = sender_path.root(&sender.leaf(&new_balance, &new_nonce, &real)?, &from_bits)?;

    // (5) The receiver's leaf is in the updated tree (an empty slot's leaf 0 has no preimage).
    let receiver_path = MerklePathVar::new_witness(cs.clone(), &w.receiver_path)?;
    {
        let _ns = ns!(cs, "receiver leaf in tree");
        let leaf = receiver.leaf(&receiver.balance, &receiver.nonce, &credit)?;
        receiver_path.root(&leaf, &to_bits)?.enforce_equal(&root_mid)?;
    }

    // (6) The receiver's balance does not overflow; its new leaf.
    let receiver_balance = &receiver.balance + &amount;
    {
        let _ns = ns!(cs, "receiver balance below 2^64");
        enforce_u64(&receiver_balance)?;
    }
    let root_after = receiver_path.root(&receiver.leaf(&receiver_balance, &receiver.nonce, &credit)?, &to_bits)?;
    let message_to = &to + FpVar::from(is_withdrawal) * Fr::from(super::WITHDRAWAL_TAG);

    let mut public_bits = be(&from_bits, 32);
    public_bits.extend(be(&to_bits, 32));
    public_bits.extend(be(&amount_bits, 64));
    Ok(StepOutput { root_after, public_bits, is_padding, sender_key: (sender.ax, sender.ay), fields: [from, message_to, amount, nonce] })
}
