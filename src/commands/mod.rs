//! The `zkrollup` binary's commands, a module a group (moved out of `main.rs` as they are
//! touched; the library does not use them).

pub mod healthcheck;
