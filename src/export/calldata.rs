//! ABI-encoded calls to `ZKRollup` v2 (SPEC-v2 section 6) and the verifier: `submitBatch` (what
//! `zkrollup calldata` prints), `performExodus` (`zkrollup exit-calldata`), the request entry
//! points `depositNew`, `deposit`, `requestFullExit` and `withdrawPending` (`zkrollup
//! request-calldata`), and `verifyProof`.
//!
//! The EVM's BN254 precompiles take a G2 coordinate imaginary part first, so `b` goes on chain as
//! `[x.c1, x.c0, y.c1, y.c0]`; the identity is all zeros.

use ark_bn254::{G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField};
use thiserror::Error;

use crate::prover::Proof;
use crate::Fr;

/// `bytes4(keccak256("submitBatch(uint256,bytes,bytes,uint256[8])"))`, as solc reports it.
pub const SUBMIT_BATCH_SELECTOR: [u8; 4] = [0x70, 0xba, 0x48, 0x39];
/// `performExodus(uint32,uint256,uint256,uint64,uint64,uint256[])`.
pub const PERFORM_EXODUS_SELECTOR: [u8; 4] = [0x0e, 0x97, 0x22, 0xd7];
/// `depositNew(uint256,uint256,address)`.
pub const DEPOSIT_NEW_SELECTOR: [u8; 4] = [0x63, 0xb8, 0x47, 0x5a];
/// `deposit(uint32)`.
pub const DEPOSIT_SELECTOR: [u8; 4] = [0xb7, 0xe8, 0xbc, 0x99];
/// `requestFullExit(uint32)`.
pub const REQUEST_FULL_EXIT_SELECTOR: [u8; 4] = [0x95, 0xb8, 0x09, 0x23];
/// `withdrawPending(address,uint256)`.
pub const WITHDRAW_PENDING_SELECTOR: [u8; 4] = [0x80, 0x33, 0xb0, 0x9f];
/// `bytes4(keccak256("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[1])"))`.
pub const VERIFY_PROOF_SELECTOR: [u8; 4] = [0x43, 0x75, 0x3b, 0x4d];

use zkrollup_circuits::commitment::{HEADER_BYTES, SLOT_BYTES};
use zkrollup_circuits::request::L1_SLOT_BYTES;

use crate::request::{Request, RECORD_BYTES};

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
    /// The L1 slots and the requests given do not match (count, kind or index).
    #[error("public data: L1 slot {0} does not match the requests file ({1})")]
    RequestMismatch(usize, &'static str),
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
    out.extend(verify_proof_arguments(proof, &[input]));
    out
}

/// The ABI-encoded arguments of `verifyProof(a, b, c, uint256[k] input)` for `k` inputs, without
/// the selector (which depends on `k`: `verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[k])`).
pub fn verify_proof_arguments(proof: &Proof, inputs: &[Fr]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 * (8 + inputs.len()));
    for w in proof_words(proof) {
        out.extend_from_slice(&w);
    }
    for x in inputs {
        out.extend_from_slice(&word(*x));
    }
    out
}

/// The `l1Data` of a batch: each request's 45 public-data bytes (a FullExit with the balance it
/// proved), then the `addr` of its record, for the requests the batch consumed.
pub fn l1_data(public_data: &[u8], l1_slots: usize, requests: &[Request]) -> Result<Vec<u8>, CalldataError> {
    let l2_start = HEADER_BYTES + L1_SLOT_BYTES * l1_slots;
    if public_data.len() < l2_start {
        return Err(CalldataError::Length(public_data.len()));
    }
    let slots: Vec<&[u8]> = public_data[HEADER_BYTES..l2_start].chunks(L1_SLOT_BYTES).collect();
    if requests.len() > slots.len() {
        return Err(CalldataError::RequestMismatch(slots.len(), "more requests than L1 slots"));
    }
    let mut out = Vec::with_capacity(RECORD_BYTES * requests.len());
    for (i, slot) in slots.iter().enumerate() {
        match requests.get(i) {
            Some(r) => {
                if slot[0] != r.kind.type_byte() || slot[1..5] != r.index.to_be_bytes() {
                    return Err(CalldataError::RequestMismatch(i, "another kind or index"));
                }
                out.extend_from_slice(slot);
                out.extend_from_slice(&r.addr);
            }
            None if slot.iter().any(|&b| b != 0) => {
                return Err(CalldataError::RequestMismatch(i, "a request the file does not list"));
            }
            None => {}
        }
    }
    Ok(out)
}

