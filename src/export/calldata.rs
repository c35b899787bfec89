//! ABI-encoded calls to the contracts of SPEC section 8: `ZKRollup.submitBatch` (what
//! `zkrollup calldata` prints) and the verifier's `verifyProof`.
//!
//! Today's `ZKRollup` (the v2 commitment, before its request queue) takes
//! `submitBatch(newRoot, l2Data, proof)` and publishes an all-padding L1 section; a batch with
//! L1 requests cannot be submitted to it yet.
//!
//! The EVM's BN254 precompiles take a G2 coordinate imaginary part first, so `b` goes on chain as
//! `[x.c1, x.c0, y.c1, y.c0]`; the identity is all zeros.

use ark_bn254::{Fq, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField};
use thiserror::Error;

use crate::prover::Proof;
use crate::Fr;

/// `bytes4(keccak256("submitBatch(uint256,bytes,uint256[8])"))`, as solc reports it.
pub const SUBMIT_BATCH_SELECTOR: [u8; 4] = [0x51, 0xf0, 0x9c, 0x9f];
/// `bytes4(keccak256("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[1])"))`.
pub const VERIFY_PROOF_SELECTOR: [u8; 4] = [0x43, 0x75, 0x3b, 0x4d];

use zkrollup_circuits::commitment::{HEADER_BYTES, SLOT_BYTES};
use zkrollup_circuits::request::L1_SLOT_BYTES;

/// Where the new root sits in the public data: after domain, batch id and old root.
const NEW_ROOT: std::ops::Range<usize> = 72..104;

/// Why public data cannot become a `submitBatch` call.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CalldataError {
    /// Not `104 + 45 M + 16 N` bytes for some N >= 1.
    #[error("public data is {0} bytes; expected 104 bytes of header, 45 per L1 slot, then 16 per L2 slot, at least one")]
    Length(usize),
    /// The new root (bytes 72..104) is not a field element.
    #[error("public data: the new root (bytes 72..104) is not below the field modulus r")]
    RootNotInField,
    /// An L1 slot holds a request, which today's contract cannot take.
    #[error("public data: L1 slot {0} holds a request; ZKRollup takes batches without L1 requests until its request queue lands")]
    L1Request(usize),
}

/// One 32-byte big-endian ABI word for a field element.
pub fn word<F: PrimeField>(x: F) -> [u8; 32] {
    let bytes = x.into_bigint().to_bytes_be();
    let mut out = [0u8; 32];
    out[32 - bytes.len()..].copy_from_slice(&bytes);
    out
}

/// A G1 point as the precompiles read it: `[x, y]`, the identity as zeros.
pub fn g1_words(p: &G1Affine) -> [[u8; 32]; 2] {
    match p.xy() {
        Some((x, y)) => [word(x), word(y)],
        None => [[0; 32]; 2],
    }
}

/// A G2 point as the precompiles read it: `[x.c1, x.c0, y.c1, y.c0]`, the identity as zeros.
pub fn g2_words(p: &G2Affine) -> [[u8; 32]; 4] {
    match p.xy() {
        Some((x, y)) => [word(x.c1), word(x.c0), word(y.c1), word(y.c0)],
        None => [[0; 32]; 4],
    }
}

/// The proof as `submitBatch` takes it: `[a.x, a.y, b.x.c1, b.x.c0, b.y.c1, b.y.c0, c.x, c.y]`.
pub fn proof_words(proof: &Proof) -> [[u8; 32]; 8] {
    let [ax, ay] = g1_words(&proof.a);
    let [bx1, bx0, by1, by0] = g2_words(&proof.b);
    let [cx, cy] = g1_words(&proof.c);
    [ax, ay, bx1, bx0, by1, by0, cx, cy]
}

/// The call `verifyProof(a, b, c, [input])`: 4 + 9 * 32 bytes.
pub fn verify_proof_calldata(proof: &Proof, input: Fr) -> Vec<u8> {
    let mut out = VERIFY_PROOF_SELECTOR.to_vec();
    for w in proof_words(proof) {
        out.extend_from_slice(&w);
    }
    out.extend_from_slice(&word(input));
    out
}

