//! `zkrollup-worker` (also run as `zkrollup worker`): a stateless prover of the fleet.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use zkrollup_fleet::keys::KeySource;
use zkrollup_fleet::worker::{Worker, WorkerConfig};

/// A prover of the zkrollup fleet: claims proof jobs from PostgreSQL and proves them.
#[derive(Parser)]
#[command(name = "zkrollup worker", version)]
struct Cli {
    /// The queue's PostgreSQL URL (postgres://user@host:port/db), the node's --prover-queue.
    #[arg(long)]
    db: String,
    /// Where proving keys come from: the node (http://host:port) or a shared folder.
    #[arg(long)]
    keys_from: String,
    /// The key cache.
    #[arg(long, default_value = "zkrollup-worker-keys")]
    cache: PathBuf,
    /// Proving threads.
    #[arg(long, default_value_t = std::thread::available_parallelism().map_or(1, |n| n.get()))]
    threads: usize,
    /// This worker's name in the queue (default: host name and process id).
    #[arg(long)]
    name: Option<String>,
    /// Seconds a lease lasts without a heartbeat.
    #[arg(long, default_value_t = 30.0)]
    lease_secs: f64,
    /// Prove only jobs for this proving key (sha256); by default any key the queue names.
    #[arg(long)]
    key_sha256: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "host".into());
    let cfg = WorkerConfig {
        db: cli.db,
        keys_from: KeySource::parse(&cli.keys_from),
        cache: cli.cache,
        name: cli.name.unwrap_or_else(|| format!("{host}-{}", std::process::id())),
        lease: Duration::from_secs_f64(cli.lease_secs.max(0.1)),
        threads: cli.threads,
        key_sha256: cli.key_sha256.map(|k| k.to_ascii_lowercase()),
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut worker = Worker::new(cfg).map_err(anyhow::Error::msg)?;
    eprintln!("zkrollup-worker: started");
    rt.block_on(async {
        let s = stop.clone();
        tokio::spawn(async move {
            stop_signal().await;
            eprintln!("zkrollup-worker: stopping (a job in proof goes back to the queue)");
            s.store(true, Ordering::Relaxed);
        });
        worker.run(stop).await;
    });
    // An abandoned proof may still run on the pool: exit without waiting for it.
    rt.shutdown_background();
    eprintln!("zkrollup-worker: stopped");
    Ok(())
}

/// SIGINT or SIGTERM (what a supervisor or `docker stop` sends).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
