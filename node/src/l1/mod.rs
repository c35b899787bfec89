//! The L1 the node settles on, behind one trait: an in-process EVM ([`dev_chain`]) or a
//! JSON-RPC node ([`rpc`]). The node's L1 stage ([`crate::l1_stage`]) only speaks this trait.

pub mod dev_chain;
pub mod rpc;

use revm::primitives::U256;

/// Why an L1 call failed. Transient errors (a node restarting) are retried by the caller.
#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    /// The L1 node could not be reached or answered badly; try again later.
    #[error("L1 unavailable: {0}")]
    Unavailable(String),
    /// The L1 answered something the node cannot use (a malformed event, a wrong contract).
    #[error("L1: {0}")]
    Bad(String),
    /// L1 refused the node's transaction, or the node refused to sign one, for a reason the
    /// operator may have to act on (`kind`: insufficient_funds, fee_cap, nonce_too_low,
    /// underpriced, nonce_taken, ...); retried like [`L1Error::Unavailable`], and counted.
    #[error("L1 refused the transaction ({kind}): {message}")]
    Refused {
        /// What kind of refusal: a metric label.
        kind: &'static str,
        /// The L1 node's words, or the node's.
        message: String,
    },
}

/// The kind of a broadcast refusal, from the L1 node's words (geth, reth, anvil, erigon and
/// nethermind use these phrases); `None` for an answer that is no refusal of this transaction
/// (it is in the pool already).
pub fn refusal_kind(message: &str) -> Option<&'static str> {
    let m = message.to_lowercase();
    let kinds: [(&[&str], Option<&'static str>); 6] = [
        (&["already known", "already imported", "known transaction"], None),
        (&["insufficient funds"], Some("insufficient_funds")),
        (&["exceeds the configured cap", "fee cap", "feecap"], Some("fee_cap")),
        (&["nonce too low", "nonce has already been used"], Some("nonce_too_low")),
        (&["underpriced"], Some("underpriced")),
        (&["txpool is full", "pool is full"], Some("pool_full")),
    ];
    for (phrases, kind) in kinds {
        if phrases.iter().any(|p| m.contains(p)) {
            return kind;
        }
    }
    Some("other")
}

/// The head of the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Its number.
    pub number: u64,
    /// Its timestamp (seconds).
    pub timestamp: u64,
}

/// A block by number and hash: the watcher's cursor keeps both, to notice a reorg under it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockRef {
    /// Its number.
    pub number: u64,
    /// Its hash.
    pub hash: [u8; 32],
}

/// How deep in the chain a block must be before the node acts on what it holds (requests,
/// a batch's receipt, a revert): shallower blocks can still be replaced by a reorg (audit F3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finality {
    /// The L1 node's `finalized` block (on Ethereum two epochs, about 13 minutes, behind the
    /// head); [`FALLBACK_DEPTH`] blocks where the node does not know the tag.
    Finalized,
    /// This many blocks, the one that holds it included (1: its own block is enough).
    Depth(u64),
}

/// The depth used for [`Finality::Finalized`] on an L1 node that has no `finalized` tag: two
/// Ethereum epochs.
pub const FALLBACK_DEPTH: u64 = 64;

impl std::str::FromStr for Finality {
    type Err = String;
    fn from_str(s: &str) -> Result<Finality, String> {
        match s {
            "finalized" => Ok(Finality::Finalized),
            n => match n.parse::<u64>() {
                Ok(d) if d >= 1 => Ok(Finality::Depth(d)),
                _ => Err(format!("`{s}`: give `finalized` or a number of blocks, 1 or more")),
            },
        }
    }
}

impl std::fmt::Display for Finality {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finality::Finalized => f.write_str("finalized"),
            Finality::Depth(d) => write!(f, "{d}"),
        }
    }
}

/// An `L1Request` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Its queue position.
    pub k: u64,
    /// Its 65-byte record.
    pub record: Vec<u8>,
    /// The block that logged it.
    pub block: u64,
}

/// `ZKRollup`'s state as its views read it at the head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RollupView {
    /// `stateRoot`.
    pub state_root: U256,
    /// `batchCount`.
    pub batch_count: u64,
    /// `consumed`: requests taken by batches so far.
    pub consumed: u64,
    /// `requestCount`: requests queued so far.
    pub request_count: u64,
}

