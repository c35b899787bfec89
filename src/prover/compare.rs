//! Stock ark-groth16 against the fast path on the same batch, keys and run: what
//! `zkrollup bench --compare-stock` and the prover bench report.

use std::time::{Duration, Instant};

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_snark::SNARK;
use zkrollup_circuits::batch::Shape;
use zkrollup_circuits::eddsa::PrivateKey;

use super::fast::FastProver;
use super::{verify, ProverError, ProvingKey};
use crate::{Account, Batch, BatchParams, BatchWitness, Fr, Request, State, Transfer};

/// A full batch (M DepositNew requests, N transfers, no padding) over a fresh state of 2N
/// funded accounts: the batch every benchmark proves.
pub fn sample_batch(shape: Shape) -> BatchWitness {
    let Shape { depth, l1_slots, batch_size } = shape;
    let keys: Vec<PrivateKey> = (0..2 * batch_size + l1_slots).map(|i| PrivateKey::from_bytes(seed_bytes(i))).collect();
    let accounts = keys[..2 * batch_size].iter().enumerate().map(|(i, k)| (i as u32 + 1, Account::new(k.public_key(), 1_000_000, 0)));
    let mut state = State::from_accounts(depth, accounts.collect()).expect("the depth holds 2N accounts");
    let params = BatchParams::new(batch_size, Fr::from(1u64)).with_l1_slots(l1_slots);
    let requests = keys[2 * batch_size..].iter().enumerate().map(|(i, k)| {
        let key = k.public_key();
        Request::deposit_new((2 * batch_size + i + 1) as u32, 5_000, (key.x(), key.y()), [0x11; 20])
    });
    let transfers = (0..batch_size).map(|i| {
        let from = 2 * i as u32 + 1;
        Transfer::signed(&keys[2 * i], from, from + 1, 1_000 + i as u64, 0, params.domain)
    });
    let batch = Batch::new(transfers.collect()).with_requests(requests.collect());
    state.apply_batch(&batch, &params).expect("a valid batch")
}

fn seed_bytes(i: usize) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
    b
}

/// Which provers to time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paths {
    /// Both, alternating: stock, fast, stock, fast...
    Both,
    /// ark-groth16's `Groth16::prove` only.
    Stock,
    /// The fast path only.
    Fast,
}

/// Timings of one comparison; every proof made was verified (outside the timings).
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Loading or building the fast path's matrices (once per process).
    pub matrices: Duration,
    /// One time per sample, stock path.
    pub stock: Vec<Duration>,
    /// One time per sample, fast path.
    pub fast: Vec<Duration>,
}

/// The median of `times` (the lower middle one for an even count), if any.
pub fn median(times: &[Duration]) -> Option<Duration> {
    let mut t = times.to_vec();
    t.sort();
    t.get((t.len().max(1) - 1) / 2).copied()
}

/// Prove `witness` `samples` times with each path in `paths`, alternating, verifying every proof;
/// the fast path's prover comes from `load` (its time is [`Comparison::matrices`]).
pub fn compare(
    pk: &ProvingKey,
    witness: &BatchWitness,
    depth: usize,
    samples: usize,
    paths: Paths,
    load: impl FnOnce() -> Result<FastProver, ProverError>,
) -> Result<Comparison, ProverError> {
    let t = Instant::now();
    let fast = if paths == Paths::Stock { None } else { Some(load()?) };
    let matrices = t.elapsed();
    let mut out = Comparison { matrices, stock: Vec::new(), fast: Vec::new() };
    let check = |proof| -> Result<(), ProverError> {
        if verify(&pk.vk, &[witness.commitment], &proof)? {
            Ok(())
        } else {
            Err(ProverError::Unsatisfied("the proof made does not verify".into()))
        }
    };
    for _ in 0..samples {
        if paths != Paths::Fast {
            let circuit = witness.circuit(depth);
            let t = Instant::now();
            let proof = Groth16::<Bn254>::prove(pk, circuit, &mut rand::rngs::OsRng)?;
            out.stock.push(t.elapsed());
            check(proof)?;
        }
        if let Some(fast) = &fast {
            let circuit = witness.circuit(depth);
            let t = Instant::now();
            let proof = fast.prove(pk, circuit)?;
            out.fast.push(t.elapsed());
            check(proof)?;
        }
    }
    Ok(out)
}
