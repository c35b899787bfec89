//! Baby JubJub gadgets, twins of the arkworks group law on [`super::Point`].
//!
//! - [`PointVar`]: twisted Edwards (circomlib's `a = 168700, d = 168696`), complete addition in
//!   6 constraints (circomlib's `BabyAdd` formulas). The law is complete because `a` is a square
//!   and `d` is not (tested in this module).
//! - [`MontVar`]: the birational Montgomery form `v^2 = u^3 + 168698 u^2 + u`, with *incomplete*
//!   formulas: 3 constraints to add distinct points, 4 to double, 6 for a signed double-and-add.
//!   They leave the slope free when the x-coordinates meet, so callers must rule that out
//!   (the EdDSA gadget does so by keeping every accumulator multiple in a safe range).
//! - [`fixed_base_mul`]: multiplication of a constant point by bits, 3-bit windows of
//!   precomputed multiples (4 constraints per window lookup, 6 per addition).

use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field, MontFp, One, Zero};
use ark_r1cs_std::{
    alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::fp::FpVar, fields::FieldVar, select::CondSelectGadget,
    GR1CSVar,
};
use ark_relations::gr1cs::SynthesisError;

use super::{Point, PointProjective};
use crate::Fr;

const A: Fr = MontFp!("168700");
const D: Fr = MontFp!("168696");
/// Montgomery `A = 2 (a + d) / (a - d)`; `B = 4 / (a - d) = 1`.
const MONT_A: Fr = MontFp!("168698");

/// `num / den` as a new witness, with one constraint `q * den = num`; folded when both are constant.
/// A zero denominator (only an invalid witness reaches one) gets `q = 0`, so the system is still
/// built and the failing constraint can be named.
fn quotient(num: &FpVar<Fr>, den: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    if num.is_constant() && den.is_constant() {
        let inv = den.value()?.inverse().ok_or(SynthesisError::DivisionByZero)?;
        return Ok(FpVar::constant(num.value()? * inv));
    }
    let cs = num.cs().or(den.cs());
    let q = FpVar::new_witness(cs, || Ok(num.value()? * den.value()?.inverse().unwrap_or_default()))?;
    q.mul_equals(den, num)?;
    Ok(q)
}

/// A point in twisted Edwards affine coordinates.
#[derive(Clone, Debug)]
pub struct PointVar {
    /// x.
    pub x: FpVar<Fr>,
    /// y.
    pub y: FpVar<Fr>,
}

impl PointVar {
    /// A constant point.
    pub fn constant(p: Point) -> Self {
        let (x, y) = if p.is_zero() { (Fr::zero(), Fr::one()) } else { (p.x, p.y) };
        PointVar { x: FpVar::constant(x), y: FpVar::constant(y) }
    }

    /// The point's value.
    pub fn value(&self) -> Result<Point, SynthesisError> {
        Ok(Point::new_unchecked(self.x.value()?, self.y.value()?))
    }

    /// Enforce `a x^2 + y^2 = 1 + d x^2 y^2` (4 constraints).
    pub fn enforce_on_curve(&self) -> Result<(), SynthesisError> {
        let x2 = self.x.square()?;
        let y2 = self.y.square()?;
        let x2y2 = &x2 * &y2;
        (x2 * A + y2).enforce_equal(&(x2y2 * D + FpVar::one()))
    }

    /// `self + other`, complete (6 constraints).
    pub fn add(&self, other: &PointVar) -> Result<PointVar, SynthesisError> {
        let (x1, y1, x2, y2) = (&self.x, &self.y, &other.x, &other.y);
        let beta = x1 * y2;
        let gamma = y1 * x2;
        let delta = (y1 - x1 * A) * (x2 + y2);
        let tau = &beta * &gamma;
        let x3 = quotient(&(&beta + &gamma), &(FpVar::one() + &tau * D))?;
        let y3 = quotient(&(delta + &beta * A - &gamma), &(FpVar::one() - tau * D))?;
        Ok(PointVar { x: x3, y: y3 })
    }

    /// `2 self`, complete (6 constraints).
    pub fn double(&self) -> Result<PointVar, SynthesisError> {
        self.add(self)
    }

    /// `-self`.
    pub fn negate(&self) -> PointVar {
        PointVar { x: FpVar::zero() - &self.x, y: self.y.clone() }
    }

    /// `cond ? a : b` (2 constraints).
    pub fn select(cond: &Boolean<Fr>, a: &PointVar, b: &PointVar) -> Result<PointVar, SynthesisError> {
        Ok(PointVar { x: FpVar::conditionally_select(cond, &a.x, &b.x)?, y: FpVar::conditionally_select(cond, &a.y, &b.y)? })
    }

    /// The Montgomery form `u = (1 + y) / (1 - y)`, `v = u / x` (2 constraints). Defined for
    /// every point but those of order 1, 2 or 4 (x = 0 or y = 1), which callers exclude.
    pub fn to_montgomery(&self) -> Result<MontVar, SynthesisError> {
        let u = quotient(&(FpVar::one() + &self.y), &(FpVar::one() - &self.y))?;
        let v = quotient(&u, &self.x)?;
        Ok(MontVar { u, v })
    }
}

