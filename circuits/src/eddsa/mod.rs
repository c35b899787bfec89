//! EdDSA-Poseidon over Baby JubJub, as circomlibjs `prv2pub`, `signPoseidon`, `verifyPoseidon`.
//!
//! Keys: `h = BLAKE-512(private key)` (the original BLAKE, as circomlibjs' `blake-hash`), the
//! scalar `s` is `h[0..32]` little-endian after pruning (clear the low 3 bits and the top bit, set
//! bit 254), and `A = (s >> 3) · Base8`. Signing is deterministic: `r = BLAKE-512(h[32..64] ||
//! m as 32 bytes LE) mod l`, `R8 = r · Base8`, `S = (r + H(R8, A, m) · s) mod l`.
//! A signature is valid iff `R8` is on the curve, `S < l` and `S · Base8 == R8 + (8 h) · A`.

pub mod constraints;

use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInteger, PrimeField};
use ark_ec::AdditiveGroup;
use blake_hash::{Blake512, Digest};
use thiserror::Error;

use crate::babyjubjub::{base8, Fl, Point};
use crate::poseidon::poseidon;
use crate::Fr;

/// Why a public key is not acceptable.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum PublicKeyError {
    /// The point does not satisfy the curve equation.
    #[error("public key is not on Baby JubJub")]
    NotOnCurve,
    /// `8·A` is the identity (`A` has order 1, 2, 4 or 8): anyone could sign for it, or nobody.
    #[error("public key has small order (8·A is the identity)")]
    SmallOrder,
}

/// Why a signature does not verify.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum SignatureError {
    /// `R8` does not satisfy the curve equation.
    #[error("R8 is not on Baby JubJub")]
    R8NotOnCurve,
    /// `S >= l` (for example a malleated `S + l`).
    #[error("S is not below the subgroup order l")]
    SNotCanonical,
    /// The verification equation fails.
    #[error("signature does not match the key and message")]
    Mismatch,
}

/// A Baby JubJub public key: a point on the curve with `8·A != identity` (SPEC-v2 section 2).
///
/// It need not be in the prime-order subgroup: keys from L1 are not checked for that (it costs
/// a full scalar multiplication on chain), and verification only ever uses `8·A`, which is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PublicKey(Point);

impl PublicKey {
    /// Check and wrap the point `(x, y)`.
    pub fn from_coordinates(x: Fr, y: Fr) -> Result<Self, PublicKeyError> {
        Self::from_point(Point::new_unchecked(x, y))
    }

    /// Check and wrap a point.
    pub fn from_point(point: Point) -> Result<Self, PublicKeyError> {
        if !point.is_on_curve() {
            return Err(PublicKeyError::NotOnCurve);
        }
        if point.mul_by_cofactor().is_zero() {
            return Err(PublicKeyError::SmallOrder);
        }
        Ok(PublicKey(point))
    }

    /// The point.
    pub fn point(&self) -> Point {
        self.0
    }

    /// `Ax`.
    pub fn x(&self) -> Fr {
        self.0.x
    }

    /// `Ay`.
    pub fn y(&self) -> Fr {
        self.0.y
    }

    /// Verify `signature` on `message` (every check of the protocol, in circomlibjs' order).
    pub fn verify(&self, message: Fr, signature: &Signature) -> Result<(), SignatureError> {
        let r8 = Point::new_unchecked(signature.r8.0, signature.r8.1);
        if !r8.is_on_curve() {
            return Err(SignatureError::R8NotOnCurve);
        }
        let s = signature.s.into_bigint();
        if s >= Fl::MODULUS {
            return Err(SignatureError::SNotCanonical);
        }
        let h = challenge(signature.r8, self, message);
        let left = base8().mul_bigint(s);
        // (8 h) · A as the protocol states it: h · A doubled three times, never reduced mod l.
        let mut right = self.0.mul_bigint(h.into_bigint());
        for _ in 0..3 {
            right.double_in_place();
        }
        let right = right + r8;
        if left.into_affine() == right.into_affine() {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

/// `H(R8x, R8y, Ax, Ay, m)`, the challenge hashed into a signature.
pub fn challenge(r8: (Fr, Fr), key: &PublicKey, message: Fr) -> Fr {
    poseidon(&[r8.0, r8.1, key.x(), key.y(), message])
}

/// A signature `(R8, S)`. Coordinates and `S` are kept as received, so that verification (not
/// parsing) says which check fails; `S` is an integer below the BN254 field order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    /// The commitment point `R8 = (x, y)`, unchecked until verification.
    pub r8: (Fr, Fr),
    /// The response `S`, valid only below `l`.
    pub s: Fr,
}

/// A 32-byte private key, as circomlibjs takes it.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey([u8; 32]);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(..)")
    }
}

