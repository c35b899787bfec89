//! L1 through a real Ethereum node's JSON-RPC (alloy): events by `eth_getLogs`, views by
//! `eth_call`, and `submitBatch` signed here by the sequencer key (EIP-1559) and sent raw, so
//! the node holds the exact bytes it sent and can send them again after any restart.
//!
//! Calls run on a small tokio runtime of this backend's own, since the L1 stage is a plain
//! thread. A failed call is [`L1Error::Unavailable`]: the stage retries it, so the node rides
//! out an L1 node restart.

use alloy::consensus::{SignableTransaction, Transaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::{Decodable2718, Encodable2718};
use alloy::eips::{BlockId, BlockNumberOrTag};
use alloy::network::{ReceiptResponse, TransactionBuilder, TxSignerSync};
use alloy::primitives::{Address, Bytes, TxKind, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;

use super::{BlockRef, Head, L1Error, LoggedRequest, Receipt, RollupView, SignedTx, L1};
use crate::contracts::{decode_l1_request, l1_request_topic, selector, word_at};

/// The most the node pays for gas, in wei: it never signs above these (audit F4: without a cap,
/// 25% a resend compounds without end while a transaction cannot land).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeeCaps {
    /// `maxFeePerGas` at most.
    pub max_fee_per_gas: u128,
    /// `maxPriorityFeePerGas` at most.
    pub max_priority_fee_per_gas: u128,
}

impl Default for FeeCaps {
    /// 500 gwei and 10 gwei: a 2,000,000-gas batch then costs at most 1 ETH, geth's default
    /// `--rpc.txfeecap`.
    fn default() -> FeeCaps {
        FeeCaps { max_fee_per_gas: 500_000_000_000, max_priority_fee_per_gas: 10_000_000_000 }
    }
}

/// A log as `eth_getLogs` gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawLog {
    /// The block that holds it.
    pub block: u64,
    /// The transaction that emitted it.
    pub tx: [u8; 32],
    /// Its index in the block.
    pub index: u64,
    /// Its topics (the event's signature first).
    pub topics: Vec<[u8; 32]>,
    /// Its data.
    pub data: Vec<u8>,
}

/// What a transaction called: its recipient (None: a deployment) and its call data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxCall {
    /// The recipient.
    pub to: Option<Address>,
    /// The call data.
    pub input: Vec<u8>,
}

/// A JSON-RPC L1.
pub struct RpcL1 {
    rt: tokio::runtime::Runtime,
    provider: DynProvider,
    signer: PrivateKeySigner,
    rollup: Address,
    chain_id: u64,
    caps: FeeCaps,
    /// The gas limit of a batch the L1 node cannot estimate: the most one of the keys' shape
    /// can cost (none before [`RpcL1::set_shape`]).
    submit_gas_bound: Option<u64>,
}

/// A failed call, its text without the URL's secrets (see [`super::redact_urls`]).
fn unavailable(e: impl std::fmt::Display) -> L1Error {
    L1Error::Unavailable(super::redact_urls(&e.to_string()))
}