/// A point in Montgomery affine coordinates (never the identity).
#[derive(Clone, Debug)]
pub struct MontVar {
    /// u.
    pub u: FpVar<Fr>,
    /// v.
    pub v: FpVar<Fr>,
}

impl MontVar {
    /// Back to Edwards: `x = u / v`, `y = (u - 1) / (u + 1)` (2 constraints).
    pub fn to_edwards(&self) -> Result<PointVar, SynthesisError> {
        Ok(PointVar { x: quotient(&self.u, &self.v)?, y: quotient(&(&self.u - FpVar::one()), &(&self.u + FpVar::one()))? })
    }

    /// `self + other` for points with different u (3 constraints). INCOMPLETE: the caller must
    /// guarantee `self != ±other`.
    pub fn add_incomplete(&self, other: &MontVar) -> Result<MontVar, SynthesisError> {
        let lambda = quotient(&(&other.v - &self.v), &(&other.u - &self.u))?;
        let u3 = lambda.square()? - MONT_A - &self.u - &other.u;
        let v3 = &lambda * (&self.u - &u3) - &self.v;
        Ok(MontVar { u: u3, v: v3 })
    }

    /// `2 self` for a point of odd order (4 constraints).
    pub fn double(&self) -> Result<MontVar, SynthesisError> {
        let u2 = self.u.square()?;
        let lambda = quotient(&(u2 * Fr::from(3u64) + &self.u * (MONT_A + MONT_A) + FpVar::one()), &(&self.v + &self.v))?;
        let u3 = lambda.square()? - MONT_A - &self.u - &self.u;
        let v3 = &lambda * (&self.u - &u3) - &self.v;
        Ok(MontVar { u: u3, v: v3 })
    }

    /// `2 self + (bit ? p : -p)` in 6 constraints, through `r = self ± p` and `r + self`, without
    /// computing r's v. INCOMPLETE: with `self = k p`, the caller must guarantee
    /// `k != ±1`, `k ± 1 != 0` and `2k ± 1 != 0` modulo the order of p.
    pub fn double_and_add_signed(&self, p: &MontVar, bit: &Boolean<Fr>) -> Result<MontVar, SynthesisError> {
        // v of ±p: (2 bit - 1) v_p.
        let vp = FpVar::from(bit.clone()) * (&p.v + &p.v) - &p.v;
        let lambda1 = quotient(&(&vp - &self.v), &(&p.u - &self.u))?;
        let ur = lambda1.square()? - MONT_A - &self.u - &p.u;
        // The line through r and self has slope l2 with (l1 + l2)(u_self - u_r) = 2 v_self.
        let sum = quotient(&(&self.v + &self.v), &(&self.u - &ur))?;
        let lambda2 = sum - &lambda1;
        let us = lambda2.square()? - MONT_A - &ur - &self.u;
        let vs = &lambda2 * (&self.u - &us) - &self.v;
        Ok(MontVar { u: us, v: vs })
    }
}

/// `bits · base` for a constant `base` (bits little-endian), by 3-bit windows of precomputed
/// multiples: each window's point is a polynomial in its bits (4 constraints for the bit
/// products, shared by x and y), and the windows are summed with complete additions.
// Subsets of a window's bits are indexed by bitmask, as the interpolation formula reads.
#[allow(clippy::needless_range_loop)]
pub fn fixed_base_mul(base: Point, bits: &[Boolean<Fr>]) -> Result<PointVar, SynthesisError> {
    let mut window_base = PointProjective::from(base);
    let mut acc: Option<PointVar> = None;
    for chunk in bits.chunks(3) {
        let b: Vec<Boolean<Fr>> = (0..3).map(|i| chunk.get(i).cloned().unwrap_or(Boolean::FALSE)).collect();
        let table: Vec<Point> = {
            let mut multiples = vec![PointProjective::zero()];
            for j in 1..8 {
                multiples.push(multiples[j - 1] + window_base);
            }
            PointProjective::normalize_batch(&multiples)
        };
        // Monomials over subsets of {b0, b1, b2}, indexed by the subset's bitmask.
        let b01 = &b[0] & &b[1];
        let b02 = &b[0] & &b[2];
        let b12 = &b[1] & &b[2];
        let b012 = &b01 & &b[2];
        let monomial: [FpVar<Fr>; 8] = [
            FpVar::one(),
            b[0].clone().into(),
            b[1].clone().into(),
            b01.into(),
            b[2].clone().into(),
            b02.into(),
            b12.into(),
            b012.into(),
        ];
        // Möbius transform: coefficient of subset S is sum over T ⊆ S of (-1)^{|S|-|T|} f(T).
        let coordinate = |f: &dyn Fn(&Point) -> Fr| {
            let mut sum = FpVar::<Fr>::zero();
            for s in 0..8usize {
                let mut coef = Fr::zero();
                for t in 0..8usize {
                    if t & !s == 0 {
                        let sign = ((s.count_ones() - t.count_ones()) % 2 == 0) as u8;
                        let value = f(&table[t]);
                        if sign == 1 { coef += value } else { coef -= value }
                    }
                }
                if !coef.is_zero() {
                    sum += &monomial[s] * coef;
                }
            }
            sum
        };
        let point = PointVar {
            x: coordinate(&|p: &Point| if p.is_zero() { Fr::zero() } else { p.x }),
            y: coordinate(&|p: &Point| if p.is_zero() { Fr::one() } else { p.y }),
        };
        acc = Some(match acc {
            None => point,
            Some(a) => a.add(&point)?,
        });
        for _ in 0..3 {
            window_base = window_base + window_base;
        }
    }
    Ok(acc.unwrap_or_else(|| PointVar::constant(Point::zero())))
}

