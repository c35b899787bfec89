//! The most gas a `submitBatch` of a shape can cost, whatever the batch holds (audit F15): the
//! node's gas limit when the L1 node cannot estimate the call, and the check that a shape's
//! batches fit in an L1 block at all. `tests/contracts/gas_bound.rs` measures the worst batch
//! (every slot a payout to an owner never credited before) against it in revm.

use crate::primitives::batch::Shape;

// Measured in revm (Osaka) with `tests/contracts/gas_bound.rs` at N = 64, M = 16, as the gas
// limit a call needs (which the 63/64 rule puts above the gas it uses); each constant is the
// measure with about 5% of room, for larger indices and amounts than the test's.

/// The generated verifier's share of a `submitBatch`: its `verifyProof` (214,271 gas as a
/// transaction, 21,000 of which is the transaction's own: BENCHMARKS.md, "issue 12") and the
/// proof's calldata, with the 64th the caller keeps back.
pub const VERIFY_PROOF_GAS: u64 = 210_000;

/// Everything of a `submitBatch` but the verifier and the slots' contents: the transaction's
/// 21,000, the call's head, the commitment's SHA-256, the root, the counters and the event
/// (62,760 measured with every slot padding).
pub const SUBMIT_BATCH_BASE_GAS: u64 = 70_000;

/// One L2 slot at its dearest, a withdrawal paid to an owner never credited before: its
/// calldata, the owner read cold, the pending balance written from zero and the
/// `WithdrawalPending` event (26,742 measured).
pub const L2_SLOT_GAS: u64 = 28_000;

/// One L1 slot at its dearest, a FullExit paid to an owner never credited before: the 65-byte
/// record's calldata and chain step, then the credit as for a withdrawal (28,739 measured).
pub const L1_SLOT_GAS: u64 = 30_500;

/// The most gas a `submitBatch` of `shape` can use before refunds (the gas limit it needs).
pub fn submit_batch_gas_bound(shape: Shape) -> u64 {
    SUBMIT_BATCH_BASE_GAS + VERIFY_PROOF_GAS + L2_SLOT_GAS * shape.batch_size as u64 + L1_SLOT_GAS * shape.l1_slots as u64
}
