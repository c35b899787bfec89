//! The Solidity verifiers of a verifying key, rendered from the templates in
//! `verifier-sol/templates/`, which are compiled into the binary: the batch circuit's (one
//! public input, its shape in the header) and any circuit's (one or more public inputs, from a
//! `.zkey`).

use ark_ff::PrimeField;
use ark_serialize::CanonicalSerialize;
use thiserror::Error;

use super::calldata::{g1_words, g2_words};
use crate::primitives::batch::Shape;
use crate::prover::bundle::CircuitInfo;
use crate::prover::keys::sha256_hex;
use crate::prover::VerifyingKey;

/// The verifier template: `{{NAME}}` placeholders, filled by [`render_verifier`].
pub const VERIFIER_TEMPLATE: &str = include_str!("../../verifier-sol/templates/Groth16Verifier.sol.tmpl");

/// The template for any circuit: `{{INPUTS}}` public inputs, filled by [`render_inputs_verifier`].
pub const INPUTS_VERIFIER_TEMPLATE: &str = include_str!("../../verifier-sol/templates/Groth16VerifierInputs.sol.tmpl");

/// Why a verifier cannot be rendered for a key.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SolidityError {
    /// The template is for exactly one public input (the batch commitment).
    #[error("the verifying key takes {0} public inputs; the batch circuit's verifier takes exactly 1")]
    PublicInputs(usize),
    /// Solidity has no zero-length array argument, and a proof of nothing public is not worth a contract.
    #[error("the verifying key takes no public inputs; a Solidity verifier needs at least one")]
    NoPublicInputs,
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

/// The top 20 bytes of the verifier's shape word: a fixed tag of high entropy, so that the
/// compiler always pushes the word whole.
const SHAPE_TAG: [u8; 20] = *b"zkrollup batch shape";

/// The word the verifier's `batchSize()`, `l1Slots()` and `depth()` read: the tag, then N, M
/// and D as 4-byte big-endian numbers.
pub fn shape_word(shape: Shape) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[..20].copy_from_slice(&SHAPE_TAG);
    for (i, v) in [shape.batch_size, shape.l1_slots, shape.depth].into_iter().enumerate() {
        let v = u32::try_from(v).expect("N, M and D fit in 32 bits (the circuit bounds them)");
        w[20 + 4 * i..24 + 4 * i].copy_from_slice(&v.to_be_bytes());
    }
    w
}

/// The Solidity source of the verifier for `vk`, with the circuit parameters of `info` stated in
/// its header and returned by its `batchSize()`, `l1Slots()` and `depth()`.
pub fn render_verifier(vk: &VerifyingKey, info: &CircuitInfo) -> Result<String, SolidityError> {
    Ok(render_verifier_words(&verifier_key_words(vk)?, shape_word(info.shape()), info, &verifying_key_sha256(vk)))
}

/// The batch verifier's 18 key words by template name: IC0 and IC1, alpha, beta, gamma and
/// delta, each a big-endian coordinate below q, in EVM order. Refused unless the key has
/// exactly one public input.
pub fn verifier_key_words(vk: &VerifyingKey) -> Result<Vec<(&'static str, [u8; 32])>, SolidityError> {
    let inputs = vk.gamma_abc_g1.len().saturating_sub(1);
    if inputs != 1 {
        return Err(SolidityError::PublicInputs(inputs));
    }
    let [ic0_x, ic0_y] = g1_words(&vk.gamma_abc_g1[0]);
    let [ic1_x, ic1_y] = g1_words(&vk.gamma_abc_g1[1]);
    let mut words = vec![("IC0_X", ic0_x), ("IC0_Y", ic0_y), ("IC1_X", ic1_x), ("IC1_Y", ic1_y)];
    words.extend(key_words(vk));
    Ok(words)
}

/// The batch verifier's source from its key words and shape word (as [`verifier_key_words`]
/// and [`shape_word`] give them, or stand-ins for a bytecode template) and the parameters its
/// header states.
pub fn render_verifier_words(words: &[(&str, [u8; 32])], shape: [u8; 32], info: &CircuitInfo, vk_sha256: &str) -> String {
    let setup = match (info.insecure_dev_seed, &info.ceremony_zkey_sha256) {
        (Some(seed), _) => format!("INSECURE development setup from the public seed {seed}: anyone can forge proofs"),
        (None, Some(zkey)) => format!("from a phase-2 ceremony: final .zkey sha256 {zkey}"),
        (None, None) => "from operating-system randomness (zkrollup setup)".to_string(),
    };
    let mut values: Vec<(&str, String)> = vec![
        ("BATCH_SIZE", info.batch_size.to_string()),
        ("DEPTH", info.depth.to_string()),
        ("L1_SLOTS", info.l1_slots.to_string()),
        ("CONSTRAINTS", info.constraints.to_string()),
        ("VK_SHA256", vk_sha256.to_string()),
        ("PK_SHA256", info.proving_key_sha256.clone()),
        ("SETUP", setup),
        // In hex: the tag makes the word larger than q.
        ("SHAPE", format!("0x{}", hex::encode(shape))),
    ];
    values.extend(words.iter().map(|(name, w)| (*name, decimal(w))));
    fill(VERIFIER_TEMPLATE, values)
}

