//! snarkjs's `.r1cs`/`.wtns`/`.zkey` world, both ways (snarkjs pinned in tests/js; needs
//! `npm ci --prefix tests/js`): our `.r1cs` and `.wtns` pass `snarkjs wtns check` and feed
//! `snarkjs groth16 setup` and `groth16 prove`, whose proofs our verifier accepts; a `.zkey` made
//! and contributed to by snarkjs proves with our prover (`prove-zkey`), and `snarkjs groth16
//! verify` accepts the proofs. The ptau files are made here with `snarkjs powersoftau new`,
//! `contribute` and `prepare phase2`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField};

#[allow(dead_code)]
mod common;

use zkrollup::iden3::{wtns, zkey::Zkey};
use zkrollup::prover::fast::FastProver;
use zkrollup::prover::snarkjs::{parse_proof, parse_public, proof_json, public_json};
use zkrollup::prover::zkey::ZkeyProver;
use zkrollup::prover::{verify, PreimageCircuit, ProverError};
use zkrollup::files::{batch_to_json, state_to_json};
use zkrollup::primitives::eddsa::PrivateKey;
use zkrollup::{Account, Batch, Fr, State, Transfer};

/// The domain the batches here are signed and proved in.
const DOMAIN_U64: u64 = 4_242;

