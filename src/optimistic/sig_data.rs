//! `sigData` (SPEC-v3 section 1): for each L2 slot, its signature's `R8` packed as keys are
//! (SPEC-v2 section 2) then `S`, 32 bytes each, big-endian; 64 zero bytes for a padding slot.

use ark_ff::{BigInteger, PrimeField};
use thiserror::Error;
use zkrollup_circuits::eddsa::Signature;
use zkrollup_circuits::packed_key::{pack, unpack_point, UnpackError};

use crate::{Fr, Transfer};

/// Bytes of one slot's signature in `sigData`.
pub const SIG_BYTES: usize = 64;

/// Why a slot's 64 bytes are not a signature the model can check.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum SigDataError {
    /// `sigData` is not 64 bytes a slot.
    #[error("sigData is {len} bytes; {slots} L2 slots need {expected}")]
    Length {
        /// Its length.
        len: usize,
        /// The batch's L2 slots.
        slots: usize,
        /// 64 a slot.
        expected: usize,
    },
    /// `R8` does not unpack to a point of Baby JubJub.
    #[error("R8: {0}")]
    R8(UnpackError),
    /// `S` is not below the field modulus (so not below the subgroup order either).
    #[error("S is not below the field modulus")]
    SNotInField,
}

/// The `sigData` of `slots` (the batch's L2 slots, padded to N): an unsigned slot, padding or
/// not, gets 64 zero bytes.
pub fn sig_data(slots: &[Transfer]) -> Vec<u8> {
    let mut out = Vec::with_capacity(SIG_BYTES * slots.len());
    for t in slots {
        match t.signature {
            Some(sig) => {
                out.extend_from_slice(&pack(sig.r8.0, sig.r8.1));
                out.extend_from_slice(&sig.s.into_bigint().to_bytes_be());
            }
            None => out.extend_from_slice(&[0; SIG_BYTES]),
        }
    }
    out
}

/// The signatures in `sigData` for `slots` L2 slots: `None` for 64 zero bytes, otherwise the
/// signature, or why slot `i`'s bytes are none (each slot's own result, so that a watcher can
/// name the slot).
pub fn parse_sig_data(bytes: &[u8], slots: usize) -> Result<Vec<Result<Option<Signature>, SigDataError>>, SigDataError> {
    if bytes.len() != SIG_BYTES * slots {
        return Err(SigDataError::Length { len: bytes.len(), slots, expected: SIG_BYTES * slots });
    }
    Ok(bytes.chunks(SIG_BYTES).map(parse_one).collect())
}

fn parse_one(chunk: &[u8]) -> Result<Option<Signature>, SigDataError> {
    if chunk.iter().all(|&b| b == 0) {
        return Ok(None);
    }
    let r8: [u8; 32] = chunk[..32].try_into().expect("32 bytes");
    let point = unpack_point(&r8).map_err(SigDataError::R8)?;
    let s_bytes: [u8; 32] = chunk[32..].try_into().expect("32 bytes");
    let s = Fr::from_be_bytes_mod_order(&s_bytes);
    if s.into_bigint().to_bytes_be() != s_bytes {
        return Err(SigDataError::SNotInField);
    }
    Ok(Some(Signature { r8: (point.x, point.y), s }))
}

#[cfg(test)]
mod tests {
    use zkrollup_circuits::eddsa::PrivateKey;

    use super::*;

    #[test]
    fn signatures_pack_and_parse_back() {
        let key = PrivateKey::from_bytes([9; 32]);
        let domain = Fr::from(5u64);
        let slots = [Transfer::signed(&key, 1, 2, 3, 0, domain), Transfer::PADDING, Transfer::signed(&key, 1, 0, 4, 1, domain)];
        let bytes = sig_data(&slots);
        assert_eq!(bytes.len(), 3 * SIG_BYTES);
        assert!(bytes[SIG_BYTES..2 * SIG_BYTES].iter().all(|&b| b == 0), "padding is 64 zero bytes");
        let parsed: Vec<Option<Signature>> = parse_sig_data(&bytes, 3).unwrap().into_iter().map(Result::unwrap).collect();
        assert_eq!(parsed, slots.iter().map(|t| t.signature).collect::<Vec<_>>());
        for t in [&slots[0], &slots[2]] {
            key.public_key().verify(t.message(domain), &t.signature.unwrap()).unwrap();
        }
    }

    #[test]
    fn bad_bytes_are_named() {
        let key = PrivateKey::from_bytes([9; 32]);
        let good = sig_data(&[Transfer::signed(&key, 1, 2, 3, 0, Fr::from(5u64))]);
        assert!(matches!(parse_sig_data(&good, 2), Err(SigDataError::Length { len: 64, slots: 2, expected: 128 })));
        let mut s_too_big = good.clone();
        s_too_big[32..].fill(0xff);
        assert_eq!(parse_sig_data(&s_too_big, 1).unwrap()[0], Err(SigDataError::SNotInField));
        let mut r8_off = good.clone();
        r8_off[..32].fill(0x7f);
        assert_eq!(parse_sig_data(&r8_off, 1).unwrap()[0], Err(SigDataError::R8(UnpackError::YNotInField)));
    }
}
