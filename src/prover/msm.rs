//! Multi-scalar multiplication on short Weierstrass curves (BN254 G1 and G2), the prover's hot
//! loop: Pippenger's bucket method with signed-digit windows (half the buckets), bucket
//! accumulation in affine coordinates with one shared inversion per batch of additions, a window
//! size from a cost model, and scalars grouped by bit length so that the many 0/1 and 64-bit
//! values of a circuit's witness pay only for the windows they use.
//!
//! Tested against ark-ec's `VariableBaseMSM` on random and adversarial inputs (below).

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AdditiveGroup, AffineRepr};
use ark_ff::{BigInteger, Field, PrimeField, Zero};
use rayon::prelude::*;

type BigIntOf<P> = <<P as ark_ec::CurveConfig>::ScalarField as PrimeField>::BigInt;

/// `sum_i scalars[i] * bases[i]`. Extra bases or scalars beyond the shorter slice are ignored,
/// as in ark-ec.
pub fn msm<P: SWCurveConfig>(bases: &[Affine<P>], scalars: &[BigIntOf<P>]) -> Projective<P> {
    let n = bases.len().min(scalars.len());
    let full_bits = <P::ScalarField as PrimeField>::MODULUS_BIT_SIZE as usize;
    // Group by bit length: 0 (dropped), 1 (a plain sum), then by the windows they need.
    let mut ones = Vec::new();
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); GROUP_BITS.len() + 1];
    for i in 0..n {
        let (b, s) = (&bases[i], &scalars[i]);
        if b.is_zero() || s.is_zero() {
            continue;
        }
        let bits = s.num_bits() as usize;
        if bits == 1 {
            ones.push(*b);
        } else {
            let g = GROUP_BITS.iter().position(|&limit| bits <= limit).unwrap_or(GROUP_BITS.len());
            groups[g].push(i);
        }
    }
    let limit = |g: usize| GROUP_BITS.get(g).copied().unwrap_or(full_bits);
    let (sum_ones, sum_rest) = rayon::join(
        || sum_affine(&ones),
        || groups.par_iter().enumerate().map(|(g, idx)| pippenger(bases, scalars, idx, limit(g))).sum::<Projective<P>>(),
    );
    sum_ones + sum_rest
}

/// Bit-length classes below full width (a circuit's witness is full of bits, bytes, 32-bit words
/// and 64-bit values); each class pays only for the windows its scalars span.
const GROUP_BITS: [usize; 3] = [16, 32, 64];

/// The sum of affine points.
fn sum_affine<P: SWCurveConfig>(points: &[Affine<P>]) -> Projective<P> {
    points
        .par_chunks(4096)
        .map(|chunk| chunk.iter().fold(Projective::<P>::zero(), |acc, p| acc + p))
        .sum()
}

/// The window width c (bits) that minimizes the estimated group additions for `n` points of
/// `bits`-bit scalars: per window, one bucket addition a point (affine, about 0.6 of a mixed
/// addition when batched) and two projective additions a bucket to sum the buckets.
pub fn window_bits(n: usize, bits: usize) -> usize {
    let cost = |c: usize| {
        let windows = window_count(bits, c);
        let per_point = if c >= AFFINE_MIN_WINDOW { 0.6 } else { 1.0 };
        windows as f64 * (n as f64 * per_point + 2.0 * (1usize << (c - 1)) as f64)
    };
    (2..=MAX_WINDOW).min_by(|&a, &b| cost(a).total_cmp(&cost(b))).unwrap_or(2)
}

/// The widest window. Wider ones would do fewer additions, but their buckets (2^(c-1) affine
/// points and their projective twins, per thread) leave the cache: at 2^20 points, c = 16 took
/// 2.78 s against 2.25-2.39 s for c = 15 (`examples/msm_tune.rs`, G1, 2 threads).
const MAX_WINDOW: usize = 15;

/// Windows of c bits for `bits`-bit scalars in signed digits: the top window keeps two spare
/// bits, so its digit plus the carry from below stays under 2^(c-1).
fn window_count(bits: usize, c: usize) -> usize {
    (bits + 2).div_ceil(c)
}

/// Below this window width the buckets are few and collide often within a batch: accumulate
/// them in projective coordinates instead.
const AFFINE_MIN_WINDOW: usize = 9;

