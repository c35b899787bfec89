//! A `.zkey` read once, front to back, every byte hashed on the way (sha256): each section is
//! parsed as it passes, a chunk at a time, so the file's bytes are never whole in memory. The
//! hash is of exactly the bytes parsed, which is what lets a key pinned by its hash skip the
//! point checks (a key read first and hashed after could change in between).
//!
//! The sections may come in any order (snarkjs writes two); section 4's coefficients stream to
//! the caller when the header came before them (as every writer puts it), else they are parsed
//! at the end.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use ark_bn254::G1Affine;
use sha2::{Digest, Sha256};

use super::container::{add_entry, check_head, Sections};
use super::encoding::{read_g1s_from, read_g1s_with, read_g2s_from, Check, G1_BYTES, G2_BYTES};
use super::zkey::{parse_coefficients, read_contributions, read_header, Coefficient, Header, Zkey, COEF_BYTES, HEADER_BYTES, MAGIC};
use super::zkey_file::{check_coefficients_size, check_layout, check_protocol, section_name, CHUNK_POINTS, SECTION_A, SECTION_B1, SECTION_B2, SECTION_H, SECTION_L};
use super::FormatError;

/// The file, read in order and hashed.
struct Source<'p> {
    file: File,
    path: &'p Path,
    hasher: Sha256,
    at: u64,
}

impl Source<'_> {
    /// The next `n` bytes, unhashed (the caller hashes them, beside its parse).
    fn next(&mut self, n: u64) -> Result<Vec<u8>, FormatError> {
        let mut out = vec![0u8; usize::try_from(n).map_err(|_| FormatError::Header("section too large".into()))?];
        self.file.read_exact(&mut out).map_err(|e| FormatError::io(self.path, e))?;
        self.at += n;
        Ok(out)
    }

    /// The next `n` bytes, hashed.
    fn take(&mut self, n: u64) -> Result<Vec<u8>, FormatError> {
        let out = self.next(n)?;
        self.hasher.update(&out);
        Ok(out)
    }

    /// The next `n` bytes in chunks of `chunk`, each hashed while `parse` reads it.
    fn chunks(&mut self, n: u64, chunk: u64, mut parse: impl FnMut(u64, &[u8]) -> Result<(), FormatError> + Send) -> Result<(), FormatError> {
        let mut done = 0;
        while done < n {
            let bytes = self.next(chunk.min(n - done))?;
            let hasher = &mut self.hasher;
            let ((), parsed) = rayon::join(|| hasher.update(&bytes), || parse(done, &bytes));
            parsed?;
            done += bytes.len() as u64;
        }
        Ok(())
    }
}

