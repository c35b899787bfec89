//! The stored batch record (SPEC-v3 section 3): `OptimisticRollup` keeps one hash a batch,
//! `keccak256(abi.encode(b))`, and callers hand the record back; and the payouts a batch credits
//! once final, committed to by `payoutsHash`.

use ark_ff::{BigInteger, PrimeField};
use sha3::{Digest, Keccak256};

use crate::request::RequestKind;
use crate::{BatchWitness, Fr};

/// Keccak-256, as the EVM's `keccak256`.
pub fn keccak256(bytes: &[u8]) -> [u8; 32] {
    Keccak256::digest(bytes).into()
}

/// Bytes of one payout: `abi.encodePacked(uint32 index, uint64 gwei)`.
pub const PAYOUT_BYTES: usize = 12;

/// The payouts of a batch: its full exits in L1 slot order, then its withdrawals in L2 slot
/// order, each `(index, gwei)` packed in 12 bytes (a FullExit pays the balance it proved).
pub fn payouts(w: &BatchWitness) -> Vec<u8> {
    let exits = w.requests.iter().filter(|r| r.kind == RequestKind::FullExit).map(|r| (r.index, r.amount));
    let withdrawals = w.slots.iter().map(|s| s.transfer).filter(|t| t.is_withdrawal()).map(|t| (t.from, t.amount));
    let mut out = Vec::new();
    for (index, gwei) in exits.chain(withdrawals) {
        out.extend_from_slice(&index.to_be_bytes());
        out.extend_from_slice(&gwei.to_be_bytes());
    }
    out
}

/// `StoredBatch`, as the contract hashes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredBatch {
    /// Its id.
    pub batch_id: u64,
    /// When it was posted (the block's timestamp).
    pub posted_at: u64,
    /// The queue position before it (`consumed` as it found it).
    pub consumed_before: u64,
    /// The queue position after it.
    pub consumed_after: u64,
    /// The root it starts from.
    pub old_root: Fr,
    /// The root it claims.
    pub new_root: Fr,
    /// Its commitment `c`, the proof's public input.
    pub commitment: Fr,
    /// `keccak256` of its payouts.
    pub payouts_hash: [u8; 32],
    /// `keccak256(sigData)`.
    pub sig_hash: [u8; 32],
    /// Whether a proof of it was accepted.
    pub proven: bool,
}

/// Bytes of `abi.encode(b)`: ten static words.
pub const RECORD_ABI_BYTES: usize = 32 * 10;

fn u64_word(x: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&x.to_be_bytes());
    w
}

fn fr_word(x: Fr) -> [u8; 32] {
    x.into_bigint().to_bytes_be().try_into().expect("32 bytes")
}

impl StoredBatch {
    /// `abi.encode(b)`: its ten fields, one word each, in declaration order.
    pub fn abi_encode(&self) -> [u8; RECORD_ABI_BYTES] {
        let words = [
            u64_word(self.batch_id),
            u64_word(self.posted_at),
            u64_word(self.consumed_before),
            u64_word(self.consumed_after),
            fr_word(self.old_root),
            fr_word(self.new_root),
            fr_word(self.commitment),
            self.payouts_hash,
            self.sig_hash,
            u64_word(u64::from(self.proven)),
        ];
        words.concat().try_into().expect("320 bytes")
    }

    /// `batchHash[id]`: `keccak256(abi.encode(b))`.
    pub fn hash(&self) -> [u8; 32] {
        keccak256(&self.abi_encode())
    }

    /// The record from its ABI encoding (a `BatchPosted` event's data), or None when a word
    /// does not fit its field.
    pub fn abi_decode(bytes: &[u8]) -> Option<StoredBatch> {
        if bytes.len() != RECORD_ABI_BYTES {
            return None;
        }
        let word = |i: usize| -> [u8; 32] { bytes[32 * i..32 * (i + 1)].try_into().expect("32 bytes") };
        let uint64 = |i: usize| -> Option<u64> {
            let w = word(i);
            w[..24].iter().all(|&b| b == 0).then(|| u64::from_be_bytes(w[24..].try_into().expect("8 bytes")))
        };
        let field = |i: usize| -> Option<Fr> {
            let w = word(i);
            let x = Fr::from_be_bytes_mod_order(&w);
            (fr_word(x) == w).then_some(x)
        };
        let proven = match uint64(9)? {
            0 => false,
            1 => true,
            _ => return None,
        };
        Some(StoredBatch {
            batch_id: uint64(0)?,
            posted_at: uint64(1)?,
            consumed_before: uint64(2)?,
            consumed_after: uint64(3)?,
            old_root: field(4)?,
            new_root: field(5)?,
            commitment: field(6)?,
            payouts_hash: word(7),
            sig_hash: word(8),
            proven,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keccak_is_the_evms() {
        // keccak256("") and keccak256("abc"), as `cast keccak` prints them.
        assert_eq!(hex::encode(keccak256(b"")), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
        assert_eq!(hex::encode(keccak256(b"abc")), "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    }

    #[test]
    fn a_record_decodes_back_and_refuses_what_does_not_fit() {
        let b = StoredBatch {
            batch_id: 3,
            posted_at: 1_000,
            consumed_before: 4,
            consumed_after: 6,
            old_root: Fr::from(11u64),
            new_root: Fr::from(12u64),
            commitment: Fr::from(13u64),
            payouts_hash: [7; 32],
            sig_hash: [8; 32],
            proven: true,
        };
        let bytes = b.abi_encode();
        assert_eq!(StoredBatch::abi_decode(&bytes), Some(b));
        for (at, byte) in [(0, 1u8), (32 * 4, 0xff), (32 * 9 + 31, 2)] {
            let mut bad = bytes;
            bad[at] = byte;
            assert_eq!(StoredBatch::abi_decode(&bad), None, "byte {at}");
        }
        assert_eq!(StoredBatch::abi_decode(&bytes[1..]), None);
    }
}
