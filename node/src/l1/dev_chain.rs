//! An in-process L1 for dev mode: revm at the Osaka rules running the committed contracts'
//! bytecode, one block per transaction (as anvil's automine), its chain kept as a log of
//! transactions in its own redb file and replayed on open, so it survives a restart like the
//! node. Every sender is topped up from a faucet before it sends (logged with the transaction,
//! so the replay is exact). Gas price is zero.

use std::path::Path;
use std::sync::mpsc::{channel, Sender};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use revm::context::result::{ExecutionResult, Output};
use revm::context::{CfgEnv, TxEnv};
use revm::context_interface::ContextTr;
use revm::database::{CacheDB, EmptyDB};
use revm::handler::{MainnetContext, MainnetEvm};
use revm::primitives::hardfork::SpecId;
use revm::primitives::{keccak256, Address, Bytes, TxKind, U256};
use revm::{Context, Database as _, ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext};
use serde::{Deserialize, Serialize};

use super::{BlockRef, Head, L1Error, LoggedRequest, Receipt, RollupView, SignedTx, L1};
use crate::contracts::{decode_l1_request, selector, word_at};
use zkrollup::optimistic::StoredBatch;

/// `BatchPosted`'s first topic.
fn batch_posted_topic() -> [u8; 32] {
    zkrollup::optimistic::keccak256(format!("BatchPosted(uint256,{})", zkrollup::export::optimistic::STORED_BATCH_TUPLE).as_bytes())
}

const TXS: TableDefinition<u64, &[u8]> = TableDefinition::new("txs");

/// The gas limit of every dev transaction.
pub const GAS_LIMIT: u64 = 16_000_000;

/// The dev chain's well-known addresses.
pub mod addresses {
    use revm::primitives::Address;
    /// Deploys the contracts.
    pub const DEPLOYER: Address = Address::with_last_byte(0xd0);
    /// The sequencer: the only address that may submit batches.
    pub const SEQUENCER: Address = Address::with_last_byte(0x5e);
    /// Finalizes an `OptimisticRollup`'s batches ([`crate::dev_settler`]).
    pub const SETTLER: Address = Address::with_last_byte(0x5f);
    /// Credited the genesis accounts' exits.
    pub const GENESIS_OWNER: Address = Address::with_last_byte(0x9e);
}

/// A transaction as logged: enough to replay it exactly.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct LoggedTx {
    timestamp: u64,
    from: Address,
    to: Option<Address>,
    value: U256,
    data: String,
    /// An empty block (mined when the chain was idle for a block time).
    #[serde(default)]
    empty: bool,
    /// The hash of a signed (sequencer) transaction, hex; others get one from their block.
    #[serde(default)]
    hash: Option<String>,
}

/// A mined transaction.
struct Mined {
    hash: [u8; 32],
    timestamp: u64,
    receipt: Receipt,
    requests: Vec<(u64, Vec<u8>)>,
    created: Option<Address>,
}

/// The chain.
pub struct DevChain {
    db: Database,
    evm: MainnetEvm<MainnetContext<CacheDB<EmptyDB>>>,
    /// Block `i + 1` holds `blocks[i]`; block 0 is empty genesis.
    blocks: Vec<Mined>,
    /// Transactions the sequencer sent, and how many of them reverted.
    pub sequencer_txs: (u64, u64),
    /// The last contract the deployer created: the rollup, once deployed (after its verifier,
    /// and for an `OptimisticRollup` its `PoseidonT5`).
    rollup: Option<Address>,
    /// The record each batch was last posted with (`BatchPosted`, on an `OptimisticRollup`).
    posted: std::collections::BTreeMap<u64, StoredBatch>,
    /// Seconds the chain's clock runs ahead of the wall clock (moved by [`DevChain::advance`];
    /// on open, what the last block's time is ahead by).
    ahead_s: u64,
}

/// What a dev transaction did, for its caller.
#[derive(Clone, Debug)]
pub struct Sent {
    /// Its hash.
    pub hash: [u8; 32],
    /// Its receipt.
    pub receipt: Receipt,
    /// Return data (or a created contract's address in its last 20 bytes).
    pub output: Vec<u8>,
}

