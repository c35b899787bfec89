//! Scalars that repeat. A witness holds the same value many times (the hashes of empty subtrees
//! on every Merkle path, say), and `k` equal scalars `s` contribute `s` times the sum of their
//! `k` bases. Bucket methods suffer from them: equal scalars fall into the same bucket of every
//! window, where batched affine additions must wait for each other (the batch circuit's B query
//! at N = 16 holds 112,000 repeats among 268,000 full-width scalars, and its MSM took 1.3 s
//! against 0.3 s for as many random scalars). So the repeats are found once a proof, their
//! bases summed for each MSM, and each MSM sees every value once.

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::CurveGroup;
use ark_ff::{BigInteger, PrimeField, Zero};
use rayon::prelude::*;

use super::msm::msm;
use super::msm::BatchInverse;

/// The runs of equal scalars in an assignment: each value held by two indices or more, with
/// those indices.
pub struct Repeats<B> {
    runs: Vec<(B, Vec<u32>)>,
}

impl<B: BigInteger> Repeats<B> {
    /// The runs among `scalars` wider than one bit (zeros are dropped and ones summed by the MSM
    /// already), found by sorting.
    pub fn find(scalars: &[B]) -> Repeats<B> {
        let mut keyed: Vec<(B, u32)> =
            scalars.par_iter().enumerate().filter(|(_, s)| s.num_bits() > 1).map(|(i, s)| (*s, i as u32)).collect();
        keyed.par_sort_unstable();
        let mut runs = Vec::new();
        let mut start = 0;
        while start < keyed.len() {
            let end = start + keyed[start..].iter().take_while(|(s, _)| *s == keyed[start].0).count();
            if end - start > 1 {
                runs.push((keyed[start].0, keyed[start..end].iter().map(|(_, i)| *i).collect()));
            }
            start = end;
        }
        Repeats { runs }
    }

    /// The indices in runs.
    pub fn len(&self) -> usize {
        self.runs.iter().map(|(_, idx)| idx.len()).sum()
    }

    /// Whether no value repeats.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// `scalars` with every index of a run set to zero: an MSM over it leaves the runs out.
    pub fn without(&self, scalars: &[B]) -> Vec<B> {
        let mut out = scalars.to_vec();
        for (_, idx) in &self.runs {
            for &i in idx {
                out[i as usize] = B::from(0u64);
            }
        }
        out
    }
}

/// `sum_i scalars[offset + i] bases[i]` (as [`msm`] over `scalars[offset..]`), given the runs of
/// `scalars` and `without`, its copy from [`Repeats::without`]: the MSM over `without`, plus one
/// term a run, its value times the sum of its bases.
pub fn msm_with_repeats<P: SWCurveConfig>(
    bases: &[Affine<P>],
    without: &[<P::ScalarField as PrimeField>::BigInt],
    repeats: &Repeats<<P::ScalarField as PrimeField>::BigInt>,
    offset: usize,
) -> Projective<P>
where
    P::BaseField: BatchInverse,
{
    let n = bases.len().min(without.len().saturating_sub(offset));
    let sums: Vec<Projective<P>> = repeats
        .runs
        .par_iter()
        .map(|(_, idx)| {
            idx.iter()
                .filter_map(|&i| (i as usize).checked_sub(offset).filter(|&j| j < n))
                .fold(Projective::<P>::zero(), |acc, j| acc + bases[j])
        })
        .collect();
    let sums = Projective::normalize_batch(&sums);
    let values: Vec<_> = repeats.runs.iter().map(|(s, _)| *s).collect();
    let (rest, runs) = rayon::join(|| msm(&bases[..n], &without[offset..offset + n]), || msm(&sums, &values));
    rest + runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
    use ark_ec::{AffineRepr, VariableBaseMSM};
    use ark_ff::UniformRand;
    use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};

    /// Scalars drawn from a few values (and zeros, ones, r - 1), so that most repeat.
    fn repeating(n: usize, rng: &mut StdRng) -> Vec<Fr> {
        let pool: Vec<Fr> = (0..7).map(|_| Fr::rand(rng)).chain([Fr::from(0u64), Fr::from(1u64), -Fr::from(1u64), Fr::from(2u64)]).collect();
        (0..n).map(|i| if i % 5 == 0 { Fr::rand(rng) } else { pool[rng.gen_range(0..pool.len())] }).collect()
    }

    #[test]
    fn an_msm_with_repeats_equals_ark_ec_at_every_offset() {
        let mut rng = StdRng::seed_from_u64(11);
        for n in [0, 1, 2, 3, 10, 100, 1000] {
            let z = repeating(n, &mut rng);
            let zb: Vec<_> = z.iter().map(|x| x.into_bigint()).collect();
            let repeats = Repeats::find(&zb);
            let without = repeats.without(&zb);
            if n >= 100 {
                assert!(repeats.len() > n / 2, "most values repeat: {}", repeats.len());
            }
            // Bases with the identity among them, and as many as the scalars or fewer.
            let g1: Vec<G1Affine> = (0..n).map(|i| if i % 7 == 3 { G1Affine::zero() } else { (G1Affine::generator() * Fr::rand(&mut rng)).into_affine() }).collect();
            let g2: Vec<G2Affine> = (0..n).map(|_| (G2Affine::generator() * Fr::rand(&mut rng)).into_affine()).collect();
            for offset in [0, 1, 3] {
                if offset > n {
                    continue;
                }
                for len in [n - offset, (n - offset) / 2] {
                    let want = G1Projective::msm(&g1[..len], &z[offset..offset + len]).unwrap();
                    assert_eq!(msm_with_repeats(&g1[..len], &without, &repeats, offset), want, "G1 n {n} offset {offset} len {len}");
                    let want = G2Projective::msm(&g2[..len], &z[offset..offset + len]).unwrap();
                    assert_eq!(msm_with_repeats(&g2[..len], &without, &repeats, offset), want, "G2 n {n} offset {offset} len {len}");
                }
            }
        }
    }

    #[test]
    fn runs_hold_every_repeated_value_and_nothing_else() {
        let zb: Vec<_> = [5u64, 0, 1, 5, 7, 1, 5, 9, 7].iter().map(|&v| Fr::from(v).into_bigint()).collect();
        let r = Repeats::find(&zb);
        let mut runs: Vec<(u64, Vec<u32>)> = r.runs.iter().map(|(s, idx)| (s.as_ref()[0], idx.clone())).collect();
        runs.sort();
        assert_eq!(runs, vec![(5, vec![0, 3, 6]), (7, vec![4, 8])], "ones and zeros are left to the MSM");
        assert_eq!(r.without(&zb).iter().map(|s| s.as_ref()[0]).collect::<Vec<_>>(), vec![0, 0, 1, 0, 0, 1, 0, 9, 0]);
    }
}
