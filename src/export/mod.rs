//! What the engine hands to Ethereum: the Solidity verifier for a key ([`solidity`]), the on-chain
//! Poseidon for exits ([`poseidon_sol`]), the ABI-encoded calls that carry proofs and batches on
//! chain ([`calldata`]; [`optimistic`] for `OptimisticRollup`) and the gas a batch can cost
//! there ([`gas`]).

pub mod calldata;
pub mod gas;
pub mod optimistic;
pub mod poseidon_sol;
pub mod solidity;
