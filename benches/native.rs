//! The native model's hot paths: Poseidon, signature verification, tree updates, bulk builds.
//! Run: `cargo bench --bench native`.

use ark_ff::UniformRand;
use ark_std::rand::Rng;
use ark_std::test_rng;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use zkrollup::genesis::insecure_public_scalar_keys;
use zkrollup::primitives::eddsa::PrivateKey;
use zkrollup::primitives::poseidon::Poseidon;
use zkrollup::{Account, Fr, State, StateTree};

fn poseidon(c: &mut Criterion) {
    let mut rng = test_rng();
    for n in [2usize, 4] {
        let p = Poseidon::for_inputs(n).unwrap();
        let x: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        c.bench_function(&format!("poseidon/{n}_inputs"), |b| b.iter(|| p.hash(std::hint::black_box(&x))));
        c.bench_function(&format!("poseidon_reference/{n}_inputs"), |b| {
            b.iter(|| p.hash_reference(std::hint::black_box(&x)))
        });
    }
}

fn eddsa(c: &mut Criterion) {
    let key = PrivateKey::from_bytes([7; 32]);
    let public = key.public_key();
    let m = Fr::from(123456789u64);
    let sig = key.sign(m);
    c.bench_function("eddsa/verify", |b| b.iter(|| public.verify(std::hint::black_box(m), &sig).unwrap()));
    c.bench_function("eddsa/sign", |b| b.iter(|| key.sign(std::hint::black_box(m))));
}

fn tree_update(c: &mut Criterion) {
    let mut rng = test_rng();
    let mut tree = StateTree::new(16).unwrap();
    for _ in 0..10_000 {
        tree.set_leaf(rng.gen_range(1..1u64 << 32), Fr::rand(&mut rng)).unwrap();
    }
    c.bench_function("tree/update_depth16", |b| {
        b.iter(|| tree.set_leaf(rng.gen_range(1..1u64 << 32), Fr::rand(&mut rng)).unwrap())
    });
}

fn bulk_build(c: &mut Criterion) {
    let accounts: Vec<(u32, Account)> =
        insecure_public_scalar_keys(1_000_000).into_iter().enumerate().map(|(i, k)| (i as u32 + 1, Account::new(k, 1_000, 0))).collect();
    let mut group = c.benchmark_group("state");
    group.sample_size(10);
    group.bench_function("bulk_build_1M_depth16", |b| {
        b.iter_batched(|| accounts.clone(), |a| State::from_accounts(16, a).unwrap(), BatchSize::LargeInput)
    });
    group.finish();
}

criterion_group!(benches, poseidon, eddsa, tree_update, bulk_build);
criterion_main!(benches);
