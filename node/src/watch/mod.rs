//! `zkrollup watch`: a watcher of an `OptimisticRollup` (SPEC-v3 section 4), on the node's L1
//! stage parts ([`crate::l1`]). It follows the rollup's events from the deployment block,
//! re-applies every batch with the native model from the published genesis state (L1 records,
//! L2 slots and `sigData`, nonces derived), keeps what it read in its own store
//! ([`store`]), and acts:
//!
//! - `--challenge`: challenges the first pending batch the model refuses (never one it accepts),
//!   resolves a challenge whose deadline passed unanswered, and reclaims its bonds on batches
//!   an earlier revert dropped;
//! - `--defend`: proves any challenged batch the model accepts, with the keys' proving key.
//!
//! Every move is read from the chain again each round, so a watcher killed at any moment does
//! what is left when it starts again; a move someone else made first is refused by the L1
//! node's estimate and costs nothing.

pub mod events;
mod follow;
mod judge;
pub mod metrics;
mod moves;
pub mod store;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use zkrollup::optimistic::replay_proved;
use zkrollup::primitives::batch::Shape;
use zkrollup::prover::fast::FastProver;
use zkrollup::prover::{bundle, ProvingKey, VerifyingKey};
use zkrollup::{BatchParams, Fr, State};

use self::events::Logged;
use self::metrics::WatchMetrics;
use self::store::{Verdict, WatchStore, WatchedBatch, WatchedChallenge};
use crate::l1::rpc::{FeeCaps, RpcL1, TxCall};
use crate::l1::{BlockRef, Finality, L1Error, SignedTx, L1};

/// How a watcher runs.
pub struct WatchConfig {
    /// The L1 node's JSON-RPC URL.
    pub rpc: String,
    /// The `OptimisticRollup`.
    pub rollup: Address,
    /// The published genesis state file.
    pub genesis: PathBuf,
    /// The watcher's data folder (its store).
    pub data: PathBuf,
    /// The block that deployed the rollup.
    pub first_block: u64,
    /// When a block's events are final enough to act on.
    pub confirmations: Finality,
    /// Time between two rounds.
    pub poll: Duration,
    /// The most blocks one `eth_getLogs` spans.
    pub log_range: u64,
    /// The key that challenges, resolves, reclaims and proves (hex); None: read only.
    pub key: Option<zeroize::Zeroizing<String>>,
    /// Challenge batches the model refuses.
    pub challenge: bool,
    /// Prove challenged batches the model accepts, with the proving key in this folder.
    pub defend: Option<PathBuf>,
    /// Finalize the batches the model accepts as they become finalizable.
    pub finalize: bool,
    /// Serve `/metrics` and `/v1/status` here.
    pub listen: Option<SocketAddr>,
    /// How long to wait for a transaction's receipt before the next round.
    pub tx_wait: Duration,
    /// The most the watcher pays a gas.
    pub fee_caps: FeeCaps,
}

/// The key used to read only: it never signs (the watcher refuses every move without a key).
const READ_ONLY_KEY: &str = "0x0000000000000000000000000000000000000000000000000000000000000001";

/// The cursor: the last block read, by number and hash (a reorg under it is noticed).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Cursor {
    number: u64,
    hash: [u8; 32],
}

/// The proving side of `--defend`.
struct Defender {
    pk: ProvingKey,
    prover: FastProver,
    vk: VerifyingKey,
}

/// A round's reading of L1, done before anything changes: the events, and each batch call's
/// recipient and data.
struct Reading {
    logs: Vec<Logged>,
    calls: HashMap<[u8; 32], Option<TxCall>>,
    to: BlockRef,
}

