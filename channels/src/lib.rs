//! One-way ETH payment channels (`../shared/SPEC-channels.md`): many channels in one contract
//! (`PaymentChannels.sol`, its bytecode here), paid off chain with EIP-712 vouchers for the
//! cumulative amount paid so far.
//!
//! [`voucher`] is the EIP-712 domain and voucher, signing and checking; [`contract`] the
//! contract's committed bytecode and calls; [`payer`] signs vouchers, its totals durable first;
//! [`payee`] checks them against the chain ([`l1`]), keeps the best durably and claims in
//! time; [`store`] is the small durable store each keeps.

pub mod contract;
pub mod l1;
pub mod payee;
pub mod payer;
pub mod rpc;
pub mod store;
pub mod voucher;
