//! Where one Groth16 proof's time goes, step by step, on the batch circuit at depth 16:
//! synthesis, the R1CS matrices' sizes, the QAP witness map, and each MSM with the real
//! assignment. Run: `cargo run --release --example prove_breakdown -- [N]` (default 3).

use std::time::Instant;

use ark_bn254::{Fr, G1Projective, G2Projective};
use ark_ec::VariableBaseMSM;
use ark_groth16::r1cs_to_qap::{LibsnarkReduction, R1CSToQAP};
use ark_poly::GeneralEvaluationDomain;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode, R1CS_PREDICATE_LABEL,
};
use zkrollup::primitives::batch::BatchCircuit;
use ark_ff::{BigInteger, PrimeField, Zero};
use ark_ec::AffineRepr;
use zkrollup::prover::msm::msm;
use zkrollup::prover::qap::{evaluate_rows, Domain};
use zkrollup::prover::sparse::SparseMatrices;
use zkrollup::prover::compare::sample_batch;
use zkrollup::prover::{prove, setup_insecure_dev};

fn main() {
    let n: usize = std::env::args().nth(1).map_or(3, |a| a.parse().expect("N"));
    let depth = 16;
    let m: usize = std::env::args().nth(2).map_or(0, |a| a.parse().expect("M"));
    let shape = zkrollup::primitives::batch::Shape { depth, l1_slots: m, batch_size: n };
    let w = sample_batch(shape);
    let (pk, _) = setup_insecure_dev(BatchCircuit::blank(shape), 1).unwrap();

    let time = |label: &str, f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        println!("{label:<28} {:>8.3} s", t.elapsed().as_secs_f64());
    };
    let cs = ConstraintSystem::<Fr>::new_ref();
    time("synthesis + finalize", &mut || {
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Prove { construct_matrices: true, generate_lc_assignments: false });
        w.circuit(depth).generate_constraints(cs.clone()).unwrap();
        cs.finalize();
    });
    time("arkworks which_is_unsatisfied", &mut || assert!(cs.which_is_unsatisfied().unwrap().is_none()));
    let mut matrices = Default::default();
    time("matrices export", &mut || matrices = cs.to_matrices().unwrap());
    let m = &matrices[R1CS_PREDICATE_LABEL];
    let nnz: Vec<usize> = m.iter().map(|mat| mat.iter().map(Vec::len).sum()).collect();
    println!("constraints {}, variables {}, nnz A {} B {} C {}", cs.num_constraints(), cs.num_instance_variables() + cs.num_witness_variables(), nnz[0], nnz[1], nnz[2]);
    let mut assignment = cs.instance_assignment().unwrap();
    assignment.extend(cs.witness_assignment().unwrap());
    let small = assignment.iter().filter(|x| **x == Fr::from(0u64) || **x == Fr::from(1u64)).count();
    println!("assignment: {} values, {} of them 0 or 1", assignment.len(), small);
    let mut classes = [0usize; 6];
    for x in &assignment {
        let b = x.into_bigint().num_bits();
        classes[match b { 0 => 0, 1 => 1, 2..=16 => 2, 17..=32 => 3, 33..=64 => 4, _ => 5 }] += 1;
    }
    println!("assignment bit lengths: 0: {}, 1: {}, <=16: {}, <=32: {}, <=64: {}, wider: {}", classes[0], classes[1], classes[2], classes[3], classes[4], classes[5]);
    let mut h = Vec::new();
    time("QAP witness map (7 FFTs)", &mut || {
        h = LibsnarkReduction::witness_map_from_matrices::<Fr, GeneralEvaluationDomain<Fr>>(
            m,
            cs.num_instance_variables(),
            cs.num_constraints(),
            &assignment,
        )
        .unwrap();
    });
    let mut ours = Vec::new();
    let sparse = SparseMatrices::from_ark(m, cs.num_instance_variables(), assignment.len());
    time("zkrollup rows + check + QAP", &mut || {
        let d = Domain::new(cs.num_constraints() + cs.num_instance_variables()).unwrap();
        let (a, b) = evaluate_rows(&sparse, &assignment, d.size()).unwrap();
        ours = d.quotient(a, b);
    });
    assert_eq!(ours, h, "the same quotient");
    let witness = &assignment[cs.num_instance_variables()..];
    let big = |v: &[Fr]| v.iter().map(|x| x.into_bigint()).collect::<Vec<_>>();
    let (z, hb, wb) = (big(&assignment), big(&h), big(witness));
    let useful = |bases: usize, zero_base: &dyn Fn(usize) -> bool, s: &[Fr]| {
        (0..bases.min(s.len())).filter(|&i| !zero_base(i) && !s[i].is_zero()).count()
    };
    println!(
        "MSM terms with a non-zero scalar and base: A {} / {}, B {} / {}, H {} / {}, L {} / {}",
        useful(pk.a_query.len(), &|i| pk.a_query[i].is_zero(), &assignment), pk.a_query.len(),
        useful(pk.b_g2_query.len(), &|i| pk.b_g2_query[i].is_zero(), &assignment), pk.b_g2_query.len(),
        useful(pk.h_query.len(), &|i| pk.h_query[i].is_zero(), &h), pk.h_query.len(),
        useful(pk.l_query.len(), &|i| pk.l_query[i].is_zero(), witness), pk.l_query.len(),
    );
    time("zkrollup msm G1 A", &mut || { let _ = msm(&pk.a_query, &z); });
    time("zkrollup msm G1 B", &mut || { let _ = msm(&pk.b_g1_query, &z); });
    time("zkrollup msm G2 B", &mut || { let _ = msm(&pk.b_g2_query, &z); });
    time("zkrollup msm G1 H", &mut || { let _ = msm(&pk.h_query, &hb); });
    time("zkrollup msm G1 L", &mut || { let _ = msm(&pk.l_query, &wb); });
    time("MSM G1 A (assignment)", &mut || { let _ = G1Projective::msm(&pk.a_query, &assignment).unwrap(); });
    time("MSM G1 B (assignment)", &mut || { let _ = G1Projective::msm(&pk.b_g1_query, &assignment).unwrap(); });
    time("MSM G2 B (assignment)", &mut || { let _ = G2Projective::msm(&pk.b_g2_query, &assignment).unwrap(); });
    time("MSM G1 H (h)", &mut || { let _ = G1Projective::msm(&pk.h_query, &h[..pk.h_query.len()]).unwrap(); });
    time("MSM G1 L (witness)", &mut || { let _ = G1Projective::msm(&pk.l_query, witness).unwrap(); });
    time("whole prove (zkrollup)", &mut || { let _ = prove(&pk, w.circuit(depth)).unwrap(); });
}
