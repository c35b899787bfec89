//! Merkle gadgets, twins of [`super::place`], [`super::hash_node`] and [`MerklePath::root`].
//!
//! A level takes the path's node, its position as two bits `(b0, b1)` (low first) and the three
//! siblings, orders the four children with 7 constraints and hashes them (297): 304 in all. The
//! position bits are not allocated here: they come from the slot index's decomposition, which
//! the circuit shares with the public data.

use ark_r1cs_std::{alloc::AllocVar, boolean::Boolean, fields::fp::FpVar, fields::FieldVar};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

use super::{MerklePath, ARITY};
use crate::poseidon::Poseidon;
use crate::Fr;

/// The four children, in order, of a node at position `b0 + 2 b1` among `siblings`.
pub fn place_var(
    node: &FpVar<Fr>,
    b0: &Boolean<Fr>,
    b1: &Boolean<Fr>,
    siblings: &[FpVar<Fr>; ARITY - 1],
) -> Result<[FpVar<Fr>; ARITY], SynthesisError> {
    let [s0, s1, s2] = siblings;
    let both = FpVar::from(b0 & b1);
    let (f0, f1) = (FpVar::from(b0.clone()), FpVar::from(b1.clone()));
    let at_zero = FpVar::one() - &f0 - &f1 + &both;
    // p = 0: [n, s0, s1, s2]; 1: [s0, n, s1, s2]; 2: [s0, s1, n, s2]; 3: [s0, s1, s2, n].
    let c0 = s0 + at_zero * (node - s0);
    let c3 = s2 + &both * (node - s2);
    let low = s0 + &f0 * (node - s0);
    let c1 = &low + &f1 * (s1 - &low);
    let high = node + &f0 * (s2 - node);
    let c2 = s1 + &f1 * (high - s1);
    Ok([c0, c1, c2, c3])
}

/// One level: the parent of `node` at position `b0 + 2 b1` among `siblings`.
pub fn level_var(
    node: &FpVar<Fr>,
    b0: &Boolean<Fr>,
    b1: &Boolean<Fr>,
    siblings: &[FpVar<Fr>; ARITY - 1],
) -> Result<FpVar<Fr>, SynthesisError> {
    let poseidon = Poseidon::for_inputs(ARITY).expect("4 inputs are supported");
    poseidon.hash_var(&place_var(node, b0, b1, siblings)?)
}

/// A Merkle path's siblings as witnesses; the position bits are supplied by the caller.
#[derive(Clone, Debug)]
pub struct MerklePathVar {
    /// `siblings[h]`: the three other children at height `h`.
    pub siblings: Vec<[FpVar<Fr>; ARITY - 1]>,
}

impl MerklePathVar {
    /// Allocate the siblings of `path` as witnesses.
    pub fn new_witness(cs: ConstraintSystemRef<Fr>, path: &MerklePath) -> Result<Self, SynthesisError> {
        let siblings = path
            .siblings
            .iter()
            .map(|level| {
                let vars = level
                    .iter()
                    .map(|s| FpVar::new_witness(cs.clone(), || Ok(*s)))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(vars.try_into().expect("three siblings"))
            })
            .collect::<Result<Vec<_>, SynthesisError>>()?;
        Ok(MerklePathVar { siblings })
    }

    /// The root of the tree holding `leaf` at the slot whose index has little-endian bits
    /// `index_bits` (two per level).
    pub fn root(&self, leaf: &FpVar<Fr>, index_bits: &[Boolean<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
        assert_eq!(index_bits.len(), 2 * self.siblings.len(), "two index bits per level");
        let mut node = leaf.clone();
        for (h, siblings) in self.siblings.iter().enumerate() {
            node = level_var(&node, &index_bits[2 * h], &index_bits[2 * h + 1], siblings)?;
        }
        Ok(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{hash_node, place};
    use ark_r1cs_std::GR1CSVar;
    use ark_relations::gr1cs::ConstraintSystem;
    use ark_std::{test_rng, UniformRand};

    #[test]
    fn level_equals_native_at_every_position() {
        let mut rng = test_rng();
        for position in 0..ARITY {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let n = Fr::rand(&mut rng);
            let s = [Fr::rand(&mut rng), Fr::rand(&mut rng), Fr::rand(&mut rng)];
            let nv = FpVar::new_witness(cs.clone(), || Ok(n)).unwrap();
            let sv = s.map(|x| FpVar::new_witness(cs.clone(), || Ok(x)).unwrap());
            let b0 = Boolean::new_witness(cs.clone(), || Ok(position & 1 == 1)).unwrap();
            let b1 = Boolean::new_witness(cs.clone(), || Ok(position & 2 == 2)).unwrap();
            let bits_cost = cs.num_constraints();
            let out = level_var(&nv, &b0, &b1, &sv).unwrap();
            assert_eq!(out.value().unwrap(), hash_node(&place(n, position, &s)));
            assert!(cs.is_satisfied().unwrap());
            assert_eq!(cs.num_constraints() - bits_cost, 304);
        }
    }

    #[test]
    fn path_root_equals_native() {
        let mut rng = test_rng();
        let depth = 5;
        let path = MerklePath {
            index: 0b11_01_10_00_11,
            siblings: (0..depth).map(|_| [Fr::rand(&mut rng), Fr::rand(&mut rng), Fr::rand(&mut rng)]).collect(),
        };
        let leaf = Fr::rand(&mut rng);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let var = MerklePathVar::new_witness(cs.clone(), &path).unwrap();
        let bits: Vec<Boolean<Fr>> =
            (0..2 * depth).map(|i| Boolean::new_witness(cs.clone(), || Ok((path.index >> i) & 1 == 1)).unwrap()).collect();
        let leaf_var = FpVar::new_witness(cs.clone(), || Ok(leaf)).unwrap();
        let root = var.root(&leaf_var, &bits).unwrap();
        assert_eq!(root.value().unwrap(), path.root(leaf));
        assert!(cs.is_satisfied().unwrap());
    }
}
