//! Affine point additions on BN254 G1 and G2 in bulk, eight lanes at a time with AVX-512 IFMA
//! (`vpmadd52luq`/`vpmadd52huq`: 52-bit multiply-adds), for the MSM's bucket additions.
//!
//! The MSM's floor is base-field multiplication: ark-ff's takes about 20 ns on the project's
//! machine; eight lanes of 52-bit limbs take about 3.9 ns a product (`BENCHMARKS.md`). This
//! crate is the workspace's only `unsafe` code, kept to one place: the entry to the
//! `#[target_feature]` kernel after the CPU was seen to have the features, and the vector loads
//! and stores on bounds-checked slices. Everything is tested against ark-ff's arithmetic; on a
//! CPU without IFMA [`available`] is false and callers use their scalar path.
//!
//! Representation inside the kernel: an element `x` of Fq as `x * 2^260 mod p` (Montgomery with
//! R = 2^260), in five 52-bit limbs, one 512-bit vector per limb holding eight elements. Values
//! are kept below 8p between operations (2^260 > 64p, so a product of two such is below 2p),
//! and reduced to the canonical form ark-ff uses only on the way out.

#![deny(unsafe_op_in_unsafe_fn)]

use ark_bn254::{Fq, Fq2};
use ark_ff::{BigInt, Field};

