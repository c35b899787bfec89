//! A batch witness as compact bytes, for a prover on another machine (the prover fleet's job
//! rows): the circuit's inputs (requests, leaves, Merkle paths, roots, public data), from which
//! a worker synthesizes the full assignment itself. About 20 KB at N = 3, M = 3, D = 16, where
//! the assignment is 7.8 MB.
//!
//! Layout (big-endian; a field element is its 32-byte canonical integer, refused at or above
//! the modulus): `"ZKRW"`, version 1, domain, batch id (u64), old root, new root, depth (u8),
//! M (u16) request witnesses, N (u16) slot witnesses, the public data (u32 length, bytes), the
//! commitment. Decoding checks every length, every field element, every key (on the curve,
//! `8·A != identity`) and that nothing trails.

use ark_ff::{BigInteger, PrimeField};
use zkrollup_circuits::merkle::{MerklePath, ARITY};
use zkrollup_circuits::eddsa::{PublicKey, Signature};
use zkrollup_circuits::request::{RequestKind, RequestWitness, SlotKey};
use zkrollup_circuits::transfer::LeafPreimage;

use crate::witness::{BatchWitness, SlotWitness};
use crate::{Account, Fr, Transfer};

const MAGIC: &[u8; 4] = b"ZKRW";
const VERSION: u8 = 1;

