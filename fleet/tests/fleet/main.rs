//! The prover fleet's tests, one binary: the queue against a real PostgreSQL that the tests
//! start themselves (`initdb` into a temporary folder, on loopback).

mod pg;
mod queue;
