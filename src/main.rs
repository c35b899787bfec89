//! `zkrollup`: the command line over the zkrollup library.

use std::path::{Path, PathBuf};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

mod commands;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use zkrollup::decimal::{fr_to_decimal, parse_fr};
use zkrollup::files::{
    parse_address, parse_batch, parse_requests, parse_state, read, state_to_json, transfer_entry, write_all_atomic,
};
use zkrollup::export::calldata::{
    deposit_calldata, deposit_new_calldata, exit_calldata, request_full_exit_calldata, submit_batch_calldata,
    withdraw_pending_calldata,
};
use zkrollup::export::solidity::render_verifier;
use zkrollup::prover::compare::{compare, median, sample_batch, Paths};
use zkrollup::iden3::ptau::Ptau;
use zkrollup::iden3::r1cs::R1cs;
use zkrollup::iden3::zkey::Zkey;
use zkrollup::primitives::batch::BatchCircuit;
use zkrollup::prover::fast::FastProver;
use zkrollup::prover::zkey::ZkeyProver;
use zkrollup::prover::{self, bundle, snarkjs};
use zkrollup::genesis::insecure_public_scalar_keys;
use zkrollup::primitives::batch::Shape;
use zkrollup::primitives::eddsa::PrivateKey;
use zkrollup::{
    Account, Batch, BatchParams, Fr, Request, State, Transfer, DEFAULT_BATCH_SIZE, DEFAULT_DEPTH, DEFAULT_L1_SLOTS,
};

