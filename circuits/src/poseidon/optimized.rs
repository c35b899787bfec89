//! The partial rounds of Poseidon in sparse form.
//!
//! Two rewrites, both exact:
//! 1. Constants. In a partial round the S-box touches lane 0 only, so the constant added to lanes
//!    `1..t` before it commutes with the S-box and can be carried through the round's matrix into
//!    the next round's constant. After this pass every constant that enters a partial S-box is
//!    zero outside lane 0.
//! 2. Matrices. Split a matrix `A = [[a00, r], [c, Â]]` as `A = A' · A''` with
//!    `A' = diag(1, Â)` and `A'' = [[a00, r], [Â⁻¹c, I]]`. `A'` leaves lane 0 alone, so it commutes
//!    with the partial S-box and with a lane-0 constant and can be folded into the next round's
//!    matrix (`M · A'`). Each partial round then applies only the sparse `A''` (`2t - 1`
//!    multiplications); the dense block left after the last partial round is applied once.

// Matrix code indexes as the formulas do.
#![allow(clippy::needless_range_loop)]

use ark_ff::{AdditiveGroup, Field};

use super::{mat_vec, sbox, FULL_ROUNDS};
use crate::Fr;

/// One partial round's sparse matrix `[[row[0], row[1..]], [col, I]]` and its lane-0 constant.
#[derive(Clone, Debug)]
pub struct SparseRound {
    /// First row of the sparse matrix (`t` entries).
    pub row: Vec<Fr>,
    /// First column below the diagonal (`t - 1` entries).
    pub col: Vec<Fr>,
    /// Constant added to lane 0 after the matrix (zero for the last partial round).
    pub constant: Fr,
}

/// Poseidon's rounds with folded constants and sparse partial-round matrices.
#[derive(Clone, Debug)]
pub struct OptimizedRounds {
    /// Added to the state before the first round.
    pub initial: Vec<Fr>,
    /// Added after each of the first half of full rounds.
    pub first_full: Vec<Vec<Fr>>,
    /// The partial rounds.
    pub partial: Vec<SparseRound>,
    /// Dense `(t-1) x (t-1)` block applied to lanes `1..t` after the last partial round.
    pub closing_block: Vec<Vec<Fr>>,
    /// Added after the closing block.
    pub after_partial: Vec<Fr>,
    /// Added after each of the second half of full rounds (the last one is zero).
    pub second_full: Vec<Vec<Fr>>,
}

impl OptimizedRounds {
    /// Derive the optimized form from the plain round constants and MDS matrix.
    pub fn new(round_constants: &[Vec<Fr>], mds: &[Vec<Fr>], partial_rounds: usize) -> Self {
        let t = mds.len();
        let half = FULL_ROUNDS / 2;
        let rounds = FULL_ROUNDS + partial_rounds;
        // c[r] is added at the end of round r - 1 (c[0] before round 0); c[rounds] is zero.
        let mut c: Vec<Vec<Fr>> = round_constants.to_vec();
        c.push(vec![Fr::ZERO; t]);

        // 1. Fold constants: keep lane 0 of each constant entering a partial S-box.
        for r in half..half + partial_rounds {
            let mut rest = c[r].clone();
            rest[0] = Fr::ZERO;
            let carried = mat_vec(mds, &rest);
            for lane in 1..t {
                c[r][lane] = Fr::ZERO;
            }
            for (next, add) in c[r + 1].iter_mut().zip(carried) {
                *next += add;
            }
        }

        // 2. Factor the partial rounds' matrices.
        let mut a: Vec<Vec<Fr>> = mds.to_vec();
        let mut partial = Vec::with_capacity(partial_rounds);
        let mut block = Vec::new();
        for j in 0..partial_rounds {
            block = a[1..].iter().map(|row| row[1..].to_vec()).collect::<Vec<_>>();
            let inverse = invert(&block);
            let a_col: Vec<Fr> = a[1..].iter().map(|row| row[0]).collect();
            let col = mat_vec(&inverse, &a_col);
            let r = half + j;
            let constant = if j + 1 < partial_rounds { c[r + 1][0] } else { Fr::ZERO };
            partial.push(SparseRound { row: a[0].clone(), col, constant });
            // Next matrix: M · diag(1, block).
            a = mds
                .iter()
                .map(|m_row| {
                    let mut out = vec![m_row[0]];
                    for k in 0..t - 1 {
                        out.push((0..t - 1).map(|i| m_row[i + 1] * block[i][k]).sum());
                    }
                    out
                })
                .collect();
        }

        OptimizedRounds {
            initial: c[0].clone(),
            first_full: c[1..=half].to_vec(),
            partial,
            closing_block: block,
            after_partial: c[half + partial_rounds].clone(),
            second_full: c[half + partial_rounds + 1..=rounds].to_vec(),
        }
    }

