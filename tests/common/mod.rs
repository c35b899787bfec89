//! Helpers shared by the integration tests.

pub mod evm;
pub mod gadget;
