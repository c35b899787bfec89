//! Interoperability with circomlibjs (npm, pinned in tests/js/package.json): Poseidon and its
//! constants, EdDSA-Poseidon both ways, tree roots, and `zkrollup apply` on files made by an
//! independent JavaScript implementation of the spec. Needs `npm ci --prefix tests/js`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::io::Write;

use ark_ff::{AdditiveGroup, Field, UniformRand};
use ark_std::rand::{Rng, RngCore};
use ark_std::test_rng;
use serde_json::{json, Value};
use zkrollup::decimal::{fr_to_decimal, parse_fr};
use zkrollup::primitives::eddsa::{PrivateKey, PublicKey, Signature};
use zkrollup::primitives::poseidon::{poseidon, Poseidon, MAX_INPUTS};
use zkrollup::{Fr, StateTree, Transfer};

/// Run `node tests/js/oracle.mjs COMMAND` with `input` on stdin.
fn oracle(command: &str, input: Value) -> Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    assert!(
        dir.join("node_modules/circomlibjs").is_dir(),
        "circomlibjs is not installed: run `npm ci --prefix tests/js` first"
    );
    let mut child = Command::new("node")
        .arg(dir.join("oracle.mjs"))
        .arg(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "oracle {command} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("oracle prints JSON")
}

fn dec(x: Fr) -> Value {
    Value::String(fr_to_decimal(x))
}

fn fr(v: &Value) -> Fr {
    parse_fr(v.as_str().expect("decimal string")).expect("field element")
}

#[test]
fn poseidon_equals_circomlibjs_for_every_width() {
    let mut rng = test_rng();
    let minus_one = -Fr::ONE;
    let mut cases: Vec<Vec<Fr>> = Vec::new();
    for n in 1..=MAX_INPUTS {
        cases.push(vec![Fr::ZERO; n]);
        cases.push(vec![minus_one; n]);
        for _ in 0..4 {
            cases.push((0..n).map(|_| Fr::rand(&mut rng)).collect());
        }
    }
    let input: Vec<Vec<Value>> = cases.iter().map(|xs| xs.iter().map(|&x| dec(x)).collect()).collect();
    let expected = oracle("poseidon", json!(input));
    for (xs, want) in cases.iter().zip(expected.as_array().unwrap()) {
        assert_eq!(poseidon(xs), fr(want), "{} inputs", xs.len());
    }
    assert_eq!(cases.len(), expected.as_array().unwrap().len());
}

#[test]
fn generated_constants_equal_circomlibs_embedded_ones() {
    let theirs = oracle("constants", Value::Null);
    for n in 1..=MAX_INPUTS {
        let p = Poseidon::for_inputs(n).unwrap();
        let c: Vec<Fr> = theirs["C"][n - 1].as_array().unwrap().iter().map(fr).collect();
        let ours: Vec<Fr> = p.round_constants.iter().flatten().copied().collect();
        assert_eq!(ours, c, "round constants, width {}", n + 1);
        let m: Vec<Vec<Fr>> =
            theirs["M"][n - 1].as_array().unwrap().iter().map(|row| row.as_array().unwrap().iter().map(fr).collect()).collect();
        assert_eq!(p.mds, m, "MDS matrix, width {}", n + 1);
    }
}

fn random_key(rng: &mut impl RngCore) -> PrivateKey {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    PrivateKey::from_bytes(bytes)
}

fn signature_json(key: &PublicKey, message: Fr, sig: &Signature) -> Value {
    json!({"pubkey": [dec(key.x()), dec(key.y())], "message": dec(message), "R8": [dec(sig.r8.0), dec(sig.r8.1)], "S": dec(sig.s)})
}

#[test]
fn our_signatures_verify_in_circomlibjs_and_tampered_ones_do_not() {
    let mut rng = test_rng();
    let mut cases = Vec::new();
    for _ in 0..8 {
        let key = random_key(&mut rng);
        let m = Fr::rand(&mut rng);
        let sig = key.sign(m);
        cases.push(signature_json(&key.public_key(), m, &sig));
        cases.push(signature_json(&key.public_key(), m + Fr::ONE, &sig));
    }
    let verdicts = oracle("verify", json!(cases));
    let verdicts: Vec<bool> = verdicts.as_array().unwrap().iter().map(|v| v.as_bool().unwrap()).collect();
    assert_eq!(verdicts, [true, false].repeat(8));
}

