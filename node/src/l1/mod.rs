//! The L1 the node settles on, behind one trait: an in-process EVM ([`dev_chain`]) or a
//! JSON-RPC node ([`rpc`]). The node's L1 stage ([`crate::l1_stage`]) only speaks this trait.

pub mod dev_chain;
pub mod rpc;

use revm::primitives::U256;

/// Why an L1 call failed. Transient errors (a node restarting) are retried by the caller.
#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    /// The L1 node could not be reached or answered badly; try again later.
    #[error("L1 unavailable: {0}")]
    Unavailable(String),
    /// The L1 answered something the node cannot use (a malformed event, a wrong contract).
    #[error("L1: {0}")]
    Bad(String),
}

/// The head of the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Its number.
    pub number: u64,
    /// Its timestamp (seconds).
    pub timestamp: u64,
}

/// An `L1Request` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Its queue position.
    pub k: u64,
    /// Its 65-byte record.
    pub record: Vec<u8>,
    /// The block that logged it.
    pub block: u64,
}

/// `ZKRollup`'s state as its views read it at the head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RollupView {
    /// `stateRoot`.
    pub state_root: U256,
    /// `batchCount`.
    pub batch_count: u64,
    /// `consumed`: requests taken by batches so far.
    pub consumed: u64,
    /// `requestCount`: requests queued so far.
    pub request_count: u64,
}

/// A mined transaction's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The block that holds it.
    pub block: u64,
    /// Whether it succeeded.
    pub success: bool,
    /// Gas it used.
    pub gas_used: u64,
    /// The revert data, if it reverted.
    pub revert: Vec<u8>,
}

/// A signed `submitBatch` transaction, ready to broadcast (again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTx {
    /// Its hash.
    pub hash: [u8; 32],
    /// Its bytes as broadcast (EIP-2718 for a real chain).
    pub raw: Vec<u8>,
    /// The sequencer nonce it uses (a resend reuses it, so only one can ever be mined).
    pub nonce: u64,
}

/// What the node needs of L1.
pub trait L1: Send {
    /// The head.
    fn head(&mut self) -> Result<Head, L1Error>;
    /// `L1Request` events of the rollup in blocks `from ..= to`.
    fn l1_requests(&mut self, from: u64, to: u64) -> Result<Vec<LoggedRequest>, L1Error>;
    /// The rollup's state.
    fn rollup(&mut self) -> Result<RollupView, L1Error>;
    /// The sequencer's next nonce counting mined transactions only.
    fn sequencer_nonce(&mut self) -> Result<u64, L1Error>;
    /// Sign `submitBatch` (its call data) with this nonce at the current fee estimate, or, to
    /// replace the stuck transaction `replaces` at the same nonce, at 25% more than the higher
    /// of that estimate and the fees `replaces` offered.
    fn sign_batch(&mut self, calldata: &[u8], nonce: u64, replaces: Option<&SignedTx>) -> Result<SignedTx, L1Error>;
    /// Broadcast a signed transaction. One the node already has, or whose nonce is already used
    /// (by it or by a replacement), is not an error: the receipt tells what happened.
    fn broadcast(&mut self, tx: &SignedTx) -> Result<(), L1Error>;
    /// A transaction's receipt, once mined.
    fn receipt(&mut self, hash: [u8; 32]) -> Result<Option<Receipt>, L1Error>;
}
