//! The iden3 readers and writers: round trips, and a clear error for every malformed or
//! hostile file (wrong magic or version, sections missing, duplicated or truncated, values at or
//! above the modulus, points off the curve or outside the subgroup, sizes that disagree with the
//! header), never a panic.

use ark_bn254::{Fq, Fq2, G2Affine};
use ark_ff::{BigInteger, PrimeField, UniformRand};
use ark_std::rand::{rngs::StdRng, SeedableRng};
use zkrollup::iden3::encoding::{coefficient_bytes, read_coefficient};
use zkrollup::iden3::r1cs::R1cs;
use zkrollup::iden3::encoding::Check;
use zkrollup::iden3::zkey::{read_streamed, Coefficient, Matrix, Zkey};
use zkrollup::iden3::{wtns, FormatError};
use zkrollup::prover::fast::FastProver;
use zkrollup::prover::zkey::ZkeyProver;
use zkrollup::prover::{setup_insecure_dev, PreimageCircuit, ProverError};
use zkrollup::Fr;

/// (id, start of its bytes, size) of each section of a container, in file order.
fn sections(bytes: &[u8]) -> Vec<(u32, usize, usize)> {
    let count = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    let mut at = 12;
    (0..count)
        .map(|_| {
            let id = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
            let size = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().unwrap()) as usize;
            let out = (id, at + 12, size);
            at += 12 + size;
            out
        })
        .collect()
}

fn section(bytes: &[u8], id: u32) -> (usize, usize) {
    let (_, start, size) = sections(bytes).into_iter().find(|s| s.0 == id).expect("section present");
    (start, size)
}

/// The file without section `id` (the count in the header lowered).
fn without(bytes: &[u8], id: u32) -> Vec<u8> {
    let (start, size) = section(bytes, id);
    let mut out = bytes[..start - 12].to_vec();
    out.extend_from_slice(&bytes[start + size..]);
    let count = u32::from_le_bytes(out[8..12].try_into().unwrap()) - 1;
    out[8..12].copy_from_slice(&count.to_le_bytes());
    out
}

/// The file with section `id` appended a second time.
fn duplicated(bytes: &[u8], id: u32) -> Vec<u8> {
    let (start, size) = section(bytes, id);
    let mut out = bytes.to_vec();
    out.extend_from_slice(&bytes[start - 12..start + size]);
    let count = u32::from_le_bytes(out[8..12].try_into().unwrap()) + 1;
    out[8..12].copy_from_slice(&count.to_le_bytes());
    out
}

fn read_r1cs(bytes: &[u8]) -> Result<R1cs, FormatError> {
    R1cs::read(&mut std::io::Cursor::new(bytes))
}

fn read_wtns(bytes: &[u8]) -> Result<Vec<Fr>, FormatError> {
    wtns::read(&mut std::io::Cursor::new(bytes))
}

/// A `.zkey` through both readers, the seeking one (`Zkey::read`) and the one that streams the
/// file front to back (`read_streamed`): they must agree, on the key or on the kind of error.
fn read_zkey(bytes: &[u8]) -> Result<Zkey, FormatError> {
    let seeking = Zkey::read(&mut std::io::Cursor::new(bytes));
    let streamed = read_zkey_streamed(bytes, Check::Full);
    match (&seeking, &streamed) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the two readers read different keys"),
        (Err(a), Err(b)) => assert_eq!(std::mem::discriminant(a), std::mem::discriminant(b), "seeking: {a}; streamed: {b}"),
        _ => panic!("the readers disagree: seeking {:?}, streamed {:?}", seeking.as_ref().err(), streamed.as_ref().err()),
    }
    seeking
}

/// A `.zkey` written to a file and read by `read_streamed`, whose hash must be the file's.
fn read_zkey_streamed(bytes: &[u8], check: Check) -> Result<Zkey, FormatError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.zkey");
    std::fs::write(&path, bytes).unwrap();
    let mut coefficients = Vec::new();
    let (zkey, sha256) = read_streamed(&path, check, |_, total, chunk| {
        assert!(coefficients.len() + chunk.len() <= total as usize);
        coefficients.extend_from_slice(chunk);
    })?;
    assert_eq!(sha256, zkrollup::prover::keys::sha256_hex(bytes), "the hash is of every byte");
    assert!(zkey.coefficients.is_empty(), "the coefficients went to the callback");
    Ok(Zkey { coefficients, ..zkey })
}

