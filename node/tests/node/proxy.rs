//! A fault-injecting JSON-RPC proxy in front of anvil, as the review used (its section 4.4): it
//! forwards every call, and on command refuses the sequencer's raw transactions as an L1 node
//! short of funds would, drops chosen `L1Request` logs from `eth_getLogs` answers as a lagging
//! backend behind a load balancer does, or stops answering at all. It serves any path, so a
//! node can be given a hosted provider's URL shape (`/v3/KEY`).

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// What the proxy does to the traffic now.
#[derive(Default)]
pub struct Faults {
    /// Answer `eth_sendRawTransaction` with "insufficient funds" instead of forwarding it.
    pub refuse_sends: bool,
    /// Drop the log of each of these requests (by queue position) from the next `eth_getLogs`
    /// answer that holds it, once.
    pub drop_request_logs: HashSet<u64>,
    /// Close every connection without an answer (the provider down).
    pub down: bool,
}

/// The proxy; it stops when dropped.
pub struct Proxy {
    pub port: u16,
    pub faults: Arc<Mutex<Faults>>,
    /// Raw transactions forwarded or refused: (forwarded, the raw bytes as hex).
    pub sends: Arc<Mutex<Vec<(bool, String)>>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    /// A proxy to the JSON-RPC server at `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let proxy = Proxy {
            port,
            faults: Arc::default(),
            sends: Arc::default(),
            stop: Arc::default(),
        };
        let (faults, sends, stop, upstream) = (proxy.faults.clone(), proxy.sends.clone(), proxy.stop.clone(), upstream.to_string());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (faults, sends, upstream) = (faults.clone(), sends.clone(), upstream.clone());
                        std::thread::spawn(move || serve(stream, &upstream, &faults, &sends));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        proxy
    }

    /// Its URL with `path` (`/v3/KEY`, say).
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Change the faults.
    pub fn set(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut self.faults.lock().unwrap());
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One connection: HTTP/1.1 requests with a Content-Length body, kept alive.
fn serve(stream: TcpStream, upstream: &str, faults: &Mutex<Faults>, sends: &Mutex<Vec<(bool, String)>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(30))).build().into();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if faults.lock().unwrap().down {
            return;
        }
        let Ok(request) = serde_json::from_slice::<Value>(&body) else { return };
        let method = request["method"].as_str().unwrap_or_default().to_string();
        let answer = if method == "eth_sendRawTransaction" && faults.lock().unwrap().refuse_sends {
            sends.lock().unwrap().push((false, request["params"][0].as_str().unwrap_or_default().to_string()));
            json!({"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32000, "message": "insufficient funds for gas * price + value"}})
        } else {
            if method == "eth_sendRawTransaction" {
                sends.lock().unwrap().push((true, request["params"][0].as_str().unwrap_or_default().to_string()));
            }
            let Ok(mut r) = agent.post(upstream).header("content-type", "application/json").send(&body[..]) else { return };
            let Ok(mut answer) = r.body_mut().read_json::<Value>() else { return };
            if method == "eth_getLogs" {
                drop_logs(&mut answer, &mut faults.lock().unwrap().drop_request_logs);
            }
            answer
        };
        let text = answer.to_string();
        let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", text.len());
        if out.write_all(head.as_bytes()).and_then(|()| out.write_all(text.as_bytes())).is_err() {
            return;
        }
    }
}

/// Remove the logs whose second topic (the request's queue position) is in `drop`, each once.
fn drop_logs(answer: &mut Value, drop: &mut HashSet<u64>) {
    let Some(logs) = answer["result"].as_array_mut() else { return };
    logs.retain(|log| {
        let k = log["topics"][1].as_str().and_then(|t| u64::from_str_radix(t.trim_start_matches("0x").trim_start_matches('0'), 16).ok().or(Some(0)));
        match k {
            Some(k) if drop.remove(&k) => {
                eprintln!("[proxy] eth_getLogs: dropped the log of request {k}");
                false
            }
            _ => true,
        }
    });
}