/// What a batch call carries from its public data.
pub(crate) struct BatchParts<'a> {
    /// The new root's word.
    pub new_root: [u8; 32],
    /// `l1Data`.
    pub l1: Vec<u8>,
    /// `l2Data`.
    pub l2: &'a [u8],
}

/// The new root, `l1Data` and `l2Data` of a batch call, from the public data.
pub(crate) fn batch_parts<'a>(public_data: &'a [u8], l1_slots: usize, requests: &[Request]) -> Result<BatchParts<'a>, CalldataError> {
    let len = public_data.len();
    let l2_start = HEADER_BYTES + L1_SLOT_BYTES * l1_slots;
    if len < l2_start + SLOT_BYTES || !(len - l2_start).is_multiple_of(SLOT_BYTES) {
        return Err(CalldataError::Length(len));
    }
    let new_root: [u8; 32] = public_data[NEW_ROOT].try_into().expect("32 bytes");
    if Fr::from_be_bytes_mod_order(&new_root).into_bigint().to_bytes_be() != new_root {
        return Err(CalldataError::RootNotInField);
    }
    let l1 = l1_data(public_data, l1_slots, requests)?;
    Ok(BatchParts { new_root, l1, l2: &public_data[l2_start..] })
}

/// The call `submitBatch(newRoot, l1Data, l2Data, proof)` for a proof, the public data of its
/// batch with `l1_slots` L1 slots (as `zkrollup prove` writes `public_data.hex`) and the requests
/// it consumed. The domain, batch id and old root are not sent: the contract has them.
pub fn submit_batch_calldata(
    proof: &Proof,
    public_data: &[u8],
    l1_slots: usize,
    requests: &[Request],
) -> Result<Vec<u8>, CalldataError> {
    let BatchParts { new_root, l1, l2 } = batch_parts(public_data, l1_slots, requests)?;
    let mut head = vec![new_root];
    head.push(usize_word(32 * 11));
    head.push(usize_word(32 * 11 + 32 + padded_len(l1.len())));
    head.extend(proof_words(proof));
    let mut out = SUBMIT_BATCH_SELECTOR.to_vec();
    out.extend(head.concat());
    append_bytes(&mut out, &l1);
    append_bytes(&mut out, l2);
    Ok(out)
}

pub(crate) fn padded_len(n: usize) -> usize {
    n.div_ceil(32) * 32
}

/// ABI `bytes` tail: the length word, then the bytes padded to whole words.
pub(crate) fn append_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&usize_word(bytes.len()));
    out.extend_from_slice(bytes);
    out.resize(out.len() + padded_len(bytes.len()) - bytes.len(), 0);
}

fn address_word(a: &[u8; 20]) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a);
    w
}

/// `depositNew(Ax, Ay, owner)` (send the deposit as the call's value).
pub fn deposit_new_calldata(ax: Fr, ay: Fr, owner: &[u8; 20]) -> Vec<u8> {
    [DEPOSIT_NEW_SELECTOR.as_slice(), &word(ax), &word(ay), &address_word(owner)].concat()
}

/// `deposit(index)` (send the deposit as the call's value).
pub fn deposit_calldata(index: u32) -> Vec<u8> {
    [DEPOSIT_SELECTOR.as_slice(), &usize_word(index as usize)].concat()
}

/// `requestFullExit(index)`.
pub fn request_full_exit_calldata(index: u32) -> Vec<u8> {
    [REQUEST_FULL_EXIT_SELECTOR.as_slice(), &usize_word(index as usize)].concat()
}

/// `withdrawPending(to, amountWei)`.
pub fn withdraw_pending_calldata(to: &[u8; 20], amount_wei: u128) -> Vec<u8> {
    let mut amount = [0u8; 32];
    amount[16..].copy_from_slice(&amount_wei.to_be_bytes());
    [WITHDRAW_PENDING_SELECTOR.as_slice(), &address_word(to), &amount].concat()
}

/// `performExodus(index, Ax, Ay, balance, nonce, siblings)` for account `index` of `state`:
/// its leaf and its path's `3 * D` siblings from the leaf level up, in position order.
pub fn exit_calldata(state: &crate::State, index: u32) -> Option<Vec<u8>> {
    let account = state.account(index)?;
    let path = state.tree().path(u64::from(index)).ok()?;
    let siblings: Vec<Fr> = path.siblings.iter().flatten().copied().collect();
    let mut out = PERFORM_EXODUS_SELECTOR.to_vec();
    out.extend_from_slice(&usize_word(index as usize));
    out.extend_from_slice(&word(account.pubkey.x()));
    out.extend_from_slice(&word(account.pubkey.y()));
    out.extend_from_slice(&u64_word(account.balance));
    out.extend_from_slice(&u64_word(account.nonce));
    out.extend_from_slice(&usize_word(32 * 6));
    out.extend_from_slice(&usize_word(siblings.len()));
    for s in siblings {
        out.extend_from_slice(&word(s));
    }
    Some(out)
}

