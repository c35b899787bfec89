//! The QAP witness map, `h(X) = (A(X) B(X) - C(X)) / Z(X)`, computed with less work than
//! ark-groth16's `LibsnarkReduction` and with the same result (the quotient is unique, so the
//! coefficients are equal; tested):
//!
//! - The rows `A z` and `B z` are evaluated once, together with the satisfaction check, and
//!   `C z` is taken as `A z * B z` (true on every row of a satisfied system, padding included),
//!   so `C` is never multiplied out for the QAP.
//! - Six transforms, not seven: on the coset of 2n-th roots of unity the quotient is half the
//!   difference of two interpolations, so `C z` is interpolated but never taken to the coset
//!   (see [`Domain::quotient`]).
//! - Each "inverse FFT, then FFT on the coset" pair is one decimation-in-frequency transform
//!   (natural order in, bit-reversed out) followed by one decimation-in-time transform
//!   (bit-reversed in, natural out): no bit-reversal permutation between them, and the coset
//!   shift and the `1/n` (or `1/(2n)`) are folded into one scaling pass.
//! - Stages whose butterflies span less than a block run block by block while the block is in
//!   cache; the scaling between the two transforms runs there too.

use ark_ff::{FftField, Field, One, Zero};
use rayon::prelude::*;

use super::arith::sub;
use super::sparse::SparseMatrices;
use crate::Fr;

/// log2 of the block that the short stages run in: 2^12 elements, 128 KiB, with its twiddles
/// well inside a core's L2 cache.
const BLOCK_LOG: u32 = 12;

/// Butterflies a task takes in the long stages.
const TASK: usize = 1 << 12;

/// A power-of-two evaluation domain with its twiddle tables, built once per circuit shape.
pub struct Domain {
    log_n: u32,
    /// `omega^j` for `j < n/2`.
    roots: Vec<Fr>,
    /// `omega^-j` for `j < n/2`.
    inv_roots: Vec<Fr>,
    /// The coset generator `g` of the general path (ark-ff's multiplicative generator, as
    /// ark-groth16 uses).
    g: Fr,
    /// A primitive 2n-th root of unity, where the field has one.
    root_2n: Option<Fr>,
}

impl Domain {
    /// The smallest power-of-two domain with at least `size` points, or `None` past the field's
    /// two-adicity.
    pub fn new(size: usize) -> Option<Domain> {
        let n = size.max(1).checked_next_power_of_two()?;
        let log_n = n.trailing_zeros();
        if log_n > Fr::TWO_ADICITY {
            return None;
        }
        let omega = Fr::get_root_of_unity(n as u64)?;
        let omega_inv = omega.inverse()?;
        let (roots, inv_roots) = rayon::join(|| powers(omega, n / 2), || powers(omega_inv, n / 2));
        let root_2n = Fr::get_root_of_unity(2 * n as u64);
        Some(Domain { log_n, roots, inv_roots, g: Fr::GENERATOR, root_2n })
    }

    /// The number of points.
    pub fn size(&self) -> usize {
        1 << self.log_n
    }

    /// The coefficients of `h = (A B - C) / Z` from the row evaluations `a = A z`, `b = B z`
    /// (padded to the domain's size), for a satisfied system (`C z = A z * B z`). Consumes both.
    ///
    /// Six transforms instead of seven. Take the coset `w H` with `w` a primitive 2n-th root of
    /// unity, so that `X^n = -1` there, and write `P = A B = P_lo + X^n P_hi` (degrees below n).
    /// Then `C = P mod Z = P_lo + P_hi`, so the quotient `h` is `P_hi`; on H, P agrees with
    /// `P_lo + P_hi` (its values are `a * b`), and on `w H` with `P_lo - P_hi`. Hence
    /// `h = (interpolate(a * b on H) - interpolate(A B on wH)) / 2`: `C` never goes to the coset.
    pub fn quotient(&self, mut a: Vec<Fr>, mut b: Vec<Fr>) -> Vec<Fr> {
        let Some(w) = self.root_2n else {
            // A domain of 2^TWO_ADICITY points has no 2n-th root: the general path.
            let c: Vec<Fr> = a.par_iter().zip(b.par_iter()).map(|(x, y)| *x * y).collect();
            return self.quotient_with(a, b, c);
        };
        let n = self.size();
        assert!(a.len() == n && b.len() == n, "row evaluations padded to the domain size");
        let mut c: Vec<Fr> = a.par_iter().zip(b.par_iter()).map(|(x, y)| *x * y).collect();
        let n_inv = Fr::from(n as u64).inverse().expect("n < r");
        let half_n_inv = n_inv * Fr::from(2u64).inverse().expect("2 != 0");
        let to_coset = self.scaling(w, n_inv);
        // Both interpolations end in bit-reversed order, scaled by 1/(2n) (and w^-k on the coset).
        let on_h = self.scaling(Fr::one(), half_n_inv);
        let from_coset = self.scaling(w.inverse().expect("w != 0"), half_n_inv);
        rayon::join(
            || rayon::join(|| self.to_coset(&mut a, &to_coset), || self.to_coset(&mut b, &to_coset)),
            || self.interpolate(&mut c, &on_h),
        );
        a.par_iter_mut().zip(b.par_iter()).for_each(|(x, y)| *x *= y);
        drop(b);
        self.interpolate(&mut a, &from_coset);
        let bits = self.log_n;
        (0..n).into_par_iter().map(|i| c[bit_reverse(i, bits)] - a[bit_reverse(i, bits)]).collect()
    }

