//! `zkrollup-node` (also run as `zkrollup node`): the operator node.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use zkrollup_node::contracts::QueueParams;
use zkrollup_node::node::{run_dev, run_rpc, Config, RpcConfig};
use zkrollup_node::secrets::{key_from_env, KeySource};

/// The zkrollup operator node.
#[derive(Parser)]
#[command(name = "zkrollup node", version, args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Deploy the keys' verifier and ZKRollup (OptimisticRollup with --settlement optimistic) on a
    /// real L1 and print their addresses (JSON). The deployer's private key (hex) is read from
    /// ZKROLLUP_DEPLOYER_KEY; it pays the genesis balances in.
    Deploy(DeployCli),
    /// The prover fleet's jobs (JSON): counts by status, the failed ones with every attempt's
    /// error, and the quarantined workers. With --retry BATCH a failed job goes back in the
    /// queue at once (the node queues it again by itself after a back-off); --release-worker
    /// and --grant-worker manage workers.
    ProverJobs(ProverJobsCli),
    /// Ask a stopped node to rewind at its next start: the sealed batches after the last
    /// confirmed one are dropped and their operations sealed again, L1 requests first (a node
    /// rewinds by itself when L1 refuses a batch; this is for the operator who wants it now).
    Rewind(RewindCli),
    /// Watch an OptimisticRollup (SPEC-v3 section 4): re-apply every posted batch from the
    /// genesis state and L1 data alone, challenge the ones that cannot be proved (--challenge),
    /// prove challenged ones that can (--defend). The key that moves is read from
    /// ZKROLLUP_WATCHER_KEY.
    Watch(WatchCli),
}

#[derive(Args)]
struct WatchCli {
    /// The L1 node's JSON-RPC URL.
    #[arg(long)]
    rpc: String,
    /// The OptimisticRollup's address.
    #[arg(long)]
    rollup: String,
    /// The rollup's published genesis state file.
    #[arg(long)]
    genesis: PathBuf,
    /// The watcher's data folder (its store; one watcher a folder).
    #[arg(long)]
    data: PathBuf,
    /// The block that deployed the rollup (`deploy` prints it).
    #[arg(long, default_value_t = 0)]
    first_block: u64,
    /// When an L1 block's events are final enough to act on: `finalized` or a depth in blocks.
    #[arg(long, default_value = "finalized")]
    confirmations: zkrollup_node::l1::Finality,
    /// Challenge the first pending batch the model refuses (the bond and gas from the key), and
    /// resolve it after its deadline.
    #[arg(long)]
    challenge: bool,
    /// Prove any challenged batch the model accepts, with the proving key of this key folder.
    #[arg(long)]
    defend: bool,
    /// Finalize the batches the model accepts once they are finalizable (past their window
    /// unchallenged, or proved), crediting their payouts: anyone may, and someone must.
    #[arg(long)]
    finalize: bool,
    /// With --defend: the key folder (the deployment's keys).
    #[arg(long, required_if_eq("defend", "true"))]
    keys: Option<PathBuf>,
    /// Serve GET /metrics and GET /v1/status on this address.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Milliseconds between two rounds.
    #[arg(long, default_value_t = 3_000)]
    poll_ms: u64,
    /// The most blocks one eth_getLogs query spans.
    #[arg(long, default_value_t = zkrollup_node::l1_stage::LOG_RANGE)]
    log_range: u64,
    /// Milliseconds to wait for a move's receipt before the next round.
    #[arg(long, default_value_t = 60_000)]
    tx_wait_ms: u64,
    /// The most the watcher pays a gas, in wei.
    #[arg(long, default_value_t = 500_000_000_000)]
    max_fee_per_gas: u128,
    /// The most priority fee a gas, in wei.
    #[arg(long, default_value_t = 10_000_000_000)]
    max_priority_fee_per_gas: u128,
}

#[derive(Args)]
struct RewindCli {
    /// The node's data folder (the node must be stopped: the store is locked while it runs).
    #[arg(long)]
    data: PathBuf,
}

