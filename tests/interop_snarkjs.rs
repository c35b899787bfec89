//! snarkjs (npm, pinned in tests/js/package.json) verifies the engine's Groth16 files and rejects
//! them with a changed public input. Needs `npm ci --prefix tests/js`.

use std::path::Path;
use std::process::Command;

use zkrollup::prover::snarkjs::{proof_json, public_json, verification_key_json};
use zkrollup::primitives::batch::BatchCircuit;
use zkrollup::primitives::eddsa::PrivateKey;
use zkrollup::prover::{prove, setup_insecure_dev, PreimageCircuit};
use zkrollup::{Account, Batch, BatchParams, Fr, State, Transfer};

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

#[test]
fn snarkjs_accepts_a_real_batch_proof() {
    let key = PrivateKey::from_bytes([4; 32]);
    let depth = 2;
    let mut state = State::from_accounts(depth, vec![(1, Account::new(key.public_key(), 10, 0))]).unwrap();
    let params = BatchParams::new(1);
    let w = state.apply_batch(&Batch::new(vec![Transfer::signed(&key, 1, 1, 3, 0, params.domain)]), &params).unwrap();
    let (pk, vk) = setup_insecure_dev(BatchCircuit::blank(depth, 1, params.domain), 5).unwrap();
    let proof = prove(&pk, w.circuit(depth)).unwrap();
    let (ok, text) = snarkjs_verify(&verification_key_json(&vk), &public_json(&[w.commitment]), &proof_json(&proof));
    assert!(ok && text.contains("OK"), "snarkjs rejected a batch proof:\n{text}");
    let (ok, _) = snarkjs_verify(&verification_key_json(&vk), &public_json(&[w.commitment + Fr::from(1u64)]), &proof_json(&proof));
    assert!(!ok);
}
