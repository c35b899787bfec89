//! A key folder as `zkrollup setup` writes it: `proving_key.bin`, `verifying_key.bin`,
//! `verification_key.json`, `matrices.bin` (the circuit's R1CS matrices, so that a process that
//! proves need not rebuild them) and `circuit.json` (the circuit's parameters and the sha256s of
//! the proving key and the matrices, which gate their unchecked loading).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zkrollup_circuits::batch::{BatchCircuit, Shape};

use super::keys::{load_proving_key, load_verifying_key, save_proving_key, save_verifying_key, KeyError};
use super::snarkjs::verification_key_json;
use super::{setup, setup_insecure_dev, ProverError, ProvingKey, VerifyingKey};
use super::fast::FastProver;
use super::sparse::SparseMatrices;
use crate::ceremony::zkey_coefficients;
use crate::files::write_all_atomic;
use crate::iden3::zkey::Zkey;
use crate::{BatchParams, Fr};

/// `circuit.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitInfo {
    /// N, the L2 slots.
    pub batch_size: usize,
    /// M, the L1 slots.
    pub l1_slots: usize,
    /// D.
    pub depth: usize,
    /// Number of R1CS constraints.
    pub constraints: usize,
    /// sha256 of `proving_key.bin`.
    pub proving_key_sha256: String,
    /// The seed of an INSECURE development setup; absent for a real one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_dev_seed: Option<u64>,
    /// sha256 of the ceremony's final `.zkey` the keys come from (`ceremony export`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceremony_zkey_sha256: Option<String>,
    /// sha256 of `matrices.bin`, the circuit's R1CS matrices (absent in folders written before
    /// it existed: the matrices are then rebuilt by each process that proves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrices_sha256: Option<String>,
}

impl CircuitInfo {
    /// The circuit's shape.
    pub fn shape(&self) -> Shape {
        Shape { depth: self.depth, l1_slots: self.l1_slots, batch_size: self.batch_size }
    }

    /// The batch parameters these keys prove, for a batch of this domain and number.
    pub fn params(&self, domain: Fr, batch_id: u64) -> BatchParams {
        BatchParams::new(self.batch_size, domain).with_l1_slots(self.l1_slots).with_batch_id(batch_id)
    }
}

/// Constraints of the batch circuit of this shape.
pub fn count_constraints(shape: Shape) -> usize {
    zkrollup_circuits::stats::batch_cost(shape).expect("the blank circuit synthesizes")
}

/// Run setup for this shape (from a seed: INSECURE), and write the key folder.
pub fn setup_to_dir(dir: &Path, shape: Shape, insecure_dev_seed: Option<u64>) -> Result<CircuitInfo, ProverError> {
    let circuit = BatchCircuit::blank(shape);
    let (pk, vk) = match insecure_dev_seed {
        Some(seed) => setup_insecure_dev(circuit, seed)?,
        None => setup(circuit)?,
    };
    std::fs::create_dir_all(dir).map_err(|source| KeyError::Io { path: dir.to_path_buf(), source })?;
    let proving_key_sha256 = save_proving_key(&pk, &dir.join("proving_key.bin"))?;
    save_verifying_key(&vk, &dir.join("verifying_key.bin"))?;
    drop(pk);
    let fast = FastProver::new(BatchCircuit::blank(shape))?;
    let matrices_sha256 = fast.matrices().save(&dir.join(MATRICES))?;
    let info = CircuitInfo {
        batch_size: shape.batch_size,
        l1_slots: shape.l1_slots,
        depth: shape.depth,
        constraints: fast.num_constraints(),
        proving_key_sha256,
        insecure_dev_seed,
        ceremony_zkey_sha256: None,
        matrices_sha256: Some(matrices_sha256),
    };
    write_rest(dir, &vk, &info)?;
    Ok(info)
}

/// The key folder of a ceremony's final `.zkey` for the batch circuit of `shape` (its sha256
/// `zkey_sha256` recorded): refused unless the key's coefficients are this circuit's.
pub fn write_from_zkey(dir: &Path, shape: Shape, zkey: &Zkey, zkey_sha256: &str) -> Result<CircuitInfo, ProverError> {
    let fast = FastProver::new(BatchCircuit::blank(shape))?;
    let r1cs = fast.r1cs();
    let h = &zkey.header;
    if h.n_vars != r1cs.n_wires || h.n_public as usize != r1cs.n_public() || zkey.coefficients != zkey_coefficients(&r1cs) {
        return Err(ProverError::Zkey(format!(
            "the key is not for the batch circuit with N = {}, M = {}, D = {} ({} signals, {} in the key)",
            shape.batch_size, shape.l1_slots, shape.depth, r1cs.n_wires, h.n_vars
        )));
    }
    let pk = zkey.proving_key();
    std::fs::create_dir_all(dir).map_err(|source| KeyError::Io { path: dir.to_path_buf(), source })?;
    let proving_key_sha256 = save_proving_key(&pk, &dir.join("proving_key.bin"))?;
    save_verifying_key(&pk.vk, &dir.join("verifying_key.bin"))?;
    let matrices_sha256 = fast.matrices().save(&dir.join(MATRICES))?;
    let info = CircuitInfo {
        batch_size: shape.batch_size,
        l1_slots: shape.l1_slots,
        depth: shape.depth,
        constraints: r1cs.constraints.len(),
        proving_key_sha256,
        insecure_dev_seed: None,
        ceremony_zkey_sha256: Some(zkey_sha256.to_string()),
        matrices_sha256: Some(matrices_sha256),
    };
    write_rest(dir, &pk.vk, &info)?;
    Ok(info)
}

/// `verification_key.json` and `circuit.json`.
fn write_rest(dir: &Path, vk: &VerifyingKey, info: &CircuitInfo) -> Result<(), ProverError> {
    let json = |v: &serde_json::Value| serde_json::to_string_pretty(v).expect("JSON") + "\n";
    write_all_atomic(&[
        (dir.join("verification_key.json"), json(&verification_key_json(vk)).into_bytes()),
        (dir.join("circuit.json"), json(&serde_json::to_value(info).expect("JSON")).into_bytes()),
    ])
    .map_err(|source| KeyError::Io { path: dir.to_path_buf(), source })?;
    Ok(())
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

/// The file of the circuit's matrices in a key folder.
pub const MATRICES: &str = "matrices.bin";

/// A prover for the folder's circuit: its matrices read from `matrices.bin` behind the sha256
/// `circuit.json` records, or, in a folder without them, built by synthesizing the circuit.
pub fn load_prover(dir: &Path, info: &CircuitInfo) -> Result<FastProver, ProverError> {
    let Some(sha256) = &info.matrices_sha256 else {
        return FastProver::new(BatchCircuit::blank(info.shape()));
    };
    let matrices = SparseMatrices::load(&path(dir, MATRICES), sha256)?;
    if matrices.num_constraints() != info.constraints {
        return Err(KeyError::Info(format!("{MATRICES} has {} constraints, circuit.json {}", matrices.num_constraints(), info.constraints)).into());
    }
    FastProver::from_matrices(matrices)
}

/// The verifying key, checked.
pub fn load_verifying(dir: &Path) -> Result<VerifyingKey, ProverError> {
    Ok(load_verifying_key(&path(dir, "verifying_key.bin"))?)
}
