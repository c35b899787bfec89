//! `PaymentChannels.sol` (SPEC-channels section 3): its committed creation code (compiled by the
//! pinned solc, `verifier-sol/compile.mjs`; checked by `tests/contract.rs`) and its calls' data.

use alloy::primitives::{Address, U256};
use alloy::sol_types::SolCall;

use crate::l1::OnchainChannel;

/// The contract's creation code, hex.
pub const PAYMENT_CHANNELS_HEX: &str = include_str!("../contracts/PaymentChannels.hex");

/// The creation code.
pub fn creation_code() -> Vec<u8> {
    hex::decode(PAYMENT_CHANNELS_HEX.trim()).expect("the committed bytecode is hex")
}

alloy::sol! {
    /// The contract's calls, as SPEC-channels names them.
    interface IPaymentChannels {
        function open(address recipient, address signer, uint64 expiry, uint32 settleDelay) external payable returns (uint256 id);
        function topUp(uint256 id) external payable;
        function extend(uint256 id, uint64 expiry) external;
        function requestClose(uint256 id) external;
        function claim(uint256 id, uint256 cumulativeAmount, bytes signature) external;
        function claimAndClose(uint256 id, uint256 cumulativeAmount, bytes signature) external;
        function refund(uint256 id) external;
        function channels(uint256 id) external view returns (address sender, uint64 expiry, uint32 settleDelay, address recipient, uint96 deposit, address signer, uint96 claimed);
        function channelCount() external view returns (uint256);
        function voucherDigest(uint256 id, uint256 cumulativeAmount) external view returns (bytes32);
        function eip712Domain() external view returns (bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions);
    }
}

pub use IPaymentChannels::*;

/// `channels(id)`'s call data.
pub fn channel_calldata(id: u64) -> Vec<u8> {
    channelsCall { id: U256::from(id) }.abi_encode()
}

/// `channels(id)`'s answer as a channel.
pub fn decode_channel(out: &[u8]) -> Result<OnchainChannel, alloy::sol_types::Error> {
    let r = channelsCall::abi_decode_returns(out)?;
    Ok(OnchainChannel {
        sender: r.sender,
        expiry: r.expiry,
        settle_delay: r.settleDelay,
        recipient: r.recipient,
        deposit: U256::from(r.deposit),
        signer: r.signer,
        claimed: U256::from(r.claimed),
    })
}

/// `open`'s call data.
pub fn open_calldata(recipient: Address, signer: Address, expiry: u64, settle_delay: u32) -> Vec<u8> {
    openCall { recipient, signer, expiry, settleDelay: settle_delay }.abi_encode()
}

/// `claim`'s call data.
pub fn claim_calldata(id: u64, cumulative: U256, signature: &[u8]) -> Vec<u8> {
    claimCall { id: U256::from(id), cumulativeAmount: cumulative, signature: signature.to_vec().into() }.abi_encode()
}

/// `claimAndClose`'s call data.
pub fn claim_and_close_calldata(id: u64, cumulative: U256, signature: &[u8]) -> Vec<u8> {
    claimAndCloseCall { id: U256::from(id), cumulativeAmount: cumulative, signature: signature.to_vec().into() }.abi_encode()
}