impl DevChain {
    /// Open the chain at `path`, replaying its log.
    pub fn open(path: &Path) -> Result<DevChain, L1Error> {
        let bad = |e: &dyn std::fmt::Display| L1Error::Bad(format!("dev chain {}: {e}", path.display()));
        let db = Database::create(path).map_err(|e| bad(&e))?;
        let evm = Context::mainnet()
            .with_db(CacheDB::<EmptyDB>::default())
            .with_cfg(CfgEnv::new_with_spec(SpecId::OSAKA))
            .build_mainnet();
        let mut chain = DevChain { db, evm, blocks: Vec::new(), sequencer_txs: (0, 0), rollup: None, posted: Default::default(), ahead_s: 0 };
        let logged: Vec<LoggedTx> = {
            let w = chain.db.begin_write().map_err(|e| bad(&e))?;
            w.open_table(TXS).map_err(|e| bad(&e))?;
            w.commit().map_err(|e| bad(&e))?;
            let r = chain.db.begin_read().map_err(|e| bad(&e))?;
            let t = r.open_table(TXS).map_err(|e| bad(&e))?;
            let mut out = Vec::new();
            for entry in t.iter().map_err(|e| bad(&e))? {
                let (_, v) = entry.map_err(|e| bad(&e))?;
                out.push(serde_json::from_slice(v.value()).map_err(|e| bad(&e))?);
            }
            out
        };
        for tx in logged {
            chain.execute(&tx)?;
        }
        // A clock moved forward stays forward across restarts: the blocks keep its time.
        let last = chain.blocks.last().map_or(0, |b| b.timestamp);
        chain.ahead_s = last.saturating_sub(crate::store::now_ms() / 1000);
        Ok(chain)
    }

    /// The time of the next block: the wall clock plus how far the chain was moved ahead, never
    /// before the last block.
    fn clock(&self) -> u64 {
        let last = self.blocks.last().map_or(0, |b| b.timestamp);
        (crate::store::now_ms() / 1000 + self.ahead_s).max(last)
    }

    /// Move the chain's clock `seconds` ahead, and mine an empty block at the new time (so the
    /// windows, maturity and exodus delay of the contracts can be shown without waiting): the
    /// head's time.
    pub fn advance(&mut self, seconds: u64) -> Result<u64, L1Error> {
        self.ahead_s = self.ahead_s.saturating_add(seconds);
        self.mine_empty()?;
        Ok(self.head().timestamp)
    }

    /// The rollup's address, once deployed.
    pub fn rollup_address(&self) -> Option<Address> {
        self.rollup
    }

    /// Deploy the verifier, `poseidon` when given (an `OptimisticRollup` names it), and the
    /// rollup (constructor arguments from the verifier's and poseidon's addresses, `value` wei):
    /// the rollup's address. Only on an empty chain.
    pub fn deploy(
        &mut self,
        verifier: &[u8],
        poseidon: Option<&[u8]>,
        rollup_code: &[u8],
        args: impl FnOnce(Address, Option<Address>) -> Vec<u8>,
        value: U256,
    ) -> Result<Address, L1Error> {
        if !self.blocks.is_empty() {
            return Err(L1Error::Bad("the dev chain already has its contracts".into()));
        }
        let create = |chain: &mut DevChain, name: &str, code: Vec<u8>, value: U256| {
            let r = chain.send(addresses::DEPLOYER, None, code, value)?;
            chain.blocks.last().and_then(|b| b.created).ok_or_else(|| {
                L1Error::Bad(format!("{name}'s deployment failed: revert data 0x{}", hex::encode(&r.receipt.revert)))
            })
        };
        let verifier = create(self, "the verifier", verifier.to_vec(), U256::ZERO)?;
        let poseidon = poseidon.map(|code| create(self, "PoseidonT5", code.to_vec(), U256::ZERO)).transpose()?;
        create(self, "the rollup", [rollup_code, &args(verifier, poseidon)].concat(), value)
    }

    /// The record batch `id` was last posted with, if any (`OptimisticRollup`).
    pub fn posted(&self, id: u64) -> Option<StoredBatch> {
        self.posted.get(&id).copied()
    }

    /// Send a transaction: mined as its own block, then logged. A transaction the EVM refuses
    /// outright (not a revert) is not mined and not logged. If the log cannot be written the
    /// process stops (exit 70): the chain in memory would be ahead of its log.
    pub fn send(&mut self, from: Address, to: Option<Address>, data: Vec<u8>, value: U256) -> Result<Sent, L1Error> {
        let timestamp = self.clock();
        self.mine(LoggedTx { timestamp, from, to, value, data: hex::encode(&data), empty: false, hash: None })
    }

