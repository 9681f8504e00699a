//! The engine facade: everything a host calls goes through here. It validates, applies the
//! versioning rules, and writes each change with its change event as one unit of work
//! ([`Unit`]): the record change, its events, and whatever the change causes commit together or
//! not at all. Subscribers in this process are woken after the commit.

use std::sync::Arc;

use crate::events::{
    Change, ChangeAction, Entity, EventBatch, EventFilter, EventRetention, Subscription, Wakers,
};
use crate::page::{CursorScope, ListOptions, ListTrackings, Page};
use crate::store::{CustomerWrites, Storage, TenantWrites, TrackingWrites, Tx};
use crate::validate::{self, Problems};
use crate::{
    Customer, CustomerId, CustomerPatch, Env, GoogleConnection, NewCustomer, NewTracking, Result,
    SyncStatus, SyncUpdate, Tenant, TenantId, Tracking, TrackingId, TrackingPatch,
};

/// The tagsmith engine. Cheap to clone; clones share storage and subscribers. `Send + Sync`
/// on native targets, so hosts may share one across threads.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
    /// Who this handle's writes are recorded as made by ([`Engine::acting_as`]).
    actor: Option<Arc<str>>,
}

struct Inner {
    storage: Storage,
    env: Arc<dyn Env>,
    wakers: Wakers,
    retention: EventRetention,
    #[cfg(not(target_arch = "wasm32"))]
    sync_jobs: Option<SyncJobs>,
    /// Wakes this process's workers when jobs are added (other processes poll).
    #[cfg(not(target_arch = "wasm32"))]
    job_added: tokio::sync::Notify,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("storage", &self.inner.storage)
            .field("actor", &self.actor)
            .finish()
    }
}

/// How an engine is set up beyond its storage (Python `Engine.open(path, **options)`, JS
/// `Engine.open(path, options)`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineOptions {
    /// How much of each tenant's change event log is kept (`{max_events, max_age_secs}`).
    pub event_retention: EventRetention,
    /// SQLite: how long a write waits for another process's lock, in milliseconds (default
    /// 5000).
    pub busy_timeout_ms: Option<u64>,
    /// Enqueue a sync job with every tracking change that needs one, in the same commit
    /// (native only; ignored in the browser).
    pub sync_jobs: Option<SyncJobs>,
    /// PostgreSQL: the schema holding tagsmith's tables (default `tagsmith`; lowercase letters,
    /// digits and underscores). Ignored for a SQLite file.
    pub schema: Option<String>,
}

/// The job a tracking change causes: one per tracking while it waits (unique key
/// `sync:<tracking id>`), one running per customer (concurrency key `sync:<customer id>`), with
/// args `{"tracking_id", "customer_id", "version"}` and the tracking's tenant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncJobs {
    /// The job kind (a handler registered on the workers, e.g. `sync_tracking`).
    pub kind: String,
    /// The queue (default `default`).
    #[serde(default)]
    pub queue: Option<String>,
}

impl EngineOptions {
    /// Check the values (at least one event kept, for at least one second; a busy timeout of at
    /// most an hour).
    ///
    /// # Errors
    /// `invalid_input` naming each bad field.
    pub fn validate(&self) -> Result<()> {
        let mut p = Problems::default();
        let r = &self.event_retention;
        if r.max_events == 0 {
            p.add("event_retention.max_events", "0", "must be at least 1");
        }
        if r.max_age_secs == 0 {
            p.add("event_retention.max_age_secs", "0", "must be at least 1");
        }
        if let Some(jobs) = &self.sync_jobs {
            crate::queue::token(&mut p, "sync_jobs.kind", &jobs.kind);
            if let Some(q) = &jobs.queue {
                crate::queue::token(&mut p, "sync_jobs.queue", q);
            }
        }
        if let Some(ms) = self.busy_timeout_ms.filter(|ms| *ms > 3_600_000) {
            p.add(
                "busy_timeout_ms",
                &ms.to_string(),
                "must be at most 3600000 (an hour)",
            );
        }
        p.into_result()
    }
}

