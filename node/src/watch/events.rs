//! `OptimisticRollup`'s events a watcher follows (SPEC-v3 section 3), decoded from raw logs.

use zkrollup::export::optimistic::STORED_BATCH_TUPLE;
use zkrollup::optimistic::{keccak256, StoredBatch};

use crate::l1::rpc::RawLog;

/// One event of the rollup, with where it was logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    /// The block that holds it.
    pub block: u64,
    /// The transaction that emitted it.
    pub tx: [u8; 32],
    /// What happened.
    pub event: Event,
}

/// What a watcher reads of the rollup's life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `BatchPosted`: a batch stored pending (posted, or the hybrid behind a pending batch).
    Posted(StoredBatch),
    /// `BatchSubmitted`: a batch taken with its proof and final at once (the hybrid).
    Submitted {
        /// Its id.
        batch_id: u64,
    },
    /// `BatchChallenged`.
    Challenged {
        /// The batch.
        batch_id: u64,
        /// Its record's hash.
        record_hash: [u8; 32],
        /// Who challenged.
        challenger: [u8; 20],
        /// When the response window closes (seconds).
        deadline: u64,
    },
    /// `BatchProven`.
    Proven {
        /// The batch.
        batch_id: u64,
        /// Who proved it.
        prover: [u8; 20],
    },
    /// `BatchesReverted`: batches `from_id ..= to_id` dropped.
    Reverted {
        /// The challenged batch, the first dropped.
        from_id: u64,
        /// The last dropped.
        to_id: u64,
        /// Who won the challenge.
        challenger: [u8; 20],
    },
    /// `ChallengeRefunded`.
    Refunded {
        /// The record the challenge was on.
        record_hash: [u8; 32],
    },
    /// `BatchesFinalized`: batches up to `to_id` final.
    Finalized {
        /// The last batch now final.
        to_id: u64,
    },
    /// `ExodusActivated`: no batch is posted, challenged or finalized any more.
    Exodus,
}

/// The first topic of each event followed, in the order [`decode`] tries them.
pub fn topics() -> [[u8; 32]; 8] {
    [
        keccak256(format!("BatchPosted(uint256,{STORED_BATCH_TUPLE})").as_bytes()),
        keccak256(b"BatchSubmitted(uint256,uint256,uint256)"),
        keccak256(b"BatchChallenged(uint256,bytes32,address,uint64)"),
        keccak256(b"BatchProven(uint256,address)"),
        keccak256(b"BatchesReverted(uint256,uint256,address,uint256,uint256)"),
        keccak256(b"ChallengeRefunded(bytes32,address)"),
        keccak256(b"BatchesFinalized(uint256,uint256,uint256)"),
        keccak256(b"ExodusActivated(uint256)"),
    ]
}

fn u64_of(word: &[u8]) -> Option<u64> {
    (word.len() == 32 && word[..24].iter().all(|&b| b == 0)).then(|| u64::from_be_bytes(word[24..].try_into().expect("8 bytes")))
}

fn address_of(word: &[u8; 32]) -> Option<[u8; 20]> {
    word[..12].iter().all(|&b| b == 0).then(|| word[12..].try_into().expect("20 bytes"))
}

/// A raw log as one of the events followed; None for a log that is none of them or does not
/// decode (the caller says which).
pub fn decode(log: &RawLog) -> Option<Logged> {
    let t = topics();
    let first = log.topics.first()?;
    let topic_u64 = |i: usize| log.topics.get(i).and_then(|w| u64_of(w));
    let data_u64 = |i: usize| log.data.get(32 * i..32 * i + 32).and_then(u64_of);
    let event = if *first == t[0] {
        let record = StoredBatch::abi_decode(&log.data)?;
        (topic_u64(1)? == record.batch_id).then_some(Event::Posted(record))?
    } else if *first == t[1] {
        Event::Submitted { batch_id: topic_u64(1)? }
    } else if *first == t[2] {
        Event::Challenged {
            batch_id: topic_u64(1)?,
            record_hash: *log.topics.get(2)?,
            challenger: address_of(log.topics.get(3)?)?,
            deadline: data_u64(0)?,
        }
    } else if *first == t[3] {
        Event::Proven { batch_id: topic_u64(1)?, prover: address_of(log.topics.get(2)?)? }
    } else if *first == t[4] {
        Event::Reverted { from_id: topic_u64(1)?, to_id: data_u64(0)?, challenger: address_of(log.topics.get(2)?)? }
    } else if *first == t[5] {
        Event::Refunded { record_hash: *log.topics.get(1)? }
    } else if *first == t[6] {
        Event::Finalized { to_id: data_u64(1)? }
    } else if *first == t[7] {
        Event::Exodus
    } else {
        return None;
    };
    Some(Logged { block: log.block, tx: log.tx, event })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(x: u64) -> [u8; 32] {
        let mut w = [0u8; 32];
        w[24..].copy_from_slice(&x.to_be_bytes());
        w
    }

    #[test]
    fn events_decode_and_malformed_ones_do_not() {
        let t = topics();
        let mut challenger = [0u8; 32];
        challenger[12..].fill(0xcc);
        let log = |topics: Vec<[u8; 32]>, data: Vec<u8>| RawLog { block: 5, tx: [1; 32], index: 0, topics, data };
        let challenged = log(vec![t[2], word(3), [9; 32], challenger], word(1_000).to_vec());
        assert_eq!(
            decode(&challenged).unwrap().event,
            Event::Challenged { batch_id: 3, record_hash: [9; 32], challenger: [0xcc; 20], deadline: 1_000 }
        );
        let reverted = log(vec![t[4], word(3), challenger], [word(7), word(1), word(2)].concat());
        assert_eq!(decode(&reverted).unwrap().event, Event::Reverted { from_id: 3, to_id: 7, challenger: [0xcc; 20] });
        assert_eq!(decode(&log(vec![t[6]], [word(2), word(4), word(99)].concat())).unwrap().event, Event::Finalized { to_id: 4 });
        // A record whose id disagrees with the indexed one, a short data, an address with high bytes.
        assert_eq!(decode(&log(vec![t[0], word(2)], vec![0; 320])), None);
        assert_eq!(decode(&log(vec![t[6]], word(2).to_vec())), None);
        assert_eq!(decode(&log(vec![t[3], word(1), [0xff; 32]], vec![])), None);
        assert_eq!(decode(&log(vec![[7; 32]], vec![])), None);
    }
}
