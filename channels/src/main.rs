//! `zkrollup-channel` (`zkrollup channel ARGS`): payment channels on a real L1 from the command
//! line. The party's key comes from `ZKROLLUP_CHANNEL_KEY` only; every answer is one JSON object
//! on stdout; a refused voucher or call exits 1 naming why.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use zkrollup_channels::contract::{
    claim_and_close_calldata, claim_calldata, creation_code, extendCall, open_calldata, refundCall, requestCloseCall, topUpCall,
};
use zkrollup_channels::l1::{ChannelsL1, L1Error, OnchainChannel};
use zkrollup_channels::payee::{Payee, PayeeError};
use zkrollup_channels::payer::{Payer, SignedVoucher};
use zkrollup_channels::rpc::RpcChannels;

/// The environment variable holding the party's private key (hex).
const KEY_VAR: &str = "ZKROLLUP_CHANNEL_KEY";

#[derive(Parser)]
#[command(name = "zkrollup-channel", version, about = "One-way ETH payment channels (SPEC-channels) on a real L1")]
struct Cli {
    /// The L1 node's JSON-RPC URL.
    #[arg(long, global = true, default_value = "http://127.0.0.1:8545")]
    rpc: String,
    /// The PaymentChannels contract (not for `deploy`).
    #[arg(long, global = true)]
    contract: Option<Address>,
    /// Blocks a state must be under to count (1: the head).
    #[arg(long, global = true, default_value_t = 1)]
    confirmations: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Deploy PaymentChannels: {"contract", "block", "chain_id"}.
    Deploy,
    /// Open a channel (the key's address is the sender) with --deposit wei: {"channel", ...}.
    Open {
        #[arg(long)]
        recipient: Address,
        /// A hot key's address that signs the vouchers instead of the sender.
        #[arg(long)]
        signer: Option<Address>,
        #[arg(long)]
        deposit: U256,
        /// Seconds until expiry, from the head's time.
        #[arg(long)]
        duration: u64,
        /// Seconds of notice a close request gives the recipient (1 hour to 30 days).
        #[arg(long)]
        settle_delay: u32,
    },
    /// Add --amount wei to a channel's deposit.
    TopUp {
        #[arg(long)]
        channel: u64,
        #[arg(long)]
        amount: U256,
    },
    /// Move a channel's expiry later (the sender).
    Extend {
        #[arg(long)]
        channel: u64,
        #[arg(long)]
        expiry: u64,
    },
    /// Ask to close a channel (the sender): expiry comes to at most the settle delay from now.
    RequestClose {
        #[arg(long)]
        channel: u64,
    },
    /// Sign the next voucher for --amount wei paid now (the payer; its total kept in --store).
    Pay {
        #[arg(long)]
        channel: u64,
        #[arg(long)]
        amount: U256,
        /// The payer's store (its totals).
        #[arg(long)]
        store: PathBuf,
    },
    /// Check a voucher against the chain and keep it (the payee): {"increment", ...}.
    Accept {
        /// The voucher, as `pay` prints it.
        #[arg(long)]
        voucher: String,
        /// The payee's store (its best vouchers).
        #[arg(long)]
        store: PathBuf,
        /// Seconds the payee needs to get a claim mined.
        #[arg(long, default_value_t = 3600)]
        margin: u64,
    },
    /// Redeem the best voucher kept in --store, or --voucher.
    Claim(Redeem),
    /// Redeem (the best voucher in --store, --voucher, or none) and close (the recipient).
    ClaimAndClose(Redeem),
    /// After expiry: the rest back to the sender, the channel deleted.
    Refund {
        #[arg(long)]
        channel: u64,
    },
    /// A channel as the confirmed blocks have it.
    Status {
        #[arg(long)]
        channel: u64,
    },
    /// The payee, running: claims each channel in --store a margin before its expiry, or once
    /// --threshold wei wait; one JSON line a claim.
    Watch {
        #[arg(long)]
        store: PathBuf,
        #[arg(long, default_value_t = 3600)]
        margin: u64,
        /// Unclaimed wei past which a channel is claimed at once (default: never for that).
        #[arg(long, default_value_t = U256::MAX)]
        threshold: U256,
        #[arg(long, default_value_t = 1000)]
        poll_ms: u64,
    },
}

