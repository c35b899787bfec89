//! The committed bytecode in `node/contracts/` is what the pinned solc makes of the sources, and
//! a verifier made from the template is solc's compilation of `export-verifier`'s source.
//! Regenerate: `ZKROLLUP_WRITE_BYTECODE=1 cargo test -p zkrollup-node --test node bytecode`.

use std::path::{Path, PathBuf};
use std::process::Command;

use zkrollup::export::solidity::render_verifier;
use zkrollup::prover::bundle;
use zkrollup_node::contracts::{
    bytecode, strip_metadata, verifier_bytecode, verifier_template_source, OPTIMISTIC_ROLLUP_HEX, POSEIDON_T5_HEX,
    VERIFIER_TEMPLATE_HEX, ZKROLLUP_HEX,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Compile files with `verifier-sol/compile.mjs`: creation bytecode by contract name.
fn compile(files: &[PathBuf]) -> serde_json::Value {
    assert!(
        root().join("verifier-sol/node_modules/solc").exists(),
        "the pinned solc is not installed: run `npm ci --prefix verifier-sol`"
    );
    let out = Command::new("node").arg(root().join("verifier-sol/compile.mjs")).args(files).output().expect("node runs");
    assert!(out.status.success(), "solc failed:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("compile.mjs prints JSON")
}

fn code_of(v: &serde_json::Value, name: &str) -> String {
    v["contracts"][name]["bytecode"].as_str().unwrap_or_else(|| panic!("{name} compiled")).to_string()
}

fn check_or_write(file: &str, compiled: &str) {
    let path = root().join("node/contracts").join(file);
    if std::env::var_os("ZKROLLUP_WRITE_BYTECODE").is_some() {
        std::fs::write(&path, format!("{compiled}\n")).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    assert!(
        committed.trim() == compiled,
        "{} is not what solc makes of the sources: regenerate with ZKROLLUP_WRITE_BYTECODE=1",
        path.display()
    );
}

#[test]
fn committed_bytecode_is_solcs_compilation_of_the_sources() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("Groth16Verifier.sol");
    std::fs::write(&template, verifier_template_source()).unwrap();
    let sol = |name: &str| root().join("verifier-sol").join(name);
    let out = compile(&[sol("ZKRollup.sol"), template, sol("OptimisticRollup.sol"), sol("PoseidonT5.sol")]);
    let files = [
        ("ZKRollup.hex", "ZKRollup", ZKROLLUP_HEX),
        ("Groth16Verifier.template.hex", "Groth16Verifier", VERIFIER_TEMPLATE_HEX),
        ("OptimisticRollup.hex", "OptimisticRollup", OPTIMISTIC_ROLLUP_HEX),
        ("PoseidonT5.hex", "PoseidonT5", POSEIDON_T5_HEX),
    ];
    for (file, name, _) in files {
        check_or_write(file, &code_of(&out, name));
    }
    // The constants the node reads at compile time are these files.
    for (file, name, constant) in files {
        assert_eq!(constant.trim(), code_of(&out, name), "{file}");
    }
}

#[test]
fn a_verifier_from_the_template_is_solcs_verifier_for_the_key() {
    // The committed verifying key of the default development parameters, and a second key.
    let dir = root().join("keys/dev-m3-n3-d16");
    let vk = bundle::load_verifying(&dir).unwrap();
    let info = bundle::load_info(&dir).unwrap();
    let small = zkrollup::primitives::batch::Shape { depth: 2, l1_slots: 1, batch_size: 1 };
    let (_, vk2) = zkrollup::prover::setup_insecure_dev(zkrollup::primitives::batch::BatchCircuit::blank(small), 5).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let info2 = bundle::CircuitInfo { batch_size: small.batch_size, l1_slots: small.l1_slots, depth: small.depth, ..info.clone() };
    for (i, (vk, info)) in [(vk, info), (vk2, info2)].iter().enumerate() {
        let src = tmp.path().join(format!("V{i}.sol"));
        std::fs::write(&src, render_verifier(vk, info).unwrap()).unwrap();
        let solc = bytecode(&code_of(&compile(&[src]), "Groth16Verifier"));
        let ours = verifier_bytecode(vk, info.shape()).unwrap();
        assert_eq!(strip_metadata(&ours), strip_metadata(&solc), "key {i}");
        assert_ne!(ours, bytecode(VERIFIER_TEMPLATE_HEX));
    }
}