/// Why a round stopped.
#[derive(Debug, thiserror::Error)]
enum RoundError {
    /// L1 failed; the round is tried again.
    #[error(transparent)]
    L1(#[from] L1Error),
    /// The store failed: the memory is read again from it.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// What L1 says does not follow from what was read (a missed event): everything is read
    /// again from the first block.
    #[error("L1's events do not follow from what was read: {0}")]
    Inconsistent(String),
    /// Reading again cannot help (the genesis file is not the rollup's): the watcher stops.
    #[error("{0}")]
    Fatal(String),
}

/// The watcher.
pub struct Watcher {
    l1: RpcL1,
    store: WatchStore,
    metrics: Arc<WatchMetrics>,
    shape: Shape,
    domain: Fr,
    genesis: State,
    first_block: u64,
    confirmations: Finality,
    log_range: u64,
    tx_wait: Duration,
    /// The key's address, when it may move.
    me: Option<Address>,
    challenge: bool,
    finalize: bool,
    defender: Option<Defender>,
    challenge_window: u64,
    challenge_bond: U256,
    /// Mirrors of the store.
    batches: Vec<WatchedBatch>,
    challenges: HashMap<[u8; 32], WatchedChallenge>,
    finalized: u64,
    exodus: bool,
    /// The state after the accepted prefix of `batches`, and its length.
    state: State,
    accepted: u64,
    /// Calls mined successfully (their data's hash), not made again while the events lag.
    done: HashSet<[u8; 32]>,
    /// The last transaction sent and not seen mined: a call sent again replaces it.
    last_sent: Option<SignedTx>,
    /// Refused batches whose window closed unchallenged, said once.
    warned: HashSet<u64>,
}

/// Run a watcher until SIGINT or SIGTERM.
pub fn run(cfg: WatchConfig) -> Result<()> {
    if (cfg.challenge || cfg.defend.is_some() || cfg.finalize) && cfg.key.is_none() {
        bail!("--challenge, --defend and --finalize send transactions: set ZKROLLUP_WATCHER_KEY to a funded key (hex)");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let metrics = Arc::new(WatchMetrics::new());
    let mut watcher = Watcher::open(&cfg, metrics.clone())?;
    let server = spawn_signals_and_http(cfg.listen, metrics, stop.clone())?;
    watcher.run_until(&stop, cfg.poll)?;
    drop(server);
    eprintln!("zkrollup watch: stopped");
    Ok(())
}

impl Watcher {
    /// Run rounds every `poll` until `stop` is set; an error only when reading again cannot
    /// help (the genesis is not the rollup's, the store fails).
    pub fn run_until(&mut self, stop: &AtomicBool, poll: Duration) -> Result<()> {
        eprintln!(
            "zkrollup watch: rollup {} (N = {}, M = {}, depth {}), {} batches read, from block {}{}{}{}{}",
            self.l1.rollup_address(),
            self.shape.batch_size,
            self.shape.l1_slots,
            self.shape.depth,
            self.batches.len(),
            self.first_block,
            self.me.map_or(String::new(), |a| format!(", moving as {a}")),
            if self.challenge { ", challenging" } else { "" },
            if self.defender.is_some() { ", defending" } else { "" },
            if self.finalize { ", finalizing" } else { "" },
        );
        while !stop.load(Ordering::Relaxed) {
            match self.round() {
                Ok(()) => {}
                Err(RoundError::L1(e)) => {
                    self.metrics.l1_errors.inc();
                    eprintln!("zkrollup watch: L1: {e} (trying again)");
                }
                Err(RoundError::Store(e)) => {
                    eprintln!("zkrollup watch: {e}: reading the store again");
                    self.load()?;
                }
                Err(RoundError::Fatal(why)) => bail!(why),
                Err(RoundError::Inconsistent(why)) => {
                    eprintln!("zkrollup watch: {why}: reading everything again from block {}", self.first_block);
                    self.forget()?;
                }
            }
            self.publish_status();
            sleep_unless(stop, poll);
        }
        Ok(())
    }
}

fn sleep_unless(stop: &AtomicBool, total: Duration) {
    let step = Duration::from_millis(50);
    let mut left = total;
    while !left.is_zero() && !stop.load(Ordering::Relaxed) {
        let d = left.min(step);
        std::thread::sleep(d);
        left -= d;
    }
}

/// A thread that sets `stop` on SIGINT or SIGTERM and serves the metrics on `listen`.
fn spawn_signals_and_http(listen: Option<SocketAddr>, metrics: Arc<WatchMetrics>, stop: Arc<AtomicBool>) -> Result<std::thread::JoinHandle<()>> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let listener = match listen {
        Some(addr) => {
            let l = rt.block_on(tokio::net::TcpListener::bind(addr)).with_context(|| format!("--listen {addr}"))?;
            eprintln!("zkrollup watch: metrics and status on http://{}", l.local_addr()?);
            Some(l)
        }
        None => None,
    };
    Ok(std::thread::spawn(move || {
        rt.block_on(async move {
            let signalled = async {
                crate::node::shutdown_signal().await;
                eprintln!("zkrollup watch: stopping after this round");
                stop.store(true, Ordering::Relaxed);
            };
            match listener {
                Some(l) => {
                    let _ = crate::http::serve(l, metrics::router(metrics), crate::http::HttpLimits::default(), signalled).await;
                }
                None => signalled.await,
            }
        })
    }))
}

impl Watcher {
    /// Connect, read the rollup's shape and windows, and load the store.
    pub fn open(cfg: &WatchConfig, metrics: Arc<WatchMetrics>) -> Result<Watcher> {
        std::fs::create_dir_all(&cfg.data).with_context(|| format!("creating {}", cfg.data.display()))?;
        let (genesis, _) = crate::node::load_genesis(&cfg.genesis)?;
        let key = cfg.key.as_deref().map_or(READ_ONLY_KEY, |k| k.as_str());
        let mut l1 = RpcL1::connect(&cfg.rpc, cfg.rollup, key)?;
        l1.set_fee_caps(cfg.fee_caps);
        let view = |s: &str| -> Result<u64> { Ok(l1.view_of(cfg.rollup, s)?.saturating_to()) };
        let shape = Shape { depth: view("depth()")? as usize, l1_slots: view("l1Slots()")? as usize, batch_size: view("batchSize()")? as usize };
        let challenge_window = view("challengeWindow()").context("is --rollup an OptimisticRollup? it has no challengeWindow()")?;
        let challenge_bond = l1.view_of(cfg.rollup, "challengeBond()")?;
        if shape.depth != genesis.depth() {
            bail!("the rollup's tree has depth {}, the genesis state {}: --genesis is not this rollup's", shape.depth, genesis.depth());
        }
        let domain = crate::node::field_of(l1.domain()?);
        let defender = match &cfg.defend {
            Some(dir) => {
                let info = bundle::load_info(dir)?;
                if info.shape() != shape {
                    bail!("the keys in {} are for {:?}; the rollup is {:?}", dir.display(), info.shape(), shape);
                }
                Some(Defender { pk: bundle::load_proving(dir, &info)?, prover: bundle::load_prover(dir, &info)?, vk: bundle::load_verifying(dir)? })
            }
            None => None,
        };
        let store = WatchStore::open(&cfg.data.join("watch.redb"))?;
        let pinned = (format!("{}", cfg.rollup), l1.chain_id());
        match store.meta::<(String, u64)>("rollup")? {
            Some(p) if p != pinned => bail!("{} watches rollup {} on chain {}, not {} on chain {}", cfg.data.display(), p.0, p.1, pinned.0, pinned.1),
            Some(_) => {}
            None => {
                let t = store.begin()?;
                t.put_meta("rollup", &pinned)?;
                t.commit()?;
            }
        }
        let me = cfg.key.as_ref().map(|_| l1.sequencer());
        let mut w = Watcher {
            l1,
            store,
            metrics,
            shape,
            domain,
            state: genesis.clone(),
            genesis,
            first_block: cfg.first_block,
            confirmations: cfg.confirmations,
            log_range: cfg.log_range.max(1),
            tx_wait: cfg.tx_wait,
            me,
            challenge: cfg.challenge,
            finalize: cfg.finalize,
            defender,
            challenge_window,
            challenge_bond,
            batches: Vec::new(),
            challenges: HashMap::new(),
            finalized: 0,
            exodus: false,
            accepted: 0,
            done: HashSet::new(),
            last_sent: None,
            warned: HashSet::new(),
        };
        w.load()?;
        Ok(w)
    }

