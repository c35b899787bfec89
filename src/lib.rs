//! zkrollup: a zero-knowledge proving engine for a Poseidon-tree transfer rollup.
//!
//! This crate is the engine: the native model of the rollup (accounts, the quaternary state
//! tree, batch validation and application, which produces the circuit's witness) and the file
//! formats. The primitives it stands on (Poseidon, Baby JubJub, EdDSA-Poseidon, Merkle hashing,
//! the commitment) live in the `zkrollup-circuits` crate, re-exported here as [`primitives`].
//!
//! ```
//! use zkrollup::{Account, BatchParams, State, Transfer, Batch};
//! use zkrollup::primitives::eddsa::PrivateKey;
//!
//! let alice = PrivateKey::from_bytes([1; 32]);
//! let bob = PrivateKey::from_bytes([2; 32]);
//! let mut state = State::from_accounts(4, vec![
//!     (1, Account::new(alice.public_key(), 100, 0)),
//!     (2, Account::new(bob.public_key(), 0, 0)),
//! ]).unwrap();
//! let params = BatchParams::new(2);
//! let batch = Batch::new(vec![Transfer::signed(&alice, 1, 2, 30, 0, params.domain)]);
//! let old_root = state.root();
//! let witness = state.apply_batch(&batch, &params).unwrap();
//! assert_eq!(witness.old_root, old_root);
//! assert_eq!(state.account(2).unwrap().balance, 30);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod account;
pub mod batch;
pub mod decimal;
pub mod files;
pub mod prover;
pub mod genesis;
pub mod state;
pub mod tree;
pub mod witness;

pub use zkrollup_circuits as primitives;
pub use zkrollup_circuits::Fr;

pub use account::Account;
pub use batch::{Batch, BatchError, BatchParams, Party, Rule, Transfer};
pub use state::{State, StateError};
pub use tree::{StateTree, TreeError};
pub use witness::{BatchWitness, SlotWitness};

/// The default number of slots in a batch (the circuit parameter N): at depth 16, 3 slots fill
/// Groth16's 2^17 domain to 98.7%.
pub const DEFAULT_BATCH_SIZE: usize = 3;
/// The default depth of the state tree (4^16 = 2^32 slots).
pub const DEFAULT_DEPTH: usize = 16;
