//! Deploying a rollup on a real L1 (`zkrollup node deploy`): the key folder's verifier, then
//! `ZKRollup` with the genesis state's root, its total paid in, the sequencer and the queue
//! parameters, from the committed bytecode the node itself checks against; or, for optimistic
//! settlement (SPEC-v3), a `PoseidonT5` and `OptimisticRollup` with its windows and bonds, and
//! the sequencer's bond deposited.

use std::path::Path;

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use zkrollup::prover::bundle;

use crate::contracts::{
    bytecode, optimistic_constructor_args, rollup_constructor_args, selector, verifier_bytecode, OptimisticParams, QueueParams,
    RollupArgs, OPTIMISTIC_ROLLUP_HEX, POSEIDON_T5_HEX, ZKROLLUP_HEX,
};
use crate::l1::rpc::RpcL1;

/// Gas for the verifier's deployment (about 0.9 M at any shape).
const VERIFIER_GAS: u64 = 3_000_000;
/// Gas for `ZKRollup`'s deployment with its `PoseidonT5` (8.16 M measured for v2.1 by
/// `examples/gas_report.rs`; v2's 7.98 M was within 2% of the old 8 M limit), with a margin,
/// well under a block's 30 M.
const ROLLUP_GAS: u64 = 10_000_000;
/// Gas for `PoseidonT5`'s deployment (about 4.6 M: 22.8 KB of code at 200 gas a byte).
const POSEIDON_GAS: u64 = 6_000_000;
/// Gas for `OptimisticRollup`'s deployment (4.87 M measured by `examples/gas_report.rs`).
const OPTIMISTIC_GAS: u64 = 7_000_000;
/// Gas for `depositSequencerBond()` (about 30,000).
const BOND_GAS: u64 = 100_000;

/// Optimistic settlement (SPEC-v3): the contract's windows and bonds, and the sequencer's bond
/// deposited after the deployment, by the sequencer.
#[derive(Clone, Debug)]
pub struct Optimistic {
    /// The windows and bonds.
    pub params: OptimisticParams,
    /// Wei the sequencer bonds at once (0: none yet; it cannot post until it has
    /// `min_sequencer_bond_wei`).
    pub sequencer_bond_wei: u128,
    /// The sequencer's key, which alone may deposit its bond (needed when the bond is not 0).
    pub sequencer_key: Option<PrivateKeySigner>,
}

/// What a deployment needs besides the L1 and the deployer.
#[derive(Clone, Debug)]
pub struct DeployArgs<'a> {
    /// The key folder; the verifier is made from its verifying key.
    pub keys: &'a Path,
    /// The genesis state file.
    pub genesis: &'a Path,
    /// The only address allowed to submit batches.
    pub sequencer: Address,
    /// Who is credited the genesis accounts' exits (the deployer when None).
    pub genesis_owner: Option<Address>,
    /// The queue's timing and limits.
    pub params: QueueParams,
    /// Optimistic settlement; validity (`ZKRollup`) when None.
    pub optimistic: Option<Optimistic>,
}

/// A finished deployment, printed as JSON for the node's `--rollup` and `--first-block`.
#[derive(Clone, Debug, Serialize)]
pub struct Deployed {
    /// "validity" (`ZKRollup`) or "optimistic" (`OptimisticRollup`).
    pub settlement: &'static str,
    /// The verifier's address.
    pub verifier: Address,
    /// The rollup's address.
    pub rollup: Address,
    /// The `PoseidonT5` deployed for `OptimisticRollup`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poseidon: Option<Address>,
    /// The sequencer's bond deposited, wei (optimistic settlement).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequencer_bond_wei: Option<String>,
    /// The block that holds the rollup's deployment: the node's `--first-block`.
    pub block: u64,
    /// The deployment's domain, decimal (transfers are signed in it).
    pub domain: String,
    /// Wei paid in for the genesis balances.
    pub value_wei: String,
    /// Gas the deployments used.
    pub gas_used: u64,
}

/// The rollup's address and its deployment's block from a file `deploy --out` wrote.
pub fn read_deployment(path: &Path) -> Result<(Address, u64)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the deployment file {}", path.display()))?;
    let what = || format!("the deployment file {}", path.display());
    let v: serde_json::Value = serde_json::from_str(&text).with_context(what)?;
    let rollup = v["rollup"].as_str().and_then(|a| a.parse::<Address>().ok()).with_context(|| format!("{}: no `rollup` address", what()))?;
    let block = v["block"].as_u64().with_context(|| format!("{}: no `block` number", what()))?;
    Ok((rollup, block))
}

