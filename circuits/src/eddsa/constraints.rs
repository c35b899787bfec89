//! The EdDSA-Poseidon verification gadget, twin of [`super::PublicKey::verify`].
//!
//! Inputs: the key `A` (from the sender's leaf), the message, `R8` and `S` (witnesses), and
//! `enabled` (false for padding, which turns off only the final equation and puts `Base8` in
//! place of the key).
//!
//! The gadget is sound for any key on the curve, in the prime-order subgroup or not (SPEC-v2
//! section 2): step 0 proves the key on the curve, so `P = 8A` has order 1 or `l`; order 1 (the
//! identity, `y = 1`) makes the Montgomery conversion unsatisfiable, so nobody can sign for a
//! small-order key, and order `l` is all the ladder's argument below needs. Without step 0 an
//! off-curve key could reach `P = (0, -1)`, where the conversion leaves `v` free.
//!
//! 0. `A` (or `Base8` when disabled) is on the curve (4 constraints).
//! 1. `R8` is on the curve (4 constraints).
//! 2. `S` is 251 bits and at most `l - 1` (252 + about 250).
//! 3. `h = H(R8x, R8y, Ax, Ay, m)` (321).
//! 4. `σ = h + 22 l` as 256 bits, the top one constant 1, pinned to exactly that integer by
//!    `22 l <= σ <= 22 l + r - 1` (255 + 1 + about 500). `22 l >= 2^255`, so the top bit is set,
//!    and `σ ≡ h (mod l)`.
//! 5. `h · 8A`: `P = 8A` (3 complete doublings), then the signed-digit double-and-add on
//!    Montgomery coordinates, 6 constraints a bit, from `3P` over `σ`'s bits 254..7; with
//!    `Q = kP`, after `t` digits `3 <= k <= 2^(t+1) - 1`, so `k`, `k ± 1` and `2k ± 1` stay
//!    in `[2, l)` for every bit string up to bit 7 (`2^250 < l`): the incomplete formulas never
//!    meet an exceptional case and every slope is pinned. Bits 6..1 use complete Edwards
//!    formulas (13 each), and bit 0 a complete correction: the ladder yields
//!    `(σ + 1 - σ0) P`.
//! 6. `S · Base8` by fixed-base windows; `S · Base8 == R8 + h · 8A` when enabled.

use ark_ff::{BigInteger, PrimeField};
use ark_r1cs_std::{alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::fp::FpVar, fields::FieldVar, GR1CSVar};
use ark_relations::gr1cs::SynthesisError;

use crate::babyjubjub::constraints::{fixed_base_mul, PointVar};
use crate::babyjubjub::{base8, Fl, Point};
use crate::poseidon::constraints::poseidon_var;
use crate::range::constraints::{enforce_ge_constant, enforce_le_constant, pack_le};
use crate::Fr;

/// Bits of `S` (`l < 2^251`).
pub const S_BITS: usize = 251;
/// `σ = h + OFFSET · l`; `22 l >= 2^255` and `22 l + r <= 2^256`.
pub const OFFSET: u64 = 22;
/// The lowest bit of σ handled by the incomplete ladder.
const LOWEST_INCOMPLETE_BIT: usize = 7;

fn limbs<B: BigInteger>(b: B) -> [u64; 4] {
    b.as_ref().try_into().expect("four limbs")
}

fn mul_small(a: [u64; 4], k: u64) -> [u64; 4] {
    let mut out = [0u64; 4];
    let mut carry = 0u128;
    for i in 0..4 {
        let v = a[i] as u128 * k as u128 + carry;
        out[i] = v as u64;
        carry = v >> 64;
    }
    assert_eq!(carry, 0, "fits in 256 bits");
    out
}

fn add(a: [u64; 4], b: [u64; 4]) -> [u64; 4] {
    let mut out = [0u64; 4];
    let mut carry = 0u128;
    for i in 0..4 {
        let v = a[i] as u128 + b[i] as u128 + carry;
        out[i] = v as u64;
        carry = v >> 64;
    }
    assert_eq!(carry, 0, "fits in 256 bits");
    out
}

fn minus_one(mut a: [u64; 4]) -> [u64; 4] {
    for limb in a.iter_mut() {
        let (v, borrow) = limb.overflowing_sub(1);
        *limb = v;
        if !borrow {
            return a;
        }
    }
    panic!("minus_one of zero")
}

/// `(l - 1, 22 l, 22 l + r - 1)` as little-endian limbs.
fn bounds() -> ([u64; 4], [u64; 4], [u64; 4]) {
    let l = limbs(Fl::MODULUS);
    let low = mul_small(l, OFFSET);
    (minus_one(l), low, minus_one(add(low, limbs(Fr::MODULUS))))
}

