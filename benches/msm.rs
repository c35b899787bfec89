//! The MSM alone: zkrollup's (`prover::msm`) against ark-ec's `VariableBaseMSM`, BN254 G1 and G2,
//! at 2^16, 2^18 and 2^20 points, with random scalars and with circuit-like ones (a third zeros,
//! a third ones, the rest 64-bit or full-width values). Run: `cargo bench --bench msm`
//! (`-- G1` or `-- 2^20` to filter).

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::{PrimeField, UniformRand};
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use zkrollup::prover::msm::{msm, BatchInverse};

fn points<G: CurveGroup>(n: usize, rng: &mut StdRng) -> Vec<G::Affine> {
    let seeds: Vec<G> = (0..16).map(|_| G::rand(rng)).collect();
    let mut cur = G::zero();
    let all: Vec<G> = (0..n)
        .map(|i| {
            cur += seeds[i % 16];
            cur
        })
        .collect();
    G::normalize_batch(&all)
}

fn scalars(n: usize, circuit_like: bool, rng: &mut StdRng) -> Vec<<Fr as PrimeField>::BigInt> {
    (0..n)
        .map(|_| {
            let x = if !circuit_like {
                Fr::rand(rng)
            } else {
                match rng.gen_range(0..6) {
                    0 | 1 => Fr::from(0u64),
                    2 | 3 => Fr::from(1u64),
                    4 => Fr::from(rng.gen::<u64>()),
                    _ => Fr::rand(rng),
                }
            };
            x.into_bigint()
        })
        .collect()
}

fn bench_group<G>(c: &mut Criterion, name: &str, logs: &[u32])
where
    G: CurveGroup<ScalarField = Fr, Config: ark_ec::short_weierstrass::SWCurveConfig>
        + VariableBaseMSM<MulBase = G::Affine>,
    G::Config: ark_ec::short_weierstrass::SWCurveConfig<ScalarField = Fr>,
    G::BaseField: BatchInverse,
    G: From<ark_ec::short_weierstrass::Projective<G::Config>>,
    G::Affine: Into<ark_ec::short_weierstrass::Affine<G::Config>> + Copy,
{
    let mut rng = StdRng::seed_from_u64(1);
    let mut group = c.benchmark_group(format!("msm {name}"));
    group.sample_size(10);
    for &log in logs {
        let n = 1usize << log;
        let bases = points::<G>(n, &mut rng);
        let sw: Vec<ark_ec::short_weierstrass::Affine<G::Config>> = bases.iter().map(|b| (*b).into()).collect();
        for kind in ["random", "circuit-like"] {
            let s = scalars(n, kind == "circuit-like", &mut rng);
            let id = format!("2^{log} {kind}");
            group.bench_with_input(BenchmarkId::new("ark-ec", &id), &s, |b, s| b.iter(|| G::msm_bigint(&bases, s)));
            group.bench_with_input(BenchmarkId::new("zkrollup", &id), &s, |b, s| b.iter(|| msm(&sw, s)));
        }
    }
    group.finish();
}

fn g1(c: &mut Criterion) {
    bench_group::<G1Projective>(c, "G1", &[16, 18, 20]);
}

fn g2(c: &mut Criterion) {
    bench_group::<G2Projective>(c, "G2", &[16, 18]);
}

criterion_group!(benches, g1, g2);
criterion_main!(benches);