#[test]
fn circomlibjs_keys_and_signatures_equal_ours() {
    let mut rng = test_rng();
    let keys: Vec<PrivateKey> = (0..8).map(|_| random_key(&mut rng)).collect();
    let messages: Vec<Fr> = (0..8).map(|i| if i == 0 { Fr::ZERO } else { Fr::rand(&mut rng) }).collect();
    let input: Vec<Value> = keys
        .iter()
        .zip(&messages)
        .map(|(k, m)| json!({"private_key": hex::encode(k.as_bytes()), "message": dec(*m)}))
        .collect();
    let theirs = oracle("sign", json!(input));
    for ((key, &m), t) in keys.iter().zip(&messages).zip(theirs.as_array().unwrap()) {
        let pubkey = PublicKey::from_coordinates(fr(&t["pubkey"][0]), fr(&t["pubkey"][1])).unwrap();
        let sig = Signature { r8: (fr(&t["R8"][0]), fr(&t["R8"][1])), s: fr(&t["S"]) };
        assert_eq!(pubkey.verify(m, &sig), Ok(()), "circomlibjs signature rejected");
        assert_eq!(pubkey, key.public_key(), "key derivation differs from circomlibjs prv2pub");
        assert_eq!(key.sign(m), sig, "signature differs from circomlibjs signPoseidon");
    }
}

#[test]
fn tree_roots_equal_the_definition_over_circomlibjs_poseidon() {
    let mut rng = test_rng();
    for (depth, count) in [(1usize, 3usize), (2, 10), (4, 40), (16, 12)] {
        let capacity = 1u64 << (2 * depth);
        let mut leaves: Vec<(u64, Fr)> = Vec::new();
        while leaves.len() < count {
            let i = rng.gen_range(1..capacity);
            if !leaves.iter().any(|&(j, _)| j == i) {
                leaves.push((i, Fr::rand(&mut rng)));
            }
        }
        if depth == 16 {
            leaves.push((capacity - 1, Fr::rand(&mut rng)));
        }
        let input = json!({"depth": depth, "leaves": leaves.iter().map(|&(i, v)| json!([i.to_string(), dec(v)])).collect::<Vec<_>>()});
        let want = fr(&oracle("tree", input));
        let bulk = StateTree::from_leaves(depth, leaves.clone()).unwrap();
        assert_eq!(bulk.root(), want, "bulk build, depth {depth}");
        let mut incremental = StateTree::new(depth).unwrap();
        for &(i, v) in &leaves {
            incremental.set_leaf(i, v).unwrap();
        }
        assert_eq!(incremental.root(), want, "updates, depth {depth}");
    }
}

#[test]
fn apply_on_files_made_outside_the_project() {
    let mut rng = test_rng();
    let accounts: Vec<Value> = [(1, 1000u64, 0u64), (2, 5, 3), (5, 0, 0), (63, u64::MAX - 100, 9)]
        .iter()
        .map(|&(index, balance, nonce)| {
            json!({"index": index, "private_key": hex::encode(random_key(&mut rng).as_bytes()),
                   "balance": balance.to_string(), "nonce": nonce.to_string()})
        })
        .collect();
    // L1: a new account (then spending in L2), a deposit, a full exit; L2: a chain through one
    // sender, a self-transfer, a receiver that then sends, a receiver filled to the last unit
    // below 2^64, and two withdrawals.
    let new_key = hex::encode(random_key(&mut rng).as_bytes());
    let requests = json!([
        {"type": "deposit_new", "index": 6, "amount": "700", "private_key": new_key, "addr": format!("0x{}", "ab".repeat(20))},
        {"type": "deposit", "index": 5, "amount": "40", "addr": format!("0x{}", "01".repeat(20))},
        {"type": "full_exit", "index": 2, "amount": "0", "addr": format!("0x{}", "02".repeat(20))},
    ]);
    let transfers = json!([
        {"from": 1, "to": 2, "amount": 300, "nonce": 0},
        {"from": 2, "to": 2, "amount": 300, "nonce": 3},
        {"from": 2, "to": 5, "amount": 300, "nonce": 4},
        {"from": 1, "to": 63, "amount": 100, "nonce": 1},
        {"from": 5, "to": 1, "amount": 1, "nonce": 0},
        {"from": 6, "to": 0, "amount": 650, "nonce": 0},
        {"from": 1, "to": 0, "amount": 1, "nonce": 2},
    ]);
    let scenario = oracle(
        "scenario",
        json!({"depth": 3, "batch_size": 8, "l1_slots": 4, "domain": "12345", "batch_id": 77,
               "accounts": accounts, "requests": requests, "transfers": transfers}),
    );
    let dir = tempfile::tempdir().unwrap();
    let (state, batch, out) = (dir.path().join("state.json"), dir.path().join("batch.json"), dir.path().join("out"));
    let requests_file = dir.path().join("requests.json");
    std::fs::write(&state, scenario["state"].to_string()).unwrap();
    std::fs::write(&batch, scenario["batch"].to_string()).unwrap();
    std::fs::write(&requests_file, scenario["requests"].to_string()).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_zkrollup"))
        .args(["apply", "--batch-size", "8", "--l1-slots", "4", "--domain", "12345", "--batch-id", "77", "--state"])
        .arg(&state)
        .arg("--requests")
        .arg(&requests_file)
        .arg("--batch")
        .arg(&batch)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "apply failed: {}", String::from_utf8_lossy(&run.stderr));
    let expected = &scenario["expected"];
    let printed = |label: &str| {
        stdout.lines().find_map(|l| l.strip_prefix(label)).map(str::trim).unwrap_or_else(|| panic!("no {label} in {stdout}")).to_string()
    };
    assert_eq!(printed("old root:"), expected["old_root"].as_str().unwrap());
    assert_eq!(printed("new root:"), expected["new_root"].as_str().unwrap());
    assert_eq!(printed("commitment:"), expected["commitment"].as_str().unwrap());
    let hex = std::fs::read_to_string(out.join("public_data.hex")).unwrap();
    assert_eq!(hex, expected["public_data_hex"].as_str().unwrap());
    // The new state file holds the balances the spec gives.
    let new_state = zkrollup::files::parse_state(&std::fs::read_to_string(out.join("state.json")).unwrap()).unwrap();
    assert_eq!(fr_to_decimal(new_state.root()), expected["new_root"].as_str().unwrap());
    assert_eq!(new_state.account(63).unwrap().balance, u64::MAX);
    assert_eq!(new_state.account(2).map(|a| (a.balance, a.nonce)), Some((0, 5)));
    assert_eq!(new_state.account(6).map(|a| (a.balance, a.nonce)), Some((50, 1)));
}

