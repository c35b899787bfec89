//! Phase 2 of a Groth16 trusted setup, compatible with snarkjs's `.ptau` and `.zkey`: the
//! initial key of a circuit from a prepared powers-of-tau file ([`initial_key`], [`new_zkey_file`]), contributions
//! and the final beacon ([`contribute()`], [`beacon_file()`]), and the verification of the
//! result ([`verify()`]). Contributions and verification stream through the key a chunk at a
//! time.

mod contribute;
mod new;
pub mod rng;
mod verify;

pub use contribute::{beacon_file, contribute, contribute_file, contribution_hash, KIND_BEACON, KIND_CONTRIBUTION};
pub use new::{initial_key, new_zkey_file, zkey_coefficients, Part, CS_HASH_CHUNK};
pub use verify::{verify, verify_file, VerifiedContribution};

use thiserror::Error;

use crate::iden3::FormatError;

/// Why a ceremony step failed.
#[derive(Debug, Error)]
pub enum CeremonyError {
    /// A file could not be read or written, or is malformed.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The circuit does not fit the ptau, or the two do not belong together.
    #[error("{0}")]
    Unfit(String),
    /// A key fails verification: what failed.
    #[error("invalid: {0}")]
    Invalid(String),
}
