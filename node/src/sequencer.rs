//! The mempool and the batcher: transfers and L1 requests in the order the node accepted them,
//! checked against the pending state (the sealed state with every waiting operation applied),
//! and batches cut from them and sealed in one store transaction each.
//!
//! A batch applies its L1 slots before its L2 slots, while the mempool holds operations in
//! acceptance order. [`choose`] keeps every result the acceptance order promised: a request may
//! move ahead of earlier transfers only when they touch other accounts (operations on disjoint
//! accounts commute); a request that cannot is left, with every request after it (queue order),
//! for the next batch, and so is every transfer that touches its account. So a transfer accepted
//! against the pending state is always includable.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use zkrollup::primitives::batch::Shape;
use zkrollup::state::{request_effect, transfer_effect};
use zkrollup::{Account, Batch, BatchParams, Fr, Request, Rule, State, Transfer};

use crate::metrics::Metrics;
use crate::store::{
    now_ms, root_text, BatchStatus, PendingOp, Stage, Store, StoreError, StoredAccount, StoredBatch, StoredRequest,
    StoredTransfer,
};

/// A waiting operation.
#[derive(Clone, Debug)]
pub enum Op {
    /// A transfer or withdrawal.
    Transfer {
        /// Its id.
        id: u64,
        /// The transfer.
        transfer: Transfer,
    },
    /// An L1 request.
    Request {
        /// Its queue position.
        k: u64,
        /// The request.
        request: Request,
    },
}

/// A waiting operation with its mempool sequence number and arrival time.
#[derive(Clone, Debug)]
pub struct Waiting {
    /// Its key in the store's `pending` table.
    pub seq: u64,
    /// When it arrived (Unix milliseconds).
    pub since_ms: u64,
    /// The operation.
    pub op: Op,
}

/// Which waiting operations a batch takes: positions in the mempool of its requests (in queue
/// order) and of its transfers (in acceptance order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Choice {
    /// Positions of the requests.
    pub requests: Vec<usize>,
    /// Positions of the transfers.
    pub transfers: Vec<usize>,
}

/// The accounts a transfer touches: its sender and, unless it is a withdrawal, its receiver.
fn transfer_accounts(t: &Transfer) -> impl Iterator<Item = u32> {
    [Some(t.from), (!t.is_withdrawal()).then_some(t.to)].into_iter().flatten()
}

/// The accounts an operation touches.
fn op_accounts(op: &Op) -> Vec<u32> {
    match op {
        Op::Transfer { transfer, .. } => transfer_accounts(transfer).collect(),
        Op::Request { request, .. } => vec![request.index],
    }
}

/// The next batch's operations (module docs): at most `m` requests and `n` transfers.
pub fn choose<'a>(ops: impl IntoIterator<Item = &'a Op>, n: usize, m: usize) -> Choice {
    let mut choice = Choice::default();
    let mut touched: HashSet<u32> = HashSet::new();
    let mut deferred: HashSet<u32> = HashSet::new();
    let mut requests_closed = false;
    for (i, op) in ops.into_iter().enumerate() {
        match op {
            Op::Request { request, .. } => {
                if !requests_closed && choice.requests.len() < m && !touched.contains(&request.index) {
                    choice.requests.push(i);
                } else {
                    requests_closed = true;
                    deferred.insert(request.index);
                }
            }
            Op::Transfer { transfer, .. } => {
                if choice.transfers.len() == n || transfer_accounts(transfer).any(|a| deferred.contains(&a)) {
                    // Transfers keep their order: none after this one may go first.
                    break;
                }
                choice.transfers.push(i);
                touched.extend(transfer_accounts(transfer));
            }
        }
    }
    choice
}

/// Why a submission was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// A protocol rule (the native model's text).
    #[error("{0}")]
    Rule(Rule),
    /// The store failed; nothing was accepted.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The sealed accounts and the mempool on top of them. (The sealed tree is the batcher's: the
/// hashing of a batch happens outside this lock, so submissions are not held up by it.)
pub struct Sequencer {
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    shape: Shape,
    domain: Fr,
    sealed: HashMap<u32, Account>,
    root: Fr,
    capacity: u64,
    waiting: VecDeque<Waiting>,
    /// The accounts as the waiting operations leave them (only those they touch).
    overlay: HashMap<u32, Account>,
    /// How many waiting operations touch each account in `overlay`: an account leaves the
    /// overlay when the last one is sealed.
    touches: HashMap<u32, usize>,
    /// The queue position of the next L1 request the node expects.
    next_k: u64,
}