impl PrivateKey {
    /// Wrap 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        PrivateKey(bytes)
    }

    /// A key from the operating system's randomness.
    pub fn random<R: ark_std::rand::RngCore + ark_std::rand::CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        PrivateKey(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The public key `(s >> 3) · Base8`.
    pub fn public_key(&self) -> PublicKey {
        let (s, _) = self.scalar_and_nonce_key();
        PublicKey(base8().mul_bigint(shr3(&s)).into_affine())
    }

    /// The pruned scalar `s` (little-endian; it may exceed r, so it stays an integer) and the
    /// second half of the digest, which seeds the signing nonce.
    fn scalar_and_nonce_key(&self) -> ([u8; 32], [u8; 32]) {
        let digest = Blake512::digest(&self.0[..]);
        let mut s = [0u8; 32];
        s.copy_from_slice(&digest[..32]);
        s[0] &= 0xF8;
        s[31] &= 0x7F;
        s[31] |= 0x40;
        let mut nonce_key = [0u8; 32];
        nonce_key.copy_from_slice(&digest[32..]);
        (s, nonce_key)
    }

    /// Sign `message` deterministically, exactly as circomlibjs `signPoseidon`.
    pub fn sign(&self, message: Fr) -> Signature {
        self.sign_as(&self.public_key(), message)
    }

    /// Sign `message` for `key`, hashed into the challenge in place of this private key's
    /// public key. Valid exactly when `8·key` is `8·` that public key: `key` is it plus a point of
    /// order dividing 8, a key outside the prime-order subgroup (SPEC-v2 section 2).
    pub fn sign_as(&self, key: &PublicKey, message: Fr) -> Signature {
        let (s_bytes, nonce_key) = self.scalar_and_nonce_key();
        let mut preimage = [0u8; 64];
        preimage[..32].copy_from_slice(&nonce_key);
        preimage[32..].copy_from_slice(&message.into_bigint().to_bytes_le());
        let r = Fl::from_le_bytes_mod_order(&Blake512::digest(&preimage[..]));
        let r8 = base8().mul_bigint(r.into_bigint()).into_affine();
        let h = challenge((r8.x, r8.y), key, message);
        let s = Fl::from_le_bytes_mod_order(&s_bytes);
        let h_l = Fl::from_le_bytes_mod_order(&h.into_bigint().to_bytes_le());
        let big_s = r + h_l * s;
        Signature { r8: (r8.x, r8.y), s: Fr::from_le_bytes_mod_order(&big_s.into_bigint().to_bytes_le()) }
    }
}

/// `s >> 3` of a little-endian 256-bit integer, as limbs for `mul_bigint`.
fn shr3(le: &[u8; 32]) -> [u64; 4] {
    let mut limbs = [0u64; 4];
    for (i, chunk) in le.chunks(8).enumerate() {
        limbs[i] = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
    }
    for i in 0..4 {
        let next = if i + 1 < 4 { limbs[i + 1] } else { 0 };
        limbs[i] = (limbs[i] >> 3) | (next << 61);
    }
    limbs
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_std::{test_rng, UniformRand};

    fn key(byte: u8) -> PrivateKey {
        PrivateKey::from_bytes([byte; 32])
    }

    #[test]
    fn public_key_of_a_fixed_private_key_matches_circomlibjs() {
        // circomlibjs: buildEddsa().prv2pub(Buffer.alloc(32, 1))[0]
        let expected: Fr =
            "15944627324083773346390189001500210680939402028015651549526524193195473201952".parse().unwrap();
        assert_eq!(key(1).public_key().x(), expected);
    }

    #[test]
    fn signatures_verify_and_bind_key_and_message() {
        let mut rng = test_rng();
        let (a, b) = (key(7), key(8));
        let m = Fr::rand(&mut rng);
        let sig = a.sign(m);
        assert_eq!(a.public_key().verify(m, &sig), Ok(()));
        assert_eq!(b.public_key().verify(m, &sig), Err(SignatureError::Mismatch));
        assert_eq!(a.public_key().verify(m + Fr::from(1u64), &sig), Err(SignatureError::Mismatch));
    }

    #[test]
    fn malleated_s_plus_l_is_rejected() {
        let a = key(3);
        let m = Fr::from(42u64);
        let mut sig = a.sign(m);
        let l = Fr::from_bigint(Fl::MODULUS).unwrap();
        sig.s += l;
        assert_eq!(a.public_key().verify(m, &sig), Err(SignatureError::SNotCanonical));
    }

    #[test]
    fn r8_off_the_curve_is_rejected() {
        let a = key(4);
        let m = Fr::from(5u64);
        let mut sig = a.sign(m);
        sig.r8.0 += Fr::from(1u64);
        assert_eq!(a.public_key().verify(m, &sig), Err(SignatureError::R8NotOnCurve));
    }

    #[test]
    fn bad_public_keys_are_rejected() {
        assert_eq!(PublicKey::from_coordinates(Fr::from(1u64), Fr::from(1u64)), Err(PublicKeyError::NotOnCurve));
        assert_eq!(PublicKey::from_coordinates(Fr::from(0u64), Fr::from(1u64)), Err(PublicKeyError::SmallOrder));
        // (0, -1) has order 2.
        assert_eq!(PublicKey::from_coordinates(Fr::from(0u64), -Fr::from(1u64)), Err(PublicKeyError::SmallOrder));
        for t in crate::babyjubjub::torsion_points() {
            assert_eq!(PublicKey::from_point(t), Err(PublicKeyError::SmallOrder));
        }
    }

    #[test]
    fn keys_outside_the_subgroup_are_accepted_and_verify_through_8a() {
        // A' = A + T for a torsion point T: 8A' = 8A, so the holder of A's scalar signs for A'
        // (the challenge hashes A'), and verification, which multiplies the key by 8, accepts.
        let a = key(5);
        let m = Fr::from(77u64);
        for t in crate::babyjubjub::torsion_points().into_iter().filter(|t| !t.is_zero()) {
            let shifted = (a.public_key().point() + t).into_affine();
            assert!(!shifted.is_in_correct_subgroup_assuming_on_curve());
            let k = PublicKey::from_point(shifted).expect("on the curve, 8A != identity");
            assert_eq!(k.verify(m, &a.sign_as(&k, m)), Ok(()));
            assert_eq!(k.verify(m, &a.sign(m)), Err(SignatureError::Mismatch), "A's own signature names A");
            let stranger = key(6);
            assert_eq!(k.verify(m, &stranger.sign_as(&k, m)), Err(SignatureError::Mismatch));
        }
    }
}
