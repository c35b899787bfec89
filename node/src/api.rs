//! The HTTP/JSON API (axum). Submissions are parsed and their signatures checked on the
//! request's task; the checks against the pending state and the durable write happen on the
//! ingest thread, which commits every submission waiting at that moment in one transaction
//! (group commit) and only then answers each.

use std::net::SocketAddr;
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use zkrollup::decimal::fr_to_decimal;
use zkrollup::files::FileError;
use zkrollup::state::check_signature;
use zkrollup::{Account, Rule, Transfer};

use crate::l1::dev_chain::SharedDevChain;
use crate::l1_stage::{root_of, L1Seen};
use crate::metrics::Metrics;
use crate::sequencer::{Refusal, Sequencer};
use crate::store::{root_text, Stage, Store};

/// The largest request body accepted: a transfer's canonical entry is about 350 bytes, and every
/// byte a client sends is parsed (the storage and parsing a megabyte body costs is F8's).
pub const BODY_LIMIT: usize = 16 << 10;

/// A submission on its way to the ingest thread, with where to send the answer.
pub type Submission = (Transfer, Value, oneshot::Sender<Result<u64, Refusal>>);

/// What the handlers share.
#[derive(Clone)]
pub struct Api {
    /// The mempool (read for pending accounts and keys).
    pub sequencer: Arc<Mutex<Sequencer>>,
    /// The store.
    pub store: Arc<Store>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The ingest thread's queue.
    pub ingest: SyncSender<Submission>,
    /// What the L1 stage last saw.
    pub l1_seen: Arc<Mutex<L1Seen>>,
    /// The in-process L1, in dev mode.
    pub dev: Option<SharedDevChain>,
    /// The hold on the proving stage, in dev mode (`POST /v1/dev/prover`).
    pub prover_hold: Option<crate::prover::ProverHold>,
    /// Submissions per second allowed per client network.
    pub rate: Arc<crate::rate_limit::RateLimit>,
    /// Signature checks running at once, at most one a core: a flood of submissions cannot take
    /// more CPU than that from the batcher and the prover (audit F7).
    pub signature_checks: Arc<tokio::sync::Semaphore>,
    /// Sealed batches not yet confirmed on L1 beyond which submissions wait (503); 0: no bound.
    pub max_backlog: u64,
    /// With a prover fleet: the key folder the workers fetch (`GET /v1/keys/{sha256}/{file}`).
    pub keys: Option<crate::node::Keys>,
    /// What keeps a stage from making progress.
    pub health: Arc<crate::health::Health>,
    /// The batcher's pace against the contract's maturity.
    pub pace: Arc<crate::pace::Pace>,
}

/// The mempool's lock, from a handler: at once when it is free; otherwise waited for outside the
/// runtime's worker (`block_in_place`), since the ingest thread, the batcher and the watcher
/// hold it across a store commit and its fsync, which must not stall the server (audit F20).
fn lock_sequencer(m: &Mutex<Sequencer>) -> MutexGuard<'_, Sequencer> {
    match m.try_lock() {
        Ok(guard) => guard,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => tokio::task::block_in_place(|| m.lock().unwrap_or_else(|p| p.into_inner())),
    }
}

/// A 4xx or 5xx answer: `{"error": text, "rule": name}`.
pub struct ApiError {
    status: StatusCode,
    rule: String,
    error: String,
}

impl ApiError {
    /// An error with this status, rule name and text.
    pub fn from_parts(status: StatusCode, rule: &str, error: impl ToString) -> ApiError {
        ApiError::new(status, rule, error)
    }

    fn new(status: StatusCode, rule: &str, error: impl ToString) -> ApiError {
        ApiError { status, rule: rule.to_string(), error: error.to_string() }
    }

    fn rule(rule: &Rule) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, rule.name(), rule)
    }

    fn not_found(what: impl ToString) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    fn internal(what: impl ToString) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", what)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": self.error, "rule": self.rule}))).into_response()
    }
}

/// The router.
pub fn router(api: Api) -> Router {
    let mut r = Router::new()
        .route("/v1/transfers", post(submit))
        .route("/v1/transfers/{id}", get(transfer_status))
        .route("/v1/accounts/{index}", get(account))
        .route("/v1/batches/{id}", get(batch_status))
        .route("/v1/status", get(status))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics));
    if api.dev.is_some() {
        r = r
            .route("/v1/dev/deposits", post(crate::dev_api::deposit))
            .route("/v1/dev/withdraw", post(crate::dev_api::withdraw))
            .route("/v1/dev/l1/{address}", get(crate::dev_api::l1_account))
            .route("/v1/dev/chain", get(crate::dev_api::chain).post(crate::dev_api::advance_clock))
            .route("/v1/dev/prover", post(crate::dev_api::prover));
    }
    r.layer(DefaultBodyLimit::max(BODY_LIMIT)).with_state(api)
}