impl Sequencer {
    /// Load from the store: the sealed accounts (their root checked against the last sealed
    /// batch's) and the mempool, replayed onto them; and the batcher, which keeps the tree.
    pub fn load(store: Arc<Store>, metrics: Arc<Metrics>, shape: Shape, domain: Fr, expected_root: Fr)
        -> Result<(Sequencer, Batcher), String> {
        let state = store.state(Stage::Sealed, shape.depth, expected_root)?;
        let sealed = state.accounts().into_iter().collect();
        let (root, capacity) = (state.root(), state.tree().capacity());
        let batcher = Batcher { shape, domain, state };
        let next_k = store.meta::<u64>("next_request_k").map_err(|e| e.to_string())?.unwrap_or(1);
        let mut s = Sequencer {
            store,
            metrics,
            shape,
            domain,
            sealed,
            root,
            capacity,
            waiting: VecDeque::new(),
            overlay: HashMap::new(),
            touches: HashMap::new(),
            next_k,
        };
        for (seq, op) in s.store.pending().map_err(|e| e.to_string())? {
            let w = match op {
                PendingOp::Transfer(id) => {
                    let t = s.store.transfer(id).map_err(|e| e.to_string())?.ok_or(format!("transfer {id} missing"))?;
                    let transfer = zkrollup::files::parse_transfer(&t.entry.to_string()).map_err(|e| e.to_string())?;
                    Waiting { seq, since_ms: t.accepted_ms, op: Op::Transfer { id, transfer } }
                }
                PendingOp::Request(k) => {
                    let r = s.store.request(k).map_err(|e| e.to_string())?.ok_or(format!("request {k} missing"))?;
                    let request = request_of(&r).map_err(|e| format!("request {k}: {e}"))?;
                    Waiting { seq, since_ms: r.seen_ms, op: Op::Request { k, request } }
                }
            };
            s.push_waiting(w);
        }
        s.drop_inapplicable()?;
        s.metrics.mempool.set(s.waiting.len() as i64);
        Ok((s, batcher))
    }

    /// Replay the mempool; a transfer that no longer applies (after a rewind put L1 requests
    /// ahead of it, a FullExit of its sender say) is dropped for good with its rule, in one
    /// transaction: its status becomes `dropped`. A request that does not apply stops here.
    fn drop_inapplicable(&mut self) -> Result<(), String> {
        let mut dropped: Vec<(u64, u64, Rule)> = Vec::new();
        loop {
            match self.rebuild_overlay() {
                Ok(()) => break,
                Err((i, rule)) => match self.waiting[i].op {
                    Op::Transfer { id, .. } => {
                        dropped.push((self.waiting[i].seq, id, rule));
                        let kept: Vec<Waiting> = self.waiting.drain(..).enumerate().filter(|(j, _)| *j != i).map(|(_, w)| w).collect();
                        self.touches.clear();
                        for w in kept {
                            self.push_waiting(w);
                        }
                    }
                    Op::Request { .. } => return Err(format!("mempool entry {i} no longer applies: {rule}")),
                },
            }
        }
        if dropped.is_empty() {
            return Ok(());
        }
        (|| -> Result<(), StoreError> {
            let txn = self.store.begin()?;
            txn.remove_pending(&dropped.iter().map(|(seq, _, _)| *seq).collect::<Vec<_>>())?;
            for (_, id, rule) in &dropped {
                if let Some(mut t) = txn.transfer(*id)? {
                    t.dropped = Some(format!("{}: {rule}", rule.name()));
                    txn.put_transfer(*id, &t)?;
                }
            }
            txn.commit()
        })()
        .map_err(|e| e.to_string())?;
        for (_, id, rule) in &dropped {
            eprintln!("zkrollup-node: transfer {id} dropped: it no longer applies ({rule})");
            Metrics::inc(&self.metrics.rejected, "dropped");
        }
        Ok(())
    }

