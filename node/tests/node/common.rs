//! A dev-mode node run as its own process, talked to over HTTP as any client would.

#![allow(dead_code)]

use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, BufReader};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use serde_json::{json, Value};
use zkrollup::decimal::fr_to_decimal;
use zkrollup::files::{state_to_json, transfer_entry};
use zkrollup::primitives::eddsa::PrivateKey;
use zkrollup::{Account, Fr, State, Transfer};

/// The private key of genesis account `i` (and of accounts the tests deposit).
pub fn key(i: u32) -> PrivateKey {
    let mut b = [7u8; 32];
    b[..4].copy_from_slice(&i.to_be_bytes());
    PrivateKey::from_bytes(b)
}

/// A genesis file of depth `depth` with `accounts` accounts of `balance` gwei each.
pub fn genesis(dir: &Path, depth: usize, accounts: u32, balance: u64) -> PathBuf {
    let list = (1..=accounts).map(|i| (i, Account::new(key(i).public_key(), balance, 0))).collect();
    let state = State::from_accounts(depth, list).unwrap();
    let path = dir.join("genesis.json");
    std::fs::write(&path, state_to_json(&state)).unwrap();
    path
}

/// A running node.
pub struct Node {
    child: Child,
    /// Its API (`node.url`, `node.get(...)`, ... through Deref).
    api: NodeApi,
    pub data: PathBuf,
    pub genesis: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    address: String,
    port: u16,
    /// The program and its first arguments: `zkrollup-node`, or `zkrollup node`.
    program: Vec<String>,
}

/// The node's own program.
fn node_program() -> Vec<String> {
    vec![env!("CARGO_BIN_EXE_zkrollup-node").to_string()]
}

fn spawn(program: &[String], genesis: &Path, data: &Path, listen: &str, args: &[String], env: &[(String, String)]) -> (Child, String) {
    let mut child = Command::new(&program[0])
        .args(&program[1..])
        .args(["--genesis", genesis.to_str().unwrap(), "--data", data.to_str().unwrap(), "--listen", listen])
        .args(args)
        .envs(env.iter().cloned())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the node starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[node] {line}");
            if let Some(url) = line.strip_prefix("zkrollup-node: listening on ") {
                let _ = tx.send(url.to_string());
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(300)).expect("the node listens within 5 minutes");
    (child, url)
}

impl Node {
    /// Start a dev-mode node on a free port with these extra arguments.
    pub fn start(genesis: &Path, data: &Path, args: &[&str]) -> Node {
        let mut all = vec!["--dev"];
        all.extend_from_slice(args);
        Node::start_with(genesis, data, &all, &[])
    }

    /// Start a node on a free port with these arguments and environment.
    pub fn start_with(genesis: &Path, data: &Path, args: &[&str], env: &[(&str, &str)]) -> Node {
        Node::start_on("127.0.0.1", genesis, data, args, env)
    }

    /// Start a node on a free port of `address` with these arguments and environment.
    pub fn start_on(address: &str, genesis: &Path, data: &Path, args: &[&str], env: &[(&str, &str)]) -> Node {
        Node::start_program(node_program(), address, genesis, data, args, env)
    }

    /// Start `program` (a path and its first arguments, `zkrollup node` say) as the node, on
    /// loopback, in dev mode with these extra arguments.
    pub fn start_via(program: &[&str], genesis: &Path, data: &Path, args: &[&str]) -> Node {
        let mut all = vec!["--dev"];
        all.extend_from_slice(args);
        Node::start_program(program.iter().map(|s| s.to_string()).collect(), "127.0.0.1", genesis, data, &all, &[])
    }

    fn start_program(program: Vec<String>, address: &str, genesis: &Path, data: &Path, args: &[&str], env: &[(&str, &str)]) -> Node {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let (child, url) = spawn(&program, genesis, data, &format!("{address}:0"), &args, &env);
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        Node { child, api: NodeApi { url }, data: data.to_path_buf(), genesis: genesis.to_path_buf(), args, env, address: address.to_string(), port, program }
    }

