//! The `zkrollup` binary: a newcomer's keygen -> sign -> apply path, and its error behaviour.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// The domain the transfers and batches here are for (there is no default).
const DOMAIN: &str = "4242";

fn zkrollup(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkrollup")).args(args).output().expect("binary runs")
}

fn stdout_json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Two accounts made with `keygen`, a state file written by hand, a transfer made with `sign`.
fn setup(dir: &Path, amount: u64) -> (std::path::PathBuf, std::path::PathBuf) {
    let alice = stdout_json(&zkrollup(&["keygen"]));
    let bob = stdout_json(&zkrollup(&["keygen"]));
    assert_ne!(alice["private_key"], bob["private_key"], "keygen must be random");
    let state = serde_json::json!({"depth": 2, "accounts": [
        {"index": 1, "pubkey": alice["pubkey"], "balance": "100", "nonce": "0"},
        {"index": 2, "pubkey": bob["pubkey"], "balance": "0", "nonce": "0"},
    ]});
    let transfer = stdout_json(&zkrollup(&[
        "sign", "--domain", DOMAIN, "--private-key", alice["private_key"].as_str().unwrap(),
        "--from", "1", "--to", "2", "--amount", &amount.to_string(), "--nonce", "0",
    ]));
    let (state_path, batch_path) = (dir.join("state.json"), dir.join("batch.json"));
    std::fs::write(&state_path, state.to_string()).unwrap();
    std::fs::write(&batch_path, serde_json::json!({"transfers": [transfer]}).to_string()).unwrap();
    (state_path, batch_path)
}

#[test]
fn keygen_sign_apply_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (state, batch) = setup(dir.path(), 40);
    let out = dir.path().join("out");
    let run = zkrollup(&["apply", "--domain", DOMAIN, "--state", p(&state), "--batch", p(&batch), "--out", p(&out)]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let text = String::from_utf8(run.stdout).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    let new_state: Value = serde_json::from_str(&std::fs::read_to_string(out.join("state.json")).unwrap()).unwrap();
    assert_eq!(new_state["accounts"][0]["balance"], "60");
    assert_eq!(new_state["accounts"][0]["nonce"], "1");
    assert_eq!(new_state["accounts"][1]["balance"], "40");
    let hex = std::fs::read_to_string(out.join("public_data.hex")).unwrap();
    assert_eq!(hex.len(), 2 * (104 + 45 * zkrollup::DEFAULT_L1_SLOTS + 16 * zkrollup::DEFAULT_BATCH_SIZE));
}

#[test]
fn requests_withdrawals_and_genesis_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (state, _) = setup(dir.path(), 1);
    let carol = stdout_json(&zkrollup(&["keygen"]));
    let genesis = stdout_json(&zkrollup(&["genesis", "--state", p(&state), "--json"]));
    assert_eq!(genesis["genesis_next_index"], 3);
    assert_eq!(genesis["genesis_total"], "100");
    let addr = format!("0x{}", "ab".repeat(20));
    let requests = serde_json::json!({"requests": [
        {"type": "deposit_new", "index": 3, "amount": "70", "pubkey": carol["pubkey"], "addr": addr},
        {"type": "full_exit", "index": 1, "amount": "0", "addr": addr},
    ]});
    let requests_path = dir.path().join("requests.json");
    std::fs::write(&requests_path, requests.to_string()).unwrap();
    // Carol's new account withdraws in the same batch, on a deployment of domain 5, batch 9.
    let withdrawal = stdout_json(&zkrollup(&[
        "sign", "--private-key", carol["private_key"].as_str().unwrap(),
        "--from", "3", "--to", "0", "--amount", "20", "--nonce", "0", "--domain", "5",
    ]));
    let batch = dir.path().join("withdraw.json");
    std::fs::write(&batch, serde_json::json!({"transfers": [withdrawal]}).to_string()).unwrap();
    let out = dir.path().join("out");
    let args = ["apply", "--state", p(&state), "--requests", p(&requests_path), "--batch", p(&batch), "--domain", "5", "--batch-id", "9", "--out", p(&out)];
    let run = zkrollup(&args);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let new_state: Value = serde_json::from_str(&std::fs::read_to_string(out.join("state.json")).unwrap()).unwrap();
    assert_eq!(new_state["accounts"][0]["balance"], "0", "the full exit took account 1's 100");
    assert_eq!(new_state["accounts"][2]["balance"], "50");
    let hex = hex::decode(std::fs::read_to_string(out.join("public_data.hex")).unwrap()).unwrap();
    assert_eq!(hex[31], 5, "domain");
    assert_eq!(hex[39], 9, "batch id");
    assert_eq!(&hex[104 + 45..104 + 58], &[3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 100], "full exit with the proved balance");
    // The same batch under another domain: the signature no longer verifies.
    std::fs::remove_dir_all(&out).unwrap();
    let mut other = args;
    other[8] = "6";
    let run = zkrollup(&other);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1));
    assert!(err.contains("L2 slot 0: signature invalid"), "{err}");
    assert!(!out.exists());
    // A state with a gap is no genesis.
    let gap = dir.path().join("gap.json");
    let mut with_gap: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    with_gap["accounts"][1]["index"] = 3.into();
    std::fs::write(&gap, with_gap.to_string()).unwrap();
    let run = zkrollup(&["genesis", "--state", p(&gap)]);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("slot 2 is empty"));
}