    /// The domain transfers are signed in.
    pub fn domain(&self) -> Fr {
        self.domain
    }

    /// The sealed state's root.
    pub fn root(&self) -> Fr {
        self.root
    }

    /// The queue position of the next L1 request expected.
    pub fn next_request(&self) -> u64 {
        self.next_k
    }

    /// Operations waiting.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// An account as the waiting operations leave it.
    pub fn pending_account(&self, index: u32) -> Option<Account> {
        self.overlay.get(&index).copied().or_else(|| self.sealed.get(&index).copied())
    }

    /// Slots in the tree (`4^D`).
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Append to the mempool in memory.
    fn push_waiting(&mut self, w: Waiting) {
        for i in op_accounts(&w.op) {
            *self.touches.entry(i).or_default() += 1;
        }
        self.waiting.push_back(w);
    }

    /// Replay the mempool onto the sealed state; the first operation that fails, if any.
    fn rebuild_overlay(&mut self) -> Result<(), (usize, Rule)> {
        self.overlay.clear();
        let capacity = self.capacity();
        for (i, w) in self.waiting.iter().enumerate() {
            let lookup = |index: u32| self.overlay.get(&index).copied().or_else(|| self.sealed.get(&index).copied());
            match &w.op {
                Op::Transfer { transfer, .. } => {
                    let (s, r) = transfer_effect(transfer, capacity, lookup, None).map_err(|rule| (i, rule))?;
                    self.overlay.insert(transfer.from, s);
                    if let Some(r) = r {
                        self.overlay.insert(transfer.to, r);
                    }
                }
                Op::Request { request, .. } => {
                    let (_, after) = request_effect(request, capacity, lookup(request.index)).map_err(|rule| (i, rule))?;
                    self.overlay.insert(request.index, after);
                }
            }
        }
        Ok(())
    }

    /// Accept transfers whose signatures the caller checked (against [`Self::pending_account`]'s
    /// key): each is checked against the pending state, those that pass are stored in one
    /// transaction, and only then become part of the pending state. One result per transfer.
    pub fn accept(&mut self, batch: Vec<(Transfer, serde_json::Value)>) -> Vec<Result<u64, Refusal>> {
        let capacity = self.capacity();
        let mut scratch: HashMap<u32, Account> = HashMap::new();
        let mut results: Vec<Result<Transfer, Rule>> = Vec::with_capacity(batch.len());
        for (t, _) in &batch {
            let lookup = |index: u32| scratch.get(&index).copied().or_else(|| self.pending_account(index));
            match transfer_effect(t, capacity, lookup, None) {
                Ok((s, r)) => {
                    scratch.insert(t.from, s);
                    if let Some(r) = r {
                        scratch.insert(t.to, r);
                    }
                    results.push(Ok(*t));
                }
                Err(rule) => results.push(Err(rule)),
            }
        }
        let now = now_ms();
        let stored = (|| -> Result<Vec<Option<(u64, u64)>>, StoreError> {
            let txn = self.store.begin()?;
            let mut ids = Vec::with_capacity(batch.len());
            for ((_, entry), r) in batch.iter().zip(&results) {
                if r.is_err() {
                    ids.push(None);
                    continue;
                }
                let id = txn.next("next_transfer_id", 1)?;
                txn.put_transfer(id, &StoredTransfer { entry: entry.clone(), batch: None, accepted_ms: now, dropped: None })?;
                let seq = txn.push_pending(PendingOp::Transfer(id))?;
                ids.push(Some((id, seq)));
            }
            let t0 = std::time::Instant::now();
            txn.commit()?;
            self.metrics.commit_seconds.observe(t0.elapsed().as_secs_f64());
            Ok(ids)
        })();
        let ids = match stored {
            Ok(ids) => ids,
            Err(e) => {
                let msg = e.to_string();
                return batch.iter().map(|_| Err(Refusal::Store(StoreError::Db(msg.clone())))).collect();
            }
        };
        self.overlay.extend(scratch);
        let answers: Vec<Result<u64, Refusal>> = results
            .into_iter()
            .zip(ids)
            .map(|(r, id)| match (r, id) {
                (Ok(transfer), Some((id, seq))) => {
                    self.push_waiting(Waiting { seq, since_ms: now, op: Op::Transfer { id, transfer } });
                    self.metrics.accepted.inc();
                    Ok(id)
                }
                (Err(rule), _) => {
                    Metrics::inc(&self.metrics.rejected, rule.name());
                    Err(Refusal::Rule(rule))
                }
                (Ok(_), None) => unreachable!("every accepted transfer has an id"),
            })
            .collect();
        self.metrics.mempool.set(self.waiting.len() as i64);
        answers
    }

