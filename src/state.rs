//! The rollup's state: accounts by slot and the tree over their leaves; batch application.

use std::collections::HashMap;

use rayon::prelude::*;
use thiserror::Error;
use zkrollup_circuits::commitment::{commitment, public_data, Header};
use zkrollup_circuits::eddsa::{PublicKey, PublicKeyError};
use zkrollup_circuits::request::{RequestWitness, SlotKey};
use zkrollup_circuits::transfer::LeafPreimage;

use crate::batch::{Batch, BatchError, BatchParams, Party, Rule, Section, Transfer};
use crate::request::{Request, RequestKind};
use crate::tree::{StateTree, TreeError};
use crate::witness::{BatchWitness, SlotWitness};
use crate::{Account, Fr};

/// Why an account could not be placed in the state.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum StateError {
    /// Slot 0 is reserved and never holds an account.
    #[error("slot 0 is reserved and cannot hold an account")]
    ReservedIndex,
    /// The slot already holds an account.
    #[error("slot {0} already holds an account")]
    Occupied(u32),
    /// Depth, range or duplicate problems.
    #[error(transparent)]
    Tree(#[from] TreeError),
    /// A genesis state must fill slots `1 .. G-1` with no gap (SPEC-v2 section 1).
    #[error("genesis accounts must fill slots 1, 2, .. with no gap: slot {0} is empty")]
    GenesisGap(u32),
    /// The genesis balances add up to `2^64` gwei or more (`genesisTotal` is a uint64).
    #[error("genesis balances add up to {0} gwei, which does not fit in 64 bits")]
    GenesisTotalOverflow(u128),
}

/// What a `ZKRollup` v2 deployment needs to know of its genesis state (SPEC-v2 section 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Genesis {
    /// The state root.
    pub root: Fr,
    /// `genesisNextIndex`: one past the last account (1 for an empty tree).
    pub next_index: u32,
    /// `genesisTotal`: the sum of the balances, in gwei.
    pub total: u64,
}

/// Accounts and the state tree, always consistent with each other.
#[derive(Clone, Debug)]
pub struct State {
    tree: StateTree,
    accounts: HashMap<u32, Account>,
}

/// An L1 request that passed validation: its final amount (a FullExit's balance) and the
/// account it writes.
struct PlannedRequest {
    request: Request,
    amount: u64,
    after: Account,
}

/// An L2 slot that passed validation, with the accounts it will write.
struct Planned {
    transfer: Transfer,
    sender_after: Option<Account>,
    receiver_after: Option<Account>,
}

impl State {
    /// An empty state of the given depth.
    pub fn new(depth: usize) -> Result<Self, StateError> {
        Ok(State { tree: StateTree::new(depth)?, accounts: HashMap::new() })
    }

    /// A state holding these accounts, its tree built in parallel.
    pub fn from_accounts(depth: usize, accounts: Vec<(u32, Account)>) -> Result<Self, StateError> {
        if accounts.iter().any(|&(index, _)| index == 0) {
            return Err(StateError::ReservedIndex);
        }
        let leaves: Vec<(u64, Fr)> =
            accounts.par_iter().with_min_len(64).map(|(index, a)| (u64::from(*index), a.leaf())).collect();
        let tree = StateTree::from_leaves(depth, leaves)?;
        Ok(State { tree, accounts: accounts.into_iter().collect() })
    }

    /// Open a new account in an empty slot; returns the new root.
    pub fn insert_account(&mut self, index: u32, account: Account) -> Result<Fr, StateError> {
        if index == 0 {
            return Err(StateError::ReservedIndex);
        }
        if self.accounts.contains_key(&index) {
            return Err(StateError::Occupied(index));
        }
        let root = self.tree.set_leaf(u64::from(index), account.leaf())?;
        self.accounts.insert(index, account);
        Ok(root)
    }

    /// The tree's depth.
    pub fn depth(&self) -> usize {
        self.tree.depth()
    }

    /// The state root.
    pub fn root(&self) -> Fr {
        self.tree.root()
    }