    /// Apply the permutation to `state` in place.
    pub fn permute(&self, state: &mut [Fr], mds: &[Vec<Fr>]) {
        let t = state.len();
        add_assign(state, &self.initial);
        for constants in &self.first_full {
            full_round(state, mds, constants);
        }
        for round in &self.partial {
            let y0 = sbox(state[0]);
            let mut x0 = round.row[0] * y0;
            for i in 1..t {
                x0 += round.row[i] * state[i];
                state[i] += round.col[i - 1] * y0;
            }
            state[0] = x0 + round.constant;
        }
        let tail = mat_vec(&self.closing_block, &state[1..]);
        state[1..].copy_from_slice(&tail);
        add_assign(state, &self.after_partial);
        for constants in &self.second_full {
            full_round(state, mds, constants);
        }
    }
}

fn full_round(state: &mut [Fr], mds: &[Vec<Fr>], constants: &[Fr]) {
    let mut sboxed = [Fr::ZERO; super::MAX_INPUTS + 1];
    let t = state.len();
    for (out, x) in sboxed.iter_mut().zip(state.iter()) {
        *out = sbox(*x);
    }
    for (i, lane) in state.iter_mut().enumerate() {
        let row = &mds[i];
        let mut acc = constants[i];
        for j in 0..t {
            acc += row[j] * sboxed[j];
        }
        *lane = acc;
    }
}

fn add_assign(state: &mut [Fr], constants: &[Fr]) {
    for (lane, c) in state.iter_mut().zip(constants) {
        *lane += c;
    }
}

/// Gauss-Jordan inverse of a square matrix; Poseidon's blocks are always invertible (sub-matrices
/// of an MDS matrix and products of them).
fn invert(m: &[Vec<Fr>]) -> Vec<Vec<Fr>> {
    let n = m.len();
    let mut a: Vec<Vec<Fr>> = m.to_vec();
    let mut inv: Vec<Vec<Fr>> =
        (0..n).map(|i| (0..n).map(|j| if i == j { Fr::ONE } else { Fr::ZERO }).collect()).collect();
    for col in 0..n {
        let pivot = (col..n).find(|&r| !ark_ff::Zero::is_zero(&a[r][col])).expect("Poseidon block is invertible");
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let p = a[col][col].inverse().expect("pivot is non-zero");
        for j in 0..n {
            a[col][j] *= p;
            inv[col][j] *= p;
        }
        for r in 0..n {
            if r != col && !ark_ff::Zero::is_zero(&a[r][col]) {
                let f = a[r][col];
                for j in 0..n {
                    let (ac, ic) = (a[col][j], inv[col][j]);
                    a[r][j] -= f * ac;
                    inv[r][j] -= f * ic;
                }
            }
        }
    }
    inv
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_std::{test_rng, UniformRand};

    #[test]
    fn inverse_times_matrix_is_identity() {
        let mut rng = test_rng();
        let m: Vec<Vec<Fr>> = (0..4).map(|_| (0..4).map(|_| Fr::rand(&mut rng)).collect()).collect();
        let inv = invert(&m);
        for i in 0..4 {
            for j in 0..4 {
                let v: Fr = (0..4).map(|k| m[i][k] * inv[k][j]).sum();
                assert_eq!(v, if i == j { Fr::ONE } else { Fr::ZERO });
            }
        }
    }
}
