//! The fast proving path: standard Groth16 proofs for ark-groth16's keys, made with less work.
//!
//! - The R1CS matrices are built once ([`FastProver::new`]), or read from the key folder's
//!   `matrices.bin` ([`super::bundle::load_prover`]), and reused: each proof only computes the
//!   witness assignment (arkworks' synthesis without matrix construction).
//! - The five MSMs use [`super::msm`] (signed digits, batch-affine buckets, scalars grouped by
//!   bit length, zero scalars and identity bases dropped) and run together under rayon, with the
//!   QAP's FFTs alongside the MSMs that do not need `h`.
//!
//! The output is the proof ark-groth16 would make with the same `r` and `s` (tested), so it
//! verifies wherever ark-groth16's does: ark-groth16, snarkjs, the generated Solidity verifier.

use ark_bn254::{G1Projective, G2Projective};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{PrimeField, UniformRand, Zero};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisError, SynthesisMode, R1CS_PREDICATE_LABEL,
};
use rayon::prelude::*;

use super::msm::msm;
use super::qap::{self, Domain};
use super::repeats::{msm_with_repeats, Repeats};
use super::sparse::SparseMatrices;
use super::{Proof, ProverError, ProvingKey};
use crate::Fr;

/// A prover for one circuit shape: its R1CS matrices, built once (or read from their file).
pub struct FastProver {
    matrices: SparseMatrices,
    domain: Domain,
    num_instance: usize,
    num_constraints: usize,
    num_variables: usize,
}

impl FastProver {
    /// Build the matrices from the circuit's shape (a blank instance will do), exactly as
    /// ark-groth16's setup does.
    pub fn new<C: ConstraintSynthesizer<Fr>>(blank: C) -> Result<FastProver, ProverError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        blank.generate_constraints(cs.clone())?;
        cs.finalize();
        let mut all = cs.to_matrices()?;
        let matrices = all.remove(R1CS_PREDICATE_LABEL).ok_or(SynthesisError::PredicateNotFound)?;
        drop(all);
        let num_variables = cs.num_instance_variables() + cs.num_witness_variables();
        Self::from_matrices(SparseMatrices::from_ark(&matrices, cs.num_instance_variables(), num_variables))
    }

    /// A prover for these matrices (read from `matrices.bin`, say).
    pub fn from_matrices(matrices: SparseMatrices) -> Result<FastProver, ProverError> {
        let (num_instance, num_constraints, num_variables) = (matrices.num_instance, matrices.num_constraints(), matrices.num_variables);
        let domain = Domain::new(num_constraints + num_instance).ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        Ok(FastProver { matrices, domain, num_instance, num_constraints, num_variables })
    }

    /// The matrices (to write them to a file).
    pub fn matrices(&self) -> &SparseMatrices {
        &self.matrices
    }

    /// The number of constraints.
    pub fn num_constraints(&self) -> usize {
        self.num_constraints
    }

    /// The constraint system as an iden3 `.r1cs` (wires in arkworks' order: the constant 1,
    /// the public inputs, then the witness).
    pub fn r1cs(&self) -> crate::iden3::r1cs::R1cs {
        crate::iden3::r1cs::R1cs::from_matrices(&self.matrices)
    }

    /// Prove with fresh randomness from the operating system. A witness that breaks a constraint
    /// is refused, named as [`super::prove`] names it.
    pub fn prove<C: ConstraintSynthesizer<Fr> + Clone>(&self, pk: &ProvingKey, circuit: C) -> Result<Proof, ProverError> {
        let (r, s) = (Fr::rand(&mut rand::rngs::OsRng), Fr::rand(&mut rand::rngs::OsRng));
        self.prove_with(pk, circuit, r, s)
    }

    /// Prove with the given zero-knowledge randomness `r`, `s` (tests compare with ark-groth16).
    pub fn prove_with<C: ConstraintSynthesizer<Fr> + Clone>(
        &self,
        pk: &ProvingKey,
        circuit: C,
        r: Fr,
        s: Fr,
    ) -> Result<Proof, ProverError> {
        check_key(pk, self.num_variables, self.num_instance)?;
        let z = self.assignment(circuit.clone())?;
        let Ok((a, b)) = qap::evaluate_rows(&self.matrices, &z, self.domain.size()) else {
            return Err(ProverError::Unsatisfied(super::name_unsatisfied(circuit)?));
        };
        let rows = Rows { a, b, c: None };
        Ok(proof_from_rows(pk, &self.domain, rows, &z, self.num_instance, r, s))
    }

    /// The full assignment `(1, inputs, witness)`, from synthesis without matrices: the
    /// `.wtns` of a circuit whose `.r1cs` is [`FastProver::r1cs`].
    pub fn assignment<C: ConstraintSynthesizer<Fr>>(&self, circuit: C) -> Result<Vec<Fr>, ProverError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Prove { construct_matrices: false, generate_lc_assignments: false });
        circuit.generate_constraints(cs.clone())?;
        let mut z = cs.instance_assignment()?;
        z.extend(cs.witness_assignment()?);
        if z.len() != self.num_variables || cs.num_instance_variables() != self.num_instance {
            return Err(ProverError::KeyMismatch { key_variables: self.num_variables, circuit_variables: z.len() });
        }
        Ok(z)
    }
}

/// Refuse a proving key made for another circuit shape (its queries would be cut short by the
/// MSMs and give a proof that does not verify).
pub(super) fn check_key(pk: &ProvingKey, num_variables: usize, num_instance: usize) -> Result<(), ProverError> {
    if pk.a_query.len() != num_variables || pk.vk.gamma_abc_g1.len() != num_instance {
        return Err(ProverError::KeyMismatch { key_variables: pk.a_query.len(), circuit_variables: num_variables });
    }
    Ok(())
}

