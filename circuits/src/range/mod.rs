//! 64-bit values (balances, nonces, amounts): their bits, natively and in-circuit.

pub mod constraints;

/// Bits of a 64-bit value.
pub const U64_BITS: usize = 64;

/// The little-endian bits of `x`, as the range-check gadget produces them.
pub fn le_bits(x: u64) -> [bool; U64_BITS] {
    std::array::from_fn(|i| (x >> i) & 1 == 1)
}
