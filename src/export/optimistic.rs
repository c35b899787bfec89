//! ABI-encoded calls to `OptimisticRollup` (SPEC-v3 section 3): `postBatch`, `challengeBatch`,
//! `proveBatch`, `resolveChallenge`, `reclaimChallengeBond` and `finalizeBatches`, and the
//! decoding of a `postBatch` call back into the batch it posts (what a watcher reads).

use ark_ff::PrimeField;
use thiserror::Error;

use super::calldata::{append_bytes, batch_parts, padded_len, proof_words, usize_word, BatchParts, CalldataError};
use crate::optimistic::{keccak256, PostedBatch, StoredBatch};
use crate::prover::Proof;
use crate::{Fr, Request};

/// The ABI type of `StoredBatch`.
pub const STORED_BATCH_TUPLE: &str = "(uint64,uint64,uint64,uint64,uint256,uint256,uint256,bytes32,bytes32,bool)";

/// `bytes4(keccak256(signature))`: a function's selector.
pub fn selector(signature: &str) -> [u8; 4] {
    keccak256(signature.as_bytes())[..4].try_into().expect("4 bytes")
}

/// The selector of `name(StoredBatch ...rest)`.
fn record_selector(name: &str, rest: &str) -> [u8; 4] {
    selector(&format!("{name}({STORED_BATCH_TUPLE}{rest})"))
}

/// `postBatch(uint256,bytes,bytes,bytes)`.
pub fn post_batch_selector() -> [u8; 4] {
    selector("postBatch(uint256,bytes,bytes,bytes)")
}

/// The call `postBatch(newRoot, l1Data, l2Data, sigData)` for a batch's public data (with
/// `l1_slots` L1 slots), the requests it consumed and its `sigData`.
pub fn post_batch_calldata(public_data: &[u8], l1_slots: usize, requests: &[Request], sig_data: &[u8]) -> Result<Vec<u8>, CalldataError> {
    let BatchParts { new_root, l1, l2 } = batch_parts(public_data, l1_slots, requests)?;
    let l2_at = 32 * 4 + 32 + padded_len(l1.len());
    let sig_at = l2_at + 32 + padded_len(l2.len());
    let mut out = post_batch_selector().to_vec();
    for word in [new_root, usize_word(32 * 4), usize_word(l2_at), usize_word(sig_at)] {
        out.extend_from_slice(&word);
    }
    append_bytes(&mut out, &l1);
    append_bytes(&mut out, l2);
    append_bytes(&mut out, sig_data);
    Ok(out)
}

/// Why call data is not the batch call expected.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum PostDecodeError {
    /// Another function's selector.
    #[error("not a {expected} call (selector {got:02x?})")]
    Selector {
        /// The function expected.
        expected: &'static str,
        /// The selector found.
        got: [u8; 4],
    },
    /// A length or an offset points outside the call data.
    #[error("batch call data is malformed: {0}")]
    Malformed(&'static str),
    /// `newRoot` is not a field element.
    #[error("batch call: newRoot is not below the field modulus")]
    RootNotInField,
}

/// The batch a `postBatch` call posts.
pub fn decode_post_batch(calldata: &[u8]) -> Result<PostedBatch, PostDecodeError> {
    let args = call_args(calldata, post_batch_selector(), "postBatch")?;
    Ok(PostedBatch { new_root: root_arg(args)?, l1_data: bytes_arg(args, 32)?, l2_data: bytes_arg(args, 64)?, sig_data: bytes_arg(args, 96)? })
}

/// The batch a `submitBatch(newRoot, l1Data, l2Data, proof)` call takes (on either rollup), its
/// `sig_data` empty: a proved batch carries no signatures.
pub fn decode_submit_batch(calldata: &[u8]) -> Result<PostedBatch, PostDecodeError> {
    let args = call_args(calldata, super::calldata::SUBMIT_BATCH_SELECTOR, "submitBatch")?;
    Ok(PostedBatch { new_root: root_arg(args)?, l1_data: bytes_arg(args, 32)?, l2_data: bytes_arg(args, 64)?, sig_data: Vec::new() })
}

/// The arguments of a call to the function with `selector`.
fn call_args<'a>(calldata: &'a [u8], selector: [u8; 4], name: &'static str) -> Result<&'a [u8], PostDecodeError> {
    let got: [u8; 4] = calldata.get(..4).ok_or(PostDecodeError::Malformed("shorter than a selector"))?.try_into().expect("4 bytes");
    if got != selector {
        return Err(PostDecodeError::Selector { expected: name, got });
    }
    Ok(&calldata[4..])
}

fn word_arg(args: &[u8], at: usize) -> Result<[u8; 32], PostDecodeError> {
    Ok(args.get(at..at + 32).ok_or(PostDecodeError::Malformed("a word past the end"))?.try_into().expect("32 bytes"))
}

fn small_arg(args: &[u8], at: usize) -> Result<usize, PostDecodeError> {
    let w = word_arg(args, at)?;
    if w[..24].iter().any(|&b| b != 0) {
        return Err(PostDecodeError::Malformed("an offset or length over 2^64"));
    }
    usize::try_from(u64::from_be_bytes(w[24..].try_into().expect("8 bytes"))).map_err(|_| PostDecodeError::Malformed("an offset over the address space"))
}

/// The `bytes` argument whose offset is the word at `head`.
fn bytes_arg(args: &[u8], head: usize) -> Result<Vec<u8>, PostDecodeError> {
    let at = small_arg(args, head)?;
    let len = small_arg(args, at)?;
    let start = at.checked_add(32).ok_or(PostDecodeError::Malformed("an offset overflows"))?;
    let end = start.checked_add(len).ok_or(PostDecodeError::Malformed("a length overflows"))?;
    Ok(args.get(start..end).ok_or(PostDecodeError::Malformed("bytes past the end"))?.to_vec())
}

