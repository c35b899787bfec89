//! snarkjs's Groth16 JSON (`verification_key.json`, `proof.json`, `public.json`).
//!
//! Points are projective triples of decimal strings with `z = 1` (`["0", "1", "0"]` for the
//! identity); G2 coordinates are `[c0, c1]`. Parsing refuses values at or above the field
//! modulus, points off their curve and G2 points outside the prime-order subgroup.

use ark_bn254::{Bn254, Fq, Fq2, G1Affine, G2Affine};
use ark_ec::{pairing::Pairing, AffineRepr};
use ark_ff::Zero;
use serde_json::{json, Value};
use thiserror::Error;

use super::{Proof, VerifyingKey};
use crate::decimal::{field_to_decimal, parse_field, DecimalError};
use crate::Fr;

/// Why a snarkjs JSON file was refused.
#[derive(Debug, Error)]
pub enum JsonError {
    /// Not JSON.
    #[error("malformed JSON: {0}")]
    Syntax(#[from] serde_json::Error),
    /// A value of the wrong shape.
    #[error("{field}: expected {expected}")]
    Shape {
        /// Where.
        field: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A number that is not a canonical field element.
    #[error("{field}: {problem}")]
    Value {
        /// Where.
        field: String,
        /// What is wrong.
        problem: DecimalError,
    },
    /// A point off its curve.
    #[error("{field}: point is not on the curve")]
    NotOnCurve {
        /// Where.
        field: String,
    },
    /// A G2 point outside the prime-order subgroup.
    #[error("{field}: point is not in the prime-order subgroup")]
    NotInSubgroup {
        /// Where.
        field: String,
    },
}

fn dec<F: ark_ff::PrimeField>(x: F) -> Value {
    Value::String(field_to_decimal(x))
}

fn fq2(x: Fq2) -> Value {
    json!([dec(x.c0), dec(x.c1)])
}

fn g1(p: G1Affine) -> Value {
    if p.is_zero() {
        json!(["0", "1", "0"])
    } else {
        json!([dec(p.x), dec(p.y), "1"])
    }
}

fn g2(p: G2Affine) -> Value {
    if p.is_zero() {
        json!([["0", "0"], ["1", "0"], ["0", "0"]])
    } else {
        json!([fq2(p.x), fq2(p.y), ["1", "0"]])
    }
}

/// `verification_key.json` for `vk`.
pub fn verification_key_json(vk: &VerifyingKey) -> Value {
    let ab = Bn254::pairing(vk.alpha_g1, vk.beta_g2).0;
    let fq6 = |x: ark_bn254::Fq6| json!([fq2(x.c0), fq2(x.c1), fq2(x.c2)]);
    json!({
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": vk.gamma_abc_g1.len() - 1,
        "vk_alpha_1": g1(vk.alpha_g1),
        "vk_beta_2": g2(vk.beta_g2),
        "vk_gamma_2": g2(vk.gamma_g2),
        "vk_delta_2": g2(vk.delta_g2),
        "vk_alphabeta_12": [fq6(ab.c0), fq6(ab.c1)],
        "IC": vk.gamma_abc_g1.iter().map(|p| g1(*p)).collect::<Vec<_>>(),
    })
}

/// `proof.json` for `proof`.
pub fn proof_json(proof: &Proof) -> Value {
    json!({"pi_a": g1(proof.a), "pi_b": g2(proof.b), "pi_c": g1(proof.c), "protocol": "groth16", "curve": "bn128"})
}

/// `public.json` for the public inputs.
pub fn public_json(inputs: &[Fr]) -> Value {
    Value::Array(inputs.iter().map(|x| dec(*x)).collect())
}

fn strings<'a>(v: &'a Value, n: usize, field: &str, expected: &'static str) -> Result<Vec<&'a str>, JsonError> {
    let shape = || JsonError::Shape { field: field.to_string(), expected };
    let items = v.as_array().filter(|a| a.len() == n).ok_or_else(shape)?;
    items.iter().map(|x| x.as_str().ok_or_else(shape)).collect()
}

fn number<F: ark_ff::PrimeField<BigInt = ark_ff::BigInt<4>>>(s: &str, field: String) -> Result<F, JsonError> {
    parse_field(s).map_err(|problem| JsonError::Value { field, problem })
}

fn parse_g1(v: &Value, field: &str) -> Result<G1Affine, JsonError> {
    let [x, y, z] = strings(v, 3, field, "[x, y, z] of 3 decimal strings")?[..] else { unreachable!() };
    let (x, y): (Fq, Fq) = (number(x, format!("{field}[0]"))?, number(y, format!("{field}[1]"))?);
    match z {
        "1" => {}
        "0" if x.is_zero() && y == ark_ff::One::one() => return Ok(G1Affine::zero()),
        _ => return Err(JsonError::Shape { field: field.to_string(), expected: "z = \"1\" (or [\"0\", \"1\", \"0\"])" }),
    }
    let p = G1Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(JsonError::NotOnCurve { field: field.to_string() });
    }
    Ok(p)
}

fn parse_g2(v: &Value, field: &str) -> Result<G2Affine, JsonError> {
    let shape = || JsonError::Shape { field: field.to_string(), expected: "[[x0, x1], [y0, y1], [z0, z1]]" };
    let rows = v.as_array().filter(|a| a.len() == 3).ok_or_else(shape)?;
    let mut c = Vec::with_capacity(3);
    for (i, row) in rows.iter().enumerate() {
        let sub = format!("{field}[{i}]");
        let [a, b] = strings(row, 2, &sub, "[c0, c1] of 2 decimal strings")?[..] else { unreachable!() };
        c.push(Fq2::new(number(a, format!("{sub}[0]"))?, number(b, format!("{sub}[1]"))?));
    }
    let (x, y, z) = (c[0], c[1], c[2]);
    if z.is_zero() && x.is_zero() && y == ark_ff::One::one() {
        return Ok(G2Affine::zero());
    }
    if z != ark_ff::One::one() {
        return Err(shape());
    }
    let p = G2Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(JsonError::NotOnCurve { field: field.to_string() });
    }
    if !crate::subgroup::in_g2(&p) {
        return Err(JsonError::NotInSubgroup { field: field.to_string() });
    }
    Ok(p)
}