impl RpcL1 {
    /// Connect to `url` for the rollup at `rollup`, sending as the holder of `sequencer_key`
    /// (hex, with or without 0x).
    pub fn connect(url: &str, rollup: Address, sequencer_key: &str) -> Result<RpcL1, L1Error> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| L1Error::Bad(e.to_string()))?;
        let url: alloy::transports::http::reqwest::Url = url.parse().map_err(|e| L1Error::Bad(format!("--rpc {}: {e}", super::redact_url(url))))?;
        let provider = ProviderBuilder::new().connect_http(url).erased();
        let signer: PrivateKeySigner =
            sequencer_key.trim().parse().map_err(|e| L1Error::Bad(format!("sequencer key: {e}")))?;
        let chain_id = rt.block_on(async { provider.get_chain_id().await }).map_err(unavailable)?;
        Ok(RpcL1 { rt, provider, signer, rollup, chain_id, caps: FeeCaps::default(), submit_gas_bound: None })
    }

    /// The sequencer's next nonce counting mined transactions only.
    fn sequencer_latest_nonce(&self) -> Result<u64, L1Error> {
        self.rt.block_on(async { self.provider.get_transaction_count(self.signer.address()).latest().await }).map_err(unavailable)
    }

    /// Sign batches within these fee caps.
    pub fn set_fee_caps(&mut self, caps: FeeCaps) {
        self.caps = caps;
    }

    /// Send batches of this shape: a batch the L1 node cannot estimate gets the most gas one of
    /// the shape can cost (audit F15).
    pub fn set_shape(&mut self, shape: zkrollup::primitives::batch::Shape) {
        self.submit_gas_bound = Some(zkrollup::export::gas::submit_batch_gas_bound(shape));
    }

    /// Point this connection at another rollup (after deploying one).
    pub fn set_rollup(&mut self, rollup: Address) {
        self.rollup = rollup;
    }

    /// The rollup's address.
    pub fn rollup_address(&self) -> Address {
        self.rollup
    }

    /// The sequencer's address (this connection's key's).
    pub fn sequencer(&self) -> Address {
        self.signer.address()
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    fn view(&self, data: Vec<u8>, block: BlockId) -> Result<Vec<u8>, L1Error> {
        let tx = TransactionRequest::default().with_to(self.rollup).with_input(Bytes::from(data));
        // At a block said outright: without one some nodes (anvil) answer for the pending block,
        // where a batch still in the pool already counts.
        Ok(self.rt.block_on(async { self.provider.call(tx).block(block).await }).map_err(unavailable)?.to_vec())
    }

    fn view_u256(&self, signature: &str, arg: Option<U256>) -> Result<U256, L1Error> {
        self.view_u256_at(signature, arg, BlockId::latest())
    }

    fn view_u256_at(&self, signature: &str, arg: Option<U256>, block: BlockId) -> Result<U256, L1Error> {
        let mut data = selector(signature).to_vec();
        if let Some(a) = arg {
            data.extend_from_slice(&a.to_be_bytes::<32>());
        }
        let out = self.view(data, block)?;
        word_at(&out, 0).ok_or_else(|| L1Error::Bad(format!("{signature} returned {} bytes: is {} the rollup?", out.len(), self.rollup)))
    }

    /// An address's balance in wei.
    pub fn balance(&self, who: Address) -> Result<U256, L1Error> {
        self.rt.block_on(async { self.provider.get_balance(who).await }).map_err(unavailable)
    }

    /// Transactions `who` sent that are in blocks `0 ..= head` (an audit: the sequencer sends
    /// one per batch), each with whether it succeeded.
    pub fn sent_by(&self, who: Address) -> Result<Vec<bool>, L1Error> {
        let head = self.rt.block_on(async { self.provider.get_block_number().await }).map_err(unavailable)?;
        let mut out = Vec::new();
        for n in 0..=head {
            let block = self
                .rt
                .block_on(async { self.provider.get_block_by_number(n.into()).full().await })
                .map_err(unavailable)?
                .ok_or_else(|| unavailable(format!("block {n} missing")))?;
            for tx in block.transactions.txns() {
                if tx.inner.signer() == who {
                    let r = self
                        .rt
                        .block_on(async { self.provider.get_transaction_receipt(*tx.inner.tx_hash()).await })
                        .map_err(unavailable)?;
                    out.push(r.is_some_and(|r| r.status()));
                }
            }
        }
        Ok(out)
    }

    /// An address-returning view of the rollup (`sequencer()`, `verifier()`).
    pub fn address_view(&self, signature: &str) -> Result<Address, L1Error> {
        Ok(Address::from_word(self.view_u256(signature, None)?.into()))
    }

    /// A `uint256` view of any contract, at the latest block.
    pub fn view_of(&self, contract: Address, signature: &str) -> Result<U256, L1Error> {
        let tx = TransactionRequest::default().with_to(contract).with_input(Bytes::from(selector(signature).to_vec()));
        let out = self.rt.block_on(async { self.provider.call(tx).block(BlockId::latest()).await }).map_err(unavailable)?;
        word_at(&out, 0).ok_or_else(|| L1Error::Bad(format!("{signature} of {contract} returned {} bytes", out.len())))
    }

    /// The code at `address`.
    pub fn code_at(&self, address: Address) -> Result<Vec<u8>, L1Error> {
        Ok(self.rt.block_on(async { self.provider.get_code_at(address).await }).map_err(unavailable)?.to_vec())
    }

    /// The deployed contracts against this node's configuration (audit F18), so that a mistake
    /// is refused at start rather than found as a reverted batch: the rollup's sequencer is this
    /// key's address, its shape and its verifier's are the keys', the verifier's code holds the
    /// verifying key's words, exodus has not begun, and the dearest batch of the shape fits in
    /// a block.
    pub fn check_deployment(&self, vk: &zkrollup::prover::VerifyingKey, shape: zkrollup::primitives::batch::Shape) -> Result<(), String> {
        let e = |e: L1Error| e.to_string();
        let sequencer = self.address_view("sequencer()").map_err(e)?;
        if sequencer != self.signer.address() {
            return Err(format!("the rollup's sequencer is {sequencer}; ZKROLLUP_SEQUENCER_KEY is {}'s", self.signer.address()));
        }
        let verifier = self.address_view("verifier()").map_err(e)?;
        for contract in [self.rollup, verifier] {
            for (view, want) in [("batchSize()", shape.batch_size), ("l1Slots()", shape.l1_slots), ("depth()", shape.depth)] {
                let got = self.view_of(contract, view).map_err(e)?;
                if got != U256::from(want) {
                    return Err(format!("{view} of {contract} is {got}; the keys' circuit has {want}"));
                }
            }
        }
        let code = self.code_at(verifier).map_err(e)?;
        let words = zkrollup::export::solidity::verifier_key_words(vk).map_err(|e| e.to_string())?;
        for (name, word) in words {
            let push = [&[0x7f][..], &word].concat();
            if !code.windows(push.len()).any(|w| w == push.as_slice()) {
                return Err(format!("the verifier at {verifier} is not for these keys: it lacks the key's word {name}"));
            }
        }
        if self.view_u256("exodusMode()", None).map_err(e)? != U256::ZERO {
            return Err("the rollup is in exodus mode: no batch can land any more (users exit on L1)".into());
        }
        self.check_batches_fit_a_block(shape)
    }

    /// `domain()`.
    pub fn domain(&self) -> Result<U256, L1Error> {
        self.view_u256("domain()", None)
    }

    /// `maturity()` in seconds.
    pub fn maturity(&self) -> Result<u64, L1Error> {
        Ok(self.view_u256("maturity()", None)?.saturating_to())
    }

    /// `exodusDelay()` in seconds.
    pub fn exodus_delay(&self) -> Result<u64, L1Error> {
        Ok(self.view_u256("exodusDelay()", None)?.saturating_to())
    }

    /// Whether the dearest batch of `shape` fits in L1's latest block (audit F15: a batch an
    /// attacker fills with payouts to owners never credited before must still land).
    pub fn check_batches_fit_a_block(&self, shape: zkrollup::primitives::batch::Shape) -> Result<(), String> {
        let bound = zkrollup::export::gas::submit_batch_gas_bound(shape);
        let block = self.rt.block_on(async { self.provider.get_block_by_number(BlockNumberOrTag::Latest).await }).map_err(|e| unavailable(e).to_string())?;
        let block_gas = block.ok_or("L1 has no latest block")?.header.gas_limit;
        if bound > block_gas {
            return Err(format!(
                "a batch of N = {}, M = {} can cost up to {bound} gas, over L1's block gas limit {block_gas}: it could never land",
                shape.batch_size, shape.l1_slots
            ));
        }
        Ok(())
    }

    /// The gas limit for `submitBatch(calldata)` sent at `nonce`: the L1 node's estimate from
    /// the sequencer at the latest block, with a quarter more as margin (audit F15: a fixed
    /// limit can be too small for a wide batch). When the batch is next to land (no earlier
    /// transaction of the sequencer's waits), a call that would revert is refused here, before
    /// any gas is paid for it, with the contract's error; behind batches still in flight the
    /// estimate cannot see, the most a batch of the shape can cost is used
    /// ([`zkrollup::export::gas::submit_batch_gas_bound`]).
    fn submit_gas(&self, calldata: &[u8], nonce: u64) -> Result<u64, L1Error> {
        let call = TransactionRequest::default()
            .with_from(self.signer.address())
            .with_to(self.rollup)
            .with_input(Bytes::from(calldata.to_vec()));
        match self.rt.block_on(async { self.provider.estimate_gas(call).block(BlockId::latest()).await }) {
            Ok(gas) => Ok(gas + gas / 4 + 20_000),
            Err(e) => match e.as_error_resp() {
                Some(_) if nonce > self.sequencer_latest_nonce()? => {
                    self.submit_gas_bound.ok_or_else(|| L1Error::Bad("RpcL1::set_shape was not called: no gas bound for a batch".into()))
                }
                Some(resp) => Err(L1Error::Refused {
                    kind: "would_revert",
                    message: format!(
                        "submitBatch would revert: {} (data {})",
                        resp.message,
                        resp.data.as_ref().map_or("none".to_string(), |d| d.get().to_string())
                    ),
                }),
                None => Err(unavailable(e)),
            },
        }
    }

    /// Sign and send any transaction from `signer` (deployments and user calls, for tools and
    /// tests), and wait for its receipt: (receipt, created contract).
    pub fn send_as(
        &self,
        signer: &PrivateKeySigner,
        to: Option<Address>,
        data: Vec<u8>,
        value: U256,
        gas_limit: u64,
    ) -> Result<(Receipt, Option<Address>), L1Error> {
        let nonce = self.rt.block_on(async { self.provider.get_transaction_count(signer.address()).pending().await }).map_err(unavailable)?;
        let raw = self.sign(signer, to.map_or(TxKind::Create, TxKind::Call), data, value, gas_limit, nonce, None)?;
        let pending = self.rt.block_on(self.provider.send_raw_transaction(&raw.raw)).map_err(unavailable)?;
        let r = self.rt.block_on(pending.get_receipt()).map_err(unavailable)?;
        let receipt = Receipt {
            block: r.block_number().unwrap_or(0),
            success: r.status(),
            gas_used: r.gas_used(),
            revert: vec![],
        };
        Ok((receipt, r.contract_address()))
    }

    /// Sign calls `(to, data, value, gas limit)` from `signer` at consecutive nonces, broadcast
    /// them all, then wait for every receipt (tools: many deposits at once).
    pub fn send_all_as(&self, signer: &PrivateKeySigner, calls: Vec<(Address, Vec<u8>, U256, u64)>) -> Result<Vec<Receipt>, L1Error> {
        let first = self.rt.block_on(async { self.provider.get_transaction_count(signer.address()).pending().await }).map_err(unavailable)?;
        let mut pending = Vec::with_capacity(calls.len());
        for (i, (to, data, value, gas)) in calls.into_iter().enumerate() {
            let tx = self.sign(signer, TxKind::Call(to), data, value, gas, first + i as u64, None)?;
            pending.push(self.rt.block_on(self.provider.send_raw_transaction(&tx.raw)).map_err(unavailable)?);
        }
        pending
            .into_iter()
            .map(|p| {
                let r = self.rt.block_on(p.get_receipt()).map_err(unavailable)?;
                Ok(Receipt { block: r.block_number().unwrap_or(0), success: r.status(), gas_used: r.gas_used(), revert: vec![] })
            })
            .collect()
    }

    /// Logs of the rollup in blocks `from ..= to` whose first topic is one of `topics`, in
    /// chain order (a watcher's events).
    pub fn logs(&self, topics: &[[u8; 32]], from: u64, to: u64) -> Result<Vec<RawLog>, L1Error> {
        let filter = Filter::new()
            .address(self.rollup)
            .event_signature(topics.iter().map(|t| B256::from(*t)).collect::<Vec<_>>())
            .from_block(from)
            .to_block(to);
        let logs = self.rt.block_on(self.provider.get_logs(&filter)).map_err(unavailable)?;
        let mut out = logs
            .into_iter()
            .map(|log| {
                let (Some(block), Some(tx), Some(index)) = (log.block_number, log.transaction_hash, log.log_index) else {
                    return Err(L1Error::Bad("a log without its block, transaction or index".into()));
                };
                let topics = log.topics().iter().map(|t| t.0).collect();
                Ok(RawLog { block, tx: tx.0, index, topics, data: log.data().data.to_vec() })
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by_key(|l| (l.block, l.index));
        Ok(out)
    }

    /// A mined transaction's recipient and call data (None: the L1 node does not know it).
    pub fn transaction_call(&self, hash: [u8; 32]) -> Result<Option<TxCall>, L1Error> {
        let tx = self.rt.block_on(async { self.provider.get_transaction_by_hash(B256::from(hash)).await }).map_err(unavailable)?;
        Ok(tx.map(|t| TxCall { to: t.to(), input: t.input().to_vec() }))
    }

    /// A view of the rollup at the latest block: its raw answer.
    pub fn call_view(&self, data: Vec<u8>) -> Result<Vec<u8>, L1Error> {
        self.view(data, BlockId::latest())
    }

    /// Send a call to the rollup from this connection's key and wait up to `wait` for its
    /// receipt (None: not mined yet). It is signed at the key's next mined nonce, so a call sent
    /// again while `replaces` (the last one sent) waits replaces it at a higher fee. A call that
    /// would revert is refused before signing ([`L1Error::Refused`], kind `would_revert`, with
    /// the contract's error), so nothing is paid for a move someone else already made.
    pub fn send_call(&self, data: Vec<u8>, value: U256, replaces: Option<&SignedTx>, wait: std::time::Duration) -> Result<(SignedTx, Option<Receipt>), L1Error> {
        let from = self.signer.address();
        let call = TransactionRequest::default().with_from(from).with_to(self.rollup).with_value(value).with_input(Bytes::from(data.clone()));
        let gas = match self.rt.block_on(async { self.provider.estimate_gas(call).block(BlockId::latest()).await }) {
            Ok(gas) => gas + gas / 4 + 20_000,
            Err(e) => match e.as_error_resp() {
                Some(resp) => {
                    let data = resp.data.as_ref().map_or("none".to_string(), |d| d.get().to_string());
                    return Err(L1Error::Refused { kind: "would_revert", message: format!("{} (data {data})", resp.message) });
                }
                None => return Err(unavailable(e)),
            },
        };
        let nonce = self.rt.block_on(async { self.provider.get_transaction_count(from).latest().await }).map_err(unavailable)?;
        let replaces = replaces.filter(|r| r.nonce == nonce);
        let tx = self.sign(&self.signer, TxKind::Call(self.rollup), data, value, gas, nonce, replaces)?;
        self.broadcast_raw(&tx)?;
        let deadline = std::time::Instant::now() + wait;
        loop {
            let r = self.rt.block_on(async { self.provider.get_transaction_receipt(B256::from(tx.hash)).await }).map_err(unavailable)?;
            if let Some(r) = r {
                let receipt = Receipt { block: r.block_number().unwrap_or(0), success: r.status(), gas_used: r.gas_used(), revert: vec![] };
                return Ok((tx, Some(receipt)));
            }
            if std::time::Instant::now() >= deadline {
                return Ok((tx, None));
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// Broadcast a signed transaction; one already in the pool is no error.
    fn broadcast_raw(&self, tx: &SignedTx) -> Result<(), L1Error> {
        match self.rt.block_on(self.provider.send_raw_transaction(&tx.raw)) {
            Ok(_) => Ok(()),
            Err(e) if e.as_error_resp().is_some() => {
                let message = super::redact_urls(&e.to_string());
                match super::refusal_kind(&message) {
                    // In the pool already: the receipt will tell.
                    None => Ok(()),
                    Some(kind) => Err(L1Error::Refused { kind, message }),
                }
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn sign(
        &self,
        signer: &PrivateKeySigner,
        to: TxKind,
        data: Vec<u8>,
        value: U256,
        gas_limit: u64,
        nonce: u64,
        replaces: Option<&SignedTx>,
    ) -> Result<SignedTx, L1Error> {
        let fees = self.rt.block_on(self.provider.estimate_eip1559_fees()).map_err(unavailable)?;
        let caps = self.caps;
        let (mut max_fee, mut priority) = (fees.max_fee_per_gas.min(caps.max_fee_per_gas), fees.max_priority_fee_per_gas);
        if let Some(old) = replaces {
            // A replacement must outbid the transaction it replaces (nodes ask +10% of both
            // fees), whatever the estimate did since: 25% over the higher of the two, within the
            // caps. Only a held transaction needs outbidding: one the L1 node refused (no funds,
            // a full pool) is signed afresh at the estimate, so refusals do not compound.
            let held = self.rt.block_on(async { self.provider.get_transaction_by_hash(B256::from(old.hash)).await }).map_err(unavailable)?;
            if held.is_some() {
                let old = TxEnvelope::decode_2718(&mut &old.raw[..])
                    .map_err(|e| L1Error::Bad(format!("the stored transaction does not decode: {e}")))?;
                let bump = |x: u128| x + x.div_ceil(4);
                let (old_fee, old_priority) = (old.max_fee_per_gas(), old.max_priority_fee_per_gas().unwrap_or(0));
                max_fee = bump(fees.max_fee_per_gas.max(old_fee));
                priority = bump(priority.max(old_priority));
                if max_fee > caps.max_fee_per_gas || priority.min(max_fee) > caps.max_priority_fee_per_gas {
                    return Err(L1Error::Refused {
                        kind: "fee_cap",
                        message: format!(
                            "the transaction at nonce {nonce} cannot be replaced within the fee caps (it offers {old_fee} and \
                             {old_priority} wei a gas; a replacement needs {max_fee} and {priority}, over \
                             --max-fee-per-gas {} or --max-priority-fee-per-gas {}): waiting for it",
                            caps.max_fee_per_gas, caps.max_priority_fee_per_gas
                        ),
                    });
                }
            }
        }
        let priority = priority.min(max_fee).min(caps.max_priority_fee_per_gas);
        let mut tx = TxEip1559 {
            chain_id: self.chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: priority,
            to,
            value,
            access_list: Default::default(),
            input: Bytes::from(data),
        };
        let signature = signer.sign_transaction_sync(&mut tx).map_err(|e| L1Error::Bad(format!("signing: {e}")))?;
        let envelope = TxEnvelope::from(tx.into_signed(signature));
        Ok(SignedTx { hash: envelope.tx_hash().0, raw: envelope.encoded_2718(), nonce })
    }
}

impl L1 for RpcL1 {
    fn head(&mut self) -> Result<Head, L1Error> {
        let block = self
            .rt
            .block_on(async { self.provider.get_block_by_number(BlockNumberOrTag::Latest).await })
            .map_err(unavailable)?
            .ok_or_else(|| unavailable("no latest block"))?;
        Ok(Head { number: block.header.number, timestamp: block.header.timestamp })
    }

    fn l1_requests(&mut self, from: u64, to: u64) -> Result<Vec<LoggedRequest>, L1Error> {
        let filter = Filter::new()
            .address(self.rollup)
            .event_signature(B256::from(l1_request_topic()))
            .from_block(from)
            .to_block(to);
        let logs = self.rt.block_on(self.provider.get_logs(&filter)).map_err(unavailable)?;
        logs.into_iter()
            .map(|log| {
                let topics: Vec<[u8; 32]> = log.topics().iter().map(|t| t.0).collect();
                let block = log.block_number.ok_or_else(|| L1Error::Bad("a log without a block".into()))?;
                let (k, record) = decode_l1_request(&topics, &log.data().data)
                    .ok_or_else(|| L1Error::Bad(format!("malformed L1Request log in block {block}")))?;
                Ok(LoggedRequest { k, record, block })
            })
            .collect()
    }

    fn rollup(&mut self) -> Result<RollupView, L1Error> {
        // The four views at one block, so a batch landing between two calls cannot mix the
        // state before it with the state after (audit F16).
        let head = self.rt.block_on(async { self.provider.get_block_number().await }).map_err(unavailable)?;
        self.rollup_at(head)
    }

    fn rollup_at(&mut self, block: u64) -> Result<RollupView, L1Error> {
        let at = BlockId::number(block);
        Ok(RollupView {
            state_root: self.view_u256_at("stateRoot()", None, at)?,
            batch_count: self.view_u256_at("batchCount()", None, at)?.saturating_to(),
            consumed: self.view_u256_at("consumed()", None, at)?.saturating_to(),
            request_count: self.view_u256_at("requestCount()", None, at)?.saturating_to(),
        })
    }

    fn block_at(&mut self, number: u64) -> Result<Option<BlockRef>, L1Error> {
        let block = self.rt.block_on(async { self.provider.get_block_by_number(BlockNumberOrTag::Number(number)).await });
        Ok(block.map_err(unavailable)?.map(|b| BlockRef { number: b.header.number, hash: b.header.hash.0 }))
    }

    fn finalized(&mut self) -> Result<Option<BlockRef>, L1Error> {
        match self.rt.block_on(async { self.provider.get_block_by_number(BlockNumberOrTag::Finalized).await }) {
            Ok(b) => Ok(b.map(|b| BlockRef { number: b.header.number, hash: b.header.hash.0 })),
            // An answer that refuses the tag: a node (or chain) without finality.
            Err(e) if e.as_error_resp().is_some() => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn request_count_at(&mut self, block: u64) -> Result<u64, L1Error> {
        Ok(self.view_u256_at("requestCount()", None, BlockId::number(block))?.saturating_to())
    }

    fn request_chain_at(&mut self, k: u64, block: u64) -> Result<[u8; 24], L1Error> {
        let word = self.view_u256_at("requestAt(uint256)", Some(U256::from(k)), BlockId::number(block))?;
        Ok(word.to_be_bytes::<32>()[..24].try_into().expect("24 of 32 bytes"))
    }

    fn request_time_at(&mut self, k: u64, block: u64) -> Result<u64, L1Error> {
        let mut data = selector("requestAt(uint256)").to_vec();
        data.extend_from_slice(&U256::from(k).to_be_bytes::<32>());
        let out = self.view(data, BlockId::number(block))?;
        let word = word_at(&out, 1).ok_or_else(|| L1Error::Bad(format!("requestAt returned {} bytes: is {} the rollup?", out.len(), self.rollup)))?;
        Ok(word.saturating_to())
    }

    fn sequencer_nonce(&mut self) -> Result<u64, L1Error> {
        self.sequencer_latest_nonce()
    }

    fn sign_batch(&mut self, calldata: &[u8], nonce: u64, replaces: Option<&SignedTx>) -> Result<SignedTx, L1Error> {
        let signer = self.signer.clone();
        let gas = self.submit_gas(calldata, nonce)?;
        self.sign(&signer, TxKind::Call(self.rollup), calldata.to_vec(), U256::ZERO, gas, nonce, replaces)
    }

    fn broadcast(&mut self, tx: &SignedTx) -> Result<(), L1Error> {
        self.broadcast_raw(tx)
    }

    fn receipt(&mut self, hash: [u8; 32]) -> Result<Option<Receipt>, L1Error> {
        let r = self.rt.block_on(async { self.provider.get_transaction_receipt(B256::from(hash)).await }).map_err(unavailable)?;
        Ok(r.map(|r| Receipt {
            block: r.block_number().unwrap_or(0),
            success: r.status(),
            gas_used: r.gas_used(),
            revert: vec![],
        }))
    }

    fn post_hold(&mut self, confirmed: u64) -> Result<Option<String>, L1Error> {
        // Read at one block, so a resolve between two reads cannot mix them.
        let at = BlockId::number(self.rt.block_on(async { self.provider.get_block_number().await }).map_err(unavailable)?);
        let count = self.view_u256_at("batchCount()", None, at)?.saturating_to();
        let open = self.view_u256_at("openChallenges()", None, at)?;
        let (bond, min) = (self.view_u256_at("sequencerBond()", None, at)?, self.view_u256_at("minSequencerBond()", None, at)?);
        Ok(super::post_hold_reason(confirmed, count, open, bond, min))
    }

    fn sign_cancel(&mut self, nonce: u64, replaces: &SignedTx) -> Result<SignedTx, L1Error> {
        let signer = self.signer.clone();
        self.sign(&signer, TxKind::Call(signer.address()), vec![], U256::ZERO, 21_000, nonce, Some(replaces))
    }
}