#[test]
fn invalid_batch_prints_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (state, batch) = setup(dir.path(), 101);
    let out = dir.path().join("out");
    let run = zkrollup(&["apply", "--domain", DOMAIN, "--state", p(&state), "--batch", p(&batch), "--out", p(&out)]);
    assert!(!run.status.success());
    let err = String::from_utf8(run.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("slot 0: insufficient balance: sender has 100, transfer moves 101"), "{err}");
    assert!(!out.exists(), "output written for a rejected batch");
}

#[test]
fn malformed_inputs_are_clear_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let (state, batch) = setup(dir.path(), 1);
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{\"depth\": 2, \"accounts\": [").unwrap();
    let out = dir.path().join("out");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["apply", "--domain", DOMAIN, "--state", p(&garbage), "--batch", p(&batch), "--out", p(&out)], "malformed JSON"),
        (vec!["apply", "--domain", DOMAIN, "--state", "/no/such/file", "--batch", p(&batch), "--out", p(&out)], "cannot read /no/such/file"),
        (vec!["apply", "--state", p(&state), "--batch", p(&batch), "--domain", "x", "--out", p(&out)], "--domain"),
        (vec!["apply", "--domain", DOMAIN, "--state", p(&state), "--batch", p(&batch), "--batch-size", "0", "--out", p(&out)], "--batch-size"),
        (vec!["apply", "--domain", DOMAIN, "--state", p(&state), "--requests", p(&garbage), "--batch", p(&batch), "--out", p(&out)], "requests file"),
        (vec!["sign", "--domain", DOMAIN, "--private-key", "abcd", "--from", "1", "--to", "2", "--amount", "1", "--nonce", "0"], "32 bytes"),
        (vec!["keygen", "--private-key", "zz"], "not hex"),
        (vec!["export-verifier", "--keys", "/no/such/dir", "--out", p(&out)], "/no/such/dir/circuit.json"),
        (vec!["calldata", "--proof", p(&garbage), "--public-data", p(&garbage)], "proof file"),
    ];
    for (args, expected) in cases {
        let run = zkrollup(&args);
        let err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    assert!(!out.exists());
}

