//! `.ptau` (snarkjs powers of tau), prepared for phase 2. Read by parts: a circuit of domain n
//! needs its Lagrange blocks, not the whole file.
//!
//! Sections, N = 2^power: 1 the header (`n8 || q || power u32 || ceremonyPower u32`); 2
//! `tau^i G1` (2N - 1 points); 3 `tau^i G2` (N); 4 `alpha tau^i G1` (N); 5 `beta tau^i G1` (N);
//! 6 `beta G2`; 7 the contributions; after `prepare phase2`: 12 `L_i(tau) G1` for the domains
//! 1, 2, 4, ... 2N (4N - 1 points), 13 `L_i(tau) G2`, 14 `alpha L_i(tau) G1`, 15
//! `beta L_i(tau) G1` for the domains 1 ... N (2N - 1 points each). The block of domain m starts
//! at point m - 1.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use ark_bn254::{G1Affine, G2Affine};

use super::container::{Cursor, Sections};
use super::encoding::{modulus_bytes, read_g1, read_g1s, read_g2, read_g2s, G1_BYTES, G2_BYTES, N8};
use super::FormatError;

const MAGIC: &[u8; 4] = b"ptau";

/// An opened, prepared `.ptau`: its header checked and its sections located.
pub struct Ptau {
    path: PathBuf,
    file: BufReader<File>,
    sections: Sections,
    /// log2 of N: the file serves circuits with domains up to 2^power.
    pub power: u32,
}