/// Signed digits of `s` in base 2^c: `s = sum_j d_j 2^(c j)` with `-2^(c-1) <= d_j < 2^(c-1)`.
fn signed_digits<B: BigInteger>(s: &B, c: usize, windows: usize, out: &mut [i32]) {
    let limbs = s.as_ref();
    let half = 1i64 << (c - 1);
    let mut carry = 0i64;
    for (j, d) in out.iter_mut().enumerate().take(windows) {
        let start = j * c;
        let mut w = 0u64;
        // Up to c <= 20 bits, possibly spanning two limbs.
        let (limb, off) = (start / 64, start % 64);
        if limb < limbs.len() {
            w = limbs[limb] >> off;
            if off + c > 64 && limb + 1 < limbs.len() {
                w |= limbs[limb + 1] << (64 - off);
            }
        }
        let mut v = (w & ((1u64 << c) - 1)) as i64 + carry;
        carry = 0;
        if v >= half {
            v -= 1i64 << c;
            carry = 1;
        }
        *d = v as i32;
    }
    debug_assert_eq!(carry, 0, "the top window absorbs the carry");
}

/// Pippenger over the points `idx` (scalars of at most `bits` bits).
fn pippenger<P: SWCurveConfig>(bases: &[Affine<P>], scalars: &[BigIntOf<P>], idx: &[usize], bits: usize) -> Projective<P> {
    if idx.is_empty() {
        return Projective::zero();
    }
    let c = window_bits(idx.len(), bits);
    let windows = window_count(bits, c);
    let mut digits = vec![0i32; idx.len() * windows];
    digits.par_chunks_mut(windows).zip(idx.par_iter()).for_each(|(d, &i)| signed_digits(&scalars[i], c, windows, d));
    let sums: Vec<Projective<P>> = (0..windows)
        .into_par_iter()
        .map(|j| {
            let column = idx.iter().enumerate().map(|(k, &i)| (digits[k * windows + j], &bases[i]));
            if c >= AFFINE_MIN_WINDOW {
                window_affine::<P>(column, c)
            } else {
                window_projective::<P>(column, c)
            }
        })
        .collect();
    // Horner: sum_j 2^(c j) window_j.
    let mut acc = Projective::<P>::zero();
    for s in sums.iter().rev() {
        for _ in 0..c {
            acc.double_in_place();
        }
        acc += s;
    }
    acc
}

/// Sum the buckets b_1..b_m as `sum_k k b_k` by running sums, from the top.
fn sum_buckets<P: SWCurveConfig>(buckets: impl DoubleEndedIterator<Item = Projective<P>>) -> Projective<P> {
    let (mut running, mut acc) = (Projective::<P>::zero(), Projective::<P>::zero());
    for b in buckets.rev() {
        running += b;
        acc += running;
    }
    acc
}

fn window_projective<'a, P: SWCurveConfig>(
    column: impl Iterator<Item = (i32, &'a Affine<P>)>,
    c: usize,
) -> Projective<P> {
    let mut buckets = vec![Projective::<P>::zero(); 1 << (c - 1)];
    for (d, p) in column {
        if d > 0 {
            buckets[d as usize - 1] += p;
        } else if d < 0 {
            buckets[(-d) as usize - 1] -= p;
        }
    }
    sum_buckets(buckets.into_iter())
}

/// Bucket accumulation in affine coordinates. Additions are queued in batches in which no bucket
/// appears twice, so all their slopes share one field inversion (Montgomery's trick). A point
/// whose bucket is already queued goes to a projective twin of the bucket instead (rare for
/// spread-out digits, and never quadratic for adversarial ones). Cases without a slope (an empty
/// bucket, P + (-P)) are settled at once; doubling (P + P) takes the tangent's slope.
fn window_affine<'a, P: SWCurveConfig>(column: impl Iterator<Item = (i32, &'a Affine<P>)>, c: usize) -> Projective<P> {
    let nb = 1usize << (c - 1);
    let batch = (nb / 16).clamp(16, 2048);
    let mut acc = AffineBuckets::<P> {
        buckets: vec![Affine::identity(); nb],
        overflow: vec![Projective::zero(); nb],
        busy: vec![false; nb],
        queue: Vec::with_capacity(batch),
        scratch: Vec::with_capacity(batch),
        prefix: Vec::with_capacity(batch),
    };
    for (d, p) in column {
        if d == 0 {
            continue;
        }
        if d > 0 {
            acc.add(d as usize - 1, *p);
        } else {
            acc.add((-d) as usize - 1, -*p);
        }
        if acc.queue.len() == batch {
            acc.flush();
        }
    }
    acc.flush();
    sum_buckets(acc.buckets.iter().zip(acc.overflow).map(|(a, o)| o + a))
}

