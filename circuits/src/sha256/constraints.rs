//! The SHA-256 gadget, twin of [`super::compress`] and [`super::pad`].
//!
//! A word is 32 `Boolean`s, least significant first; rotations and shifts only re-index bits.
//! Costs per bit: a three-way XOR 2, `Ch` 1, `Maj` 2; a sum of `k` words is one field
//! combination decomposed into `32 + ceil(log2 k)` bits (that many constraints, plus one).
//! Constants (the IV, the round constants, padding) fold away, so the first block over a
//! constant state is cheaper than later ones.

use ark_r1cs_std::{boolean::Boolean, fields::fp::FpVar, fields::FieldVar, select::CondSelectGadget};
use ark_relations::gr1cs::SynthesisError;

use super::{IV, K};
use crate::Fr;

/// A 32-bit word as bits, least significant first.
pub type Word = [Boolean<Fr>; 32];

fn constant_word(x: u32) -> Word {
    std::array::from_fn(|i| Boolean::constant((x >> i) & 1 == 1))
}

fn rotr(w: &Word, n: usize) -> Word {
    std::array::from_fn(|i| w[(i + n) % 32].clone())
}

fn shr(w: &Word, n: usize) -> Word {
    std::array::from_fn(|i| if i + n < 32 { w[i + n].clone() } else { Boolean::FALSE })
}

fn xor3(a: &Word, b: &Word, c: &Word) -> Result<Word, SynthesisError> {
    let mut out = Vec::with_capacity(32);
    for i in 0..32 {
        out.push(&(&a[i] ^ &b[i]) ^ &c[i]);
    }
    Ok(out.try_into().expect("32 bits"))
}

/// `Ch(e, f, g) = e ? f : g`, one constraint per bit.
fn ch(e: &Word, f: &Word, g: &Word) -> Result<Word, SynthesisError> {
    let bits = (0..32).map(|i| Boolean::conditionally_select(&e[i], &f[i], &g[i])).collect::<Result<Vec<_>, _>>()?;
    Ok(bits.try_into().expect("32 bits"))
}

/// `Maj(a, b, c) = (a ^ b) ? c : a`, two constraints per bit.
fn maj(a: &Word, b: &Word, c: &Word) -> Result<Word, SynthesisError> {
    let bits = (0..32)
        .map(|i| Boolean::conditionally_select(&(&a[i] ^ &b[i]), &c[i], &a[i]))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(bits.try_into().expect("32 bits"))
}

fn pack(w: &Word) -> FpVar<Fr> {
    Boolean::le_bits_to_fp(w).expect("32 bits pack into a field element")
}

/// `(sum of words + constant) mod 2^32`.
fn add(words: &[&Word], constant: u32) -> Result<Word, SynthesisError> {
    let mut sum = FpVar::constant(Fr::from(constant));
    for w in words {
        sum += pack(w);
    }
    // The sum is below (k + 1) 2^32; keep 32 bits and the carries.
    let carry_bits = usize::BITS as usize - words.len().leading_zeros() as usize;
    let (bits, _) = sum.to_bits_le_with_top_bits_zero(32 + carry_bits)?;
    Ok(bits[..32].to_vec().try_into().expect("32 bits"))
}

/// The state words for SHA-256's IV, as constants.
pub fn iv() -> [Word; 8] {
    IV.map(constant_word)
}