/// A small circuit's `.r1cs`, a satisfying `.wtns`, and a `.zkey` holding an ark-groth16 key
/// for it (with the libsnark H query: enough for the format's tests, not for proving).
fn fixtures() -> (Vec<u8>, Vec<u8>, Zkey) {
    let c = PreimageCircuit::new([Fr::from(3u64), Fr::from(4u64)]);
    let fast = FastProver::new(c).unwrap();
    let r1cs = fast.r1cs();
    let z = fast.assignment(c).unwrap();
    r1cs.check(&z).unwrap();
    let mut w = Vec::new();
    wtns::write(&z, &mut w).unwrap();
    let (pk, _) = setup_insecure_dev(c, 5).unwrap();
    let mut coefficients = Vec::new();
    for (i, [a, b, _]) in r1cs.constraints.iter().enumerate() {
        for (matrix, lc) in [(Matrix::A, a), (Matrix::B, b)] {
            coefficients.extend(lc.iter().map(|(s, v)| Coefficient { matrix, constraint: i as u32, signal: *s, value: *v }));
        }
    }
    let zkey = Zkey {
        header: zkrollup::iden3::zkey::Header {
            n_vars: r1cs.n_wires,
            n_public: r1cs.n_public() as u32,
            domain_size: pk.h_query.len() as u32 + 1,
            alpha1: pk.vk.alpha_g1,
            beta1: pk.beta_g1,
            beta2: pk.vk.beta_g2,
            gamma2: pk.vk.gamma_g2,
            delta1: pk.delta_g1,
            delta2: pk.vk.delta_g2,
        },
        ic: pk.vk.gamma_abc_g1.clone(),
        coefficients,
        a: pk.a_query.clone(),
        b1: pk.b_g1_query.clone(),
        b2: pk.b_g2_query.clone(),
        c: pk.l_query.clone(),
        // ark-groth16 has n - 1 H points, snarkjs n.
        h: [pk.h_query.clone(), vec![pk.delta_g1]].concat(),
        cs_hash: [7; 64],
        contributions: vec![],
    };
    (r1cs.to_bytes(), w, zkey)
}

#[test]
fn round_trips() {
    let (r1cs, w, zkey) = fixtures();
    assert_eq!(read_r1cs(&r1cs).unwrap().to_bytes(), r1cs);
    let values = read_wtns(&w).unwrap();
    let mut again = Vec::new();
    wtns::write(&values, &mut again).unwrap();
    assert_eq!(again, w);
    let bytes = zkey.to_bytes();
    assert_eq!(read_zkey(&bytes).unwrap(), zkey);
    // The sections as `zkey new` orders them; a reader finds them by id in any order.
    assert_eq!(sections(&bytes).iter().map(|s| s.0).collect::<Vec<_>>(), vec![1, 2, 4, 3, 9, 8, 5, 6, 7, 10]);
}

#[test]
fn coefficients_are_stored_times_r_squared() {
    let mut rng = StdRng::seed_from_u64(1);
    for c in [Fr::from(1u64), -Fr::from(1u64), Fr::from(0u64), Fr::rand(&mut rng)] {
        let bytes = coefficient_bytes(&c);
        assert_eq!(read_coefficient(&bytes, String::new).unwrap(), c);
        // c * 2^512 mod r, little-endian.
        let r2 = Fr::from(2u64).pow_u64(512);
        assert_eq!(bytes.to_vec(), (c * r2).into_bigint().to_bytes_le());
    }
    assert_eq!(coefficient_bytes(&Fr::from(1u64)).to_vec(), Fr::from(2u64).pow_u64(512).into_bigint().to_bytes_le());
}

trait PowU64 {
    fn pow_u64(self, e: u64) -> Self;
}

impl PowU64 for Fr {
    fn pow_u64(self, e: u64) -> Fr {
        ark_ff::Field::pow(&self, [e])
    }
}

