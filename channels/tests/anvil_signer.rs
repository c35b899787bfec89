//! anvil's `eth_signTypedData_v4` (the pinned anvil of `node/js`, a real Ethereum node's signer)
//! signs vouchers with a development key: the same bytes as the crate's signer, and the contract,
//! deployed on anvil, pays them.

mod common;

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use common::{Anvil, ANVIL_KEYS};
use serde_json::json;
use zkrollup_channels::contract::{claim_calldata, creation_code, open_calldata};
use zkrollup_channels::l1::ChannelsL1;
use zkrollup_channels::rpc::RpcChannels;
use zkrollup_channels::voucher::{domain, sign_voucher, verify_voucher, Voucher};

#[test]
fn anvils_typed_data_signature_is_the_crates() {
    let anvil = Anvil::start();
    let key: PrivateKeySigner = ANVIL_KEYS[0].parse().unwrap();
    let chain_id = u64::from_str_radix(anvil.call("eth_chainId", json!([])).as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let mut l1 = RpcChannels::connect(&anvil.url(), Some(key.clone()), Address::ZERO, 1).unwrap();
    let contract = l1.transact(None, creation_code(), U256::ZERO).unwrap().created.unwrap();
    let mut l1 = RpcChannels::connect(&anvil.url(), Some(key.clone()), contract, 1).unwrap();
    let expiry = l1.now().unwrap() + 10 * 24 * 3600;
    let recipient = Address::repeat_byte(0x22);
    for _ in 0..42 {
        l1.send(open_calldata(recipient, Address::ZERO, expiry, 3600), U256::from(10u64).pow(U256::from(19u64))).unwrap();
    }
    for (id, amount) in [(1u64, U256::from(1u64)), (42, U256::from(10u64).pow(U256::from(18u64)) + U256::from(3u64))] {
        let typed = json!({
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"}
                ],
                "Voucher": [{"name": "channelId", "type": "uint256"}, {"name": "cumulativeAmount", "type": "uint256"}]
            },
            "primaryType": "Voucher",
            "domain": {"name": "zkrollup PaymentChannels", "version": "1", "chainId": chain_id, "verifyingContract": contract.to_string()},
            "message": {"channelId": id.to_string(), "cumulativeAmount": amount.to_string()}
        });
        let sig = anvil.call("eth_signTypedData_v4", json!([key.address().to_string(), typed]));
        let theirs = hex::decode(sig.as_str().unwrap().trim_start_matches("0x")).unwrap();
        let d = domain(chain_id, contract);
        let voucher = Voucher { channelId: U256::from(id), cumulativeAmount: amount };
        assert_eq!(theirs, sign_voucher(&key, &d, &voucher).to_vec(), "voucher ({id}, {amount})");
        verify_voucher(&d, &voucher, &theirs, key.address()).unwrap();
        l1.send(claim_calldata(id, amount, &theirs), U256::ZERO).unwrap();
        assert_eq!(l1.channel(id).unwrap().claimed, amount, "the contract paid anvil's voucher");
    }
}
