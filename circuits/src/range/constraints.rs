//! The 64-bit range check, twin of [`super::le_bits`]: 64 booleans and one packing constraint
//! (65 in all). The bits are returned so that the public data and comparisons reuse them.

use ark_r1cs_std::{boolean::Boolean, fields::fp::FpVar};
use ark_relations::gr1cs::SynthesisError;

use super::U64_BITS;
use crate::Fr;

/// Enforce `x < 2^64` and return its little-endian bits.
pub fn enforce_u64(x: &FpVar<Fr>) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    Ok(x.to_bits_le_with_top_bits_zero(U64_BITS)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::{alloc::AllocVar, GR1CSVar};
    use ark_relations::gr1cs::ConstraintSystem;

    fn check(value: Fr) -> (bool, Option<Vec<bool>>, usize) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let x = FpVar::new_witness(cs.clone(), || Ok(value)).unwrap();
        let bits = enforce_u64(&x).unwrap();
        let values = bits.iter().map(|b| b.value().ok()).collect::<Option<Vec<bool>>>();
        (cs.is_satisfied().unwrap(), values, cs.num_constraints())
    }

    #[test]
    fn u64_values_pass_with_their_bits() {
        for v in [0u64, 1, 0xdead_beef, u64::MAX] {
            let (ok, bits, constraints) = check(Fr::from(v));
            assert!(ok);
            assert_eq!(bits.unwrap(), super::super::le_bits(v).to_vec());
            assert_eq!(constraints, 65);
        }
    }

    #[test]
    fn values_of_2_pow_64_and_above_fail() {
        let two64 = Fr::from(u64::MAX) + Fr::from(1u64);
        assert!(!check(two64).0);
        assert!(!check(-Fr::from(1u64)).0);
    }
}
