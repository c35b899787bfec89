//! Field elements and points as snarkjs stores them.
//!
//! - Canonical little-endian scalars (`.r1cs`, `.wtns`): 32 bytes of the value, below r.
//! - "LEM" field elements (`.ptau`, `.zkey`): 32 bytes little-endian of `x * 2^256 mod p`, which
//!   is arkworks' internal Montgomery form, limb for limb.
//! - Points: affine `x || y` (G1, 64 bytes) and `x.c0 || x.c1 || y.c0 || y.c1` (G2, 128 bytes),
//!   each coordinate LEM; the point at infinity is all zero bytes.
//! - Section-4 coefficients of a `.zkey`: the little-endian bytes of `c * R^2 mod r`.
//!
//! Every reader refuses values at or above the modulus and points off the curve; G2 points are
//! checked for the prime-order subgroup too (G1 of BN254 has cofactor 1).

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, BigInteger, MontConfig, PrimeField};
use rayon::prelude::*;

use super::FormatError;
use crate::Fr;

/// Bytes of a field element of BN254 (either field).
pub const N8: usize = 32;
/// Bytes of a G1 point.
pub const G1_BYTES: usize = 64;
/// Bytes of a G2 point.
pub const G2_BYTES: usize = 128;

fn limbs(bytes: &[u8]) -> BigInt<4> {
    BigInt::new(std::array::from_fn(|i| u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"))))
}

fn le_bytes(b: &BigInt<4>) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, limb) in b.0.iter().enumerate() {
        out[8 * i..8 * i + 8].copy_from_slice(&limb.to_le_bytes());
    }
    out
}

/// A canonical little-endian scalar, refused at or above r.
pub fn read_fr(bytes: &[u8], what: impl FnOnce() -> String) -> Result<Fr, FormatError> {
    Fr::from_bigint(limbs(bytes)).ok_or_else(|| FormatError::NotCanonical { what: what() })
}

/// A scalar as canonical little-endian bytes.
pub fn fr_bytes(x: &Fr) -> [u8; 32] {
    le_bytes(&x.into_bigint())
}

/// The modulus of `F` as 32 little-endian bytes (as the headers carry it).
pub fn modulus_bytes<F: PrimeField<BigInt = BigInt<4>>>() -> [u8; 32] {
    le_bytes(&F::MODULUS)
}

/// An LEM base-field element, refused at or above q.
pub fn read_fq_lem(bytes: &[u8], what: impl FnOnce() -> String) -> Result<Fq, FormatError> {
    let b = limbs(bytes);
    if b >= <ark_bn254::FqConfig as MontConfig<4>>::MODULUS {
        return Err(FormatError::NotCanonical { what: what() });
    }
    Ok(Fq::new_unchecked(b))
}

/// An LEM scalar, refused at or above r.
pub fn read_fr_lem(bytes: &[u8], what: impl FnOnce() -> String) -> Result<Fr, FormatError> {
    let b = limbs(bytes);
    if b >= <ark_bn254::FrConfig as MontConfig<4>>::MODULUS {
        return Err(FormatError::NotCanonical { what: what() });
    }
    Ok(Fr::new_unchecked(b))
}

/// A base-field element as LEM bytes.
pub fn fq_lem(x: &Fq) -> [u8; 32] {
    le_bytes(&x.0)
}

/// A scalar as LEM bytes.
pub fn fr_lem(x: &Fr) -> [u8; 32] {
    le_bytes(&x.0)
}

/// A `.zkey` section-4 coefficient: stored `v = c * R^2 mod r`, so `c = v * R^-2`.
pub fn read_coefficient(bytes: &[u8], what: impl FnOnce() -> String) -> Result<Fr, FormatError> {
    let v = read_fr_lem(bytes, what)?; // the element v * R^-1
    Ok(Fr::new_unchecked(v.into_bigint())) // (v * R^-1) * R^-1
}

/// A coefficient as section 4 stores it: the limbs of `c * R`'s Montgomery form, `c * R^2`.
pub fn coefficient_bytes(c: &Fr) -> [u8; 32] {
    let r = Fr::new_unchecked(Fr::R2); // R^2 * R^-1 = R
    fr_lem(&(*c * r))
}

/// How much a reader checks of each point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Coordinates below the modulus, the curve equation, and G2's subgroup.
    Full,
    /// Coordinates below the modulus and the curve equation, no subgroup check: for points a
    /// step copies unchanged (a contribution copies B2; `ceremony verify` checks it).
    Curve,
    /// Coordinates below the modulus only: for a file whose hash was pinned after a full check.
    PinnedByHash,
}

/// A G1 point, LEM, checked on the curve.
pub fn read_g1(bytes: &[u8], what: impl Fn() -> String) -> Result<G1Affine, FormatError> {
    read_g1_with(bytes, what, Check::Full)
}

/// A G1 point, LEM, checked as `check` says.
pub fn read_g1_with(bytes: &[u8], what: impl Fn() -> String, check: Check) -> Result<G1Affine, FormatError> {
    if bytes[..G1_BYTES].iter().all(|b| *b == 0) {
        return Ok(G1Affine::identity());
    }
    let x = read_fq_lem(&bytes[..32], || format!("{}.x", what()))?;
    let y = read_fq_lem(&bytes[32..64], || format!("{}.y", what()))?;
    let p = G1Affine::new_unchecked(x, y);
    if check != Check::PinnedByHash && !p.is_on_curve() {
        return Err(FormatError::NotOnCurve { what: what() });
    }
    Ok(p)
}

/// A G2 point, LEM, checked on the curve and in the prime-order subgroup.
pub fn read_g2(bytes: &[u8], what: impl Fn() -> String) -> Result<G2Affine, FormatError> {
    read_g2_with(bytes, what, Check::Full)
}

