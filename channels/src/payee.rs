//! The payee (SPEC-channels section 4): accepts a voucher only against the channel as the
//! confirmed blocks have it (open, to this recipient, signed by its signer, larger than the
//! best voucher held, within the deposit, and far enough from expiry to be claimed), stores
//! the best voucher durably before saying it is accepted, and claims by itself when a channel
//! nears its expiry or its unclaimed value passes a threshold.

use std::path::Path;

use alloy::primitives::{Address, U256};
use alloy::sol_types::Eip712Domain;

use crate::contract::claim_calldata;
use crate::l1::{ChannelsL1, L1Error};
use crate::payer::SignedVoucher;
use crate::store::{ChannelStore, StoreError};
use crate::voucher::{domain, verify_voucher, Voucher, VoucherError};

/// Why a voucher is refused (nothing is stored).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    /// No such channel on chain (never opened, or closed).
    #[error("channel {0} is not open on chain")]
    NoChannel(u64),
    /// The channel pays someone else.
    #[error("channel pays {recipient}, not this payee")]
    NotForMe {
        /// Its recipient.
        recipient: Address,
    },
    /// The signature is not the channel's signer's.
    #[error("bad signature: {0}")]
    Signature(#[from] VoucherError),
    /// Not more than what the payee holds (or what was claimed).
    #[error("the voucher is for {got} wei, not more than the {best} wei held")]
    NotLarger {
        /// The best held.
        best: U256,
        /// The voucher's.
        got: U256,
    },
    /// More than the channel's deposit: it could not all be claimed.
    #[error("the voucher is for {got} wei, above the deposit of {deposit} wei")]
    AboveDeposit {
        /// The deposit.
        deposit: U256,
        /// The voucher's.
        got: U256,
    },
    /// Too close to expiry to be sure of a claim.
    #[error("the channel expires at {expiry}: now {now} plus the margin of {margin} s leaves no time to claim")]
    TooLate {
        /// The channel's expiry.
        expiry: u64,
        /// The confirmed time.
        now: u64,
        /// The payee's margin.
        margin: u64,
    },
}

/// Why `accept` or `claim_due` failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PayeeError {
    /// The voucher is refused.
    #[error("voucher refused: {0}")]
    Refused(#[from] Refusal),
    /// L1 could not be read or written.
    #[error(transparent)]
    L1(#[from] L1Error),
    /// The store failed: nothing was accepted.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A voucher accepted: the increment is what it pays beyond the best one held before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The channel.
    pub channel: u64,
    /// The voucher's cumulative amount.
    pub cumulative: U256,
    /// What it adds (wei).
    pub increment: U256,
}

/// The recipient's side, keeping the best voucher of each channel in a store of its own.
pub struct Payee {
    store: ChannelStore,
    me: Address,
    domain: Eip712Domain,
    /// Seconds it needs to get a claim mined.
    margin: u64,
    /// Unclaimed wei past which it claims at once.
    threshold: U256,
}

/// A stored voucher: the amount's 32 bytes, then the signature.
fn decode(bytes: &[u8]) -> (U256, Vec<u8>) {
    (U256::from_be_slice(&bytes[..32]), bytes[32..].to_vec())
}

impl Payee {
    /// The payee `me` of the contract `contract` on chain `chain_id`, its vouchers in the store
    /// at `path`; it claims `margin` seconds before expiry, or when `threshold` wei wait.
    pub fn open(path: &Path, me: Address, chain_id: u64, contract: Address, margin: u64, threshold: U256) -> Result<Payee, StoreError> {
        let store = ChannelStore::open(path, chain_id, contract, me)?;
        Ok(Payee { store, me, domain: domain(chain_id, contract), margin, threshold })
    }

    /// The best voucher held for channel `id`: its amount and signature.
    pub fn best(&self, id: u64) -> Result<Option<(U256, Vec<u8>)>, StoreError> {
        Ok(self.store.get(id)?.map(|b| decode(&b)))
    }

    /// Check `v` against the channel on chain and, accepted, store it durably before saying so.
    pub fn accept(&self, l1: &mut impl ChannelsL1, v: &SignedVoucher) -> Result<Accepted, PayeeError> {
        let c = l1.channel(v.channel)?;
        let now = l1.now()?;
        if !c.is_live() {
            return Err(Refusal::NoChannel(v.channel).into());
        }
        if c.recipient != self.me {
            return Err(Refusal::NotForMe { recipient: c.recipient }.into());
        }
        if now.saturating_add(self.margin) >= c.expiry {
            return Err(Refusal::TooLate { expiry: c.expiry, now, margin: self.margin }.into());
        }
        if v.cumulative > c.deposit {
            return Err(Refusal::AboveDeposit { deposit: c.deposit, got: v.cumulative }.into());
        }
        let voucher = Voucher { channelId: U256::from(v.channel), cumulativeAmount: v.cumulative };
        verify_voucher(&self.domain, &voucher, &v.signature, c.voucher_signer()).map_err(Refusal::from)?;
        // The comparison and the write in one transaction: two vouchers accepted at once cannot
        // both count the same increment.
        let stored = [&v.cumulative.to_be_bytes::<32>()[..], &v.signature].concat();
        let increment = self.store.update(v.channel, |old| {
            let best = old.map_or(U256::ZERO, |b| decode(b).0).max(c.claimed);
            if v.cumulative <= best {
                return Err(Refusal::NotLarger { best, got: v.cumulative });
            }
            Ok((stored, v.cumulative - best))
        })??;
        Ok(Accepted { channel: v.channel, cumulative: v.cumulative, increment })
    }

    /// Claim every channel whose best voucher pays more than was claimed, when its expiry is
    /// within the margin or its unclaimed value reaches the threshold: the channels claimed and
    /// the amounts their vouchers name.
    pub fn claim_due(&self, l1: &mut impl ChannelsL1) -> Result<Vec<(u64, U256)>, PayeeError> {
        let now = l1.now()?;
        let mut claimed = Vec::new();
        for (id, bytes) in self.store.all()? {
            let (best, signature) = decode(&bytes);
            let c = l1.channel(id)?;
            if !c.is_live() || c.recipient != self.me || now > c.expiry {
                continue;
            }
            let owed = best.min(c.deposit);
            if owed <= c.claimed {
                continue;
            }
            if now.saturating_add(self.margin) >= c.expiry || owed - c.claimed >= self.threshold {
                l1.send(claim_calldata(id, best, &signature), U256::ZERO)?;
                claimed.push((id, best));
            }
        }
        Ok(claimed)
    }
}
