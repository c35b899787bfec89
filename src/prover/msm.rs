//! Multi-scalar multiplication on short Weierstrass curves (BN254 G1 and G2), the prover's hot
//! loop: Pippenger's bucket method with signed-digit windows (half the buckets), bucket
//! accumulation in affine coordinates with one shared inversion per batch of additions (in G2,
//! through the norm to Fq), a window size from a cost model, and scalars grouped by bit length
//! so that the many 0/1 and 64-bit values of a circuit's witness pay only for the windows they
//! use.
//!
//! Where the CPU has AVX-512 IFMA (BN254's G1 and G2: [`BatchInverse::add_chords`], crate
//! `zkrollup-ifma`), the bulk path sends the bucket additions eight at a time to it, and also
//! each window's final bucket sum (running sums of 256 segments side by side) and the sum of
//! the scalars equal to 1; the window model then counts those cheaper additions.
//!
//! Tested against ark-ec's `VariableBaseMSM` on random and adversarial inputs (below).

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AdditiveGroup, AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{BigInteger, Field, PrimeField, Zero};
use rayon::prelude::*;

type BigIntOf<P> = <<P as ark_ec::CurveConfig>::ScalarField as PrimeField>::BigInt;

/// `sum_i scalars[i] * bases[i]`. Extra bases or scalars beyond the shorter slice are ignored,
/// as in ark-ec.
pub fn msm<P: SWCurveConfig>(bases: &[Affine<P>], scalars: &[BigIntOf<P>]) -> Projective<P>
where
    P::BaseField: BatchInverse,
{
    msm_with(bases, scalars, true)
}

/// [`msm`], with the bucket additions' bulk path ([`BatchInverse::add_chords`]) or without.
fn msm_with<P: SWCurveConfig>(bases: &[Affine<P>], scalars: &[BigIntOf<P>], bulk: bool) -> Projective<P>
where
    P::BaseField: BatchInverse,
{
    let n = bases.len().min(scalars.len());
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
    // The largest scalar of each class: 2^bits - 1, or r - 1 for the full width.
    let mut r_minus_one = <P::ScalarField as PrimeField>::MODULUS;
    r_minus_one.sub_with_borrow(&BigIntOf::<P>::from(1u64));
    let max = |g: usize| match GROUP_BITS.get(g) {
        Some(&bits) => {
            let mut m = BigIntOf::<P>::from(1u64);
            m <<= bits as u32;
            m.sub_with_borrow(&BigIntOf::<P>::from(1u64));
            m
        }
        None => r_minus_one,
    };
    let (sum_ones, sum_rest) = rayon::join(
        || sum_affine(&ones, bulk),
        || groups.par_iter().enumerate().map(|(g, idx)| pippenger(bases, scalars, idx, &max(g), bulk)).sum::<Projective<P>>(),
    );
    sum_ones + sum_rest
}

/// Bit-length classes below full width (a circuit's witness is full of bits, bytes, 32-bit words
/// and 64-bit values); each class pays only for the windows its scalars span.
const GROUP_BITS: [usize; 3] = [16, 32, 64];

/// The sum of affine points: on the bulk path, 256 running sums side by side whose additions
/// are batched through [`BatchInverse::add_chords`]; otherwise mixed projective additions.
fn sum_affine<P: SWCurveConfig>(points: &[Affine<P>], bulk: bool) -> Projective<P>
where
    P::BaseField: BatchInverse,
{
    const LANES: usize = 256;
    if bulk && P::BaseField::has_chords() {
        return points
            .par_chunks(64 * LANES)
            .map(|chunk| {
                let mut lanes = Lanes::<P>::new(LANES);
                for step in chunk.chunks(LANES) {
                    lanes.add(|s| step.get(s).copied());
                }
                lanes.points.iter().fold(Projective::<P>::zero(), |acc, p| acc + p)
            })
            .sum();
    }
    points
        .par_chunks(4096)
        .map(|chunk| chunk.iter().fold(Projective::<P>::zero(), |acc, p| acc + p))
        .sum()
}

