//! `OptimisticRollup` (SPEC-v3 section 3) in revm, against the engine: every batch is built by
//! the native model, posted with the engine's call data, and its stored record compared with the
//! engine's; the watcher's replay decides what is challenged; challenged batches are proved with
//! real proofs or cannot be. After every step the contract's ETH equals the L2 balances at the
//! final root, the deposits no final batch consumed, the payouts owed, the sequencer's bond, the
//! challenge bonds held and what was burned.

use std::sync::OnceLock;

use zkrollup::export::optimistic::{
    challenge_batch_calldata, decode_post_batch, finalize_batches_calldata, post_batch_calldata, prove_batch_calldata,
    reclaim_challenge_bond_calldata, resolve_challenge_calldata,
};
use zkrollup::optimistic::{keccak256, payouts, replay, sig_data, ReplayError, StoredBatch};

use super::*;

const CHALLENGE_WINDOW: u64 = 1_000;
const RESPONSE_WINDOW: u64 = 100;
const SLASH_REWARD_BPS: u64 = 5_000;
const START: u64 = 1_000_000;

fn challenge_bond() -> U256 {
    gwei(50_000_000) // 0.05 ether
}

fn min_sequencer_bond() -> U256 {
    gwei(1_000_000_000) // 1 ether
}

/// The creation code of `OptimisticRollup` and of the `PoseidonT5` it is deployed with (the
/// verifier comes from the keys).
fn optimistic_bytecode() -> &'static (Vec<u8>, Vec<u8>) {
    static CODE: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    CODE.get_or_init(|| {
        let c = evm::compile(&[&evm::root().join("verifier-sol/OptimisticRollup.sol"), &evm::root().join("verifier-sol/PoseidonT5.sol")]);
        (c["OptimisticRollup"].bytecode.clone(), c["PoseidonT5"].bytecode.clone())
    })
}

/// What these tests prove and verify with: the proving key and the verifier's creation code of
/// the parent module's keys (M = 2, N = 2, D = 4).
struct OptimisticKeys {
    pk: ProvingKey,
    verifier: Vec<u8>,
}

/// The keys, made once for the test binary (a setup and a solc run each time cost seconds);
/// their folder is removed once they are loaded.
fn optimistic_keys() -> &'static OptimisticKeys {
    static KEYS: OnceLock<OptimisticKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let k = keys();
        OptimisticKeys { verifier: k.contracts["Groth16Verifier"].bytecode.clone(), pk: k.pk }
    })
}

/// A posted batch not yet final, as the engine knows it.
#[derive(Clone)]
struct Pending {
    record: StoredBatch,
    payouts: Vec<u8>,
    witness: BatchWitness,
    /// The `postBatch` call data.
    call: Vec<u8>,
    /// Whether a proof of it can be made: honest, on an honest tip.
    provable: bool,
}

/// A deployed `OptimisticRollup` and the engine's model of it.
struct Opt<'k> {
    keys: &'k OptimisticKeys,
    chain: Chain,
    address: Address,
    domain: Fr,
    now: u64,
    /// The state after the last final batch, and at the tip.
    final_state: State,
    tip: State,
    /// Every request queued (request k is `queue[k - 1]`).
    queue: Vec<Request>,
    /// Batches final.
    finalized: u64,
    final_consumed: usize,
    tip_consumed: usize,
    /// In exodus: requests cancelled up to here.
    cancelled: usize,
    pending: Vec<Pending>,
    /// The model's bonds: the sequencer's, challenges held, burned.
    bond: U256,
    open_challenges: u64,
    burned: U256,
    credited: BTreeSet<Address>,
    /// Accounts that left by performExodus.
    exited: BTreeSet<u32>,
    /// When each request was queued.
    queued_at: Vec<u64>,
    /// Open challenges by record hash: challenger and deadline.
    challenges: std::collections::HashMap<[u8; 32], (Address, u64)>,
    /// Records dropped by a revert.
    dropped: Vec<StoredBatch>,
    exodus: bool,
}