macro_rules! assert_err {
    ($result:expr, $pattern:pat, $what:expr) => {
        match $result {
            Err(e @ $pattern) => {
                let text = e.to_string();
                assert!(!text.is_empty(), "{}: an empty message", $what);
            }
            other => panic!("{}: expected {}, got {:?}", $what, stringify!($pattern), other.map(|_| ())),
        }
    };
}

#[test]
fn container_damage_is_named() {
    let (r1cs, w, zkey) = fixtures();
    let zkey = zkey.to_bytes();
    for (name, bytes) in [("r1cs", &r1cs), ("wtns", &w), ("zkey", &zkey)] {
        let mut magic = bytes.clone();
        magic[0] ^= 0x20;
        assert_err!(read_any(name, &magic), FormatError::BadMagic { .. }, format!("{name}: magic"));
        let mut version = bytes.clone();
        version[4..8].copy_from_slice(&9u32.to_le_bytes());
        assert_err!(read_any(name, &version), FormatError::UnsupportedVersion { .. }, format!("{name}: version"));
        for cut in [0, 5, 13, bytes.len() / 2, bytes.len() - 1] {
            assert_err!(read_any(name, &bytes[..cut]), FormatError::Truncated(_), format!("{name}: cut at {cut}"));
        }
        assert_err!(read_any(name, &without(bytes, 2)), FormatError::MissingSection { id: 2, .. }, format!("{name}: no section 2"));
        assert_err!(read_any(name, &duplicated(bytes, 1)), FormatError::DuplicateSection { id: 1, .. }, format!("{name}: section 1 twice"));
        // A section announcing more bytes than the file has.
        let (start, _) = section(bytes, 2);
        let mut long = bytes.clone();
        long[start - 8..start].copy_from_slice(&(1u64 << 40).to_le_bytes());
        assert_err!(read_any(name, &long), FormatError::Truncated(_), format!("{name}: section 2 too long"));
    }
    // Sections in another order read the same.
    let mut reordered = without(&zkey, 4);
    let (start, size) = section(&zkey, 4);
    reordered.extend_from_slice(&zkey[start - 12..start + size]);
    let count = u32::from_le_bytes(reordered[8..12].try_into().unwrap()) + 1;
    reordered[8..12].copy_from_slice(&count.to_le_bytes());
    assert_eq!(read_zkey(&reordered).unwrap(), read_zkey(&zkey).unwrap());
}

fn read_any(kind: &str, bytes: &[u8]) -> Result<(), FormatError> {
    match kind {
        "r1cs" => read_r1cs(bytes).map(|_| ()),
        "wtns" => read_wtns(bytes).map(|_| ()),
        _ => read_zkey(bytes).map(|_| ()),
    }
}

fn modulus_le<F: PrimeField>() -> Vec<u8> {
    F::MODULUS.to_bytes_le()
}

#[test]
fn hostile_values_are_refused() {
    let (r1cs, w, zkey) = fixtures();
    let zbytes = zkey.to_bytes();

    // Scalars at the modulus: a witness value, an r1cs coefficient, a zkey coefficient.
    let (start, _) = section(&w, 2);
    let mut bad = w.clone();
    bad[start + 32..start + 64].copy_from_slice(&modulus_le::<Fr>());
    assert_err!(read_wtns(&bad), FormatError::NotCanonical { .. }, "wtns value = r");
    let (start, _) = section(&r1cs, 2);
    let mut bad = r1cs.clone();
    // Constraint 0, A: nFactors (4) then wire (4), then the value.
    bad[start + 8..start + 40].copy_from_slice(&modulus_le::<Fr>());
    assert_err!(read_r1cs(&bad), FormatError::NotCanonical { .. }, "r1cs coefficient = r");
    let (start, _) = section(&zbytes, 4);
    let mut bad = zbytes.clone();
    bad[start + 4 + 12..start + 4 + 44].copy_from_slice(&modulus_le::<Fr>());
    assert_err!(read_zkey(&bad), FormatError::NotCanonical { .. }, "zkey coefficient >= r");

    // A coordinate at q, a point off the curve (G1 in A, G2 in B2), a G2 point outside the
    // subgroup.
    let (start, _) = section(&zbytes, 5);
    let mut bad = zbytes.clone();
    bad[start + 64..start + 96].copy_from_slice(&modulus_le::<Fq>());
    assert_err!(read_zkey(&bad), FormatError::NotCanonical { .. }, "A[1].x = q");
    let mut bad = zbytes.clone();
    bad[start + 64] ^= 1;
    assert_err!(read_zkey(&bad), FormatError::NotOnCurve { .. }, "A[1] off the curve");
    let (start, _) = section(&zbytes, 7);
    let mut bad = zbytes.clone();
    bad[start + 128] ^= 1;
    assert_err!(read_zkey(&bad), FormatError::NotOnCurve { .. }, "B2[1] off the curve");
    let outside = point_outside_g2_subgroup();
    let mut bad = zbytes.clone();
    bad[start + 128..start + 256].copy_from_slice(&zkrollup::iden3::encoding::g2_bytes(&outside));
    assert_err!(read_zkey(&bad), FormatError::NotInSubgroup { .. }, "B2[1] outside the subgroup");
    let (start, _) = section(&zbytes, 2);
    let mut bad = zbytes.clone();
    bad[start + 76 + 64 + 64 + 128 + 1] ^= 1; // gamma2.x.c0
    assert_err!(read_zkey(&bad), FormatError::NotOnCurve { .. }, "header gamma2 off the curve");
}

