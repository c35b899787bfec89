//! What the channels' tests against anvil share: anvil itself (the pinned one of `node/js`) and
//! its JSON-RPC.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// anvil's development keys 0, 1 and 2 (its default mnemonic): deployer, sender, recipient.
pub const ANVIL_KEYS: [&str; 3] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
];

/// anvil on a free port, killed when dropped.
pub struct Anvil(Child, u16);

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Anvil {
    /// Start anvil (automine: a block a transaction).
    pub fn start() -> Anvil {
        let packages = Path::new(env!("CARGO_MANIFEST_DIR")).join("../node/js/node_modules/@foundry-rs");
        let bin = std::fs::read_dir(&packages)
            .ok()
            .and_then(|d| d.filter_map(Result::ok).map(|e| e.path().join("bin/anvil")).find(|p| p.exists()))
            .expect("anvil is not installed: run `npm ci --prefix node/js`");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(bin).args(["--port", &port.to_string(), "--silent"]).spawn().expect("anvil starts");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(30), "anvil does not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Anvil(child, port)
    }

    /// Its JSON-RPC URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.1)
    }

    /// A JSON-RPC call's result.
    pub fn call(&self, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let v: Value = ureq::post(&self.url()).send_json(&body).unwrap().body_mut().read_json().unwrap();
        assert!(v.get("error").is_none(), "{method}: {v}");
        v["result"].clone()
    }
}
