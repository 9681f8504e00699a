//! The in-memory backend: the reference behaviour for tests and the browser.
//!
//! A unit of work holds the state lock from `begin` to `commit`, applying writes as it goes and
//! recording how to undo each; dropped uncommitted, it undoes them in reverse order.

use std::collections::{BTreeMap, HashMap, VecDeque};

use std::sync::atomic::{AtomicBool, Ordering};

#[cfg(not(target_arch = "wasm32"))]
mod jobs;

use tokio::sync::{Mutex, MutexGuard};

use super::{
    Backend, CustomerStore, CustomerWrites, EventStore, TenantStore, TenantWrites, TrackingStore,
    TrackingWrites, Tx, closed, duplicate_tracking, id_collision, stale,
};
use crate::events::{Change, ChangeEvent, EventFilter, EventRange};
use crate::page::{Listed, Slice};
use crate::{
    Customer, CustomerId, Error, Result, SyncStatus, SyncUpdate, Tenant, TenantId, Timestamp,
    Tracking, TrackingId,
};

/// Records in memory, per tenant, in insertion order.
#[derive(Debug)]
pub struct MemoryStore {
    /// `None` once closed.
    state: Mutex<Option<State>>,
    /// Set by `close()`, which never waits for the lock; the state is dropped by the next call.
    closed: AtomicBool,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            state: Mutex::new(Some(State::default())),
            closed: AtomicBool::new(false),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    next_seq: i64,
    tenants: BTreeMap<i64, Tenant>,
    tenant_seq: HashMap<TenantId, i64>,
    customers: HashMap<TenantId, BTreeMap<i64, Row<Customer>>>,
    customer_seq: HashMap<CustomerId, (TenantId, i64)>,
    trackings: HashMap<TenantId, BTreeMap<i64, Row<Tracking>>>,
    tracking_seq: HashMap<TrackingId, (TenantId, i64)>,
    logs: HashMap<TenantId, Log>,
    #[cfg(not(target_arch = "wasm32"))]
    jobs: jobs::Jobs,
}

/// A tenant's event log: the last assigned sequence number and the retained events.
#[derive(Debug, Default)]
struct Log {
    head: u64,
    events: VecDeque<ChangeEvent>,
}

#[derive(Debug, Clone)]
struct Row<T> {
    record: T,
    deleted: bool,
}

/// How to take back one write of an uncommitted unit of work.
#[derive(Debug)]
enum Undo {
    TenantInserted(TenantId, i64),
    CustomerInserted(TenantId, CustomerId, i64),
    CustomerReplaced(TenantId, i64, Box<Row<Customer>>),
    TrackingInserted(TenantId, TrackingId, i64),
    TrackingReplaced(TenantId, i64, Box<Row<Tracking>>),
    EventAppended(TenantId),
    EventsPruned(TenantId, Vec<ChangeEvent>),
    #[cfg(not(target_arch = "wasm32"))]
    JobInserted(i64),
}

impl MemoryStore {
    async fn lock(&self) -> Result<MutexGuard<'_, Option<State>>> {
        let mut guard = self.state.lock().await;
        if self.closed.load(Ordering::SeqCst) {
            *guard = None;
            return Err(closed());
        }
        Ok(guard)
    }

    async fn with<T>(&self, f: impl FnOnce(&State) -> Result<T>) -> Result<T> {
        let guard = self.lock().await?;
        f(guard.as_ref().ok_or_else(closed)?)
    }
}

impl State {
    /// Append to a tenant's log (`not_found` for an unknown tenant).
    fn append(&mut self, tenant: &TenantId, change: &Change) -> Result<u64> {
        if !self.tenant_seq.contains_key(tenant) {
            return Err(Error::not_found("tenant", tenant.as_str()));
        }
        let log = self.logs.entry(tenant.clone()).or_default();
        log.head += 1;
        let seq = log.head;
        log.events.push_back(change.clone().numbered(tenant, seq));
        Ok(seq)
    }

    fn seq(&mut self) -> i64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn customer_at(&self, tenant: &TenantId, id: &CustomerId) -> Result<i64> {
        match self.customer_seq.get(id) {
            Some((t, seq))
                if t == tenant
                    && self
                        .customers
                        .get(tenant)
                        .and_then(|m| m.get(seq))
                        .is_some_and(|r| !r.deleted) =>
            {
                Ok(*seq)
            }
            _ => Err(Error::not_found("customer", id.as_str())),
        }
    }

