//! A fleet on several hosts: the node and PostgreSQL on this machine, workers in network
//! namespaces of their own on a test network ([`Lan`]), reaching both over it (the proving key
//! too comes from the node over the network).

use std::time::Duration;

use zkrollup_fleet::queue::JobStatus;

use crate::fleet::Fleet;
use crate::lan::Lan;

/// Only a fleet that is stuck takes this long.
const LONG: Duration = Duration::from_secs(600);

/// Three workers on three hosts prove a stream of batches to the end, each its share.
#[test]
fn three_workers_on_three_hosts_prove_a_stream_of_batches() {
    let lan = Lan::new(3);
    let fleet = Fleet::start_on(Some(&lan));
    let workers: Vec<_> = (0..3).map(|i| fleet.worker_on(&lan, i, &format!("host{i}"), 10)).collect();
    let traffic = fleet.traffic(10, 300);
    // Each proves a share: in turn alone for a batch (the others paused), then all together.
    for (i, w) in workers.iter().enumerate() {
        let others: Vec<_> = workers.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, o)| o).collect();
        fleet.prove_alone(w, &others);
    }
    let last = fleet.finish(traffic, 20);
    for w in &workers {
        let name = &w.name;
        assert!((1..=last).any(|b| fleet.job(b).worker.as_deref() == Some(name.as_str())), "{name} proved nothing");
        let cached = std::fs::read_dir(fleet.dir.path().join(format!("cache-{name}"))).unwrap().count();
        assert_eq!(cached, 1, "{name} fetched the key over the network into its cache");
    }
    assert!(fleet.node.metrics().contains("zkrollup_fleet_workers_seen 3"), "{}", fleet.node.metrics());
}

/// A worker whose cable is pulled while it proves, and plugged back after its lease expired:
/// the job goes to the other worker, the cut-off one's result is dropped or refused, and once
/// back it proves again.
#[test]
fn a_worker_cut_off_mid_proof_loses_its_job_and_proves_again_once_back() {
    let lan = Lan::new(2);
    let fleet = Fleet::start_on(Some(&lan));
    // "cut" alone at first, so that every job is its.
    let cut = fleet.worker_on(&lan, 0, "cut", 3);
    let traffic = fleet.traffic(12, 400);
    // Pull the cable while "cut" holds a lease; if its proof got in first, plug back and wait
    // for its next lease.
    let batch = loop {
        let (batch, _) = fleet.leased_by("cut", LONG);
        lan.plug(0, false);
        std::thread::sleep(Duration::from_millis(200));
        let job = fleet.job(batch);
        if job.status == JobStatus::Leased && job.worker.as_deref() == Some("cut") {
            break batch;
        }
        lan.plug(0, true);
    };
    // The lease expires and the steady worker proves the job.
    let steady = fleet.worker_on(&lan, 1, "steady", 3);
    let start = std::time::Instant::now();
    while fleet.job(batch).status != JobStatus::Proved {
        assert!(start.elapsed() < LONG, "job {batch} was not proved while its worker was cut off: {:?}", fleet.job(batch));
        std::thread::sleep(Duration::from_millis(50));
    }
    lan.plug(0, true);
    // Back, the worker proves a later batch (alone while it does).
    assert!(fleet.prove_alone(&cut, &[&steady]) > batch);
    fleet.finish(traffic, 24);
    let job = fleet.job(batch);
    assert_eq!((job.status, job.worker.as_deref()), (JobStatus::Proved, Some("steady")), "{job:?}");
    assert!(job.attempts >= 2 && job.errors.iter().any(|e| e.contains("lease of cut expired")), "{job:?}");
}
