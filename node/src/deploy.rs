//! Deploying a rollup on a real L1 (`zkrollup node deploy`): the key folder's verifier, then
//! `ZKRollup` with the genesis state's root, its total paid in, the sequencer and the queue
//! parameters, from the committed bytecode the node itself checks against.

use std::path::Path;

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use zkrollup::prover::bundle;

use crate::contracts::{bytecode, rollup_constructor_args, verifier_bytecode, QueueParams, RollupArgs, ZKROLLUP_HEX};
use crate::l1::rpc::RpcL1;

/// Gas for the verifier's deployment (about 0.9 M at any shape).
const VERIFIER_GAS: u64 = 3_000_000;
/// Gas for `ZKRollup`'s deployment with its `PoseidonT5` (8.16 M measured for v2.1 by
/// `examples/gas_report.rs`; v2's 7.98 M was within 2% of the old 8 M limit), with a margin,
/// well under a block's 30 M.
const ROLLUP_GAS: u64 = 10_000_000;

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
}

/// A finished deployment, printed as JSON for the node's `--rollup` and `--first-block`.
#[derive(Clone, Debug, Serialize)]
pub struct Deployed {
    /// The verifier's address.
    pub verifier: Address,
    /// `ZKRollup`'s address.
    pub rollup: Address,
    /// The block that holds `ZKRollup`'s deployment: the node's `--first-block`.
    pub block: u64,
    /// The deployment's domain, decimal (transfers are signed in it).
    pub domain: String,
    /// Wei paid in for the genesis balances.
    pub value_wei: String,
    /// Gas the two deployments used.
    pub gas_used: u64,
}

/// Deploy the verifier and `ZKRollup` from `deployer`, waiting for each receipt.
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
    let args = rollup_constructor_args(&RollupArgs {
        verifier,
        genesis,
        genesis_owner: a.genesis_owner.unwrap_or(deployer.address()),
        batch_size: shape.batch_size as u32,
        l1_slots: shape.l1_slots as u32,
        depth: shape.depth as u8,
        sequencer: a.sequencer,
        params: a.params,
    });
    let (r2, rollup) = l1.send_as(deployer, None, [bytecode(ZKROLLUP_HEX), args].concat(), value, ROLLUP_GAS)?;
    let rollup = match (r2.success, rollup) {
        (true, Some(v)) => v,
        _ => bail!("ZKRollup's deployment reverted in block {} (the verifier is at {verifier})", r2.block),
    };
    l1.set_rollup(rollup);
    let domain = l1.domain()?;
    Ok(Deployed {
        verifier,
        rollup,
        block: r2.block,
        domain: zkrollup::decimal::fr_to_decimal(crate::l1_stage::root_of(domain)),
        value_wei: value.to_string(),
        gas_used: r.gas_used + r2.gas_used,
    })
}
