//! One L1 slot's state transition (SPEC-v2 section 3): the native twin of the request gadget.
//!
//! An L1 slot is a DepositNew (an empty slot gets a new account), a Deposit (an account's
//! balance grows), a FullExit (an account's whole balance leaves; the slot's amount is that
//! balance), or padding (45 zero bytes, no change). The gadget in [`constraints`] enforces
//! exactly what [`apply_request`] checks here. The record's `addr` never reaches the circuit:
//! the contract keeps it.

pub mod constraints;

use crate::babyjubjub::{point_from_y, Point};
use crate::eddsa::PublicKey;
use crate::merkle::MerklePath;
use crate::packed_key::PACKED_KEY_BYTES;
use crate::transfer::LeafPreimage;
use crate::Fr;

/// Bytes of one L1 slot in the public data: `type (1) || index (4) || amount (8) || key (32)`.
pub const L1_SLOT_BYTES: usize = 45;

/// The kind of an L1 slot, with its type byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// An empty slot (type 0): 45 zero bytes.
    #[default]
    Padding,
    /// Type 1: a new account at the next free index.
    DepositNew,
    /// Type 2: a top-up of an existing account.
    Deposit,
    /// Type 3: the account's whole balance leaves on L1.
    FullExit,
}

impl RequestKind {
    /// The record's type byte.
    pub fn type_byte(self) -> u8 {
        match self {
            RequestKind::Padding => 0,
            RequestKind::DepositNew => 1,
            RequestKind::Deposit => 2,
            RequestKind::FullExit => 3,
        }
    }

    /// The kind of a type byte, if it names one.
    pub fn from_type_byte(byte: u8) -> Option<Self> {
        [RequestKind::Padding, RequestKind::DepositNew, RequestKind::Deposit, RequestKind::FullExit]
            .into_iter()
            .find(|k| k.type_byte() == byte)
    }
}

/// A DepositNew's key as the slot carries it: `(Ax, Ay)` and the packed sign bit (the circuit
/// checks they agree). All zero for every other kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlotKey {
    /// `Ax`.
    pub x: Fr,
    /// `Ay`.
    pub y: Fr,
    /// The packed key's top bit: `Ax > (r - 1) / 2`.
    pub sign: bool,
}

impl SlotKey {
    /// The slot key of a public key, its sign as packing computes it.
    pub fn of(key: &PublicKey) -> Self {
        SlotKey { x: key.x(), y: key.y(), sign: crate::babyjubjub::is_negative(key.x()) }
    }

    /// The 32 packed bytes, big-endian: `Ay` with the sign as bit 255.
    pub fn packed(&self) -> [u8; PACKED_KEY_BYTES] {
        let mut out = crate::commitment::fr_to_be_bytes(self.y);
        if self.sign {
            out[0] |= 0x80;
        }
        out
    }
}

/// Everything one L1 slot's step needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestWitness {
    /// The slot's kind.
    pub kind: RequestKind,
    /// The account's index (0 for padding).
    pub index: u32,
    /// Deposited amount, or a FullExit's proved balance.
    pub amount: u64,
    /// A DepositNew's key.
    pub key: SlotKey,
    /// The slot's account before the step (zero for an empty slot).
    pub leaf: LeafPreimage,
    /// The slot's siblings before the step.
    pub path: MerklePath,
}

impl RequestWitness {
    /// A padding slot in a tree whose slot 0 has this path.
    pub fn padding(path_of_slot_zero: MerklePath) -> Self {
        RequestWitness {
            kind: RequestKind::Padding,
            index: 0,
            amount: 0,
            key: SlotKey::default(),
            leaf: LeafPreimage::default(),
            path: path_of_slot_zero,
        }
    }

    /// The slot's 45 public-data bytes.
    pub fn public_bytes(&self) -> [u8; L1_SLOT_BYTES] {
        l1_slot_bytes(self.kind, self.index, self.amount, &self.key.packed())
    }
}

