//! `.r1cs` (iden3 binary R1CS, version 1): the constraint system circom writes and
//! `snarkjs groth16 setup` reads.
//!
//! Sections: 1 the header (`fs u32 || prime || nWires u32 || nPubOut u32 || nPubIn u32 ||
//! nPrvIn u32 || nLabels u64 || nConstraints u32`), 2 the constraints (for each of A, B, C:
//! `nFactors u32` then `wireId u32 || value` per factor, canonical little-endian), 3 the wire
//! labels (`nWires` u64). Wire 0 is the constant 1, then the outputs and public inputs (the
//! proof's public signals), then the rest: the layout of arkworks' `(1, instance, witness)`.

use std::io::{Read, Seek};
use std::path::Path;

use ark_ff::Zero;
use crate::prover::sparse::SparseMatrices;

use super::container::{write_atomically, Cursor, Sections, Writer};
use super::encoding::{fr_bytes, modulus_bytes, read_fr, N8};
use super::FormatError;
use crate::Fr;

const MAGIC: &[u8; 4] = b"r1cs";

/// One linear combination: `(wire, coefficient)` sorted by wire, no zero coefficients.
pub type Lc = Vec<(u32, Fr)>;

/// A constraint system in circom's model: `A·w * B·w = C·w` for each constraint.
#[derive(Clone, Debug, PartialEq)]
pub struct R1cs {
    /// Wires, the constant 1 included.
    pub n_wires: u32,
    /// Public outputs (wires 1 ..).
    pub n_pub_out: u32,
    /// Public inputs (after the outputs).
    pub n_pub_in: u32,
    /// Private inputs (after the public ones).
    pub n_prv_in: u32,
    /// Labels in the symbol table.
    pub n_labels: u64,
    /// The constraints, each `[A, B, C]`.
    pub constraints: Vec<[Lc; 3]>,
    /// The label of each wire, where the file has section 3.
    pub wire_labels: Option<Vec<u64>>,
}

impl R1cs {
    /// The public signals (outputs and inputs): `w[1 ..= n_public]`.
    pub fn n_public(&self) -> usize {
        (self.n_pub_out + self.n_pub_in) as usize
    }

    /// From the matrices `[A, B, C]` over `(1, instance, witness)` (`num_instance` counts the
    /// constant 1). Coefficients of the same wire are summed, zeros dropped.
    pub fn from_matrices(matrices: &SparseMatrices) -> R1cs {
        let (num_instance, num_variables) = (matrices.num_instance, matrices.num_variables);
        let lc = |k: usize, i: usize| -> Lc {
            let mut v: Vec<(u32, Fr)> = matrices.abc[k].row(i).iter().map(|t| (t.var, matrices.coefficient(t.coeff))).collect();
            v.sort_by_key(|(w, _)| *w);
            let mut out: Lc = Vec::with_capacity(v.len());
            for (w, c) in v {
                match out.last_mut() {
                    Some((lw, lc)) if *lw == w => *lc += c,
                    _ => out.push((w, c)),
                }
            }
            out.retain(|(_, c)| !c.is_zero());
            out
        };
        let constraints = (0..matrices.num_constraints()).map(|i| [lc(0, i), lc(1, i), lc(2, i)]).collect();
        R1cs {
            n_wires: num_variables as u32,
            n_pub_out: 0,
            n_pub_in: (num_instance - 1) as u32,
            n_prv_in: 0,
            n_labels: num_variables as u64,
            constraints,
            wire_labels: Some((0..num_variables as u64).collect()),
        }
    }

    /// Whether `w` satisfies every constraint; the first that fails otherwise.
    pub fn check(&self, w: &[Fr]) -> Result<(), FormatError> {
        if w.len() != self.n_wires as usize {
            return Err(FormatError::Mismatch(format!("the witness has {} values, the circuit {} wires", w.len(), self.n_wires)));
        }
        if w[0] != Fr::from(1u64) {
            return Err(FormatError::Mismatch("the witness's wire 0 is not 1".into()));
        }
        let dot = |lc: &Lc| lc.iter().fold(Fr::zero(), |acc, (i, c)| acc + *c * w[*i as usize]);
        match self.constraints.iter().position(|[a, b, c]| dot(a) * dot(b) != dot(c)) {
            Some(i) => Err(FormatError::Mismatch(format!("the witness breaks constraint {i}"))),
            None => Ok(()),
        }
    }

    /// Read and check a `.r1cs` file.
    pub fn read_file(path: &Path) -> Result<R1cs, FormatError> {
        let mut f = std::io::BufReader::new(std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?);
        R1cs::read(&mut f)
    }

