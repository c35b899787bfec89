//! What the engine hands to Ethereum: the Solidity verifier for a key ([`solidity`]), the on-chain
//! Poseidon for exits ([`poseidon_sol`]), the ABI-encoded calls that carry proofs and batches on
//! chain ([`calldata`]) and the gas a batch can cost there ([`gas`]).

pub mod calldata;
pub mod gas;
pub mod poseidon_sol;
pub mod solidity;
