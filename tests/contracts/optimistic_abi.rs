//! The engine's `OptimisticRollup` calls (`zkrollup::export::optimistic`) and stored batch
//! record (`zkrollup::optimistic::StoredBatch`) against solc's ABI: a contract with the same
//! signatures decodes each call the engine encodes and hashes what it decoded, and the engine's
//! hashes must match.

use std::sync::OnceLock;

use zkrollup::export::optimistic::{
    challenge_batch_calldata, finalize_batches_calldata, post_batch_calldata, prove_batch_calldata,
    reclaim_challenge_bond_calldata, resolve_challenge_calldata,
};
use zkrollup::optimistic::{keccak256, StoredBatch};

use super::*;

const DECODER: &str = r#"// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

contract Decoder {
    struct StoredBatch {
        uint64 batchId;
        uint64 postedAt;
        uint64 consumedBefore;
        uint64 consumedAfter;
        uint256 oldRoot;
        uint256 newRoot;
        uint256 commitment;
        bytes32 payoutsHash;
        bytes32 sigHash;
        bool proven;
    }

    function postBatch(uint256 newRoot, bytes calldata l1Data, bytes calldata l2Data, bytes calldata sigData)
        external
        pure
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(newRoot, keccak256(l1Data), keccak256(l2Data), keccak256(sigData)));
    }

    function challengeBatch(StoredBatch calldata b) external pure returns (bytes32) {
        return keccak256(abi.encode(b));
    }

    function resolveChallenge(StoredBatch calldata b) external pure returns (bytes32) {
        return keccak256(abi.encode(b));
    }

    function reclaimChallengeBond(StoredBatch calldata b) external pure returns (bytes32) {
        return keccak256(abi.encode(b));
    }

    function proveBatch(StoredBatch calldata b, uint256[8] calldata proof) external pure returns (bytes32) {
        return keccak256(abi.encodePacked(keccak256(abi.encode(b)), proof));
    }

    function finalizeBatches(StoredBatch[] calldata bs, bytes[] calldata payouts) external pure returns (bytes32 h) {
        require(bs.length == payouts.length);
        for (uint256 i = 0; i < bs.length; i++) {
            h = keccak256(abi.encodePacked(h, keccak256(abi.encode(bs[i])), keccak256(payouts[i])));
        }
    }
}
"#;

fn decoder(chain: &mut Chain) -> Address {
    static COMPILED: OnceLock<Vec<u8>> = OnceLock::new();
    let code = COMPILED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Decoder.sol");
        std::fs::write(&path, DECODER).unwrap();
        evm::compile(&[&path])["Decoder"].bytecode.clone()
    });
    chain.deploy(account(DEPLOYER), code, &[]).0
}

fn record(id: u64, proven: bool) -> StoredBatch {
    StoredBatch {
        batch_id: id,
        posted_at: 1_700_000_000 + id,
        consumed_before: 3 * id,
        consumed_after: 3 * id + 2,
        old_root: Fr::from(1_000 + id),
        new_root: -Fr::from(id), // r - id: the top bits set
        commitment: Fr::from(77u64),
        payouts_hash: keccak256(&id.to_be_bytes()),
        sig_hash: [0xab; 32],
        proven,
    }
}

#[test]
fn solc_decodes_every_optimistic_call_the_engine_encodes() {
    let mut chain = Chain::new();
    let at = decoder(&mut chain);
    let mut call = |data: Vec<u8>| -> [u8; 32] { chain.call(account(1), at, data).output().try_into().unwrap() };
    let b = record(5, true);

    for data in [challenge_batch_calldata(&b), resolve_challenge_calldata(&b), reclaim_challenge_bond_calldata(&b)] {
        assert_eq!(call(data), b.hash());
    }
    // Points with every coordinate in use (the encoding's order is what is checked).
    let proof = Proof {
        a: G1Affine::generator(),
        b: ark_bn254::G2Affine::generator(),
        c: (G1Affine::generator() * Fr::from(3u64)).into_affine(),
    };
    let proof_bytes: Vec<u8> = proof_words(&proof).concat();
    assert_eq!(call(prove_batch_calldata(&b, &proof)), keccak256(&[b.hash().as_slice(), &proof_bytes].concat()));

    // Zero, one and three records, payouts of several lengths (none, part of a word, words).
    for count in [0usize, 1, 3] {
        let batches: Vec<(StoredBatch, Vec<u8>)> = (0..count).map(|i| (record(i as u64 + 1, i == 1), vec![i as u8 + 1; [0, 12, 36][i % 3]])).collect();
        let mut h = [0u8; 32];
        for (b, p) in &batches {
            h = keccak256(&[h.as_slice(), &b.hash(), &keccak256(p)].concat());
        }
        assert_eq!(call(finalize_batches_calldata(&batches)), h, "{count} records");
    }

    // A post: the header, one L1 slot (a Deposit to account 2), two L2 slots.
    let mut public_data = vec![0u8; 104 + 45 * M + 16 * N];
    public_data[72..104].copy_from_slice(&word(Fr::from(99u64)));
    let deposit = Request::deposit(2, 7, [0xaa; 20]);
    public_data[104..149].copy_from_slice(&deposit.public_bytes(7));
    public_data[L2_START..L2_START + 4].copy_from_slice(&2u32.to_be_bytes());
    let sig_data = vec![0x5a; 64 * N];
    let l1 = deposit.record();
    let expected = keccak256(&[word(Fr::from(99u64)).as_slice(), &keccak256(&l1), &keccak256(&public_data[L2_START..]), &keccak256(&sig_data)].concat());
    assert_eq!(call(post_batch_calldata(&public_data, M, &[deposit], &sig_data).unwrap()), expected);
}
