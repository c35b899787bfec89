//! Starting the node: the store opened and checked, every stage resumed from where it stopped,
//! the threads and the HTTP server started.
//!
//! Threads: ingest (group commits of submissions), batcher, prover, L1; the HTTP server runs on
//! a tokio runtime. Each stage reads its progress from the store, so a node killed at any moment
//! resumes every stage on restart. A store failure in any stage is fatal (exit code 70): the node
//! stops rather than run ahead of what it has persisted, and a restart resumes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use ark_ff::PrimeField;
use revm::primitives::U256;
use serde::{Deserialize, Serialize};
use zkrollup::primitives::batch::Shape;
use zkrollup::prover::bundle;
use zkrollup::prover::fast::FastProver;
use zkrollup::prover::{ProvingKey, VerifyingKey};
use zkrollup::{Fr, State};

use crate::api::{router, Api, Submission};
use crate::rate_limit::RateLimit;
use crate::contracts::{
    bytecode, optimistic_constructor_args, rollup_constructor_args, selector, verifier_bytecode, OptimisticParams, QueueParams, RollupArgs,
    OPTIMISTIC_ROLLUP_HEX, POSEIDON_T5_HEX, ZKROLLUP_HEX,
};
use crate::l1::dev_chain::{addresses, SharedDevChain};
use crate::l1::L1;
use crate::l1_stage::{L1Seen, L1Stage};
use crate::metrics::Metrics;
use crate::prover::{ProverHold, ProverStage};
use crate::sequencer::Sequencer;
use crate::store::{root_text, Stage, Store};

/// Batches the batcher seals in one commit at most: a burst of submissions is sealed in few
/// commits, so the store's single writer is left to the submissions.
const SEALS_PER_COMMIT: usize = 16;

/// The seed of the dev-mode keys: public, so the keys are INSECURE (anyone can forge proofs).
pub const INSECURE_DEV_SEED: u64 = 20_260_601;

/// A node's configuration (dev mode or against a JSON-RPC L1).
#[derive(Clone, Debug)]
pub struct Config {
    /// The genesis state file (SPEC section 6).
    pub genesis: PathBuf,
    /// Where the node keeps its store, its dev chain and its keys.
    pub data: PathBuf,
    /// The HTTP address.
    pub listen: SocketAddr,
    /// N.
    pub batch_size: usize,
    /// M.
    pub l1_slots: usize,
    /// A batch is sealed this long after its oldest operation arrived, full or not.
    pub batch_timeout: Duration,
    /// When an L1 block is final enough to act on what it holds.
    pub finality: crate::l1::Finality,
    /// The contract's queue parameters on a fresh dev chain.
    pub queue: QueueParams,
    /// Submissions a second per client address.
    pub rate_limit: u32,
    /// How often the L1 stage polls.
    pub l1_poll: Duration,
    /// The most blocks one `eth_getLogs` query spans.
    pub log_range: u64,
    /// Dev chain: an empty block after this long without one.
    pub block_time: Option<Duration>,
    /// Sealed batches not yet confirmed beyond which submissions are answered 503 (0: no bound).
    pub max_backlog: u64,
    /// A sent batch not mined after this long is replaced at its nonce with a higher fee.
    pub resend_after: Duration,
    /// Batches sent to L1 and not yet confirmed, at most.
    pub max_in_flight: u64,
    /// The store commits in two phases (two fsyncs a commit; see [`Store::begin`]).
    pub two_phase_commit: bool,
    /// Prove with a fleet of workers through this PostgreSQL database instead of in process.
    pub prover_queue: Option<String>,
    /// Settle on an OptimisticRollup (SPEC-v3).
    pub optimistic: bool,
    /// Post batches without a proof (`postBatch` on an OptimisticRollup); false: every batch
    /// goes with its proof (`submitBatch`; on an OptimisticRollup, the hybrid: `--prove-all`).
    pub post_unproved: bool,
    /// INSECURE, tests only: post this batch once with an invalid signature in its `sigData`.
    pub insecure_corrupt_signatures_of_batch: Option<u64>,
    /// Where the workers fetch the proving key (with a fleet): never the public listener.
    pub keys_listen: Option<SocketAddr>,
    /// Without `--dev`: the L1 to settle on.
    pub rpc: Option<RpcConfig>,
    /// The HTTP server's timeouts and connection cap.
    pub http: crate::http::HttpLimits,
}