/// No default domain (SPEC-v2 section 8): `sign`, `apply` and `prove` refuse to run without
/// `--domain` or `--deployment`; a deployment file as `zkrollup node deploy --out` writes it
/// gives the public data its domain gives by hand; a file without a domain is named.
#[test]
fn the_domain_is_required_or_read_from_a_deployment_file() {
    let dir = tempfile::tempdir().unwrap();
    let (state, batch) = setup(dir.path(), 10);
    let out = dir.path().join("out");
    let key = "11".repeat(32);
    for args in [
        vec!["sign", "--private-key", &key, "--from", "1", "--to", "2", "--amount", "1", "--nonce", "0"],
        vec!["apply", "--state", p(&state), "--batch", p(&batch), "--out", p(&out)],
        vec!["prove", "--keys", "/no/such/dir", "--state", p(&state), "--batch", p(&batch), "--out", p(&out)],
    ] {
        let run = zkrollup(&args);
        let err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("--domain"), "{args:?}: {err}");
    }
    let deployment = dir.path().join("deployment.json");
    let file = serde_json::json!({"verifier": format!("0x{}", "01".repeat(20)), "rollup": format!("0x{}", "02".repeat(20)), "block": 7, "domain": DOMAIN, "value_wei": "0", "gas_used": 1});
    std::fs::write(&deployment, file.to_string()).unwrap();
    let (by_hand, from_file) = (dir.path().join("by_hand"), dir.path().join("from_file"));
    let run = zkrollup(&["apply", "--domain", DOMAIN, "--state", p(&state), "--batch", p(&batch), "--out", p(&by_hand)]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let run = zkrollup(&["apply", "--deployment", p(&deployment), "--state", p(&state), "--batch", p(&batch), "--out", p(&from_file)]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let read = |d: &Path| std::fs::read_to_string(d.join("public_data.hex")).unwrap();
    assert_eq!(read(&by_hand), read(&from_file));
    // Both at once, and a file without a domain, are refused by name.
    let run = zkrollup(&["apply", "--domain", DOMAIN, "--deployment", p(&deployment), "--state", p(&state), "--batch", p(&batch), "--out", p(&out)]);
    assert_eq!(run.status.code(), Some(2), "{}", String::from_utf8_lossy(&run.stderr));
    let bare = dir.path().join("bare.json");
    std::fs::write(&bare, r#"{"rollup": "0x0202020202020202020202020202020202020202"}"#).unwrap();
    let run = zkrollup(&["sign", "--deployment", p(&bare), "--private-key", &key, "--from", "1", "--to", "2", "--amount", "1", "--nonce", "0"]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(err.contains("bare.json") && err.contains("no \"domain\""), "{err}");
    assert!(!out.exists());
}

#[test]
fn request_calldata_encodes_each_entry_point() {
    use zkrollup::export::calldata::{deposit_calldata, deposit_new_calldata, request_full_exit_calldata, withdraw_pending_calldata};
    let hex_of = |args: &[&str]| {
        let out = zkrollup(&[&["request-calldata"], args].concat());
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        hex::decode(String::from_utf8(out.stdout).unwrap().trim().trim_start_matches("0x")).unwrap()
    };
    let owner = format!("0x{}", "cd".repeat(20));
    assert_eq!(hex_of(&["--kind", "deposit", "--index", "5"]), deposit_calldata(5));
    assert_eq!(hex_of(&["--kind", "full-exit", "--index", "7"]), request_full_exit_calldata(7));
    assert_eq!(hex_of(&["--kind", "deposit-new", "--pubkey", "1", "2", "--owner", &owner]), deposit_new_calldata(1u64.into(), 2u64.into(), &[0xcd; 20]));
    assert_eq!(hex_of(&["--kind", "withdraw-pending", "--owner", &owner, "--amount-wei", "99"]), withdraw_pending_calldata(&[0xcd; 20], 99));
    for (args, expected) in [
        (vec!["--kind", "deposit"], "--index is required"),
        (vec!["--kind", "deposit-new", "--pubkey", "1", "2", "--owner", "0x12"], "--owner 0x12"),
    ] {
        let out = zkrollup(&[&["request-calldata"], args.as_slice()].concat());
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains(expected), "{args:?}");
    }
}

#[test]
fn help_explains_every_command() {
    let help = String::from_utf8(zkrollup(&["--help"]).stdout).unwrap();
    for command in ["setup", "prove", "verify", "info", "apply", "genesis", "keygen", "sign", "demo", "export-verifier", "calldata", "exit-calldata", "request-calldata", "bench"] {
        assert!(help.contains(command), "{help}");
        let sub = zkrollup(&[command, "--help"]);
        assert!(sub.status.success());
    }
}

/// `zkrollup node` runs the `zkrollup-node` beside it with its arguments, or says it is missing.
#[test]
fn node_runs_the_node_program_beside_it() {
    let run = zkrollup(&["node", "--help"]);
    let node = std::path::Path::new(env!("CARGO_BIN_EXE_zkrollup")).with_file_name("zkrollup-node");
    if node.exists() {
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let help = String::from_utf8(run.stdout).unwrap();
        assert!(help.contains("--genesis") && help.contains("--rpc"), "{help}");
        // Its refusals and exit codes pass through.
        let bad = zkrollup(&["node", "--dev"]);
        assert_eq!(bad.status.code(), Some(2), "{}", String::from_utf8_lossy(&bad.stderr));
    } else {
        assert!(!run.status.success());
        assert!(String::from_utf8_lossy(&run.stderr).contains("zkrollup-node"));
    }
}

/// `zkrollup watch` runs `zkrollup-node watch`; a watcher that must move refuses to start
/// without its key, naming the variable.
#[test]
fn watch_runs_the_nodes_watcher_and_asks_for_its_key() {
    let run = zkrollup(&["watch", "--help"]);
    let node = std::path::Path::new(env!("CARGO_BIN_EXE_zkrollup")).with_file_name("zkrollup-node");
    if node.exists() {
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let help = String::from_utf8(run.stdout).unwrap();
        assert!(help.contains("--challenge") && help.contains("--defend") && help.contains("--first-block"), "{help}");
        let args = ["watch", "--rpc", "http://127.0.0.1:9", "--rollup", "0x0000000000000000000000000000000000000001", "--genesis", "g.json", "--data", "d"];
        let no_key = Command::new(env!("CARGO_BIN_EXE_zkrollup")).args(args).arg("--challenge").env_remove("ZKROLLUP_WATCHER_KEY").output().unwrap();
        assert_eq!(no_key.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&no_key.stderr).contains("ZKROLLUP_WATCHER_KEY"), "{}", String::from_utf8_lossy(&no_key.stderr));
        let bad = zkrollup(&["watch", "--rpc", "x", "--rollup", "0x12", "--genesis", "g", "--data", "d"]);
        assert!(String::from_utf8_lossy(&bad.stderr).contains("--rollup"), "{}", String::from_utf8_lossy(&bad.stderr));
        let defend_without_keys = zkrollup(&["watch", "--rpc", "x", "--rollup", "0x12", "--genesis", "g", "--data", "d", "--defend"]);
        assert_eq!(defend_without_keys.status.code(), Some(2), "clap refuses --defend without --keys");
    } else {
        assert!(!run.status.success());
        assert!(String::from_utf8_lossy(&run.stderr).contains("zkrollup-node"));
    }
}

#[test]
fn worker_runs_the_worker_program_beside_it() {
    let run = zkrollup(&["worker", "--help"]);
    let worker = std::path::Path::new(env!("CARGO_BIN_EXE_zkrollup")).with_file_name("zkrollup-worker");
    if worker.exists() {
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let help = String::from_utf8(run.stdout).unwrap();
        assert!(help.contains("--db") && help.contains("--keys-from"), "{help}");
        let bad = zkrollup(&["worker", "--threads", "2"]);
        assert_eq!(bad.status.code(), Some(2), "{}", String::from_utf8_lossy(&bad.stderr));
    } else {
        assert!(!run.status.success());
        assert!(String::from_utf8_lossy(&run.stderr).contains("zkrollup-worker"));
    }
}

#[test]
fn channel_runs_the_channels_program_beside_it() {
    let run = zkrollup(&["channel", "--help"]);
    let program = std::path::Path::new(env!("CARGO_BIN_EXE_zkrollup")).with_file_name("zkrollup-channel");
    if program.exists() {
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let help = String::from_utf8(run.stdout).unwrap();
        assert!(help.contains("pay") && help.contains("accept") && help.contains("claim-and-close"), "{help}");
        let no_contract = zkrollup(&["channel", "--rpc", "http://127.0.0.1:9", "status", "--channel", "1"]);
        assert_eq!(no_contract.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&no_contract.stderr).contains("--contract"), "{}", String::from_utf8_lossy(&no_contract.stderr));
        let no_key = Command::new(env!("CARGO_BIN_EXE_zkrollup"))
            .args(["channel", "--rpc", "http://127.0.0.1:9", "deploy"])
            .env_remove("ZKROLLUP_CHANNEL_KEY")
            .output()
            .unwrap();
        assert_eq!(no_key.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&no_key.stderr).contains("ZKROLLUP_CHANNEL_KEY"), "{}", String::from_utf8_lossy(&no_key.stderr));
    } else {
        assert!(!run.status.success());
        assert!(String::from_utf8_lossy(&run.stderr).contains("zkrollup-channel"));
    }
}

