//! The 64-bit range check, twin of [`super::le_bits`]: 64 booleans and one packing constraint
//! (65 in all). The bits are returned so that the public data and comparisons reuse them.

use ark_r1cs_std::{boolean::Boolean, eq::EqGadget, fields::fp::FpVar, fields::FieldVar, GR1CSVar};
use ark_relations::gr1cs::{LinearCombination, SynthesisError};

use super::U64_BITS;
use crate::Fr;

/// Enforce `x < 2^64` and return its little-endian bits.
pub fn enforce_u64(x: &FpVar<Fr>) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    Ok(x.to_bits_le_with_top_bits_zero(U64_BITS)?.0)
}

/// The field element `sum bits[i] 2^i` (mod r) as a plain linear combination: no constraint, and
/// unlike `Boolean::le_bits_to_fp`, no "below r" check for 254 bits or more. Callers that need
/// the integer itself pin it with comparisons of their own.
pub fn pack_le(bits: &[Boolean<Fr>]) -> FpVar<Fr> {
    let mut power = Fr::from(1u64);
    let mut packed = FpVar::<Fr>::zero();
    for bit in bits {
        packed += FpVar::from(bit.clone()) * power;
        power += power;
    }
    packed
}

/// Enforce that the integer with little-endian `bits` is at most the constant `c` (little-endian
/// 64-bit limbs).
///
/// From the top bit down, `run` is true while the bits equal `c`'s so far; wherever `c` has a 0
/// a set bit under a true `run` would make the integer exceed `c`, so `run * bit = 0` is
/// enforced there. About one constraint per bit: an AND for each 1 of `c`, one product for each 0.
pub fn enforce_le_constant(bits: &[Boolean<Fr>], c: &[u64]) -> Result<(), SynthesisError> {
    let c_bit = |i: usize| i / 64 < c.len() && (c[i / 64] >> (i % 64)) & 1 == 1;
    if (bits.len()..64 * c.len()).any(c_bit) {
        return Ok(()); // c >= 2^n > any n-bit integer
    }
    let Some(lowest_zero) = (0..bits.len()).find(|&i| !c_bit(i)) else {
        return Ok(()); // c = 2^n - 1
    };
    let cs = bits.cs();
    let mut run = Boolean::TRUE;
    for i in (lowest_zero..bits.len()).rev() {
        if c_bit(i) {
            run = &run & &bits[i];
        } else if run.is_constant() {
            if run.value()? {
                bits[i].enforce_equal(&Boolean::FALSE)?;
            }
        } else {
            let (r, b) = (run.lc(), bits[i].lc());
            cs.enforce_r1cs_constraint(|| r, || b, LinearCombination::new)?;
        }
    }
    Ok(())
}

/// Enforce that the integer with little-endian `bits` is at least the constant `c`: its bitwise
/// complement is at most `2^n - 1 - c`.
pub fn enforce_ge_constant(bits: &[Boolean<Fr>], c: &[u64]) -> Result<(), SynthesisError> {
    let n = bits.len();
    let mut complement = vec![0u64; n.div_ceil(64)];
    for i in 0..n {
        let c_bit = i / 64 < c.len() && (c[i / 64] >> (i % 64)) & 1 == 1;
        if !c_bit {
            complement[i / 64] |= 1 << (i % 64);
        }
    }
    if (n..64 * c.len()).any(|i| (c[i / 64] >> (i % 64)) & 1 == 1) {
        // c >= 2^n: no n-bit integer reaches it.
        return Boolean::<Fr>::FALSE.enforce_equal(&Boolean::TRUE);
    }
    let flipped: Vec<Boolean<Fr>> = bits.iter().map(|b| !b).collect();
    enforce_le_constant(&flipped, &complement)
}

