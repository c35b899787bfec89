//! Key files. The proving key is large and stored uncompressed; checking its points on load
//! (G2 subgroup checks) takes minutes for real circuits, so it is loaded without checks, and
//! kept only if the sha256 of the bytes parsed matches the one recorded at setup (the file is
//! parsed and hashed in one pass, never whole in memory beside the key). The verifying key is
//! small and always loaded with every check.

use std::io::Read;
use std::path::{Path, PathBuf};

use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, SerializationError};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::{ProvingKey, VerifyingKey};
use crate::files::write_all_atomic;

/// Why a key file could not be written or read.
#[derive(Debug, Error)]
pub enum KeyError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The proving key file is not the one recorded at setup.
    #[error("{path}: sha256 {actual} does not match the recorded {expected}; refusing to load it unchecked")]
    HashMismatch {
        /// The file.
        path: PathBuf,
        /// The recorded hash.
        expected: String,
        /// The file's hash.
        actual: String,
    },
    /// `circuit.json` is missing a field or malformed.
    #[error("circuit.json: {0}")]
    Info(String),
    /// `matrices.bin` is malformed.
    #[error("{path}: not a valid matrices file: {reason}")]
    Matrices {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The bytes are not a valid key (truncated, points off the curve or subgroup).
    #[error("{path}: not a valid key: {source}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What arkworks found.
        source: SerializationError,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, KeyError> {
    std::fs::read(path).map_err(|source| KeyError::Io { path: path.to_path_buf(), source })
}

fn write(path: &Path, bytes: Vec<u8>) -> Result<(), KeyError> {
    write_all_atomic(&[(path.to_path_buf(), bytes)]).map_err(|source| KeyError::Io { path: path.to_path_buf(), source })
}

/// The sha256 of `bytes`, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Write the proving key uncompressed; returns the file's sha256 to record beside it.
pub fn save_proving_key(pk: &ProvingKey, path: &Path) -> Result<String, KeyError> {
    let mut bytes = Vec::with_capacity(pk.uncompressed_size());
    pk.serialize_uncompressed(&mut bytes).expect("writing to memory does not fail");
    let hash = sha256_hex(&bytes);
    write(path, bytes)?;
    Ok(hash)
}

/// A reader that hashes (sha256) every byte it hands out: a file parsed through it is hashed in
/// the same pass, and the hash is of exactly the bytes parsed.
pub(crate) struct HashingReader<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> HashingReader<R> {
    /// Hash what `inner` yields.
    pub(crate) fn new(inner: R) -> HashingReader<R> {
        HashingReader { inner, hash: Sha256::new() }
    }

    /// The sha256 of every byte read, as lowercase hex.
    pub(crate) fn finish(self) -> String {
        hex::encode(self.hash.finalize())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// Load a proving key without point checks, only if its sha256 is `expected_sha256`. The file
/// is parsed as it is read and hashed (never whole in memory beside the key); the key is
/// returned only if the bytes parsed, and whatever follows them, have the recorded hash.
pub fn load_proving_key(path: &Path, expected_sha256: &str) -> Result<ProvingKey, KeyError> {
    let io = |source| KeyError::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut r = HashingReader::new(std::io::BufReader::with_capacity(8 << 20, file));
    // A damaged file may fail to parse: the hash, over the whole file, decides what is said.
    let parsed = ProvingKey::deserialize_uncompressed_unchecked(&mut r);
    std::io::copy(&mut r, &mut std::io::sink()).map_err(io)?;
    let actual = r.finish();
    if !actual.eq_ignore_ascii_case(expected_sha256) {
        return Err(KeyError::HashMismatch { path: path.to_path_buf(), expected: expected_sha256.to_string(), actual });
    }
    parsed.map_err(|source| KeyError::Invalid { path: path.to_path_buf(), source })
}

/// Write the verifying key compressed.
pub fn save_verifying_key(vk: &VerifyingKey, path: &Path) -> Result<(), KeyError> {
    let mut bytes = Vec::new();
    vk.serialize_compressed(&mut bytes).expect("writing to memory does not fail");
    write(path, bytes)
}

/// Load a verifying key with every check (on curve, in subgroup), rejecting trailing bytes.
pub fn load_verifying_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    let bytes = read(path)?;
    let invalid = |source| KeyError::Invalid { path: path.to_path_buf(), source };
    let mut reader = bytes.as_slice();
    let vk = VerifyingKey::deserialize_compressed(&mut reader).map_err(invalid)?;
    if !reader.is_empty() {
        return Err(invalid(SerializationError::InvalidData));
    }
    Ok(vk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prover::PreimageCircuit;
    use crate::Fr;

    fn valid() -> PreimageCircuit {
        PreimageCircuit::new([Fr::from(1u64), Fr::from(2u64)])
    }
    use crate::prover::{prove, setup_insecure_dev, verify};

    #[test]
    fn keys_round_trip_and_a_loaded_key_proves() {
        let dir = tempfile::tempdir().unwrap();
        let (pk, vk) = setup_insecure_dev(valid(), 3).unwrap();
        let (pk_path, vk_path) = (dir.path().join("proving_key.bin"), dir.path().join("verifying_key.bin"));
        let hash = save_proving_key(&pk, &pk_path).unwrap();
        save_verifying_key(&vk, &vk_path).unwrap();
        let pk2 = load_proving_key(&pk_path, &hash).unwrap();
        let vk2 = load_verifying_key(&vk_path).unwrap();
        assert_eq!(vk2, vk);
        let proof = prove(&pk2, valid()).unwrap();
        assert!(verify(&vk2, &[valid().y], &proof).unwrap());
    }

    #[test]
    fn a_changed_truncated_or_extended_proving_key_is_refused_by_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let (pk, _) = setup_insecure_dev(valid(), 3).unwrap();
        let path = dir.path().join("proving_key.bin");
        let hash = save_proving_key(&pk, &path).unwrap();
        let good = std::fs::read(&path).unwrap();
        let mut flipped = good.clone();
        flipped[100] ^= 1;
        let mut extended = good.clone();
        extended.push(0);
        // The last vector's (L's) length prefix made huge: the parse reads to the end and fails,
        // allocating no more than the file holds.
        let mut huge = good.clone();
        let at = good.len() - pk.l_query.len() * 64 - 8;
        assert_eq!(good[at..at + 8], (pk.l_query.len() as u64).to_le_bytes());
        huge[at..at + 8].copy_from_slice(&(1u64 << 60).to_le_bytes());
        for (what, bytes) in [("a flipped bit", flipped), ("truncated", good[..good.len() - 1].to_vec()), ("a byte more", extended), ("a huge length", huge)] {
            std::fs::write(&path, &bytes).unwrap();
            assert!(matches!(load_proving_key(&path, &hash), Err(KeyError::HashMismatch { .. })), "{what}");
        }
        std::fs::write(&path, &good).unwrap();
        assert_eq!(load_proving_key(&path, &hash).unwrap(), pk);
        assert!(matches!(load_proving_key(&dir.path().join("missing"), &hash), Err(KeyError::Io { .. })));
    }

    #[test]
    fn truncated_or_corrupt_verifying_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (_, vk) = setup_insecure_dev(valid(), 3).unwrap();
        let path = dir.path().join("verifying_key.bin");
        save_verifying_key(&vk, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(matches!(load_verifying_key(&path), Err(KeyError::Invalid { .. })));
        let mut extra = bytes.clone();
        extra.push(0);
        std::fs::write(&path, &extra).unwrap();
        assert!(matches!(load_verifying_key(&path), Err(KeyError::Invalid { .. })));
        // A flipped bit in alpha's x coordinate: off the curve, or a different point entirely.
        let mut flipped = bytes.clone();
        flipped[3] ^= 0x04;
        std::fs::write(&path, &flipped).unwrap();
        match load_verifying_key(&path) {
            Err(KeyError::Invalid { .. }) => {}
            Ok(other) => assert_ne!(other, vk),
            Err(e) => panic!("unexpected {e}"),
        }
        assert!(matches!(load_verifying_key(&dir.path().join("missing.bin")), Err(KeyError::Io { .. })));
    }
}
