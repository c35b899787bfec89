//! Groth16 `.zkey` (snarkjs): a proving key with its ceremony's transcript.
//!
//! Sections (found by id; `zkey new` writes them 1, 2, 4, 3, 9, 8, 5, 6, 7, 10):
//! 1 the protocol (1 = Groth16); 2 the header (`n8q || q || n8r || r || nVars || nPublic ||
//! domainSize || alpha1 || beta1 || beta2 || gamma2 || delta1 || delta2`, 660 bytes); 3 IC, the
//! `nPublic + 1` points of the verifying key; 4 the A and B coefficients (`nCoefs u32`, then
//! `matrix u32 || constraint u32 || signal u32 || c * R^2`); 5 A, 6 B in G1, 7 B in G2 (`nVars`
//! points each); 8 C (the "L" query, `nVars - nPublic - 1` points); 9 H (`domainSize` points, the
//! odd Lagrange points of the 2n domain over delta); 10 the circuit hash and the contributions.

use std::io::{Read, Seek};
use std::path::Path;

use ark_bn254::{G1Affine, G2Affine};

pub use super::zkey_stream::read_streamed;
pub use super::zkey_file::{ZkeyFile, ZkeyWriter, CHUNK_POINTS, SECTION_A, SECTION_B1, SECTION_B2, SECTION_H, SECTION_L};

use super::container::{write_atomically, Cursor, Writer};
use super::encoding::{
    coefficient_bytes, g1_bytes, g1s_bytes, g2_bytes, g2s_bytes, modulus_bytes, read_coefficient, read_g1, read_g2,
    Check, G1_BYTES, G2_BYTES, N8,
};
use super::FormatError;
use crate::prover::ProvingKey;
use crate::Fr;

pub(super) const MAGIC: &[u8; 4] = b"zkey";
/// Bytes of a section-4 entry.
pub(super) const COEF_BYTES: usize = 12 + N8;
/// Bytes of section 2 for BN254.
pub(super) const HEADER_BYTES: u64 = 660;

/// Which matrix a section-4 coefficient belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Matrix {
    /// A (0).
    A,
    /// B (1).
    B,
}

/// One nonzero entry of A or B.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coefficient {
    /// A or B.
    pub matrix: Matrix,
    /// The row: a constraint, or `m + s` for public signal `s`'s input row.
    pub constraint: u32,
    /// The column: the signal (wire).
    pub signal: u32,
    /// The value.
    pub value: Fr,
}

/// The header of a Groth16 `.zkey` (section 2).
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    /// Signals, the constant 1 included (`nWires` of the `.r1cs`).
    pub n_vars: u32,
    /// Public signals.
    pub n_public: u32,
    /// The evaluation domain's size, a power of two.
    pub domain_size: u32,
    /// `alpha` in G1.
    pub alpha1: G1Affine,
    /// `beta` in G1.
    pub beta1: G1Affine,
    /// `beta` in G2.
    pub beta2: G2Affine,
    /// `gamma` in G2 (snarkjs: the generator).
    pub gamma2: G2Affine,
    /// `delta` in G1.
    pub delta1: G1Affine,
    /// `delta` in G2.
    pub delta2: G2Affine,
}

/// What a contribution record says of itself (the TLV parameters of section 10).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContributionParams {
    /// The participant's name (1).
    pub name: Option<String>,
    /// A beacon's `log2` of SHA-256 iterations (2).
    pub iterations_exp: Option<u8>,
    /// A beacon's hash (3).
    pub beacon_hash: Option<Vec<u8>>,
}

/// One phase-2 contribution, as section 10 records it.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
    /// delta in G1 after this contribution.
    pub delta_after: G1Affine,
    /// The proof of knowledge: a random G1 point `s`...
    pub g1_s: G1Affine,
    /// ... `s` times the contribution's secret...
    pub g1_sx: G1Affine,
    /// ... and the transcript's G2 point times the secret.
    pub g2_spx: G2Affine,
    /// blake2b-512 of the transcript so far.
    pub transcript: [u8; 64],
    /// 0 a contribution, 1 a beacon.
    pub kind: u32,
    /// Name or beacon parameters.
    pub params: ContributionParams,
}

/// A Groth16 `.zkey`, whole in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Zkey {
    /// Section 2.
    pub header: Header,
    /// Section 3: the verifying key's input points.
    pub ic: Vec<G1Affine>,
    /// Section 4: the A and B coefficients, in the file's order.
    pub coefficients: Vec<Coefficient>,
    /// Section 5.
    pub a: Vec<G1Affine>,
    /// Section 6.
    pub b1: Vec<G1Affine>,
    /// Section 7.
    pub b2: Vec<G2Affine>,
    /// Section 8.
    pub c: Vec<G1Affine>,
    /// Section 9.
    pub h: Vec<G1Affine>,
    /// blake2b-512 of the initial key (section 10).
    pub cs_hash: [u8; 64],
    /// The contributions, oldest first.
    pub contributions: Vec<Contribution>,
}

