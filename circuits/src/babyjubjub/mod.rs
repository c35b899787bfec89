//! Baby JubJub in circomlib's coordinates.
//!
//! `ark-ed-on-bn254` implements the same group but in the scaled model `a = 1`,
//! `d = 168696 / 168700`, whose x-coordinates are those of circomlib times `sqrt(168700)`. The
//! protocol publishes circomlib's coordinates (keys, `R8`), so this module declares the curve
//! with circomlib's own coefficients; the scalar field (order `l`) is `ark-ed-on-bn254`'s.

pub mod constraints;

use ark_ec::{
    models::CurveConfig,
    twisted_edwards::{Affine, MontCurveConfig, Projective, TECurveConfig},
};
use ark_ff::MontFp;

use crate::Fr;

/// Integers modulo the prime subgroup order `l`.
pub type Fl = ark_ed_on_bn254::Fr;
/// A point in affine coordinates.
pub type Point = Affine<BabyJubJubConfig>;
/// A point in extended projective coordinates.
pub type PointProjective = Projective<BabyJubJubConfig>;

/// The curve `168700 x^2 + y^2 = 1 + 168696 x^2 y^2` over the BN254 scalar field.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct BabyJubJubConfig;

impl CurveConfig for BabyJubJubConfig {
    type BaseField = Fr;
    type ScalarField = Fl;
    const COFACTOR: &'static [u64] = &[8];
    const COFACTOR_INV: Fl =
        MontFp!("2394026564107420727433200628387514462817212225638746351800188703329891451411");
}

impl TECurveConfig for BabyJubJubConfig {
    const COEFF_A: Fr = MontFp!("168700");
    const COEFF_D: Fr = MontFp!("168696");
    /// circomlib's `Base8`, a generator of the prime-order subgroup.
    const GENERATOR: Point = Point::new_unchecked(BASE8_X, BASE8_Y);
    type MontCurveConfig = BabyJubJubConfig;
}

impl MontCurveConfig for BabyJubJubConfig {
    /// `2 (a + d) / (a - d)`.
    const COEFF_A: Fr = MontFp!("168698");
    /// `4 / (a - d)`.
    const COEFF_B: Fr = MontFp!("1");
    type TECurveConfig = BabyJubJubConfig;
}

/// x of circomlib's `Base8`.
pub const BASE8_X: Fr =
    MontFp!("5299619240641551281634865583518297030282874472190772894086521144482721001553");
/// y of circomlib's `Base8`.
pub const BASE8_Y: Fr =
    MontFp!("16950150798460657717958625567821834550301663161624707787222815936182638968203");

/// circomlib's `Base8`.
pub fn base8() -> Point {
    Point::new_unchecked(BASE8_X, BASE8_Y)
}

/// The point with this `y` whose x is at most `(r - 1) / 2` (`sign == false`) or above it
/// (`sign == true`), if `y` is on the curve; circomlib's rule for which root a packed key means.
pub fn point_from_y(y: Fr, sign: bool) -> Option<Point> {
    use ark_ff::{Field, PrimeField};
    let y2 = y.square();
    let a = <BabyJubJubConfig as TECurveConfig>::COEFF_A;
    let d = <BabyJubJubConfig as TECurveConfig>::COEFF_D;
    // a - d y^2 is never 0: a / d is not a square.
    let x2 = (Fr::from(1u64) - y2) * (a - d * y2).inverse()?;
    let root = x2.sqrt()?;
    let (small, large) = if is_negative(root) { (-root, root) } else { (root, -root) };
    let x = if sign { large } else { small };
    // x = 0 has no root above (r - 1) / 2: such a key cannot carry the sign bit.
    if sign && x == Fr::from(0u64) {
        return None;
    }
    let p = Point::new_unchecked(x, y);
    debug_assert!(p.is_on_curve() && x.into_bigint() != Fr::MODULUS);
    Some(p)
}

/// Whether `x > (r - 1) / 2`: circomlib's sign of a coordinate (`F.lt(x, 0)` in ffjavascript).
pub fn is_negative(x: Fr) -> bool {
    use ark_ff::PrimeField;
    x.into_bigint() > Fr::MODULUS_MINUS_ONE_DIV_TWO
}

/// The eight points of order dividing 8 (the identity first): what `8·A = identity` rules out.
pub fn torsion_points() -> Vec<Point> {
    use ark_ec::{AdditiveGroup, AffineRepr, CurveGroup};
    use ark_ff::{PrimeField, Zero};
    let order_8 = (2u64..)
        .filter_map(|y| point_from_y(Fr::from(y), false))
        .map(|p| p.mul_bigint(Fl::MODULUS))
        .find(|t| !(t.double().double()).is_zero())
        .expect("the curve has a point of order 8");
    (0..8u64).map(|k| (order_8 * Fl::from(k)).into_affine()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
    use ark_ff::{Field, PrimeField, Zero};

    #[test]
    fn base8_is_on_the_curve_and_of_order_l() {
        let b = base8();
        assert!(b.is_on_curve());
        assert!(b.is_in_correct_subgroup_assuming_on_curve());
        assert!(!b.is_zero());
        assert!(b.mul_bigint(Fl::MODULUS).is_zero());
    }

    #[test]
    fn same_group_as_ark_ed_on_bn254_up_to_scaling_x() {
        // x' = sqrt(168700) x maps circomlib's model onto arkworks' a = 1 model.
        let s = Fr::from(168700u64).sqrt().unwrap();
        let mapped = ark_ed_on_bn254::EdwardsAffine::new_unchecked(BASE8_X * s, BASE8_Y);
        assert!(mapped.is_on_curve());
        assert!(mapped.is_in_correct_subgroup_assuming_on_curve());
    }

    #[test]
    fn torsion_points_have_order_dividing_8() {
        let t = torsion_points();
        assert_eq!(t.len(), 8);
        assert!(t[0].is_zero());
        for (i, p) in t.iter().enumerate() {
            assert!(p.is_on_curve());
            assert!(p.mul_by_cofactor().is_zero());
            assert!(t[..i].iter().all(|q| q != p), "distinct");
        }
    }

    #[test]
    fn point_from_y_picks_the_root_by_sign() {
        let b = base8();
        let p = point_from_y(b.y, is_negative(b.x)).unwrap();
        assert_eq!(p, b);
        let q = point_from_y(b.y, !is_negative(b.x)).unwrap();
        assert_eq!(q.x, -b.x);
        assert!(point_from_y(Fr::from(1u64), true).is_none(), "x = 0 with the sign bit");
    }

    #[test]
    fn generator_matches_base8() {
        assert_eq!(PointProjective::generator().into_affine(), base8());
    }
}
