//! The quaternary Poseidon Merkle tree's hashing: one level, empty-subtree roots, whole paths.
//!
//! A node is `H(c0, c1, c2, c3)`. Digit `i` (base 4, least significant first) of a slot index is
//! the position of the path's node among its siblings at height `i`.

pub mod constraints;

use std::sync::OnceLock;

use crate::poseidon::Poseidon;
use crate::Fr;

/// Children per node.
pub const ARITY: usize = 4;
/// The deepest tree supported (`4^16 = 2^32` slots).
pub const MAX_DEPTH: usize = 16;

/// `H(c0, c1, c2, c3)`.
pub fn hash_node(children: &[Fr; ARITY]) -> Fr {
    static P: OnceLock<&'static Poseidon> = OnceLock::new();
    P.get_or_init(|| Poseidon::for_inputs(ARITY).expect("4 inputs are supported")).hash(children)
}

/// Roots of empty subtrees by height: `z0 = 0`, `z(k+1) = H(zk, zk, zk, zk)`, up to `MAX_DEPTH`.
pub fn empty_roots() -> &'static [Fr; MAX_DEPTH + 1] {
    static Z: OnceLock<[Fr; MAX_DEPTH + 1]> = OnceLock::new();
    Z.get_or_init(|| {
        let mut z = [Fr::from(0u64); MAX_DEPTH + 1];
        for k in 0..MAX_DEPTH {
            z[k + 1] = hash_node(&[z[k]; ARITY]);
        }
        z
    })
}

/// The four children of a node, given the path's node, its position (0..3) and the three
/// siblings in order of position.
pub fn place(node: Fr, position: usize, siblings: &[Fr; ARITY - 1]) -> [Fr; ARITY] {
    debug_assert!(position < ARITY);
    let mut children = [Fr::from(0u64); ARITY];
    let mut s = siblings.iter();
    for (p, child) in children.iter_mut().enumerate() {
        *child = if p == position { node } else { *s.next().expect("three siblings") };
    }
    children
}

/// The siblings of a slot from the leaf up: three per level, in order of position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerklePath {
    /// The slot's index in the tree.
    pub index: u64,
    /// `siblings[h]` are the three other children of the path's node at height `h`.
    pub siblings: Vec<[Fr; ARITY - 1]>,
}

impl MerklePath {
    /// The tree's depth.
    pub fn depth(&self) -> usize {
        self.siblings.len()
    }

    /// The position digit (0..3) of the path at height `h`.
    pub fn position(&self, h: usize) -> usize {
        ((self.index >> (2 * h)) & 3) as usize
    }

    /// The root of the tree holding `leaf` at this path's slot.
    pub fn root(&self, leaf: Fr) -> Fr {
        self.siblings.iter().enumerate().fold(leaf, |node, (h, siblings)| {
            hash_node(&place(node, self.position(h), siblings))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_ladder_starts_at_zero_and_hashes_up() {
        let z = empty_roots();
        assert_eq!(z[0], Fr::from(0u64));
        assert_eq!(z[1], crate::poseidon::poseidon(&[Fr::from(0u64); 4]));
        let path = MerklePath { index: 5, siblings: (0..3).map(|h| [z[h]; 3]).collect() };
        assert_eq!(path.root(Fr::from(0u64)), z[3]);
    }

    #[test]
    fn place_puts_the_node_at_its_position() {
        let s = [Fr::from(1u64), Fr::from(2u64), Fr::from(3u64)];
        let n = Fr::from(9u64);
        assert_eq!(place(n, 0, &s), [n, s[0], s[1], s[2]]);
        assert_eq!(place(n, 2, &s), [s[0], s[1], n, s[2]]);
        assert_eq!(place(n, 3, &s), [s[0], s[1], s[2], n]);
    }
}
