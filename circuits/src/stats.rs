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
use crate::packed_key::constraints::packed_key_var;
use crate::request::{constraints::request_var, RequestWitness};
use crate::transfer::{constraints::step_var, StepWitness};
use ark_r1cs_std::GR1CSVar;
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

/// Constraints of the whole batch circuit of this shape.
pub fn batch_cost(shape: crate::batch::Shape) -> Result<usize, SynthesisError> {
    use ark_relations::gr1cs::ConstraintSynthesizer;
    let cs = ConstraintSystem::<Fr>::new_ref();
    crate::batch::BatchCircuit::blank(shape).generate_constraints(cs.clone())?;
    Ok(cs.num_constraints())
}

fn batch_at_16(m: usize, n: usize) -> Result<usize, SynthesisError> {
    batch_cost(crate::batch::Shape { depth: MAX_DEPTH, l1_slots: m, batch_size: n })
}

fn sha256_block_cost() -> Result<usize, SynthesisError> {
    cost(
        |cs| {
            let state: Vec<Word> =
                (0..8).map(|_| bits(cs, 32).map(|b| b.try_into().expect("32 bits"))).collect::<Result<_, _>>()?;
            Ok((state, bits(cs, 512)?))
        },
        |(state, block)| compress_var(&state.try_into().expect("8 words"), &block).map(drop),
    )
}

/// The cost of a batch's parts at one depth, each slot with its share of the SHA-256 blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotCosts {
    /// A batch with no slots: the header's bits, its SHA-256 (two blocks) and the commitment.
    pub fixed: usize,
    /// One L1 slot, with 45/64 of a SHA-256 block.
    pub l1_slot: usize,
    /// One L2 slot, with 16/64 of a SHA-256 block (four slots add exactly one block).
    pub l2_slot: usize,
}

/// [`SlotCosts`] at `depth`, measured on blank batch circuits.
pub fn slot_costs(depth: usize) -> Result<SlotCosts, SynthesisError> {
    let at = |m, n| batch_cost(crate::batch::Shape { depth, l1_slots: m, batch_size: n });
    let block = sha256_block_cost()?;
    let fixed = at(0, 0)?;
    // 104 -> 149 bytes takes the padded message from 2 to 3 blocks: one whole block, replaced
    // by the slot's 45/64 share.
    let l1_slot = at(1, 0)? - fixed - block + (45 * block).div_ceil(64);
    let l2_slot = (at(0, 8)? - at(0, 4)?) / 4;
    Ok(SlotCosts { fixed, l1_slot, l2_slot })
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
        ("sha256_block", sha256_block_cost),
        ("l2_step_depth_16_without_signature", || {
            let slot_zero = MerklePath { index: 0, siblings: vec![[Fr::from(0u64); 3]; MAX_DEPTH] };
            let cs = ConstraintSystem::<Fr>::new_ref();
            let root = FpVar::new_witness(cs.clone(), || Ok(Fr::from(0u64)))?;
            step_var(cs.clone(), MAX_DEPTH, &root, &StepWitness::padding(slot_zero))?;
            Ok(cs.num_constraints())
        }),
        ("l1_step_depth_16", || {
            let slot_zero = MerklePath { index: 0, siblings: vec![[Fr::from(0u64); 3]; MAX_DEPTH] };
            let cs = ConstraintSystem::<Fr>::new_ref();
            let root = FpVar::new_witness(cs.clone(), || Ok(Fr::from(0u64)))?;
            request_var(cs.clone(), MAX_DEPTH, &root, &RequestWitness::padding(slot_zero))?;
            Ok(cs.num_constraints())
        }),
        ("packed_key_recovery", || {
            cost(
                |cs| bits(cs, 1),
                |on| packed_key_var(on[0].cs(), (Fr::from(0u64), Fr::from(0u64), false), &on[0]).map(drop),
            )
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
        ("batch_m0_n0_depth_16", || batch_at_16(0, 0)),
        ("batch_m1_n0_depth_16", || batch_at_16(1, 0)),
        ("batch_m0_n4_depth_16", || batch_at_16(0, 4)),
        ("batch_m0_n8_depth_16", || batch_at_16(0, 8)),
        ("batch_m3_n3_depth_16", || batch_at_16(3, 3)),
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
    fn budgets_hold() {
        let all: BTreeMap<&str, usize> = gadgets().into_iter().map(|(n, m)| (n, m().unwrap())).collect();
        assert!(all["poseidon_2_inputs"] <= 240);
        assert!(all["poseidon_4_inputs"] <= 297);
        assert!(all["poseidon_5_inputs"] <= 321);
        assert!(all["merkle_level"] <= 310);
        assert!(all["range_u64"] <= 65);
        assert!(all["sha256_block"] <= 30_000);
        assert!(all["eddsa_poseidon_verify"] <= 4_300);
        // Issue 11's budgets at depth 16, each slot with its share of the commitment.
        let costs = slot_costs(MAX_DEPTH).unwrap();
        assert!(costs.l2_slot <= 32_100, "{costs:?}");
        assert!(costs.l1_slot <= 31_000, "{costs:?}");
        assert!(costs.fixed <= 64_000, "{costs:?}");
    }
}
