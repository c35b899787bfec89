//! The `zkrollup` binary: a newcomer's keygen -> sign -> apply path, and its error behaviour.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

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
        "sign", "--private-key", alice["private_key"].as_str().unwrap(),
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
    let run = zkrollup(&["apply", "--state", p(&state), "--batch", p(&batch), "--out", p(&out)]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let text = String::from_utf8(run.stdout).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    let new_state: Value = serde_json::from_str(&std::fs::read_to_string(out.join("state.json")).unwrap()).unwrap();
    assert_eq!(new_state["accounts"][0]["balance"], "60");
    assert_eq!(new_state["accounts"][0]["nonce"], "1");
    assert_eq!(new_state["accounts"][1]["balance"], "40");
    let hex = std::fs::read_to_string(out.join("public_data.hex")).unwrap();
    assert_eq!(hex.len(), 2 * (64 + 16 * zkrollup::DEFAULT_BATCH_SIZE));
}

#[test]
fn invalid_batch_prints_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (state, batch) = setup(dir.path(), 101);
    let out = dir.path().join("out");
    let run = zkrollup(&["apply", "--state", p(&state), "--batch", p(&batch), "--out", p(&out)]);
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
        (vec!["apply", "--state", p(&garbage), "--batch", p(&batch), "--out", p(&out)], "malformed JSON"),
        (vec!["apply", "--state", "/no/such/file", "--batch", p(&batch), "--out", p(&out)], "cannot read /no/such/file"),
        (vec!["apply", "--state", p(&state), "--batch", p(&batch), "--domain", "x", "--out", p(&out)], "--domain"),
        (vec!["apply", "--state", p(&state), "--batch", p(&batch), "--batch-size", "0", "--out", p(&out)], "--batch-size"),
        (vec!["sign", "--private-key", "abcd", "--from", "1", "--to", "2", "--amount", "1", "--nonce", "0"], "32 bytes"),
        (vec!["keygen", "--private-key", "zz"], "not hex"),
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

#[test]
fn help_explains_every_command() {
    let help = String::from_utf8(zkrollup(&["--help"]).stdout).unwrap();
    for command in ["apply", "keygen", "sign"] {
        assert!(help.contains(command), "{help}");
        let sub = zkrollup(&[command, "--help"]);
        assert!(sub.status.success());
    }
}

#[test]
fn demo_runs_and_refuses_impossible_sizes() {
    let run = zkrollup(&["demo", "--batch-size", "2", "--depth", "2", "--accounts", "6"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let text = String::from_utf8(run.stdout).unwrap();
    for line in ["old root:", "new root:", "commitment:", "public data: 96 bytes"] {
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
