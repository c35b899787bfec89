//! The node's Prometheus metrics (`GET /metrics`, text exposition format).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// A label naming a rule, a reason or a status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Label {
    /// Its value.
    pub name: String,
}

/// `zkrollup_build_info`'s labels: what runs, proving with which key, settling how.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    /// The crate's version.
    pub version: String,
    /// The proving key's sha256 (hex): which circuit and ceremony the node proves for.
    pub key_sha256: String,
    /// `validity` or `optimistic`.
    pub settlement: String,
}

/// Every metric the node keeps.
pub struct Metrics {
    registry: Registry,
    /// Transfers and withdrawals accepted.
    pub accepted: Counter,
    /// Submissions refused, by rule.
    pub rejected: Family<Label, Counter>,
    /// Operations waiting in the mempool.
    pub mempool: Gauge,
    /// Batches sealed, by reason (size or timeout).
    pub sealed: Family<Label, Counter>,
    /// L2 slots filled per sealed batch.
    pub fill: Histogram,
    /// Seconds to prove a batch (proof and its check).
    pub proving_seconds: Histogram,
    /// Batches by stage reached (sealed, proved, submitted, confirmed, failed).
    pub batches: Family<Label, Counter>,
    /// Gas used by confirmed `submitBatch` transactions.
    pub l1_gas: Counter,
    /// Seconds from acceptance to L1 confirmation, per transfer.
    pub confirmation_seconds: Histogram,
    /// Seconds a store commit takes (fsync included).
    pub commit_seconds: Histogram,
    /// L1 requests seen.
    pub l1_requests: Counter,
    /// With a prover fleet: proof jobs by status (queued, leased, proved, failed).
    pub fleet_jobs: Family<Label, Gauge>,
    /// With a prover fleet: workers that finished a job in the last five minutes.
    pub fleet_workers: Gauge,
    /// With a prover fleet: leases that expired (their jobs re-queued or failed).
    pub fleet_lease_expiries: Counter,
    /// With a prover fleet: proofs the node refused (they did not verify).
    pub fleet_refused_proofs: Counter,
    /// With a prover fleet: workers quarantined for a refused proof.
    pub fleet_quarantined_workers: Gauge,
    /// L1 request ranges read again because an `eth_getLogs` answer was not whole.
    pub l1_rescans: Counter,
    /// Reorgs of L1 seen under the blocks the watcher had read.
    pub l1_reorgs: Counter,
    /// Transactions L1 refused, or the node would not sign, by kind (insufficient_funds, fee_cap,
    /// nonce_too_low, underpriced, nonce_taken, would_revert, ...).
    pub l1_refusals: Family<Label, Counter>,
    /// With a prover fleet: jobs that ran out of attempts (each queued again after a back-off).
    pub fleet_failed_jobs: Counter,
    /// With a prover fleet: jobs whose witness someone else wrote (replaced by the node's).
    pub fleet_foreign_witnesses: Counter,
    /// With a prover fleet: seconds a worker took to prove a job, by worker.
    pub fleet_prove_seconds: Family<Label, Histogram>,
    /// With a prover fleet: jobs waiting for a worker.
    pub fleet_queue_depth: Gauge,
    /// With a prover fleet: leases each proved job took (1 when its first worker proved it).
    pub fleet_attempts: Histogram,
    /// Always 1, labelled with the version, the proving key's sha256 and the settlement.
    pub build_info: Family<BuildLabels, Gauge>,
    /// The last batch id each stage reached (sealed, proved, submitted, confirmed), read from the
    /// store when scraped.
    pub batch_head: Family<Label, Gauge>,
    /// The batch L1 refused, the pipeline waiting behind it until the rewind (0: none).
    pub failed_batch: Gauge,
    /// L1's head block, as the L1 stage last read it.
    pub l1_head: Gauge,
    /// The L1 head's timestamp (Unix seconds): L1 stalls when it falls behind the clock.
    pub l1_head_timestamp: Gauge,
    /// When the L1 stage last read L1 whole (Unix seconds): the node cannot reach L1 when it
    /// falls behind the clock.
    pub l1_last_read: Gauge,
    /// Requests queued on L1 that no batch has consumed yet.
    pub l1_requests_waiting: Gauge,
    /// Seconds (by L1's clock) the oldest request no batch has consumed has waited (0: none).
    pub l1_oldest_request_age: Gauge,
    /// The contract's `maturity`, seconds.
    pub l1_maturity: Gauge,
    /// The contract's `exodusDelay`, seconds: past it, the oldest request lets anyone end the rollup.
    pub l1_exodus_delay: Gauge,
}

