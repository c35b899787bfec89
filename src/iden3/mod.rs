//! iden3's binary formats (circom and snarkjs): `.r1cs`, `.wtns`, `.ptau` and Groth16 `.zkey`,
//! read and written in the exact encodings snarkjs uses, with a typed error for every malformed
//! or hostile file.
//!
//! Every file is one container ([`container`]): a 4-byte magic, a version, and sections found by
//! id, never by order. Scalars in `.r1cs` and `.wtns` are canonical little-endian; points in
//! `.ptau` and `.zkey` are affine little-endian Montgomery ([`encoding`]).

pub mod container;
pub mod encoding;
pub mod ptau;
pub mod r1cs;
pub mod wtns;
pub mod zkey;
mod zkey_file;
mod zkey_stream;

use thiserror::Error;

/// Why an iden3 file could not be read or written.
#[derive(Debug, Error)]
pub enum FormatError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The first four bytes are not the format's magic.
    #[error("not a .{kind} file: magic {found:?}, expected {expected:?}")]
    BadMagic {
        /// The format expected.
        kind: &'static str,
        /// The magic expected.
        expected: String,
        /// The bytes found.
        found: String,
    },
    /// A version this reader does not know.
    #[error(".{kind} version {version} is not supported (at most {max})")]
    UnsupportedVersion {
        /// The format.
        kind: &'static str,
        /// The version in the file.
        version: u32,
        /// The newest version read.
        max: u32,
    },
    /// The file ends before what its header or a section announces.
    #[error("truncated: {0}")]
    Truncated(String),
    /// A section the format needs is absent.
    #[error(".{kind}: section {id} is missing")]
    MissingSection {
        /// The format.
        kind: &'static str,
        /// The section's id.
        id: u32,
    },
    /// A section appears twice.
    #[error(".{kind}: section {id} appears twice")]
    DuplicateSection {
        /// The format.
        kind: &'static str,
        /// The section's id.
        id: u32,
    },
    /// A section's length is not what the header's counts give.
    #[error(".{kind}: section {id} holds {found} bytes, the header's counts give {expected}")]
    SectionSize {
        /// The format.
        kind: &'static str,
        /// The section's id.
        id: u32,
        /// The length the header implies.
        expected: u64,
        /// The length in the file.
        found: u64,
    },
    /// A field element at or above its modulus.
    #[error("{what}: not a canonical field element (>= the modulus)")]
    NotCanonical {
        /// Which value.
        what: String,
    },
    /// A point whose coordinates do not satisfy the curve equation.
    #[error("{what}: the point is not on the curve")]
    NotOnCurve {
        /// Which point.
        what: String,
    },
    /// A G2 point outside the prime-order subgroup.
    #[error("{what}: the point is not in the prime-order subgroup")]
    NotInSubgroup {
        /// Which point.
        what: String,
    },
    /// A header value this engine cannot use (another curve, a count out of range).
    #[error("{0}")]
    Header(String),
    /// Two files that must belong together do not.
    #[error("{0}")]
    Mismatch(String),
}

impl FormatError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> FormatError {
        FormatError::Io { path: path.display().to_string(), source }
    }
}