impl Engine {
    /// An engine over `storage`, with the clock and randomness of `env`.
    pub fn new(storage: Storage, env: Arc<dyn Env>) -> Self {
        Self::with_options(storage, env, &EngineOptions::default())
    }

    /// [`new`](Self::new) with options.
    // On wasm32 nothing is `Send` (one thread); the `Arc` is for cheap clones.
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    pub fn with_options(storage: Storage, env: Arc<dyn Env>, options: &EngineOptions) -> Self {
        let engine = Self {
            inner: Arc::new(Inner {
                storage,
                env,
                wakers: Wakers::default(),
                retention: options.event_retention,
                #[cfg(not(target_arch = "wasm32"))]
                sync_jobs: options.sync_jobs.clone(),
                #[cfg(not(target_arch = "wasm32"))]
                job_added: tokio::sync::Notify::new(),
            }),
            actor: None,
        };
        // Other processes' writes wake this process's subscribers where storage can tell.
        #[cfg(not(target_arch = "wasm32"))]
        if let Ok(events) = engine.inner.storage.events() {
            let inner = Arc::downgrade(&engine.inner);
            events.watch_changes(Arc::new(move |tenant| {
                if let Some(inner) = inner.upgrade() {
                    match tenant {
                        Some(t) => inner.wakers.wake(t),
                        None => inner.wakers.wake_all(),
                    }
                }
            }));
        }
        engine
    }

    /// The embedded default: a SQLite file at `path` (created and migrated if needed); with the
    /// `postgres` feature, a `postgres://` or `postgresql://` URL opens that database instead.
    ///
    /// # Errors
    /// `storage` if the file is not a database, is locked, or is newer than this build; for a
    /// URL, as [`PgStore::connect`](crate::store::postgres::PgStore::connect).
    #[cfg(all(feature = "sqlite", not(target_arch = "wasm32")))]
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self> {
        Self::open_with(path, &EngineOptions::default())
    }

    /// [`open`](Self::open) with options.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    #[cfg(all(feature = "sqlite", not(target_arch = "wasm32")))]
    pub fn open_with(path: impl AsRef<std::path::Path>, options: &EngineOptions) -> Result<Self> {
        options.validate()?;
        #[cfg(feature = "postgres")]
        if let Some(url) = path.as_ref().to_str().filter(|p| is_postgres_url(p)) {
            let mut pg = crate::store::postgres::PgOptions::default();
            if let Some(schema) = &options.schema {
                pg.schema.clone_from(schema);
            }
            return Ok(Self::with_options(
                Storage::postgres(url, &pg)?,
                Arc::new(crate::SystemEnv),
                options,
            ));
        }
        let mut sqlite = crate::store::sqlite::SqliteOptions::default();
        if let Some(ms) = options.busy_timeout_ms {
            sqlite.busy_timeout = std::time::Duration::from_millis(ms);
        }
        Ok(Self::with_options(
            Storage::sqlite_with(path, &sqlite)?,
            Arc::new(crate::SystemEnv),
            options,
        ))
    }