    /// Take L1 requests the watcher saw (in queue order; those already taken are skipped), with
    /// the block the watcher has now read up to and its hash (hex), in one transaction. A request whose effect the
    /// pending state refuses is still queued (the contract holds it): it is an error for the
    /// operator, and sealing will name it.
    pub fn add_requests(&mut self, seen: &[crate::l1::LoggedRequest], cursor: u64, cursor_hash: &str) -> Result<(), String> {
        let now = now_ms();
        let mut added = Vec::new();
        let txn = self.store.begin().map_err(|e| e.to_string())?;
        let mut next_k = self.next_k;
        for r in seen {
            if r.k < next_k {
                continue;
            }
            if r.k != next_k {
                return Err(format!("L1 request {} seen before request {next_k}", r.k));
            }
            let stored = StoredRequest { record: hex::encode(&r.record), block: r.block, batch: None, seen_ms: now };
            let request = request_of(&stored).map_err(|e| format!("L1 request {}: {e}", r.k))?;
            txn.put_request(r.k, &stored).map_err(|e| e.to_string())?;
            let seq = txn.push_pending(PendingOp::Request(r.k)).map_err(|e| e.to_string())?;
            added.push(Waiting { seq, since_ms: now, op: Op::Request { k: r.k, request } });
            next_k += 1;
        }
        txn.set_meta("next_request_k", &next_k).map_err(|e| e.to_string())?;
        txn.set_meta("l1_cursor", &cursor).map_err(|e| e.to_string())?;
        txn.set_meta("l1_cursor_hash", &cursor_hash).map_err(|e| e.to_string())?;
        txn.commit().map_err(|e| e.to_string())?;
        self.next_k = next_k;
        let capacity = self.capacity();
        for w in added {
            if let Op::Request { request, k } = &w.op {
                match request_effect(request, capacity, self.pending_account(request.index)) {
                    Ok((_, after)) => {
                        self.overlay.insert(request.index, after);
                    }
                    Err(rule) => eprintln!("zkrollup-node: L1 request {k} does not apply to the pending state: {rule}"),
                }
                self.metrics.l1_requests.inc();
            }
            self.push_waiting(w);
        }
        self.metrics.mempool.set(self.waiting.len() as i64);
        Ok(())
    }

    /// The batches due, at most `max`, each planned on the mempool the ones before it leave: a
    /// batch is due when `n` transfers or `m` requests wait, or the oldest operation is older
    /// than `timeout_ms`; with `hold_free_slots` (see [`crate::pace`]) only one whose L1 slots
    /// are all taken. Their operations stay in the mempool until [`Self::commit`].
    pub fn plan(&self, timeout_ms: u64, max: usize, hold_free_slots: bool) -> Result<Vec<Plan>, String> {
        let mut plans: Vec<Plan> = Vec::new();
        let mut taken: HashSet<u64> = HashSet::new();
        let first_id = self.store.last_batch_id().map_err(|e| e.to_string())? + 1;
        while plans.len() < max {
            // The mempool as it will be once the batches planned so far are sealed.
            let open: Vec<&Waiting> = self.waiting.iter().filter(|w| !taken.contains(&w.seq)).collect();
            let Some(oldest) = open.first().map(|w| w.since_ms) else { break };
            let choice = choose(open.iter().map(|w| &w.op), self.shape.batch_size, self.shape.l1_slots);
            let full = choice.transfers.len() == self.shape.batch_size || choice.requests.len() == self.shape.l1_slots;
            let reason = if full {
                "size"
            } else if now_ms().saturating_sub(oldest) >= timeout_ms {
                "timeout"
            } else {
                break;
            };
            if choice.transfers.is_empty() && choice.requests.is_empty() {
                break;
            }
            if hold_free_slots && choice.requests.len() < self.shape.l1_slots {
                break;
            }
            let transfers = choice
                .transfers
                .iter()
                .map(|&i| match &open[i].op {
                    Op::Transfer { id, transfer } => (*id, *transfer),
                    Op::Request { .. } => unreachable!("choose picks transfers here"),
                })
                .collect();
            let requests = choice
                .requests
                .iter()
                .map(|&i| match &open[i].op {
                    Op::Request { k, request } => (*k, *request),
                    Op::Transfer { .. } => unreachable!("choose picks requests here"),
                })
                .collect();
            let seqs: Vec<u64> = choice.requests.iter().chain(&choice.transfers).map(|&i| open[i].seq).collect();
            taken.extend(&seqs);
            plans.push(Plan { id: first_id + plans.len() as u64, reason, transfers, requests, seqs });
        }
        Ok(plans)
    }