    /// The tree.
    pub fn tree(&self) -> &StateTree {
        &self.tree
    }

    /// The account in slot `index`, if any.
    pub fn account(&self, index: u32) -> Option<&Account> {
        self.accounts.get(&index)
    }

    /// All accounts, by increasing slot.
    pub fn accounts(&self) -> Vec<(u32, Account)> {
        let mut all: Vec<(u32, Account)> = self.accounts.iter().map(|(&i, &a)| (i, a)).collect();
        all.sort_unstable_by_key(|&(i, _)| i);
        all
    }

    /// The genesis parameters of this state, if its accounts fill slots `1 .. G-1` with no gap
    /// and their balances add up to less than `2^64`.
    pub fn genesis(&self) -> Result<Genesis, StateError> {
        let accounts = self.accounts();
        if let Some(gap) = accounts.iter().enumerate().find(|&(i, &(index, _))| index as usize != i + 1) {
            return Err(StateError::GenesisGap(gap.0 as u32 + 1));
        }
        let total: u128 = accounts.iter().map(|(_, a)| u128::from(a.balance)).sum();
        let total = u64::try_from(total).map_err(|_| StateError::GenesisTotalOverflow(total))?;
        let next_index = u32::try_from(accounts.len() + 1).map_err(|_| StateError::GenesisGap(u32::MAX))?;
        Ok(Genesis { root: self.root(), next_index, total })
    }

    /// Check a batch against this state without changing it.
    pub fn check_batch(&self, batch: &Batch, params: &BatchParams) -> Result<(), BatchError> {
        self.plan(batch, params, true).map(|_| ())
    }

    /// Validate a batch and, only if every slot is valid, apply it; returns the circuit's witness.
    /// On error the state is exactly as before.
    pub fn apply_batch(&mut self, batch: &Batch, params: &BatchParams) -> Result<BatchWitness, BatchError> {
        self.apply_checked(batch, params, true)
    }

    /// [`State::apply_batch`] without the signature rules, for a batch whose proof L1 has
    /// verified (the proof attests the signatures, which never reach L1): a watcher following
    /// proved batches from their public data alone. Every other rule is checked.
    pub fn apply_proved_batch(&mut self, batch: &Batch, params: &BatchParams) -> Result<BatchWitness, BatchError> {
        self.apply_checked(batch, params, false)
    }

    fn apply_checked(&mut self, batch: &Batch, params: &BatchParams, signatures: bool) -> Result<BatchWitness, BatchError> {
        let (requests, slots) = self.plan(batch, params, signatures)?;
        // Nothing below can fail: every index and value was checked by `plan`.
        let old_root = self.root();
        let mut request_witnesses: Vec<RequestWitness> = requests.into_iter().map(|p| self.write_request(p)).collect();
        while request_witnesses.len() < params.l1_slots {
            request_witnesses.push(RequestWitness::padding(self.tree.path(0).expect("slot 0 exists")));
        }
        let slots: Vec<SlotWitness> = slots.into_iter().map(|p| self.write(p)).collect();
        let new_root = self.root();
        let header = Header { domain: params.domain, batch_id: params.batch_id, old_root, new_root };
        let l1: Vec<_> = request_witnesses.iter().map(RequestWitness::public_bytes).collect();
        let l2: Vec<(u32, u32, u64)> = slots.iter().map(|s| s.transfer.public_slot()).collect();
        let data = public_data(&header, &l1, &l2);
        Ok(BatchWitness {
            domain: params.domain,
            batch_id: params.batch_id,
            old_root,
            new_root,
            commitment: commitment(&data),
            public_data: data,
            requests: request_witnesses,
            slots,
        })
    }