/// Why bytes are not a witness.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum WitnessCodecError {
    /// Not this format (no `ZKRW` at the start).
    #[error("not a zkrollup witness (no ZKRW magic)")]
    Magic,
    /// A version this program does not read.
    #[error("witness format version {0}; this program reads version 1")]
    Version(u8),
    /// The bytes end inside `what`.
    #[error("the witness ends inside {0}")]
    Truncated(&'static str),
    /// A field element at or above the modulus.
    #[error("{0} is not a canonical field element")]
    Field(&'static str),
    /// A value outside its type (a kind byte, a flag).
    #[error("{0} has an invalid value")]
    Value(&'static str),
    /// A public key that is not a valid Baby JubJub key.
    #[error("{0}: not a valid public key")]
    Key(&'static str),
    /// Bytes after the end.
    #[error("{0} bytes after the witness")]
    Trailing(usize),
}

struct Writer(Vec<u8>);

impl Writer {
    fn fr(&mut self, x: Fr) {
        let bytes = x.into_bigint().to_bytes_be();
        self.0.extend_from_slice(&bytes);
    }
    fn u8(&mut self, x: u8) {
        self.0.push(x);
    }
    fn u16(&mut self, x: u16) {
        self.0.extend_from_slice(&x.to_be_bytes());
    }
    fn u32(&mut self, x: u32) {
        self.0.extend_from_slice(&x.to_be_bytes());
    }
    fn u64(&mut self, x: u64) {
        self.0.extend_from_slice(&x.to_be_bytes());
    }
    fn path(&mut self, p: &MerklePath) {
        self.u64(p.index);
        for level in &p.siblings {
            for &s in level {
                self.fr(s);
            }
        }
    }
    fn account(&mut self, a: Option<Account>) {
        match a {
            None => self.u8(0),
            Some(a) => {
                self.u8(1);
                self.fr(a.pubkey.x());
                self.fr(a.pubkey.y());
                self.u64(a.balance);
                self.u64(a.nonce);
            }
        }
    }
    fn transfer(&mut self, t: &Transfer) {
        self.u32(t.from);
        self.u32(t.to);
        self.u64(t.amount);
        self.u64(t.nonce);
        match t.signature {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.fr(s.r8.0);
                self.fr(s.r8.1);
                self.fr(s.s);
            }
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WitnessCodecError> {
        if self.0.len() < n {
            return Err(WitnessCodecError::Truncated(what));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn fr(&mut self, what: &'static str) -> Result<Fr, WitnessCodecError> {
        let bytes = self.take(32, what)?;
        let x = Fr::from_be_bytes_mod_order(bytes);
        // Canonical only: the integer read back must be the bytes given.
        if x.into_bigint().to_bytes_be() != bytes {
            return Err(WitnessCodecError::Field(what));
        }
        Ok(x)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, WitnessCodecError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, WitnessCodecError> {
        Ok(u16::from_be_bytes(self.take(2, what)?.try_into().expect("2 bytes")))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, WitnessCodecError> {
        Ok(u32::from_be_bytes(self.take(4, what)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, WitnessCodecError> {
        Ok(u64::from_be_bytes(self.take(8, what)?.try_into().expect("8 bytes")))
    }
    fn flag(&mut self, what: &'static str) -> Result<bool, WitnessCodecError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(WitnessCodecError::Value(what)),
        }
    }
    fn path(&mut self, depth: usize, what: &'static str) -> Result<MerklePath, WitnessCodecError> {
        let index = self.u64(what)?;
        let mut siblings = Vec::with_capacity(depth);
        for _ in 0..depth {
            let mut level = [Fr::from(0u64); ARITY - 1];
            for s in &mut level {
                *s = self.fr(what)?;
            }
            siblings.push(level);
        }
        Ok(MerklePath { index, siblings })
    }
    fn account(&mut self, what: &'static str) -> Result<Option<Account>, WitnessCodecError> {
        if !self.flag(what)? {
            return Ok(None);
        }
        let (x, y) = (self.fr(what)?, self.fr(what)?);
        let pubkey = PublicKey::from_coordinates(x, y).map_err(|_| WitnessCodecError::Key(what))?;
        Ok(Some(Account { pubkey, balance: self.u64(what)?, nonce: self.u64(what)? }))
    }
    fn transfer(&mut self) -> Result<Transfer, WitnessCodecError> {
        let what = "a slot's transfer";
        let (from, to, amount, nonce) = (self.u32(what)?, self.u32(what)?, self.u64(what)?, self.u64(what)?);
        let signature = if self.flag(what)? {
            Some(Signature { r8: (self.fr(what)?, self.fr(what)?), s: self.fr(what)? })
        } else {
            None
        };
        Ok(Transfer { from, to, amount, nonce, signature })
    }
}

impl BatchWitness {
    /// The witness as compact bytes (module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(16 * 1024));
        w.0.extend_from_slice(MAGIC);
        w.u8(VERSION);
        w.fr(self.domain);
        w.u64(self.batch_id);
        w.fr(self.old_root);
        w.fr(self.new_root);
        let depth = self.slots.first().map(|s| s.sender_path.depth()).or(self.requests.first().map(|r| r.path.depth()));
        w.u8(depth.unwrap_or(0) as u8);
        w.u16(self.requests.len() as u16);
        for r in &self.requests {
            w.u8(r.kind.type_byte());
            w.u32(r.index);
            w.u64(r.amount);
            w.fr(r.key.x);
            w.fr(r.key.y);
            w.u8(r.key.sign as u8);
            w.fr(r.leaf.ax);
            w.fr(r.leaf.ay);
            w.u64(r.leaf.balance);
            w.u64(r.leaf.nonce);
            w.path(&r.path);
        }
        w.u16(self.slots.len() as u16);
        for s in &self.slots {
            w.transfer(&s.transfer);
            w.fr(s.root_before);
            w.account(s.sender_before);
            w.account(s.sender_after);
            w.path(&s.sender_path);
            w.fr(s.root_after_sender);
            w.account(s.receiver_before);
            w.account(s.receiver_after);
            w.path(&s.receiver_path);
            w.fr(s.root_after);
        }
        w.u32(self.public_data.len() as u32);
        w.0.extend_from_slice(&self.public_data);
        w.fr(self.commitment);
        w.0
    }

    /// A witness from [`BatchWitness::to_bytes`]'s form, every part checked (module docs).
    pub fn from_bytes(bytes: &[u8]) -> Result<BatchWitness, WitnessCodecError> {
        let mut r = Reader(bytes);
        if r.take(4, "the magic").map_err(|_| WitnessCodecError::Magic)? != MAGIC {
            return Err(WitnessCodecError::Magic);
        }
        match r.u8("the version")? {
            VERSION => {}
            v => return Err(WitnessCodecError::Version(v)),
        }
        let domain = r.fr("the domain")?;
        let batch_id = r.u64("the batch id")?;
        let old_root = r.fr("the old root")?;
        let new_root = r.fr("the new root")?;
        let depth = r.u8("the depth")? as usize;
        let m = r.u16("the request count")? as usize;
        let mut requests = Vec::with_capacity(m.min(1024));
        for _ in 0..m {
            let what = "a request witness";
            let kind = RequestKind::from_type_byte(r.u8(what)?).ok_or(WitnessCodecError::Value("a request's kind"))?;
            let (index, amount) = (r.u32(what)?, r.u64(what)?);
            let key = SlotKey { x: r.fr(what)?, y: r.fr(what)?, sign: r.flag("a request key's sign")? };
            let leaf = LeafPreimage { ax: r.fr(what)?, ay: r.fr(what)?, balance: r.u64(what)?, nonce: r.u64(what)? };
            let path = r.path(depth, what)?;
            requests.push(RequestWitness { kind, index, amount, key, leaf, path });
        }
        let n = r.u16("the slot count")? as usize;
        let mut slots = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let what = "a slot witness";
            slots.push(SlotWitness {
                transfer: r.transfer()?,
                root_before: r.fr(what)?,
                sender_before: r.account("a sender's account")?,
                sender_after: r.account("a sender's account")?,
                sender_path: r.path(depth, what)?,
                root_after_sender: r.fr(what)?,
                receiver_before: r.account("a receiver's account")?,
                receiver_after: r.account("a receiver's account")?,
                receiver_path: r.path(depth, what)?,
                root_after: r.fr(what)?,
            });
        }
        let len = r.u32("the public data's length")? as usize;
        let public_data = r.take(len, "the public data")?.to_vec();
        let commitment = r.fr("the commitment")?;
        if !r.0.is_empty() {
            return Err(WitnessCodecError::Trailing(r.0.len()));
        }
        Ok(BatchWitness { domain, batch_id, old_root, new_root, requests, slots, public_data, commitment })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::eddsa::PrivateKey;
    use crate::{Batch, BatchParams, Request, State};
    use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};

    fn key(i: u8) -> PrivateKey {
        PrivateKey::from_bytes([i; 32])
    }

    /// A batch with every kind of slot: a DepositNew, a deposit and a full exit; a transfer, a
    /// withdrawal and padding.
    fn witness() -> BatchWitness {
        let mut state = State::from_accounts(
            3,
            vec![(1, Account::new(key(1).public_key(), 100, 0)), (5, Account::new(key(5).public_key(), 7, 3))],
        )
        .unwrap();
        let params = BatchParams::new(4, Fr::from(99u64)).with_l1_slots(4).with_batch_id(12);
        let k6 = key(6).public_key();
        let requests =
            vec![Request::deposit_new(6, 30, (k6.x(), k6.y()), [6; 20]), Request::deposit(5, 2, [5; 20]), Request::full_exit(6, [6; 20])];
        let transfers = vec![Transfer::signed(&key(1), 1, 5, 60, 0, params.domain), Transfer::signed(&key(5), 5, 0, 9, 3, params.domain)];
        state.apply_batch(&Batch::new(transfers).with_requests(requests), &params).unwrap()
    }

    #[test]
    fn a_witness_round_trips_and_the_decoded_one_satisfies_the_circuit() {
        let w = witness();
        let bytes = w.to_bytes();
        let back = BatchWitness::from_bytes(&bytes).unwrap();
        assert_eq!(back, w);
        assert_eq!(back.to_bytes(), bytes);
        let cs = ConstraintSystem::<Fr>::new_ref();
        back.circuit(3).generate_constraints(cs.clone()).unwrap();
        assert!(cs.is_satisfied().unwrap());
    }

    #[test]
    fn every_truncation_and_trailing_byte_is_an_error_naming_where() {
        let bytes = witness().to_bytes();
        for end in 0..bytes.len() {
            let e = BatchWitness::from_bytes(&bytes[..end]).unwrap_err();
            assert!(matches!(e, WitnessCodecError::Truncated(_) | WitnessCodecError::Magic), "{end}: {e:?}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(BatchWitness::from_bytes(&longer), Err(WitnessCodecError::Trailing(1)));
    }

    #[test]
    fn a_bad_magic_version_field_element_flag_or_key_is_refused() {
        let bytes = witness().to_bytes();
        let with = |at: usize, patch: &[u8]| {
            let mut b = bytes.clone();
            b[at..at + patch.len()].copy_from_slice(patch);
            BatchWitness::from_bytes(&b)
        };
        assert_eq!(with(0, b"ZKRX"), Err(WitnessCodecError::Magic));
        assert_eq!(with(4, &[2]), Err(WitnessCodecError::Version(2)));
        // The domain, at or above the modulus.
        assert_eq!(with(5, &[0xff; 32]), Err(WitnessCodecError::Field("the domain")));
        let r = Fr::MODULUS.to_bytes_be();
        assert_eq!(with(5, &r), Err(WitnessCodecError::Field("the domain")));
        // The first request's kind byte (after magic, version, domain, id, roots, depth, M).
        let first_request = 4 + 1 + 32 + 8 + 32 + 32 + 1 + 2;
        assert_eq!(with(first_request, &[9]), Err(WitnessCodecError::Value("a request's kind")));
        // The last account in the witness (a receiver's, after the last slot) off the curve:
        // its y one more than the key's.
        let k5 = key(5).public_key();
        let x = k5.x().into_bigint().to_bytes_be();
        let at = bytes.windows(32).rposition(|w| w == x.as_slice()).unwrap();
        let y_plus_one = (k5.y() + Fr::from(1u64)).into_bigint().to_bytes_be();
        assert!(matches!(with(at + 32, &y_plus_one), Err(WitnessCodecError::Key(_))));
    }
}