impl Zkey {
    /// Read and check a `.zkey` file.
    pub fn read_file(path: &Path) -> Result<Zkey, FormatError> {
        let mut f = std::io::BufReader::new(std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?);
        Zkey::read(&mut f)
    }

    /// Read a `.zkey` whose sha256 must be `sha256_hex`, without the curve and subgroup checks
    /// of its points: for a key checked once ([`Zkey::read_file`]) and pinned by its hash.
    pub fn read_file_pinned(path: &Path, sha256_hex: &str) -> Result<Zkey, FormatError> {
        let mut coefficients = Vec::new();
        let (zkey, found) = read_streamed(path, Check::PinnedByHash, |_, total, chunk| {
            coefficients.reserve_exact(total as usize - coefficients.len());
            coefficients.extend_from_slice(chunk);
        })?;
        expect_pinned(path, &found, sha256_hex)?;
        Ok(Zkey { coefficients, ..zkey })
    }

    /// Read a Groth16 `.zkey` and check every section against the header: sizes, coefficient
    /// indices, field elements below their moduli, points on the curve (and G2 points in the
    /// subgroup).
    pub fn read<R: Read + Seek>(r: &mut R) -> Result<Zkey, FormatError> {
        Zkey::read_with(r, Check::Full)
    }

    /// [`Zkey::read`], with the point checks `check` says (header and transcript points are
    /// always checked).
    pub fn read_with<R: Read + Seek>(r: &mut R, check: Check) -> Result<Zkey, FormatError> {
        let mut f = ZkeyFile::new(r)?;
        let mut coefficients = Vec::with_capacity(f.n_coefficients as usize);
        f.coefficient_chunks(|_, chunk| {
            coefficients.extend(chunk);
            Ok::<_, FormatError>(())
        })?;
        let (mut a, mut b1, mut b2, mut c, mut h) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (id, points) in [(SECTION_A, &mut a), (SECTION_B1, &mut b1), (SECTION_L, &mut c), (SECTION_H, &mut h)] {
            points.reserve_exact(f.points(id) as usize);
            f.g1_chunks(id, check, |_, chunk| {
                points.extend(chunk);
                Ok::<_, FormatError>(())
            })?;
        }
        b2.reserve_exact(f.points(SECTION_B2) as usize);
        f.g2_chunks(SECTION_B2, check, |_, chunk| {
            b2.extend(chunk);
            Ok::<_, FormatError>(())
        })?;
        let ZkeyFile { header, ic, cs_hash, contributions, .. } = f;
        Ok(Zkey { header, ic, coefficients, a, b1, b2, c, h, cs_hash, contributions })
    }

    /// The proving key in arkworks' form (what our provers take), copied.
    pub fn proving_key(&self) -> ProvingKey {
        self.clone().into_proving_key()
    }

    /// The proving key in arkworks' form, its points moved out of the key.
    pub fn into_proving_key(self) -> ProvingKey {
        let h = self.header;
        ProvingKey {
            vk: ark_groth16::VerifyingKey { alpha_g1: h.alpha1, beta_g2: h.beta2, gamma_g2: h.gamma2, delta_g2: h.delta2, gamma_abc_g1: self.ic },
            beta_g1: h.beta1,
            delta_g1: h.delta1,
            a_query: self.a,
            b_g1_query: self.b1,
            b_g2_query: self.b2,
            h_query: self.h,
            l_query: self.c,
        }
    }

    /// Write the file in snarkjs's section order: `zkey new`'s (1, 2, 4, 3, 9, 8, 5, 6, 7, 10)
    /// for a key without contributions, `zkey contribute`'s (1 to 10) after one.
    pub fn write<W: std::io::Write>(&self, out: W) -> std::io::Result<()> {
        let order: [u32; 10] = if self.contributions.is_empty() { [1, 2, 4, 3, 9, 8, 5, 6, 7, 10] } else { [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] };
        let mut w = Writer::new(out, MAGIC, 1, 10)?;
        for id in order {
            let bytes = match id {
                1 => 1u32.to_le_bytes().to_vec(),
                2 => header_bytes(&self.header),
                3 => g1s_bytes(&self.ic),
                4 => coefficients_bytes(&self.coefficients),
                5 => g1s_bytes(&self.a),
                6 => g1s_bytes(&self.b1),
                7 => g2s_bytes(&self.b2),
                8 => g1s_bytes(&self.c),
                9 => g1s_bytes(&self.h),
                _ => contributions_bytes(&self.cs_hash, &self.contributions),
            };
            w.section(id, &bytes)?;
        }
        w.finish().map(|_| ())
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out).expect("writing to memory");
        out
    }

    /// Write `path` atomically.
    pub fn write_file(&self, path: &Path) -> Result<(), FormatError> {
        write_atomically(path, |w| self.write(w))
    }
}

