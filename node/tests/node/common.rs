//! A dev-mode node run as its own process, talked to over HTTP as any client would.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub data: PathBuf,
    pub genesis: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    port: u16,
}

fn spawn(genesis: &Path, data: &Path, listen: &str, args: &[String], env: &[(String, String)]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkrollup-node"))
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
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let (child, url) = spawn(genesis, data, "127.0.0.1:0", &args, &env);
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        Node { child, url, data: data.to_path_buf(), genesis: genesis.to_path_buf(), args, env, port }
    }

    /// SIGKILL it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kill it and start it again on the same data folder and port.
    pub fn restart(&mut self) {
        self.kill();
        let (child, url) = spawn(&self.genesis, &self.data, &format!("127.0.0.1:{}", self.port), &self.args, &self.env);
        self.child = child;
        self.url = url;
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
            .args(["--port", &port.to_string(), "--block-time", "1", "--silent", "--state", state.to_str().unwrap()])
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
