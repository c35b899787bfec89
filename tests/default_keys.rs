//! The committed artifacts of the default parameters (M = 3, N = 3, D = 16) are exactly what
//! the INSECURE development setup from `INSECURE_DEV_SEED` makes today: `keys/dev-m3-n3-d16/`
//! (verifying key, its snarkjs JSON, circuit.json) and `verifier-sol/Groth16Verifier.sol`.
//! The committed verifier then accepts a fresh proof in revm, within 1% of the gas floor.
//!
//! After an intended circuit change, regenerate them with:
//!   cargo run --release -- setup --batch-size 3 --l1-slots 3 --depth 16 --seed 2026 --out keys/dev-m3-n3-d16
//!   cargo run --release -- export-verifier --keys keys/dev-m3-n3-d16 --out verifier-sol/Groth16Verifier.sol

mod common;

use common::evm::{self, account, calldata_gas, Chain, Outcome};
use zkrollup::export::calldata::verify_proof_calldata;
use zkrollup::export::solidity::render_verifier;
use zkrollup::primitives::eddsa::PrivateKey;
use zkrollup::prover::{bundle, prove, INSECURE_DEV_SEED};
use zkrollup::primitives::batch::Shape;
use zkrollup::{Account, Batch, BatchParams, Fr, Request, State, Transfer, DEFAULT_BATCH_SIZE, DEFAULT_DEPTH, DEFAULT_L1_SLOTS};

fn same(committed: &std::path::Path, fresh: &[u8]) {
    let bytes = std::fs::read(committed).unwrap_or_else(|e| panic!("{}: {e}", committed.display()));
    assert!(
        bytes == fresh,
        "{} differs from a fresh generation from seed {INSECURE_DEV_SEED}; if the circuit changed on purpose, \
         regenerate it (see tests/default_keys.rs)",
        committed.display()
    );
}

#[test]
fn committed_default_keys_and_verifier_match_a_fresh_generation() {
    let root = evm::root();
    let committed = root.join(format!("keys/dev-m{DEFAULT_L1_SLOTS}-n{DEFAULT_BATCH_SIZE}-d{DEFAULT_DEPTH}"));
    let fresh = tempfile::tempdir().unwrap();
    let shape = Shape { depth: DEFAULT_DEPTH, l1_slots: DEFAULT_L1_SLOTS, batch_size: DEFAULT_BATCH_SIZE };
    let info = bundle::setup_to_dir(fresh.path(), shape, Some(INSECURE_DEV_SEED)).unwrap();
    for name in ["verifying_key.bin", "verification_key.json", "circuit.json"] {
        same(&committed.join(name), &std::fs::read(fresh.path().join(name)).unwrap());
    }
    let vk = bundle::load_verifying(&committed).unwrap();
    let golden = root.join("verifier-sol/Groth16Verifier.sol");
    same(&golden, render_verifier(&vk, &bundle::load_info(&committed).unwrap()).unwrap().as_bytes());

    // The committed verifier, compiled, accepts a proof made with the regenerated proving key.
    let keys: Vec<PrivateKey> = (1..=4).map(|i| PrivateKey::from_bytes([i; 32])).collect();
    let accounts = keys.iter().enumerate().map(|(i, k)| (i as u32 + 1, Account::new(k.public_key(), 500, 0)));
    let mut state = State::from_accounts(DEFAULT_DEPTH, accounts.collect()).unwrap();
    let params = BatchParams::new(DEFAULT_BATCH_SIZE, Fr::from(31_337u64)).with_l1_slots(DEFAULT_L1_SLOTS);
    let batch = Batch::new(vec![
        Transfer::signed(&keys[0], 1, 2, 10, 0, params.domain),
        Transfer::signed(&keys[2], 3, 0, 20, 0, params.domain),
    ])
    .with_requests(vec![Request::deposit(4, 5, [4; 20]), Request::full_exit(2, [2; 20])]);
    let w = state.apply_batch(&batch, &params).unwrap();
    let pk = bundle::load_proving(fresh.path(), &info).unwrap();
    let proof = prove(&pk, w.circuit(DEFAULT_DEPTH)).unwrap();

    let contracts = evm::compile(&[&golden]);
    let mut chain = Chain::new();
    let (verifier, _) = chain.deploy(account(1), &contracts["Groth16Verifier"].bytecode, &[]);
    let call = verify_proof_calldata(&proof, w.commitment);
    let out = chain.call(account(2), verifier, call.clone());
    assert!(matches!(&out, Outcome::Success { output, .. } if output[31] == 1), "{out:?}");
    let floor = 21_000 + calldata_gas(&call) + 181_000 + 6_150;
    assert!(out.gas() * 100 <= floor * 101, "verifyProof used {} gas, more than 1% over the floor {floor}", out.gas());
}
