//! A real EVM for tests: contracts compiled by the pinned solcjs (`verifier-sol/compile.mjs`)
//! and run in revm at the Osaka rules, with gas accounted as on mainnet.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use revm::context::result::{ExecutionResult, Output};
use revm::context::{CfgEnv, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::handler::{MainnetContext, MainnetEvm};
use revm::primitives::hardfork::SpecId;
use revm::context_interface::ContextTr;
use revm::primitives::{keccak256, Address, Bytes, Log, TxKind, U256};
use revm::Database;
use revm::{Context, ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One compiled contract: creation bytecode and its method selectors.
pub struct Contract {
    pub bytecode: Vec<u8>,
    pub methods: HashMap<String, String>,
}

/// Compile Solidity files with the pinned solcjs; contracts by name.
pub fn compile(files: &[&Path]) -> HashMap<String, Contract> {
    let script = root().join("verifier-sol/compile.mjs");
    assert!(
        root().join("verifier-sol/node_modules/solc").exists(),
        "the pinned solc is not installed: run `npm ci --prefix verifier-sol`"
    );
    let out = Command::new("node").arg(script).args(files).output().expect("node runs");
    assert!(out.status.success(), "solc failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("compile.mjs prints JSON");
    let mut contracts = HashMap::new();
    for (name, c) in v["contracts"].as_object().unwrap() {
        let methods = c["methods"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(sig, sel)| (sig.clone(), sel.as_str().unwrap().to_string()))
            .collect();
        let bytecode = hex::decode(c["bytecode"].as_str().unwrap()).unwrap();
        contracts.insert(name.clone(), Contract { bytecode, methods });
    }
    contracts
}

/// What a transaction did.
#[derive(Debug)]
pub enum Outcome {
    /// Returned normally.
    Success { output: Vec<u8>, gas: u64, logs: Vec<Log> },
    /// Reverted with data (a custom error, say).
    Revert { output: Vec<u8>, gas: u64 },
    /// Halted: out of gas, invalid opcode...
    Halt { reason: String, gas: u64 },
}

impl Outcome {
    /// Whether it returned normally.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Success { .. })
    }

    pub fn gas(&self) -> u64 {
        match self {
            Outcome::Success { gas, .. } | Outcome::Revert { gas, .. } | Outcome::Halt { gas, .. } => *gas,
        }
    }

    /// The returned words, or a panic naming what happened instead.
    pub fn output(&self) -> &[u8] {
        match self {
            Outcome::Success { output, .. } => output,
            other => panic!("expected success, got {other:?}"),
        }
    }

    /// The `record` of every `L1Request(uint256,bytes)` event logged, in order.
    pub fn l1_requests(&self) -> Vec<Vec<u8>> {
        let Outcome::Success { logs, .. } = self else { return Vec::new() };
        let topic = keccak256("L1Request(uint256,bytes)".as_bytes());
        logs.iter()
            .filter(|l| l.data.topics().first() == Some(&topic))
            .map(|l| {
                let d = &l.data.data;
                let len = U256::from_be_slice(&d[32..64]).to::<usize>();
                d[64..64 + len].to_vec()
            })
            .collect()
    }

    /// The `BadConfiguration(string)` reason of a revert, if it is one.
    pub fn bad_configuration(&self) -> Option<String> {
        let Outcome::Revert { output, .. } = self else { return None };
        if output.len() < 68 || output[..4] != selector("BadConfiguration(string)") {
            return None;
        }
        let len = U256::from_be_slice(&output[36..68]).to::<usize>();
        output.get(68..68 + len).map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// The 4-byte selector of the custom error it reverted with.
    pub fn revert_selector(&self) -> [u8; 4] {
        match self {
            Outcome::Revert { output, .. } if output.len() >= 4 => output[..4].try_into().unwrap(),
            other => panic!("expected a revert with an error, got {other:?}"),
        }
    }
}

/// The selector of a function or custom error signature.
pub fn selector(signature: &str) -> [u8; 4] {
    keccak256(signature.as_bytes())[..4].try_into().unwrap()
}

/// An in-memory chain.
pub struct Chain {
    evm: MainnetEvm<MainnetContext<CacheDB<EmptyDB>>>,
    nonces: HashMap<Address, u64>,
}

/// The gas limit of every transaction here: generous, so a test can see what a call spends.
pub const GAS_LIMIT: u64 = 10_000_000;

impl Chain {
    pub fn new() -> Chain {
        let evm = Context::mainnet()
            .with_db(CacheDB::<EmptyDB>::default())
            .with_cfg(CfgEnv::new_with_spec(SpecId::OSAKA))
            .build_mainnet();
        Chain { evm, nonces: HashMap::new() }
    }

    fn send(&mut self, from: Address, kind: TxKind, data: Vec<u8>, gas_limit: u64) -> ExecutionResult {
        self.send_value(from, kind, data, gas_limit, U256::ZERO)
    }

    fn send_value(&mut self, from: Address, kind: TxKind, data: Vec<u8>, gas_limit: u64, value: U256) -> ExecutionResult {
        let nonce = self.nonces.entry(from).or_insert(0);
        let tx = TxEnv::builder()
            .caller(from)
            .kind(kind)
            .data(Bytes::from(data))
            .value(value)
            .gas_limit(gas_limit)
            .gas_price(0)
            .nonce(*nonce)
            .build()
            .expect("a well-formed transaction");
        *nonce += 1;
        self.evm.transact_commit(tx).expect("the transaction is valid")
    }

    /// The least gas limit with which `from` calling `to` with `data` succeeds (None: it fails
    /// even at [`GAS_LIMIT`]), found by trying limits without committing anything: the gas a
    /// transaction needs, refunds and the 63/64 rule included, which can be more than it uses.
    pub fn gas_limit_needed(&mut self, from: Address, to: Address, data: &[u8]) -> Option<u64> {
        let nonce = *self.nonces.get(&from).unwrap_or(&0);
        let mut succeeds = |gas_limit: u64| {
            let tx = TxEnv::builder()
                .caller(from)
                .kind(TxKind::Call(to))
                .data(Bytes::from(data.to_vec()))
                .gas_limit(gas_limit)
                .gas_price(0)
                .nonce(nonce)
                .build()
                .expect("a well-formed transaction");
            self.evm.transact(tx).expect("the transaction is valid").result.is_success()
        };
        if !succeeds(GAS_LIMIT) {
            return None;
        }
        let (mut fails, mut works) = (21_000, GAS_LIMIT);
        while works - fails > 1 {
            let mid = fails + (works - fails) / 2;
            if succeeds(mid) {
                works = mid;
            } else {
                fails = mid;
            }
        }
        Some(works)
    }

    /// Deploy `bytecode ++ constructor_args`; the new address and the gas used.
    pub fn deploy(&mut self, from: Address, bytecode: &[u8], constructor_args: &[u8]) -> (Address, u64) {
        let data = [bytecode, constructor_args].concat();
        match self.send(from, TxKind::Create, data, GAS_LIMIT) {
            ExecutionResult::Success { output: Output::Create(_, Some(address)), gas, .. } => {
                (address, gas.tx_gas_used())
            }
            other => panic!("deployment failed: {other:?}"),
        }
    }

    /// A deployment whose outcome is the point (a constructor that should revert, say).
    pub fn call_create(&mut self, from: Address, data: Vec<u8>) -> Outcome {
        outcome(self.send(from, TxKind::Create, data, GAS_LIMIT))
    }

    /// A transaction calling `to` with `data`.
    pub fn call(&mut self, from: Address, to: Address, data: Vec<u8>) -> Outcome {
        self.call_with_gas(from, to, data, GAS_LIMIT)
    }

    /// A transaction calling `to` with `data` and a gas limit.
    pub fn call_with_gas(&mut self, from: Address, to: Address, data: Vec<u8>, gas_limit: u64) -> Outcome {
        outcome(self.send(from, TxKind::Call(to), data, gas_limit))
    }

    /// A transaction calling `to` with `data` and `value` wei.
    pub fn call_value(&mut self, from: Address, to: Address, data: Vec<u8>, value: U256) -> Outcome {
        outcome(self.send_value(from, TxKind::Call(to), data, GAS_LIMIT, value))
    }

    /// Deploy with `value` wei; the new address and the gas used.
    pub fn deploy_value(&mut self, from: Address, bytecode: &[u8], args: &[u8], value: U256) -> (Address, u64) {
        match self.send_value(from, TxKind::Create, [bytecode, args].concat(), GAS_LIMIT, value) {
            ExecutionResult::Success { output: Output::Create(_, Some(address)), gas, .. } => (address, gas.tx_gas_used()),
            other => panic!("deployment failed: {other:?}"),
        }
    }

    /// A deployment with `value` wei whose outcome is the point.
    pub fn create_value(&mut self, from: Address, data: Vec<u8>, value: U256) -> Outcome {
        outcome(self.send_value(from, TxKind::Create, data, GAS_LIMIT, value))
    }

    /// Give `who` this many wei.
    pub fn fund(&mut self, who: Address, wei: U256) {
        let db = self.evm.ctx.db_mut();
        let mut info = db.basic(who).expect("in-memory").unwrap_or_default();
        info.balance = wei;
        db.insert_account_info(who, info);
    }

    /// Write one storage word of `who`: a test reaches states that would take billions of
    /// transactions (the last index of a depth-16 tree).
    pub fn set_storage(&mut self, who: Address, slot: U256, value: U256) {
        self.evm.ctx.db_mut().insert_account_storage(who, slot, value).expect("in-memory");
    }

    /// `who`'s balance in wei.
    pub fn balance(&mut self, who: Address) -> U256 {
        self.evm.ctx.db_mut().basic(who).expect("in-memory").map_or(U256::ZERO, |a| a.balance)
    }

    /// Set the next blocks' timestamp.
    pub fn set_time(&mut self, seconds: u64) {
        self.evm.ctx.modify_block(|b| b.timestamp = U256::from(seconds));
    }

    /// A view's whole return data, read by a transaction.
    pub fn view(&mut self, to: Address, data: Vec<u8>) -> Vec<u8> {
        self.call(Address::with_last_byte(0xee), to, data).output().to_vec()
    }

    /// A 32-byte view function's result, read by a transaction.
    pub fn view_word(&mut self, to: Address, selector: [u8; 4]) -> [u8; 32] {
        let out = self.call(Address::with_last_byte(0xee), to, selector.to_vec());
        out.output().try_into().expect("one word")
    }
}

fn outcome(result: ExecutionResult) -> Outcome {
    match result {
        ExecutionResult::Success { output, gas, logs, .. } => {
            Outcome::Success { output: output.into_data().to_vec(), gas: gas.tx_gas_used(), logs }
        }
        ExecutionResult::Revert { output, gas, .. } => Outcome::Revert { output: output.to_vec(), gas: gas.tx_gas_used() },
        ExecutionResult::Halt { reason, gas, .. } => Outcome::Halt { reason: format!("{reason:?}"), gas: gas.tx_gas_used() },
    }
}

/// An address from one byte, for test accounts.
pub fn account(byte: u8) -> Address {
    Address::with_last_byte(byte)
}

/// An address as an ABI word.
pub fn address_word(a: Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a.as_slice());
    w
}

/// A u64 as an ABI word.
pub fn u64_word(x: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&x.to_be_bytes());
    w
}

/// The intrinsic calldata gas of `data` (EIP-2028): 4 a zero byte, 16 a non-zero byte.
pub fn calldata_gas(data: &[u8]) -> u64 {
    data.iter().map(|&b| if b == 0 { 4 } else { 16 }).sum()
}
