//! Vouchers (SPEC-channels section 2): `Voucher(uint256 channelId,uint256 cumulativeAmount)`
//! signed with EIP-712 in the domain `{name: "zkrollup PaymentChannels", version: "1", chainId,
//! verifyingContract}` by the channel's signer, as 65 bytes `r || s || v` (v 27 or 28) or
//! EIP-2098's 64 bytes, `s` in the lower half of the curve order. Signing is deterministic (RFC
//! 6979), so any EIP-712 signer makes the same bytes for the same key and voucher.

use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use alloy::sol_types::{Eip712Domain, SolStruct};

alloy::sol! {
    /// A voucher: the recipient may have `cumulativeAmount` wei in total from channel
    /// `channelId`.
    #[derive(Debug, PartialEq, Eq)]
    struct Voucher {
        uint256 channelId;
        uint256 cumulativeAmount;
    }
}

/// The EIP-712 domain's name.
pub const DOMAIN_NAME: &str = "zkrollup PaymentChannels";
/// The EIP-712 domain's version.
pub const DOMAIN_VERSION: &str = "1";

/// secp256k1's order halved: a larger `s` is the malleable twin of a valid signature.
const HALF_ORDER: U256 = U256::from_be_slice(&[
    0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x5D, 0x57, 0x6E, 0x73,
    0x57, 0xA4, 0x50, 0x1D, 0xDF, 0xE9, 0x2F, 0x46, 0x68, 0x1B, 0x20, 0xA0,
]);

/// The EIP-712 domain of the contract at `contract` on chain `chain_id`.
pub fn domain(chain_id: u64, contract: Address) -> Eip712Domain {
    Eip712Domain::new(
        Some(DOMAIN_NAME.into()),
        Some(DOMAIN_VERSION.into()),
        Some(U256::from(chain_id)),
        Some(contract),
        None,
    )
}

/// The digest a signer signs for `voucher` in `domain` (the contract's `voucherDigest`).
pub fn digest(domain: &Eip712Domain, voucher: &Voucher) -> B256 {
    voucher.eip712_signing_hash(domain)
}

/// Why a voucher's signature is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VoucherError {
    /// Neither 65 nor 64 bytes.
    #[error("a signature is 65 bytes (r, s, v) or 64 (EIP-2098), not {0}")]
    Length(usize),
    /// A 65-byte signature whose `v` is not 27 or 28.
    #[error("v is {0}, not 27 or 28")]
    BadV(u8),
    /// `s` in the upper half of the curve order (the malleable twin).
    #[error("s is in the upper half of the curve order")]
    HighS,
    /// No key recovers from it.
    #[error("no key recovers from the signature")]
    Unrecoverable,
    /// Another key signed it.
    #[error("signed by {got}, not the channel's signer {expected}")]
    WrongSigner {
        /// The channel's signer.
        expected: Address,
        /// Who signed.
        got: Address,
    },
}

/// Sign `voucher` in `domain`: 65 bytes `r || s || v`, `s` low, `v` 27 or 28.
pub fn sign_voucher(key: &PrivateKeySigner, domain: &Eip712Domain, voucher: &Voucher) -> [u8; 65] {
    let sig = key.sign_hash_sync(&digest(domain, voucher)).expect("a local key signs any digest");
    sig.as_bytes()
}

/// The 64-byte EIP-2098 form of a 65-byte signature.
pub fn compact(signature: &[u8; 65]) -> Result<[u8; 64], VoucherError> {
    let (r, s, v) = split(signature)?;
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(r.as_slice());
    out[32..].copy_from_slice(s.as_slice());
    if v == 28 {
        out[32] |= 0x80;
    }
    Ok(out)
}

/// `r`, `s` and `v` of a 65- or 64-byte signature, with the contract's checks on `v` and `s`.
fn split(signature: &[u8]) -> Result<(B256, B256, u8), VoucherError> {
    let (r, s, v) = match signature.len() {
        65 => (B256::from_slice(&signature[..32]), B256::from_slice(&signature[32..64]), signature[64]),
        64 => {
            let mut s = B256::from_slice(&signature[32..]);
            let v = 27 + (s[0] >> 7);
            s[0] &= 0x7f;
            (B256::from_slice(&signature[..32]), s, v)
        }
        n => return Err(VoucherError::Length(n)),
    };
    if v != 27 && v != 28 {
        return Err(VoucherError::BadV(v));
    }
    if U256::from_be_bytes(s.0) > HALF_ORDER {
        return Err(VoucherError::HighS);
    }
    Ok((r, s, v))
}