/// The window width c (bits) that minimizes the estimated group additions for `n` points of
/// scalars up to `max`: per window, one bucket addition a point (affine, `chord` of a mixed
/// addition when batched: about 0.6) and, to sum the buckets, one mixed and one full projective
/// addition a bucket (about 2.5 mixed additions).
pub fn window_bits<B: BigInteger>(n: usize, max: &B) -> usize {
    window_bits_for(n, max, 0.6, 2.5)
}

/// [`window_bits`] with a batched bucket addition costing `chord` mixed additions and a
/// bucket's share of the window's final sum `bucket`.
fn window_bits_for<B: BigInteger>(n: usize, max: &B, chord: f64, bucket: f64) -> usize {
    let cost = |c: usize| {
        let windows = window_count(max, c);
        let (per_point, per_bucket) = if c >= AFFINE_MIN_WINDOW { (chord, bucket) } else { (1.0, 2.5) };
        windows as f64 * (n as f64 * per_point + per_bucket * (1usize << (c - 1)) as f64)
    };
    (2..=MAX_WINDOW).min_by(|&a, &b| cost(a).total_cmp(&cost(b))).unwrap_or(2)
}

/// The widest window. Wider ones would do fewer additions, but their buckets (2^(c-1) affine
/// points and their projective twins, per thread) leave the cache: at 2^20 points, c = 16 took
/// 2.78 s against 2.25-2.39 s for c = 15 (`examples/msm_tune.rs`, G1, 2 threads).
const MAX_WINDOW: usize = 15;

/// Windows of c bits for signed digits of scalars up to `max`: the fewest whose top window,
/// plus a carry from below, stays under 2^(c-1) for every scalar (so no carry leaves it). For
/// BN254's r at c = 15 that is 17 windows, where counting bits (254 + 2) would give 18.
fn window_count<B: BigInteger>(max: &B, c: usize) -> usize {
    let limit = B::from((1u64 << (c - 1)) - 2);
    let mut windows = 1;
    loop {
        let mut top = *max;
        top >>= (c * (windows - 1)) as u32;
        if top <= limit {
            return windows;
        }
        windows += 1;
    }
}

/// Below this window width the buckets are few and collide often within a batch: accumulate
/// them in projective coordinates instead.
const AFFINE_MIN_WINDOW: usize = 9;

/// Bits `start .. start + c` of `s` (c <= 32), zero beyond its top.
fn bits_at<B: BigInteger>(s: &B, start: usize, c: usize) -> u64 {
    let limbs = s.as_ref();
    let (limb, off) = (start / 64, start % 64);
    if limb >= limbs.len() {
        return 0;
    }
    let mut w = limbs[limb] >> off;
    if off + c > 64 && limb + 1 < limbs.len() {
        w |= limbs[limb + 1] << (64 - off);
    }
    w & ((1u64 << c) - 1)
}

/// Digit `j` of `s` in signed base 2^c, `s = sum_j d_j 2^(c j)` with `-2^(c-1) <= d_j < 2^(c-1)`
/// (no carry leaves the top window when the count comes from [`window_count`]). Computed alone:
/// the carry into window j is 1 when the window below is at least 2^(c-1), 0 when it is below
/// 2^(c-1) - 1, and otherwise (exactly 2^(c-1) - 1) the carry into that window.
fn signed_digit<B: BigInteger>(s: &B, c: usize, j: usize) -> i32 {
    let half = 1u64 << (c - 1);
    let mut carry = 0;
    for k in (0..j).rev() {
        let w = bits_at(s, k * c, c);
        if w != half - 1 {
            carry = u64::from(w >= half);
            break;
        }
    }
    let v = bits_at(s, j * c, c) + carry;
    if v >= half {
        v as i32 - (1 << c)
    } else {
        v as i32
    }
}