/// The 254 little-endian bits of a field element, pinned to its canonical integer: their
/// combination equals `x` and the integer is at most `r - 1` (about 254 + 250 constraints).
pub fn strict_bits_le(x: &FpVar<Fr>) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    use ark_ff::{BigInteger, PrimeField};
    use ark_r1cs_std::alloc::AllocVar;
    let cs = x.cs();
    let value = x.value().map(|v| v.into_bigint());
    let bits = (0..Fr::MODULUS_BIT_SIZE as usize)
        .map(|i| Boolean::new_witness(cs.clone(), || value.map(|v| v.get_bit(i))))
        .collect::<Result<Vec<_>, _>>()?;
    pack_le(&bits).enforce_equal(x)?;
    let mut r_minus_1 = Fr::MODULUS;
    r_minus_1.sub_with_borrow(&ark_ff::BigInt::from(1u64));
    enforce_le_constant(&bits, r_minus_1.as_ref())?;
    Ok(bits)
}

/// The 256 big-endian bits of a field element as 32 bytes, two zero bits then
/// [`strict_bits_le`] reversed.
pub fn strict_bytes_be(x: &FpVar<Fr>) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    let mut be = vec![Boolean::FALSE, Boolean::FALSE];
    be.extend(strict_bits_le(x)?.into_iter().rev());
    Ok(be)
}

/// `x` as `bits` big-endian bits, from its little-endian bits (zero-extended).
pub fn be_bits_padded(le: &[Boolean<Fr>], bits: usize) -> Vec<Boolean<Fr>> {
    let mut out = vec![Boolean::FALSE; bits - le.len()];
    out.extend(le.iter().rev().cloned());
    out
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
    fn comparisons_with_constants_are_exact() {
        use ark_r1cs_std::alloc::AllocVar;
        let constants: [u64; 6] = [0, 1, 0b1011_0110, 0b1000_0000, 0b0111_1111, 200];
        for c in constants {
            for v in 0u64..256 {
                let cs = ConstraintSystem::<Fr>::new_ref();
                let bits: Vec<Boolean<Fr>> = (0..8).map(|i| Boolean::new_witness(cs.clone(), || Ok((v >> i) & 1 == 1)).unwrap()).collect();
                enforce_le_constant(&bits, &[c]).unwrap();
                assert_eq!(cs.is_satisfied().unwrap(), v <= c, "{v} <= {c}");
                let cs = ConstraintSystem::<Fr>::new_ref();
                let bits: Vec<Boolean<Fr>> = (0..8).map(|i| Boolean::new_witness(cs.clone(), || Ok((v >> i) & 1 == 1)).unwrap()).collect();
                enforce_ge_constant(&bits, &[c]).unwrap();
                assert_eq!(cs.is_satisfied().unwrap(), v >= c, "{v} >= {c}");
            }
        }
    }

    #[test]
    fn strict_bits_are_canonical() {
        use ark_ff::{BigInteger, PrimeField};
        for v in [Fr::from(0u64), Fr::from(5u64), -Fr::from(1u64)] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let x = FpVar::new_witness(cs.clone(), || Ok(v)).unwrap();
            let bits = strict_bits_le(&x).unwrap();
            assert!(cs.is_satisfied().unwrap());
            let got: Vec<bool> = bits.iter().map(|b| b.value().unwrap()).collect();
            assert_eq!(got, v.into_bigint().to_bits_le()[..254].to_vec());
        }
        // The bits of v + r (a 254-bit integer when v is small) pack to v but exceed r - 1.
        use ark_r1cs_std::alloc::AllocVar;
        let cs = ConstraintSystem::<Fr>::new_ref();
        let mut big = Fr::MODULUS;
        big.add_with_carry(&ark_ff::BigInt::from(3u64));
        let bits: Vec<Boolean<Fr>> = (0..254).map(|i| Boolean::new_witness(cs.clone(), || Ok(big.get_bit(i))).unwrap()).collect();
        let mut r_minus_1 = Fr::MODULUS;
        r_minus_1.sub_with_borrow(&ark_ff::BigInt::from(1u64));
        enforce_le_constant(&bits, r_minus_1.as_ref()).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }

    #[test]
    fn values_of_2_pow_64_and_above_fail() {
        let two64 = Fr::from(u64::MAX) + Fr::from(1u64);
        assert!(!check(two64).0);
        assert!(!check(-Fr::from(1u64)).0);
    }
}
