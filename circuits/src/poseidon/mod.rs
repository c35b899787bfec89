//! Poseidon as circomlib defines it (`poseidon.circom`, circomlibjs `buildPoseidon`).
//!
//! Width `t = inputs + 1`, x^5 S-box, 8 full rounds, the partial rounds of [`PARTIAL_ROUNDS`], state
//! `[0, x1, .., xk]`, output lane 0. Round constants and MDS matrices are not embedded: they are
//! generated with the Grain LFSR of the Poseidon reference (ark-crypto-primitives'
//! `find_poseidon_ark_and_mds`), which reproduces circomlib's `poseidon_constants` exactly; the
//! interoperability tests compare both the constants and the hashes with circomlibjs.
//!
//! Hashing uses the sparse-matrix form of the partial rounds (Poseidon paper, appendix B): the
//! partial rounds cost `2t - 1` multiplications for the linear layer instead of `t^2`. The plain
//! form is kept as [`Poseidon::hash_reference`] and the two are tested against each other.

pub mod constraints;
mod optimized;

use std::sync::OnceLock;

use ark_crypto_primitives::sponge::poseidon::find_poseidon_ark_and_mds;
use ark_ff::{AdditiveGroup, Field};

use crate::Fr;

pub use optimized::OptimizedRounds;

/// The largest number of inputs supported (circomlib's limit: width 17).
pub const MAX_INPUTS: usize = 16;
/// Full rounds, for every width.
pub const FULL_ROUNDS: usize = 8;
/// circomlib's partial rounds for widths 2 to 17 (`PARTIAL_ROUNDS[t - 2]`).
pub const PARTIAL_ROUNDS: [usize; MAX_INPUTS] =
    [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68];

/// The parameters of Poseidon for one width, with the optimized round form precomputed.
#[derive(Clone, Debug)]
pub struct Poseidon {
    /// State width `t = inputs + 1`.
    pub width: usize,
    /// Number of partial rounds.
    pub partial_rounds: usize,
    /// Round constants, one vector of `width` per round.
    pub round_constants: Vec<Vec<Fr>>,
    /// The MDS matrix; the linear layer computes `new[i] = sum_j mds[i][j] * state[j]`.
    pub mds: Vec<Vec<Fr>>,
    optimized: OptimizedRounds,
}

static PARAMS: [OnceLock<Poseidon>; MAX_INPUTS] = [const { OnceLock::new() }; MAX_INPUTS];

impl Poseidon {
    /// The parameters for `inputs` inputs (1 to [`MAX_INPUTS`]), generated once per process.
    pub fn for_inputs(inputs: usize) -> Option<&'static Poseidon> {
        if !(1..=MAX_INPUTS).contains(&inputs) {
            return None;
        }
        Some(PARAMS[inputs - 1].get_or_init(|| Poseidon::generate(inputs)))
    }

    fn generate(inputs: usize) -> Poseidon {
        let width = inputs + 1;
        let partial_rounds = PARTIAL_ROUNDS[inputs - 1];
        let (round_constants, mds) = find_poseidon_ark_and_mds::<Fr>(
            254,
            inputs,
            FULL_ROUNDS as u64,
            partial_rounds as u64,
            0,
        );
        let optimized = OptimizedRounds::new(&round_constants, &mds, partial_rounds);
        Poseidon { width, partial_rounds, round_constants, mds, optimized }
    }

    /// The parameters used inside the optimized rounds (the gadget reuses them).
    pub fn optimized(&self) -> &OptimizedRounds {
        &self.optimized
    }

    /// Hash exactly `width - 1` inputs.
    ///
    /// # Panics
    /// If `inputs.len() != self.width - 1`: arities are fixed by the protocol, so a mismatch is a
    /// programming error, not bad input.
    pub fn hash(&self, inputs: &[Fr]) -> Fr {
        assert_eq!(inputs.len() + 1, self.width, "Poseidon of width {} takes {} inputs", self.width, self.width - 1);
        let mut state = Vec::with_capacity(self.width);
        state.push(Fr::ZERO);
        state.extend_from_slice(inputs);
        self.optimized.permute(&mut state, &self.mds);
        state[0]
    }

    /// Hash with the textbook round structure: the definition, kept to test the fast path.
    pub fn hash_reference(&self, inputs: &[Fr]) -> Fr {
        assert_eq!(inputs.len() + 1, self.width);
        let mut state = vec![Fr::ZERO];
        state.extend_from_slice(inputs);
        let half = FULL_ROUNDS / 2;
        for (round, constants) in self.round_constants.iter().enumerate() {
            for (lane, c) in state.iter_mut().zip(constants) {
                *lane += c;
            }
            let full = round < half || round >= half + self.partial_rounds;
            let sboxed = if full { state.len() } else { 1 };
            for lane in &mut state[..sboxed] {
                *lane = sbox(*lane);
            }
            state = mat_vec(&self.mds, &state);
        }
        state[0]
    }
}

/// `x^5`, Poseidon's S-box over BN254.
#[inline(always)]
pub(crate) fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// `m * v` for a square matrix stored by rows.
pub(crate) fn mat_vec(m: &[Vec<Fr>], v: &[Fr]) -> Vec<Fr> {
    m.iter().map(|row| row.iter().zip(v).map(|(a, b)| *a * b).sum()).collect()
}

/// circomlib's Poseidon of 1 to 16 inputs.
///
/// # Panics
/// If `inputs` is empty or longer than [`MAX_INPUTS`] (a programming error: arities are fixed).
pub fn poseidon(inputs: &[Fr]) -> Fr {
    Poseidon::for_inputs(inputs.len())
        .unwrap_or_else(|| panic!("Poseidon takes 1 to {MAX_INPUTS} inputs, got {}", inputs.len()))
        .hash(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_std::{test_rng, UniformRand};
    use ark_ff::AdditiveGroup;
    use std::str::FromStr;

    fn fr(s: &str) -> Fr {
        Fr::from_str(s).unwrap()
    }

    #[test]
    fn spec_vectors() {
        assert_eq!(
            poseidon(&[Fr::from(1u64), Fr::from(2u64)]),
            fr("7853200120776062878684798364095072458815029376092732009249414926327459813530")
        );
        let four: Vec<Fr> = (1..=4u64).map(Fr::from).collect();
        assert_eq!(
            poseidon(&four),
            fr("18821383157269793795438455681495246036402687001665670618754263018637548127333")
        );
    }

    #[test]
    fn optimized_rounds_equal_the_definition_for_every_width() {
        let mut rng = test_rng();
        for inputs in 1..=MAX_INPUTS {
            let p = Poseidon::for_inputs(inputs).unwrap();
            for _ in 0..4 {
                let x: Vec<Fr> = (0..inputs).map(|_| Fr::rand(&mut rng)).collect();
                assert_eq!(p.hash(&x), p.hash_reference(&x), "width {}", inputs + 1);
            }
            let zeros = vec![Fr::ZERO; inputs];
            assert_eq!(p.hash(&zeros), p.hash_reference(&zeros));
        }
    }

    #[test]
    fn arity_outside_the_supported_range_has_no_parameters() {
        assert!(Poseidon::for_inputs(0).is_none());
        assert!(Poseidon::for_inputs(MAX_INPUTS + 1).is_none());
    }
}