    fn tracking_at(&self, tenant: &TenantId, id: &TrackingId) -> Result<i64> {
        match self.tracking_seq.get(id) {
            Some((t, seq))
                if t == tenant
                    && self
                        .trackings
                        .get(tenant)
                        .and_then(|m| m.get(seq))
                        .is_some_and(|r| !r.deleted) =>
            {
                Ok(*seq)
            }
            _ => Err(Error::not_found("tracking", id.as_str())),
        }
    }

    fn customer_mut(&mut self, tenant: &TenantId, seq: i64) -> Result<&mut Row<Customer>> {
        self.customers
            .get_mut(tenant)
            .and_then(|m| m.get_mut(&seq))
            .ok_or_else(|| Error::internal("memory store: customer row vanished"))
    }

    fn tracking_mut(&mut self, tenant: &TenantId, seq: i64) -> Result<&mut Row<Tracking>> {
        self.trackings
            .get_mut(tenant)
            .and_then(|m| m.get_mut(&seq))
            .ok_or_else(|| Error::internal("memory store: tracking row vanished"))
    }

    fn name_taken(&self, t: &Tracking) -> bool {
        self.trackings.get(&t.tenant_id).is_some_and(|rows| {
            rows.values().any(|r| {
                !r.deleted
                    && r.record.customer_id == t.customer_id
                    && r.record.name == t.name
                    && r.record.id != t.id
            })
        })
    }

    fn undo(&mut self, undo: Undo) {
        match undo {
            Undo::TenantInserted(id, seq) => {
                self.tenants.remove(&seq);
                self.tenant_seq.remove(&id);
            }
            Undo::CustomerInserted(tenant, id, seq) => {
                if let Some(m) = self.customers.get_mut(&tenant) {
                    m.remove(&seq);
                }
                self.customer_seq.remove(&id);
            }
            Undo::CustomerReplaced(tenant, seq, row) => {
                if let Some(m) = self.customers.get_mut(&tenant) {
                    m.insert(seq, *row);
                }
            }
            Undo::TrackingInserted(tenant, id, seq) => {
                if let Some(m) = self.trackings.get_mut(&tenant) {
                    m.remove(&seq);
                }
                self.tracking_seq.remove(&id);
            }
            Undo::TrackingReplaced(tenant, seq, row) => {
                if let Some(m) = self.trackings.get_mut(&tenant) {
                    m.insert(seq, *row);
                }
            }
            Undo::EventAppended(tenant) => {
                if let Some(log) = self.logs.get_mut(&tenant) {
                    log.events.pop_back();
                    log.head -= 1;
                }
            }
            Undo::EventsPruned(tenant, events) => {
                if let Some(log) = self.logs.get_mut(&tenant) {
                    for e in events.into_iter().rev() {
                        log.events.push_front(e);
                    }
                }
            }
            #[cfg(not(target_arch = "wasm32"))]
            Undo::JobInserted(id) => self.jobs.remove(id),
        }
    }
}

