//! Constraint counts of every gadget, pinned in `circuits/constraints.baseline`.
//!
//! Each gadget is measured alone in a fresh constraint system, its inputs allocated as
//! witnesses (their allocation not counted). The test below fails when a count changes, when a
//! gadget has no row, or when a row names no gadget. Regenerate the file after an intended change:
//! `ZKROLLUP_BLESS=1 cargo test -p zkrollup-circuits constraint_counts_match_the_baseline`.

use ark_r1cs_std::{alloc::AllocVar, boolean::Boolean, fields::fp::FpVar};
use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef, SynthesisError};

use crate::merkle::constraints::{level_var, MerklePathVar};
use crate::merkle::{MerklePath, MAX_DEPTH};
use crate::poseidon::constraints::poseidon_var;
use crate::range::constraints::enforce_u64;
use crate::sha256::constraints::{compress_var, iv, Word};
use crate::transfer::{constraints::step_var, StepWitness};
use crate::Fr;

/// Measures one gadget: the constraints it adds beyond the allocation of its inputs.
pub type Measure = fn() -> Result<usize, SynthesisError>;

fn witnesses(cs: &ConstraintSystemRef<Fr>, n: usize) -> Result<Vec<FpVar<Fr>>, SynthesisError> {
    (0..n).map(|i| FpVar::new_witness(cs.clone(), || Ok(Fr::from(i as u64 + 1)))).collect()
}

fn bits(cs: &ConstraintSystemRef<Fr>, n: usize) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    (0..n).map(|i| Boolean::new_witness(cs.clone(), || Ok(i % 3 == 0))).collect()
}

/// Run `gadget` after allocating inputs with `setup`, and count only the gadget's constraints.
fn cost<T>(
    setup: impl FnOnce(&ConstraintSystemRef<Fr>) -> Result<T, SynthesisError>,
    gadget: impl FnOnce(T) -> Result<(), SynthesisError>,
) -> Result<usize, SynthesisError> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    let inputs = setup(&cs)?;
    let before = cs.num_constraints();
    gadget(inputs)?;
    Ok(cs.num_constraints() - before)
}

fn poseidon_cost(n: usize) -> Result<usize, SynthesisError> {
    cost(|cs| witnesses(cs, n), |x| poseidon_var(&x).map(drop))
}

fn batch_cost(n: usize) -> Result<usize, SynthesisError> {
    use ark_relations::gr1cs::ConstraintSynthesizer;
    let cs = ConstraintSystem::<Fr>::new_ref();
    crate::batch::BatchCircuit::blank(MAX_DEPTH, n, Fr::from(0u64)).generate_constraints(cs.clone())?;
    Ok(cs.num_constraints())
}

/// Every gadget, by name.
pub fn gadgets() -> Vec<(&'static str, Measure)> {
    vec![
        ("poseidon_1_input", || poseidon_cost(1)),
        ("poseidon_2_inputs", || poseidon_cost(2)),
        ("poseidon_3_inputs", || poseidon_cost(3)),
        ("poseidon_4_inputs", || poseidon_cost(4)),
        ("poseidon_5_inputs", || poseidon_cost(5)),
        ("merkle_level", || {
            cost(
                |cs| Ok((witnesses(cs, 4)?, bits(cs, 2)?)),
                |(v, b)| level_var(&v[0], &b[0], &b[1], &[v[1].clone(), v[2].clone(), v[3].clone()]).map(drop),
            )
        }),
        ("merkle_path_depth_16", || {
            cost(
                |cs| {
                    let path = MerklePath { index: 0, siblings: vec![[Fr::from(0u64); 3]; MAX_DEPTH] };
                    Ok((MerklePathVar::new_witness(cs.clone(), &path)?, witnesses(cs, 1)?, bits(cs, 2 * MAX_DEPTH)?))
                },
                |(path, leaf, index)| path.root(&leaf[0], &index).map(drop),
            )
        }),
        ("range_u64", || cost(|cs| witnesses(cs, 1), |x| enforce_u64(&x[0]).map(drop))),
        ("sha256_block", || {
            cost(
                |cs| {
                    let state: Vec<Word> =
                        (0..8).map(|_| bits(cs, 32).map(|b| b.try_into().expect("32 bits"))).collect::<Result<_, _>>()?;
                    Ok((state, bits(cs, 512)?))
                },
                |(state, block)| compress_var(&state.try_into().expect("8 words"), &block).map(drop),
            )
        }),
        ("transfer_step_depth_16_without_signature", || {
            let slot_zero = MerklePath { index: 0, siblings: vec![[Fr::from(0u64); 3]; MAX_DEPTH] };
            let cs = ConstraintSystem::<Fr>::new_ref();
            let root = FpVar::new_witness(cs.clone(), || Ok(Fr::from(0u64)))?;
            step_var(cs.clone(), MAX_DEPTH, &root, &StepWitness::padding(slot_zero))?;
            Ok(cs.num_constraints())
        }),
        ("eddsa_poseidon_verify", || {
            cost(
                |cs| Ok((witnesses(cs, 6)?, bits(cs, 1)?)),
                |(v, on)| {
                    use crate::babyjubjub::constraints::PointVar;
                    let key = PointVar { x: v[0].clone(), y: v[1].clone() };
                    let r8 = PointVar { x: v[2].clone(), y: v[3].clone() };
                    crate::eddsa::constraints::verify_var(&key, &v[4], &r8, &v[5], &on[0])
                },
            )
        }),
        ("batch_n1_depth_16", || batch_cost(1)),
        ("batch_n2_depth_16", || batch_cost(2)),
        ("batch_n4_depth_16", || batch_cost(4)),
        ("batch_n8_depth_16", || batch_cost(8)),
        ("sha256_first_block", || cost(|cs| bits(cs, 512), |block| compress_var(&iv(), &block).map(drop))),
    ]
}