#[derive(Args)]
struct ProverJobsCli {
    /// The queue: the node's --prover-queue.
    #[arg(long)]
    prover_queue: String,
    /// Put this failed job back in the queue.
    #[arg(long)]
    retry: Option<u64>,
    /// Attempts the retried job gets.
    #[arg(long, default_value_t = 5)]
    attempts: i32,
    /// Let this quarantined worker (its login role, or its name on a fleet sharing the node's
    /// role) claim jobs again.
    #[arg(long, value_name = "NAME")]
    release_worker: Option<String>,
    /// Let this PostgreSQL login role work as a prover: EXECUTE on the worker functions only,
    /// no right on any table (run with the node's role, which owns them; create the role first:
    /// `createuser prover1`).
    #[arg(long, value_name = "ROLE")]
    grant_worker: Option<String>,
}

#[derive(Args)]
struct DeployCli {
    /// The L1 node's JSON-RPC URL.
    #[arg(long)]
    rpc: String,
    /// The key folder the node will prove with.
    #[arg(long)]
    keys: PathBuf,
    /// The genesis state file the node will start from.
    #[arg(long)]
    genesis: PathBuf,
    /// The sequencer's address: the only one allowed to submit batches.
    #[arg(long)]
    sequencer: String,
    /// Who is credited the genesis accounts' exits (default: the deployer).
    #[arg(long)]
    genesis_owner: Option<String>,
    /// Seconds before a queued request must be taken by a batch with a free L1 slot (SPEC-v2
    /// section 6: 15 minutes).
    #[arg(long, default_value_t = 15 * 60)]
    maturity: u64,
    /// Seconds a request may wait before anyone can start exodus (SPEC-v2 section 6: 7 days).
    #[arg(long, default_value_t = 7 * 24 * 3600)]
    exodus_delay: u64,
    /// Requests that may wait unconsumed at once.
    #[arg(long, default_value_t = 1024)]
    max_open_requests: u32,
    /// The smallest deposit, in gwei (SPEC-v2 section 6: 10^6, a thousandth of an ETH).
    #[arg(long, default_value_t = 1_000_000)]
    min_deposit: u64,
    /// Also write the deployment (the JSON printed) to this file, all or nothing: `zkrollup
    /// sign`, `apply` and `prove` take it as `--deployment FILE` for the domain, the node for its
    /// rollup and first block. When the file already names a rollup that has code on this L1,
    /// nothing is deployed and the file is printed (a deploy job run again is a no-op).
    #[arg(long)]
    out: Option<PathBuf>,
    /// How batches settle: `validity` (ZKRollup: each with its proof) or `optimistic`
    /// (OptimisticRollup, SPEC-v3: posted, final after a challenge window, proved when
    /// challenged). Optimistic deploys a PoseidonT5 first and, with a bond, deposits it from the
    /// sequencer's key in ZKROLLUP_SEQUENCER_KEY.
    #[arg(long, value_enum, default_value_t = Settlement::Validity)]
    settlement: Settlement,
    /// Optimistic: seconds after a post during which the batch may be challenged (SPEC-v3: 7 days).
    #[arg(long, default_value_t = 7 * 24 * 3600)]
    challenge_window: u64,
    /// Optimistic: seconds after a challenge during which the batch may be proved (SPEC-v3: 1 day).
    #[arg(long, default_value_t = 24 * 3600)]
    response_window: u64,
    /// Optimistic: wei a challenger puts up (SPEC-v3: 0.05 ether).
    #[arg(long, default_value_t = 50_000_000_000_000_000)]
    challenge_bond_wei: u128,
    /// Optimistic: wei the sequencer must have bonded to post, the most a revert slashes
    /// (SPEC-v3: 1 ether).
    #[arg(long, default_value_t = 1_000_000_000_000_000_000)]
    min_sequencer_bond_wei: u128,
    /// Optimistic: the challenger's share of a slash, in basis points (SPEC-v3: 5,000).
    #[arg(long, default_value_t = 5_000)]
    slash_reward_bps: u16,
    /// Optimistic: wei the sequencer bonds at once (default: --min-sequencer-bond-wei; 0 for none).
    #[arg(long)]
    sequencer_bond_wei: Option<u128>,
    /// Seconds to wait for the L1 node to answer before giving up (a deployment job started
    /// beside its L1, which has no health check of its own).
    #[arg(long, default_value_t = 0)]
    wait_for_l1_secs: u64,
}

