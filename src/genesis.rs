//! Generated keys for demos and benchmarks of large states. INSECURE: anyone can spend from
//! them.

use ark_ec::{CurveGroup, PrimeGroup};
use rayon::prelude::*;
use zkrollup_circuits::babyjubjub::PointProjective;
use zkrollup_circuits::eddsa::PublicKey;

/// `count` distinct valid public keys `1·Base8, 2·Base8, ..`, one point addition each.
///
/// INSECURE, for demos and benchmarks only: key `k` has the public discrete log `k`, so anyone
/// can sign for it (EdDSA-Poseidon needs only the scalar, not circomlibjs' private key). They
/// exist because deriving a million circomlibjs keys costs minutes, and a large genesis is only
/// there to make the tree large.
pub fn insecure_public_scalar_keys(count: usize) -> Vec<PublicKey> {
    let g = PointProjective::generator();
    let mut acc = g;
    let mut points = Vec::with_capacity(count);
    for _ in 0..count {
        points.push(acc);
        acc += g;
    }
    // Each key still passes the full check (curve, 8·A != identity), in parallel.
    PointProjective::normalize_batch(&points)
        .into_par_iter()
        .map(|p| PublicKey::from_point(p).expect("k·Base8 with 0 < k < l is a valid key"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::AffineRepr;
    use zkrollup_circuits::babyjubjub::base8;

    #[test]
    fn key_k_is_k_times_base8_so_its_scalar_is_public() {
        let keys = insecure_public_scalar_keys(5);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(k.point(), base8().mul_bigint([i as u64 + 1]).into_affine());
        }
    }
}