    /// An engine on in-memory storage (tests, scratch work).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn in_memory() -> Self {
        Self::new(Storage::memory(), Arc::new(crate::SystemEnv))
    }

    /// The storage backend's name (`memory`, `sqlite`, `postgres`).
    pub fn backend(&self) -> &'static str {
        self.inner.storage.backend_name()
    }

    /// The storage this engine runs on (its capabilities, for hosts that check them).
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// Close the storage; later calls fail with `unavailable`, and waiting subscribers wake up
    /// with that error. Safe to call twice.
    ///
    /// # Errors
    /// `storage` if the backend fails to flush.
    pub fn close(&self) -> Result<()> {
        // Storage first: if it cannot close yet (a write in flight), nothing is closed.
        self.inner.storage.backend().close()?;
        self.inner.wakers.close();
        Ok(())
    }

    /// Create a tenant.
    ///
    /// # Errors
    /// `invalid_input` for a bad name.
    pub async fn create_tenant(&self, name: &str) -> Result<Tenant> {
        let mut p = Problems::default();
        validate::name(&mut p, "name", name);
        p.into_result()?;
        let tenant = Tenant {
            id: TenantId::generate(self.env())?,
            name: name.to_owned(),
            created_at: self.env().now(),
        };
        let mut unit = self.begin().await?;
        unit.tenants()?.insert_tenant(&tenant).await?;
        unit.record(
            &tenant.id,
            Entity::Tenant,
            tenant.id.as_str(),
            ChangeAction::Created,
            1,
            None,
        )
        .await?;
        unit.commit().await?;
        Ok(tenant)
    }

    /// Fetch a tenant.
    ///
    /// # Errors
    /// `not_found` if unknown.
    pub async fn get_tenant(&self, id: &TenantId) -> Result<Tenant> {
        self.inner.storage.tenants()?.get_tenant(id).await
    }

    /// List tenants (the host's administrative view).
    ///
    /// # Errors
    /// `invalid_input` for a bad limit or cursor.
    pub async fn list_tenants(&self, options: &ListOptions) -> Result<Page<Tenant>> {
        let scope = CursorScope {
            entity: "tenant",
            tenant: "",
            filter: "",
        };
        let slice = scope.slice(options.limit, options.cursor.as_deref())?;
        Ok(scope.page(self.inner.storage.tenants()?.list_tenants(slice).await?))
    }

    /// The customers of one tenant. Returns at once; the tenant is checked by each operation.
    pub fn customers(&self, tenant: impl Into<TenantId>) -> Customers {
        Customers {
            engine: self.clone(),
            tenant: tenant.into(),
        }
    }

    /// The trackings of one tenant. Returns at once; the tenant is checked by each operation.
    pub fn trackings(&self, tenant: impl Into<TenantId>) -> Trackings {
        Trackings {
            engine: self.clone(),
            tenant: tenant.into(),
        }
    }

    /// Subscribe to a tenant's changes: after event `after` if given (resume), else from the
    /// latest committed one.
    ///
    /// # Errors
    /// `storage` if the log cannot be read, `unavailable` once closed.
    pub async fn subscribe(&self, tenant: &TenantId, after: Option<u64>) -> Result<Subscription> {
        let after = match after {
            Some(a) => a,
            None => {
                self.inner
                    .storage
                    .events()?
                    .read_events(tenant, u64::MAX, 0)
                    .await?
                    .head
            }
        };
        Ok(Subscription::new(
            self.clone(),
            tenant.clone(),
            &self.inner.wakers,
            after.saturating_add(1),
        ))
    }

    /// The tenant's events after sequence number `after` (0: from the oldest retained), at most
    /// `max`, read from the durable log: the polling form of [`subscribe`](Self::subscribe),
    /// and how another process on the same database follows this one.
    ///
    /// # Errors
    /// `storage` if the log cannot be read, `unavailable` once closed.
    pub async fn events(&self, tenant: &TenantId, after: u64, max: usize) -> Result<EventBatch> {
        self.events_where(tenant, after, max, &EventFilter::default())
            .await
    }

    /// The tenant's activity log: [`events`](Self::events) that pass `filter` (a record's
    /// history, one actor's changes, a time range). `last_seq` is where the read stopped, so
    /// polling with it as `after` never reads an event twice, matching or not.
    ///
    /// # Errors
    /// As [`events`](Self::events).
    pub async fn events_where(
        &self,
        tenant: &TenantId,
        after: u64,
        max: usize,
        filter: &EventFilter,
    ) -> Result<EventBatch> {
        if self.inner.wakers.is_closed() {
            return Err(crate::store::closed());
        }
        let range = self
            .inner
            .storage
            .events()?
            .read_events_where(tenant, after, max, filter)
            .await?;
        Ok(EventBatch::from_range(after, max, range))
    }

    /// [`events_where`](Self::events_where) with the bindings' options and their defaults.
    ///
    /// # Errors
    /// `invalid_input` for `until` before `since` or an empty `id`; as
    /// [`events`](Self::events).
    pub async fn events_with(
        &self,
        tenant: &TenantId,
        options: &crate::EventsOptions,
    ) -> Result<EventBatch> {
        crate::Request::check(options, &[])?;
        let limit = options.limit.unwrap_or(crate::EventsOptions::DEFAULT_LIMIT);
        self.events_where(tenant, options.after.unwrap_or(0), limit, &options.filter())
            .await
    }

    /// A handle on the same engine whose writes are recorded in the activity log as made by
    /// `actor` (a user id, an API key's name, `"importer"`: whatever the host wants to read back
    /// in [`ChangeEvent::actor`](crate::events::ChangeEvent::actor)).
    ///
    /// # Errors
    /// `invalid_input` naming `actor` when it is empty, longer than 200 characters or holds
    /// control characters.
    pub fn acting_as(&self, actor: &str) -> Result<Self> {
        crate::events::check_actor(actor)?;
        Ok(Self {
            inner: self.inner.clone(),
            actor: Some(Arc::from(actor)),
        })
    }

    /// Who this handle's writes are recorded as made by.
    pub fn actor(&self) -> Option<&str> {
        self.actor.as_deref()
    }

    fn env(&self) -> &dyn Env {
        self.inner.env.as_ref()
    }

    /// The engine's clock.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub(crate) fn now(&self) -> crate::Timestamp {
        self.env().now()
    }

    /// The job queue (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn jobs(&self) -> crate::queue::Jobs {
        crate::queue::Jobs::new(self.clone())
    }

    /// What wakes this process's workers when a job is added.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn job_added(&self) -> &tokio::sync::Notify {
        &self.inner.job_added
    }

    /// Jobs were added (of these tenants): wake workers and the tenants' subscribers.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn jobs_enqueued<'t>(&self, tenants: impl Iterator<Item = &'t TenantId>) {
        self.inner.job_added.notify_waiters();
        self.wake_tenants(tenants);
    }

    /// Wake the subscribers of tenants whose logs storage appended to outside a [`Unit`].
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub(crate) fn wake_tenants<'t>(&self, tenants: impl Iterator<Item = &'t TenantId>) {
        for t in tenants {
            self.inner.wakers.wake(t);
        }
    }

    /// Apply the retention to a tenant's log written outside a [`Unit`] (job transitions), in
    /// bounded steps until nothing more goes.
    ///
    /// # Errors
    /// `storage` if the log cannot be read or pruned.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) async fn prune_log(&self, tenant: &TenantId) -> Result<()> {
        let events = self.inner.storage.events()?;
        let mut oldest = None;
        for _ in 0..256 {
            let range = events.read_events(tenant, u64::MAX, 0).await?;
            if oldest == Some(range.oldest) {
                break;
            }
            oldest = Some(range.oldest);
            let mut unit = self.begin().await?;
            unit.prune(tenant, range.head, self.now()).await?;
            unit.tx.commit().await?;
        }
        Ok(())
    }

    /// Start one unit of work.
    async fn begin(&self) -> Result<Unit<'_>> {
        Ok(Unit {
            tx: self.inner.storage.backend().begin().await?,
            engine: self,
            touched: Vec::new(),
            #[cfg(not(target_arch = "wasm32"))]
            jobs_added: false,
        })
    }
}

