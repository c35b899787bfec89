//! Key files. The proving key is large and stored uncompressed; checking its points on load
//! (G2 subgroup checks) takes minutes for real circuits, so it is loaded without checks, and
//! only after the sha256 of the file matches the one recorded at setup. The verifying key is
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

fn read_and_hash(path: &Path) -> Result<(Vec<u8>, String), KeyError> {
    read_hashed(path).map_err(|source| KeyError::Io { path: path.to_path_buf(), source })
}

fn write(path: &Path, bytes: Vec<u8>) -> Result<(), KeyError> {
    write_all_atomic(&[(path.to_path_buf(), bytes)]).map_err(|source| KeyError::Io { path: path.to_path_buf(), source })
}

/// A whole file and its sha256 (lowercase hex), each piece hashed while the next is read: the
/// hash is of exactly the bytes returned, and costs little more than the read.
pub fn read_hashed(path: &Path) -> std::io::Result<(Vec<u8>, String)> {
    const PIECE: usize = 8 << 20;
    let mut f = std::fs::File::open(path)?;
    let len = usize::try_from(f.metadata()?.len()).map_err(|_| std::io::Error::other("file too large"))?;
    let mut bytes = vec![0u8; len];
    let mut hasher = Sha256::new();
    let (mut hashed, mut done) = (0, 0);
    while done < len {
        let (head, tail) = bytes.split_at_mut(done);
        let take = PIECE.min(len - done);
        let (read, ()) = rayon::join(|| f.read_exact(&mut tail[..take]), || hasher.update(&head[hashed..]));
        read?;
        (hashed, done) = (done, done + take);
    }
    hasher.update(&bytes[hashed..]);
    Ok((bytes, hex::encode(hasher.finalize())))
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

/// Load a proving key without point checks, only if its sha256 is `expected_sha256`.
pub fn load_proving_key(path: &Path, expected_sha256: &str) -> Result<ProvingKey, KeyError> {
    let (bytes, actual) = read_and_hash(path)?;
    if !actual.eq_ignore_ascii_case(expected_sha256) {
        return Err(KeyError::HashMismatch { path: path.to_path_buf(), expected: expected_sha256.to_string(), actual });
    }
    ProvingKey::deserialize_uncompressed_unchecked(bytes.as_slice())
        .map_err(|source| KeyError::Invalid { path: path.to_path_buf(), source })
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
    fn a_file_read_in_pieces_hashes_as_a_whole() {
        let dir = tempfile::tempdir().unwrap();
        // Two whole pieces of 8 MiB and a few bytes: every step of the pipeline, and the tail.
        for len in [0, 5, (8 << 20) - 1, (16 << 20) + 3] {
            let bytes: Vec<u8> = (0..len).map(|i: usize| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
            let path = dir.path().join(format!("f{len}"));
            std::fs::write(&path, &bytes).unwrap();
            let (read, hash) = read_hashed(&path).unwrap();
            assert!(read == bytes, "{len} bytes read back");
            assert_eq!(hash, sha256_hex(&bytes), "{len} bytes");
        }
        assert!(read_hashed(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn a_changed_proving_key_is_refused_before_it_is_parsed() {
        let dir = tempfile::tempdir().unwrap();
        let (pk, _) = setup_insecure_dev(valid(), 3).unwrap();
        let path = dir.path().join("proving_key.bin");
        let hash = save_proving_key(&pk, &path).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[100] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(load_proving_key(&path, &hash), Err(KeyError::HashMismatch { .. })));
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
