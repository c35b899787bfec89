//! The Poseidon gadget, twin of [`super::Poseidon::hash`]: the same sparse rounds over `FpVar`s.
//!
//! Only S-boxes cost constraints (3 each: `x^2`, `x^4`, `x^5`); the linear layers are linear
//! combinations. The first S-box of lane 0 acts on a constant and is free, which gives circom's
//! counts: 240 for 2 inputs, 297 for 4, 321 for 5.

// Round code indexes lanes as the formulas do.
#![allow(clippy::needless_range_loop)]

use ark_r1cs_std::fields::{fp::FpVar, FieldVar};
use ark_relations::gr1cs::SynthesisError;

use super::Poseidon;
use crate::Fr;

fn sbox(x: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    let x2 = x.square()?;
    let x4 = x2.square()?;
    Ok(x4 * x)
}

fn full_round(state: &mut [FpVar<Fr>], mds: &[Vec<Fr>], constants: &[Fr]) -> Result<(), SynthesisError> {
    let sboxed = state.iter().map(sbox).collect::<Result<Vec<_>, _>>()?;
    for (i, lane) in state.iter_mut().enumerate() {
        let mut acc = FpVar::constant(constants[i]);
        for (m, y) in mds[i].iter().zip(&sboxed) {
            acc += y * *m;
        }
        *lane = acc;
    }
    Ok(())
}

fn add_constants(state: &mut [FpVar<Fr>], constants: &[Fr]) {
    for (lane, c) in state.iter_mut().zip(constants) {
        *lane += *c;
    }
}

impl Poseidon {
    /// The gadget: hash exactly `width - 1` inputs in-circuit.
    ///
    /// # Panics
    /// If `inputs.len() != self.width - 1` (a programming error, as for [`Poseidon::hash`]).
    pub fn hash_var(&self, inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
        assert_eq!(inputs.len() + 1, self.width, "Poseidon of width {} takes {} inputs", self.width, self.width - 1);
        let rounds = self.optimized();
        let mut state = Vec::with_capacity(self.width);
        state.push(FpVar::zero());
        state.extend_from_slice(inputs);
        add_constants(&mut state, &rounds.initial);
        for constants in &rounds.first_full {
            full_round(&mut state, &self.mds, constants)?;
        }
        for round in &rounds.partial {
            let y0 = sbox(&state[0])?;
            let mut x0 = &y0 * round.row[0];
            for i in 1..self.width {
                x0 += &state[i] * round.row[i];
                state[i] += &y0 * round.col[i - 1];
            }
            state[0] = x0 + round.constant;
        }
        let tail: Vec<FpVar<Fr>> = rounds
            .closing_block
            .iter()
            .map(|row| row.iter().zip(&state[1..]).fold(FpVar::zero(), |acc, (m, x)| acc + x * *m))
            .collect();
        state.truncate(1);
        state.extend(tail);
        add_constants(&mut state, &rounds.after_partial);
        for constants in &rounds.second_full {
            full_round(&mut state, &self.mds, constants)?;
        }
        Ok(state.swap_remove(0))
    }
}

/// circomlib's Poseidon of 1 to 16 inputs, in-circuit.
///
/// # Panics
/// If `inputs` is empty or longer than [`super::MAX_INPUTS`].
pub fn poseidon_var(inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    Poseidon::for_inputs(inputs.len())
        .unwrap_or_else(|| panic!("Poseidon takes 1 to {} inputs, got {}", super::MAX_INPUTS, inputs.len()))
        .hash_var(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::{alloc::AllocVar, GR1CSVar};
    use ark_relations::gr1cs::ConstraintSystem;
    use ark_std::{test_rng, UniformRand};

    #[test]
    fn gadget_equals_native_for_every_width() {
        let mut rng = test_rng();
        for n in 1..=super::super::MAX_INPUTS {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let x: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            let vars: Vec<FpVar<Fr>> = x.iter().map(|v| FpVar::new_witness(cs.clone(), || Ok(*v)).unwrap()).collect();
            let out = poseidon_var(&vars).unwrap();
            assert_eq!(out.value().unwrap(), super::super::poseidon(&x), "width {}", n + 1);
            assert!(cs.is_satisfied().unwrap());
            // Three constraints per S-box, the first of lane 0 free.
            let p = Poseidon::for_inputs(n).unwrap();
            assert_eq!(cs.num_constraints(), 3 * (8 * (n + 1) + p.partial_rounds) - 3, "width {}", n + 1);
        }
    }

    #[test]
    fn a_wrong_output_is_unsatisfiable() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let vars: Vec<FpVar<Fr>> = (1..=4u64).map(|v| FpVar::new_witness(cs.clone(), || Ok(Fr::from(v))).unwrap()).collect();
        let out = poseidon_var(&vars).unwrap();
        let claimed = FpVar::new_witness(cs.clone(), || Ok(out.value().unwrap() + Fr::from(1u64))).unwrap();
        ark_r1cs_std::eq::EqGadget::enforce_equal(&out, &claimed).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }
}