/// A point on BN254's twist that is not in the prime-order subgroup.
fn point_outside_g2_subgroup() -> G2Affine {
    let mut rng = StdRng::seed_from_u64(3);
    loop {
        let x = Fq2::rand(&mut rng);
        if let Some(p) = G2Affine::get_point_from_x_unchecked(x, false) {
            if p.is_on_curve() && !p.is_in_correct_subgroup_assuming_on_curve() {
                return p;
            }
        }
    }
}

#[test]
fn sizes_must_match_the_header() {
    let (r1cs, w, zkey) = fixtures();
    // wtns: the header announces one value more than section 2 holds.
    let (start, _) = section(&w, 1);
    let mut bad = w.clone();
    let n = u32::from_le_bytes(bad[start + 36..start + 40].try_into().unwrap());
    bad[start + 36..start + 40].copy_from_slice(&(n + 1).to_le_bytes());
    assert_err!(read_wtns(&bad), FormatError::SectionSize { id: 2, .. }, "wtns count");
    // r1cs: one constraint more than section 2 holds; a wire past nWires; another prime.
    let (start, _) = section(&r1cs, 1);
    let mut bad = r1cs.clone();
    let m = u32::from_le_bytes(bad[start + 60..start + 64].try_into().unwrap());
    bad[start + 60..start + 64].copy_from_slice(&(m + 1).to_le_bytes());
    assert_err!(read_r1cs(&bad), FormatError::Truncated(_), "r1cs constraint count");
    let mut bad = r1cs.clone();
    bad[start + 36..start + 40].copy_from_slice(&1u32.to_le_bytes()); // nWires = 1
    assert_err!(read_r1cs(&bad), FormatError::Header(_), "r1cs nWires below its inputs");
    let mut bad = r1cs.clone();
    bad[start + 4] ^= 1;
    assert_err!(read_r1cs(&bad), FormatError::Header(_), "r1cs prime");
    let (s2, _) = section(&r1cs, 2);
    let mut bad = r1cs.clone();
    bad[s2 + 4..s2 + 8].copy_from_slice(&u32::MAX.to_le_bytes()); // constraint 0's first wire
    assert_err!(read_r1cs(&bad), FormatError::Header(_), "r1cs wire out of range");
    // zkey: one H point fewer than the domain; a coefficient's row past the domain; a
    // domain that is not a power of two; another protocol.
    let mut short = zkey.clone();
    short.h.pop();
    assert_err!(read_zkey(&short.to_bytes()), FormatError::SectionSize { id: 9, .. }, "zkey H count");
    let mut far = zkey.clone();
    far.coefficients[0].constraint = zkey.header.domain_size;
    assert_err!(read_zkey(&far.to_bytes()), FormatError::Header(_), "zkey row past the domain");
    let mut odd = zkey.clone();
    odd.header.domain_size += 1;
    odd.h.push(odd.h[0]);
    assert_err!(read_zkey(&odd.to_bytes()), FormatError::Header(_), "zkey domain not a power of two");
    let mut bytes = zkey.to_bytes();
    let (p, _) = section(&bytes, 1);
    bytes[p] = 2;
    assert_err!(read_zkey(&bytes), FormatError::Header(_), "zkey protocol PLONK");
}