/// One application of the compression function to a 512-bit block (bits most significant first
/// within each byte, bytes in order, as the message is written).
pub fn compress_var(state: &[Word; 8], block: &[Boolean<Fr>]) -> Result<[Word; 8], SynthesisError> {
    assert_eq!(block.len(), 512, "a block is 512 bits");
    let mut w: Vec<Word> = block.chunks(32).map(|c| std::array::from_fn(|i| c[31 - i].clone())).collect();
    for t in 16..64 {
        let s0 = xor3(&rotr(&w[t - 15], 7), &rotr(&w[t - 15], 18), &shr(&w[t - 15], 3))?;
        let s1 = xor3(&rotr(&w[t - 2], 17), &rotr(&w[t - 2], 19), &shr(&w[t - 2], 10))?;
        let next = add(&[&s1, &w[t - 7], &s0, &w[t - 16]], 0)?;
        w.push(next);
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = state.clone();
    for t in 0..64 {
        let big_s1 = xor3(&rotr(&e, 6), &rotr(&e, 11), &rotr(&e, 25))?;
        let choice = ch(&e, &f, &g)?;
        let big_s0 = xor3(&rotr(&a, 2), &rotr(&a, 13), &rotr(&a, 22))?;
        let majority = maj(&a, &b, &c)?;
        let new_e = add(&[&d, &h, &big_s1, &choice, &w[t]], K[t])?;
        let new_a = add(&[&h, &big_s1, &choice, &w[t], &big_s0, &majority], K[t])?;
        (h, g, f, e, d, c, b, a) = (g, f, e, new_e, c, b, a, new_a);
    }
    let out = [a, b, c, d, e, f, g, h];
    let mut next = Vec::with_capacity(8);
    for (s, o) in state.iter().zip(&out) {
        next.push(add(&[s, o], 0)?);
    }
    Ok(next.try_into().expect("8 words"))
}

/// SHA-256 of a message given as bits (a whole number of bytes, most significant bit first).
/// Returns the 256 digest bits in the same order.
pub fn digest_var(message: &[Boolean<Fr>]) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    assert_eq!(message.len() % 8, 0, "whole bytes");
    let len = message.len() / 8;
    let mut bits = message.to_vec();
    // Padding is public and constant: 0x80, zeros, the bit length.
    let padding = &super::pad(&vec![0u8; len]).concat()[len..];
    bits.extend(padding.iter().flat_map(|byte| (0..8).rev().map(move |i| Boolean::constant((byte >> i) & 1 == 1))));
    let mut state = iv();
    for block in bits.chunks(512) {
        state = compress_var(&state, block)?;
    }
    Ok(state.iter().flat_map(|w| w.iter().rev().cloned()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::{alloc::AllocVar, GR1CSVar};
    use ark_relations::gr1cs::ConstraintSystem;
    use sha2::{Digest, Sha256};

    fn bits_of(cs: &ark_relations::gr1cs::ConstraintSystemRef<Fr>, bytes: &[u8]) -> Vec<Boolean<Fr>> {
        bytes
            .iter()
            .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1 == 1))
            .map(|bit| Boolean::new_witness(cs.clone(), || Ok(bit)).unwrap())
            .collect()
    }

    #[test]
    fn digest_equals_sha2_for_several_lengths() {
        for len in [0usize, 3, 55, 56, 64, 96, 128] {
            let msg: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
            let cs = ConstraintSystem::<Fr>::new_ref();
            let bits = bits_of(&cs, &msg);
            let digest = digest_var(&bits).unwrap();
            let bytes: Vec<u8> = digest
                .chunks(8)
                .map(|byte| byte.iter().fold(0u8, |acc, b| (acc << 1) | b.value().unwrap() as u8))
                .collect();
            assert_eq!(bytes, Sha256::digest(&msg).to_vec(), "length {len}");
            assert!(cs.is_satisfied().unwrap(), "length {len}");
        }
    }

    #[test]
    fn a_flipped_message_bit_changes_the_digest_and_a_forced_digest_is_unsatisfiable() {
        use ark_r1cs_std::eq::EqGadget;
        let msg = b"zkrollup public data".to_vec();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let bits = bits_of(&cs, &msg);
        let digest = digest_var(&bits).unwrap();
        // Claim the digest of a different message.
        let mut other = msg.clone();
        other[0] ^= 1;
        let claimed = bits_of(&cs, &Sha256::digest(&other));
        for (d, c) in digest.iter().zip(&claimed) {
            d.enforce_equal(c).unwrap();
        }
        assert!(!cs.is_satisfied().unwrap());
    }
}
