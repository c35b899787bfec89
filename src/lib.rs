//! zkrollup: a zero-knowledge proving engine for a Poseidon-tree transfer rollup.
//!
//! This crate is the engine: the native model of the rollup (accounts, the quaternary state
//! tree, batch validation and application, which produces the circuit's witness), the file
//! formats, and Groth16 over the batch circuit ([`prover`]). The primitives it stands on (Poseidon, Baby JubJub, EdDSA-Poseidon, Merkle hashing,
//! the commitment) live in the `zkrollup-circuits` crate, re-exported here as [`primitives`].
//!
//! ```
//! use zkrollup::{Account, Batch, BatchParams, State, Transfer};
//! use zkrollup::primitives::batch::BatchCircuit;
//! use zkrollup::primitives::eddsa::PrivateKey;
//! use zkrollup::prover::{self, snarkjs};
//!
//! // A state of depth 2 (16 slots) with two accounts, and a batch of N = 1 transfer.
//! let alice = PrivateKey::from_bytes([1; 32]);
//! let bob = PrivateKey::from_bytes([2; 32]);
//! let mut state = State::from_accounts(2, vec![
//!     (1, Account::new(alice.public_key(), 100, 0)),
//!     (2, Account::new(bob.public_key(), 0, 0)),
//! ]).unwrap();
//! let params = BatchParams::new(1);
//! let batch = Batch::new(vec![Transfer::signed(&alice, 1, 2, 30, 0, params.domain)]);
//!
//! // Validate and apply natively: the witness, the public data and the commitment.
//! let witness = state.apply_batch(&batch, &params).unwrap();
//! assert_eq!(state.account(2).unwrap().balance, 30);
//!
//! // Groth16. `setup` uses OS randomness; the seeded setup here is INSECURE, for tests only.
//! let (pk, vk) = prover::setup_insecure_dev(BatchCircuit::blank(2, 1, params.domain), 7).unwrap();
//! let proof = prover::prove(&pk, witness.circuit(2)).unwrap();
//! assert!(prover::verify(&vk, &[witness.commitment], &proof).unwrap());
//! let proof_json = snarkjs::proof_json(&proof); // what `snarkjs groth16 verify` reads
//! assert_eq!(proof_json["protocol"], "groth16");
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod account;
pub mod batch;
pub mod decimal;
pub mod export;
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
