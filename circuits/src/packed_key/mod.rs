//! Packed public keys (SPEC-v2 section 2): the integer `Ay + 2^255 · [Ax > (r - 1) / 2]`,
//! written big-endian in L1 records and public data. circomlibjs `babyJub.packPoint` returns
//! the same integer as 32 little-endian bytes, and `unpackPoint` reads it back.
//!
//! The gadget in [`constraints`] recovers `Ax` from the packed key exactly as [`unpack`] does.

pub mod constraints;

use ark_ff::{BigInteger, PrimeField};
use thiserror::Error;

use crate::babyjubjub::{is_negative, point_from_y, Point};
use crate::eddsa::{PublicKey, PublicKeyError};
use crate::Fr;

/// Bytes of a packed key.
pub const PACKED_KEY_BYTES: usize = 32;

/// Why 32 bytes are not a packed key the protocol accepts.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum UnpackError {
    /// The 255 low bits (`Ay`) are not below r.
    #[error("packed key: Ay is not below the field order")]
    YNotInField,
    /// No point of the curve has this `Ay` (with this sign).
    #[error("packed key: no point of Baby JubJub has this Ay and sign")]
    NoSuchPoint,
    /// The point exists but is not an acceptable key.
    #[error("packed key: {0}")]
    Key(PublicKeyError),
}

/// The packed key of `(x, y)`, big-endian as in L1 records.
pub fn pack(x: Fr, y: Fr) -> [u8; PACKED_KEY_BYTES] {
    let mut out: [u8; PACKED_KEY_BYTES] = y.into_bigint().to_bytes_be().try_into().expect("32 bytes");
    if is_negative(x) {
        out[0] |= 0x80;
    }
    out
}

/// The packed key in circomlibjs `packPoint`'s byte order (little-endian).
pub fn pack_le(x: Fr, y: Fr) -> [u8; PACKED_KEY_BYTES] {
    let mut out = pack(x, y);
    out.reverse();
    out
}

/// The sign bit and `Ay` of big-endian packed bytes, `Ay` still unchecked against r.
pub fn split(bytes: &[u8; PACKED_KEY_BYTES]) -> (bool, ark_ff::BigInt<4>) {
    let mut y = *bytes;
    let sign = y[0] & 0x80 != 0;
    y[0] &= 0x7F;
    let mut limbs = [0u64; 4];
    for (i, chunk) in y.rchunks(8).enumerate() {
        limbs[i] = u64::from_be_bytes(chunk.try_into().expect("8 bytes"));
    }
    (sign, ark_ff::BigInt(limbs))
}

/// The point a packed key names, if any (on the curve; no check of its order).
pub fn unpack_point(bytes: &[u8; PACKED_KEY_BYTES]) -> Result<Point, UnpackError> {
    let (sign, y) = split(bytes);
    let y = Fr::from_bigint(y).ok_or(UnpackError::YNotInField)?;
    point_from_y(y, sign).ok_or(UnpackError::NoSuchPoint)
}

/// The public key a packed key names: on the curve, with `8·A != identity`.
pub fn unpack(bytes: &[u8; PACKED_KEY_BYTES]) -> Result<PublicKey, UnpackError> {
    PublicKey::from_point(unpack_point(bytes)?).map_err(UnpackError::Key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::babyjubjub::torsion_points;
    use crate::eddsa::PrivateKey;

    #[test]
    fn keys_round_trip_with_both_signs() {
        let mut seen = [false; 2];
        for i in 1..=16u8 {
            let k = PrivateKey::from_bytes([i; 32]).public_key();
            let packed = pack(k.x(), k.y());
            seen[usize::from(packed[0] >> 7)] = true;
            assert_eq!(unpack(&packed), Ok(k));
            assert_eq!(pack_le(k.x(), k.y()).iter().rev().copied().collect::<Vec<_>>(), packed.to_vec());
        }
        assert_eq!(seen, [true, true], "both signs occur");
    }

    #[test]
    fn bad_packed_keys_are_refused() {
        let k = PrivateKey::from_bytes([3; 32]).public_key();
        // Ay = r (bit 254 set) is not a field element.
        let r_bytes: [u8; 32] = Fr::MODULUS.to_bytes_be().try_into().unwrap();
        assert_eq!(unpack(&r_bytes), Err(UnpackError::YNotInField));
        let mut top = pack(k.x(), k.y());
        top[0] |= 0x40;
        assert_eq!(unpack(&top), Err(UnpackError::YNotInField));
        // y = 2 is not on the curve? Find a y without a point.
        let missing = (2u64..).find(|&y| point_from_y(Fr::from(y), false).is_none()).unwrap();
        assert_eq!(unpack(&pack(Fr::from(0u64), Fr::from(missing))), Err(UnpackError::NoSuchPoint));
        // The identity with the sign bit: x = 0 has no negative root.
        let mut identity = pack(Fr::from(0u64), Fr::from(1u64));
        assert_eq!(unpack(&identity), Err(UnpackError::Key(PublicKeyError::SmallOrder)));
        identity[0] |= 0x80;
        assert_eq!(unpack(&identity), Err(UnpackError::NoSuchPoint));
        for t in torsion_points() {
            assert_eq!(unpack(&pack(t.x, t.y)), Err(UnpackError::Key(PublicKeyError::SmallOrder)));
        }
    }
}
