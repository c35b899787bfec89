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
use std::path::Path;

use crate::grouped::Grouped;
use crate::iden3::container::write_atomically_with;
use crate::iden3::zkey::{Coefficient, Header, Matrix, ZkeyWriter, SECTION_A, SECTION_B1, SECTION_H, SECTION_L};
use crate::prover::msm::{msm, BatchInverse};
use crate::Fr;

/// snarkjs hashes the H points in chunks of this many, and a last chunk as long as the others:
/// from a domain of 2^15 points on it hashes n points where it announces n - 1.
pub const CS_HASH_CHUNK: u64 = 1 << 14;


/// One part of the initial key, as [`initial_key`] hands them over: in the order `zkey new`
/// writes its sections (2, 4, 3, 9, 8, 5, 6, 7), each computed when the one before is gone.
pub enum Part<'a> {
    /// Section 2.
    Header(&'a Header),
    /// Section 4.
    Coefficients(&'a [Coefficient]),
    /// Section 3, IC.
    Ic(&'a [G1Affine]),
    /// Section 9, H.
    H(&'a [G1Affine]),
    /// Section 8, C (the L query).
    L(&'a [G1Affine]),
    /// Section 5, A.
    A(&'a [G1Affine]),
    /// Section 6, B in G1.
    B1(&'a [G1Affine]),
    /// Section 7, B in G2.
    B2(&'a [G2Affine]),
}

/// The initial `.zkey` of `r1cs` from `ptau` written to `out` a section at a time, whole or
/// not at all; its circuit hash.
pub fn new_zkey_file(r1cs: &R1cs, ptau: &mut Ptau, out: &Path) -> Result<[u8; 64], CeremonyError> {
    let mut cs_hash = [0u8; 64];
    write_atomically_with(out, |file| {
        let mut sink = Some(file);
        let mut writer: Option<ZkeyWriter<_>> = None;
        cs_hash = initial_key(r1cs, ptau, |part| {
            match (part, writer.as_mut()) {
                (Part::Header(h), _) => writer = Some(ZkeyWriter::new(sink.take().expect("one header"), h)?),
                (Part::Coefficients(c), Some(w)) => w.coefficients(c)?,
                (Part::Ic(p), Some(w)) => w.g1s(3, p)?,
                (Part::H(p), Some(w)) => w.g1s(SECTION_H, p)?,
                (Part::L(p), Some(w)) => w.g1s(SECTION_L, p)?,
                (Part::A(p), Some(w)) => w.g1s(SECTION_A, p)?,
                (Part::B1(p), Some(w)) => w.g1s(SECTION_B1, p)?,
                (Part::B2(p), Some(w)) => w.g2s(p)?,
                (_, None) => unreachable!("initial_key hands over the header first"),
            }
            Ok(())
        })?;
        writer.expect("the header came first").finish(&cs_hash, &[])?;
        Ok::<_, CeremonyError>(())
    })?;
    Ok(cs_hash)
}

/// The initial `.zkey` of `r1cs` from the prepared `ptau`, handed to `part` a section at a
/// time (so that a writer or a verifier holds one section, not the key); its circuit hash.
///
/// The domain is the smallest power of two above `constraints + public`. Refused: a domain
/// beyond the ptau's power; and a domain of 2^15 points or more equal to the ptau's power,
/// where snarkjs's circuit hash reads one point past the ptau's section 2 (use a ptau one power
/// larger: then our key and snarkjs's are identical).
pub fn initial_key(r1cs: &R1cs, ptau: &mut Ptau, mut part: impl FnMut(Part) -> Result<(), CeremonyError>) -> Result<[u8; 64], CeremonyError> {
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
    part(Part::Header(&header))?;
    let mut hasher = Blake2b512::new();
    for p in [header.alpha1, header.beta1] {
        hasher.update(g1_uncompressed(&p));
    }
    for p in [header.beta2, header.gamma2] {
        hasher.update(g2_uncompressed(&p));
    }
    hasher.update(g1_uncompressed(&header.delta1));
    hasher.update(g2_uncompressed(&header.delta2));

    let coefficients = zkey_coefficients(r1cs);
    part(Part::Coefficients(&coefficients))?;
    // Each signal's A and B entries (as indices into the coefficients) and C terms, in
    // snarkjs's order: IC and C take beta for A's entries, alpha for B's, tau for C's.
    let nv = n_vars as usize;
    let np = n_public as usize;
    let entries = |matrix: Matrix| {
        let all = coefficients.iter().enumerate().filter(move |(_, e)| e.matrix == matrix);
        Grouped::of(nv, all.map(|(i, e)| (e.signal, i as u32)))
    };
    let (a_of, b_of) = rayon::join(|| entries(Matrix::A), || entries(Matrix::B));
    let c_of = Grouped::of(
        nv,
        r1cs.constraints.iter().enumerate().flat_map(|(row, [_, _, c])| c.iter().map(move |(s, v)| (*s, (row as u32, *v)))),
    );
    let on = |of: &Grouped<u32>, s: usize, table: &[G1Affine]| -> Vec<(G1Affine, Fr)> {
        of.group(s).iter().map(|i| coefficients[*i as usize]).map(|e| (table[e.constraint as usize], e.value)).collect()
    };
    let normalize = |points: Vec<G1Projective>| G1Projective::normalize_batch(&points);

    // IC and C.
    let lag1 = ptau.lagrange_g1(n)?;
    let k = {
        let alpha_lag = ptau.alpha_lagrange_g1(n)?;
        let beta_lag = ptau.beta_lagrange_g1(n)?;
        normalize(
            (0..nv)
                .into_par_iter()
                .map(|s| {
                    let mut terms = on(&a_of, s, &beta_lag);
                    terms.extend(on(&b_of, s, &alpha_lag));
                    terms.extend(c_of.group(s).iter().map(|(row, v)| (lag1[*row as usize], *v)));
                    combine(&terms)
                })
                .collect(),
        )
    };
    drop(c_of);
    let (ic, c) = k.split_at(np + 1);
    part(Part::Ic(ic))?;
    hash_g1s(&mut hasher, ic);
    // The "H points" of the libsnark form, (tau^(i+n) - tau^i) G1, as snarkjs counts them.
    hasher.update(((n - 1) as u32).to_be_bytes());
    let chunk = (n - 1).min(CS_HASH_CHUNK);
    let hashed = (n - 1).div_ceil(chunk) * chunk;
    let (low, high) = (ptau.tau_g1(0, hashed)?, ptau.tau_g1(n, hashed)?);
    let diff: Vec<G1Projective> = low.par_iter().zip(high.par_iter()).map(|(l, h)| h.into_group() - l).collect();
    drop((low, high));
    for p in normalize(diff) {
        hasher.update(g1_uncompressed(&p));
    }
    // H: the odd points of the 2n domain's block.
    let h: Vec<G1Affine> = ptau.lagrange_g1(2 * n)?.into_iter().skip(1).step_by(2).collect();
    part(Part::H(&h))?;
    drop(h);
    part(Part::L(c))?;
    hash_g1s(&mut hasher, c);
    drop(k);

    let a = normalize((0..nv).into_par_iter().map(|s| combine(&on(&a_of, s, &lag1))).collect());
    part(Part::A(&a))?;
    hash_g1s(&mut hasher, &a);
    drop((a, a_of));
    let b1 = normalize((0..nv).into_par_iter().map(|s| combine(&on(&b_of, s, &lag1))).collect());
    part(Part::B1(&b1))?;
    hash_g1s(&mut hasher, &b1);
    drop((b1, lag1));
    let lag2 = ptau.lagrange_g2(n)?;
    let b2: Vec<G2Projective> = (0..nv)
        .into_par_iter()
        .map(|s| {
            let terms: Vec<(G2Affine, Fr)> = b_of.group(s).iter().map(|i| coefficients[*i as usize]).map(|e| (lag2[e.constraint as usize], e.value)).collect();
            combine(&terms)
        })
        .collect();
    let b2 = G2Projective::normalize_batch(&b2);
    part(Part::B2(&b2))?;
    hasher.update((b2.len() as u32).to_be_bytes());
    for p in &b2 {
        hasher.update(g2_uncompressed(p));
    }
    Ok(hasher.finalize().into())
}

/// A list of G1 points as the circuit hash takes it: its length (big-endian u32), then each
/// point uncompressed.
fn hash_g1s(hasher: &mut Blake2b512, points: &[G1Affine]) {
    hasher.update((points.len() as u32).to_be_bytes());
    for p in points {
        hasher.update(g1_uncompressed(p));
    }
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
