//! zkrollup: a zero-knowledge proving engine for a Poseidon-tree rollup (protocol v2: L1
//! deposits, new accounts and full exits, L2 transfers and withdrawals).
//!
//! This crate is the engine: the native model of the rollup (accounts, the quaternary state
//! tree, L1 requests, batch validation and application, which produces the circuit's witness),
//! the file formats, and Groth16 over the batch circuit ([`prover`]). The primitives it stands on (Poseidon, Baby JubJub, EdDSA-Poseidon, Merkle hashing,
//! the commitment) live in the `zkrollup-circuits` crate, re-exported here as [`primitives`].
//!
//! ```
//! use zkrollup::{Account, Batch, BatchParams, Request, State, Transfer};
//! use zkrollup::primitives::batch::BatchCircuit;
//! use zkrollup::primitives::eddsa::PrivateKey;
//! use zkrollup::prover::{self, snarkjs};
//!
//! // A state of depth 2 (16 slots) with one account; a batch of M = 1 L1 slot and N = 2 L2 slots.
//! let alice = PrivateKey::from_bytes([1; 32]);
//! let bob = PrivateKey::from_bytes([2; 32]);
//! let mut state = State::from_accounts(2, vec![(1, Account::new(alice.public_key(), 100, 0))]).unwrap();
//! let params = BatchParams::new(2, 7u64.into()).with_l1_slots(1).with_batch_id(1);
//! let b = bob.public_key();
//! let batch = Batch::new(vec![
//!     Transfer::signed(&alice, 1, 2, 30, 0, params.domain), // to Bob's new account
//!     Transfer::signed(&alice, 1, 0, 20, 1, params.domain), // a withdrawal to L1
//! ])
//! .with_requests(vec![Request::deposit_new(2, 5, (b.x(), b.y()), [0xB0; 20])]);
//!
//! // Validate and apply natively: the witness, the public data and the commitment.
//! let witness = state.apply_batch(&batch, &params).unwrap();
//! assert_eq!(state.account(2).unwrap().balance, 35);
//! assert_eq!(state.account(1).unwrap().balance, 50);
//!
//! // Groth16. `setup` uses OS randomness; the seeded setup here is INSECURE, for tests only.
//! let circuit = witness.circuit(2);
//! let (pk, vk) = prover::setup_insecure_dev(BatchCircuit::blank(circuit.shape()), 7).unwrap();
//! let proof = prover::prove(&pk, circuit).unwrap();
//! assert!(prover::verify(&vk, &[witness.commitment], &proof).unwrap());
//! let proof_json = snarkjs::proof_json(&proof); // what `snarkjs groth16 verify` reads
//! assert_eq!(proof_json["protocol"], "groth16");
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod account;
pub mod batch;
pub mod ceremony;
pub mod decimal;
pub mod export;
pub mod files;
pub mod genesis;
pub mod grouped;
pub mod iden3;
pub mod optimistic;
pub mod prover;
pub mod request;
pub mod state;
pub mod subgroup;
pub mod tree;
pub mod witness;
pub mod witness_codec;

pub use zkrollup_circuits as primitives;
pub use zkrollup_circuits::Fr;

pub use account::Account;
pub use batch::{Batch, BatchError, BatchParams, Party, Rule, Section, Transfer};
pub use request::{RecordError, Request, RequestKind};
pub use state::{Genesis, State, StateError};
pub use tree::{StateTree, TreeError};
pub use witness::{BatchWitness, SlotWitness};

/// The default number of L2 slots in a batch (the circuit parameter N). With
/// [`DEFAULT_L1_SLOTS`] at depth 16 the circuit fills Groth16's 2^18 domain to 91%, and the demo
/// fits every operation into one batch.
pub const DEFAULT_BATCH_SIZE: usize = 3;
/// The default number of L1 slots in a batch (the circuit parameter M): one each for a
/// DepositNew, a Deposit and a FullExit in the demo's batch.
pub const DEFAULT_L1_SLOTS: usize = 3;
/// The default depth of the state tree (4^16 = 2^32 slots).
pub const DEFAULT_DEPTH: usize = 16;
