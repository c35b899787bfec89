//! One L2 slot's state transition, without its signature: the native twin of the step gadget.
//!
//! An L2 slot is a transfer (`from != 0`, `to != 0`), a withdrawal (`from != 0`, `to == 0`,
//! SPEC-v2 section 3) or padding (`from == 0`). The gadget in [`constraints`] enforces exactly
//! what [`apply_step`] checks here: the sender's leaf is in the tree, the nonce matches, the
//! amount is covered, the sender's nonce can grow; for a transfer, the receiver's leaf is in the
//! tree and its balance does not overflow; a withdrawal touches no receiver (its receiver path is
//! slot 0's, empty); padding is all zero and changes nothing. The signature check joins it in
//! the batch circuit.

pub mod constraints;

use crate::merkle::MerklePath;
use crate::poseidon::poseidon;
use crate::Fr;

/// The preimage of an account leaf `H(Ax, Ay, balance, nonce)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeafPreimage {
    /// Key x.
    pub ax: Fr,
    /// Key y.
    pub ay: Fr,
    /// Balance.
    pub balance: u64,
    /// Nonce.
    pub nonce: u64,
}

impl LeafPreimage {
    /// The leaf.
    pub fn leaf(&self) -> Fr {
        poseidon(&[self.ax, self.ay, Fr::from(self.balance), Fr::from(self.nonce)])
    }
}

/// Everything one slot's step needs besides its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepWitness {
    /// Sender slot (0: padding).
    pub from: u32,
    /// Receiver slot.
    pub to: u32,
    /// Amount.
    pub amount: u64,
    /// The transfer's nonce.
    pub nonce: u64,
    /// The sender's leaf before the step (zero for padding).
    pub sender: LeafPreimage,
    /// Siblings of `from` before the step.
    pub sender_path: MerklePath,
    /// The receiver's leaf after the sender's update (zero for padding).
    pub receiver: LeafPreimage,
    /// Siblings of `to` after the sender's update.
    pub receiver_path: MerklePath,
}

impl StepWitness {
    /// A padding slot in a tree of `depth` levels whose empty paths are `paths` (for slot 0).
    pub fn padding(path_of_slot_zero: MerklePath) -> Self {
        StepWitness {
            from: 0,
            to: 0,
            amount: 0,
            nonce: 0,
            sender: LeafPreimage::default(),
            sender_path: path_of_slot_zero.clone(),
            receiver: LeafPreimage::default(),
            receiver_path: path_of_slot_zero,
        }
    }
}

/// What `to` becomes in a withdrawal's signed message: `2^32`, which no slot index equals.
pub const WITHDRAWAL_TAG: u64 = 1 << 32;

/// The `to` field of the signed message: `to`, or [`WITHDRAWAL_TAG`] for a withdrawal.
pub fn message_to(from: u32, to: u32) -> u64 {
    if from != 0 && to == 0 {
        WITHDRAWAL_TAG
    } else {
        u64::from(to)
    }
}

/// A rule the step breaks, as the gadget would find it unsatisfied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepFault {
    /// `from` or `to` is at least `4^depth`.
    IndexOutOfRange,
    /// Padding with a non-zero field or leaf, or a withdrawal with a receiver leaf.
    PaddingNotEmpty,
    /// The sender's leaf is not in the tree at `from`.
    SenderNotInTree,
    /// The transfer's nonce is not the sender's.
    WrongNonce,
    /// `amount > balance`.
    InsufficientBalance,
    /// The sender's nonce is `2^64 - 1`.
    NonceExhausted,
    /// The receiver's leaf is not in the tree at `to` (an empty slot included).
    ReceiverNotInTree,
    /// `receiver.balance + amount >= 2^64`.
    ReceiverOverflow,
    /// A path's length is not the tree's depth, or names another slot.
    PathMismatch,
}

/// Apply the step natively: the root after it, or the first rule it breaks.
pub fn apply_step(depth: usize, root_before: Fr, w: &StepWitness) -> Result<Fr, StepFault> {
    let capacity = 1u64 << (2 * depth);
    if u64::from(w.from) >= capacity || u64::from(w.to) >= capacity {
        return Err(StepFault::IndexOutOfRange);
    }
    let path_ok = |p: &MerklePath, index: u32| p.depth() == depth && p.index == u64::from(index);
    if !path_ok(&w.sender_path, w.from) || !path_ok(&w.receiver_path, w.to) {
        return Err(StepFault::PathMismatch);
    }
    let zero = LeafPreimage::default();
    if w.from == 0 {
        let empty = w.to == 0 && w.amount == 0 && w.nonce == 0 && w.sender == zero && w.receiver == zero;
        if !empty {
            return Err(StepFault::PaddingNotEmpty);
        }
        return if w.sender_path.root(Fr::from(0u64)) == root_before { Ok(root_before) } else { Err(StepFault::SenderNotInTree) };
    }
    if w.sender_path.root(w.sender.leaf()) != root_before {
        return Err(StepFault::SenderNotInTree);
    }
    if w.nonce != w.sender.nonce {
        return Err(StepFault::WrongNonce);
    }
    let balance = w.sender.balance.checked_sub(w.amount).ok_or(StepFault::InsufficientBalance)?;
    let nonce = w.sender.nonce.checked_add(1).ok_or(StepFault::NonceExhausted)?;
    let root_mid = w.sender_path.root(LeafPreimage { balance, nonce, ..w.sender }.leaf());
    if w.to == 0 {
        // A withdrawal: the receiver side is slot 0, empty before and after.
        if w.receiver != zero {
            return Err(StepFault::PaddingNotEmpty);
        }
        return if w.receiver_path.root(Fr::from(0u64)) == root_mid { Ok(root_mid) } else { Err(StepFault::ReceiverNotInTree) };
    }
    if w.receiver_path.root(w.receiver.leaf()) != root_mid {
        return Err(StepFault::ReceiverNotInTree);
    }
    let balance = w.receiver.balance.checked_add(w.amount).ok_or(StepFault::ReceiverOverflow)?;
    Ok(w.receiver_path.root(LeafPreimage { balance, ..w.receiver }.leaf()))
}
