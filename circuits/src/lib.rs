//! zkrollup's cryptographic primitives.
//!
//! Each primitive keeps its native half in `<primitive>/mod.rs`; its R1CS gadget will sit beside it
//! in `<primitive>/constraints.rs`, so that the two can be tested against each other.
//!
//! | module | what |
//! | --- | --- |
//! | [`poseidon`] | circomlib-compatible Poseidon over the BN254 scalar field |
//! | [`batch`] | the batch circuit: N transfers, one public input |
//! | [`babyjubjub`] | Baby JubJub in circomlib's coordinates (`a = 168700`, `d = 168696`) |
//! | [`eddsa`] | EdDSA-Poseidon as circomlibjs `signPoseidon` / `verifyPoseidon` |
//! | [`merkle`] | one level of the quaternary Poseidon Merkle tree, and whole paths |
//! | [`packed_key`] | public keys packed as `Ay` and a sign bit (L1 records), and their recovery |
//! | [`commitment`] | the sha256 commitment to a batch's public data |
//! | [`range`] | 64-bit range checks, strict bits of field elements |
//! | [`request`] | one L1 slot's state transition (DepositNew, Deposit, FullExit) |
//! | [`sha256`] | SHA-256 by blocks (the commitment's hash) |
//! | [`transfer`] | one L2 slot's state transition: transfer or withdrawal (without its signature) |
//! | [`stats`] | constraint counts of every gadget, pinned in `constraints.baseline` |

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod babyjubjub;
pub mod batch;
pub mod commitment;
pub mod eddsa;
pub mod merkle;
pub mod packed_key;
pub mod poseidon;
pub mod range;
pub mod request;
pub mod sha256;
pub mod stats;
pub mod transfer;

/// The BN254 scalar field: the field of every circuit value, hash and tree node.
pub type Fr = ark_bn254::Fr;