struct AffineBuckets<P: SWCurveConfig> {
    buckets: Vec<Affine<P>>,
    overflow: Vec<Projective<P>>,
    busy: Vec<bool>,
    queue: Vec<(usize, Affine<P>)>,
    scratch: Vec<P::BaseField>,
    prefix: Vec<P::BaseField>,
}

/// Invert every (non-zero) element with one field inversion (Montgomery's trick), serially:
/// this runs inside one window's thread, and ark-ff's version splits across threads and
/// allocates on every call.
fn invert_all<F: Field>(v: &mut [F], prefix: &mut Vec<F>) {
    prefix.clear();
    let mut acc = F::one();
    for x in v.iter() {
        prefix.push(acc);
        acc *= x;
    }
    let mut inv = acc.inverse().expect("no denominator is zero");
    for (x, before) in v.iter_mut().zip(prefix.iter()).rev() {
        let next = inv * *x;
        *x = inv * before;
        inv = next;
    }
}

impl<P: SWCurveConfig> AffineBuckets<P> {
    fn add(&mut self, b: usize, p: Affine<P>) {
        if self.busy[b] {
            self.overflow[b] += &p;
            return;
        }
        let cur = &self.buckets[b];
        if cur.is_zero() {
            self.buckets[b] = p;
        } else if cur.x == p.x && (cur.y != p.y || cur.y.is_zero()) {
            // P + (-P), or a point of order 2 doubled.
            self.buckets[b] = Affine::identity();
        } else {
            self.busy[b] = true;
            self.queue.push((b, p));
        }
    }

    /// Apply the queued additions `buckets[b] += p`, all with one inversion.
    fn flush(&mut self) {
        if self.queue.is_empty() {
            return;
        }
        let buckets = &mut self.buckets;
        // Denominators: x2 - x1, or 2y for a doubling. None is zero (those cases never queue).
        self.scratch.clear();
        self.scratch.extend(self.queue.iter().map(|(b, p)| {
            let cur = &buckets[*b];
            if cur.x == p.x { cur.y.double() } else { p.x - cur.x }
        }));
        invert_all(&mut self.scratch, &mut self.prefix);
        for ((b, p), inv) in self.queue.iter().zip(self.scratch.iter()) {
            let cur = buckets[*b];
            let lambda = if cur.x == p.x {
                let x2 = cur.x.square();
                (x2.double() + x2 + P::COEFF_A) * inv
            } else {
                (p.y - cur.y) * inv
            };
            let x3 = lambda.square() - cur.x - p.x;
            let y3 = lambda * (cur.x - x3) - cur.y;
            buckets[*b] = Affine::new_unchecked(x3, y3);
            self.busy[*b] = false;
        }
        self.queue.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
    use ark_ec::{CurveGroup, VariableBaseMSM};
    use ark_ff::UniformRand;
    use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};

    fn reference<G: VariableBaseMSM>(bases: &[G::MulBase], scalars: &[Fr]) -> G
    where
        G: VariableBaseMSM<ScalarField = Fr>,
    {
        let s: Vec<_> = scalars.iter().map(|x| x.into_bigint()).collect();
        G::msm_bigint(bases, &s)
    }

    fn check_g1(bases: &[G1Affine], scalars: &[Fr], what: &str) {
        let s: Vec<_> = scalars.iter().map(|x| x.into_bigint()).collect();
        assert_eq!(msm(bases, &s), reference::<G1Projective>(bases, scalars), "G1: {what}");
    }

    fn check_g2(bases: &[G2Affine], scalars: &[Fr], what: &str) {
        let s: Vec<_> = scalars.iter().map(|x| x.into_bigint()).collect();
        assert_eq!(msm(bases, &s), reference::<G2Projective>(bases, scalars), "G2: {what}");
    }

    fn random_points<G: CurveGroup>(n: usize, rng: &mut StdRng) -> Vec<G::Affine> {
        // A few random points and their small multiples: cheap to make, all distinct.
        let seeds: Vec<G> = (0..8).map(|_| G::rand(rng)).collect();
        let mut acc = Vec::with_capacity(n);
        let mut cur = seeds[0];
        for i in 0..n {
            cur += seeds[i % 8];
            acc.push(cur);
        }
        G::normalize_batch(&acc)
    }

