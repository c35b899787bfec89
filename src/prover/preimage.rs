//! The smallest useful circuit, for checking a Groth16 toolchain (keys, exports, outside
//! verifiers) on its own: knowledge of `(x1, x2)` with `H(x1, x2) = y`, `y` the public input.

use ark_r1cs_std::{alloc::AllocVar, eq::EqGadget, fields::fp::FpVar};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use zkrollup_circuits::poseidon::{constraints::poseidon_var, poseidon};

use crate::Fr;

/// Knowledge of a Poseidon preimage `(x1, x2)` of the public `y`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreimageCircuit {
    /// The secret preimage.
    pub x: [Fr; 2],
    /// The public image (not necessarily `H(x)`: tests set it wrong on purpose).
    pub y: Fr,
}

impl PreimageCircuit {
    /// The circuit for `x` and its true image.
    pub fn new(x: [Fr; 2]) -> Self {
        PreimageCircuit { x, y: poseidon(&x) }
    }
}

impl ConstraintSynthesizer<Fr> for PreimageCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let y = FpVar::new_input(cs.clone(), || Ok(self.y))?;
        let x = [FpVar::new_witness(cs.clone(), || Ok(self.x[0]))?, FpVar::new_witness(cs.clone(), || Ok(self.x[1]))?];
        poseidon_var(&x)?.enforce_equal(&y)
    }
}
