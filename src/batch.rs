//! L2 slots, batches and the rules a batch must follow (SPEC-v2 sections 3 and 4).

use thiserror::Error;
use zkrollup_circuits::eddsa::{PrivateKey, PublicKeyError, Signature, SignatureError};
use zkrollup_circuits::poseidon::poseidon;
use zkrollup_circuits::transfer::message_to;

use crate::request::Request;
use crate::Fr;

/// One L2 slot of a batch: a signed transfer, a signed withdrawal (`to == 0`), or padding
/// (`from == 0`).
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

    /// The signed message: `H(domain, from, to, amount, nonce)` for a transfer,
    /// `H(domain, from, 2^32, amount, nonce)` for a withdrawal (SPEC-v2 section 4).
    pub fn message(&self, domain: Fr) -> Fr {
        let to = message_to(self.from, self.to);
        poseidon(&[domain, Fr::from(self.from), Fr::from(to), Fr::from(self.amount), Fr::from(self.nonce)])
    }

    /// Whether this slot is padding.
    pub fn is_padding(&self) -> bool {
        self.from == 0
    }

    /// Whether this slot is a withdrawal: from an account to L1 (`to == 0`).
    pub fn is_withdrawal(&self) -> bool {
        self.from != 0 && self.to == 0
    }

    /// The slot's `(from, to, amount)` as the public data publishes it.
    pub fn public_slot(&self) -> (u32, u32, u64) {
        (self.from, self.to, self.amount)
    }
}

/// A batch: at most M L1 requests, then at most N L2 slots; the rest of each section is
/// padding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// The L1 requests consumed, in queue order.
    pub requests: Vec<Request>,
    /// The L2 slots in order.
    pub transfers: Vec<Transfer>,
}

impl Batch {
    /// A batch of these L2 slots and no L1 requests.
    pub fn new(transfers: Vec<Transfer>) -> Self {
        Batch { requests: Vec::new(), transfers }
    }

    /// The same batch consuming these L1 requests first.
    pub fn with_requests(self, requests: Vec<Request>) -> Self {
        Batch { requests, ..self }
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

/// What a batch is validated against: the circuit's section sizes and the batch's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchParams {
    /// N, the number of L2 slots.
    pub batch_size: usize,
    /// M, the number of L1 slots.
    pub l1_slots: usize,
    /// The deployment's domain, hashed into every signed message and opening the public data.
    pub domain: Fr,
    /// The batch's number in the chain (`batchCount + 1` on L1; the first batch is 1).
    pub batch_id: u64,
}

impl BatchParams {
    /// `batch_size` L2 slots, no L1 slots, batch 1, in `domain` (the deployment's; there is no
    /// default, since a signature or proof made for another domain fails on chain).
    pub fn new(batch_size: usize, domain: Fr) -> Self {
        BatchParams { batch_size, l1_slots: 0, domain, batch_id: 1 }
    }

    /// The same parameters with `l1_slots` L1 slots.
    pub fn with_l1_slots(self, l1_slots: usize) -> Self {
        BatchParams { l1_slots, ..self }
    }

    /// The same parameters with another domain.
    pub fn with_domain(self, domain: Fr) -> Self {
        BatchParams { domain, ..self }
    }

    /// The same parameters for another batch number.
    pub fn with_batch_id(self, batch_id: u64) -> Self {
        BatchParams { batch_id, ..self }
    }
}

/// The section of a batch a slot is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The L1 requests, applied first.
    L1,
    /// The L2 transfers and withdrawals.
    L2,
}

impl std::fmt::Display for Section {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Section::L1 => "L1",
            Section::L2 => "L2",
        })
    }
}

/// Which account of a slot a rule is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    /// An L2 slot's `from`.
    Sender,
    /// An L2 slot's `to`.
    Receiver,
    /// An L1 request's `index`.
    Account,
}

impl std::fmt::Display for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Party::Sender => "sender",
            Party::Receiver => "receiver",
            Party::Account => "account",
        })
    }
}

/// A rule of SPEC-v2 sections 2-4 that a slot breaks, with the values involved.
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
    /// A DepositNew for slot 0, which never holds an account.
    #[error("slot 0 is reserved and cannot hold an account")]
    ReservedIndex,
    /// A DepositNew onto a slot that already holds an account.
    #[error("slot {index} already holds an account")]
    AccountExists {
        /// The slot.
        index: u32,
    },
    /// A DepositNew whose key the protocol refuses.
    #[error("bad key: {0}")]
    BadKey(PublicKeyError),
    /// A FullExit whose amount is neither 0 (as queued) nor the account's balance.
    #[error("full exit amount {amount} is neither 0 nor the balance {balance}")]
    WrongExitAmount {
        /// The account's balance.
        balance: u64,
        /// The request's amount.
        amount: u64,
    },
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
    /// `receiver.balance + amount >= 2^64` (for a Deposit, the account's).
    #[error("receiver balance overflows: {balance} + {amount} >= 2^64")]
    ReceiverOverflow {
        /// The receiver's balance (after the sender's update).
        balance: u64,
        /// The amount.
        amount: u64,
    },
}

impl Rule {
    /// A short, stable name for the rule (for APIs and metrics), as `wrong_nonce`.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::PaddingNotEmpty { .. } => "padding_not_empty",
            Rule::ReservedIndex => "reserved_index",
            Rule::AccountExists { .. } => "account_exists",
            Rule::BadKey(_) => "bad_key",
            Rule::WrongExitAmount { .. } => "wrong_exit_amount",
            Rule::IndexOutOfRange { .. } => "index_out_of_range",
            Rule::NoAccount { .. } => "no_account",
            Rule::MissingSignature => "missing_signature",
            Rule::BadSignature(_) => "bad_signature",
            Rule::WrongNonce { .. } => "wrong_nonce",
            Rule::InsufficientBalance { .. } => "insufficient_balance",
            Rule::NonceExhausted => "nonce_exhausted",
            Rule::ReceiverOverflow { .. } => "receiver_overflow",
        }
    }
}

/// Why a batch was rejected; the state is left as it was.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum BatchError {
    /// More L2 slots than the batch has.
    #[error("batch has {transfers} transfers but only {batch_size} slots")]
    TooManyTransfers {
        /// L2 slots given.
        transfers: usize,
        /// N.
        batch_size: usize,
    },
    /// More L1 requests than the batch has L1 slots.
    #[error("batch consumes {requests} L1 requests but has only {l1_slots} L1 slots")]
    TooManyRequests {
        /// Requests given.
        requests: usize,
        /// M.
        l1_slots: usize,
    },
    /// A slot breaks a rule.
    #[error("{section} slot {slot}: {rule}")]
    Slot {
        /// The section the slot is in.
        section: Section,
        /// The slot's position in its section (0-based).
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
            BatchError::TooManyTransfers { .. } | BatchError::TooManyRequests { .. } => None,
        }
    }
}
