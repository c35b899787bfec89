//! The sparse quaternary Poseidon Merkle tree of account leaves.
//!
//! Only nodes that differ from the empty subtree of their height are stored, so a tree of depth
//! 16 (2^32 slots) costs memory in proportion to its accounts. Node `i` at height `h` has children
//! `4i .. 4i + 3` at height `h - 1`; the root is node 0 at height `depth`.

use std::collections::HashMap;

use rayon::prelude::*;
use thiserror::Error;
use zkrollup_circuits::merkle::{empty_roots, hash_node, MerklePath, ARITY, MAX_DEPTH};

use crate::Fr;

/// Why a tree operation was refused.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum TreeError {
    /// Depth outside `1..=16`.
    #[error("tree depth {0} is outside 1..={MAX_DEPTH}")]
    DepthOutOfRange(usize),
    /// Slot index at least `4^depth`.
    #[error("slot {index} is outside a tree of depth {depth} ({capacity} slots)")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree's depth.
        depth: usize,
        /// `4^depth`.
        capacity: u64,
    },
    /// The same slot given twice to a bulk build.
    #[error("slot {0} is given twice")]
    DuplicateIndex(u64),
}

/// A sparse quaternary Merkle tree.
#[derive(Clone, Debug)]
pub struct StateTree {
    depth: usize,
    /// `levels[h]`: the non-empty nodes at height `h` by index.
    levels: Vec<HashMap<u64, Fr>>,
}

impl StateTree {
    /// An empty tree of `depth` levels (1 to 16).
    pub fn new(depth: usize) -> Result<Self, TreeError> {
        if !(1..=MAX_DEPTH).contains(&depth) {
            return Err(TreeError::DepthOutOfRange(depth));
        }
        Ok(StateTree { depth, levels: vec![HashMap::new(); depth + 1] })
    }

    /// Build a tree from `(index, leaf)` pairs in parallel, level by level.
    pub fn from_leaves(depth: usize, mut leaves: Vec<(u64, Fr)>) -> Result<Self, TreeError> {
        let mut tree = StateTree::new(depth)?;
        for &(index, _) in &leaves {
            tree.check_index(index)?;
        }
        leaves.par_sort_unstable_by_key(|&(index, _)| index);
        if let Some(w) = leaves.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(TreeError::DuplicateIndex(w[0].0));
        }
        let zero = empty_roots()[0];
        leaves.retain(|&(_, leaf)| leaf != zero);

        let mut levels: Vec<Vec<(u64, Fr)>> = Vec::with_capacity(depth + 1);
        levels.push(leaves);
        for h in 0..depth {
            let parents = hash_level(&levels[h], empty_roots()[h]);
            levels.push(parents);
        }
        tree.levels = levels.into_par_iter().map(|level| level.into_iter().collect()).collect();
        Ok(tree)
    }

    /// The number of levels below the root.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// `4^depth`, the number of slots.
    pub fn capacity(&self) -> u64 {
        1u64 << (2 * self.depth)
    }

    fn check_index(&self, index: u64) -> Result<(), TreeError> {
        if index >= self.capacity() {
            return Err(TreeError::IndexOutOfRange { index, depth: self.depth, capacity: self.capacity() });
        }
        Ok(())
    }

    /// The root.
    pub fn root(&self) -> Fr {
        self.node(self.depth, 0)
    }

    /// Node `index` at height `height`; empty subtrees read as their ladder value.
    pub fn node(&self, height: usize, index: u64) -> Fr {
        self.levels[height].get(&index).copied().unwrap_or(empty_roots()[height])
    }

    /// The leaf at slot `index` (0 for an empty slot).
    pub fn leaf(&self, index: u64) -> Result<Fr, TreeError> {
        self.check_index(index)?;
        Ok(self.node(0, index))
    }

    /// The Merkle path of slot `index`: three siblings per level.
    pub fn path(&self, index: u64) -> Result<MerklePath, TreeError> {
        self.check_index(index)?;
        let mut siblings = Vec::with_capacity(self.depth);
        let mut i = index;
        for h in 0..self.depth {
            let first = i & !3;
            let mut level = [Fr::from(0u64); ARITY - 1];
            let others = (first..first + ARITY as u64).filter(|&c| c != i);
            for (slot, c) in level.iter_mut().zip(others) {
                *slot = self.node(h, c);
            }
            siblings.push(level);
            i >>= 2;
        }
        Ok(MerklePath { index, siblings })
    }

    /// Set the leaf at `index` and rehash its path; returns the new root.
    pub fn set_leaf(&mut self, index: u64, leaf: Fr) -> Result<Fr, TreeError> {
        self.check_index(index)?;
        let mut i = index;
        let mut node = leaf;
        for h in 0..self.depth {
            self.store(h, i, node);
            let first = i & !3;
            let children: [Fr; ARITY] = std::array::from_fn(|k| {
                let c = first + k as u64;
                if c == i { node } else { self.node(h, c) }
            });
            node = hash_node(&children);
            i >>= 2;
        }
        self.store(self.depth, 0, node);
        Ok(node)
    }

    fn store(&mut self, height: usize, index: u64, value: Fr) {
        if value == empty_roots()[height] {
            self.levels[height].remove(&index);
        } else {
            self.levels[height].insert(index, value);
        }
    }

    /// Number of stored (non-empty) nodes, all levels together.
    pub fn stored_nodes(&self) -> usize {
        self.levels.iter().map(HashMap::len).sum()
    }
}

