//! A Groth16 `.zkey` opened for streaming: the small sections (1, 2, 3 and 10) are read and
//! checked when it is opened, the large ones (4 to 9) a chunk at a time on demand. A
//! contribution or a verification holds a chunk of the key in memory, not the key, which at
//! 2^20 constraints is over 400 MB.

use std::fs::File;
use std::io::{BufReader, Read, Seek, Write};
use std::path::Path;

use ark_bn254::{G1Affine, G2Affine};

use super::container::{Sections, Writer};
use super::encoding::{g1s_bytes, g2s_bytes, read_g1s_from, read_g1s_with, read_g2s_from, Check, G1_BYTES, G2_BYTES};
use super::zkey::{
    coefficients_bytes, contributions_bytes, header_bytes, parse_coefficients, read_contributions, read_header, Coefficient, Contribution, Header,
    COEF_BYTES, HEADER_BYTES, MAGIC,
};
use super::FormatError;

/// Points a chunk holds: 2^15 G1 points are 2 MiB of the file, as many G2 points 4 MiB.
pub const CHUNK_POINTS: usize = 1 << 15;

/// Section 5: A in G1.
pub const SECTION_A: u32 = 5;
/// Section 6: B in G1.
pub const SECTION_B1: u32 = 6;
/// Section 7: B in G2.
pub const SECTION_B2: u32 = 7;
/// Section 8: C, the "L" query.
pub const SECTION_L: u32 = 8;
/// Section 9: H.
pub const SECTION_H: u32 = 9;

/// The name errors give section `id`'s points.
pub(super) fn section_name(id: u32) -> &'static str {
    match id {
        SECTION_A => "zkey A",
        SECTION_B1 => "zkey B1",
        SECTION_B2 => "zkey B2",
        SECTION_L => "zkey C",
        _ => "zkey H",
    }
}

/// Refuse section 1 unless it says Groth16 (1).
pub(super) fn check_protocol(section_1: &[u8]) -> Result<(), FormatError> {
    let protocol = u32::from_le_bytes(section_1.try_into().map_err(|_| FormatError::Header(".zkey: section 1 is not 4 bytes".into()))?);
    if protocol != 1 {
        return Err(FormatError::Header(format!(".zkey: protocol {protocol}, not Groth16 (1)")));
    }
    Ok(())
}

/// Refuse any point section whose size the header's counts contradict.
pub(super) fn check_layout(s: &Sections, header: &Header) -> Result<(), FormatError> {
    let (n_vars, n_public, n) = (u64::from(header.n_vars), u64::from(header.n_public), u64::from(header.domain_size));
    s.expect_size(3, (n_public + 1) * G1_BYTES as u64)?;
    s.expect_size(SECTION_A, n_vars * G1_BYTES as u64)?;
    s.expect_size(SECTION_B1, n_vars * G1_BYTES as u64)?;
    s.expect_size(SECTION_B2, n_vars * G2_BYTES as u64)?;
    s.expect_size(SECTION_L, (n_vars - n_public - 1) * G1_BYTES as u64)?;
    s.expect_size(SECTION_H, n * G1_BYTES as u64)
}

/// Refuse section 4 unless it holds its count and `n_coefficients` entries.
pub(super) fn check_coefficients_size(s: &Sections, n_coefficients: u32) -> Result<(), FormatError> {
    s.expect_size(4, 4 + u64::from(n_coefficients) * COEF_BYTES as u64)
}

/// An opened `.zkey`: the small sections read, every section's size checked against the header.
pub struct ZkeyFile<R> {
    r: R,
    sections: Sections,
    /// Section 2.
    pub header: Header,
    /// Section 3: the verifying key's input points.
    pub ic: Vec<G1Affine>,
    /// Section 10: blake2b-512 of the initial key.
    pub cs_hash: [u8; 64],
    /// Section 10: the contributions, oldest first.
    pub contributions: Vec<Contribution>,
    /// Section 4's number of coefficients.
    pub n_coefficients: u32,
}

impl ZkeyFile<BufReader<File>> {
    /// Open a `.zkey` file.
    pub fn open(path: &Path) -> Result<ZkeyFile<BufReader<File>>, FormatError> {
        let f = File::open(path).map_err(|e| FormatError::io(path, e))?;
        ZkeyFile::new(BufReader::with_capacity(1 << 20, f))
    }
}