/// An L1 slot's public-data bytes: `type (1) || index (4) || amount (8) || packed key (32)`,
/// big-endian; the first 45 bytes of an L1 record.
pub fn l1_slot_bytes(kind: RequestKind, index: u32, amount: u64, packed_key: &[u8; PACKED_KEY_BYTES]) -> [u8; L1_SLOT_BYTES] {
    let mut out = [0u8; L1_SLOT_BYTES];
    out[0] = kind.type_byte();
    out[1..5].copy_from_slice(&index.to_be_bytes());
    out[5..13].copy_from_slice(&amount.to_be_bytes());
    out[13..].copy_from_slice(packed_key);
    out
}

/// A rule the step breaks, as the gadget would find it unsatisfied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestFault {
    /// The index is at least `4^depth`.
    IndexOutOfRange,
    /// The path's length is not the tree's depth, or it names another slot.
    PathMismatch,
    /// Padding with a non-zero field, key or leaf.
    PaddingNotEmpty,
    /// A request for slot 0, which never holds an account.
    ReservedIndex,
    /// A key on a slot that is not a DepositNew.
    KeyNotEmpty,
    /// A DepositNew onto a slot that holds an account.
    AccountExists,
    /// A DepositNew key off the curve, with the other root's sign, or of small order.
    BadKey,
    /// A Deposit or FullExit onto a slot whose leaf is not the given account (an empty slot).
    NoAccount,
    /// A FullExit whose amount is not the account's balance.
    WrongExitAmount,
    /// A Deposit that takes the balance to `2^64` or more.
    BalanceOverflow,
}

/// The point a slot key names, if it is an acceptable key: on the curve, its sign bit that of
/// its x, `8·A != identity`.
pub fn slot_key_point(key: &SlotKey) -> Option<Point> {
    let p = point_from_y(key.y, key.sign)?;
    (p.x == key.x && PublicKey::from_point(p).is_ok()).then_some(p)
}

/// Apply the step natively: the root after it, or the first rule it breaks.
pub fn apply_request(depth: usize, root_before: Fr, w: &RequestWitness) -> Result<Fr, RequestFault> {
    if u64::from(w.index) >= 1u64 << (2 * depth) {
        return Err(RequestFault::IndexOutOfRange);
    }
    if w.path.depth() != depth || w.path.index != u64::from(w.index) {
        return Err(RequestFault::PathMismatch);
    }
    let zero = LeafPreimage::default();
    let empty_key = SlotKey::default();
    if w.kind == RequestKind::Padding {
        if w.index != 0 || w.amount != 0 || w.key != empty_key || w.leaf != zero {
            return Err(RequestFault::PaddingNotEmpty);
        }
        return if w.path.root(Fr::from(0u64)) == root_before { Ok(root_before) } else { Err(RequestFault::NoAccount) };
    }
    if w.index == 0 {
        return Err(RequestFault::ReservedIndex);
    }
    if w.kind != RequestKind::DepositNew && w.key != empty_key {
        return Err(RequestFault::KeyNotEmpty);
    }
    let after = if w.kind == RequestKind::DepositNew {
        if w.leaf != zero || w.path.root(Fr::from(0u64)) != root_before {
            return Err(RequestFault::AccountExists);
        }
        slot_key_point(&w.key).ok_or(RequestFault::BadKey).map(drop)?;
        LeafPreimage { ax: w.key.x, ay: w.key.y, balance: w.amount, nonce: 0 }
    } else {
        // A Deposit or a FullExit: the slot holds this account.
        if w.path.root(w.leaf.leaf()) != root_before {
            return Err(RequestFault::NoAccount);
        }
        let balance = if w.kind == RequestKind::Deposit {
            w.leaf.balance.checked_add(w.amount).ok_or(RequestFault::BalanceOverflow)?
        } else if w.amount == w.leaf.balance {
            0
        } else {
            return Err(RequestFault::WrongExitAmount);
        };
        LeafPreimage { balance, ..w.leaf }
    };
    Ok(w.path.root(after.leaf()))
}
