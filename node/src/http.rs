//! The HTTP server under abuse (audit F6): every connection has a deadline for its request's
//! head (which also closes a kept-alive connection left idle), every request a deadline for its
//! handling (its body included), and connections are capped, so a client holding sockets open
//! or sending slowly cannot take the API down; the slots it holds come free at the deadlines.
//!
//! axum's own `serve` sets no hyper timer, so hyper applies no header timeout at all: this
//! accept loop serves the same router through hyper with one.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// The server's limits.
#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    /// From the moment a connection waits for a request until its head (line and headers) is
    /// in: a half-sent request, or a kept-alive connection left idle, is closed after it.
    pub header_timeout: Duration,
    /// From a request's head to its answer, the body included: 408 after it.
    pub request_timeout: Duration,
    /// Connections open at once; beyond it new ones wait in the listen queue.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits { header_timeout: Duration::from_secs(10), request_timeout: Duration::from_secs(30), max_connections: 512 }
    }
}

/// Serve `app` on `listener` until `shutdown` resolves; then stop accepting, let each open
/// connection finish the request it is in, and return when all are closed (the caller bounds
/// how long it waits for that).
pub async fn serve(listener: TcpListener, app: Router, limits: HttpLimits, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Dropped at shutdown: each connection sees its receiver close and shuts down gracefully.
    let (stop_tx, stop_rx) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                // Out of file descriptors, or a connection reset before it was accepted: go on
                // (after a pause, so a full fd table is not spun on).
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let mut stop_rx = stop_rx.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| handle(app.clone(), peer, limits.request_timeout, req));
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(Some(limits.header_timeout)).keep_alive(true);
            let mut conn = pin!(builder.serve_connection(TokioIo::new(stream), service));
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop_rx.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(permit);
        });
    }
    drop(stop_tx);
    drop(listener);
    // Every connection holds a permit until it closes: all of them back means all closed.
    let _ = slots.acquire_many(limits.max_connections.max(1) as u32).await;
    Ok(())
}

/// One request through the router, with the client's address and within the deadline.
async fn handle(mut app: Router, peer: SocketAddr, limit: Duration, mut req: Request<Incoming>) -> Result<Response, Infallible> {
    use tower_service::Service;
    req.extensions_mut().insert(ConnectInfo(peer));
    let req = req.map(axum::body::Body::new);
    match tokio::time::timeout(limit, app.call(req)).await {
        Ok(r) => r,
        Err(_) => Ok((
            StatusCode::REQUEST_TIMEOUT,
            axum::Json(serde_json::json!({"error": format!("the request took longer than {limit:?}"), "rule": "request_timeout"})),
        )
            .into_response()),
    }
}