/// Read `path` once, front to back, checking points as `check` says (the IC points and the
/// header's always fully), handing section 4's coefficients to `coefficients` a chunk at a
/// time, with the header and their total. Returns the key, its `coefficients` left empty, and
/// the file's sha256 (lowercase hex). Refuses what [`Zkey::read`] refuses.
pub fn read_streamed(path: &Path, check: Check, mut coefficients: impl FnMut(&Header, u32, &[Coefficient]) + Send) -> Result<(Zkey, String), FormatError> {
    let file = File::open(path).map_err(|e| FormatError::io(path, e))?;
    let len = file.metadata().map_err(|e| FormatError::io(path, e))?.len();
    let mut src = Source { file, path, hasher: Sha256::new(), at: 0 };
    let mut head = [0u8; 12];
    if len >= 12 {
        head.copy_from_slice(&src.take(12)?);
    }
    let (version, count) = check_head(&head, len, "zkey", MAGIC, 2)?;
    let mut entries = BTreeMap::new();
    let mut small: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
    let mut header: Option<Header> = None;
    let mut n_coefficients = None;
    let mut g1: BTreeMap<u32, Vec<G1Affine>> = BTreeMap::new();
    let mut b2 = Vec::new();
    for i in 0..count {
        if src.at + 12 > len {
            return Err(FormatError::Truncated(format!(".zkey: section header {i} of {count} past the end")));
        }
        let sh = src.take(12)?;
        let id = u32::from_le_bytes(sh[..4].try_into().expect("4 bytes"));
        let size = u64::from_le_bytes(sh[4..].try_into().expect("8 bytes"));
        add_entry(&mut entries, "zkey", id, src.at, size, len)?;
        match id {
            SECTION_A | SECTION_B1 | SECTION_L | SECTION_H => {
                let what = section_name(id);
                let mut points = Vec::with_capacity((size / G1_BYTES as u64) as usize);
                src.chunks(size, (CHUNK_POINTS * G1_BYTES) as u64, |at, bytes| {
                    points.extend(read_g1s_from(bytes, what, (at / G1_BYTES as u64) as usize, check)?);
                    Ok(())
                })?;
                g1.insert(id, points);
            }
            SECTION_B2 => {
                b2.reserve_exact((size / G2_BYTES as u64) as usize);
                src.chunks(size, (CHUNK_POINTS * G2_BYTES) as u64, |at, bytes| {
                    b2.extend(read_g2s_from(bytes, section_name(SECTION_B2), (at / G2_BYTES as u64) as usize, check)?);
                    Ok(())
                })?;
            }
            4 if size >= 4 && header.is_some() => {
                let n = u32::from_le_bytes(src.take(4)?.try_into().expect("4 bytes"));
                // The count is checked before it sizes anything the caller allocates.
                let expected = 4 + u64::from(n) * COEF_BYTES as u64;
                if size != expected {
                    return Err(FormatError::SectionSize { kind: "zkey", id: 4, expected, found: size });
                }
                let h = header.as_ref().expect("the header came first");
                src.chunks(size - 4, (CHUNK_POINTS * COEF_BYTES) as u64, |at, bytes| {
                    coefficients(h, n, &parse_coefficients(bytes, (at / COEF_BYTES as u64) as usize, h)?);
                    Ok(())
                })?;
                n_coefficients = Some(n);
            }
            _ => {
                let bytes = src.take(size)?;
                if id == 2 && size == HEADER_BYTES {
                    header = Some(read_header(&bytes)?);
                }
                small.insert(id, bytes);
            }
        }
    }
    // Whatever follows the last section is part of the file, and of its hash.
    while src.at < len {
        src.take((len - src.at).min(1 << 20))?;
    }
    let sha256 = hex::encode(src.hasher.finalize());

    let sections = Sections::from_entries("zkey", version, entries);
    let section = |id: u32| small.get(&id).map(Vec::as_slice).ok_or(FormatError::MissingSection { kind: "zkey", id });
    sections.expect_size(1, 4)?;
    check_protocol(section(1)?)?;
    sections.expect_size(2, HEADER_BYTES)?;
    let header = header.expect("section 2 has the header's size, so it was read");
    check_layout(&sections, &header)?;
    let n_coefficients = match n_coefficients {
        Some(n) => n,
        None => {
            // Section 4 came before the header (or is too short to hold its count).
            let raw = section(4)?;
            let n = u32::from_le_bytes(raw.get(..4).ok_or_else(|| FormatError::Truncated(".zkey: section 4 has no count".into()))?.try_into().expect("4 bytes"));
            check_coefficients_size(&sections, n)?;
            coefficients(&header, n, &parse_coefficients(&raw[4..], 0, &header)?);
            n
        }
    };
    check_coefficients_size(&sections, n_coefficients)?;
    let ic = read_g1s_with(section(3)?, "zkey IC", Check::Full)?;
    let (cs_hash, contributions) = read_contributions(section(10)?)?;
    let mut g1 = |id: u32| g1.remove(&id).ok_or(FormatError::MissingSection { kind: "zkey", id });
    let (a, b1, c, h) = (g1(SECTION_A)?, g1(SECTION_B1)?, g1(SECTION_L)?, g1(SECTION_H)?);
    if !sections.has(SECTION_B2) {
        return Err(FormatError::MissingSection { kind: "zkey", id: SECTION_B2 });
    }
    Ok((Zkey { header, ic, coefficients: Vec::new(), a, b1, b2, c, h, cs_hash, contributions }, sha256))
}
