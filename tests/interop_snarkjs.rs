//! snarkjs (npm, pinned in tests/js/package.json) verifies the engine's Groth16 files and rejects
//! them with a changed public input. Needs `npm ci --prefix tests/js`.

use std::path::Path;
use std::process::Command;

use zkrollup::prover::snarkjs::{proof_json, public_json, verification_key_json};
use zkrollup::primitives::batch::BatchCircuit;
use zkrollup::primitives::eddsa::PrivateKey;
use zkrollup::prover::{prove, setup_insecure_dev, PreimageCircuit};
use zkrollup::{Account, Batch, BatchParams, Fr, Request, State, Transfer};

/// `snarkjs groth16 verify` on the three files; returns (exit success, stdout + stderr).
fn snarkjs_verify(vk: &serde_json::Value, public: &serde_json::Value, proof: &serde_json::Value) -> (bool, String) {
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    let cli = js.join("node_modules/snarkjs/build/cli.cjs");
    assert!(cli.is_file(), "snarkjs is not installed: run `npm ci --prefix tests/js` first");
    let dir = tempfile::tempdir().unwrap();
    let paths = ["verification_key.json", "public.json", "proof.json"].map(|n| dir.path().join(n));
    for (path, value) in paths.iter().zip([vk, public, proof]) {
        std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
    }
    let out = Command::new("node").arg(cli).args(["groth16", "verify"]).args(&paths).output().expect("node runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn snarkjs_accepts_our_proofs_and_rejects_a_changed_input() {
    let circuit = PreimageCircuit::new([Fr::from(3u64), Fr::from(4u64)]);
    let (pk, vk) = setup_insecure_dev(circuit, 42).unwrap();
    let proof = prove(&pk, circuit).unwrap();
    let (vk_json, proof_json) = (verification_key_json(&vk), proof_json(&proof));

    let (ok, text) = snarkjs_verify(&vk_json, &public_json(&[circuit.y]), &proof_json);
    assert!(ok && text.contains("OK"), "snarkjs rejected a valid proof:\n{text}");

    let (ok, text) = snarkjs_verify(&vk_json, &public_json(&[circuit.y + Fr::from(1u64)]), &proof_json);
    assert!(!ok && text.contains("Invalid proof"), "snarkjs accepted a changed input:\n{text}");
}

/// Groth16 end to end on a v2 batch with every operation (M = 3, N = 2, D = 2): a new
/// account, a deposit and a full exit on L1, then a transfer from the new account and a
/// withdrawal on L2. Setup, prove, verify here, and snarkjs verifies.
#[test]
fn snarkjs_accepts_a_real_batch_proof() {
    let (alice, bob, carol) = (PrivateKey::from_bytes([4; 32]), PrivateKey::from_bytes([5; 32]), PrivateKey::from_bytes([6; 32]));
    let depth = 2;
    let mut state = State::from_accounts(
        depth,
        vec![(1, Account::new(alice.public_key(), 10, 0)), (2, Account::new(bob.public_key(), 7, 0))],
    )
    .unwrap();
    let params = BatchParams::new(2, Fr::from(123_456u64)).with_l1_slots(3).with_batch_id(7);
    let c = carol.public_key();
    let batch = Batch::new(vec![
        Transfer::signed(&carol, 3, 1, 4, 0, params.domain),
        Transfer::signed(&alice, 1, 0, 6, 0, params.domain),
    ])
    .with_requests(vec![
        Request::deposit_new(3, 20, (c.x(), c.y()), [3; 20]),
        Request::deposit(1, 5, [1; 20]),
        Request::full_exit(2, [2; 20]),
    ]);
    let w = state.apply_batch(&batch, &params).unwrap();
    assert_eq!(state.account(1).unwrap().balance, 10 + 5 + 4 - 6);
    assert_eq!(state.account(2).unwrap().balance, 0);
    assert_eq!(state.account(3).unwrap().balance, 16);
    let (pk, vk) = setup_insecure_dev(BatchCircuit::blank(w.circuit(depth).shape()), 5).unwrap();
    let proof = prove(&pk, w.circuit(depth)).unwrap();
    assert!(zkrollup::prover::verify(&vk, &[w.commitment], &proof).unwrap());
    let (ok, text) = snarkjs_verify(&verification_key_json(&vk), &public_json(&[w.commitment]), &proof_json(&proof));
    assert!(ok && text.contains("OK"), "snarkjs rejected a batch proof:\n{text}");
    let (ok, _) = snarkjs_verify(&verification_key_json(&vk), &public_json(&[w.commitment + Fr::from(1u64)]), &proof_json(&proof));
    assert!(!ok);
}