/// A mined transaction's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The block that holds it.
    pub block: u64,
    /// Whether it succeeded.
    pub success: bool,
    /// Gas it used.
    pub gas_used: u64,
    /// The revert data, if it reverted.
    pub revert: Vec<u8>,
}

/// A signed `submitBatch` transaction, ready to broadcast (again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTx {
    /// Its hash.
    pub hash: [u8; 32],
    /// Its bytes as broadcast (EIP-2718 for a real chain).
    pub raw: Vec<u8>,
    /// The sequencer nonce it uses (a resend reuses it, so only one can ever be mined).
    pub nonce: u64,
}

/// What the node needs of L1.
pub trait L1: Send {
    /// The head.
    fn head(&mut self) -> Result<Head, L1Error>;
    /// `L1Request` events of the rollup in blocks `from ..= to`.
    fn l1_requests(&mut self, from: u64, to: u64) -> Result<Vec<LoggedRequest>, L1Error>;
    /// The rollup's state at the head, every view read at one block.
    fn rollup(&mut self) -> Result<RollupView, L1Error>;
    /// The rollup's state as of block `block`.
    fn rollup_at(&mut self, block: u64) -> Result<RollupView, L1Error>;
    /// Block `number` as the L1 node has it now (None: not yet).
    fn block_at(&mut self, number: u64) -> Result<Option<BlockRef>, L1Error>;
    /// The newest block the L1 node calls finalized (None: it does not know the tag).
    fn finalized(&mut self) -> Result<Option<BlockRef>, L1Error>;
    /// `requestCount()` as of block `block`.
    fn request_count_at(&mut self, block: u64) -> Result<u64, L1Error>;
    /// Request `k`'s chain hash (`requestAt(k)`'s first 24 bytes; 0 for k = 0) as of `block`.
    fn request_chain_at(&mut self, k: u64, block: u64) -> Result<[u8; 24], L1Error>;
    /// When request `k` was queued (`requestAt(k)`'s timestamp, L1's clock; 0 when `block` does
    /// not hold it).
    fn request_time_at(&mut self, k: u64, block: u64) -> Result<u64, L1Error>;
    /// The sequencer's next nonce counting mined transactions only.
    fn sequencer_nonce(&mut self) -> Result<u64, L1Error>;
    /// Sign `submitBatch` (its call data) with this nonce at the current fee estimate, or, to
    /// replace the stuck transaction `replaces` at the same nonce, at 25% more than the higher
    /// of that estimate and the fees `replaces` offered.
    fn sign_batch(&mut self, calldata: &[u8], nonce: u64, replaces: Option<&SignedTx>) -> Result<SignedTx, L1Error>;
    /// Broadcast a signed transaction. One the node already has, or whose nonce is already used
    /// (by it or by a replacement), is not an error: the receipt tells what happened.
    fn broadcast(&mut self, tx: &SignedTx) -> Result<(), L1Error>;
    /// A transaction's receipt, once mined.
    fn receipt(&mut self, hash: [u8; 32]) -> Result<Option<Receipt>, L1Error>;
    /// Why the next batch must not be posted now (optimistic settlement: a challenge is open,
    /// L1 counts fewer than the node's `confirmed` batches (a revert, not yet final), or the
    /// sequencer's bond is short), or None. A rollup without challenges never holds.
    fn post_hold(&mut self, confirmed: u64) -> Result<Option<String>, L1Error> {
        let _ = confirmed;
        Ok(None)
    }
    /// Sign a transaction that does nothing at `nonce`, outbidding `replaces` there, so that a
    /// batch sent at that nonce can no longer land (after an optimistic revert).
    fn sign_cancel(&mut self, nonce: u64, replaces: &SignedTx) -> Result<SignedTx, L1Error> {
        let _ = replaces;
        Err(L1Error::Bad(format!("this L1 cannot cancel the transaction at nonce {nonce}")))
    }
}

/// Why an optimistic node must not post its next batch, from the rollup's views read at one
/// block: L1 counts fewer batches than the node's `confirmed` (a revert, followed once final), a
/// challenge is open (a batch posted now could land on a base a revert takes away: none can
/// come within a response window of a block with no challenge open), or the sequencer's bond is
/// below the least a post needs. None: post.
pub fn post_hold_reason(confirmed: u64, count: u64, open_challenges: U256, bond: U256, min_bond: U256) -> Option<String> {
    if count < confirmed {
        return Some(format!("L1 counts {count} batches, the node confirmed {confirmed}: a revert, followed once it is final"));
    }
    if !open_challenges.is_zero() {
        return Some(format!(
            "{open_challenges} challenges open: posting waits until each is proved or resolved (a batch posted now would land \
             on a base a revert can take away)"
        ));
    }
    (bond < min_bond).then(|| {
        format!(
            "the sequencer's bond is {bond} wei, below minSequencerBond {min_bond} wei: deposit with depositSequencerBond() from \
             the sequencer's key"
        )
    })
}