/// The router of `--keys-listen`: the key folder's files for the fleet's workers, on an address
/// of their own (never the public one: audit F14).
pub fn keys_router(api: Api) -> Router {
    Router::new().route("/v1/keys/{sha256}/{file}", get(key_file)).with_state(api)
}

/// A file of the key folder, streamed, for the fleet's workers; only the node's own key's files.
async fn key_file(State(api): State<Api>, Path((sha256, file)): Path<(String, String)>) -> Result<Response, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "no_such_key", format!("no key file {sha256}/{file} here"));
    let keys = api.keys.as_ref().ok_or_else(not_found)?;
    if !keys.sha256.eq_ignore_ascii_case(&sha256)
        || !["circuit.json", "proving_key.bin", "verifying_key.bin", "verification_key.json", "matrices.bin"].contains(&file.as_str())
    {
        return Err(not_found());
    }
    let f = tokio::fs::File::open(keys.dir.join(&file)).await.map_err(|_| not_found())?;
    let len = f.metadata().await.map_err(|_| not_found())?.len();
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::with_capacity(f, 1 << 20));
    Ok(([(axum::http::header::CONTENT_LENGTH, len.to_string())], body).into_response())
}

/// The body, or the error naming why it could not be read (413 beyond the limit).
pub fn body(b: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    b.map_err(|e| {
        let status = e.status();
        let rule = if status == StatusCode::PAYLOAD_TOO_LARGE { "body_too_large" } else { "bad_body" };
        ApiError::new(status, rule, format!("{} (the limit is {BODY_LIMIT} bytes)", e.body_text()))
    })
}

async fn submit(
    State(api): State<Api>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    b: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    if !api.rate.allow(peer.ip()) {
        Metrics::inc(&api.metrics.rejected, "rate_limited");
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many submissions: slow down"));
    }
    // A batch L1 refused stops the pipeline behind it: a transfer accepted now would wait on
    // nothing (F11), so none is until the node moves again.
    if let Some(failed) = api.store.failed_batch().map_err(ApiError::internal)? {
        Metrics::inc(&api.metrics.rejected, "halted");
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "halted",
            format!("batch {failed} was refused by L1 and the pipeline waits behind it (see /readyz)"),
        ));
    }
    if api.pace.held() {
        Metrics::inc(&api.metrics.rejected, "l1_slow");
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "l1_slow", pace_held(&api.pace)));
    }
    if api.max_backlog > 0 {
        let heads = api.store.stage_heads().map_err(ApiError::internal)?;
        let backlog = heads[0] - heads[3];
        if backlog >= api.max_backlog {
            Metrics::inc(&api.metrics.rejected, "backlog");
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "backlog",
                format!("{backlog} sealed batches wait for their proofs and L1: retry later"),
            ));
        }
    }
    let bytes = body(b)?;
    let refuse = |rule: &str, e: &dyn std::fmt::Display| {
        Metrics::inc(&api.metrics.rejected, rule);
        ApiError::new(StatusCode::BAD_REQUEST, rule, e)
    };
    let entry: Value = serde_json::from_slice(&bytes).map_err(|e| refuse("malformed_json", &e))?;
    let transfer = zkrollup::files::parse_transfer(&entry.to_string()).map_err(|e| match &e {
        FileError::Json(_) => refuse("bad_shape", &e),
        _ => refuse("bad_value", &e),
    })?;
    if transfer.is_padding() {
        return Err(refuse("padding", &"from = 0 is padding, not a transfer"));
    }
    // The signature against the sender's key (which never changes once the account exists),
    // here on the request's task, so the ingest thread does only the cheap checks.
    let (sender, domain, capacity) = {
        let seq = lock_sequencer(&api.sequencer);
        (seq.pending_account(transfer.from), seq.domain(), seq.capacity())
    };
    let early = |rule: Rule| {
        Metrics::inc(&api.metrics.rejected, rule.name());
        ApiError::rule(&rule)
    };
    for (party, index) in [(zkrollup::Party::Sender, transfer.from), (zkrollup::Party::Receiver, transfer.to)] {
        if u64::from(index) >= capacity {
            return Err(early(Rule::IndexOutOfRange { party, index, capacity }));
        }
    }
    let sender = sender.ok_or(Rule::NoAccount { party: zkrollup::Party::Sender, index: transfer.from }).map_err(early)?;
    let permit = api.signature_checks.clone().acquire_owned().await.map_err(ApiError::internal)?;
    let checked = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        check_signature(&transfer, &sender, domain)
    })
    .await
    .map_err(ApiError::internal)?;
    checked.map_err(early)?;
    // The canonical entry is stored, never the client's JSON (F8: each value has one spelling).
    let entry = serde_json::to_value(zkrollup::files::transfer_entry(&transfer)).map_err(ApiError::internal)?;
    let (tx, rx) = oneshot::channel();
    api.ingest.try_send((transfer, entry, tx)).map_err(|_| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "the node's ingest queue is full: retry")
    })?;
    match rx.await.map_err(|_| ApiError::internal("the ingest thread stopped"))? {
        Ok(id) => Ok((StatusCode::ACCEPTED, Json(json!({"id": id.to_string()}))).into_response()),
        Err(Refusal::Rule(rule)) => Err(ApiError::rule(&rule)),
        Err(Refusal::Store(e)) => Err(ApiError::internal(e)),
    }
}