#[test]
fn demo_runs_and_refuses_impossible_sizes() {
    let run = zkrollup(&["demo", "--batch-size", "2", "--depth", "2", "--accounts", "6", "--no-proof"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let text = String::from_utf8(run.stdout).unwrap();
    for line in ["old root:", "new root:", "commitment:", "public data: 271 bytes", "L1 DepositNew", "L1 FullExit", "L2 withdrawal"] {
        assert!(text.contains(line), "{text}");
    }
    let bad: [&[&str]; 5] = [
        &["--depth", "0"],
        &["--depth", "17"],
        &["--batch-size", "0"],
        &["--batch-size", "4", "--accounts", "7"],
        // Depth 1 has 4 slots, one of them reserved.
        &["--batch-size", "1", "--depth", "1", "--accounts", "4"],
    ];
    for args in bad {
        let run = zkrollup(&[&["demo"], args].concat());
        let err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.starts_with("error: --"), "{args:?}: {err}");
    }
}

#[test]
fn setup_prove_verify_info_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let run = zkrollup(&["setup", "--batch-size", "1", "--depth", "2", "--seed", "7", "--out", p(&keys)]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stderr).contains("INSECURE"));
    for f in ["proving_key.bin", "verifying_key.bin", "verification_key.json", "matrices.bin", "circuit.json"] {
        assert!(keys.join(f).is_file(), "{f}");
    }
    let (state, batch) = setup(dir.path(), 40);
    let out = dir.path().join("out");
    let run = zkrollup(&["prove", "--domain", DOMAIN, "--keys", p(&keys), "--state", p(&state), "--batch", p(&batch), "--out", p(&out), "--threads", "1"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    for f in ["proof.json", "public.json", "public_data.hex", "state.json"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    // The on-chain path: the verifier for these keys, and the submitBatch call for this proof.
    let sol = dir.path().join("Verifier.sol");
    let run = zkrollup(&["export-verifier", "--keys", p(&keys), "--out", p(&sol)]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(std::fs::read_to_string(&sol).unwrap().contains("function verifyProof("));
    let calldata = |data: &Path| zkrollup(&["calldata", "--proof", p(&out.join("proof.json")), "--public-data", p(data)]);
    let run = calldata(&out.join("public_data.hex"));
    let hex_call = String::from_utf8(run.stdout).unwrap();
    assert!(hex_call.starts_with("0x70ba4839"), "{hex_call}");
    assert_eq!(hex_call.trim().len(), 2 + 2 * (4 + 32 * 11 + 32 + 32 + 32), "N = 1: no L1 record, 16 bytes of l2Data padded to 32");
    let bad_data = dir.path().join("bad.hex");
    for (content, expected) in [("xyz", "not hex"), ("00ff", "public data is 2 bytes")] {
        std::fs::write(&bad_data, content).unwrap();
        let run = calldata(&bad_data);
        let err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{err}");
        assert!(err.contains(expected), "{err}");
    }

    let verify = |public: &Path| zkrollup(&["verify", "--keys", p(&keys), "--proof", p(&out.join("proof.json")), "--public", p(public)]);
    let ok = verify(&out.join("public.json"));
    assert_eq!((ok.status.code(), String::from_utf8_lossy(&ok.stdout).trim()), (Some(0), "valid"));
    // A changed public input: invalid, exit 1.
    let public: Vec<String> = serde_json::from_str(&std::fs::read_to_string(out.join("public.json")).unwrap()).unwrap();
    let changed = dir.path().join("changed.json");
    let bumped = zkrollup::decimal::parse_fr(&public[0]).unwrap() + zkrollup::Fr::from(1u64);
    std::fs::write(&changed, serde_json::json!([zkrollup::decimal::fr_to_decimal(bumped)]).to_string()).unwrap();
    let bad = verify(&changed);
    assert_eq!((bad.status.code(), String::from_utf8_lossy(&bad.stdout).trim()), (Some(1), "invalid"));
    // Malformed input: a clear error, exit 2.
    std::fs::write(&changed, "[\"x\"]").unwrap();
    let malformed = verify(&changed);
    assert_eq!(malformed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&malformed.stderr).contains("public[0]"));
    // Tampered matrices are refused before they are used; a key folder without matrices (as
    // written before they existed) proves, building them.
    let matrices = keys.join("matrices.bin");
    let original = std::fs::read(&matrices).unwrap();
    let mut bytes = original.clone();
    bytes[100] ^= 1;
    std::fs::write(&matrices, &bytes).unwrap();
    let out3 = dir.path().join("out3");
    let run = zkrollup(&["prove", "--domain", DOMAIN, "--keys", p(&keys), "--state", p(&state), "--batch", p(&batch), "--out", p(&out3)]);
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("matrices.bin") && err.contains("does not match the recorded"), "{err}");
    assert!(!out3.exists());
    std::fs::remove_file(&matrices).unwrap();
    let info_path = keys.join("circuit.json");
    let info_text = std::fs::read_to_string(&info_path).unwrap();
    let mut info: serde_json::Value = serde_json::from_str(&info_text).unwrap();
    info.as_object_mut().unwrap().remove("matrices_sha256").expect("setup records the matrices' sha256");
    std::fs::write(&info_path, info.to_string()).unwrap();
    let run = zkrollup(&["prove", "--domain", DOMAIN, "--keys", p(&keys), "--state", p(&state), "--batch", p(&batch), "--out", p(&out3)]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stderr).contains("building the matrices"));
    std::fs::write(&matrices, original).unwrap();
    std::fs::write(&info_path, info_text).unwrap();

    // A tampered proving key is refused before it is used.
    let pk = keys.join("proving_key.bin");
    let mut bytes = std::fs::read(&pk).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&pk, bytes).unwrap();
    let out2 = dir.path().join("out2");
    let run = zkrollup(&["prove", "--domain", DOMAIN, "--keys", p(&keys), "--state", p(&state), "--batch", p(&batch), "--out", p(&out2)]);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("does not match the recorded"));
    assert!(!out2.exists());

    // The keys fix N: prove refuses another.
    let run = zkrollup(&["prove", "--domain", DOMAIN, "--keys", p(&keys), "--state", p(&state), "--batch", p(&batch), "--batch-size", "2", "--out", p(&out2)]);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("keys in"), "{}", String::from_utf8_lossy(&run.stderr));

    let info = stdout_json(&zkrollup(&["info", "--batch-size", "3", "--l1-slots", "3", "--depth", "16", "--json"]));
    assert_eq!(info["public_inputs"], 1);
    assert_eq!(info["l1_slots"], 3);
    // Issue 11's budgets at depth 16, each slot with its share of the SHA-256.
    assert!(info["constraints_per_transfer"].as_u64().unwrap() <= 32_100, "{info}");
    assert!(info["constraints_per_l1_slot"].as_u64().unwrap() <= 31_000, "{info}");
    assert!(info["fixed_constraints"].as_u64().unwrap() <= 64_000, "{info}");
    assert!(info["constraints"].as_u64().unwrap() > 0);
}

