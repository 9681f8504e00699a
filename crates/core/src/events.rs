//! Change events: a durable, per-tenant log of every committed change.
//!
//! Each event is written by storage in the same transaction as the change it describes, with a
//! per-tenant sequence number (1, 2, 3, … without gaps) assigned inside that transaction, so the
//! log is in commit order and survives restarts. Any process on the same database reads it with
//! [`Engine::events`](crate::Engine::events) (poll from the last sequence it saw); a
//! [`Subscription`] in the writing process is woken at once. The log is pruned by age and count
//! per tenant ([`EventRetention`]); a reader that fell behind the pruned edge is told how many
//! events it missed instead of silently skipping them.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::queue::JobState;
use crate::{Engine, Result, SyncStatus, TenantId, Timestamp};

wire_enum!(
    /// What kind of record changed (`#[non_exhaustive]`: jobs, metrics and syncs come).
    #[non_exhaustive]
    Entity {
        /// A tenant.
        Tenant => "tenant",
        /// A customer.
        Customer => "customer",
        /// A tracking.
        Tracking => "tracking",
        /// A job of the tenant (its id is the job number).
        Job => "job",
    }
);

wire_enum!(
    /// What happened to it (`#[non_exhaustive]`, like [`Entity`]).
    #[non_exhaustive]
    ChangeAction {
        /// Created.
        Created => "created",
        /// Fields changed.
        Updated => "updated",
        /// Soft-deleted.
        Deleted => "deleted",
        /// A tracking's sync status or a job's state moved (e.g. synced → pending after an
        /// edit, running → completed).
        StatusChanged => "status_changed",
    }
);

/// One committed change.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChangeEvent {
    /// Per-tenant sequence number, from 1, without gaps; resume with `events(tenant, seq)`.
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
    /// A job's state after the change (its `version` is the attempt).
    pub job_state: Option<JobState>,
    /// When it happened.
    pub at: Timestamp,
    /// Who made the change, as the host named them with
    /// [`Engine::acting_as`](crate::Engine::acting_as) (`None`: not named, and job transitions).
    pub actor: Option<String>,
}

/// The fields of an event before storage gives it its sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
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
    /// A job's state after the change (its `version` is the attempt).
    pub job_state: Option<JobState>,
    /// When it happened.
    pub at: Timestamp,
    /// Who made it.
    pub actor: Option<String>,
}

impl Change {
    /// A job's change: its state after it, the attempt as its `version`.
    pub fn job(
        id: impl std::fmt::Display,
        action: ChangeAction,
        attempt: u32,
        state: crate::queue::JobState,
        at: Timestamp,
    ) -> Self {
        Self {
            entity: Entity::Job,
            id: id.to_string(),
            action,
            version: i64::from(attempt),
            sync_status: None,
            job_state: Some(state),
            at,
            actor: None,
        }
    }

    /// The event this change becomes once numbered.
    pub fn numbered(self, tenant: &TenantId, seq: u64) -> ChangeEvent {
        ChangeEvent {
            seq,
            tenant_id: tenant.clone(),
            entity: self.entity,
            id: self.id,
            action: self.action,
            version: self.version,
            sync_status: self.sync_status,
            job_state: self.job_state,
            at: self.at,
            actor: self.actor,
        }
    }
}

/// Which events of a tenant's activity log a read returns (every field optional; all given
/// ones must match).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only changes of this kind of record.
    pub entity: Option<Entity>,
    /// Only changes of the record with this id.
    pub id: Option<String>,
    /// Only changes made by this actor.
    pub actor: Option<String>,
    /// Only changes at or after this time.
    pub since: Option<Timestamp>,
    /// Only changes before this time.
    pub until: Option<Timestamp>,
}

impl EventFilter {
    /// No condition: every event.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Whether `event` passes every condition (the memory backend's scan; SQL backends put the
    /// same conditions in the query).
    pub fn matches(&self, event: &ChangeEvent) -> bool {
        self.entity.is_none_or(|e| e == event.entity)
            && self.id.as_ref().is_none_or(|id| *id == event.id)
            && self
                .actor
                .as_ref()
                .is_none_or(|a| event.actor.as_ref() == Some(a))
            && self.since.is_none_or(|t| event.at >= t)
            && self.until.is_none_or(|t| event.at < t)
    }
}

/// Check an actor name a host passes: 1 to 200 characters, no control characters.
///
/// # Errors
/// `invalid_input` naming `actor`.
pub(crate) fn check_actor(actor: &str) -> Result<()> {
    let reason = if actor.trim().is_empty() {
        "must not be empty"
    } else if actor.chars().count() > 200 {
        "must be at most 200 characters"
    } else if actor.chars().any(char::is_control) {
        "must not contain control characters"
    } else {
        return Ok(());
    };
    Err(crate::Error::invalid_field("actor", actor, reason))
}