    /// Read the memory again from the store (the state re-applied from genesis).
    fn load(&mut self) -> Result<()> {
        self.batches = self.store.batches()?;
        self.challenges = HashMap::new();
        for c in self.store.challenges()? {
            let r = c.record().context("a stored challenge's record does not decode")?;
            self.challenges.insert(r.hash(), c);
        }
        self.finalized = self.store.meta("finalized")?.unwrap_or(0);
        self.exodus = self.store.meta("exodus")?.unwrap_or(false);
        let (state, accepted) = self.state_after(u64::MAX).map_err(anyhow::Error::msg)?;
        (self.state, self.accepted) = (state, accepted);
        self.metrics.finalized.set(self.finalized as i64);
        Ok(())
    }

    /// Forget everything read and start again from the first block (a reorg under the cursor,
    /// or events that do not follow).
    fn forget(&mut self) -> Result<()> {
        let t = self.store.begin()?;
        t.clear()?;
        t.put_meta("finalized", &0u64)?;
        t.put_meta("exodus", &false)?;
        t.put_meta::<Option<Cursor>>("cursor", &None)?;
        t.commit()?;
        self.load()
    }

    /// The state after the accepted batches among the first `upto`, and how many those are.
    fn state_after(&self, upto: u64) -> Result<(State, u64), String> {
        let mut state = self.genesis.clone();
        let mut n = 0;
        for b in self.batches.iter().take_while(|b| b.id <= upto && b.verdict == Verdict::Accepted) {
            let posted = b.posted().ok_or_else(|| format!("batch {}: its stored data does not decode", b.id))?;
            replay_proved(&mut state, &posted, &self.params(b.id)).map_err(|e| format!("batch {} accepted before no longer re-applies: {e}", b.id))?;
            n = b.id;
        }
        Ok((state, n))
    }

    fn params(&self, id: u64) -> BatchParams {
        BatchParams::new(self.shape.batch_size, self.domain).with_l1_slots(self.shape.l1_slots).with_batch_id(id)
    }

    /// One round: read the new final enough blocks, apply their events in one store
    /// transaction, then make the moves they call for.
    fn round(&mut self) -> Result<(), RoundError> {
        let head = self.l1.head()?;
        if let Some(reading) = self.read(head.number)? {
            self.apply(reading)?;
            self.publish_status();
        }
        if self.me.is_some() {
            self.act(head.timestamp)?;
        }
        Ok(())
    }

    /// Publish the status `/v1/status` answers.
    fn publish_status(&self) {
        let first_refused = self.batches.iter().find(|b| matches!(b.verdict, Verdict::Refused { .. })).map(|b| b.id);
        let status = serde_json::json!({
            "batches": self.batches.len(),
            "accepted": self.accepted,
            "finalized": self.finalized,
            "first_refused": first_refused,
            "open_challenges": self.challenges.len(),
            "exodus": self.exodus,
            "root": self.state.root().to_string(),
            "address": self.me.map(|a| a.to_string()),
        });
        if let Ok(mut s) = self.metrics.status.lock() {
            *s = status;
        }
    }
}
