//! Verifying a phase-2 `.zkey` against its circuit and ptau: every check `snarkjs zkey verify`
//! makes. The transcript chain, each contribution's proof of knowledge and the delta chain;
//! a beacon re-derived from its parameters; the key rebuilt from the `.r1cs` and the ptau
//! ([`super::initial_key`], a section at a time, each compared with the file's and dropped)
//! with the header, the circuit hash and the sections contributions must not change (IC,
//! coefficients, A, B1, B2) compared; L and H checked to be the initial ones divided by the
//! final delta, with random linear combinations and one pairing each.

use std::io::{Read, Seek};
use std::path::Path;

use ark_bn254::{Bn254, G1Affine, G1Projective, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{PrimeField, UniformRand, Zero};
use blake2::Digest;

use super::contribute::{contribution_hash, transcript_prefix, KIND_BEACON};
use super::rng::{hash_to_g2, SnarkjsRng};
use super::{initial_key, CeremonyError, Part};
use crate::iden3::encoding::g1_uncompressed;
use crate::iden3::ptau::Ptau;
use crate::iden3::r1cs::R1cs;
use crate::iden3::encoding::Check;
use crate::iden3::zkey::{ContributionParams, ZkeyFile, SECTION_A, SECTION_B1, SECTION_B2, SECTION_H, SECTION_L};
use crate::prover::msm::msm;
use crate::Fr;

/// A contribution as a verified key lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedContribution {
    /// The hash its participant published.
    pub hash: [u8; 64],
    /// 0 a contribution, 1 the beacon.
    pub kind: u32,
    /// Its name and beacon parameters.
    pub params: ContributionParams,
}

/// `e(a, d) == e(b, c)`: b/a and d/c are the same ratio.
fn same_ratio(a: G1Affine, b: G1Affine, c: G2Affine, d: G2Affine) -> bool {
    Bn254::multi_pairing([a, -b], [d, c]).0 == <Bn254 as Pairing>::TargetField::from(1u64)
}

fn invalid(what: impl Into<String>) -> CeremonyError {
    CeremonyError::Invalid(what.into())
}

