//! [`ChannelsL1`] through a real Ethereum node's JSON-RPC (alloy): views read at the newest
//! confirmed block (`confirmations` below the head, 1 being the head itself), transactions
//! signed by the party's key with the node's nonce, gas and fee estimates, and followed to
//! their receipt. A call the contract would refuse fails at its estimate, with the contract's
//! error, before any gas is paid.

use alloy::eips::BlockId;
use alloy::network::{EthereumWallet, ReceiptResponse, TransactionBuilder};
use alloy::primitives::{Address, Bytes, TxKind, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;

use crate::contract::{channel_calldata, decode_channel};
use crate::l1::{ChannelsL1, L1Error, OnchainChannel};

/// A mined transaction: its block and logs' topics (for the id `open` gives).
#[derive(Clone, Debug)]
pub struct Mined {
    /// Its block.
    pub block: u64,
    /// The contract it created, if any.
    pub created: Option<Address>,
    /// Each log's topics.
    pub topics: Vec<Vec<[u8; 32]>>,
}

/// The contract through JSON-RPC, for one party (or read only).
pub struct RpcChannels {
    rt: tokio::runtime::Runtime,
    provider: DynProvider,
    me: Option<Address>,
    contract: Address,
    chain_id: u64,
    confirmations: u64,
}

fn unavailable(e: impl std::fmt::Display) -> L1Error {
    L1Error::Unavailable(e.to_string())
}

impl RpcChannels {
    /// Connect to `url` for the contract at `contract`, sending with `key` (None: read only),
    /// reading `confirmations` blocks deep (at least 1: the head).
    pub fn connect(url: &str, key: Option<PrivateKeySigner>, contract: Address, confirmations: u64) -> Result<RpcChannels, L1Error> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(unavailable)?;
        let parsed: alloy::transports::http::reqwest::Url = url.parse().map_err(|e| L1Error::Unavailable(format!("--rpc: {e}")))?;
        let me = key.as_ref().map(|k| k.address());
        let provider = match key {
            Some(k) => ProviderBuilder::new().wallet(EthereumWallet::from(k)).connect_http(parsed).erased(),
            None => ProviderBuilder::new().connect_http(parsed).erased(),
        };
        let chain_id = rt.block_on(async { provider.get_chain_id().await }).map_err(unavailable)?;
        Ok(RpcChannels { rt, provider, me, contract, chain_id, confirmations: confirmations.max(1) })
    }

    /// The chain's id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The contract's address.
    pub fn contract(&self) -> Address {
        self.contract
    }

    /// The newest confirmed block's number.
    fn confirmed_block(&self) -> Result<u64, L1Error> {
        let head = self.rt.block_on(async { self.provider.get_block_number().await }).map_err(unavailable)?;
        Ok(head.saturating_sub(self.confirmations - 1))
    }

    /// Send a transaction to `to` (None: a creation) and wait for its receipt.
    pub fn transact(&mut self, to: Option<Address>, data: Vec<u8>, value: U256) -> Result<Mined, L1Error> {
        let from = self.me.ok_or_else(|| L1Error::Unavailable("no key: set ZKROLLUP_CHANNEL_KEY".into()))?;
        let mut tx = TransactionRequest::default().with_from(from).with_value(value).with_input(Bytes::from(data));
        tx.to = Some(to.map_or(TxKind::Create, TxKind::Call));
        let receipt = self.rt.block_on(async {
            let pending = self.provider.send_transaction(tx).await.map_err(|e| match e.as_error_resp() {
                Some(resp) => L1Error::Reverted(format!(
                    "{}{}",
                    resp.message,
                    resp.data.as_ref().map_or(String::new(), |d| format!(" (data {})", d.get()))
                )),
                None => unavailable(e),
            })?;
            pending.get_receipt().await.map_err(unavailable)
        })?;
        if !receipt.status() {
            return Err(L1Error::Reverted(format!("reverted in block {}", receipt.block_number().unwrap_or(0))));
        }
        let topics = receipt.inner.logs().iter().map(|l| l.topics().iter().map(|t| t.0).collect()).collect();
        Ok(Mined { block: receipt.block_number().unwrap_or(0), created: receipt.contract_address(), topics })
    }

    /// A view of the contract at the newest confirmed block.
    pub fn view(&self, data: Vec<u8>) -> Result<Vec<u8>, L1Error> {
        let at = BlockId::number(self.confirmed_block()?);
        let call = TransactionRequest::default().with_to(self.contract).with_input(Bytes::from(data));
        let out = self.rt.block_on(async { self.provider.call(call).block(at).await }).map_err(unavailable)?;
        Ok(out.to_vec())
    }
}

impl ChannelsL1 for RpcChannels {
    fn now(&mut self) -> Result<u64, L1Error> {
        let n = self.confirmed_block()?;
        let block = self.rt.block_on(async { self.provider.get_block_by_number(n.into()).await }).map_err(unavailable)?;
        Ok(block.ok_or_else(|| L1Error::Unavailable(format!("no block {n}")))?.header.timestamp)
    }

    fn channel(&mut self, id: u64) -> Result<OnchainChannel, L1Error> {
        decode_channel(&self.view(channel_calldata(id))?).map_err(unavailable)
    }

    fn send(&mut self, data: Vec<u8>, value: U256) -> Result<(), L1Error> {
        let contract = self.contract;
        self.transact(Some(contract), data, value).map(|_| ())
    }
}