    /// Mine an empty block (the chain's clock goes on while no one sends).
    pub fn mine_empty(&mut self) -> Result<(), L1Error> {
        let timestamp = self.clock();
        let tx = LoggedTx {
            timestamp,
            from: Address::ZERO,
            to: None,
            value: U256::ZERO,
            data: String::new(),
            empty: true,
            hash: None,
        };
        self.mine(tx).map(|_| ())
    }

    fn mine(&mut self, tx: LoggedTx) -> Result<Sent, L1Error> {
        let sent = self.execute(&tx)?;
        let logged = (|| -> Result<(), String> {
            let w = self.db.begin_write().map_err(|e| e.to_string())?;
            {
                let mut t = w.open_table(TXS).map_err(|e| e.to_string())?;
                let n = self.blocks.len() as u64;
                t.insert(n, serde_json::to_vec(&tx).expect("plain data").as_slice()).map_err(|e| e.to_string())?;
            }
            w.commit().map_err(|e| e.to_string())
        })();
        if let Err(e) = logged {
            eprintln!("zkrollup-node: dev chain: cannot log block {}: {e}", self.blocks.len());
            std::process::exit(70);
        }
        Ok(sent)
    }

    fn execute(&mut self, tx: &LoggedTx) -> Result<Sent, L1Error> {
        let number = self.blocks.len() as u64 + 1;
        if tx.empty {
            let hash = keccak256([&b"empty block"[..], &number.to_be_bytes()].concat()).0;
            let receipt = Receipt { block: number, success: true, gas_used: 0, revert: vec![] };
            self.blocks.push(Mined { hash, timestamp: tx.timestamp, receipt: receipt.clone(), requests: vec![], created: None });
            return Ok(Sent { hash, receipt, output: vec![] });
        }
        let data = hex::decode(&tx.data).map_err(|e| L1Error::Bad(format!("dev chain log: {e}")))?;
        let db = self.evm.ctx.db_mut();
        let mut info = db.basic(tx.from).expect("in-memory").unwrap_or_default();
        // The faucet: every sender can pay any value.
        let floor = U256::from(10u64).pow(U256::from(30u64));
        if info.balance < floor {
            info.balance = floor + tx.value;
            db.insert_account_info(tx.from, info.clone());
        }
        self.evm.ctx.modify_block(|b| {
            b.number = U256::from(number);
            b.timestamp = U256::from(tx.timestamp);
        });
        let env = TxEnv::builder()
            .caller(tx.from)
            .kind(tx.to.map_or(TxKind::Create, TxKind::Call))
            .data(Bytes::from(data.clone()))
            .value(tx.value)
            .gas_limit(GAS_LIMIT)
            .gas_price(0)
            .nonce(info.nonce)
            .build()
            .map_err(|e| L1Error::Bad(format!("dev transaction: {e:?}")))?;
        let result = self.evm.transact_commit(env).map_err(|e| L1Error::Bad(format!("dev transaction: {e:?}")))?;
        let hash = match &tx.hash {
            Some(h) => hex::decode(h).ok().and_then(|h| h.try_into().ok()).ok_or_else(|| L1Error::Bad("dev chain log: bad hash".into()))?,
            None => keccak256([&number.to_be_bytes()[..], tx.from.as_slice(), &data].concat()).0,
        };
        let (receipt, output, requests, created) = match result {
            ExecutionResult::Success { output, gas, logs, .. } => {
                let created = match &output {
                    Output::Create(_, a) => *a,
                    Output::Call(_) => None,
                };
                if let Some(a) = created.filter(|_| tx.from == addresses::DEPLOYER) {
                    self.rollup = Some(a);
                }
                let posted_topic = batch_posted_topic();
                for l in logs.iter().filter(|l| Some(l.address) == self.rollup) {
                    if l.topics().first().is_some_and(|t| t.0 == posted_topic) {
                        if let Some(r) = StoredBatch::abi_decode(&l.data.data) {
                            self.posted.insert(r.batch_id, r);
                        }
                    }
                }
                let requests = logs
                    .iter()
                    .filter(|l| Some(l.address) == self.rollup)
                    .filter_map(|l| {
                        let topics: Vec<[u8; 32]> = l.topics().iter().map(|t| t.0).collect();
                        decode_l1_request(&topics, &l.data.data)
                    })
                    .collect();
                let r = Receipt { block: number, success: true, gas_used: gas.tx_gas_used(), revert: vec![] };
                (r, output.into_data().to_vec(), requests, created)
            }
            ExecutionResult::Revert { output, gas, .. } => {
                let r = Receipt { block: number, success: false, gas_used: gas.tx_gas_used(), revert: output.to_vec() };
                (r, vec![], vec![], None)
            }
            ExecutionResult::Halt { reason, gas, .. } => {
                let revert = format!("{reason:?}").into_bytes();
                (Receipt { block: number, success: false, gas_used: gas.tx_gas_used(), revert }, vec![], vec![], None)
            }
        };
        if tx.from == addresses::SEQUENCER {
            self.sequencer_txs.0 += 1;
            self.sequencer_txs.1 += u64::from(!receipt.success);
        }
        self.blocks.push(Mined { hash, timestamp: tx.timestamp, receipt: receipt.clone(), requests, created });
        Ok(Sent { hash, receipt, output })
    }