/// The parents of a sorted level of non-empty nodes, hashed in parallel.
fn hash_level(level: &[(u64, Fr)], empty: Fr) -> Vec<(u64, Fr)> {
    let mut groups: Vec<&[(u64, Fr)]> = Vec::new();
    let mut rest = level;
    while let Some(&(first, _)) = rest.first() {
        let len = rest.iter().take(ARITY).take_while(|&&(i, _)| i >> 2 == first >> 2).count();
        let (group, tail) = rest.split_at(len);
        groups.push(group);
        rest = tail;
    }
    groups
        .into_par_iter()
        .with_min_len(256)
        .map(|group| {
            let mut children = [empty; ARITY];
            for &(i, v) in group {
                children[(i & 3) as usize] = v;
            }
            (group[0].0 >> 2, hash_node(&children))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_std::{test_rng, UniformRand};

    #[test]
    fn empty_tree_root_is_the_ladder() {
        for d in 1..=MAX_DEPTH {
            assert_eq!(StateTree::new(d).unwrap().root(), empty_roots()[d]);
        }
        assert_eq!(StateTree::new(0).unwrap_err(), TreeError::DepthOutOfRange(0));
        assert_eq!(StateTree::new(17).unwrap_err(), TreeError::DepthOutOfRange(17));
    }

    #[test]
    fn updates_paths_and_bulk_build_agree() {
        let mut rng = test_rng();
        let depth = 3;
        let mut tree = StateTree::new(depth).unwrap();
        let mut leaves = Vec::new();
        for index in [1u64, 2, 5, 17, 63, 40, 41] {
            let leaf = Fr::rand(&mut rng);
            let root = tree.set_leaf(index, leaf).unwrap();
            assert_eq!(tree.path(index).unwrap().root(leaf), root);
            leaves.push((index, leaf));
        }
        let bulk = StateTree::from_leaves(depth, leaves.clone()).unwrap();
        assert_eq!(bulk.root(), tree.root());
        for &(index, leaf) in &leaves {
            assert_eq!(tree.path(index).unwrap().root(leaf), tree.root());
            assert_eq!(bulk.path(index).unwrap(), tree.path(index).unwrap());
        }
        // Clearing every leaf gives back the empty tree and stores nothing.
        for &(index, _) in &leaves {
            tree.set_leaf(index, Fr::from(0u64)).unwrap();
        }
        assert_eq!(tree.root(), empty_roots()[depth]);
        assert_eq!(tree.stored_nodes(), 0);
    }

    #[test]
    fn bulk_build_refuses_duplicates_and_out_of_range() {
        let one = Fr::from(1u64);
        assert_eq!(StateTree::from_leaves(2, vec![(3, one), (3, one)]).unwrap_err(), TreeError::DuplicateIndex(3));
        assert_eq!(
            StateTree::from_leaves(2, vec![(16, one)]).unwrap_err(),
            TreeError::IndexOutOfRange { index: 16, depth: 2, capacity: 16 }
        );
    }

    #[test]
    fn depth_16_holds_the_last_slot() {
        let mut tree = StateTree::new(16).unwrap();
        let last = (1u64 << 32) - 1;
        let root = tree.set_leaf(last, Fr::from(7u64)).unwrap();
        assert_eq!(tree.path(last).unwrap().root(Fr::from(7u64)), root);
        assert!(tree.set_leaf(last + 1, Fr::from(7u64)).is_err());
    }
}