fn snarkjs(dir: &Path, args: &[&str]) -> String {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/node_modules/snarkjs/build/cli.cjs");
    assert!(cli.is_file(), "snarkjs is not installed: run `npm ci --prefix tests/js` first");
    let out = Command::new("node").arg(cli).args(args).current_dir(dir).output().expect("node runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "snarkjs {args:?} failed:\n{text}");
    text
}

fn zkrollup(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkrollup")).args(args).output().expect("binary runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A prepared ptau of 2^power made by snarkjs in `dir`: new, one contribution, prepare phase2.
fn ptau(dir: &Path, power: u32) -> PathBuf {
    let p = power.to_string();
    snarkjs(dir, &["powersoftau", "new", "bn128", &p, "pot_0.ptau"]);
    snarkjs(dir, &["powersoftau", "contribute", "pot_0.ptau", "pot_1.ptau", "--name=first", "-e=phase one entropy"]);
    snarkjs(dir, &["powersoftau", "prepare", "phase2", "pot_1.ptau", "pot_final.ptau"]);
    dir.join("pot_final.ptau")
}

/// snarkjs's setup and one contribution on `r1cs`; the final `.zkey` and its verification key.
fn snarkjs_zkey(dir: &Path, r1cs: &Path, ptau: &Path) -> (PathBuf, PathBuf) {
    snarkjs(dir, &["groth16", "setup", s(r1cs), s(ptau), "c_0.zkey"]);
    snarkjs(dir, &["zkey", "contribute", "c_0.zkey", "c_1.zkey", "--name=second", "-e=phase two entropy"]);
    snarkjs(dir, &["zkey", "export", "verificationkey", "c_1.zkey", "verification_key.json"]);
    (dir.join("c_1.zkey"), dir.join("verification_key.json"))
}

/// Both directions on one circuit: `zkey`/`vk` from snarkjs, `wtns` a satisfying witness.
fn both_ways(dir: &Path, zkey: &Path, vk_json: &Path, w: &Path) {
    // Ours, through the command line, checked by snarkjs.
    let ours = dir.join("ours");
    let out = zkrollup(&["prove-zkey", "--zkey", s(zkey), "--wtns", s(w), "--out", s(&ours)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = snarkjs(dir, &["groth16", "verify", s(vk_json), s(&ours.join("public.json")), s(&ours.join("proof.json"))]);
    assert!(text.contains("OK"), "{text}");

    // snarkjs's proof on the same files, checked by our verifier with the key read from the zkey.
    snarkjs(dir, &["groth16", "prove", s(zkey), s(w), "proof.json", "public.json"]);
    let key = Zkey::read_file(zkey).unwrap();
    let vk = key.proving_key().vk;
    let proof = parse_proof(&std::fs::read_to_string(dir.join("proof.json")).unwrap()).unwrap();
    let public = parse_public(&std::fs::read_to_string(dir.join("public.json")).unwrap()).unwrap();
    assert!(verify(&vk, &public, &proof).unwrap(), "our verifier rejects snarkjs's proof");
    let values = wtns::read_file(w).unwrap();
    assert_eq!(public, values[1..=public.len()].to_vec(), "public.json is w[1..=nPublic]");
    let mut changed = public.clone();
    changed[0] += Fr::from(1u64);
    assert!(!verify(&vk, &changed, &proof).unwrap());

    // A witness that breaks the circuit: refused, nothing written.
    let mut broken = values.clone();
    let last = broken.len() - 1;
    broken[last] += Fr::from(1u64);
    let prover = ZkeyProver::new(&key).unwrap();
    assert!(matches!(prover.prove(&broken), Err(ProverError::Unsatisfied(_))));
    let bad_w = dir.join("broken.wtns");
    wtns::write_file(&broken, &bad_w).unwrap();
    let nowhere = dir.join("nothing");
    let out = zkrollup(&["prove-zkey", "--zkey", s(zkey), "--wtns", s(&bad_w), "--out", s(&nowhere)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not verify"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!nowhere.join("proof.json").exists(), "a failed proof writes nothing");
}

#[test]
fn a_small_circuit_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let c = PreimageCircuit::new([Fr::from(3u64), Fr::from(4u64)]);
    let fast = FastProver::new(c).unwrap();
    fast.r1cs().write_file(&d.join("c.r1cs")).unwrap();
    wtns::write_file(&fast.assignment(c).unwrap(), &d.join("w.wtns")).unwrap();
    let text = snarkjs(d, &["wtns", "check", "c.r1cs", "w.wtns"]);
    assert!(text.contains("WITNESS IS CORRECT"), "{text}");
    let info = snarkjs(d, &["r1cs", "info", "c.r1cs"]);
    assert!(info.contains(&format!("# of Constraints: {}", fast.num_constraints())), "{info}");
    let ptau = ptau(d, 8);
    let (zkey, vk) = snarkjs_zkey(d, &d.join("c.r1cs"), &ptau);
    // Our initial key is snarkjs's, byte for byte.
    let out = zkrollup(&["ceremony", "new", "--ptau", s(&ptau), "--r1cs", s(&d.join("c.r1cs")), "--out", s(&d.join("ours_0.zkey"))]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (ours, theirs) = (std::fs::read(d.join("ours_0.zkey")).unwrap(), std::fs::read(d.join("c_0.zkey")).unwrap());
    assert_eq!(ours.len(), theirs.len());
    assert!(ours == theirs, "ceremony new differs from snarkjs groth16 setup");
    both_ways(d, &zkey, &vk, &d.join("w.wtns"));
    // Our proof JSON as the library writes it is what the CLI wrote.
    let key = Zkey::read_file(&zkey).unwrap();
    let proof = ZkeyProver::new(&key).unwrap().prove(&fast.assignment(c).unwrap()).unwrap();
    assert_eq!(proof_json(&proof)["protocol"], "groth16");
    assert_eq!(
        std::fs::read_to_string(d.join("ours/public.json")).unwrap().trim(),
        serde_json::to_string_pretty(&public_json(&[c.y])).unwrap()
    );
}

/// The batch circuit (N = 1, M = 0, D = 1: 80,177 constraints) exported by the command line:
/// `snarkjs wtns check` accepts our `.r1cs` with a real batch's `.wtns`, and `ceremony new`
/// refuses, writing nothing, a ptau too small for it and a ptau not prepared for phase 2.
#[test]
fn the_batch_circuit_exports_for_snarkjs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (alice, bob) = (PrivateKey::from_bytes([9; 32]), PrivateKey::from_bytes([10; 32]));
    let state = State::from_accounts(1, vec![(1, Account::new(alice.public_key(), 100, 0)), (2, Account::new(bob.public_key(), 0, 0))]).unwrap();
    std::fs::write(d.join("state.json"), state_to_json(&state)).unwrap();
    std::fs::write(d.join("batch.json"), batch_to_json(&Batch::new(vec![Transfer::signed(&alice, 1, 2, 40, 0, Fr::from(DOMAIN_U64))]))).unwrap();
    let shape = ["--batch-size", "1", "--l1-slots", "0", "--depth", "1"];
    let out = zkrollup(&[&["export-r1cs"], &shape[..], &["--out", s(&d.join("b.r1cs"))]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (state_path, batch_path, wtns_path) = (d.join("state.json"), d.join("batch.json"), d.join("b.wtns"));
    let domain = DOMAIN_U64.to_string();
    let args = [&["export-wtns", "--domain", &domain], &shape[..], &["--state", s(&state_path), "--batch", s(&batch_path), "--out", s(&wtns_path)]].concat();
    let out = zkrollup(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = snarkjs(d, &["wtns", "check", "b.r1cs", "b.wtns"]);
    assert!(text.contains("WITNESS IS CORRECT"), "{text}");
    let info = snarkjs(d, &["r1cs", "info", "b.r1cs"]);
    assert!(info.contains("# of Constraints: 80177") && info.contains("# of Public Inputs: 1"), "{info}");
    // The public signal is the batch's commitment.
    let w = wtns::read_file(&d.join("b.wtns")).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(stdout.contains(&format!("commitment: {}", zkrollup::decimal::fr_to_decimal(w[1]))), "{stdout}");

    // A ptau too small, and one not prepared: clear errors, nothing written.
    let small = ptau(d, 6);
    for (ptau, expected) in [(small, "need a domain of 2^17"), (d.join("pot_1.ptau"), "not prepared for phase 2")] {
        let zkey = d.join("never.zkey");
        let out = zkrollup(&[&["ceremony", "new", "--ptau", s(&ptau)], &shape[..], &["--out", s(&zkey)]].concat());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(expected), "{err}");
        assert!(!zkey.exists());
    }
}

/// Every Lagrange block of a prepared ptau interpolates the powers it was made from: for the
/// domain of m points, `sum_i omega^(ik) block[i] = tau^k G1` for k < m (the top block of 2N
/// points, made without `tau^(2N-1)`, gives the identity at k = 2N - 1).
fn check_lagrange_blocks(ptau: &Path) {
    use ark_bn254::{G1Affine, G1Projective};
    use ark_ec::{CurveGroup};
    use ark_ff::{FftField, Field};
    use zkrollup::iden3::ptau::Ptau;
    let mut p = Ptau::open(ptau).unwrap();
    let big_n = 1u64 << p.power;
    let powers = p.tau_g1(0, 2 * big_n - 1).unwrap();
    for k in 0..=p.power + 1 {
        let m = 1u64 << k;
        let block = p.lagrange_g1(m).unwrap();
        let omega = Fr::get_root_of_unity(m).unwrap();
        let mut js = vec![0, 1, m / 2, m - 1];
        js.retain(|j| *j < m);
        js.dedup();
        for j in js {
            let w = omega.pow([j]);
            let sum: G1Projective = block.iter().enumerate().map(|(i, b)| *b * w.pow([i as u64])).sum();
            let expected = if j == 2 * big_n - 1 { <G1Affine as ark_ec::AffineRepr>::zero() } else { powers[j as usize] };
            assert_eq!(sum.into_affine(), expected, "{}: block {m}, power {j}", ptau.display());
        }
    }
}

#[test]
fn the_insecure_test_ptau_is_built_as_snarkjs_builds_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let theirs = ptau(dir.path(), 4);
    check_lagrange_blocks(&theirs);
    let ours = dir.path().join("insecure.ptau");
    zkrollup::iden3::ptau::write_insecure_test_ptau(&ours, 8, 7).unwrap();
    check_lagrange_blocks(&ours);
    // snarkjs builds a key from it and proves with it.
    let c = PreimageCircuit::new([Fr::from(5u64), Fr::from(6u64)]);
    let fast = FastProver::new(c).unwrap();
    let d = dir.path();
    fast.r1cs().write_file(&d.join("c.r1cs")).unwrap();
    wtns::write_file(&fast.assignment(c).unwrap(), &d.join("w.wtns")).unwrap();
    snarkjs(d, &["groth16", "setup", "c.r1cs", "insecure.ptau", "c_0.zkey"]);
    snarkjs(d, &["zkey", "export", "verificationkey", "c_0.zkey", "verification_key.json"]);
    snarkjs(d, &["groth16", "prove", "c_0.zkey", "w.wtns", "proof.json", "public.json"]);
    let text = snarkjs(d, &["groth16", "verify", "verification_key.json", "public.json", "proof.json"]);
    assert!(text.contains("OK"), "{text}");
}

/// The batch circuit end to end with snarkjs (N = 1, M = 0, D = 1; a domain of 2^17): `ceremony
/// new` on an INSECURE test ptau of 2^18 (snarkjs needs over half an hour on two cores to
/// prepare a ptau of that size), then `prove-zkey` checked by `snarkjs groth16 verify`, and
/// `snarkjs groth16 prove` checked by our verifier, on a real batch's `.wtns`.
#[test]
fn the_batch_circuit_proves_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ptau = d.join("insecure18.ptau");
    zkrollup::iden3::ptau::write_insecure_test_ptau(&ptau, 18, 11).unwrap();
    let (alice, bob) = (PrivateKey::from_bytes([9; 32]), PrivateKey::from_bytes([10; 32]));
    let state = State::from_accounts(1, vec![(1, Account::new(alice.public_key(), 100, 0)), (2, Account::new(bob.public_key(), 0, 0))]).unwrap();
    let (state_path, batch_path, wtns_path, zkey) = (d.join("state.json"), d.join("batch.json"), d.join("b.wtns"), d.join("b.zkey"));
    std::fs::write(&state_path, state_to_json(&state)).unwrap();
    std::fs::write(&batch_path, batch_to_json(&Batch::new(vec![Transfer::signed(&alice, 1, 2, 40, 0, Fr::from(DOMAIN_U64))]))).unwrap();
    let shape = ["--batch-size", "1", "--l1-slots", "0", "--depth", "1"];
    let out = zkrollup(&[&["ceremony", "new", "--ptau", s(&ptau)], &shape[..], &["--out", s(&zkey)]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let domain = DOMAIN_U64.to_string();
    let args = [&["export-wtns", "--domain", &domain], &shape[..], &["--state", s(&state_path), "--batch", s(&batch_path), "--out", s(&wtns_path)]].concat();
    let out = zkrollup(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    snarkjs(d, &["zkey", "export", "verificationkey", "b.zkey", "verification_key.json"]);
    both_ways(d, &zkey, &d.join("verification_key.json"), &wtns_path);

    // The ceremony on the batch circuit: a contribution, the beacon, verification, the key
    // folder; then `prove` and `verify` with it, snarkjs and the generated Solidity verifier
    // in revm accepting the proof.
    ours(d, &["contribute", "--in", "b.zkey", "--out", "b1.zkey", "--name", "operator"]);
    ours(d, &["beacon", "--in", "b1.zkey", "--out", "bf.zkey", "--hash", "ab".repeat(32).as_str(), "--iterations-exp", "10"]);
    let out = zkrollup(&[&["ceremony", "verify", "--zkey", s(&d.join("bf.zkey")), "--ptau", s(&ptau)], &shape[..]].concat());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.starts_with("valid") && text.contains("\"operator\""), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let keys = d.join("keys");
    ours(d, &[&["export", "--zkey", "bf.zkey"], &shape[..], &["--out", s(&keys)]].concat());
    // Another shape's circuit is refused.
    let wrong = zkrollup(&["ceremony", "export", "--zkey", s(&d.join("bf.zkey")), "--batch-size", "2", "--l1-slots", "0", "--depth", "1", "--out", s(&d.join("wrong"))]);
    assert!(!wrong.status.success() && String::from_utf8_lossy(&wrong.stderr).contains("not for the batch circuit"));
    let proved = d.join("proved");
    let out = zkrollup(&["prove", "--domain", &DOMAIN_U64.to_string(), "--keys", s(&keys), "--state", s(&state_path), "--batch", s(&batch_path), "--out", s(&proved)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (proof_path, public_path) = (proved.join("proof.json"), proved.join("public.json"));
    let out = zkrollup(&["verify", "--keys", s(&keys), "--proof", s(&proof_path), "--public", s(&public_path)]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "valid");
    let text = snarkjs(d, &["groth16", "verify", s(&keys.join("verification_key.json")), s(&public_path), s(&proof_path)]);
    assert!(text.contains("OK"), "{text}");
    let contracts = common::evm::compile(&[&keys.join("Groth16Verifier.sol")]);
    let mut chain = common::evm::Chain::new();
    let (verifier, _) = chain.deploy(common::evm::account(1), &contracts["Groth16Verifier"].bytecode, &[]);
    let proof = parse_proof(&std::fs::read_to_string(&proof_path).unwrap()).unwrap();
    let public = parse_public(&std::fs::read_to_string(&public_path).unwrap()).unwrap();
    let call = |input: Fr| zkrollup::export::calldata::verify_proof_calldata(&proof, input);
    let answer = |chain: &mut common::evm::Chain, data: Vec<u8>| chain.call(common::evm::account(2), verifier, data).output().to_vec();
    let (yes, no) = (answer(&mut chain, call(public[0])), answer(&mut chain, call(public[0] + Fr::from(1u64))));
    assert_eq!((yes[31], no[31]), (1, 0), "the ceremony's Solidity verifier accepts the proof and nothing else");
}

/// `snarkjs zkey verify` on a key: whether it printed "ZKey Ok!".
fn snarkjs_accepts(dir: &Path, zkey: &str) -> bool {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/node_modules/snarkjs/build/cli.cjs");
    let out = Command::new("node").arg(cli).args(["zkey", "verify", "c.r1cs", "pot_final.ptau", zkey]).current_dir(dir).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    text.contains("ZKey Ok!")
}

fn ours(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_zkrollup")).arg("ceremony").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "ceremony {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Contributions by `zkrollup ceremony contribute` mixed with `snarkjs zkey contribute` in both
/// orders, and our beacon: snarkjs verifies every chain; our beacon equals snarkjs's byte for
/// byte; the final key proves with both provers.
#[test]
fn ceremony_contributions_mix_with_snarkjs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let c = PreimageCircuit::new([Fr::from(7u64), Fr::from(8u64)]);
    let fast = FastProver::new(c).unwrap();
    fast.r1cs().write_file(&d.join("c.r1cs")).unwrap();
    wtns::write_file(&fast.assignment(c).unwrap(), &d.join("w.wtns")).unwrap();
    ptau(d, 8);
    ours(d, &["new", "--ptau", "pot_final.ptau", "--r1cs", "c.r1cs", "--out", "k0.zkey"]);
    // Ours, snarkjs's, ours.
    let printed = ours(d, &["contribute", "--in", "k0.zkey", "--out", "a1.zkey", "--name", "alice", "--entropy", "alice's dice"]);
    assert!(printed.starts_with("contribution hash: ") && printed.trim().len() == 19 + 128, "{printed}");
    snarkjs(d, &["zkey", "contribute", "a1.zkey", "a2.zkey", "--name=bob", "-e=bob's entropy"]);
    ours(d, &["contribute", "--in", "a2.zkey", "--out", "a3.zkey", "--name", "carol"]);
    assert!(snarkjs_accepts(d, "a3.zkey"), "snarkjs rejects ours, snarkjs's, ours");
    // snarkjs's, then ours.
    snarkjs(d, &["zkey", "contribute", "k0.zkey", "b1.zkey", "--name=dave", "-e=dave's entropy"]);
    ours(d, &["contribute", "--in", "b1.zkey", "--out", "b2.zkey"]);
    assert!(snarkjs_accepts(d, "b2.zkey"), "snarkjs rejects snarkjs's, ours");
    // The beacon, ours and snarkjs's.
    let beacon = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    ours(d, &["beacon", "--in", "a3.zkey", "--out", "final.zkey", "--hash", beacon, "--iterations-exp", "10", "--name", "final beacon"]);
    snarkjs(d, &["zkey", "beacon", "a3.zkey", "snarkjs_final.zkey", beacon, "10", "-n=final beacon"]);
    assert!(std::fs::read(d.join("final.zkey")).unwrap() == std::fs::read(d.join("snarkjs_final.zkey")).unwrap(), "the beacons differ");
    assert!(snarkjs_accepts(d, "final.zkey"));
    // A tampered delta is caught by snarkjs (the check the tests of `ceremony verify` mirror).
    let mut key = Zkey::read_file(&d.join("final.zkey")).unwrap();
    key.header.delta1 = (key.header.delta1 + key.header.alpha1).into();
    key.write_file(&d.join("tampered.zkey")).unwrap();
    assert!(!snarkjs_accepts(d, "tampered.zkey"));
    snarkjs(d, &["zkey", "export", "verificationkey", "final.zkey", "verification_key.json"]);
    both_ways(d, &d.join("final.zkey"), &d.join("verification_key.json"), &d.join("w.wtns"));

    // `ceremony verify` accepts every chain above, and one made by snarkjs alone.
    snarkjs(d, &["zkey", "contribute", "k0.zkey", "s1.zkey", "--name=erin", "-e=erin's entropy"]);
    snarkjs(d, &["zkey", "contribute", "s1.zkey", "s2.zkey", "--name=frank", "-e=frank's entropy"]);
    snarkjs(d, &["zkey", "beacon", "s2.zkey", "s3.zkey", beacon, "10", "-n=their beacon"]);
    for key in ["k0.zkey", "a3.zkey", "b2.zkey", "final.zkey", "s3.zkey"] {
        let (ok, text) = our_verify(d, key, "pot_final.ptau");
        assert!(ok && text.starts_with("valid"), "{key}: {text}");
    }
    let (_, text) = our_verify(d, "s3.zkey", "pot_final.ptau");
    assert!(text.contains("\"erin\"") && text.contains("\"frank\"") && text.contains("beacon \"their beacon\""), "{text}");

    // ... and refuses each tampering, naming it.
    let good = Zkey::read_file(&d.join("final.zkey")).unwrap();
    let g1 = ark_bn254::G1Affine::generator();
    let g2 = ark_bn254::G2Affine::generator();
    let mut cases: Vec<(&str, Zkey, &str)> = Vec::new();
    let mut k = good.clone();
    k.header.delta1 = (k.header.delta1 + g1).into();
    cases.push(("a changed delta1", k, "delta1 is not the last contribution's"));
    let mut k = good.clone();
    k.header.delta2 = (k.header.delta2 + g2).into();
    cases.push(("a changed delta2", k, "delta2 does not match"));
    let mut k = good.clone();
    let last = k.contributions.len() - 1;
    k.contributions[last].g2_spx = (k.contributions[last].g2_spx + g2).into();
    cases.push(("a forged proof of knowledge", k, "proof of knowledge"));
    let mut k = good.clone();
    k.c[0] = (k.c[0] + g1).into();
    cases.push(("a changed L point", k, "L (section 8)"));
    let mut k = good.clone();
    k.h[3] = (k.h[3] + g1).into();
    cases.push(("a changed H point", k, "H (section 9)"));
    let mut k = good.clone();
    k.a[1] = (k.a[1] + g1).into();
    cases.push(("a changed A point", k, "A (section 5)"));
    let mut k = good.clone();
    k.b2[1] = (k.b2[1] + g2).into();
    cases.push(("a changed B2 point", k, "B2 (section 7)"));
    let mut k = good.clone();
    k.ic[0] = (k.ic[0] + g1).into();
    cases.push(("a changed IC point", k, "IC (section 3)"));
    let mut k = good.clone();
    k.contributions.swap(0, 1);
    cases.push(("two contributions swapped", k, "transcript"));
    let mut k = good.clone();
    k.contributions.remove(1);
    cases.push(("a contribution dropped", k, "transcript"));
    let mut k = good.clone();
    k.contributions.pop();
    cases.push(("the beacon dropped", k, "delta1 is not the last contribution's"));
    let mut k = good.clone();
    k.contributions[last].params.beacon_hash = Some(vec![9; 32]);
    cases.push(("another beacon hash", k, "the beacon's key is not the one"));
    for (what, key, expected) in cases {
        key.write_file(&d.join("bad.zkey")).unwrap();
        let (ok, text) = our_verify(d, "bad.zkey", "pot_final.ptau");
        assert!(!ok && text.starts_with("invalid: ") && text.contains(expected), "{what}: {text}");
    }
    // A ptau that is not the one used.
    let other = d.join("other");
    std::fs::create_dir(&other).unwrap();
    ptau(&other, 8);
    let (ok, text) = our_verify(d, "final.zkey", "other/pot_final.ptau");
    assert!(!ok && text.contains("alpha1 is not the ptau's"), "another ptau: {text}");
}

/// `zkrollup ceremony verify` on the small circuit: (exit 0, stdout).
fn our_verify(dir: &Path, zkey: &str, ptau: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zkrollup"))
        .args(["ceremony", "verify", "--zkey", zkey, "--ptau", ptau, "--r1cs", "c.r1cs"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.code() == Some(0) || out.status.code() == Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    (out.status.success(), String::from_utf8(out.stdout).unwrap())
}

/// Compile `tests/circom/NAME.circom` with circom2 (npm, pinned in tests/js) into a directory
/// under the target folder (circom2 runs in WASI and reaches only paths below its working
/// directory, the repository root); the `.r1cs` and `.wasm`.
fn circom(name: &str, dir: &Path) -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let relative = dir.strip_prefix(root).expect("the directory is under the repository");
    let out = Command::new("node")
        .arg("tests/js/node_modules/circom2/cli.js")
        .arg(format!("tests/circom/{name}.circom"))
        .args(["--r1cs", "--wasm", "-l", "tests/js/node_modules", "-o"])
        .arg(relative)
        .current_dir(root)
        .output()
        .expect("node runs");
    assert!(out.status.success(), "circom2 {name}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (dir.join(format!("{name}.r1cs")), dir.join(format!("{name}_js/{name}.wasm")))
}

/// Two circuits compiled by circom from circomlib (a Poseidon preimage, an EdDSA-Poseidon
/// signature check): our `.r1cs` reader takes circom's file and our check agrees with snarkjs's
/// witness; `ceremony new` equals `snarkjs groth16 setup` byte for byte; after our
/// contribution, `prove-zkey` proofs pass `snarkjs groth16 verify` and snarkjs's pass ours.
#[test]
fn circom_circuits_from_circomlib() {
    let alice = PrivateKey::from_bytes([21; 32]);
    let message = Fr::from(123_456_789u64);
    let sig = alice.sign(message);
    let dec = zkrollup::decimal::fr_to_decimal;
    let a = alice.public_key();
    let inputs = [
        ("poseidon_preimage", serde_json::json!({"a": "3", "b": "5"})),
        (
            "eddsa_check",
            serde_json::json!({"Ax": dec(a.x()), "Ay": dec(a.y()), "R8x": dec(sig.r8.0), "R8y": dec(sig.r8.1), "S": dec(sig.s), "msg": dec(message)}),
        ),
    ];
    for (name, input) in inputs {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let d = dir.path();
        let (r1cs_path, wasm) = circom(name, d);
        std::fs::write(d.join("input.json"), input.to_string()).unwrap();
        snarkjs(d, &["wtns", "calculate", s(&wasm), "input.json", "w.wtns"]);
        let r1cs = zkrollup::iden3::r1cs::R1cs::read_file(&r1cs_path).unwrap();
        let w = wtns::read_file(&d.join("w.wtns")).unwrap();
        r1cs.check(&w).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut broken = w.clone();
        broken[r1cs.n_wires as usize - 1] += Fr::from(1u64);
        assert!(r1cs.check(&broken).is_err(), "{name}: a changed witness must break a constraint");
        let ptau = d.join("insecure.ptau");
        zkrollup::iden3::ptau::write_insecure_test_ptau(&ptau, 15, 3).unwrap();
        ours(d, &["new", "--ptau", "insecure.ptau", "--r1cs", s(&r1cs_path), "--out", "k0.zkey"]);
        snarkjs(d, &["groth16", "setup", s(&r1cs_path), "insecure.ptau", "snarkjs0.zkey"]);
        assert!(std::fs::read(d.join("k0.zkey")).unwrap() == std::fs::read(d.join("snarkjs0.zkey")).unwrap(), "{name}: ceremony new differs from snarkjs");
        ours(d, &["contribute", "--in", "k0.zkey", "--out", "k1.zkey", "--name", name]);
        snarkjs(d, &["zkey", "export", "verificationkey", "k1.zkey", "verification_key.json"]);
        both_ways(d, &d.join("k1.zkey"), &d.join("verification_key.json"), &d.join("w.wtns"));
        solidity_accepts_both_proofs(d, name, &d.join("k1.zkey"));
    }
}

/// The Solidity verifier `export-verifier --zkey` writes for a circuit's key, compiled by solc
/// and run in revm: it accepts our proof (`ours/`, from `both_ways`) and snarkjs's (`proof.json`)
/// with their public inputs, and refuses each with any one input changed or not below r.
fn solidity_accepts_both_proofs(d: &Path, name: &str, zkey: &Path) {
    let sol = d.join("Groth16Verifier.sol");
    let out = zkrollup(&["export-verifier", "--zkey", s(zkey), "--out", s(&sol)]);
    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    let contracts = common::evm::compile(&[&sol]);
    let verifier_contract = &contracts["Groth16Verifier"];
    let k = Zkey::read_file(zkey).unwrap().header.n_public as usize;
    let signature = format!("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[{k}])");
    let selector = hex::decode(&verifier_contract.methods[&signature]).unwrap();
    let mut chain = common::evm::Chain::new();
    let (verifier, _) = chain.deploy(common::evm::account(1), &verifier_contract.bytecode, &[]);
    let mut answer = |data: Vec<u8>| {
        let out = chain.call(common::evm::account(2), verifier, data);
        assert!(out.is_success(), "{name}: verifyProof reverted");
        out.output()[31]
    };
    let call = |proof: &zkrollup::prover::Proof, inputs: &[Fr]| [selector.clone(), zkrollup::export::calldata::verify_proof_arguments(proof, inputs)].concat();
    for (proof_path, public_path) in [(d.join("ours/proof.json"), d.join("ours/public.json")), (d.join("proof.json"), d.join("public.json"))] {
        let proof = parse_proof(&std::fs::read_to_string(&proof_path).unwrap()).unwrap();
        let public = parse_public(&std::fs::read_to_string(&public_path).unwrap()).unwrap();
        assert_eq!(public.len(), k);
        assert_eq!(answer(call(&proof, &public)), 1, "{name}: the Solidity verifier refuses {}", proof_path.display());
        for i in 0..k {
            let mut changed = public.clone();
            changed[i] += Fr::from(1u64);
            assert_eq!(answer(call(&proof, &changed)), 0, "{name}: input {i} changed, still accepted");
        }
        // The last input plus r: the same residue, not canonical, refused.
        let mut big = public[k - 1].into_bigint();
        assert!(!big.add_with_carry(&Fr::MODULUS), "below 2^256");
        let mut data = call(&proof, &public);
        let at = data.len() - 32;
        data[at..].copy_from_slice(&big.to_bytes_be());
        assert_eq!(answer(data), 0, "{name}: input[{}] + r accepted", k - 1);
    }
}
