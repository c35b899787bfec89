//! L1 requests (SPEC-v2 section 2): the records the contract queues and a batch consumes, in
//! queue order, before its L2 slots.

use zkrollup_circuits::packed_key::{pack, unpack};
use zkrollup_circuits::request::{l1_slot_bytes, L1_SLOT_BYTES};

pub use zkrollup_circuits::request::RequestKind;

use crate::Fr;

/// Bytes of an L1 record: `type (1) || index (4) || amount (8) || key (32) || addr (20)`.
pub const RECORD_BYTES: usize = 65;

/// Why bytes are not an L1 record.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    /// A record is 65 bytes.
    #[error("an L1 record is 65 bytes, not {0}")]
    Length(usize),
    /// The type byte is not 1 (DepositNew), 2 (Deposit) or 3 (FullExit).
    #[error("unknown request type {0}")]
    Kind(u8),
    /// A DepositNew's packed key does not unpack to a Baby JubJub point.
    #[error("packed key: {0}")]
    Key(String),
    /// A Deposit or FullExit with a non-zero key field.
    #[error("only a DepositNew carries a key")]
    KeyNotZero,
}

/// One L1 request as the contract queued it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// DepositNew, Deposit or FullExit (never padding).
    pub kind: RequestKind,
    /// The account's index (for a DepositNew, the one the contract assigned).
    pub index: u32,
    /// The amount in gwei; a FullExit's is 0 as queued (the engine fills in the balance).
    pub amount: u64,
    /// A DepositNew's key `(Ax, Ay)` as given on L1, unchecked until the batch is applied.
    pub pubkey: Option<(Fr, Fr)>,
    /// The L1 address that sent the request (the contract's concern; not in the circuit).
    pub addr: [u8; 20],
}

impl Request {
    /// A DepositNew of `amount` for key `(Ax, Ay)` at `index`.
    pub fn deposit_new(index: u32, amount: u64, pubkey: (Fr, Fr), addr: [u8; 20]) -> Self {
        Request { kind: RequestKind::DepositNew, index, amount, pubkey: Some(pubkey), addr }
    }

    /// A Deposit of `amount` to account `index`.
    pub fn deposit(index: u32, amount: u64, addr: [u8; 20]) -> Self {
        Request { kind: RequestKind::Deposit, index, amount, pubkey: None, addr }
    }

    /// A FullExit of account `index`, as queued (amount 0).
    pub fn full_exit(index: u32, addr: [u8; 20]) -> Self {
        Request { kind: RequestKind::FullExit, index, amount: 0, pubkey: None, addr }
    }

    /// The request a 65-byte record encodes (an `L1Request` event's `record`), or what is
    /// wrong with it: an unknown type byte, or a DepositNew key that does not unpack.
    pub fn from_record(record: &[u8]) -> Result<Request, RecordError> {
        let record: &[u8; RECORD_BYTES] = record.try_into().map_err(|_| RecordError::Length(record.len()))?;
        let index = u32::from_be_bytes(record[1..5].try_into().expect("4 bytes"));
        let amount = u64::from_be_bytes(record[5..13].try_into().expect("8 bytes"));
        let key: [u8; 32] = record[13..45].try_into().expect("32 bytes");
        let addr: [u8; 20] = record[45..].try_into().expect("20 bytes");
        let kind = RequestKind::from_type_byte(record[0])
            .filter(|&k| k != RequestKind::Padding)
            .ok_or(RecordError::Kind(record[0]))?;
        let pubkey = match kind {
            RequestKind::DepositNew => {
                let k = unpack(&key).map_err(|e| RecordError::Key(e.to_string()))?;
                Some((k.x(), k.y()))
            }
            _ if key != [0; 32] => return Err(RecordError::KeyNotZero),
            _ => None,
        };
        let r = Request { kind, index, amount, pubkey, addr };
        debug_assert_eq!(&r.record(), record);
        Ok(r)
    }

    /// The packed key: a DepositNew's, zero for every other kind.
    pub fn packed_key(&self) -> [u8; 32] {
        match (self.kind, self.pubkey) {
            (RequestKind::DepositNew, Some((x, y))) => pack(x, y),
            _ => [0; 32],
        }
    }

    /// The 65-byte record, with `amount` as given (a FullExit's is 0 as queued).
    pub fn record(&self) -> [u8; RECORD_BYTES] {
        let mut out = [0u8; RECORD_BYTES];
        out[..L1_SLOT_BYTES].copy_from_slice(&self.public_bytes(self.amount));
        out[L1_SLOT_BYTES..].copy_from_slice(&self.addr);
        out
    }

    /// The slot's 45 public-data bytes with this amount (a FullExit's proved balance).
    pub fn public_bytes(&self, amount: u64) -> [u8; L1_SLOT_BYTES] {
        l1_slot_bytes(self.kind, self.index, amount, &self.packed_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkrollup_circuits::eddsa::PrivateKey;

    #[test]
    fn records_parse_back_to_their_requests() {
        let k = PrivateKey::from_bytes([3; 32]).public_key();
        for r in [
            Request::deposit_new(7, 1_000, (k.x(), k.y()), [0xEE; 20]),
            Request::deposit(9, 5, [1; 20]),
            Request::full_exit(u32::MAX, [2; 20]),
        ] {
            assert_eq!(Request::from_record(&r.record()), Ok(r));
        }
        let mut bad = Request::deposit(9, 5, [1; 20]).record();
        assert_eq!(Request::from_record(&bad[..64]), Err(RecordError::Length(64)));
        bad[0] = 0;
        assert_eq!(Request::from_record(&bad), Err(RecordError::Kind(0)));
        bad[0] = 2;
        bad[20] = 1;
        assert_eq!(Request::from_record(&bad), Err(RecordError::KeyNotZero));
        let mut key = Request::deposit_new(7, 1, (k.x(), k.y()), [0; 20]).record();
        key[13..45].copy_from_slice(&[0xff; 32]);
        assert!(matches!(Request::from_record(&key), Err(RecordError::Key(_))));
    }

    #[test]
    fn records_are_type_index_amount_key_addr_big_endian() {
        let k = PrivateKey::from_bytes([3; 32]).public_key();
        let r = Request::deposit_new(0x0102_0304, 0x0A0B, (k.x(), k.y()), [0xEE; 20]);
        let record = r.record();
        assert_eq!(record[0], 1);
        assert_eq!(&record[1..5], &[1, 2, 3, 4]);
        assert_eq!(&record[5..13], &[0, 0, 0, 0, 0, 0, 0x0A, 0x0B]);
        assert_eq!(&record[13..45], &pack(k.x(), k.y()));
        assert_eq!(&record[45..], &[0xEE; 20]);
        assert_eq!(&record[..45], &r.public_bytes(r.amount));
        // A FullExit is queued with amount 0 and published with the proved balance; other kinds
        // carry no key, whatever the struct holds.
        let exit = Request { pubkey: Some((k.x(), k.y())), ..Request::full_exit(7, [1; 20]) };
        assert_eq!(&exit.record()[..45], &[&[3u8, 0, 0, 0, 7][..], &[0; 40]].concat()[..]);
        assert_eq!(&exit.public_bytes(99)[5..13], &99u64.to_be_bytes());
    }
}
