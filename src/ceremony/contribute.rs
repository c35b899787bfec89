//! One phase-2 contribution or the final beacon, as `snarkjs zkey contribute` and
//! `snarkjs zkey beacon` make them: a secret `d` multiplies delta and divides the L and H
//! points; the record proves knowledge of `d` against the transcript so far.

use ark_bn254::{G1Affine, G1Projective};
use ark_ec::{AffineRepr, CurveGroup};
use std::io::{Read, Seek, Write};
use std::path::Path;

use ark_ff::Field;
use blake2::{Blake2b512, Digest};
use rayon::prelude::*;

use super::rng::{hash_to_g2, SnarkjsRng};
use super::CeremonyError;
use crate::iden3::encoding::{g1_uncompressed, g2_uncompressed};
use crate::iden3::container::write_atomically_with;
use crate::iden3::zkey::{Contribution, ContributionParams, ZkeyFile};

/// The kind of a contribution record.
pub const KIND_CONTRIBUTION: u32 = 0;
/// The kind of a beacon record.
pub const KIND_BEACON: u32 = 1;

/// blake2b-512 of the transcript before a new contribution: the circuit hash, then each
/// earlier contribution's public key and transcript.
pub(super) fn transcript_prefix(zkey_cs_hash: &[u8; 64], contributions: &[Contribution]) -> Blake2b512 {
    let mut h = Blake2b512::new();
    h.update(zkey_cs_hash);
    for c in contributions {
        hash_public_key(&mut h, c);
    }
    h
}

/// A record's public key and transcript, as snarkjs hashes them.
fn hash_public_key(h: &mut Blake2b512, c: &Contribution) {
    h.update(g1_uncompressed(&c.delta_after));
    h.update(g1_uncompressed(&c.g1_s));
    h.update(g1_uncompressed(&c.g1_sx));
    h.update(g2_uncompressed(&c.g2_spx));
    h.update(c.transcript);
}

/// The hash a participant publishes: blake2b-512 of the record's public key and transcript.
pub fn contribution_hash(c: &Contribution) -> [u8; 64] {
    let mut h = Blake2b512::new();
    hash_public_key(&mut h, c);
    h.finalize().into()
}

/// Apply a contribution drawn from `rng` to the key in `input`, writing the new key to `out`
/// section by section (a chunk of points in memory at a time); the record's hash. `progress`
/// gets the L and H points scaled so far and their total.
pub fn contribute<R: Read + Seek, W: Write>(
    input: &mut ZkeyFile<R>,
    out: W,
    rng: &mut SnarkjsRng,
    kind: u32,
    params: ContributionParams,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<[u8; 64], CeremonyError> {
    let secret = rng.fr();
    let Some(inverse) = secret.inverse() else {
        return Err(CeremonyError::Unfit("the contribution's secret is zero; draw again".into()));
    };
    let g1_s = rng.g1();
    let g1_sx = (g1_s * secret).into_affine();
    let mut transcript = transcript_prefix(&input.cs_hash, &input.contributions);
    transcript.update(g1_uncompressed(&g1_s));
    transcript.update(g1_uncompressed(&g1_sx));
    let transcript: [u8; 64] = transcript.finalize().into();
    let g2_spx = (hash_to_g2(&transcript) * secret).into_affine();

    let mut header = input.header.clone();
    header.delta1 = (header.delta1 * secret).into_affine();
    header.delta2 = (header.delta2 * secret).into_affine();
    let record = Contribution { delta_after: header.delta1, g1_s, g1_sx, g2_spx, transcript, kind, params };
    let hash = contribution_hash(&record);
    let mut contributions = input.contributions.clone();
    contributions.push(record);
    // The group's own multiplication: for G1 it splits the scalar with the GLV endomorphism.
    let scale = |points: Vec<G1Affine>| -> Vec<G1Affine> {
        let scaled: Vec<G1Projective> = points.par_iter().map(|p| p.into_group() * inverse).collect();
        G1Projective::normalize_batch(&scaled)
    };
    input.rewrite(out, &header, &contributions, scale, progress)?;
    Ok(hash)
}

/// [`contribute()`] from the file `input` to the file `out`, written whole or not at all.
pub fn contribute_file(
    input: &Path,
    out: &Path,
    rng: &mut SnarkjsRng,
    kind: u32,
    params: ContributionParams,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<[u8; 64], CeremonyError> {
    let mut key = ZkeyFile::open(input)?;
    let mut hash = [0u8; 64];
    write_atomically_with(out, |w| {
        hash = contribute(&mut key, w, rng, kind, params, progress)?;
        Ok::<_, CeremonyError>(())
    })?;
    Ok(hash)
}

/// The final beacon from the file `input` to the file `out`: the contribution drawn from
/// `beacon_hash` hashed `2^iterations_exp` times (10 to 63, as snarkjs allows), so anyone can
/// redo it.
pub fn beacon_file(
    input: &Path,
    out: &Path,
    beacon_hash: &[u8],
    iterations_exp: u32,
    name: Option<String>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<[u8; 64], CeremonyError> {
    if beacon_hash.is_empty() || beacon_hash.len() > 255 {
        return Err(CeremonyError::Unfit(format!("the beacon hash has {} bytes; 1 to 255 allowed", beacon_hash.len())));
    }
    if !(10..=63).contains(&iterations_exp) {
        return Err(CeremonyError::Unfit(format!("iterations exponent {iterations_exp} outside 10..=63")));
    }
    let mut rng = SnarkjsRng::from_beacon(beacon_hash, iterations_exp);
    let params = ContributionParams { name, iterations_exp: Some(iterations_exp as u8), beacon_hash: Some(beacon_hash.to_vec()) };
    contribute_file(input, out, &mut rng, KIND_BEACON, params, progress)
}
