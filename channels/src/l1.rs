//! What the payer's and payee's software needs of L1, behind one trait: a channel as of the
//! confirmed blocks, their time, and a transaction from the party's key. `tests/` runs it on
//! an in-process revm chain; a JSON-RPC implementation goes with `zkrollup channel`.

use alloy::primitives::{Address, U256};

/// A channel as `channels(id)` returns it (all zero: none, or closed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OnchainChannel {
    /// Who opened it (zero: no such channel, or closed).
    pub sender: Address,
    /// Until when the recipient may claim (seconds).
    pub expiry: u64,
    /// How much notice a close request gives (seconds).
    pub settle_delay: u32,
    /// Who is paid.
    pub recipient: Address,
    /// Wei locked so far.
    pub deposit: U256,
    /// The delegated signer (zero: the sender signs).
    pub signer: Address,
    /// Wei paid out so far.
    pub claimed: U256,
}

impl OnchainChannel {
    /// Whether the channel exists (opened and not closed).
    pub fn is_live(&self) -> bool {
        self.sender != Address::ZERO
    }

    /// Who signs its vouchers.
    pub fn voucher_signer(&self) -> Address {
        if self.signer == Address::ZERO {
            self.sender
        } else {
            self.signer
        }
    }
}

/// Why an L1 call failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum L1Error {
    /// The node could not be reached or answered badly: try again.
    #[error("L1 unavailable: {0}")]
    Unavailable(String),
    /// The transaction reverted, with the contract's error.
    #[error("L1 refused the transaction: {0}")]
    Reverted(String),
}

/// L1 as the channel software sees it.
pub trait ChannelsL1 {
    /// The time of the newest confirmed block (seconds).
    fn now(&mut self) -> Result<u64, L1Error>;
    /// Channel `id` as of the newest confirmed block.
    fn channel(&mut self, id: u64) -> Result<OnchainChannel, L1Error>;
    /// Send `data` with `value` wei to the contract from the party's key, and wait for it.
    fn send(&mut self, data: Vec<u8>, value: U256) -> Result<(), L1Error>;
}
