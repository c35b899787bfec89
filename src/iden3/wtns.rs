//! `.wtns` (version 2): a full assignment, as circom's witness generators and
//! `snarkjs wtns calculate` write it. Section 1: `n8 u32 || prime || nWitness u32`; section 2:
//! `nWitness` canonical little-endian scalars, wire 0 (the constant 1) first.

use std::io::{Read, Seek};
use std::path::Path;

use rayon::prelude::*;

use super::container::{write_atomically, Cursor, Sections, Writer};
use super::encoding::{fr_bytes, modulus_bytes, read_fr, N8};
use super::FormatError;
use crate::Fr;

const MAGIC: &[u8; 4] = b"wtns";

/// Read and check a `.wtns` file.
pub fn read_file(path: &Path) -> Result<Vec<Fr>, FormatError> {
    let mut f = std::io::BufReader::new(std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?);
    read(&mut f)
}

/// Read a `.wtns` (versions 1 and 2): BN254's r as the prime, section 2 exactly `nWitness`
/// canonical values.
pub fn read<R: Read + Seek>(r: &mut R) -> Result<Vec<Fr>, FormatError> {
    let sections = Sections::read(r, "wtns", MAGIC, 2)?;
    let header = sections.bytes(r, 1)?;
    let mut h = Cursor::new(&header, "wtns header");
    let n8 = h.u32()?;
    if n8 as usize != N8 {
        return Err(FormatError::Header(format!(".wtns: field size {n8} bytes, BN254 has 32")));
    }
    if h.take(N8)? != modulus_bytes::<Fr>() {
        return Err(FormatError::Header(".wtns: the prime is not BN254's scalar field".into()));
    }
    let n = h.u32()?;
    if h.remaining() != 0 {
        return Err(FormatError::SectionSize { kind: "wtns", id: 1, expected: 40, found: header.len() as u64 });
    }
    sections.expect_size(2, u64::from(n) * N8 as u64)?;
    let body = sections.bytes(r, 2)?;
    body.par_chunks_exact(N8).enumerate().map(|(i, b)| read_fr(b, || format!(".wtns: value {i}"))).collect()
}

/// Write a `.wtns`, version 2.
pub fn write<W: std::io::Write>(values: &[Fr], out: W) -> std::io::Result<()> {
    let mut w = Writer::new(out, MAGIC, 2, 2)?;
    let mut header = Vec::with_capacity(40);
    header.extend_from_slice(&(N8 as u32).to_le_bytes());
    header.extend_from_slice(&modulus_bytes::<Fr>());
    header.extend_from_slice(&(values.len() as u32).to_le_bytes());
    w.section(1, &header)?;
    let body: Vec<u8> = values.par_iter().flat_map_iter(fr_bytes).collect();
    w.section(2, &body)?;
    w.finish().map(|_| ())
}

/// Write `path` atomically.
pub fn write_file(values: &[Fr], path: &Path) -> Result<(), FormatError> {
    write_atomically(path, |w| write(values, w))
}
