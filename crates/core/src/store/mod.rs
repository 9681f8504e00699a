//! Storage: async traits per aggregate, erased behind `Arc<dyn …>`, with memory and SQLite
//! backends. Backends store and fetch; validation, versioning rules and event content live in
//! the engine so every backend behaves the same.
//!
//! - **Reads** go through one store trait per aggregate ([`TenantStore`], [`CustomerStore`],
//!   [`TrackingStore`], [`EventStore`]).
//! - **Writes** go through a unit of work: [`Backend::begin`] hands out a [`Tx`] whose per-aggregate
//!   writers ([`TenantWrites`], …) and [`Tx::append_event`] commit together or not at all
//!   (SQLite: one `BEGIN IMMEDIATE` transaction; memory: under its lock, with an undo log). A
//!   change and its event, and later the job it causes, are one commit.
//! - **Aggregates a backend may lack**: [`Storage`] is assembled from the aggregates a backend
//!   provides ([`StorageBuilder`]); a missing one answers `unavailable` naming it, and so does
//!   the matching [`Tx`] accessor by default.
//!
//! Every method takes the tenant explicitly; a record of another tenant is `not_found`.

use std::sync::Arc;

use crate::events::{Change, EventRange};
use crate::page::{Listed, Slice};
use crate::{
    Customer, CustomerId, Error, ErrorKind, Result, SyncStatus, SyncUpdate, Tenant, TenantId,
    Timestamp, Tracking, TrackingId,
};

pub mod memory;
#[cfg(all(feature = "postgres", not(target_arch = "wasm32")))]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// One numbered migration of a SQL backend: its number, file name and SQL.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) name: &'static str,
    pub(crate) sql: &'static str,
}

/// SHA-256 of a migration's text with line endings normalized, so a checkout with CRLF endings
/// computes the same checksum (every SQL backend records it per applied migration).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn migration_checksum(sql: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(sql.replace("\r\n", "\n").as_bytes()))
}

/// `Send + Sync` on native targets, nothing on wasm32 (where futures are `!Send`).
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSend: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync + ?Sized> MaybeSend for T {}
/// `Send + Sync` on native targets, nothing on wasm32 (where futures are `!Send`).
#[cfg(target_arch = "wasm32")]
pub trait MaybeSend {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSend for T {}

/// `Send` on native targets (a transaction moves between threads but is used by one at a time),
/// nothing on wasm32.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSendTx: Send {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + ?Sized> MaybeSendTx for T {}
/// `Send` on native targets, nothing on wasm32.
#[cfg(target_arch = "wasm32")]
pub trait MaybeSendTx {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSendTx for T {}

/// The aggregates storage can hold; a backend states which it provides.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregate {
    /// Tenants.
    Tenants,
    /// Customers.
    Customers,
    /// Trackings (with their sync state).
    Trackings,
    /// The per-tenant change event log.
    Events,
    /// The job queue (native only).
    Jobs,
}

impl Aggregate {
    /// The aggregate's name in errors and capability lists.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tenants => "tenants",
            Self::Customers => "customers",
            Self::Trackings => "trackings",
            Self::Events => "events",
            Self::Jobs => "jobs",
        }
    }
}

/// `unavailable` for an aggregate the backend does not provide.
pub fn lacks(backend: &str, aggregate: Aggregate) -> Error {
    Error::new(
        ErrorKind::Unavailable,
        format!(
            "the {backend} storage backend has no {} store",
            aggregate.as_str()
        ),
    )
    .with_retryable(false)
}

/// Tenants (reads).
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
pub trait TenantStore: MaybeSend {
    /// Fetch a tenant; `not_found` if unknown.
    async fn get_tenant(&self, id: &TenantId) -> Result<Tenant>;
    /// Tenants in creation order.
    async fn list_tenants(&self, slice: Slice) -> Result<Listed<Tenant>>;
}

/// Customers (reads).
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
pub trait CustomerStore: MaybeSend {
    /// Fetch a live customer of `tenant`; `not_found` otherwise.
    async fn get_customer(&self, tenant: &TenantId, id: &CustomerId) -> Result<Customer>;
    /// Live customers of `tenant` in creation order.
    async fn list_customers(&self, tenant: &TenantId, slice: Slice) -> Result<Listed<Customer>>;
}

/// Trackings (reads).
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
pub trait TrackingStore: MaybeSend {
    /// Fetch a live tracking of `tenant`; `not_found` otherwise.
    async fn get_tracking(&self, tenant: &TenantId, id: &TrackingId) -> Result<Tracking>;
    /// Live trackings of `tenant` (optionally of one customer) in creation order.
    async fn list_trackings(
        &self,
        tenant: &TenantId,
        customer: Option<&CustomerId>,
        slice: Slice,
    ) -> Result<Listed<Tracking>>;
}