#[test]
fn packed_keys_match_circomlibjs_both_ways() {
    use zkrollup::primitives::babyjubjub::torsion_points;
    use zkrollup::primitives::packed_key::{pack_le, unpack_point};
    let mut rng = test_rng();
    let mut points: Vec<(Fr, Fr)> = (0..12)
        .map(|_| {
            let k = random_key(&mut rng).public_key();
            (k.x(), k.y())
        })
        .collect();
    // Outside the subgroup too (packing does not care about the order).
    let shifted = ark_ec::CurveGroup::into_affine(random_key(&mut rng).public_key().point() + torsion_points()[3]);
    points.push((shifted.x, shifted.y));
    let theirs = oracle("pack", json!(points.iter().map(|&(x, y)| json!([dec(x), dec(y)])).collect::<Vec<_>>()));
    let mut signs = [0; 2];
    for (i, &(x, y)) in points.iter().enumerate() {
        let ours = pack_le(x, y);
        assert_eq!(theirs[i].as_str().unwrap(), hex::encode(ours), "pack {i}");
        signs[usize::from(ours[31] >> 7)] += 1;
    }
    assert!(signs[0] > 0 && signs[1] > 0, "both signs: {signs:?}");
    // circomlibjs unpacks what we pack, and we unpack what it packs, to the same point.
    let packed: Vec<String> = points.iter().map(|&(x, y)| hex::encode(pack_le(x, y))).collect();
    let unpacked = oracle("unpack", json!(packed));
    for (i, &(x, y)) in points.iter().enumerate() {
        assert_eq!(unpacked[i], json!([dec(x), dec(y)]), "circomlibjs unpack {i}");
        let mut be: [u8; 32] = hex::decode(theirs[i].as_str().unwrap()).unwrap().try_into().unwrap();
        be.reverse();
        let p = unpack_point(&be).unwrap();
        assert_eq!((p.x, p.y), (x, y), "our unpack {i}");
    }
}

#[test]
fn withdrawal_signatures_verify_in_circomlibjs() {
    let mut rng = test_rng();
    let domain = Fr::rand(&mut rng);
    let cases: Vec<Value> = (0..4u64)
        .map(|i| {
            let key = random_key(&mut rng);
            let t = Transfer::signed(&key, 3 + i as u32, 0, 10 * i, i, domain);
            let sig = t.signature.unwrap();
            json!({"pubkey": [dec(key.public_key().x()), dec(key.public_key().y())], "domain": dec(domain),
                   "from": (3 + i).to_string(), "amount": (10 * i).to_string(), "nonce": i.to_string(),
                   "R8": [dec(sig.r8.0), dec(sig.r8.1)], "S": dec(sig.s)})
        })
        .collect();
    assert_eq!(oracle("verify_withdrawal", json!(cases)), json!([true, true, true, true]));
    // A transfer's signature on the same values is not a withdrawal's.
    let key = random_key(&mut rng);
    let t = Transfer::signed(&key, 3, 4, 10, 0, domain);
    let sig = t.signature.unwrap();
    let case = json!([{"pubkey": [dec(key.public_key().x()), dec(key.public_key().y())], "domain": dec(domain),
                       "from": "3", "amount": "10", "nonce": "0", "R8": [dec(sig.r8.0), dec(sig.r8.1)], "S": dec(sig.s)}]);
    assert_eq!(oracle("verify_withdrawal", case), json!([false]));
}