/// Pippenger over the points `idx` (scalars at most `max`).
fn pippenger<P: SWCurveConfig>(bases: &[Affine<P>], scalars: &[BigIntOf<P>], idx: &[usize], max: &BigIntOf<P>, bulk: bool) -> Projective<P>
where
    P::BaseField: BatchInverse,
{
    if idx.is_empty() {
        return Projective::zero();
    }
    let bulk = bulk && P::BaseField::has_chords();
    let c = if bulk { window_bits_for(idx.len(), max, CHORD, CHORD * BULK_BUCKET) } else { window_bits(idx.len(), max) };
    let windows = window_count(max, c);
    // Each window's digits are computed as it reads its points (cheap next to one addition),
    // so no table of all digits (17 windows x 4 bytes a point) is ever stored.
    let sums: Vec<Projective<P>> = (0..windows)
        .into_par_iter()
        .map(|j| {
            let column = idx.iter().map(|&i| (signed_digit(&scalars[i], c, j), &bases[i]));
            if c >= AFFINE_MIN_WINDOW {
                window_affine::<P>(column, c, bulk)
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
/// whose bucket is already queued waits for the next batch (about 3% of points; a projective
/// addition for each cost 3% to 6% of the MSM, `examples/msm_tune.rs`). Past half a batch of
/// waiting points, which only adversarial digits make, further ones go to a projective twin of
/// the bucket, so the work never turns quadratic. Queuing reads only a byte of bucket state; the
/// buckets themselves (one cache line each) are read when the batch is applied, many independent
/// loads at once. Cases without a slope (P + (-P)) are settled there; doubling (P + P) takes the
/// tangent's slope.
fn window_affine<'a, P: SWCurveConfig>(column: impl Iterator<Item = (i32, &'a Affine<P>)>, c: usize, bulk: bool) -> Projective<P>
where
    P::BaseField: BatchInverse,
{
    let nb = 1usize << (c - 1);
    // Batches of 1/16 of the buckets keep collisions rare. With the bulk path an addition
    // costs a fraction of the batch's one inversion, so batches of 1/4 pay despite more
    // waiting points (`examples/msm_tune.rs`: G1 2^16 124 to 106 ms, 2^18 408 to 369 ms).
    let batch = if bulk { (nb / 4).clamp(16, 4096) } else { (nb / 16).clamp(16, 2048) };
    let mut acc = AffineBuckets::<P> {
        slots: vec![Slot { x: P::BaseField::ZERO, y: P::BaseField::ZERO }; nb],
        state: vec![EMPTY; nb],
        overflow: vec![Projective::zero(); nb],
        queue: Vec::with_capacity(batch),
        pending: Vec::with_capacity(batch / 2),
        spare: Vec::with_capacity(batch / 2),
        scratch: Vec::with_capacity(batch),
        inverse_scratch: Default::default(),
        bulk,
        chords: Chords::new(),
        special: Vec::new(),
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
    acc.finish();
    if bulk && nb >= BULK_SUM_MIN_BUCKETS {
        return acc.weighted_sum_bulk();
    }
    // sum_k k b_k by running sums from the top, adding each affine bucket with a mixed addition.
    let (mut running, mut total) = (Projective::<P>::zero(), Projective::<P>::zero());
    for ((p, s), o) in acc.slots.iter().zip(&acc.state).zip(&acc.overflow).rev() {
        if *s != EMPTY {
            running += Affine::<P>::new_unchecked(p.x, p.y);
        }
        if !o.is_zero() {
            running += o;
        }
        total += running;
    }
    total
}

/// On the bulk path: a bucket addition, in mixed projective additions (the eight-lane chords
/// cost about a quarter of one)...
const CHORD: f64 = 0.3;
/// ...and a bucket's share of the window's final sum, in bucket additions (two chords, the
/// segments' projective sums and the lanes' bookkeeping). Measured against 2.0 and 3.0
/// (`examples/msm_tune.rs`, alternating): level at 2^16, 2.5 and 2.0 best at G1 2^18.
const BULK_BUCKET: f64 = 2.5;

/// Below this many buckets a window's sum stays with projective running sums.
const BULK_SUM_MIN_BUCKETS: usize = 256;

/// Affine points, some of them the identity, each to be increased by another (lanes side by
/// side): the additions whose x coordinates differ go to [`BatchInverse::add_chords`] together,
/// the rest (doublings, `P + (-P)`, the identity) are settled one by one.
struct Lanes<P: SWCurveConfig>
where
    P::BaseField: BatchInverse,
{
    points: Vec<Affine<P>>,
    chords: Chords<P::BaseField>,
    scratch: <P::BaseField as BatchInverse>::Scratch,
}

impl<P: SWCurveConfig> Lanes<P>
where
    P::BaseField: BatchInverse,
{
    /// `lanes` lanes, each the identity.
    fn new(lanes: usize) -> Self {
        Lanes {
            points: vec![Affine::<P>::zero(); lanes],
            chords: Chords::new(),
            scratch: Default::default(),
        }
    }

    /// `points[s] += addend(s)` for every lane `s` (`None` adds nothing).
    fn add(&mut self, addend: impl Fn(usize) -> Option<Affine<P>>) {
        let ch = &mut self.chords;
        ch.clear();
        for (s, p) in self.points.iter_mut().enumerate() {
            let Some(q) = addend(s).filter(|q| !q.is_zero()) else { continue };
            if p.is_zero() {
                *p = q;
            } else if p.x != q.x {
                ch.push(s, (p.x, p.y), (q.x, q.y));
            } else {
                *p = (*p + q).into_affine();
            }
        }
        if !P::BaseField::add_chords(&mut ch.x1, &mut ch.y1, &ch.x2, &ch.y2, &mut self.scratch) {
            for (k, &s) in ch.bucket.iter().enumerate() {
                let q = Affine::<P>::new_unchecked(ch.x2[k], ch.y2[k]);
                self.points[s] = (self.points[s] + q).into_affine();
            }
            return;
        }
        for (k, &s) in ch.bucket.iter().enumerate() {
            self.points[s] = Affine::<P>::new_unchecked(ch.x1[k], ch.y1[k]);
        }
    }
}

/// A bucket's point, one cache line (G1) or two (G2) and never straddling one.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Slot<F> {
    x: F,
    y: F,
}

/// Bucket states: no point yet; a point; a point with an addition queued.
const EMPTY: u8 = 0;
const FULL: u8 = 1;
const QUEUED: u8 = 2;

struct AffineBuckets<P: SWCurveConfig>
where
    P::BaseField: BatchInverse,
{
    slots: Vec<Slot<P::BaseField>>,
    state: Vec<u8>,
    overflow: Vec<Projective<P>>,
    queue: Vec<(usize, Affine<P>)>,
    /// Points whose bucket was queued, for the next batch; its capacity (half a batch) is the
    /// most that wait before the projective twins take over.
    pending: Vec<(usize, Affine<P>)>,
    /// `pending`'s twin, swapped in while the waiting points are queued again.
    spare: Vec<(usize, Affine<P>)>,
    scratch: Vec<P::BaseField>,
    inverse_scratch: <P::BaseField as BatchInverse>::Scratch,
    /// Whether to hand chord additions to [`BatchInverse::add_chords`].
    bulk: bool,
    /// The chord additions of a batch, for the bulk path: buckets, then coordinates.
    chords: Chords<P::BaseField>,
    /// A batch's additions that are not chords (doublings, `P + (-P)`).
    special: Vec<(usize, Affine<P>)>,
}

/// A batch's chord additions `(x1, y1) += (x2, y2)` into buckets `bucket`.
struct Chords<F> {
    bucket: Vec<usize>,
    x1: Vec<F>,
    y1: Vec<F>,
    x2: Vec<F>,
    y2: Vec<F>,
}

impl<F: Copy> Chords<F> {
    fn new() -> Self {
        Chords { bucket: Vec::new(), x1: Vec::new(), y1: Vec::new(), x2: Vec::new(), y2: Vec::new() }
    }

    fn clear(&mut self) {
        self.bucket.clear();
        for v in [&mut self.x1, &mut self.y1, &mut self.x2, &mut self.y2] {
            v.clear();
        }
    }

    /// Queue `(x1, y1) += (x2, y2)` into bucket (or lane) `b`.
    fn push(&mut self, b: usize, (x1, y1): (F, F), (x2, y2): (F, F)) {
        self.bucket.push(b);
        self.x1.push(x1);
        self.y1.push(y1);
        self.x2.push(x2);
        self.y2.push(y2);
    }
}

/// A field whose non-zero elements can be inverted in bulk with one field inversion.
pub trait BatchInverse: Field {
    /// Reusable buffers, so that a window's many batches allocate nothing.
    type Scratch: Default + Send;
    /// Replace every element of `v` (all non-zero) by its inverse.
    fn batch_inverse(v: &mut [Self], scratch: &mut Self::Scratch);

    /// Chord additions `(x1[k], y1[k]) += (x2[k], y2[k])` (every `x1[k] != x2[k]`) in bulk,
    /// where this field has a faster path than [`BatchInverse::batch_inverse`] and scalar
    /// formulas; false, with nothing changed, where it has none.
    fn add_chords(_x1: &mut [Self], _y1: &mut [Self], _x2: &[Self], _y2: &[Self], _scratch: &mut Self::Scratch) -> bool {
        false
    }

    /// Whether [`BatchInverse::add_chords`] has a bulk path on this CPU.
    fn has_chords() -> bool {
        false
    }

}

/// BN254's G1 field: chord additions eight at a time with AVX-512 IFMA where the CPU has it
/// ([`zkrollup_ifma`]), about 5 times ark-ff's multiplication throughput.
impl BatchInverse for ark_bn254::Fq {
    type Scratch = (Vec<Self>, zkrollup_ifma::Scratch);
    fn batch_inverse(v: &mut [Self], (prefix, _): &mut Self::Scratch) {
        invert_all(v, prefix);
    }

    fn add_chords(x1: &mut [Self], y1: &mut [Self], x2: &[Self], y2: &[Self], (_, chords): &mut Self::Scratch) -> bool {
        zkrollup_ifma::add_chords(x1, y1, x2, y2, chords)
    }

    fn has_chords() -> bool {
        zkrollup_ifma::available()
    }
}

/// BN254's G2 field: chord additions in bulk with AVX-512 IFMA as for G1. Otherwise,
/// in Fq2, `1/x = conj(x) / N(x)` with the norm `N(x) = x conj(x)` in Fq: inverting the norms
/// in Fq (three Fq products each) and scaling the conjugates (two) costs about 7 Fq
/// multiplications an element, where inverting in Fq2 (three Fq2 products) costs 9.
impl BatchInverse for ark_bn254::Fq2 {
    type Scratch = (Vec<ark_bn254::Fq>, Vec<ark_bn254::Fq>, zkrollup_ifma::Scratch);

    fn add_chords(x1: &mut [Self], y1: &mut [Self], x2: &[Self], y2: &[Self], (_, _, chords): &mut Self::Scratch) -> bool {
        zkrollup_ifma::add_chords_fq2(x1, y1, x2, y2, chords)
    }

    fn has_chords() -> bool {
        zkrollup_ifma::available()
    }

    fn batch_inverse(v: &mut [Self], (norms, prefix, _): &mut Self::Scratch) {
        norms.clear();
        norms.extend(v.iter().map(|x| x.norm()));
        invert_all(norms, prefix);
        for (x, n) in v.iter_mut().zip(norms.iter()) {
            x.conjugate_in_place();
            x.mul_assign_by_basefield(n);
        }
    }
}

/// Invert every (non-zero) element with one field inversion (Montgomery's trick), serially:
/// this runs inside one window's thread, and ark-ff's version splits across threads and
/// allocates on every call. Four interleaved chains of products keep the multiplier busy where
/// one chain would wait on each product in turn.
fn invert_all<F: Field>(v: &mut [F], prefix: &mut Vec<F>) {
    const CHAINS: usize = 4;
    prefix.clear();
    let mut acc = [F::one(); CHAINS];
    for (i, x) in v.iter().enumerate() {
        prefix.push(acc[i % CHAINS]);
        acc[i % CHAINS] *= x;
    }
    let (p01, p23) = (acc[0] * acc[1], acc[2] * acc[3]);
    let inv = (p01 * p23).inverse().expect("no denominator is zero");
    let (i01, i23) = (inv * p23, inv * p01);
    let mut inv = [i01 * acc[1], i01 * acc[0], i23 * acc[3], i23 * acc[2]];
    for (i, (x, before)) in v.iter_mut().zip(prefix.iter()).enumerate().rev() {
        let k = i % CHAINS;
        let next = inv[k] * *x;
        *x = inv[k] * before;
        inv[k] = next;
    }
}

impl<P: SWCurveConfig> AffineBuckets<P>
where
    P::BaseField: BatchInverse,
{
    fn add(&mut self, b: usize, p: Affine<P>) {
        match self.state[b] {
            EMPTY => {
                self.slots[b] = Slot { x: p.x, y: p.y };
                self.state[b] = FULL;
            }
            FULL => {
                self.state[b] = QUEUED;
                self.queue.push((b, p));
            }
            _ if self.pending.len() < self.pending.capacity() => self.pending.push((b, p)),
            _ => self.overflow[b] += &p,
        }
    }

    /// Apply the queued additions `buckets[b] += p`, all with one inversion, then queue the
    /// waiting points again.
    fn flush(&mut self) {
        if self.bulk && self.queue.len() >= 8 {
            self.flush_chords();
        }
        if self.queue.is_empty() {
            self.retry_pending();
            return;
        }
        let slots = &mut self.slots;
        // Denominators: x2 - x1, or 2y for a doubling; 1 where there is no slope (P + (-P)).
        self.scratch.clear();
        self.scratch.extend(self.queue.iter().map(|(b, p)| {
            let cur = &slots[*b];
            if cur.x != p.x {
                p.x - cur.x
            } else if cur.y == p.y && !cur.y.is_zero() {
                cur.y.double()
            } else {
                P::BaseField::ONE
            }
        }));
        P::BaseField::batch_inverse(&mut self.scratch, &mut self.inverse_scratch);
        for ((b, p), inv) in self.queue.iter().zip(self.scratch.iter()) {
            let cur = slots[*b];
            let lambda = if cur.x != p.x {
                (p.y - cur.y) * inv
            } else if cur.y == p.y && !cur.y.is_zero() {
                let x2 = cur.x.square();
                (x2.double() + x2 + P::COEFF_A) * inv
            } else {
                // P + (-P), or a point of order 2 doubled: the bucket is empty again.
                self.state[*b] = EMPTY;
                continue;
            };
            let x3 = lambda.square() - cur.x - p.x;
            let y3 = lambda * (cur.x - x3) - cur.y;
            slots[*b] = Slot { x: x3, y: y3 };
            self.state[*b] = FULL;
        }
        self.queue.clear();
        self.retry_pending();
    }

    /// `sum_k k b_k` (bucket `b_k` at slot `k - 1`, its projective twin included) with the
    /// running sums of many segments of buckets side by side, each step's additions batched
    /// through [`BatchInverse::add_chords`]: segment `s` of `len` buckets gives `R_s = sum_j
    /// b_(s len + j)` and `T_s = sum_j j b_(s len + j)` (j from 1), and the sum is
    /// `sum_s T_s + len sum_s s R_s`, the last a running sum over the few segments.
    fn weighted_sum_bulk(&self) -> Projective<P> {
        let m = self.slots.len();
        let segments = (m / 8).clamp(1, 256);
        let len = m.div_ceil(segments);
        let bucket = |k: usize| (k < m && self.state[k] != EMPTY).then(|| Affine::<P>::new_unchecked(self.slots[k].x, self.slots[k].y));
        let (mut running, mut total) = (Lanes::<P>::new(segments), Lanes::<P>::new(segments));
        for j in (0..len).rev() {
            running.add(|s| bucket(s * len + j));
            total.add(|s| Some(running.points[s]));
        }
        // sum_s s R_s by running sums over the segments, then times len.
        let (mut run, mut weighted) = (Projective::<P>::zero(), Projective::<P>::zero());
        for r in running.points.iter().skip(1).rev() {
            run += r;
            weighted += run;
        }
        let mut sum = weighted.mul_bigint([len as u64]);
        for t in &total.points {
            sum += t;
        }
        // The projective twins (only adversarial digits fill them), each times its digit.
        for (k, o) in self.overflow.iter().enumerate() {
            if !o.is_zero() {
                sum += o.mul_bigint([k as u64 + 1]);
            }
        }
        sum
    }

    /// Queue the waiting points again.
    fn retry_pending(&mut self) {
        let mut retry = std::mem::replace(&mut self.pending, std::mem::take(&mut self.spare));
        for (b, p) in retry.drain(..) {
            self.add(b, p);
        }
        self.spare = retry;
    }

    /// Apply the queue's chord additions through [`BatchInverse::add_chords`], leaving the
    /// others (doublings, `P + (-P)`) queued; the queue is untouched where the field has no
    /// bulk path.
    fn flush_chords(&mut self) {
        let ch = &mut self.chords;
        ch.clear();
        self.special.clear();
        for &(b, p) in &self.queue {
            let cur = &self.slots[b];
            if cur.x != p.x {
                ch.push(b, (cur.x, cur.y), (p.x, p.y));
            } else {
                self.special.push((b, p));
            }
        }
        if !P::BaseField::add_chords(&mut ch.x1, &mut ch.y1, &ch.x2, &ch.y2, &mut self.inverse_scratch) {
            return;
        }
        for (k, &b) in ch.bucket.iter().enumerate() {
            self.slots[b] = Slot { x: ch.x1[k], y: ch.y1[k] };
            self.state[b] = FULL;
        }
        std::mem::swap(&mut self.queue, &mut self.special);
    }

    /// Apply everything queued or waiting. A short queue with points still waiting means the
    /// waiting ones pile onto few buckets: they go to the projective twins rather than one
    /// inversion each.
    fn finish(&mut self) {
        while !self.queue.is_empty() {
            if self.queue.len() < 16 {
                for (b, p) in self.pending.drain(..) {
                    self.overflow[b] += &p;
                }
            }
            self.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
    use ark_ec::{CurveGroup, VariableBaseMSM};
    use ark_ff::UniformRand;
    use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};

    fn reference<G: VariableBaseMSM<ScalarField = Fr>>(bases: &[G::MulBase], scalars: &[Fr]) -> G {
        let s: Vec<_> = scalars.iter().map(|x| x.into_bigint()).collect();
        G::msm_bigint(bases, &s)
    }

    /// Both bucket paths, the bulk one (IFMA where the CPU has it) and the scalar one.
    fn check_g1(bases: &[G1Affine], scalars: &[Fr], what: &str) {
        let s: Vec<_> = scalars.iter().map(|x| x.into_bigint()).collect();
        let want = reference::<G1Projective>(bases, scalars);
        assert_eq!(msm(bases, &s), want, "G1: {what}");
        assert_eq!(msm_with(bases, &s, false), want, "G1 without the bulk path: {what}");
    }

    fn check_g2(bases: &[G2Affine], scalars: &[Fr], what: &str) {
        let s: Vec<_> = scalars.iter().map(|x| x.into_bigint()).collect();
        let want = reference::<G2Projective>(bases, scalars);
        assert_eq!(msm(bases, &s), want, "G2: {what}");
        assert_eq!(msm_with(bases, &s, false), want, "G2 without the bulk path: {what}");
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
        let r_minus_one = (-Fr::from(1u64)).into_bigint();
        for c in [2, 5, 9, 13, 14, 15, 16, 17, 20] {
            let windows = window_count(&r_minus_one, c);
            assert!(windows <= 254usize.div_ceil(c) + 1, "c = {c}: {windows} windows");
            let (base, half) = (Fr::from(1u64 << c), 1u64 << (c - 1));
            let mut extremes = vec![Fr::from(0u64), Fr::from(1u64), -Fr::from(1u64), -Fr::from(2u64), Fr::rand(&mut rng)];
            // Every top-window value with every pattern below it: the carry must stay inside.
            extremes.extend((0..64).map(|k| -Fr::from(1u64) - Fr::from(2u64).pow([(c * (windows - 1)) as u64]) * Fr::from(k as u64)));
            // Windows of exactly 2^(c-1) - 1 above one of 2^(c-1): a carry that runs all the way up.
            let run = (1..windows - 2).fold(Fr::from(half), |acc, k| acc + Fr::from(half - 1) * base.pow([k as u64]));
            extremes.extend([run, run - Fr::from(1u64)]);
            for s in extremes {
                let big = s.into_bigint();
                let d: Vec<i32> = (0..windows).map(|j| signed_digit(&big, c, j)).collect();
                let back = d.iter().rev().fold(Fr::from(0u64), |acc, &x| acc * base + Fr::from(x as i64));
                assert_eq!(back, s, "c = {c}: the digits (and no carry out of the top) give the scalar");
                assert!(d.iter().all(|&x| -(half as i32) <= x && x < half as i32));
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
        check_g1(&vec![g; n], &vec![one; n], "one base, all ones: the running sums of ones double");
        // P and -P with equal scalars cancel bucket by bucket.
        let mut pm = Vec::new();
        for p in &bases[..n / 2] {
            pm.push(*p);
            pm.push(-*p);
        }
        let same: Vec<Fr> = rand[..n / 2].iter().flat_map(|s| [*s, *s]).collect();
        check_g1(&pm, &same, "P, -P pairs");
        check_g1(&pm, &vec![one; pm.len()], "P, -P pairs of ones: the running sums cancel");
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
    fn batch_inversion_matches_one_by_one() {
        fn check<F: BatchInverse + UniformRand>(rng: &mut StdRng) {
            for n in [1, 2, 3, 4, 5, 9, 100] {
                let v: Vec<F> = (0..n).map(|_| F::rand(rng)).collect();
                let mut inv = v.clone();
                F::batch_inverse(&mut inv, &mut Default::default());
                for (x, y) in v.iter().zip(&inv) {
                    assert_eq!(x.inverse().unwrap(), *y, "n = {n}");
                }
            }
        }
        let mut rng = StdRng::seed_from_u64(5);
        check::<ark_bn254::Fq>(&mut rng);
        check::<ark_bn254::Fq2>(&mut rng);
    }

    #[test]
    fn adversarial_g2_inputs_match_ark_ec() {
        let mut rng = StdRng::seed_from_u64(6);
        let n = 700;
        let bases = random_points::<G2Projective>(n, &mut rng);
        let rand: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
        let g = G2Affine::generator();
        check_g2(&vec![g; n], &rand, "one base repeated");
        check_g2(&vec![g; n], &vec![Fr::from(777u64); n], "one base, one scalar: every addition doubles");
        let pm: Vec<G2Affine> = bases[..n / 2].iter().flat_map(|p| [*p, -*p]).collect();
        let same: Vec<Fr> = rand[..n / 2].iter().flat_map(|s| [*s, *s]).collect();
        check_g2(&pm, &same, "P, -P pairs");
    }

    #[test]
    fn the_window_grows_with_the_size() {
        let full = (-Fr::from(1u64)).into_bigint();
        assert!(window_bits(1 << 10, &full) < window_bits(1 << 20, &full));
        assert!(window_bits(1, &full) >= 2);
        assert_eq!(window_count(&full, 15), 17);
        let u64_max = ark_ff::BigInt::<4>::from(u64::MAX);
        assert_eq!(window_count(&u64_max, 15), 5, "64 bits need 66 in signed digits");
    }
}
