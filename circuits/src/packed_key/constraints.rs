//! The key-recovery gadget, twin of [`super::unpack`]: from a packed key's bits to `(Ax, Ay)`.
//!
//! | input | type | bits |
//! | --- | --- | --- |
//! | `Ax`, `Ay` | witness | field elements |
//! | `sign` | witness | 1 |
//! | `enabled` | boolean | 1 (a DepositNew slot) |
//!
//! When enabled:
//! 1. `Ay` in 254 strict bits (`< r`), so the packed integer names exactly one `Ay`.
//! 2. `(Ax, Ay)` on the curve (4 constraints).
//! 3. `sign = [Ax > (r - 1) / 2]`: `Ax' = Ax` or `-Ax` by the sign, and `Ax'` at most
//!    `(r - 1) / 2` in 253 bits. Of the two roots `±Ax` exactly one passes, and `Ax = 0` with
//!    `sign = 1` is refused by step 4.
//! 4. `8·A != identity`: three complete doublings and an inverse of `(8A).x`: on the curve,
//!    `8A` has order 1 or `l`, and its x is 0 only for the identity.
//!
//! When disabled, `Ax`, `Ay`, `sign` and the inverse are all forced to 0, so the packed key is
//! 32 zero bytes. Every witness is pinned either way.

use ark_ff::{Field, PrimeField};
use ark_r1cs_std::{alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::fp::FpVar, fields::FieldVar, GR1CSVar};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

use crate::babyjubjub::constraints::PointVar;
use crate::range::constraints::{enforce_le_constant, strict_bits_le};
use crate::Fr;

/// A recovered key and the packed key's bits.
pub struct PackedKeyVar {
    /// `Ax` (0 when disabled).
    pub x: FpVar<Fr>,
    /// `Ay` (0 when disabled).
    pub y: FpVar<Fr>,
    /// The 256 bits of the packed key, big-endian: `sign || 0 || Ay`.
    pub bits_be: Vec<Boolean<Fr>>,
}

/// Allocate `(Ax, Ay, sign)` and enforce, when `enabled`, that they are a key the protocol
/// accepts packed as `bits_be`; when disabled, that all are zero.
pub fn packed_key_var(
    cs: ConstraintSystemRef<Fr>,
    key: (Fr, Fr, bool),
    enabled: &Boolean<Fr>,
) -> Result<PackedKeyVar, SynthesisError> {
    let on = FpVar::from(enabled.clone());
    let off = FpVar::one() - &on;
    let x = FpVar::new_witness(cs.clone(), || Ok(key.0))?;
    let y = FpVar::new_witness(cs.clone(), || Ok(key.1))?;
    let sign = Boolean::new_witness(cs.clone(), || Ok(key.2))?;
    let sign_fp = FpVar::from(sign.clone());
    // Zero when disabled.
    for v in [&x, &y, &sign_fp] {
        (&off * v).enforce_equal(&FpVar::zero())?;
    }
    // 1.
    let y_bits = strict_bits_le(&y)?;
    // 2.
    let a = PointVar { x: x.clone(), y: y.clone() };
    let x2 = x.square()?;
    let y2 = y.square()?;
    let x2y2 = &x2 * &y2;
    let curve = x2 * Fr::from(168_700u64) + y2 - FpVar::one() - x2y2 * Fr::from(168_696u64);
    (&on * curve).enforce_equal(&FpVar::zero())?;
    // 3.
    let signed = &x - (&sign_fp * &x).double()?;
    let (signed_bits, _) = signed.to_bits_le_with_top_bits_zero(253)?;
    enforce_le_constant(&signed_bits, Fr::MODULUS_MINUS_ONE_DIV_TWO.as_ref())?;
    // 4.
    let p = a.double()?.double()?.double()?;
    let inverse = FpVar::new_witness(cs, || Ok(p.x.value()?.inverse().unwrap_or_default()))?;
    (&p.x * &inverse).enforce_equal(&on)?;
    (&off * &inverse).enforce_equal(&FpVar::zero())?;

    let mut bits_be = vec![sign, Boolean::FALSE];
    bits_be.extend(y_bits.into_iter().rev());
    Ok(PackedKeyVar { x, y, bits_be })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::babyjubjub::{is_negative, torsion_points};
    use crate::eddsa::PrivateKey;
    use crate::packed_key::{pack, unpack};
    use ark_ec::{AffineRepr, CurveGroup};
    use ark_relations::gr1cs::ConstraintSystem;

    /// Whether the gadget is satisfied, and the packed bytes it publishes.
    fn run(key: (Fr, Fr, bool), enabled: bool) -> (bool, Vec<u8>) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let on = Boolean::new_witness(cs.clone(), || Ok(enabled)).unwrap();
        let out = packed_key_var(cs.clone(), key, &on).unwrap();
        let bytes = out
            .bits_be
            .chunks(8)
            .map(|b| b.iter().fold(0u8, |acc, bit| (acc << 1) | u8::from(bit.value().unwrap())))
            .collect();
        (cs.is_satisfied().unwrap(), bytes)
    }

    #[test]
    fn gadget_accepts_exactly_what_unpack_accepts() {
        let mut cases = Vec::new();
        for i in 1..=6u8 {
            let k = PrivateKey::from_bytes([i; 32]).public_key().point();
            cases.push(k);
            cases.push((k + torsion_points()[3]).into_affine()); // outside the subgroup
        }
        cases.extend(torsion_points());
        for p in cases {
            let (x, y) = if p.is_zero() { (Fr::from(0u64), Fr::from(1u64)) } else { (p.x, p.y) };
            let packed = pack(x, y);
            let (ok, bytes) = run((x, y, is_negative(x)), true);
            assert_eq!(ok, unpack(&packed).is_ok(), "key ({x}, {y})");
            assert_eq!(bytes, packed.to_vec());
        }
    }

    #[test]
    fn wrong_sign_and_off_curve_keys_fail() {
        let k = PrivateKey::from_bytes([9; 32]).public_key();
        assert!(run((k.x(), k.y(), is_negative(k.x())), true).0);
        assert!(!run((k.x(), k.y(), !is_negative(k.x())), true).0, "sign bit of the other root");
        assert!(!run((-k.x(), k.y(), is_negative(k.x())), true).0, "the other root under this sign");
        assert!(!run((k.x() + Fr::from(1u64), k.y(), is_negative(k.x() + Fr::from(1u64))), true).0, "off the curve");
        assert!(!run((Fr::from(0u64), Fr::from(1u64), true), true).0, "x = 0 with the sign bit");
    }

    #[test]
    fn disabled_means_all_zero() {
        let (ok, bytes) = run((Fr::from(0u64), Fr::from(0u64), false), false);
        assert!(ok);
        assert!(bytes.iter().all(|&b| b == 0));
        let k = PrivateKey::from_bytes([2; 32]).public_key();
        assert!(!run((k.x(), k.y(), is_negative(k.x())), false).0, "a key where none may be");
        assert!(!run((Fr::from(0u64), Fr::from(0u64), true), false).0, "the sign bit alone");
    }
}
