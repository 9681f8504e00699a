//! Change events: every committed change, per tenant, numbered so a subscriber can resume.
//!
//! Hosts forward these to WebSockets or SSE. Each tenant has its own sequence (1, 2, 3, …) and
//! keeps the most recent events in a ring; a subscriber that falls further behind is told how
//! many it missed instead of silently skipping them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::{SyncStatus, TenantId, Timestamp};

/// How many recent events each tenant keeps for resuming subscribers.
pub const RETAINED_EVENTS: usize = 4096;

/// What kind of record changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    /// A tenant.
    Tenant,
    /// A customer.
    Customer,
    /// A tracking.
    Tracking,
}

/// What happened to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    /// Created.
    Created,
    /// Fields changed.
    Updated,
    /// Soft-deleted.
    Deleted,
    /// A tracking's sync status moved (e.g. synced → pending after an edit).
    StatusChanged,
}

/// One committed change.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChangeEvent {
    /// Per-tenant sequence number, from 1; resume with `subscribe(tenant, Some(seq))`.
    pub seq: u64,
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// What kind of record.
    pub entity: Entity,
    /// The record's id.
    pub id: String,
    /// What happened.
    pub action: ChangeAction,
    /// The record's version after the change.
    pub version: i64,
    /// A tracking's sync status after the change.
    pub sync_status: Option<SyncStatus>,
    /// When it happened.
    pub at: Timestamp,
}

/// What a subscription yields.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Received {
    /// The next event.
    Event(ChangeEvent),
    /// The subscriber fell behind the retained window: `missed` events are gone and delivery
    /// resumes at `resume_from`. Reload state from storage, then carry on.
    Lagged {
        /// How many events were skipped.
        missed: u64,
        /// The sequence number delivered next.
        resume_from: u64,
    },
    /// The position resumed from is ahead of this stream: sequence numbers started again (the
    /// host process restarted; they are per process). Reload state, then carry on.
    Reset {
        /// The sequence number delivered next.
        resume_from: u64,
    },
}

/// The retained events after a sequence number, for hosts that poll (bindings, HTTP handlers).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EventBatch {
    /// Events in order, at most the requested number.
    pub events: Vec<ChangeEvent>,
    /// Events after `after` that are no longer retained (the caller fell behind): reload state
    /// from storage. 0 when nothing was lost.
    pub missed: u64,
    /// Pass as `after` next time.
    pub last_seq: u64,
    /// `after` was ahead of this stream (it restarted with the host process): reload state from
    /// storage, then poll from `last_seq`.
    pub reset: bool,
}

#[derive(Debug, Default)]
struct Log {
    next_seq: u64,
    ring: VecDeque<ChangeEvent>,
}

impl Log {
    /// The sequence number the next event gets (numbering starts at 1).
    fn head(&self) -> u64 {
        self.next_seq.max(1)
    }
}

#[derive(Debug, Default)]
struct TenantLog {
    log: Mutex<Log>,
    notify: tokio::sync::Notify,
}

/// Publishes events per tenant and hands out subscriptions.
#[derive(Debug, Default)]
pub(crate) struct ChangeBus {
    tenants: Mutex<HashMap<TenantId, Arc<TenantLog>>>,
}

/// The fields of an event before it gets its sequence number.
pub(crate) struct Change {
    pub(crate) entity: Entity,
    pub(crate) id: String,
    pub(crate) action: ChangeAction,
    pub(crate) version: i64,
    pub(crate) sync_status: Option<SyncStatus>,
    pub(crate) at: Timestamp,
}

impl ChangeBus {
    fn log(&self, tenant: &TenantId) -> Arc<TenantLog> {
        let mut map = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(tenant.clone()).or_default().clone()
    }

    /// Poll without registering the tenant (a poll with any id must not grow the bus).
    pub(crate) fn poll(&self, tenant: &TenantId, after: u64, max: usize) -> EventBatch {
        let existing = {
            let map = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
            map.get(tenant).cloned()
        };
        Subscription::starting(existing.unwrap_or_default(), Some(after)).drain(max)
    }

    /// Publish a committed change.
    pub(crate) fn publish(&self, tenant: &TenantId, change: Change) {
        let log = self.log(tenant);
        {
            let mut l = log.log.lock().unwrap_or_else(|p| p.into_inner());
            let seq = l.head();
            l.next_seq = seq + 1;
            if l.ring.len() == RETAINED_EVENTS {
                l.ring.pop_front();
            }
            l.ring.push_back(ChangeEvent {
                seq,
                tenant_id: tenant.clone(),
                entity: change.entity,
                id: change.id,
                action: change.action,
                version: change.version,
                sync_status: change.sync_status,
                at: change.at,
            });
        }
        log.notify.notify_waiters();
    }

    pub(crate) fn subscribe(&self, tenant: &TenantId, after: Option<u64>) -> Subscription {
        Subscription::starting(self.log(tenant), after)
    }
}

/// A tenant's stream of changes.
#[derive(Debug)]
pub struct Subscription {
    log: Arc<TenantLog>,
    next: u64,
    /// `after` was ahead of the stream: the first thing delivered is `Received::Reset`.
    reset: bool,
}

impl Subscription {
    fn starting(log: Arc<TenantLog>, after: Option<u64>) -> Self {
        let head = log.log.lock().unwrap_or_else(|p| p.into_inner()).head();
        let (next, reset) = match after.map(|a| a.checked_add(1)) {
            None => (head, false),
            Some(Some(next)) if next <= head => (next, false),
            Some(_) => (head, true),
        };
        Self { log, next, reset }
    }

    /// The next event if one is ready, without waiting.
    pub fn try_next(&mut self) -> Option<Received> {
        if std::mem::take(&mut self.reset) {
            return Some(Received::Reset {
                resume_from: self.next,
            });
        }
        let l = self.log.log.lock().unwrap_or_else(|p| p.into_inner());
        let oldest = l.ring.front()?.seq;
        if self.next < oldest {
            let missed = oldest - self.next;
            self.next = oldest;
            return Some(Received::Lagged {
                missed,
                resume_from: oldest,
            });
        }
        let event = l
            .ring
            .get(usize::try_from(self.next - oldest).ok()?)?
            .clone();
        self.next += 1;
        Some(Received::Event(event))
    }

    /// Wait for the next event.
    pub async fn next(&mut self) -> Received {
        let log = self.log.clone();
        loop {
            let notified = log.notify.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if let Some(r) = self.try_next() {
                return r;
            }
            notified.await;
        }
    }

    /// Everything ready now, up to `max` events, as a batch (a lag is reported as `missed`).
    pub fn drain(&mut self, max: usize) -> EventBatch {
        let mut batch = EventBatch {
            events: Vec::new(),
            missed: 0,
            last_seq: self.next.saturating_sub(1),
            reset: false,
        };
        while batch.events.len() < max {
            match self.try_next() {
                Some(Received::Event(e)) => {
                    batch.last_seq = e.seq;
                    batch.events.push(e);
                }
                Some(Received::Lagged {
                    missed,
                    resume_from,
                }) => {
                    batch.missed += missed;
                    batch.last_seq = resume_from.saturating_sub(1);
                }
                Some(Received::Reset { resume_from }) => {
                    batch.reset = true;
                    batch.last_seq = resume_from.saturating_sub(1);
                }
                None => break,
            }
        }
        batch
    }

    /// The sequence number this subscription delivers next.
    pub fn position(&self) -> u64 {
        self.next
    }
}
