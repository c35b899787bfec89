//! The initial `.zkey` of a circuit, as `snarkjs groth16 setup` (`zkey new`) makes it, byte for
//! byte: every point of the key is a combination of the ptau's Lagrange points with the
//! `.r1cs`'s coefficients, gamma and delta are the generators, and section 10 holds the circuit
//! hash (blake2b-512 of the key's points in uncompressed form) and no contributions.

use ark_bn254::{G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ec::short_weierstrass::{Affine, Projective};
use ark_ec::{AdditiveGroup, AffineRepr, CurveGroup};
use ark_ff::{BigInteger, One, PrimeField, Zero};
use blake2::{Blake2b512, Digest};
use rayon::prelude::*;

use super::CeremonyError;
use crate::iden3::encoding::{g1_uncompressed, g2_uncompressed};
use crate::iden3::ptau::Ptau;
use crate::iden3::r1cs::R1cs;
use crate::iden3::zkey::{Coefficient, Header, Matrix, Zkey};
use crate::prover::msm::{msm, BatchInverse};
use crate::Fr;

/// snarkjs hashes the H points in chunks of this many, and a last chunk as long as the others:
/// from a domain of 2^15 points on it hashes n points where it announces n - 1.
pub const CS_HASH_CHUNK: u64 = 1 << 14;


/// The initial `.zkey` of `r1cs` from the prepared `ptau`.
///
/// The domain is the smallest power of two above `constraints + public`. Refused: a domain
/// beyond the ptau's power; and a domain of 2^15 points or more equal to the ptau's power,
/// where snarkjs's circuit hash reads one point past the ptau's section 2 (use a ptau one power
/// larger: then our key and snarkjs's are identical).
pub fn new_zkey(r1cs: &R1cs, ptau: &mut Ptau) -> Result<Zkey, CeremonyError> {
    let m = r1cs.constraints.len() as u64;
    let n_public = r1cs.n_public() as u64;
    let n_vars = u64::from(r1cs.n_wires);
    if m == 0 {
        return Err(CeremonyError::Unfit("the circuit has no constraints".into()));
    }
    let n = (m + n_public + 1).next_power_of_two();
    let power = n.trailing_zeros();
    if power > ptau.power {
        return Err(CeremonyError::Unfit(format!(
            "{} constraints and {n_public} public signals need a domain of 2^{power}; {} has power {}",
            m,
            ptau.path().display(),
            ptau.power
        )));
    }
    if n > CS_HASH_CHUNK && power == ptau.power {
        return Err(CeremonyError::Unfit(format!(
            "a domain of 2^{power} points needs a ptau of power {} or more (snarkjs's circuit hash reads tau^(2n-1) G1)",
            power + 1
        )));
    }
    let lag1 = ptau.lagrange_g1(n)?;
    let lag2 = ptau.lagrange_g2(n)?;
    let alpha_lag = ptau.alpha_lagrange_g1(n)?;
    let beta_lag = ptau.beta_lagrange_g1(n)?;

    // Each signal's terms, row by row, in snarkjs's order: IC and C take beta for A's
    // entries, alpha for B's, tau for C's.
    let nv = n_vars as usize;
    let np = n_public as usize;
    let coefficients = zkey_coefficients(r1cs);
    let mut a_terms: Vec<Vec<(u32, Fr)>> = vec![Vec::new(); nv];
    let mut b_terms: Vec<Vec<(u32, Fr)>> = vec![Vec::new(); nv];
    // IC and C: their terms on the tau, alpha tau and beta tau Lagrange points.
    let mut k_tau: Vec<Vec<(u32, Fr)>> = vec![Vec::new(); nv];
    let mut k_alpha: Vec<Vec<(u32, Fr)>> = vec![Vec::new(); nv];
    let mut k_beta: Vec<Vec<(u32, Fr)>> = vec![Vec::new(); nv];
    for e in &coefficients {
        let (s, row) = (e.signal as usize, e.constraint);
        match e.matrix {
            Matrix::A => {
                a_terms[s].push((row, e.value));
                k_beta[s].push((row, e.value));
            }
            Matrix::B => {
                b_terms[s].push((row, e.value));
                k_alpha[s].push((row, e.value));
            }
        }
    }
    for (c, [_, _, cc]) in r1cs.constraints.iter().enumerate() {
        for (s, v) in cc {
            k_tau[*s as usize].push((c as u32, *v));
        }
    }
    let on = |terms: &[(u32, Fr)], table: &[G1Affine]| terms.iter().map(|(row, v)| (table[*row as usize], *v)).collect::<Vec<_>>();
    let a: Vec<G1Projective> = a_terms.par_iter().map(|t| combine(&on(t, &lag1))).collect();
    let b1: Vec<G1Projective> = b_terms.par_iter().map(|t| combine(&on(t, &lag1))).collect();
    let b2: Vec<G2Projective> =
        b_terms.par_iter().map(|t| combine(&t.iter().map(|(row, v)| (lag2[*row as usize], *v)).collect::<Vec<_>>())).collect();
    let k: Vec<G1Projective> = (0..nv)
        .into_par_iter()
        .map(|s| combine(&[on(&k_tau[s], &lag1), on(&k_alpha[s], &alpha_lag), on(&k_beta[s], &beta_lag)].concat()))
        .collect();
    drop((lag2, alpha_lag, beta_lag));
    let a = G1Projective::normalize_batch(&a);
    let b1 = G1Projective::normalize_batch(&b1);
    let b2 = G2Projective::normalize_batch(&b2);
    let k = G1Projective::normalize_batch(&k);
    let (ic, c) = (k[..=np].to_vec(), k[np + 1..].to_vec());

    // H: the odd points of the 2n domain's block.
    let lag_2n = ptau.lagrange_g1(2 * n)?;
    let h: Vec<G1Affine> = lag_2n.into_iter().skip(1).step_by(2).collect();

    let header = Header {
        n_vars: r1cs.n_wires,
        n_public: n_public as u32,
        domain_size: n as u32,
        alpha1: ptau.alpha_g1()?,
        beta1: ptau.beta_g1()?,
        beta2: ptau.beta_g2()?,
        gamma2: G2Affine::generator(),
        delta1: G1Affine::generator(),
        delta2: G2Affine::generator(),
    };
    let cs_hash = circuit_hash(&header, &ic, &c, &a, &b1, &b2, ptau, n)?;
    Ok(Zkey { header, ic, coefficients, a, b1, b2, c, h, cs_hash, contributions: Vec::new() })
}

/// Section 4 of the key of `r1cs`: each constraint's A entries, then its B entries, in the
/// file's order; then the input rows, `A[m + s][s] = 1` for each public signal `s` and the
/// constant (as libsnark's and ark-groth16's reductions add them).
pub fn zkey_coefficients(r1cs: &R1cs) -> Vec<Coefficient> {
    let mut out = Vec::new();
    for (c, [a, b, _]) in r1cs.constraints.iter().enumerate() {
        let c = c as u32;
        out.extend(a.iter().map(|(s, v)| Coefficient { matrix: Matrix::A, constraint: c, signal: *s, value: *v }));
        out.extend(b.iter().map(|(s, v)| Coefficient { matrix: Matrix::B, constraint: c, signal: *s, value: *v }));
    }
    let m = r1cs.constraints.len() as u32;
    for s in 0..=r1cs.n_public() as u32 {
        out.push(Coefficient { matrix: Matrix::A, constraint: m + s, signal: s, value: Fr::one() });
    }
    out
}

/// Terms past which a signal's combination is one MSM rather than a multi-scalar
/// double-and-add: the constant signal 0 takes a term from most constraints.
const MSM_TERMS: usize = 64;

/// `sum v * p` over the terms.
///
/// Circuits' coefficients are mostly 1, small, or small negatives (`r - 2^k`), but Poseidon's
/// linear layers, inlined, put full-size constants on the B side: at the default batch shape
/// (2^18) B has 1.66M full-size terms, each once in G2. So a combination is one double-and-add
/// over all its terms at once (Straus): each term adds its signed width-4 digits into one
/// accumulator, whose doublings are shared. A full-size scalar is first split in two halves of
/// about 128 bits with the curve's endomorphism (GLV), a small one (or its negation) is used as
/// it is, and 1 and -1 are plain additions.
fn combine<P: GLVConfig<ScalarField = Fr>>(terms: &[(Affine<P>, Fr)]) -> Projective<P>
where
    P::BaseField: BatchInverse,
{
    if terms.len() > MSM_TERMS {
        let (bases, scalars): (Vec<Affine<P>>, Vec<_>) = terms.iter().map(|(p, v)| (*p, v.into_bigint())).unzip();
        return msm(&bases, &scalars);
    }
    let mut plain = Projective::<P>::zero();
    // (odd multiples Q, 3Q, 5Q, 7Q of the lane's point; its digits, least significant first)
    let mut lanes: Vec<([Projective<P>; 4], Vec<i8>)> = Vec::new();
    let mut lane = |q: Projective<P>, k: u128| {
        let q2 = q.double();
        let mut odd = [q; 4];
        for i in 1..4 {
            odd[i] = odd[i - 1] + q2;
        }
        lanes.push((odd, signed_digits(k)));
    };
    for (p, v) in terms {
        if v.is_zero() || p.is_zero() {
            continue;
        }
        let neg = -*v;
        if v.is_one() {
            plain += p;
        } else if neg.is_one() {
            plain -= p;
        } else {
            let (a, b) = (v.into_bigint(), neg.into_bigint());
            let q = p.into_group();
            if a.num_bits() <= 128 {
                lane(q, low_u128(&a));
            } else if b.num_bits() <= 128 {
                lane(-q, low_u128(&b));
            } else {
                let ((s1, k1), (s2, k2)) = P::scalar_decomposition(*v);
                let q_endo = P::endomorphism(&q);
                lane(if s1 { q } else { -q }, low_u128(&k1.into_bigint()));
                lane(if s2 { q_endo } else { -q_endo }, low_u128(&k2.into_bigint()));
            }
        }
    }
    let top = lanes.iter().map(|(_, d)| d.len()).max().unwrap_or(0);
    let mut acc = Projective::<P>::zero();
    for i in (0..top).rev() {
        acc.double_in_place();
        for (odd, digits) in &lanes {
            match digits.get(i).copied().unwrap_or(0) {
                0 => {}
                d if d > 0 => acc += odd[(d / 2) as usize],
                d => acc -= odd[(-d / 2) as usize],
            }
        }
    }
    acc + plain
}

/// The low 128 bits of a scalar known to fit them.
fn low_u128<B: BigInteger>(b: &B) -> u128 {
    let limbs = b.as_ref();
    debug_assert!(limbs[2..].iter().all(|l| *l == 0), "the scalar fits 128 bits");
    u128::from(limbs[0]) | (u128::from(limbs[1]) << 64)
}

/// `k` in signed digits of width 4: each digit 0 or odd in [-7, 7], least significant first,
/// no two non-zero digits within 4 places; up to 129 digits (a carry past bit 127 is kept).
fn signed_digits(mut k: u128) -> Vec<i8> {
    let mut out = Vec::with_capacity(130);
    while k != 0 {
        let mut carry = false;
        if k & 1 == 1 {
            let m = (k & 15) as i8;
            let d = if m >= 8 { m - 16 } else { m };
            out.push(d);
            if d < 0 {
                (k, carry) = k.overflowing_add((-d) as u128);
            } else {
                k -= d as u128;
            }
        } else {
            out.push(0);
        }
        k = (k >> 1) | (u128::from(carry) << 127);
    }
    out
}

/// blake2b-512 over the key as snarkjs hashes it (uncompressed big-endian points; each list
/// after its length as a big-endian u32).
#[allow(clippy::too_many_arguments)]
fn circuit_hash(
    h: &Header,
    ic: &[G1Affine],
    c: &[G1Affine],
    a: &[G1Affine],
    b1: &[G1Affine],
    b2: &[G2Affine],
    ptau: &mut Ptau,
    n: u64,
) -> Result<[u8; 64], CeremonyError> {
    let mut hasher = Blake2b512::new();
    hasher.update(g1_uncompressed(&h.alpha1));
    hasher.update(g1_uncompressed(&h.beta1));
    hasher.update(g2_uncompressed(&h.beta2));
    hasher.update(g2_uncompressed(&h.gamma2));
    hasher.update(g1_uncompressed(&h.delta1));
    hasher.update(g2_uncompressed(&h.delta2));
    let g1s = |hasher: &mut Blake2b512, points: &[G1Affine]| {
        hasher.update((points.len() as u32).to_be_bytes());
        for p in points {
            hasher.update(g1_uncompressed(p));
        }
    };
    g1s(&mut hasher, ic);
    // The "H points" of the libsnark form, (tau^(i+n) - tau^i) G1, as snarkjs counts them.
    hasher.update(((n - 1) as u32).to_be_bytes());
    let chunk = (n - 1).min(CS_HASH_CHUNK);
    let hashed = (n - 1).div_ceil(chunk) * chunk;
    let low = ptau.tau_g1(0, hashed)?;
    let high = ptau.tau_g1(n, hashed)?;
    let diff: Vec<G1Projective> = low.par_iter().zip(high.par_iter()).map(|(l, h)| h.into_group() - l).collect();
    for p in G1Projective::normalize_batch(&diff) {
        hasher.update(g1_uncompressed(&p));
    }
    g1s(&mut hasher, c);
    g1s(&mut hasher, a);
    g1s(&mut hasher, b1);
    hasher.update((b2.len() as u32).to_be_bytes());
    for p in b2 {
        hasher.update(g2_uncompressed(p));
    }
    Ok(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{Field, UniformRand};
    use ark_std::rand::{rngs::StdRng, SeedableRng};

    /// Scalars at the edges of each path: 0, 1, -1, small, small negatives, at and around
    /// 2^64 and 2^128 (either sign), r - 1, and random full-size ones (the GLV split).
    fn edge_scalars(rng: &mut StdRng) -> Vec<Fr> {
        let two = Fr::from(2u64);
        let mut out = vec![Fr::zero(), Fr::one(), -Fr::one(), Fr::from(3u64), -Fr::from(5u64), Fr::from(u64::MAX)];
        for e in [63u64, 64, 65, 127, 128, 129, 200, 253] {
            let p = two.pow([e]);
            out.extend([p, -p, p - Fr::one(), -(p - Fr::one()), p + Fr::one()]);
        }
        out.extend((0..24).map(|_| Fr::rand(rng)));
        out
    }

    fn check<P: GLVConfig<ScalarField = Fr>>(rng: &mut StdRng)
    where
        P::BaseField: BatchInverse,
    {
        let scalars = edge_scalars(rng);
        let points: Vec<Affine<P>> = (0..scalars.len()).map(|_| (Affine::<P>::generator() * Fr::rand(rng)).into_affine()).collect();
        let terms: Vec<_> = points.iter().copied().zip(scalars.iter().copied()).collect();
        let expected = terms.iter().fold(Projective::<P>::zero(), |acc, (p, v)| acc + *p * v);
        // Every prefix (one lane, a few, all) and each term alone, with the identity among them.
        for len in [1, 2, 7, terms.len()] {
            let want = terms[..len].iter().fold(Projective::<P>::zero(), |acc, (p, v)| acc + *p * v);
            assert_eq!(combine(&terms[..len]), want, "{len} terms");
        }
        for (p, v) in &terms {
            assert_eq!(combine(&[(*p, *v)]), *p * v, "scalar {v}");
            assert_eq!(combine(&[(Affine::<P>::zero(), *v), (*p, *v)]), *p * v);
        }
        // Over MSM_TERMS: the MSM path gives the same.
        let many: Vec<_> = terms.iter().cycle().take(MSM_TERMS + 5).copied().collect();
        let want = many.iter().fold(Projective::<P>::zero(), |acc, (p, v)| acc + *p * v);
        assert_eq!(combine(&many), want);
        assert_eq!(combine(&terms), expected);
    }

    #[test]
    fn combinations_equal_the_sum_of_products_in_both_groups() {
        let mut rng = StdRng::seed_from_u64(17);
        check::<ark_bn254::g1::Config>(&mut rng);
        check::<ark_bn254::g2::Config>(&mut rng);
    }

    #[test]
    fn signed_digits_recompose_their_scalar() {
        for k in [0u128, 1, 7, 8, 15, 16, 255, u64::MAX as u128, u128::MAX, u128::MAX - 8, (1 << 127) + (1 << 126) - 1, 0x1234_5678_9abc_def0_1122_3344_5566_7788] {
            let d = signed_digits(k);
            let back = d.iter().rev().fold(0i128, |acc, x| acc.wrapping_mul(2).wrapping_add(i128::from(*x)));
            assert_eq!(back as u128, k, "{k}");
            assert!(d.iter().all(|x| *x == 0 || (x % 2 != 0 && x.abs() < 8)));
        }
    }
}