/// A G2 point, LEM, checked as `check` says.
pub fn read_g2_with(bytes: &[u8], what: impl Fn() -> String, check: Check) -> Result<G2Affine, FormatError> {
    if bytes[..G2_BYTES].iter().all(|b| *b == 0) {
        return Ok(G2Affine::identity());
    }
    let f = |i: usize, name: &str| read_fq_lem(&bytes[32 * i..32 * i + 32], || format!("{}.{name}", what()));
    let x = Fq2::new(f(0, "x.c0")?, f(1, "x.c1")?);
    let y = Fq2::new(f(2, "y.c0")?, f(3, "y.c1")?);
    let p = G2Affine::new_unchecked(x, y);
    if check == Check::PinnedByHash {
        return Ok(p);
    }
    if !p.is_on_curve() {
        return Err(FormatError::NotOnCurve { what: what() });
    }
    if check == Check::Full && !crate::subgroup::in_g2(&p) {
        return Err(FormatError::NotInSubgroup { what: what() });
    }
    Ok(p)
}

/// A G1 point as LEM bytes (zero for infinity).
pub fn g1_bytes(p: &G1Affine) -> [u8; 64] {
    let mut out = [0u8; 64];
    if let Some((x, y)) = p.xy() {
        out[..32].copy_from_slice(&fq_lem(&x));
        out[32..].copy_from_slice(&fq_lem(&y));
    }
    out
}

/// A G2 point as LEM bytes (zero for infinity).
pub fn g2_bytes(p: &G2Affine) -> [u8; 128] {
    let mut out = [0u8; 128];
    if let Some((x, y)) = p.xy() {
        for (i, c) in [x.c0, x.c1, y.c0, y.c1].iter().enumerate() {
            out[32 * i..32 * i + 32].copy_from_slice(&fq_lem(c));
        }
    }
    out
}

/// Many G1 points, checked in parallel; errors name `what[i]`.
pub fn read_g1s(bytes: &[u8], what: &str) -> Result<Vec<G1Affine>, FormatError> {
    read_g1s_with(bytes, what, Check::Full)
}

/// Many G1 points, checked as `check` says, in parallel.
pub fn read_g1s_with(bytes: &[u8], what: &str, check: Check) -> Result<Vec<G1Affine>, FormatError> {
    read_g1s_from(bytes, what, 0, check)
}

/// [`read_g1s_with`] for a run of points whose first is `what[first]`.
pub fn read_g1s_from(bytes: &[u8], what: &str, first: usize, check: Check) -> Result<Vec<G1Affine>, FormatError> {
    read_into(bytes, G1_BYTES, G1Affine::identity(), |i, b| read_g1_with(b, || format!("{what}[{}]", first + i), check))
}

/// Parse `bytes` as records of `size` bytes, in parallel, into one vector allocated once (a
/// fallible parallel collect would gather pieces and copy them again).
pub(super) fn read_into<T: Copy + Send + Sync>(
    bytes: &[u8],
    size: usize,
    blank: T,
    parse: impl Fn(usize, &[u8]) -> Result<T, FormatError> + Sync,
) -> Result<Vec<T>, FormatError> {
    let mut out = vec![blank; bytes.len() / size];
    out.par_iter_mut().zip(bytes.par_chunks_exact(size)).enumerate().with_min_len(1024).try_for_each(|(i, (slot, b))| {
        *slot = parse(i, b)?;
        Ok(())
    })?;
    Ok(out)
}

/// Many G2 points, checked in parallel; errors name `what[i]`.
pub fn read_g2s(bytes: &[u8], what: &str) -> Result<Vec<G2Affine>, FormatError> {
    read_g2s_with(bytes, what, Check::Full)
}

/// Many G2 points, checked as `check` says, in parallel.
pub fn read_g2s_with(bytes: &[u8], what: &str, check: Check) -> Result<Vec<G2Affine>, FormatError> {
    read_g2s_from(bytes, what, 0, check)
}

/// [`read_g2s_with`] for a run of points whose first is `what[first]`.
pub fn read_g2s_from(bytes: &[u8], what: &str, first: usize, check: Check) -> Result<Vec<G2Affine>, FormatError> {
    read_into(bytes, G2_BYTES, G2Affine::identity(), |i, b| read_g2_with(b, || format!("{what}[{}]", first + i), check))
}

/// Many G1 points as LEM bytes, concatenated.
pub fn g1s_bytes(points: &[G1Affine]) -> Vec<u8> {
    points.par_iter().flat_map_iter(g1_bytes).collect()
}

/// Many G2 points as LEM bytes, concatenated.
pub fn g2s_bytes(points: &[G2Affine]) -> Vec<u8> {
    points.par_iter().flat_map_iter(g2_bytes).collect()
}

/// The uncompressed big-endian form snarkjs hashes: G1 `x || y`, all zero for infinity.
pub fn g1_uncompressed(p: &G1Affine) -> [u8; 64] {
    let mut out = [0u8; 64];
    if let Some((x, y)) = p.xy() {
        out[..32].copy_from_slice(&x.into_bigint().to_bytes_be());
        out[32..].copy_from_slice(&y.into_bigint().to_bytes_be());
    }
    out
}

/// The uncompressed big-endian form of a G2 point: `x.c1 || x.c0 || y.c1 || y.c0`.
pub fn g2_uncompressed(p: &G2Affine) -> [u8; 128] {
    let mut out = [0u8; 128];
    if let Some((x, y)) = p.xy() {
        for (i, c) in [x.c1, x.c0, y.c1, y.c0].iter().enumerate() {
            out[32 * i..32 * i + 32].copy_from_slice(&c.into_bigint().to_bytes_be());
        }
    }
    out
}