    /// A view call at the head (not a transaction: nothing is logged or changed).
    pub fn view(&mut self, data: Vec<u8>) -> Result<Vec<u8>, L1Error> {
        let to = self.rollup.ok_or_else(|| L1Error::Bad("no rollup deployed".into()))?;
        let caller = Address::with_last_byte(0xee);
        let nonce = self.evm.ctx.db_mut().basic(caller).expect("in-memory").map_or(0, |a| a.nonce);
        let env = TxEnv::builder()
            .caller(caller)
            .kind(TxKind::Call(to))
            .data(Bytes::from(data))
            .gas_limit(GAS_LIMIT)
            .gas_price(0)
            .nonce(nonce)
            .build()
            .map_err(|e| L1Error::Bad(format!("view: {e:?}")))?;
        match self.evm.transact(env).map_err(|e| L1Error::Bad(format!("view: {e:?}")))?.result {
            ExecutionResult::Success { output, .. } => Ok(output.into_data().to_vec()),
            other => Err(L1Error::Bad(format!("view reverted: {other:?}"))),
        }
    }

    /// A view returning one word, at the head.
    pub fn view_u256(&mut self, signature: &str, args: &[[u8; 32]]) -> Result<U256, L1Error> {
        let mut data = selector(signature).to_vec();
        for a in args {
            data.extend_from_slice(a);
        }
        let out = self.view(data)?;
        word_at(&out, 0).ok_or_else(|| L1Error::Bad(format!("{signature} returned {} bytes", out.len())))
    }

    /// `domain()`.
    pub fn domain(&mut self) -> Result<U256, L1Error> {
        self.view_u256("domain()", &[])
    }

    /// `maturity()` in seconds.
    pub fn maturity(&mut self) -> Result<u64, L1Error> {
        Ok(self.view_u256("maturity()", &[])?.saturating_to())
    }

    /// `exodusDelay()` in seconds.
    pub fn exodus_delay(&mut self) -> Result<u64, L1Error> {
        Ok(self.view_u256("exodusDelay()", &[])?.saturating_to())
    }

    /// `pendingBalance(owner)` in wei.
    pub fn pending_balance(&mut self, owner: Address) -> Result<U256, L1Error> {
        self.view_u256("pendingBalance(address)", &[crate::contracts::address_word(owner)])
    }

    /// An address's ETH balance in wei.
    pub fn balance(&mut self, who: Address) -> U256 {
        self.evm.ctx.db_mut().basic(who).expect("in-memory").map_or(U256::ZERO, |a| a.balance)
    }

    /// The head.
    pub fn head(&self) -> Head {
        Head { number: self.blocks.len() as u64, timestamp: self.blocks.last().map_or(0, |b| b.timestamp) }
    }

    /// Block `number` (0: before the first), with a hash of its number and time: the dev chain
    /// never reorganizes, so any stable value serves.
    pub fn block_ref(&self, number: u64) -> Option<BlockRef> {
        let timestamp = match number {
            0 => 0,
            n => self.blocks.get(n as usize - 1)?.timestamp,
        };
        let hash = keccak256([number.to_be_bytes(), timestamp.to_be_bytes()].concat()).0;
        Some(BlockRef { number, hash })
    }

