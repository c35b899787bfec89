//! The gas table of BENCHMARKS.md: deploy the generated verifier and `ZKRollup` in revm (Osaka
//! rules, solc from `verifier-sol/`), then `verifyProof` and two consecutive `submitBatch` calls
//! with real proofs, for each N at depth 16. Needs `npm ci --prefix verifier-sol`.
//! Run: `cargo run --release --example gas_report -- [N...]` (default 1 3 4 16).

#[path = "../tests/common/evm.rs"]
mod evm;

use evm::{account, address_word, calldata_gas, u64_word, Chain, Outcome};
use zkrollup::export::calldata::{submit_batch_calldata, verify_proof_calldata, word};
use zkrollup::export::solidity::render_verifier;
use zkrollup::primitives::eddsa::PrivateKey;
use zkrollup::prover::{bundle, prove};
use ark_ff::PrimeField;
use zkrollup::{Account, Batch, BatchParams, State, Transfer};

const DEPTH: usize = 16;
/// M of the measured circuits; today's `ZKRollup` publishes these L1 slots as padding.
const L1_SLOTS: usize = zkrollup::DEFAULT_L1_SLOTS;

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("N")).collect();
    let sizes = if sizes.is_empty() { vec![1, 3, 4, 16] } else { sizes };
    println!("| N | deploy verifier | deploy ZKRollup | verifyProof tx | floor | over floor | submitBatch #1 | submitBatch #2 | txData calldata |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for n in sizes {
        row(n);
    }
}

fn row(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let shape = zkrollup::primitives::batch::Shape { depth: DEPTH, l1_slots: L1_SLOTS, batch_size: n };
    let info = bundle::setup_to_dir(dir.path(), shape, Some(1)).unwrap();
    let pk = bundle::load_proving(dir.path(), &info).unwrap();
    let sol = dir.path().join("Groth16Verifier.sol");
    std::fs::write(&sol, render_verifier(&pk.vk, &info).unwrap()).unwrap();
    let contracts = evm::compile(&[&sol, &evm::root().join("verifier-sol/ZKRollup.sol")]);

    // 2N funded accounts; each batch is N full transfers (no padding), the second after the first.
    let keys: Vec<PrivateKey> = (0..2 * n).map(|i| PrivateKey::from_bytes([i as u8 + 1; 32])).collect();
    let accounts = keys.iter().enumerate().map(|(i, k)| (i as u32 + 1, Account::new(k.public_key(), 1_000_000, 0)));
    let mut state = State::from_accounts(DEPTH, accounts.collect()).unwrap();
    let genesis = state.root();

    // The rollup's address, and so its domain, is known before the batches are signed.
    let mut chain = Chain::new();
    let (verifier, deploy_verifier) = chain.deploy(account(1), &contracts["Groth16Verifier"].bytecode, &[]);
    let args =
        [address_word(verifier), word(genesis), u64_word(n as u64), u64_word(L1_SLOTS as u64), address_word(account(2))]
            .concat();
    let (rollup, deploy_rollup) = chain.deploy(account(1), &contracts["ZKRollup"].bytecode, &args);
    let domain = zkrollup::Fr::from_be_bytes_mod_order(&chain.view_word(rollup, evm::selector("domain()")));
    let params = BatchParams::new(n).with_l1_slots(L1_SLOTS).with_domain(domain);
    let batch = |nonce: u64| {
        let transfers = (0..n).map(|i| {
            let from = 2 * i as u32 + 1;
            Transfer::signed(&keys[2 * i], from, from + 1, 1_000 + i as u64, nonce, params.domain)
        });
        Batch::new(transfers.collect())
    };
    let w1 = state.apply_batch(&batch(0), &params.with_batch_id(1)).unwrap();
    let w2 = state.apply_batch(&batch(1), &params.with_batch_id(2)).unwrap();
    let p1 = prove(&pk, w1.circuit(DEPTH)).unwrap();
    let p2 = prove(&pk, w2.circuit(DEPTH)).unwrap();

    let verify_call = verify_proof_calldata(&p1, w1.commitment);
    let verify = chain.call(account(3), verifier, verify_call.clone());
    assert!(matches!(&verify, Outcome::Success { output, .. } if output[31] == 1), "{verify:?}");
    let floor = 21_000 + calldata_gas(&verify_call) + 181_000 + 6_150;
    let mut submits = Vec::new();
    for (w, p) in [(&w1, &p1), (&w2, &p2)] {
        let out = chain.call(account(2), rollup, submit_batch_calldata(p, &w.public_data, L1_SLOTS).unwrap());
        assert!(matches!(out, Outcome::Success { .. }), "{out:?}");
        submits.push(out.gas());
    }
    let tx_data_gas = calldata_gas(&submit_batch_calldata(&p2, &w2.public_data, L1_SLOTS).unwrap());
    println!(
        "| {n} | {deploy_verifier} | {deploy_rollup} | {} | {floor} | {:+.2}% | {} | {} | {tx_data_gas} |",
        verify.gas(),
        100.0 * (verify.gas() as f64 - floor as f64) / floor as f64,
        submits[0],
        submits[1],
    );
}
