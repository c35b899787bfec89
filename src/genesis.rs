//! Generated keys for demos and benchmarks of large states.

use ark_ec::{CurveGroup, PrimeGroup};
use rayon::prelude::*;
use zkrollup_circuits::babyjubjub::PointProjective;
use zkrollup_circuits::eddsa::PublicKey;

/// `count` distinct valid public keys `1·Base8, 2·Base8, ..`, one point addition each; nobody
/// knows their private keys in circomlibjs' form, so they can receive but not send.
pub fn receive_only_keys(count: usize) -> Vec<PublicKey> {
    let g = PointProjective::generator();
    let mut acc = g;
    let mut points = Vec::with_capacity(count);
    for _ in 0..count {
        points.push(acc);
        acc += g;
    }
    // Each key still passes the full check (curve, subgroup, identity), in parallel.
    PointProjective::normalize_batch(&points)
        .into_par_iter()
        .map(|p| PublicKey::from_point(p).expect("k·Base8 with 0 < k < l is a valid key"))
        .collect()
}