    /// The H scalars of a snarkjs (circom) key from the row evaluations `a = A z`, `b = B z`
    /// on the domain H (padded to its size): `p_j = a'_j b'_j - c'_j` at the odd points
    /// `w^(2j+1)` of the 2n domain, where `'` takes a row's interpolant to those points and
    /// `c = a * b` on H. The key's H points are `L^{2n}_{2j+1}(tau) / delta`, and
    /// `A B - C` (degree at most 2n - 2) vanishes on H, the even points, so
    /// `sum_j p_j L^{2n}_{2j+1}(tau) = h(tau) Z(tau)`: no division by Z, no transform back.
    /// Six transforms, as snarkjs and rapidsnark do.
    pub fn odd_point_scalars(&self, mut a: Vec<Fr>, mut b: Vec<Fr>) -> Vec<Fr> {
        let n = self.size();
        assert!(a.len() == n && b.len() == n, "row evaluations padded to the domain size");
        let w = self.root_2n.expect("a domain below 2^28 points has a 2n-th root of unity");
        let mut c: Vec<Fr> = a.par_iter().zip(b.par_iter()).map(|(x, y)| *x * y).collect();
        let n_inv = Fr::from(n as u64).inverse().expect("n < r");
        let to_odd = self.scaling(w, n_inv);
        rayon::join(
            || rayon::join(|| self.to_coset(&mut a, &to_odd), || self.to_coset(&mut b, &to_odd)),
            || self.to_coset(&mut c, &to_odd),
        );
        a.par_iter_mut().zip(b.par_iter()).zip(c.par_iter()).for_each(|((x, y), z)| *x = *x * y - z);
        a
    }

    /// Natural-order evaluations to bit-reversed coefficients, times the scaling.
    fn interpolate(&self, x: &mut [Fr], scale: &Scaling) {
        self.dif_long(x, &self.inv_roots);
        let (blk, small_inv) = (self.block(), self.small(&self.inv_roots));
        x.par_chunks_mut(blk).enumerate().for_each(|(q, x)| {
            dif_short(x, &small_inv);
            scale.apply(q, x);
        });
    }

    /// The same from all three row evaluations, `c = C z` included: for a system that may be
    /// unsatisfied (soundness tests prove such witnesses; the result is then no polynomial).
    pub fn quotient_with(&self, mut a: Vec<Fr>, mut b: Vec<Fr>, mut c: Vec<Fr>) -> Vec<Fr> {
        let n = self.size();
        assert!(a.len() == n && b.len() == n && c.len() == n, "row evaluations padded to the domain size");
        let n_inv = Fr::from(n as u64).inverse().expect("n < r");
        // Evaluations on H to evaluations on gH: coefficient k is scaled by g^k / n.
        let to_coset = self.scaling(self.g, n_inv);
        rayon::join(
            || self.to_coset(&mut a, &to_coset),
            || rayon::join(|| self.to_coset(&mut b, &to_coset), || self.to_coset(&mut c, &to_coset)),
        );
        // Z(gX) = g^n - 1 on the whole coset.
        let z_inv = (self.g.pow([n as u64]) - Fr::one()).inverse().expect("g is not an n-th root of unity");
        a.par_iter_mut().zip(b.par_iter()).zip(c.par_iter()).for_each(|((x, y), z)| *x = *x * y - z);
        drop((b, c));
        // Back from the coset: coefficient k is scaled by g^-k / n, times 1/Z.
        let from_coset = self.scaling(self.g.inverse().expect("g != 0"), n_inv * z_inv);
        self.interpolate(&mut a, &from_coset);
        // Bit-reversed to natural order.
        let bits = self.log_n;
        (0..n).into_par_iter().map(|i| a[bit_reverse(i, bits)]).collect()
    }

