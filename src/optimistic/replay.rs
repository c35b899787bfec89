//! The native model re-applying a posted batch from what `postBatch` put on L1 alone (SPEC-v3
//! section 4): the L1 records as consumed, the L2 slots, and the signatures of `sigData`, with
//! each sender's nonce derived from the state (a slot publishes none). What it refuses cannot be
//! proved, so a watcher challenges it; what it accepts can be, so a watcher never does.

use std::collections::HashMap;

use thiserror::Error;
use zkrollup_circuits::commitment::SLOT_BYTES;

use super::sig_data::{parse_sig_data, SigDataError};
use crate::request::{RecordError, RequestKind, RECORD_BYTES};
use crate::{Batch, BatchError, BatchParams, BatchWitness, Fr, Request, State, Transfer};

/// A batch as `postBatch` carried it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostedBatch {
    /// The root it claims.
    pub new_root: Fr,
    /// The consumed requests' records, 65 bytes each (a FullExit with the balance it pays).
    pub l1_data: Vec<u8>,
    /// N slots of 16 bytes: `from`, `to`, `amount`.
    pub l2_data: Vec<u8>,
    /// N signatures of 64 bytes (SPEC-v3 section 1).
    pub sig_data: Vec<u8>,
}

/// Why a posted batch cannot be proved, naming the slot.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ReplayError {
    /// `l1Data` is not whole records, or more of them than the batch has L1 slots.
    #[error("l1Data is {len} bytes: not whole 65-byte records for at most {l1_slots} L1 slots")]
    L1DataLength {
        /// Its length.
        len: usize,
        /// M.
        l1_slots: usize,
    },
    /// `l2Data` is not 16 bytes a slot.
    #[error("l2Data is {len} bytes; {slots} L2 slots need {expected}")]
    L2DataLength {
        /// Its length.
        len: usize,
        /// N.
        slots: usize,
        /// 16 a slot.
        expected: usize,
    },
    /// `sigData` is not 64 bytes a slot.
    #[error(transparent)]
    SigDataLength(SigDataError),
    /// An L1 record that is no request.
    #[error("L1 slot {slot}: {error}")]
    Record {
        /// The slot.
        slot: usize,
        /// What is wrong.
        error: RecordError,
    },
    /// A slot's signature bytes are no signature.
    #[error("L2 slot {slot}: {error}")]
    Signature {
        /// The slot.
        slot: usize,
        /// What is wrong.
        error: SigDataError,
    },
    /// A slot breaks a rule of SPEC-v2 sections 2-4 (a forged signature among them).
    #[error(transparent)]
    Batch(BatchError),
    /// A FullExit that pays another amount than the account's balance.
    #[error("L1 slot {slot}: the FullExit of account {index} pays {posted} gwei; its balance is {balance}")]
    ExitAmount {
        /// The slot.
        slot: usize,
        /// The account.
        index: u32,
        /// The amount posted.
        posted: u64,
        /// The balance the model has.
        balance: u64,
    },
    /// Every slot applies, to another root than the one posted.
    #[error("the posted root {posted} is not the one the batch leads to, {replayed}")]
    Root {
        /// The root posted.
        posted: Fr,
        /// The model's root after the batch.
        replayed: Fr,
    },
}

impl ReplayError {
    /// A short, stable name (for logs and metrics): the rule's name for a slot's rule.
    pub fn name(&self) -> &'static str {
        match self {
            ReplayError::L1DataLength { .. } => "l1_data_length",
            ReplayError::L2DataLength { .. } => "l2_data_length",
            ReplayError::SigDataLength(_) => "sig_data_length",
            ReplayError::Record { .. } => "bad_record",
            ReplayError::Signature { .. } => "bad_signature_bytes",
            ReplayError::Batch(e) => e.rule().map_or("batch_shape", |r| r.name()),
            ReplayError::ExitAmount { .. } => "wrong_exit_amount",
            ReplayError::Root { .. } => "wrong_root",
        }
    }
}