/// Who signed `voucher` in `domain` with `signature` (65 or 64 bytes), refusing what the
/// contract refuses.
pub fn recover_signer(domain: &Eip712Domain, voucher: &Voucher, signature: &[u8]) -> Result<Address, VoucherError> {
    let (r, s, v) = split(signature)?;
    let sig = alloy::primitives::Signature::new(U256::from_be_bytes(r.0), U256::from_be_bytes(s.0), v == 28);
    let got = sig.recover_address_from_prehash(&digest(domain, voucher)).map_err(|_| VoucherError::Unrecoverable)?;
    if got == Address::ZERO {
        return Err(VoucherError::Unrecoverable);
    }
    Ok(got)
}

/// Check that `expected` signed `voucher` in `domain`.
pub fn verify_voucher(domain: &Eip712Domain, voucher: &Voucher, signature: &[u8], expected: Address) -> Result<(), VoucherError> {
    match recover_signer(domain, voucher, signature)? {
        got if got == expected => Ok(()),
        got => Err(VoucherError::WrongSigner { expected, got }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> PrivateKeySigner {
        PrivateKeySigner::from_bytes(&B256::repeat_byte(byte)).unwrap()
    }

    fn voucher(id: u64, amount: u64) -> Voucher {
        Voucher { channelId: U256::from(id), cumulativeAmount: U256::from(amount) }
    }

    #[test]
    fn a_signed_voucher_verifies_in_both_forms_and_nowhere_else() {
        let d = domain(1, Address::repeat_byte(0xcc));
        let k = key(7);
        let sig = sign_voucher(&k, &d, &voucher(1, 100));
        assert_eq!(sign_voucher(&k, &d, &voucher(1, 100)), sig, "deterministic");
        assert!(matches!(sig[64], 27 | 28));
        verify_voucher(&d, &voucher(1, 100), &sig, k.address()).unwrap();
        verify_voucher(&d, &voucher(1, 100), &compact(&sig).unwrap(), k.address()).unwrap();
        let other = |d: &Eip712Domain, v: &Voucher| matches!(verify_voucher(d, v, &sig, k.address()), Err(VoucherError::WrongSigner { .. }));
        assert!(other(&d, &voucher(2, 100)), "another channel");
        assert!(other(&d, &voucher(1, 101)), "another amount");
        assert!(other(&domain(2, Address::repeat_byte(0xcc)), &voucher(1, 100)), "another chain");
        assert!(other(&domain(1, Address::repeat_byte(0xcd)), &voucher(1, 100)), "another contract");
        assert_eq!(
            verify_voucher(&d, &voucher(1, 100), &sig, key(8).address()),
            Err(VoucherError::WrongSigner { expected: key(8).address(), got: k.address() })
        );
    }

    #[test]
    fn malleable_and_malformed_signatures_are_refused() {
        let d = domain(1, Address::repeat_byte(0xcc));
        let v = voucher(3, 5);
        let sig = sign_voucher(&key(9), &d, &v);
        // The high-s twin: s' = n - s, v flipped.
        let n = U256::from_str_radix("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", 16).unwrap();
        let s = U256::from_be_slice(&sig[32..64]);
        let mut twin = sig;
        twin[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
        twin[64] = if sig[64] == 27 { 28 } else { 27 };
        assert_eq!(verify_voucher(&d, &v, &twin, key(9).address()), Err(VoucherError::HighS));
        let mut bad_v = sig;
        bad_v[64] = 1;
        assert_eq!(verify_voucher(&d, &v, &bad_v, key(9).address()), Err(VoucherError::BadV(1)));
        assert_eq!(verify_voucher(&d, &v, &sig[..63], key(9).address()), Err(VoucherError::Length(63)));
        assert_eq!(verify_voucher(&d, &v, &[0u8; 65][..], key(9).address()), Err(VoucherError::BadV(0)));
        let mut zero = [0u8; 65];
        zero[64] = 27;
        assert_eq!(verify_voucher(&d, &v, &zero, key(9).address()), Err(VoucherError::Unrecoverable));
    }
}
