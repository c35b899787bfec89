// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;
// solc-optimizer-runs: 1000

import {PoseidonT5} from "./PoseidonT5.sol";
import {RollupBase} from "./RollupBase.sol";

/// @title zkrollup's rollup contract in optimistic mode, protocol v3 (SPEC-v3 section 3)
/// @notice The same rollup as `ZKRollup`, settled optimistically: the sequencer posts batches
///         without a proof (postBatch, with the signatures so that anyone can check them); a batch
///         becomes final after the challenge window unless challenged; a challenged batch must be
///         proved, by anyone, with the ordinary proof of its commitment before the response
///         deadline, or it and every later batch are reverted and the sequencer's bond is
///         slashed. No one decides fraud: a wrong batch cannot be proved and a valid one always
///         can. Payouts are credited when a batch becomes final, in order (finalizeBatches).
///         submitBatch with a proof is the hybrid: final at once when every earlier batch is.
/// @dev A batch is stored as the hash of its record (StoredBatch), which callers pass back. The
///      tip (stateRoot, consumed, batchCount) is what the next post builds on; the final prefix
///      (finalized, finalizedRoot, its queue position) is what exodus rolls back to.
contract OptimisticRollup is RollupBase {
    /// @notice Windows and bonds (SPEC-v3 section 3).
    struct Optimistic {
        /// @dev Seconds after its post during which a batch may be challenged.
        uint64 challengeWindow;
        /// @dev Seconds after a challenge during which the batch may be proved.
        uint64 responseWindow;
        /// @dev Wei a challenger puts up.
        uint128 challengeBond;
        /// @dev Wei the sequencer must have bonded to post, and the most one revert slashes.
        uint128 minSequencerBond;
        /// @dev The share of a slash paid to the challenger, in basis points; the rest is burned.
        uint16 slashRewardBps;
    }

    /// @notice A posted batch, as its stored hash commits to it.
    struct StoredBatch {
        uint64 batchId;
        uint64 postedAt;
        uint64 consumedBefore;
        uint64 consumedAfter;
        uint256 oldRoot;
        uint256 newRoot;
        uint256 commitment;
        /// @dev keccak256 of its payouts: (uint32 index, uint64 gwei) packed, full exits in L1
        ///      slot order then withdrawals in L2 slot order.
        bytes32 payoutsHash;
        /// @dev keccak256(sigData).
        bytes32 sigHash;
        bool proven;
    }

    /// @dev An open challenge, keyed by the challenged record's hash.
    struct Challenge {
        address challenger;
        uint64 deadline;
    }

    /// @dev The final prefix and the challenges, one slot.
    struct Finality {
        /// @dev Batches final so far (batch ids 1..finalized).
        uint64 finalized;
        /// @dev The queue position after the last final batch.
        uint64 finalConsumed;
        /// @dev The tip when exodus began (records up to it were pending then).
        uint64 exodusTip;
        /// @dev Challenges whose bond is still held.
        uint64 openChallenges;
    }

    /// @dev The sequencer's bond and the ETH burned by slashes, one slot.
    struct Bonds {
        uint128 sequencerBond;
        uint128 burned;
    }

    /// @dev keccak256 of PoseidonT5's runtime code (solc as `compile.mjs` runs it; checked by
    ///      `tests/contracts/optimistic.rs`).
    bytes32 internal constant POSEIDON_T5_CODEHASH = 0x53acaa85f8c5b149ba08403efda6c3a6a07b235a081b95a56d0bc35950a74ee8;

    uint256 public immutable challengeWindow;
    uint256 public immutable responseWindow;
    uint256 public immutable challengeBond;
    uint256 public immutable minSequencerBond;
    uint256 public immutable slashRewardBps;
    /// @dev keccak256 of an all-zero sigData (the hybrid's batches carry none).
    bytes32 internal immutable noSignaturesHash;

    /// @notice The root after the last final batch: what exodus pays from.
    uint256 public finalizedRoot;
    Finality internal fin;
    Bonds internal bonds;
    /// @notice keccak256(abi.encode(record)) of each batch posted and not yet final.
    mapping(uint256 => bytes32) public batchHash;
    mapping(bytes32 => Challenge) internal challenges;

    event BatchPosted(uint256 indexed batchId, StoredBatch batch);
    event BatchChallenged(uint256 indexed batchId, bytes32 indexed batchHash, address indexed challenger, uint64 deadline);
    event BatchProven(uint256 indexed batchId, address indexed prover);
    event BatchesReverted(uint256 indexed fromId, uint256 toId, address indexed challenger, uint256 rewardWei, uint256 burnedWei);
    event ChallengeRefunded(bytes32 indexed batchHash, address indexed challenger);
    event BatchesFinalized(uint256 fromId, uint256 toId, uint256 root);

    error InsufficientSequencerBond();
    error BondLocked();
    error UnknownBatch(uint256 batchId);
    error BatchAlreadyFinal(uint256 batchId);
    error AlreadyProven(uint256 batchId);
    error AlreadyChallenged(uint256 batchId);
    error ChallengeWindowClosed(uint256 batchId);
    error WrongBond();
    error ResponseWindowClosed(uint256 batchId);
    error NotChallenged();
    error ResponseWindowOpen(uint256 batchId);
    error ChallengeStillLive(uint256 batchId);
    error NotFinalizable(uint256 batchId);
    error WrongPayouts(uint256 batchId);

    constructor(
        address verifier_,
        uint256 genesisRoot,
        uint32 genesisNextIndex_,
        address genesisOwner_,
        uint64 genesisTotal,
        uint32 batchSize_,
        uint32 l1Slots_,
        uint8 depth_,
        address sequencer_,
        Params memory params,
        Optimistic memory opt,
        PoseidonT5 poseidon_
    )
        payable
        RollupBase(
            verifier_,
            genesisRoot,
            genesisNextIndex_,
            genesisOwner_,
            genesisTotal,
            batchSize_,
            l1Slots_,
            depth_,
            sequencer_,
            params,
            poseidon_
        )
    {
        // Exits hash with it: only circomlib's Poseidon as PoseidonT5.sol compiles it (the
        // creation code of both contracts would pass EIP-3860's 49,152-byte limit, so it is
        // deployed on its own and named here).
        if (address(poseidon_).codehash != POSEIDON_T5_CODEHASH) revert BadConfiguration("poseidon is not PoseidonT5");
        if (opt.challengeWindow == 0 || opt.responseWindow == 0) revert BadConfiguration("a window is zero");
        if (opt.challengeBond == 0 || opt.minSequencerBond == 0) revert BadConfiguration("a bond is zero");
        if (opt.responseWindow > opt.challengeWindow) revert BadConfiguration("responseWindow above challengeWindow");
        if (opt.slashRewardBps > 10_000) revert BadConfiguration("slashRewardBps above 10,000");
        challengeWindow = opt.challengeWindow;
        responseWindow = opt.responseWindow;
        challengeBond = opt.challengeBond;
        minSequencerBond = opt.minSequencerBond;
        slashRewardBps = opt.slashRewardBps;
        noSignaturesHash = keccak256(new bytes(64 * uint256(batchSize_)));
        finalizedRoot = genesisRoot;
    }

    // ---------------------------------------------------------------- views

    /// @notice Batches final so far.
    function finalized() external view returns (uint256) {
        return fin.finalized;
    }

    /// @notice The root the next post builds on (stateRoot).
    function tipRoot() external view returns (uint256) {
        return stateRoot;
    }

    /// @notice The challenger of the record with this hash and the deadline to prove it.
    function challengeOf(bytes32 recordHash) external view returns (address challenger, uint64 deadline) {
        Challenge memory ch = challenges[recordHash];
        return (ch.challenger, ch.deadline);
    }

    /// @notice Wei the sequencer has bonded.
    function sequencerBond() external view returns (uint256) {
        return bonds.sequencerBond;
    }

    /// @notice Wei burned by slashes (held by the contract for good).
    function burned() external view returns (uint256) {
        return bonds.burned;
    }

    /// @notice Challenges whose bond the contract still holds.
    function openChallenges() external view returns (uint256) {
        return fin.openChallenges;
    }

    /// @dev In exodus, requests no final batch consumed are cancelled in queue order.
    function _finalConsumed() internal view override returns (uint256) {
        return counters.exodusMode ? counters.consumed : fin.finalConsumed;
    }

    // ---------------------------------------------------------------- the sequencer's bond

    /// @notice Add msg.value to the sequencer's bond; the sequencer only.
    function depositSequencerBond() external payable {
        if (msg.sender != sequencer) revert NotSequencer(msg.sender);
        bonds.sequencerBond += uint128(msg.value);
    }

    /// @notice Send `amountWei` of the bond to `to`: only while every posted batch is final and
    ///         no challenge holds a bond (in exodus too, once the challenges are settled).
    function withdrawSequencerBond(address payable to, uint256 amountWei) external {
        if (msg.sender != sequencer) revert NotSequencer(msg.sender);
        if (to == address(0)) revert ZeroAddress();
        Finality memory f = fin;
        if (f.openChallenges != 0 || f.finalized != counters.batchCount) revert BondLocked();
        Bonds memory bs = bonds;
        if (amountWei == 0 || amountWei > bs.sequencerBond) revert NothingToWithdraw();
        bonds.sequencerBond = bs.sequencerBond - uint128(amountWei);
        (bool ok,) = to.call{value: amountWei}("");
        if (!ok) revert TransferFailed();
    }

    // ---------------------------------------------------------------- batches

    /// @notice Post a batch without a proof: every check of ZKRollup's submitBatch but the
    ///         proof; the batch is stored as its record's hash and credits nothing until final.
    function postBatch(uint256 newRoot, bytes calldata l1Data, bytes calldata l2Data, bytes calldata sigData) external {
        Counters memory c = counters;
        uint256 n = _checkBatch(c, newRoot, l1Data, l2Data);
        if (bonds.sequencerBond < minSequencerBond) revert InsufficientSequencerBond();
        if (sigData.length != 64 * batchSize) revert WrongDataLength();
        uint256 commitment = _commitment(uint256(c.batchCount) + 1, stateRoot, newRoot, l1Data, n, l2Data);
        _store(c, newRoot, commitment, l1Data, n, l2Data, keccak256(sigData), false);
    }

    /// @notice The hybrid: a batch with its proof. Final at once (credited inline, as in
    ///         ZKRollup) when every earlier batch is; otherwise stored as proven, final in turn.
    function submitBatch(uint256 newRoot, bytes calldata l1Data, bytes calldata l2Data, uint256[8] calldata proof)
        external
    {
        Counters memory c = counters;
        uint256 n = _checkBatch(c, newRoot, l1Data, l2Data);
        if (bonds.sequencerBond < minSequencerBond) revert InsufficientSequencerBond();
        uint256 batchId = uint256(c.batchCount) + 1;
        uint256 commitment = _commitment(batchId, stateRoot, newRoot, l1Data, n, l2Data);
        _verify(proof, commitment);
        if (fin.finalized + 1 != batchId) {
            _store(c, newRoot, commitment, l1Data, n, l2Data, noSignaturesHash, true);
            return;
        }
        c.openDeposits -= uint24(_takeRecords(l1Data, n, false));
        _creditWithdrawals(l2Data);
        c.consumed += uint64(n);
        c.batchCount = uint64(batchId);
        counters = c;
        fin.finalized = uint64(batchId);
        fin.finalConsumed = c.consumed;
        finalizedRoot = newRoot;
        emit BatchSubmitted(batchId, stateRoot, newRoot);
        emit BatchesFinalized(batchId, batchId, newRoot);
        stateRoot = newRoot;
    }

    /// @dev Store batch `c.batchCount + 1`'s record (its commitment computed by the caller) and
    ///      move the tip past it.
    function _store(
        Counters memory c,
        uint256 newRoot,
        uint256 commitment,
        bytes calldata l1Data,
        uint256 n,
        bytes calldata l2Data,
        bytes32 sigHash,
        bool proven
    ) internal {
        StoredBatch memory b;
        b.batchId = c.batchCount + 1;
        b.postedAt = uint64(block.timestamp);
        b.consumedBefore = c.consumed;
        b.consumedAfter = c.consumed + uint64(n);
        b.oldRoot = stateRoot;
        b.newRoot = newRoot;
        b.commitment = commitment;
        b.payoutsHash = _payoutsHash(l1Data, n, l2Data);
        b.sigHash = sigHash;
        b.proven = proven;
        c.openDeposits -= uint24(_countDeposits(l1Data, n));
        c.consumed = b.consumedAfter;
        c.batchCount = b.batchId;
        counters = c;
        stateRoot = newRoot;
        batchHash[b.batchId] = keccak256(abi.encode(b));
        emit BatchPosted(b.batchId, b);
    }

    /// @dev The deposits among the first n records.
    function _countDeposits(bytes calldata records, uint256 n) internal pure returns (uint256 deposits) {
        for (uint256 i = 0; i < n; i++) {
            if (uint8(records[i * RECORD_BYTES]) != FULL_EXIT) deposits++;
        }
    }

    /// @dev keccak256 of the payouts: each FullExit's (index, amount) in L1 slot order, then each
    ///      withdrawal's (from, amount) in L2 slot order, 12 bytes each.
    function _payoutsHash(bytes calldata l1Data, uint256 n, bytes calldata l2Data) internal pure returns (bytes32 h) {
        uint256 slots = l2Data.length / SLOT_BYTES;
        // 32 bytes of room: each payout is written as a whole word.
        bytes memory out = new bytes(12 * (n + slots) + 32);
        uint256 len = 0;
        for (uint256 i = 0; i < n; i++) {
            uint256 word;
            assembly ("memory-safe") {
                word := calldataload(add(l1Data.offset, mul(i, RECORD_BYTES)))
            }
            if (word >> 248 == FULL_EXIT) {
                // index and amount are record bytes 1..13: the word's bits below the type byte.
                uint256 payout = (word << 8) >> 160;
                assembly ("memory-safe") {
                    mstore(add(add(out, 32), len), shl(160, payout))
                }
                len += 12;
            }
        }
        for (uint256 at = 0; at < slots * SLOT_BYTES; at += SLOT_BYTES) {
            uint256 word;
            assembly ("memory-safe") {
                word := calldataload(add(l2Data.offset, at))
            }
            if (word >> 224 != 0 && uint32(word >> 192) == 0) {
                uint256 payout = ((word >> 224) << 64) | uint64(word >> 128);
                assembly ("memory-safe") {
                    mstore(add(add(out, 32), len), shl(160, payout))
                }
                len += 12;
            }
        }
        assembly ("memory-safe") {
            h := keccak256(add(out, 32), len)
        }
    }

    /// @dev The record's hash, and whether it is a pending batch: stored and within the tip,
    ///      or, in exodus, within the tip exodus rolled back.
    function _pending(StoredBatch calldata b) internal view returns (bytes32 h, bool pending) {
        h = keccak256(abi.encode(b));
        uint256 tip = counters.exodusMode ? fin.exodusTip : counters.batchCount;
        pending = b.batchId > fin.finalized && b.batchId <= tip && batchHash[b.batchId] == h;
    }

    /// @notice Challenge a pending batch within its window, putting up challengeBond: it must
    ///         then be proved by the deadline, or it and every later batch are reverted.
    function challengeBatch(StoredBatch calldata b) external payable {
        if (counters.exodusMode) revert ExodusActive();
        if (b.batchId <= fin.finalized) revert BatchAlreadyFinal(b.batchId);
        (bytes32 h, bool pending) = _pending(b);
        if (!pending) revert UnknownBatch(b.batchId);
        if (b.proven) revert AlreadyProven(b.batchId);
        if (challenges[h].challenger != address(0)) revert AlreadyChallenged(b.batchId);
        if (block.timestamp > uint256(b.postedAt) + challengeWindow) revert ChallengeWindowClosed(b.batchId);
        if (msg.value != challengeBond) revert WrongBond();
        uint64 deadline = uint64(block.timestamp + responseWindow);
        challenges[h] = Challenge(msg.sender, deadline);
        fin.openChallenges += 1;
        emit BatchChallenged(b.batchId, h, msg.sender, deadline);
    }

    /// @notice Prove a pending batch (anyone); a challenger's bond goes to the prover.
    function proveBatch(StoredBatch calldata b, uint256[8] calldata proof) external {
        (bytes32 h, bool pending) = _pending(b);
        if (!pending) revert UnknownBatch(b.batchId);
        if (b.proven) revert AlreadyProven(b.batchId);
        Challenge memory ch = challenges[h];
        if (ch.challenger != address(0) && block.timestamp > ch.deadline) revert ResponseWindowClosed(b.batchId);
        _verify(proof, b.commitment);
        StoredBatch memory proven = b;
        proven.proven = true;
        batchHash[b.batchId] = keccak256(abi.encode(proven));
        if (ch.challenger != address(0)) {
            delete challenges[h];
            fin.openChallenges -= 1;
            _creditWei(msg.sender, 0, challengeBond);
        }
        emit BatchProven(b.batchId, msg.sender);
    }

    /// @notice After the deadline of a challenge left unanswered (anyone): revert the batch and
    ///         every later one (not in exodus, which already rolled them back), slash the
    ///         sequencer, pay the challenger its bond and the reward, burn the rest.
    function resolveChallenge(StoredBatch calldata b) external {
        (bytes32 h, bool pending) = _pending(b);
        Challenge memory ch = challenges[h];
        if (ch.challenger == address(0)) revert NotChallenged();
        if (block.timestamp <= ch.deadline) revert ResponseWindowOpen(b.batchId);
        if (!pending) revert UnknownBatch(b.batchId);
        delete challenges[h];
        fin.openChallenges -= 1;
        Counters memory c = counters;
        uint256 toId = b.batchId;
        if (!c.exodusMode) {
            toId = c.batchCount;
            c.batchCount = b.batchId - 1;
            c.consumed = b.consumedBefore;
            // The requests the reverted batches consumed wait again, their deposits under the cap.
            unchecked {
                c.openDeposits = _depositsThrough(c.requestCount) - _depositsThrough(b.consumedBefore);
            }
            counters = c;
            stateRoot = b.oldRoot;
        }
        Bonds memory bs = bonds;
        uint256 s = bs.sequencerBond < minSequencerBond ? bs.sequencerBond : minSequencerBond;
        uint256 r = s * slashRewardBps / 10_000;
        bonds = Bonds(uint128(bs.sequencerBond - s), uint128(bs.burned + s - r));
        _creditWei(ch.challenger, 0, challengeBond + r);
        emit BatchesReverted(b.batchId, toId, ch.challenger, r, s - r);
    }

    /// @notice Refund the bond of a challenge whose batch is no longer pending (dropped by an
    ///         earlier batch's revert, or never pending again) to its challenger (anyone).
    function reclaimChallengeBond(StoredBatch calldata b) external {
        (bytes32 h, bool pending) = _pending(b);
        Challenge memory ch = challenges[h];
        if (ch.challenger == address(0)) revert NotChallenged();
        if (pending) revert ChallengeStillLive(b.batchId);
        delete challenges[h];
        fin.openChallenges -= 1;
        _creditWei(ch.challenger, 0, challengeBond);
        emit ChallengeRefunded(h, ch.challenger);
    }

    /// @notice Make the next batches final, in order (anyone): each proven, or past its
    ///         window and never challenged; each one's payouts credited to the owners.
    function finalizeBatches(StoredBatch[] calldata bs, bytes[] calldata payouts) external {
        if (counters.exodusMode) revert ExodusActive();
        if (bs.length != payouts.length) revert WrongDataLength();
        Finality memory f = fin;
        if (bs.length == 0) revert NotFinalizable(uint256(f.finalized) + 1);
        uint256 tip = counters.batchCount;
        for (uint256 i = 0; i < bs.length; i++) {
            StoredBatch calldata b = bs[i];
            if (b.batchId != uint256(f.finalized) + 1) revert NotFinalizable(b.batchId);
            bytes32 h = keccak256(abi.encode(b));
            if (b.batchId > tip || batchHash[b.batchId] != h) revert UnknownBatch(b.batchId);
            if (!b.proven && (challenges[h].challenger != address(0) || block.timestamp <= uint256(b.postedAt) + challengeWindow)) {
                revert NotFinalizable(b.batchId);
            }
            bytes calldata p = payouts[i];
            if (keccak256(p) != b.payoutsHash) revert WrongPayouts(b.batchId);
            for (uint256 at = 0; at < p.length; at += 12) {
                uint256 word;
                assembly ("memory-safe") {
                    word := calldataload(add(p.offset, at))
                }
                _credit(word >> 224, uint64(word >> 160));
            }
            delete batchHash[b.batchId];
            f.finalized = b.batchId;
            f.finalConsumed = b.consumedAfter;
        }
        fin = f;
        uint256 root = bs[bs.length - 1].newRoot;
        finalizedRoot = root;
        emit BatchesFinalized(bs[0].batchId, f.finalized, root);
    }

    // ---------------------------------------------------------------- exodus

    /// @dev Exodus pays from the final root: the tip rolls back to the final prefix, and the
    ///      requests the pending batches consumed wait again (to be cancelled and refunded).
    function _onExodus(Counters memory c) internal override {
        Finality memory f = fin;
        f.exodusTip = c.batchCount;
        fin = f;
        c.batchCount = f.finalized;
        c.consumed = f.finalConsumed;
        unchecked {
            c.openDeposits = _depositsThrough(c.requestCount) - _depositsThrough(f.finalConsumed);
        }
        stateRoot = finalizedRoot;
    }
}