#[test]
fn prove_refuses_an_invalid_batch_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    assert!(zkrollup(&["setup", "--batch-size", "1", "--depth", "2", "--seed", "7", "--out", p(&keys)]).status.success());
    let (state, batch) = setup(dir.path(), 101);
    let out = dir.path().join("out");
    let run = zkrollup(&["prove", "--domain", DOMAIN, "--keys", p(&keys), "--state", p(&state), "--batch", p(&batch), "--out", p(&out)]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("slot 0: insufficient balance"), "{err}");
    assert!(!out.exists());
}

#[test]
fn bench_compares_both_provers_and_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_zkrollup"))
        .args(["bench", "--batch-size", "1", "--depth", "2", "--samples", "1", "--compare-stock", "--json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let report = stdout_json(&run);
    for key in ["stock_prove_ms", "prove_ms", "speedup_vs_stock", "constraints"] {
        assert!(report[key].as_f64().unwrap() > 0.0, "{key}: {report}");
    }
    assert!(dir.path().join("keys/dev-m3-n1-d2/circuit.json").is_file(), "dev keys cached where run");
}

/// A one-shot HTTP server on loopback answering every connection with `answer` (a whole
/// response, or bytes that are not HTTP); its URL.
fn serve(answer: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/readyz", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && std::io::Read::read(&mut s, &mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            assert!(head.starts_with(b"GET /readyz HTTP/1.1\r\n"), "{}", String::from_utf8_lossy(&head));
            let _ = std::io::Write::write_all(&mut s, answer.as_bytes());
        }
    });
    url
}

