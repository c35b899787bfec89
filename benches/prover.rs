//! Groth16 on the batch circuit at depth 16, and in the same run the floor for each size: the
//! four G1 MSMs, the G2 MSM and the seven FFTs Groth16 needs, timed with arkworks on random
//! scalars over the proving key's own bases. Run: `cargo bench --bench prover`.

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ec::VariableBaseMSM;
use ark_ff::UniformRand;
use ark_poly::{EvaluationDomain, GeneralEvaluationDomain};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode};
use ark_std::test_rng;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use zkrollup::primitives::batch::BatchCircuit;
use zkrollup::primitives::eddsa::PrivateKey;
use zkrollup::prover::{prove, setup_insecure_dev, verify};
use zkrollup::primitives::batch::Shape;
use zkrollup::{Account, Batch, BatchParams, BatchWitness, State, Transfer};

const DEPTH: usize = 16;

fn workload(n: usize) -> (State, Batch, BatchParams) {
    let keys: Vec<PrivateKey> = (0..2 * n).map(|i| PrivateKey::from_bytes([i as u8 + 1; 32])).collect();
    let accounts = keys.iter().enumerate().map(|(i, k)| (i as u32 + 1, Account::new(k.public_key(), 1_000_000, 0))).collect();
    let state = State::from_accounts(DEPTH, accounts).unwrap();
    let params = BatchParams::new(n, Fr::from(1u64));
    let transfers =
        (0..n).map(|i| Transfer::signed(&keys[2 * i], 2 * i as u32 + 1, 2 * i as u32 + 2, 1_000 + i as u64, 0, params.domain)).collect();
    (state, Batch::new(transfers), params)
}

fn witness(n: usize) -> BatchWitness {
    let (mut state, batch, params) = workload(n);
    state.apply_batch(&batch, &params).unwrap()
}

fn groth16(c: &mut Criterion) {
    let mut rng = test_rng();
    for n in [3usize, 7] {
        let mut group = c.benchmark_group(format!("groth16_n{n}_d16"));
        group.sample_size(10);
        let w = witness(n);
        let blank = BatchCircuit::blank(w.circuit(DEPTH).shape());
        group.bench_function("setup", |b| b.iter(|| setup_insecure_dev(blank.clone(), 1).unwrap()));
        let (pk, vk) = setup_insecure_dev(blank.clone(), 1).unwrap();
        group.bench_function("witness", |b| {
            b.iter_batched(|| workload(n), |(mut s, batch, p)| s.apply_batch(&batch, &p).unwrap(), BatchSize::LargeInput)
        });
        group.bench_function("synthesis", |b| {
            b.iter(|| {
                let cs = ConstraintSystem::<Fr>::new_ref();
                cs.set_optimization_goal(OptimizationGoal::Constraints);
                cs.set_mode(SynthesisMode::Prove { construct_matrices: true, generate_lc_assignments: false });
                w.circuit(DEPTH).generate_constraints(cs.clone()).unwrap();
                cs.finalize();
                cs.num_constraints()
            })
        });
        group.bench_function("prove", |b| b.iter(|| prove(&pk, w.circuit(DEPTH)).unwrap()));
        let proof = prove(&pk, w.circuit(DEPTH)).unwrap();
        group.bench_function("verify", |b| b.iter(|| assert!(verify(&vk, &[w.commitment], &proof).unwrap())));

        // The floor: what any Groth16 prover on this key must compute.
        let scalars = |len: usize, rng: &mut _| (0..len).map(|_| Fr::rand(rng)).collect::<Vec<Fr>>();
        let (sa, sb, sh, sl) =
            (scalars(pk.a_query.len(), &mut rng), scalars(pk.b_g1_query.len(), &mut rng), scalars(pk.h_query.len(), &mut rng), scalars(pk.l_query.len(), &mut rng));
        let sb2 = scalars(pk.b_g2_query.len(), &mut rng);
        let cs = ConstraintSystem::<Fr>::new_ref();
        blank.clone().generate_constraints(cs.clone()).unwrap();
        let domain = GeneralEvaluationDomain::<Fr>::new(cs.num_constraints() + cs.num_instance_variables()).unwrap();
        let poly = scalars(domain.size(), &mut rng);
        eprintln!(
            "n = {n}: {} constraints, domain 2^{}, MSM sizes A {} B1 {} H {} L {} B2 {}",
            cs.num_constraints(),
            domain.log_size_of_group(),
            sa.len(),
            sb.len(),
            sh.len(),
            sl.len(),
            sb2.len()
        );
        group.bench_function("floor", |b| {
            b.iter(|| {
                let _ = G1Projective::msm(&pk.a_query, &sa).unwrap();
                let _ = G1Projective::msm(&pk.b_g1_query, &sb).unwrap();
                let _ = G1Projective::msm(&pk.h_query, &sh).unwrap();
                let _ = G1Projective::msm(&pk.l_query, &sl).unwrap();
                let _ = G2Projective::msm(&pk.b_g2_query, &sb2).unwrap();
                for _ in 0..7 {
                    let _ = domain.fft(&poly);
                }
            })
        });
        group.bench_function("floor_g2_msm", |b| b.iter(|| G2Projective::msm(&pk.b_g2_query, &sb2).unwrap()));
        group.finish();
    }
}

/// Stock `ark_groth16::Groth16::prove` against zkrollup's fast path, same keys and batch; the
/// fast path's matrices are built once, outside the timing (`zkrollup bench --compare-stock`
/// alternates the two in one loop instead). Filter: `cargo bench --bench prover -- stock_vs_fast`.
fn stock_vs_fast(c: &mut Criterion) {
    use ark_snark::SNARK;
    use zkrollup::prover::compare::sample_batch;
    use zkrollup::prover::fast::FastProver;
    for n in [3usize, 16] {
        let mut group = c.benchmark_group(format!("stock_vs_fast_n{n}_d16"));
        group.sample_size(10);
        let w = sample_batch(Shape { depth: DEPTH, l1_slots: 0, batch_size: n });
        let blank = BatchCircuit::blank(w.circuit(DEPTH).shape());
        let (pk, vk) = setup_insecure_dev(blank.clone(), 1).unwrap();
        let fast = FastProver::new(blank).unwrap();
        assert!(verify(&vk, &[w.commitment], &fast.prove(&pk, w.circuit(DEPTH)).unwrap()).unwrap());
        group.bench_function("stock ark-groth16", |b| {
            b.iter(|| ark_groth16::Groth16::<ark_bn254::Bn254>::prove(&pk, w.circuit(DEPTH), &mut rand::rngs::OsRng).unwrap())
        });
        group.bench_function("zkrollup fast", |b| b.iter(|| fast.prove(&pk, w.circuit(DEPTH)).unwrap()));
        group.finish();
    }
}

criterion_group!(benches, groth16, stock_vs_fast);
criterion_main!(benches);
