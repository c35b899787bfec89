//! `zkrollup watch` as its own process against anvil and an `OptimisticRollup`: the sequencer
//! posts an honest batch and then one with a wrong root; the watcher challenges the bad one
//! within a few blocks, is killed with SIGKILL while its challenge is open and, started again
//! from its store, resolves it after the deadline (the batch reverted, the sequencer slashed,
//! the watcher paid bond and reward). The sequencer re-posts batch 2 honestly; a griefer
//! challenges it and the watcher (`--defend`) proves it and takes the griefer's bond. Then a
//! forged transfer (the right root, another message's signature) is challenged and reverted,
//! and past the window the watcher (`--finalize`) makes batches 1 and 2 final.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use serde_json::{json, Value};
use zkrollup::export::calldata::word;
use zkrollup::export::optimistic::{challenge_batch_calldata, post_batch_calldata};
use zkrollup::optimistic::{sig_data, StoredBatch};
use zkrollup::primitives::batch::Shape;
use zkrollup::{Batch, BatchParams, Fr, State, Transfer};
use zkrollup_node::l1::rpc::RpcL1;

use crate::common::{anvil_signer, free_port, key, Anvil, ANVIL_KEYS};

/// anvil's development accounts 4 and 5 (its default mnemonic): the watcher and a griefer.
const WATCHER_KEY: &str = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";
const GRIEFER_KEY: &str = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba";
/// anvil's development account 6: an optimistic node's settler.
const SETTLER_KEY: &str = "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e";

/// A watcher process, its log in a file.
pub struct Watcher {
    child: Child,
    args: Vec<String>,
    log: PathBuf,
    port: u16,
}

impl Watcher {
    /// Start `zkrollup-node watch ARGS`, serving its status on a free port.
    pub fn start(args: Vec<String>, log: PathBuf) -> Watcher {
        let port = free_port();
        let child = Watcher::spawn(&args, &log, port);
        let w = Watcher { child, args, log, port };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(120), "the watcher does not listen: {}", w.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
        w
    }

    fn spawn(args: &[String], log: &Path, port: u16) -> Child {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        Command::new(env!("CARGO_BIN_EXE_zkrollup-node"))
            .arg("watch")
            .args(args)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("ZKROLLUP_WATCHER_KEY", WATCHER_KEY)
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap()
    }

