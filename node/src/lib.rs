//! The zkrollup operator node: takes signed transfers over HTTP, batches them with the L1
//! requests due, proves each batch and settles it on L1, every step a transaction in one
//! crash-safe store.
//!
//! The pipeline, one stage per module, each resumable from the store:
//! [`api`] (HTTP, signature checks; served by [`http`] within limits) → [`sequencer`] (mempool against the pending state; the
//! batcher) → [`prover`] (witness, Groth16, check) → [`l1_stage`] (request watcher, `submitBatch`,
//! confirmations) over the [`l1::L1`] trait, with [`l1::dev_chain`] as the in-process L1 of dev
//! mode. [`pace`] holds the batcher back when a batch could not land within the contract's
//! maturity; [`rewind`] re-plans when one cannot land. [`store`] is the one durable store;
//! [`node`] starts everything; [`deploy`] puts a rollup on a real L1. Optimistic settlement adds
//! [`watch`] (the watcher, and the node's settler) and, on the dev chain, [`dev_settler`].
//!
//! The engine (`zkrollup`) stays a library without an async runtime; this crate adds tokio.

pub mod api;
pub mod contracts;
pub mod deploy;
pub mod dev_api;
pub mod dev_settler;
pub mod fleet_stage;
pub mod health;
pub mod http;
pub mod l1;
pub mod l1_stage;
pub mod metrics;
pub mod node;
pub mod pace;
pub mod prover;
pub mod rate_limit;
pub mod rewind;
pub mod secrets;
pub mod sequencer;
pub mod store;
pub mod watch;