pub(super) fn read_header(bytes: &[u8]) -> Result<Header, FormatError> {
    let mut c = Cursor::new(bytes, "zkey header");
    for (name, modulus) in [("q", modulus_bytes::<ark_bn254::Fq>()), ("r", modulus_bytes::<Fr>())] {
        let n8 = c.u32()?;
        if n8 as usize != N8 || c.take(N8)? != modulus {
            return Err(FormatError::Header(format!(".zkey: the header's {name} is not BN254's")));
        }
    }
    let (n_vars, n_public, domain_size) = (c.u32()?, c.u32()?, c.u32()?);
    if n_vars == 0 || n_public >= n_vars {
        return Err(FormatError::Header(format!(".zkey: {n_vars} signals cannot hold the constant and {n_public} public ones")));
    }
    if !domain_size.is_power_of_two() || u64::from(domain_size) <= u64::from(n_public) {
        return Err(FormatError::Header(format!(".zkey: domain size {domain_size} is not a power of two above the public signals")));
    }
    let g1 = |c: &mut Cursor, name: &str| -> Result<G1Affine, FormatError> { read_g1(c.take(G1_BYTES)?, || format!(".zkey header {name}")) };
    let g2 = |c: &mut Cursor, name: &str| -> Result<G2Affine, FormatError> { read_g2(c.take(G2_BYTES)?, || format!(".zkey header {name}")) };
    Ok(Header {
        n_vars,
        n_public,
        domain_size,
        alpha1: g1(&mut c, "alpha1")?,
        beta1: g1(&mut c, "beta1")?,
        beta2: g2(&mut c, "beta2")?,
        gamma2: g2(&mut c, "gamma2")?,
        delta1: g1(&mut c, "delta1")?,
        delta2: g2(&mut c, "delta2")?,
    })
}

pub(super) fn header_bytes(h: &Header) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES as usize);
    out.extend_from_slice(&(N8 as u32).to_le_bytes());
    out.extend_from_slice(&modulus_bytes::<ark_bn254::Fq>());
    out.extend_from_slice(&(N8 as u32).to_le_bytes());
    out.extend_from_slice(&modulus_bytes::<Fr>());
    for x in [h.n_vars, h.n_public, h.domain_size] {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.extend_from_slice(&g1_bytes(&h.alpha1));
    out.extend_from_slice(&g1_bytes(&h.beta1));
    out.extend_from_slice(&g2_bytes(&h.beta2));
    out.extend_from_slice(&g2_bytes(&h.gamma2));
    out.extend_from_slice(&g1_bytes(&h.delta1));
    out.extend_from_slice(&g2_bytes(&h.delta2));
    out
}

/// Refuse a key whose sha256 (`found`) is not the one pinned.
pub fn expect_pinned(path: &Path, found: &str, pinned: &str) -> Result<(), FormatError> {
    if found.eq_ignore_ascii_case(pinned.trim()) {
        Ok(())
    } else {
        Err(FormatError::Mismatch(format!("{}: sha256 {found}, pinned {pinned}", path.display())))
    }
}

/// Section-4 entries (without the leading count), the first being entry `first`, checked
/// against the header's rows and signals.
pub(super) fn parse_coefficients(entries: &[u8], first: usize, h: &Header) -> Result<Vec<Coefficient>, FormatError> {
    let blank = Coefficient { matrix: Matrix::A, constraint: 0, signal: 0, value: Fr::from(0u64) };
    super::encoding::read_into(entries, COEF_BYTES, blank, |k, e| {
        let i = first + k;
        let word = |k: usize| u32::from_le_bytes(e[4 * k..4 * k + 4].try_into().expect("4 bytes"));
        let matrix = match word(0) {
            0 => Matrix::A,
            1 => Matrix::B,
            other => return Err(FormatError::Header(format!(".zkey: coefficient {i} names matrix {other} (A is 0, B is 1)"))),
        };
        let (constraint, signal) = (word(1), word(2));
        if constraint >= h.domain_size || signal >= h.n_vars {
            return Err(FormatError::Header(format!(
                ".zkey: coefficient {i} at row {constraint}, signal {signal}: outside {} rows, {} signals",
                h.domain_size, h.n_vars
            )));
        }
        let value = read_coefficient(&e[12..], || format!(".zkey coefficient {i}"))?;
        Ok(Coefficient { matrix, constraint, signal, value })
    })
}