/// The change event log (reads).
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
pub trait EventStore: MaybeSend {
    /// The tenant's events with a sequence number above `after` that pass `filter`, at most
    /// `limit`, with the oldest retained and the last assigned sequence numbers, from one
    /// snapshot (fewer than `limit` events means none after them up to the head matched). An
    /// unknown tenant has an empty log.
    async fn read_events_where(
        &self,
        tenant: &TenantId,
        after: u64,
        limit: usize,
        filter: &crate::events::EventFilter,
    ) -> Result<EventRange>;

    /// [`read_events_where`](Self::read_events_where) without a filter.
    async fn read_events(&self, tenant: &TenantId, after: u64, limit: usize) -> Result<EventRange> {
        self.read_events_where(tenant, after, limit, &crate::events::EventFilter::default())
            .await
    }

    /// Call `wake` whenever another process appends to a tenant's log (`None`: possibly any
    /// tenant, e.g. after a lost connection), so this process's subscribers see other
    /// processes' writes at once. PostgreSQL does it with `LISTEN`; returns false where the
    /// backend has no such signal (subscribers then see them on their next read).
    #[cfg(not(target_arch = "wasm32"))]
    fn watch_changes(&self, wake: ChangeWatcher) -> bool {
        let _ = wake;
        false
    }
}

/// What [`EventStore::watch_changes`] calls: the tenant whose log grew, or `None` for all.
#[cfg(not(target_arch = "wasm32"))]
pub type ChangeWatcher = Arc<dyn Fn(Option<&TenantId>) + Send + Sync>;

/// Tenant writes inside a unit of work.
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
pub trait TenantWrites: MaybeSendTx {
    /// Store a new tenant (`internal` if its generated id is taken).
    async fn insert_tenant(&mut self, tenant: &Tenant) -> Result<()>;
}

/// Customer writes inside a unit of work.
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
pub trait CustomerWrites: MaybeSendTx {
    /// Store a new customer; `not_found` if its tenant does not exist.
    async fn insert_customer(&mut self, customer: &Customer) -> Result<()>;
    /// Replace a live customer's user fields if its stored version is `expected_version`:
    /// `conflict` if not, `not_found` if gone.
    async fn replace_customer(&mut self, customer: &Customer, expected_version: i64) -> Result<()>;
    /// Soft-delete a live customer and its live trackings (their status becomes `deleted`);
    /// returns the deleted trackings. `conflict` if `expected_version` is given and stale.
    async fn delete_customer(
        &mut self,
        tenant: &TenantId,
        id: &CustomerId,
        expected_version: Option<i64>,
        at: Timestamp,
    ) -> Result<(Customer, Vec<Tracking>)>;
}

/// Tracking writes inside a unit of work.
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
pub trait TrackingWrites: MaybeSendTx {
    /// Store a new tracking: `not_found` if its customer is not a live customer of the same
    /// tenant, `already_exists` if the customer has a live tracking of the same name.
    async fn insert_tracking(&mut self, tracking: &Tracking) -> Result<()>;
    /// Replace a live tracking's user fields if its stored version is `expected_version`
    /// (`conflict` if not, `already_exists` on a name clash). Its sync state is left as stored;
    /// returns the sync status stored at the time of the write.
    async fn replace_tracking(
        &mut self,
        tracking: &Tracking,
        expected_version: i64,
    ) -> Result<SyncStatus>;
    /// Apply a sync update to a live tracking's sync state (status, error, external ids, last
    /// sync at `at` when synced), never touching its user-visible version; `conflict` if
    /// `update.version` is given and stale. Returns the tracking as stored.
    async fn set_sync_state(
        &mut self,
        tenant: &TenantId,
        id: &TrackingId,
        update: &SyncUpdate,
        at: Timestamp,
    ) -> Result<Tracking>;
    /// Soft-delete a live tracking (status `deleted`, version + 1); returns it.
    async fn delete_tracking(
        &mut self,
        tenant: &TenantId,
        id: &TrackingId,
        expected_version: Option<i64>,
        at: Timestamp,
    ) -> Result<Tracking>;
}