/// The key words both templates share: alpha, beta, gamma and delta.
fn key_words(vk: &VerifyingKey) -> Vec<(&'static str, [u8; 32])> {
    let [alpha_x, alpha_y] = g1_words(&vk.alpha_g1);
    let [beta_x1, beta_x0, beta_y1, beta_y0] = g2_words(&vk.beta_g2);
    let [gamma_x1, gamma_x0, gamma_y1, gamma_y0] = g2_words(&vk.gamma_g2);
    let [delta_x1, delta_x0, delta_y1, delta_y0] = g2_words(&vk.delta_g2);
    vec![
        ("ALPHA_X", alpha_x),
        ("ALPHA_Y", alpha_y),
        ("BETA_X1", beta_x1),
        ("BETA_X0", beta_x0),
        ("BETA_Y1", beta_y1),
        ("BETA_Y0", beta_y0),
        ("GAMMA_X1", gamma_x1),
        ("GAMMA_X0", gamma_x0),
        ("GAMMA_Y1", gamma_y1),
        ("GAMMA_Y0", gamma_y0),
        ("DELTA_X1", delta_x1),
        ("DELTA_X0", delta_x0),
        ("DELTA_Y1", delta_y1),
        ("DELTA_Y0", delta_y0),
    ]
}

/// The shared key words as template values.
fn key_values(vk: &VerifyingKey) -> Vec<(&'static str, String)> {
    key_words(vk).into_iter().map(|(name, w)| (name, decimal(&w))).collect()
}

/// `template` with each `{{NAME}}` replaced by its value.
fn fill(template: &str, values: Vec<(&str, String)>) -> String {
    let mut out = template.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{{{name}}}}}"), &value);
    }
    out
}

/// The Solidity source of the verifier for any circuit's `vk` (one or more public inputs), from
/// the `.zkey` whose sha256 is `zkey_sha256`: `verifyProof(a, b, c, uint256[k] input)`.
pub fn render_inputs_verifier(vk: &VerifyingKey, zkey_sha256: &str) -> Result<String, SolidityError> {
    let inputs = vk.gamma_abc_g1.len().saturating_sub(1);
    if inputs == 0 {
        return Err(SolidityError::NoPublicInputs);
    }
    let mut constants = String::new();
    let mut terms = Vec::new();
    for (i, p) in vk.gamma_abc_g1.iter().enumerate() {
        let [x, y] = g1_words(p);
        constants += &format!("    uint256 internal constant IC{i}_X = {};\n    uint256 internal constant IC{i}_Y = {};\n", decimal(&x), decimal(&y));
        if i > 0 {
            terms.push(format!(
                "            // + input[{k}] * IC[{i}]\n            mstore(0x1c0, IC{i}_X)\n            mstore(0x1e0, IC{i}_Y)\n            mstore(0x200, calldataload(add(input, {offset:#x})))\n            ok := and(ok, staticcall(EC_MUL_GAS, 0x07, 0x1c0, 0x60, 0x1c0, 0x40))\n            ok := and(ok, staticcall(EC_ADD_GAS, 0x06, 0x180, 0x80, 0x180, 0x40))",
                k = i - 1,
                offset = 0x20 * (i - 1)
            ));
        }
    }
    let mut values: Vec<(&str, String)> = vec![
        ("INPUTS", inputs.to_string()),
        ("VK_SHA256", verifying_key_sha256(vk)),
        ("ZKEY_SHA256", zkey_sha256.to_string()),
        ("IC_CONSTANTS", constants),
        ("IC_TERMS", terms.join("\n")),
    ];
    values.extend(key_values(vk));
    Ok(fill(INPUTS_VERIFIER_TEMPLATE, values))
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
            matrices_sha256: None,
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
    fn the_inputs_verifier_has_a_term_per_input_and_refuses_none() {
        let (_, mut vk) = setup_insecure_dev(PreimageCircuit::new([Fr::from(1u64), Fr::from(2u64)]), 5).unwrap();
        vk.gamma_abc_g1.push(vk.alpha_g1);
        let sol = render_inputs_verifier(&vk, &"cd".repeat(32)).unwrap();
        assert!(!sol.contains("{{"), "unfilled placeholder");
        assert!(sol.contains("uint256[2] calldata input") && sol.contains(&"cd".repeat(32)));
        assert!(sol.contains("IC2_Y = ") && !sol.contains("IC3_X"));
        assert_eq!(sol.matches("staticcall(EC_MUL_GAS").count(), 2);
        vk.gamma_abc_g1.truncate(1);
        assert_eq!(render_inputs_verifier(&vk, ""), Err(SolidityError::NoPublicInputs));
    }

    #[test]
    fn a_key_with_another_number_of_inputs_is_refused() {
        let (_, mut vk) = setup_insecure_dev(PreimageCircuit::new([Fr::from(1u64), Fr::from(2u64)]), 5).unwrap();
        vk.gamma_abc_g1.push(vk.alpha_g1);
        assert_eq!(render_verifier(&vk, &info()), Err(SolidityError::PublicInputs(2)));
    }
}
