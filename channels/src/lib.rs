//! One-way ETH payment channels (`../shared/SPEC-channels.md`): many channels in one contract
//! (`PaymentChannels.sol`, its bytecode here), paid off chain with EIP-712 vouchers for the
//! cumulative amount paid so far.
//!
//! [`voucher`] is the EIP-712 domain and voucher, signing and checking; [`contract`] the
//! contract's committed bytecode and calls.

pub mod contract;
pub mod voucher;
