//! Optimistic settlement (SPEC-v3): what the engine adds for `OptimisticRollup`, where batches
//! are posted without a proof and the ordinary proof of a batch's commitment answers a challenge.
//!
//! - [`sig_data`]: the signatures a post carries (`sigData`), so that a batch can be checked
//!   from L1 data alone;
//! - [`record`]: the stored batch record the contract keeps the hash of, and the payouts it
//!   credits when the batch becomes final;
//! - [`replay`]: the native model re-applying a posted batch from its L1 data, naming the slot
//!   and the rule that fails (what a watcher challenges).
//!
//! The calls that carry them are in [`crate::export::optimistic`].

pub mod record;
pub mod replay;
pub mod sig_data;

pub use record::{keccak256, payouts, StoredBatch};
pub use replay::{replay, replay_proved, PostedBatch, ReplayError};
pub use sig_data::{parse_sig_data, sig_data, SigDataError, SIG_BYTES};