/// The baseline file's text for `rows`.
pub fn render(rows: &[(&str, usize)]) -> String {
    let mut out = String::from(
        "# Constraints per gadget (circuits/src/stats.rs). Regenerate after an intended change:\n\
         # ZKROLLUP_BLESS=1 cargo test -p zkrollup-circuits constraint_counts_match_the_baseline\n",
    );
    for (name, count) in rows {
        out.push_str(&format!("{name} {count}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn constraint_counts_match_the_baseline() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/constraints.baseline");
        let measured: Vec<(&str, usize)> =
            gadgets().into_iter().map(|(name, measure)| (name, measure().expect("gadget synthesizes"))).collect();
        if std::env::var_os("ZKROLLUP_BLESS").is_some() {
            std::fs::write(path, render(&measured)).unwrap();
            return;
        }
        let text = std::fs::read_to_string(path).expect("circuits/constraints.baseline exists");
        let mut baseline: BTreeMap<&str, usize> = BTreeMap::new();
        for line in text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
            let (name, count) = line.split_once(' ').unwrap_or_else(|| panic!("bad baseline row {line:?}"));
            baseline.insert(name, count.trim().parse().unwrap_or_else(|_| panic!("bad count in {line:?}")));
        }
        let mut problems = Vec::new();
        for (name, count) in &measured {
            match baseline.remove(name) {
                None => problems.push(format!("{name}: {count} constraints, no baseline row")),
                Some(pinned) if pinned != *count => problems.push(format!("{name}: {count} constraints, baseline {pinned}")),
                Some(_) => {}
            }
        }
        for name in baseline.keys() {
            problems.push(format!("{name}: baseline row for no gadget"));
        }
        assert!(problems.is_empty(), "constraint counts differ from the baseline:\n  {}\n{}", problems.join("\n  "), render(&[]));
    }

    #[test]
    fn budgets_of_issue_3_hold() {
        let all: BTreeMap<&str, usize> = gadgets().into_iter().map(|(n, m)| (n, m().unwrap())).collect();
        assert!(all["poseidon_2_inputs"] <= 240);
        assert!(all["poseidon_4_inputs"] <= 297);
        assert!(all["poseidon_5_inputs"] <= 321);
        assert!(all["merkle_level"] <= 310);
        assert!(all["range_u64"] <= 65);
        assert!(all["sha256_block"] <= 30_000);
        assert!(all["eddsa_poseidon_verify"] <= 4_300);
        // Per transfer at depth 16, its share of the commitment included: from 4 to 8 slots the
        // public data grows by one SHA-256 block exactly (128 -> 192 bytes + padding).
        let per_transfer = (all["batch_n8_depth_16"] - all["batch_n4_depth_16"]) / 4;
        assert!(per_transfer <= 34_000, "{per_transfer} per transfer");
    }
}
