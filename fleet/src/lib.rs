//! The zkrollup prover fleet: the node hands each batch's proof job to workers on any number of
//! hosts through PostgreSQL, as zkSync's prover DAL does.
//!
//! [`queue`] is the one place that speaks SQL: jobs enqueued by the node, claimed by workers
//! with `FOR UPDATE SKIP LOCKED` under a lease that a heartbeat extends, completed only by the
//! lease's holder, re-queued when a lease expires, failed after too many attempts.
//! [`migrations`] creates and upgrades the schema, once, whoever connects first. [`worker`] is
//! the `zkrollup-worker` program's loop; [`keys`] fetches and caches its proving keys by sha256.

pub mod keys;
pub mod migrations;
pub mod queue;
pub mod worker;
