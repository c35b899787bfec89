//! The batch's public data and its commitment, the proof's single public input.
//!
//! Public data: `old_root (32) || new_root (32) || slot_0 || .. || slot_{N-1}`, each slot
//! `from (4) || to (4) || amount (8)`, all big-endian. Commitment:
//! `uint256(sha256(public_data)) & (2^253 - 1)`, which is below the field order, so it is a
//! field element without reduction.

pub mod constraints;

use ark_ff::{BigInteger, PrimeField};
use sha2::{Digest, Sha256};

use crate::Fr;

/// Bytes of one slot in the public data.
pub const SLOT_BYTES: usize = 16;
/// Bytes of the two roots that open the public data.
pub const HEADER_BYTES: usize = 64;
/// Bits kept of the sha256 digest.
pub const COMMITMENT_BITS: usize = 253;

/// A field element as 32 big-endian bytes.
pub fn fr_to_be_bytes(x: Fr) -> [u8; 32] {
    x.into_bigint().to_bytes_be().try_into().expect("a BN254 element is 32 bytes")
}

/// The public data of a batch, given its roots and its `(from, to, amount)` slots.
pub fn public_data(old_root: Fr, new_root: Fr, slots: &[(u32, u32, u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + SLOT_BYTES * slots.len());
    out.extend_from_slice(&fr_to_be_bytes(old_root));
    out.extend_from_slice(&fr_to_be_bytes(new_root));
    for &(from, to, amount) in slots {
        out.extend_from_slice(&from.to_be_bytes());
        out.extend_from_slice(&to.to_be_bytes());
        out.extend_from_slice(&amount.to_be_bytes());
    }
    out
}

/// The commitment `c` to `public_data`.
pub fn commitment(public_data: &[u8]) -> Fr {
    let mut digest: [u8; 32] = Sha256::digest(public_data).into();
    digest[0] &= 0x1F;
    Fr::from_be_bytes_mod_order(&digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_big_endian_and_sized() {
        let data = public_data(Fr::from(1u64), Fr::from(2u64), &[(1, 2, 3), (0, 0, 0)]);
        assert_eq!(data.len(), 64 + 32);
        assert_eq!(data[31], 1);
        assert_eq!(data[63], 2);
        assert_eq!(&data[64..80], &[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3]);
        assert!(data[80..].iter().all(|&b| b == 0));
    }

    #[test]
    fn commitment_is_the_digest_with_top_three_bits_cleared() {
        // sha256("") = e3b0c442...; cleared top bits give 0x03b0c442...
        let c = commitment(b"");
        let bytes = fr_to_be_bytes(c);
        assert_eq!(&bytes[..4], &[0x03, 0xb0, 0xc4, 0x42]);
        assert_eq!(bytes[31], 0x55);
    }
}
