//! Time the QAP quotient on random rows of 2^k points (default k = 20), to tune the transforms.
//! Run: `cargo run --release --example qap_tune -- 20`.

use std::time::{Duration, Instant};

use ark_bn254::Fr;
use ark_ff::UniformRand;
use ark_std::rand::{rngs::StdRng, SeedableRng};
use zkrollup::prover::qap::Domain;

fn main() {
    let log: u32 = std::env::args().nth(1).map_or(20, |a| a.parse().expect("k"));
    let n = 1usize << log;
    let mut rng = StdRng::seed_from_u64(1);
    let a: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
    let b: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
    let domain = Domain::new(n).expect("a power-of-two domain");
    let mut times: Vec<Duration> = (0..7)
        .map(|_| {
            let (a, b) = (a.clone(), b.clone());
            let t = Instant::now();
            let h = domain.quotient(a, b);
            let e = t.elapsed();
            assert_eq!(h.len(), n);
            e
        })
        .collect();
    times.sort();
    println!("2^{log} quotient: median {:?} (min {:?})", times[3], times[0]);
}