/// One change as one commit: the record writes, their events (numbered by storage in the same
/// transaction), and the tenants whose subscribers to wake once it is durable. Dropped without
/// [`commit`](Unit::commit), nothing of it is written.
struct Unit<'e> {
    tx: Box<dyn Tx + 'e>,
    engine: &'e Engine,
    touched: Vec<TenantId>,
    /// A job was enqueued: wake this process's workers after the commit.
    #[cfg(not(target_arch = "wasm32"))]
    jobs_added: bool,
}

impl Unit<'_> {
    fn tenants(&mut self) -> Result<&mut dyn TenantWrites> {
        self.tx.tenants()
    }

    fn customers(&mut self) -> Result<&mut dyn CustomerWrites> {
        self.tx.customers()
    }

    fn trackings(&mut self) -> Result<&mut dyn TrackingWrites> {
        self.tx.trackings()
    }

    /// Append an event to the tenant's log in this unit, pruning the log now and then.
    async fn record(
        &mut self,
        tenant: &TenantId,
        entity: Entity,
        id: &str,
        action: ChangeAction,
        version: i64,
        sync_status: Option<SyncStatus>,
    ) -> Result<()> {
        let at = self.engine.env().now();
        let change = Change {
            entity,
            id: id.to_owned(),
            action,
            version,
            sync_status,
            job_state: None,
            at,
            actor: self.engine.actor.as_deref().map(str::to_owned),
        };
        let seq = self.tx.append_event(tenant, &change).await?;
        if seq % EventRetention::PRUNE_EVERY == 0
            || self.engine.inner.retention.max_events < EventRetention::PRUNE_EVERY
        {
            self.prune(tenant, seq, at).await?;
        }
        if !self.touched.contains(tenant) {
            self.touched.push(tenant.clone());
        }
        Ok(())
    }

    /// Drop what the retention no longer keeps of a log whose last event is `head`.
    async fn prune(&mut self, tenant: &TenantId, head: u64, now: crate::Timestamp) -> Result<()> {
        let mut retention = self.engine.inner.retention;
        // At least the newest event is kept.
        retention.max_events = retention.max_events.max(1);
        let keep_from = head.saturating_sub(retention.max_events) + 1;
        let max_age =
            i64::try_from(retention.max_age_secs.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
        let older_than = crate::Timestamp::from_micros(now.as_micros().saturating_sub(max_age));
        self.tx.prune_events(tenant, keep_from, older_than).await
    }

    async fn tracking_event(&mut self, t: &Tracking, action: ChangeAction) -> Result<()> {
        self.record(
            &t.tenant_id,
            Entity::Tracking,
            t.id.as_str(),
            action,
            t.version,
            Some(t.sync_status),
        )
        .await
    }

    async fn customer_event(&mut self, c: &Customer, action: ChangeAction) -> Result<()> {
        self.record(
            &c.tenant_id,
            Entity::Customer,
            c.id.as_str(),
            action,
            c.version,
            None,
        )
        .await
    }

    /// With [`EngineOptions::sync_jobs`] set, enqueue the sync job this tracking change causes
    /// in this unit (a duplicate of a waiting one is absorbed by its unique key).
    async fn sync_job(&mut self, t: &Tracking) -> Result<()> {
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(jobs) = &self.engine.inner.sync_jobs {
            let mut job = crate::queue::NewJob::new(
                jobs.kind.clone(),
                serde_json::json!({
                    "tracking_id": t.id, "customer_id": t.customer_id, "version": t.version,
                }),
            )
            .tenant(t.tenant_id.clone())
            .unique_key(format!("sync:{}", t.id));
            job.concurrency_key = Some(format!("sync:{}", t.customer_id));
            if let Some(q) = &jobs.queue {
                job.queue = q.clone();
            }
            let now = self.engine.now();
            let done = self.tx.jobs()?.enqueue_job(&job, now).await?;
            self.jobs_added |= !done.duplicate;
        }
        #[cfg(target_arch = "wasm32")]
        let _ = t;
        Ok(())
    }

    /// Commit, then wake the subscribers of every tenant written to (and workers, if a job
    /// was added).
    async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        for t in &self.touched {
            self.engine.inner.wakers.wake(t);
        }
        #[cfg(not(target_arch = "wasm32"))]
        if self.jobs_added {
            self.engine.inner.job_added.notify_waiters();
        }
        Ok(())
    }
}

