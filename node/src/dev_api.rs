//! Dev-mode endpoints over the in-process L1, for scripts and tests without an Ethereum client:
//! queue a DepositNew, Deposit or FullExit as an L1 user would, pull a payout, read an L1
//! address's balances, hold the proving stage back.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use revm::primitives::{Address, U256};
use serde::Deserialize;
use serde_json::{json, Value};
use zkrollup::decimal::{parse_fr, parse_u64};
use zkrollup::export::calldata::{deposit_calldata, deposit_new_calldata, request_full_exit_calldata, withdraw_pending_calldata};

use crate::api::{body, Api, ApiError};

/// `POST /v1/dev/deposits`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "snake_case")]
enum DevRequest {
    /// A new account: key, owner (the L1 address credited its exits), amount in gwei.
    DepositNew { pubkey: [String; 2], owner: String, amount: String },
    /// A deposit to an account.
    Deposit { index: u32, amount: String },
    /// A full exit, sent by the account's owner.
    FullExit { index: u32, owner: String },
}

/// `POST /v1/dev/prover`: hold the proving stage or let it go on.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProverControl {
    hold: bool,
}

/// `POST /v1/dev/chain`: move the chain's clock ahead.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockControl {
    advance_s: u64,
}

/// `POST /v1/dev/withdraw`: the owner pulls `amount_wei` of its pending balance to `to`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Withdraw {
    owner: String,
    to: String,
    amount_wei: String,
}

fn bad(what: impl ToString) -> ApiError {
    ApiError::from_parts(StatusCode::BAD_REQUEST, "bad_value", what)
}

fn address(s: &str, field: &str) -> Result<Address, ApiError> {
    zkrollup::files::parse_address(s).map(Address::from).ok_or_else(|| bad(format!("{field}: expected 0x and 40 hex digits")))
}

fn gwei_to_wei(gwei: u64) -> U256 {
    U256::from(gwei) * U256::from(1_000_000_000u64)
}

/// Queue an L1 request on the dev chain; its queue position and transaction.
pub async fn deposit(State(api): State<Api>, b: Result<Bytes, BytesRejection>) -> Result<Json<Value>, ApiError> {
    let bytes = body(b)?;
    let req: DevRequest = serde_json::from_slice(&bytes).map_err(|e| bad(format!("malformed request: {e}")))?;
    let dev = api.dev.clone().ok_or_else(|| ApiError::from_parts(StatusCode::NOT_FOUND, "not_found", "dev mode only"))?;
    let (from, data, value) = match req {
        DevRequest::DepositNew { pubkey, owner, amount } => {
            let x = parse_fr(&pubkey[0]).map_err(|e| bad(format!("pubkey[0]: {e}")))?;
            let y = parse_fr(&pubkey[1]).map_err(|e| bad(format!("pubkey[1]: {e}")))?;
            let owner = address(&owner, "owner")?;
            let amount = parse_u64(&amount).map_err(|e| bad(format!("amount: {e}")))?;
            (owner, deposit_new_calldata(x, y, &owner.0 .0), gwei_to_wei(amount))
        }
        DevRequest::Deposit { index, amount } => {
            let amount = parse_u64(&amount).map_err(|e| bad(format!("amount: {e}")))?;
            (Address::with_last_byte(0xde), deposit_calldata(index), gwei_to_wei(amount))
        }
        DevRequest::FullExit { index, owner } => (address(&owner, "owner")?, request_full_exit_calldata(index), U256::ZERO),
    };
    let sent = tokio::task::spawn_blocking(move || {
        dev.with(move |chain| {
            let to = chain.rollup_address();
            let sent = chain.send(from, to, data, value)?;
            let k = chain
                .l1_requests(sent.receipt.block, sent.receipt.block)
                .first()
                .map(|r| (r.k, zkrollup::Request::from_record(&r.record).map_or(0, |q| q.index)));
            Ok::<_, crate::l1::L1Error>((sent, k))
        })
    })
    .await
    .map_err(|e| ApiError::from_parts(StatusCode::INTERNAL_SERVER_ERROR, "internal", e))?
    .map_err(|e| ApiError::from_parts(StatusCode::INTERNAL_SERVER_ERROR, "l1", e))?;
    let (sent, k) = sent;
    if !sent.receipt.success {
        return Err(ApiError::from_parts(
            StatusCode::UNPROCESSABLE_ENTITY,
            "l1_revert",
            format!("the rollup refused the request: revert data 0x{}", hex::encode(&sent.receipt.revert)),
        ));
    }
    // The request's queue position, from the event the call logged.
    let (k, index) = k.ok_or_else(|| ApiError::from_parts(StatusCode::INTERNAL_SERVER_ERROR, "l1", "no L1Request logged"))?;
    Ok(Json(json!({
        "k": k.to_string(),
        "index": index.to_string(),
        "tx": format!("0x{}", hex::encode(sent.hash)),
        "block": sent.receipt.block.to_string(),
    })))
}