/// A real L1: its JSON-RPC address, the deployed rollup, the key folder and the sequencer key.
#[derive(Clone)]
pub struct RpcConfig {
    /// The JSON-RPC URL.
    pub url: String,
    /// The `ZKRollup` address.
    pub rollup: revm::primitives::Address,
    /// The key folder (`zkrollup setup` or `ceremony export`), whose proving key is pinned.
    pub keys: PathBuf,
    /// The sequencer's private key (hex), from a file or the environment; wiped when dropped.
    pub sequencer_key: zeroize::Zeroizing<String>,
    /// The block that deployed the rollup (`deploy` prints it): no event is older.
    pub first_block: u64,
    /// The most the node pays for gas.
    pub fee_caps: crate::l1::rpc::FeeCaps,
    /// Optimistic settlement: the key (hex) with which the node proves its challenged batches
    /// and finalizes (a watcher on the node's stages); another key than the sequencer's, whose
    /// nonces the batches use. None: someone else must (`zkrollup watch --defend --finalize`).
    pub settler_key: Option<zeroize::Zeroizing<String>>,
}

impl std::fmt::Debug for RpcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        write!(
            f,
            "RpcConfig {{ url: {}, rollup: {}, keys: {}, first_block: {}, fee_caps: {:?} }}",
            crate::l1::redact_url(&self.url),
            self.rollup,
            self.keys.display(),
            self.first_block,
            self.fee_caps
        )
    }
}

/// What the store records of the deployment at its creation; checked on every start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Deployment {
    batch_size: usize,
    l1_slots: usize,
    depth: usize,
    domain: String,
    genesis_root: String,
    rollup: String,
    verifying_key_sha256: String,
}

impl Deployment {
    fn new(shape: Shape, domain: Fr, genesis_root: Fr, rollup: revm::primitives::Address, vk: &VerifyingKey) -> Self {
        Deployment {
            batch_size: shape.batch_size,
            l1_slots: shape.l1_slots,
            depth: shape.depth,
            domain: zkrollup::decimal::fr_to_decimal(domain),
            genesis_root: root_text(genesis_root),
            rollup: rollup.to_string(),
            verifying_key_sha256: zkrollup::export::solidity::verifying_key_sha256(vk),
        }
    }
}

/// The genesis state file and what the contract knows of it.
pub(crate) fn load_genesis(path: &Path) -> Result<(State, zkrollup::Genesis)> {
    let text = zkrollup::files::read(path)?;
    let state = zkrollup::files::parse_state(&text).with_context(|| path.display().to_string())?;
    let genesis = state.genesis()?;
    Ok((state, genesis))
}

pub(crate) fn field_of(word: U256) -> Fr {
    Fr::from_be_bytes_mod_order(&word.to_be_bytes::<32>())
}

/// The dev keys for `shape` under `dir`: reused when there, made (INSECURE seed) otherwise.
fn dev_keys(dir: &Path, shape: Shape) -> Result<bundle::CircuitInfo> {
    if let Ok(info) = bundle::load_info(dir) {
        if info.shape() == shape && info.insecure_dev_seed == Some(INSECURE_DEV_SEED) {
            return Ok(info);
        }
        bail!("{} holds keys for another circuit or seed: move them away", dir.display());
    }
    eprintln!(
        "zkrollup-node: making INSECURE development keys (seed {INSECURE_DEV_SEED}) for N = {}, M = {}, D = {} in {}",
        shape.batch_size,
        shape.l1_slots,
        shape.depth,
        dir.display()
    );
    Ok(bundle::setup_to_dir(dir, shape, Some(INSECURE_DEV_SEED))?)
}

/// Proving runs on rayon's global pool; its threads run at the lowest priority (nice 19), so
/// proving takes the CPU that the API and the other stages leave and never holds up a
/// submission. Call before anything uses rayon.
pub fn lower_proving_priority() {
    let _ = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("prover-{i}"))
        .start_handler(|_| {
            let _ = thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min);
        })
        .build_global();
}

