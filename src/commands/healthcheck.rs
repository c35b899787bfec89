//! `zkrollup healthcheck URL`: a container's health check without curl. One `GET` over plain
//! HTTP/1.1; healthy on a 2xx answer within the timeout. Docker reads exit status 0 as healthy
//! and 1 as unhealthy (2 is reserved), so every failure, a bad URL included, exits 1 with one
//! line saying what it met (the node's `/readyz` body says which stage is blocked).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The most of an answer read: a status line and a short body are all a check needs.
const MAX_ANSWER: u64 = 16 * 1024;

/// A parsed `http://host[:port][/path]`.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    host: String,
    port: u16,
    path: String,
}

fn parse(url: &str) -> Result<Target> {
    let bad = || format!("{url:?}: expected http://HOST[:PORT][/PATH]");
    let rest = url.strip_prefix("http://").with_context(|| format!("{url:?}: only http:// URLs are checked (a container's own port)"))?;
    let (authority, path) = rest.find(['/', '?']).map_or((rest, "/"), |i| rest.split_at(i));
    let path = if path.starts_with('?') { format!("/{path}") } else { path.to_string() };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').with_context(bad)?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host.contains(['@', ' ']) {
        bail!(bad());
    }
    let port = match port {
        Some(p) => p.parse().with_context(|| format!("{url:?}: bad port {p:?}"))?,
        None => 80,
    };
    Ok(Target { host: host.to_string(), port, path })
}

/// Check `url`: Ok(()) on a 2xx answer within `timeout`; otherwise why not, in one line.
pub fn check(url: &str, timeout: Duration) -> Result<()> {
    let t = parse(url)?;
    let deadline = Instant::now() + timeout;
    let left = || deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
    let addrs: Vec<_> = (t.host.as_str(), t.port).to_socket_addrs().with_context(|| format!("cannot resolve {}", t.host))?.collect();
    let mut last = None;
    let mut stream = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, left()) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(format!("{addr}: {e}")),
        }
    }
    let mut stream = stream.with_context(|| format!("cannot connect to {}:{}: {}", t.host, t.port, last.unwrap_or_default()))?;
    stream.set_write_timeout(Some(left()))?;
    let host = if t.host.contains(':') { format!("[{}]", t.host) } else { t.host.clone() };
    let request = format!("GET {} HTTP/1.1\r\nHost: {host}:{}\r\nUser-Agent: zkrollup-healthcheck\r\nConnection: close\r\n\r\n", t.path, t.port);
    stream.write_all(request.as_bytes()).context("sending the request")?;
    // Read until the server closes, the cap, or the deadline: the status line and the body's
    // start are enough.
    let mut answer = Vec::new();
    let mut reader = stream.take(MAX_ANSWER);
    let mut buf = [0u8; 4096];
    loop {
        reader.get_mut().set_read_timeout(Some(left()))?;
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            // A server that keeps the connection open: the head is what counts.
            Err(_) if answer.windows(4).any(|w| w == b"\r\n\r\n") => break,
            Err(e) => bail!("no whole answer from {url} within {} ms: {e}", timeout.as_millis()),
        }
    }
    let text = String::from_utf8_lossy(&answer);
    let status_line = text.lines().next().unwrap_or_default();
    let code: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .filter(|_| status_line.starts_with("HTTP/1."))
        .with_context(|| format!("{url} did not answer HTTP: {:?}", status_line.chars().take(80).collect::<String>()))?;
    if (200..300).contains(&code) {
        return Ok(());
    }
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).trim();
    bail!("{url} answered {code}: {}", body.chars().take(400).collect::<String>().replace('\n', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_to_host_port_and_path() {
        let t = |host: &str, port, path: &str| Target { host: host.into(), port, path: path.into() };
        assert_eq!(parse("http://node:8080/readyz").unwrap(), t("node", 8080, "/readyz"));
        assert_eq!(parse("http://127.0.0.1").unwrap(), t("127.0.0.1", 80, "/"));
        assert_eq!(parse("http://[::1]:9/x?y=1").unwrap(), t("::1", 9, "/x?y=1"));
        assert_eq!(parse("http://h?q").unwrap(), t("h", 80, "/?q"));
        for bad in ["https://node/readyz", "node:8080", "http://", "http://:80/", "http://u@h/", "http://h:99999/", "http://[::1/"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