    /// Seal batches the batcher planned and applied, in id order: their records, the accounts
    /// they wrote and the mempool's shrinking in one transaction, then the same in memory.
    pub fn commit(&mut self, sealed: &[Applied]) -> Result<(), String> {
        (|| -> Result<(), StoreError> {
            let txn = self.store.begin()?;
            for Applied { plan, record, writes } in sealed {
                txn.put_batch(record)?;
                txn.put_accounts(Stage::Sealed, writes)?;
                txn.remove_pending(&plan.seqs)?;
                for (tid, _) in &plan.transfers {
                    let mut t = txn.transfer(*tid)?.expect("a waiting transfer is stored");
                    t.batch = Some(plan.id);
                    txn.put_transfer(*tid, &t)?;
                }
                for (k, _) in &plan.requests {
                    let mut r = txn.request(*k)?.expect("a waiting request is stored");
                    r.batch = Some(plan.id);
                    txn.put_request(*k, &r)?;
                }
            }
            let t0 = std::time::Instant::now();
            txn.commit()?;
            self.metrics.commit_seconds.observe(t0.elapsed().as_secs_f64());
            Ok(())
        })()
        .map_err(|e| e.to_string())?;
        let mut taken: HashSet<u64> = HashSet::new();
        for Applied { plan, record, writes } in sealed {
            self.sealed.extend(writes.iter().copied());
            self.root = zkrollup::decimal::parse_fr(&record.new_root).map_err(|e| e.to_string())?;
            taken.extend(&plan.seqs);
            Metrics::inc(&self.metrics.sealed, plan.reason);
            Metrics::inc(&self.metrics.batches, "sealed");
            self.metrics.fill.observe(plan.transfers.len() as f64 / self.shape.batch_size as f64);
        }
        // The sealed operations leave the mempool. The overlay (the accounts after every
        // waiting operation) stays as it is: sealing keeps each account's operations in their
        // order, so the accounts they leave do not change; an account no waiting operation
        // touches any more is the sealed one, and leaves the overlay.
        let mut kept = VecDeque::with_capacity(self.waiting.len());
        for w in std::mem::take(&mut self.waiting) {
            if !taken.contains(&w.seq) {
                kept.push_back(w);
                continue;
            }
            for i in op_accounts(&w.op) {
                if let Some(n) = self.touches.get_mut(&i) {
                    *n -= 1;
                    if *n == 0 {
                        self.touches.remove(&i);
                        self.overlay.remove(&i);
                    }
                }
            }
        }
        self.waiting = kept;
        if cfg!(debug_assertions) {
            // Tests build this way: check the claim above against a replay after every seal.
            let kept = self.overlay.clone();
            let last = sealed.last().map_or(0, |a| a.plan.id);
            self.rebuild_overlay().map_err(|(i, rule)| format!("after batch {last}, mempool entry {i}: {rule}"))?;
            if kept != self.overlay {
                return Err(format!("after batch {last}, the kept overlay differs from the mempool's replay"));
            }
        }
        self.metrics.mempool.set(self.waiting.len() as i64);
        Ok(())
    }
}

/// A batch the batcher applied to its tree, ready to seal.
pub struct Applied {
    /// What it takes from the mempool.
    pub plan: Plan,
    /// Its record.
    pub record: StoredBatch,
    /// The accounts it wrote.
    pub writes: Vec<(u32, Account)>,
}