    fn kill_and_start_again(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        *self = Watcher::start(self.args.clone(), self.log.clone());
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its `/v1/status`.
    pub fn status(&self) -> Value {
        ureq::get(&format!("http://127.0.0.1:{}/v1/status", self.port)).call().unwrap().body_mut().read_json().unwrap()
    }

    /// A metric's value (the first sample whose line starts with `name`).
    fn metric(&self, name: &str) -> f64 {
        let text = ureq::get(&format!("http://127.0.0.1:{}/metrics", self.port)).call().unwrap().body_mut().read_to_string().unwrap();
        text.lines().find(|l| l.starts_with(name)).and_then(|l| l.rsplit(' ').next()).map_or(0.0, |v| v.parse().unwrap())
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn view(anvil: &Anvil, rollup: &str, signature: &str, arg: Option<&[u8]>) -> U256 {
    let mut data = zkrollup_node::contracts::selector(signature).to_vec();
    if let Some(a) = arg {
        data.extend_from_slice(a);
    }
    let out = anvil.call("eth_call", json!([{"to": rollup, "data": format!("0x{}", hex::encode(data))}, "latest"]));
    U256::from_str_radix(&out.as_str().unwrap().trim_start_matches("0x")[..64], 16).unwrap()
}

fn address_word(a: Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a.as_slice());
    w
}

/// Wait until `done` holds, at most `blocks` L1 blocks (anvil mines one a second).
fn within_blocks(anvil: &Anvil, blocks: u64, watcher: &Watcher, what: &str, mut done: impl FnMut() -> bool) {
    let head = |a: &Anvil| u64::from_str_radix(a.call("eth_blockNumber", json!([])).as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let start = head(anvil);
    while !done() {
        assert!(head(anvil) <= start + blocks, "{what}: not within {blocks} blocks; the watcher's log:\n{}", watcher.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The record `BatchPosted` logged for batch `id` (the last one).
fn posted_record(anvil: &Anvil, rollup: &str, id: u64) -> StoredBatch {
    let topic = zkrollup::optimistic::keccak256(format!("BatchPosted(uint256,{})", zkrollup::export::optimistic::STORED_BATCH_TUPLE).as_bytes());
    let logs = anvil.call("eth_getLogs", json!([{"address": rollup, "fromBlock": "0x0", "toBlock": "latest", "topics": [format!("0x{}", hex::encode(topic)), format!("0x{:064x}", id)]}]));
    let data = logs.as_array().unwrap().last().expect("a BatchPosted log")["data"].as_str().unwrap().to_string();
    StoredBatch::abi_decode(&hex::decode(data.trim_start_matches("0x")).unwrap()).unwrap()
}

/// The shape of these tests' rollups.
const SHAPE: Shape = Shape { depth: 4, l1_slots: 1, batch_size: 2 };

/// anvil with an OptimisticRollup of [`SHAPE`] (windows of 600 and 60 seconds), two genesis
/// accounts: (anvil, keys, genesis, the deployment's JSON).
fn optimistic_deployment(dir: &Path) -> (Anvil, PathBuf, PathBuf, Value) {
    optimistic_deployment_with(dir, &[])
}

/// [`optimistic_deployment`] with more `deploy` arguments.
fn optimistic_deployment_with(dir: &Path, more: &[&str]) -> (Anvil, PathBuf, PathBuf, Value) {
    let anvil = Anvil::start(dir);
    let mut extra = vec!["--settlement", "optimistic", "--challenge-window", "600", "--response-window", "60"];
    extra.extend_from_slice(more);
    let (keys, g, d) = crate::anvil::deployed_with(&anvil, dir, SHAPE, 2, &extra);
    (anvil, keys, g, d)
}

/// A settler key file for an optimistic node (account 6), mode 0600.
fn settler_key_file(dir: &Path) -> PathBuf {
    let file = dir.join("settler.key");
    std::fs::write(&file, SETTLER_KEY).unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    file
}

/// `watch`'s arguments for the deployment `d` (its genesis `g`), its data under `dir`, reading
/// one block deep every 100 ms, and `extra`.
pub fn watch_args(anvil: &Anvil, d: &Value, g: &Path, dir: &Path, extra: &[&str]) -> Vec<String> {
    let (rollup, block) = (d["rollup"].as_str().unwrap(), d["block"].to_string());
    let data = dir.join("watch");
    let mut args = vec!["--rpc", &anvil.url(), "--rollup", rollup, "--genesis", g.to_str().unwrap(), "--data", data.to_str().unwrap()]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    args.extend(["--first-block", &block, "--confirmations", "1", "--poll-ms", "100"].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn a_watcher_challenges_a_bad_post_resolves_it_across_a_kill_and_defends_an_honest_one() {
    let dir = tempfile::tempdir().unwrap();
    let (anvil, keys, g, d) = optimistic_deployment(dir.path());
    let rollup = d["rollup"].as_str().unwrap().to_string();
    let rollup_address: Address = rollup.parse().unwrap();
    let sequencer = RpcL1::connect(&anvil.url(), rollup_address, ANVIL_KEYS[1]).unwrap();
    let ether = U256::from(10u64).pow(U256::from(18));
    let bond = ether / U256::from(20);

    let args = watch_args(&anvil, &d, &g, dir.path(), &["--tx-wait-ms", "20000", "--challenge", "--defend", "--keys", keys.to_str().unwrap(), "--finalize"]);
    let mut watcher = Watcher::start(args, dir.path().join("watch.log"));
    let watcher_address: Address = WATCHER_KEY.parse::<alloy::signers::local::PrivateKeySigner>().unwrap().address();

    // The sequencer's batches, made with the engine from the genesis file.
    let mut state: State = zkrollup::files::parse_state(&std::fs::read_to_string(&g).unwrap()).unwrap();
    let domain: Fr = d["domain"].as_str().unwrap().parse().unwrap();
    let params = |id: u64| BatchParams::new(SHAPE.batch_size, domain).with_l1_slots(SHAPE.l1_slots).with_batch_id(id);
    let post = |state: &mut State, id: u64, transfers: Vec<Transfer>, bad_root: bool| {
        let batch = Batch::new(transfers);
        let w = state.apply_batch(&batch, &params(id)).unwrap();
        let mut call = post_batch_calldata(&w.public_data, SHAPE.l1_slots, &[], &sig_data(&batch.padded(SHAPE.batch_size).unwrap())).unwrap();
        if bad_root {
            call[4..36].copy_from_slice(&word(Fr::from(12_345u64)));
        }
        let (r, _) = sequencer.send_as(&anvil_signer(1), Some(rollup_address), call, U256::ZERO, 3_000_000).unwrap();
        assert!(r.success, "postBatch {id}");
        r.block
    };

    // Batch 1, honest; batch 2 claims a wrong root.
    post(&mut state, 1, vec![Transfer::signed(&key(1), 1, 2, 5, 0, domain), Transfer::signed(&key(1), 1, 0, 2, 1, domain)], false);
    let mut after_1 = state.clone();
    post(&mut state, 2, vec![Transfer::signed(&key(2), 2, 1, 3, 0, domain)], true);
    within_blocks(&anvil, 10, &watcher, "the challenge", || view(&anvil, &rollup, "openChallenges()", None) == U256::from(1));
    let bad = posted_record(&anvil, &rollup, 2);
    let (challenger, _) = challenge_of(&anvil, &rollup, &bad);
    assert_eq!(challenger, watcher_address, "the watcher challenged batch 2");
    within_blocks(&anvil, 10, &watcher, "the status", || watcher.status()["first_refused"] == 2);
    assert_eq!(watcher.status()["accepted"], 1);
    // Counted once its receipt is in (the watcher polls for it after the chain has it).
    within_blocks(&anvil, 10, &watcher, "the challenge counted", || watcher.metric("zkrollup_watch_challenges_opened_total") == 1.0);
    assert_eq!(watcher.metric("zkrollup_watch_batches_refused_total{name=\"wrong_root\"}"), 1.0);

    // A watcher given another genesis state stops at batch 1, saying so.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let other_genesis = crate::common::genesis(&other, SHAPE.depth, 3, 1_000_000);
    let out = Command::new(env!("CARGO_BIN_EXE_zkrollup-node"))
        .args(["watch", "--rpc", &anvil.url(), "--rollup", &rollup, "--genesis", other_genesis.to_str().unwrap()])
        .args(["--data", other.join("watch").to_str().unwrap(), "--first-block", &d["block"].to_string(), "--confirmations", "1", "--poll-ms", "100"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--genesis is not this rollup's genesis state"), "{}", String::from_utf8_lossy(&out.stderr));

    // Killed with its challenge open; started again, it resolves from its store.
    watcher.kill_and_start_again();
    anvil.call("evm_increaseTime", json!([61]));
    anvil.call("evm_mine", json!([]));
    within_blocks(&anvil, 10, &watcher, "the revert", || view(&anvil, &rollup, "batchCount()", None) == U256::from(1));
    assert_eq!(view(&anvil, &rollup, "openChallenges()", None), U256::ZERO);
    assert_eq!(view(&anvil, &rollup, "sequencerBond()", None), U256::ZERO, "the sequencer's whole bond slashed");
    let reward = ether / U256::from(2);
    assert_eq!(view(&anvil, &rollup, "pendingBalance(address)", Some(&address_word(watcher_address))), bond + reward, "bond plus half the slash");
    assert_eq!(view(&anvil, &rollup, "burned()", None), ether - reward);

    // The sequencer bonds again and re-posts batch 2, honest, under the same id.
    let (r, _) = sequencer.send_as(&anvil_signer(1), Some(rollup_address), zkrollup_node::contracts::selector("depositSequencerBond()").to_vec(), ether, 200_000).unwrap();
    assert!(r.success);
    post(&mut after_1, 2, vec![Transfer::signed(&key(2), 2, 1, 3, 0, domain)], false);
    within_blocks(&anvil, 10, &watcher, "batch 2 re-applied", || watcher.status()["accepted"] == 2);
    assert_eq!(watcher.status()["first_refused"], Value::Null);

    // A griefer challenges the honest batch 2; the watcher proves it and takes the bond.
    let griefer: alloy::signers::local::PrivateKeySigner = GRIEFER_KEY.parse().unwrap();
    let honest_2 = posted_record(&anvil, &rollup, 2);
    let (r, _) = sequencer.send_as(&griefer, Some(rollup_address), challenge_batch_calldata(&honest_2), bond, 300_000).unwrap();
    assert!(r.success, "the griefing challenge");
    within_blocks(&anvil, 60, &watcher, "the defence", || view(&anvil, &rollup, "openChallenges()", None) == U256::ZERO);
    assert_eq!(view(&anvil, &rollup, "batchCount()", None), U256::from(2), "batch 2 stands");
    assert_eq!(
        view(&anvil, &rollup, "pendingBalance(address)", Some(&address_word(watcher_address))),
        bond + reward + bond,
        "the griefer's bond went to the prover"
    );
    within_blocks(&anvil, 10, &watcher, "the defence counted", || watcher.metric("zkrollup_watch_defences_total") == 1.0);
    assert_eq!(watcher.metric("zkrollup_watch_challenges_opened_total"), 0.0, "the new life opened none");
    assert_eq!(watcher.status()["root"], state_root_text(&after_1));

    // Batch 3 forges a transfer: the root it claims is the one the transfer leads to, but the
    // signature is another message's. Refused by the replay (a bad signature), challenged, and
    // reverted after the deadline; the sequencer's new bond slashed in turn.
    let mut forged = after_1.clone();
    let mut t = Transfer::signed(&key(1), 1, 2, 4, 2, domain);
    t.signature = Transfer::signed(&key(1), 1, 2, 40, 2, domain).signature;
    let batch = Batch::new(vec![t]);
    let w = forged.apply_proved_batch(&batch, &params(3)).unwrap();
    let call = post_batch_calldata(&w.public_data, SHAPE.l1_slots, &[], &sig_data(&batch.padded(SHAPE.batch_size).unwrap())).unwrap();
    let (r, _) = sequencer.send_as(&anvil_signer(1), Some(rollup_address), call, U256::ZERO, 3_000_000).unwrap();
    assert!(r.success, "the forged post lands: L1 checks no signature");
    within_blocks(&anvil, 10, &watcher, "the forged batch challenged", || view(&anvil, &rollup, "openChallenges()", None) == U256::from(1));
    assert_eq!(watcher.metric("zkrollup_watch_batches_refused_total{name=\"bad_signature\"}"), 1.0);
    anvil.call("evm_increaseTime", json!([61]));
    anvil.call("evm_mine", json!([]));
    within_blocks(&anvil, 10, &watcher, "the forged batch reverted", || view(&anvil, &rollup, "batchCount()", None) == U256::from(2));
    within_blocks(&anvil, 10, &watcher, "the win counted", || watcher.metric("zkrollup_watch_challenges_won_total") == 1.0);
    assert_eq!(view(&anvil, &rollup, "sequencerBond()", None), U256::ZERO);
    assert_eq!(watcher.status()["root"], state_root_text(&after_1), "the model back at batch 2");

    // Past batch 1's window (never challenged), with batch 2 proved: the watcher finalizes both
    // in one call, in order.
    assert_eq!(view(&anvil, &rollup, "finalized()", None), U256::ZERO);
    let genesis_owner = address_word(anvil_signer(0).address());
    let before = view(&anvil, &rollup, "pendingBalance(address)", Some(&genesis_owner));
    anvil.call("evm_increaseTime", json!([600]));
    anvil.call("evm_mine", json!([]));
    within_blocks(&anvil, 10, &watcher, "batches 1 and 2 final", || view(&anvil, &rollup, "finalized()", None) == U256::from(2));
    assert_eq!(view(&anvil, &rollup, "finalizedRoot()", None).to_string(), state_root_text(&after_1));
    within_blocks(&anvil, 10, &watcher, "the status", || watcher.status()["finalized"] == 2);
    let gwei = U256::from(1_000_000_000u64);
    assert_eq!(view(&anvil, &rollup, "pendingBalance(address)", Some(&genesis_owner)), before + U256::from(2) * gwei, "batch 1's withdrawal credited when final");
}

/// `challengeOf(hash(b))`: (challenger, deadline).
fn challenge_of(anvil: &Anvil, rollup: &str, b: &StoredBatch) -> (Address, u64) {
    let mut data = zkrollup_node::contracts::selector("challengeOf(bytes32)").to_vec();
    data.extend_from_slice(&b.hash());
    let out = anvil.call("eth_call", json!([{"to": rollup, "data": format!("0x{}", hex::encode(data))}, "latest"]));
    let bytes = hex::decode(out.as_str().unwrap().trim_start_matches("0x")).unwrap();
    (Address::from_slice(&bytes[12..32]), u64::from_be_bytes(bytes[56..64].try_into().unwrap()))
}

fn state_root_text(s: &State) -> String {
    s.root().to_string()
}

/// The node with `--settlement optimistic` posts its batches without proofs (`postBatch`, with
/// their signatures); a read-only watcher re-applies every one from L1 data alone and accepts it
/// (the signatures the node packs are the ones L2 signed). The node's settler (its own key)
/// proves a batch a griefer challenges, taking the griefer's bond, and once the window is over
/// finalizes every batch: the withdrawal among them is credited only then.
#[test]
fn an_optimistic_node_posts_unproved_batches_defends_and_finalizes_them() {
    let dir = tempfile::tempdir().unwrap();
    let (anvil, keys, g, d) = optimistic_deployment(dir.path());
    let rollup = d["rollup"].as_str().unwrap().to_string();
    let rollup_address: Address = rollup.parse().unwrap();
    let settler_file = settler_key_file(dir.path());
    let extra = ["--batch-timeout-ms", "200", "--settlement", "optimistic", "--settler-key-file", settler_file.to_str().unwrap()];
    let node = crate::anvil::rpc_node_via(&anvil.url(), dir.path(), &keys, &g, &d, &extra);
    for nonce in 0..3 {
        node.transfer(&key(1), 1, 2, 5, nonce).unwrap();
    }
    node.transfer(&key(2), 2, 0, 7, 0).unwrap();
    let s = node.wait_settled(Duration::from_secs(600));
    assert_eq!(s["node_root"], s["l1_root"], "{s}");
    let batches = view(&anvil, &rollup, "batchCount()", None);
    assert!(batches >= U256::from(2), "{s}");
    assert_eq!(view(&anvil, &rollup, "finalized()", None), U256::ZERO, "posted, not proved: nothing final yet");
    assert!(!posted_record(&anvil, &rollup, 1).proven);
    let genesis_owner = address_word(anvil_signer(0).address());
    let before = view(&anvil, &rollup, "pendingBalance(address)", Some(&genesis_owner));

    let watcher = Watcher::start(watch_args(&anvil, &d, &g, dir.path(), &[]), dir.path().join("watch.log"));
    let count = batches.to::<u64>();
    within_blocks(&anvil, 20, &watcher, "every batch accepted", || watcher.status()["accepted"] == count);
    assert_eq!(watcher.status()["first_refused"], Value::Null);
    assert_eq!(watcher.status()["root"].as_str().unwrap(), view(&anvil, &rollup, "stateRoot()", None).to_string());
    assert_eq!(view(&anvil, &rollup, "pendingBalance(address)", Some(&genesis_owner)), before, "nothing credited before final");

    // A griefer challenges batch 1; the node's settler proves it.
    let bond = view(&anvil, &rollup, "challengeBond()", None);
    let griefer: alloy::signers::local::PrivateKeySigner = GRIEFER_KEY.parse().unwrap();
    let chain = RpcL1::connect(&anvil.url(), rollup_address, ANVIL_KEYS[0]).unwrap();
    let (r, _) = chain.send_as(&griefer, Some(rollup_address), challenge_batch_calldata(&posted_record(&anvil, &rollup, 1)), bond, 300_000).unwrap();
    assert!(r.success, "the griefing challenge");
    assert_eq!(view(&anvil, &rollup, "openChallenges()", None), U256::from(1));
    within_blocks(&anvil, 120, &watcher, "the node's defence", || view(&anvil, &rollup, "openChallenges()", None) == U256::ZERO);
    let settler: alloy::signers::local::PrivateKeySigner = SETTLER_KEY.parse().unwrap();
    assert_eq!(view(&anvil, &rollup, "pendingBalance(address)", Some(&address_word(settler.address()))), bond, "the griefer's bond to the settler");
    assert_eq!(view(&anvil, &rollup, "batchCount()", None), batches, "nothing reverted");

    anvil.call("evm_increaseTime", json!([601]));
    anvil.call("evm_mine", json!([]));
    within_blocks(&anvil, 20, &watcher, "every batch final", || view(&anvil, &rollup, "finalized()", None) == batches);
    assert_eq!(view(&anvil, &rollup, "finalizedRoot()", None), view(&anvil, &rollup, "stateRoot()", None));
    let gwei = U256::from(1_000_000_000u64);
    assert_eq!(view(&anvil, &rollup, "pendingBalance(address)", Some(&genesis_owner)), before + U256::from(7) * gwei, "the withdrawal credited when final");
}

/// The end to end of a revert: an optimistic node posts batch 2 with an invalid signature in
/// its sigData (the INSECURE test-only flag), so no one can prove it from L1 data. `zkrollup
/// watch --challenge`, its own process, challenges it within a few blocks; the node's settler
/// does not defend it, and the node holds its next batch while the challenge is open. Past the
/// response window the watcher resolves: L1 reverts batch 2 and slashes the sequencer. The
/// node, which had confirmed batch 2, rewinds to batch 1 by itself (in place: the process never
/// stops), posts the dropped transfer again with the held one, and the rollup goes on: L1's
/// root is the model's after the three transfers, the watcher accepts every batch, and the
/// settler finalizes them.
#[test]
fn an_optimistic_node_follows_the_revert_of_its_bad_batch_and_posts_again() {
    let dir = tempfile::tempdir().unwrap();
    let ether = U256::from(10u64).pow(U256::from(18));
    // Bonded three times the least: a slash leaves enough to post again.
    let (anvil, keys, g, d) = optimistic_deployment_with(dir.path(), &["--sequencer-bond-wei", "3000000000000000000"]);
    let rollup = d["rollup"].as_str().unwrap().to_string();
    let settler_file = settler_key_file(dir.path());
    let extra = [
        "--batch-timeout-ms",
        "200",
        "--settlement",
        "optimistic",
        "--settler-key-file",
        settler_file.to_str().unwrap(),
        "--insecure-corrupt-signatures-of-batch",
        "2",
    ];
    let mut node = crate::anvil::rpc_node_via(&anvil.url(), dir.path(), &keys, &g, &d, &extra);
    let watcher = Watcher::start(watch_args(&anvil, &d, &g, dir.path(), &["--tx-wait-ms", "20000", "--challenge"]), dir.path().join("watch.log"));
    let watcher_address: Address = WATCHER_KEY.parse::<alloy::signers::local::PrivateKeySigner>().unwrap().address();
    let batches = || view(&anvil, &rollup, "batchCount()", None).to::<u64>();

    // The model: the genesis state and the same transfers, in the same order.
    let domain = node.domain();
    let transfers = [Transfer::signed(&key(1), 1, 2, 5, 0, domain), Transfer::signed(&key(1), 1, 2, 3, 1, domain), Transfer::signed(&key(2), 2, 1, 4, 0, domain)];
    let model_root = model_root_after(&g, domain, &transfers);

    // Batch 1, honest; then batch 2, posted with the invalid signature.
    node.transfer(&key(1), 1, 2, 5, 0).unwrap();
    within_blocks(&anvil, 30, &watcher, "batch 1 posted", || batches() == 1);
    node.transfer(&key(1), 1, 2, 3, 1).unwrap();
    within_blocks(&anvil, 30, &watcher, "batch 2 posted", || batches() == 2);
    within_blocks(&anvil, 10, &watcher, "the challenge", || view(&anvil, &rollup, "openChallenges()", None) == U256::from(1));
    let bad = posted_record(&anvil, &rollup, 2);
    assert_eq!(challenge_of(&anvil, &rollup, &bad).0, watcher_address, "the watcher challenged batch 2");
    assert_eq!(watcher.status()["first_refused"], 2);
    let bad_root = view(&anvil, &rollup, "stateRoot()", None);
    assert_eq!(bad_root.to_string(), model_root_after(&g, domain, &transfers[..2]), "batch 2's root is right: only a signature is not");

    // A third transfer is sealed, and held while the challenge is open.
    node.transfer(&key(2), 2, 1, 4, 0).unwrap();
    node.wait_for("batch 3 sealed and held", |s| s["last_sealed"] == "3" && s["l1_error"].as_str().is_some_and(|e| e.contains("challenges open")));
    let s = node.wait_for("batch 2 confirmed", |s| s["last_confirmed"] == "2");
    assert_eq!(batches(), 2, "nothing posted while the challenge is open: {s}");

    // Past the response window the watcher resolves: batch 2 is reverted, the sequencer slashed.
    anvil.call("evm_increaseTime", json!([61]));
    anvil.call("evm_mine", json!([]));
    within_blocks(&anvil, 20, &watcher, "the revert", || view(&anvil, &rollup, "openChallenges()", None).is_zero());
    assert!(node.is_running());
    let s = crate::l1_faults::settled_through_restarts(&mut node);
    assert_eq!(view(&anvil, &rollup, "sequencerBond()", None), U256::from(2) * ether, "slashed once: {s}");
    assert_eq!(
        view(&anvil, &rollup, "pendingBalance(address)", Some(&address_word(watcher_address))),
        view(&anvil, &rollup, "challengeBond()", None) + ether / U256::from(2),
        "the watcher's bond back with half the slash"
    );
    let count = batches();
    assert!(count >= 2, "the dropped transfer and the held one posted again: {s}");
    assert_eq!(view(&anvil, &rollup, "stateRoot()", None).to_string(), model_root, "L1's root is the model's: {s}");
    assert_eq!(s["node_root"], s["l1_root"], "{s}");
    within_blocks(&anvil, 20, &watcher, "every batch accepted", || watcher.status()["accepted"] == count);
    assert_eq!(watcher.status()["first_refused"], Value::Null);
    assert_ne!(posted_record(&anvil, &rollup, 2).hash(), bad.hash(), "batch 2 is a new post");

    // Past the window the settler makes every batch final.
    anvil.call("evm_increaseTime", json!([601]));
    anvil.call("evm_mine", json!([]));
    within_blocks(&anvil, 30, &watcher, "every batch final", || view(&anvil, &rollup, "finalized()", None) == U256::from(count));
    assert_eq!(view(&anvil, &rollup, "finalizedRoot()", None).to_string(), model_root);
}

/// The root after applying `transfers` to the genesis state `g`, one a batch.
fn model_root_after(g: &Path, domain: Fr, transfers: &[Transfer]) -> String {
    let mut state: State = zkrollup::files::parse_state(&std::fs::read_to_string(g).unwrap()).unwrap();
    for (i, t) in transfers.iter().enumerate() {
        let params = BatchParams::new(SHAPE.batch_size, domain).with_l1_slots(SHAPE.l1_slots).with_batch_id(i as u64 + 1);
        state.apply_batch(&Batch::new(vec![*t]), &params).unwrap();
    }
    state_root_text(&state)
}

/// `--dev --settlement optimistic`: the dev chain gets an `OptimisticRollup` (SPEC-v3's 7-day
/// window) and the sequencer's bond; the node posts its batches without proofs, nothing is
/// final or credited until the chain's clock is moved past the window, then the node's dev
/// settler finalizes every batch and the withdrawal is credited. Started again on the same data
/// it goes on; started in validity mode on it, it refuses, naming the contract.
#[test]
fn a_dev_node_settles_optimistically_and_finalizes_once_the_clock_passes_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let g = crate::common::genesis(dir.path(), 4, 2, 1_000);
    let data = dir.path().join("data");
    let mut node = crate::common::Node::start(&g, &data, &["--settlement", "optimistic", "--batch-timeout-ms", "200"]);
    node.transfer(&key(1), 1, 2, 5, 0).unwrap();
    node.transfer(&key(2), 2, 0, 7, 0).unwrap();
    let s = node.wait_settled(Duration::from_secs(600));
    assert_eq!(s["node_root"], s["l1_root"], "{s}");
    let owner = "0x000000000000000000000000000000000000009e";
    let pending = |node: &crate::common::Node| node.get(&format!("/v1/dev/l1/{owner}")).1["pending_balance"].as_str().unwrap().to_string();
    let chain = node.get("/v1/dev/chain").1;
    assert_eq!(chain["finalized"], "0", "posted, nothing final within the window: {chain}");
    assert_eq!(pending(&node), "0", "nothing credited before final");

    let (code, moved) = node.post("/v1/dev/chain", &json!({"advance_s": 7 * 24 * 3600}));
    assert_eq!(code, 200, "{moved}");
    let confirmed = s["last_confirmed"].as_str().unwrap().to_string();
    let start = Instant::now();
    while node.get("/v1/dev/chain").1["finalized"] != confirmed.as_str() {
        assert!(start.elapsed() < Duration::from_secs(120), "not final: {}", node.get("/v1/dev/chain").1);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(pending(&node), "7000000000", "the withdrawal credited when final");

    node.restart();
    assert_eq!(node.wait_settled(Duration::from_secs(60))["last_confirmed"], confirmed.as_str());
    node.kill();
    let out = Command::new(env!("CARGO_BIN_EXE_zkrollup-node"))
        .args(["--dev", "--genesis", g.to_str().unwrap(), "--data", data.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("an OptimisticRollup"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `--prove-all` is for optimistic settlement only; the INSECURE test flag too.
#[test]
fn prove_all_and_the_insecure_flag_need_optimistic_settlement() {
    let dir = tempfile::tempdir().unwrap();
    let g = crate::common::genesis(dir.path(), 4, 2, 1_000);
    for extra in [&["--prove-all"][..], &["--insecure-corrupt-signatures-of-batch", "2"], &["--settlement", "optimistic", "--prove-all", "--insecure-corrupt-signatures-of-batch", "2"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_zkrollup-node"))
            .args(["--dev", "--genesis", g.to_str().unwrap(), "--data", dir.path().join("data").to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
