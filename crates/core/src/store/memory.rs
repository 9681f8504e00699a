//! The in-memory backend: the reference behaviour for tests and the browser.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use super::{
    Backend, CustomerStore, TenantStore, TrackingStore, closed, duplicate_tracking, stale,
};
use crate::page::{Listed, Slice};
use crate::{
    Customer, CustomerId, Error, Result, SyncStatus, Tenant, TenantId, Timestamp, Tracking,
    TrackingId,
};

/// Records in memory, per tenant, in insertion order.
#[derive(Debug)]
pub struct MemoryStore {
    /// `None` once closed.
    state: Mutex<Option<State>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            state: Mutex::new(Some(State::default())),
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
}

#[derive(Debug, Clone)]
struct Row<T> {
    record: T,
    deleted: bool,
}

impl MemoryStore {
    fn state(&self) -> Result<MutexGuard<'_, Option<State>>> {
        self.state
            .lock()
            .map_err(|_| Error::internal("memory store lock poisoned"))
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
        let mut guard = self.state()?;
        f(guard.as_mut().ok_or_else(closed)?)
    }
}

impl State {
    fn seq(&mut self) -> i64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn customer_row(&mut self, tenant: &TenantId, id: &CustomerId) -> Result<&mut Row<Customer>> {
        let found = match self.customer_seq.get(id) {
            Some((t, seq)) if t == tenant => Some(*seq),
            _ => None,
        };
        found
            .and_then(|seq| self.customers.get_mut(tenant)?.get_mut(&seq))
            .filter(|r| !r.deleted)
            .ok_or_else(|| Error::not_found("customer", id.as_str()))
    }

    fn tracking_row(&mut self, tenant: &TenantId, id: &TrackingId) -> Result<&mut Row<Tracking>> {
        let found = match self.tracking_seq.get(id) {
            Some((t, seq)) if t == tenant => Some(*seq),
            _ => None,
        };
        found
            .and_then(|seq| self.trackings.get_mut(tenant)?.get_mut(&seq))
            .filter(|r| !r.deleted)
            .ok_or_else(|| Error::not_found("tracking", id.as_str()))
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
    async fn insert_tenant(&self, tenant: &Tenant) -> Result<()> {
        self.with(|s| {
            if s.tenant_seq.contains_key(&tenant.id) {
                return Err(id_collision(tenant.id.as_str()));
            }
            let seq = s.seq();
            s.tenants.insert(seq, tenant.clone());
            s.tenant_seq.insert(tenant.id.clone(), seq);
            Ok(())
        })
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Tenant> {
        self.with(|s| {
            s.tenant_seq
                .get(id)
                .and_then(|seq| s.tenants.get(seq))
                .cloned()
                .ok_or_else(|| Error::not_found("tenant", id.as_str()))
        })
    }

    async fn list_tenants(&self, slice: Slice) -> Result<Listed<Tenant>> {
        self.with(|s| Ok(slice_of(s.tenants.iter(), slice)))
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl CustomerStore for MemoryStore {
    async fn insert_customer(&self, customer: &Customer) -> Result<()> {
        self.with(|s| {
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
            Ok(())
        })
    }

    async fn get_customer(&self, tenant: &TenantId, id: &CustomerId) -> Result<Customer> {
        self.with(|s| Ok(s.customer_row(tenant, id)?.record.clone()))
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
    }

    async fn replace_customer(&self, customer: &Customer, expected_version: i64) -> Result<()> {
        self.with(|s| {
            let row = s.customer_row(&customer.tenant_id, &customer.id)?;
            if row.record.version != expected_version {
                return Err(stale(
                    "customer",
                    customer.id.as_str(),
                    expected_version,
                    row.record.version,
                ));
            }
            row.record = customer.clone();
            Ok(())
        })
    }

    async fn delete_customer(
        &self,
        tenant: &TenantId,
        id: &CustomerId,
        expected_version: Option<i64>,
        at: Timestamp,
    ) -> Result<(Customer, Vec<Tracking>)> {
        self.with(|s| {
            let row = s.customer_row(tenant, id)?;
            if let Some(v) = expected_version.filter(|v| *v != row.record.version) {
                return Err(stale("customer", id.as_str(), v, row.record.version));
            }
            row.deleted = true;
            row.record.version += 1;
            row.record.updated_at = at;
            let customer = row.record.clone();
            let mut gone = Vec::new();
            for r in s
                .trackings
                .get_mut(tenant)
                .into_iter()
                .flat_map(|m| m.values_mut())
            {
                if !r.deleted && r.record.customer_id == *id {
                    mark_deleted(r, at);
                    gone.push(r.record.clone());
                }
            }
            Ok((customer, gone))
        })
    }
}

/// A generated id that is already taken (the random source failed twice over): refuse rather
/// than orphan the existing record.
fn id_collision(id: &str) -> Error {
    Error::internal(format!(
        "generated id {id} collided with an existing one; retry"
    ))
}

fn mark_deleted(row: &mut Row<Tracking>, at: Timestamp) {
    row.deleted = true;
    row.record.sync_status = SyncStatus::Deleted;
    row.record.version += 1;
    row.record.updated_at = at;
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl TrackingStore for MemoryStore {
    async fn insert_tracking(&self, tracking: &Tracking) -> Result<()> {
        self.with(|s| {
            s.customer_row(&tracking.tenant_id, &tracking.customer_id)?;
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
            Ok(())
        })
    }

    async fn get_tracking(&self, tenant: &TenantId, id: &TrackingId) -> Result<Tracking> {
        self.with(|s| Ok(s.tracking_row(tenant, id)?.record.clone()))
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
    }

    async fn replace_tracking(&self, tracking: &Tracking, expected_version: i64) -> Result<()> {
        self.with(|s| {
            let current = s
                .tracking_row(&tracking.tenant_id, &tracking.id)?
                .record
                .version;
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
            s.tracking_row(&tracking.tenant_id, &tracking.id)?.record = tracking.clone();
            Ok(())
        })
    }

    async fn delete_tracking(
        &self,
        tenant: &TenantId,
        id: &TrackingId,
        expected_version: Option<i64>,
        at: Timestamp,
    ) -> Result<Tracking> {
        self.with(|s| {
            let row = s.tracking_row(tenant, id)?;
            if let Some(v) = expected_version.filter(|v| *v != row.record.version) {
                return Err(stale("tracking", id.as_str(), v, row.record.version));
            }
            mark_deleted(row, at);
            Ok(row.record.clone())
        })
    }
}

impl Backend for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn close(&self) -> Result<()> {
        let mut guard = self.state()?;
        *guard = None;
        Ok(())
    }
}