/// Run a dev-mode node until SIGINT or SIGTERM.
pub fn run_dev(cfg: Config) -> Result<()> {
    lower_proving_priority();
    std::fs::create_dir_all(&cfg.data).with_context(|| format!("creating {}", cfg.data.display()))?;
    let (genesis_state, genesis) = load_genesis(&cfg.genesis)?;
    let shape = Shape { depth: genesis_state.depth(), l1_slots: cfg.l1_slots, batch_size: cfg.batch_size };
    let key_dir = cfg.data.join(format!("keys/dev-m{}-n{}-d{}", shape.l1_slots, shape.batch_size, shape.depth));
    let info = dev_keys(&key_dir, shape)?;
    let pk = if cfg.post_unproved { None } else { load_proving_unless_fleet(&key_dir, &info, &cfg)? };
    let vk = bundle::load_verifying(&key_dir)?;
    let keys = Keys { dir: key_dir.clone(), sha256: info.proving_key_sha256.clone() };

    let chain = SharedDevChain::open(&cfg.data.join("l1.redb"), cfg.block_time)?;
    let verifier = verifier_bytecode(&vk, shape)?;
    let queue = cfg.queue;
    let optimistic = cfg.optimistic;
    let (rollup, domain, maturity) = chain.with(move |chain| {
        if chain.rollup_address().is_none() {
            let rollup_args = |verifier| RollupArgs {
                verifier,
                genesis,
                genesis_owner: addresses::GENESIS_OWNER,
                batch_size: shape.batch_size as u32,
                l1_slots: shape.l1_slots as u32,
                depth: shape.depth as u8,
                sequencer: addresses::SEQUENCER,
                params: queue,
            };
            let value = U256::from(genesis.total) * U256::from(1_000_000_000u64);
            if optimistic {
                // SPEC-v3's defaults (a 7-day window: move the dev chain's clock to pass it),
                // and the sequencer's bond deposited.
                let o = OptimisticParams::default();
                let args = |verifier, poseidon: Option<_>| {
                    optimistic_constructor_args(&rollup_args(verifier), &o, poseidon.expect("PoseidonT5 deployed first"))
                };
                let poseidon = bytecode(POSEIDON_T5_HEX);
                let rollup = chain.deploy(&verifier, Some(&poseidon), &bytecode(OPTIMISTIC_ROLLUP_HEX), args, value)?;
                let bond = chain.send(addresses::SEQUENCER, Some(rollup), selector("depositSequencerBond()").to_vec(), U256::from(o.min_sequencer_bond_wei))?;
                if !bond.receipt.success {
                    return Err(crate::l1::L1Error::Bad("dev chain: depositSequencerBond reverted".into()));
                }
                eprintln!("zkrollup-node: dev chain: OptimisticRollup deployed at {rollup}, the sequencer bonded");
            } else {
                let args = |verifier, _| rollup_constructor_args(&rollup_args(verifier));
                let rollup = chain.deploy(&verifier, None, &bytecode(ZKROLLUP_HEX), args, value)?;
                eprintln!("zkrollup-node: dev chain: ZKRollup deployed at {rollup}");
            }
        }
        let rollup = chain.rollup_address().expect("deployed");
        // Which contract the chain holds: an OptimisticRollup has a challenge window.
        if chain.view_u256("challengeWindow()", &[]).is_ok() != optimistic {
            return Err(crate::l1::L1Error::Bad(format!(
                "the dev chain's rollup is {}: start with the settlement it was made with, or a fresh --data",
                if optimistic { "a ZKRollup" } else { "an OptimisticRollup" }
            )));
        }
        Ok::<_, crate::l1::L1Error>((rollup, chain.domain()?, (chain.maturity()?, chain.exodus_delay()?)))
    })?;
    let domain = field_of(domain);
    check_maturity(maturity.0, cfg.batch_timeout)?;

    let deployment = Deployment::new(shape, domain, genesis.root, rollup, &vk);
    let store = open_store(&cfg.data, &deployment, &genesis_state, cfg.two_phase_commit)?;
    start(store, chain.clone(), Some(chain), shape, domain, (&genesis_state, genesis.root), pk, vk, keys, maturity, &cfg, None)
}