impl<R: Read + Seek> ZkeyFile<R> {
    /// Read the section table and the small sections; refuse a protocol other than Groth16, a
    /// header that is not BN254's, and any section whose size the header's counts contradict.
    pub fn new(mut r: R) -> Result<ZkeyFile<R>, FormatError> {
        let s = Sections::read(&mut r, "zkey", MAGIC, 2)?;
        s.expect_size(1, 4)?;
        check_protocol(&s.bytes(&mut r, 1)?)?;
        s.expect_size(2, HEADER_BYTES)?;
        let header = read_header(&s.bytes(&mut r, 2)?)?;
        check_layout(&s, &header)?;
        let count = s.part(&mut r, 4, 0, 4)?;
        let n_coefficients = u32::from_le_bytes(count.try_into().expect("4 bytes"));
        check_coefficients_size(&s, n_coefficients)?;
        let ic = read_g1s_with(&s.bytes(&mut r, 3)?, "zkey IC", Check::Full)?;
        let (cs_hash, contributions) = read_contributions(&s.bytes(&mut r, 10)?)?;
        Ok(ZkeyFile { r, sections: s, header, ic, cs_hash, contributions, n_coefficients })
    }

    /// The number of points in section `id` (5 to 9).
    pub fn points(&self, id: u32) -> u64 {
        let size = if id == SECTION_B2 { G2_BYTES } else { G1_BYTES };
        self.sections.size(id).unwrap_or(0) / size as u64
    }

    /// Bytes `[offset, offset + len)` of section `id`, in chunks of `chunk` bytes; `f` gets each
    /// chunk's offset within the section.
    fn byte_chunks<E: From<FormatError>>(&mut self, id: u32, offset: u64, chunk: u64, mut f: impl FnMut(u64, Vec<u8>) -> Result<(), E>) -> Result<(), E> {
        let size = self.sections.size(id)?;
        let mut at = offset;
        while at < size {
            let len = chunk.min(size - at);
            let bytes = self.sections.part(&mut self.r, id, at, len)?;
            f(at, bytes)?;
            at += len;
        }
        Ok(())
    }

    /// Section `id`'s G1 points (5, 6, 8 or 9), checked as `check` says, in chunks of
    /// [`CHUNK_POINTS`]; `f` gets each chunk's first index.
    pub fn g1_chunks<E: From<FormatError>>(&mut self, id: u32, check: Check, mut f: impl FnMut(usize, Vec<G1Affine>) -> Result<(), E>) -> Result<(), E> {
        let what = section_name(id);
        self.byte_chunks(id, 0, (CHUNK_POINTS * G1_BYTES) as u64, |at, bytes| {
            let first = (at / G1_BYTES as u64) as usize;
            f(first, read_g1s_from(&bytes, what, first, check)?)
        })
    }

    /// Section 7's G2 points, checked as `check` says, in chunks of [`CHUNK_POINTS`].
    pub fn g2_chunks<E: From<FormatError>>(&mut self, id: u32, check: Check, mut f: impl FnMut(usize, Vec<G2Affine>) -> Result<(), E>) -> Result<(), E> {
        let what = section_name(id);
        self.byte_chunks(id, 0, (CHUNK_POINTS * G2_BYTES) as u64, |at, bytes| {
            let first = (at / G2_BYTES as u64) as usize;
            f(first, read_g2s_from(&bytes, what, first, check)?)
        })
    }

    /// Section 4's coefficients, checked against the header, in chunks; `f` gets each chunk's
    /// first index.
    pub fn coefficient_chunks<E: From<FormatError>>(&mut self, mut f: impl FnMut(usize, Vec<Coefficient>) -> Result<(), E>) -> Result<(), E> {
        let header = self.header.clone();
        self.byte_chunks(4, 4, (CHUNK_POINTS * COEF_BYTES) as u64, |at, bytes| {
            let first = ((at - 4) / COEF_BYTES as u64) as usize;
            f(first, parse_coefficients(&bytes, first, &header)?)
        })
    }
}

