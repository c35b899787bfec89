//! The L1 request gadget, twin of [`super::apply_request`].
//!
//! Inputs (all witnesses; the root before comes from the previous slot):
//!
//! | input | type | bits |
//! | --- | --- | --- |
//! | kind | three exclusive booleans `new`, `deposit`, `exit` (none: padding) | 3 |
//! | `index` | slot index | `2 * depth` (so `< 4^depth`) |
//! | `amount` | u64 | 64 |
//! | key `(Ax, Ay, sign)` | DepositNew only, else zero | see [`crate::packed_key::constraints`] |
//! | the slot's leaf preimage | `Ax, Ay: Fr`, `balance, nonce: u64` | u64 by the tree's invariant |
//! | siblings | `Fr` | `3 * depth` |
//!
//! Phases: (1) the kind, index and amount; (2) padding is all zero and a real request's index is
//! not 0; (3) a DepositNew's key is recovered from its packed form; (4) the slot's leaf is in the
//! tree: 0 for a DepositNew (the slot is empty), an account's leaf for a Deposit or FullExit;
//! (5) a FullExit's amount is the balance; (6) the new leaf: `H(key, amount, 0)`,
//! `H(.., balance + amount < 2^64, ..)` or `H(.., 0, ..)`, and the root after.

use ark_r1cs_std::{alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::fp::FpVar, fields::FieldVar, GR1CSVar};
use ark_relations::{gr1cs::{ConstraintSystemRef, SynthesisError}, ns};

use super::{RequestKind, RequestWitness};
use crate::merkle::constraints::MerklePathVar;
use crate::packed_key::constraints::packed_key_var;
use crate::poseidon::Poseidon;
use crate::range::constraints::{be_bits_padded, enforce_u64};
use crate::Fr;

/// What an L1 step gives the rest of the circuit.
pub struct RequestOutput {
    /// The root after the step.
    pub root_after: FpVar<Fr>,
    /// The slot's 45 public-data bytes as 360 bits, big-endian.
    pub public_bits: Vec<Boolean<Fr>>,
    /// 1 for padding, 0 for a request (the batch checks that padding is a suffix).
    pub padding: FpVar<Fr>,
}