/// How much of each tenant's log is kept: events beyond `max_events` or older than
/// `max_age_secs` are pruned as new ones are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventRetention {
    /// Most events kept per tenant (default 10 000).
    pub max_events: u64,
    /// Oldest event kept, in seconds (default 30 days).
    pub max_age_secs: u64,
}

impl Default for EventRetention {
    fn default() -> Self {
        Self {
            max_events: 10_000,
            max_age_secs: 30 * 24 * 3600,
        }
    }
}

impl EventRetention {
    /// Pruning runs on every this many appends of a tenant (cheap, bounded work each time).
    pub(crate) const PRUNE_EVERY: u64 = 32;
}

/// What storage answers for a read of a tenant's log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventRange {
    /// Events with a sequence number above the one asked for, in order, at most the limit.
    pub events: Vec<ChangeEvent>,
    /// The oldest retained sequence number (`head + 1` when none is retained).
    pub oldest: u64,
    /// The last sequence number assigned (0 before the first event).
    pub head: u64,
}

/// What a subscription yields.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Received {
    /// The next event.
    Event(ChangeEvent),
    /// The subscriber fell behind the retained window: `missed` events were pruned and delivery
    /// resumes at `resume_from`. Reload state from storage, then carry on.
    Lagged {
        /// How many events were skipped.
        missed: u64,
        /// The sequence number delivered next.
        resume_from: u64,
    },
    /// The position resumed from is ahead of the log (the database was replaced or restored
    /// from an older backup). Reload state, then carry on.
    Reset {
        /// The sequence number delivered next.
        resume_from: u64,
    },
}

/// The events after a sequence number, for hosts that poll (bindings, HTTP handlers, other
/// processes on the same database).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EventBatch {
    /// Events in order, at most the requested number.
    pub events: Vec<ChangeEvent>,
    /// Events after `after` that were pruned before they were read (the caller fell behind):
    /// reload state from storage. 0 when nothing was lost.
    pub missed: u64,
    /// Pass as `after` next time.
    pub last_seq: u64,
    /// `after` was ahead of the log (the database was replaced): reload state from storage,
    /// then poll from `last_seq`.
    pub reset: bool,
}

impl EventBatch {
    /// Interpret what storage returned for a read of at most `limit` events after `after`.
    pub(crate) fn from_range(after: u64, limit: usize, range: EventRange) -> Self {
        if after > range.head {
            return Self {
                events: Vec::new(),
                missed: 0,
                last_seq: range.head,
                reset: true,
            };
        }
        let missed = range.oldest.saturating_sub(after.saturating_add(1));
        // Fewer than asked for: storage read the whole log up to its head (in one snapshot), so
        // a filtered read resumes after the head, not after the last match.
        let last_seq = match range.events.last() {
            Some(e) if range.events.len() >= limit => e.seq,
            _ if limit > 0 => range.head.max(after),
            Some(e) => e.seq,
            None => after.max(range.oldest.saturating_sub(1)),
        };
        Self {
            events: range.events,
            missed,
            last_seq,
            reset: false,
        }
    }
}

/// Wakes in-process subscribers after a commit; other processes poll.
#[derive(Debug, Default)]
pub(crate) struct Wakers {
    tenants: Mutex<HashMap<TenantId, Arc<tokio::sync::Notify>>>,
    closed: AtomicBool,
}

impl Wakers {
    fn waker(&self, tenant: &TenantId) -> Arc<tokio::sync::Notify> {
        let mut map = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        // Drop wakers no subscription holds any more, so the map stays bounded.
        map.retain(|_, n| Arc::strong_count(n) > 1);
        map.entry(tenant.clone()).or_default().clone()
    }

    /// Wake the tenant's subscribers (after a commit that wrote its events).
    pub(crate) fn wake(&self, tenant: &TenantId) {
        let map = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get(tenant) {
            n.notify_waiters();
        }
    }

    /// Wake every subscriber once (another process may have written to any log).
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub(crate) fn wake_all(&self) {
        let map = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        for n in map.values() {
            n.notify_waiters();
        }
    }