fn u64_word(x: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&x.to_be_bytes());
    w
}

pub(crate) fn usize_word(n: usize) -> [u8; 32] {
    u64_word(n as u64)
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
        let data = submit_batch_calldata(&proof(), &public_data, 1, &[]).unwrap();
        // 11 head words, l1Data's length (0), l2Data's length and one word of slots.
        assert_eq!(data.len(), 4 + 32 * 11 + 32 + 32 + 32);
        assert_eq!(data[..4], SUBMIT_BATCH_SELECTOR);
        assert_eq!(data[4 + 31], 9);
        assert_eq!(data[4 + 32..4 + 64], usize_word(0x160), "offset of l1Data: 11 head words");
        assert_eq!(data[4 + 64..4 + 96], usize_word(0x180), "offset of l2Data: after l1Data's empty tail");
        assert_eq!(data[4 + 32 * 3..4 + 32 * 4], word(G1Affine::generator().x().unwrap()));
        assert_eq!(data[4 + 32 * 5..4 + 32 * 6], word(G2Affine::generator().x().unwrap().c1), "x.c1 first");
        assert_eq!(data[4 + 32 * 11..4 + 32 * 12], [0; 32], "l1Data length");
        assert_eq!(data[4 + 32 * 12 + 31], 32, "l2Data length");
        assert_eq!(data[4 + 32 * 13 + 15], 0xaa);
        assert_eq!(data[4 + 32 * 13 + 31], 0xbb);
    }

    #[test]
    fn data_is_padded_to_whole_words_and_records_carry_addr() {
        let data = submit_batch_calldata(&proof(), &[0u8; 104 + 16], 0, &[]).unwrap();
        assert_eq!(data.len(), 4 + 32 * 11 + 32 + 64);
        let data = submit_batch_calldata(&proof(), &[0u8; 104 + 48], 0, &[]).unwrap();
        assert_eq!(data.len(), 4 + 32 * 11 + 32 + 96);
        // One deposit of 5 to account 3 in the first of two L1 slots: a 65-byte record.
        let r = Request::deposit(3, 5, [0xAD; 20]);
        let mut public_data = vec![0u8; 104 + 2 * 45 + 16];
        public_data[104..149].copy_from_slice(&r.public_bytes(5));
        let l1 = l1_data(&public_data, 2, &[r]).unwrap();
        assert_eq!(l1, r.record().to_vec());
        let data = submit_batch_calldata(&proof(), &public_data, 2, &[r]).unwrap();
        assert_eq!(data[4 + 32 * 11 + 31], 65, "l1Data length");
        assert_eq!(&data[4 + 32 * 12..4 + 32 * 12 + 65], &r.record()[..]);
        assert_eq!(data[4 + 64..4 + 96], usize_word(32 * 11 + 32 + 96), "l2Data after 65 bytes padded to 96");
        // The file must list exactly the requests the public data holds.
        assert_eq!(l1_data(&public_data, 2, &[]), Err(CalldataError::RequestMismatch(0, "a request the file does not list")));
        let other = Request::deposit(4, 5, [0xAD; 20]);
        assert_eq!(l1_data(&public_data, 2, &[other]), Err(CalldataError::RequestMismatch(0, "another kind or index")));
    }

    #[test]
    fn malformed_public_data_is_refused() {
        for len in [0, 63, 104, 104 + 45, 104 + 45 + 15, 104 + 45 + 17] {
            assert_eq!(submit_batch_calldata(&proof(), &vec![0; len], 1, &[]), Err(CalldataError::Length(len)));
        }
        let mut public_data = vec![0u8; 104 + 45 + 16];
        public_data[NEW_ROOT].copy_from_slice(&[0xff; 32]);
        assert_eq!(submit_batch_calldata(&proof(), &public_data, 1, &[]), Err(CalldataError::RootNotInField));
        // r itself is not a field element either.
        public_data[NEW_ROOT].copy_from_slice(&hex::decode(R_HEX).unwrap());
        assert_eq!(submit_batch_calldata(&proof(), &public_data, 1, &[]), Err(CalldataError::RootNotInField));
    }

    const R_HEX: &str = "30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";

    #[test]
    fn the_identity_is_zeros() {
        assert_eq!(g1_words(&G1Affine::zero()), [[0; 32]; 2]);
        assert_eq!(g2_words(&G2Affine::zero()), [[0; 32]; 4]);
    }
}