impl<'k> Opt<'k> {
    fn deploy(keys: &'k OptimisticKeys) -> Opt<'k> {
        let mut chain = Chain::new();
        chain.set_time(START);
        let state = genesis();
        let g = state.genesis().unwrap();
        chain.fund(account(DEPLOYER), gwei(10_000_000));
        let (verifier, _) = chain.deploy(account(DEPLOYER), &keys.verifier, &[]);
        let (code, poseidon_code) = optimistic_bytecode();
        let (poseidon, _) = chain.deploy(account(DEPLOYER), poseidon_code, &[]);
        let args = [
            constructor_args(verifier, &g, D as u8, MAX_OPEN, account(SEQUENCER)),
            u64_word(CHALLENGE_WINDOW).to_vec(),
            u64_word(RESPONSE_WINDOW).to_vec(),
            challenge_bond().to_be_bytes::<32>().to_vec(),
            min_sequencer_bond().to_be_bytes::<32>().to_vec(),
            u64_word(SLASH_REWARD_BPS).to_vec(),
            address_word(poseidon).to_vec(),
        ]
        .concat();
        let (address, _) = chain.deploy_value(account(DEPLOYER), code, &args, gwei(g.total));
        let domain = Fr::from_be_bytes_mod_order(&chain.view_word(address, selector("domain()")));
        let mut opt = Opt {
            keys,
            chain,
            address,
            domain,
            now: START,
            final_state: state.clone(),
            tip: state,
            queue: Vec::new(),
            finalized: 0,
            final_consumed: 0,
            tip_consumed: 0,
            cancelled: 0,
            pending: Vec::new(),
            bond: U256::ZERO,
            open_challenges: 0,
            burned: U256::ZERO,
            credited: BTreeSet::new(),
            exited: BTreeSet::new(),
            queued_at: Vec::new(),
            challenges: std::collections::HashMap::new(),
            dropped: Vec::new(),
            exodus: false,
        };
        opt.assert_ledger();
        let out = opt.send(account(SEQUENCER), selector("depositSequencerBond()").to_vec(), min_sequencer_bond());
        assert!(out.is_success(), "{out:?}");
        opt.bond = min_sequencer_bond();
        opt.assert_ledger();
        opt
    }

    fn at(&mut self, t: u64) {
        self.now = t;
        self.chain.set_time(t);
    }

    fn send(&mut self, from: Address, data: Vec<u8>, value: U256) -> Outcome {
        self.chain.fund(from, value + gwei(1));
        self.chain.call_value(from, self.address, data, value)
    }

    fn word(&mut self, signature: &str) -> U256 {
        U256::from_be_bytes(self.chain.view_word(self.address, selector(signature)))
    }

    fn word_of(&mut self, signature: &str, arg: [u8; 32]) -> U256 {
        let out = self.chain.view(self.address, [selector(signature).as_slice(), &arg].concat());
        U256::from_be_bytes::<32>(out[..32].try_into().unwrap())
    }

    fn pending_balance(&mut self, who: Address) -> U256 {
        self.word_of("pendingBalance(address)", address_word(who))
    }

    fn owner_of(&mut self, index: u32) -> Address {
        let out = self.chain.view(self.address, [selector("ownerOf(uint256)").as_slice(), &u64_word(u64::from(index))].concat());
        Address::from_slice(&out[12..32])
    }

    /// SPEC-v3 section 3's identity, and the contract's views against the model.
    fn assert_ledger(&mut self) {
        let l2: u64 = self.final_state.accounts().iter().filter(|(i, _)| !self.exited.contains(i)).map(|(_, a)| a.balance).sum();
        let waiting = self.final_consumed.max(self.cancelled);
        let queued: u64 = self.queue[waiting..].iter().filter(|r| r.kind != RequestKind::FullExit).map(|r| r.amount).sum();
        let mut owed = gwei(l2 + queued) + self.bond + challenge_bond() * U256::from(self.open_challenges) + self.burned;
        for who in self.credited.clone() {
            owed += self.pending_balance(who);
        }
        assert_eq!(self.chain.balance(self.address), owed, "ETH held = final L2 + queued deposits + payouts + bonds + burned");
        assert_eq!(self.word("sequencerBond()"), self.bond);
        assert_eq!(self.word("burned()"), self.burned);
        assert_eq!(self.word("openChallenges()"), U256::from(self.open_challenges));
        assert_eq!(self.word("finalizedRoot()"), U256::from_be_bytes(word(self.final_state.root())));
        if self.word("exodusMode()") == U256::ZERO {
            let tip_root = self.pending.last().map_or(self.final_state.root(), |p| p.record.new_root);
            assert_eq!(self.word("stateRoot()"), U256::from_be_bytes(word(tip_root)));
            assert_eq!(self.word("tipRoot()"), self.word("stateRoot()"));
            assert_eq!(self.word("consumed()"), U256::from(self.tip_consumed));
            assert_eq!(self.word("finalized()"), U256::from(self.finalized));
            assert_eq!(self.word("batchCount()"), U256::from(self.finalized as usize + self.pending.len()));
            let open: usize = self.queue[self.tip_consumed..].iter().filter(|r| r.kind != RequestKind::FullExit).count();
            assert_eq!(self.word("openDeposits()"), U256::from(open), "open deposits at the tip");
        }
    }

    /// Everything a refusal must leave unchanged.
    fn snapshot(&mut self) -> Vec<U256> {
        let mut out: Vec<U256> = [
            "stateRoot()", "batchCount()", "consumed()", "requestCount()", "openDeposits()", "exodusMode()", "finalized()",
            "finalizedRoot()", "sequencerBond()", "burned()", "openChallenges()", "nextIndex()",
        ]
        .map(|s| self.word(s))
        .to_vec();
        out.push(self.chain.balance(self.address));
        for p in self.pending.clone() {
            out.push(self.word_of("batchHash(uint256)", u64_word(p.record.batch_id)));
            let ch = self.chain.view(self.address, [selector("challengeOf(bytes32)").as_slice(), &p.record.hash()].concat());
            out.extend(ch.chunks(32).map(U256::from_be_slice));
        }
        for who in self.credited.clone() {
            out.push(self.pending_balance(who));
        }
        out
    }

    /// A call that must revert with `error`, changing nothing.
    fn refused(&mut self, what: &str, from: Address, data: Vec<u8>, value: U256, error: &str) {
        let before = self.snapshot();
        let out = self.send(from, data, value);
        assert_eq!(out.revert_selector(), selector(error), "{what}: {out:?}");
        assert_eq!(self.snapshot(), before, "{what}: state changed");
    }

    fn deposit_new(&mut self, i: u8, owner: Address, amount: u64) {
        let k = key(i).public_key();
        let from = account(0xd1);
        let out = self.send(from, deposit_new_calldata(k.x(), k.y(), &addr_bytes(owner)), gwei(amount));
        assert!(out.is_success(), "{out:?}");
        self.queued(&out);
        self.credited.insert(from);
        self.assert_ledger();
    }

    /// The requests a transaction queued join the model's queue.
    fn queued(&mut self, out: &Outcome) {
        for r in out.l1_requests() {
            self.queue.push(Request::from_record(&r).unwrap());
            self.queued_at.push(self.now);
        }
    }

    fn deposit(&mut self, index: u32, amount: u64) {
        let from = account(0xd2);
        let out = self.send(from, deposit_calldata(index), gwei(amount));
        assert!(out.is_success(), "{out:?}");
        self.queued(&out);
        self.credited.insert(from);
        self.assert_ledger();
    }

    fn full_exit(&mut self, index: u32) {
        let owner = self.owner_of(index);
        let out = self.send(owner, request_full_exit_calldata(index), U256::ZERO);
        assert!(out.is_success(), "{out:?}");
        self.queued(&out);
        self.credited.insert(owner);
        self.assert_ledger();
    }

    fn next_id(&self) -> u64 {
        self.finalized + self.pending.len() as u64 + 1
    }

    fn params(&self, batch_id: u64) -> BatchParams {
        BatchParams::new(N, self.domain).with_l1_slots(M).with_batch_id(batch_id)
    }

    /// Post the next batch as an honest sequencer builds it: the next `requests` requests and
    /// these slots, applied to the tip. The watcher's replay of the call data accepts it.
    fn post(&mut self, requests: usize, transfers: Vec<Transfer>) -> Pending {
        let id = self.next_id();
        let consumed = self.queue[self.tip_consumed..self.tip_consumed + requests].to_vec();
        let batch = Batch::new(transfers).with_requests(consumed.clone());
        let mut after = self.tip.clone();
        let w = after.apply_batch(&batch, &self.params(id)).unwrap();
        let sigs = sig_data(&batch.padded(N).unwrap());
        let call = post_batch_calldata(&w.public_data, M, &consumed, &sigs).unwrap();
        let mut watcher = self.tip.clone();
        assert_eq!(replay(&mut watcher, &decode_post_batch(&call).unwrap(), &self.params(id)).as_ref(), Ok(&w), "the watcher accepts it");
        self.tip = after;
        let old_root = w.old_root;
        self.post_call(call, w, old_root, true)
    }

    /// Post the next batch as a dishonest sequencer: `transfers` and the next `requests`
    /// requests applied to the model's tip (which moves only if the post turns out a valid
    /// transition), on top of whatever the last post claimed, claiming `new_root` (None: the root they lead to), with these signatures
    /// (None: the real ones).
    fn post_dishonest(&mut self, requests: usize, transfers: Vec<Transfer>, new_root: Option<Fr>, sigs: Option<Vec<u8>>) -> Pending {
        let id = self.next_id();
        let consumed = self.queue[self.tip_consumed..self.tip_consumed + requests].to_vec();
        let batch = Batch::new(transfers).with_requests(consumed.clone());
        let w = self.tip.clone().apply_batch(&batch, &self.params(id)).unwrap();
        let mut data = w.public_data.clone();
        data[72..104].copy_from_slice(&word(new_root.unwrap_or(w.new_root)));
        let sigs = sigs.unwrap_or_else(|| sig_data(&batch.padded(N).unwrap()));
        let call = post_batch_calldata(&data, M, &consumed, &sigs).unwrap();
        let old_root = self.pending.last().map_or(self.final_state.root(), |p| p.record.new_root);
        let p = self.post_call(call, w, old_root, false);
        if p.provable {
            // A valid transition after all (the claimed root is the one the slots lead to, from
            // the contract's tip): the chain's state moves with it.
            self.tip.apply_batch(&batch, &self.params(id)).unwrap();
        }
        p
    }

    /// Send a `postBatch` call of `witness`'s batch, on top of `old_root` (the contract's tip);
    /// check the stored record and the event against the engine's.
    fn post_call(&mut self, call: Vec<u8>, witness: BatchWitness, old_root: Fr, honest: bool) -> Pending {
        let posted = decode_post_batch(&call).unwrap();
        let n = posted.l1_data.len() / 65;
        let out = self.send(account(SEQUENCER), call.clone(), U256::ZERO);
        assert!(out.is_success(), "postBatch: {out:?}");
        if honest {
            assert_eq!(commitment_of(&witness, old_root, posted.new_root), witness.commitment);
        }
        let record = StoredBatch {
            batch_id: witness.batch_id,
            posted_at: self.now,
            consumed_before: self.tip_consumed as u64,
            consumed_after: (self.tip_consumed + n) as u64,
            old_root,
            new_root: posted.new_root,
            commitment: commitment_of(&witness, old_root, posted.new_root),
            payouts_hash: keccak256(&payouts(&witness)),
            sig_hash: keccak256(&posted.sig_data),
            proven: false,
        };
        assert_eq!(self.word_of("batchHash(uint256)", u64_word(record.batch_id)), U256::from_be_bytes(record.hash()), "the stored record");
        let Outcome::Success { logs, .. } = &out else { unreachable!() };
        let topic = revm::primitives::keccak256(format!("BatchPosted(uint256,{})", zkrollup::export::optimistic::STORED_BATCH_TUPLE));
        let log = logs.iter().find(|l| l.data.topics()[0] == topic).expect("BatchPosted");
        assert_eq!(StoredBatch::abi_decode(&log.data.data), Some(record), "the event's record");
        self.tip_consumed += n;
        // Provable: the transition from the contract's tip to the claimed root is the one the
        // slots make (the signatures posted do not enter the proof).
        let provable = old_root == witness.old_root && posted.new_root == witness.new_root;
        let p = Pending { record, payouts: payouts(&witness), witness, call, provable };
        self.pending.push(p.clone());
        self.assert_ledger();
        p
    }

    /// Finalize the pending batches up to `id` in one call; the model follows.
    fn finalize_through(&mut self, id: u64) -> Outcome {
        let take = self.pending.iter().take_while(|p| p.record.batch_id <= id).count();
        let batches: Vec<(StoredBatch, Vec<u8>)> = self.pending[..take].iter().map(|p| (p.record, p.payouts.clone())).collect();
        let out = self.send(account(0x77), finalize_batches_calldata(&batches), U256::ZERO);
        if out.is_success() {
            for p in self.pending.drain(..take).collect::<Vec<_>>() {
                let consumed = self.queue[p.record.consumed_before as usize..p.record.consumed_after as usize].to_vec();
                let transfers = p.witness.slots.iter().map(|s| s.transfer).filter(|t| !t.is_padding()).collect();
                self.final_state.apply_batch(&Batch::new(transfers).with_requests(consumed), &self.params(p.record.batch_id)).unwrap();
                self.final_consumed = p.record.consumed_after as usize;
                for chunk in p.payouts.chunks(12) {
                    let owner = self.owner_of(u32::from_be_bytes(chunk[..4].try_into().unwrap()));
                    self.credited.insert(owner);
                }
                self.finalized = p.record.batch_id;
            }
            self.assert_ledger();
        }
        out
    }

    /// The hybrid: the next batch with its proof (`submitBatch`). Final at once when no batch is
    /// pending (its payouts credited inline), otherwise stored as proven with no signatures.
    fn submit(&mut self, requests: usize, transfers: Vec<Transfer>) {
        let id = self.next_id();
        let consumed = self.queue[self.tip_consumed..self.tip_consumed + requests].to_vec();
        let batch = Batch::new(transfers).with_requests(consumed.clone());
        let mut after = self.tip.clone();
        let w = after.apply_batch(&batch, &self.params(id)).unwrap();
        let proof = prove(&self.keys.pk, w.circuit(D)).unwrap();
        let out = self.send(account(SEQUENCER), submit_batch_calldata(&proof, &w.public_data, M, &consumed).unwrap(), U256::ZERO);
        assert!(out.is_success(), "submitBatch: {out:?}");
        self.tip = after;
        self.tip_consumed += requests;
        if self.pending.is_empty() {
            assert_eq!(self.word_of("batchHash(uint256)", u64_word(id)), U256::ZERO, "final at once: no record kept");
            self.final_state = self.tip.clone();
            self.final_consumed = self.tip_consumed;
            self.finalized = id;
            for chunk in payouts(&w).chunks(12) {
                let owner = self.owner_of(u32::from_be_bytes(chunk[..4].try_into().unwrap()));
                self.credited.insert(owner);
            }
        } else {
            let record = StoredBatch {
                batch_id: id,
                posted_at: self.now,
                consumed_before: (self.tip_consumed - requests) as u64,
                consumed_after: self.tip_consumed as u64,
                old_root: w.old_root,
                new_root: w.new_root,
                commitment: w.commitment,
                payouts_hash: keccak256(&payouts(&w)),
                sig_hash: keccak256(&[0; 64 * N]),
                proven: true,
            };
            assert_eq!(self.word_of("batchHash(uint256)", u64_word(id)), U256::from_be_bytes(record.hash()), "stored as proven");
            self.pending.push(Pending { record, payouts: payouts(&w), witness: w, call: Vec::new(), provable: true });
        }
        self.assert_ledger();
    }

    fn challenge(&mut self, id: u64, challenger: Address) -> Outcome {
        let record = self.record(id);
        let out = self.send(challenger, challenge_batch_calldata(&record), challenge_bond());
        if out.is_success() {
            self.challenges.insert(record.hash(), (challenger, self.now + RESPONSE_WINDOW));
            self.open_challenges += 1;
            self.credited.insert(challenger);
            self.assert_ledger();
        }
        out
    }

    fn record(&self, id: u64) -> StoredBatch {
        self.pending.iter().find(|p| p.record.batch_id == id).expect("pending").record
    }

    /// Prove pending batch `id` (honest) as `prover`.
    fn prove_pending(&mut self, id: u64, prover: Address) -> Outcome {
        let p = self.pending.iter().find(|p| p.record.batch_id == id).unwrap().clone();
        let proof = prove(&self.keys.pk, p.witness.circuit(D)).unwrap();
        let challenged = self.challenger_of(&p.record).is_some();
        let out = self.send(prover, prove_batch_calldata(&p.record, &proof), U256::ZERO);
        if out.is_success() {
            let entry = self.pending.iter_mut().find(|q| q.record.batch_id == id).unwrap();
            entry.record.proven = true;
            self.challenges.remove(&p.record.hash());
            if challenged {
                self.open_challenges -= 1;
                self.credited.insert(prover);
            }
            self.assert_ledger();
        }
        out
    }

    fn challenger_of(&mut self, record: &StoredBatch) -> Option<Address> {
        let out = self.chain.view(self.address, [selector("challengeOf(bytes32)").as_slice(), &record.hash()].concat());
        let who = Address::from_slice(&out[12..32]);
        (who != Address::ZERO).then_some(who)
    }

    /// Resolve the challenge on `record` (still pending): the batches from it on are dropped and
    /// the model's tip goes back to before it; the slash moves as SPEC-v3 says.
    fn resolve(&mut self, record: StoredBatch) -> Outcome {
        let out = self.send(account(0x78), resolve_challenge_calldata(&record), U256::ZERO);
        if out.is_success() {
            self.challenges.remove(&record.hash());
            self.open_challenges -= 1;
            let s = self.bond.min(min_sequencer_bond());
            let r = s * U256::from(SLASH_REWARD_BPS) / U256::from(10_000);
            self.bond -= s;
            self.burned += s - r;
            if self.word("exodusMode()") == U256::ZERO {
                let keep = self.pending.iter().take_while(|p| p.record.batch_id < record.batch_id).count();
                self.dropped.extend(self.pending.drain(keep..).map(|p| p.record));
                self.tip_consumed = record.consumed_before as usize;
                self.tip = self.final_state.clone();
                for p in self.pending.clone().into_iter().filter(|p| p.provable) {
                    let consumed = self.queue[p.record.consumed_before as usize..p.record.consumed_after as usize].to_vec();
                    let transfers = p.witness.slots.iter().map(|s| s.transfer).filter(|t| !t.is_padding()).collect();
                    self.tip.apply_batch(&Batch::new(transfers).with_requests(consumed), &self.params(p.record.batch_id)).unwrap();
                }
            }
            self.assert_ledger();
        }
        out
    }

    /// Reclaim the bond of the challenge on `record` (no longer pending) for its challenger.
    fn reclaim(&mut self, record: StoredBatch) -> Outcome {
        let out = self.send(account(0x79), reclaim_challenge_bond_calldata(&record), U256::ZERO);
        if out.is_success() {
            let (challenger, _) = self.challenges.remove(&record.hash()).expect("a challenge the model knows");
            self.open_challenges -= 1;
            self.credited.insert(challenger);
            self.assert_ledger();
        }
        out
    }

    /// `activateExodus()`: on success the tip rolls back to the final prefix.
    fn activate_exodus(&mut self) -> Outcome {
        let out = self.send(account(0x70), selector("activateExodus()").to_vec(), U256::ZERO);
        if out.is_success() {
            self.exodus = true;
            self.tip_consumed = self.final_consumed;
            self.assert_ledger();
        }
        out
    }
}

/// The commitment of `w`'s public data with these roots (a dishonest post's).
fn commitment_of(w: &BatchWitness, old_root: Fr, new_root: Fr) -> Fr {
    let mut data = w.public_data.clone();
    data[40..72].copy_from_slice(&word(old_root));
    data[72..104].copy_from_slice(&word(new_root));
    zkrollup::primitives::commitment::commitment(&data)
}

/// The honest life: two batches posted, nothing credited or withdrawable before they are final,
/// not finalizable until one second past the window, both finalized in one call, then paid.
#[test]
fn the_honest_life_posts_waits_finalizes_and_pays() {
    let keys = optimistic_keys();
    let mut r = Opt::deploy(keys);
    let carol_owner = account(0xC2);
    r.deposit_new(3, carol_owner, 5_000);
    // Batch 1: Carol's account opens (index 3); Alice pays Carol.
    let d = r.domain;
    let b1 = r.post(1, vec![Transfer::signed(&key(1), 1, 3, 300, 0, d)]);
    r.full_exit(3);
    // Batch 2: Carol's FullExit; Alice withdraws 1,000.
    r.at(START + 10);
    let b2 = r.post(1, vec![Transfer::signed(&key(1), 1, 0, 1_000, 1, d)]);
    assert_eq!(r.pending_balance(carol_owner), U256::ZERO, "nothing credited before final");
    assert_eq!(r.pending_balance(account(GENESIS_OWNER)), U256::ZERO);
    // Batch 1's window: challengeable through postedAt + window, final only after.
    for t in [START, START + CHALLENGE_WINDOW] {
        r.at(t);
        let call = finalize_batches_calldata(&[(b1.record, b1.payouts.clone())]);
        r.refused(&format!("finalize at {t}"), account(0x77), call, U256::ZERO, "NotFinalizable(uint256)");
    }
    r.at(START + CHALLENGE_WINDOW + 1);
    // Batch 2 is not past its window yet: finalizing both fails, batch 1 alone succeeds...
    let both = finalize_batches_calldata(&[(b1.record, b1.payouts.clone()), (b2.record, b2.payouts.clone())]);
    r.refused("batch 2 inside its window", account(0x77), both, U256::ZERO, "NotFinalizable(uint256)");
    // ...but out of order, or with another batch's payouts, nothing.
    r.refused("batch 2 before batch 1", account(0x77), finalize_batches_calldata(&[(b2.record, b2.payouts.clone())]), U256::ZERO, "NotFinalizable(uint256)");
    r.refused("wrong payouts", account(0x77), finalize_batches_calldata(&[(b1.record, b2.payouts.clone())]), U256::ZERO, "WrongPayouts(uint256)");
    r.at(START + 10 + CHALLENGE_WINDOW + 1);
    assert!(r.finalize_through(2).is_success());
    assert_eq!(r.word("finalized()"), U256::from(2));
    assert_eq!(r.word_of("batchHash(uint256)", u64_word(1)), U256::ZERO, "a final record's hash is deleted");
    assert_eq!(r.pending_balance(carol_owner), gwei(5_300), "Carol's exit pays her balance");
    assert_eq!(r.pending_balance(account(GENESIS_OWNER)), gwei(1_000), "Alice's withdrawal");
    assert!(r.word_of("exitPending(uint256)", u64_word(3)) == U256::ZERO, "the flag cleared when its batch became final");
    // Withdrawn.
    let out = r.send(carol_owner, withdraw_pending_calldata(&addr_bytes(carol_owner), 5_300_000_000_000), U256::ZERO);
    assert!(out.is_success(), "{out:?}");
    r.assert_ledger();
}

/// A wrong root: the watcher's replay refuses it, it is challenged (the window's last second
/// counts, the one after does not), no proof verifies for it, and once the response deadline
/// has passed (the deadline itself does not count) anyone reverts it and every batch after it:
/// state, count and queue position exactly as before it, the deposit it consumed open again,
/// the challenger paid its bond and half the slash, the rest burned. The dropped requests are
/// posted again under the same ids and become final.
#[test]
fn a_wrong_root_is_challenged_cannot_be_proved_and_is_reverted() {
    let keys = optimistic_keys();
    let mut r = Opt::deploy(keys);
    let d = r.domain;
    r.deposit_new(3, account(0xC2), 5_000);
    let b1 = r.post(1, vec![Transfer::signed(&key(1), 1, 3, 300, 0, d)]);
    r.deposit(2, 2_000);
    r.at(START + 10);
    let before_b2 = (r.word("stateRoot()"), r.word("consumed()"), r.word("openDeposits()"), r.word("batchCount()"));
    let bob_pays = Transfer::signed(&key(2), 2, 1, 7, 0, d);
    let b2 = r.post_dishonest(1, vec![bob_pays], Some(Fr::from(12_345u64)), None);
    let mut watcher = r.tip.clone();
    assert!(matches!(replay(&mut watcher, &decode_post_batch(&b2.call).unwrap(), &r.params(2)), Err(ReplayError::Root { .. })));
    // A later batch on top of it (the sequencer goes on).
    r.at(START + 20);
    let b3 = r.post_dishonest(0, vec![Transfer::signed(&key(1), 1, 2, 1, 1, d)], None, None);

    let challenger = account(0xCC);
    r.at(START + 10 + CHALLENGE_WINDOW + 1);
    r.refused("a second too late", challenger, challenge_batch_calldata(&b2.record), challenge_bond(), "ChallengeWindowClosed(uint256)");
    r.at(START + 10 + CHALLENGE_WINDOW);
    r.refused("a wrong bond", challenger, challenge_batch_calldata(&b2.record), challenge_bond() - U256::from(1), "WrongBond()");
    let mut tampered = b2.record;
    tampered.new_root = b2.witness.new_root;
    r.refused("a record that was never posted", challenger, challenge_batch_calldata(&tampered), challenge_bond(), "UnknownBatch(uint256)");
    assert!(r.challenge(2, challenger).is_success());
    r.refused("challenged twice", account(0xCD), challenge_batch_calldata(&b2.record), challenge_bond(), "AlreadyChallenged(uint256)");
    let deadline = START + 10 + CHALLENGE_WINDOW + RESPONSE_WINDOW;
    // The proof of the batch with its real root is a proof of another commitment.
    let honest_proof = prove(&keys.pk, b2.witness.circuit(D)).unwrap();
    r.refused("the real root's proof", account(0xEE), prove_batch_calldata(&b2.record, &honest_proof), U256::ZERO, "InvalidProof(uint256)");
    r.at(deadline);
    r.refused("resolved at the deadline", account(0x78), resolve_challenge_calldata(&b2.record), U256::ZERO, "ResponseWindowOpen(uint256)");
    r.refused("finalizing a challenged batch", account(0x77), finalize_batches_calldata(&[(b1.record, b1.payouts.clone()), (b2.record, b2.payouts.clone())]), U256::ZERO, "NotFinalizable(uint256)");
    r.at(deadline + 1);
    assert!(r.resolve(b2.record).is_success());
    assert_eq!((r.word("stateRoot()"), r.word("consumed()"), r.word("openDeposits()"), r.word("batchCount()")), before_b2, "as before batch 2");
    assert_eq!(r.pending_balance(challenger), challenge_bond() + min_sequencer_bond() / U256::from(2), "bond and reward");
    assert_eq!(r.word("burned()"), min_sequencer_bond() / U256::from(2));
    assert_eq!(r.word_of("batchHash(uint256)", u64_word(3)), U256::from_be_bytes(b3.record.hash()), "batch 3's hash stays, dead");
    r.refused("challenging a dropped batch", challenger, challenge_batch_calldata(&b3.record), challenge_bond(), "UnknownBatch(uint256)");

    // Slashed to nothing: no post until the bond is back.
    let again = {
        let consumed = r.queue[r.tip_consumed..r.tip_consumed + 1].to_vec();
        let batch = Batch::new(vec![bob_pays]).with_requests(consumed.clone());
        let w = r.tip.clone().apply_batch(&batch, &r.params(2)).unwrap();
        post_batch_calldata(&w.public_data, M, &consumed, &sig_data(&batch.padded(N).unwrap())).unwrap()
    };
    r.refused("no bond", account(SEQUENCER), again, U256::ZERO, "InsufficientSequencerBond()");
    assert!(r.send(account(SEQUENCER), selector("depositSequencerBond()").to_vec(), min_sequencer_bond()).is_success());
    r.bond = min_sequencer_bond();
    r.assert_ledger();
    // The same requests again under id 2, honestly; both final after their windows.
    let b2 = r.post(1, vec![bob_pays]);
    assert_eq!(b2.record.batch_id, 2);
    r.at(deadline + 1 + CHALLENGE_WINDOW + 1);
    assert!(r.finalize_through(2).is_success());
    assert_eq!(r.word("finalizedRoot()"), U256::from_be_bytes(word(b2.witness.new_root)));
}

/// A forged transfer: the root is the one the transfer would lead to, but the signature is not
/// the sender's. The watcher's replay names the slot and the rule; the circuit with the posted
/// signature is unsatisfied and a proof made from it anyway does not verify; unanswered, the
/// challenge reverts the batch.
#[test]
fn a_forged_transfer_is_challenged_and_reverted() {
    use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
    let keys = optimistic_keys();
    let mut r = Opt::deploy(keys);
    let d = r.domain;
    // Bob's 40,000 to account 1, "signed" by key 9.
    let stolen = Transfer::signed(&key(2), 2, 1, 40_000, 0, d);
    let forged = Transfer { signature: Transfer::signed(&key(9), 2, 1, 40_000, 0, d).signature, ..stolen };
    let sigs = sig_data(&[forged, Transfer::PADDING]);
    let b1 = r.post_dishonest(0, vec![stolen], None, Some(sigs));
    let mut watcher = r.tip.clone();
    let refused = replay(&mut watcher, &decode_post_batch(&b1.call).unwrap(), &r.params(1)).unwrap_err();
    assert_eq!(refused.name(), "bad_signature");
    assert!(refused.to_string().starts_with("L2 slot 0: signature invalid"), "{refused}");
    // What a prover could do with the posted signature.
    let mut w = b1.witness.clone();
    w.slots[0].transfer = forged;
    let cs = ConstraintSystem::<Fr>::new_ref();
    w.circuit(D).generate_constraints(cs.clone()).unwrap();
    assert!(!cs.is_satisfied().unwrap(), "the circuit refuses the forged signature");
    let forced = zkrollup::prover::prove_unchecked(&keys.pk, w.circuit(D)).unwrap();
    r.refused("a proof of the forged witness", account(0xEE), prove_batch_calldata(&b1.record, &forced), U256::ZERO, "InvalidProof(uint256)");

    assert!(r.challenge(1, account(0xCC)).is_success());
    r.at(START + RESPONSE_WINDOW + 1);
    assert!(r.resolve(b1.record).is_success());
    assert_eq!(r.word("batchCount()"), U256::ZERO);
    assert_eq!(r.word("stateRoot()"), U256::from_be_bytes(word(genesis().root())));
}

/// A griefing challenge on an honest batch: a third party proves it in time (at the deadline
/// itself) and takes the challenger's bond; proven, the batch is final before its window ends.
/// A challenged batch proved one second late is refused.
#[test]
fn an_honest_batch_challenged_is_proved_by_anyone_in_time() {
    let keys = optimistic_keys();
    let mut r = Opt::deploy(keys);
    let d = r.domain;
    let b1 = r.post(0, vec![Transfer::signed(&key(1), 1, 2, 10, 0, d)]);
    let b2 = r.post(0, vec![Transfer::signed(&key(2), 2, 1, 10, 0, d)]);
    let griefer = account(0xCC);
    let prover = account(0xAB);
    assert!(r.challenge(1, griefer).is_success());
    assert!(r.challenge(2, griefer).is_success());
    let mut watcher = r.final_state.clone();
    assert!(replay(&mut watcher, &decode_post_batch(&b1.call).unwrap(), &r.params(1)).is_ok(), "the watcher would defend it");
    r.at(START + RESPONSE_WINDOW);
    assert!(r.prove_pending(1, prover).is_success());
    assert_eq!(r.pending_balance(prover), challenge_bond());
    let proven = r.record(1);
    assert!(proven.proven);
    assert_eq!(r.word_of("batchHash(uint256)", u64_word(1)), U256::from_be_bytes(proven.hash()));
    r.refused("proved twice", prover, prove_batch_calldata(&proven, &prove(&keys.pk, b1.witness.circuit(D)).unwrap()), U256::ZERO, "AlreadyProven(uint256)");
    r.refused("challenging a proven batch", griefer, challenge_batch_calldata(&proven), challenge_bond(), "AlreadyProven(uint256)");
    r.refused("resolving a proven batch", griefer, resolve_challenge_calldata(&proven), U256::ZERO, "NotChallenged()");
    r.at(START + RESPONSE_WINDOW + 1);
    let late = prove(&keys.pk, b2.witness.circuit(D)).unwrap();
    r.refused("proved a second late", prover, prove_batch_calldata(&b2.record, &late), U256::ZERO, "ResponseWindowClosed(uint256)");
    // Final long before its window ends.
    assert!(r.finalize_through(1).is_success());
    assert_eq!(r.word("finalized()"), U256::from(1));
}

/// A cascade: challenges on batches 2 and 4; batch 2's revert drops 3 and 4, so batch 4's
/// challenger reclaims its bond (not before: the challenge is live while batch 4 is pending).
#[test]
fn a_revert_drops_a_later_challenged_batch_whose_challenger_reclaims() {
    let keys = optimistic_keys();
    let mut r = Opt::deploy(keys);
    let d = r.domain;
    r.post(0, vec![Transfer::signed(&key(1), 1, 2, 10, 0, d)]);
    let b2 = r.post_dishonest(0, vec![Transfer::signed(&key(1), 1, 2, 10, 1, d)], Some(Fr::from(77u64)), None);
    r.post_dishonest(0, vec![Transfer::signed(&key(2), 2, 1, 10, 0, d)], None, None);
    // Built on the honest tip, which the dishonest posts do not move.
    let b4 = r.post_dishonest(0, vec![Transfer::signed(&key(1), 1, 2, 5, 1, d)], None, None);
    let (c2, c4) = (account(0xC2), account(0xC4));
    assert!(r.challenge(2, c2).is_success());
    assert!(r.challenge(4, c4).is_success());
    r.refused("reclaiming a live challenge", c4, reclaim_challenge_bond_calldata(&b4.record), U256::ZERO, "ChallengeStillLive(uint256)");
    r.at(START + RESPONSE_WINDOW + 1);
    assert!(r.resolve(b2.record).is_success());
    r.refused("resolving a dropped batch", account(0x78), resolve_challenge_calldata(&b4.record), U256::ZERO, "UnknownBatch(uint256)");
    let before = r.pending_balance(c4);
    assert!(r.reclaim(b4.record).is_success());
    assert_eq!(r.pending_balance(c4) - before, challenge_bond());
    r.refused("reclaimed twice", c4, reclaim_challenge_bond_calldata(&b4.record), U256::ZERO, "NotChallenged()");
    assert_eq!(r.word("batchCount()"), U256::from(1));
}

/// Exodus with batches pending: the tip rolls back to the final prefix; owners exit from the
/// final root only (a FullExit a pending batch consumed pays nothing); the deposits only pending
/// batches consumed are refunded by cancelling; an open challenge on a wrong batch is still
/// resolved and paid; then the sequencer's bond comes free.
#[test]
fn exodus_with_batches_pending_pays_from_the_final_root_and_settles_bonds() {
    let keys = optimistic_keys();
    let mut r = Opt::deploy(keys);
    let d = r.domain;
    let carol_owner = account(0xC2);
    // Two bonds' worth: one slash leaves one.
    assert!(r.send(account(SEQUENCER), selector("depositSequencerBond()").to_vec(), min_sequencer_bond()).is_success());
    r.bond += min_sequencer_bond();
    r.deposit_new(3, carol_owner, 5_000);
    r.post(1, vec![Transfer::signed(&key(1), 1, 3, 300, 0, d)]);
    r.at(START + CHALLENGE_WINDOW + 1);
    assert!(r.finalize_through(1).is_success());
    // Pending: batch 2 takes a deposit and Carol's FullExit; batch 3 claims a wrong root.
    r.deposit(2, 2_000);
    r.full_exit(3);
    let b2 = r.post(2, vec![Transfer::signed(&key(1), 1, 0, 100, 1, d)]);
    let b3 = r.post_dishonest(0, vec![Transfer::signed(&key(2), 2, 1, 1, 0, d)], Some(Fr::from(5u64)), None);
    let (griefer, challenger) = (account(0xCA), account(0xCB));
    assert!(r.challenge(2, griefer).is_success());
    assert!(r.challenge(3, challenger).is_success());
    // The griefing challenge is answered in time (the griefer's bond to the prover).
    assert!(r.prove_pending(2, account(0xAB)).is_success());
    assert_eq!(r.pending_balance(account(0xAB)), challenge_bond());
    let queued_at = r.now;
    r.deposit(1, 1_500);
    r.refused("bond locked while batches are pending", account(SEQUENCER), withdraw_sequencer_bond(account(SEQUENCER), U256::from(1)), U256::ZERO, "BondLocked()");

    r.at(queued_at + EXODUS_DELAY + 1);
    assert!(r.activate_exodus().is_success());
    assert_eq!(r.word("batchCount()"), U256::from(1), "rolled back to the final prefix");
    assert_eq!(r.word("stateRoot()"), r.word("finalizedRoot()"));
    assert_eq!(r.word("consumed()"), U256::from(r.final_consumed));
    assert_eq!(r.word("openDeposits()"), U256::from(2), "the deposit batch 2 took waits again, with the new one");
    assert!(r.word_of("exitPending(uint256)", u64_word(3)) != U256::ZERO, "Carol's FullExit waits again");
    r.refused("posting in exodus", account(SEQUENCER), b2.call.clone(), U256::ZERO, "ExodusActive()");
    r.refused("challenging in exodus", account(0xCD), challenge_batch_calldata(&b2.record), challenge_bond(), "ExodusActive()");
    let fin = finalize_batches_calldata(&[(b2.record, b2.payouts.clone())]);
    r.refused("finalizing in exodus", account(0x77), fin, U256::ZERO, "ExodusActive()");

    // Carol exits with her final balance (5,300); her FullExit in batch 2 paid nothing.
    let state = r.final_state.clone();
    assert!(r.send(account(0x71), exit_calldata(&state, 3).unwrap(), U256::ZERO).is_success());
    r.exited.insert(3);
    r.assert_ledger();
    assert_eq!(r.pending_balance(carol_owner), gwei(5_300));
    // The requests no final batch consumed: the deposits refunded, the flag cleared.
    let waiting = r.queue[r.final_consumed..].to_vec();
    assert!(r.send(account(0x72), cancel(&waiting), U256::ZERO).is_success());
    r.cancelled = r.queue.len();
    r.assert_ledger();
    assert_eq!(r.word_of("exitPending(uint256)", u64_word(3)), U256::ZERO);
    // Batch 3's challenge, long unanswered, is resolved in exodus: paid, nothing to revert.
    r.refused("reclaiming a challenge still to resolve", challenger, reclaim_challenge_bond_calldata(&b3.record), U256::ZERO, "ChallengeStillLive(uint256)");
    assert!(r.resolve(b3.record).is_success());
    assert_eq!(r.pending_balance(challenger), challenge_bond() + min_sequencer_bond() / U256::from(2));
    assert_eq!(r.word("batchCount()"), U256::from(1));
    // Settled: the sequencer takes what is left of its bond.
    assert_eq!(r.word("sequencerBond()"), min_sequencer_bond());
    let out = r.send(account(SEQUENCER), withdraw_sequencer_bond(account(SEQUENCER), min_sequencer_bond()), U256::ZERO);
    assert!(out.is_success(), "{out:?}");
    r.bond = U256::ZERO;
    r.assert_ledger();
}

fn withdraw_sequencer_bond(to: Address, wei: U256) -> Vec<u8> {
    [selector("withdrawSequencerBond(address,uint256)").as_slice(), &address_word(to), &wei.to_be_bytes::<32>()].concat()
}

/// Refusals not met in the stories above, each by its error and changing nothing; and the
/// constructor's checks of the optimistic parameters and of the Poseidon contract.
#[test]
fn refusals_name_their_error_and_change_nothing() {
    let keys = optimistic_keys();
    let mut r = Opt::deploy(keys);
    let d = r.domain;
    let b1 = r.post(0, vec![Transfer::signed(&key(1), 1, 2, 10, 0, d)]);
    let sigs = sig_data(&[Transfer::signed(&key(1), 1, 2, 10, 1, d), Transfer::PADDING]);
    let w = r.tip.clone().apply_batch(&Batch::new(vec![Transfer::signed(&key(1), 1, 2, 10, 1, d)]), &r.params(2)).unwrap();
    let good = post_batch_calldata(&w.public_data, M, &[], &sigs).unwrap();
    r.refused("not the sequencer", account(0x99), good.clone(), U256::ZERO, "NotSequencer(address)");
    let short = post_batch_calldata(&w.public_data, M, &[], &sigs[..64]).unwrap();
    r.refused("sigData of one slot", account(SEQUENCER), short, U256::ZERO, "WrongDataLength()");
    r.refused("bond deposit by another", account(0x99), selector("depositSequencerBond()").to_vec(), gwei(1), "NotSequencer(address)");
    r.refused("bond withdrawal by another", account(0x99), withdraw_sequencer_bond(account(0x99), U256::from(1)), U256::ZERO, "NotSequencer(address)");
    r.refused("bond withdrawal while pending", account(SEQUENCER), withdraw_sequencer_bond(account(SEQUENCER), U256::from(1)), U256::ZERO, "BondLocked()");
    r.refused("resolving with no challenge", account(0x78), resolve_challenge_calldata(&b1.record), U256::ZERO, "NotChallenged()");
    r.refused("reclaiming with no challenge", account(0x78), reclaim_challenge_bond_calldata(&b1.record), U256::ZERO, "NotChallenged()");
    r.refused("finalizing nothing", account(0x77), finalize_batches_calldata(&[]), U256::ZERO, "NotFinalizable(uint256)");
    let wrong_proof = prove(&keys.pk, w.circuit(D)).unwrap();
    r.refused("another batch's proof", account(0xAB), prove_batch_calldata(&b1.record, &wrong_proof), U256::ZERO, "InvalidProof(uint256)");
    r.at(START + CHALLENGE_WINDOW + 1);
    assert!(r.finalize_through(1).is_success());
    r.refused("challenging a final batch", account(0xCC), challenge_batch_calldata(&b1.record), challenge_bond(), "BatchAlreadyFinal(uint256)");
    r.refused("proving a final batch", account(0xAB), prove_batch_calldata(&b1.record, &prove(&keys.pk, b1.witness.circuit(D)).unwrap()), U256::ZERO, "UnknownBatch(uint256)");
    r.refused("finalizing again", account(0x77), finalize_batches_calldata(&[(b1.record, b1.payouts.clone())]), U256::ZERO, "NotFinalizable(uint256)");
    r.refused("withdrawing more than the bond", account(SEQUENCER), withdraw_sequencer_bond(account(SEQUENCER), min_sequencer_bond() + U256::from(1)), U256::ZERO, "NothingToWithdraw()");

    // The constructor: each optimistic parameter out of range, and a Poseidon that is not one.
    let mut chain = Chain::new();
    chain.set_time(START);
    chain.fund(account(DEPLOYER), gwei(10_000_000));
    let g = genesis().genesis().unwrap();
    let (verifier, _) = chain.deploy(account(DEPLOYER), &keys.verifier, &[]);
    let (code, poseidon_code) = optimistic_bytecode();
    let (poseidon, _) = chain.deploy(account(DEPLOYER), poseidon_code, &[]);
    let args = |window: u64, response: u64, bond: U256, min_bond: U256, bps: u64, poseidon: Address| {
        [
            constructor_args(verifier, &g, D as u8, MAX_OPEN, account(SEQUENCER)),
            u64_word(window).to_vec(),
            u64_word(response).to_vec(),
            bond.to_be_bytes::<32>().to_vec(),
            min_bond.to_be_bytes::<32>().to_vec(),
            u64_word(bps).to_vec(),
            address_word(poseidon).to_vec(),
        ]
        .concat()
    };
    let (cb, mb) = (challenge_bond(), min_sequencer_bond());
    for (what, a) in [
        ("a window is zero", args(0, 0, cb, mb, 5_000, poseidon)),
        ("a window is zero", args(1_000, 0, cb, mb, 5_000, poseidon)),
        ("a bond is zero", args(1_000, 100, U256::ZERO, mb, 5_000, poseidon)),
        ("a bond is zero", args(1_000, 100, cb, U256::ZERO, 5_000, poseidon)),
        ("responseWindow above challengeWindow", args(1_000, 1_001, cb, mb, 5_000, poseidon)),
        ("slashRewardBps above 10,000", args(1_000, 100, cb, mb, 10_001, poseidon)),
        ("poseidon is not PoseidonT5", args(1_000, 100, cb, mb, 5_000, verifier)),
    ] {
        let out = chain.create_value(account(DEPLOYER), [code.as_slice(), &a].concat(), gwei(g.total));
        assert_eq!(out.bad_configuration().as_deref(), Some(what), "{out:?}");
    }
    let out = chain.create_value(account(DEPLOYER), [code.as_slice(), &args(1_000, 1_000, cb, mb, 10_000, poseidon)].concat(), gwei(g.total));
    assert!(out.is_success(), "the limits themselves are allowed: {out:?}");
}

/// The hybrid (`submitBatch` with a proof): final at once, its payouts credited inline, while no
/// batch is pending; behind a pending batch, stored as proven and final right after it, before
/// its own window would end; unchallengeable either way.
#[test]
fn the_hybrid_is_final_at_once_when_every_earlier_batch_is() {
    let keys = optimistic_keys();
    let mut r = Opt::deploy(keys);
    let d = r.domain;
    r.full_exit(2);
    r.submit(1, vec![Transfer::signed(&key(1), 1, 0, 700, 0, d)]);
    assert_eq!(r.word("finalized()"), U256::from(1));
    assert_eq!(r.pending_balance(account(GENESIS_OWNER)), gwei(50_000 + 700), "Bob's exit and Alice's withdrawal, inline");
    r.post(0, vec![Transfer::signed(&key(1), 1, 2, 5, 1, d)]);
    r.at(START + 5);
    r.submit(0, vec![Transfer::signed(&key(1), 1, 0, 5, 2, d)]);
    let b3 = r.record(3);
    r.refused("challenging a proven batch", account(0xCC), challenge_batch_calldata(&b3), challenge_bond(), "AlreadyProven(uint256)");
    r.at(START + CHALLENGE_WINDOW + 1);
    let w3 = r.pending[1].witness.clone();
    assert!(r.finalize_through(3).is_success(), "batch 2 past its window, batch 3 proven");
    assert_eq!(r.word("finalizedRoot()"), U256::from_be_bytes(word(w3.new_root)));
    assert_eq!(r.pending_balance(account(GENESIS_OWNER)), gwei(50_000 + 700 + 5));
}

/// The contract against the model over random sequences of every operation (deposits, honest
/// and dishonest posts, challenges, proofs, resolutions, reclaims, finalizations, time, bonds,
/// exodus): each call succeeds exactly when the model says it may (a refusal names the error
/// the model expects and changes nothing), and after each success the ETH identity and the views
/// agree with the model. A watcher in the model challenges a dishonest batch before its window
/// closes, as SPEC-v3 assumes one does.
#[test]
fn random_operations_agree_with_the_model() {
    use rand::{Rng, SeedableRng};
    let keys = optimistic_keys();
    // (kind, succeeded): how often, over the seeds (deterministic), so that the coverage shows.
    let mut tally: std::collections::BTreeMap<(&str, bool), u32> = Default::default();
    for seed in 0..4u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut r = Opt::deploy(keys);
        let challengers = [account(0xC1), account(0xC2), account(0xC3)];
        for step in 0..50 {
            let before = r.snapshot();
            // Exodus ends a story: only in its last quarter.
            let op = rng.gen_range(0..if step < 38 { 97 } else { 100 });
            let what = format!("seed {seed}, step {step}, op {op}");
            match op {
                0..=14 => random_deposit(&mut r, &mut rng, &what),
                15..=27 => random_post(&mut r, &mut rng, &what),
                28..=40 => {
                    let Some(p) = pick(&r.pending, &mut rng) else { continue };
                    let challenger = challengers[rng.gen_range(0..3)];
                    match expected_challenge(&r, &p.record) {
                        None => assert!(r.challenge(p.record.batch_id, challenger).is_success(), "{what}: challenge"),
                        Some(e) => r.refused(&what, challenger, challenge_batch_calldata(&p.record), challenge_bond(), e),
                    }
                }
                41..=50 => {
                    let Some(p) = pick(&r.pending, &mut rng) else { continue };
                    let proof = prove(&keys.pk, p.witness.circuit(D)).unwrap();
                    match expected_prove(&r, &p) {
                        None => assert!(r.prove_pending(p.record.batch_id, account(0xAB)).is_success(), "{what}: prove"),
                        Some(e) => r.refused(&what, account(0xAB), prove_batch_calldata(&p.record, &proof), U256::ZERO, e),
                    }
                }
                51..=62 => {
                    let known: Vec<StoredBatch> = r.pending.iter().map(|p| p.record).chain(r.dropped.iter().copied()).collect();
                    // Mostly a challenged one (the others are refused NotChallenged).
                    let challenged: Vec<StoredBatch> = known.iter().filter(|b| r.challenges.contains_key(&b.hash())).copied().collect();
                    let from = if rng.gen_bool(0.8) && !challenged.is_empty() { &challenged } else { &known };
                    let Some(record) = pick(from, &mut rng) else { continue };
                    match expected_resolve(&r, &record) {
                        None => assert!(r.resolve(record).is_success(), "{what}: resolve"),
                        Some(e) => r.refused(&what, account(0x78), resolve_challenge_calldata(&record), U256::ZERO, e),
                    }
                }
                63..=68 => {
                    let known: Vec<StoredBatch> = r.dropped.iter().copied().chain(r.pending.iter().map(|p| p.record)).collect();
                    let challenged: Vec<StoredBatch> = known.iter().filter(|b| r.challenges.contains_key(&b.hash())).copied().collect();
                    let from = if rng.gen_bool(0.8) && !challenged.is_empty() { &challenged } else { &known };
                    let Some(record) = pick(from, &mut rng) else { continue };
                    match expected_reclaim(&r, &record) {
                        None => assert!(r.reclaim(record).is_success(), "{what}: reclaim"),
                        Some(e) => r.refused(&what, account(0x79), reclaim_challenge_bond_calldata(&record), U256::ZERO, e),
                    }
                }
                69..=80 => {
                    if r.pending.is_empty() {
                        continue;
                    }
                    let k = rng.gen_range(1..=r.pending.len());
                    let last = r.pending[k - 1].record.batch_id;
                    match expected_finalize(&r, k) {
                        None => assert!(r.finalize_through(last).is_success(), "{what}: finalize {k}"),
                        Some(e) => {
                            let batches: Vec<(StoredBatch, Vec<u8>)> = r.pending[..k].iter().map(|p| (p.record, p.payouts.clone())).collect();
                            r.refused(&what, account(0x77), finalize_batches_calldata(&batches), U256::ZERO, e);
                        }
                    }
                }
                81..=93 => {
                    // Within a response window, or past a challenge window.
                    let dt = if rng.gen_bool(0.5) { rng.gen_range(0..2 * RESPONSE_WINDOW) } else { rng.gen_range(0..2 * CHALLENGE_WINDOW) };
                    advance(&mut r, dt, &challengers);
                }
                94..=96 => {
                    if r.bond < min_sequencer_bond() {
                        assert!(r.send(account(SEQUENCER), selector("depositSequencerBond()").to_vec(), min_sequencer_bond()).is_success());
                        r.bond += min_sequencer_bond();
                        r.assert_ledger();
                    }
                }
                _ => {
                    advance(&mut r, EXODUS_DELAY + 1, &challengers);
                    let due = r.queue.len() > r.tip_consumed && r.queued_at[r.tip_consumed] + EXODUS_DELAY < r.now;
                    if r.exodus {
                        r.refused(&what, account(0x70), selector("activateExodus()").to_vec(), U256::ZERO, "ExodusActive()");
                    } else if due {
                        assert!(r.activate_exodus().is_success(), "{what}: exodus");
                    } else {
                        r.refused(&what, account(0x70), selector("activateExodus()").to_vec(), U256::ZERO, "NoExpiredRequest()");
                    }
                }
            }
            let kind = match op {
                0..=14 => "deposit",
                15..=27 => "post",
                28..=40 => "challenge",
                41..=50 => "prove",
                51..=62 => "resolve",
                63..=68 => "reclaim",
                69..=80 => "finalize",
                81..=96 => "time or bond",
                _ => "exodus",
            };
            let moved = r.snapshot() != before;
            *tally.entry((kind, moved)).or_default() += 1;
        }
    }
    eprintln!("operations (kind, changed the contract): {tally:?}");
    for kind in ["deposit", "post", "challenge", "prove", "resolve", "reclaim", "finalize", "exodus"] {
        assert!(tally.get(&(kind, true)).is_some_and(|&n| n > 0), "no {kind} took effect: {tally:?}");
    }
}