    /// Natural-order evaluations on H to natural-order evaluations on the coset gH.
    fn to_coset(&self, x: &mut [Fr], scale: &Scaling) {
        self.dif_long(x, &self.inv_roots);
        let (blk, small_inv, small) = (self.block(), self.small(&self.inv_roots), self.small(&self.roots));
        x.par_chunks_mut(blk).enumerate().for_each(|(q, x)| {
            dif_short(x, &small_inv);
            scale.apply(q, x);
            dit_short(x, &small);
        });
        self.dit_long(x, &self.roots);
    }

    fn block(&self) -> usize {
        1 << self.log_n.min(BLOCK_LOG)
    }

    /// The twiddles of a block's stages: `t[j * n / block]` for `j < block / 2`.
    fn small(&self, t: &[Fr]) -> Vec<Fr> {
        let step = self.size() / self.block();
        t.iter().step_by(step.max(1)).take(self.block() / 2).copied().collect()
    }

    /// Multipliers `u^bitrev(p) * k` for the bit-reversed positions p, in two small tables:
    /// with p = q * block + r, bitrev(p) = bitrev(r) * (n / block) + bitrev(q).
    fn scaling(&self, u: Fr, k: Fr) -> Scaling {
        let (n, blk) = (self.size(), self.block());
        let (block_bits, outer_bits) = (blk.trailing_zeros(), self.log_n - blk.trailing_zeros());
        let stride = u.pow([(n / blk) as u64]);
        let inner_pows = powers(stride, blk);
        let inner = (0..blk).map(|r| inner_pows[bit_reverse(r, block_bits)]).collect();
        let outer_pows = powers(u, n / blk);
        let outer = (0..n / blk).map(|q| outer_pows[bit_reverse(q, outer_bits)] * k).collect();
        Scaling { inner, outer }
    }

    /// The stages of a decimation-in-frequency transform whose butterflies span more than a
    /// block, largest first.
    fn dif_long(&self, x: &mut [Fr], t: &[Fr]) {
        let n = x.len();
        let mut m = n / 2;
        while m >= self.block() {
            let stride = n / (2 * m);
            stage(x, m, |lo, hi, j0| {
                for (k, (u, v)) in lo.iter_mut().zip(hi.iter_mut()).enumerate() {
                    let d = sub(u, v);
                    *u += *v;
                    *v = d * t[(j0 + k) * stride];
                }
            });
            m /= 2;
        }
    }

    /// The stages of a decimation-in-time transform whose butterflies span a block or more,
    /// smallest first.
    fn dit_long(&self, x: &mut [Fr], t: &[Fr]) {
        let n = x.len();
        let mut m = self.block();
        while m < n {
            let stride = n / (2 * m);
            stage(x, m, |lo, hi, j0| {
                for (k, (u, v)) in lo.iter_mut().zip(hi.iter_mut()).enumerate() {
                    let w = *v * t[(j0 + k) * stride];
                    *v = sub(u, &w);
                    *u += w;
                }
            });
            m *= 2;
        }
    }
}

/// One long stage: every block of 2m elements, its halves cut into tasks that run in parallel.
fn stage(x: &mut [Fr], m: usize, butterflies: impl Fn(&mut [Fr], &mut [Fr], usize) + Sync) {
    x.par_chunks_mut(2 * m).for_each(|chunk| {
        let (lo, hi) = chunk.split_at_mut(m);
        lo.par_chunks_mut(TASK).zip(hi.par_chunks_mut(TASK)).enumerate().for_each(|(i, (l, h))| butterflies(l, h, i * TASK));
    });
}