    /// `L1Request` events in blocks `from ..= to`.
    pub fn l1_requests(&self, from: u64, to: u64) -> Vec<LoggedRequest> {
        let mut out = Vec::new();
        for number in from.max(1)..=to.min(self.blocks.len() as u64) {
            for (k, record) in &self.blocks[number as usize - 1].requests {
                out.push(LoggedRequest { k: *k, record: record.clone(), block: number });
            }
        }
        out
    }

    /// Requests queued in blocks up to `block`.
    pub fn request_count_at(&self, block: u64) -> u64 {
        let upto = block.min(self.blocks.len() as u64) as usize;
        self.blocks[..upto].iter().rev().find_map(|b| b.requests.last().map(|(k, _)| *k)).unwrap_or(0)
    }

    /// Request `k`'s chain hash (`requestAt(k)`'s first 24 bytes).
    pub fn request_chain(&mut self, k: u64) -> Result<[u8; 24], L1Error> {
        let word = self.view_u256("requestAt(uint256)", &[U256::from(k).to_be_bytes::<32>()])?;
        Ok(word.to_be_bytes::<32>()[..24].try_into().expect("24 of 32 bytes"))
    }

    /// When request `k` was queued (`requestAt(k)`'s timestamp; 0 for none).
    pub fn request_time(&mut self, k: u64) -> Result<u64, L1Error> {
        let mut data = selector("requestAt(uint256)").to_vec();
        data.extend_from_slice(&U256::from(k).to_be_bytes::<32>());
        let out = self.view(data)?;
        Ok(word_at(&out, 1).ok_or_else(|| L1Error::Bad(format!("requestAt returned {} bytes", out.len())))?.saturating_to())
    }

    /// The rollup's state.
    pub fn rollup_view(&mut self) -> Result<RollupView, L1Error> {
        Ok(RollupView {
            state_root: self.view_u256("stateRoot()", &[])?,
            batch_count: self.view_u256("batchCount()", &[])?.saturating_to(),
            consumed: self.view_u256("consumed()", &[])?.saturating_to(),
            request_count: self.view_u256("requestCount()", &[])?.saturating_to(),
        })
    }

    /// The sequencer's nonce.
    pub fn sequencer_nonce(&mut self) -> u64 {
        self.evm.ctx.db_mut().basic(addresses::SEQUENCER).expect("in-memory").map_or(0, |a| a.nonce)
    }

    /// Mine a signed sequencer transaction (`nonce ‖ call data`, as [`SharedDevChain`] signs it)
    /// unless its nonce is used already.
    pub fn broadcast(&mut self, tx: &SignedTx) -> Result<(), L1Error> {
        let current = self.sequencer_nonce();
        if tx.nonce < current {
            return Ok(());
        }
        if tx.nonce > current {
            return Err(L1Error::Bad(format!("nonce {} is ahead of the sequencer's {current}", tx.nonce)));
        }
        let to = self.rollup.ok_or_else(|| L1Error::Bad("no rollup deployed".into()))?;
        let timestamp = self.clock();
        let data = hex::encode(&tx.raw[8..]);
        let hash = Some(hex::encode(tx.hash));
        self.mine(LoggedTx { timestamp, from: addresses::SEQUENCER, to: Some(to), value: U256::ZERO, data, empty: false, hash })
            .map(|_| ())
    }

    /// A transaction's receipt.
    pub fn receipt(&self, hash: [u8; 32]) -> Option<Receipt> {
        self.blocks.iter().rev().find(|b| b.hash == hash).map(|b| b.receipt.clone())
    }
}

type Job = Box<dyn FnOnce(&mut DevChain) + Send>;

/// The dev chain on its own thread (revm's EVM is not `Send`), shared by the L1 stage and the
/// dev endpoints: each call runs there in turn.
#[derive(Clone)]
pub struct SharedDevChain {
    jobs: Sender<Job>,
}

