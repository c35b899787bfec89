//! Decimal strings for field elements and 64-bit integers, as the JSON files carry them.

use ark_ff::{BigInt, PrimeField};
use thiserror::Error;

use crate::Fr;

/// Why a decimal string is not an acceptable value.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum DecimalError {
    /// Empty, or a character other than `0`-`9`.
    #[error("{0:?} is not a decimal integer")]
    NotDecimal(String),
    /// At least the field's modulus (`r` for Fr).
    #[error("{0} is not below the field order")]
    NotBelowFieldOrder(String),
    /// At least `2^64`.
    #[error("{0} does not fit in 64 bits")]
    U64Overflow(String),
    /// A leading zero: every value has one spelling, so a signed message cannot be padded into
    /// another (a megabyte of zeros stored for a few bytes of value).
    #[error("{0:?} has a leading zero")]
    LeadingZero(String),
}

fn check_digits(s: &str) -> Result<(), DecimalError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        // Never echo a megabyte back: the first 80 characters name it well enough.
        return Err(DecimalError::NotDecimal(s.chars().take(80).collect()));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(DecimalError::LeadingZero(format!("{}...", &s[..s.len().min(80)])));
    }
    Ok(())
}

/// Parse a field element written in decimal; values `>= r` are refused, never reduced.
pub fn parse_fr(s: &str) -> Result<Fr, DecimalError> {
    parse_field(s)
}

/// Parse an element of a 256-bit prime field (Fr, or BN254's base field Fq) written in decimal;
/// values at or above the modulus are refused, never reduced.
pub fn parse_field<F: PrimeField<BigInt = BigInt<4>>>(s: &str) -> Result<F, DecimalError> {
    check_digits(s)?;
    let too_big = || DecimalError::NotBelowFieldOrder(s.to_string());
    let mut limbs = [0u64; 4];
    for digit in s.bytes().map(|b| u64::from(b - b'0')) {
        let mut carry = digit as u128;
        for limb in limbs.iter_mut() {
            let v = (*limb as u128) * 10 + carry;
            *limb = v as u64;
            carry = v >> 64;
        }
        if carry != 0 {
            return Err(too_big());
        }
    }
    F::from_bigint(BigInt(limbs)).ok_or_else(too_big)
}

/// Parse a `u64` written in decimal.
pub fn parse_u64(s: &str) -> Result<u64, DecimalError> {
    check_digits(s)?;
    s.parse().map_err(|_| DecimalError::U64Overflow(s.to_string()))
}

/// A field element in decimal.
pub fn fr_to_decimal(x: Fr) -> String {
    field_to_decimal(x)
}

/// Any prime-field element in decimal.
pub fn field_to_decimal<F: PrimeField>(x: F) -> String {
    x.into_bigint().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "21888242871839275222246405745257275088548364400416034343698204186575808495617";

    #[test]
    fn leading_zeros_are_refused() {
        assert_eq!(parse_u64("0"), Ok(0));
        assert!(matches!(parse_u64("05"), Err(DecimalError::LeadingZero(_))));
        assert!(matches!(parse_u64("00"), Err(DecimalError::LeadingZero(_))));
        assert!(matches!(parse_fr("01"), Err(DecimalError::LeadingZero(_))));
        let padded = format!("{}7", "0".repeat(1_000_000));
        let Err(DecimalError::LeadingZero(named)) = parse_fr(&padded) else { panic!("a padded value was accepted") };
        assert!(named.len() < 100, "the error names the value in a few characters");
    }

    #[test]
    fn field_elements_round_trip_and_r_is_refused() {
        assert_eq!(parse_fr("0"), Ok(Fr::from(0u64)));
        assert_eq!(fr_to_decimal(Fr::from(0u64)), "0");
        let r_minus_1 = "21888242871839275222246405745257275088548364400416034343698204186575808495616";
        assert_eq!(fr_to_decimal(parse_fr(r_minus_1).unwrap()), r_minus_1);
        assert_eq!(parse_fr(R), Err(DecimalError::NotBelowFieldOrder(R.into())));
        let huge = "9".repeat(100);
        assert_eq!(parse_fr(&huge), Err(DecimalError::NotBelowFieldOrder(huge.clone())));
    }

    #[test]
    fn non_decimal_text_is_refused() {
        for bad in ["", "-1", "+1", "0x10", "1.5", " 1", "1e3"] {
            assert_eq!(parse_fr(bad), Err(DecimalError::NotDecimal(bad.into())));
            assert_eq!(parse_u64(bad), Err(DecimalError::NotDecimal(bad.into())));
        }
    }

    #[test]
    fn u64_bounds() {
        assert_eq!(parse_u64("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            parse_u64("18446744073709551616"),
            Err(DecimalError::U64Overflow("18446744073709551616".into()))
        );
    }
}
