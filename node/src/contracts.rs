//! The contracts the node deploys and calls: `ZKRollup` and the batch verifier as committed
//! creation bytecode (compiled by the pinned solc; `tests/bytecode.rs` recompiles and compares),
//! so an in-process chain needs no compiler, and the ABI of the calls the node makes.
//!
//! The verifier's bytecode depends on its key and its circuit's shape. `Groth16Verifier.template.hex`
//! is the verifier compiled with a stand-in word for each of the key's 18 coordinates and for the
//! shape word; a key's verifier is that bytecode with each stand-in replaced (the template uses
//! the key words only as `PUSH32` operands of `mstore`, and the shape word only as the `PUSH32`
//! that sets an immutable, so nothing is folded). The test checks the result equals solc's
//! compilation of `zkrollup export-verifier`'s source for real keys, byte for byte up to the
//! metadata hash.

use revm::primitives::{keccak256, Address, U256};
use zkrollup::export::solidity::{render_verifier_words, shape_word, verifier_key_words, SolidityError};
use zkrollup::primitives::batch::Shape;
use zkrollup::prover::bundle::CircuitInfo;
use zkrollup::prover::VerifyingKey;

/// `ZKRollup`'s creation bytecode (with `PoseidonT5`'s, which its constructor deploys).
pub const ZKROLLUP_HEX: &str = include_str!("../contracts/ZKRollup.hex");
/// `OptimisticRollup`'s creation bytecode (SPEC-v3; deployed after a `PoseidonT5` of its own).
pub const OPTIMISTIC_ROLLUP_HEX: &str = include_str!("../contracts/OptimisticRollup.hex");
/// `PoseidonT5`'s creation bytecode, for `OptimisticRollup`.
pub const POSEIDON_T5_HEX: &str = include_str!("../contracts/PoseidonT5.hex");
/// The batch verifier's creation bytecode with stand-in key words.
pub const VERIFIER_TEMPLATE_HEX: &str = include_str!("../contracts/Groth16Verifier.template.hex");

/// Decoded committed bytecode (the files hold lowercase hex and a newline).
pub fn bytecode(hex_text: &str) -> Vec<u8> {
    hex::decode(hex_text.trim()).expect("committed bytecode is hex")
}

/// The stand-in for one key word: keccak256 of its name with the top byte set to 0x1f, so it is
/// below q (the template renders words as base-field decimals) and, being high-entropy, occurs
/// nowhere else in the bytecode.
pub fn stand_in(name: &str) -> [u8; 32] {
    let mut w: [u8; 32] = keccak256(format!("zkrollup verifier template {name}").as_bytes()).0;
    w[0] = 0x1f;
    w
}

/// The template's Solidity source: the verifier with a stand-in for every key word.
pub fn verifier_template_source() -> String {
    let words: Vec<(&str, [u8; 32])> = TEMPLATE_WORDS.iter().map(|&n| (n, stand_in(n))).collect();
    let info = CircuitInfo {
        batch_size: 0,
        l1_slots: 0,
        depth: 0,
        constraints: 0,
        proving_key_sha256: "template".into(),
        insecure_dev_seed: None,
        ceremony_zkey_sha256: None,
        matrices_sha256: None,
    };
    render_verifier_words(&words, stand_in(SHAPE_WORD), &info, "template")
}

/// The shape word's template name.
pub const SHAPE_WORD: &str = "SHAPE";

/// The key words' template names, in [`verifier_key_words`] order.
pub const TEMPLATE_WORDS: [&str; 18] = [
    "IC0_X", "IC0_Y", "IC1_X", "IC1_Y", "ALPHA_X", "ALPHA_Y", "BETA_X1", "BETA_X0", "BETA_Y1", "BETA_Y0", "GAMMA_X1",
    "GAMMA_X0", "GAMMA_Y1", "GAMMA_Y0", "DELTA_X1", "DELTA_X0", "DELTA_Y1", "DELTA_Y0",
];