/// Re-apply `posted` to `state` under `params` (which name the batch's id and domain): on
/// success the state is after it and the witness is the one to prove it with; on error the
/// state is unchanged.
pub fn replay(state: &mut State, posted: &PostedBatch, params: &BatchParams) -> Result<BatchWitness, ReplayError> {
    replay_with(state, posted, params, true)
}

/// [`replay`] for a batch L1 took with its proof (the hybrid's `submitBatch`), which carries no
/// `sigData`: the proof attested the signatures, so only the other rules are checked (a watcher
/// still needs the state after it). `posted.sig_data` is not read.
pub fn replay_proved(state: &mut State, posted: &PostedBatch, params: &BatchParams) -> Result<BatchWitness, ReplayError> {
    replay_with(state, posted, params, false)
}

fn replay_with(state: &mut State, posted: &PostedBatch, params: &BatchParams, signed: bool) -> Result<BatchWitness, ReplayError> {
    let (n, m) = (params.batch_size, params.l1_slots);
    if !posted.l1_data.len().is_multiple_of(RECORD_BYTES) || posted.l1_data.len() / RECORD_BYTES > m {
        return Err(ReplayError::L1DataLength { len: posted.l1_data.len(), l1_slots: m });
    }
    if posted.l2_data.len() != SLOT_BYTES * n {
        return Err(ReplayError::L2DataLength { len: posted.l2_data.len(), slots: n, expected: SLOT_BYTES * n });
    }
    let signatures = if signed { parse_sig_data(&posted.sig_data, n).map_err(ReplayError::SigDataLength)? } else { vec![Ok(None); n] };

    let mut requests = Vec::new();
    let mut posted_exits = Vec::new();
    for (slot, record) in posted.l1_data.chunks(RECORD_BYTES).enumerate() {
        let mut r = Request::from_record(record).map_err(|error| ReplayError::Record { slot, error })?;
        if r.kind == RequestKind::FullExit {
            // The model works out what a FullExit pays; the post's amount is checked against it.
            posted_exits.push((slot, r.amount));
            r.amount = 0;
        }
        requests.push(r);
    }

    // Each sender's nonce as the slots before it leave it: L1 requests change no nonce, and a
    // DepositNew's account starts at 0.
    let mut nonces: HashMap<u32, u64> = HashMap::new();
    let mut transfers = Vec::with_capacity(n);
    for (slot, (bytes, signature)) in posted.l2_data.chunks(SLOT_BYTES).zip(signatures).enumerate() {
        let from = u32::from_be_bytes(bytes[0..4].try_into().expect("4 bytes"));
        let to = u32::from_be_bytes(bytes[4..8].try_into().expect("4 bytes"));
        let amount = u64::from_be_bytes(bytes[8..16].try_into().expect("8 bytes"));
        if from == 0 {
            // Padding: nothing to sign, and its signature bytes prove nothing either way.
            transfers.push(Transfer { from, to, amount, nonce: 0, signature: None });
            continue;
        }
        let signature = signature.map_err(|error| ReplayError::Signature { slot, error })?;
        let next = nonces.entry(from).or_insert_with(|| state.account(from).map_or(0, |a| a.nonce));
        let nonce = *next;
        *next = next.saturating_add(1);
        transfers.push(Transfer { from, to, amount, nonce, signature });
    }

    let mut after = state.clone();
    let batch = Batch::new(transfers).with_requests(requests);
    let witness = if signed { after.apply_batch(&batch, params) } else { after.apply_proved_batch(&batch, params) }.map_err(ReplayError::Batch)?;
    for (slot, posted_amount) in posted_exits {
        let proved = &witness.requests[slot];
        if proved.amount != posted_amount {
            return Err(ReplayError::ExitAmount { slot, index: proved.index, posted: posted_amount, balance: proved.amount });
        }
    }
    if witness.new_root != posted.new_root {
        return Err(ReplayError::Root { posted: posted.new_root, replayed: witness.new_root });
    }
    *state = after;
    Ok(witness)
}