/// Parse `proof.json`.
pub fn parse_proof(text: &str) -> Result<Proof, JsonError> {
    let v: Value = serde_json::from_str(text)?;
    Ok(Proof { a: parse_g1(&v["pi_a"], "pi_a")?, b: parse_g2(&v["pi_b"], "pi_b")?, c: parse_g1(&v["pi_c"], "pi_c")? })
}

/// Parse `public.json`.
pub fn parse_public(text: &str) -> Result<Vec<Fr>, JsonError> {
    let v: Value = serde_json::from_str(text)?;
    let items = v.as_array().ok_or(JsonError::Shape { field: "public".into(), expected: "an array of decimal strings" })?;
    items
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let s = x.as_str().ok_or(JsonError::Shape { field: format!("public[{i}]"), expected: "a decimal string" })?;
            number(s, format!("public[{i}]"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prover::{prove, setup_insecure_dev, PreimageCircuit};

    fn proof() -> Proof {
        let c = PreimageCircuit::new([Fr::from(5u64), Fr::from(6u64)]);
        let (pk, _) = setup_insecure_dev(c, 1).unwrap();
        prove(&pk, c).unwrap()
    }

    #[test]
    fn proof_and_public_round_trip() {
        let p = proof();
        assert_eq!(parse_proof(&proof_json(&p).to_string()).unwrap(), p);
        let inputs = vec![Fr::from(9u64), -Fr::from(1u64)];
        assert_eq!(parse_public(&public_json(&inputs).to_string()).unwrap(), inputs);
    }

    #[test]
    fn bad_proofs_are_refused_with_the_field_named() {
        let good = proof_json(&proof());
        let mut off = good.clone();
        off["pi_a"][1] = json!("5");
        assert!(parse_proof(&off.to_string()).unwrap_err().to_string().starts_with("pi_a: point is not on the curve"));
        let mut big = good.clone();
        big["pi_c"][0] = json!("21888242871839275222246405745257275088696311157297823662689037894645226208583");
        assert!(parse_proof(&big.to_string()).unwrap_err().to_string().starts_with("pi_c[0]: "));
        let mut short = good.clone();
        short["pi_b"] = json!([["1", "2"], ["3", "4"]]);
        assert!(parse_proof(&short.to_string()).unwrap_err().to_string().starts_with("pi_b: expected"));
        assert!(parse_public("[\"1\", 2]").unwrap_err().to_string().starts_with("public[1]"));
        assert!(parse_proof("{").is_err());
    }
}
