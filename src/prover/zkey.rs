//! Proving from a snarkjs `.zkey` and a `.wtns`, for any circom circuit (as rapidsnark does):
//! the key's A and B coefficients give the rows, snarkjs's QAP (odd points of the 2n domain)
//! gives the H scalars, and the five MSMs are ours ([`super::fast`]). Every proof is verified
//! against the key before it is returned: the key has no C matrix, so a witness that breaks
//! the circuit shows up as a proof that does not verify.

use std::path::Path;

use ark_ff::{UniformRand, Zero};
use rayon::prelude::*;

use super::fast::{proof_from_rows, Rows};
use super::qap::Domain;
use super::{verify, Proof, ProverError, ProvingKey};
use crate::grouped::Grouped;
use crate::iden3::encoding::Check;
use crate::iden3::zkey::{expect_pinned, read_streamed, Matrix, Zkey};
use crate::Fr;

/// One matrix's rows: each row's `(coefficient, signal)` terms.
type SparseRows = Grouped<(Fr, u32)>;

/// One matrix's coefficients as they come: each one's row, and its term.
#[derive(Default)]
struct RowList {
    rows: Vec<u32>,
    terms: Vec<(Fr, u32)>,
}

impl RowList {
    /// The terms grouped by row, for a domain of `n` rows (the rows were checked below `n`).
    fn group(self, n: usize) -> SparseRows {
        Grouped::in_place(n, self.rows, self.terms)
    }
}

/// Each row times the witness.
fn times(rows: &SparseRows, witness: &[Fr]) -> Vec<Fr> {
    (0..rows.keys())
        .into_par_iter()
        .with_min_len(1024)
        .map(|i| rows.group(i).iter().fold(Fr::zero(), |acc, (c, s)| acc + *c * witness[*s as usize]))
        .collect()
}

/// A prover for one `.zkey`: its key in arkworks' form and its rows, built once.
pub struct ZkeyProver {
    pk: ProvingKey,
    rows_a: SparseRows,
    rows_b: SparseRows,
    domain: Domain,
    n_vars: usize,
    n_public: usize,
}

impl ZkeyProver {
    /// Take a copy of the key and group its coefficients by row.
    pub fn new(zkey: &Zkey) -> Result<ZkeyProver, ProverError> {
        ZkeyProver::from_zkey(zkey.clone())
    }

    /// Read a `.zkey` once, front to back ([`read_streamed`]), its points into the key and its
    /// coefficients straight into each matrix's rows: neither the file's bytes nor a list of
    /// its coefficients is ever whole in memory. With `pinned` (a sha256), the points go unchecked and the key is refused
    /// unless the bytes read have that hash; without, every point is checked. Returns the file's
    /// sha256 beside the prover.
    pub fn read_file(path: &Path, pinned: Option<&str>) -> Result<(ZkeyProver, String), ProverError> {
        let check = if pinned.is_some() { Check::PinnedByHash } else { Check::Full };
        // Each matrix's rows apart: writers list a matrix's coefficients by row (interleaving
        // the two matrices), so each list is grouped in place with no item moved.
        let (mut a, mut b) = (RowList::default(), RowList::default());
        let (zkey, sha256) = read_streamed(path, check, |_, _, chunk| {
            for c in chunk {
                let list = if c.matrix == Matrix::A { &mut a } else { &mut b };
                list.rows.push(c.constraint);
                list.terms.push((c.value, c.signal));
            }
        })?;
        if let Some(hash) = pinned {
            expect_pinned(path, &sha256, hash)?;
        }
        Ok((ZkeyProver::assemble(zkey, a, b)?, sha256))
    }

    /// The prover of a key whose coefficients are `a`'s and `b`'s.
    fn assemble(zkey: Zkey, a: RowList, b: RowList) -> Result<ZkeyProver, ProverError> {
        let n = zkey.header.domain_size as usize;
        let domain = Domain::new(n).filter(|d| d.size() == n).ok_or(ProverError::Zkey(format!("no evaluation domain of {n} points")))?;
        let (rows_a, rows_b) = rayon::join(|| a.group(n), || b.group(n));
        let (n_vars, n_public) = (zkey.header.n_vars as usize, zkey.header.n_public as usize);
        Ok(ZkeyProver { pk: zkey.into_proving_key(), rows_a, rows_b, domain, n_vars, n_public })
    }

    /// Take the key (its points move, not copied) and group its coefficients by row.
    pub fn from_zkey(mut zkey: Zkey) -> Result<ZkeyProver, ProverError> {
        let coefficients = std::mem::take(&mut zkey.coefficients);
        let list = |matrix: Matrix| {
            let of = || coefficients.iter().filter(move |c| c.matrix == matrix);
            RowList { rows: of().map(|c| c.constraint).collect(), terms: of().map(|c| (c.value, c.signal)).collect() }
        };
        let (a, b) = (list(Matrix::A), list(Matrix::B));
        drop(coefficients);
        ZkeyProver::assemble(zkey, a, b)
    }

    /// The key in arkworks' form.
    pub fn proving_key(&self) -> &ProvingKey {
        &self.pk
    }

    /// The public signals of a witness: `w[1 ..= nPublic]` (snarkjs's `public.json`).
    pub fn public_inputs<'a>(&self, witness: &'a [Fr]) -> &'a [Fr] {
        &witness[1..=self.n_public.min(witness.len().saturating_sub(1))]
    }

    /// The number of public signals (the constant 1 not counted).
    pub fn num_public(&self) -> usize {
        self.n_public
    }

    /// The row evaluations `A w` and `B w` on the domain.
    pub fn rows(&self, witness: &[Fr]) -> (Vec<Fr>, Vec<Fr>) {
        rayon::join(|| times(&self.rows_a, witness), || times(&self.rows_b, witness))
    }

    /// Prove with fresh randomness from the operating system, and verify the proof.
    pub fn prove(&self, witness: &[Fr]) -> Result<Proof, ProverError> {
        let (r, s) = (Fr::rand(&mut rand::rngs::OsRng), Fr::rand(&mut rand::rngs::OsRng));
        let proof = self.prove_with(witness, r, s)?;
        if !verify(&self.pk.vk, self.public_inputs(witness), &proof)? {
            return Err(ProverError::Unsatisfied("(the proof from this witness does not verify: it breaks the circuit)".into()));
        }
        Ok(proof)
    }

    /// Prove with the given randomness `r`, `s`, unverified.
    pub fn prove_with(&self, witness: &[Fr], r: Fr, s: Fr) -> Result<Proof, ProverError> {
        if witness.len() != self.n_vars {
            return Err(ProverError::KeyMismatch { key_variables: self.n_vars, circuit_variables: witness.len() });
        }
        if witness[0] != Fr::from(1u64) {
            return Err(ProverError::Zkey("the witness's signal 0 (the constant) is not 1".into()));
        }
        let (a, b) = self.rows(witness);
        let rows = Rows { a, b, c: None };
        Ok(proof_from_rows(&self.pk, &self.domain, rows, witness, self.n_public + 1, r, s))
    }
}
