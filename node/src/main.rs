//! `zkrollup-node` (also run as `zkrollup node`): the operator node.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use zkrollup_node::contracts::QueueParams;
use zkrollup_node::node::{run_dev, DevConfig};

/// The zkrollup operator node.
#[derive(Parser)]
#[command(name = "zkrollup node", version)]
struct Cli {
    /// Dev mode: an in-process L1 (revm with the committed contracts) kept under --data, and
    /// INSECURE development keys made or reused under --data/keys.
    #[arg(long)]
    dev: bool,
    /// The genesis state file.
    #[arg(long)]
    genesis: PathBuf,
    /// The node's data folder (store, dev chain, keys).
    #[arg(long)]
    data: PathBuf,
    /// The HTTP address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// N, the L2 slots of a batch.
    #[arg(long, default_value_t = zkrollup::DEFAULT_BATCH_SIZE)]
    batch_size: usize,
    /// M, the L1 slots of a batch.
    #[arg(long, default_value_t = zkrollup::DEFAULT_L1_SLOTS)]
    l1_slots: usize,
    /// A batch is sealed this many milliseconds after its oldest operation arrived.
    #[arg(long, default_value_t = 2000)]
    batch_timeout_ms: u64,
    /// Blocks on top of an event or a transaction before the node acts on it (1: its own block).
    #[arg(long, default_value_t = 1)]
    confirmations: u64,
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
    if !cli.dev {
        eprintln!("error: only --dev is available so far (a JSON-RPC L1 with --rpc comes next)");
        return ExitCode::from(2);
    }
    let cfg = DevConfig {
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
    };
    match run_dev(cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