/// Whether this CPU runs the eight-lane kernel (AVX-512 F and IFMA), checked once.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static AVAILABLE: OnceLock<bool> = OnceLock::new();
        *AVAILABLE.get_or_init(|| {
            std::env::var_os("ZKROLLUP_NO_IFMA").is_none()
                && std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512ifma")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Reusable buffers for [`add_chords`], so that an MSM's many batches allocate nothing.
#[derive(Default)]
pub struct Scratch {
    /// The inputs and outputs, limb-major (the layout `bulk` describes).
    soa: Vec<u64>,
    /// Field elements in the kernel's form (five limbs of eight lanes each), one per vector.
    work: Vec<u64>,
}

/// `(x1[k], y1[k]) += (x2[k], y2[k])` on BN254 G1 for every `k`, all with one field inversion,
/// where every `x1[k] != x2[k]` (the caller settles doublings and `P + (-P)`). Returns false,
/// touching nothing, where the CPU lacks IFMA ([`available`]).
///
/// # Panics
/// If the four slices differ in length, or if some `x1[k] == x2[k]`.
pub fn add_chords(x1: &mut [Fq], y1: &mut [Fq], x2: &[Fq], y2: &[Fq], scratch: &mut Scratch) -> bool {
    bulk::<Fq, 1>(x1, y1, x2, y2, scratch, |e| [e.0 .0], |l| Fq::new_unchecked(BigInt(l[0])))
}

/// [`add_chords`] on BN254 G2 (coordinates in Fq2).
pub fn add_chords_fq2(x1: &mut [Fq2], y1: &mut [Fq2], x2: &[Fq2], y2: &[Fq2], scratch: &mut Scratch) -> bool {
    bulk::<Fq2, 2>(x1, y1, x2, y2, scratch, |e| [e.c0.0 .0, e.c1.0 .0], |l| Fq2::new(Fq::new_unchecked(BigInt(l[0])), Fq::new_unchecked(BigInt(l[1]))))
}

/// The chord additions of a field of `D` Fq components: transposed to limb-major rows
/// (coordinate `c` in x1, y1, x2, y2 order, component `i`, 64-bit limb `j`, lane `k` at
/// `((D c + i) 4 + j) * lanes + k`), through the kernel, and back.
fn bulk<F: Copy, const D: usize>(
    x1: &mut [F],
    y1: &mut [F],
    x2: &[F],
    y2: &[F],
    scratch: &mut Scratch,
    limbs: impl Fn(&F) -> [[u64; 4]; D],
    from_limbs: impl Fn([[u64; 4]; D]) -> F,
) -> bool {
    assert!(y1.len() == x1.len() && x2.len() == x1.len() && y2.len() == x1.len(), "four coordinates per addition");
    if !available() {
        return false;
    }
    if x1.is_empty() {
        return true;
    }
    let n = x1.len();
    let lanes = n.div_ceil(8) * 8;
    let soa = &mut scratch.soa;
    soa.clear();
    soa.resize(4 * D * 4 * lanes, 0);
    for (c, coordinate) in [&*x1, &*y1, x2, y2].into_iter().enumerate() {
        for (k, v) in coordinate.iter().enumerate() {
            for (i, component) in limbs(v).iter().enumerate() {
                for (j, limb) in component.iter().enumerate() {
                    soa[((D * c + i) * 4 + j) * lanes + k] = *limb;
                }
            }
        }
    }
    // Padding lanes: x1 = 0, x2 = 1 (a chord with a non-zero denominator).
    for k in n..lanes {
        soa[(D * 2 * 4) * lanes + k] = 1;
    }
    scratch.work.clear();
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `available()` saw AVX-512 F and IFMA on this CPU.
    let ok = unsafe { if D == 1 { kernel::chords(soa, &mut scratch.work, lanes) } else { kernel::chords_fq2(soa, &mut scratch.work, lanes) } };
    #[cfg(not(target_arch = "x86_64"))]
    let ok = false;
    assert!(ok, "an addition with x1 == x2 was passed to add_chords");
    for (c, coordinate) in [x1, y1].into_iter().enumerate() {
        for (k, v) in coordinate.iter_mut().enumerate() {
            *v = from_limbs(std::array::from_fn(|i| std::array::from_fn(|j| soa[((D * c + i) * 4 + j) * lanes + k])));
        }
    }
    true
}

/// Invert eight values in ark-ff with one inversion (the kernel's lane products); false if
/// one is zero.
fn invert_eight<F: Field>(values: &mut [F; 8]) -> bool {
    let mut prefix = [F::ONE; 8];
    let mut acc = F::ONE;
    for (p, v) in prefix.iter_mut().zip(values.iter()) {
        *p = acc;
        acc *= v;
    }
    let Some(mut inv) = acc.inverse() else { return false };
    for (p, v) in prefix.iter().zip(values.iter_mut()).rev() {
        let next = inv * *v;
        *v = inv * p;
        inv = next;
    }
    true
}

#[cfg(target_arch = "x86_64")]
mod kernel {
    use std::arch::x86_64::*;

    use ark_bn254::{Fq, Fq2};
    use ark_ff::{BigInt, MontConfig};

    const MASK: u64 = (1 << 52) - 1;

    /// An element of Fq in eight lanes: five 52-bit limbs, least significant first.
    #[derive(Clone, Copy)]
    struct V([__m512i; 5]);

    /// p in 52-bit limbs.
    fn p52() -> [u64; 5] {
        split(<ark_bn254::FqConfig as MontConfig<4>>::MODULUS.0)
    }

    /// Four 64-bit limbs as five 52-bit ones.
    const fn split(l: [u64; 4]) -> [u64; 5] {
        [
            l[0] & MASK,
            ((l[0] >> 52) | (l[1] << 12)) & MASK,
            ((l[1] >> 40) | (l[2] << 24)) & MASK,
            ((l[2] >> 28) | (l[3] << 36)) & MASK,
            l[3] >> 16,
        ]
    }

    /// -p^-1 mod 2^52, by Newton's iteration.
    fn p_inv() -> u64 {
        let p0 = p52()[0];
        let mut inv: u64 = 1;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(p0.wrapping_mul(inv)));
        }
        inv.wrapping_neg() & MASK
    }

    struct Consts {
        mask: __m512i,
        zero: __m512i,
        p_inv: __m512i,
        p: [__m512i; 5],
        /// Multiples of p added before a subtraction, so that no value goes negative.
        two_p: V,
        four_p: V,
        six_p: V,
        eight_p: V,
        fifteen: __m512i,
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn splat(l: [u64; 5]) -> V {
        V(l.map(|x| _mm512_set1_epi64(x as i64)))
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn consts() -> Consts {
        let p = p52();
        let times = |k: u64| {
            // k p in 52-bit limbs (k <= 8: below 2^257, the top limb below 2^52).
            let mut out = [0u64; 5];
            let mut carry = 0u64;
            for j in 0..5 {
                let v = p[j] * k + carry;
                out[j] = v & MASK;
                carry = v >> 52;
            }
            out[4] |= carry << 52;
            out
        };
        Consts {
            mask: _mm512_set1_epi64(MASK as i64),
            zero: _mm512_setzero_si512(),
            p_inv: _mm512_set1_epi64(p_inv() as i64),
            p: p.map(|x| _mm512_set1_epi64(x as i64)),
            two_p: splat(times(2)),
            four_p: splat(times(4)),
            six_p: splat(times(6)),
            eight_p: splat(times(8)),
            fifteen: _mm512_set1_epi64(15),
        }
    }

    /// Eight Montgomery products `a b / 2^260 mod p`, for inputs below 8p; the output is
    /// below 2p, its limbs normalized.
    #[allow(clippy::needless_range_loop)] // limb j of b goes to limbs j and j + 1 of t
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn mul(a: &V, b: &V, k: &Consts) -> V {
        let z = k.zero;
        let mut t = [z; 6];
        for i in 0..5 {
            let ai = a.0[i];
            for j in 0..5 {
                t[j] = _mm512_madd52lo_epu64(t[j], ai, b.0[j]);
            }
            for j in 0..5 {
                t[j + 1] = _mm512_madd52hi_epu64(t[j + 1], ai, b.0[j]);
            }
            let m = _mm512_madd52lo_epu64(z, t[0], k.p_inv);
            for j in 0..5 {
                t[j] = _mm512_madd52lo_epu64(t[j], m, k.p[j]);
            }
            for j in 0..5 {
                t[j + 1] = _mm512_madd52hi_epu64(t[j + 1], m, k.p[j]);
            }
            // t0 is now a multiple of 2^52: carry it into t1 and shift the limbs down.
            t[1] = _mm512_add_epi64(t[1], _mm512_srli_epi64(t[0], 52));
            t = [t[1], t[2], t[3], t[4], t[5], z];
        }
        normalize([t[0], t[1], t[2], t[3], t[4]], k)
    }

    /// Carry every limb's excess (signed) into the next, leaving 52-bit limbs.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn normalize(mut l: [__m512i; 5], k: &Consts) -> V {
        for j in 0..4 {
            let carry = _mm512_srai_epi64(l[j], 52);
            l[j] = _mm512_and_si512(l[j], k.mask);
            l[j + 1] = _mm512_add_epi64(l[j + 1], carry);
        }
        V(l)
    }

    /// `a + m - b` for `m` a multiple of p at least `b`'s bound: below `a`'s bound plus `m`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn sub(a: &V, b: &V, m: &V, k: &Consts) -> V {
        normalize(std::array::from_fn(|j| _mm512_sub_epi64(_mm512_add_epi64(a.0[j], m.0[j]), b.0[j])), k)
    }

    /// The canonical representative of a value below 2p.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn reduce(a: &V, k: &Consts) -> V {
        shrink(a, &V(k.p), k)
    }

    /// `a - m` where that is not negative, else `a`: below `m` for `a` below `2m`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn shrink(a: &V, m: &V, k: &Consts) -> V {
        let d = normalize(std::array::from_fn(|j| _mm512_sub_epi64(a.0[j], m.0[j])), k);
        let negative = _mm512_cmplt_epi64_mask(d.0[4], k.zero);
        V(std::array::from_fn(|j| _mm512_mask_blend_epi64(negative, d.0[j], a.0[j])))
    }

    /// `a + b`, limbs normalized.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn add(a: &V, b: &V, k: &Consts) -> V {
        normalize(std::array::from_fn(|j| _mm512_add_epi64(a.0[j], b.0[j])), k)
    }

    /// An element of Fq2 = Fq[u]/(u^2 + 1) in eight lanes.
    #[derive(Clone, Copy)]
    struct V2(V, V);

    /// Products in Fq2 (Karatsuba: three in Fq), for components below 4p; the output's
    /// components are below 4p too.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn mul2(a: &V2, b: &V2, k: &Consts) -> V2 {
        let (t0, t1) = (mul(&a.0, &b.0, k), mul(&a.1, &b.1, k));
        let s = mul(&add(&a.0, &a.1, k), &add(&b.0, &b.1, k), k);
        let c0 = sub(&t0, &t1, &k.two_p, k);
        let c1 = shrink(&sub(&sub(&s, &t0, &k.two_p, k), &t1, &k.two_p, k), &k.two_p, k);
        V2(c0, c1)
    }

    /// Squares in Fq2, `((a0 + a1)(a0 - a1), 2 a0 a1)`: two products in Fq. Components below
    /// 4p in and out.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn square2(a: &V2, k: &Consts) -> V2 {
        let c0 = mul(&add(&a.0, &a.1, k), &sub(&a.0, &a.1, &k.four_p, k), k);
        let t = mul(&a.0, &a.1, k);
        V2(c0, add(&t, &t, k))
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn sub2(a: &V2, b: &V2, m: &V, k: &Consts) -> V2 {
        V2(sub(&a.0, &b.0, m, k), sub(&a.1, &b.1, m, k))
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn shrink2(a: &V2, m: &V, k: &Consts) -> V2 {
        V2(shrink(&a.0, m, k), shrink(&a.1, m, k))
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn load2(soa: &[u64], coordinate: usize, lanes: usize, at: usize, k: &Consts) -> V2 {
        V2(load(soa, 2 * coordinate, lanes, at, k), load(soa, 2 * coordinate + 1, lanes, at, k))
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn store2(v: &V2, soa: &mut [u64], coordinate: usize, lanes: usize, at: usize, k: &Consts) {
        store(&v.0, soa, 2 * coordinate, lanes, at, k);
        store(&v.1, soa, 2 * coordinate + 1, lanes, at, k);
    }

    /// [`chords`] in Fq2 (rows of two components per coordinate).
    ///
    /// # Safety
    /// The CPU must have AVX-512 F and IFMA.
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub unsafe fn chords_fq2(soa: &mut [u64], work: &mut Vec<u64>, lanes: usize) -> bool {
        let k = consts();
        let vectors = lanes / 8;
        work.resize(4 * vectors * 40, 0);
        let zero = V([k.zero; 5]);
        let mut acc = V2(load_one(&k), zero);
        for v in 0..vectors {
            let (x1, x2) = (load2(soa, 0, lanes, 8 * v, &k), load2(soa, 2, lanes, 8 * v, &k));
            let d = sub2(&x2, &x1, &k.two_p, &k);
            put(work, 2 * v, &acc.0);
            put(work, 2 * v + 1, &acc.1);
            put(work, 2 * (vectors + v), &d.0);
            put(work, 2 * (vectors + v) + 1, &d.1);
            acc = mul2(&acc, &d, &k);
        }
        let mut lanes_acc = [[0u64; 32]; 2];
        store_to(&acc.0, &mut lanes_acc[0], &k);
        store_to(&acc.1, &mut lanes_acc[1], &k);
        let component = |c: &[u64; 32], l: usize| Fq::new_unchecked(BigInt(std::array::from_fn(|j| c[8 * j + l])));
        let mut each: [Fq2; 8] = std::array::from_fn(|l| Fq2::new(component(&lanes_acc[0], l), component(&lanes_acc[1], l)));
        if !super::invert_eight(&mut each) {
            return false;
        }
        for (l, e) in each.iter().enumerate() {
            for j in 0..4 {
                lanes_acc[0][8 * j + l] = e.c0.0 .0[j];
                lanes_acc[1][8 * j + l] = e.c1.0 .0[j];
            }
        }
        let mut inv = V2(load_from(&lanes_acc[0], &k), load_from(&lanes_acc[1], &k));
        for v in (0..vectors).rev() {
            let before = V2(get(work, 2 * v), get(work, 2 * v + 1));
            let d = V2(get(work, 2 * (vectors + v)), get(work, 2 * (vectors + v) + 1));
            let inv_d = mul2(&inv, &before, &k);
            inv = mul2(&inv, &d, &k);
            let (x1, y1) = (load2(soa, 0, lanes, 8 * v, &k), load2(soa, 1, lanes, 8 * v, &k));
            let (x2, y2) = (load2(soa, 2, lanes, 8 * v, &k), load2(soa, 3, lanes, 8 * v, &k));
            let lambda = mul2(&sub2(&y2, &y1, &k.two_p, &k), &inv_d, &k);
            // x3 = lambda^2 - x1 - x2, brought below 2p; y3 = lambda (x1 - x3) - y1, below 6p.
            let x3 = sub2(&sub2(&square2(&lambda, &k), &x1, &k.two_p, &k), &x2, &k.two_p, &k);
            let x3 = shrink2(&shrink2(&x3, &k.four_p, &k), &k.two_p, &k);
            let y3 = sub2(&mul2(&lambda, &sub2(&x1, &x3, &k.two_p, &k), &k), &y1, &k.two_p, &k);
            store2(&x3, soa, 0, lanes, 8 * v, &k);
            store2(&y3, soa, 1, lanes, 8 * v, &k);
        }
        true
    }

    /// Eight ark-ff elements (64-bit limbs `limbs[j][lane]`) into the kernel's form.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn load(soa: &[u64], coordinate: usize, lanes: usize, at: usize, k: &Consts) -> V {
        let limb = |j: usize| {
            let s = &soa[(4 * coordinate + j) * lanes + at..][..8];
            // SAFETY: `s` holds 8 u64, the 64 bytes read.
            unsafe { _mm512_loadu_si512(s.as_ptr().cast()) }
        };
        let (l0, l1, l2, l3) = (limb(0), limb(1), limb(2), limb(3));
        let m = k.mask;
        // 16 x, as the 64-bit limbs shifted 4 bits up and cut into 52-bit ones (below 16p),
        // then brought below 2p: no multiplication.
        let r = [
            _mm512_and_si512(_mm512_slli_epi64(l0, 4), m),
            _mm512_and_si512(_mm512_or_si512(_mm512_srli_epi64(l0, 48), _mm512_slli_epi64(l1, 16)), m),
            _mm512_and_si512(_mm512_or_si512(_mm512_srli_epi64(l1, 36), _mm512_slli_epi64(l2, 28)), m),
            _mm512_and_si512(_mm512_or_si512(_mm512_srli_epi64(l2, 24), _mm512_slli_epi64(l3, 40)), m),
            _mm512_srli_epi64(l3, 12),
        ];
        shrink(&shrink(&shrink(&V(r), &k.eight_p, k), &k.four_p, k), &k.two_p, k)
    }

    /// `v / 16 mod p` for `v` below 8p: `(v + m p) / 16` with `m = -v p^-1 mod 16`, below 1.5p.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn div16(v: &V, k: &Consts) -> V {
        let m = _mm512_and_si512(_mm512_madd52lo_epu64(k.zero, v.0[0], k.p_inv), k.fifteen);
        let mut t = v.0;
        for j in 0..5 {
            t[j] = _mm512_madd52lo_epu64(t[j], m, k.p[j]);
            if j < 4 {
                t[j + 1] = _mm512_madd52hi_epu64(t[j + 1], m, k.p[j]);
            }
        }
        let t = normalize(t, k).0;
        V(std::array::from_fn(|j| {
            let low = _mm512_srli_epi64(t[j], 4);
            if j < 4 {
                _mm512_or_si512(low, _mm512_and_si512(_mm512_slli_epi64(t[j + 1], 48), k.mask))
            } else {
                low
            }
        }))
    }

    /// The kernel's form (below 8p) back to ark-ff's canonical limbs, stored at `at`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn store(v: &V, soa: &mut [u64], coordinate: usize, lanes: usize, at: usize, k: &Consts) {
        // The kernel's x 2^260 is ark-ff's x 2^256 times 16.
        let r = reduce(&div16(v, k), k).0;
        let l = [
            _mm512_or_si512(r[0], _mm512_slli_epi64(r[1], 52)),
            _mm512_or_si512(_mm512_srli_epi64(r[1], 12), _mm512_slli_epi64(r[2], 40)),
            _mm512_or_si512(_mm512_srli_epi64(r[2], 24), _mm512_slli_epi64(r[3], 28)),
            _mm512_or_si512(_mm512_srli_epi64(r[3], 36), _mm512_slli_epi64(r[4], 16)),
        ];
        for (j, limb) in l.iter().enumerate() {
            let s = &mut soa[(4 * coordinate + j) * lanes + at..][..8];
            // SAFETY: `s` holds 8 u64, the 64 bytes written.
            unsafe { _mm512_storeu_si512(s.as_mut_ptr().cast(), *limb) };
        }
    }

    /// A vector kept in `work` as 40 u64.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn put(work: &mut [u64], at: usize, v: &V) {
        for j in 0..5 {
            let s = &mut work[(5 * at + j) * 8..][..8];
            // SAFETY: `s` holds 8 u64.
            unsafe { _mm512_storeu_si512(s.as_mut_ptr().cast(), v.0[j]) };
        }
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn get(work: &[u64], at: usize) -> V {
        V(std::array::from_fn(|j| {
            let s = &work[(5 * at + j) * 8..][..8];
            // SAFETY: `s` holds 8 u64.
            unsafe { _mm512_loadu_si512(s.as_ptr().cast()) }
        }))
    }

    /// Every chord addition of `soa` (see `Scratch`), results over x1 and y1. False (and
    /// nothing written) if some denominator is zero.
    ///
    /// # Safety
    /// The CPU must have AVX-512 F and IFMA.
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub unsafe fn chords(soa: &mut [u64], work: &mut Vec<u64>, lanes: usize) -> bool {
        let k = consts();
        let vectors = lanes / 8;
        // work: per vector, its denominator's prefix product (vectors 0..n), then its
        // denominator (n..2n).
        work.resize(2 * vectors * 40, 0);
        let one = load_one(&k);
        let mut acc = one;
        for v in 0..vectors {
            let x1 = load(soa, 0, lanes, 8 * v, &k);
            let x2 = load(soa, 2, lanes, 8 * v, &k);
            let d = sub(&x2, &x1, &k.two_p, &k);
            put(work, v, &acc);
            put(work, vectors + v, &d);
            acc = mul(&acc, &d, &k);
        }
        // Invert the eight lanes' products in ark-ff (one inversion), then walk back.
        let mut lanes_acc = [0u64; 32];
        store_to(&acc, &mut lanes_acc, &k);
        let mut each: [Fq; 8] = std::array::from_fn(|l| Fq::new_unchecked(BigInt(std::array::from_fn(|j| lanes_acc[8 * j + l]))));
        if !super::invert_eight(&mut each) {
            return false;
        }
        for (l, e) in each.iter().enumerate() {
            for j in 0..4 {
                lanes_acc[8 * j + l] = e.0 .0[j];
            }
        }
        let mut inv = load_from(&lanes_acc, &k);
        for v in (0..vectors).rev() {
            let (before, d) = (get(work, v), get(work, vectors + v));
            let inv_d = mul(&inv, &before, &k);
            inv = mul(&inv, &d, &k);
            let x1 = load(soa, 0, lanes, 8 * v, &k);
            let y1 = load(soa, 1, lanes, 8 * v, &k);
            let x2 = load(soa, 2, lanes, 8 * v, &k);
            let y2 = load(soa, 3, lanes, 8 * v, &k);
            let lambda = mul(&sub(&y2, &y1, &k.two_p, &k), &inv_d, &k);
            // x3 = lambda^2 - x1 - x2 (below 6p), y3 = lambda (x1 - x3) - y1 (below 4p).
            let x3 = sub(&sub(&mul(&lambda, &lambda, &k), &x1, &k.two_p, &k), &x2, &k.two_p, &k);
            let y3 = sub(&mul(&lambda, &sub(&x1, &x3, &k.six_p, &k), &k), &y1, &k.two_p, &k);
            store(&x3, soa, 0, lanes, 8 * v, &k);
            store(&y3, soa, 1, lanes, 8 * v, &k);
        }
        true
    }

    /// One, in the kernel's form, in every lane.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn load_one(k: &Consts) -> V {
        let one: Fq = ark_ff::Field::ONE;
        let limbs = one.0 .0;
        load(&std::array::from_fn::<u64, 32, _>(|i| limbs[i / 8]), 0, 8, 0, k)
    }

    /// Eight lanes stored as `out[8 j + lane]`, canonical ark-ff limbs.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn store_to(v: &V, out: &mut [u64; 32], k: &Consts) {
        store(v, out, 0, 8, 0, k);
    }

    /// The inverse of [`store_to`].
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn load_from(limbs: &[u64; 32], k: &Consts) -> V {
        load(limbs, 0, 8, 0, k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{G1Affine, G1Projective, G2Projective};
    use ark_ec::short_weierstrass::{Affine, SWCurveConfig};
    use ark_ec::{AffineRepr, CurveGroup};
    use ark_ff::UniformRand;
    use ark_std::rand::{rngs::StdRng, SeedableRng};

    type Add<F> = fn(&mut [F], &mut [F], &[F], &[F], &mut Scratch) -> bool;

    /// `a[k] + b[k]` through `add`, against ark-ec.
    fn check<C: SWCurveConfig>(a: &[Affine<C>], b: &[Affine<C>], add: Add<C::BaseField>, what: &str) {
        let (mut x1, mut y1): (Vec<_>, Vec<_>) = a.iter().map(|p| (p.x, p.y)).unzip();
        let (x2, y2): (Vec<_>, Vec<_>) = b.iter().map(|p| (p.x, p.y)).unzip();
        assert!(add(&mut x1, &mut y1, &x2, &y2, &mut Scratch::default()));
        for k in 0..a.len() {
            let want = (a[k] + b[k]).into_affine();
            assert_eq!((x1[k], y1[k]), (want.x, want.y), "{what}: k = {k}");
        }
    }

    #[test]
    fn the_kernel_runs_wherever_the_cpu_has_ifma() {
        let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let has = flags.split_whitespace().any(|f| f == "avx512ifma") && flags.split_whitespace().any(|f| f == "avx512f");
        if std::env::var_os("ZKROLLUP_NO_IFMA").is_none() {
            assert_eq!(available(), has, "IFMA in /proc/cpuinfo: {has}");
        }
    }

    #[test]
    fn chords_match_ark_ec_for_every_length() {
        if !available() {
            eprintln!("no AVX-512 IFMA on this CPU: nothing to test");
            return;
        }
        let mut rng = StdRng::seed_from_u64(1);
        for n in [1, 2, 7, 8, 9, 16, 100, 257] {
            let mut g1 = || G1Projective::normalize_batch(&(0..n).map(|_| G1Projective::rand(&mut rng)).collect::<Vec<_>>());
            let (a, b) = (g1(), g1());
            check(&a, &b, add_chords, &format!("G1, n = {n}"));
            let mut g2 = || G2Projective::normalize_batch(&(0..n).map(|_| G2Projective::rand(&mut rng)).collect::<Vec<_>>());
            let (a, b) = (g2(), g2());
            check(&a, &b, add_chords_fq2, &format!("G2, n = {n}"));
        }
    }

    #[test]
    fn small_multiples_and_negations_match_ark_ec() {
        if !available() {
            return;
        }
        // Multiples of the generator (small coordinates' neighbours in ark-ff's form), their
        // negations (y near p - y), and P + (-Q) with Q close to P.
        let g = G1Affine::generator();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let mut cur = G1Projective::from(g);
        for i in 0..40u64 {
            let p = cur.into_affine();
            let q = (cur * ark_bn254::Fr::from(i + 2)).into_affine();
            a.extend([p, -p, p]);
            b.extend([q, q, -q]);
            cur += g;
        }
        check(&a, &b, add_chords, "G1 multiples");
        let g2 = ark_bn254::G2Affine::generator();
        let a2: Vec<_> = (1..30u64).map(|i| (g2 * ark_bn254::Fr::from(i)).into_affine()).collect();
        let b2: Vec<_> = (1..30u64).map(|i| (-(g2 * ark_bn254::Fr::from(i + 1))).into_affine()).collect();
        check(&a2, &b2, add_chords_fq2, "G2 multiples");
    }

    #[test]
    #[should_panic(expected = "x1 == x2")]
    fn a_doubling_is_refused() {
        if !available() {
            panic!("x1 == x2 (no IFMA: the kernel is not run)");
        }
        let g = G1Affine::generator();
        check(&[g], &[g], add_chords, "P + P");
    }
}