    /// Scalars like a circuit's witness: mostly 0 and 1, many 64-bit values, some full-width.
    fn circuit_like(n: usize, rng: &mut StdRng) -> Vec<Fr> {
        (0..n)
            .map(|_| match rng.gen_range(0..10) {
                0..=2 => Fr::from(0u64),
                3..=5 => Fr::from(1u64),
                6..=7 => Fr::from(rng.gen::<u64>()),
                8 => -Fr::from(rng.gen::<u8>() as u64),
                _ => Fr::rand(rng),
            })
            .collect()
    }

    #[test]
    fn signed_digits_recompose_the_scalar() {
        let mut rng = StdRng::seed_from_u64(1);
        for c in [2, 5, 9, 13, 16, 20] {
            let windows = window_count(254, c);
            for s in [Fr::from(0u64), Fr::from(1u64), -Fr::from(1u64), Fr::rand(&mut rng)] {
                let big = s.into_bigint();
                let mut d = vec![0i32; windows];
                signed_digits(&big, c, windows, &mut d);
                let base = Fr::from(1u64 << c);
                let back = d.iter().rev().fold(Fr::from(0u64), |acc, &x| acc * base + Fr::from(x as i64));
                assert_eq!(back, s, "c = {c}");
                assert!(d.iter().all(|&x| -(1 << (c - 1)) <= x && x < (1 << (c - 1))));
            }
        }
    }

    #[test]
    fn random_inputs_of_many_sizes_match_ark_ec() {
        let mut rng = StdRng::seed_from_u64(2);
        let bases = random_points::<G1Projective>(5000, &mut rng);
        for n in [1, 2, 3, 7, 100, 1000, 4097, 5000] {
            let s: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            check_g1(&bases[..n], &s, &format!("random, n = {n}"));
            check_g1(&bases[..n], &circuit_like(n, &mut rng), &format!("circuit-like, n = {n}"));
        }
        let g2 = random_points::<G2Projective>(600, &mut rng);
        for n in [1, 5, 600] {
            let s: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            check_g2(&g2[..n], &s, &format!("random, n = {n}"));
            check_g2(&g2[..n], &circuit_like(n, &mut rng), &format!("circuit-like, n = {n}"));
        }
    }

    #[test]
    fn adversarial_inputs_match_ark_ec() {
        let mut rng = StdRng::seed_from_u64(3);
        let n = 3000;
        let bases = random_points::<G1Projective>(n, &mut rng);
        let g = G1Affine::generator();
        let zero = Fr::from(0u64);
        let one = Fr::from(1u64);
        let minus_one = -one;
        let rand: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        check_g1(&bases, &vec![zero; n], "all zeros");
        check_g1(&bases, &vec![one; n], "all ones");
        check_g1(&bases, &vec![minus_one; n], "all r - 1");
        check_g1(&vec![g; n], &rand, "one base repeated");
        check_g1(&vec![g; n], &vec![Fr::from(12345u64); n], "one base, one scalar: every addition doubles");
        // P and -P with equal scalars cancel bucket by bucket.
        let mut pm = Vec::new();
        for p in &bases[..n / 2] {
            pm.push(*p);
            pm.push(-*p);
        }
        let same: Vec<Fr> = rand[..n / 2].iter().flat_map(|s| [*s, *s]).collect();
        check_g1(&pm, &same, "P, -P pairs");
        let mut with_identity = bases.clone();
        for i in (0..n).step_by(3) {
            with_identity[i] = G1Affine::identity();
        }
        check_g1(&with_identity, &rand, "identity bases");
        let powers: Vec<Fr> = (0..n).map(|i| Fr::from(2u64).pow([i as u64 % 254])).collect();
        check_g1(&bases, &powers, "powers of two");
        // Unequal lengths: ark-ec uses the shorter.
        check_g1(&bases[..10], &rand[..7], "more bases than scalars");
    }

    #[test]
    fn large_sizes_that_are_not_powers_of_two_match_ark_ec() {
        let mut rng = StdRng::seed_from_u64(4);
        let n = (1 << 16) + 3;
        let bases = random_points::<G1Projective>(n, &mut rng);
        let s: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        check_g1(&bases, &s, "random, 2^16 + 3");
        check_g1(&bases, &circuit_like(n, &mut rng), "circuit-like, 2^16 + 3");
    }

    #[test]
    fn the_window_grows_with_the_size() {
        assert!(window_bits(1 << 10, 254) < window_bits(1 << 20, 254));
        assert!(window_bits(1, 254) >= 2);
    }
}