/// Section 4's bytes for `coefficients`: the count, then the entries.
pub(super) fn coefficients_bytes(coefficients: &[Coefficient]) -> Vec<u8> {
    let mut coefs = Vec::with_capacity(4 + coefficients.len() * COEF_BYTES);
    coefs.extend_from_slice(&(coefficients.len() as u32).to_le_bytes());
    for c in coefficients {
        coefs.extend_from_slice(&(c.matrix as u32).to_le_bytes());
        coefs.extend_from_slice(&c.constraint.to_le_bytes());
        coefs.extend_from_slice(&c.signal.to_le_bytes());
        coefs.extend_from_slice(&coefficient_bytes(&c.value));
    }
    coefs
}

pub(super) fn read_contributions(bytes: &[u8]) -> Result<([u8; 64], Vec<Contribution>), FormatError> {
    let mut c = Cursor::new(bytes, "zkey contributions");
    let cs_hash: [u8; 64] = c.take(64)?.try_into().expect("64 bytes");
    let n = c.u32()?;
    let mut out = Vec::new();
    for i in 0..n {
        let what = |name: &str| format!(".zkey contribution {i} {name}");
        let delta_after = read_g1(c.take(G1_BYTES)?, || what("deltaAfter"))?;
        let g1_s = read_g1(c.take(G1_BYTES)?, || what("g1_s"))?;
        let g1_sx = read_g1(c.take(G1_BYTES)?, || what("g1_sx"))?;
        let g2_spx = read_g2(c.take(G2_BYTES)?, || what("g2_spx"))?;
        let transcript: [u8; 64] = c.take(64)?.try_into().expect("64 bytes");
        let kind = c.u32()?;
        let len = c.u32()? as usize;
        let params = read_params(c.take(len)?, i)?;
        out.push(Contribution { delta_after, g1_s, g1_sx, g2_spx, transcript, kind, params });
    }
    if c.remaining() != 0 {
        return Err(FormatError::SectionSize { kind: "zkey", id: 10, expected: (bytes.len() - c.remaining()) as u64, found: bytes.len() as u64 });
    }
    Ok((cs_hash, out))
}

fn read_params(bytes: &[u8], i: u32) -> Result<ContributionParams, FormatError> {
    let mut c = Cursor::new(bytes, "zkey contribution parameters");
    let mut p = ContributionParams::default();
    let mut last = 0;
    while c.remaining() > 0 {
        let kind = c.u8()?;
        if kind <= last {
            return Err(FormatError::Header(format!(".zkey: contribution {i}'s parameters are not sorted")));
        }
        last = kind;
        match kind {
            1 => {
                let len = c.u8()? as usize;
                let name = String::from_utf8(c.take(len)?.to_vec())
                    .map_err(|_| FormatError::Header(format!(".zkey: contribution {i}'s name is not UTF-8")))?;
                p.name = Some(name);
            }
            2 => p.iterations_exp = Some(c.u8()?),
            3 => {
                let len = c.u8()? as usize;
                p.beacon_hash = Some(c.take(len)?.to_vec());
            }
            other => return Err(FormatError::Header(format!(".zkey: contribution {i} has an unknown parameter {other}"))),
        }
    }
    Ok(p)
}

/// A contribution's parameters as section 10 stores them.
pub fn params_bytes(p: &ContributionParams) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(name) = p.name.as_deref().filter(|n| !n.is_empty()) {
        // snarkjs keeps the first 64 characters (at most 256 bytes of UTF-8: one length byte).
        let kept: String = name.chars().take(64).collect();
        let mut end = kept.len().min(255);
        while !kept.is_char_boundary(end) {
            end -= 1;
        }
        let bytes = &kept.as_bytes()[..end];
        out.push(1);
        out.push(bytes.len() as u8);
        out.extend_from_slice(bytes);
    }
    if let Some(exp) = p.iterations_exp {
        out.push(2);
        out.push(exp);
    }
    if let Some(hash) = &p.beacon_hash {
        out.push(3);
        out.push(hash.len() as u8);
        out.extend_from_slice(hash);
    }
    out
}

pub(super) fn contributions_bytes(cs_hash: &[u8; 64], contributions: &[Contribution]) -> Vec<u8> {
    let mut out = cs_hash.to_vec();
    out.extend_from_slice(&(contributions.len() as u32).to_le_bytes());
    for c in contributions {
        out.extend_from_slice(&g1_bytes(&c.delta_after));
        out.extend_from_slice(&g1_bytes(&c.g1_s));
        out.extend_from_slice(&g1_bytes(&c.g1_sx));
        out.extend_from_slice(&g2_bytes(&c.g2_spx));
        out.extend_from_slice(&c.transcript);
        out.extend_from_slice(&c.kind.to_le_bytes());
        let params = params_bytes(&c.params);
        out.extend_from_slice(&(params.len() as u32).to_le_bytes());
        out.extend_from_slice(&params);
    }
    out
}