/// A batch the batcher is sealing: what it takes from the mempool.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Its id.
    pub id: u64,
    /// "size" or "timeout".
    pub reason: &'static str,
    /// Its transfers with their ids.
    pub transfers: Vec<(u64, Transfer)>,
    /// Its requests with their queue positions.
    pub requests: Vec<(u64, Request)>,
    /// The mempool entries it takes.
    pub seqs: Vec<u64>,
}

/// The batcher: owns the sealed state's tree, applies each planned batch to it outside the
/// mempool's lock, and has the sequencer commit it.
pub struct Batcher {
    shape: Shape,
    domain: Fr,
    state: State,
}

impl Batcher {
    /// Seal the batches due, at most `max` in one commit (a burst seals many at once); their
    /// records.
    pub fn seal_due(&mut self, seq: &Mutex<Sequencer>, timeout_ms: u64, max: usize, hold_free_slots: bool)
        -> Result<Vec<StoredBatch>, String> {
        let plans = seq.lock().unwrap_or_else(|p| p.into_inner()).plan(timeout_ms, max, hold_free_slots)?;
        if plans.is_empty() {
            return Ok(Vec::new());
        }
        let mut next = self.state.clone();
        let mut sealed = Vec::with_capacity(plans.len());
        for plan in plans {
            let batch = Batch::new(plan.transfers.iter().map(|&(_, t)| t).collect())
                .with_requests(plan.requests.iter().map(|&(_, r)| r).collect());
            let old_root = next.root();
            next.apply_batch(&batch, &params(self.shape, self.domain, plan.id))
                .map_err(|e| format!("batch {} does not apply: {e}", plan.id))?;
            let mut touched: Vec<u32> = plan.requests.iter().map(|(_, r)| r.index).collect();
            for (_, t) in &plan.transfers {
                touched.extend(transfer_accounts(t));
            }
            touched.sort_unstable();
            touched.dedup();
            let writes: Vec<(u32, Account)> =
                touched.iter().map(|&i| (i, *next.account(i).expect("a batch only writes accounts"))).collect();
            let record = StoredBatch {
                id: plan.id,
                status: BatchStatus::Sealed,
                reason: plan.reason.to_string(),
                transfers: plan.transfers.iter().map(|&(id, _)| id).collect(),
                requests: plan.requests.iter().map(|&(k, _)| k).collect(),
                old_root: root_text(old_root),
                new_root: root_text(next.root()),
                writes: writes.iter().map(|&(i, a)| (i, StoredAccount(a))).collect(),
                sealed_ms: now_ms(),
                proof: None,
                calldata: None,
                prove_ms: None,
                tx: None,
                confirmed_ms: None,
                failure: None,
                payouts: None,
            };
            sealed.push(Applied { plan, record, writes });
        }
        seq.lock().unwrap_or_else(|p| p.into_inner()).commit(&sealed)?;
        self.state = next;
        Ok(sealed.into_iter().map(|a| a.record).collect())
    }
}

/// The batch parameters of batch `id`.
pub fn params(shape: Shape, domain: Fr, id: u64) -> BatchParams {
    BatchParams::new(shape.batch_size, domain).with_l1_slots(shape.l1_slots).with_batch_id(id)
}

