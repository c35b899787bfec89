//! Running one gadget alone and naming its first unsatisfied constraint.

#![allow(dead_code)]

use ark_r1cs_std::{boolean::Boolean, GR1CSVar};
use ark_relations::gr1cs::{ConstraintLayer, ConstraintSystem, ConstraintSystemRef, TracingMode};
use tracing_subscriber::layer::SubscriberExt;
use zkrollup::Fr;

/// Build a gadget in a fresh constraint system with namespaces recorded; returns the namespace
/// path of the first unsatisfied constraint (`None`: satisfied) and what `build` returned.
pub fn first_unsatisfied<T>(build: impl FnOnce(ConstraintSystemRef<Fr>) -> T) -> (Option<String>, T) {
    let subscriber = tracing_subscriber::registry().with(ConstraintLayer::new(TracingMode::OnlyConstraints));
    tracing::subscriber::with_default(subscriber, || {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let out = build(cs.clone());
        (cs.which_is_unsatisfied().unwrap(), out)
    })
}

/// Big-endian bits as bytes.
pub fn bytes(bits: &[Boolean<Fr>]) -> Vec<u8> {
    bits.chunks(8).map(|b| b.iter().fold(0u8, |acc, bit| (acc << 1) | u8::from(bit.value().unwrap()))).collect()
}