/// Check the key in `zkey` as the outcome of a ceremony on `r1cs` from `ptau`; its
/// contributions, oldest first, when it passes. The key is read a chunk at a time; the
/// initial key rebuilt from the ptau is what stays in memory. `progress` names each step.
pub fn verify<R: Read + Seek>(
    zkey: &mut ZkeyFile<R>,
    r1cs: &R1cs,
    ptau: &mut Ptau,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<VerifiedContribution>, CeremonyError> {
    // 1. The transcript, the proofs of knowledge, the delta chain, the beacon.
    progress("the contributions' transcript and proofs of knowledge");
    let mut delta = G1Affine::generator();
    let mut out = Vec::new();
    for (i, c) in zkey.contributions.iter().enumerate() {
        let mut transcript = transcript_prefix(&zkey.cs_hash, &zkey.contributions[..i]);
        transcript.update(g1_uncompressed(&c.g1_s));
        transcript.update(g1_uncompressed(&c.g1_sx));
        if transcript.finalize()[..] != c.transcript[..] {
            return Err(invalid(format!("contribution {i}: the transcript is not the hash of the ones before it")));
        }
        let g2_sp = hash_to_g2(&c.transcript);
        if c.g1_s.is_zero() || !same_ratio(c.g1_s, c.g1_sx, g2_sp, c.g2_spx) {
            return Err(invalid(format!("contribution {i}: the proof of knowledge does not hold (g1_s, g1_sx against the transcript's G2 point, g2_spx)")));
        }
        if !same_ratio(delta, c.delta_after, g2_sp, c.g2_spx) {
            return Err(invalid(format!("contribution {i}: deltaAfter is not the previous delta times the contribution's secret")));
        }
        if c.kind == KIND_BEACON {
            let (Some(exp), Some(hash)) = (c.params.iterations_exp, &c.params.beacon_hash) else {
                return Err(invalid(format!("contribution {i}: a beacon without its parameters")));
            };
            let mut rng = SnarkjsRng::from_beacon(hash, u32::from(exp));
            let secret = rng.fr();
            let g1_s = rng.g1();
            if g1_s != c.g1_s || (g1_s * secret).into_affine() != c.g1_sx {
                return Err(invalid(format!("contribution {i}: the beacon's key is not the one its hash and iterations give")));
            }
        }
        delta = c.delta_after;
        out.push(VerifiedContribution { hash: contribution_hash(c), kind: c.kind, params: c.params.clone() });
    }
    // 2. The key the circuit and the ptau give, a section at a time, against the file's: the
    // header, the sections contributions must not change (chunk by chunk), and L and H as
    // the initial ones over delta (one random combination each).
    progress("the initial key from the circuit and the ptau, against the key");
    let header = zkey.header.clone();
    let h = &header;
    let mut delta2_initial = G2Affine::generator();
    let cs_hash = initial_key(r1cs, ptau, |part| {
        match part {
            Part::Header(h0) => {
                if (h.n_vars, h.n_public, h.domain_size) != (h0.n_vars, h0.n_public, h0.domain_size) {
                    return Err(invalid("the key is for another circuit: signals, public signals or domain differ"));
                }
                let same = [("alpha1", h.alpha1 == h0.alpha1), ("beta1", h.beta1 == h0.beta1), ("beta2", h.beta2 == h0.beta2), ("gamma2", h.gamma2 == h0.gamma2)];
                if let Some((name, _)) = same.iter().find(|(_, ok)| !ok) {
                    return Err(invalid(format!("{name} is not the ptau's: another ptau, or a changed key")));
                }
                if h.delta1 != delta {
                    return Err(invalid("delta1 is not the last contribution's deltaAfter"));
                }
                if !same_ratio(G1Affine::generator(), h.delta1, G2Affine::generator(), h.delta2) {
                    return Err(invalid("delta2 does not match delta1"));
                }
                delta2_initial = h0.delta2;
            }
            Part::Coefficients(then) => {
                if zkey.n_coefficients as usize != then.len() {
                    return Err(unchanged("the coefficients (section 4)"));
                }
                zkey.coefficient_chunks(|first, chunk| {
                    if then[first..first + chunk.len()] != chunk[..] {
                        return Err(unchanged("the coefficients (section 4)"));
                    }
                    Ok(())
                })?;
            }
            Part::Ic(then) => {
                if zkey.ic != then {
                    return Err(unchanged("IC (section 3)"));
                }
            }
            // Equal to the initial key's points, which are valid, so the encoding check is enough.
            Part::A(then) => same_points(zkey, SECTION_A, "A (section 5)", then)?,
            Part::B1(then) => same_points(zkey, SECTION_B1, "B1 (section 6)", then)?,
            Part::B2(then) => {
                zkey.g2_chunks(SECTION_B2, Check::PinnedByHash, |first, chunk| {
                    if then[first..first + chunk.len()] != chunk[..] {
                        return Err(unchanged("B2 (section 7)"));
                    }
                    Ok(())
                })?;
            }
            Part::L(then) => over_delta(zkey, SECTION_L, "L (section 8)", then, h.delta2, delta2_initial)?,
            Part::H(then) => over_delta(zkey, SECTION_H, "H (section 9)", then, h.delta2, delta2_initial)?,
        }
        Ok(())
    })?;
    if zkey.cs_hash != cs_hash {
        return Err(invalid("the circuit hash is not the one this circuit and ptau give"));
    }
    Ok(out)
}

/// The error for a section a contribution changed.
fn unchanged(name: &str) -> CeremonyError {
    invalid(format!("{name} differs from the initial key's: contributions must not change it"))
}

/// Section `id`'s G1 points are `then`, read chunk by chunk.
fn same_points<R: Read + Seek>(zkey: &mut ZkeyFile<R>, id: u32, name: &str, then: &[G1Affine]) -> Result<(), CeremonyError> {
    if zkey.points(id) != then.len() as u64 {
        return Err(unchanged(name));
    }
    zkey.g1_chunks(id, Check::PinnedByHash, |first, chunk| {
        if then[first..first + chunk.len()] != chunk[..] {
            return Err(unchanged(name));
        }
        Ok(())
    })
}

/// Section `id`'s points are the initial key's `then` divided by the final delta: one random
/// linear combination of each, the file's read chunk by chunk, and one pairing.
fn over_delta<R: Read + Seek>(zkey: &mut ZkeyFile<R>, id: u32, name: &str, then: &[G1Affine], delta2: G2Affine, delta2_initial: G2Affine) -> Result<(), CeremonyError> {
    if zkey.points(id) != then.len() as u64 {
        return Err(invalid(format!("{name} has {} points, the circuit {}", zkey.points(id), then.len())));
    }
    let (mut a, mut b) = (G1Projective::zero(), G1Projective::zero());
    let mut rng = rand::rngs::OsRng;
    zkey.g1_chunks(id, Check::Full, |first, now| {
        let r: Vec<_> = (0..now.len()).map(|_| Fr::rand(&mut rng).into_bigint()).collect();
        let (x, y): (G1Projective, G1Projective) = rayon::join(|| msm(&then[first..first + now.len()], &r), || msm(&now, &r));
        a += x;
        b += y;
        Ok::<_, CeremonyError>(())
    })?;
    if !same_ratio(a.into_affine(), b.into_affine(), delta2, delta2_initial) {
        return Err(invalid(format!("{name} is not the initial key's divided by delta")));
    }
    Ok(())
}

/// [`verify()`] on the file `zkey`.
pub fn verify_file(zkey: &Path, r1cs: &R1cs, ptau: &mut Ptau, progress: &mut dyn FnMut(&str)) -> Result<Vec<VerifiedContribution>, CeremonyError> {
    verify(&mut ZkeyFile::open(zkey)?, r1cs, ptau, progress)
}

impl VerifiedContribution {
    /// One line: the kind, the name and the hash.
    pub fn describe(&self) -> String {
        let name = self.params.name.clone().unwrap_or_default();
        let kind = if self.kind == KIND_BEACON { "beacon" } else { "contribution" };
        format!("{kind} {name:?}: {}", hex::encode(self.hash))
    }
}