    fn write_request(&mut self, p: PlannedRequest) -> RequestWitness {
        let r = p.request;
        let path = self.tree.path(u64::from(r.index)).expect("index validated");
        let leaf = self.accounts.get(&r.index).map_or_else(LeafPreimage::default, |a| a.preimage());
        let key = if r.kind == RequestKind::DepositNew { SlotKey::of(&p.after.pubkey) } else { SlotKey::default() };
        self.put(r.index, p.after);
        RequestWitness { kind: r.kind, index: r.index, amount: p.amount, key, leaf, path }
    }

    fn write(&mut self, p: Planned) -> SlotWitness {
        let t = p.transfer;
        let root_before = self.root();
        let sender_before = self.accounts.get(&t.from).copied();
        let sender_path = self.tree.path(u64::from(t.from)).expect("index validated");
        if let Some(a) = p.sender_after {
            self.put(t.from, a);
        }
        let root_after_sender = self.root();
        let receiver_before = self.accounts.get(&t.to).copied();
        let receiver_path = self.tree.path(u64::from(t.to)).expect("index validated");
        if let Some(a) = p.receiver_after {
            self.put(t.to, a);
        }
        SlotWitness {
            transfer: t,
            root_before,
            sender_before,
            sender_after: p.sender_after,
            sender_path,
            root_after_sender,
            receiver_before,
            receiver_after: p.receiver_after,
            receiver_path,
            root_after: self.root(),
        }
    }

    fn put(&mut self, index: u32, account: Account) {
        self.tree.set_leaf(u64::from(index), account.leaf()).expect("index validated");
        self.accounts.insert(index, account);
    }

    /// Every rule of SPEC-v2 sections 2-4, slot by slot (L1 first), against an overlay of the
    /// accounts that the earlier slots change; the signature rules only when `signatures`.
    fn plan(&self, batch: &Batch, params: &BatchParams, signatures: bool) -> Result<(Vec<PlannedRequest>, Vec<Planned>), BatchError> {
        if batch.requests.len() > params.l1_slots {
            return Err(BatchError::TooManyRequests { requests: batch.requests.len(), l1_slots: params.l1_slots });
        }
        let slots = batch.padded(params.batch_size)?;
        let mut overlay: HashMap<u32, Account> = HashMap::new();
        let capacity = self.tree.capacity();
        let lookup = |overlay: &HashMap<u32, Account>, index: u32| {
            overlay.get(&index).or_else(|| self.accounts.get(&index)).copied()
        };
        let mut requests = Vec::with_capacity(batch.requests.len());
        for (slot, r) in batch.requests.iter().enumerate() {
            let (amount, after) = request_effect(r, capacity, lookup(&overlay, r.index))
                .map_err(|rule| BatchError::Slot { section: Section::L1, slot, rule })?;
            overlay.insert(r.index, after);
            requests.push(PlannedRequest { request: *r, amount, after });
        }
        let mut planned = Vec::with_capacity(slots.len());
        for (slot, t) in slots.into_iter().enumerate() {
            let fail = |rule: Rule| BatchError::Slot { section: Section::L2, slot, rule };
            if t.is_padding() {
                if t.to != 0 || t.amount != 0 || t.nonce != 0 {
                    return Err(fail(Rule::PaddingNotEmpty { to: t.to, amount: t.amount, nonce: t.nonce }));
                }
                planned.push(Planned { transfer: t, sender_after: None, receiver_after: None });
                continue;
            }
            let (sender_after, receiver_after) =
                transfer_effect(&t, capacity, |i| lookup(&overlay, i), signatures.then_some(params.domain)).map_err(fail)?;
            overlay.insert(t.from, sender_after);
            if let Some(r) = receiver_after {
                overlay.insert(t.to, r);
            }
            planned.push(Planned { transfer: t, sender_after: Some(sender_after), receiver_after });
        }
        Ok((requests, planned))
    }
}