impl Ptau {
    /// Open `path` and check the header and every section's length against the power.
    /// Refuses a file that is not prepared for phase 2.
    pub fn open(path: &Path) -> Result<Ptau, FormatError> {
        let mut file = BufReader::with_capacity(1 << 20, File::open(path).map_err(|e| FormatError::io(path, e))?);
        let sections = Sections::read(&mut file, "ptau", MAGIC, 1)?;
        let header = sections.bytes(&mut file, 1)?;
        let mut c = Cursor::new(&header, "ptau header");
        let n8 = c.u32()?;
        if n8 as usize != N8 || c.take(N8)? != modulus_bytes::<ark_bn254::Fq>() {
            return Err(FormatError::Header(".ptau: not a BN254 (bn128) file".into()));
        }
        let power = c.u32()?;
        if !(1..=27).contains(&power) {
            return Err(FormatError::Header(format!(".ptau: power {power} outside 1..=27")));
        }
        let n = 1u64 << power;
        let (g1, g2) = (G1_BYTES as u64, G2_BYTES as u64);
        sections.expect_size(2, (2 * n - 1) * g1)?;
        sections.expect_size(3, n * g2)?;
        sections.expect_size(4, n * g1)?;
        sections.expect_size(5, n * g1)?;
        sections.expect_size(6, g2)?;
        if !sections.has(12) {
            return Err(FormatError::Header(format!("{}: not prepared for phase 2 (no section 12): run `snarkjs powersoftau prepare phase2`", path.display())));
        }
        sections.expect_size(12, (4 * n - 1) * g1)?;
        sections.expect_size(13, (2 * n - 1) * g2)?;
        sections.expect_size(14, (2 * n - 1) * g1)?;
        sections.expect_size(15, (2 * n - 1) * g1)?;
        Ok(Ptau { path: path.to_path_buf(), file, sections, power })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn g1s(&mut self, id: u32, first: u64, count: u64, what: &str) -> Result<Vec<G1Affine>, FormatError> {
        let bytes = self.sections.part(&mut self.file, id, first * G1_BYTES as u64, count * G1_BYTES as u64)?;
        read_g1s(&bytes, what)
    }

    fn g2s(&mut self, id: u32, first: u64, count: u64, what: &str) -> Result<Vec<G2Affine>, FormatError> {
        let bytes = self.sections.part(&mut self.file, id, first * G2_BYTES as u64, count * G2_BYTES as u64)?;
        read_g2s(&bytes, what)
    }

    /// `alpha G1` (section 4's first point).
    pub fn alpha_g1(&mut self) -> Result<G1Affine, FormatError> {
        let b = self.sections.part(&mut self.file, 4, 0, G1_BYTES as u64)?;
        read_g1(&b, || ".ptau alpha G1".into())
    }

    /// `beta G1` (section 5's first point).
    pub fn beta_g1(&mut self) -> Result<G1Affine, FormatError> {
        let b = self.sections.part(&mut self.file, 5, 0, G1_BYTES as u64)?;
        read_g1(&b, || ".ptau beta G1".into())
    }

    /// `beta G2` (section 6).
    pub fn beta_g2(&mut self) -> Result<G2Affine, FormatError> {
        let b = self.sections.bytes(&mut self.file, 6)?;
        read_g2(&b, || ".ptau beta G2".into())
    }

    /// `tau^i G1` for `i` in `first .. first + count`.
    pub fn tau_g1(&mut self, first: u64, count: u64) -> Result<Vec<G1Affine>, FormatError> {
        self.g1s(2, first, count, ".ptau tau G1")
    }

    fn check_domain(&self, m: u64, max_power: u32) -> Result<(), FormatError> {
        if !m.is_power_of_two() {
            return Err(FormatError::Mismatch(format!("a domain of {m} points: not a power of two")));
        }
        if m.trailing_zeros() > max_power {
            // This block holds domains up to 2^max_power, max_power - power above the ptau's power.
            let needed = m.trailing_zeros() - (max_power - self.power);
            return Err(FormatError::Mismatch(format!(
                "{}: a domain of {m} points needs a ptau of power {needed}, this one has {}",
                self.path.display(),
                self.power
            )));
        }
        Ok(())
    }

    /// `L_i(tau) G1` on the domain of `m` points (a power of two up to 2N).
    pub fn lagrange_g1(&mut self, m: u64) -> Result<Vec<G1Affine>, FormatError> {
        self.check_domain(m, self.power + 1)?;
        self.g1s(12, m - 1, m, ".ptau tau Lagrange G1")
    }

    /// `L_i(tau) G2` on the domain of `m` points (up to N).
    pub fn lagrange_g2(&mut self, m: u64) -> Result<Vec<G2Affine>, FormatError> {
        self.check_domain(m, self.power)?;
        self.g2s(13, m - 1, m, ".ptau tau Lagrange G2")
    }

    /// `alpha L_i(tau) G1` on the domain of `m` points (up to N).
    pub fn alpha_lagrange_g1(&mut self, m: u64) -> Result<Vec<G1Affine>, FormatError> {
        self.check_domain(m, self.power)?;
        self.g1s(14, m - 1, m, ".ptau alpha tau Lagrange G1")
    }

    /// `beta L_i(tau) G1` on the domain of `m` points (up to N).
    pub fn beta_lagrange_g1(&mut self, m: u64) -> Result<Vec<G1Affine>, FormatError> {
        self.check_domain(m, self.power)?;
        self.g1s(15, m - 1, m, ".ptau beta tau Lagrange G1")
    }
}

/// INSECURE, for tests and benchmarks only: a prepared ptau of 2^power whose tau, alpha and
/// beta come from a public seed, so anyone can forge proofs for keys made from it. It has the
/// layout `snarkjs powersoftau prepare phase2` writes (no contributions recorded), with the
/// same top Lagrange block: snarkjs builds the block of 2N points from the 2N - 1 powers it has,
/// leaving out `tau^(2N-1)`, and so does this.
pub fn write_insecure_test_ptau(path: &Path, power: u32, seed: u64) -> Result<(), FormatError> {
    use ark_bn254::{G1Projective, G2Projective};
    use ark_ec::scalar_mul::ScalarMul;
    use ark_ec::PrimeGroup;
    use ark_ff::{batch_inversion, FftField, Field, One, UniformRand};
    use ark_std::rand::SeedableRng;
    use rayon::prelude::*;

    use super::container::{write_atomically, Writer};
    use super::encoding::{g1s_bytes, g2s_bytes};
    use crate::Fr;

    if !(1..=27).contains(&power) {
        return Err(FormatError::Header(format!("power {power} outside 1..=27")));
    }
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let (tau, alpha, beta) = (Fr::rand(&mut rng), Fr::rand(&mut rng), Fr::rand(&mut rng));
    let n = 1usize << power;
    let powers: Vec<Fr> = {
        let mut v = Vec::with_capacity(2 * n);
        let mut x = Fr::one();
        for _ in 0..2 * n {
            v.push(x);
            x *= tau;
        }
        v
    };
    // L_i(tau) on the domain of m points: omega^i (tau^m - 1) / (m (tau - omega^i)).
    let lagrange = |m: usize| -> Vec<Fr> {
        let omega = Fr::get_root_of_unity(m as u64).expect("m <= 2^28");
        let roots: Vec<Fr> = std::iter::successors(Some(Fr::one()), |x| Some(*x * omega)).take(m).collect();
        let mut den: Vec<Fr> = roots.par_iter().map(|w| (tau - w) * Fr::from(m as u64)).collect();
        batch_inversion(&mut den);
        let num = powers[m.min(2 * n - 1)] * if m == 2 * n { tau } else { Fr::one() } - Fr::one();
        let mut out: Vec<Fr> = roots.par_iter().zip(den.par_iter()).map(|(w, d)| *w * num * d).collect();
        if m == 2 * n {
            // The block of 2N points without the missing power: minus omega^i tau^(m-1) / m.
            let top = powers[m - 1] * Fr::from(m as u64).inverse().expect("m < r");
            out.par_iter_mut().zip(roots.par_iter()).for_each(|(l, w)| *l -= *w * top);
        }
        out
    };
    let g1 = G1Projective::generator();
    let g2 = G2Projective::generator();
    let scaled = |v: &[Fr], k: Fr| -> Vec<Fr> { v.par_iter().map(|x| *x * k).collect() };
    let lag_g1: Vec<Fr> = (0..=power + 1).flat_map(|k| lagrange(1 << k)).collect();
    let lag_small: Vec<Fr> = (0..=power).flat_map(|k| lagrange(1 << k)).collect();

    let mut header = Vec::with_capacity(44);
    header.extend_from_slice(&(N8 as u32).to_le_bytes());
    header.extend_from_slice(&modulus_bytes::<ark_bn254::Fq>());
    header.extend_from_slice(&power.to_le_bytes());
    header.extend_from_slice(&power.to_le_bytes());
    let s2 = g1s_bytes(&g1.batch_mul(&powers[..2 * n - 1]));
    let s3 = g2s_bytes(&g2.batch_mul(&powers[..n]));
    let s4 = g1s_bytes(&g1.batch_mul(&scaled(&powers[..n], alpha)));
    let s5 = g1s_bytes(&g1.batch_mul(&scaled(&powers[..n], beta)));
    let s6 = g2s_bytes(&[(g2 * beta).into()]);
    let s12 = g1s_bytes(&g1.batch_mul(&lag_g1));
    let s13 = g2s_bytes(&g2.batch_mul(&lag_small));
    let s14 = g1s_bytes(&g1.batch_mul(&scaled(&lag_small, alpha)));
    let s15 = g1s_bytes(&g1.batch_mul(&scaled(&lag_small, beta)));
    write_atomically(path, |w| {
        let mut out = Writer::new(w, MAGIC, 1, 11)?;
        out.section(1, &header)?;
        for (id, bytes) in [(2, &s2), (3, &s3), (4, &s4), (5, &s5), (6, &s6)] {
            out.section(id, bytes)?;
        }
        out.section(7, &0u32.to_le_bytes())?;
        for (id, bytes) in [(12, &s12), (13, &s13), (14, &s14), (15, &s15)] {
            out.section(id, bytes)?;
        }
        out.finish().map(|_| ())
    })
}
