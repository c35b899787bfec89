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
    fn generator_matches_base8() {
        assert_eq!(PointProjective::generator().into_affine(), base8());
    }
}
