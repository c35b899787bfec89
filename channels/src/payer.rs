//! The payer (SPEC-channels section 4): signs the next voucher of a channel for an amount paid
//! now, its cumulative total made durable before the voucher is returned, so that no restart
//! ever signs a smaller or a repeated total.

use std::path::Path;

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::Eip712Domain;

use crate::store::{ChannelStore, StoreError};
use crate::voucher::{domain, sign_voucher, Voucher};

/// A voucher with its signature, as the payer hands it over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedVoucher {
    /// The channel.
    pub channel: u64,
    /// The cumulative amount (wei) the recipient may have from it.
    pub cumulative: U256,
    /// 65 bytes `r || s || v`.
    pub signature: Vec<u8>,
}

/// Why the payer signs nothing.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PayError {
    /// An amount of zero pays nothing.
    #[error("an amount of zero pays nothing")]
    ZeroAmount,
    /// The total would pass the most the caller allows (the channel's deposit, say).
    #[error("the total would be {total} wei, above the limit of {limit} wei")]
    AboveLimit {
        /// The total it would be.
        total: U256,
        /// The limit.
        limit: U256,
    },
    /// The store failed: nothing was signed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A channel's signer, keeping its totals in a store of its own.
pub struct Payer {
    store: ChannelStore,
    key: PrivateKeySigner,
    domain: Eip712Domain,
}

impl Payer {
    /// The payer signing with `key` for the contract `contract` on chain `chain_id`, its totals
    /// in the store at `path`.
    pub fn open(path: &Path, key: PrivateKeySigner, chain_id: u64, contract: Address) -> Result<Payer, StoreError> {
        let store = ChannelStore::open(path, chain_id, contract, key.address())?;
        Ok(Payer { store, key, domain: domain(chain_id, contract) })
    }

    /// The total signed for channel `id` so far.
    pub fn total(&self, id: u64) -> Result<U256, StoreError> {
        Ok(self.store.get(id)?.map_or(U256::ZERO, |b| U256::from_be_slice(&b)))
    }

    /// Pay `amount` wei more on channel `id`, the total at most `limit`: the new total is
    /// stored durably, then signed.
    pub fn pay(&self, id: u64, amount: U256, limit: U256) -> Result<SignedVoucher, PayError> {
        if amount.is_zero() {
            return Err(PayError::ZeroAmount);
        }
        let total = self.store.update(id, |old| {
            let before = old.map_or(U256::ZERO, U256::from_be_slice);
            match before.checked_add(amount) {
                Some(total) if total <= limit => Ok((total.to_be_bytes::<32>().to_vec(), total)),
                total => Err(PayError::AboveLimit { total: total.unwrap_or(U256::MAX), limit }),
            }
        })??;
        let signature = sign_voucher(&self.key, &self.domain, &Voucher { channelId: U256::from(id), cumulativeAmount: total }).to_vec();
        Ok(SignedVoucher { channel: id, cumulative: total, signature })
    }
}
