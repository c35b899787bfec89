//! An account and its leaf.

use zkrollup_circuits::eddsa::PublicKey;
use zkrollup_circuits::poseidon::poseidon;

use crate::Fr;

/// An account: the key that signs for it, its balance and its nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Account {
    /// The owner's EdDSA-Poseidon key.
    pub pubkey: PublicKey,
    /// Balance, in the rollup's smallest unit.
    pub balance: u64,
    /// Number of transfers sent so far; the next transfer must carry this nonce.
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
}