fn pick<T: Clone>(items: &[T], rng: &mut impl rand::Rng) -> Option<T> {
    (!items.is_empty()).then(|| items[rng.gen_range(0..items.len())].clone())
}

fn random_deposit(r: &mut Opt, rng: &mut impl rand::Rng, what: &str) {
    let index = rng.gen_range(1..=2);
    let amount = rng.gen_range(MIN_DEPOSIT..2 * MIN_DEPOSIT);
    let open = r.queue[r.tip_consumed..].iter().filter(|q| q.kind != RequestKind::FullExit).count() as u64;
    if r.exodus {
        r.refused(what, account(0xd2), deposit_calldata(index), gwei(amount), "ExodusActive()");
    } else if open >= MAX_OPEN {
        r.refused(what, account(0xd2), deposit_calldata(index), gwei(amount), "QueueFull()");
    } else {
        r.deposit(index, amount);
    }
}

/// The next post: as many waiting requests as fit and a random slot, honest while every pending
/// batch is (after a dishonest one, its successors cannot be proved either), sometimes with a
/// wrong root.
fn random_post(r: &mut Opt, rng: &mut impl rand::Rng, what: &str) {
    let requests = (r.queue.len() - r.tip_consumed).min(M);
    let id = r.next_id();
    let d = r.domain;
    let from = rng.gen_range(1..=2u32);
    let sender = *r.tip.account(from).unwrap();
    let transfers = match rng.gen_range(0..3) {
        _ if sender.balance < 5 => vec![],
        0 => vec![],
        1 => vec![Transfer::signed(&key(from as u8), from, 3 - from, rng.gen_range(1..5), sender.nonce, d)],
        _ => vec![Transfer::signed(&key(from as u8), from, 0, rng.gen_range(1..5), sender.nonce, d)],
    };
    let failure = if r.exodus {
        Some("ExodusActive()")
    } else if r.bond < min_sequencer_bond() {
        Some("InsufficientSequencerBond()")
    } else {
        None
    };
    if let Some(e) = failure {
        let consumed = r.queue[r.tip_consumed..r.tip_consumed + requests].to_vec();
        let batch = Batch::new(transfers).with_requests(consumed.clone());
        let w = r.tip.clone().apply_batch(&batch, &r.params(id)).unwrap();
        let call = post_batch_calldata(&w.public_data, M, &consumed, &sig_data(&batch.padded(N).unwrap())).unwrap();
        r.refused(what, account(SEQUENCER), call, U256::ZERO, e);
    } else if rng.gen_range(0..4) == 0 {
        r.post_dishonest(requests, transfers, Some(Fr::from(rng.gen::<u64>())), None);
    } else if r.pending.iter().all(|p| p.provable) {
        r.post(requests, transfers);
    } else {
        r.post_dishonest(requests, transfers, None, None);
    }
}

