//! The R1CS matrices in a compact form, and their file.
//!
//! arkworks hands the matrices over as a `Vec` a row of `(coefficient, variable)` pairs: 40 bytes
//! a term and a heap allocation a row. A circuit has few distinct coefficients (1, -1, powers of
//! two, its hash constants), so here a term is two `u32`s, a variable and an index into one
//! table of coefficients shared by A, B and C (index 0 is 1), and rows are ranges of one array
//! (compressed sparse rows): 8 bytes a term.
//!
//! `matrices.bin`, written beside the proving key by setup, holds them so that a process that
//! proves need not synthesize the circuit once more to rebuild them. Like the proving key, it
//! is loaded unchecked behind the sha256 `circuit.json` records: read and hashed in one pass.

use std::collections::HashMap;
use std::io::{BufReader, Read};
use std::path::Path;

use ark_ff::{BigInteger, One, PrimeField, Zero};
use ark_relations::gr1cs::Matrix;

use super::keys::{sha256_hex, HashingReader, KeyError};
use crate::files::write_all_atomic;
use crate::Fr;

/// One matrix's rows: row `i`'s terms are `terms[starts[i]..starts[i + 1]]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SparseRows {
    starts: Vec<u32>,
    terms: Vec<Term>,
}

/// A term: `coefficients[coeff] * z[var]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Term {
    /// The variable (an index into the full assignment).
    pub var: u32,
    /// The coefficient's index in the shared table (0 is 1).
    pub coeff: u32,
}

/// A constraint system's `A`, `B`, `C` and their coefficients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SparseMatrices {
    /// The three matrices.
    pub abc: [SparseRows; 3],
    coefficients: Vec<Fr>,
    /// Instance variables, the constant 1 included.
    pub num_instance: usize,
    /// All variables.
    pub num_variables: usize,
}

const MAGIC: &[u8; 8] = b"ZKRMTX01";

