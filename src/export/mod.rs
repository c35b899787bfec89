//! What the engine hands to Ethereum: the Solidity verifier for a key ([`solidity`]) and the
//! ABI-encoded calls that carry proofs and batches on chain ([`calldata`]).

pub mod calldata;
pub mod solidity;
