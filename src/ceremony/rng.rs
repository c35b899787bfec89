//! The randomness of snarkjs's phase 2, mirrored exactly (ffjavascript's ChaCha and `fromRng`):
//! a beacon must give snarkjs's key byte for byte, and `snarkjs zkey verify` recomputes each
//! contribution's G2 point from its transcript with [`hash_to_g2`].
//!
//! - The stream is ChaCha20 keyed with eight 32-bit words read big-endian from a hash, counter
//!   from zero, words used in order; a 64-bit draw is `first * 2^32 + second`, a bit is a
//!   word's low bit.
//! - A field element draws four 64-bit values (little-endian limbs), keeps 254 bits, redraws
//!   while at or above the modulus, and takes the result as its *Montgomery* form (value
//!   `v * 2^-256`).
//! - A point draws x and a bit until `x^3 + b` is a square, takes the square root whose
//!   "negative" flag (above `(p-1)/2`, on c1 or else c0 for Fq2) equals the bit, and in G2
//!   multiplies by the cofactor `2p - r`.

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::short_weierstrass::SWCurveConfig;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInt, Field, MontConfig, PrimeField, Zero};
use ark_std::rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

use crate::Fr;

/// G2's cofactor as ffjavascript multiplies by it.
const G2_COFACTOR: [u64; 4] = [0x345f2299c0f9fa8d, 0x06ceecda572a2489, 0xb85045b68181585e, 0x30644e72e131a029];

/// ffjavascript's ChaCha stream.
pub struct SnarkjsRng(ChaCha20Rng);

impl SnarkjsRng {
    /// Keyed with the first 32 bytes of `hash`, read as eight big-endian words.
    pub fn from_hash(hash: &[u8]) -> SnarkjsRng {
        let mut key = [0u8; 32];
        for i in 0..8 {
            let word = u32::from_be_bytes(hash[4 * i..4 * i + 4].try_into().expect("a 32-byte hash"));
            key[4 * i..4 * i + 4].copy_from_slice(&word.to_le_bytes());
        }
        SnarkjsRng(ChaCha20Rng::from_seed(key))
    }

    /// A beacon's stream: SHA-256 applied `2^iterations_exp` times to `beacon_hash`.
    pub fn from_beacon(beacon_hash: &[u8], iterations_exp: u32) -> SnarkjsRng {
        let mut h: Vec<u8> = beacon_hash.to_vec();
        for _ in 0..(1u128 << iterations_exp) {
            h = Sha256::digest(&h).to_vec();
        }
        SnarkjsRng::from_hash(&h)
    }

    /// A contribution's stream: blake2b-512 of 64 bytes from the operating system and the
    /// participant's text, as `snarkjs zkey contribute -e` does.
    pub fn from_entropy(entropy: &str) -> SnarkjsRng {
        use blake2::Blake2b512;
        let mut os = [0u8; 64];
        rand::rngs::OsRng.fill_bytes(&mut os);
        let mut hasher = Blake2b512::new();
        hasher.update(os);
        hasher.update(entropy.as_bytes());
        SnarkjsRng::from_hash(&hasher.finalize())
    }

    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        let high = u64::from(self.next_u32());
        (high << 32) | u64::from(self.next_u32())
    }

    fn next_bool(&mut self) -> bool {
        self.next_u32() & 1 == 1
    }

    /// A scalar, as `Fr.fromRng`.
    pub fn fr(&mut self) -> Fr {
        let v = self.raw(<ark_bn254::FrConfig as MontConfig<4>>::MODULUS);
        Fr::new_unchecked(v)
    }

    /// A base-field element, as `Fq.fromRng`.
    pub fn fq(&mut self) -> Fq {
        let v = self.raw(<ark_bn254::FqConfig as MontConfig<4>>::MODULUS);
        Fq::new_unchecked(v)
    }

    /// Four draws as limbs, 254 bits kept, redrawn while at or above `modulus`.
    fn raw(&mut self, modulus: BigInt<4>) -> BigInt<4> {
        loop {
            let mut limbs = [0u64; 4];
            for limb in &mut limbs {
                *limb = self.next_u64();
            }
            limbs[3] &= (1u64 << 62) - 1;
            let v = BigInt::new(limbs);
            if v < modulus {
                return v;
            }
        }
    }

    /// A G1 point, as `G1.fromRng`.
    pub fn g1(&mut self) -> G1Affine {
        loop {
            let x = self.fq();
            let greatest = self.next_bool();
            let rhs = x.square() * x + ark_bn254::g1::Config::COEFF_B;
            if let Some(mut y) = rhs.sqrt() {
                if fq_negative(&y) != greatest {
                    y = -y;
                }
                return G1Affine::new_unchecked(x, y);
            }
        }
    }

    /// A G2 point, as `G2.fromRng` (the cofactor cleared by multiplication).
    pub fn g2(&mut self) -> G2Affine {
        loop {
            let x = Fq2::new(self.fq(), self.fq());
            let greatest = self.next_bool();
            let rhs = x.square() * x + ark_bn254::g2::Config::COEFF_B;
            if let Some(mut y) = rhs.sqrt() {
                if fq2_negative(&y) != greatest {
                    y = -y;
                }
                let p = G2Affine::new_unchecked(x, y);
                return p.mul_bigint(G2_COFACTOR).into_affine();
            }
        }
    }
}

/// Above `(q - 1) / 2`.
fn fq_negative(x: &Fq) -> bool {
    x.into_bigint() > Fq::MODULUS_MINUS_ONE_DIV_TWO
}

/// ffjavascript's sign of an Fq2 element: c1's, or c0's when c1 is zero.
fn fq2_negative(x: &Fq2) -> bool {
    if x.c1.is_zero() {
        fq_negative(&x.c0)
    } else {
        fq_negative(&x.c1)
    }
}

/// The G2 point of a transcript hash (snarkjs's `hashToG2`).
pub fn hash_to_g2(hash: &[u8]) -> G2Affine {
    SnarkjsRng::from_hash(hash).g2()
}