/// How a deployment settles its batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Settlement {
    /// ZKRollup: every batch with its proof.
    Validity,
    /// OptimisticRollup (SPEC-v3).
    Optimistic,
}

#[derive(Args)]
struct RunArgs {
    /// Dev mode: an in-process L1 (revm with the committed contracts) kept under --data, and
    /// INSECURE development keys made or reused under --data/keys.
    #[arg(long, conflicts_with_all = ["rpc", "rollup", "keys", "deployment"])]
    dev: bool,
    /// Without --dev: the L1 node's JSON-RPC URL. The sequencer's private key (hex) is read from
    /// the environment variable ZKROLLUP_SEQUENCER_KEY.
    #[arg(long, required_unless_present = "dev", requires = "keys")]
    rpc: Option<String>,
    /// Without --dev: read the sequencer's private key (hex) from this file, readable by its owner
    /// only, instead of the environment variable ZKROLLUP_SEQUENCER_KEY.
    #[arg(long)]
    sequencer_key_file: Option<PathBuf>,
    /// With --settlement optimistic: read the settler's private key (hex) from this file,
    /// readable by its owner only. The node then proves its challenged batches and finalizes,
    /// paying gas from that key (another than the sequencer's); its state is kept under
    /// --data/settler.
    #[arg(long, requires = "rpc")]
    settler_key_file: Option<PathBuf>,
    /// Without --dev: the deployed ZKRollup's address.
    #[arg(long, conflicts_with = "deployment")]
    rollup: Option<String>,
    /// Without --dev: the file `deploy --out` wrote, for the rollup's address and first block
    /// (instead of --rollup and --first-block).
    #[arg(long, conflicts_with_all = ["dev", "first_block"])]
    deployment: Option<PathBuf>,
    /// Without --dev: the key folder (`zkrollup setup` or `zkrollup ceremony export`); N, M and
    /// D are its circuit's.
    #[arg(long)]
    keys: Option<PathBuf>,
    /// Without --dev: the block that deployed the rollup (`deploy` prints it); the event
    /// watcher starts there.
    #[arg(long, default_value_t = 0)]
    first_block: u64,
    /// The genesis state file.
    #[arg(long, required = true)]
    genesis: Option<PathBuf>,
    /// The node's data folder (store, dev chain, keys).
    #[arg(long, required = true)]
    data: Option<PathBuf>,
    /// The HTTP address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Dev mode: allow a --listen address other than loopback. A dev node lets anyone who reaches
    /// it act as any L1 address (deposit, force-exit, withdraw anyone's payout).
    #[arg(long, requires = "dev")]
    insecure_dev_listen_public: bool,
    /// Milliseconds a connection gets to send a request's head (line and headers), counted from
    /// when it waits for one: a half-sent request or an idle kept-alive connection is closed after.
    #[arg(long, default_value_t = 10_000)]
    header_timeout_ms: u64,
    /// Milliseconds from a request's head to its answer, body included (408 after).
    #[arg(long, default_value_t = 30_000)]
    request_timeout_ms: u64,
    /// HTTP connections open at once; more wait in the listen queue until one closes.
    #[arg(long, default_value_t = 512)]
    max_connections: usize,
    /// N, the L2 slots of a batch (dev mode; otherwise the keys').
    #[arg(long, default_value_t = zkrollup::DEFAULT_BATCH_SIZE)]
    batch_size: usize,
    /// M, the L1 slots of a batch (dev mode; otherwise the keys').
    #[arg(long, default_value_t = zkrollup::DEFAULT_L1_SLOTS)]
    l1_slots: usize,
    /// A batch is sealed this many milliseconds after its oldest operation arrived.
    #[arg(long, default_value_t = 2000)]
    batch_timeout_ms: u64,
    /// When an L1 block's events and receipts are final enough to act on: `finalized` (the L1
    /// node's finalized block; 64 blocks deep where it has no such tag) or a depth in blocks
    /// (1: the block that holds it is enough; a reorg deeper than that is still followed, but
    /// a confirmed batch taken back stops the node).
    #[arg(long, default_value = "finalized")]
    confirmations: zkrollup_node::l1::Finality,
    /// Sealed batches waiting for proof and L1 beyond which submissions are answered 503 until
    /// the prover catches up (0: no bound). Keep it well under the contract's maturity divided by
    /// the proving time, or a batch with a free L1 slot can revert (MatureRequestSkipped).
    #[arg(long, default_value_t = 64)]
    max_backlog: u64,
    /// Without --dev: milliseconds between two rounds of the L1 stage (each reads the head, the
    /// rollup's state and the receipts it waits for): a quarter of the block time suits.
    #[arg(long, default_value_t = 3_000)]
    l1_poll_ms: u64,
    /// Without --dev: the most blocks one eth_getLogs query spans (some providers allow 500).
    #[arg(long, default_value_t = zkrollup_node::l1_stage::LOG_RANGE)]
    log_range: u64,
    /// Without --dev: the most the node pays a gas, in wei (500 gwei by default: a 2,000,000-gas
    /// batch then costs at most 1 ETH). It never signs above it.
    #[arg(long, default_value_t = 500_000_000_000)]
    max_fee_per_gas: u128,
    /// Without --dev: the most priority fee a gas, in wei (10 gwei by default).
    #[arg(long, default_value_t = 10_000_000_000)]
    max_priority_fee_per_gas: u128,
    /// A batch transaction not mined after this many milliseconds is replaced at its nonce with
    /// a 25% higher fee (within the caps), or signed again at the estimate when the L1 node
    /// does not hold it.
    #[arg(long, default_value_t = 60_000)]
    resend_after_ms: u64,
    /// Batches sent to L1 and not yet confirmed, at most (sent at consecutive nonces, so L1
    /// mines them in order).
    #[arg(long, default_value_t = 4)]
    max_in_flight: u64,
    /// The store commits in two phases: two fsyncs a commit, against an adversary who controls
    /// the disk's write order (about 15% of the API's rate on 2 cores).
    #[arg(long)]
    two_phase_commit: bool,
    /// Prove with a fleet of `zkrollup worker`s through this PostgreSQL database
    /// (postgres://user@host:port/db; one database a node) instead of in process. The workers
    /// fetch the proving key from --keys-listen or a shared folder.
    #[arg(long)]
    prover_queue: Option<String>,
    /// With --prover-queue: serve the proving key's files to the workers on this address only
    /// (the workers' private network: `zkrollup worker --keys-from http://ADDRESS`), never on
    /// --listen. Without it the keys are not served: give the workers a shared folder.
    #[arg(long)]
    keys_listen: Option<std::net::SocketAddr>,
    /// Submissions a second per client network, an IPv4 /24 or an IPv6 /64 (429 beyond), in
    /// bursts of as many. Behind a reverse proxy every client shares the proxy's.
    #[arg(long, default_value_t = 100)]
    rate_limit: u32,
    /// How the rollup settles. `validity`: every batch with its proof (`submitBatch`; on an
    /// OptimisticRollup that is the hybrid, each batch final at once). `optimistic`: batches
    /// posted without a proof (`postBatch` with their signatures, SPEC-v3), final after the
    /// challenge window; with --rpc, give --settler-key-file or run `zkrollup watch --defend
    /// --finalize` beside it to prove challenged batches and finalize; with --dev the chain gets
    /// an OptimisticRollup (SPEC-v3's windows: move its clock with POST /v1/dev/chain) and the
    /// node finalizes its batches itself.
    #[arg(long, value_enum, default_value_t = Settlement::Validity)]
    settlement: Settlement,
    /// With --settlement optimistic: prove every batch and send it with its proof (the hybrid
    /// `submitBatch`: final at once when every earlier batch is, else stored proved).
    #[arg(long)]
    prove_all: bool,
    /// INSECURE, for tests of the watcher only: post batch N once with one signature in its
    /// sigData made invalid (the batch cannot be proved from L1 data, so a watcher challenges
    /// it and L1 reverts it, slashing the sequencer). With --settlement optimistic.
    #[arg(long, value_name = "N", hide = true)]
    insecure_corrupt_signatures_of_batch: Option<u64>,
    /// Dev chain: seconds before a queued request must be taken by a batch with a free L1 slot.
    #[arg(long, default_value_t = 3600)]
    maturity: u64,
    /// Dev chain: mine an empty block after this many milliseconds without one (0: never).
    #[arg(long, default_value_t = 1000)]
    block_time_ms: u64,
    /// Dev chain: seconds before a request left waiting lets anyone start exodus.
    #[arg(long, default_value_t = 7 * 24 * 3600)]
    exodus_delay: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    zkrollup_node::node::exit_on_panic();
    let result = match cli.command {
        Some(Command::Deploy(d)) => deploy(d),
        Some(Command::ProverJobs(j)) => prover_jobs(j),
        Some(Command::Rewind(r)) => rewind(r),
        Some(Command::Watch(w)) => watch(w),
        None => run(cli.run),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn address(flag: &str, text: &str) -> anyhow::Result<alloy::primitives::Address> {
    zkrollup::files::parse_address(text)
        .map(alloy::primitives::Address::from)
        .ok_or_else(|| anyhow::anyhow!("{flag}: expected 0x and 40 hex digits, got {text:?}"))
}

fn deploy(d: DeployCli) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    let key = key_from_env("ZKROLLUP_DEPLOYER_KEY")?
        .context("set ZKROLLUP_DEPLOYER_KEY to the deployer's private key (hex), or ZKROLLUP_DEPLOYER_KEY_FILE to a file holding it")?;
    let key = key.key();
    let deployer: alloy::signers::local::PrivateKeySigner = key.parse().map_err(|e| anyhow::anyhow!("ZKROLLUP_DEPLOYER_KEY: {e}"))?;
    let args = zkrollup_node::deploy::DeployArgs {
        keys: &d.keys,
        genesis: &d.genesis,
        sequencer: address("--sequencer", &d.sequencer)?,
        genesis_owner: d.genesis_owner.as_deref().map(|a| address("--genesis-owner", a)).transpose()?,
        params: QueueParams {
            maturity: d.maturity,
            exodus_delay: d.exodus_delay,
            max_open_requests: d.max_open_requests,
            min_deposit: d.min_deposit,
        },
        optimistic: match d.settlement {
            Settlement::Validity => None,
            Settlement::Optimistic => {
                let sequencer_key = match key_from_env("ZKROLLUP_SEQUENCER_KEY")? {
                    Some(k) => Some(k.key().parse().map_err(|e| anyhow::anyhow!("ZKROLLUP_SEQUENCER_KEY: {e}"))?),
                    None => None,
                };
                Some(zkrollup_node::deploy::Optimistic {
                    params: zkrollup_node::contracts::OptimisticParams {
                        challenge_window: d.challenge_window,
                        response_window: d.response_window,
                        challenge_bond_wei: d.challenge_bond_wei,
                        min_sequencer_bond_wei: d.min_sequencer_bond_wei,
                        slash_reward_bps: d.slash_reward_bps,
                    },
                    sequencer_bond_wei: d.sequencer_bond_wei.unwrap_or(d.min_sequencer_bond_wei),
                    sequencer_key,
                })
            }
        },
    };
    let waiting_since = std::time::Instant::now();
    let mut l1 = loop {
        match zkrollup_node::l1::rpc::RpcL1::connect(&d.rpc, alloy::primitives::Address::ZERO, key) {
            Ok(l1) => break l1,
            Err(e @ zkrollup_node::l1::L1Error::Unavailable(_)) if waiting_since.elapsed() < Duration::from_secs(d.wait_for_l1_secs) => {
                eprintln!("waiting for L1: {e}");
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(e) => return Err(e.into()),
        }
    };
    if let Some(out) = &d.out {
        if let Some(text) = zkrollup_node::deploy::already_deployed(&l1, out)? {
            eprintln!("{} names a rollup with code on this L1: nothing deployed", out.display());
            print!("{text}");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let deployed = zkrollup_node::deploy::deploy(&mut l1, &deployer, &args)?;
    let text = serde_json::to_string_pretty(&deployed)?;
    if let Some(out) = &d.out {
        zkrollup::files::write_all_atomic(&[(out.clone(), format!("{text}\n").into_bytes())])
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn watch(w: WatchCli) -> anyhow::Result<ExitCode> {
    let key = key_from_env("ZKROLLUP_WATCHER_KEY")?.map(|k| zeroize::Zeroizing::new(k.key().to_string()));
    zkrollup_node::watch::run(zkrollup_node::watch::WatchConfig {
        rpc: w.rpc,
        rollup: address("--rollup", &w.rollup)?,
        genesis: w.genesis,
        data: w.data,
        first_block: w.first_block,
        confirmations: w.confirmations,
        poll: Duration::from_millis(w.poll_ms.max(1)),
        log_range: w.log_range.max(1),
        key,
        challenge: w.challenge,
        defend: if w.defend { w.keys } else { None },
        finalize: w.finalize,
        listen: w.listen,
        tx_wait: Duration::from_millis(w.tx_wait_ms),
        fee_caps: zkrollup_node::l1::rpc::FeeCaps { max_fee_per_gas: w.max_fee_per_gas, max_priority_fee_per_gas: w.max_priority_fee_per_gas },
    })?;
    Ok(ExitCode::SUCCESS)
}

fn rewind(r: RewindCli) -> anyhow::Result<ExitCode> {
    let path = r.data.join("node.redb");
    anyhow::ensure!(path.exists(), "{} does not exist: --data is the node's data folder", path.display());
    let store = zkrollup_node::store::Store::open(&path, false)?;
    let confirmed = store.stage_heads()?[3];
    match zkrollup_node::rewind::request(&store, "asked by the operator")? {
        Ok(()) => {
            eprintln!("the node rewinds to batch {confirmed}, its last confirmed one, when it starts next");
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            eprintln!("error: {why}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn prover_jobs(j: ProverJobsCli) -> anyhow::Result<ExitCode> {
    use zkrollup_fleet::queue::Queue;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let q = Queue::connect(&j.prover_queue).await?;
        if let Some(batch) = j.retry {
            q.retry(batch, j.attempts.max(1)).await?;
            eprintln!("job {batch} is queued again, for {} more attempts", j.attempts.max(1));
        }
        if let Some(worker) = &j.release_worker {
            if !q.release_worker(worker).await? {
                anyhow::bail!("worker {worker:?} is not quarantined");
            }
            eprintln!("worker {worker:?} may claim jobs again");
        }
        if let Some(role) = &j.grant_worker {
            q.grant_worker(role).await?;
            eprintln!("role {role:?} may now claim, prove and hand in jobs, and nothing else");
        }
        let counts: serde_json::Map<String, serde_json::Value> =
            q.counts().await?.into_iter().map(|(s, n)| (s.as_str().to_string(), n.into())).collect();
        let failed: Vec<serde_json::Value> = q
            .failed()
            .await?
            .into_iter()
            .map(|f| serde_json::json!({"batch": f.batch_id, "attempts": f.attempts, "worker": f.worker, "errors": f.errors}))
            .collect();
        let quarantined: Vec<serde_json::Value> = q
            .quarantined()
            .await?
            .into_iter()
            .map(|(worker, reason, since)| serde_json::json!({"worker": worker, "reason": reason, "since": since}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({"counts": counts, "failed": failed, "quarantined": quarantined}))?);
        Ok(ExitCode::SUCCESS)
    })
}

fn run(cli: RunArgs) -> anyhow::Result<ExitCode> {
    let (rollup, first_block) = match (&cli.rollup, &cli.deployment) {
        (Some(rollup), _) => (Some(address("--rollup", rollup)?), cli.first_block),
        (None, Some(path)) => {
            let (rollup, block) = zkrollup_node::deploy::read_deployment(path)?;
            (Some(rollup), block)
        }
        (None, None) if cli.rpc.is_some() => {
            eprintln!("error: --rpc needs the rollup: give --rollup (and --first-block) or --deployment FILE");
            return Ok(ExitCode::from(2));
        }
        (None, None) => (None, cli.first_block),
    };
    let rpc = match (&cli.rpc, rollup, &cli.keys) {
        (Some(url), Some(rollup), Some(keys)) => {
            let sequencer_key = match &cli.sequencer_key_file {
                Some(path) => zkrollup_node::secrets::read_key_file(path)?,
                None => match key_from_env("ZKROLLUP_SEQUENCER_KEY")? {
                    // Out of the environment once read: a restart in place hands it on.
                    Some(KeySource::Variable(k)) => {
                        zkrollup_node::node::keep_environment_key(&k);
                        k
                    }
                    Some(KeySource::File(k)) => k,
                    None => {
                        eprintln!(
                            "error: set ZKROLLUP_SEQUENCER_KEY to the sequencer's private key (hex), or \
                             ZKROLLUP_SEQUENCER_KEY_FILE to a file holding it, or give --sequencer-key-file"
                        );
                        return Ok(ExitCode::from(2));
                    }
                },
            };
            let fee_caps = zkrollup_node::l1::rpc::FeeCaps {
                max_fee_per_gas: cli.max_fee_per_gas,
                max_priority_fee_per_gas: cli.max_priority_fee_per_gas,
            };
            let settler_key = cli.settler_key_file.as_deref().map(zkrollup_node::secrets::read_key_file).transpose()?;
            Some(RpcConfig { url: url.clone(), rollup, keys: keys.clone(), sequencer_key, first_block, fee_caps, settler_key })
        }
        _ => None,
    };
    let cfg = Config {
        genesis: cli.genesis.ok_or_else(|| anyhow::anyhow!("--genesis is required"))?,
        data: cli.data.ok_or_else(|| anyhow::anyhow!("--data is required"))?,
        listen: cli.listen,
        batch_size: cli.batch_size,
        l1_slots: cli.l1_slots,
        batch_timeout: Duration::from_millis(cli.batch_timeout_ms),
        finality: cli.confirmations,
        queue: QueueParams {
            maturity: cli.maturity,
            exodus_delay: cli.exodus_delay,
            max_open_requests: 1024,
            min_deposit: 1,
        },
        rate_limit: cli.rate_limit,
        // Dev mode's chain is in process: a tight poll costs nothing there.
        l1_poll: Duration::from_millis(if cli.dev { 50 } else { cli.l1_poll_ms.max(1) }),
        log_range: cli.log_range.max(1),
        block_time: (cli.block_time_ms > 0).then(|| Duration::from_millis(cli.block_time_ms)),
        rpc,
        max_backlog: cli.max_backlog,
        resend_after: Duration::from_millis(cli.resend_after_ms),
        max_in_flight: cli.max_in_flight.max(1),
        two_phase_commit: cli.two_phase_commit,
        prover_queue: cli.prover_queue,
        optimistic: cli.settlement == Settlement::Optimistic,
        post_unproved: cli.settlement == Settlement::Optimistic && !cli.prove_all,
        insecure_corrupt_signatures_of_batch: cli.insecure_corrupt_signatures_of_batch,
        keys_listen: cli.keys_listen,
        http: zkrollup_node::http::HttpLimits {
            header_timeout: Duration::from_millis(cli.header_timeout_ms.max(1)),
            request_timeout: Duration::from_millis(cli.request_timeout_ms.max(1)),
            max_connections: cli.max_connections.max(1),
        },
    };
    if cli.dev && !cli.listen.ip().is_loopback() && !cli.insecure_dev_listen_public {
        eprintln!(
            "error: --listen {}: a dev node lets anyone who reaches it act as any L1 address; listen on loopback, \
             or add --insecure-dev-listen-public",
            cli.listen
        );
        return Ok(ExitCode::from(2));
    }
    if cli.insecure_corrupt_signatures_of_batch.is_some() && (cli.settlement != Settlement::Optimistic || cli.prove_all) {
        eprintln!("error: --insecure-corrupt-signatures-of-batch is for --settlement optimistic without --prove-all");
        return Ok(ExitCode::from(2));
    }
    if cli.prove_all && cli.settlement != Settlement::Optimistic {
        eprintln!("error: --prove-all is for --settlement optimistic (in validity mode every batch is proved)");
        return Ok(ExitCode::from(2));
    }
    if cli.dev {
        run_dev(cfg)?
    } else {
        run_rpc(cfg)?
    }
    Ok(ExitCode::SUCCESS)
}
