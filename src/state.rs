//! The rollup's state: accounts by slot and the tree over their leaves; batch application.

use std::collections::HashMap;

use rayon::prelude::*;
use thiserror::Error;
use zkrollup_circuits::commitment::{commitment, public_data};

use crate::batch::{Batch, BatchError, BatchParams, Party, Rule, Transfer};
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
}

/// Accounts and the state tree, always consistent with each other.
#[derive(Clone, Debug)]
pub struct State {
    tree: StateTree,
    accounts: HashMap<u32, Account>,
}

/// A slot that passed validation, with the accounts it will write.
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

    /// Check a batch against this state without changing it.
    pub fn check_batch(&self, batch: &Batch, params: &BatchParams) -> Result<(), BatchError> {
        self.plan(batch, params).map(|_| ())
    }

    /// Validate a batch and, only if every slot is valid, apply it; returns the circuit's witness.
    /// On error the state is exactly as before.
    pub fn apply_batch(&mut self, batch: &Batch, params: &BatchParams) -> Result<BatchWitness, BatchError> {
        let plan = self.plan(batch, params)?;
        // Nothing below can fail: every index and value was checked by `plan`.
        let old_root = self.root();
        let slots: Vec<SlotWitness> = plan.into_iter().map(|p| self.write(p)).collect();
        let new_root = self.root();
        let public: Vec<(u32, u32, u64)> = slots.iter().map(|s| s.transfer.public_slot()).collect();
        let data = public_data(old_root, new_root, &public);
        Ok(BatchWitness {
            domain: params.domain,
            old_root,
            new_root,
            commitment: commitment(&data),
            public_data: data,
            slots,
        })
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

    /// Every rule of SPEC section 4, slot by slot, against an overlay of the accounts that the
    /// earlier slots change.
    fn plan(&self, batch: &Batch, params: &BatchParams) -> Result<Vec<Planned>, BatchError> {
        let slots = batch.padded(params.batch_size)?;
        let mut overlay: HashMap<u32, Account> = HashMap::new();
        let capacity = self.tree.capacity();
        let mut planned = Vec::with_capacity(slots.len());
        for (slot, t) in slots.into_iter().enumerate() {
            let fail = |rule: Rule| BatchError::Slot { slot, rule };
            if t.is_padding() {
                if t.to != 0 || t.amount != 0 || t.nonce != 0 {
                    return Err(fail(Rule::PaddingNotEmpty { to: t.to, amount: t.amount, nonce: t.nonce }));
                }
                planned.push(Planned { transfer: t, sender_after: None, receiver_after: None });
                continue;
            }
            if t.to == 0 {
                return Err(fail(Rule::ReceiverIsZero));
            }
            for (party, index) in [(Party::Sender, t.from), (Party::Receiver, t.to)] {
                if u64::from(index) >= capacity {
                    return Err(fail(Rule::IndexOutOfRange { party, index, capacity }));
                }
            }
            let lookup = |overlay: &HashMap<u32, Account>, index: u32| {
                overlay.get(&index).or_else(|| self.accounts.get(&index)).copied()
            };
            let sender =
                lookup(&overlay, t.from).ok_or_else(|| fail(Rule::NoAccount { party: Party::Sender, index: t.from }))?;
            let signature = t.signature.ok_or_else(|| fail(Rule::MissingSignature))?;
            sender.pubkey.verify(t.message(params.domain), &signature).map_err(|e| fail(Rule::BadSignature(e)))?;
            if t.nonce != sender.nonce {
                return Err(fail(Rule::WrongNonce { expected: sender.nonce, got: t.nonce }));
            }
            if t.amount > sender.balance {
                return Err(fail(Rule::InsufficientBalance { balance: sender.balance, amount: t.amount }));
            }
            if sender.nonce == u64::MAX {
                return Err(fail(Rule::NonceExhausted));
            }
            let sender_after = Account { balance: sender.balance - t.amount, nonce: sender.nonce + 1, ..sender };
            overlay.insert(t.from, sender_after);
            let receiver =
                lookup(&overlay, t.to).ok_or_else(|| fail(Rule::NoAccount { party: Party::Receiver, index: t.to }))?;
            let balance = receiver
                .balance
                .checked_add(t.amount)
                .ok_or_else(|| fail(Rule::ReceiverOverflow { balance: receiver.balance, amount: t.amount }))?;
            let receiver_after = Account { balance, ..receiver };
            overlay.insert(t.to, receiver_after);
            planned.push(Planned { transfer: t, sender_after: Some(sender_after), receiver_after: Some(receiver_after) });
        }
        Ok(planned)
    }
}