#[cfg(test)]
mod tests {
    use zkrollup_circuits::eddsa::{PrivateKey, SignatureError};
    use zkrollup_circuits::request::L1_SLOT_BYTES;

    use super::*;
    use crate::export::calldata::l1_data;
    use crate::optimistic::{payouts, sig_data};
    use crate::{Account, Rule, Section};

    const N: usize = 4;
    const M: usize = 3;

    fn key(i: u8) -> PrivateKey {
        PrivateKey::from_bytes([i; 32])
    }

    fn params(batch_id: u64) -> BatchParams {
        BatchParams::new(N, Fr::from(7u64)).with_l1_slots(M).with_batch_id(batch_id)
    }

    /// Alice (1) and Bob (2), and a batch of every kind: Carol opens account 3, Bob tops up and
    /// exits, Alice pays Carol and withdraws, Carol pays Alice; one padding slot.
    fn story() -> (State, Batch) {
        let state = State::from_accounts(4, vec![(1, Account::new(key(1).public_key(), 100, 0)), (2, Account::new(key(2).public_key(), 50, 0))]).unwrap();
        let carol = key(3).public_key();
        let d = params(1).domain;
        let batch = Batch::new(vec![
            Transfer::signed(&key(1), 1, 3, 10, 0, d),
            Transfer::signed(&key(1), 1, 0, 5, 1, d),
            Transfer::signed(&key(3), 3, 1, 3, 0, d),
        ])
        .with_requests(vec![
            Request::deposit_new(3, 20, (carol.x(), carol.y()), [0xc0; 20]),
            Request::deposit(2, 5, [0xb0; 20]),
            Request::full_exit(2, [0xb1; 20]),
        ]);
        (state, batch)
    }

    /// What `postBatch` carries for a batch applied to `state`.
    fn post(state: &State, batch: &Batch, params: &BatchParams) -> (BatchWitness, PostedBatch) {
        let w = state.clone().apply_batch(batch, params).unwrap();
        let l2_start = 104 + L1_SLOT_BYTES * M;
        let posted = PostedBatch {
            new_root: w.new_root,
            l1_data: l1_data(&w.public_data, M, &batch.requests).unwrap(),
            l2_data: w.public_data[l2_start..].to_vec(),
            sig_data: sig_data(&batch.padded(N).unwrap()),
        };
        (w, posted)
    }

    #[test]
    fn an_honest_post_replays_to_the_sequencers_witness() {
        let (mut state, batch) = story();
        let (w, posted) = post(&state, &batch, &params(1));
        assert_eq!(replay(&mut state, &posted, &params(1)), Ok(w.clone()));
        assert_eq!(state.root(), w.new_root);
        // Bob's exit pays his balance after the top-up; then Alice's withdrawal.
        let expected: Vec<u8> = [(2u32, 55u64), (1, 5)].iter().flat_map(|(i, a)| [i.to_be_bytes().to_vec(), a.to_be_bytes().to_vec()].concat()).collect();
        assert_eq!(payouts(&w), expected);

        // The next batch: the nonces come from the state (Alice's is 2 now), two from one sender.
        let d = params(2).domain;
        let next = Batch::new(vec![Transfer::signed(&key(1), 1, 3, 1, 2, d), Transfer::signed(&key(1), 1, 3, 1, 3, d)]);
        let (w2, posted2) = post(&state, &next, &params(2));
        assert_eq!(replay(&mut state, &posted2, &params(2)), Ok(w2));
    }