/// Enforce one L1 slot's step from `root_before` in a tree of `depth` levels.
pub fn request_var(
    cs: ConstraintSystemRef<Fr>,
    depth: usize,
    root_before: &FpVar<Fr>,
    w: &RequestWitness,
) -> Result<RequestOutput, SynthesisError> {
    assert_eq!(w.path.depth(), depth, "a path of the tree's depth");
    let witness = |v: Fr| FpVar::new_witness(cs.clone(), || Ok(v));
    let flag = |k: RequestKind| Boolean::new_witness(cs.clone(), || Ok(w.kind == k));

    // (1) The kind: at most one flag set.
    let (new, deposit, exit) = (flag(RequestKind::DepositNew)?, flag(RequestKind::Deposit)?, flag(RequestKind::FullExit)?);
    let (new_fp, exit_fp) = (FpVar::from(new.clone()), FpVar::from(exit.clone()));
    let existing = FpVar::from(deposit.clone()) + &exit_fp;
    let real = &new_fp + &existing;
    {
        let _ns = ns!(cs, "at most one request kind");
        (&real * (&real - FpVar::one())).enforce_equal(&FpVar::zero())?;
    }
    let pad = FpVar::one() - &real;
    let index = witness(Fr::from(w.index))?;
    let amount = witness(Fr::from(w.amount))?;
    let (index_bits, amount_bits) = {
        let _ns = ns!(cs, "index below 4^depth, amount below 2^64");
        (index.to_bits_le_with_top_bits_zero(2 * depth)?.0, enforce_u64(&amount)?)
    };

    // (2) Padding is all zero; a request's index is not the reserved slot 0.
    {
        let _ns = ns!(cs, "L1 padding is all zero");
        (&pad * &index).enforce_equal(&FpVar::zero())?;
        (&pad * &amount).enforce_equal(&FpVar::zero())?;
    }
    {
        let _ns = ns!(cs, "request index is not slot 0");
        let inverse = witness(index.value().ok().and_then(|i| ark_ff::Field::inverse(&i)).unwrap_or_default())?;
        (&index * &inverse).enforce_equal(&real)?;
        (&pad * &inverse).enforce_equal(&FpVar::zero())?;
    }

    // (3) The key, present exactly for a DepositNew.
    let key = {
        let _ns = ns!(cs, "DepositNew key recovered from its packed form");
        packed_key_var(cs.clone(), (w.key.x, w.key.y, w.key.sign), &new)?
    };

    // (4) The slot's leaf: an account for Deposit and FullExit, empty otherwise.
    let leaf = [w.leaf.ax, w.leaf.ay, Fr::from(w.leaf.balance), Fr::from(w.leaf.nonce)]
        .into_iter()
        .map(witness)
        .collect::<Result<Vec<_>, _>>()?;
    {
        let _ns = ns!(cs, "no account preimage unless Deposit or FullExit");
        let absent = FpVar::one() - &existing;
        for v in &leaf {
            (&absent * v).enforce_equal(&FpVar::zero())?;
        }
    }
    let poseidon = Poseidon::for_inputs(4).expect("4 inputs");
    let path = MerklePathVar::new_witness(cs.clone(), &w.path)?;
    {
        let _ns = ns!(cs, "L1 slot leaf in tree");
        let old_leaf = poseidon.hash_var(&leaf)? * &existing;
        path.root(&old_leaf, &index_bits)?.enforce_equal(root_before)?;
    }

    // (5) A FullExit takes exactly the balance.
    let (ax, ay, balance, nonce) = (&leaf[0], &leaf[1], &leaf[2], &leaf[3]);
    {
        let _ns = ns!(cs, "FullExit amount is the balance");
        (&exit_fp * (&amount - balance)).enforce_equal(&FpVar::zero())?;
    }

    // (6) The new leaf. A DepositNew's preimage is zero, so `ax + key.x` is its key and
    // `balance + amount` its amount; a FullExit's new balance is 0.
    let new_balance = (balance + &amount) * (FpVar::one() - &exit_fp);
    {
        let _ns = ns!(cs, "L1 balance below 2^64");
        enforce_u64(&new_balance)?;
    }
    let new_leaf = poseidon.hash_var(&[ax + &key.x, ay + &key.y, new_balance, nonce.clone()])? * &real;
    let root_after = path.root(&new_leaf, &index_bits)?;

    let mut public_bits = vec![Boolean::FALSE; 6];
    public_bits.push(&deposit | &exit);
    public_bits.push(&new | &exit);
    public_bits.extend(be_bits_padded(&index_bits, 32));
    public_bits.extend(be_bits_padded(&amount_bits, 64));
    public_bits.extend(key.bits_be);
    Ok(RequestOutput { root_after, public_bits, padding: pad })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::babyjubjub::torsion_points;
    use crate::eddsa::PrivateKey;
    use crate::merkle::{empty_roots, MerklePath};
    use crate::request::{apply_request, RequestFault, SlotKey, L1_SLOT_BYTES};
    use crate::transfer::LeafPreimage;
    use ark_relations::gr1cs::ConstraintSystem;

    const DEPTH: usize = 2;

    fn empty_path(index: u32) -> MerklePath {
        let z = empty_roots();
        MerklePath { index: u64::from(index), siblings: (0..DEPTH).map(|h| [z[h]; 3]).collect() }
    }

    /// The root of a depth-2 tree holding only `leaf` at `index`, and the witness's path.
    fn tree_with(index: u32, leaf: &LeafPreimage) -> (Fr, MerklePath) {
        let path = empty_path(index);
        (path.root(leaf.leaf()), path)
    }

    /// Whether the gadget is satisfied, the root it computes and the bytes it publishes.
    fn run(root: Fr, w: &RequestWitness) -> (bool, Fr, Vec<u8>) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let root_var = FpVar::new_witness(cs.clone(), || Ok(root)).unwrap();
        let out = request_var(cs.clone(), DEPTH, &root_var, w).unwrap();
        let bytes = out
            .public_bits
            .chunks(8)
            .map(|b| b.iter().fold(0u8, |acc, bit| (acc << 1) | u8::from(bit.value().unwrap())))
            .collect();
        (cs.is_satisfied().unwrap(), out.root_after.value().unwrap(), bytes)
    }

    /// The gadget agrees with the native twin: satisfied exactly when it applies, with its root.
    fn agree(root: Fr, w: &RequestWitness) -> Result<Fr, RequestFault> {
        let native = apply_request(DEPTH, root, w);
        let (ok, root_after, bytes) = run(root, w);
        assert_eq!(ok, native.is_ok(), "{w:?}: native {native:?}");
        assert_eq!(bytes.len(), L1_SLOT_BYTES);
        if let Ok(r) = native {
            assert_eq!(root_after, r);
            assert_eq!(bytes, w.public_bytes().to_vec());
        }
        native
    }

    fn account(seed: u8, balance: u64) -> LeafPreimage {
        let k = PrivateKey::from_bytes([seed; 32]).public_key();
        LeafPreimage { ax: k.x(), ay: k.y(), balance, nonce: 7 }
    }

    #[test]
    fn every_kind_applies_as_natively() {
        let z = empty_roots()[DEPTH];
        let key = SlotKey::of(&PrivateKey::from_bytes([1; 32]).public_key());
        let new = RequestWitness { kind: RequestKind::DepositNew, index: 5, amount: 40, key, leaf: LeafPreimage::default(), path: empty_path(5) };
        let root = agree(z, &new).unwrap();
        assert_eq!(root, empty_path(5).root(LeafPreimage { ax: key.x, ay: key.y, balance: 40, nonce: 0 }.leaf()));
        let acc = account(2, 100);
        let (root, path) = tree_with(3, &acc);
        let dep = RequestWitness { kind: RequestKind::Deposit, index: 3, amount: 11, key: SlotKey::default(), leaf: acc, path: path.clone() };
        assert_eq!(agree(root, &dep), Ok(path.root(LeafPreimage { balance: 111, ..acc }.leaf())));
        let exit = RequestWitness { kind: RequestKind::FullExit, amount: 100, ..dep.clone() };
        assert_eq!(agree(root, &exit), Ok(path.root(LeafPreimage { balance: 0, ..acc }.leaf())));
        let pad = RequestWitness::padding(empty_path(0));
        assert_eq!(agree(z, &pad), Ok(z));
        // A key outside the subgroup is accepted.
        let shifted = ark_ec::CurveGroup::into_affine(PrivateKey::from_bytes([1; 32]).public_key().point() + torsion_points()[1]);
        let shifted = SlotKey { x: shifted.x, y: shifted.y, sign: crate::babyjubjub::is_negative(shifted.x) };
        assert!(agree(z, &RequestWitness { key: shifted, ..new }).is_ok());
    }

    #[test]
    fn every_broken_rule_is_unsatisfied() {
        let z = empty_roots()[DEPTH];
        let key = SlotKey::of(&PrivateKey::from_bytes([1; 32]).public_key());
        let acc = account(2, 100);
        let (root, path) = tree_with(3, &acc);
        let new = RequestWitness { kind: RequestKind::DepositNew, index: 3, amount: 40, key, leaf: LeafPreimage::default(), path: path.clone() };
        let dep = RequestWitness { kind: RequestKind::Deposit, index: 3, amount: 11, key: SlotKey::default(), leaf: acc, path };
        let exit = RequestWitness { kind: RequestKind::FullExit, amount: 100, ..dep.clone() };
        let pad = RequestWitness::padding(empty_path(0));
        let cases: Vec<(Fr, RequestWitness, RequestFault)> = vec![
            (root, new.clone(), RequestFault::AccountExists),
            (root, RequestWitness { leaf: acc, ..new.clone() }, RequestFault::AccountExists),
            (z, RequestWitness { key: SlotKey { sign: !key.sign, ..key }, ..new.clone() }, RequestFault::BadKey),
            (z, RequestWitness { key: SlotKey { x: -key.x, ..key }, ..new.clone() }, RequestFault::BadKey),
            (z, RequestWitness { key: SlotKey { y: key.y + Fr::from(1u64), ..key }, ..new.clone() }, RequestFault::BadKey),
            (z, RequestWitness { key: SlotKey { x: Fr::from(0u64), y: Fr::from(1u64), sign: false }, ..new.clone() }, RequestFault::BadKey),
            (z, RequestWitness { key: SlotKey::of(&PrivateKey::from_bytes([1; 32]).public_key()), index: 0, path: empty_path(0), ..new.clone() }, RequestFault::ReservedIndex),
            (z, RequestWitness { leaf: LeafPreimage::default(), ..dep.clone() }, RequestFault::NoAccount),
            (z, RequestWitness { leaf: LeafPreimage::default(), amount: 0, ..exit.clone() }, RequestFault::NoAccount),
            (root, RequestWitness { amount: 99, ..exit.clone() }, RequestFault::WrongExitAmount),
            (root, RequestWitness { amount: 0, ..exit.clone() }, RequestFault::WrongExitAmount),
            (root, RequestWitness { amount: u64::MAX - 99, ..dep.clone() }, RequestFault::BalanceOverflow),
            (root, RequestWitness { key, ..dep.clone() }, RequestFault::KeyNotEmpty),
            (z, RequestWitness { amount: 1, ..pad.clone() }, RequestFault::PaddingNotEmpty),
            (z, RequestWitness { key, ..pad.clone() }, RequestFault::PaddingNotEmpty),
            (z, RequestWitness { leaf: acc, ..pad.clone() }, RequestFault::PaddingNotEmpty),
            (root, pad.clone(), RequestFault::NoAccount),
        ];
        for (root, w, fault) in cases {
            assert_eq!(agree(root, &w), Err(fault), "{w:?}");
        }
    }
}