    /// Wake everyone for good (the engine closed).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let map = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        for n in map.values() {
            n.notify_waiters();
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

/// A tenant's stream of changes, read from the durable log and woken by in-process commits, and
/// on PostgreSQL by every process's commits (`LISTEN/NOTIFY`). On SQLite, writes by other
/// processes on the same file are seen on the next wake-up or [`try_next`](Self::try_next):
/// poll it (or [`Engine::events`](crate::Engine::events)) to follow another process.
#[derive(Debug)]
pub struct Subscription {
    engine: Engine,
    tenant: TenantId,
    waker: Arc<tokio::sync::Notify>,
    /// The sequence number delivered next.
    next: u64,
    ready: VecDeque<Received>,
}

/// Events fetched from storage per read.
const SUBSCRIPTION_BATCH: usize = 256;

impl Subscription {
    pub(crate) fn new(engine: Engine, tenant: TenantId, waker_from: &Wakers, next: u64) -> Self {
        let waker = waker_from.waker(&tenant);
        Self {
            engine,
            tenant,
            waker,
            next,
            ready: VecDeque::new(),
        }
    }

    /// The next event if one is committed, without waiting.
    ///
    /// # Errors
    /// `unavailable` once the engine is closed; `storage` if the log cannot be read.
    pub async fn try_next(&mut self) -> Result<Option<Received>> {
        if let Some(r) = self.ready.pop_front() {
            return Ok(Some(r));
        }
        let batch = self
            .engine
            .events(
                &self.tenant,
                self.next.saturating_sub(1),
                SUBSCRIPTION_BATCH,
            )
            .await?;
        if batch.reset {
            self.ready.push_back(Received::Reset {
                resume_from: batch.last_seq + 1,
            });
        } else if batch.missed > 0 {
            self.ready.push_back(Received::Lagged {
                missed: batch.missed,
                resume_from: self.next + batch.missed,
            });
        }
        self.ready
            .extend(batch.events.into_iter().map(Received::Event));
        self.next = batch.last_seq + 1;
        Ok(self.ready.pop_front())
    }

    /// Wait for the next event.
    ///
    /// # Errors
    /// `unavailable` once the engine is closed (a waiting subscriber is woken by `close()`);
    /// `storage` if the log cannot be read.
    pub async fn next(&mut self) -> Result<Received> {
        let waker = self.waker.clone();
        loop {
            let notified = waker.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if let Some(r) = self.try_next().await? {
                return Ok(r);
            }
            notified.await;
        }
    }

    /// The sequence number this subscription delivers next.
    pub fn position(&self) -> u64 {
        self.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(oldest: u64, head: u64, seqs: &[u64]) -> EventRange {
        EventRange {
            events: seqs
                .iter()
                .map(|&seq| ChangeEvent {
                    seq,
                    tenant_id: TenantId::new("ten_x"),
                    entity: Entity::Tenant,
                    id: "x".into(),
                    action: ChangeAction::Created,
                    version: 1,
                    sync_status: None,
                    job_state: None,
                    at: Timestamp::from_micros(0),
                    actor: None,
                })
                .collect(),
            oldest,
            head,
        }
    }

    #[test]
    fn batches_report_missed_and_reset() {
        let b = EventBatch::from_range(0, 10, range(1, 2, &[1, 2]));
        assert_eq!((b.missed, b.last_seq, b.reset), (0, 2, false));
        let b = EventBatch::from_range(3, 10, range(8, 9, &[8, 9]));
        assert_eq!((b.missed, b.last_seq), (4, 9));
        let b = EventBatch::from_range(9, 10, range(8, 9, &[]));
        assert_eq!((b.missed, b.last_seq, b.reset), (0, 9, false));
        let b = EventBatch::from_range(12, 10, range(8, 9, &[]));
        assert_eq!((b.last_seq, b.reset), (9, true));
        // Everything pruned: the caller resumes after the head.
        let b = EventBatch::from_range(2, 10, range(10, 9, &[]));
        assert_eq!((b.missed, b.last_seq), (7, 9));
        // A full batch resumes after its last event; a short (filtered) one after the head.
        let b = EventBatch::from_range(0, 2, range(1, 5, &[1, 2]));
        assert_eq!(b.last_seq, 2);
        let b = EventBatch::from_range(0, 10, range(1, 9, &[3]));
        assert_eq!(b.last_seq, 9);
        // A head-only read (limit 0) moves nowhere.
        let b = EventBatch::from_range(4, 0, range(1, 9, &[]));
        assert_eq!(b.last_seq, 4);
    }

    #[test]
    fn wire_names_round_trip() {
        for e in Entity::ALL {
            assert_eq!(Entity::parse(e.as_str()), Some(*e));
        }
        for a in ChangeAction::ALL {
            assert_eq!(ChangeAction::parse(a.as_str()), Some(*a));
        }
    }
}
