//! An account and its leaf.

use zkrollup_circuits::eddsa::PublicKey;
use zkrollup_circuits::poseidon::poseidon;
use zkrollup_circuits::transfer::LeafPreimage;

use crate::Fr;

/// An account: the key that signs for it, its balance and its nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Account {
    /// The owner's EdDSA-Poseidon key.
    pub pubkey: PublicKey,
    /// Balance in gwei (SPEC-v2 section 1).
    pub balance: u64,
    /// Number of transfers and withdrawals sent so far; the next must carry this nonce.
    pub nonce: u64,
}

impl Account {
    /// An account.
    pub fn new(pubkey: PublicKey, balance: u64, nonce: u64) -> Self {
        Account { pubkey, balance, nonce }
    }

    /// The leaf `H(Ax, Ay, balance, nonce)`.
    pub fn leaf(&self) -> Fr {
        poseidon(&[self.pubkey.x(), self.pubkey.y(), Fr::from(self.balance), Fr::from(self.nonce)])
    }

    /// The leaf's preimage, as the circuit takes it.
    pub fn preimage(&self) -> LeafPreimage {
        LeafPreimage { ax: self.pubkey.x(), ay: self.pubkey.y(), balance: self.balance, nonce: self.nonce }
    }
}