/// Why a verifier could not be made from the template.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The key is not a batch-circuit key (one public input).
    #[error(transparent)]
    Key(#[from] SolidityError),
    /// The committed template lacks a stand-in: it was not built from this source.
    #[error("the verifier template has no `PUSH32 {0}` stand-in: regenerate node/contracts")]
    MissingStandIn(&'static str),
}

/// The verifier's creation bytecode for `vk`, a key of a circuit of `shape`: the template with
/// every stand-in replaced.
pub fn verifier_bytecode(vk: &VerifyingKey, shape: Shape) -> Result<Vec<u8>, TemplateError> {
    let mut code = bytecode(VERIFIER_TEMPLATE_HEX);
    let mut words = verifier_key_words(vk)?;
    debug_assert!(words.iter().map(|(n, _)| *n).eq(TEMPLATE_WORDS));
    words.push((SHAPE_WORD, shape_word(shape)));
    for (name, word) in words {
        let needle = [&[0x7f][..], &stand_in(name)].concat();
        let mut found = false;
        let mut i = 0;
        while i + needle.len() <= code.len() {
            if code[i..i + needle.len()] == needle[..] {
                code[i + 1..i + 33].copy_from_slice(&word);
                found = true;
                i += needle.len();
            } else {
                i += 1;
            }
        }
        if !found {
            return Err(TemplateError::MissingStandIn(name));
        }
    }
    Ok(code)
}

/// Creation bytecode without solc's trailing CBOR metadata (its last two bytes give its length).
pub fn strip_metadata(code: &[u8]) -> &[u8] {
    match code.len().checked_sub(2) {
        Some(n) => {
            let len = usize::from(u16::from_be_bytes([code[n], code[n + 1]]));
            &code[..n.saturating_sub(len)]
        }
        None => code,
    }
}

/// The 4-byte selector of a function or error signature.
pub fn selector(signature: &str) -> [u8; 4] {
    keccak256(signature.as_bytes())[..4].try_into().expect("4 bytes")
}

/// A uint as an ABI word.
pub fn uint_word(x: U256) -> [u8; 32] {
    x.to_be_bytes()
}

/// An address as an ABI word.
pub fn address_word(a: Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a.as_slice());
    w
}

/// `ZKRollup`'s queue parameters (`Params` in the contract).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueParams {
    /// Seconds a request may wait before a batch with a free L1 slot must take it.
    pub maturity: u64,
    /// Seconds the oldest request may wait before anyone can start exodus.
    pub exodus_delay: u64,
    /// At most this many requests wait unconsumed.
    pub max_open_requests: u32,
    /// The smallest deposit, in gwei.
    pub min_deposit: u64,
}

/// What `ZKRollup`'s constructor takes.
pub struct RollupArgs {
    /// The verifier's address.
    pub verifier: Address,
    /// The genesis state's root, next index and total (gwei).
    pub genesis: zkrollup::Genesis,
    /// Who is credited the genesis accounts' exits.
    pub genesis_owner: Address,
    /// N, M, D.
    pub batch_size: u32,
    /// M.
    pub l1_slots: u32,
    /// D.
    pub depth: u8,
    /// The only address that may submit batches.
    pub sequencer: Address,
    /// Queue timing and limits.
    pub params: QueueParams,
}

/// The ABI-encoded constructor arguments.
pub fn rollup_constructor_args(a: &RollupArgs) -> Vec<u8> {
    use ark_ff::{BigInteger, PrimeField};
    let root: [u8; 32] = a.genesis.root.into_bigint().to_bytes_be().try_into().expect("32 bytes");
    let words: Vec<[u8; 32]> = vec![
        address_word(a.verifier),
        root,
        uint_word(U256::from(a.genesis.next_index)),
        address_word(a.genesis_owner),
        uint_word(U256::from(a.genesis.total)),
        uint_word(U256::from(a.batch_size)),
        uint_word(U256::from(a.l1_slots)),
        uint_word(U256::from(a.depth)),
        address_word(a.sequencer),
        uint_word(U256::from(a.params.maturity)),
        uint_word(U256::from(a.params.exodus_delay)),
        uint_word(U256::from(a.params.max_open_requests)),
        uint_word(U256::from(a.params.min_deposit)),
    ];
    words.concat()
}

