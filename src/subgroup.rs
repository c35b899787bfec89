//! Membership of BN254 G2's prime-order subgroup, fast, for keys of many points.
//!
//! arkworks checks `psi(P) == [6 x^2] P`: a 127-bit scalar multiplication a point, about 100 µs
//! on the project's 2-core machines without IFMA, 13 s for the 240,640 G2 points of a 2^18
//! `.zkey` (five times the proof; BENCHMARKS.md). This module
//! checks the equivalent criterion of El Housni, Guillevic and Piellard (eprint 2022/352, for
//! BN curves), which needs only `[x] P` for the 63-bit seed `x`:
//!
//! ```text
//! [x + 1] P + psi([x] P) + psi^2([x] P) == psi^3([2x] P)
//! ```
//!
//! On G2, `psi` is multiplication by `p = 6x^2 (mod r)`, and the identity holds. Off it: the
//! twist's group is G2 times a cyclic group of order h (the cofactor, the product of four distinct
//! primes), `psi` acts on each prime-order part as a scalar, and the criterion kills a part only
//! if that scalar is a root of its polynomial modulo the prime. The tests put a point of each of
//! the four prime orders through it, which settles every case.
//!
//! `[x] P` is 62 doublings and 23 additions in ark-ec's Jacobian arithmetic (the seed's
//! non-adjacent form: 63 digits, 24 of them non-zero), where arkworks' check takes 126 and 69. The file readers check points in
//! parallel ([`crate::iden3::encoding`]).

use ark_bn254::{Fq2, G2Affine, G2Projective};
use ark_ec::{AdditiveGroup, AffineRepr};
use ark_ff::MontFp;

/// BN254's seed x (the curve's parameter: p and r are polynomials in it).
pub const SEED: u64 = 4_965_661_367_192_848_881;

/// `x` in non-adjacent form, most significant digit first (the top digit is 1).
fn seed_naf() -> &'static [i8] {
    static NAF: std::sync::OnceLock<Vec<i8>> = std::sync::OnceLock::new();
    NAF.get_or_init(naf_of_seed)
}

fn naf_of_seed() -> Vec<i8> {
    let mut digits = Vec::new();
    let mut k = SEED as u128;
    while k != 0 {
        let d = if k & 1 == 1 { 2 - (k & 3) as i8 } else { 0 };
        k = (k as i128 - d as i128) as u128 >> 1;
        digits.push(d);
    }
    digits.reverse();
    digits
}

/// `[x] P`, left to right over the seed's non-adjacent form, in ark-ec's Jacobian arithmetic.
pub fn mul_by_seed(p: &G2Affine) -> G2Projective {
    let mut acc = G2Projective::from(*p);
    for d in &seed_naf()[1..] {
        acc.double_in_place();
        match d {
            1 => acc += p,
            -1 => acc -= p,
            _ => {}
        }
    }
    acc
}

/// `psi`'s constants: x' = conj(x) PSI_X, y' = conj(y) PSI_Y (the twist's Frobenius).
const PSI_X: Fq2 = Fq2::new(
    MontFp!("21575463638280843010398324269430826099269044274347216827212613867836435027261"),
    MontFp!("10307601595873709700152284273816112264069230130616436755625194854815875713954"),
);
const PSI_Y: Fq2 = Fq2::new(
    MontFp!("2821565182194536844548159561693502659359617185244120367078079554186484126554"),
    MontFp!("3505843767911556378687030309984248845540243509899259641013678093033130930403"),
);

/// The untwist-Frobenius-twist endomorphism on Jacobian coordinates (x = X/Z^2, y = Y/Z^3, and
/// conjugation commutes with both quotients).
fn psi(q: &G2Projective) -> G2Projective {
    let (mut x, mut y, mut z) = (q.x, q.y, q.z);
    x.conjugate_in_place();
    y.conjugate_in_place();
    z.conjugate_in_place();
    G2Projective::new_unchecked(x * PSI_X, y * PSI_Y, z)
}

/// The criterion, given `q = [x] P`.
fn criterion_holds(p: &G2Affine, q: &G2Projective) -> bool {
    let psi_q = psi(q);
    let psi2_q = psi(&psi_q);
    let lhs = *q + p + psi_q + psi2_q;
    let rhs = psi(&psi(&psi(&q.double())));
    lhs == rhs
}