#[test]
fn a_wtns_of_another_circuit_is_refused_by_the_zkey_prover() {
    let (_, w, zkey) = fixtures();
    let prover = ZkeyProver::new(&zkey).unwrap();
    let mut values = read_wtns(&w).unwrap();
    values.push(Fr::from(1u64));
    assert!(matches!(prover.prove(&values), Err(ProverError::KeyMismatch { .. })));
    values.pop();
    values[0] = Fr::from(2u64);
    assert!(matches!(prover.prove(&values), Err(ProverError::Zkey(_))), "signal 0 must be 1");
}

#[test]
fn a_pinned_zkey_reads_the_same_and_a_wrong_pin_is_refused() {
    let (_, _, zkey) = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.zkey");
    zkey.write_file(&path).unwrap();
    let hash = zkrollup::prover::keys::sha256_hex(&std::fs::read(&path).unwrap());
    assert_eq!(Zkey::read_file_pinned(&path, &hash).unwrap(), zkey);
    let mut other = hash.into_bytes();
    other[0] = if other[0] == b'0' { b'1' } else { b'0' };
    let other = String::from_utf8(other).unwrap();
    assert_err!(Zkey::read_file_pinned(&path, &other), FormatError::Mismatch(_), "a wrong pin");
}

/// `n` items cycling through `v`.
fn cycle<T: Copy>(v: &[T], n: usize) -> Vec<T> {
    v.iter().cycle().take(n).copied().collect()
}

/// A key of more than one chunk in every large section streams the same as it seeks, with the
/// header first or (the coefficients then parsed at the end) last.
#[test]
fn a_key_of_many_chunks_streams_the_same_in_any_section_order() {
    let (_, _, small) = fixtures();
    let n_vars = 40_000u32;
    let mut zkey = small.clone();
    zkey.header.n_vars = n_vars;
    zkey.header.domain_size = 1 << 16;
    zkey.a = cycle(&small.a, n_vars as usize);
    zkey.b1 = cycle(&small.b1, n_vars as usize);
    zkey.b2 = cycle(&small.b2, n_vars as usize);
    zkey.c = cycle(&small.c, (n_vars - zkey.header.n_public - 1) as usize);
    zkey.h = cycle(&small.h, 1 << 16);
    zkey.coefficients = (0..70_000u32)
        .map(|i| Coefficient {
            matrix: if i % 3 == 0 { Matrix::B } else { Matrix::A },
            constraint: (i.wrapping_mul(7919)) % (1 << 16),
            signal: (u64::from(i) * 104_729 % u64::from(n_vars)) as u32,
            value: Fr::from(u64::from(i) + 1),
        })
        .collect();
    let bytes = zkey.to_bytes();
    assert_eq!(read_zkey(&bytes).unwrap(), zkey);
    let mut header_last = without(&bytes, 2);
    let (start, size) = section(&bytes, 2);
    header_last.extend_from_slice(&bytes[start - 12..start + size]);
    let count = u32::from_le_bytes(header_last[8..12].try_into().unwrap()) + 1;
    header_last[8..12].copy_from_slice(&count.to_le_bytes());
    assert_eq!(read_zkey(&header_last).unwrap(), zkey);
    // Bytes after the last section (more than the streaming reader's piece) are read, and hashed.
    let mut trailing = bytes.clone();
    trailing.extend(std::iter::repeat_n(9u8, 3 << 20));
    assert_eq!(read_zkey(&trailing).unwrap(), zkey);
    // The streaming prover groups the same rows whichever way the key came.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.zkey");
    let witness: Vec<Fr> = (0..n_vars).map(|i| Fr::from(u64::from(i) * 3 + 1)).collect();
    let want = ZkeyProver::new(&zkey).unwrap().rows(&witness);
    for b in [&bytes, &header_last] {
        std::fs::write(&path, b).unwrap();
        let (prover, _) = ZkeyProver::read_file(&path, Some(&zkrollup::prover::keys::sha256_hex(b))).unwrap();
        assert!(prover.rows(&witness) == want);
    }
}