impl SparseRows {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i`'s terms.
    pub fn row(&self, i: usize) -> &[Term] {
        &self.terms[self.starts[i] as usize..self.starts[i + 1] as usize]
    }

    /// The number of terms.
    pub fn terms(&self) -> usize {
        self.terms.len()
    }
}

impl SparseMatrices {
    /// From arkworks' matrices `[A, B, C]`.
    pub fn from_ark(matrices: &[Matrix<Fr>], num_instance: usize, num_variables: usize) -> SparseMatrices {
        let mut coefficients = vec![Fr::one()];
        let mut index: HashMap<Fr, u32> = HashMap::from([(Fr::one(), 0)]);
        let abc = std::array::from_fn(|k| {
            let m = &matrices[k];
            let mut rows = SparseRows { starts: Vec::with_capacity(m.len() + 1), terms: Vec::new() };
            rows.starts.push(0);
            for row in m {
                for (c, v) in row {
                    let coeff = *index.entry(*c).or_insert_with(|| {
                        coefficients.push(*c);
                        (coefficients.len() - 1) as u32
                    });
                    rows.terms.push(Term { var: *v as u32, coeff });
                }
                rows.starts.push(u32::try_from(rows.terms.len()).expect("fewer than 2^32 terms"));
            }
            rows
        });
        SparseMatrices { abc, coefficients, num_instance, num_variables }
    }

    /// The number of constraints.
    pub fn num_constraints(&self) -> usize {
        self.abc[0].len()
    }

    /// A coefficient by its index.
    pub fn coefficient(&self, index: u32) -> Fr {
        self.coefficients[index as usize]
    }

    /// Row `i` of matrix `k` (0: A, 1: B, 2: C) times `z`.
    pub fn dot(&self, k: usize, i: usize, z: &[Fr]) -> Fr {
        self.abc[k].row(i).iter().fold(Fr::zero(), |acc, t| {
            if t.coeff == 0 {
                acc + z[t.var as usize]
            } else {
                acc + self.coefficients[t.coeff as usize] * z[t.var as usize]
            }
        })
    }

    /// Write `matrices.bin` whole or not at all (as the proving key beside it); its sha256 (hex).
    pub fn save(&self, path: &Path) -> Result<String, KeyError> {
        let mut out = Vec::with_capacity(32 + 32 * self.coefficients.len() + self.abc.iter().map(|m| 16 + 4 * m.starts.len() + 8 * m.terms.len()).sum::<usize>());
        out.extend_from_slice(MAGIC);
        for x in [self.num_instance, self.num_variables, self.coefficients.len()] {
            out.extend_from_slice(&(x as u64).to_le_bytes());
        }
        for c in &self.coefficients {
            out.extend_from_slice(&c.into_bigint().to_bytes_le());
        }
        for m in &self.abc {
            out.extend_from_slice(&(m.starts.len() as u64).to_le_bytes());
            out.extend_from_slice(&(m.terms.len() as u64).to_le_bytes());
            for s in &m.starts {
                out.extend_from_slice(&s.to_le_bytes());
            }
            for t in &m.terms {
                out.extend_from_slice(&t.var.to_le_bytes());
                out.extend_from_slice(&t.coeff.to_le_bytes());
            }
        }
        let sha = sha256_hex(&out);
        write_all_atomic(&[(path.to_path_buf(), out)]).map_err(|source| KeyError::Io { path: path.to_path_buf(), source })?;
        Ok(sha)
    }

    /// Read `matrices.bin`, refused unless its sha256 is `sha256` (hex) and it is well formed.
    pub fn load(path: &Path, sha256: &str) -> Result<SparseMatrices, KeyError> {
        let file = std::fs::File::open(path).map_err(|source| KeyError::Io { path: path.to_path_buf(), source })?;
        let len = file.metadata().map_err(|source| KeyError::Io { path: path.to_path_buf(), source })?.len();
        let mut r = HashingReader::new(BufReader::with_capacity(1 << 20, file));
        let bad = |reason: String| KeyError::Matrices { path: path.to_path_buf(), reason };
        let parsed = read(&mut r, len).map_err(|e| bad(e.to_string()))?;
        // Anything after the last matrix is not ours.
        let mut rest = [0u8; 1];
        if r.read(&mut rest).map_err(|e| bad(e.to_string()))? != 0 {
            return Err(bad("bytes after the matrices".into()));
        }
        let found = r.finish();
        if !found.eq_ignore_ascii_case(sha256) {
            return Err(KeyError::HashMismatch { path: path.to_path_buf(), expected: sha256.to_string(), actual: found });
        }
        parsed.check().map_err(bad)?;
        Ok(parsed)
    }

    /// Every index in range and every row range in order (a file that passed its hash was
    /// written by us, but the check is cheap and turns a corrupt file into an error, not a panic).
    fn check(&self) -> Result<(), String> {
        for (k, m) in self.abc.iter().enumerate() {
            if m.starts.first() != Some(&0) || m.starts.windows(2).any(|w| w[0] > w[1]) || *m.starts.last().unwrap() as usize != m.terms.len() {
                return Err(format!("matrix {k}: row ranges out of order"));
            }
            if m.len() != self.abc[0].len() {
                return Err(format!("matrix {k}: {} rows, A has {}", m.len(), self.abc[0].len()));
            }
            if m.terms.iter().any(|t| t.var as usize >= self.num_variables || t.coeff as usize >= self.coefficients.len()) {
                return Err(format!("matrix {k}: a variable or coefficient out of range"));
            }
        }
        if self.num_instance == 0 || self.num_instance > self.num_variables || self.coefficients.first() != Some(&Fr::one()) {
            return Err("bad header".into());
        }
        Ok(())
    }
}

/// Parse a file of `len` bytes (counts beyond what it could hold are refused before anything is
/// allocated for them).
fn read(r: &mut impl Read, len: u64) -> std::io::Result<SparseMatrices> {
    let invalid = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string());
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(invalid("not a zkrollup matrices file"));
    }
    let (num_instance, num_variables, ncoeff) = (read_u64(r)?, read_u64(r)?, read_u64(r)?);
    // Sizes bound what is allocated before the hash is known: no more than the file could hold.
    if ncoeff.saturating_mul(32) > len || num_variables > u32::MAX as u64 {
        return Err(invalid("sizes out of range"));
    }
    let mut coefficients = Vec::with_capacity(ncoeff as usize);
    let mut b = [0u8; 32];
    for _ in 0..ncoeff {
        r.read_exact(&mut b)?;
        let limbs = std::array::from_fn(|i| u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap()));
        coefficients.push(Fr::from_bigint(ark_ff::BigInt::new(limbs)).ok_or_else(|| invalid("a coefficient out of range"))?);
    }
    let mut abc: [SparseRows; 3] = Default::default();
    for m in &mut abc {
        let (nstarts, nterms) = (read_u64(r)?, read_u64(r)?);
        if nstarts.saturating_mul(4) > len || nterms.saturating_mul(8) > len {
            return Err(invalid("sizes out of range"));
        }
        m.starts = read_u32s(r, nstarts as usize)?;
        let flat = read_u32s(r, 2 * nterms as usize)?;
        m.terms = flat.chunks_exact(2).map(|p| Term { var: p[0], coeff: p[1] }).collect();
    }
    Ok(SparseMatrices { abc, coefficients, num_instance: num_instance as usize, num_variables: num_variables as usize })
}

fn read_u64(r: &mut impl Read) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// `n` little-endian u32s, read a megabyte at a time.
fn read_u32s(r: &mut impl Read, n: usize) -> std::io::Result<Vec<u32>> {
    let mut out = Vec::with_capacity(n);
    let mut buf = vec![0u8; 1 << 20];
    let mut left = n * 4;
    while left > 0 {
        let take = left.min(buf.len());
        r.read_exact(&mut buf[..take])?;
        out.extend(buf[..take].chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())));
        left -= take;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Vec<Matrix<Fr>>, usize, usize) {
        let a = vec![vec![(Fr::one(), 0), (Fr::from(5u64), 3)], vec![], vec![(-Fr::one(), 2)]];
        let b = vec![vec![(Fr::from(5u64), 1)], vec![(Fr::one(), 4)], vec![]];
        let c = vec![vec![(Fr::from(7u64), 2), (-Fr::one(), 4)], vec![(Fr::one(), 1)], vec![(Fr::one(), 3)]];
        (vec![a, b, c], 2, 5)
    }

    #[test]
    fn rows_keep_every_term_and_share_coefficients() {
        let (m, inst, vars) = sample();
        let s = SparseMatrices::from_ark(&m, inst, vars);
        assert_eq!(s.coefficients.len(), 4, "1, 5, -1, 7");
        let z: Vec<Fr> = (1..=5u64).map(Fr::from).collect();
        for (k, matrix) in m.iter().enumerate() {
            for (i, row) in matrix.iter().enumerate() {
                let want = row.iter().map(|(c, v)| *c * z[*v]).sum::<Fr>();
                assert_eq!(s.dot(k, i, &z), want, "matrix {k} row {i}");
                let back: Vec<(Fr, usize)> = s.abc[k].row(i).iter().map(|t| (s.coefficient(t.coeff), t.var as usize)).collect();
                assert_eq!(&back, row);
            }
        }
    }

    #[test]
    fn the_file_round_trips_behind_its_hash_and_refuses_any_change() {
        let (m, inst, vars) = sample();
        let s = SparseMatrices::from_ark(&m, inst, vars);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("matrices.bin");
        let sha = s.save(&path).unwrap();
        assert_eq!(SparseMatrices::load(&path, &sha).unwrap(), s);
        assert!(matches!(SparseMatrices::load(&path, &"0".repeat(64)), Err(KeyError::HashMismatch { .. })));
        // Any byte changed, or the file cut or grown, is refused, never a panic.
        let bytes = std::fs::read(&path).unwrap();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x40;
            std::fs::write(&path, &b).unwrap();
            assert!(SparseMatrices::load(&path, &sha).is_err(), "byte {i} changed");
        }
        for b in [&bytes[..bytes.len() - 1], &[bytes.as_slice(), &[0]].concat()[..]] {
            std::fs::write(&path, b).unwrap();
            assert!(SparseMatrices::load(&path, &sha).is_err());
        }
    }
}