fn parse_id(s: &str, what: &str) -> Result<u64, ApiError> {
    s.parse().map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "bad_value", format!("{what}: not a decimal id: {s:?}")))
}

async fn transfer_status(State(api): State<Api>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id, "transfer id")?;
    let t = api.store.transfer(id).map_err(ApiError::internal)?.ok_or_else(|| ApiError::not_found(format!("no transfer {id}")))?;
    let (status, batch) = match t.batch {
        None if t.dropped.is_some() => ("dropped", None),
        None => ("pending", None),
        Some(b) => {
            let batch = api.store.batch(b).map_err(ApiError::internal)?.ok_or_else(|| ApiError::internal("batch missing"))?;
            (batch.status.name(), Some(b))
        }
    };
    Ok(Json(json!({
        "id": id.to_string(),
        "status": status,
        "batch_id": batch.map(|b| b.to_string()),
        "accepted_ms": t.accepted_ms.to_string(),
        "dropped": t.dropped,
        "transfer": t.entry,
    })))
}

async fn batch_status(State(api): State<Api>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id, "batch id")?;
    let b = api.store.batch(id).map_err(ApiError::internal)?.ok_or_else(|| ApiError::not_found(format!("no batch {id}")))?;
    Ok(Json(json!({
        "batch_id": id.to_string(),
        "status": b.status.name(),
        "reason": b.reason,
        "transfers": b.transfers.iter().map(u64::to_string).collect::<Vec<_>>(),
        "requests": b.requests.iter().map(u64::to_string).collect::<Vec<_>>(),
        "old_root": b.old_root,
        "new_root": b.new_root,
        "prove_ms": b.prove_ms,
        "sealed_ms": b.sealed_ms.to_string(),
        "confirmed_ms": b.confirmed_ms.map(|t| t.to_string()),
        "tx": b.tx.as_ref().map(|t| json!({
            "hashes": t.hashes.iter().map(|h| format!("0x{h}")).collect::<Vec<_>>(),
            "nonce": t.nonce,
            "attempts": t.attempts,
            "block": t.block,
            "gas_used": t.gas_used,
        })),
        "failure": b.failure,
    })))
}

fn account_json(a: &Account) -> (Value, String, String) {
    (json!([fr_to_decimal(a.pubkey.x()), fr_to_decimal(a.pubkey.y())]), a.balance.to_string(), a.nonce.to_string())
}

async fn account(State(api): State<Api>, Path(index): Path<String>) -> Result<Json<Value>, ApiError> {
    let index: u32 = index
        .parse()
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "bad_value", format!("account index: not a 32-bit decimal: {index:?}")))?;
    let pending = lock_sequencer(&api.sequencer).pending_account(index);
    let confirmed = api.store.account(Stage::Confirmed, index).map_err(ApiError::internal)?;
    let Some(known) = pending.or(confirmed) else {
        return Err(ApiError::not_found(format!("slot {index} holds no account")));
    };
    let (pubkey, _, _) = account_json(&known);
    let (balance, nonce) = confirmed.map_or(("0".into(), "0".into()), |a| (a.balance.to_string(), a.nonce.to_string()));
    let (pending_balance, pending_nonce) =
        pending.map_or(("0".into(), "0".into()), |a| (a.balance.to_string(), a.nonce.to_string()));
    Ok(Json(json!({
        "index": index.to_string(),
        "pubkey": pubkey,
        "balance": balance,
        "nonce": nonce,
        "pending_balance": pending_balance,
        "pending_nonce": pending_nonce,
        "confirmed": confirmed.is_some(),
    })))
}