/// The prover that streams the file (`ZkeyProver::read_file`) proves what the one built from a
/// key in memory proves, pinned or checked; a wrong pin, or a point outside G2 when checked,
/// is refused; a damaged point passes unchecked only behind a pin, which it then fails.
#[test]
fn the_streaming_prover_proves_the_same_and_refuses_what_it_must() {
    let (_, w, zkey) = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.zkey");
    let bytes = zkey.to_bytes();
    std::fs::write(&path, &bytes).unwrap();
    let hash = zkrollup::prover::keys::sha256_hex(&bytes);
    let witness = read_wtns(&w).unwrap();
    let (r, s) = (Fr::from(11u64), Fr::from(12u64));
    let want = ZkeyProver::new(&zkey).unwrap().prove_with(&witness, r, s).unwrap();
    for pin in [Some(hash.as_str()), None] {
        let (prover, found) = ZkeyProver::read_file(&path, pin).unwrap();
        assert_eq!(found, hash);
        assert_eq!(prover.proving_key(), ZkeyProver::new(&zkey).unwrap().proving_key());
        assert_eq!(prover.prove_with(&witness, r, s).unwrap(), want, "pinned: {}", pin.is_some());
    }
    let wrong = "0".repeat(64);
    assert!(matches!(ZkeyProver::read_file(&path, Some(&wrong)), Err(ProverError::Format(FormatError::Mismatch(m))) if m.contains("pinned")));
    let (start, _) = section(&bytes, 7);
    let mut bad = bytes.clone();
    bad[start + 128..start + 256].copy_from_slice(&zkrollup::iden3::encoding::g2_bytes(&point_outside_g2_subgroup()));
    std::fs::write(&path, &bad).unwrap();
    assert!(matches!(ZkeyProver::read_file(&path, None), Err(ProverError::Format(FormatError::NotInSubgroup { what })) if what == "zkey B2[1]"));
    assert!(matches!(ZkeyProver::read_file(&path, Some(&hash)), Err(ProverError::Format(FormatError::Mismatch(_)))));
    // Unchecked behind the right pin, the damaged point reads (it is what was pinned).
    let bad_hash = zkrollup::prover::keys::sha256_hex(&bad);
    assert!(read_zkey_streamed(&bad, Check::PinnedByHash).is_ok());
    assert!(ZkeyProver::read_file(&path, Some(&bad_hash)).is_ok());
}

#[test]
fn a_damaged_ptau_is_refused_by_name() {
    use zkrollup::iden3::ptau::{write_insecure_test_ptau, Ptau};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.ptau");
    write_insecure_test_ptau(&path, 3, 1).unwrap();
    let good = std::fs::read(&path).unwrap();
    let mut p = Ptau::open(&path).unwrap();
    assert_eq!(p.power, 3);
    assert_eq!(p.lagrange_g1(16).unwrap().len(), 16);
    assert!(matches!(p.lagrange_g1(32), Err(FormatError::Mismatch(_))), "a domain past 2N");
    assert!(matches!(p.lagrange_g2(16), Err(FormatError::Mismatch(_))), "a G2 domain past N");
    let open = |bytes: &[u8]| {
        let bad = dir.path().join("bad.ptau");
        std::fs::write(&bad, bytes).unwrap();
        Ptau::open(&bad).map(|_| ())
    };
    let mut magic = good.clone();
    magic[1] ^= 1;
    assert_err!(open(&magic), FormatError::BadMagic { .. }, "ptau magic");
    assert_err!(open(&good[..good.len() - 10]), FormatError::Truncated(_), "ptau cut short");
    assert_err!(open(&without(&good, 12)), FormatError::Header(_), "ptau not prepared");
    assert_err!(open(&without(&good, 3)), FormatError::MissingSection { id: 3, .. }, "ptau without tau G2");
    assert_err!(open(&duplicated(&good, 6)), FormatError::DuplicateSection { id: 6, .. }, "ptau beta G2 twice");
    let (start, _) = section(&good, 1);
    let mut power = good.clone();
    power[start + 36..start + 40].copy_from_slice(&4u32.to_le_bytes());
    assert_err!(open(&power), FormatError::SectionSize { id: 2, .. }, "ptau power above its sections");
    let mut curve = good.clone();
    curve[start + 4] ^= 1;
    assert_err!(open(&curve), FormatError::Header(_), "ptau of another curve");
    // A point off the curve in a Lagrange block is named when the block is read.
    let (s12, _) = section(&good, 12);
    let mut off = good.clone();
    off[s12 + 64 * 7 + 5] ^= 1;
    let bad = dir.path().join("off.ptau");
    std::fs::write(&bad, &off).unwrap();
    let mut p = Ptau::open(&bad).unwrap();
    assert_err!(p.lagrange_g1(8), FormatError::NotOnCurve { .. }, "ptau point off the curve");
}