/// What an L1 request does to the account it names (`existing`, as the slots before it left
/// it), by SPEC-v2 section 2: its final amount (a FullExit's is the balance) and the account
/// after it, or the rule it breaks.
pub fn request_effect(r: &Request, capacity: u64, existing: Option<Account>) -> Result<(u64, Account), Rule> {
    if u64::from(r.index) >= capacity {
        return Err(Rule::IndexOutOfRange { party: Party::Account, index: r.index, capacity });
    }
    let no_account = || Rule::NoAccount { party: Party::Account, index: r.index };
    match r.kind {
        RequestKind::DepositNew => {
            if r.index == 0 {
                return Err(Rule::ReservedIndex);
            }
            if existing.is_some() {
                return Err(Rule::AccountExists { index: r.index });
            }
            let (x, y) = r.pubkey.ok_or(Rule::BadKey(PublicKeyError::NotOnCurve))?;
            let key = PublicKey::from_coordinates(x, y).map_err(Rule::BadKey)?;
            Ok((r.amount, Account::new(key, r.amount, 0)))
        }
        RequestKind::Deposit => {
            let account = existing.ok_or_else(no_account)?;
            let balance = account
                .balance
                .checked_add(r.amount)
                .ok_or(Rule::ReceiverOverflow { balance: account.balance, amount: r.amount })?;
            Ok((r.amount, Account { balance, ..account }))
        }
        RequestKind::FullExit => {
            let account = existing.ok_or_else(no_account)?;
            if r.amount != 0 && r.amount != account.balance {
                return Err(Rule::WrongExitAmount { balance: account.balance, amount: r.amount });
            }
            Ok((account.balance, Account { balance: 0, ..account }))
        }
        RequestKind::Padding => Err(no_account()),
    }
}

/// What a real (non-padding) L2 transfer or withdrawal does, by SPEC-v2 section 3, against the
/// accounts `lookup` gives (as the slots before it left them): the sender after it and, for a
/// transfer, the receiver after it (the sender's update seen first), or the rule it breaks, in
/// the order the spec lists them. The signature is checked under `domain` when one is given;
/// `None` is for a caller that has already checked it against the sender's key (which no rule
/// ever changes once the account exists).
pub fn transfer_effect(
    t: &Transfer,
    capacity: u64,
    lookup: impl Fn(u32) -> Option<Account>,
    domain: Option<Fr>,
) -> Result<(Account, Option<Account>), Rule> {
    for (party, index) in [(Party::Sender, t.from), (Party::Receiver, t.to)] {
        if u64::from(index) >= capacity {
            return Err(Rule::IndexOutOfRange { party, index, capacity });
        }
    }
    let sender = lookup(t.from).ok_or(Rule::NoAccount { party: Party::Sender, index: t.from })?;
    if let Some(domain) = domain {
        check_signature(t, &sender, domain)?;
    }
    if t.nonce != sender.nonce {
        return Err(Rule::WrongNonce { expected: sender.nonce, got: t.nonce });
    }
    if t.amount > sender.balance {
        return Err(Rule::InsufficientBalance { balance: sender.balance, amount: t.amount });
    }
    if sender.nonce == u64::MAX {
        return Err(Rule::NonceExhausted);
    }
    let sender_after = Account { balance: sender.balance - t.amount, nonce: sender.nonce + 1, ..sender };
    if t.is_withdrawal() {
        // The amount leaves for L1: no receiver in the tree.
        return Ok((sender_after, None));
    }
    let receiver = if t.to == t.from { Some(sender_after) } else { lookup(t.to) };
    let receiver = receiver.ok_or(Rule::NoAccount { party: Party::Receiver, index: t.to })?;
    let balance = receiver
        .balance
        .checked_add(t.amount)
        .ok_or(Rule::ReceiverOverflow { balance: receiver.balance, amount: t.amount })?;
    Ok((sender_after, Some(Account { balance, ..receiver })))
}

/// The signature rules of SPEC-v2 section 3: present, and valid under the sender's key for
/// the transfer's message in `domain`.
pub fn check_signature(t: &Transfer, sender: &Account, domain: Fr) -> Result<(), Rule> {
    let signature = t.signature.ok_or(Rule::MissingSignature)?;
    sender.pubkey.verify(t.message(domain), &signature).map_err(Rule::BadSignature)
}
