// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {PoseidonT5} from "./PoseidonT5.sol";
import {RollupBase} from "./RollupBase.sol";

/// @title zkrollup's rollup contract in validity mode, protocol v2.1 (SPEC-v2 sections 6 and 8)
/// @notice Holds the rollup's ETH and state root. Value enters through a queue of L1 requests
///         (depositNew, deposit, requestFullExit) that every batch drains in order; it leaves
///         through L2 withdrawals and full exits, credited to owners and pulled with
///         withdrawPending; if the sequencer stops draining the queue, anyone can switch the
///         contract to exodus and every owner takes the balance the last proved root gives them.
///         Deposits wait under a cap; a FullExit waits outside it, one per account, so an owner
///         can always queue one and the sequencer cannot keep exodus out of reach by keeping the
///         queue full (SPEC-v2 section 8). Every batch carries its proof and is final at once.
///         The constructor deploys the PoseidonT5 that exits hash with.
contract ZKRollup is RollupBase {
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
        Params memory params
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
            new PoseidonT5()
        )
    {}

    /// @notice Accept a batch: the next `l1Data.length / 65` queued requests (a FullExit with
    ///         the balance it proved), then `l2Data`'s N slots, moving the root to `newRoot`.
    /// @param proof [a.x, a.y, b.x.c1, b.x.c0, b.y.c1, b.y.c0, c.x, c.y].
    function submitBatch(uint256 newRoot, bytes calldata l1Data, bytes calldata l2Data, uint256[8] calldata proof)
        external
    {
        Counters memory c = counters;
        uint256 n = _checkBatch(c, newRoot, l1Data, l2Data);
        uint256 batchId = uint256(c.batchCount) + 1;
        _verify(proof, _commitment(batchId, stateRoot, newRoot, l1Data, n, l2Data));

        c.openDeposits -= uint24(_takeRecords(l1Data, n, false));
        _creditWithdrawals(l2Data);
        c.consumed += uint64(n);
        c.batchCount = uint64(batchId);
        counters = c;
        emit BatchSubmitted(batchId, stateRoot, newRoot);
        stateRoot = newRoot;
    }

    /// @dev Every batch is final once accepted.
    function _finalConsumed() internal view override returns (uint256) {
        return counters.consumed;
    }

    function _onExodus(Counters memory) internal pure override {}
}