    /// Whether its process still runs.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// The process id of the program the test started.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send it a signal (`TERM`, `INT`, `KILL`, ...).
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill").args([&format!("-{signal}"), &self.child.id().to_string()]).status().unwrap();
        assert!(ok.success(), "kill -{signal}");
    }

    /// Start it again on the same data folder and port, once it has exited.
    pub fn start_again(&mut self) {
        let (child, url) = spawn(&self.program, &self.genesis, &self.data, &format!("{}:{}", self.address, self.port), &self.args, &self.env);
        self.child = child;
        self.api.url = url;
    }

    /// SIGKILL it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Wait for it to exit on its own, within `limit`: its exit status.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(start.elapsed() < limit, "the node still runs after {limit:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kill it and start it again on the same data folder and port.
    pub fn restart(&mut self) {
        self.kill();
        self.start_again();
    }

}

/// The value of the series `series` (its name and labels as exposed) in a `/metrics` text.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

/// A node's HTTP API, wherever it runs (a process of the test's, or a container).
pub struct NodeApi {
    /// `http://HOST:PORT`.
    pub url: String,
}

impl std::ops::Deref for Node {
    type Target = NodeApi;
    fn deref(&self) -> &NodeApi {
        &self.api
    }
}

impl NodeApi {
    /// The `/metrics` text.
    pub fn metrics(&self) -> String {
        let (code, m) = self.get("/metrics");
        assert_eq!(code, 200, "{m}");
        m.as_str().unwrap().to_string()
    }

    /// GET a path: (status, JSON body).
    pub fn get(&self, path: &str) -> (u16, Value) {
        answer(ureq::get(&format!("{}{path}", self.url)).config().http_status_as_error(false).build().call())
    }

    /// POST raw bytes.
    pub fn post_bytes(&self, path: &str, body: &[u8]) -> (u16, Value) {
        answer(
            ureq::post(&format!("{}{path}", self.url))
                .config()
                .http_status_as_error(false)
                .build()
                .header("content-type", "application/json")
                .send(body),
        )
    }

