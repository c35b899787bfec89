//! Phase 2 of a Groth16 trusted setup, compatible with snarkjs's `.ptau` and `.zkey`: the
//! initial key of a circuit from a prepared powers-of-tau file ([`new_zkey`]), contributions
//! and the final beacon ([`contribute()`], [`beacon()`]), and the verification of the result
//! ([`verify()`]).

mod contribute;
mod new;
pub mod rng;
mod verify;

pub use contribute::{beacon, contribute, contribution_hash, KIND_BEACON, KIND_CONTRIBUTION};
pub use new::{new_zkey, zkey_coefficients, CS_HASH_CHUNK};
pub use verify::{verify, VerifiedContribution};

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