/// Run a node against a JSON-RPC L1 until SIGINT or SIGTERM.
pub fn run_rpc(cfg: Config) -> Result<()> {
    lower_proving_priority();
    let rpc = cfg.rpc.clone().context("no --rpc configuration")?;
    std::fs::create_dir_all(&cfg.data).with_context(|| format!("creating {}", cfg.data.display()))?;
    let (genesis_state, genesis) = load_genesis(&cfg.genesis)?;
    let info = bundle::load_info(&rpc.keys)?;
    let shape = info.shape();
    if shape.depth != genesis_state.depth() {
        bail!("the keys are for depth {}, the genesis state has depth {}", shape.depth, genesis_state.depth());
    }
    let pk = if cfg.post_unproved { None } else { load_proving_unless_fleet(&rpc.keys, &info, &cfg)? };
    let vk = bundle::load_verifying(&rpc.keys)?;
    let keys = Keys { dir: rpc.keys.clone(), sha256: info.proving_key_sha256.clone() };
    let mut l1 = crate::l1::rpc::RpcL1::connect(&rpc.url, rpc.rollup, &rpc.sequencer_key)?;
    if cfg.optimistic && l1.view_of(rpc.rollup, "challengeWindow()").is_err() {
        bail!("--settlement optimistic: the rollup at {} is no OptimisticRollup (it has no challengeWindow())", rpc.rollup);
    }
    l1.set_fee_caps(rpc.fee_caps);
    l1.set_shape(shape);
    l1.check_deployment(&vk, shape).map_err(|e| anyhow::anyhow!("the deployment at {} does not fit this node: {e}", rpc.rollup))?;
    let domain = field_of(l1.domain()?);
    let maturity = (l1.maturity()?, l1.exodus_delay()?);
    check_maturity(maturity.0, cfg.batch_timeout)?;
    let deployment = Deployment::new(shape, domain, genesis.root, rpc.rollup, &vk);
    let store = open_store(&cfg.data, &deployment, &genesis_state, cfg.two_phase_commit)?;
    pin_chain_id(&store, l1.chain_id())?;
    eprintln!("zkrollup-node: L1 {} (chain {}), rollup {}, sequencer {}", crate::l1::redact_url(&rpc.url), l1.chain_id(), rpc.rollup, l1.sequencer());
    let settler = match (&rpc.settler_key, cfg.optimistic) {
        (Some(key), true) => Some(crate::watch::WatchConfig {
            rpc: rpc.url.clone(),
            rollup: rpc.rollup,
            genesis: cfg.genesis.clone(),
            data: cfg.data.join("settler"),
            first_block: rpc.first_block,
            confirmations: cfg.finality,
            poll: cfg.l1_poll,
            log_range: cfg.log_range,
            key: Some(key.clone()),
            challenge: false,
            defend: Some(rpc.keys.clone()),
            finalize: true,
            listen: None,
            tx_wait: cfg.resend_after,
            fee_caps: rpc.fee_caps,
        }),
        (Some(_), false) => bail!("a settler key is for --settlement optimistic only"),
        (None, true) => {
            eprintln!(
                "zkrollup-node: WARNING no settler key: this node neither proves its challenged batches nor finalizes those \
                 stored pending; run `zkrollup watch --defend --finalize` beside it"
            );
            None
        }
        (None, false) => None,
    };
    start(store, l1, None, shape, domain, (&genesis_state, genesis.root), pk, vk, keys, maturity, &cfg, settler)
}

/// The proving key and the prover (its matrices), when this node proves itself (a fleet's
/// workers load their own).
fn load_proving_unless_fleet(dir: &Path, info: &bundle::CircuitInfo, cfg: &Config) -> Result<Option<(ProvingKey, FastProver)>> {
    Ok(match cfg.prover_queue {
        Some(_) => None,
        None => Some((bundle::load_proving(dir, info)?, bundle::load_prover(dir, info)?)),
    })
}

/// The key folder the node proves with, served to the fleet's workers.
#[derive(Clone, Debug)]
pub struct Keys {
    /// The folder.
    pub dir: PathBuf,
    /// Its proving key's sha256.
    pub sha256: String,
}

/// The batcher leaves a request for a later batch only while its account is touched by an
/// earlier transfer in the same batch; a request must not mature (a batch with a free L1 slot
/// may not leave it) in that time, so the contract's maturity must be well above the timeout.
fn check_maturity(maturity: u64, batch_timeout: Duration) -> Result<()> {
    if maturity < 3 * batch_timeout.as_secs() {
        bail!(
            "the contract's maturity ({maturity} s) must be at least 3 batch timeouts ({} s): a request could \
             mature before the batcher takes it",
            batch_timeout.as_secs()
        );
    }
    Ok(())
}

/// Open the store, made from the genesis state on first use and checked against the
/// deployment on every later one.
fn open_store(data: &Path, deployment: &Deployment, genesis_state: &State, two_phase: bool) -> Result<Arc<Store>> {
    let store = Arc::new(Store::open(&data.join("node.redb"), two_phase)?);
    match store.meta::<Deployment>("deployment")? {
        None => {
            let txn = store.begin()?;
            txn.set_meta("deployment", deployment)?;
            let accounts = genesis_state.accounts();
            for stage in [Stage::Sealed, Stage::Proved, Stage::Confirmed] {
                txn.put_accounts(stage, &accounts)?;
            }
            txn.commit()?;
        }
        Some(d) if &d == deployment => {}
        Some(d) => bail!(
            "{} belongs to another deployment ({d:?}); this start is for {deployment:?}",
            data.join("node.redb").display()
        ),
    }
    Ok(store)
}

