//! The operator node's integration tests, one binary so that they run side by side (most of
//! their time is spent waiting on blocks and proofs, not computing).

mod common;

mod anvil;
mod bad_input;
mod bytecode;
mod crash;
mod dev_node;
mod fleet;
mod fleet_faults;
mod fleet_hosts;
mod l1_faults;
mod lan;
mod monitoring;
mod proxy;
mod signals;
mod stack;
mod watch;
