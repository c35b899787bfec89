//! What the engine hands to Ethereum: the Solidity verifier for a key ([`solidity`]), the on-chain
//! Poseidon for exits ([`poseidon_sol`]) and the
//! ABI-encoded calls that carry proofs and batches on chain ([`calldata`]).

pub mod calldata;
pub mod poseidon_sol;
pub mod solidity;