/// All decimation-in-frequency stages inside one block (natural in, bit-reversed out), with
/// `small[j * len / (2m)]` the twiddle of butterfly j at half-span m.
fn dif_short(x: &mut [Fr], small: &[Fr]) {
    let len = x.len();
    let mut m = len / 2;
    while m >= 1 {
        let stride = len / (2 * m);
        for chunk in x.chunks_exact_mut(2 * m) {
            let (lo, hi) = chunk.split_at_mut(m);
            for (j, (u, v)) in lo.iter_mut().zip(hi.iter_mut()).enumerate() {
                let d = sub(u, v);
                *u += *v;
                *v = if j == 0 { d } else { d * small[j * stride] };
            }
        }
        m /= 2;
    }
}

/// All decimation-in-time stages inside one block (bit-reversed in, natural out).
fn dit_short(x: &mut [Fr], small: &[Fr]) {
    let len = x.len();
    let mut m = 1;
    while m < len {
        let stride = len / (2 * m);
        for chunk in x.chunks_exact_mut(2 * m) {
            let (lo, hi) = chunk.split_at_mut(m);
            for (j, (u, v)) in lo.iter_mut().zip(hi.iter_mut()).enumerate() {
                let w = if j == 0 { *v } else { *v * small[j * stride] };
                *v = sub(u, &w);
                *u += w;
            }
        }
        m *= 2;
    }
}

/// Per-position multipliers for bit-reversed data, factored by block (see [`Domain::scaling`]).
struct Scaling {
    inner: Vec<Fr>,
    outer: Vec<Fr>,
}

impl Scaling {
    /// Scale block `q` of bit-reversed data.
    fn apply(&self, q: usize, x: &mut [Fr]) {
        let k = self.outer[q];
        for (v, s) in x.iter_mut().zip(&self.inner) {
            *v *= *s * k;
        }
    }
}

/// `1, u, u^2, ..., u^(len-1)`, in parallel chunks.
fn powers(u: Fr, len: usize) -> Vec<Fr> {
    let mut out = vec![Fr::zero(); len];
    out.par_chunks_mut(TASK).enumerate().for_each(|(i, chunk)| {
        let mut p = u.pow([(i * TASK) as u64]);
        for v in chunk {
            *v = p;
            p *= u;
        }
    });
    out
}

fn bit_reverse(i: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        i.reverse_bits() >> (usize::BITS - bits)
    }
}

/// `A z`, `B z` and `C z` padded to `domain_size`, without the satisfaction check.
pub fn evaluate_rows_unchecked(m: &SparseMatrices, z: &[Fr], domain_size: usize) -> [Vec<Fr>; 3] {
    let (rows, num_instance) = (m.num_constraints(), m.num_instance);
    assert!(rows + num_instance <= domain_size, "the domain holds every row");
    let mut out: [Vec<Fr>; 3] = std::array::from_fn(|k| {
        let mut v = vec![Fr::zero(); domain_size];
        v[..rows].par_iter_mut().enumerate().for_each(|(i, x)| *x = m.dot(k, i, z));
        v
    });
    out[0][rows..rows + num_instance].copy_from_slice(&z[..num_instance]);
    out
}