/// The call `submitBatch(newRoot, txData, proof)` for a proof and the public data of its batch
/// with `l1_slots` L1 slots (as `zkrollup prove` writes `public_data.hex`). The domain, batch id
/// and old root are not sent: the contract has them.
pub fn submit_batch_calldata(proof: &Proof, public_data: &[u8], l1_slots: usize) -> Result<Vec<u8>, CalldataError> {
    let len = public_data.len();
    let l2_start = HEADER_BYTES + L1_SLOT_BYTES * l1_slots;
    if len < l2_start + SLOT_BYTES || (len - l2_start) % SLOT_BYTES != 0 {
        return Err(CalldataError::Length(len));
    }
    let new_root: [u8; 32] = public_data[NEW_ROOT].try_into().expect("32 bytes");
    if Fr::from_be_bytes_mod_order(&new_root).into_bigint().to_bytes_be() != new_root {
        return Err(CalldataError::RootNotInField);
    }
    if let Some(slot) = public_data[HEADER_BYTES..l2_start].chunks(L1_SLOT_BYTES).position(|s| s.iter().any(|&b| b != 0)) {
        return Err(CalldataError::L1Request(slot));
    }
    let tx_data = &public_data[l2_start..];
    // Head: newRoot, the offset of `txData`'s tail, then the 8 static proof words.
    let tail_offset = 32 * (1 + 1 + 8);
    let mut out = SUBMIT_BATCH_SELECTOR.to_vec();
    out.extend_from_slice(&new_root);
    out.extend_from_slice(&usize_word(tail_offset));
    for w in proof_words(proof) {
        out.extend_from_slice(&w);
    }
    out.extend_from_slice(&usize_word(tx_data.len()));
    out.extend_from_slice(tx_data);
    out.resize(out.len() + (32 - tx_data.len() % 32) % 32, 0);
    Ok(out)
}

fn usize_word(n: usize) -> [u8; 32] {
    word(Fq::from(n as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::CurveGroup;

    fn proof() -> Proof {
        let g1 = G1Affine::generator();
        let g2 = G2Affine::generator();
        Proof { a: g1, b: g2, c: (g1 + g1).into_affine() }
    }

    #[test]
    fn submit_batch_layout_is_the_abi_encoding() {
        let l2 = HEADER_BYTES + 45;
        let mut public_data = vec![0u8; l2 + 2 * 16];
        public_data[103] = 9; // new root 9
        public_data[l2 + 15] = 0xaa; // amount of slot 0
        public_data[l2 + 31] = 0xbb; // amount of slot 1
        let data = submit_batch_calldata(&proof(), &public_data, 1).unwrap();
        assert_eq!(data.len(), 4 + 32 * 11 + 32);
        assert_eq!(data[..4], SUBMIT_BATCH_SELECTOR);
        assert_eq!(data[4 + 31], 9);
        assert_eq!(data[4 + 32..4 + 64], usize_word(0x140), "offset of txData: 10 head words");
        assert_eq!(data[4 + 32 * 2..4 + 32 * 3], word(G1Affine::generator().x().unwrap()));
        assert_eq!(data[4 + 32 * 4..4 + 32 * 5], word(G2Affine::generator().x().unwrap().c1), "x.c1 first");
        assert_eq!(data[4 + 32 * 10 + 31], 32, "txData length");
        assert_eq!(data[4 + 32 * 11 + 15], 0xaa);
        assert_eq!(data[4 + 32 * 11 + 31], 0xbb);
    }

    #[test]
    fn txdata_is_padded_to_whole_words() {
        let data = submit_batch_calldata(&proof(), &[0u8; 104 + 16], 0).unwrap();
        assert_eq!(data.len(), 4 + 32 * 11 + 32);
        let data = submit_batch_calldata(&proof(), &[0u8; 104 + 48], 0).unwrap();
        assert_eq!(data.len(), 4 + 32 * 11 + 64);
    }

    #[test]
    fn malformed_public_data_is_refused() {
        for len in [0, 63, 104, 104 + 45, 104 + 45 + 15, 104 + 45 + 17] {
            assert_eq!(submit_batch_calldata(&proof(), &vec![0; len], 1), Err(CalldataError::Length(len)));
        }
        let mut public_data = vec![0u8; 104 + 45 + 16];
        public_data[NEW_ROOT].copy_from_slice(&[0xff; 32]);
        assert_eq!(submit_batch_calldata(&proof(), &public_data, 1), Err(CalldataError::RootNotInField));
        // r itself is not a field element either.
        public_data[NEW_ROOT].copy_from_slice(&hex::decode(R_HEX).unwrap());
        assert_eq!(submit_batch_calldata(&proof(), &public_data, 1), Err(CalldataError::RootNotInField));
        let mut with_request = vec![0u8; 104 + 2 * 45 + 16];
        with_request[104 + 45] = 2;
        assert_eq!(submit_batch_calldata(&proof(), &with_request, 2), Err(CalldataError::L1Request(1)));
    }

    const R_HEX: &str = "30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";

    #[test]
    fn the_identity_is_zeros() {
        assert_eq!(g1_words(&G1Affine::zero()), [[0; 32]; 2]);
        assert_eq!(g2_words(&G2Affine::zero()), [[0; 32]; 4]);
    }
}
