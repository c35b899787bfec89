//! What a supervisor does: `zkrollup node` and `zkrollup worker` started, sent SIGTERM (as
//! `docker stop` does) and SIGKILL, and started again at once on the same data; and a client
//! that holds connections open half-sent (audit F6).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::common::{genesis, key, Node};
use crate::fleet::Fleet;
use zkrollup_fleet::queue::JobStatus;

/// The `zkrollup` program (another crate's binary).
fn zkrollup() -> PathBuf {
    crate::common::workspace_built();
    std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("zkrollup")
}

/// The program a process runs, by the name of its executable.
fn program_of(pid: u32) -> String {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    exe.file_name().unwrap().to_string_lossy().into_owned()
}

/// Send `n` transfers from account 1 to 2 at its pending nonce: their ids.
fn send(node: &Node, n: u64) -> Vec<u64> {
    let (_, a) = node.get("/v1/accounts/1");
    let first: u64 = a["pending_nonce"].as_str().unwrap().parse().unwrap();
    (first..first + n).map(|nonce| node.transfer(&key(1), 1, 2, 1, nonce).expect("accepted")).collect()
}

/// Every acknowledged transfer is still there, and account 1's pending nonce counts them all.
fn nothing_lost(node: &Node, acked: &[u64]) {
    for id in acked {
        let (code, v) = node.get(&format!("/v1/transfers/{id}"));
        assert_eq!(code, 200, "transfer {id} was acknowledged and is gone: {v}");
    }
    let (_, a) = node.get("/v1/accounts/1");
    assert_eq!(a["pending_nonce"], acked.len().to_string(), "{a}");
}

#[test]
fn zkrollup_node_is_the_node_and_survives_sigkill_and_sigterm_with_an_immediate_restart() {
    let dir = tempfile::tempdir().unwrap();
    let g = genesis(dir.path(), 4, 2, 1_000);
    let zk = zkrollup();
    let program = [zk.to_str().unwrap(), "node"];
    let mut node = Node::start_via(&program, &g, &dir.path().join("data"), &["--batch-size", "2", "--l1-slots", "1", "--batch-timeout-ms", "200"]);
    // exec: the process the supervisor started is the node itself, so its signals reach it.
    assert_eq!(program_of(node.pid()), "zkrollup-node");
    let mut acked = send(&node, 5);

    // SIGKILL, and a start at once on the same data: no lock is left held by an orphan.
    node.signal("KILL");
    node.wait_exit(Duration::from_secs(60));
    node.start_again();
    nothing_lost(&node, &acked);
    acked.extend(send(&node, 5));

    // SIGTERM: a graceful stop, exit status 0, in bounded time; a start at once finds it all.
    node.signal("TERM");
    let status = node.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "SIGTERM stops the node cleanly: {status}");
    node.start_again();
    nothing_lost(&node, &acked);
    acked.extend(send(&node, 2));

    // SIGINT likewise.
    node.signal("INT");
    assert!(node.wait_exit(Duration::from_secs(60)).success());
    node.start_again();
    nothing_lost(&node, &acked);
    let s = node.wait_settled(Duration::from_secs(600));
    assert_eq!(s["node_root"], s["l1_root"], "{s}");
    let (_, a) = node.get("/v1/accounts/2");
    assert_eq!(a["balance"], (1_000 + acked.len()).to_string(), "every acknowledged transfer settled once: {a}");
}

#[test]
fn zkrollup_worker_is_the_worker_gives_its_job_back_on_sigterm_and_survives_sigkill() {
    let fleet = Fleet::start();
    let zk = zkrollup();
    let worker = |name: &str, lease_secs: u32| {
        let mut c = Command::new(&zk);
        c.arg("worker");
        fleet.worker_from(c, name, lease_secs)
    };
    // A lease of a minute: the job can come back before that only by the worker's release.
    let mut a = worker("a", 60);
    let traffic = fleet.traffic(4, 300);
    let (batch, lease) = fleet.leased_by("a", Duration::from_secs(600));
    // exec: the process the supervisor started is the worker itself (looked at once it works).
    assert_eq!(program_of(a.pid()), "zkrollup-worker");
    // Stopped where it stands, so that the signal finds it proving (unless it had finished).
    a.pause();
    a.signal("TERM");
    a.resume();
    let status = a.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "SIGTERM stops the worker cleanly: {status}");
    let job = fleet.job(batch);
    match job.status {
        // It had handed the proof in before the signal arrived.
        JobStatus::Proved => assert_eq!(job.worker.as_deref(), Some("a"), "{job:?}"),
        // Given back: queued again at once (not after its lease), the attempt not counted.
        _ => {
            assert_eq!(job.status, JobStatus::Queued, "the stopped worker still holds its lease {lease}: {job:?}");
            assert!(job.errors.iter().any(|e| e.contains("released by a stopping worker")), "{job:?}");
            assert_eq!(job.attempts, 0, "{job:?}");
        }
    }

    // Started again at once; then SIGKILL, with a short lease, and started again at once.
    let mut b = worker("b", 3);
    let (_, _) = fleet.leased_by("b", Duration::from_secs(600));
    b.signal("KILL");
    b.wait_exit(Duration::from_secs(60));
    let _b = worker("b", 3);
    fleet.finish(traffic, 4);
}

#[test]
fn half_sent_requests_cannot_hold_the_api_down() {
    let dir = tempfile::tempdir().unwrap();
    let g = genesis(dir.path(), 4, 2, 1_000);
    let node = Node::start(&g, &dir.path().join("data"), &["--max-connections", "32", "--header-timeout-ms", "1000"]);
    let address = node.url.trim_start_matches("http://").to_string();
    // Four times the connection cap, each sending a request line and one header, and no more.
    let mut held: Vec<TcpStream> = (0..128)
        .map(|_| {
            let mut s = TcpStream::connect(&address).unwrap();
            s.write_all(b"POST /v1/transfers HTTP/1.1\r\nHost: x\r\n").unwrap();
            s
        })
        .collect();
    // A fresh request is answered while they are all still open on the client's side: the
    // server closes the half-sent ones at their deadline, freeing their slots.
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(300))).build().into();
    let answer = agent.get(&format!("{}/healthz", node.url)).call().expect("/healthz answered while 128 half-sent requests are held");
    assert_eq!(answer.status(), 200);
    // And the server closed them: each reads to its end (a 408, or nothing), none waits out
    // the client's 5 minutes.
    for s in &mut held {
        s.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
        let mut rest = Vec::new();
        match s.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("a half-sent request was held open: {e}"),
        }
    }
    // An idle kept-alive connection is closed at the same deadline.
    let mut idle = TcpStream::connect(&address).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
    let mut all = Vec::new();
    idle.read_to_end(&mut all).expect("the idle connection is closed by the server");
    assert!(String::from_utf8_lossy(&all).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&all));
}