/// A channel and the voucher to redeem on it.
#[derive(clap::Args)]
struct Redeem {
    #[arg(long)]
    channel: u64,
    /// The payee's store: its best voucher.
    #[arg(long, conflicts_with = "voucher")]
    store: Option<PathBuf>,
    /// A voucher, as `pay` prints it.
    #[arg(long)]
    voucher: Option<String>,
}

/// Why the command stopped: exit 1 and the reason (2 is clap's).
fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn key() -> Result<PrivateKeySigner> {
    let text = std::env::var(KEY_VAR).with_context(|| format!("set {KEY_VAR} to the party's private key (hex)"))?;
    text.trim().parse().with_context(|| format!("{KEY_VAR} is not a private key"))
}

fn contract(cli: &Cli) -> Result<Address> {
    cli.contract.context("--contract ADDRESS is needed")
}

fn voucher_json(v: &SignedVoucher) -> Value {
    json!({"channel": v.channel, "cumulative": v.cumulative.to_string(), "signature": format!("0x{}", hex::encode(&v.signature))})
}

fn parse_voucher(text: &str) -> Result<SignedVoucher> {
    let v: Value = serde_json::from_str(text).context("--voucher is not JSON")?;
    let channel = v["channel"].as_u64().context("the voucher has no channel")?;
    let cumulative: U256 = v["cumulative"].as_str().context("the voucher has no cumulative")?.parse().context("cumulative")?;
    let signature = hex::decode(v["signature"].as_str().context("the voucher has no signature")?.trim_start_matches("0x")).context("signature")?;
    Ok(SignedVoucher { channel, cumulative, signature })
}

fn channel_json(id: u64, c: &OnchainChannel, now: u64) -> Value {
    json!({
        "channel": id, "open": c.is_live(), "sender": c.sender.to_string(), "recipient": c.recipient.to_string(),
        "signer": c.voucher_signer().to_string(), "deposit": c.deposit.to_string(), "claimed": c.claimed.to_string(),
        "expiry": c.expiry, "settle_delay": c.settle_delay, "now": now,
    })
}

/// The voucher to redeem: given, or the best in the payee's store (None: none).
fn redeemable(l1: &RpcChannels, channel: u64, store: Option<&PathBuf>, voucher: Option<&String>) -> Result<Option<(U256, Vec<u8>)>> {
    if let Some(text) = voucher {
        let v = parse_voucher(text)?;
        if v.channel != channel {
            bail!("the voucher is for channel {}, not {channel}", v.channel);
        }
        return Ok(Some((v.cumulative, v.signature)));
    }
    let Some(path) = store else { return Ok(None) };
    let payee = Payee::open(path, key()?.address(), l1.chain_id(), l1.contract(), 0, U256::MAX)?;
    Ok(payee.best(channel)?)
}