/// The chain id the store was made on, recorded at its first start and required after: the
/// domain binds it only indirectly (audit F18).
fn pin_chain_id(store: &Store, chain_id: u64) -> Result<()> {
    match store.meta::<u64>("l1_chain_id")? {
        None => {
            let txn = store.begin()?;
            txn.set_meta("l1_chain_id", &chain_id)?;
            txn.commit()?;
            Ok(())
        }
        Some(c) if c == chain_id => Ok(()),
        Some(c) => bail!("the store was made on chain {c}; the L1 node is on chain {chain_id}"),
    }
}

/// The root batch `id` left, from the store (the genesis root for 0).
fn root_after(store: &Store, id: u64, genesis_root: Fr) -> Result<Fr> {
    if id == 0 {
        return Ok(genesis_root);
    }
    let b = store.batch(id)?.with_context(|| format!("batch {id} missing"))?;
    let root = zkrollup::decimal::parse_fr(&b.new_root).map_err(|e| anyhow::anyhow!("batch {id} root: {e}"))?;
    Ok(root)
}

#[allow(clippy::too_many_arguments)]
fn start<B: L1 + 'static>(
    store: Arc<Store>,
    l1_backend: B,
    dev: Option<SharedDevChain>,
    shape: Shape,
    domain: Fr,
    (genesis_state, genesis_root): (&State, Fr),
    pk: Option<(ProvingKey, FastProver)>,
    vk: zkrollup::prover::VerifyingKey,
    keys: Keys,
    (maturity, exodus_delay): (u64, u64),
    cfg: &Config,
    settler: Option<crate::watch::WatchConfig>,
) -> Result<()> {
    let mut l1_backend = l1_backend;
    // A rewind asked for before this start is carried out before any stage runs.
    if crate::rewind::requested(&store)?.is_some() {
        let view = l1_backend.rollup().map_err(|e| anyhow::anyhow!("reading L1 for a rewind: {e}"))?;
        crate::rewind::perform(&store, &view, &genesis_state.accounts(), genesis_root)?;
    }
    let metrics = Arc::new(Metrics::new());
    metrics.set_build_info(&keys.sha256, cfg.optimistic);
    metrics.l1_maturity.set(maturity as i64);
    metrics.l1_exodus_delay.set(exodus_delay as i64);
    let health = Arc::new(crate::health::Health::default());
    let heads = store.stage_heads()?;
    let sealed_root = root_after(&store, heads[0], genesis_root)?;
    let proved_root = root_after(&store, heads[1], genesis_root)?;
    let (sequencer, mut batcher) =
        Sequencer::load(store.clone(), metrics.clone(), shape, domain, sealed_root).map_err(anyhow::Error::msg)?;
    let sequencer = Arc::new(Mutex::new(sequencer));
    enum Proving {
        InProcess(Box<ProverStage>),
        Fleet(Box<crate::fleet_stage::FleetStage>),
    }
    let prover = match (&cfg.prover_queue, pk) {
        // Posting without proofs: the stage re-derives and checks each batch's witness only.
        _ if cfg.post_unproved => Proving::InProcess(Box::new(
            ProverStage::load(store.clone(), metrics.clone(), shape, domain, None, vk, heads[1], proved_root)
                .map_err(anyhow::Error::msg)?
                .insecure_corrupt_signatures_of_batch(cfg.insecure_corrupt_signatures_of_batch),
        )),
        (Some(url), _) => Proving::Fleet(Box::new(
            crate::fleet_stage::FleetStage::load(
                store.clone(),
                metrics.clone(),
                shape,
                domain,
                vk,
                keys.sha256.clone(),
                url.clone(),
                heads[1],
                proved_root,
                health.clone(),
            )
            .map_err(anyhow::Error::msg)?,
        )),
        (None, Some((pk, fast))) => Proving::InProcess(Box::new(
            ProverStage::load(store.clone(), metrics.clone(), shape, domain, Some((fast, pk)), vk, heads[1], proved_root)
                .map_err(anyhow::Error::msg)?,
        )),
        (None, None) => bail!("no proving key loaded"),
    };
    let seen = Arc::new(Mutex::new(L1Seen::default()));
    let mut l1 = L1Stage {
        l1: l1_backend,
        store: store.clone(),
        metrics: metrics.clone(),
        sequencer: sequencer.clone(),
        finality: cfg.finality,
        resend_after: cfg.resend_after,
        max_in_flight: cfg.max_in_flight,
        seen: seen.clone(),
        genesis_root,
        first_block: cfg.rpc.as_ref().map_or(0, |r| r.first_block),
        log_range: cfg.log_range,
        doomed: None,
        last_broadcast: Default::default(),
        no_finalized_tag: false,
        optimistic: cfg.optimistic,
    };
    l1.check_on_start().map_err(anyhow::Error::msg)?;
    // The state as of the last confirmed batch must be what the store's confirmed accounts say.
    store.state(Stage::Confirmed, shape.depth, root_after(&store, heads[3], genesis_root)?).map_err(anyhow::Error::msg)?;

    let stop = Arc::new(AtomicBool::new(false));
    let (ingest_tx, ingest_rx) = sync_channel::<Submission>(8192);
    let mut threads = Vec::new();
    {
        let seq = sequencer.clone();
        threads.push(spawn("ingest", move || ingest(seq, ingest_rx)));
    }
    let pace = Arc::new(crate::pace::Pace::new(maturity));
    {
        let seq = sequencer.clone();
        let stop = stop.clone();
        let timeout = cfg.batch_timeout.as_millis() as u64;
        let (pace, store) = (pace.clone(), store.clone());
        threads.push(spawn("batcher", move || {
            // Nice 10 (thread-priority maps 22 of 0..=99 to it): under a burst the API takes the
            // CPU first; the batcher (0.4 ms of hashing a touched leaf at depth 16) still runs
            // far ahead of the prover at nice 19.
            if let Ok(p) = 22u8.try_into() {
                let _ = thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Crossplatform(p));
            }
            while !stop.load(Ordering::Relaxed) {
                pace.update(&store).map_err(|e| e.to_string())?;
                let sealed = batcher.seal_due(&seq, timeout, SEALS_PER_COMMIT, pace.held())?;
                if sealed.is_empty() {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            Ok(())
        }));
    }
    let hold = ProverHold::default();
    {
        let (stop, hold) = (stop.clone(), hold.clone());
        threads.push(match prover {
            Proving::InProcess(p) => spawn("prover", move || p.run(stop, hold)),
            Proving::Fleet(f) => spawn("fleet", move || f.run(stop, hold)),
        });
    }
    {
        let stop = stop.clone();
        let poll = cfg.l1_poll;
        threads.push(spawn("l1", move || l1.run(poll, stop)));
    }
    if let Some(wc) = settler {
        // The settler: a watcher on the node's own stages that proves the node's challenged
        // batches and finalizes them, from a key of its own.
        let mut watcher = crate::watch::Watcher::open(&wc, Arc::new(crate::watch::metrics::WatchMetrics::new()))?;
        let stop = stop.clone();
        threads.push(spawn("settler", move || watcher.run_until(&stop, wc.poll).map_err(|e| format!("{e:#}"))));
    }
    if let (Some(chain), true) = (dev.clone(), cfg.optimistic) {
        // The dev chain's settler: the node finalizes its own batches (no watcher can reach
        // an in-process chain).
        let (stop, store, poll) = (stop.clone(), store.clone(), cfg.l1_poll);
        threads.push(spawn("dev-settler", move || {
            crate::dev_settler::run(chain, store, poll, stop);
            Ok(())
        }));
    }

    let api = Api {
        sequencer,
        store,
        metrics,
        ingest: ingest_tx,
        l1_seen: seen,
        prover_hold: dev.is_some().then_some(hold),
        dev,
        rate: Arc::new(RateLimit::new(cfg.rate_limit)),
        signature_checks: Arc::new(tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get()))),
        max_backlog: cfg.max_backlog,
        keys: cfg.prover_queue.is_some().then_some(keys),
        health,
        pace,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let (listen, http, keys_listen) = (cfg.listen, cfg.http, cfg.keys_listen);
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
        let _ = LISTENING.set(listener.local_addr()?);
        eprintln!("zkrollup-node: listening on http://{}", listener.local_addr()?);
        if let (Some(at), Some(_)) = (keys_listen, &api.keys) {
            // The proving key (tens to hundreds of MB) for the workers only (audit F14).
            let keys = tokio::net::TcpListener::bind(at).await.with_context(|| format!("binding --keys-listen {at}"))?;
            eprintln!("zkrollup-node: serving the proving key to workers on http://{}", keys.local_addr()?);
            tokio::spawn(crate::http::serve(keys, crate::api::keys_router(api.clone()), http, std::future::pending()));
        }
        let app = router(api);
        let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
        let signalled = async move {
            shutdown_signal().await;
            eprintln!("zkrollup-node: stopping: no new connections, the open ones get {HTTP_DRAIN:?} to finish");
            let _ = signalled_tx.send(());
        };
        let serve = crate::http::serve(listener, app, http, signalled);
        // A client that never finishes its request must not hold the stop up.
        let drained = async move {
            match signalled_rx.await {
                Ok(_) => tokio::time::sleep(HTTP_DRAIN).await,
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            r = serve => r?,
            () = drained => eprintln!("zkrollup-node: connections still open after {HTTP_DRAIN:?}: closed"),
        }
        anyhow::Ok(())
    })?;
    // Handlers still running (a signature check) are dropped; their submissions were not answered.
    runtime.shutdown_timeout(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let deadline = Instant::now() + STAGE_DRAIN;
    while threads.iter().any(|t| !t.is_finished()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let busy: Vec<&str> = threads.iter().filter(|t| !t.is_finished()).filter_map(|t| t.thread().name()).collect();
    if busy.is_empty() {
        eprintln!("zkrollup-node: stopped");
    } else {
        // Each stage's step is one store transaction: what a stage was doing is redone after a
        // restart (a proof started again, a transaction looked up again), nothing half-written.
        eprintln!("zkrollup-node: stopped; abandoned the current step of: {}", busy.join(", "));
    }
    Ok(())
}

/// After SIGTERM or SIGINT, how long open HTTP requests get to finish.
const HTTP_DRAIN: Duration = Duration::from_secs(2);
/// Then how long the stages get to finish their step before the process exits: the whole stop
/// stays under `docker stop`'s 10 s before its SIGKILL.
const STAGE_DRAIN: Duration = Duration::from_secs(5);

/// The address the API listens on, once bound (a restart in place keeps it).
static LISTENING: std::sync::OnceLock<SocketAddr> = std::sync::OnceLock::new();

/// The sequencer's key when it came from `ZKROLLUP_SEQUENCER_KEY`, which is removed from this
/// process's environment once read: a restart in place hands it on the same way.
static ENVIRONMENT_KEY: std::sync::OnceLock<zeroize::Zeroizing<String>> = std::sync::OnceLock::new();

/// Keep the key read from `ZKROLLUP_SEQUENCER_KEY` for a restart in place.
pub fn keep_environment_key(key: &str) {
    let _ = ENVIRONMENT_KEY.set(zeroize::Zeroizing::new(key.to_string()));
}

/// Replace this process with a fresh run of the same program and arguments (exec): the same
/// process id, the same address (a `--listen` port of 0 becomes the one bound), a clean start
/// from the store. Used after asking for a rewind, which the start carries out before any stage
/// runs. Only returns (exit 70) when the exec itself fails.
pub fn restart_in_place(why: &str) -> ! {
    eprintln!("zkrollup-node: restarting in place: {why}");
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if let Some(bound) = LISTENING.get() {
        let mut i = 0;
        while i < args.len() {
            if args[i] == "--listen" && i + 1 < args.len() {
                args[i + 1] = bound.to_string().into();
            } else if args[i].to_string_lossy().starts_with("--listen=") {
                args[i] = format!("--listen={bound}").into();
            }
            i += 1;
        }
    }
    let exe = std::env::current_exe().unwrap_or_else(|_| std::env::args_os().next().unwrap_or_default().into());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let mut command = std::process::Command::new(&exe);
        command.args(&args);
        if let Some(key) = ENVIRONMENT_KEY.get() {
            command.env("ZKROLLUP_SEQUENCER_KEY", key.as_str());
        }
        let e = command.exec();
        eprintln!("zkrollup-node: cannot restart in place ({}): {e}", exe.display());
    }
    std::process::exit(70);
}