/// One unit of work: everything written through it commits together on
/// [`commit`](Tx::commit), or not at all when dropped uncommitted.
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
pub trait Tx: MaybeSendTx {
    /// The backend's name (for `unavailable` errors).
    fn backend(&self) -> &'static str;
    /// Tenant writes.
    fn tenants(&mut self) -> Result<&mut dyn TenantWrites> {
        Err(lacks(self.backend(), Aggregate::Tenants))
    }
    /// Customer writes.
    fn customers(&mut self) -> Result<&mut dyn CustomerWrites> {
        Err(lacks(self.backend(), Aggregate::Customers))
    }
    /// Tracking writes.
    fn trackings(&mut self) -> Result<&mut dyn TrackingWrites> {
        Err(lacks(self.backend(), Aggregate::Trackings))
    }
    /// Job writes (enqueue in the same commit as the change that causes the job).
    #[cfg(not(target_arch = "wasm32"))]
    fn jobs(&mut self) -> Result<&mut dyn crate::queue::JobWrites> {
        Err(lacks(self.backend(), Aggregate::Jobs))
    }
    /// Append a change to the tenant's log with the next sequence number (from 1, no gaps),
    /// assigned here so the log follows commit order.
    async fn append_event(&mut self, tenant: &TenantId, change: &Change) -> Result<u64>;
    /// Drop the tenant's events with a sequence number below `keep_from` or written before
    /// `older_than`, looking at a bounded number of the oldest (callers prune often).
    async fn prune_events(
        &mut self,
        tenant: &TenantId,
        keep_from: u64,
        older_than: Timestamp,
    ) -> Result<()>;
    /// Make every write of this unit durable and visible.
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// Backend-wide operations.
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
pub trait Backend: MaybeSend {
    /// A short name for diagnostics (`memory`, `sqlite`, `postgres`).
    fn name(&self) -> &'static str;
    /// Start a unit of work (SQLite: waits for the write lock up to the busy timeout).
    async fn begin(&self) -> Result<Box<dyn Tx + '_>>;
    /// Release resources; later calls fail with `unavailable`.
    fn close(&self) -> Result<()>;
}

/// The erased stores an engine runs on, assembled from the aggregates a backend provides.
#[derive(Clone)]
pub struct Storage {
    tenants: Option<Arc<dyn TenantStore>>,
    customers: Option<Arc<dyn CustomerStore>>,
    trackings: Option<Arc<dyn TrackingStore>>,
    events: Option<Arc<dyn EventStore>>,
    #[cfg(not(target_arch = "wasm32"))]
    jobs: Option<Arc<dyn crate::queue::QueueStore>>,
    backend: Arc<dyn Backend>,
}

/// Assembles a [`Storage`] from a backend and the read stores it provides.
pub struct StorageBuilder {
    storage: Storage,
}

impl StorageBuilder {
    /// Provide tenants.
    pub fn tenants(mut self, store: Arc<dyn TenantStore>) -> Self {
        self.storage.tenants = Some(store);
        self
    }
    /// Provide customers.
    pub fn customers(mut self, store: Arc<dyn CustomerStore>) -> Self {
        self.storage.customers = Some(store);
        self
    }
    /// Provide trackings.
    pub fn trackings(mut self, store: Arc<dyn TrackingStore>) -> Self {
        self.storage.trackings = Some(store);
        self
    }
    /// Provide the event log.
    pub fn events(mut self, store: Arc<dyn EventStore>) -> Self {
        self.storage.events = Some(store);
        self
    }
    /// Provide the job queue.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn jobs(mut self, store: Arc<dyn crate::queue::QueueStore>) -> Self {
        self.storage.jobs = Some(store);
        self
    }
    /// The assembled storage.
    pub fn build(self) -> Storage {
        self.storage
    }
}

/// A backend that provides every aggregate of the core model (the job queue included on
/// native targets).
#[cfg(not(target_arch = "wasm32"))]
pub trait CoreStore:
    TenantStore
    + CustomerStore
    + TrackingStore
    + EventStore
    + crate::queue::QueueStore
    + Backend
    + 'static
{
}
#[cfg(not(target_arch = "wasm32"))]
impl<
    T: TenantStore
        + CustomerStore
        + TrackingStore
        + EventStore
        + crate::queue::QueueStore
        + Backend
        + 'static,
> CoreStore for T
{
}
/// A backend that provides every aggregate of the core model.
#[cfg(target_arch = "wasm32")]
pub trait CoreStore:
    TenantStore + CustomerStore + TrackingStore + EventStore + Backend + 'static
{
}
#[cfg(target_arch = "wasm32")]
impl<T: TenantStore + CustomerStore + TrackingStore + EventStore + Backend + 'static> CoreStore
    for T
{
}

impl Storage {
    /// Start assembling storage on `backend` (which hands out units of work).
    pub fn builder(backend: Arc<dyn Backend>) -> StorageBuilder {
        StorageBuilder {
            storage: Self {
                tenants: None,
                customers: None,
                trackings: None,
                events: None,
                #[cfg(not(target_arch = "wasm32"))]
                jobs: None,
                backend,
            },
        }
    }