/// What keeps the node from making progress, by stage; empty when it moves.
fn blocked(api: &Api) -> Result<serde_json::Map<String, Value>, ApiError> {
    let mut why: serde_json::Map<String, Value> = api.health.blocked().into_iter().map(|(k, v)| (k.to_string(), v.into())).collect();
    if let Some(failed) = api.store.failed_batch().map_err(ApiError::internal)? {
        why.insert("pipeline".into(), format!("batch {failed} was refused by L1").into());
    }
    if let Some(e) = api.l1_seen.lock().unwrap_or_else(|p| p.into_inner()).error.clone() {
        why.insert("l1".into(), e.into());
    }
    if api.pace.held() {
        why.insert("batcher".into(), pace_held(&api.pace).into());
    }
    Ok(why)
}

/// Why the batcher holds back: a batch sealed now would reach L1 too late.
fn pace_held(pace: &crate::pace::Pace) -> String {
    format!(
        "a batch sealed now would reach L1 in about {} s, over half the contract's maturity ({} s): retry later",
        pace.eta_ms() / 1000,
        pace.maturity_s()
    )
}

/// 200 while every stage can make progress; 503 with why not (a load balancer's readiness probe).
async fn readyz(State(api): State<Api>) -> Result<Response, ApiError> {
    let why = blocked(&api)?;
    let status = if why.is_empty() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    Ok((status, Json(json!({"ready": why.is_empty(), "blocked": why}))).into_response())
}

async fn status(State(api): State<Api>) -> Result<Json<Value>, ApiError> {
    let (domain, node_root, waiting, next_request) = {
        let seq = lock_sequencer(&api.sequencer);
        (fr_to_decimal(seq.domain()), root_text(seq.root()), seq.waiting(), seq.next_request())
    };
    let heads = api.store.stage_heads().map_err(ApiError::internal)?;
    let seen = api.l1_seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let failed = api.store.failed_batch().map_err(ApiError::internal)?;
    Ok(Json(json!({
        "domain": domain,
        "node_root": node_root,
        "l1_root": seen.rollup.map(|v| root_text(root_of(v.state_root))),
        "l1_batch_count": seen.rollup.map(|v| v.batch_count.to_string()),
        "l1_head": seen.head.to_string(),
        "l1_error": seen.error,
        "last_sealed": heads[0].to_string(),
        "last_proved": heads[1].to_string(),
        "last_submitted": heads[2].to_string(),
        "last_confirmed": heads[3].to_string(),
        "failed_batch": failed.map(|b| b.to_string()),
        "mempool": waiting,
        "next_l1_request": next_request.to_string(),
        "transfers_accepted": api.store.transfer_count().map_err(ApiError::internal)?.to_string(),
        "prover_held": api.prover_hold.as_ref().is_some_and(|h| h.held()),
        "blocked": blocked(&api)?,
    })))
}