/// The value of `bits · base` natively (for tests and witnesses).
pub fn mul_bits(base: Point, bits: &[bool]) -> Point {
    let mut acc = PointProjective::zero();
    for &bit in bits.iter().rev() {
        acc = acc + acc;
        if bit {
            acc += base;
        }
    }
    acc.into_affine()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::babyjubjub::{base8, Fl};
    use ark_ff::{LegendreSymbol, PrimeField, UniformRand};
    use ark_relations::gr1cs::ConstraintSystem;
    use ark_std::test_rng;

    fn witness_point(cs: &ark_relations::gr1cs::ConstraintSystemRef<Fr>, p: Point) -> PointVar {
        PointVar { x: FpVar::new_witness(cs.clone(), || Ok(p.x)).unwrap(), y: FpVar::new_witness(cs.clone(), || Ok(p.y)).unwrap() }
    }

    fn random_point(rng: &mut impl ark_std::rand::RngCore) -> Point {
        base8().mul_bigint(Fl::rand(rng).into_bigint()).into_affine()
    }

    #[test]
    fn the_addition_law_is_complete() {
        assert!(A.legendre() == LegendreSymbol::QuadraticResidue);
        assert!(D.legendre() == LegendreSymbol::QuadraticNonResidue);
    }

    #[test]
    fn edwards_add_and_double_equal_native_including_identity_and_inverse() {
        let mut rng = test_rng();
        let (p, q) = (random_point(&mut rng), random_point(&mut rng));
        let cases = [(p, q), (p, p), (p, Point::zero()), (p, (-PointProjective::from(p)).into_affine())];
        for (a, b) in cases {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let (av, bv) = (witness_point(&cs, if a.is_zero() { Point::new_unchecked(Fr::zero(), Fr::one()) } else { a }),
                            witness_point(&cs, if b.is_zero() { Point::new_unchecked(Fr::zero(), Fr::one()) } else { b }));
            let before = cs.num_constraints();
            let sum = av.add(&bv).unwrap();
            assert_eq!(cs.num_constraints() - before, 6);
            let want = (PointProjective::from(a) + b).into_affine();
            let got = sum.value().unwrap();
            if want.is_zero() {
                assert_eq!((got.x, got.y), (Fr::zero(), Fr::one()));
            } else {
                assert_eq!(got, want);
            }
            assert!(cs.is_satisfied().unwrap());
        }
    }

    #[test]
    fn montgomery_round_trip_add_double_and_signed_step() {
        let mut rng = test_rng();
        let p = random_point(&mut rng);
        let k = 5u64;
        let q = base_mul(p, k);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let (pv, qv) = (witness_point(&cs, p).to_montgomery().unwrap(), witness_point(&cs, q).to_montgomery().unwrap());
        assert_eq!(pv.to_edwards().unwrap().value().unwrap(), p);
        assert_eq!(pv.add_incomplete(&qv).unwrap().to_edwards().unwrap().value().unwrap(), base_mul(p, k + 1));
        assert_eq!(pv.double().unwrap().to_edwards().unwrap().value().unwrap(), base_mul(p, 2));
        for bit in [false, true] {
            let b = Boolean::new_witness(cs.clone(), || Ok(bit)).unwrap();
            let step = qv.double_and_add_signed(&pv, &b).unwrap();
            let want = if bit { 2 * k + 1 } else { 2 * k - 1 };
            assert_eq!(step.to_edwards().unwrap().value().unwrap(), base_mul(p, want));
        }
        assert!(cs.is_satisfied().unwrap());
    }

    fn base_mul(p: Point, k: u64) -> Point {
        p.mul_bigint([k]).into_affine()
    }

    #[test]
    fn fixed_base_equals_native() {
        let mut rng = test_rng();
        for n in [1usize, 3, 8, 251] {
            let bits: Vec<bool> = (0..n).map(|_| u8::rand(&mut rng) & 1 == 1).collect();
            let cs = ConstraintSystem::<Fr>::new_ref();
            let bv: Vec<Boolean<Fr>> = bits.iter().map(|&b| Boolean::new_witness(cs.clone(), || Ok(b)).unwrap()).collect();
            let out = fixed_base_mul(base8(), &bv).unwrap();
            let want = mul_bits(base8(), &bits);
            let got = out.value().unwrap();
            if want.is_zero() {
                assert_eq!((got.x, got.y), (Fr::zero(), Fr::one()));
            } else {
                assert_eq!(got, want, "{n} bits");
            }
            assert!(cs.is_satisfied().unwrap());
        }
    }
}
