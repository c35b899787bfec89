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
pub mod metrics;
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
use zkrollup::export::optimistic::{
    challenge_batch_calldata, decode_post_batch, decode_submit_batch, finalize_batches_calldata, prove_batch_calldata,
    reclaim_challenge_bond_calldata, resolve_challenge_calldata,
};
use zkrollup::optimistic::{keccak256, payouts, replay, replay_proved, PostedBatch, StoredBatch};
use zkrollup::primitives::batch::Shape;
use zkrollup::prover::fast::FastProver;
use zkrollup::prover::{bundle, ProvingKey, VerifyingKey};
use zkrollup::{BatchParams, BatchWitness, Fr, State};

use self::events::{Event, Logged};
use self::metrics::WatchMetrics;
use self::store::{Verdict, WatchStore, WatchTxn, WatchedBatch, WatchedChallenge};
use crate::l1::rpc::{FeeCaps, RpcL1, TxCall};
use crate::l1::{BlockRef, Finality, L1Error, SignedTx, FALLBACK_DEPTH, L1};

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

/// The most batches one `finalizeBatches` call takes (each credits at most N + M payouts).
const FINALIZE_AT_ONCE: usize = 16;

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

    /// The newest block final enough to act on.
    fn safe_block(&mut self, head: u64) -> Result<u64, L1Error> {
        Ok(match self.confirmations {
            Finality::Depth(d) => head.saturating_sub(d - 1),
            Finality::Finalized => match self.l1.finalized()? {
                Some(b) => b.number,
                None => head.saturating_sub(FALLBACK_DEPTH - 1),
            },
        })
    }

    /// What L1 holds past the cursor, up to the safe block (None: nothing new). A reorg under
    /// the cursor is [`RoundError::Inconsistent`].
    fn read(&mut self, head: u64) -> Result<Option<Reading>, RoundError> {
        let cursor: Option<Cursor> = self.store.meta("cursor")?.flatten();
        if let Some(c) = cursor {
            match self.l1.block_at(c.number)? {
                Some(b) if b.hash == c.hash => {}
                _ => {
                    self.metrics.l1_reorgs.inc();
                    return Err(RoundError::Inconsistent(format!("block {} is no longer the one read (a reorg)", c.number)));
                }
            }
        }
        let from = cursor.map_or(self.first_block, |c| c.number + 1);
        let safe = self.safe_block(head)?;
        if from > safe {
            return Ok(None);
        }
        let to = safe.min(from + self.log_range - 1);
        let to_ref = self.l1.block_at(to)?.ok_or_else(|| L1Error::Unavailable(format!("block {to} missing")))?;
        let raw = self.l1.logs(&events::topics(), from, to)?;
        let mut logs = Vec::with_capacity(raw.len());
        let mut calls = HashMap::new();
        for log in &raw {
            let Some(logged) = events::decode(log) else {
                return Err(RoundError::Inconsistent(format!("a log of the rollup in block {} does not decode", log.block)));
            };
            if matches!(logged.event, Event::Posted(_) | Event::Submitted { .. }) && !calls.contains_key(&logged.tx) {
                calls.insert(logged.tx, self.l1.transaction_call(logged.tx)?);
            }
            logs.push(logged);
        }
        Ok(Some(Reading { logs, calls, to: to_ref }))
    }

    /// Apply a reading in one store transaction; on any failure the memory is read again.
    fn apply(&mut self, reading: Reading) -> Result<(), RoundError> {
        let t = self.store.begin()?;
        let result = (|| {
            for logged in &reading.logs {
                self.apply_event(&t, logged, &reading.calls)?;
            }
            t.put_meta("finalized", &self.finalized)?;
            t.put_meta("exodus", &self.exodus)?;
            t.put_meta("cursor", &Some(Cursor { number: reading.to.number, hash: reading.to.hash }))?;
            Ok::<(), RoundError>(())
        })();
        match result.and_then(|()| t.commit().map_err(RoundError::from)) {
            Ok(()) => {
                self.metrics.cursor.set(reading.to.number as i64);
                self.metrics.finalized.set(self.finalized as i64);
                Ok(())
            }
            Err(e) => {
                self.load().map_err(|e| RoundError::Inconsistent(format!("{e:#}")))?;
                Err(e)
            }
        }
    }

    fn apply_event(&mut self, t: &WatchTxn, logged: &Logged, calls: &HashMap<[u8; 32], Option<TxCall>>) -> Result<(), RoundError> {
        let next = self.batches.len() as u64 + 1;
        let new_id = match &logged.event {
            Event::Posted(r) => Some(r.batch_id),
            Event::Submitted { batch_id } => Some(*batch_id),
            _ => None,
        };
        if new_id.is_some_and(|id| id != next) {
            return Err(RoundError::Inconsistent(format!("batch {} logged; {next} was expected", new_id.unwrap_or(0))));
        }
        match &logged.event {
            Event::Posted(record) => {
                let call = calls.get(&logged.tx).cloned().flatten();
                let b = self.judge(next, Some(*record), call, logged.block)?;
                t.put_batch(&b)?;
                self.batches.push(b);
            }
            Event::Submitted { batch_id } => {
                let call = calls.get(&logged.tx).cloned().flatten();
                let b = self.judge(*batch_id, None, call, logged.block)?;
                t.put_batch(&b)?;
                self.batches.push(b);
                self.finalized = self.finalized.max(*batch_id);
            }
            Event::Challenged { batch_id, record_hash, challenger, deadline } => {
                let record = self.current_record(*batch_id).filter(|r| r.hash() == *record_hash).ok_or_else(|| {
                    RoundError::Inconsistent(format!("a challenge of batch {batch_id} names a record the watcher does not hold"))
                })?;
                let c = WatchedChallenge { record: hex::encode(record.abi_encode()), challenger: hex::encode(challenger), deadline: *deadline };
                eprintln!("zkrollup watch: batch {batch_id} challenged by 0x{}, deadline {deadline}", hex::encode(challenger));
                t.put_challenge(record_hash, &c)?;
                self.challenges.insert(*record_hash, c);
            }
            Event::Proven { batch_id, prover } => {
                let Some(mut record) = self.current_record(*batch_id) else {
                    return Err(RoundError::Inconsistent(format!("batch {batch_id} proved; the watcher holds no record of it")));
                };
                let old = record.hash();
                t.close_challenge(&old)?;
                self.challenges.remove(&old);
                record.proven = true;
                let b = &mut self.batches[*batch_id as usize - 1];
                b.record = Some(hex::encode(record.abi_encode()));
                t.put_batch(b)?;
                if self.me.is_some_and(|me| me.0 .0 == *prover) {
                    self.metrics.defences.inc();
                }
                eprintln!("zkrollup watch: batch {batch_id} proved by 0x{}", hex::encode(prover));
            }
            Event::Reverted { from_id, to_id, challenger } => {
                if let Some(r) = self.current_record(*from_id) {
                    t.close_challenge(&r.hash())?;
                    self.challenges.remove(&r.hash());
                }
                if self.me.is_some_and(|me| me.0 .0 == *challenger) {
                    self.metrics.challenges_won.inc();
                }
                eprintln!("zkrollup watch: batches {from_id} to {to_id} reverted (challenger 0x{})", hex::encode(challenger));
                if !self.exodus {
                    t.drop_batches_from(*from_id)?;
                    self.batches.truncate(*from_id as usize - 1);
                    if self.accepted >= *from_id {
                        let (state, accepted) = self.state_after(*from_id - 1).map_err(RoundError::Inconsistent)?;
                        (self.state, self.accepted) = (state, accepted);
                    }
                }
            }
            Event::Refunded { record_hash } => {
                if let Some(c) = self.challenges.remove(record_hash) {
                    if self.me.is_some_and(|me| hex::encode(me.0 .0) == c.challenger) {
                        self.metrics.bonds_reclaimed.inc();
                    }
                }
                t.close_challenge(record_hash)?;
            }
            Event::Finalized { to_id } => self.finalized = self.finalized.max(*to_id),
            Event::Exodus => {
                eprintln!("zkrollup watch: exodus is active: no batch is posted or challenged any more; open challenges can still be resolved");
                self.exodus = true;
            }
        }
        Ok(())
    }

    /// Batch `id`'s stored record as the watcher holds it (None: unknown or final at once).
    fn current_record(&self, id: u64) -> Option<StoredBatch> {
        self.batches.get((id as usize).checked_sub(1)?).and_then(WatchedBatch::record)
    }

    /// Re-apply batch `id` (its record, when stored; its transaction's call) and say what the
    /// model makes of it.
    fn judge(&mut self, id: u64, record: Option<StoredBatch>, call: Option<TxCall>, block: u64) -> Result<WatchedBatch, RoundError> {
        self.metrics.checked.inc();
        let proved_on_l1 = record.is_none_or(|r| r.proven);
        let mut b = WatchedBatch {
            id,
            record: record.map(|r| hex::encode(r.abi_encode())),
            data: None,
            proved_on_l1,
            verdict: Verdict::Accepted,
            payouts: None,
            block,
        };
        if let Some(earlier) = self.batches.iter().find(|b| b.verdict != Verdict::Accepted) {
            b.verdict = Verdict::Unchecked { after: earlier.id };
            return Ok(b);
        }
        if let Some(r) = record {
            if r.old_root != self.state.root() {
                // Every earlier batch was accepted, so L1's root before it is the model's.
                let why = format!("batch {id} starts from root {}, the model is at {}", r.old_root, self.state.root());
                return Err(if id == 1 {
                    RoundError::Fatal(format!("{why}: --genesis is not this rollup's genesis state"))
                } else {
                    RoundError::Inconsistent(why)
                });
            }
        }
        let posted = match self.read_call(record, proved_on_l1, call) {
            Ok(p) => p,
            Err(reason) => {
                self.metrics.unreadable.inc();
                eprintln!("zkrollup watch: WARNING batch {id} cannot be read ({reason}): it and every later batch go unchecked");
                b.verdict = Verdict::Unreadable { reason };
                return Ok(b);
            }
        };
        b.data = Some(WatchedBatch::data_of(&posted));
        let mut after = self.state.clone();
        let replayed = if proved_on_l1 { replay_proved(&mut after, &posted, &self.params(id)) } else { replay(&mut after, &posted, &self.params(id)) };
        match replayed {
            Ok(w) => match record.map(|r| agrees(&r, &w)).unwrap_or(Ok(())) {
                Ok(()) => {
                    b.payouts = Some(hex::encode(payouts(&w)));
                    self.state = after;
                    self.accepted = id;
                }
                Err(reason) => {
                    self.metrics.unreadable.inc();
                    eprintln!("zkrollup watch: WARNING batch {id}: {reason}; not challenged, and later batches go unchecked");
                    b.verdict = Verdict::Unreadable { reason };
                }
            },
            Err(e) if proved_on_l1 => {
                self.metrics.unreadable.inc();
                let reason = format!("L1 verified a proof of it, yet the model refuses it: {e}");
                eprintln!("zkrollup watch: WARNING batch {id}: {reason}");
                b.verdict = Verdict::Unreadable { reason };
            }
            Err(e) => {
                WatchMetrics::inc(&self.metrics.refused, e.name());
                eprintln!("zkrollup watch: batch {id} cannot be proved: {e}");
                b.verdict = Verdict::Refused { rule: e.name().to_string(), reason: e.to_string() };
            }
        }
        Ok(b)
    }

    /// The batch a transaction's call carries: a direct call of the rollup (`postBatch`, or
    /// `submitBatch` for a batch taken with its proof) whose signatures hash to the record's.
    fn read_call(&self, record: Option<StoredBatch>, proved: bool, call: Option<TxCall>) -> Result<PostedBatch, String> {
        let TxCall { to, input } = call.ok_or("the L1 node does not know its transaction")?;
        if to != Some(self.l1_rollup()) {
            return Err(format!("its transaction calls {}, not the rollup (posted through a contract?)", to.map_or("nothing".into(), |a| a.to_string())));
        }
        let posted = if proved { decode_submit_batch(&input) } else { decode_post_batch(&input) }.map_err(|e| e.to_string())?;
        if let Some(r) = record {
            if !proved && keccak256(&posted.sig_data) != r.sig_hash {
                return Err("the call's sigData is not the one the record hashes".into());
            }
            if posted.new_root != r.new_root {
                return Err("the call's newRoot is not the record's".into());
            }
        }
        Ok(posted)
    }

    fn l1_rollup(&self) -> Address {
        self.l1.rollup_address()
    }

    /// The moves the chain calls for, at `now` (the head's time).
    fn act(&mut self, now: u64) -> Result<(), RoundError> {
        // Resolve the lowest challenge past its deadline on a batch still pending: that reverts
        // every later one too.
        let pending = |w: &Watcher, r: &StoredBatch| w.current_record(r.batch_id).is_some_and(|c| c.hash() == r.hash()) && r.batch_id > w.finalized;
        let mut open: Vec<(StoredBatch, WatchedChallenge)> =
            self.challenges.values().filter_map(|c| c.record().map(|r| (r, c.clone()))).collect();
        open.sort_by_key(|(r, _)| r.batch_id);
        if let Some((r, _)) = open.iter().find(|(r, c)| pending(self, r) && now > c.deadline && !r.proven) {
            self.send("resolve", r.batch_id, resolve_challenge_calldata(r), U256::ZERO)?;
        }
        // Reclaim this watcher's bonds on records no longer pending (dropped by a revert).
        let me = self.me.map(|a| hex::encode(a.0 .0));
        for (r, c) in &open {
            if Some(&c.challenger) == me.as_ref() && !pending(self, r) && self.current_record(r.batch_id).is_none_or(|cur| cur.hash() != r.hash()) {
                // Counted when its ChallengeRefunded is read.
                self.send("reclaim", r.batch_id, reclaim_challenge_bond_calldata(r), U256::ZERO)?;
            }
        }
        if self.exodus {
            return Ok(());
        }
        // Defend: prove every challenged batch the model accepts, within its response window.
        if self.defender.is_some() {
            for (r, c) in &open {
                let accepted = self.batches.get(r.batch_id as usize - 1).is_some_and(|b| b.verdict == Verdict::Accepted);
                if pending(self, r) && accepted && !r.proven && now <= c.deadline {
                    let call = self.defence(r).map_err(RoundError::Inconsistent)?;
                    self.send("prove", r.batch_id, call, U256::ZERO)?;
                }
            }
        }
        // Finalize the next batches the model accepts that are past their window unchallenged,
        // or proved.
        if self.finalize {
            let ready = self.finalizable(now);
            if let Some((first, _)) = ready.first() {
                let first = first.batch_id;
                self.send("finalize", first, finalize_batches_calldata(&ready), U256::ZERO)?;
            }
        }
        // Challenge the first pending batch the model refuses, within its window.
        if self.challenge {
            let refused = self.batches.iter().find(|b| matches!(b.verdict, Verdict::Refused { .. }) && b.id > self.finalized).and_then(WatchedBatch::record);
            if let Some(r) = refused {
                if now > r.posted_at + self.challenge_window && !self.challenges.contains_key(&r.hash()) && self.warned.insert(r.batch_id) {
                    eprintln!(
                        "zkrollup watch: WARNING batch {} cannot be proved, and its challenge window closed unchallenged: it can become \
                         final; later batches go unchecked",
                        r.batch_id
                    );
                }
                if !r.proven
                    && !self.challenges.contains_key(&r.hash())
                    && now <= r.posted_at + self.challenge_window
                    && self.send("challenge", r.batch_id, challenge_batch_calldata(&r), self.challenge_bond)?
                {
                    self.metrics.challenges_opened.inc();
                }
            }
        }
        Ok(())
    }

    /// The next batches after the final ones that `finalizeBatches` takes at `now` (at most
    /// [`FINALIZE_AT_ONCE`]), each with its payouts: accepted by the model (a batch it refuses is
    /// never helped to finality), and proved, or past its window with no challenge.
    fn finalizable(&self, now: u64) -> Vec<(StoredBatch, Vec<u8>)> {
        let mut out = Vec::new();
        for b in self.batches.iter().skip(self.finalized as usize).take(FINALIZE_AT_ONCE) {
            let (Some(r), Some(p)) = (b.record(), b.payouts.as_deref().and_then(|p| hex::decode(p).ok())) else { break };
            let unchallenged = !self.challenges.contains_key(&r.hash());
            if b.verdict != Verdict::Accepted || !(r.proven || (unchallenged && now > r.posted_at + self.challenge_window)) {
                break;
            }
            out.push((r, p));
        }
        out
    }

    /// The `proveBatch` call for a challenged record the model accepted.
    fn defence(&self, r: &StoredBatch) -> Result<Vec<u8>, String> {
        let d = self.defender.as_ref().ok_or("no proving key")?;
        let (mut state, upto) = self.state_after(r.batch_id - 1)?;
        if upto != r.batch_id - 1 {
            return Err(format!("batch {} follows a batch the model did not accept", r.batch_id));
        }
        let b = &self.batches[r.batch_id as usize - 1];
        let posted = b.posted().ok_or("its stored data does not decode")?;
        let w = replay(&mut state, &posted, &self.params(r.batch_id)).map_err(|e| e.to_string())?;
        eprintln!("zkrollup watch: proving challenged batch {}", r.batch_id);
        let proof = d.prover.prove(&d.pk, w.circuit(self.shape.depth)).map_err(|e| e.to_string())?;
        if !zkrollup::prover::verify(&d.vk, &[w.commitment], &proof).map_err(|e| e.to_string())? {
            return Err(format!("batch {}: the proof does not verify (are the keys the deployment's?)", r.batch_id));
        }
        Ok(prove_batch_calldata(r, &proof))
    }

    /// Send a move unless already made; whether it was mined successfully.
    fn send(&mut self, what: &str, batch: u64, data: Vec<u8>, value: U256) -> Result<bool, RoundError> {
        let id = keccak256(&data);
        if self.done.contains(&id) {
            return Ok(false);
        }
        match self.l1.send_call(data, value, self.last_sent.as_ref(), self.tx_wait) {
            Ok((_, Some(r))) if r.success => {
                eprintln!("zkrollup watch: {what} batch {batch}: mined in block {}", r.block);
                self.done.insert(id);
                self.last_sent = None;
                Ok(true)
            }
            Ok((_, Some(r))) => {
                WatchMetrics::inc(&self.metrics.l1_refusals, "reverted");
                eprintln!("zkrollup watch: {what} batch {batch}: reverted in block {}", r.block);
                self.last_sent = None;
                Ok(false)
            }
            Ok((tx, None)) => {
                eprintln!("zkrollup watch: {what} batch {batch}: not mined yet (nonce {}); sent again next round if still due", tx.nonce);
                self.last_sent = Some(tx);
                Ok(false)
            }
            Err(L1Error::Refused { kind, message }) => {
                WatchMetrics::inc(&self.metrics.l1_refusals, kind);
                eprintln!("zkrollup watch: {what} batch {batch}: refused ({kind}): {message}");
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
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

/// Whether the model's witness is the record's: the same commitment (what a proof answers)
/// and payouts.
fn agrees(r: &StoredBatch, w: &BatchWitness) -> Result<(), String> {
    if w.commitment != r.commitment {
        return Err("the model re-applies it, but to another commitment than the record's".into());
    }
    if keccak256(&payouts(w)) != r.payouts_hash {
        return Err("the model re-applies it, but with other payouts than the record's".into());
    }
    Ok(())
}
