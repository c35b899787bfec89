// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

/// @title One-way ETH payment channels, many in one contract (SPEC-channels)
/// @notice A sender locks a deposit for a recipient and pays it off chain with EIP-712 vouchers
///         for the cumulative amount paid so far, signed by the sender or by a signer it
///         delegated to. The recipient (or anyone for it) redeems the latest voucher while the
///         channel is open; after expiry the rest goes back to the sender. The sender can bring
///         expiry no closer than its settle delay, which is the recipient's time to claim.
/// @dev The contract's balance is always the sum over live channels of `deposit - claimed`.
///      Checks, then effects, then full-gas calls; a channel is deleted before any call that
///      closes it, so a reentrant call finds nothing.
contract PaymentChannels {
    /// @notice A channel: three storage slots (the third is left zero, and unwritten, while no
    ///         signer is delegated and nothing is claimed).
    struct Channel {
        address sender;
        uint64 expiry;
        uint32 settleDelay;
        address recipient;
        uint96 deposit;
        /// @dev Zero: the sender signs.
        address signer;
        uint96 claimed;
    }

    /// @dev keccak256("Voucher(uint256 channelId,uint256 cumulativeAmount)").
    bytes32 internal constant VOUCHER_TYPEHASH = keccak256("Voucher(uint256 channelId,uint256 cumulativeAmount)");
    /// @dev keccak256 of the EIP-712 domain's type.
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    string internal constant NAME = "zkrollup PaymentChannels";
    string internal constant VERSION = "1";
    /// @dev secp256k1's order halved: a larger `s` is the malleable twin, refused.
    uint256 internal constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    uint256 internal constant MIN_SETTLE_DELAY = 1 hours;
    uint256 internal constant MAX_SETTLE_DELAY = 30 days;

    /// @dev The domain separator at deployment, and the chain it was computed on (recomputed on
    ///      any other chain, after a fork).
    bytes32 internal immutable cachedDomainSeparator;
    uint256 internal immutable cachedChainId;

    /// @notice Channels by id (from 1, never reused).
    mapping(uint256 => Channel) public channels;
    /// @dev The next channel's id: one more than the channels opened so far, never zero (so
    ///      that no open pays for a slot going from zero).
    uint256 internal nextId = 1;

    /// @dev The recipient indexed (a payee finds its channels); the sender knows its own.
    event ChannelOpened(
        uint256 indexed id,
        address sender,
        address indexed recipient,
        address signer,
        uint256 deposit,
        uint64 expiry,
        uint32 settleDelay
    );
    event ChannelToppedUp(uint256 indexed id, uint256 deposit);
    event ChannelExtended(uint256 indexed id, uint64 expiry);
    event CloseRequested(uint256 indexed id, uint64 expiry);
    event Claimed(uint256 indexed id, uint256 cumulativeAmount, uint256 paid);
    event ChannelClosed(uint256 indexed id, uint256 toRecipient, uint256 toSender);

    error UnknownChannel();
    error NotSender();
    error NotRecipient();
    error ChannelExpired();
    error ChannelNotExpired();
    error BadSignature();
    error NothingToClaim();
    error ZeroDeposit();
    error DepositTooLarge();
    error ZeroAddress();
    error SelfChannel();
    error SettleDelayOutOfRange();
    error ExpiryTooSoon();
    error ExpiryNotExtended();
    error TransferFailed();

    constructor() {
        cachedChainId = block.chainid;
        cachedDomainSeparator = _domainSeparator();
    }

    // ---------------------------------------------------------------- views

    /// @notice Channels opened so far: the last id.
    function channelCount() external view returns (uint256) {
        return nextId - 1;
    }

    /// @notice The EIP-712 digest a signer signs for `cumulativeAmount` on channel `id`.
    function voucherDigest(uint256 id, uint256 cumulativeAmount) public view returns (bytes32) {
        bytes32 domain = block.chainid == cachedChainId ? cachedDomainSeparator : _domainSeparator();
        return keccak256(abi.encodePacked(hex"1901", domain, keccak256(abi.encode(VOUCHER_TYPEHASH, id, cumulativeAmount))));
    }

    /// @notice EIP-5267: the fields of the EIP-712 domain (name, version, chainId,
    ///         verifyingContract).
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", NAME, VERSION, block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    // ---------------------------------------------------------------- the sender

    /// @notice Open a channel to `recipient` with msg.value, its vouchers signed by `signer`
    ///         (zero: the sender), until `expiry`, closable on request after `settleDelay`.
    function open(address recipient, address signer, uint64 expiry, uint32 settleDelay) external payable returns (uint256 id) {
        if (msg.value == 0) revert ZeroDeposit();
        if (msg.value >= 1 << 96) revert DepositTooLarge();
        if (recipient == address(0)) revert ZeroAddress();
        if (recipient == msg.sender) revert SelfChannel();
        unchecked {
            // One comparison: below the least, the difference wraps past the range.
            if (uint256(settleDelay) - MIN_SETTLE_DELAY > MAX_SETTLE_DELAY - MIN_SETTLE_DELAY) revert SettleDelayOutOfRange();
            // No overflow: a timestamp and a uint32; ids below 2^256 for any chain's life.
            if (expiry < block.timestamp + settleDelay) revert ExpiryTooSoon();
            id = nextId++;
        }
        Channel storage c = channels[id];
        // Each slot written once, whole (the struct's layout: sender, expiry, settleDelay; then
        // recipient, deposit; then signer, claimed), and the third not at all while it is zero:
        // a channel the sender signs for costs two new slots.
        assembly ("memory-safe") {
            sstore(c.slot, or(caller(), or(shl(160, expiry), shl(224, settleDelay))))
            sstore(add(c.slot, 1), or(recipient, shl(160, callvalue())))
            if signer { sstore(add(c.slot, 2), signer) }
        }
        // emit ChannelOpened(id, msg.sender, recipient, signer, msg.value, expiry, settleDelay),
        // encoded by hand: open's gas is most of all a channel's (SPEC-channels' 75,000).
        bytes32 topic = ChannelOpened.selector;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, caller())
            mstore(add(p, 0x20), signer)
            mstore(add(p, 0x40), callvalue())
            mstore(add(p, 0x60), expiry)
            mstore(add(p, 0x80), settleDelay)
            log3(p, 0xa0, topic, id, recipient)
        }
    }

    /// @notice Add msg.value to channel `id`'s deposit (anyone), while it is open.
    function topUp(uint256 id) external payable {
        Channel storage c = channels[id];
        if (c.sender == address(0)) revert UnknownChannel();
        if (block.timestamp > c.expiry) revert ChannelExpired();
        if (msg.value == 0) revert ZeroDeposit();
        uint256 deposit = uint256(c.deposit) + msg.value;
        if (deposit >= 1 << 96) revert DepositTooLarge();
        c.deposit = uint96(deposit);
        emit ChannelToppedUp(id, deposit);
    }

    /// @notice Move channel `id`'s expiry later (the sender); a close request is undone.
    function extend(uint256 id, uint64 expiry) external {
        Channel storage c = channels[id];
        if (c.sender == address(0)) revert UnknownChannel();
        if (msg.sender != c.sender) revert NotSender();
        if (expiry <= c.expiry) revert ExpiryNotExtended();
        c.expiry = expiry;
        emit ChannelExtended(id, expiry);
    }

    /// @notice Ask to close channel `id` (the sender): its expiry comes to at most the settle
    ///         delay from now, the recipient's time to claim.
    function requestClose(uint256 id) external {
        Channel storage c = channels[id];
        if (c.sender == address(0)) revert UnknownChannel();
        if (msg.sender != c.sender) revert NotSender();
        uint256 soon = block.timestamp + c.settleDelay;
        uint64 expiry = soon < c.expiry ? uint64(soon) : c.expiry;
        c.expiry = expiry;
        emit CloseRequested(id, expiry);
    }

    /// @notice After expiry (anyone): what was not claimed goes back to the sender, and the
    ///         channel is deleted.
    function refund(uint256 id) external {
        Channel memory c = channels[id];
        if (c.sender == address(0)) revert UnknownChannel();
        if (block.timestamp <= c.expiry) revert ChannelNotExpired();
        delete channels[id];
        uint256 back = uint256(c.deposit) - c.claimed;
        emit ChannelClosed(id, 0, back);
        _pay(c.sender, back);
    }

    // ---------------------------------------------------------------- the recipient

    /// @notice Redeem a voucher for `cumulativeAmount` on channel `id` (anyone; the recipient is
    ///         paid what it was not yet, up to the deposit), while the channel is open.
    function claim(uint256 id, uint256 cumulativeAmount, bytes calldata signature) external {
        Channel storage c = channels[id];
        address sender = c.sender;
        if (sender == address(0)) revert UnknownChannel();
        if (block.timestamp > c.expiry) revert ChannelExpired();
        uint256 deposit = c.deposit;
        uint256 claimed = c.claimed;
        address signer = c.signer;
        uint256 pay = (cumulativeAmount < deposit ? cumulativeAmount : deposit);
        if (pay <= claimed) revert NothingToClaim();
        pay -= claimed;
        _checkVoucher(id, cumulativeAmount, signature, signer == address(0) ? sender : signer);
        c.claimed = uint96(claimed + pay);
        emit Claimed(id, cumulativeAmount, pay);
        _pay(c.recipient, pay);
    }

    /// @notice The recipient redeems a voucher (none needed when it brings nothing new) and
    ///         closes channel `id` at once: the rest goes back to the sender.
    function claimAndClose(uint256 id, uint256 cumulativeAmount, bytes calldata signature) external {
        Channel memory c = channels[id];
        if (c.sender == address(0)) revert UnknownChannel();
        if (msg.sender != c.recipient) revert NotRecipient();
        if (block.timestamp > c.expiry) revert ChannelExpired();
        uint256 owed = cumulativeAmount < c.deposit ? cumulativeAmount : c.deposit;
        uint256 pay = owed > c.claimed ? owed - c.claimed : 0;
        if (pay > 0) _checkVoucher(id, cumulativeAmount, signature, c.signer == address(0) ? c.sender : c.signer);
        delete channels[id];
        uint256 back = uint256(c.deposit) - c.claimed - pay;
        emit ChannelClosed(id, pay, back);
        _pay(c.recipient, pay);
        _pay(c.sender, back);
    }

    // ---------------------------------------------------------------- internals

    function _domainSeparator() internal view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256(bytes(NAME)), keccak256(bytes(VERSION)), block.chainid, address(this)));
    }

    /// @dev A voucher signed by `expected`: 65 bytes `r || s || v` (v 27 or 28) or EIP-2098's 64
    ///      bytes `r || vs`; `s` in the lower half; a zero recovery refused.
    function _checkVoucher(uint256 id, uint256 cumulativeAmount, bytes calldata signature, address expected) internal view {
        bytes32 r;
        bytes32 s;
        uint8 v;
        if (signature.length == 65) {
            r = bytes32(signature[0:32]);
            s = bytes32(signature[32:64]);
            v = uint8(signature[64]);
        } else if (signature.length == 64) {
            r = bytes32(signature[0:32]);
            bytes32 vs = bytes32(signature[32:64]);
            s = vs & bytes32(type(uint256).max >> 1);
            v = uint8(uint256(vs) >> 255) + 27;
        } else {
            revert BadSignature();
        }
        if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) revert BadSignature();
        address signer = ecrecover(voucherDigest(id, cumulativeAmount), v, r, s);
        if (signer == address(0) || signer != expected) revert BadSignature();
    }

    /// @dev Send `amount` wei to `to` with all the gas (nothing when zero).
    function _pay(address to, uint256 amount) internal {
        if (amount == 0) return;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }
}