impl Metrics {
    /// A fresh set, registered under the `zkrollup_` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("zkrollup");
        let m = Metrics {
            accepted: Counter::default(),
            rejected: Family::default(),
            mempool: Gauge::default(),
            sealed: Family::default(),
            fill: Histogram::new([0.0, 0.25, 0.5, 0.75, 0.99, 1.0]),
            proving_seconds: Histogram::new(exponential_buckets(0.05, 2.0, 12)),
            batches: Family::default(),
            l1_gas: Counter::default(),
            confirmation_seconds: Histogram::new(exponential_buckets(0.1, 2.0, 14)),
            commit_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            l1_requests: Counter::default(),
            fleet_jobs: Family::default(),
            fleet_workers: Gauge::default(),
            fleet_lease_expiries: Counter::default(),
            fleet_refused_proofs: Counter::default(),
            fleet_quarantined_workers: Gauge::default(),
            fleet_failed_jobs: Counter::default(),
            l1_refusals: Family::default(),
            l1_rescans: Counter::default(),
            l1_reorgs: Counter::default(),
            fleet_foreign_witnesses: Counter::default(),
            fleet_prove_seconds: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.05, 2.0, 12))),
            fleet_queue_depth: Gauge::default(),
            fleet_attempts: Histogram::new([1.0, 2.0, 3.0, 4.0, 5.0]),
            build_info: Family::default(),
            batch_head: Family::default(),
            failed_batch: Gauge::default(),
            l1_head: Gauge::default(),
            l1_head_timestamp: Gauge::default(),
            l1_last_read: Gauge::default(),
            l1_requests_waiting: Gauge::default(),
            l1_oldest_request_age: Gauge::default(),
            l1_maturity: Gauge::default(),
            l1_exodus_delay: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register("transfers_accepted", "Transfers and withdrawals accepted", m.accepted.clone());
        registry.register("transfers_rejected", "Submissions refused, by rule", m.rejected.clone());
        registry.register("mempool_size", "Operations waiting in the mempool", m.mempool.clone());
        registry.register("batches_sealed", "Batches sealed, by reason", m.sealed.clone());
        registry.register("batch_fill_ratio", "Share of L2 slots filled per sealed batch", m.fill.clone());
        registry.register("proving_seconds", "Seconds to prove and check a batch", m.proving_seconds.clone());
        registry.register("batch_jobs", "Batches by stage reached", m.batches.clone());
        registry.register("l1_gas_used", "Gas used by confirmed submitBatch transactions", m.l1_gas.clone());
        registry.register(
            "confirmation_seconds",
            "Seconds from acceptance to L1 confirmation, per transfer",
            m.confirmation_seconds.clone(),
        );
        registry.register("store_commit_seconds", "Seconds a store commit takes", m.commit_seconds.clone());
        registry.register("l1_requests_seen", "L1 requests seen", m.l1_requests.clone());
        registry.register("fleet_jobs", "Proof jobs in the fleet's queue, by status", m.fleet_jobs.clone());
        registry.register("fleet_workers_seen", "Workers that finished a job in the last five minutes", m.fleet_workers.clone());
        registry.register("fleet_lease_expiries", "Leases that expired", m.fleet_lease_expiries.clone());
        registry.register("fleet_refused_proofs", "Proofs from workers that did not verify", m.fleet_refused_proofs.clone());
        registry.register("fleet_quarantined_workers", "Workers quarantined for a proof that did not verify", m.fleet_quarantined_workers.clone());
        registry.register("l1_rescans", "L1 request ranges read again because eth_getLogs left requests out", m.l1_rescans.clone());
        registry.register("l1_reorgs", "Reorgs of L1 under blocks whose requests the node had read", m.l1_reorgs.clone());
        registry.register("l1_refusals", "Transactions L1 refused or the node would not sign, by kind", m.l1_refusals.clone());
        registry.register("fleet_failed_jobs", "Proof jobs that ran out of attempts (queued again after a back-off)", m.fleet_failed_jobs.clone());
        registry.register("fleet_foreign_witnesses", "Proof jobs whose witness another party wrote (replaced)", m.fleet_foreign_witnesses.clone());
        registry.register("fleet_prove_seconds", "Seconds a worker took to prove a job, by worker", m.fleet_prove_seconds.clone());
        registry.register("fleet_queue_depth", "Proof jobs waiting for a worker", m.fleet_queue_depth.clone());
        registry.register("fleet_attempts", "Leases a proved job took", m.fleet_attempts.clone());
        registry.register("build_info", "Always 1: the version, the proving key's sha256 and the settlement", m.build_info.clone());
        registry.register("batch_head", "The last batch id each stage reached", m.batch_head.clone());
        registry.register("failed_batch", "The batch L1 refused, waiting for the rewind (0: none)", m.failed_batch.clone());
        registry.register("l1_head", "L1's head block as last read", m.l1_head.clone());
        registry.register("l1_head_timestamp_seconds", "The L1 head's timestamp", m.l1_head_timestamp.clone());
        registry.register("l1_last_read_timestamp_seconds", "When the node last read L1 whole", m.l1_last_read.clone());
        registry.register("l1_requests_waiting", "L1 requests no batch has consumed yet", m.l1_requests_waiting.clone());
        registry.register(
            "l1_oldest_request_age_seconds",
            "Seconds, by L1's clock, the oldest unconsumed L1 request has waited",
            m.l1_oldest_request_age.clone(),
        );
        registry.register("l1_maturity_seconds", "The contract's maturity", m.l1_maturity.clone());
        registry.register("l1_exodus_delay_seconds", "The contract's exodus delay", m.l1_exodus_delay.clone());
        Metrics { registry, ..m }
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }

    /// Set the build info series (once, at start).
    pub fn set_build_info(&self, key_sha256: &str, optimistic: bool) {
        let labels = BuildLabels {
            version: env!("CARGO_PKG_VERSION").to_string(),
            key_sha256: key_sha256.to_string(),
            settlement: if optimistic { "optimistic" } else { "validity" }.to_string(),
        };
        self.build_info.get_or_create(&labels).set(1);
    }

    /// Set the stage heads and the failed batch from the store's (at scrape time).
    pub fn set_heads(&self, heads: [u64; 4], failed: Option<u64>) {
        for (stage, id) in ["sealed", "proved", "submitted", "confirmed"].iter().zip(heads) {
            self.batch_head.get_or_create(&Label { name: stage.to_string() }).set(id as i64);
        }
        self.failed_batch.set(failed.unwrap_or(0) as i64);
    }

    /// Count one under a label.
    pub fn inc(family: &Family<Label, Counter>, name: &str) {
        family.get_or_create(&Label { name: name.to_string() }).inc();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
