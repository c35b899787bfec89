//! Where a `prove-zkey` proof's time goes: the key's load (checked, then pinned: read, hashed,
//! parsed and grouped into rows in one pass), the rows, the QAP, and each MSM alone (all threads
//! on it), then the whole proof. Run:
//! `cargo run --release --example zkey_breakdown -- KEY.zkey SHA256 W.wtns`.

use std::path::Path;
use std::time::Instant;

use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField, Zero};
use zkrollup::iden3::wtns;
use zkrollup::prover::msm::msm;
use zkrollup::prover::qap::Domain;
use zkrollup::prover::zkey::ZkeyProver;
use zkrollup::Fr;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (key, sha, w) = (&args[1], &args[2], &args[3]);
    let time = |label: &str, t: Instant| println!("{label:<30} {:>8.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let (checked, _) = ZkeyProver::read_file(Path::new(key), None).expect("key");
    time("read key, every point checked", t);
    drop(checked);
    let t = Instant::now();
    let (prover, _) = ZkeyProver::read_file(Path::new(key), Some(sha)).expect("key");
    time("read key, pinned", t);
    let t = Instant::now();
    let witness = wtns::read_file(Path::new(w)).expect("wtns");
    time("read wtns", t);
    let pk = prover.proving_key();
    let n = pk.h_query.len();
    let mut classes = [0usize; 6];
    for x in &witness {
        let b = x.into_bigint().num_bits();
        classes[match b { 0 => 0, 1 => 1, 2..=16 => 2, 17..=32 => 3, 33..=64 => 4, _ => 5 }] += 1;
    }
    println!("witness bit lengths: 0: {}, 1: {}, <=16: {}, <=32: {}, <=64: {}, wider: {}", classes[0], classes[1], classes[2], classes[3], classes[4], classes[5]);
    let t = Instant::now();
    let (a, b) = prover.rows(&witness);
    time("rows A z, B z", t);
    let domain = Domain::new(n).unwrap();
    let t = Instant::now();
    let h = domain.odd_point_scalars(a, b);
    time("QAP (6 FFTs)", t);
    let big = |v: &[Fr]| v.iter().map(|x| x.into_bigint()).collect::<Vec<_>>();
    let (z, hb) = (big(&witness), big(&h));
    let nz = |bases: &[ark_bn254::G1Affine], s: &[Fr]| bases.iter().zip(s).filter(|(p, x)| !p.is_zero() && !x.is_zero()).count();
    println!("useful terms: A {} B1 {} L {} H {}", nz(&pk.a_query, &witness), nz(&pk.b_g1_query, &witness), nz(&pk.l_query, &witness[prover.num_public() + 1..]), h.len());
    let t = Instant::now();
    let _ = std::hint::black_box(msm(&pk.h_query, &hb));
    time("MSM H (G1)", t);
    let t = Instant::now();
    let _ = std::hint::black_box(msm(&pk.a_query, &z));
    time("MSM A (G1)", t);
    let t = Instant::now();
    let _ = std::hint::black_box(msm(&pk.b_g1_query, &z));
    time("MSM B1 (G1)", t);
    let t = Instant::now();
    let _ = std::hint::black_box(msm::<ark_bn254::g2::Config>(&pk.b_g2_query, &z));
    time("MSM B2 (G2)", t);
    let t = Instant::now();
    let _ = std::hint::black_box(msm(&pk.l_query, &z[prover.num_public() + 1..]));
    time("MSM L (G1)", t);
    for _ in 0..3 {
        let t = Instant::now();
        std::hint::black_box(prover.prove(&witness).expect("proof"));
        time("whole proof (verified)", t);
    }
}
