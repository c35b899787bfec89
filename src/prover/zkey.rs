//! Proving from a snarkjs `.zkey` and a `.wtns`, for any circom circuit (as rapidsnark does):
//! the key's A and B coefficients give the rows, snarkjs's QAP (odd points of the 2n domain)
//! gives the H scalars, and the five MSMs are ours ([`super::fast`]). Every proof is verified
//! against the key before it is returned: the key has no C matrix, so a witness that breaks
//! the circuit shows up as a proof that does not verify.

use ark_ff::{UniformRand, Zero};
use rayon::prelude::*;

use super::fast::{proof_from_rows, Rows};
use super::qap::Domain;
use super::{verify, Proof, ProverError, ProvingKey};
use crate::iden3::zkey::{Matrix, Zkey};
use crate::Fr;

/// A prover for one `.zkey`: its key in arkworks' form and its rows, built once.
pub struct ZkeyProver {
    pk: ProvingKey,
    rows_a: Vec<Vec<(Fr, u32)>>,
    rows_b: Vec<Vec<(Fr, u32)>>,
    domain: Domain,
    n_vars: usize,
    n_public: usize,
}

impl ZkeyProver {
    /// Take the key and group its coefficients by row.
    pub fn new(zkey: &Zkey) -> Result<ZkeyProver, ProverError> {
        let n = zkey.header.domain_size as usize;
        let domain = Domain::new(n).filter(|d| d.size() == n).ok_or(ProverError::Zkey(format!("no evaluation domain of {n} points")))?;
        let mut rows_a = vec![Vec::new(); n];
        let mut rows_b = vec![Vec::new(); n];
        for c in &zkey.coefficients {
            let rows = if c.matrix == Matrix::A { &mut rows_a } else { &mut rows_b };
            rows[c.constraint as usize].push((c.value, c.signal));
        }
        Ok(ZkeyProver {
            pk: zkey.proving_key(),
            rows_a,
            rows_b,
            domain,
            n_vars: zkey.header.n_vars as usize,
            n_public: zkey.header.n_public as usize,
        })
    }

    /// The key in arkworks' form.
    pub fn proving_key(&self) -> &ProvingKey {
        &self.pk
    }

    /// The public signals of a witness: `w[1 ..= nPublic]` (snarkjs's `public.json`).
    pub fn public_inputs<'a>(&self, witness: &'a [Fr]) -> &'a [Fr] {
        &witness[1..=self.n_public.min(witness.len().saturating_sub(1))]
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
        let dot = |row: &[(Fr, u32)]| row.iter().fold(Fr::zero(), |acc, (c, i)| acc + *c * witness[*i as usize]);
        let (a, b) = rayon::join(
            || self.rows_a.par_iter().with_min_len(1024).map(|row| dot(row)).collect::<Vec<_>>(),
            || self.rows_b.par_iter().with_min_len(1024).map(|row| dot(row)).collect::<Vec<_>>(),
        );
        let rows = Rows { a, b, c: None };
        Ok(proof_from_rows(&self.pk, &self.domain, rows, witness, self.n_public + 1, r, s))
    }
}