/// Time moves on; first the model's watcher challenges every dishonest batch whose window would
/// close meanwhile.
fn advance(r: &mut Opt, dt: u64, challengers: &[Address]) {
    if !r.exodus {
        let closing: Vec<u64> = r
            .pending
            .iter()
            .filter(|p| !p.provable && !p.record.proven && !r.challenges.contains_key(&p.record.hash()))
            .filter(|p| r.now + dt > p.record.posted_at + CHALLENGE_WINDOW && r.now <= p.record.posted_at + CHALLENGE_WINDOW)
            .map(|p| p.record.batch_id)
            .collect();
        for id in closing {
            assert!(r.challenge(id, challengers[0]).is_success(), "the watcher's challenge of batch {id}");
        }
    }
    let t = r.now + dt;
    r.at(t);
}

fn is_pending(r: &Opt, record: &StoredBatch) -> bool {
    r.pending.iter().any(|p| p.record == *record)
}

fn expected_challenge(r: &Opt, record: &StoredBatch) -> Option<&'static str> {
    if r.exodus {
        Some("ExodusActive()")
    } else if record.batch_id <= r.finalized {
        Some("BatchAlreadyFinal(uint256)")
    } else if !is_pending(r, record) {
        Some("UnknownBatch(uint256)")
    } else if record.proven {
        Some("AlreadyProven(uint256)")
    } else if r.challenges.contains_key(&record.hash()) {
        Some("AlreadyChallenged(uint256)")
    } else if r.now > record.posted_at + CHALLENGE_WINDOW {
        Some("ChallengeWindowClosed(uint256)")
    } else {
        None
    }
}