/// A stored request's [`Request`].
pub fn request_of(r: &StoredRequest) -> Result<Request, String> {
    let bytes = hex::decode(&r.record).map_err(|e| e.to_string())?;
    Request::from_record(&bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkrollup::primitives::eddsa::PrivateKey;

    fn t(from: u32, to: u32) -> Op {
        let key = PrivateKey::from_bytes([1; 32]);
        Op::Transfer { id: 0, transfer: Transfer::signed(&key, from, to, 1, 0, Fr::from(0u64)) }
    }

    fn deposit(index: u32) -> Op {
        Op::Request { k: 0, request: Request::deposit(index, 1, [0; 20]) }
    }

    #[test]
    fn disjoint_requests_move_ahead_of_earlier_transfers() {
        let ops = [t(1, 2), deposit(3), t(2, 1)];
        assert_eq!(choose(&ops, 4, 2), Choice { requests: vec![1], transfers: vec![0, 2] });
    }

    #[test]
    fn a_request_on_a_touched_account_waits_and_so_do_later_requests() {
        // The deposit to 2 follows a transfer to 2: it cannot go first. The deposit to 5 is after
        // it in the queue, so it waits too.
        let ops = [t(1, 2), deposit(2), deposit(5), t(3, 4)];
        assert_eq!(choose(&ops, 4, 2), Choice { requests: vec![], transfers: vec![0, 3] });
    }

    #[test]
    fn a_transfer_that_needs_a_waiting_request_waits_and_so_do_later_transfers() {
        // The transfer from 2 may spend the deposit to 2, which waits: it and every later transfer
        // stay for the next batch.
        let ops = [t(1, 2), deposit(2), t(2, 3), t(4, 5)];
        assert_eq!(choose(&ops, 4, 2), Choice { requests: vec![], transfers: vec![0] });
    }

    #[test]
    fn a_burst_seals_as_consecutive_batches_in_one_commit_and_the_rest_on_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("node.redb"), false).unwrap());
        let key = PrivateKey::from_bytes([1; 32]);
        let shape = Shape { depth: 4, l1_slots: 1, batch_size: 2 };
        let accounts = vec![(1, Account::new(key.public_key(), 100, 0)), (2, Account::new(key.public_key(), 100, 0))];
        let state = State::from_accounts(4, accounts).unwrap();
        let txn = store.begin().unwrap();
        txn.put_accounts(Stage::Sealed, &state.accounts()).unwrap();
        txn.commit().unwrap();
        let (seq, mut batcher) =
            Sequencer::load(store.clone(), Arc::new(Metrics::new()), shape, Fr::from(0u64), state.root()).unwrap();
        let seq = Mutex::new(seq);
        let burst = (0..5)
            .map(|n| {
                let t = Transfer::signed(&key, 1, 2, 1, n, Fr::from(0u64));
                (t, serde_json::to_value(zkrollup::files::transfer_entry(&t)).unwrap())
            })
            .collect();
        assert!(seq.lock().unwrap().accept(burst).iter().all(Result::is_ok));

        // No timeout yet: the two full batches, chained, in one commit; the fifth waits.
        let sealed = batcher.seal_due(&seq, u64::MAX, 16, false).unwrap();
        let ids: Vec<(u64, Vec<u64>)> = sealed.iter().map(|b| (b.id, b.transfers.clone())).collect();
        assert_eq!(ids, vec![(1, vec![1, 2]), (2, vec![3, 4])]);
        assert_eq!(sealed[1].old_root, sealed[0].new_root);
        assert_eq!(store.stage_heads().unwrap()[0], 2);
        assert_eq!(seq.lock().unwrap().waiting(), 1);
        // The overlay kept through the seal still says what the fifth transfer leaves.
        assert_eq!(seq.lock().unwrap().pending_account(1).map(|a| (a.balance, a.nonce)), Some((95, 5)));

        // Held back (a batch sealed now could not land within maturity): the fifth, with its
        // L1 slot free, is not sealed even on timeout.
        assert!(batcher.seal_due(&seq, 0, 16, true).unwrap().is_empty());
        assert_eq!(seq.lock().unwrap().waiting(), 1);
        let sealed = batcher.seal_due(&seq, 0, 16, false).unwrap();
        assert_eq!((sealed.len(), sealed[0].reason.as_str(), sealed[0].transfers.clone()), (1, "timeout", vec![5]));
        let seq = seq.lock().unwrap();
        assert_eq!(seq.waiting(), 0);
        assert_eq!(seq.root(), batcher.state.root());
        assert_eq!(seq.pending_account(2).map(|a| (a.balance, a.nonce)), Some((105, 0)));
    }

    #[test]
    fn slots_limit_both_sections_and_withdrawals_touch_only_the_sender() {
        let ops = [deposit(1), deposit(2), deposit(3), t(4, 0), t(5, 6), t(7, 8)];
        assert_eq!(choose(&ops, 2, 2), Choice { requests: vec![0, 1], transfers: vec![3, 4] });
        // A withdrawal from 4 does not touch slot 0; a deposit to 0 is not a thing, but a
        // request on the receiver of a withdrawal would be free to move.
        let ops = [t(4, 0), deposit(6)];
        assert_eq!(choose(&ops, 2, 2), Choice { requests: vec![1], transfers: vec![0] });
    }
}
