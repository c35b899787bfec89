//! The initial `.zkey` of a circuit, as `snarkjs groth16 setup` (`zkey new`) makes it, byte for
//! byte: every point of the key is a combination of the ptau's Lagrange points with the
//! `.r1cs`'s coefficients, gamma and delta are the generators, and section 10 holds the circuit
//! hash (blake2b-512 of the key's points in uncompressed form) and no contributions.

use ark_bn254::{G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AffineRepr, CurveGroup};
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
    let a: Vec<G1Projective> = a_terms.par_iter().map(|t| combine(t, &lag1)).collect();
    let b1: Vec<G1Projective> = b_terms.par_iter().map(|t| combine(t, &lag1)).collect();
    let b2: Vec<G2Projective> = b_terms.par_iter().map(|t| combine(t, &lag2)).collect();
    let k: Vec<G1Projective> = (0..nv)
        .into_par_iter()
        .map(|s| combine(&k_tau[s], &lag1) + combine(&k_alpha[s], &alpha_lag) + combine(&k_beta[s], &beta_lag))
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

/// Terms past which a signal's combination is one MSM rather than a sum of products: the
/// constant signal 0 takes a term from most constraints, often with full-size coefficients.
const MSM_TERMS: usize = 64;

/// `sum v * table[row]` over the terms.
fn combine<P: SWCurveConfig<ScalarField = Fr>>(terms: &[(u32, Fr)], table: &[Affine<P>]) -> Projective<P>
where
    P::BaseField: BatchInverse,
{
    if terms.len() > MSM_TERMS {
        let bases: Vec<Affine<P>> = terms.iter().map(|(row, _)| table[*row as usize]).collect();
        let scalars: Vec<_> = terms.iter().map(|(_, v)| v.into_bigint()).collect();
        return msm(&bases, &scalars);
    }
    terms.iter().fold(Projective::<P>::zero(), |acc, (row, v)| acc + times(table[*row as usize], v))
}

/// `v * p`: the coefficients of circuits are mostly small (1, powers of two) or small negatives
/// (`r - 2^k`), so the shorter of `v` and `-v` is multiplied (double-and-add costs its length).
fn times<P: AffineRepr<ScalarField = Fr>>(p: P, v: &Fr) -> P::Group {
    if v.is_one() {
        return p.into_group();
    }
    let neg = -*v;
    if neg.is_one() {
        return -p.into_group();
    }
    let (a, b) = (v.into_bigint(), neg.into_bigint());
    let short = a.num_bits().min(b.num_bits());
    if short > 128 {
        // A full-size scalar (a Poseidon constant, say): the group's own multiplication, which
        // for G1 splits the scalar with the GLV endomorphism.
        p.into_group() * v
    } else if b.num_bits() < a.num_bits() {
        -p.mul_bigint(b)
    } else {
        p.mul_bigint(a)
    }
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