fn slice_of<'a, T: Clone + 'a>(
    rows: impl Iterator<Item = (&'a i64, &'a T)> + Clone,
    slice: Slice,
) -> Listed<T> {
    let total = rows.clone().count() as u64;
    let mut page: Vec<(i64, T)> = rows
        .filter(|(seq, _)| slice.after.is_none_or(|a| **seq > a))
        .take(slice.limit as usize + 1)
        .map(|(seq, r)| (*seq, r.clone()))
        .collect();
    let more = page.len() > slice.limit as usize;
    page.truncate(slice.limit as usize);
    Listed {
        last_seq: page.last().map(|(s, _)| *s),
        items: page.into_iter().map(|(_, r)| r).collect(),
        more,
        total,
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl TenantStore for MemoryStore {
    async fn get_tenant(&self, id: &TenantId) -> Result<Tenant> {
        self.with(|s| {
            s.tenant_seq
                .get(id)
                .and_then(|seq| s.tenants.get(seq))
                .cloned()
                .ok_or_else(|| Error::not_found("tenant", id.as_str()))
        })
        .await
    }

    async fn list_tenants(&self, slice: Slice) -> Result<Listed<Tenant>> {
        self.with(|s| Ok(slice_of(s.tenants.iter(), slice))).await
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl CustomerStore for MemoryStore {
    async fn get_customer(&self, tenant: &TenantId, id: &CustomerId) -> Result<Customer> {
        self.with(|s| {
            let seq = s.customer_at(tenant, id)?;
            Ok(s.customers[tenant][&seq].record.clone())
        })
        .await
    }

    async fn list_customers(&self, tenant: &TenantId, slice: Slice) -> Result<Listed<Customer>> {
        self.with(|s| {
            let empty = BTreeMap::new();
            let rows = s.customers.get(tenant).unwrap_or(&empty);
            let live = rows
                .iter()
                .filter(|(_, r)| !r.deleted)
                .map(|(seq, r)| (seq, &r.record));
            Ok(slice_of(live, slice))
        })
        .await
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl TrackingStore for MemoryStore {
    async fn get_tracking(&self, tenant: &TenantId, id: &TrackingId) -> Result<Tracking> {
        self.with(|s| {
            let seq = s.tracking_at(tenant, id)?;
            Ok(s.trackings[tenant][&seq].record.clone())
        })
        .await
    }

    async fn list_trackings(
        &self,
        tenant: &TenantId,
        customer: Option<&CustomerId>,
        slice: Slice,
    ) -> Result<Listed<Tracking>> {
        self.with(|s| {
            let empty = BTreeMap::new();
            let rows = s.trackings.get(tenant).unwrap_or(&empty);
            let live = rows
                .iter()
                .filter(|(_, r)| !r.deleted && customer.is_none_or(|c| r.record.customer_id == *c))
                .map(|(seq, r)| (seq, &r.record));
            Ok(slice_of(live, slice))
        })
        .await
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl EventStore for MemoryStore {
    async fn read_events_where(
        &self,
        tenant: &TenantId,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<EventRange> {
        self.with(|s| {
            let Some(log) = s.logs.get(tenant) else {
                return Ok(EventRange {
                    events: Vec::new(),
                    oldest: 1,
                    head: 0,
                });
            };
            let oldest = log.events.front().map_or(log.head + 1, |e| e.seq);
            let skip = usize::try_from(after.saturating_add(1).saturating_sub(oldest))
                .unwrap_or(usize::MAX);
            Ok(EventRange {
                events: log
                    .events
                    .iter()
                    .skip(skip)
                    .filter(|e| filter.matches(e))
                    .take(limit)
                    .cloned()
                    .collect(),
                oldest,
                head: log.head,
            })
        })
        .await
    }
}

/// A unit of work on the memory backend.
struct MemoryTx<'a> {
    state: MutexGuard<'a, Option<State>>,
    undo: Vec<Undo>,
    committed: bool,
}

impl MemoryTx<'_> {
    fn state(&mut self) -> Result<&mut State> {
        self.state.as_mut().ok_or_else(closed)
    }
}

impl Drop for MemoryTx<'_> {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let undo = std::mem::take(&mut self.undo);
        if let Some(s) = self.state.as_mut() {
            for u in undo.into_iter().rev() {
                s.undo(u);
            }
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl Backend for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn begin(&self) -> Result<Box<dyn Tx + '_>> {
        let guard = self.lock().await?;
        Ok(Box::new(MemoryTx {
            state: guard,
            undo: Vec::new(),
            committed: false,
        }))
    }

    fn close(&self) -> Result<()> {
        self.closed.store(true, Ordering::SeqCst);
        if let Ok(mut guard) = self.state.try_lock() {
            *guard = None;
        }
        Ok(())
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl Tx for MemoryTx<'_> {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn tenants(&mut self) -> Result<&mut dyn TenantWrites> {
        Ok(self)
    }

    fn customers(&mut self) -> Result<&mut dyn CustomerWrites> {
        Ok(self)
    }

    fn trackings(&mut self) -> Result<&mut dyn TrackingWrites> {
        Ok(self)
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn jobs(&mut self) -> Result<&mut dyn crate::queue::JobWrites> {
        Ok(self)
    }

    async fn append_event(&mut self, tenant: &TenantId, change: &Change) -> Result<u64> {
        let seq = self.state()?.append(tenant, change)?;
        self.undo.push(Undo::EventAppended(tenant.clone()));
        Ok(seq)
    }

    async fn prune_events(
        &mut self,
        tenant: &TenantId,
        keep_from: u64,
        older_than: Timestamp,
    ) -> Result<()> {
        let s = self.state()?;
        let Some(log) = s.logs.get_mut(tenant) else {
            return Ok(());
        };
        let mut pruned = Vec::new();
        while let Some(e) = log.events.front() {
            if e.seq >= keep_from && e.at >= older_than {
                break;
            }
            pruned.extend(log.events.pop_front());
        }
        if !pruned.is_empty() {
            self.undo.push(Undo::EventsPruned(tenant.clone(), pruned));
        }
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        self.state()?;
        self.committed = true;
        Ok(())
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl TenantWrites for MemoryTx<'_> {
    async fn insert_tenant(&mut self, tenant: &Tenant) -> Result<()> {
        let s = self.state()?;
        if s.tenant_seq.contains_key(&tenant.id) {
            return Err(id_collision(tenant.id.as_str()));
        }
        let seq = s.seq();
        s.tenants.insert(seq, tenant.clone());
        s.tenant_seq.insert(tenant.id.clone(), seq);
        self.undo.push(Undo::TenantInserted(tenant.id.clone(), seq));
        Ok(())
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl CustomerWrites for MemoryTx<'_> {
    async fn insert_customer(&mut self, customer: &Customer) -> Result<()> {
        let s = self.state()?;
        if !s.tenant_seq.contains_key(&customer.tenant_id) {
            return Err(Error::not_found("tenant", customer.tenant_id.as_str()));
        }
        if s.customer_seq.contains_key(&customer.id) {
            return Err(id_collision(customer.id.as_str()));
        }
        let seq = s.seq();
        s.customers
            .entry(customer.tenant_id.clone())
            .or_default()
            .insert(
                seq,
                Row {
                    record: customer.clone(),
                    deleted: false,
                },
            );
        s.customer_seq
            .insert(customer.id.clone(), (customer.tenant_id.clone(), seq));
        self.undo.push(Undo::CustomerInserted(
            customer.tenant_id.clone(),
            customer.id.clone(),
            seq,
        ));
        Ok(())
    }

    async fn replace_customer(&mut self, customer: &Customer, expected_version: i64) -> Result<()> {
        let s = self.state()?;
        let seq = s.customer_at(&customer.tenant_id, &customer.id)?;
        let row = s.customer_mut(&customer.tenant_id, seq)?;
        if row.record.version != expected_version {
            return Err(stale(
                "customer",
                customer.id.as_str(),
                expected_version,
                row.record.version,
            ));
        }
        let old = std::mem::replace(&mut row.record, customer.clone());
        self.undo.push(Undo::CustomerReplaced(
            customer.tenant_id.clone(),
            seq,
            Box::new(Row {
                record: old,
                deleted: false,
            }),
        ));
        Ok(())
    }

    async fn delete_customer(
        &mut self,
        tenant: &TenantId,
        id: &CustomerId,
        expected_version: Option<i64>,
        at: Timestamp,
    ) -> Result<(Customer, Vec<Tracking>)> {
        let s = self.state()?;
        let seq = s.customer_at(tenant, id)?;
        let row = s.customer_mut(tenant, seq)?;
        if let Some(v) = expected_version.filter(|v| *v != row.record.version) {
            return Err(stale("customer", id.as_str(), v, row.record.version));
        }
        let mut undo = vec![Undo::CustomerReplaced(
            tenant.clone(),
            seq,
            Box::new(row.clone()),
        )];
        row.deleted = true;
        row.record.version += 1;
        row.record.updated_at = at;
        let customer = row.record.clone();
        let mut gone = Vec::new();
        for (tseq, r) in s
            .trackings
            .get_mut(tenant)
            .into_iter()
            .flat_map(|m| m.iter_mut())
        {
            if !r.deleted && r.record.customer_id == *id {
                undo.push(Undo::TrackingReplaced(
                    tenant.clone(),
                    *tseq,
                    Box::new(r.clone()),
                ));
                mark_deleted(r, at);
                gone.push(r.record.clone());
            }
        }
        self.undo.extend(undo);
        Ok((customer, gone))
    }
}

fn mark_deleted(row: &mut Row<Tracking>, at: Timestamp) {
    row.deleted = true;
    row.record.sync_status = SyncStatus::Deleted;
    row.record.version += 1;
    row.record.updated_at = at;
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl TrackingWrites for MemoryTx<'_> {
    async fn insert_tracking(&mut self, tracking: &Tracking) -> Result<()> {
        let s = self.state()?;
        s.customer_at(&tracking.tenant_id, &tracking.customer_id)?;
        if s.tracking_seq.contains_key(&tracking.id) {
            return Err(id_collision(tracking.id.as_str()));
        }
        if s.name_taken(tracking) {
            return Err(duplicate_tracking(&tracking.name));
        }
        let seq = s.seq();
        s.trackings
            .entry(tracking.tenant_id.clone())
            .or_default()
            .insert(
                seq,
                Row {
                    record: tracking.clone(),
                    deleted: false,
                },
            );
        s.tracking_seq
            .insert(tracking.id.clone(), (tracking.tenant_id.clone(), seq));
        self.undo.push(Undo::TrackingInserted(
            tracking.tenant_id.clone(),
            tracking.id.clone(),
            seq,
        ));
        Ok(())
    }

    async fn replace_tracking(
        &mut self,
        tracking: &Tracking,
        expected_version: i64,
    ) -> Result<SyncStatus> {
        let s = self.state()?;
        let seq = s.tracking_at(&tracking.tenant_id, &tracking.id)?;
        let current = s.trackings[&tracking.tenant_id][&seq].record.version;
        if current != expected_version {
            return Err(stale(
                "tracking",
                tracking.id.as_str(),
                expected_version,
                current,
            ));
        }
        if s.name_taken(tracking) {
            return Err(duplicate_tracking(&tracking.name));
        }
        let row = s.tracking_mut(&tracking.tenant_id, seq)?;
        let old = row.clone();
        // The sync state stays as stored: it is written by `set_sync_state` only.
        let mut next = tracking.clone();
        next.sync_status = row.record.sync_status;
        next.sync_error = std::mem::take(&mut row.record.sync_error);
        next.external_ids = std::mem::take(&mut row.record.external_ids);
        next.last_synced_at = row.record.last_synced_at;
        let stored = row.record.sync_status;
        row.record = next;
        self.undo.push(Undo::TrackingReplaced(
            tracking.tenant_id.clone(),
            seq,
            Box::new(old),
        ));
        Ok(stored)
    }

    async fn set_sync_state(
        &mut self,
        tenant: &TenantId,
        id: &TrackingId,
        update: &SyncUpdate,
        at: Timestamp,
    ) -> Result<Tracking> {
        let s = self.state()?;
        let seq = s.tracking_at(tenant, id)?;
        let row = s.tracking_mut(tenant, seq)?;
        if let Some(v) = update.version.filter(|v| *v != row.record.version) {
            return Err(stale("tracking", id.as_str(), v, row.record.version));
        }
        let old = row.clone();
        row.record.apply_sync(update, at);
        let out = row.record.clone();
        self.undo
            .push(Undo::TrackingReplaced(tenant.clone(), seq, Box::new(old)));
        Ok(out)
    }

    async fn delete_tracking(
        &mut self,
        tenant: &TenantId,
        id: &TrackingId,
        expected_version: Option<i64>,
        at: Timestamp,
    ) -> Result<Tracking> {
        let s = self.state()?;
        let seq = s.tracking_at(tenant, id)?;
        let row = s.tracking_mut(tenant, seq)?;
        if let Some(v) = expected_version.filter(|v| *v != row.record.version) {
            return Err(stale("tracking", id.as_str(), v, row.record.version));
        }
        let old = row.clone();
        mark_deleted(row, at);
        let out = row.record.clone();
        self.undo
            .push(Undo::TrackingReplaced(tenant.clone(), seq, Box::new(old)));
        Ok(out)
    }
}