/// The deployment file's text when `path` exists and names a rollup with code on `l1` (a
/// deployment job run again deploys nothing); None when there is no file, or its rollup has
/// no code here (a fresh chain: deploy again).
pub fn already_deployed(l1: &RpcL1, path: &Path) -> Result<Option<String>> {
    if !path.exists() {
        return Ok(None);
    }
    let (rollup, _) = read_deployment(path)?;
    if l1.code_at(rollup)?.is_empty() {
        eprintln!("{}: the rollup {rollup} has no code on this L1: deploying again", path.display());
        return Ok(None);
    }
    Ok(Some(std::fs::read_to_string(path)?))
}

/// Deploy the verifier and the rollup from `deployer`, waiting for each receipt.
pub fn deploy(l1: &mut RpcL1, deployer: &PrivateKeySigner, a: &DeployArgs) -> Result<Deployed> {
    let info = bundle::load_info(a.keys)?;
    let shape = info.shape();
    let vk = bundle::load_verifying(a.keys)?;
    let text = zkrollup::files::read(a.genesis)?;
    let state = zkrollup::files::parse_state(&text).with_context(|| a.genesis.display().to_string())?;
    if state.depth() != shape.depth {
        bail!("the keys are for depth {}, {} has depth {}", shape.depth, a.genesis.display(), state.depth());
    }
    l1.check_batches_fit_a_block(shape).map_err(|e| anyhow::anyhow!("these keys cannot be deployed: {e}"))?;
    // The bond's depositor, before anything is deployed.
    let bond_from = match &a.optimistic {
        Some(o) if o.sequencer_bond_wei > 0 => match &o.sequencer_key {
            Some(k) if k.address() == a.sequencer => Some((k, o.sequencer_bond_wei)),
            _ => bail!("the sequencer's bond is deposited by the sequencer: set ZKROLLUP_SEQUENCER_KEY to {}'s key (or bond 0)", a.sequencer),
        },
        _ => None,
    };
    let genesis = state.genesis()?;
    let value = U256::from(genesis.total) * U256::from(1_000_000_000u64);
    let balance = l1.balance(deployer.address())?;
    if balance <= value {
        bail!("the deployer {} holds {balance} wei; the genesis balances need {value} wei and gas", deployer.address());
    }

    let (r, verifier) = l1.send_as(deployer, None, verifier_bytecode(&vk, shape)?, U256::ZERO, VERIFIER_GAS)?;
    let verifier = match (r.success, verifier) {
        (true, Some(v)) => v,
        _ => bail!("the verifier's deployment failed in block {}", r.block),
    };
    let rollup_args = RollupArgs {
        verifier,
        genesis,
        genesis_owner: a.genesis_owner.unwrap_or(deployer.address()),
        batch_size: shape.batch_size as u32,
        l1_slots: shape.l1_slots as u32,
        depth: shape.depth as u8,
        sequencer: a.sequencer,
        params: a.params,
    };
    let mut gas_used = r.gas_used;
    let (mut poseidon, mut bonded) = (None, None);
    let (name, code, gas) = match &a.optimistic {
        None => {
            let args = rollup_constructor_args(&rollup_args);
            ("ZKRollup", [bytecode(ZKROLLUP_HEX), args].concat(), ROLLUP_GAS)
        }
        Some(o) => {
            let (rp, p) = l1.send_as(deployer, None, bytecode(POSEIDON_T5_HEX), U256::ZERO, POSEIDON_GAS)?;
            let p = match (rp.success, p) {
                (true, Some(p)) => p,
                _ => bail!("PoseidonT5's deployment failed in block {}", rp.block),
            };
            gas_used += rp.gas_used;
            poseidon = Some(p);
            let args = optimistic_constructor_args(&rollup_args, &o.params, p);
            ("OptimisticRollup", [bytecode(OPTIMISTIC_ROLLUP_HEX), args].concat(), OPTIMISTIC_GAS)
        }
    };
    let (r2, rollup) = l1.send_as(deployer, None, code, value, gas)?;
    let rollup = match (r2.success, rollup) {
        (true, Some(v)) => v,
        _ => bail!("{name}'s deployment reverted in block {} (the verifier is at {verifier})", r2.block),
    };
    gas_used += r2.gas_used;
    if let Some((key, bond_wei)) = bond_from {
        let (rb, _) = l1.send_as(key, Some(rollup), selector("depositSequencerBond()").to_vec(), U256::from(bond_wei), BOND_GAS)?;
        if !rb.success {
            bail!("depositSequencerBond reverted in block {} (the rollup is at {rollup})", rb.block);
        }
        bonded = Some(bond_wei.to_string());
    }
    l1.set_rollup(rollup);
    let domain = l1.domain()?;
    Ok(Deployed {
        settlement: if a.optimistic.is_some() { "optimistic" } else { "validity" },
        verifier,
        rollup,
        poseidon,
        sequencer_bond_wei: bonded,
        block: r2.block,
        domain: zkrollup::decimal::fr_to_decimal(crate::l1_stage::root_of(domain)),
        value_wei: value.to_string(),
        gas_used,
    })
}
