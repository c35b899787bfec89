//! The state, batch and requests JSON files (SPEC section 6, SPEC-v2 section 7), and atomic
//! file writes.
//!
//! Values are decimal strings; slot indices and the depth are JSON numbers. Parsing names the
//! entry and field at fault and never reduces a value modulo r.

use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zkrollup_circuits::eddsa::{PublicKey, PublicKeyError, Signature};

use crate::decimal::{fr_to_decimal, parse_fr, parse_u64, DecimalError};
use crate::state::{State, StateError};
use crate::tree::{StateTree, TreeError};
use crate::{Account, Batch, Request, RequestKind, Transfer};

/// Why a state or batch file was refused.
#[derive(Debug, Error)]
pub enum FileError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not JSON, or not the file's shape (missing or unknown field, wrong type or length).
    #[error("malformed JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A decimal value is malformed or out of range.
    #[error("{field}: {problem}")]
    Value {
        /// Where, as `accounts[2].balance`.
        field: String,
        /// What is wrong.
        problem: DecimalError,
    },
    /// A slot index that does not fit the protocol's 32 bits.
    #[error("{field}: {value} does not fit in 32 bits")]
    NotU32 {
        /// Where.
        field: String,
        /// The value.
        value: u64,
    },
    /// A public key that is not a valid Baby JubJub key.
    #[error("accounts[{entry}].pubkey: {source}")]
    PublicKey {
        /// The entry.
        entry: usize,
        /// What is wrong with the point.
        source: PublicKeyError,
    },
    /// An account entry that cannot be placed (slot 0, outside the tree).
    #[error("accounts[{entry}]: {source}")]
    Account {
        /// The entry.
        entry: usize,
        /// Why.
        source: StateError,
    },
    /// The state as a whole (depth, duplicate slots).
    #[error("state: {0}")]
    State(#[from] StateError),
    /// A request entry whose fields do not fit its type.
    #[error("requests[{entry}]: {problem}")]
    Request {
        /// The entry.
        entry: usize,
        /// What is wrong.
        problem: String,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    depth: u64,
    accounts: Vec<AccountEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountEntry {
    index: u64,
    pubkey: [String; 2],
    balance: String,
    nonce: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchFile {
    transfers: Vec<TransferEntry>,
}

/// One transfer as the batch file and `zkrollup sign` write it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferEntry {
    from: u64,
    to: u64,
    amount: String,
    nonce: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<SignatureEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureEntry {
    #[serde(rename = "R8")]
    r8: [String; 2],
    #[serde(rename = "S")]
    s: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestsFile {
    requests: Vec<RequestEntry>,
}

/// One L1 request as the requests file holds it (SPEC-v2 section 7).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestEntry {
    #[serde(rename = "type")]
    kind: RequestType,
    index: u64,
    amount: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pubkey: Option<[String; 2]>,
    addr: String,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RequestType {
    DepositNew,
    Deposit,
    FullExit,
}

fn value<T>(field: impl FnOnce() -> String, r: Result<T, DecimalError>) -> Result<T, FileError> {
    r.map_err(|problem| FileError::Value { field: field(), problem })
}

fn index_u32(field: impl FnOnce() -> String, v: u64) -> Result<u32, FileError> {
    u32::try_from(v).map_err(|_| FileError::NotU32 { field: field(), value: v })
}

/// Read a file to a string, naming it on error.
pub fn read(path: &Path) -> Result<String, FileError> {
    std::fs::read_to_string(path).map_err(|source| FileError::Io { path: path.to_path_buf(), source })
}

/// Parse a state file and build its tree.
pub fn parse_state(json: &str) -> Result<State, FileError> {
    let file: StateFile = serde_json::from_str(json)?;
    let depth = usize::try_from(file.depth).unwrap_or(usize::MAX);
    let capacity = StateTree::new(depth).map_err(StateError::from)?.capacity();
    // Key checks (three doublings each: `8·A != identity`) run in parallel; the first bad entry
    // in file order is the one reported.
    let parsed: Vec<Result<(u32, Account), FileError>> = file
        .accounts
        .par_iter()
        .enumerate()
        .with_min_len(64)
        .map(|(entry, a)| parse_account(entry, a, depth, capacity))
        .collect();
    let accounts = parsed.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(State::from_accounts(depth, accounts)?)
}

fn parse_account(entry: usize, a: &AccountEntry, depth: usize, capacity: u64) -> Result<(u32, Account), FileError> {
    let at = |what: &str| format!("accounts[{entry}].{what}");
    if a.index == 0 {
        return Err(FileError::Account { entry, source: StateError::ReservedIndex });
    }
    if a.index >= capacity {
        let source = StateError::Tree(TreeError::IndexOutOfRange { index: a.index, depth, capacity });
        return Err(FileError::Account { entry, source });
    }
    let x = value(|| at("pubkey[0]"), parse_fr(&a.pubkey[0]))?;
    let y = value(|| at("pubkey[1]"), parse_fr(&a.pubkey[1]))?;
    let pubkey = PublicKey::from_coordinates(x, y).map_err(|source| FileError::PublicKey { entry, source })?;
    let balance = value(|| at("balance"), parse_u64(&a.balance))?;
    let nonce = value(|| at("nonce"), parse_u64(&a.nonce))?;
    Ok((a.index as u32, Account::new(pubkey, balance, nonce)))
}

/// The state file of `state`, accounts by increasing slot.
pub fn state_to_json(state: &State) -> String {
    let file = StateFile {
        depth: state.depth() as u64,
        accounts: state
            .accounts()
            .into_iter()
            .map(|(index, a)| AccountEntry {
                index: u64::from(index),
                pubkey: [fr_to_decimal(a.pubkey.x()), fr_to_decimal(a.pubkey.y())],
                balance: a.balance.to_string(),
                nonce: a.nonce.to_string(),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&file).expect("plain data serializes") + "\n"
}

/// Parse a batch file. Signatures are checked when the batch is applied, not here, so that the
/// error names the slot and the failing check.
pub fn parse_batch(json: &str) -> Result<Batch, FileError> {
    let file: BatchFile = serde_json::from_str(json)?;
    let transfers = file
        .transfers
        .iter()
        .enumerate()
        .map(|(i, t)| transfer_from_entry(t, |what| format!("transfers[{i}].{what}")))
        .collect::<Result<Vec<_>, FileError>>()?;
    Ok(Batch::new(transfers))
}

/// Parse one transfer entry of a batch file (what `zkrollup sign` prints); errors name the
/// field. The signature is checked when the transfer is applied, not here.
pub fn parse_transfer(json: &str) -> Result<Transfer, FileError> {
    let entry: TransferEntry = serde_json::from_str(json)?;
    transfer_from_entry(&entry, str::to_string)
}

fn transfer_from_entry(t: &TransferEntry, at: impl Fn(&str) -> String) -> Result<Transfer, FileError> {
    let signature = match &t.signature {
        None => None,
        Some(s) => Some(Signature {
            r8: (
                value(|| at("signature.R8[0]"), parse_fr(&s.r8[0]))?,
                value(|| at("signature.R8[1]"), parse_fr(&s.r8[1]))?,
            ),
            s: value(|| at("signature.S"), parse_fr(&s.s))?,
        }),
    };
    Ok(Transfer {
        from: index_u32(|| at("from"), t.from)?,
        to: index_u32(|| at("to"), t.to)?,
        amount: value(|| at("amount"), parse_u64(&t.amount))?,
        nonce: value(|| at("nonce"), parse_u64(&t.nonce))?,
        signature,
    })
}

/// Parse a requests file: the L1 requests a batch consumes, in queue order. Keys are checked
/// when the batch is applied (the error then names the L1 slot), not here.
pub fn parse_requests(json: &str) -> Result<Vec<Request>, FileError> {
    let file: RequestsFile = serde_json::from_str(json)?;
    file.requests
        .iter()
        .enumerate()
        .map(|(entry, r)| {
            let at = |what: &str| format!("requests[{entry}].{what}");
            let bad = |problem: &str| FileError::Request { entry, problem: problem.to_string() };
            let index = index_u32(|| at("index"), r.index)?;
            let amount = value(|| at("amount"), parse_u64(&r.amount))?;
            let addr = parse_address(&r.addr).ok_or_else(|| bad("addr: expected 0x and 40 hex digits"))?;
            let pubkey = match (&r.pubkey, r.kind) {
                (Some(k), RequestType::DepositNew) => {
                    Some((value(|| at("pubkey[0]"), parse_fr(&k[0]))?, value(|| at("pubkey[1]"), parse_fr(&k[1]))?))
                }
                (None, RequestType::DepositNew) => return Err(bad("a deposit_new needs a pubkey")),
                (Some(_), _) => return Err(bad("only a deposit_new has a pubkey")),
                (None, _) => None,
            };
            let kind = match r.kind {
                RequestType::DepositNew => RequestKind::DepositNew,
                RequestType::Deposit => RequestKind::Deposit,
                RequestType::FullExit => RequestKind::FullExit,
            };
            Ok(Request { kind, index, amount, pubkey, addr })
        })
        .collect()
}

/// The requests file of `requests`.
pub fn requests_to_json(requests: &[Request]) -> String {
    let entries = requests
        .iter()
        .map(|r| RequestEntry {
            kind: match r.kind {
                RequestKind::DepositNew => RequestType::DepositNew,
                RequestKind::Deposit => RequestType::Deposit,
                RequestKind::FullExit | RequestKind::Padding => RequestType::FullExit,
            },
            index: u64::from(r.index),
            amount: r.amount.to_string(),
            pubkey: r.pubkey.map(|(x, y)| [fr_to_decimal(x), fr_to_decimal(y)]),
            addr: format!("0x{}", hex::encode(r.addr)),
        })
        .collect();
    serde_json::to_string_pretty(&RequestsFile { requests: entries }).expect("plain data serializes") + "
"
}

/// `0x` and 40 hex digits (either case) as 20 bytes.
pub fn parse_address(s: &str) -> Option<[u8; 20]> {
    let digits = s.strip_prefix("0x")?;
    if digits.len() != 40 {
        return None;
    }
    hex::decode(digits).ok()?.try_into().ok()
}

/// A transfer in the batch file's shape.
pub fn transfer_entry(t: &Transfer) -> TransferEntry {
    TransferEntry {
        from: u64::from(t.from),
        to: u64::from(t.to),
        amount: t.amount.to_string(),
        nonce: t.nonce.to_string(),
        signature: t.signature.map(|s| SignatureEntry {
            r8: [fr_to_decimal(s.r8.0), fr_to_decimal(s.r8.1)],
            s: fr_to_decimal(s.s),
        }),
    }
}

/// The batch file of `batch`.
pub fn batch_to_json(batch: &Batch) -> String {
    let file = BatchFile { transfers: batch.transfers.iter().map(transfer_entry).collect() };
    serde_json::to_string_pretty(&file).expect("plain data serializes") + "\n"
}

/// Write files so that each is either absent or whole: every file goes to a temporary name in
/// its folder first, and only when all are written are they renamed into place.
pub fn write_all_atomic(files: &[(PathBuf, Vec<u8>)]) -> std::io::Result<()> {
    let mut staged = Vec::with_capacity(files.len());
    let result = (|| {
        for (path, bytes) in files {
            let tmp = temp_name(path);
            staged.push(tmp.clone());
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        for ((path, _), tmp) in files.iter().zip(&staged) {
            std::fs::rename(tmp, path)?;
        }
        Ok(())
    })();
    if result.is_err() {
        for tmp in &staged {
            let _ = std::fs::remove_file(tmp);
        }
    }
    result
}

fn temp_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkrollup_circuits::eddsa::PrivateKey;

    fn key_json(seed: u8) -> String {
        let k = PrivateKey::from_bytes([seed; 32]).public_key();
        format!("[\"{}\", \"{}\"]", fr_to_decimal(k.x()), fr_to_decimal(k.y()))
    }

    fn state_json(index: &str, balance: &str, pubkey: &str) -> String {
        format!(
            r#"{{"depth": 2, "accounts": [{{"index": {index}, "pubkey": {pubkey}, "balance": "{balance}", "nonce": "0"}}]}}"#
        )
    }

    #[test]
    fn state_round_trips() {
        let json = state_json("3", "100", &key_json(1));
        let state = parse_state(&json).unwrap();
        assert_eq!(state.account(3).unwrap().balance, 100);
        let again = parse_state(&state_to_json(&state)).unwrap();
        assert_eq!(again.root(), state.root());
    }

    #[test]
    fn malformed_state_files_name_the_problem() {
        let k = key_json(1);
        let cases: Vec<(String, &str)> = vec![
            ("{".into(), "malformed JSON"),
            (r#"{"depth": 2}"#.into(), "missing field `accounts`"),
            (state_json("1", "12a", &k), "accounts[0].balance: \"12a\" is not a decimal integer"),
            (state_json("1", "18446744073709551616", &k), "accounts[0].balance: 18446744073709551616 does not fit in 64 bits"),
            (state_json("0", "1", &k), "accounts[0]: slot 0 is reserved"),
            (state_json("16", "1", &k), "accounts[0]: slot 16 is outside a tree of depth 2"),
            (state_json("1", "1", r#"["1", "2"]"#), "accounts[0].pubkey: public key is not on Baby JubJub"),
            (
                state_json("1", "1", r#"["21888242871839275222246405745257275088548364400416034343698204186575808495617", "1"]"#),
                "accounts[0].pubkey[0]: 2188824287183927522224640574525727508854836440041603434369820418657580849561",
            ),
            (r#"{"depth": 17, "accounts": []}"#.into(), "tree depth 17 is outside 1..=16"),
            (r#"{"depth": 2, "accounts": [], "extra": 1}"#.into(), "unknown field `extra`"),
        ];
        for (json, expected) in cases {
            let err = parse_state(&json).err().unwrap_or_else(|| panic!("accepted {json}")).to_string();
            assert!(err.contains(expected), "{json}\n  gave {err}\n  expected {expected}");
        }
        let twice = format!(
            r#"{{"depth": 2, "accounts": [{{"index": 1, "pubkey": {k}, "balance": "1", "nonce": "0"}}, {{"index": 1, "pubkey": {k}, "balance": "1", "nonce": "0"}}]}}"#
        );
        assert!(parse_state(&twice).unwrap_err().to_string().contains("slot 1 is given twice"));
    }

    #[test]
    fn state_keys_need_only_8a_not_the_identity() {
        use ark_ec::CurveGroup;
        use zkrollup_circuits::babyjubjub::torsion_points;
        let k = PrivateKey::from_bytes([1; 32]).public_key();
        // Outside the prime-order subgroup: accepted (SPEC-v2 section 7).
        let shifted = (k.point() + torsion_points()[4]).into_affine();
        let json = state_json("1", "1", &format!("[\"{}\", \"{}\"]", fr_to_decimal(shifted.x), fr_to_decimal(shifted.y)));
        assert_eq!(parse_state(&json).unwrap().account(1).unwrap().pubkey.point(), shifted);
        // Of small order: refused.
        for t in torsion_points() {
            let json = state_json("1", "1", &format!("[\"{}\", \"{}\"]", fr_to_decimal(t.x), fr_to_decimal(t.y)));
            let err = parse_state(&json).err().unwrap().to_string();
            assert!(err.contains("accounts[0].pubkey: public key has small order"), "{err}");
        }
    }

    #[test]
    fn the_first_bad_entry_in_file_order_is_reported() {
        let k = key_json(1);
        let entries: Vec<String> = (1..=300)
            .map(|i| {
                let balance = if i == 200 || i == 250 { "x" } else { "1" };
                format!(r#"{{"index": {i}, "pubkey": {k}, "balance": "{balance}", "nonce": "0"}}"#)
            })
            .collect();
        let json = format!(r#"{{"depth": 5, "accounts": [{}]}}"#, entries.join(","));
        let err = parse_state(&json).err().unwrap().to_string();
        assert!(err.starts_with("accounts[199].balance"), "{err}");
    }

    #[test]
    fn malformed_batch_files_name_the_problem() {
        let cases = [
            (r#"{"transfers": [{"from": 4294967296, "to": 1, "amount": "1", "nonce": "0"}]}"#, "transfers[0].from: 4294967296 does not fit in 32 bits"),
            (r#"{"transfers": [{"from": 1, "to": 2, "amount": "-1", "nonce": "0"}]}"#, "transfers[0].amount: \"-1\" is not a decimal"),
            (r#"{"transfers": [{"from": 1, "to": 2, "amount": "1", "nonce": "0", "signature": {"R8": ["1"], "S": "1"}}]}"#, "invalid length 1"),
            (r#"{"transfers": [{"from": 1, "to": 2, "amount": "1", "nonce": "0", "signature": {"R8": ["1", "2"], "S": "x"}}]}"#, "transfers[0].signature.S"),
            (r#"{"transfers": [{"from": 1, "to": 2, "amount": 1, "nonce": "0"}]}"#, "invalid type: integer `1`, expected a string"),
        ];
        for (json, expected) in cases {
            let err = parse_batch(json).err().unwrap_or_else(|| panic!("accepted {json}")).to_string();
            assert!(err.contains(expected), "{json}\n  gave {err}\n  expected {expected}");
        }
    }

    #[test]
    fn requests_round_trip_and_malformed_ones_name_the_problem() {
        let k = PrivateKey::from_bytes([5; 32]).public_key();
        let requests = vec![
            Request::deposit_new(4, 10, (k.x(), k.y()), [0xAB; 20]),
            Request::deposit(4, 3, [1; 20]),
            Request::full_exit(2, [2; 20]),
        ];
        assert_eq!(parse_requests(&requests_to_json(&requests)).unwrap(), requests);
        let key = format!(r#"["{}", "{}"]"#, fr_to_decimal(k.x()), fr_to_decimal(k.y()));
        let addr = format!("0x{}", "ab".repeat(20));
        let cases = [
            (r#"{"requests": [{"type": "deposit", "index": 1, "amount": "1", "addr": "0x12"}]}"#.to_string(), "requests[0]: addr: expected 0x and 40 hex digits"),
            (format!(r#"{{"requests": [{{"type": "deposit_new", "index": 1, "amount": "1", "addr": "{addr}"}}]}}"#), "requests[0]: a deposit_new needs a pubkey"),
            (format!(r#"{{"requests": [{{"type": "deposit", "index": 1, "amount": "1", "pubkey": {key}, "addr": "{addr}"}}]}}"#), "requests[0]: only a deposit_new has a pubkey"),
            (format!(r#"{{"requests": [{{"type": "withdraw", "index": 1, "amount": "1", "addr": "{addr}"}}]}}"#), "unknown variant `withdraw`"),
            (format!(r#"{{"requests": [{{"type": "deposit", "index": 1, "amount": "x", "addr": "{addr}"}}]}}"#), "requests[0].amount"),
            (format!(r#"{{"requests": [{{"type": "deposit", "index": 4294967296, "amount": "1", "addr": "{addr}"}}]}}"#), "requests[0].index: 4294967296 does not fit in 32 bits"),
        ];
        for (json, expected) in cases {
            let err = parse_requests(&json).err().unwrap_or_else(|| panic!("accepted {json}")).to_string();
            assert!(err.contains(expected), "{json}\n  gave {err}\n  expected {expected}");
        }
    }

    #[test]
    fn batch_round_trips() {
        let k = PrivateKey::from_bytes([5; 32]);
        let batch = Batch::new(vec![Transfer::signed(&k, 1, 2, 3, 4, 0u64.into()), Transfer::PADDING]);
        assert_eq!(parse_batch(&batch_to_json(&batch)).unwrap(), batch);
    }

    #[test]
    fn atomic_write_leaves_whole_files_and_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.txt");
        write_all_atomic(&[(a.clone(), b"one".to_vec())]).unwrap();
        // The second file's folder does not exist: nothing is written, the first file is untouched.
        let missing = dir.path().join("no-such-dir").join("b.txt");
        assert!(write_all_atomic(&[(a.clone(), b"two".to_vec()), (missing, b"x".to_vec())]).is_err());
        assert_eq!(std::fs::read(&a).unwrap(), b"one");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
