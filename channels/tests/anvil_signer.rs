//! anvil's `eth_signTypedData_v4` (the pinned anvil of `node/js`, a real Ethereum node's signer)
//! signs a voucher with its first development key: the same bytes as the crate's signer.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use serde_json::{json, Value};
use zkrollup_channels::voucher::{domain, sign_voucher, verify_voucher, Voucher};

/// anvil's first development key (its default mnemonic).
const ANVIL_KEY_0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

struct Anvil(Child, u16);

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_anvil() -> Anvil {
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

fn call(anvil: &Anvil, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let v: Value = ureq::post(&format!("http://127.0.0.1:{}", anvil.1)).send_json(&body).unwrap().body_mut().read_json().unwrap();
    assert!(v.get("error").is_none(), "{method}: {v}");
    v["result"].clone()
}

#[test]
fn anvils_typed_data_signature_is_the_crates() {
    let anvil = start_anvil();
    let key: PrivateKeySigner = ANVIL_KEY_0.parse().unwrap();
    let chain_id = u64::from_str_radix(call(&anvil, "eth_chainId", json!([])).as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let contract = Address::repeat_byte(0xcc);
    for (id, amount) in [(1u64, U256::from(1u64)), (42, U256::from(10u64).pow(U256::from(18u64)) + U256::from(3u64))] {
        let typed = json!({
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"}
                ],
                "Voucher": [{"name": "channelId", "type": "uint256"}, {"name": "cumulativeAmount", "type": "uint256"}]
            },
            "primaryType": "Voucher",
            "domain": {"name": "zkrollup PaymentChannels", "version": "1", "chainId": chain_id, "verifyingContract": contract.to_string()},
            "message": {"channelId": id.to_string(), "cumulativeAmount": amount.to_string()}
        });
        let sig = call(&anvil, "eth_signTypedData_v4", json!([key.address().to_string(), typed]));
        let theirs = hex::decode(sig.as_str().unwrap().trim_start_matches("0x")).unwrap();
        let d = domain(chain_id, contract);
        let voucher = Voucher { channelId: U256::from(id), cumulativeAmount: amount };
        assert_eq!(theirs, sign_voucher(&key, &d, &voucher).to_vec(), "voucher ({id}, {amount})");
        verify_voucher(&d, &voucher, &theirs, key.address()).unwrap();
    }
}
