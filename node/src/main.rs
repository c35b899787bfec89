//! `zkrollup-node` (also run as `zkrollup node`): the operator node.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use zkrollup_node::contracts::QueueParams;
use zkrollup_node::node::{run_dev, run_rpc, Config, RpcConfig};

/// The zkrollup operator node.
#[derive(Parser)]
#[command(name = "zkrollup node", version)]
struct Cli {
    /// Dev mode: an in-process L1 (revm with the committed contracts) kept under --data, and
    /// INSECURE development keys made or reused under --data/keys.
    #[arg(long, conflicts_with_all = ["rpc", "rollup", "keys"])]
    dev: bool,
    /// Without --dev: the L1 node's JSON-RPC URL. The sequencer's private key (hex) is read from
    /// the environment variable ZKROLLUP_SEQUENCER_KEY.
    #[arg(long, required_unless_present = "dev", requires_all = ["rollup", "keys"])]
    rpc: Option<String>,
    /// Without --dev: the deployed ZKRollup's address.
    #[arg(long)]
    rollup: Option<String>,
    /// Without --dev: the key folder (`zkrollup setup` or `zkrollup ceremony export`); N, M and
    /// D are its circuit's.
    #[arg(long)]
    keys: Option<PathBuf>,
    /// The genesis state file.
    #[arg(long)]
    genesis: PathBuf,
    /// The node's data folder (store, dev chain, keys).
    #[arg(long)]
    data: PathBuf,
    /// The HTTP address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// N, the L2 slots of a batch (dev mode; otherwise the keys').
    #[arg(long, default_value_t = zkrollup::DEFAULT_BATCH_SIZE)]
    batch_size: usize,
    /// M, the L1 slots of a batch (dev mode; otherwise the keys').
    #[arg(long, default_value_t = zkrollup::DEFAULT_L1_SLOTS)]
    l1_slots: usize,
    /// A batch is sealed this many milliseconds after its oldest operation arrived.
    #[arg(long, default_value_t = 2000)]
    batch_timeout_ms: u64,
    /// Blocks on top of an event or a transaction before the node acts on it (1: its own block).
    #[arg(long, default_value_t = 1)]
    confirmations: u64,
    /// Sealed batches waiting for proof and L1 beyond which submissions are answered 503 until
    /// the prover catches up (0: no bound). Keep it well under the contract's maturity divided by
    /// the proving time, or a batch with a free L1 slot can revert (MatureRequestSkipped).
    #[arg(long, default_value_t = 64)]
    max_backlog: u64,
    /// Submissions a second per client address (429 beyond).
    #[arg(long, default_value_t = 20_000)]
    rate_limit: u32,
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
    let rpc = match (&cli.rpc, &cli.rollup, &cli.keys) {
        (Some(url), Some(rollup), Some(keys)) => {
            let Some(rollup) = zkrollup::files::parse_address(rollup) else {
                eprintln!("error: --rollup: expected 0x and 40 hex digits");
                return ExitCode::from(2);
            };
            let Ok(sequencer_key) = std::env::var("ZKROLLUP_SEQUENCER_KEY") else {
                eprintln!("error: set ZKROLLUP_SEQUENCER_KEY to the sequencer's private key (hex)");
                return ExitCode::from(2);
            };
            Some(RpcConfig { url: url.clone(), rollup: rollup.into(), keys: keys.clone(), sequencer_key })
        }
        _ => None,
    };
    let cfg = Config {
        genesis: cli.genesis,
        data: cli.data,
        listen: cli.listen,
        batch_size: cli.batch_size,
        l1_slots: cli.l1_slots,
        batch_timeout: Duration::from_millis(cli.batch_timeout_ms),
        confirmations: cli.confirmations.max(1),
        queue: QueueParams {
            maturity: cli.maturity,
            exodus_delay: cli.exodus_delay,
            max_open_requests: 1024,
            min_deposit: 1,
        },
        rate_limit: cli.rate_limit,
        l1_poll: Duration::from_millis(50),
        block_time: (cli.block_time_ms > 0).then(|| Duration::from_millis(cli.block_time_ms)),
        rpc,
        max_backlog: cli.max_backlog,
    };
    let run = if cli.dev { run_dev(cfg) } else { run_rpc(cfg) };
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