/// A tenant's customers.
#[derive(Debug, Clone)]
pub struct Customers {
    engine: Engine,
    tenant: TenantId,
}

impl Customers {
    /// Create a customer.
    ///
    /// # Errors
    /// `invalid_input` for bad fields, `not_found` if the tenant does not exist.
    pub async fn create(&self, new: NewCustomer) -> Result<Customer> {
        new.validate()?;
        let now = self.engine.env().now();
        let customer = Customer {
            id: CustomerId::generate(self.engine.env())?,
            tenant_id: self.tenant.clone(),
            name: new.name,
            website_url: new.website_url,
            google: GoogleConnection::default(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let mut unit = self.engine.begin().await?;
        unit.customers()?.insert_customer(&customer).await?;
        unit.customer_event(&customer, ChangeAction::Created)
            .await?;
        unit.commit().await?;
        Ok(customer)
    }

    /// Fetch a customer of this tenant.
    ///
    /// # Errors
    /// `not_found` if unknown, deleted or another tenant's.
    pub async fn get(&self, id: &CustomerId) -> Result<Customer> {
        self.engine
            .inner
            .storage
            .customers()?
            .get_customer(&self.tenant, id)
            .await
    }

    /// List this tenant's customers.
    ///
    /// # Errors
    /// `invalid_input` for a bad limit or cursor.
    pub async fn list(&self, options: &ListOptions) -> Result<Page<Customer>> {
        let scope = CursorScope {
            entity: "customer",
            tenant: self.tenant.as_str(),
            filter: "",
        };
        let slice = scope.slice(options.limit, options.cursor.as_deref())?;
        let listed = self
            .engine
            .inner
            .storage
            .customers()?
            .list_customers(&self.tenant, slice)
            .await?;
        Ok(scope.page(listed))
    }

    /// Change a customer if `patch.version` is current.
    ///
    /// # Errors
    /// `not_found`, `conflict` on a stale version, `invalid_input` for bad fields.
    pub async fn update(&self, id: &CustomerId, patch: CustomerPatch) -> Result<Customer> {
        let mut customer = self.get(id).await?;
        if customer.version != patch.version {
            return Err(crate::store::stale(
                "customer",
                id.as_str(),
                patch.version,
                customer.version,
            ));
        }
        let before = customer.clone();
        patch.apply(&mut customer)?;
        if customer == before {
            return Ok(customer);
        }
        customer.version += 1;
        customer.updated_at = self.engine.env().now();
        let mut unit = self.engine.begin().await?;
        unit.customers()?
            .replace_customer(&customer, patch.version)
            .await?;
        unit.customer_event(&customer, ChangeAction::Updated)
            .await?;
        unit.commit().await?;
        Ok(customer)
    }

    /// Soft-delete a customer and its trackings (`expected_version` guards against a stale
    /// read when given).
    ///
    /// # Errors
    /// `not_found`, or `conflict` on a stale version.
    pub async fn delete(&self, id: &CustomerId, expected_version: Option<i64>) -> Result<Customer> {
        let at = self.engine.env().now();
        let mut unit = self.engine.begin().await?;
        let (customer, trackings) = unit
            .customers()?
            .delete_customer(&self.tenant, id, expected_version, at)
            .await?;
        unit.customer_event(&customer, ChangeAction::Deleted)
            .await?;
        for t in &trackings {
            unit.tracking_event(t, ChangeAction::Deleted).await?;
        }
        unit.commit().await?;
        Ok(customer)
    }
}

/// A tenant's trackings.
#[derive(Debug, Clone)]
pub struct Trackings {
    engine: Engine,
    tenant: TenantId,
}

impl Trackings {
    /// Create a tracking for one of this tenant's customers.
    ///
    /// # Errors
    /// `invalid_input` for bad fields or kind rules, `not_found` if the customer is not this
    /// tenant's, `already_exists` if the customer has a tracking of that name.
    pub async fn create(&self, new: NewTracking) -> Result<Tracking> {
        let id = TrackingId::generate(self.engine.env())?;
        let tracking = Tracking::from_new(id, self.tenant.clone(), new, self.engine.env().now());
        tracking.validate()?;
        let mut unit = self.engine.begin().await?;
        unit.trackings()?.insert_tracking(&tracking).await?;
        unit.tracking_event(&tracking, ChangeAction::Created)
            .await?;
        unit.sync_job(&tracking).await?;
        unit.commit().await?;
        Ok(tracking)
    }

    /// Fetch a tracking of this tenant.
    ///
    /// # Errors
    /// `not_found` if unknown, deleted or another tenant's.
    pub async fn get(&self, id: &TrackingId) -> Result<Tracking> {
        self.engine
            .inner
            .storage
            .trackings()?
            .get_tracking(&self.tenant, id)
            .await
    }

    /// List this tenant's trackings, optionally of one customer.
    ///
    /// # Errors
    /// `invalid_input` for a bad limit or cursor.
    pub async fn list(&self, options: &ListTrackings) -> Result<Page<Tracking>> {
        let filter = options.customer_id.as_ref().map_or("", |c| c.as_str());
        let scope = CursorScope {
            entity: "tracking",
            tenant: self.tenant.as_str(),
            filter,
        };
        let slice = scope.slice(options.limit, options.cursor.as_deref())?;
        let listed = self
            .engine
            .inner
            .storage
            .trackings()?
            .list_trackings(&self.tenant, options.customer_id.as_ref(), slice)
            .await?;
        Ok(scope.page(listed))
    }

    /// Change a tracking if `patch.version` is current. A change to what is tracked puts the
    /// tracking back to `pending` (in the same commit), so the next sync picks it up.
    ///
    /// # Errors
    /// `not_found`, `conflict` on a stale version, `invalid_input`, `already_exists` on a name
    /// clash.
    pub async fn update(&self, id: &TrackingId, patch: TrackingPatch) -> Result<Tracking> {
        let mut tracking = self.get(id).await?;
        let expected = patch.version;
        if tracking.version != expected {
            return Err(crate::store::stale(
                "tracking",
                id.as_str(),
                expected,
                tracking.version,
            ));
        }
        let before = tracking.clone();
        tracking.apply(patch);
        tracking.validate()?;
        if tracking == before {
            return Ok(tracking);
        }
        tracking.version += 1;
        tracking.updated_at = self.engine.env().now();
        let mut unit = self.engine.begin().await?;
        // The status as stored now, not as read before the unit: a sync may have landed since.
        let stored_status = unit
            .trackings()?
            .replace_tracking(&tracking, expected)
            .await?;
        // Whatever a sync wrote meanwhile was about the old fields: back to pending, same commit.
        tracking = unit
            .trackings()?
            .set_sync_state(
                &self.tenant,
                id,
                &SyncUpdate::status(SyncStatus::Pending),
                tracking.updated_at,
            )
            .await?;
        unit.tracking_event(&tracking, ChangeAction::Updated)
            .await?;
        if tracking.sync_status != stored_status {
            unit.tracking_event(&tracking, ChangeAction::StatusChanged)
                .await?;
        }
        unit.sync_job(&tracking).await?;
        unit.commit().await?;
        Ok(tracking)
    }

    /// Record a sync outcome (used by sync workers): status, error text, external ids. It is
    /// written beside the tracking without moving its `version`, so it never makes a user's
    /// concurrent edit fail; when `update.version` is given and the user has changed the
    /// tracking since, this update is the one refused.
    ///
    /// # Errors
    /// `invalid_input` for `deleted` or bad ids, `not_found`, or `conflict` when
    /// `update.version` is stale.
    pub async fn set_sync_status(&self, id: &TrackingId, update: SyncUpdate) -> Result<Tracking> {
        update.validate()?;
        let now = self.engine.env().now();
        let mut unit = self.engine.begin().await?;
        let tracking = unit
            .trackings()?
            .set_sync_state(&self.tenant, id, &update, now)
            .await?;
        unit.tracking_event(&tracking, ChangeAction::StatusChanged)
            .await?;
        unit.commit().await?;
        Ok(tracking)
    }

    /// Soft-delete a tracking (status `deleted`; removal from GTM follows on the next sync).
    ///
    /// # Errors
    /// `not_found`, or `conflict` on a stale version.
    pub async fn delete(&self, id: &TrackingId, expected_version: Option<i64>) -> Result<Tracking> {
        let at = self.engine.env().now();
        let mut unit = self.engine.begin().await?;
        let tracking = unit
            .trackings()?
            .delete_tracking(&self.tenant, id, expected_version, at)
            .await?;
        unit.tracking_event(&tracking, ChangeAction::Deleted)
            .await?;
        // The platforms still hold its trigger and tag: the sync removes them.
        unit.sync_job(&tracking).await?;
        unit.commit().await?;
        Ok(tracking)
    }
}

/// Whether `db` names a PostgreSQL database rather than a SQLite file.
#[cfg(all(feature = "postgres", not(target_arch = "wasm32")))]
pub fn is_postgres_url(db: &str) -> bool {
    let lower = db.get(..13).unwrap_or(db).to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}