/// Enforce that `(R8, S)` is a valid signature by `key` on `message`, when `enabled`.
pub fn verify_var(
    key: &PointVar,
    message: &FpVar<Fr>,
    r8: &PointVar,
    s: &FpVar<Fr>,
    enabled: &Boolean<Fr>,
) -> Result<(), SynthesisError> {
    let (l_minus_1, low, high) = bounds();
    let a = PointVar::select(enabled, key, &PointVar::constant(base8()))?;
    // 0.
    a.enforce_on_curve()?;
    // 1.
    r8.enforce_on_curve()?;
    // 2.
    let (s_bits, _) = s.to_bits_le_with_top_bits_zero(S_BITS)?;
    enforce_le_constant(&s_bits, &l_minus_1)?;
    // 3.
    let h = poseidon_var(&[r8.x.clone(), r8.y.clone(), key.x.clone(), key.y.clone(), message.clone()])?;
    // 4.
    let cs = h.cs().or(s.cs()).or(r8.x.cs());
    let sigma = h.value().map(|h| add(limbs(h.into_bigint()), low));
    let mut sigma_bits = (0..255)
        .map(|i| Boolean::new_witness(cs.clone(), || sigma.map(|v| (v[i / 64] >> (i % 64)) & 1 == 1)))
        .collect::<Result<Vec<_>, _>>()?;
    sigma_bits.push(Boolean::TRUE);
    let offset_in_field = Fr::from_le_bytes_mod_order(&ark_ff::BigInt(low).to_bytes_le());
    // σ is 256 bits by design: packed without a "below r" check, pinned by the comparisons.
    pack_le(&sigma_bits).enforce_equal(&(&h + offset_in_field))?;
    enforce_le_constant(&sigma_bits, &high)?;
    enforce_ge_constant(&sigma_bits, &low)?;
    // 5.
    let p = a.double()?.double()?.double()?;
    let pm = p.to_montgomery()?;
    let mut q = pm.double()?.add_incomplete(&pm)?;
    for bit in sigma_bits[LOWEST_INCOMPLETE_BIT..255].iter().rev() {
        q = q.double_and_add_signed(&pm, bit)?;
    }
    let mut q = q.to_edwards()?;
    for bit in sigma_bits[1..LOWEST_INCOMPLETE_BIT].iter().rev() {
        let x = FpVar::from(bit.clone()) * (&p.x + &p.x) - &p.x;
        q = q.double()?.add(&PointVar { x, y: p.y.clone() })?;
    }
    let correction = PointVar::select(&sigma_bits[0], &PointVar::constant(Point::zero()), &p.negate())?;
    let h_p = q.add(&correction)?;
    // 6.
    let left = fixed_base_mul(base8(), &s_bits)?;
    let right = r8.add(&h_p)?;
    let on = FpVar::from(enabled.clone());
    ((left.x - right.x) * &on).enforce_equal(&FpVar::zero())?;
    ((left.y - right.y) * &on).enforce_equal(&FpVar::zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eddsa::{PrivateKey, Signature};
    use ark_ff::UniformRand;
    use ark_relations::gr1cs::ConstraintSystem;
    use ark_std::test_rng;

    /// Run the gadget on values; returns whether the system is satisfied, and its size.
    fn run(key: Point, message: Fr, sig: &Signature, enabled: bool) -> (bool, usize) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let w = |v: Fr| FpVar::new_witness(cs.clone(), || Ok(v)).unwrap();
        let key = PointVar { x: w(key.x), y: w(key.y) };
        let r8 = PointVar { x: w(sig.r8.0), y: w(sig.r8.1) };
        let (m, s) = (w(message), w(sig.s));
        let on = Boolean::new_witness(cs.clone(), || Ok(enabled)).unwrap();
        match verify_var(&key, &m, &r8, &s, &on) {
            Ok(()) => (cs.is_satisfied().unwrap(), cs.num_constraints()),
            // A witness the gadget cannot even build (a division by zero) proves nothing either.
            Err(SynthesisError::DivisionByZero) => (false, 0),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn valid_signatures_satisfy_and_fit_the_budget() {
        let mut rng = test_rng();
        for i in 0..6u8 {
            let key = PrivateKey::from_bytes([i + 1; 32]);
            let m = if i == 0 { Fr::from(0u64) } else { Fr::rand(&mut rng) };
            let sig = key.sign(m);
            let (ok, constraints) = run(key.public_key().point(), m, &sig, true);
            assert!(ok, "signature {i}");
            assert!(constraints <= 4_300, "{constraints} constraints");
        }
    }

    #[test]
    fn invalid_signatures_do_not_satisfy() {
        let mut rng = test_rng();
        let key = PrivateKey::from_bytes([9; 32]);
        let m = Fr::rand(&mut rng);
        let sig = key.sign(m);
        let other = PrivateKey::from_bytes([8; 32]).public_key().point();
        assert!(!run(other, m, &sig, true).0, "wrong key");
        assert!(!run(key.public_key().point(), m + Fr::from(1u64), &sig, true).0, "wrong message");
        let l = Fr::from_bigint(Fl::MODULUS).unwrap();
        assert!(!run(key.public_key().point(), m, &Signature { s: sig.s + l, ..sig }, true).0, "S + l");
        let off = Signature { r8: (sig.r8.0, sig.r8.1 + Fr::from(1u64)), ..sig };
        assert!(!run(key.public_key().point(), m, &off, true).0, "R8 off the curve");
        let other_s = Signature { s: sig.s + Fr::from(1u64), ..sig };
        assert!(!run(key.public_key().point(), m, &other_s, true).0, "S + 1");
    }

    #[test]
    fn keys_outside_the_subgroup_verify_and_off_curve_keys_do_not() {
        use ark_ec::CurveGroup;
        let owner = PrivateKey::from_bytes([4; 32]);
        let m = Fr::from(99u64);
        for t in crate::babyjubjub::torsion_points().into_iter().skip(1) {
            let shifted = crate::eddsa::PublicKey::from_point((owner.public_key().point() + t).into_affine()).unwrap();
            assert!(run(shifted.point(), m, &owner.sign_as(&shifted, m), true).0);
            assert!(!run(shifted.point(), m, &owner.sign(m), true).0);
        }
        // Small-order keys: nobody can sign, whatever R8 and S.
        for t in crate::babyjubjub::torsion_points() {
            let sig = Signature { r8: (Fr::from(0u64), Fr::from(1u64)), s: Fr::from(0u64) };
            assert!(!run(t, m, &sig, true).0, "small-order key {t:?}");
        }
        // An off-curve key, even one with a well-formed signature equation elsewhere, fails.
        let k = owner.public_key();
        let off = Point::new_unchecked(k.x(), k.y() + Fr::from(1u64));
        assert!(!run(off, m, &owner.sign(m), true).0);
        // (0, -1), where the Montgomery map would leave v free.
        assert!(!run(Point::new_unchecked(Fr::from(0u64), -Fr::from(1u64)), m, &owner.sign(m), true).0);
    }

    #[test]
    fn sigma_is_pinned_to_exactly_h_plus_22_l() {
        // σ's bits pass the two comparators exactly on [22 l, 22 l + r - 1], so the only 256-bit
        // integer with top bit set and σ ≡ h + 22 l (mod r) that passes is h + 22 l itself.
        let (_, low, high) = bounds();
        let check = |v: [u64; 4]| {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let bits: Vec<Boolean<Fr>> =
                (0..256).map(|i| Boolean::new_witness(cs.clone(), || Ok((v[i / 64] >> (i % 64)) & 1 == 1)).unwrap()).collect();
            enforce_le_constant(&bits, &high).unwrap();
            enforce_ge_constant(&bits, &low).unwrap();
            cs.is_satisfied().unwrap()
        };
        assert!(check(low) && check(high));
        assert!(!check(minus_one(low)), "22 l - 1");
        assert!(!check(add(high, [1, 0, 0, 0])), "22 l + r");
        assert!(low[3] >> 63 == 1, "22 l >= 2^255: the top bit is always set");
    }

    #[test]
    fn disabled_checks_everything_but_the_equation() {
        let key = PrivateKey::from_bytes([3; 32]);
        let sig = Signature { r8: (Fr::from(0u64), Fr::from(1u64)), s: Fr::from(0u64) };
        // Padding: a zero key and the identity as R8 satisfy when disabled, not when enabled.
        let zero_key = Point::new_unchecked(Fr::from(0u64), Fr::from(0u64));
        assert!(run(zero_key, Fr::from(0u64), &sig, false).0);
        assert!(!run(key.public_key().point(), Fr::from(0u64), &sig, true).0);
        // R8 off the curve fails even when disabled.
        let off = Signature { r8: (Fr::from(1u64), Fr::from(1u64)), s: Fr::from(0u64) };
        assert!(!run(zero_key, Fr::from(0u64), &off, false).0);
    }
}