/// The owner pulls part of its pending balance.
pub async fn withdraw(State(api): State<Api>, b: Result<Bytes, BytesRejection>) -> Result<Json<Value>, ApiError> {
    let bytes = body(b)?;
    let w: Withdraw = serde_json::from_slice(&bytes).map_err(|e| bad(format!("malformed request: {e}")))?;
    let owner = address(&w.owner, "owner")?;
    let to = address(&w.to, "to")?;
    let amount: u128 = w.amount_wei.parse().map_err(|_| bad("amount_wei: not a decimal below 2^128"))?;
    let dev = api.dev.clone().ok_or_else(|| ApiError::from_parts(StatusCode::NOT_FOUND, "not_found", "dev mode only"))?;
    let sent = tokio::task::spawn_blocking(move || {
        dev.with(move |chain| {
            let rollup = chain.rollup_address();
            chain.send(owner, rollup, withdraw_pending_calldata(&to.0 .0, amount), U256::ZERO)
        })
    })
    .await
    .map_err(|e| ApiError::from_parts(StatusCode::INTERNAL_SERVER_ERROR, "internal", e))?
    .map_err(|e| ApiError::from_parts(StatusCode::INTERNAL_SERVER_ERROR, "l1", e))?;
    if !sent.receipt.success {
        return Err(ApiError::from_parts(
            StatusCode::UNPROCESSABLE_ENTITY,
            "l1_revert",
            format!("withdrawPending reverted: 0x{}", hex::encode(&sent.receipt.revert)),
        ));
    }
    Ok(Json(json!({"tx": format!("0x{}", hex::encode(sent.hash))})))
}

/// An L1 address's ETH balance and its pending payout in the rollup, in wei.
pub async fn l1_account(State(api): State<Api>, Path(a): Path<String>) -> Result<Json<Value>, ApiError> {
    let who = address(&a, "address")?;
    let dev = api.dev.clone().ok_or_else(|| ApiError::from_parts(StatusCode::NOT_FOUND, "not_found", "dev mode only"))?;
    let (eth, pending) = tokio::task::spawn_blocking(move || dev.with(move |c| (c.balance(who), c.pending_balance(who))))
        .await
        .map_err(|e| ApiError::from_parts(StatusCode::INTERNAL_SERVER_ERROR, "internal", e))?;
    let pending = pending.map_err(|e| ApiError::from_parts(StatusCode::INTERNAL_SERVER_ERROR, "l1", e))?;
    Ok(Json(json!({"eth_balance": eth.to_string(), "pending_balance": pending.to_string()})))
}

/// The dev chain's head, its time and the sequencer's transactions (sent, reverted: a batch
/// sent twice would show as a second transaction; on an `OptimisticRollup` the bond's deposit
/// is the first), and on an `OptimisticRollup` the batches final so far.
pub async fn chain(State(api): State<Api>) -> Result<Json<Value>, ApiError> {
    let dev = api.dev.clone().ok_or_else(|| ApiError::from_parts(StatusCode::NOT_FOUND, "not_found", "dev mode only"))?;
    let (head, (sent, reverted), finalized) =
        tokio::task::spawn_blocking(move || dev.with(|c| (c.head(), c.sequencer_txs, c.view_u256("finalized()", &[]).ok())))
            .await
            .map_err(|e| ApiError::from_parts(StatusCode::INTERNAL_SERVER_ERROR, "internal", e))?;
    Ok(Json(json!({
        "head": head.number.to_string(),
        "time": head.timestamp.to_string(),
        "sequencer_txs": sent.to_string(),
        "sequencer_reverts": reverted.to_string(),
        "finalized": finalized.map(|f| f.to_string()),
    })))
}

/// Move the dev chain's clock ahead (`{"advance_s": N}`) and mine a block at the new time, so
/// that the contract's maturity, exodus delay or windows pass without waiting: its head and time.
pub async fn advance_clock(State(api): State<Api>, b: Result<Bytes, BytesRejection>) -> Result<Json<Value>, ApiError> {
    let bytes = body(b)?;
    let c: ClockControl = serde_json::from_slice(&bytes).map_err(|e| bad(format!("malformed request: {e}")))?;
    let dev = api.dev.clone().ok_or_else(|| ApiError::from_parts(StatusCode::NOT_FOUND, "not_found", "dev mode only"))?;
    let moved = tokio::task::spawn_blocking(move || dev.with(move |chain| chain.advance(c.advance_s).map(|t| (chain.head().number, t))))
        .await
        .map_err(|e| ApiError::from_parts(StatusCode::INTERNAL_SERVER_ERROR, "internal", e))?;
    let (head, time) = moved.map_err(|e| ApiError::from_parts(StatusCode::INTERNAL_SERVER_ERROR, "l1", e))?;
    Ok(Json(json!({"head": head.to_string(), "time": time.to_string()})))
}

/// Hold the proving stage (`{"hold": true}`: no proof is started until `{"hold": false}`; one
/// under way finishes), so that sealed batches wait for proof on purpose.
pub async fn prover(State(api): State<Api>, b: Result<Bytes, BytesRejection>) -> Result<Json<Value>, ApiError> {
    let bytes = body(b)?;
    let c: ProverControl = serde_json::from_slice(&bytes).map_err(|e| bad(format!("malformed request: {e}")))?;
    let hold = api.prover_hold.as_ref().ok_or_else(|| ApiError::from_parts(StatusCode::NOT_FOUND, "not_found", "dev mode only"))?;
    hold.set(c.hold);
    Ok(Json(json!({"held": hold.held()})))
}