impl SharedDevChain {
    /// Open the chain at `path` on a new thread; with a `block_time`, an empty block is mined
    /// whenever that long passes without one (as anvil's `--block-time`), so confirmations come
    /// while no one sends.
    pub fn open(path: &Path, block_time: Option<std::time::Duration>) -> Result<SharedDevChain, L1Error> {
        let (jobs, rx) = channel::<Job>();
        let (ready_tx, ready_rx) = channel();
        let path = path.to_path_buf();
        std::thread::Builder::new()
            .name("dev-chain".into())
            .spawn(move || match DevChain::open(&path) {
                Ok(mut chain) => {
                    let _ = ready_tx.send(Ok(()));
                    let tick = block_time.unwrap_or(std::time::Duration::from_secs(3600));
                    let (mut blocks, mut since) = (chain.blocks.len(), std::time::Instant::now());
                    loop {
                        match rx.recv_timeout(tick) {
                            Ok(job) => job(&mut chain),
                            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                        }
                        if chain.blocks.len() != blocks {
                            (blocks, since) = (chain.blocks.len(), std::time::Instant::now());
                        } else if block_time.is_some() && since.elapsed() >= tick {
                            if let Err(e) = chain.mine_empty() {
                                eprintln!("zkrollup-node: dev chain: {e}");
                            }
                        }
                    }
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| L1Error::Bad(format!("dev chain thread: {e}")))?;
        ready_rx.recv().map_err(|_| L1Error::Bad("dev chain thread stopped".into()))??;
        Ok(SharedDevChain { jobs })
    }

    /// Run `f` on the chain and wait for its result.
    pub fn with<R: Send + 'static>(&self, f: impl FnOnce(&mut DevChain) -> R + Send + 'static) -> R {
        let (tx, rx) = channel();
        self.jobs
            .send(Box::new(move |c: &mut DevChain| {
                let _ = tx.send(f(c));
            }))
            .expect("the dev chain thread runs while a handle exists");
        rx.recv().expect("the dev chain thread answers")
    }
}

impl L1 for SharedDevChain {
    fn head(&mut self) -> Result<Head, L1Error> {
        Ok(self.with(|c| c.head()))
    }
    fn l1_requests(&mut self, from: u64, to: u64) -> Result<Vec<LoggedRequest>, L1Error> {
        Ok(self.with(move |c| c.l1_requests(from, to)))
    }
    fn rollup(&mut self) -> Result<RollupView, L1Error> {
        self.with(|c| c.rollup_view())
    }
    fn rollup_at(&mut self, _block: u64) -> Result<RollupView, L1Error> {
        // No reorgs and every block final at once: the node only asks for the head.
        self.with(|c| c.rollup_view())
    }
    fn block_at(&mut self, number: u64) -> Result<Option<BlockRef>, L1Error> {
        Ok(self.with(move |c| c.block_ref(number)))
    }
    fn finalized(&mut self) -> Result<Option<BlockRef>, L1Error> {
        Ok(self.with(|c| c.block_ref(c.head().number)))
    }
    fn request_count_at(&mut self, block: u64) -> Result<u64, L1Error> {
        Ok(self.with(move |c| c.request_count_at(block)))
    }
    fn request_chain_at(&mut self, k: u64, _block: u64) -> Result<[u8; 24], L1Error> {
        // An entry never changes once written, and the dev chain has no reorgs: the latest
        // state answers for any block that has it.
        self.with(move |c| c.request_chain(k))
    }
    fn request_time_at(&mut self, k: u64, _block: u64) -> Result<u64, L1Error> {
        self.with(move |c| c.request_time(k))
    }
    fn sequencer_nonce(&mut self) -> Result<u64, L1Error> {
        Ok(self.with(|c| c.sequencer_nonce()))
    }
    fn sign_batch(&mut self, calldata: &[u8], nonce: u64, replaces: Option<&SignedTx>) -> Result<SignedTx, L1Error> {
        // No keys on the dev chain: the "signed" form is the nonce and the call data, and the
        // fee is always zero, so a resend is the same transaction.
        let _ = replaces;
        let raw = [&nonce.to_be_bytes()[..], calldata].concat();
        Ok(SignedTx { hash: keccak256(&raw).0, raw, nonce })
    }
    fn broadcast(&mut self, tx: &SignedTx) -> Result<(), L1Error> {
        let tx = tx.clone();
        self.with(move |c| c.broadcast(&tx))
    }
    fn receipt(&mut self, hash: [u8; 32]) -> Result<Option<Receipt>, L1Error> {
        Ok(self.with(move |c| c.receipt(hash)))
    }
    fn post_hold(&mut self, confirmed: u64) -> Result<Option<String>, L1Error> {
        self.with(move |c| {
            let mut view = |signature: &str| c.view_u256(signature, &[]);
            let count = view("batchCount()")?.saturating_to();
            Ok(super::post_hold_reason(confirmed, count, view("openChallenges()")?, view("sequencerBond()")?, view("minSequencerBond()")?))
        })
    }
}
