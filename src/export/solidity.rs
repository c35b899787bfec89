//! The Solidity verifier of a verifying key, rendered from the template in
//! `verifier-sol/templates/`, which is compiled into the binary.

use ark_ff::PrimeField;
use ark_serialize::CanonicalSerialize;
use thiserror::Error;

use super::calldata::{g1_words, g2_words};
use crate::prover::bundle::CircuitInfo;
use crate::prover::keys::sha256_hex;
use crate::prover::VerifyingKey;

/// The verifier template: `{{NAME}}` placeholders, filled by [`render_verifier`].
pub const VERIFIER_TEMPLATE: &str = include_str!("../../verifier-sol/templates/Groth16Verifier.sol.tmpl");

/// Why a verifier cannot be rendered for a key.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SolidityError {
    /// The template is for exactly one public input (the batch commitment).
    #[error("the verifying key takes {0} public inputs; the batch circuit's verifier takes exactly 1")]
    PublicInputs(usize),
}

/// The sha256 (hex) of a verifying key's compressed arkworks encoding (`verifying_key.bin`).
pub fn verifying_key_sha256(vk: &VerifyingKey) -> String {
    let mut bytes = Vec::new();
    vk.serialize_compressed(&mut bytes).expect("serializing to memory");
    sha256_hex(&bytes)
}

fn decimal(word: &[u8; 32]) -> String {
    // Coordinates are below q < 2^254, so a base-field element holds them exactly.
    crate::decimal::field_to_decimal(ark_bn254::Fq::from_be_bytes_mod_order(word))
}

/// The Solidity source of the verifier for `vk`, with the circuit parameters of `info` stated in
/// its header.
pub fn render_verifier(vk: &VerifyingKey, info: &CircuitInfo) -> Result<String, SolidityError> {
    let inputs = vk.gamma_abc_g1.len().saturating_sub(1);
    if inputs != 1 {
        return Err(SolidityError::PublicInputs(inputs));
    }
    let setup = match (info.insecure_dev_seed, &info.ceremony_zkey_sha256) {
        (Some(seed), _) => format!("INSECURE development setup from the public seed {seed}: anyone can forge proofs"),
        (None, Some(zkey)) => format!("from a phase-2 ceremony: final .zkey sha256 {zkey}"),
        (None, None) => "from operating-system randomness (zkrollup setup)".to_string(),
    };
    let [alpha_x, alpha_y] = g1_words(&vk.alpha_g1);
    let [beta_x1, beta_x0, beta_y1, beta_y0] = g2_words(&vk.beta_g2);
    let [gamma_x1, gamma_x0, gamma_y1, gamma_y0] = g2_words(&vk.gamma_g2);
    let [delta_x1, delta_x0, delta_y1, delta_y0] = g2_words(&vk.delta_g2);
    let [ic0_x, ic0_y] = g1_words(&vk.gamma_abc_g1[0]);
    let [ic1_x, ic1_y] = g1_words(&vk.gamma_abc_g1[1]);
    let values: Vec<(&str, String)> = vec![
        ("BATCH_SIZE", info.batch_size.to_string()),
        ("DEPTH", info.depth.to_string()),
        ("L1_SLOTS", info.l1_slots.to_string()),
        ("CONSTRAINTS", info.constraints.to_string()),
        ("VK_SHA256", verifying_key_sha256(vk)),
        ("PK_SHA256", info.proving_key_sha256.clone()),
        ("SETUP", setup),
        ("ALPHA_X", decimal(&alpha_x)),
        ("ALPHA_Y", decimal(&alpha_y)),
        ("BETA_X1", decimal(&beta_x1)),
        ("BETA_X0", decimal(&beta_x0)),
        ("BETA_Y1", decimal(&beta_y1)),
        ("BETA_Y0", decimal(&beta_y0)),
        ("GAMMA_X1", decimal(&gamma_x1)),
        ("GAMMA_X0", decimal(&gamma_x0)),
        ("GAMMA_Y1", decimal(&gamma_y1)),
        ("GAMMA_Y0", decimal(&gamma_y0)),
        ("DELTA_X1", decimal(&delta_x1)),
        ("DELTA_X0", decimal(&delta_x0)),
        ("DELTA_Y1", decimal(&delta_y1)),
        ("DELTA_Y0", decimal(&delta_y0)),
        ("IC0_X", decimal(&ic0_x)),
        ("IC0_Y", decimal(&ic0_y)),
        ("IC1_X", decimal(&ic1_x)),
        ("IC1_Y", decimal(&ic1_y)),
    ];
    let mut out = VERIFIER_TEMPLATE.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{{{name}}}}}"), &value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prover::{setup_insecure_dev, PreimageCircuit};
    use crate::Fr;

    fn info() -> CircuitInfo {
        CircuitInfo {
            batch_size: 3,
            l1_slots: 2,
            depth: 16,
            constraints: 1,
            proving_key_sha256: "ab".repeat(32),
            insecure_dev_seed: Some(5),
            ceremony_zkey_sha256: None,
        }
    }

    #[test]
    fn every_placeholder_is_filled_and_the_header_states_the_parameters() {
        let (_, vk) = setup_insecure_dev(PreimageCircuit::new([Fr::from(1u64), Fr::from(2u64)]), 5).unwrap();
        let sol = render_verifier(&vk, &info()).unwrap();
        assert!(!sol.contains("{{"), "unfilled placeholder");
        assert!(sol.contains("L2 slots N          3"));
        assert!(sol.contains("L1 slots M          2"));
        assert!(sol.contains("tree depth D        16"));
        assert!(sol.contains(&verifying_key_sha256(&vk)));
        assert!(sol.contains("INSECURE development setup from the public seed 5"));
        let alpha_x = crate::decimal::field_to_decimal(vk.alpha_g1.x);
        assert!(sol.contains(&format!("ALPHA_X = {alpha_x};")));
    }

    #[test]
    fn a_key_with_another_number_of_inputs_is_refused() {
        let (_, mut vk) = setup_insecure_dev(PreimageCircuit::new([Fr::from(1u64), Fr::from(2u64)]), 5).unwrap();
        vk.gamma_abc_g1.push(vk.alpha_g1);
        assert_eq!(render_verifier(&vk, &info()), Err(SolidityError::PublicInputs(2)));
    }
}