fn expected_prove(r: &Opt, p: &Pending) -> Option<&'static str> {
    if !is_pending(r, &p.record) {
        Some("UnknownBatch(uint256)")
    } else if p.record.proven {
        Some("AlreadyProven(uint256)")
    } else if r.challenges.get(&p.record.hash()).is_some_and(|(_, deadline)| r.now > *deadline) {
        Some("ResponseWindowClosed(uint256)")
    } else if !p.provable {
        Some("InvalidProof(uint256)")
    } else {
        None
    }
}

fn expected_resolve(r: &Opt, record: &StoredBatch) -> Option<&'static str> {
    match r.challenges.get(&record.hash()) {
        None => Some("NotChallenged()"),
        Some((_, deadline)) if r.now <= *deadline => Some("ResponseWindowOpen(uint256)"),
        Some(_) if !is_pending(r, record) => Some("UnknownBatch(uint256)"),
        Some(_) => None,
    }
}

fn expected_reclaim(r: &Opt, record: &StoredBatch) -> Option<&'static str> {
    if !r.challenges.contains_key(&record.hash()) {
        Some("NotChallenged()")
    } else if is_pending(r, record) {
        Some("ChallengeStillLive(uint256)")
    } else {
        None
    }
}

fn expected_finalize(r: &Opt, k: usize) -> Option<&'static str> {
    if r.exodus {
        return Some("ExodusActive()");
    }
    let ready = |p: &Pending| p.record.proven || (!r.challenges.contains_key(&p.record.hash()) && r.now > p.record.posted_at + CHALLENGE_WINDOW);
    if r.pending[..k].iter().all(ready) {
        None
    } else {
        Some("NotFinalizable(uint256)")
    }
}