    /// A proved batch (no `sigData`) replays to the same witness without its signatures; every
    /// other rule still holds (an overdraft is refused, the state untouched).
    #[test]
    fn a_proved_batch_replays_without_signatures_and_other_rules_hold() {
        let (mut state, batch) = story();
        let (w, posted) = post(&state, &batch, &params(1));
        let mut forged = posted.clone();
        forged.sig_data = vec![0x11; 64 * N];
        assert!(replay(&mut state.clone(), &forged, &params(1)).is_err(), "with signatures checked, garbage is refused");
        let proved = PostedBatch { sig_data: Vec::new(), ..posted.clone() };
        let mut overdraft = proved.clone();
        overdraft.l2_data[8..16].copy_from_slice(&1_000u64.to_be_bytes());
        let before = state.root();
        let refused = replay_proved(&mut state, &overdraft, &params(1)).unwrap_err();
        assert_eq!(refused.name(), "insufficient_balance", "{refused}");
        assert_eq!(state.root(), before);
        // The same witness, its transfers without signatures (which L1 never saw).
        let again = replay_proved(&mut state, &proved, &params(1)).unwrap();
        assert!((again.new_root, again.commitment, &again.public_data) == (w.new_root, w.commitment, &w.public_data));
        assert!(again.slots.iter().all(|s| s.transfer.signature.is_none()));
        assert_eq!(state.root(), w.new_root);
    }

    /// Each way a post can be wrong is refused with its slot and rule, the state untouched.
    #[test]
    fn a_post_that_cannot_be_proved_is_refused_naming_the_slot() {
        let (state, batch) = story();
        let (_, good) = post(&state, &batch, &params(1));
        let other_message = Transfer::signed(&key(1), 1, 3, 11, 0, params(1).domain);
        let cases: Vec<(&str, PostedBatch, ReplayError)> = vec![
            ("a forged transfer: another message's signature", {
                let mut p = good.clone();
                p.sig_data[..64].copy_from_slice(&sig_data(&[other_message]));
                p
            }, ReplayError::Batch(BatchError::Slot { section: Section::L2, slot: 0, rule: Rule::BadSignature(SignatureError::Mismatch) })),
            ("a real slot without its signature", {
                let mut p = good.clone();
                p.sig_data[128..192].fill(0);
                p
            }, ReplayError::Batch(BatchError::Slot { section: Section::L2, slot: 2, rule: Rule::MissingSignature })),
            ("a signature whose S is no field element", {
                let mut p = good.clone();
                p.sig_data[64 + 32..128].fill(0xff);
                p
            }, ReplayError::Signature { slot: 1, error: SigDataError::SNotInField }),
            ("an amount changed after signing", {
                let mut p = good.clone();
                p.l2_data[16 + 15] = 200; // Alice withdraws 200
                p
            }, ReplayError::Batch(BatchError::Slot { section: Section::L2, slot: 1, rule: Rule::BadSignature(SignatureError::Mismatch) })),
            ("an exit that pays nothing", {
                let mut p = good.clone();
                p.l1_data[2 * RECORD_BYTES + 5..2 * RECORD_BYTES + 13].fill(0);
                p
            }, ReplayError::ExitAmount { slot: 2, index: 2, posted: 0, balance: 55 }),
            ("a wrong root", PostedBatch { new_root: good.new_root + Fr::from(1u64), ..good.clone() }, ReplayError::Root {
                posted: good.new_root + Fr::from(1u64),
                replayed: good.new_root,
            }),
            ("sigData one byte short", {
                let mut p = good.clone();
                p.sig_data.pop();
                p
            }, ReplayError::SigDataLength(SigDataError::Length { len: 255, slots: N, expected: 256 })),
            ("an l2Data slot missing", {
                let mut p = good.clone();
                p.l2_data.truncate(48);
                p
            }, ReplayError::L2DataLength { len: 48, slots: N, expected: 64 }),
            ("more records than L1 slots", {
                let mut p = good.clone();
                p.l1_data.extend_from_slice(&Request::deposit(2, 1, [0; 20]).record());
                p
            }, ReplayError::L1DataLength { len: 4 * RECORD_BYTES, l1_slots: M }),
            ("a record of no kind", {
                let mut p = good.clone();
                p.l1_data[RECORD_BYTES] = 9;
                p
            }, ReplayError::Record { slot: 1, error: RecordError::Kind(9) }),
        ];
        for (name, posted, expected) in cases {
            let mut s = state.clone();
            assert_eq!(replay(&mut s, &posted, &params(1)), Err(expected), "{name}");
            assert_eq!(s.root(), state.root(), "{name}: the state is unchanged");
        }
    }
}