async fn metrics(State(api): State<Api>) -> Result<Response, ApiError> {
    // The stage heads as the store has them now: what the stages last counted could lag a
    // restart or a rewind.
    let heads = api.store.stage_heads().map_err(ApiError::internal)?;
    api.metrics.set_heads(heads, api.store.failed_batch().map_err(ApiError::internal)?);
    Ok(([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], api.metrics.render()).into_response())
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::sync_channel;

    use redb::backends::InMemoryBackend;
    use zkrollup::primitives::batch::Shape;
    use zkrollup::primitives::eddsa::PrivateKey;
    use zkrollup::{Fr, State as L2State};

    use super::*;
    use crate::store::{BatchStatus, StoredBatch};

    /// A batch as L1 refused it.
    fn failed(id: u64) -> StoredBatch {
        StoredBatch {
            id,
            status: BatchStatus::Failed,
            reason: "size".into(),
            transfers: vec![],
            requests: vec![],
            old_root: "0".into(),
            new_root: "0".into(),
            writes: vec![],
            sealed_ms: 0,
            proof: None,
            calldata: None,
            prove_ms: None,
            tx: None,
            confirmed_ms: None,
            failure: Some(format!("submitBatch reverted in block {id}: 0x")),
            payouts: None,
        }
    }

    /// (status, body) of a request to the node at `url`.
    fn call(req: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
        let mut r = req.expect("the server answers");
        let code = r.status().as_u16();
        (code, serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap_or(Value::Null))
    }

    /// Audit F11: once L1 refused a batch, the node stops acknowledging transfers (503
    /// `halted`, before the signature check or the ingest queue), `/readyz` answers 503 with the
    /// pipeline's reason, and the status names the first batch refused, not a later one that
    /// failed behind it.
    #[test]
    fn a_refused_batch_halts_submissions_and_readyz_says_why() {
        let store = Arc::new(Store::open_on(InMemoryBackend::new(), false).unwrap());
        let key = PrivateKey::from_bytes([7; 32]);
        let accounts = vec![(1, Account::new(key.public_key(), 100, 0)), (2, Account::new(key.public_key(), 100, 0))];
        let state = L2State::from_accounts(4, accounts).unwrap();
        let txn = store.begin().unwrap();
        txn.put_accounts(Stage::Sealed, &state.accounts()).unwrap();
        txn.commit().unwrap();
        let shape = Shape { depth: 4, l1_slots: 1, batch_size: 2 };
        let metrics = Arc::new(Metrics::new());
        let health = Arc::new(crate::health::Health::default());
        let (seq, _) = Sequencer::load(store.clone(), metrics.clone(), shape, Fr::from(0u64), state.root()).unwrap();
        // The ingest thread's stand-in: every submission that reaches it gets id 1.
        let (ingest, queue) = sync_channel::<Submission>(8);
        let reached = Arc::new(Mutex::new(0));
        let counted = reached.clone();
        std::thread::spawn(move || {
            for (_, _, reply) in queue {
                *counted.lock().unwrap() += 1;
                let _ = reply.send(Ok(1));
            }
        });
        let api = Api {
            sequencer: Arc::new(Mutex::new(seq)),
            store: store.clone(),
            metrics,
            ingest,
            l1_seen: Arc::new(Mutex::new(L1Seen::default())),
            dev: None,
            prover_hold: None,
            rate: Arc::new(crate::rate_limit::RateLimit::new(1000)),
            signature_checks: Arc::new(tokio::sync::Semaphore::new(1)),
            max_backlog: 0,
            keys: None,
            health: health.clone(),
            pace: Arc::new(crate::pace::Pace::new(3600)),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(crate::http::serve(listener, router(api), crate::http::HttpLimits::default(), std::future::pending()));
        let transfer = |nonce| serde_json::to_value(zkrollup::files::transfer_entry(&Transfer::signed(&key, 1, 2, 1, nonce, Fr::from(0u64)))).unwrap();
        let get = |path: &str| call(ureq::get(&format!("{url}{path}")).config().http_status_as_error(false).build().call());
        let post = |nonce| call(ureq::post(&format!("{url}/v1/transfers")).config().http_status_as_error(false).build().send_json(transfer(nonce)));

        // Moving: ready, and a transfer goes on to the ingest thread.
        let (code, ready) = get("/readyz");
        assert_eq!((code, &ready["ready"]), (200, &json!(true)), "{ready}");
        assert_eq!(post(0), (202, json!({"id": "1"})));
        assert_eq!(*reached.lock().unwrap(), 1);

        // Batch 2's refusal is recorded first, then batch 1's: batch 1, the earlier, is the cause.
        for id in [2, 1] {
            let txn = store.begin().unwrap();
            txn.put_batch(&failed(id)).unwrap();
            txn.commit().unwrap();
        }
        let (code, refused) = post(1);
        assert_eq!((code, refused["rule"].as_str()), (503, Some("halted")), "{refused}");
        assert!(refused["error"].as_str().unwrap().contains("batch 1 "), "{refused}");
        assert_eq!(*reached.lock().unwrap(), 1, "a refused submission never reaches the ingest thread");
        let (code, ready) = get("/readyz");
        assert_eq!(code, 503, "{ready}");
        assert_eq!(ready["blocked"]["pipeline"], json!("batch 1 was refused by L1"), "{ready}");
        let (code, status) = get("/v1/status");
        assert_eq!((code, &status["failed_batch"]), (200, &json!("1")), "{status}");
        assert_eq!(status["blocked"]["pipeline"], ready["blocked"]["pipeline"]);
        let metrics = ureq::get(&format!("{url}/metrics")).call().unwrap().body_mut().read_to_string().unwrap();
        assert!(metrics.lines().any(|l| l.contains("halted") && l.ends_with(" 1")), "{metrics}");

        // Cleared (what a rewind does), the node is ready again; a stage that reports it cannot
        // move makes it unready, with the stage's reason.
        let txn = store.begin().unwrap();
        txn.remove_meta("failed_batch").unwrap();
        txn.commit().unwrap();
        assert_eq!(get("/readyz").0, 200);
        health.block("prover", "the fleet has no live worker");
        let (code, ready) = get("/readyz");
        assert_eq!((code, &ready["blocked"]["prover"]), (503, &json!("the fleet has no live worker")), "{ready}");
        health.clear("prover");
        assert_eq!(get("/readyz").0, 200);
    }
}