/// `zkrollup healthcheck URL` (images have no curl): 0 on a 2xx answer; 1 (Docker's
/// "unhealthy") on any other answer, with its body, on no answer, and on a bad URL.
#[test]
fn healthcheck_exits_0_on_a_2xx_and_1_on_anything_else_saying_what() {
    let ok = serve("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n");
    let run = zkrollup(&["healthcheck", &ok]);
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let blocked = serve("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 44\r\n\r\n{\"ready\":false,\"blocked\":{\"l1\":\"refused\"}}\n");
    let run = zkrollup(&["healthcheck", &blocked]);
    let said = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{said}");
    assert!(said.contains("answered 503") && said.contains("\"l1\":\"refused\""), "{said}");
    let garbage = serve("SSH-2.0-OpenSSH\r\n\r\n");
    let run = zkrollup(&["healthcheck", &garbage]);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("did not answer HTTP"), "{}", String::from_utf8_lossy(&run.stderr));
    // A port nothing listens on (bound, then closed).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let run = zkrollup(&["healthcheck", &format!("http://{closed}/readyz")]);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("cannot connect"), "{}", String::from_utf8_lossy(&run.stderr));
    let run = zkrollup(&["healthcheck", "https://node/readyz"]);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("only http://"), "{}", String::from_utf8_lossy(&run.stderr));
}