/// Make a panic in any thread end the process with exit status 70, as a stage's error does: a
/// stage that died alone would leave the node answering 202 with nothing behind it.
pub fn exit_on_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        eprintln!("zkrollup-node: a thread panicked: exiting (70) so that a restart resumes from the store");
        std::process::exit(70);
    }));
}

/// A stage's thread: an error from it is fatal to the process (exit 70), so that a restart
/// resumes from the store rather than the node running on with a stage stopped.
fn spawn(name: &'static str, f: impl FnOnce() -> Result<(), String> + Send + 'static) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            if let Err(e) = f() {
                eprintln!("zkrollup-node: {name} stage failed: {e}");
                std::process::exit(70);
            }
        })
        .expect("spawning a thread")
}

/// The ingest thread: takes every submission waiting, checks and stores them in one
/// transaction, answers each.
fn ingest(seq: Arc<Mutex<Sequencer>>, rx: Receiver<Submission>) -> Result<(), String> {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < 1024 {
            match rx.try_recv() {
                Ok(s) => group.push(s),
                Err(_) => break,
            }
        }
        let (items, replies): (Vec<_>, Vec<_>) = group.into_iter().map(|(t, e, r)| ((t, e), r)).unzip();
        let results = seq.lock().unwrap_or_else(|p| p.into_inner()).accept(items);
        let failed = results.iter().find_map(|r| match r {
            Err(crate::sequencer::Refusal::Store(e)) => Some(e.to_string()),
            _ => None,
        });
        for (r, reply) in results.into_iter().zip(replies) {
            let _ = reply.send(r);
        }
        // After a failed commit nothing more is written (audit F12): the process ends (70), and
        // a restart resumes from the last commit that succeeded.
        if let Some(e) = failed {
            return Err(format!("a store commit failed ({e}): nothing more is written"));
        }
    }
    Ok(())
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use redb::backends::InMemoryBackend;
    use redb::{BackendError, StorageBackend};
    use zkrollup::primitives::eddsa::PrivateKey;
    use zkrollup::{Account, Transfer};

    use super::*;

    /// A disk whose writes fail once told to.
    #[derive(Debug)]
    struct FailingDisk {
        inner: InMemoryBackend,
        fail: Arc<AtomicBool>,
    }

    impl FailingDisk {
        fn check(&self) -> Result<(), BackendError> {
            if self.fail.load(Ordering::Relaxed) {
                return Err(BackendError::Io(std::io::Error::other("the disk is full")));
            }
            Ok(())
        }
    }

    impl StorageBackend for FailingDisk {
        fn len(&self) -> Result<u64, BackendError> {
            self.inner.len()
        }
        fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), BackendError> {
            self.inner.read(offset, out)
        }
        fn set_len(&self, len: u64) -> Result<(), BackendError> {
            self.check()?;
            self.inner.set_len(len)
        }
        fn sync_data(&self) -> Result<(), BackendError> {
            self.check()?;
            self.inner.sync_data()
        }
        fn write(&self, offset: u64, data: &[u8]) -> Result<(), BackendError> {
            self.check()?;
            self.inner.write(offset, data)
        }
    }

    /// Audit F12: after a commit fails, the ingest thread answers the submissions of that group
    /// with the store's error and stops (the process then exits 70 and a restart resumes from
    /// the last commit): nothing is written after a failed commit.
    #[test]
    fn ingest_stops_after_a_failed_commit() {
        let fail = Arc::new(AtomicBool::new(false));
        let store = Arc::new(Store::open_on(FailingDisk { inner: InMemoryBackend::new(), fail: fail.clone() }, false).unwrap());
        let key = PrivateKey::from_bytes([1; 32]);
        let accounts = vec![(1, Account::new(key.public_key(), 100, 0)), (2, Account::new(key.public_key(), 100, 0))];
        let state = State::from_accounts(4, accounts).unwrap();
        let txn = store.begin().unwrap();
        txn.put_accounts(Stage::Sealed, &state.accounts()).unwrap();
        txn.commit().unwrap();
        let shape = Shape { depth: 4, l1_slots: 1, batch_size: 2 };
        let (seq, _) = Sequencer::load(store.clone(), Arc::new(Metrics::new()), shape, Fr::from(0u64), state.root()).unwrap();
        let (tx, rx) = sync_channel::<Submission>(8);
        let ingesting = std::thread::spawn(move || ingest(Arc::new(Mutex::new(seq)), rx));
        let submit = |nonce: u64| {
            let t = Transfer::signed(&key, 1, 2, 1, nonce, Fr::from(0u64));
            let entry = serde_json::to_value(zkrollup::files::transfer_entry(&t)).unwrap();
            let (reply, answer) = tokio::sync::oneshot::channel();
            tx.send((t, entry, reply)).unwrap();
            answer.blocking_recv().unwrap()
        };
        assert_eq!(submit(0).unwrap(), 1);
        fail.store(true, Ordering::Relaxed);
        assert!(matches!(submit(1), Err(crate::sequencer::Refusal::Store(_))));
        let stopped = ingesting.join().unwrap();
        assert!(stopped.is_err_and(|e| e.contains("a store commit failed")), "the ingest thread stops");
    }
}
