//! Groth16 on BN254 (ark-groth16, multithreaded with rayon): setup, prove, verify, for any
//! circuit; key files in [`keys`], snarkjs's JSON in [`snarkjs`].

mod arith;
pub mod bundle;
pub mod compare;
pub mod fast;
pub mod keys;
pub mod msm;
pub mod qap;
mod preimage;
pub mod repeats;
pub mod snarkjs;
pub mod sparse;
pub mod zkey;

pub use preimage::PreimageCircuit;

use ark_bn254::Bn254;
use ark_groth16::{prepare_verifying_key, Groth16};
use ark_ff::UniformRand;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, OptimizationGoal, SynthesisError,
    SynthesisMode, R1CS_PREDICATE_LABEL,
};
use ark_std::rand::{CryptoRng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use thiserror::Error;

use crate::Fr;

/// A Groth16 proving key over BN254.
pub type ProvingKey = ark_groth16::ProvingKey<Bn254>;
/// A Groth16 verifying key over BN254.
pub type VerifyingKey = ark_groth16::VerifyingKey<Bn254>;
/// A Groth16 proof over BN254.
pub type Proof = ark_groth16::Proof<Bn254>;

/// Why setup, proving, verification or key handling failed.
#[derive(Debug, Error)]
pub enum ProverError {
    /// The circuit could not be synthesized.
    #[error("circuit synthesis failed: {0}")]
    Synthesis(#[from] SynthesisError),
    /// The witness breaks a constraint (named where the circuit names it).
    #[error("the witness does not satisfy the circuit: constraint {0} fails")]
    Unsatisfied(String),
    /// Verification was given the wrong number of public inputs.
    #[error("the key takes {expected} public inputs, {got} given")]
    PublicInputCount {
        /// What the key takes.
        expected: usize,
        /// What was given.
        got: usize,
    },
    /// The proving key is for another circuit shape.
    #[error("the proving key has {key_variables} variables, the circuit {circuit_variables}: keys for another circuit")]
    KeyMismatch {
        /// Variables in the key's queries.
        key_variables: usize,
        /// Variables in the circuit.
        circuit_variables: usize,
    },
    /// A key or proof file problem.
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    /// A snarkjs JSON problem.
    #[error(transparent)]
    Json(#[from] snarkjs::JsonError),
    /// A `.zkey` that cannot be proved with.
    #[error("zkey: {0}")]
    Zkey(String),
    /// A `.zkey` that could not be read: malformed, a point off the curve or G2, another hash
    /// than the one pinned.
    #[error(transparent)]
    Format(#[from] crate::iden3::FormatError),
}

/// The fixed, public seed of the INSECURE development keys: `zkrollup demo`'s, and those of the
/// default parameters committed under `keys/dev-m3-n3-d16/`.
pub const INSECURE_DEV_SEED: u64 = 2026;

/// Groth16 setup from the operating system's randomness: the production path.
pub fn setup<C: ConstraintSynthesizer<Fr>>(circuit: C) -> Result<(ProvingKey, VerifyingKey), ProverError> {
    setup_with_rng(circuit, &mut rand::rngs::OsRng)
}

/// INSECURE: a deterministic setup from a public seed, for development and tests only. Anyone who
/// knows the seed knows the toxic waste and can forge proofs for these keys.
pub fn setup_insecure_dev<C: ConstraintSynthesizer<Fr>>(
    circuit: C,
    seed: u64,
) -> Result<(ProvingKey, VerifyingKey), ProverError> {
    setup_with_rng(circuit, &mut ChaCha20Rng::seed_from_u64(seed))
}

fn setup_with_rng<C: ConstraintSynthesizer<Fr>, R: RngCore + CryptoRng>(
    circuit: C,
    rng: &mut R,
) -> Result<(ProvingKey, VerifyingKey), ProverError> {
    let pk = Groth16::<Bn254>::generate_random_parameters_with_reduction(circuit, rng)?;
    let vk = pk.vk.clone();
    Ok((pk, vk))
}

/// Synthesize `circuit` with its witness and report the first unsatisfied constraint, if any.
pub fn check_satisfied<C: ConstraintSynthesizer<Fr>>(circuit: C) -> Result<(), ProverError> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.generate_constraints(cs.clone())?;
    match cs.which_is_unsatisfied()? {
        None => Ok(()),
        Some(name) => Err(ProverError::Unsatisfied(name)),
    }
}

/// Prove with fresh randomness from the operating system. The circuit is synthesized once; a
/// witness that breaks a constraint is reported by name before any expensive work.
pub fn prove<C: ConstraintSynthesizer<Fr>>(pk: &ProvingKey, circuit: C) -> Result<Proof, ProverError> {
    let cs = synthesize(circuit)?;
    let (matrices, z) = export(&cs)?;
    fast::check_key(pk, z.len(), cs.num_instance_variables())?;
    let domain = domain_of(&cs)?;
    let Ok((a, b)) = qap::evaluate_rows(&matrices, &z, domain.size()) else {
        // Naming the constraint is slow in arkworks (seconds), so it runs only on failure.
        let name = cs.which_is_unsatisfied()?.unwrap_or_else(|| "(unnamed)".into());
        return Err(ProverError::Unsatisfied(name));
    };
    Ok(proof_of(pk, &cs, &domain, fast::Rows { a, b, c: None }, &z))
}

/// The name of the first unsatisfied constraint (a full synthesis with names: slow, for
/// failures only).
fn name_unsatisfied<C: ConstraintSynthesizer<Fr>>(circuit: C) -> Result<String, ProverError> {
    let cs = synthesize(circuit)?;
    Ok(cs.which_is_unsatisfied()?.unwrap_or_else(|| "(unnamed)".into()))
}

/// Prove without checking the witness first. For soundness tests only: they show that a
/// witness breaking a constraint gives a proof that does not verify.
pub fn prove_unchecked<C: ConstraintSynthesizer<Fr>>(pk: &ProvingKey, circuit: C) -> Result<Proof, ProverError> {
    let cs = synthesize(circuit)?;
    let (matrices, z) = export(&cs)?;
    fast::check_key(pk, z.len(), cs.num_instance_variables())?;
    let domain = domain_of(&cs)?;
    let [a, b, c] = qap::evaluate_rows_unchecked(&matrices, &z, domain.size());
    Ok(proof_of(pk, &cs, &domain, fast::Rows { a, b, c: Some(c) }, &z))
}

fn synthesize<C: ConstraintSynthesizer<Fr>>(circuit: C) -> Result<ConstraintSystemRef<Fr>, ProverError> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    // The same shape as ark-groth16's setup, so the matrices match the key.
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove { construct_matrices: true, generate_lc_assignments: false });
    circuit.generate_constraints(cs.clone())?;
    cs.finalize();
    Ok(cs)
}

/// The R1CS matrices `[A, B, C]` and the full assignment `z = (1, inputs, witness)`.
fn export(cs: &ConstraintSystemRef<Fr>) -> Result<(sparse::SparseMatrices, Vec<Fr>), ProverError> {
    let mut matrices = cs.to_matrices()?;
    let r1cs = matrices.remove(R1CS_PREDICATE_LABEL).ok_or(SynthesisError::PredicateNotFound)?;
    let mut assignment = cs.instance_assignment()?;
    assignment.extend(cs.witness_assignment()?);
    Ok((sparse::SparseMatrices::from_ark(&r1cs, cs.num_instance_variables(), assignment.len()), assignment))
}

/// The QAP domain of a synthesized system, as ark-groth16 sizes it.
fn domain_of(cs: &ConstraintSystemRef<Fr>) -> Result<qap::Domain, ProverError> {
    Ok(qap::Domain::new(cs.num_constraints() + cs.num_instance_variables()).ok_or(SynthesisError::PolynomialDegreeTooLarge)?)
}

fn proof_of(pk: &ProvingKey, cs: &ConstraintSystemRef<Fr>, domain: &qap::Domain, rows: fast::Rows, z: &[Fr]) -> Proof {
    let (r, s) = (Fr::rand(&mut rand::rngs::OsRng), Fr::rand(&mut rand::rngs::OsRng));
    fast::proof_from_rows(pk, domain, rows, z, cs.num_instance_variables(), r, s)
}

/// Verify `proof` for `public_inputs`.
pub fn verify(vk: &VerifyingKey, public_inputs: &[Fr], proof: &Proof) -> Result<bool, ProverError> {
    let expected = vk.gamma_abc_g1.len() - 1;
    if public_inputs.len() != expected {
        return Err(ProverError::PublicInputCount { expected, got: public_inputs.len() });
    }
    Ok(Groth16::<Bn254>::verify_proof(&prepare_verifying_key(vk), proof, public_inputs)?)
}

#[cfg(test)]
mod tests {
    use super::PreimageCircuit as Preimage;

    fn valid() -> Preimage {
        Preimage::new([Fr::from(1u64), Fr::from(2u64)])
    }
    use super::*;
    use ark_serialize::CanonicalSerialize;

    fn vk_bytes(vk: &VerifyingKey) -> Vec<u8> {
        let mut out = Vec::new();
        vk.serialize_compressed(&mut out).unwrap();
        out
    }

    #[test]
    fn prove_and_verify_and_a_changed_input_fails() {
        let (pk, vk) = setup_insecure_dev(valid(), 1).unwrap();
        let c = valid();
        let proof = prove(&pk, c).unwrap();
        assert!(verify(&vk, &[c.y], &proof).unwrap());
        assert!(!verify(&vk, &[c.y + Fr::from(1u64)], &proof).unwrap());
        assert!(matches!(verify(&vk, &[], &proof), Err(ProverError::PublicInputCount { expected: 1, got: 0 })));
    }

    #[test]
    fn a_wrong_witness_is_reported_and_its_proof_does_not_verify() {
        let (pk, vk) = setup_insecure_dev(valid(), 1).unwrap();
        let bad = Preimage { x: [Fr::from(1u64), Fr::from(3u64)], ..valid() };
        assert!(matches!(check_satisfied(bad), Err(ProverError::Unsatisfied(_))));
        assert!(matches!(prove(&pk, bad), Err(ProverError::Unsatisfied(_))));
        let proof = prove_unchecked(&pk, bad).unwrap();
        assert!(!verify(&vk, &[bad.y], &proof).unwrap());
    }

    #[test]
    fn dev_setup_is_deterministic_and_real_setup_is_not() {
        let a = setup_insecure_dev(valid(), 7).unwrap().1;
        let b = setup_insecure_dev(valid(), 7).unwrap().1;
        let c = setup_insecure_dev(valid(), 8).unwrap().1;
        assert_eq!(vk_bytes(&a), vk_bytes(&b));
        assert_ne!(vk_bytes(&a), vk_bytes(&c));
        assert_ne!(vk_bytes(&setup(valid()).unwrap().1), vk_bytes(&setup(valid()).unwrap().1));
    }
}