fn run(cli: Cli) -> Result<Value> {
    let url = cli.rpc.clone();
    match &cli.command {
        Command::Deploy => {
            let mut l1 = RpcChannels::connect(&url, Some(key()?), Address::ZERO, 1)?;
            let mined = l1.transact(None, creation_code(), U256::ZERO)?;
            let at = mined.created.context("no contract created")?;
            Ok(json!({"contract": at.to_string(), "block": mined.block, "chain_id": l1.chain_id()}))
        }
        Command::Open { recipient, signer, deposit, duration, settle_delay } => {
            let mut l1 = RpcChannels::connect(&url, Some(key()?), contract(&cli)?, cli.confirmations)?;
            let expiry = l1.now()? + duration;
            let mined = l1.transact(Some(contract(&cli)?), open_calldata(*recipient, signer.unwrap_or(Address::ZERO), expiry, *settle_delay), *deposit)?;
            let id = mined.topics.iter().find_map(|t| t.get(1)).map(|w| U256::from_be_bytes(*w).to::<u64>()).context("no ChannelOpened log")?;
            Ok(json!({"channel": id, "expiry": expiry, "block": mined.block}))
        }
        Command::TopUp { channel, amount } => send(&cli, topUpCall { id: U256::from(*channel) }.abi_encode(), *amount),
        Command::Extend { channel, expiry } => send(&cli, extendCall { id: U256::from(*channel), expiry: *expiry }.abi_encode(), U256::ZERO),
        Command::RequestClose { channel } => send(&cli, requestCloseCall { id: U256::from(*channel) }.abi_encode(), U256::ZERO),
        Command::Refund { channel } => send(&cli, refundCall { id: U256::from(*channel) }.abi_encode(), U256::ZERO),
        Command::Pay { channel, amount, store } => {
            let k = key()?;
            let mut l1 = RpcChannels::connect(&url, None, contract(&cli)?, cli.confirmations)?;
            let c = l1.channel(*channel)?;
            if !c.is_live() {
                bail!("channel {channel} is not open");
            }
            if c.voucher_signer() != k.address() {
                bail!("channel {channel}'s vouchers are signed by {}, not by {KEY_VAR}'s {}", c.voucher_signer(), k.address());
            }
            let payer = Payer::open(store, k, l1.chain_id(), l1.contract())?;
            Ok(voucher_json(&payer.pay(*channel, *amount, c.deposit)?))
        }
        Command::Accept { voucher, store, margin } => {
            let me = key()?.address();
            let mut l1 = RpcChannels::connect(&url, None, contract(&cli)?, cli.confirmations)?;
            let payee = Payee::open(store, me, l1.chain_id(), l1.contract(), *margin, U256::MAX)?;
            match payee.accept(&mut l1, &parse_voucher(voucher)?) {
                Ok(a) => Ok(json!({"channel": a.channel, "cumulative": a.cumulative.to_string(), "increment": a.increment.to_string()})),
                Err(PayeeError::Refused(why)) => bail!("voucher refused: {why}"),
                Err(e) => Err(e.into()),
            }
        }
        Command::Claim(Redeem { channel, store, voucher }) => {
            let mut l1 = RpcChannels::connect(&url, Some(key()?), contract(&cli)?, cli.confirmations)?;
            let (amount, signature) = redeemable(&l1, *channel, store.as_ref(), voucher.as_ref())?.context("no voucher to claim")?;
            l1.send(claim_calldata(*channel, amount, &signature), U256::ZERO)?;
            Ok(json!({"channel": channel, "claimed_up_to": amount.to_string()}))
        }
        Command::ClaimAndClose(Redeem { channel, store, voucher }) => {
            let mut l1 = RpcChannels::connect(&url, Some(key()?), contract(&cli)?, cli.confirmations)?;
            let (amount, signature) = redeemable(&l1, *channel, store.as_ref(), voucher.as_ref())?.unwrap_or((U256::ZERO, vec![]));
            l1.send(claim_and_close_calldata(*channel, amount, &signature), U256::ZERO)?;
            Ok(json!({"channel": channel, "closed": true, "claimed_up_to": amount.to_string()}))
        }
        Command::Status { channel } => {
            let mut l1 = RpcChannels::connect(&url, None, contract(&cli)?, cli.confirmations)?;
            let c = l1.channel(*channel)?;
            Ok(channel_json(*channel, &c, l1.now()?))
        }
        Command::Watch { store, margin, threshold, poll_ms } => {
            let k = key()?;
            let mut l1 = RpcChannels::connect(&url, Some(k.clone()), contract(&cli)?, cli.confirmations)?;
            let payee = Payee::open(store, k.address(), l1.chain_id(), l1.contract(), *margin, *threshold)?;
            let mut said = None;
            loop {
                match payee.claim_due(&mut l1) {
                    Ok(claimed) => {
                        said = None;
                        for (id, amount) in claimed {
                            println!("{}", json!({"claimed": id, "up_to": amount.to_string()}));
                        }
                    }
                    // L1 down or a claim refused: said once, tried again next round.
                    Err(e @ (PayeeError::L1(L1Error::Unavailable(_)) | PayeeError::L1(L1Error::Reverted(_)))) => {
                        let text = e.to_string();
                        if said.as_ref() != Some(&text) {
                            eprintln!("zkrollup-channel watch: {text}");
                            said = Some(text);
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
                std::thread::sleep(Duration::from_millis(*poll_ms));
            }
        }
    }
}

/// Send a call from the key to the contract: {"block"}.
fn send(cli: &Cli, data: Vec<u8>, value: U256) -> Result<Value> {
    let mut l1 = RpcChannels::connect(&cli.rpc, Some(key()?), contract(cli)?, cli.confirmations)?;
    let at = contract(cli)?;
    let mined = l1.transact(Some(at), data, value)?;
    Ok(json!({"block": mined.block}))
}