/// `A z` and `B z` padded to `domain_size` (the instance rows that follow the constraints carry
/// `z_i` in A, as in libsnark's reduction), or the first constraint `i` with
/// `(A z)_i (B z)_i != (C z)_i`.
pub fn evaluate_rows(m: &SparseMatrices, z: &[Fr], domain_size: usize) -> Result<(Vec<Fr>, Vec<Fr>), usize> {
    let (rows, num_instance) = (m.num_constraints(), m.num_instance);
    assert!(rows + num_instance <= domain_size, "the domain holds every row");
    let mut a = vec![Fr::zero(); domain_size];
    let mut b = vec![Fr::zero(); domain_size];
    let bad = a[..rows]
        .par_iter_mut()
        .zip(b[..rows].par_iter_mut())
        .enumerate()
        .with_min_len(1024)
        .filter_map(|(i, (ai, bi))| {
            *ai = m.dot(0, i, z);
            *bi = m.dot(1, i, z);
            (*ai * *bi != m.dot(2, i, z)).then_some(i)
        })
        .min();
    if let Some(i) = bad {
        return Err(i);
    }
    a[rows..rows + num_instance].copy_from_slice(&z[..num_instance]);
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use ark_groth16::r1cs_to_qap::{LibsnarkReduction, R1CSToQAP};
    use ark_relations::gr1cs::Matrix;
    use ark_poly::{EvaluationDomain, GeneralEvaluationDomain};
    use ark_std::rand::{rngs::StdRng, SeedableRng};

    /// A random satisfied system: rows with random A and B terms and C = one fresh variable
    /// holding their product, over `vars` variables of which `inputs` are instance variables.
    fn random_system(rows: usize, inputs: usize, rng: &mut StdRng) -> (Vec<Matrix<Fr>>, Vec<Fr>) {
        let base = inputs + 4;
        let mut z: Vec<Fr> = (0..base).map(|_| Fr::rand(rng)).collect();
        z[0] = Fr::one();
        let (mut ma, mut mb, mut mc) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..rows {
            let pick = |k: usize| (Fr::from((k * 7 + i) as u64 % 5), (i * 31 + k * 17) % base);
            let ra: Vec<(Fr, usize)> = (0..3).map(pick).collect();
            let rb: Vec<(Fr, usize)> = (3..5).map(pick).collect();
            let eval = |r: &[(Fr, usize)]| r.iter().map(|(c, v)| *c * z[*v]).sum::<Fr>();
            let product = eval(&ra) * eval(&rb);
            z.push(product);
            mc.push(vec![(Fr::one(), z.len() - 1)]);
            ma.push(ra);
            mb.push(rb);
        }
        (vec![ma, mb, mc], z)
    }

    fn sparse(m: &[Matrix<Fr>], inputs: usize, z: &[Fr]) -> SparseMatrices {
        SparseMatrices::from_ark(m, inputs, z.len())
    }

    fn ours(m: &[Matrix<Fr>], inputs: usize, z: &[Fr]) -> Vec<Fr> {
        let d = Domain::new(m[0].len() + inputs).unwrap();
        let (a, b) = evaluate_rows(&sparse(m, inputs, z), z, d.size()).unwrap();
        d.quotient(a, b)
    }

    #[test]
    fn quotient_equals_libsnark_reductions_at_every_size() {
        let mut rng = StdRng::seed_from_u64(5);
        // Sizes below, at and above one block, powers of two and not.
        for rows in [0, 1, 2, 3, 7, 100, 1000, 4093, 4094, 5000, 9000, 20000] {
            for inputs in [1, 3] {
                let (m, z) = random_system(rows, inputs, &mut rng);
                let stock = LibsnarkReduction::witness_map_from_matrices::<Fr, GeneralEvaluationDomain<Fr>>(&m, inputs, rows, &z).unwrap();
                assert_eq!(ours(&m, inputs, &z), stock, "{rows} rows, {inputs} inputs");
            }
        }
    }

    #[test]
    fn coset_transform_matches_ark_poly() {
        let mut rng = StdRng::seed_from_u64(6);
        for log in [1, 2, 5, 12, 13, 15] {
            let d = Domain::new(1 << log).unwrap();
            let ark = GeneralEvaluationDomain::<Fr>::new(1 << log).unwrap();
            let evals: Vec<Fr> = (0..1 << log).map(|_| Fr::rand(&mut rng)).collect();
            let mut expected = ark.ifft(&evals);
            ark.get_coset(Fr::GENERATOR).unwrap().fft_in_place(&mut expected);
            let mut got = evals.clone();
            let n_inv = Fr::from(d.size() as u64).inverse().unwrap();
            d.to_coset(&mut got, &d.scaling(d.g, n_inv));
            assert_eq!(got, expected, "2^{log}");
        }
    }

    #[test]
    fn an_unsatisfied_system_gives_libsnarks_result_too() {
        let mut rng = StdRng::seed_from_u64(8);
        for rows in [5, 4094, 9000] {
            let (m, mut z) = random_system(rows, 2, &mut rng);
            z[6 + rows / 2] += Fr::one();
            let d = Domain::new(rows + 2).unwrap();
            let [a, b, c] = evaluate_rows_unchecked(&sparse(&m, 2, &z), &z, d.size());
            let stock = LibsnarkReduction::witness_map_from_matrices::<Fr, GeneralEvaluationDomain<Fr>>(&m, 2, rows, &z).unwrap();
            assert_eq!(d.quotient_with(a, b, c), stock, "{rows} rows");
        }
    }

    #[test]
    fn an_unsatisfied_row_is_named() {
        let mut rng = StdRng::seed_from_u64(7);
        let (m, mut z) = random_system(50, 2, &mut rng);
        // Variable 6 + 20 is row 20's C variable.
        z[6 + 20] += Fr::one();
        assert_eq!(evaluate_rows(&sparse(&m, 2, &z), &z, 64).unwrap_err(), 20);
    }
}