/// The request chain one record on: the first 24 bytes of `keccak256(previous ‖ record)`, as
/// `ZKRollup._queue` computes it.
pub fn chain_step(previous: [u8; 24], record: &[u8]) -> [u8; 24] {
    let hash = revm::primitives::keccak256([&previous[..], record].concat());
    hash.0[..24].try_into().expect("24 of 32 bytes")
}

/// `text` with every URL in it cut to its scheme, host and port: a hosted provider's API key
/// sits in the path, the query or the user part, and L1 errors reach the log and `/v1/status`.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let scheme_start = rest[..at].rfind(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c))).map_or(0, |i| i + 1);
        let end = rest[at..].find(|c: char| c.is_whitespace() || "()<>\"'`,".contains(c)).map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..scheme_start]);
        out.push_str(&redact_url(&rest[scheme_start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// One URL cut to `scheme://host[:port]` (or `<url>` when it does not parse).
pub fn redact_url(url: &str) -> String {
    match alloy::transports::http::reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{}://{h}:{p}", u.scheme()),
            (Some(h), None) => format!("{}://{h}", u.scheme()),
            _ => "<url>".into(),
        },
        Err(_) => "<url>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finality_reads_the_tag_or_a_depth() {
        assert_eq!("finalized".parse(), Ok(Finality::Finalized));
        assert_eq!("12".parse(), Ok(Finality::Depth(12)));
        assert!("0".parse::<Finality>().unwrap_err().contains("1 or more"));
        assert!("safe".parse::<Finality>().is_err());
        assert_eq!(Finality::Depth(3).to_string(), "3");
    }

    #[test]
    fn an_optimistic_post_is_held_by_a_revert_a_challenge_or_a_short_bond() {
        let (zero, one, ether) = (U256::ZERO, U256::from(1u64), U256::from(10u64).pow(U256::from(18u64)));
        assert_eq!(post_hold_reason(3, 3, zero, ether, ether), None, "nothing holds a post");
        assert_eq!(post_hold_reason(3, 5, zero, ether, ether), None, "L1 ahead of what the node confirmed: posts in flight");
        assert!(post_hold_reason(3, 2, zero, ether, ether).unwrap().contains("a revert"));
        assert!(post_hold_reason(3, 3, one, ether, ether).unwrap().contains("1 challenges open"));
        assert!(post_hold_reason(3, 3, zero, ether - one, ether).unwrap().contains("below minSequencerBond"));
        // A revert is named before the challenge that caused it.
        assert!(post_hold_reason(3, 2, one, zero, ether).unwrap().contains("a revert"));
    }

    #[test]
    fn broadcast_refusals_are_classified() {
        assert_eq!(refusal_kind("insufficient funds for gas * price + value"), Some("insufficient_funds"));
        assert_eq!(refusal_kind("tx fee (1.20 ether) exceeds the configured cap (1.00 ether)"), Some("fee_cap"));
        assert_eq!(refusal_kind("nonce too low: next nonce 6, tx nonce 5"), Some("nonce_too_low"));
        assert_eq!(refusal_kind("replacement transaction underpriced"), Some("underpriced"));
        assert_eq!(refusal_kind("already known"), None);
        assert_eq!(refusal_kind("something else"), Some("other"));
    }

    #[test]
    fn urls_lose_their_path_query_and_user() {
        let e = "error sending request for url (http://user:pw@127.0.0.1:18546/v3/SECRETKEY123?k=SECRET2)";
        assert_eq!(redact_urls(e), "error sending request for url (http://127.0.0.1:18546)");
        assert_eq!(redact_urls("https://mainnet.infura.io/v3/KEY and wss://x.example/KEY2 done"), "https://mainnet.infura.io and wss://x.example done");
        assert_eq!(redact_urls("no url here"), "no url here");
        assert_eq!(redact_urls("bad ://nothing"), "bad <url>");
    }
}