/// `OptimisticRollup`'s windows and bonds (SPEC-v3 section 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptimisticParams {
    /// Seconds after a post during which the batch may be challenged.
    pub challenge_window: u64,
    /// Seconds after a challenge during which the batch may be proved.
    pub response_window: u64,
    /// Wei a challenger puts up.
    pub challenge_bond_wei: u128,
    /// Wei the sequencer must have bonded to post, and the most one revert slashes.
    pub min_sequencer_bond_wei: u128,
    /// The share of a slash paid to the challenger, in basis points.
    pub slash_reward_bps: u16,
}

impl Default for OptimisticParams {
    /// SPEC-v3's deployment defaults: 7 days, 1 day, 0.05 ether, 1 ether, 5,000.
    fn default() -> OptimisticParams {
        OptimisticParams {
            challenge_window: 7 * 24 * 3600,
            response_window: 24 * 3600,
            challenge_bond_wei: 50_000_000_000_000_000,
            min_sequencer_bond_wei: 1_000_000_000_000_000_000,
            slash_reward_bps: 5_000,
        }
    }
}

/// `OptimisticRollup`'s ABI-encoded constructor arguments: `ZKRollup`'s, the windows and bonds,
/// and the `PoseidonT5` it hashes exits with.
pub fn optimistic_constructor_args(a: &RollupArgs, o: &OptimisticParams, poseidon: Address) -> Vec<u8> {
    let words = [
        uint_word(U256::from(o.challenge_window)),
        uint_word(U256::from(o.response_window)),
        uint_word(U256::from(o.challenge_bond_wei)),
        uint_word(U256::from(o.min_sequencer_bond_wei)),
        uint_word(U256::from(o.slash_reward_bps)),
        address_word(poseidon),
    ];
    [rollup_constructor_args(a), words.concat()].concat()
}

/// `keccak256("L1Request(uint256,bytes)")`, the event's topic 0.
pub fn l1_request_topic() -> [u8; 32] {
    keccak256(b"L1Request(uint256,bytes)").0
}

/// One word of a view's return data.
pub fn word_at(data: &[u8], i: usize) -> Option<U256> {
    data.get(32 * i..32 * i + 32).map(|w| U256::from_be_slice(w))
}

/// The `(k, record)` of an `L1Request` log from its topics and data, if it is well formed.
pub fn decode_l1_request(topics: &[[u8; 32]], data: &[u8]) -> Option<(u64, Vec<u8>)> {
    if topics.len() != 2 || topics[0] != l1_request_topic() {
        return None;
    }
    let k = u64::try_from(U256::from_be_bytes(topics[1])).ok()?;
    // Offsets and lengths come from the L1 node: checked, never wrapped (audit F10).
    let offset = usize::try_from(word_at(data, 0)?).ok()?;
    let start = offset.checked_add(32)?;
    let len = usize::try_from(U256::from_be_slice(data.get(offset..start)?)).ok()?;
    let record = data.get(start..start.checked_add(len)?)?.to_vec();
    Some((k, record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stand_ins_are_distinct_field_words() {
        let words: std::collections::HashSet<[u8; 32]> = TEMPLATE_WORDS.iter().map(|n| stand_in(n)).collect();
        assert_eq!(words.len(), 18);
        assert!(words.iter().all(|w| w[0] == 0x1f));
    }

    #[test]
    fn the_template_has_every_stand_in_once_as_a_push32() {
        let code = bytecode(VERIFIER_TEMPLATE_HEX);
        for name in TEMPLATE_WORDS {
            let needle = [&[0x7f][..], &stand_in(name)].concat();
            let hits = code.windows(33).filter(|w| *w == &needle[..]).count();
            assert!(hits >= 1, "{name}: {hits}");
        }
    }

    #[test]
    fn metadata_is_stripped_by_its_length_suffix() {
        let code = [1u8, 2, 3, 0xa2, 0x64, 0x00, 0x03];
        assert_eq!(strip_metadata(&code), &[1, 2]);
    }
}
