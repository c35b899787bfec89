//! The batch's public data and its commitment, the proof's single public input.
//!
//! Public data (SPEC-v2 section 5): `domain (32) || batch_id (8) || old_root (32) ||
//! new_root (32) || L1_0 .. L1_{M-1} (45 each) || L2_0 .. L2_{N-1} (16 each)`, all big-endian;
//! an L2 slot is `from (4) || to (4) || amount (8)`. Commitment:
//! `uint256(sha256(public_data)) & (2^253 - 1)`, which is below the field order, so it is a
//! field element without reduction.

pub mod constraints;

use ark_ff::{BigInteger, PrimeField};
use sha2::{Digest, Sha256};

use crate::request::L1_SLOT_BYTES;
use crate::Fr;

/// Bytes of one L2 slot in the public data.
pub const SLOT_BYTES: usize = 16;
/// Bytes of the header that opens the public data: domain, batch id and the two roots.
pub const HEADER_BYTES: usize = 104;

/// The header of a batch's public data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The deployment's domain (SPEC-v2 section 1).
    pub domain: Fr,
    /// The batch's number in the chain (the first is 1).
    pub batch_id: u64,
    /// The root before the batch.
    pub old_root: Fr,
    /// The root after the batch.
    pub new_root: Fr,
}
/// Bits kept of the sha256 digest.
pub const COMMITMENT_BITS: usize = 253;

/// A field element as 32 big-endian bytes.
pub fn fr_to_be_bytes(x: Fr) -> [u8; 32] {
    x.into_bigint().to_bytes_be().try_into().expect("a BN254 element is 32 bytes")
}

/// The public data of a batch: its header, its L1 slots' 45-byte records and its L2 slots'
/// `(from, to, amount)`.
pub fn public_data(header: &Header, l1_slots: &[[u8; L1_SLOT_BYTES]], slots: &[(u32, u32, u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + L1_SLOT_BYTES * l1_slots.len() + SLOT_BYTES * slots.len());
    out.extend_from_slice(&fr_to_be_bytes(header.domain));
    out.extend_from_slice(&header.batch_id.to_be_bytes());
    out.extend_from_slice(&fr_to_be_bytes(header.old_root));
    out.extend_from_slice(&fr_to_be_bytes(header.new_root));
    for record in l1_slots {
        out.extend_from_slice(record);
    }
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
        let header = Header { domain: Fr::from(9u64), batch_id: 0x0102, old_root: Fr::from(1u64), new_root: Fr::from(2u64) };
        let mut record = [0u8; L1_SLOT_BYTES];
        record[0] = 2;
        record[44] = 7;
        let data = public_data(&header, &[record, [0; L1_SLOT_BYTES]], &[(1, 2, 3), (0, 0, 0)]);
        assert_eq!(data.len(), 104 + 90 + 32);
        assert_eq!(data[31], 9);
        assert_eq!(&data[32..40], &[0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(data[71], 1);
        assert_eq!(data[103], 2);
        assert_eq!(&data[104..149], &record[..]);
        assert!(data[149..194].iter().all(|&b| b == 0));
        assert_eq!(&data[194..210], &[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3]);
        assert!(data[210..].iter().all(|&b| b == 0));
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
