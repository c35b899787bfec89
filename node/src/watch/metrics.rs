//! The watcher's Prometheus metrics, served with its status on `--listen` (`GET /metrics`,
//! `GET /v1/status`).

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::metrics::{Label, Metrics};

/// Every metric the watcher keeps.
pub struct WatchMetrics {
    registry: Registry,
    /// Batches re-applied (each time one is read, a re-post included).
    pub checked: Counter,
    /// Batches the model refused, by rule.
    pub refused: Family<Label, Counter>,
    /// Batches whose data could not be read.
    pub unreadable: Counter,
    /// Challenges this watcher opened.
    pub challenges_opened: Counter,
    /// Challenges this watcher won (the batch reverted).
    pub challenges_won: Counter,
    /// Challenged batches this watcher proved.
    pub defences: Counter,
    /// Challenge bonds this watcher reclaimed.
    pub bonds_reclaimed: Counter,
    /// Transactions L1 refused or would revert, by kind.
    pub l1_refusals: Family<Label, Counter>,
    /// L1 calls that failed (retried).
    pub l1_errors: Counter,
    /// Reorgs under the cursor (everything read again).
    pub l1_reorgs: Counter,
    /// The last L1 block read.
    pub cursor: Gauge,
    /// The last batch final on L1.
    pub finalized: Gauge,
    /// The status `/v1/status` answers.
    pub status: Mutex<serde_json::Value>,
}

impl WatchMetrics {
    /// A fresh set under the `zkrollup_watch_` prefix.
    pub fn new() -> WatchMetrics {
        let mut registry = Registry::with_prefix("zkrollup_watch");
        let m = WatchMetrics {
            registry: Registry::default(),
            checked: Counter::default(),
            refused: Family::default(),
            unreadable: Counter::default(),
            challenges_opened: Counter::default(),
            challenges_won: Counter::default(),
            defences: Counter::default(),
            bonds_reclaimed: Counter::default(),
            l1_refusals: Family::default(),
            l1_errors: Counter::default(),
            l1_reorgs: Counter::default(),
            cursor: Gauge::default(),
            finalized: Gauge::default(),
            status: Mutex::new(serde_json::json!({})),
        };
        registry.register("batches_checked", "Batches re-applied by the model", m.checked.clone());
        registry.register("batches_refused", "Batches the model refused, by rule", m.refused.clone());
        registry.register("batches_unreadable", "Batches whose data could not be read", m.unreadable.clone());
        registry.register("challenges_opened", "Challenges this watcher opened", m.challenges_opened.clone());
        registry.register("challenges_won", "Challenges this watcher won", m.challenges_won.clone());
        registry.register("defences", "Challenged batches this watcher proved", m.defences.clone());
        registry.register("bonds_reclaimed", "Challenge bonds this watcher reclaimed", m.bonds_reclaimed.clone());
        registry.register("l1_refusals", "Transactions L1 refused or that would revert, by kind", m.l1_refusals.clone());
        registry.register("l1_errors", "L1 calls that failed and were retried", m.l1_errors.clone());
        registry.register("l1_reorgs", "Reorgs under the blocks read", m.l1_reorgs.clone());
        registry.register("cursor_block", "The last L1 block read", m.cursor.clone());
        registry.register("finalized_batch", "The last batch final on L1", m.finalized.clone());
        WatchMetrics { registry, ..m }
    }

    /// Count one under a label.
    pub fn inc(family: &Family<Label, Counter>, name: &str) {
        Metrics::inc(family, name);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }
}

impl Default for WatchMetrics {
    fn default() -> Self {
        WatchMetrics::new()
    }
}

/// The watcher's HTTP routes.
pub fn router(m: Arc<WatchMetrics>) -> Router {
    Router::new().route("/metrics", get(metrics)).route("/v1/status", get(status)).with_state(m)
}

async fn metrics(State(m): State<Arc<WatchMetrics>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], m.render())
}

async fn status(State(m): State<Arc<WatchMetrics>>) -> Json<serde_json::Value> {
    Json(m.status.lock().map(|s| s.clone()).unwrap_or_default())
}