#[derive(Parser)]
#[command(name = "zkrollup", version, about = "Zero-knowledge proving engine for a Poseidon-tree transfer rollup")]
#[command(long_about = "Zero-knowledge proving engine for a Poseidon-tree transfer rollup.\n\n\
    Accounts live in a quaternary Poseidon Merkle tree. A batch applies up to M L1 requests \
    (deposits, new accounts, full exits) and then N L2 transfers and withdrawals, signed with \
    EdDSA-Poseidon over Baby JubJub (circomlibjs-compatible). Files are the JSON of the protocol \
    spec (v2): decimal strings for field elements and 64-bit values.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the operator node: HTTP API, mempool, batcher, prover and L1 submitter.
    ///
    /// The node is its own program, `zkrollup-node`, built beside this one (`cargo build
    /// --release --workspace`), so that this engine carries no async runtime; `zkrollup node ARGS`
    /// runs it with ARGS. `zkrollup node --help` lists them.
    #[command(disable_help_flag = true)]
    Node {
        /// The node's arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Watch an OptimisticRollup: re-apply every posted batch, challenge what cannot be proved,
    /// prove challenged batches that can.
    ///
    /// The watcher is part of the node's program (`zkrollup-node watch`, on the node's L1
    /// parts); `zkrollup watch ARGS` runs it with ARGS. `zkrollup watch --help` lists them.
    #[command(disable_help_flag = true)]
    Watch {
        /// The watcher's arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Payment channels (SPEC-channels) on a real L1: deploy, open, pay, accept, claim, ...
    ///
    /// The channels' program is `zkrollup-channel` (crate `zkrollup-channels`), built beside this
    /// one; `zkrollup channel ARGS` runs it with ARGS. `zkrollup channel --help` lists them.
    #[command(disable_help_flag = true)]
    Channel {
        /// The channels' program's arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Check a service's health: GET URL over plain HTTP; exit 0 on a 2xx answer within the
    /// timeout, 1 otherwise with what was met (a container's HEALTHCHECK without curl).
    Healthcheck {
        /// The URL, http://HOST[:PORT][/PATH] (the node's /readyz, say).
        url: String,
        /// Milliseconds for the whole check.
        #[arg(long, default_value_t = 3_000)]
        timeout_ms: u64,
    },
    /// Run a prover of the fleet: claims proof jobs from the node's PostgreSQL queue and proves
    /// them.
    ///
    /// The worker is its own program, `zkrollup-worker` (crate `zkrollup-fleet`), built beside
    /// this one; `zkrollup worker ARGS` runs it with ARGS. `zkrollup worker --help` lists them.
    #[command(disable_help_flag = true)]
    Worker {
        /// The worker's arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Validate a batch against a state and apply it without proving.
    ///
    /// Writes OUT/state.json (the new state) and OUT/public_data.hex (the batch's public data,
    /// lowercase hex without prefix), then prints the old root, the new root and the commitment.
    /// An invalid batch exits non-zero with one line naming the section, slot and rule, and
    /// writes nothing.
    Apply {
        /// The state file.
        #[arg(long)]
        state: PathBuf,
        #[command(flatten)]
        inputs: BatchInputs,
        /// N, the number of L2 slots of the circuit the batch is for.
        #[arg(long, default_value_t = DEFAULT_BATCH_SIZE)]
        batch_size: usize,
        /// M, the number of L1 slots of the circuit the batch is for.
        #[arg(long, default_value_t = DEFAULT_L1_SLOTS)]
        l1_slots: usize,
        /// Output folder (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print a genesis state's root, next index and total (the `ZKRollup` constructor's
    /// genesisRoot, genesisNextIndex and genesisTotal); refuses a state with gaps.
    Genesis {
        /// The state file.
        #[arg(long)]
        state: PathBuf,
        /// JSON: genesis_root, genesis_next_index, genesis_total (decimal strings but the index).
        #[arg(long)]
        json: bool,
    },
    /// Groth16 setup for M L1 and N L2 slots at depth D; writes the key folder.
    ///
    /// Writes DIR/proving_key.bin, DIR/verifying_key.bin, DIR/verification_key.json (snarkjs)
    /// and DIR/circuit.json (N, M, D, constraint count, the proving key's sha256). The keys
    /// serve every domain: the domain is in each batch's public data.
    Setup {
        #[command(flatten)]
        shape: ShapeArgs,
        /// INSECURE: derive the setup from this public seed (development only).
        #[arg(long)]
        seed: Option<u64>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Validate a batch and prove it; writes proof.json, public.json, public_data.hex, state.json.
    ///
    /// An invalid batch exits non-zero with one line naming the section, slot and rule, and
    /// writes nothing. N and M come from the key folder.
    Prove {
        /// The key folder from `setup`.
        #[arg(long)]
        keys: PathBuf,
        /// The state file.
        #[arg(long)]
        state: PathBuf,
        #[command(flatten)]
        inputs: BatchInputs,
        /// N; refused if the keys are for another N.
        #[arg(long)]
        batch_size: Option<usize>,
        /// M; refused if the keys are for another M.
        #[arg(long)]
        l1_slots: Option<usize>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Threads for proving (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// The batch circuit for M L1 and N L2 slots at depth D as an iden3 `.r1cs` (for snarkjs
    /// and circom tools: `snarkjs groth16 setup`, `wtns check`, `r1cs info`).
    ExportR1cs {
        #[command(flatten)]
        shape: ShapeArgs,
        /// The `.r1cs` file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// A batch's full witness as an iden3 `.wtns` for the circuit of `export-r1cs` (the shape
    /// from a key folder, or N, M and D); the batch is validated first, as `prove` does.
    ExportWtns {
        /// A key folder from `setup` or `ceremony export`: N, M and D from its circuit.json.
        #[arg(long, conflicts_with_all = ["batch_size", "depth"])]
        keys: Option<PathBuf>,
        /// N, the number of L2 slots (without --keys).
        #[arg(long, required_unless_present = "keys")]
        batch_size: Option<usize>,
        /// M, the number of L1 slots (without --keys).
        #[arg(long, default_value_t = DEFAULT_L1_SLOTS)]
        l1_slots: usize,
        /// Depth of the state tree (without --keys).
        #[arg(long, required_unless_present = "keys")]
        depth: Option<usize>,
        /// The state file.
        #[arg(long)]
        state: PathBuf,
        #[command(flatten)]
        inputs: BatchInputs,
        /// The `.wtns` file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Prove from a snarkjs Groth16 `.zkey` and a `.wtns`, for any circom circuit; writes
    /// DIR/proof.json and DIR/public.json as `snarkjs groth16 prove` does. The proof is
    /// verified against the key first: a witness that breaks the circuit writes nothing.
    ProveZkey {
        /// The `.zkey`.
        #[arg(long)]
        zkey: PathBuf,
        /// The `.wtns`.
        #[arg(long)]
        wtns: PathBuf,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// The `.zkey`'s sha256 (hex), as a full read prints it: the key is then read without
        /// the curve and subgroup checks of its points, refused if the hash differs.
        #[arg(long)]
        zkey_sha256: Option<String>,
        /// Threads for proving (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Phase 2 of a trusted setup with snarkjs's files (`.ptau`, `.zkey`).
    Ceremony {
        #[command(subcommand)]
        step: CeremonyStep,
    },
    /// Verify a proof: prints `valid` (exit 0) or `invalid` (exit 1); malformed input exits 2.
    Verify {
        /// The key folder from `setup`.
        #[arg(long)]
        keys: PathBuf,
        /// proof.json.
        #[arg(long)]
        proof: PathBuf,
        /// public.json.
        #[arg(long)]
        public: PathBuf,
    },
    /// The circuit's size for M L1 and N L2 slots at depth D.
    Info {
        #[command(flatten)]
        shape: ShapeArgs,
        /// JSON: batch_size, l1_slots, depth, constraints, constraints_per_transfer (one more L2
        /// slot), constraints_per_l1_slot, fixed_constraints (no slots), public_inputs; each
        /// slot with its share of the commitment's SHA-256.
        #[arg(long)]
        json: bool,
    },
    /// Make a key pair; prints {"private_key": hex, "pubkey": [Ax, Ay]}.
    ///
    /// The private key is 32 bytes, as circomlibjs takes it: the same key gives the same public
    /// key here and in circomlibjs `prv2pub`.
    Keygen {
        /// Derive the public key of this private key (64 hex digits) instead of a random one.
        #[arg(long)]
        private_key: Option<String>,
    },
    /// Run the whole path on generated accounts, with timings.
    ///
    /// Generates a genesis state and one batch with every operation: L1 requests (a new
    /// account, a deposit, a full exit, then more deposits) and L2 slots (a transfer from the
    /// new account, a withdrawal, then transfers); validates and applies it, proves it and
    /// verifies the proof. Development keys (INSECURE, from a fixed seed) are made once and
    /// cached under keys/dev-m{M}-n{N}-d{D}/.
    Demo {
        #[command(flatten)]
        shape: DefaultShapeArgs,
        /// Accounts in the genesis state (at least two per L2 slot, and three).
        #[arg(long, default_value_t = 1000)]
        accounts: usize,
        /// Stop after the native path (no setup, no proof).
        #[arg(long)]
        no_proof: bool,
        /// Threads for proving (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Write the Solidity verifier for a key folder (snarkjs's `verifyProof` entry point), or
    /// with --zkey for any circuit's snarkjs `.zkey` (`verifyProof(a, b, c, uint256[k] input)`).
    ExportVerifier {
        /// The key folder from `setup` or `ceremony export`.
        #[arg(long, required_unless_present = "zkey", conflicts_with = "zkey")]
        keys: Option<PathBuf>,
        /// A Groth16 `.zkey` of any circuit with one or more public inputs (read and checked).
        #[arg(long)]
        zkey: Option<PathBuf>,
        /// The .sol file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the ABI-encoded `ZKRollup.submitBatch(newRoot, l1Data, l2Data, proof)` call
    /// (0x-prefixed hex) for a proof, the public data of its batch and the requests it consumed,
    /// ready for any Ethereum client.
    Calldata {
        /// proof.json from `prove`.
        #[arg(long)]
        proof: PathBuf,
        /// public_data.hex from `prove` or `apply`.
        #[arg(long)]
        public_data: PathBuf,
        /// The requests file the batch consumed (their records' `addr` go into l1Data).
        #[arg(long)]
        requests: Option<PathBuf>,
        /// M, the L1 slots of the circuit the proof is for.
        #[arg(long, default_value_t = DEFAULT_L1_SLOTS)]
        l1_slots: usize,
    },
    /// Print the ABI-encoded `ZKRollup.performExodus` call for account INDEX of a state (the
    /// state of the last proved root): its leaf and its Merkle path.
    ExitCalldata {
        /// The state file.
        #[arg(long)]
        state: PathBuf,
        /// The account.
        #[arg(long)]
        index: u32,
    },
    /// Print the ABI-encoded call of a request entry point: `depositNew`, `deposit`,
    /// `requestFullExit`, or `withdrawPending` (send deposits as the transaction's value).
    RequestCalldata {
        /// deposit-new (--pubkey, --owner), deposit (--index), full-exit (--index),
        /// withdraw-pending (--owner is the recipient, --amount-wei).
        #[arg(long, value_parser = ["deposit-new", "deposit", "full-exit", "withdraw-pending"])]
        kind: String,
        /// The account (deposit, full-exit).
        #[arg(long)]
        index: Option<u32>,
        /// The new account's key, Ax and Ay in decimal (deposit-new).
        #[arg(long, num_args = 2)]
        pubkey: Option<Vec<String>>,
        /// The L1 owner (deposit-new) or the recipient (withdraw-pending): 0x and 40 hex digits.
        #[arg(long)]
        owner: Option<String>,
        /// Wei to pull (withdraw-pending).
        #[arg(long)]
        amount_wei: Option<u128>,
    },
    /// Time proofs of a full batch: zkrollup's prover, and with --compare-stock ark-groth16's
    /// `Groth16::prove` on the same batch and keys, alternating; every proof is verified.
    ///
    /// Uses the INSECURE development keys cached under keys/dev-m{M}-n{N}-d{D}/ (made when
    /// missing). The batch fills every slot: M DepositNew requests and N transfers.
    Bench {
        #[command(flatten)]
        shape: DefaultShapeArgs,
        /// Also time stock ark-groth16, alternating with zkrollup's prover.
        #[arg(long)]
        compare_stock: bool,
        /// Time stock ark-groth16 only (for measuring its memory alone).
        #[arg(long, conflicts_with = "compare_stock")]
        stock_only: bool,
        /// Proofs per path; the median is reported.
        #[arg(long, default_value_t = 5)]
        samples: usize,
        /// JSON: batch_size, l1_slots, depth, constraints, threads, samples, prove_ms, stock_prove_ms,
        /// speedup_vs_stock, matrices_ms (milliseconds, medians).
        #[arg(long)]
        json: bool,
        /// Threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Sign a transfer or withdrawal; prints it as one entry of the batch file's "transfers".
    Sign {
        /// The sender's private key (64 hex digits).
        #[arg(long)]
        private_key: String,
        /// Sender's slot.
        #[arg(long)]
        from: u32,
        /// Receiver's slot; 0 signs a withdrawal to the account's L1 owner.
        #[arg(long)]
        to: u32,
        /// Amount.
        #[arg(long)]
        amount: u64,
        /// The sender's current nonce.
        #[arg(long)]
        nonce: u64,
        #[command(flatten)]
        domain: DomainArgs,
    },
}

/// The steps of a phase-2 ceremony.
#[derive(Subcommand)]
enum CeremonyStep {
    /// The initial `.zkey` of the batch circuit (or of any `.r1cs`) from a prepared ptau, as
    /// `snarkjs groth16 setup` makes it, byte for byte.
    New {
        /// A ptau prepared for phase 2 (`snarkjs powersoftau prepare phase2`).
        #[arg(long)]
        ptau: PathBuf,
        #[command(flatten)]
        circuit: CircuitArgs,
        /// The `.zkey` to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// One contribution: a secret from the operating system's randomness (and the optional
    /// text) multiplies delta; prints the contribution hash participants publish.
    Contribute {
        /// The `.zkey` so far.
        #[arg(long = "in")]
        input: PathBuf,
        /// The `.zkey` to write.
        #[arg(long)]
        out: PathBuf,
        /// The participant's name, recorded in the key (first 64 characters).
        #[arg(long)]
        name: Option<String>,
        /// Extra entropy text, hashed with 64 bytes from the operating system.
        #[arg(long, default_value = "")]
        entropy: String,
    },
    /// Check a key against its circuit and ptau, as `snarkjs zkey verify` does: prints `valid`
    /// and each contribution's hash (exit 0), or `invalid: ` and what failed (exit 1).
    Verify {
        /// The `.zkey` to check.
        #[arg(long)]
        zkey: PathBuf,
        /// The prepared ptau the ceremony started from.
        #[arg(long)]
        ptau: PathBuf,
        #[command(flatten)]
        circuit: CircuitArgs,
    },
    /// The key folder of a ceremony's final `.zkey` for the batch circuit (refused unless the key
    /// is this circuit's): proving_key.bin, verifying_key.bin, verification_key.json,
    /// circuit.json and Groth16Verifier.sol, for `prove`, `verify` and the contract.
    Export {
        /// The final `.zkey`.
        #[arg(long)]
        zkey: PathBuf,
        #[command(flatten)]
        shape: DefaultShapeArgs,
        /// The key folder to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// The final contribution from a public random beacon: deterministic, so anyone can redo
    /// it and compare (equal to `snarkjs zkey beacon` byte for byte).
    Beacon {
        /// The `.zkey` so far.
        #[arg(long = "in")]
        input: PathBuf,
        /// The `.zkey` to write.
        #[arg(long)]
        out: PathBuf,
        /// The beacon's value, hex (1 to 255 bytes).
        #[arg(long)]
        hash: String,
        /// log2 of the SHA-256 iterations applied to it (10 to 63).
        #[arg(long)]
        iterations_exp: u32,
        /// A name recorded with the beacon.
        #[arg(long)]
        name: Option<String>,
    },
}

/// The circuit of a ceremony: any `.r1cs`, or the batch circuit for N, M, D.
#[derive(clap::Args)]
struct CircuitArgs {
    /// Any circuit's `.r1cs` instead of the batch circuit.
    #[arg(long, conflicts_with_all = ["batch_size", "depth"])]
    r1cs: Option<PathBuf>,
    /// N, the number of L2 slots (without --r1cs).
    #[arg(long, required_unless_present = "r1cs")]
    batch_size: Option<usize>,
    /// M, the number of L1 slots (without --r1cs).
    #[arg(long, default_value_t = DEFAULT_L1_SLOTS)]
    l1_slots: usize,
    /// Depth of the state tree (without --r1cs).
    #[arg(long, required_unless_present = "r1cs")]
    depth: Option<usize>,
}

impl CircuitArgs {
    /// The `.r1cs` from the file, or the batch circuit's.
    fn r1cs(&self) -> Result<R1cs> {
        if let Some(path) = &self.r1cs {
            return Ok(R1cs::read_file(path)?);
        }
        let shape = shape(self.l1_slots, self.batch_size.expect("clap requires it"), self.depth.expect("clap requires it"))?;
        let phase = Phase::start(format!("synthesis (M = {}, N = {}, depth {})", shape.l1_slots, shape.batch_size, shape.depth));
        let r1cs = FastProver::new(BatchCircuit::blank(shape))?.r1cs();
        phase.done();
        Ok(r1cs)
    }
}

/// A circuit shape, every part defaulted to the built-in defaults.
#[derive(clap::Args)]
struct DefaultShapeArgs {
    /// N, the number of L2 slots.
    #[arg(long, default_value_t = DEFAULT_BATCH_SIZE)]
    batch_size: usize,
    /// M, the number of L1 slots.
    #[arg(long, default_value_t = DEFAULT_L1_SLOTS)]
    l1_slots: usize,
    /// Depth of the state tree (1 to 16).
    #[arg(long, default_value_t = DEFAULT_DEPTH)]
    depth: usize,
}

impl DefaultShapeArgs {
    fn shape(&self) -> Result<Shape> {
        shape(self.l1_slots, self.batch_size, self.depth)
    }
}

/// A circuit shape: N and D required, M defaulted.
#[derive(clap::Args)]
struct ShapeArgs {
    /// N, the number of L2 slots.
    #[arg(long)]
    batch_size: usize,
    /// M, the number of L1 slots.
    #[arg(long, default_value_t = DEFAULT_L1_SLOTS)]
    l1_slots: usize,
    /// Depth of the state tree (1 to 16).
    #[arg(long)]
    depth: usize,
}

impl ShapeArgs {
    fn shape(&self) -> Result<Shape> {
        shape(self.l1_slots, self.batch_size, self.depth)
    }
}

/// Which deployment a signature or a batch's public data is for. Required: what is signed or
/// proved for another domain fails on chain (there is no default, SPEC-v2 section 8).
#[derive(clap::Args)]
struct DomainArgs {
    /// The deployment's domain, a field element in decimal (the contract's `domain()`).
    #[arg(long, required_unless_present = "deployment", conflicts_with = "deployment")]
    domain: Option<String>,
    /// Or the deployment file `zkrollup node deploy --out FILE` wrote: its `domain`.
    #[arg(long)]
    deployment: Option<PathBuf>,
}

impl DomainArgs {
    /// The domain given, or read from the deployment file.
    fn domain(&self) -> Result<Fr> {
        match (&self.domain, &self.deployment) {
            (Some(d), _) => parse_fr(d).context("--domain"),
            (None, Some(path)) => {
                let what = || format!("deployment file {}", path.display());
                let v: serde_json::Value = serde_json::from_str(&read(path)?).with_context(what)?;
                let d = v["domain"].as_str().with_context(|| format!("{}: no \"domain\" string", what()))?;
                parse_fr(d).with_context(|| format!("{}: domain", what()))
            }
            (None, None) => bail!("--domain or --deployment is required"),
        }
    }
}

/// What a batch is made of besides the state: its files and its header.
#[derive(clap::Args)]
struct BatchInputs {
    /// The requests file: the L1 requests the batch consumes, in queue order (none if absent).
    #[arg(long)]
    requests: Option<PathBuf>,
    /// The batch file: L2 transfers and withdrawals (fewer than N are padded).
    #[arg(long)]
    batch: PathBuf,
    #[command(flatten)]
    domain: DomainArgs,
    /// The batch's number in the chain (the contract's `batchCount() + 1`).
    #[arg(long, default_value_t = 1)]
    batch_id: u64,
}

impl BatchInputs {
    /// The batch, and its parameters for a circuit of `l1_slots` and `batch_size` slots.
    fn load(&self, batch_size: usize, l1_slots: usize) -> Result<(Batch, BatchParams)> {
        let requests = match &self.requests {
            Some(path) => parse_requests(&read(path)?).with_context(|| format!("requests file {}", path.display()))?,
            None => Vec::new(),
        };
        let b = parse_batch(&read(&self.batch)?).with_context(|| format!("batch file {}", self.batch.display()))?;
        let params = BatchParams::new(batch_size, self.domain.domain()?)
            .with_l1_slots(l1_slots)
            .with_batch_id(self.batch_id);
        Ok((b.with_requests(requests), params))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Ceremony { step: CeremonyStep::Verify { zkey, ptau, circuit } } = &cli.command {
        let result = circuit.r1cs().and_then(|r| ceremony_verify(zkey, ptau, &r));
        return match result {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    if let Command::Verify { keys, proof, public } = &cli.command {
        return match verify_cmd(keys, proof, public) {
            Ok(true) => {
                println!("valid");
                ExitCode::SUCCESS
            }
            Ok(false) => {
                println!("invalid");
                ExitCode::from(1)
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Node { args } => run_sibling("zkrollup-node", "zkrollup-node", &args),
        Command::Watch { args } => {
            let args: Vec<std::ffi::OsString> = std::iter::once("watch".into()).chain(args).collect();
            run_sibling("zkrollup-node", "zkrollup-node", &args)
        }
        Command::Worker { args } => run_sibling("zkrollup-worker", "zkrollup-fleet", &args),
        // Exit 1 on any failure, as Docker's HEALTHCHECK reads it.
        Command::Healthcheck { url, timeout_ms } => {
            commands::healthcheck::check(&url, std::time::Duration::from_millis(timeout_ms.max(1)))?;
            println!("healthy: {url}");
            Ok(())
        }
        Command::Channel { args } => run_sibling("zkrollup-channel", "zkrollup-channels", &args),
        Command::Setup { shape, seed, out } => setup_cmd(shape.shape()?, seed, &out),
        Command::Prove { keys, state, inputs, batch_size, l1_slots, out, threads } => {
            set_threads(threads)?;
            prove_cmd(&keys, &state, &inputs, (batch_size, l1_slots), &out)
        }
        Command::Verify { .. } => unreachable!("handled in main"),
        Command::ExportR1cs { shape, out } => export_r1cs(shape.shape()?, &out),
        Command::ExportWtns { keys, batch_size, l1_slots, depth, state, inputs, out } => {
            let shape = match keys {
                Some(dir) => bundle::load_info(&dir)?.shape(),
                None => shape(l1_slots, batch_size.expect("clap requires it"), depth.expect("clap requires it"))?,
            };
            export_wtns(shape, &state, &inputs, &out)
        }
        Command::Ceremony { step: CeremonyStep::New { ptau, circuit, out } } => ceremony_new(&circuit.r1cs()?, &ptau, &out),
        Command::Ceremony { step: CeremonyStep::Verify { .. } } => unreachable!("handled in main"),
        Command::Ceremony { step: CeremonyStep::Export { zkey, shape, out } } => {
            let phase = Phase::start(format!("reading and checking {}", zkey.display()));
            let key = Zkey::read_file(&zkey)?;
            phase.done();
            let sha = prover::keys::sha256_hex(&std::fs::read(&zkey)?);
            let info = bundle::write_from_zkey(&out, shape.shape()?, &key, &sha)?;
            let sol = render_verifier(&key.proving_key().vk, &info)?;
            write_all_atomic(&[(out.join("Groth16Verifier.sol"), sol.into_bytes())]).with_context(|| format!("cannot write to {}", out.display()))?;
            println!("{}", serde_json::to_string_pretty(&info)?);
            Ok(())
        }
        Command::Ceremony { step: CeremonyStep::Contribute { input, out, name, entropy } } => {
            let mut rng = zkrollup::ceremony::rng::SnarkjsRng::from_entropy(&entropy);
            let params = zkrollup::iden3::zkey::ContributionParams { name, ..Default::default() };
            let phase = Phase::start(format!("contributing to {}", input.display()));
            let kind = zkrollup::ceremony::KIND_CONTRIBUTION;
            let hash = zkrollup::ceremony::contribute_file(&input, &out, &mut rng, kind, params, &mut |d, t| phase.report(d, t))?;
            phase.done();
            println!("contribution hash: {}", hex::encode(hash));
            Ok(())
        }
        Command::Ceremony { step: CeremonyStep::Beacon { input, out, hash, iterations_exp, name } } => {
            let beacon_hash = hex::decode(hash.trim_start_matches("0x")).context("--hash: hex digits")?;
            let phase = Phase::start(format!("beacon on {} (2^{iterations_exp} SHA-256 iterations, then L and H)", input.display()));
            let hash = zkrollup::ceremony::beacon_file(&input, &out, &beacon_hash, iterations_exp, name, &mut |d, t| phase.report(d, t))?;
            phase.done();
            println!("contribution hash: {}", hex::encode(hash));
            Ok(())
        }
        Command::ProveZkey { zkey, wtns, out, zkey_sha256, threads } => {
            set_threads(threads)?;
            prove_zkey(&zkey, zkey_sha256.as_deref(), &wtns, &out)
        }
        Command::Info { shape, json } => info_cmd(shape.shape()?, json),
        Command::Apply { state, inputs, batch_size, l1_slots, out } => apply(&state, &inputs, batch_size, l1_slots, &out),
        Command::Genesis { state, json } => genesis_cmd(&state, json),
        Command::Keygen { private_key } => keygen(private_key.as_deref()),
        Command::Demo { shape, accounts, no_proof, threads } => {
            set_threads(threads)?;
            demo(shape.shape()?, accounts, !no_proof)
        }
        Command::ExportVerifier { keys: Some(keys), out, .. } => export_verifier(&keys, &out),
        Command::ExportVerifier { zkey, out, .. } => export_zkey_verifier(&zkey.expect("clap requires --keys or --zkey"), &out),
        Command::Bench { shape, compare_stock, stock_only, samples, json, threads } => {
            set_threads(threads)?;
            let paths = match (compare_stock, stock_only) {
                (true, _) => Paths::Both,
                (_, true) => Paths::Stock,
                _ => Paths::Fast,
            };
            bench(shape.shape()?, samples, paths, json)
        }
        Command::Calldata { proof, public_data, requests, l1_slots } => {
            calldata(&proof, &public_data, requests.as_deref(), l1_slots)
        }
        Command::ExitCalldata { state, index } => {
            let st = parse_state(&read(&state)?).with_context(|| format!("state file {}", state.display()))?;
            let call = exit_calldata(&st, index).with_context(|| format!("slot {index} holds no account"))?;
            println!("0x{}", hex::encode(call));
            Ok(())
        }
        Command::RequestCalldata { kind, index, pubkey, owner, amount_wei } => {
            request_calldata(&kind, index, pubkey.as_deref(), owner.as_deref(), amount_wei)
        }
        Command::Sign { private_key, from, to, amount, nonce, domain } => {
            let key = parse_private_key(&private_key)?;
            let t = Transfer::signed(&key, from, to, amount, nonce, domain.domain()?);
            println!("{}", serde_json::to_string_pretty(&transfer_entry(&t))?);
            Ok(())
        }
    }
}

/// `zkrollup node ARGS` and `zkrollup worker ARGS`: become `program ARGS` (of crate `package`)
/// from beside this executable (as git runs `git-foo`).
fn run_sibling(program: &str, package: &str, args: &[std::ffi::OsString]) -> Result<()> {
    let exe = std::env::current_exe().context("cannot locate this executable")?;
    let node = exe.with_file_name(format!("{program}{}", std::env::consts::EXE_SUFFIX));
    if !node.exists() {
        bail!("{} is missing: build it with `cargo build --release -p {package}` (or --workspace)", node.display());
    }
    let mut command = std::process::Command::new(&node);
    command.args(args);
    exec(command).with_context(|| format!("cannot run {}", node.display()))
}

/// Replace this process with `command` (Unix `exec`), so that the program keeps this process
/// id: a supervisor's SIGTERM or SIGKILL reaches it, and no parent is left waiting.
#[cfg(unix)]
fn exec(mut command: std::process::Command) -> Result<()> {
    use std::os::unix::process::CommandExt;
    // `exec` returns only when it failed.
    Err(command.exec().into())
}

/// Elsewhere, run `command` as a child and exit with its status.
#[cfg(not(unix))]
fn exec(mut command: std::process::Command) -> Result<()> {
    let status = command.status()?;
    std::process::exit(status.code().unwrap_or(1));
}

fn parse_private_key(hex_key: &str) -> Result<PrivateKey> {
    let bytes = hex::decode(hex_key.trim_start_matches("0x")).context("private key is not hex")?;
    let Ok(bytes) = <[u8; 32]>::try_from(bytes.as_slice()) else {
        bail!("private key must be 32 bytes (64 hex digits), got {}", bytes.len());
    };
    Ok(PrivateKey::from_bytes(bytes))
}

fn keygen(private_key: Option<&str>) -> Result<()> {
    let key = match private_key {
        Some(k) => parse_private_key(k)?,
        None => PrivateKey::random(&mut rand::rngs::OsRng),
    };
    let public = key.public_key();
    let json = serde_json::json!({
        "private_key": hex::encode(key.as_bytes()),
        "pubkey": [fr_to_decimal(public.x()), fr_to_decimal(public.y())],
    });
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(())
}

fn export_verifier(keys: &Path, out: &Path) -> Result<()> {
    let info = bundle::load_info(keys)?;
    let vk = bundle::load_verifying(keys)?;
    let sol = render_verifier(&vk, &info)?;
    write_all_atomic(&[(out.to_path_buf(), sol.into_bytes())]).with_context(|| format!("cannot write {}", out.display()))?;
    println!("wrote {} (N = {}, D = {})", out.display(), info.batch_size, info.depth);
    if let Some(seed) = info.insecure_dev_seed {
        eprintln!("warning: these keys come from an INSECURE development setup (seed {seed}); anyone can forge proofs");
    }
    Ok(())
}

fn export_zkey_verifier(zkey: &Path, out: &Path) -> Result<()> {
    let bytes = std::fs::read(zkey).with_context(|| format!("cannot read {}", zkey.display()))?;
    let key = Zkey::read(&mut std::io::Cursor::new(&bytes)).with_context(|| format!("{}", zkey.display()))?;
    let sha = prover::keys::sha256_hex(&bytes);
    let sol = zkrollup::export::solidity::render_inputs_verifier(&key.proving_key().vk, &sha)?;
    write_all_atomic(&[(out.to_path_buf(), sol.into_bytes())]).with_context(|| format!("cannot write {}", out.display()))?;
    println!("wrote {} ({} public inputs)", out.display(), key.header.n_public);
    Ok(())
}

fn calldata(proof: &Path, public_data: &Path, requests: Option<&Path>, l1_slots: usize) -> Result<()> {
    let proof = snarkjs::parse_proof(&read(proof)?).with_context(|| format!("proof file {}", proof.display()))?;
    let text = read(public_data)?;
    let bytes = hex::decode(text.trim().trim_start_matches("0x"))
        .with_context(|| format!("{}: not hex", public_data.display()))?;
    let requests = match requests {
        Some(path) => parse_requests(&read(path)?).with_context(|| format!("requests file {}", path.display()))?,
        None => Vec::new(),
    };
    let call = submit_batch_calldata(&proof, &bytes, l1_slots, &requests)
        .with_context(|| format!("{}", public_data.display()))?;
    println!("0x{}", hex::encode(call));
    Ok(())
}

fn request_calldata(
    kind: &str,
    index: Option<u32>,
    pubkey: Option<&[String]>,
    owner: Option<&str>,
    amount_wei: Option<u128>,
) -> Result<()> {
    let index = || index.context("--index is required");
    let owner = || -> Result<[u8; 20]> {
        let o = owner.context("--owner is required")?;
        parse_address(o).with_context(|| format!("--owner {o}: expected 0x and 40 hex digits"))
    };
    let call = match kind {
        "deposit-new" => {
            let key = pubkey.context("--pubkey AX AY is required")?;
            deposit_new_calldata(parse_fr(&key[0]).context("--pubkey Ax")?, parse_fr(&key[1]).context("--pubkey Ay")?, &owner()?)
        }
        "deposit" => deposit_calldata(index()?),
        "full-exit" => request_full_exit_calldata(index()?),
        _ => withdraw_pending_calldata(&owner()?, amount_wei.context("--amount-wei is required")?),
    };
    println!("0x{}", hex::encode(call));
    Ok(())
}

fn apply(state: &Path, inputs: &BatchInputs, batch_size: usize, l1_slots: usize, out: &Path) -> Result<()> {
    if batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let (b, params) = inputs.load(batch_size, l1_slots)?;
    let mut st = parse_state(&read(state)?).with_context(|| format!("state file {}", state.display()))?;
    let witness = st.apply_batch(&b, &params).context("batch rejected")?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    write_all_atomic(&[
        (out.join("state.json"), state_to_json(&st).into_bytes()),
        (out.join("public_data.hex"), hex::encode(&witness.public_data).into_bytes()),
    ])
    .with_context(|| format!("cannot write to {}", out.display()))?;
    print_roots(&witness);
    Ok(())
}

fn genesis_cmd(state: &Path, json: bool) -> Result<()> {
    let st = parse_state(&read(state)?).with_context(|| format!("state file {}", state.display()))?;
    let g = st.genesis().with_context(|| format!("state file {}", state.display()))?;
    if json {
        let v = serde_json::json!({
            "genesis_root": fr_to_decimal(g.root),
            "genesis_next_index": g.next_index,
            "genesis_total": g.total.to_string(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("genesis root:       {}", fr_to_decimal(g.root));
        println!("genesis next index: {}", g.next_index);
        println!("genesis total:      {} gwei", g.total);
    }
    Ok(())
}

/// `zkrollup demo`: the whole path on generated accounts, with timings.
fn demo(shape: Shape, accounts: usize, with_proof: bool) -> Result<()> {
    let Shape { depth, l1_slots, batch_size } = shape;
    let signers = (2 * batch_size + 2).max(3);
    if accounts < signers {
        bail!("--accounts must be at least {signers} for --batch-size {batch_size}");
    }
    let capacity = 1u64 << (2 * depth);
    if (accounts as u64) + 1 >= capacity {
        bail!("--depth {depth} has no room for {accounts} accounts, reserved slot 0 and a new account");
    }
    println!(
        "zkrollup demo: M = {l1_slots} L1 slots, N = {batch_size} L2 slots, depth {depth} ({capacity} slots), {accounts} accounts"
    );

    let started = Instant::now();
    // Signing accounts get circomlibjs-style private keys; the rest of a large genesis gets
    // INSECURE keys of public scalar, which are cheap to make (key derivation is not what a
    // large demo shows).
    let keys: Vec<PrivateKey> = (0..signers).map(|i| PrivateKey::from_bytes(demo_key_bytes(i))).collect();
    let mut genesis: Vec<(u32, Account)> =
        keys.iter().enumerate().map(|(i, k)| (i as u32 + 1, Account::new(k.public_key(), 1_000_000, 0))).collect();
    genesis.extend(insecure_public_scalar_keys(accounts - signers).into_iter().enumerate().map(|(i, k)| {
        ((signers + i) as u32 + 1, Account::new(k, 1_000, 0))
    }));
    let t_keys = started.elapsed();

    let t0 = Instant::now();
    let mut state = State::from_accounts(depth, genesis)?;
    let genesis = state.genesis()?;
    let t_build = t0.elapsed();
    println!("genesis: {} accounts, {} gwei", genesis.next_index - 1, genesis.total);

    // L1: a new account, a deposit, a full exit, then deposits; L2: a transfer from the new
    // account, a withdrawal, then transfers between the signers.
    let params = BatchParams::new(batch_size, demo_domain()).with_l1_slots(l1_slots);
    println!("domain: {} (the demo's own; a deployment's is its contract's domain())", fr_to_decimal(params.domain));
    let owner = [0x11; 20];
    let newcomer = PrivateKey::from_bytes(demo_key_bytes(usize::MAX >> 1));
    let new_index = genesis.next_index;
    let pk = newcomer.public_key();
    let mut requests = vec![
        Request::deposit_new(new_index, 5_000, (pk.x(), pk.y()), owner),
        Request::deposit(1, 2_500, owner),
        Request::full_exit(2, owner),
    ];
    requests.extend((3..).map(|i| Request::deposit(i, 100, owner)).take(l1_slots.saturating_sub(3)));
    requests.truncate(l1_slots);
    let has_newcomer = l1_slots > 0;
    let t0 = Instant::now();
    let mut transfers = Vec::with_capacity(batch_size);
    if has_newcomer {
        transfers.push(Transfer::signed(&newcomer, new_index, 3, 1_200, 0, params.domain));
    }
    transfers.push(Transfer::signed(&keys[3], 4, 0, 40_000, 0, params.domain));
    for i in 0.. {
        if transfers.len() >= batch_size {
            break;
        }
        let from = 2 * i as u32 + 5;
        transfers.push(Transfer::signed(&keys[from as usize - 1], from, from + 1, 1_000 + i as u64, 0, params.domain));
    }
    transfers.truncate(batch_size);
    let t_sign = t0.elapsed();

    let t0 = Instant::now();
    let batch = Batch::new(transfers).with_requests(requests);
    let witness = state.apply_batch(&batch, &params)?;
    let t_apply = t0.elapsed();

    for (r, slot) in batch.requests.iter().zip(&witness.requests) {
        println!("  L1 {:?} of {} gwei, account {}", r.kind, slot.amount, r.index);
    }
    for t in &batch.transfers {
        let what = if t.is_withdrawal() { "withdrawal to L1".to_string() } else { format!("transfer to {}", t.to) };
        println!("  L2 {what} of {} gwei from account {}", t.amount, t.from);
    }
    print_roots(&witness);
    println!("public data: {} bytes", witness.public_data.len());
    println!("timings:");
    println!("  keys         {:>10.3} s  ({accounts} accounts)", t_keys.as_secs_f64());
    println!("  tree build   {:>10.3} s  (bulk, {} threads)", t_build.as_secs_f64(), rayon::current_num_threads());
    println!("  sign         {:>10.3} s  ({} L2 slots)", t_sign.as_secs_f64(), batch.transfers.len());
    println!("  apply        {:>10.3} s  (validate, apply, witness)", t_apply.as_secs_f64());
    if !with_proof {
        return Ok(());
    }
    let t0 = Instant::now();
    let (dir, info) = dev_keys(shape)?;
    let t_setup = t0.elapsed();
    let t0 = Instant::now();
    let pk = bundle::load_proving(&dir, &info)?;
    let vk = bundle::load_verifying(&dir)?;
    let fast = bundle::load_prover(&dir, &info)?;
    let t_load = t0.elapsed();
    let phase = Phase::start(format!("synthesis and proof ({} constraints)", info.constraints));
    let proof = fast.prove(&pk, witness.circuit(depth))?;
    let t_prove = phase.done();
    let t0 = Instant::now();
    let valid = prover::verify(&vk, &[witness.commitment], &proof)?;
    let t_verify = t0.elapsed();
    if !valid {
        bail!("the proof did not verify");
    }
    println!("proof: valid ({} constraints)", info.constraints);
    let setup_note = if cached_note(t_setup) { "cached keys" } else { "INSECURE dev setup" };
    println!("  setup        {:>10.3} s  ({setup_note}, {})", t_setup.as_secs_f64(), dir.display());
    println!("  load keys    {:>10.3} s  (proving key and matrices unchecked behind their sha256s)", t_load.as_secs_f64());
    println!("  prove        {:>10.3} s  ({} threads)", t_prove.as_secs_f64(), rayon::current_num_threads());
    println!("  verify       {:>10.3} s", t_verify.as_secs_f64());
    Ok(())
}

/// The INSECURE development keys for a shape under keys/dev-m{M}-n{N}-d{D}/: loaded when
/// cached there, made (and cached) otherwise.
fn dev_keys(shape: Shape) -> Result<(PathBuf, bundle::CircuitInfo)> {
    let dir = PathBuf::from(format!("keys/dev-m{}-n{}-d{}", shape.l1_slots, shape.batch_size, shape.depth));
    // The folder of the default parameters is committed without its proving key (see keys/README.md).
    let cached = bundle::load_info(&dir).ok().filter(|i| {
        i.shape() == shape && i.insecure_dev_seed == Some(DEMO_SEED) && dir.join("proving_key.bin").exists()
    });
    let info = match cached {
        Some(info) => info,
        None => {
            let phase = Phase::start(format!("setup: INSECURE development keys (seed {DEMO_SEED}) -> {}", dir.display()));
            let info = bundle::setup_to_dir(&dir, shape, Some(DEMO_SEED))?;
            phase.done();
            info
        }
    };
    Ok((dir, info))
}

fn bench(shape: Shape, samples: usize, paths: Paths, json: bool) -> Result<()> {
    let Shape { depth, l1_slots, batch_size } = shape;
    if samples == 0 {
        bail!("--samples must be at least 1");
    }
    let (dir, info) = dev_keys(shape)?;
    let pk = bundle::load_proving(&dir, &info)?;
    let witness = sample_batch(shape);
    let phase = Phase::start(format!(
        "proving M = {l1_slots}, N = {batch_size}, depth {depth} ({} constraints), {samples} samples",
        info.constraints
    ));
    let result = compare(&pk, &witness, depth, samples, paths, || bundle::load_prover(&dir, &info))?;
    phase.done();
    let ms = |d: Option<std::time::Duration>| d.map(|d| d.as_secs_f64() * 1e3);
    let (stock, fast) = (ms(median(&result.stock)), ms(median(&result.fast)));
    let speedup = stock.zip(fast).map(|(s, f)| s / f);
    if json {
        let mut out = serde_json::json!({
            "batch_size": batch_size,
            "l1_slots": l1_slots,
            "depth": depth,
            "constraints": info.constraints,
            "threads": rayon::current_num_threads(),
            "samples": samples,
        });
        if let Some(s) = stock {
            out["stock_prove_ms"] = serde_json::json!(s.round());
        }
        if let Some(f) = fast {
            out["prove_ms"] = serde_json::json!(f.round());
            out["matrices_ms"] = serde_json::json!((result.matrices.as_secs_f64() * 1e3).round());
        }
        if let Some(x) = speedup {
            out["speedup_vs_stock"] = serde_json::json!((x * 100.0).round() / 100.0);
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "M = {l1_slots}, N = {batch_size}, depth {depth}: {} constraints, {} threads, median of {samples}",
            info.constraints,
            rayon::current_num_threads()
        );
        if let Some(s) = stock {
            println!("  stock ark-groth16 prove  {s:>10.0} ms");
        }
        if let Some(f) = fast {
            println!("  zkrollup prove           {f:>10.0} ms  (matrices, once per process: {:.0} ms)", result.matrices.as_secs_f64() * 1e3);
        }
        if let Some(x) = speedup {
            println!("  speedup                  {x:>10.2}x");
        }
    }
    Ok(())
}

/// A long phase: on a terminal a live line with its name and elapsed time, otherwise a plain
/// line when it starts and one when it ends.
struct Phase {
    name: String,
    started: Instant,
    ticker: Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
    /// Percent done, when the step reports it ([`Phase::report`]); `u64::MAX` until then.
    percent: Arc<AtomicU64>,
}

impl Phase {
    fn start(name: impl Into<String>) -> Phase {
        let name = name.into();
        let started = Instant::now();
        let percent = Arc::new(AtomicU64::new(u64::MAX));
        let ticker = if std::io::stderr().is_terminal() {
            let stop = Arc::new(AtomicBool::new(false));
            let (flag, label, pct) = (stop.clone(), name.clone(), percent.clone());
            let handle = std::thread::spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    let done = match pct.load(Ordering::Relaxed) {
                        u64::MAX => String::new(),
                        p => format!(" {p}%"),
                    };
                    eprint!("\r{label} ...{done} {:.1} s", started.elapsed().as_secs_f64());
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            });
            Some((stop, handle))
        } else {
            eprintln!("{name} ...");
            None
        };
        Phase { name, started, ticker, percent }
    }

    /// `done` of `total` units of the step are done: shown by the ticker on a terminal, else a
    /// line each tenth.
    fn report(&self, done: u64, total: u64) {
        let pct = done.saturating_mul(100) / total.max(1);
        let before = self.percent.swap(pct, Ordering::Relaxed);
        let before = if before == u64::MAX { 0 } else { before };
        if self.ticker.is_none() && pct / 10 > before / 10 {
            eprintln!("{}: {pct}%", self.name);
        }
    }

    /// A step within the phase, by name: shown on a line of its own.
    fn step(&self, what: &str) {
        let cr = if self.ticker.is_some() { "\r" } else { "" };
        eprintln!("{cr}{}: {what}", self.name);
    }

    fn done(self) -> std::time::Duration {
        let elapsed = self.started.elapsed();
        if let Some((stop, handle)) = self.ticker {
            stop.store(true, Ordering::Relaxed);
            let _ = handle.join();
            eprint!("\r");
        }
        eprintln!("{}: done in {:.1} s", self.name, elapsed.as_secs_f64());
        elapsed
    }
}

/// The fixed, public seed of the demo's INSECURE development keys.
const DEMO_SEED: u64 = prover::INSECURE_DEV_SEED;

fn cached_note(t: std::time::Duration) -> bool {
    t.as_millis() < 50
}

fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        rayon::ThreadPoolBuilder::new().num_threads(n).build_global().context("--threads")?;
    }
    Ok(())
}

/// A circuit shape from the command line, checked.
fn shape(l1_slots: usize, batch_size: usize, depth: usize) -> Result<Shape> {
    if batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    if !(1..=16).contains(&depth) {
        bail!("--depth must be 1..=16");
    }
    Ok(Shape { depth, l1_slots, batch_size })
}

fn setup_cmd(shape: Shape, seed: Option<u64>, out: &Path) -> Result<()> {
    if let Some(seed) = seed {
        eprintln!("WARNING: INSECURE development setup from public seed {seed}: anyone can forge proofs for these keys");
    }
    let phase = Phase::start(format!(
        "setup (M = {}, N = {}, depth {}: synthesis, keys, files)",
        shape.l1_slots, shape.batch_size, shape.depth
    ));
    let info = bundle::setup_to_dir(out, shape, seed)?;
    phase.done();
    println!("{}", serde_json::to_string_pretty(&info)?);
    Ok(())
}

fn prove_cmd(keys: &Path, state: &Path, inputs: &BatchInputs, sizes: (Option<usize>, Option<usize>), out: &Path) -> Result<()> {
    let info = bundle::load_info(keys)?;
    if let Some(n) = sizes.0.filter(|&n| n != info.batch_size) {
        bail!("--batch-size {n} but the keys in {} are for N = {}", keys.display(), info.batch_size);
    }
    if let Some(m) = sizes.1.filter(|&m| m != info.l1_slots) {
        bail!("--l1-slots {m} but the keys in {} are for M = {}", keys.display(), info.l1_slots);
    }
    let (b, params) = inputs.load(info.batch_size, info.l1_slots)?;
    let mut st = parse_state(&read(state)?).with_context(|| format!("state file {}", state.display()))?;
    if st.depth() != info.depth {
        bail!("state has depth {} but the keys are for depth {}", st.depth(), info.depth);
    }
    let witness = st.apply_batch(&b, &params).context("batch rejected")?;
    let phase = Phase::start("loading the proving key (sha256, then unchecked)");
    let pk = bundle::load_proving(keys, &info)?;
    phase.done();
    let phase = Phase::start(match info.matrices_sha256 {
        Some(_) => "loading the matrices (sha256, then unchecked)",
        None => "building the matrices (the key folder has no matrices.bin)",
    });
    let fast = bundle::load_prover(keys, &info)?;
    phase.done();
    let phase = Phase::start(format!("synthesis and proof ({} constraints)", info.constraints));
    let proof = fast.prove(&pk, witness.circuit(info.depth))?;
    phase.done();
    let json = |v: &serde_json::Value| serde_json::to_string_pretty(v).expect("JSON") + "\n";
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    write_all_atomic(&[
        (out.join("proof.json"), json(&snarkjs::proof_json(&proof)).into_bytes()),
        (out.join("public.json"), json(&snarkjs::public_json(&[witness.commitment])).into_bytes()),
        (out.join("public_data.hex"), hex::encode(&witness.public_data).into_bytes()),
        (out.join("state.json"), state_to_json(&st).into_bytes()),
    ])
    .with_context(|| format!("cannot write to {}", out.display()))?;
    print_roots(&witness);
    Ok(())
}

fn export_r1cs(shape: Shape, out: &Path) -> Result<()> {
    let phase = Phase::start(format!("synthesis (M = {}, N = {}, depth {})", shape.l1_slots, shape.batch_size, shape.depth));
    let fast = FastProver::new(BatchCircuit::blank(shape))?;
    let r1cs = fast.r1cs();
    phase.done();
    r1cs.write_file(out)?;
    println!("{} constraints, {} wires, {} public input: {}", r1cs.constraints.len(), r1cs.n_wires, r1cs.n_public(), out.display());
    Ok(())
}

fn export_wtns(shape: Shape, state: &Path, inputs: &BatchInputs, out: &Path) -> Result<()> {
    let (b, params) = inputs.load(shape.batch_size, shape.l1_slots)?;
    let mut st = parse_state(&read(state)?).with_context(|| format!("state file {}", state.display()))?;
    if st.depth() != shape.depth {
        bail!("state has depth {} but the circuit is for depth {}", st.depth(), shape.depth);
    }
    let witness = st.apply_batch(&b, &params).context("batch rejected")?;
    let fast = FastProver::new(BatchCircuit::blank(shape))?;
    let z = fast.assignment(witness.circuit(shape.depth))?;
    zkrollup::iden3::wtns::write_file(&z, out)?;
    println!("{} values: {}", z.len(), out.display());
    print_roots(&witness);
    Ok(())
}

/// `ceremony verify`: Ok(true) valid, Ok(false) invalid (printed), Err a file problem.
fn ceremony_verify(zkey: &Path, ptau: &Path, r1cs: &R1cs) -> Result<bool> {
    let mut key = zkrollup::iden3::zkey::ZkeyFile::open(zkey)?;
    let mut ptau = Ptau::open(ptau)?;
    let phase = Phase::start(format!("verifying {} ({} contributions)", zkey.display(), key.contributions.len()));
    let result = zkrollup::ceremony::verify(&mut key, r1cs, &mut ptau, &mut |what| phase.step(what));
    phase.done();
    match result {
        Ok(contributions) => {
            println!("valid");
            for (i, c) in contributions.iter().enumerate() {
                println!("{}: {}", i + 1, c.describe());
            }
            Ok(true)
        }
        Err(zkrollup::ceremony::CeremonyError::Invalid(why)) => {
            println!("invalid: {why}");
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

fn ceremony_new(r1cs: &R1cs, ptau: &Path, out: &Path) -> Result<()> {
    let mut ptau = Ptau::open(ptau)?;
    let phase = Phase::start(format!("the initial key ({} constraints, ptau power {})", r1cs.constraints.len(), ptau.power));
    let cs_hash = zkrollup::ceremony::new_zkey_file(r1cs, &mut ptau, out)?;
    phase.done();
    println!("circuit hash: {}", hex::encode(cs_hash));
    println!("zkey sha256:  {}", prover::keys::sha256_hex(&std::fs::read(out)?));
    Ok(())
}

fn prove_zkey(zkey: &Path, pinned: Option<&str>, wtns: &Path, out: &Path) -> Result<()> {
    let what = match pinned {
        Some(_) => format!("reading {} (sha256 pinned, points unchecked)", zkey.display()),
        None => format!("reading and checking {}", zkey.display()),
    };
    let phase = Phase::start(what);
    let (prover, sha256) = ZkeyProver::read_file(zkey, pinned)?;
    phase.done();
    if pinned.is_none() {
        eprintln!("zkey sha256 (pin it with --zkey-sha256): {sha256}");
    }
    let w = zkrollup::iden3::wtns::read_file(wtns)?;
    let phase = Phase::start(format!("proof ({} signals, domain {})", w.len(), prover.proving_key().h_query.len()));
    let proof = prover.prove(&w)?;
    phase.done();
    let json = |v: &serde_json::Value| serde_json::to_string_pretty(v).expect("JSON") + "\n";
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    write_all_atomic(&[
        (out.join("proof.json"), json(&snarkjs::proof_json(&proof)).into_bytes()),
        (out.join("public.json"), json(&snarkjs::public_json(prover.public_inputs(&w))).into_bytes()),
    ])
    .with_context(|| format!("cannot write to {}", out.display()))?;
    Ok(())
}

fn print_roots(witness: &zkrollup::BatchWitness) {
    println!("old root:   {}", fr_to_decimal(witness.old_root));
    println!("new root:   {}", fr_to_decimal(witness.new_root));
    println!("commitment: {}", fr_to_decimal(witness.commitment));
}

fn verify_cmd(keys: &Path, proof: &Path, public: &Path) -> Result<bool> {
    let vk = bundle::load_verifying(keys)?;
    let proof = snarkjs::parse_proof(&read(proof)?).with_context(|| format!("proof {}", proof.display()))?;
    let inputs = snarkjs::parse_public(&read(public)?).with_context(|| format!("public inputs {}", public.display()))?;
    Ok(prover::verify(&vk, &inputs, &proof)?)
}

fn info_cmd(shape: Shape, json: bool) -> Result<()> {
    let constraints = bundle::count_constraints(shape);
    let costs = zkrollup::primitives::stats::slot_costs(shape.depth).context("measuring slot costs")?;
    if json {
        let v = serde_json::json!({
            "batch_size": shape.batch_size,
            "l1_slots": shape.l1_slots,
            "depth": shape.depth,
            "constraints": constraints,
            "constraints_per_transfer": costs.l2_slot,
            "constraints_per_l1_slot": costs.l1_slot,
            "fixed_constraints": costs.fixed,
            "public_inputs": 1,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let domain = (constraints + 2).next_power_of_two();
        println!("L2 slots (N):             {}", shape.batch_size);
        println!("L1 slots (M):             {}", shape.l1_slots);
        println!("depth:                    {}", shape.depth);
        println!("constraints:              {constraints}");
        println!("per L2 slot:              {} (transfer or withdrawal, its share of the SHA-256 included)", costs.l2_slot);
        println!("per L1 slot:              {} (request, its share of the SHA-256 included)", costs.l1_slot);
        println!("fixed (no slots):         {}", costs.fixed);
        println!("public inputs:            1");
        println!("Groth16 domain:           2^{} ({:.1}% full)", domain.trailing_zeros(), 100.0 * (constraints + 2) as f64 / domain as f64);
    }
    Ok(())
}

/// The demo's domain: a fixed field element of full width, standing for the one a deployment's
/// contract computes (`keccak256(chainid, address) mod r`), so the demo signs and proves as a
/// real deployment would (never for domain 0).
fn demo_domain() -> Fr {
    use ark_ff::PrimeField;
    use sha2::Digest;
    Fr::from_be_bytes_mod_order(&sha2::Sha256::digest(b"zkrollup demo domain"))
}

fn demo_key_bytes(i: usize) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
    bytes[8..16].copy_from_slice(b"zkdemo!!");
    bytes
}