/// The first argument, `newRoot`, a field element.
fn root_arg(args: &[u8]) -> Result<Fr, PostDecodeError> {
    let root_word = word_arg(args, 0)?;
    let new_root = Fr::from_be_bytes_mod_order(&root_word);
    if super::calldata::word(new_root) != root_word {
        return Err(PostDecodeError::RootNotInField);
    }
    Ok(new_root)
}

/// `challengeBatch(b)` (send the challenge bond as the call's value).
pub fn challenge_batch_calldata(b: &StoredBatch) -> Vec<u8> {
    [record_selector("challengeBatch", "").as_slice(), &b.abi_encode()].concat()
}

/// `proveBatch(b, proof)`.
pub fn prove_batch_calldata(b: &StoredBatch, proof: &Proof) -> Vec<u8> {
    let mut out = [record_selector("proveBatch", ",uint256[8]").as_slice(), &b.abi_encode()].concat();
    for w in proof_words(proof) {
        out.extend_from_slice(&w);
    }
    out
}

/// `resolveChallenge(b)`.
pub fn resolve_challenge_calldata(b: &StoredBatch) -> Vec<u8> {
    [record_selector("resolveChallenge", "").as_slice(), &b.abi_encode()].concat()
}

/// `reclaimChallengeBond(b)`.
pub fn reclaim_challenge_bond_calldata(b: &StoredBatch) -> Vec<u8> {
    [record_selector("reclaimChallengeBond", "").as_slice(), &b.abi_encode()].concat()
}

/// `finalizeBatches(bs, payouts)`: consecutive records with each one's payouts bytes.
pub fn finalize_batches_calldata(batches: &[(StoredBatch, Vec<u8>)]) -> Vec<u8> {
    let k = batches.len();
    let mut out = selector(&format!("finalizeBatches({STORED_BATCH_TUPLE}[],bytes[])")).to_vec();
    out.extend_from_slice(&usize_word(64));
    out.extend_from_slice(&usize_word(64 + 32 + 320 * k));
    out.extend_from_slice(&usize_word(k));
    for (b, _) in batches {
        out.extend_from_slice(&b.abi_encode());
    }
    // bytes[]: the count, an offset each (from after the count), then each one's tail.
    out.extend_from_slice(&usize_word(k));
    let mut at = 32 * k;
    for (_, p) in batches {
        out.extend_from_slice(&usize_word(at));
        at += 32 + padded_len(p.len());
    }
    for (_, p) in batches {
        append_bytes(&mut out, p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_decodes_back_and_bad_call_data_is_refused() {
        // A batch of N = 2, M = 1: the header, one L1 slot (a Deposit), two L2 slots.
        let mut public_data = vec![0u8; 104 + 45 + 32];
        public_data[103] = 9; // the new root
        public_data[104] = 2; // a Deposit
        public_data[108] = 5; // of account 5
        public_data[116] = 7; // 7 gwei
        public_data[104 + 45 + 3] = 5; // slot 0 from account 5
        let requests = [Request::deposit(5, 7, [0xaa; 20])];
        let sig_data = vec![0x11; 128];
        let call = post_batch_calldata(&public_data, 1, &requests, &sig_data).unwrap();
        let posted = decode_post_batch(&call).unwrap();
        assert_eq!(posted.new_root, Fr::from(9u64));
        assert_eq!(posted.l1_data, requests[0].record().to_vec());
        assert_eq!(posted.l2_data, public_data[149..].to_vec());
        assert_eq!(posted.sig_data, sig_data);
        assert_eq!(decode_post_batch(&call[..call.len() - 1]), Err(PostDecodeError::Malformed("bytes past the end")));
        let mut other = call.clone();
        other[0] ^= 1;
        assert!(matches!(decode_post_batch(&other), Err(PostDecodeError::Selector { expected: "postBatch", .. })));
        let mut far = call.clone();
        far[4 + 32 + 23] = 1; // l1Data's offset past 2^64
        assert_eq!(decode_post_batch(&far), Err(PostDecodeError::Malformed("an offset or length over 2^64")));
        let mut big_root = call;
        big_root[4..36].fill(0xff);
        assert_eq!(decode_post_batch(&big_root), Err(PostDecodeError::RootNotInField));
    }

    #[test]
    fn a_submit_decodes_back_without_signatures() {
        let mut public_data = vec![0u8; 104 + 45 + 32];
        public_data[103] = 9;
        public_data[104] = 2;
        public_data[108] = 5;
        public_data[116] = 7;
        public_data[104 + 45 + 3] = 5;
        let requests = [Request::deposit(5, 7, [0xaa; 20])];
        let call = super::super::calldata::submit_batch_calldata(&Proof::default(), &public_data, 1, &requests).unwrap();
        let posted = decode_submit_batch(&call).unwrap();
        assert_eq!(posted.new_root, Fr::from(9u64));
        assert_eq!(posted.l1_data, requests[0].record().to_vec());
        assert_eq!(posted.l2_data, public_data[149..].to_vec());
        assert!(posted.sig_data.is_empty());
        assert!(matches!(decode_submit_batch(&post_batch_calldata(&public_data, 1, &requests, &[0; 64]).unwrap()), Err(PostDecodeError::Selector { expected: "submitBatch", .. })));
        assert_eq!(decode_submit_batch(&call[..100]), Err(PostDecodeError::Malformed("a word past the end")));
    }
}