    /// POST JSON.
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_bytes(path, body.to_string().as_bytes())
    }

    /// `/v1/status`.
    pub fn status(&self) -> Value {
        let (code, v) = self.get("/v1/status");
        assert_eq!(code, 200, "{v}");
        v
    }

    /// The domain transfers are signed in.
    pub fn domain(&self) -> Fr {
        zkrollup::decimal::parse_fr(self.status()["domain"].as_str().unwrap()).unwrap()
    }

    /// Submit a signed transfer; its id.
    pub fn transfer(&self, key: &PrivateKey, from: u32, to: u32, amount: u64, nonce: u64) -> Result<u64, Value> {
        let t = Transfer::signed(key, from, to, amount, nonce, self.domain());
        let (code, v) = self.post("/v1/transfers", &serde_json::to_value(transfer_entry(&t)).unwrap());
        if code == 202 {
            Ok(v["id"].as_str().unwrap().parse().unwrap())
        } else {
            Err(json!({"status": code, "body": v}))
        }
    }

    /// Queue a DepositNew on the dev chain for `key` with `owner`; its queue position.
    pub fn deposit_new(&self, key: &PrivateKey, owner: &str, amount: u64) -> Value {
        let p = key.public_key();
        let (code, v) = self.post(
            "/v1/dev/deposits",
            &json!({"type": "deposit_new", "pubkey": [fr_to_decimal(p.x()), fr_to_decimal(p.y())], "owner": owner, "amount": amount.to_string()}),
        );
        assert_eq!(code, 200, "{v}");
        v
    }

    /// Submit a signed transfer, sent again while the node asks to wait (503 with a full
    /// backlog, 429), as a wallet would; its id.
    pub fn transfer_when_ready(&self, key: &PrivateKey, from: u32, to: u32, amount: u64, nonce: u64) -> Result<u64, Value> {
        let start = Instant::now();
        loop {
            match self.transfer(key, from, to, amount, nonce) {
                Err(e) if (e["status"] == 503 || e["status"] == 429) && start.elapsed() < Duration::from_secs(600) => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                done => return done,
            }
        }
    }

    /// Wait until `until` holds of the node's status (within ten minutes: only a node that is
    /// stuck takes that long).
    pub fn wait_for(&self, what: &str, until: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let s = self.status();
            if until(&s) {
                return s;
            }
            assert!(start.elapsed() < Duration::from_secs(600), "{what}: not within 10 minutes: {s}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until every sealed batch is confirmed and nothing waits, or panic after `limit`.
    pub fn wait_settled(&self, limit: Duration) -> Value {
        let start = Instant::now();
        loop {
            let s = self.status();
            let settled = s["mempool"] == 0
                && s["last_confirmed"] == s["last_sealed"]
                && s["l1_batch_count"].as_str() == s["last_confirmed"].as_str();
            if settled {
                return s;
            }
            assert!(s["failed_batch"].is_null(), "a batch failed: {s}");
            assert!(start.elapsed() < limit, "not settled after {limit:?}: {s}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
    let mut r = r.expect("the node answers");
    let code = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap_or_default();
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (code, v)
}

/// anvil's well-known development keys (from its default mnemonic): deployer, sequencer, a user,
/// a payee.
pub const ANVIL_KEYS: [&str; 4] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
];

/// The signer of `ANVIL_KEYS[i]`.
pub fn anvil_signer(i: usize) -> alloy::signers::local::PrivateKeySigner {
    ANVIL_KEYS[i].parse().unwrap()
}

/// `zkrollup-node deploy` on anvil from `ANVIL_KEYS[0]`, with `ANVIL_KEYS[1]` the sequencer:
/// its JSON (verifier, rollup, block, domain, ...).
pub fn deploy(anvil: &Anvil, keys: &Path, genesis: &Path) -> Value {
    deploy_with(anvil, keys, genesis, &[])
}

/// [`deploy`] with more of `deploy`'s arguments (`--maturity 5`, say).
pub fn deploy_with(anvil: &Anvil, keys: &Path, genesis: &Path, extra: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_zkrollup-node"))
        .args(["deploy", "--rpc", &anvil.url(), "--keys", keys.to_str().unwrap(), "--genesis", genesis.to_str().unwrap()])
        .args(["--sequencer", &anvil_signer(1).address().to_string()])
        // The tests deposit a few gwei; the default (SPEC-v2's) is 10^6.
        .args(["--min-deposit", "1"])
        .args(extra)
        .env("ZKROLLUP_DEPLOYER_KEY", ANVIL_KEYS[0])
        // With --settlement optimistic, the sequencer deposits its bond.
        .env("ZKROLLUP_SEQUENCER_KEY", ANVIL_KEYS[1])
        .output()
        .unwrap();
    assert!(out.status.success(), "deploy: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// How a [`riding_client`] sends.
#[derive(Clone, Copy)]
pub struct ClientPlan {
    /// Transfers to send at least (1 gwei each).
    pub transfers: u64,
    /// The pause after each.
    pub pause: Duration,
}

/// A client that rides out the node's deaths, sending from `from` to `to` until `stop` is set,
/// and at least `plan.transfers` (so a test's traffic lasts as long as the test needs it, and
/// its count does not depend on how fast the node is): on no answer it waits for the node, asks
/// for the sender's pending nonce (as a wallet would, to learn whether its transfer landed) and
/// goes on. Each acknowledged id goes to `acked`.
pub fn riding_client(url: &Mutex<String>, domain: Fr, from: u32, to: u32, plan: ClientPlan, stop: &AtomicBool, acked: &Mutex<Vec<u64>>) {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(5))).build().into();
    let get_json = |path: &str| -> Option<Value> {
        let base = url.lock().unwrap().clone();
        let mut r = agent.get(&format!("{base}{path}")).call().ok()?;
        (r.status() == 200).then(|| r.body_mut().read_json().ok()).flatten()
    };
    let mut nonce: Option<u64> = None;
    let mut sent = 0;
    while sent < plan.transfers || !stop.load(Ordering::Relaxed) {
        let n = match nonce {
            Some(n) => n,
            None => match get_json(&format!("/v1/accounts/{from}")) {
                Some(a) => a["pending_nonce"].as_str().unwrap().parse().unwrap(),
                None => {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            },
        };
        let t = Transfer::signed(&key(from), from, to, 1, n, domain);
        let base = url.lock().unwrap().clone();
        let body = serde_json::to_string(&transfer_entry(&t)).unwrap();
        match agent.post(&format!("{base}/v1/transfers")).header("content-type", "application/json").send(body.as_bytes()) {
            Ok(mut r) if r.status() == 202 => {
                let v: Value = r.body_mut().read_json().unwrap();
                acked.lock().unwrap().push(v["id"].as_str().unwrap().parse().unwrap());
                nonce = Some(n + 1);
                sent += 1;
            }
            Ok(r) if r.status() == 429 || r.status() == 503 => std::thread::sleep(Duration::from_millis(20)),
            Ok(mut r) => {
                let v: Value = r.body_mut().read_json().unwrap_or(Value::Null);
                assert_eq!(v["rule"], "wrong_nonce", "client {from}: unexpected refusal {v}");
                nonce = None;
            }
            // The node died mid-request: the transfer may or may not be stored.
            Err(_) => {
                nonce = None;
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        std::thread::sleep(plan.pause);
    }
}

/// The stages whose work a status shows under way: accepting (transfers arrived in the last
/// polls, in `recent`, or wait unsealed), proving, and submitting or waiting for confirmations.
fn busy_stages(status: &Value, recent: &VecDeque<u64>) -> Vec<&'static str> {
    let n = |k: &str| status[k].as_str().map_or(0, |v| v.parse::<u64>().unwrap());
    [
        ("accepting", status["mempool"].as_u64().unwrap_or(0) > 0 || recent.front() != recent.back()),
        ("proving", n("last_sealed") > n("last_proved")),
        ("submitting or waiting", n("last_proved") > n("last_confirmed")),
    ]
    .into_iter()
    .filter_map(|(stage, busy)| busy.then_some(stage))
    .collect()
}

/// Kill `node` with SIGKILL at random moments and restart it each time (publishing its URL in
/// `url`): at least `min_kills` times, and until the kills have met accepting, proving, and
/// submitting or waiting for confirmations. A life lasts a random time; while a stage is still
/// unmet, it goes on until the status shows an unmet stage at work, so that every stage is met
/// whatever the machine's speed. The traffic ([`riding_client`]s) must go on until `all_met`,
/// which this sets once every stage is met. `now_and_then(kill, node, rng)` runs every 50 ms
/// while the node runs; `before_restart(kill)` after each kill, before the restart. The stages
/// met.
pub fn kill_at_random(
    node: &mut Node,
    url: &Mutex<String>,
    rng: &mut impl rand::Rng,
    min_kills: usize,
    all_met: &AtomicBool,
    mut now_and_then: impl FnMut(usize, &Node, &mut dyn rand::RngCore),
    mut before_restart: impl FnMut(usize),
) -> HashSet<&'static str> {
    const ALL: usize = 3;
    let mut stages_hit: HashSet<&'static str> = HashSet::new();
    let mut proved_at: Vec<u64> = Vec::new();
    for kill in 0.. {
        if kill >= min_kills && stages_hit.len() == ALL {
            break;
        }
        let run_for = Duration::from_millis(rng.gen_range(300..2500));
        let start = Instant::now();
        let mut last = Value::Null;
        let mut recent: VecDeque<u64> = Default::default();
        let mut inner = rand::rngs::StdRng::seed_from_u64(rng.gen());
        // A proof can take longer than most lives on a busy machine (the prover runs at the
        // lowest priority): when three lives in a row proved nothing, this one lasts until a
        // proof lands, so the run always moves on.
        let proved = |v: &Value| v["last_proved"].as_str().map_or(0, |p| p.parse::<u64>().unwrap());
        let stalled = proved_at.len() >= 3 && proved_at[proved_at.len() - 3] == proved_at[proved_at.len() - 1];
        let proved_before = proved_at.last().copied().unwrap_or(0);
        loop {
            let random_life_over = start.elapsed() >= run_for && !(stalled && proved(&last) == proved_before);
            let meets_unmet = stages_hit.len() == ALL || busy_stages(&last, &recent).iter().any(|s| !stages_hit.contains(s));
            if random_life_over && meets_unmet {
                break;
            }
            // Only a node that is stuck takes this long to prove or to reach an unmet stage.
            assert!(start.elapsed() < Duration::from_secs(600), "kill {kill}: no progress or unmet stage in 10 minutes (met {stages_hit:?}): {last}");
            now_and_then(kill, node, &mut inner);
            last = node.status();
            recent.push_back(last["transfers_accepted"].as_str().unwrap().parse().unwrap());
            if recent.len() > 6 {
                recent.pop_front();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        proved_at.push(proved(&last));
        // What was in flight when the kill came.
        stages_hit.extend(busy_stages(&last, &recent));
        if stages_hit.len() == ALL {
            all_met.store(true, Ordering::Relaxed);
        }
        eprintln!("kill {kill} after {:?}: {last}", start.elapsed());
        node.kill();
        before_restart(kill);
        node.restart();
        *url.lock().unwrap() = node.url.clone();
    }
    stages_hit
}

/// Bring the workspace's programs and examples up to date (another crate's binary, an
/// example), with exactly the selection `cargo test --workspace` builds: after it, this is a
/// no-op; after a run of one test binary alone, it builds what is stale. (A narrower selection,
/// `-p zkrollup-fleet` say, unifies features differently and rebuilds half the tree.)
pub fn workspace_built() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let ok = Command::new(cargo).args(["build", "--workspace", "--bins", "--examples", "--tests"]).status().unwrap();
    assert!(ok.success(), "building the workspace's programs");
}

/// A free TCP port on loopback (free when asked).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// anvil (the npm package `@foundry-rs/anvil`, pinned in `node/js`), its chain kept in a state
/// file so that it survives its own restart.
pub struct Anvil {
    child: Child,
    pub port: u16,
    state: PathBuf,
}

impl Anvil {
    fn spawn(port: u16, state: &Path) -> Child {
        // The platform package's binary itself, not the npm wrapper script: a signal must reach
        // anvil (which writes its state on SIGTERM), not a node.js parent that drops it.
        let packages = Path::new(env!("CARGO_MANIFEST_DIR")).join("js/node_modules/@foundry-rs");
        let bin = std::fs::read_dir(&packages)
            .ok()
            .and_then(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path().join("bin/anvil"))
                    .find(|p| p.exists())
            })
            .expect("anvil is not installed: run `npm ci --prefix node/js`");
        let child = Command::new(bin)
            // One slot an epoch: the `finalized` block, which the node waits for by default, is
            // two blocks behind the head (on Ethereum it is 64).
            .args(["--port", &port.to_string(), "--block-time", "1", "--slots-in-an-epoch", "1", "--silent", "--state", state.to_str().unwrap()])
            .spawn()
            .expect("anvil starts");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(30), "anvil does not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }

    /// Start anvil on a free port.
    pub fn start(dir: &Path) -> Anvil {
        let port = free_port();
        let state = dir.join("anvil-state.json");
        Anvil { child: Anvil::spawn(port, &state), port, state }
    }

    /// Its JSON-RPC URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A JSON-RPC call's result (anvil's own methods included: `evm_setIntervalMining`, ...).
    pub fn call(&self, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let (code, v) = answer(ureq::post(&self.url()).config().http_status_as_error(false).build().send_json(&body));
        assert!(code == 200 && v.get("error").is_none(), "{method}: {code} {v}");
        v["result"].clone()
    }

    /// Stop it gracefully (it writes its state) and start it again on the same port.
    pub fn restart(&mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap();
        self.child = Anvil::spawn(self.port, &self.state);
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