impl<R: Read + Seek> ZkeyFile<R> {
    /// Write the key with `header` and `contributions` in place of its own and each chunk of L
    /// and H through `map`, in the order `zkey contribute` writes (sections 1 to 10). The other
    /// sections are copied after a check of their encoding and curve equations (their subgroup
    /// and their values are what `ceremony verify` checks). `progress` gets the L and H points
    /// done and their total.
    pub fn rewrite<W: Write>(
        &mut self,
        out: W,
        header: &Header,
        contributions: &[Contribution],
        map: impl Fn(Vec<G1Affine>) -> Vec<G1Affine>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<W, FormatError> {
        let io = written;
        let mut w = Writer::new(out, MAGIC, 1, 10).map_err(io)?;
        w.section(1, &1u32.to_le_bytes()).map_err(io)?;
        w.section(2, &header_bytes(header)).map_err(io)?;
        w.section(3, &g1s_bytes(&self.ic)).map_err(io)?;
        w.begin(4, self.sections.size(4)?).map_err(io)?;
        w.raw(&self.n_coefficients.to_le_bytes()).map_err(io)?;
        self.coefficient_chunks(|_, chunk| w.raw(&coefficients_bytes(&chunk)[4..]).map_err(io))?;
        for id in [SECTION_A, SECTION_B1] {
            w.begin(id, self.sections.size(id)?).map_err(io)?;
            self.g1_chunks(id, Check::Curve, |_, chunk| w.raw(&g1s_bytes(&chunk)).map_err(io))?;
        }
        w.begin(SECTION_B2, self.sections.size(SECTION_B2)?).map_err(io)?;
        self.g2_chunks(SECTION_B2, Check::Curve, |_, chunk| w.raw(&g2s_bytes(&chunk)).map_err(io))?;
        let total = self.points(SECTION_L) + self.points(SECTION_H);
        let mut done = 0;
        for id in [SECTION_L, SECTION_H] {
            w.begin(id, self.sections.size(id)?).map_err(io)?;
            self.g1_chunks(id, Check::Full, |_, chunk| {
                done += chunk.len() as u64;
                w.raw(&g1s_bytes(&map(chunk))).map_err(io)?;
                progress(done, total);
                Ok::<_, FormatError>(())
            })?;
        }
        w.section(10, &contributions_bytes(&self.cs_hash, contributions)).map_err(io)?;
        w.finish().map_err(io)
    }
}

/// Writes a `.zkey` a section at a time, in the order `zkey new` writes (1, 2, 4, 3, 9, 8, 5,
/// 6, 7, 10): for a key computed one section after another.
pub struct ZkeyWriter<W: Write> {
    w: Writer<W>,
}

fn written(e: std::io::Error) -> FormatError {
    FormatError::Io { path: "(.zkey being written)".into(), source: e }
}

impl<W: Write> ZkeyWriter<W> {
    /// Start the file: its container header, section 1 (Groth16) and section 2.
    pub fn new(out: W, header: &Header) -> Result<ZkeyWriter<W>, FormatError> {
        let mut w = Writer::new(out, MAGIC, 1, 10).map_err(written)?;
        w.section(1, &1u32.to_le_bytes()).map_err(written)?;
        w.section(2, &header_bytes(header)).map_err(written)?;
        Ok(ZkeyWriter { w })
    }

    /// Section 4.
    pub fn coefficients(&mut self, coefficients: &[Coefficient]) -> Result<(), FormatError> {
        self.w.section(4, &coefficients_bytes(coefficients)).map_err(written)
    }

    /// A section of G1 points (3, 5, 6, 8 or 9).
    pub fn g1s(&mut self, id: u32, points: &[G1Affine]) -> Result<(), FormatError> {
        self.w.section(id, &g1s_bytes(points)).map_err(written)
    }

    /// Section 7.
    pub fn g2s(&mut self, points: &[G2Affine]) -> Result<(), FormatError> {
        self.w.section(SECTION_B2, &g2s_bytes(points)).map_err(written)
    }

    /// Section 10, and the end of the file.
    pub fn finish(mut self, cs_hash: &[u8; 64], contributions: &[Contribution]) -> Result<W, FormatError> {
        self.w.section(10, &contributions_bytes(cs_hash, contributions)).map_err(written)?;
        self.w.finish().map_err(written)
    }
}