/// Whether a point already known to be on the curve lies in G2 (the identity does).
pub fn in_g2(p: &G2Affine) -> bool {
    p.is_zero() || criterion_holds(p, &mul_by_seed(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fr, G2Projective};
    use ark_ec::short_weierstrass::SWCurveConfig;
    use ark_ec::{CurveConfig, CurveGroup, PrimeGroup};
    use ark_ff::{BigInteger, Field, PrimeField, UniformRand};
    use ark_std::rand::{rngs::StdRng, SeedableRng};
    use num_bigint::BigUint;

    /// The cofactor's prime factors (h = 10069 * 5864401 * 1875725156269 * the fourth).
    const FACTORS: [&str; 4] = ["10069", "5864401", "1875725156269", "197620364512881247228717050342013327560683201906968909"];

    fn r() -> BigUint {
        BigUint::from_bytes_le(&Fr::MODULUS.to_bytes_le())
    }

    fn h() -> BigUint {
        BigUint::from_bytes_le(&ark_ff::BigInt::<4>(ark_bn254::g2::Config::COFACTOR.try_into().unwrap()).to_bytes_le())
    }

    /// A random point of the twist's whole group (x random, y its square root): almost never in
    /// G2.
    fn any_point(rng: &mut StdRng) -> G2Affine {
        loop {
            let x = Fq2::rand(rng);
            if let Some(y) = (x.square() * x + ark_bn254::g2::Config::COEFF_B).sqrt() {
                return G2Affine::new_unchecked(x, y);
            }
        }
    }

    fn times(p: &G2Affine, k: &BigUint) -> G2Affine {
        let mut digits = k.to_u64_digits();
        digits.resize(digits.len().max(1), 0);
        p.mul_bigint(&digits).into_affine()
    }

    /// The full check: `[r] P == 0`.
    fn in_g2_by_order(p: &G2Affine) -> bool {
        times(p, &r()).is_zero()
    }

    #[test]
    fn the_cofactor_is_the_product_of_the_four_primes_and_the_seed_naf_is_x() {
        let product = FACTORS.iter().map(|f| f.parse::<BigUint>().unwrap()).product::<BigUint>();
        assert_eq!(product, h());
        let value = seed_naf().iter().fold(0i128, |acc, d| 2 * acc + *d as i128);
        assert_eq!(value, SEED as i128);
        assert!(seed_naf().windows(2).all(|w| w[0] == 0 || w[1] == 0), "non-adjacent");
    }

    #[test]
    fn multiples_of_the_generator_are_in_g2() {
        let mut rng = StdRng::seed_from_u64(1);
        let points: Vec<G2Affine> = (0..300).map(|_| (G2Projective::generator() * Fr::rand(&mut rng)).into_affine()).collect();
        for p in &points[..20] {
            assert!(in_g2(p) && in_g2_by_order(p));
            assert_eq!(mul_by_seed(p), *p * Fr::from(SEED));
        }
        assert!(points.iter().all(in_g2));
        assert!(in_g2(&G2Affine::identity()));
    }

    #[test]
    fn random_points_of_the_twist_agree_with_the_full_check() {
        let mut rng = StdRng::seed_from_u64(2);
        for _ in 0..40 {
            let p = any_point(&mut rng);
            assert!(p.is_on_curve());
            assert_eq!(in_g2(&p), in_g2_by_order(&p));
            assert!(!in_g2(&p), "a random point of the twist is in G2 with probability 1/h");
            // Cleared of its cofactor, it is in G2.
            let cleared = times(&p, &h());
            assert!(in_g2(&cleared) && in_g2_by_order(&cleared));
        }
    }

    /// A point of each prime order dividing h, alone and added to a point of G2: the criterion
    /// refuses every one, so it refuses every point off G2 (see the module's comment).
    #[test]
    fn a_point_of_each_torsion_order_is_refused_alone_and_beside_g2() {
        let mut rng = StdRng::seed_from_u64(3);
        let (r, h) = (r(), h());
        for f in FACTORS {
            let l: BigUint = f.parse().unwrap();
            let t = loop {
                let t = times(&any_point(&mut rng), &(&r * &h / &l));
                if !t.is_zero() {
                    break t;
                }
            };
            assert!(times(&t, &l).is_zero(), "order {l}");
            let g = (G2Projective::generator() * Fr::rand(&mut rng)).into_affine();
            let mixed = (g + t).into_affine();
            for p in [t, mixed] {
                assert!(!in_g2_by_order(&p));
                assert!(!in_g2(&p), "order {l} passed the criterion");
            }
        }
    }

    #[test]
    fn a_key_section_names_its_point_off_g2_or_off_the_curve() {
        use crate::iden3::encoding::{g2s_bytes, read_g2s, read_g2s_with, Check};
        use crate::iden3::FormatError;
        let mut rng = StdRng::seed_from_u64(4);
        let mut points: Vec<G2Affine> = (0..3000).map(|_| (G2Projective::generator() * Fr::rand(&mut rng)).into_affine()).collect();
        points.push(G2Affine::identity());
        assert_eq!(read_g2s(&g2s_bytes(&points), "B2").unwrap(), points);
        // One bad point at a time: the parallel reader names the one it meets.
        let err = |points: &[G2Affine]| read_g2s(&g2s_bytes(points), "B2").unwrap_err();
        let good = points[2500];
        points[2500] = any_point(&mut rng);
        assert!(matches!(err(&points), FormatError::NotInSubgroup { what } if what == "B2[2500]"));
        // Without the subgroup check (a contribution's copy of B2), the point off G2 passes.
        assert!(read_g2s_with(&g2s_bytes(&points), "B2", Check::Curve).is_ok());
        points[2500] = good;
        points[1000] = G2Affine::new_unchecked(points[0].x, points[0].x);
        assert!(matches!(err(&points), FormatError::NotOnCurve { what } if what == "B2[1000]"));
        points[1000] = points[1];
        assert!(read_g2s_with(&g2s_bytes(&points), "B2", Check::Curve).is_ok());
    }
}
