//! Time our MSM of 2^k random points and scalars (default G1, k = 20), median of five runs, to
//! tune the window width and the bucket accumulation.
//! Run: `cargo run --release --example msm_tune -- [g1|g2] [k]`.

use ark_bn254::Fr;
use ark_ec::short_weierstrass::{Projective, SWCurveConfig};
use ark_ec::CurveGroup;
use ark_ff::{PrimeField, UniformRand};
use ark_std::rand::{rngs::StdRng, SeedableRng};
use std::time::Instant;
use zkrollup::prover::msm::{msm, BatchInverse};

fn time<P: SWCurveConfig<ScalarField = Fr>>(log: u32)
where
    P::BaseField: BatchInverse,
{
    let n = 1usize << log;
    let mut rng = StdRng::seed_from_u64(1);
    let seeds: Vec<Projective<P>> = (0..16).map(|_| Projective::<P>::rand(&mut rng)).collect();
    let mut cur = Projective::<P>::default();
    let pts: Vec<Projective<P>> = (0..n).map(|i| { cur += seeds[i % 16]; cur }).collect();
    let bases = Projective::<P>::normalize_batch(&pts);
    let s: Vec<_> = (0..n).map(|_| Fr::rand(&mut rng).into_bigint()).collect();
    let mut ms: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let _ = msm(&bases, &s);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    println!("2^{log} points: median {:.0} ms, fastest {:.0} ms", ms[2], ms[0]);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let group = args.next().unwrap_or_else(|| "g1".into());
    let log: u32 = args.next().map_or(20, |a| a.parse().expect("k: a number"));
    match group.as_str() {
        "g2" => time::<ark_bn254::g2::Config>(log),
        _ => time::<ark_bn254::g1::Config>(log),
    }
}