    /// Erase one backend that provides every core aggregate.
    pub fn new<B: CoreStore>(backend: B) -> Self {
        let b = Arc::new(backend);
        let builder = Self::builder(b.clone())
            .tenants(b.clone())
            .customers(b.clone())
            .trackings(b.clone())
            .events(b.clone());
        #[cfg(not(target_arch = "wasm32"))]
        let builder = builder.jobs(b);
        #[cfg(target_arch = "wasm32")]
        drop(b);
        builder.build()
    }

    /// The in-memory backend (tests, the browser).
    pub fn memory() -> Self {
        Self::new(memory::MemoryStore::default())
    }

    /// The SQLite backend on a file (created if missing, migrated, WAL).
    ///
    /// # Errors
    /// `storage` if the file cannot be opened, is not a database, is locked, or was written by a
    /// newer tagsmith.
    #[cfg(feature = "sqlite")]
    pub fn sqlite(path: impl AsRef<std::path::Path>) -> Result<Self> {
        Self::sqlite_with(path, &sqlite::SqliteOptions::default())
    }

    /// [`sqlite`](Self::sqlite) with options (busy timeout, reader connections).
    ///
    /// # Errors
    /// As [`sqlite`](Self::sqlite).
    #[cfg(feature = "sqlite")]
    pub fn sqlite_with(
        path: impl AsRef<std::path::Path>,
        options: &sqlite::SqliteOptions,
    ) -> Result<Self> {
        Ok(Self::new(sqlite::SqliteStore::open_with(path, options)?))
    }

    /// The PostgreSQL backend at `url` (migrated on connect; see
    /// [`PgStore::connect`](postgres::PgStore::connect)).
    ///
    /// # Errors
    /// As [`PgStore::connect`](postgres::PgStore::connect).
    #[cfg(all(feature = "postgres", not(target_arch = "wasm32")))]
    pub fn postgres(url: &str, options: &postgres::PgOptions) -> Result<Self> {
        Ok(Self::new(postgres::PgStore::connect(url, options)?))
    }

    /// The backend's name.
    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }

    /// The aggregates this storage provides (each backend's suite states them).
    pub fn capabilities(&self) -> Vec<Aggregate> {
        [
            (Aggregate::Tenants, self.tenants.is_some()),
            (Aggregate::Customers, self.customers.is_some()),
            (Aggregate::Trackings, self.trackings.is_some()),
            (Aggregate::Events, self.events.is_some()),
            #[cfg(not(target_arch = "wasm32"))]
            (Aggregate::Jobs, self.jobs.is_some()),
        ]
        .into_iter()
        .filter_map(|(a, has)| has.then_some(a))
        .collect()
    }

    pub(crate) fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    pub(crate) fn tenants(&self) -> Result<&dyn TenantStore> {
        self.tenants
            .as_deref()
            .ok_or_else(|| lacks(self.backend_name(), Aggregate::Tenants))
    }

    pub(crate) fn customers(&self) -> Result<&dyn CustomerStore> {
        self.customers
            .as_deref()
            .ok_or_else(|| lacks(self.backend_name(), Aggregate::Customers))
    }

    pub(crate) fn trackings(&self) -> Result<&dyn TrackingStore> {
        self.trackings
            .as_deref()
            .ok_or_else(|| lacks(self.backend_name(), Aggregate::Trackings))
    }

    /// The job queue.
    ///
    /// # Errors
    /// `unavailable` if the backend has none.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn jobs(&self) -> Result<&dyn crate::queue::QueueStore> {
        self.jobs
            .as_deref()
            .ok_or_else(|| lacks(self.backend_name(), Aggregate::Jobs))
    }

    pub(crate) fn events(&self) -> Result<&dyn EventStore> {
        self.events
            .as_deref()
            .ok_or_else(|| lacks(self.backend_name(), Aggregate::Events))
    }
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("backend", &self.backend.name())
            .field(
                "aggregates",
                &self
                    .capabilities()
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// `unavailable` for calls after `close()` (not retryable: the engine stays closed).
pub(crate) fn closed() -> Error {
    Error::new(ErrorKind::Unavailable, "the engine was closed").with_retryable(false)
}

/// `conflict` for a stale version.
pub(crate) fn stale(entity: &str, id: &str, expected: i64, actual: i64) -> Error {
    Error::new(
        ErrorKind::Conflict,
        format!("{entity} {id:?} is at version {actual}, not {expected}: read it again and retry"),
    )
}

/// `already_exists` for a tracking name clash.
pub(crate) fn duplicate_tracking(name: &str) -> Error {
    Error::new(
        ErrorKind::AlreadyExists,
        format!("this customer already has a tracking named {name:?}"),
    )
}

/// `internal` for a generated id that is already taken (the random source failed twice over):
/// refuse rather than orphan the existing record.
pub(crate) fn id_collision(id: &str) -> Error {
    Error::internal(format!(
        "generated id {id} collided with an existing one; retry"
    ))
    .with_retryable(true)
}
