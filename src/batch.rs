//! Transfers, batches and the rules a batch must follow (SPEC section 4).

use thiserror::Error;
use zkrollup_circuits::eddsa::{PrivateKey, Signature, SignatureError};
use zkrollup_circuits::poseidon::poseidon;

use crate::Fr;

/// One slot of a batch: a signed transfer, or padding (`from == 0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// Sender's slot; 0 marks padding.
    pub from: u32,
    /// Receiver's slot.
    pub to: u32,
    /// Amount moved.
    pub amount: u64,
    /// The sender's nonce this transfer consumes.
    pub nonce: u64,
    /// The sender's signature on [`Transfer::message`]; padding needs none.
    pub signature: Option<Signature>,
}

impl Transfer {
    /// The padding slot: all zero, unsigned.
    pub const PADDING: Transfer = Transfer { from: 0, to: 0, amount: 0, nonce: 0, signature: None };

    /// A transfer signed with `key`.
    pub fn signed(key: &PrivateKey, from: u32, to: u32, amount: u64, nonce: u64, domain: Fr) -> Self {
        let mut t = Transfer { from, to, amount, nonce, signature: None };
        t.signature = Some(key.sign(t.message(domain)));
        t
    }

    /// The signed message `H(domain, from, to, amount, nonce)`.
    pub fn message(&self, domain: Fr) -> Fr {
        poseidon(&[domain, Fr::from(self.from), Fr::from(self.to), Fr::from(self.amount), Fr::from(self.nonce)])
    }

    /// Whether this slot is padding.
    pub fn is_padding(&self) -> bool {
        self.from == 0
    }

    /// The slot's `(from, to, amount)` as the public data publishes it.
    pub fn public_slot(&self) -> (u32, u32, u64) {
        (self.from, self.to, self.amount)
    }
}

/// The transfers of a batch, at most N; the rest of the N slots are padding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// The transfers in order.
    pub transfers: Vec<Transfer>,
}

impl Batch {
    /// A batch of these transfers.
    pub fn new(transfers: Vec<Transfer>) -> Self {
        Batch { transfers }
    }

    /// The transfers followed by padding up to `batch_size` slots.
    pub fn padded(&self, batch_size: usize) -> Result<Vec<Transfer>, BatchError> {
        if self.transfers.len() > batch_size {
            return Err(BatchError::TooManyTransfers { transfers: self.transfers.len(), batch_size });
        }
        let mut slots = self.transfers.clone();
        slots.resize(batch_size, Transfer::PADDING);
        Ok(slots)
    }
}

/// The circuit parameters a batch is validated against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchParams {
    /// N, the number of slots.
    pub batch_size: usize,
    /// The deployment's domain, hashed into every signed message.
    pub domain: Fr,
}

impl BatchParams {
    /// `batch_size` slots and the default domain 0.
    pub fn new(batch_size: usize) -> Self {
        BatchParams { batch_size, domain: Fr::from(0u64) }
    }

    /// The same parameters with another domain.
    pub fn with_domain(self, domain: Fr) -> Self {
        BatchParams { domain, ..self }
    }
}

/// Which side of a transfer a rule is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    /// The `from` slot.
    Sender,
    /// The `to` slot.
    Receiver,
}

impl std::fmt::Display for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Party::Sender => "sender",
            Party::Receiver => "receiver",
        })
    }
}

/// A rule of SPEC section 4 that a transfer breaks, with the values involved.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum Rule {
    /// Padding (`from == 0`) with another field non-zero.
    #[error("padding slot (from = 0) must have to = 0, amount = 0, nonce = 0; got to = {to}, amount = {amount}, nonce = {nonce}")]
    PaddingNotEmpty {
        /// The slot's `to`.
        to: u32,
        /// The slot's amount.
        amount: u64,
        /// The slot's nonce.
        nonce: u64,
    },
    /// A real transfer sent to slot 0, which is reserved.
    #[error("receiver is slot 0, which is reserved")]
    ReceiverIsZero,
    /// `from` or `to` at least `4^D`.
    #[error("{party} slot {index} is outside the tree ({capacity} slots)")]
    IndexOutOfRange {
        /// Which index.
        party: Party,
        /// Its value.
        index: u32,
        /// `4^D`.
        capacity: u64,
    },
    /// The sender's or receiver's slot is empty.
    #[error("{party} slot {index} holds no account")]
    NoAccount {
        /// Which side.
        party: Party,
        /// The empty slot.
        index: u32,
    },
    /// A real transfer without a signature.
    #[error("transfer is not signed")]
    MissingSignature,
    /// The signature does not verify under the sender's key.
    #[error("signature invalid: {0}")]
    BadSignature(SignatureError),
    /// The transfer's nonce is not the sender's current nonce.
    #[error("nonce mismatch: sender's nonce is {expected}, transfer has {got}")]
    WrongNonce {
        /// The sender's nonce.
        expected: u64,
        /// The transfer's nonce.
        got: u64,
    },
    /// `amount > sender.balance`.
    #[error("insufficient balance: sender has {balance}, transfer moves {amount}")]
    InsufficientBalance {
        /// The sender's balance.
        balance: u64,
        /// The amount.
        amount: u64,
    },
    /// The sender's nonce is `2^64 - 1` and cannot be incremented.
    #[error("sender's nonce is exhausted (2^64 - 1)")]
    NonceExhausted,
    /// `receiver.balance + amount >= 2^64`.
    #[error("receiver balance overflows: {balance} + {amount} >= 2^64")]
    ReceiverOverflow {
        /// The receiver's balance (after the sender's update).
        balance: u64,
        /// The amount.
        amount: u64,
    },
}

/// Why a batch was rejected; the state is left as it was.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum BatchError {
    /// More transfers than the batch has slots.
    #[error("batch has {transfers} transfers but only {batch_size} slots")]
    TooManyTransfers {
        /// Transfers given.
        transfers: usize,
        /// N.
        batch_size: usize,
    },
    /// A slot breaks a rule.
    #[error("slot {slot}: {rule}")]
    Slot {
        /// The slot's position in the batch (0-based).
        slot: usize,
        /// The rule it breaks.
        rule: Rule,
    },
}

impl BatchError {
    /// The rule broken, if the error is about one slot.
    pub fn rule(&self) -> Option<&Rule> {
        match self {
            BatchError::Slot { rule, .. } => Some(rule),
            BatchError::TooManyTransfers { .. } => None,
        }
    }
}