/// The rows `A z`, `B z` (and `C z` where the system may be unsatisfied; otherwise `A z * B z`
/// is used), padded to the domain's size.
pub(super) struct Rows {
    pub a: Vec<Fr>,
    pub b: Vec<Fr>,
    pub c: Option<Vec<Fr>>,
}

/// The two forms of Groth16's H query, told apart by their length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HQuery {
    /// ark-groth16's (libsnark's): `tau^i Z(tau) / delta` for `i < n - 1`, taking the
    /// quotient's coefficients.
    Libsnark,
    /// snarkjs's: `L^{2n}_{2i+1}(tau) / delta` for `i < n`, taking `A B - C` at the odd points
    /// of the 2n domain ([`super::qap::Domain::odd_point_scalars`]). Keys from a ceremony.
    OddPoints,
}

impl HQuery {
    /// The form of `pk`'s H query on a domain of `n` points.
    pub fn of(pk: &ProvingKey, n: usize) -> HQuery {
        if pk.h_query.len() == n {
            HQuery::OddPoints
        } else {
            HQuery::Libsnark
        }
    }
}

/// The Groth16 proof for the full assignment `z` (its rows evaluated) with randomness `r`, `s`.
pub(super) fn proof_from_rows(pk: &ProvingKey, domain: &Domain, rows: Rows, z: &[Fr], num_instance: usize, r: Fr, s: Fr) -> Proof {
    let bigints = |v: &[Fr]| v.par_iter().map(|x| x.into_bigint()).collect::<Vec<_>>();
    let zb = bigints(z);
    // The QAP (FFTs) and the H MSM on one side, the MSMs over the assignment on the other.
    let (h_acc, (a_acc, (b1_acc, (b2_acc, l_acc)))) = rayon::join(
        || {
            let h = match (HQuery::of(pk, domain.size()), rows.c) {
                (HQuery::OddPoints, _) => domain.odd_point_scalars(rows.a, rows.b),
                (HQuery::Libsnark, None) => domain.quotient(rows.a, rows.b),
                (HQuery::Libsnark, Some(c)) => domain.quotient_with(rows.a, rows.b, c),
            };
            msm(&pk.h_query, &bigints(&h))
        },
        || {
            // The assignment's repeated values, found once for the four MSMs over it.
            let repeats = Repeats::find(&zb);
            let zd = repeats.without(&zb);
            let (zd, repeats) = (&zd, &repeats);
            rayon::join(
                || msm_with_repeats(&pk.a_query, zd, repeats, 0),
                || {
                    rayon::join(
                        || if r.is_zero() { G1Projective::zero() } else { msm_with_repeats(&pk.b_g1_query, zd, repeats, 0) },
                        || {
                            rayon::join(
                                || msm_with_repeats::<ark_bn254::g2::Config>(&pk.b_g2_query, zd, repeats, 0),
                                || msm_with_repeats(&pk.l_query, zd, repeats, num_instance),
                            )
                        },
                    )
                },
            )
        },
    );
    // As ark-groth16's create_proof_with_assignment, with query[0] (the constant 1) inside
    // the MSMs: z[0] = 1.
    let delta_g1 = pk.delta_g1.into_group();
    let g_a = a_acc + pk.vk.alpha_g1 + delta_g1 * r;
    let g1_b = if r.is_zero() { G1Projective::zero() } else { b1_acc + pk.beta_g1 + delta_g1 * s };
    let g2_b: G2Projective = b2_acc + pk.vk.beta_g2 + pk.vk.delta_g2 * s;
    let g_c = g_a * s + g1_b * r - delta_g1 * (r * s) + l_acc + h_acc;
    Proof { a: g_a.into_affine(), b: g2_b.into_affine(), c: g_c.into_affine() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prover::{setup_insecure_dev, verify, PreimageCircuit};
    use ark_groth16::Groth16;

    #[test]
    fn the_same_r_and_s_give_ark_groth16s_proof() {
        let c = PreimageCircuit::new([Fr::from(3u64), Fr::from(4u64)]);
        let (pk, vk) = setup_insecure_dev(c, 9).unwrap();
        let fast = FastProver::new(c).unwrap();
        for (r, s) in [(Fr::from(5u64), Fr::from(7u64)), (Fr::from(0u64), Fr::from(0u64)), (-Fr::from(1u64), Fr::from(2u64))] {
            let ours = fast.prove_with(&pk, c, r, s).unwrap();
            let stock = Groth16::<ark_bn254::Bn254>::create_proof_with_reduction(c, &pk, r, s).unwrap();
            assert_eq!(ours, stock);
            assert!(verify(&vk, &[c.y], &ours).unwrap());
        }
    }

    #[test]
    fn a_wrong_witness_is_refused_by_name_and_a_wrong_key_is_refused() {
        let good = PreimageCircuit::new([Fr::from(3u64), Fr::from(4u64)]);
        let (pk, _) = setup_insecure_dev(good, 9).unwrap();
        let fast = FastProver::new(good).unwrap();
        let bad = PreimageCircuit { x: [Fr::from(3u64), Fr::from(5u64)], ..good };
        assert!(matches!(fast.prove(&pk, bad), Err(ProverError::Unsatisfied(_))));
        let mut other = pk.clone();
        other.a_query.pop();
        assert!(matches!(fast.prove(&other, good), Err(ProverError::KeyMismatch { .. })));
    }
}
