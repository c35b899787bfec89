//! A key folder as `zkrollup setup` writes it: `proving_key.bin`, `verifying_key.bin`,
//! `verification_key.json` and `circuit.json` (the circuit's parameters and the proving key's
//! sha256, which gates its unchecked loading).

use std::path::{Path, PathBuf};

use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use serde::{Deserialize, Serialize};
use zkrollup_circuits::batch::BatchCircuit;

use super::keys::{load_proving_key, load_verifying_key, save_proving_key, save_verifying_key, KeyError};
use super::snarkjs::verification_key_json;
use super::{setup, setup_insecure_dev, ProverError, ProvingKey, VerifyingKey};
use crate::decimal::{fr_to_decimal, parse_fr};
use crate::files::write_all_atomic;
use crate::{BatchParams, Fr};

/// `circuit.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitInfo {
    /// N.
    pub batch_size: usize,
    /// D.
    pub depth: usize,
    /// The domain, in decimal.
    pub domain: String,
    /// Number of R1CS constraints.
    pub constraints: usize,
    /// sha256 of `proving_key.bin`.
    pub proving_key_sha256: String,
    /// The seed of an INSECURE development setup; absent for a real one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_dev_seed: Option<u64>,
}

impl CircuitInfo {
    /// The batch parameters these keys prove.
    pub fn params(&self) -> Result<BatchParams, ProverError> {
        let domain = parse_fr(&self.domain).map_err(|e| KeyError::Info(format!("domain: {e}")))?;
        Ok(BatchParams::new(self.batch_size).with_domain(domain))
    }
}

/// Constraints of the batch circuit for N slots at depth D.
pub fn count_constraints(batch_size: usize, depth: usize) -> usize {
    let cs = ConstraintSystem::<Fr>::new_ref();
    BatchCircuit::blank(depth, batch_size, Fr::from(0u64))
        .generate_constraints(cs.clone())
        .expect("the blank circuit synthesizes");
    cs.num_constraints()
}

/// What one more transfer costs at depth D, its share of the commitment included: from 4 to 8
/// slots the public data grows by exactly one SHA-256 block (128 bytes of slots).
pub fn constraints_per_transfer(depth: usize) -> usize {
    (count_constraints(8, depth) - count_constraints(4, depth)) / 4
}

/// Run setup for N, D and the domain (from a seed: INSECURE), and write the key folder.
pub fn setup_to_dir(
    dir: &Path,
    batch_size: usize,
    depth: usize,
    domain: Fr,
    insecure_dev_seed: Option<u64>,
) -> Result<CircuitInfo, ProverError> {
    let circuit = BatchCircuit::blank(depth, batch_size, domain);
    let (pk, vk) = match insecure_dev_seed {
        Some(seed) => setup_insecure_dev(circuit, seed)?,
        None => setup(circuit)?,
    };
    std::fs::create_dir_all(dir).map_err(|source| KeyError::Io { path: dir.to_path_buf(), source })?;
    let proving_key_sha256 = save_proving_key(&pk, &dir.join("proving_key.bin"))?;
    save_verifying_key(&vk, &dir.join("verifying_key.bin"))?;
    let info = CircuitInfo {
        batch_size,
        depth,
        domain: fr_to_decimal(domain),
        constraints: count_constraints(batch_size, depth),
        proving_key_sha256,
        insecure_dev_seed,
    };
    let json = |v: &serde_json::Value| serde_json::to_string_pretty(v).expect("JSON") + "\n";
    write_all_atomic(&[
        (dir.join("verification_key.json"), json(&verification_key_json(&vk)).into_bytes()),
        (dir.join("circuit.json"), json(&serde_json::to_value(&info).expect("JSON")).into_bytes()),
    ])
    .map_err(|source| KeyError::Io { path: dir.to_path_buf(), source })?;
    Ok(info)
}

fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// Read `circuit.json`.
pub fn load_info(dir: &Path) -> Result<CircuitInfo, ProverError> {
    let p = path(dir, "circuit.json");
    let text = std::fs::read_to_string(&p).map_err(|source| KeyError::Io { path: p.clone(), source })?;
    Ok(serde_json::from_str(&text).map_err(|e| KeyError::Info(format!("{}: {e}", p.display())))?)
}

/// The proving key, loaded unchecked behind the sha256 that `circuit.json` records.
pub fn load_proving(dir: &Path, info: &CircuitInfo) -> Result<ProvingKey, ProverError> {
    Ok(load_proving_key(&path(dir, "proving_key.bin"), &info.proving_key_sha256)?)
}

/// The verifying key, checked.
pub fn load_verifying(dir: &Path) -> Result<VerifyingKey, ProverError> {
    Ok(load_verifying_key(&path(dir, "verifying_key.bin"))?)
}
