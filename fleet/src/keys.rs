//! A worker's proving keys, fetched once by their sha256 and cached: from the node over HTTP
//! (`GET {url}/v1/keys/{sha256}/circuit.json` and `.../proving_key.bin`) or from a shared folder
//! (`DIR/{sha256}/`, or `DIR` itself when its `circuit.json` names that key).
//!
//! A download goes to a temporary folder in the cache, is checked (the key file's sha256 is the
//! one asked for, `circuit.json` names it), and only then renamed into place: a worker killed
//! mid-download leaves no half key to load. The key is loaded unchecked behind that hash. Each
//! file's size is bounded ([`size_limit`]), so a hostile server cannot fill the disk; the files
//! the hash does not pin (the shape, the matrices) are vouched for by the worker's own check of
//! every proof against the proving key's verifying key before it hands the proof in.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zkrollup::prover::bundle::{self, CircuitInfo};

/// Where keys come from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// The node's base URL (`http://host:port`).
    Http(String),
    /// A shared folder.
    Dir(PathBuf),
}

impl KeySource {
    /// `http://...` is a node; anything else a folder.
    pub fn parse(s: &str) -> KeySource {
        if s.starts_with("http://") || s.starts_with("https://") {
            KeySource::Http(s.trim_end_matches('/').to_string())
        } else {
            KeySource::Dir(PathBuf::from(s))
        }
    }
}

/// Why a key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyFetchError {
    /// Not a key hash.
    #[error("{0:?} is not a sha256 (64 hex digits)")]
    BadHash(String),
    /// The source does not have it, or could not be reached.
    #[error("fetching key {sha256}: {reason}")]
    Fetch {
        /// The key.
        sha256: String,
        /// What went wrong.
        reason: String,
    },
    /// What arrived is not the key asked for.
    #[error("key {sha256}: {reason}")]
    Mismatch {
        /// The key.
        sha256: String,
        /// What differs.
        reason: String,
    },
    /// The cache could not be written.
    #[error("the key cache {0}: {1}")]
    Cache(PathBuf, std::io::Error),
    /// The key folder does not load.
    #[error(transparent)]
    Load(#[from] zkrollup::prover::ProverError),
}

fn check_hash(sha256: &str) -> Result<(), KeyFetchError> {
    if sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(KeyFetchError::BadHash(sha256.to_string()))
    }
}

/// The key folder for `sha256`: in `cache` already, or fetched from `source` into it.
pub fn key_dir(source: &KeySource, cache: &Path, sha256: &str) -> Result<PathBuf, KeyFetchError> {
    check_hash(sha256)?;
    let sha256 = sha256.to_ascii_lowercase();
    let dir = cache.join(&sha256);
    if dir.join("circuit.json").exists() {
        return Ok(dir);
    }
    match source {
        KeySource::Dir(shared) => {
            for candidate in [shared.join(&sha256), shared.to_path_buf()] {
                if bundle::load_info(&candidate).is_ok_and(|i| i.proving_key_sha256.eq_ignore_ascii_case(&sha256)) {
                    return Ok(candidate);
                }
            }
            Err(KeyFetchError::Fetch { sha256, reason: format!("not in {}", shared.display()) })
        }
        KeySource::Http(base) => download(base, cache, &sha256),
    }
}

/// The most bytes a key file may have: the proving key and the matrices (hundreds of MB at the
/// widest shapes measured) 4 GiB, the JSON and the verifying key 1 MiB.
pub fn size_limit(file: &str) -> u64 {
    match file {
        "proving_key.bin" | bundle::MATRICES => 4 << 30,
        _ => 1 << 20,
    }
}

fn download(base: &str, cache: &Path, sha256: &str) -> Result<PathBuf, KeyFetchError> {
    let partial = cache.join(format!(".partial-{sha256}-{}", std::process::id()));
    let result = download_into(base, cache, &partial, sha256);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    result
}

fn download_into(base: &str, cache: &Path, partial: &Path, sha256: &str) -> Result<PathBuf, KeyFetchError> {
    let cache_err = |e| KeyFetchError::Cache(cache.to_path_buf(), e);
    std::fs::create_dir_all(cache).map_err(cache_err)?;
    let _ = std::fs::remove_dir_all(partial);
    std::fs::create_dir_all(partial).map_err(cache_err)?;
    let fetch_err = |reason: String| KeyFetchError::Fetch { sha256: sha256.to_string(), reason };
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    // One file into the partial folder: its sha256.
    let fetch = |file: &str| -> Result<String, KeyFetchError> {
        let url = format!("{base}/v1/keys/{sha256}/{file}");
        let mut r = agent.get(&url).call().map_err(|e| fetch_err(format!("{url}: {e}")))?;
        if r.status() != 200 {
            return Err(fetch_err(format!("{url}: HTTP {}", r.status())));
        }
        let mut out = std::fs::File::create(partial.join(file)).map_err(cache_err)?;
        let mut hasher = Sha256::new();
        let limit = size_limit(file);
        let mut reader = r.body_mut().with_config().limit(limit).reader();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = reader.read(&mut buf).map_err(|e| fetch_err(format!("{url}: {e} (at most {limit} bytes)")))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(cache_err)?;
        }
        out.sync_all().map_err(cache_err)?;
        Ok(hex::encode(hasher.finalize()))
    };
    let mut actual = String::new();
    for file in ["circuit.json", "proving_key.bin", "verifying_key.bin", "verification_key.json"] {
        let hash = fetch(file)?;
        if file == "proving_key.bin" {
            actual = hash;
        }
    }
    if actual != sha256 {
        return Err(KeyFetchError::Mismatch { sha256: sha256.to_string(), reason: format!("proving_key.bin has sha256 {actual}") });
    }
    let info: CircuitInfo = bundle::load_info(partial)?;
    if !info.proving_key_sha256.eq_ignore_ascii_case(sha256) {
        return Err(KeyFetchError::Mismatch {
            sha256: sha256.to_string(),
            reason: format!("circuit.json names key {}", info.proving_key_sha256),
        });
    }
    // The circuit's matrices, where the folder has them (else the worker builds them).
    if let Some(expected) = &info.matrices_sha256 {
        let found = fetch(bundle::MATRICES)?;
        if !found.eq_ignore_ascii_case(expected) {
            return Err(KeyFetchError::Mismatch { sha256: sha256.to_string(), reason: format!("{} has sha256 {found}", bundle::MATRICES) });
        }
    }
    let dir = cache.join(sha256);
    std::fs::rename(partial, &dir).map_err(cache_err)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that answers every request with an endless body: a download stops at the size
    /// limit with an error, and leaves nothing in the cache.
    #[test]
    fn a_download_stops_at_the_size_limit() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                std::thread::spawn(move || {
                    let mut head = [0u8; 1024];
                    let _ = stream.read(&mut head);
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n\r\n");
                    let chunk = vec![b'x'; 1 << 16];
                    while stream.write_all(&chunk).is_ok() {}
                });
            }
        });
        let cache = tempfile::tempdir().unwrap();
        let sha = "ab".repeat(32);
        let e = key_dir(&KeySource::Http(base), cache.path(), &sha).unwrap_err();
        assert!(e.to_string().contains("at most 1048576 bytes"), "{e}");
        assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0, "nothing left in the cache");
    }
}
