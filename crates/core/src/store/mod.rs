//! Storage: one async trait per aggregate, erased behind `Arc<dyn …>`, with memory and SQLite
//! backends. Backends store and fetch; validation, versioning rules and events live in the engine
//! so every backend behaves the same.
//!
//! Every method takes the tenant explicitly; a record of another tenant is `not_found`.

use std::sync::Arc;

use crate::page::{Listed, Slice};
use crate::{Customer, CustomerId, Result, Tenant, TenantId, Timestamp, Tracking, TrackingId};

pub mod memory;
#[cfg(feature = "sqlite")]
pub mod sqlite;

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

/// Tenants.
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
pub trait TenantStore: MaybeSend {
    /// Store a new tenant.
    async fn insert_tenant(&self, tenant: &Tenant) -> Result<()>;
    /// Fetch a tenant; `not_found` if unknown.
    async fn get_tenant(&self, id: &TenantId) -> Result<Tenant>;
    /// Tenants in creation order.
    async fn list_tenants(&self, slice: Slice) -> Result<Listed<Tenant>>;
}

/// Customers.
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
pub trait CustomerStore: MaybeSend {
    /// Store a new customer; `not_found` if its tenant does not exist.
    async fn insert_customer(&self, customer: &Customer) -> Result<()>;
    /// Fetch a live customer of `tenant`; `not_found` otherwise.
    async fn get_customer(&self, tenant: &TenantId, id: &CustomerId) -> Result<Customer>;
    /// Live customers of `tenant` in creation order.
    async fn list_customers(&self, tenant: &TenantId, slice: Slice) -> Result<Listed<Customer>>;
    /// Replace a live customer if its stored version is `expected_version`: `conflict` if not,
    /// `not_found` if gone.
    async fn replace_customer(&self, customer: &Customer, expected_version: i64) -> Result<()>;
    /// Soft-delete a live customer and its live trackings (their status becomes `deleted`);
    /// returns the deleted trackings. `conflict` if `expected_version` is given and stale.
    async fn delete_customer(
        &self,
        tenant: &TenantId,
        id: &CustomerId,
        expected_version: Option<i64>,
        at: Timestamp,
    ) -> Result<(Customer, Vec<Tracking>)>;
}

/// Trackings.
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
pub trait TrackingStore: MaybeSend {
    /// Store a new tracking: `not_found` if its customer is not a live customer of the same
    /// tenant, `already_exists` if the customer has a live tracking of the same name.
    async fn insert_tracking(&self, tracking: &Tracking) -> Result<()>;
    /// Fetch a live tracking of `tenant`; `not_found` otherwise.
    async fn get_tracking(&self, tenant: &TenantId, id: &TrackingId) -> Result<Tracking>;
    /// Live trackings of `tenant` (optionally of one customer) in creation order.
    async fn list_trackings(
        &self,
        tenant: &TenantId,
        customer: Option<&CustomerId>,
        slice: Slice,
    ) -> Result<Listed<Tracking>>;
    /// Replace a live tracking if its stored version is `expected_version` (`conflict` if not,
    /// `already_exists` on a name clash).
    async fn replace_tracking(&self, tracking: &Tracking, expected_version: i64) -> Result<()>;
    /// Soft-delete a live tracking (status `deleted`, version + 1); returns it.
    async fn delete_tracking(
        &self,
        tenant: &TenantId,
        id: &TrackingId,
        expected_version: Option<i64>,
        at: Timestamp,
    ) -> Result<Tracking>;
}

/// Backend-wide operations.
pub trait Backend: MaybeSend {
    /// A short name for diagnostics (`memory`, `sqlite`).
    fn name(&self) -> &'static str;
    /// Release resources; later calls fail with `unavailable`.
    fn close(&self) -> Result<()>;
}

/// Every store a backend provides.
pub trait Store: TenantStore + CustomerStore + TrackingStore + Backend {}
impl<T: TenantStore + CustomerStore + TrackingStore + Backend> Store for T {}

/// The erased stores an engine runs on.
#[derive(Clone)]
pub struct Storage {
    pub(crate) tenants: Arc<dyn TenantStore>,
    pub(crate) customers: Arc<dyn CustomerStore>,
    pub(crate) trackings: Arc<dyn TrackingStore>,
    pub(crate) backend: Arc<dyn Backend>,
}

impl Storage {
    /// Erase one backend that implements every store.
    pub fn new<B: Store + 'static>(backend: B) -> Self {
        let b = Arc::new(backend);
        Self {
            tenants: b.clone(),
            customers: b.clone(),
            trackings: b.clone(),
            backend: b,
        }
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
        Ok(Self::new(sqlite::SqliteStore::open(path)?))
    }

    /// The backend's name.
    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("backend", &self.backend.name())
            .finish()
    }
}

/// `unavailable` for calls after `close()`.
pub(crate) fn closed() -> crate::Error {
    crate::Error::new(crate::ErrorKind::Unavailable, "the engine was closed")
}

/// `conflict` for a stale version.
pub(crate) fn stale(entity: &str, id: &str, expected: i64, actual: i64) -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::Conflict,
        format!("{entity} {id:?} is at version {actual}, not {expected}: read it again and retry"),
    )
}

/// `already_exists` for a tracking name clash.
pub(crate) fn duplicate_tracking(name: &str) -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::AlreadyExists,
        format!("this customer already has a tracking named {name:?}"),
    )
}