/// A contribution streams the key a chunk at a time: over a key whose H spans two chunks, every
/// H point comes out times the same factor and the other sections unchanged; a key with one H
/// point off the curve is refused by name, and nothing is written (not even a temporary file).
#[test]
fn contributions_stream_across_chunks_and_a_hostile_key_writes_nothing() {
    use ark_bn254::{G1Affine, G1Projective};
    use ark_ec::{AffineRepr, CurveGroup};
    use zkrollup::ceremony::{contribute_file, rng::SnarkjsRng, CeremonyError, KIND_CONTRIBUTION};
    use zkrollup::iden3::zkey::{ContributionParams, CHUNK_POINTS};

    let (_, _, mut zkey) = fixtures();
    // H[i] = (i + 1) G: after a contribution, H'[i] = (i + 1) H'[0] across the chunk boundary.
    let n = 2 * CHUNK_POINTS;
    let g = G1Affine::generator().into_group();
    let mut multiples = Vec::with_capacity(n);
    let mut acc = G1Projective::default();
    for _ in 0..n {
        acc += g;
        multiples.push(acc);
    }
    zkey.h = G1Projective::normalize_batch(&multiples);
    zkey.header.domain_size = n as u32;
    let dir = tempfile::tempdir().unwrap();
    let (input, out) = (dir.path().join("in.zkey"), dir.path().join("out.zkey"));
    zkey.write_file(&input).unwrap();
    let mut rng = SnarkjsRng::from_entropy("stream");
    let mut reported = Vec::new();
    let params = ContributionParams { name: Some("streamed".into()), ..Default::default() };
    contribute_file(&input, &out, &mut rng, KIND_CONTRIBUTION, params, &mut |done, total| reported.push((done, total))).unwrap();
    let next = Zkey::read_file(&out).unwrap();
    let first = next.h[0].into_group();
    let mut expected = first;
    for (i, p) in next.h.iter().enumerate().skip(1) {
        expected += first;
        assert_eq!(p.into_group(), expected, "H[{i}] is not {} H[0]", i + 1);
    }
    assert_ne!(next.h[0], zkey.h[0]);
    assert_eq!((&next.ic, &next.coefficients, &next.a, &next.b1, &next.b2), (&zkey.ic, &zkey.coefficients, &zkey.a, &zkey.b1, &zkey.b2));
    assert_eq!(next.contributions.len(), 1);
    let total = (zkey.c.len() + n) as u64;
    assert_eq!(reported.last(), Some(&(total, total)), "progress ends at the total");
    assert!(reported.windows(2).all(|w| w[0].0 < w[1].0), "progress only grows");

    // H[CHUNK_POINTS + 1] off the curve: refused by name, no file.
    let mut bytes = zkey.to_bytes();
    let (start, _) = section(&bytes, 9);
    bytes[start + (CHUNK_POINTS + 1) * 64] ^= 1;
    std::fs::write(&input, &bytes).unwrap();
    let bad_out = dir.path().join("bad.zkey");
    let result = contribute_file(&input, &bad_out, &mut rng, KIND_CONTRIBUTION, ContributionParams::default(), &mut |_, _| ());
    match result {
        Err(CeremonyError::Format(FormatError::NotOnCurve { what })) => assert_eq!(what, format!("zkey H[{}]", CHUNK_POINTS + 1)),
        other => panic!("expected H[{}] off the curve, got {:?}", CHUNK_POINTS + 1, other.map(|_| ())),
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(left.len(), 2, "only in.zkey and out.zkey: {left:?}");
}
