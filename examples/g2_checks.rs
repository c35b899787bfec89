//! Time the G2 subgroup checks of `N` points (default 2^16): arkworks' `[6x^2] P == psi(P)`
//! against `zkrollup::subgroup::in_g2` (the 63-bit criterion), each in parallel over every core,
//! as the key readers run them. Median of five.
//!
//! `cargo run --release --example g2_checks -- [N]`

use std::time::Instant;

use ark_bn254::{Fr, G2Affine, G2Projective};
use ark_ec::{CurveGroup, PrimeGroup};
use ark_ff::UniformRand;
use rayon::prelude::*;

fn median(mut f: impl FnMut() -> bool) -> f64 {
    let mut t: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            assert!(f());
            start.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[2]
}

fn main() {
    let n: usize = std::env::args().nth(1).map(|s| s.parse().expect("N")).unwrap_or(1 << 16);
    let mut rng = ark_std::rand::thread_rng();
    let base: Vec<G2Projective> = (0..1024).map(|_| G2Projective::generator() * Fr::rand(&mut rng)).collect();
    let points: Vec<G2Affine> = G2Projective::normalize_batch(&(0..n).map(|i| base[i % 1024] * Fr::from(i as u64 + 1)).collect::<Vec<_>>());
    let ours = median(|| points.par_iter().all(|p| p.is_on_curve() && zkrollup::subgroup::in_g2(p)));
    let ark = median(|| points.par_iter().all(|p| p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve()));
    println!("{n} G2 points, {} threads: arkworks {:.3} s ({:.1} us a point), zkrollup {:.3} s ({:.1} us a point), {:.1}x",
        rayon::current_num_threads(), ark, ark * 1e6 / n as f64, ours, ours * 1e6 / n as f64, ark / ours);
}
