//! The commitment gadget, twin of [`super::commitment`]: SHA-256 of the public data's bits, the
//! top three digest bits dropped, the other 253 packed into one field element (no reduction
//! happens: the value is below 2^253 < r).

use ark_r1cs_std::{boolean::Boolean, fields::fp::FpVar};
use ark_relations::gr1cs::SynthesisError;

use super::COMMITMENT_BITS;
use crate::sha256::constraints::digest_var;
use crate::Fr;

/// The commitment to public data given as bits (whole bytes, most significant bit first).
pub fn commitment_var(public_data: &[Boolean<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let digest = digest_var(public_data)?;
    let kept: Vec<Boolean<Fr>> = digest[256 - COMMITMENT_BITS..].iter().rev().cloned().collect();
    Boolean::le_bits_to_fp(&kept)
}

/// The bits of a big-endian integer from its little-endian bits (as range checks return them).
pub fn be_bits(le_bits: &[Boolean<Fr>]) -> Vec<Boolean<Fr>> {
    le_bits.iter().rev().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commitment::commitment;
    use ark_r1cs_std::{alloc::AllocVar, GR1CSVar};
    use ark_relations::gr1cs::ConstraintSystem;

    #[test]
    fn gadget_equals_native() {
        for len in [0usize, 80, 96, 128] {
            let data: Vec<u8> = (0..len).map(|i| (i * 13 + 5) as u8).collect();
            let cs = ConstraintSystem::<Fr>::new_ref();
            let bits: Vec<Boolean<Fr>> = data
                .iter()
                .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1 == 1))
                .map(|bit| Boolean::new_witness(cs.clone(), || Ok(bit)).unwrap())
                .collect();
            let c = commitment_var(&bits).unwrap();
            assert_eq!(c.value().unwrap(), commitment(&data), "length {len}");
            assert!(cs.is_satisfied().unwrap());
        }
    }
}