    /// Read and check a `.r1cs`: the prime is BN254's r, every wire index below `nWires`, every
    /// coefficient canonical, section 2 exactly as long as its constraints.
    pub fn read<R: Read + Seek>(r: &mut R) -> Result<R1cs, FormatError> {
        let sections = Sections::read(r, "r1cs", MAGIC, 1)?;
        let header = sections.bytes(r, 1)?;
        let mut h = Cursor::new(&header, "r1cs header");
        let fs = h.u32()?;
        if fs as usize != N8 {
            return Err(FormatError::Header(format!(".r1cs: field size {fs} bytes, BN254 has 32")));
        }
        if h.take(N8)? != modulus_bytes::<Fr>() {
            return Err(FormatError::Header(".r1cs: the prime is not BN254's scalar field".into()));
        }
        let (n_wires, n_pub_out, n_pub_in, n_prv_in) = (h.u32()?, h.u32()?, h.u32()?, h.u32()?);
        let n_labels = h.u64()?;
        let n_constraints = h.u32()?;
        if h.remaining() != 0 {
            return Err(FormatError::SectionSize { kind: "r1cs", id: 1, expected: 64, found: header.len() as u64 });
        }
        let public = u64::from(n_pub_out) + u64::from(n_pub_in) + u64::from(n_prv_in);
        if n_wires == 0 || public >= u64::from(n_wires) {
            return Err(FormatError::Header(format!(".r1cs: {n_wires} wires cannot hold the constant and {public} inputs")));
        }
        let body = sections.bytes(r, 2)?;
        let mut c = Cursor::new(&body, "r1cs constraints");
        // Each constraint takes at least 12 bytes: refuse a count the section cannot hold
        // before allocating for it.
        if u64::from(n_constraints) * 12 > body.len() as u64 {
            return Err(FormatError::Truncated(format!(".r1cs: {n_constraints} constraints announced, section 2 has {} bytes", body.len())));
        }
        let mut constraints = Vec::with_capacity(n_constraints as usize);
        for i in 0..n_constraints {
            let mut read_lc = |side: &str| -> Result<Lc, FormatError> {
                let n = c.u32()? as usize;
                if n.saturating_mul(4 + N8) > c.remaining() {
                    return Err(FormatError::Truncated(format!(".r1cs: constraint {i} {side} has {n} factors past the section's end")));
                }
                let mut lc = Vec::with_capacity(n);
                for _ in 0..n {
                    let wire = c.u32()?;
                    if wire >= n_wires {
                        return Err(FormatError::Header(format!(".r1cs: constraint {i} {side} names wire {wire}, the circuit has {n_wires}")));
                    }
                    let v = read_fr(c.take(N8)?, || format!(".r1cs: constraint {i} {side} wire {wire}"))?;
                    lc.push((wire, v));
                }
                Ok(lc)
            };
            constraints.push([read_lc("A")?, read_lc("B")?, read_lc("C")?]);
        }
        if c.remaining() != 0 {
            return Err(FormatError::SectionSize { kind: "r1cs", id: 2, expected: (body.len() - c.remaining()) as u64, found: body.len() as u64 });
        }
        let wire_labels = if sections.has(3) {
            sections.expect_size(3, 8 * u64::from(n_wires))?;
            let bytes = sections.bytes(r, 3)?;
            Some(bytes.chunks_exact(8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes"))).collect())
        } else {
            None
        };
        Ok(R1cs { n_wires, n_pub_out, n_pub_in, n_prv_in, n_labels, constraints, wire_labels })
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out).expect("writing to memory");
        out
    }

    /// Write the file: sections 1, 2 and (where known) 3.
    pub fn write<W: std::io::Write>(&self, out: W) -> std::io::Result<()> {
        let mut w = Writer::new(out, MAGIC, 1, if self.wire_labels.is_some() { 3 } else { 2 })?;
        let mut header = Vec::with_capacity(64);
        header.extend_from_slice(&(N8 as u32).to_le_bytes());
        header.extend_from_slice(&modulus_bytes::<Fr>());
        for x in [self.n_wires, self.n_pub_out, self.n_pub_in, self.n_prv_in] {
            header.extend_from_slice(&x.to_le_bytes());
        }
        header.extend_from_slice(&self.n_labels.to_le_bytes());
        header.extend_from_slice(&(self.constraints.len() as u32).to_le_bytes());
        w.section(1, &header)?;
        let size: usize = self.constraints.iter().flatten().map(|lc| 4 + lc.len() * (4 + N8)).sum();
        w.begin(2, size as u64)?;
        let mut buf = Vec::with_capacity(1 << 16);
        for lc in self.constraints.iter().flatten() {
            buf.extend_from_slice(&(lc.len() as u32).to_le_bytes());
            for (wire, v) in lc {
                buf.extend_from_slice(&wire.to_le_bytes());
                buf.extend_from_slice(&fr_bytes(v));
            }
            if buf.len() > 1 << 15 {
                w.raw(&buf)?;
                buf.clear();
            }
        }
        w.raw(&buf)?;
        if let Some(labels) = &self.wire_labels {
            let bytes: Vec<u8> = labels.iter().flat_map(|l| l.to_le_bytes()).collect();
            w.section(3, &bytes)?;
        }
        w.finish().map(|_| ())
    }

    /// Write `path` atomically.
    pub fn write_file(&self, path: &Path) -> Result<(), FormatError> {
        write_atomically(path, |w| self.write(w))
    }
}
