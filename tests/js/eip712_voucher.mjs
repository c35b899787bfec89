// An outside EIP-712 signer for the payment channels' vouchers (SPEC-channels section 2):
// ethers 6 signs Voucher(uint256 channelId,uint256 cumulativeAmount) in the domain
// {name: "zkrollup PaymentChannels", version: "1", chainId, verifyingContract}.
// Usage: node eip712_voucher.mjs KEY CHAIN_ID CONTRACT CHANNEL_ID AMOUNT
// Prints {"digest": 0x.., "signature": 0x.. (65 bytes r || s || v)}.
import { Wallet, TypedDataEncoder } from 'ethers';

const [key, chainId, contract, channelId, amount] = process.argv.slice(2);
if (amount === undefined) {
  console.error('usage: node eip712_voucher.mjs KEY CHAIN_ID CONTRACT CHANNEL_ID AMOUNT');
  process.exit(2);
}
const domain = { name: 'zkrollup PaymentChannels', version: '1', chainId: BigInt(chainId), verifyingContract: contract };
const types = { Voucher: [{ name: 'channelId', type: 'uint256' }, { name: 'cumulativeAmount', type: 'uint256' }] };
const value = { channelId: BigInt(channelId), cumulativeAmount: BigInt(amount) };
const signature = await new Wallet(key).signTypedData(domain, types, value);
console.log(JSON.stringify({ digest: TypedDataEncoder.hash(domain, types, value), signature }));
