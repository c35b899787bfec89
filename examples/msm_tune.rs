//! Time one G1 MSM of 2^k random points and scalars (default k = 20), to tune the window width.
//! Run: `cargo run --release --example msm_tune -- 20`.

use ark_bn254::{Fr, G1Projective};
use ark_ec::CurveGroup;
use ark_ff::{PrimeField, UniformRand};
use ark_std::rand::{rngs::StdRng, SeedableRng};
use std::time::Instant;
fn main() {
    let log: u32 = std::env::args().nth(1).map_or(20, |a| a.parse().unwrap());
    let n = 1usize << log;
    let mut rng = StdRng::seed_from_u64(1);
    let seeds: Vec<G1Projective> = (0..16).map(|_| G1Projective::rand(&mut rng)).collect();
    let mut cur = G1Projective::default();
    let pts: Vec<G1Projective> = (0..n).map(|i| { cur += seeds[i % 16]; cur }).collect();
    let bases = G1Projective::normalize_batch(&pts);
    let s: Vec<_> = (0..n).map(|_| Fr::rand(&mut rng).into_bigint()).collect();
    for _ in 0..2 {
        let t = Instant::now();
        let _ = zkrollup::prover::msm::msm(&bases, &s);
        println!("2^{log} points: {:?}", t.elapsed());
    }
}
