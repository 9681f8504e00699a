//! The engine facade: everything a host calls goes through here. It validates, applies the
//! versioning rules, calls storage with the tenant explicit, and publishes change events after
//! commit.

use std::sync::Arc;

use crate::events::{Change, ChangeAction, ChangeBus, Entity, EventBatch, Subscription};
use crate::page::{CursorScope, ListOptions, ListTrackings, Page};
use crate::store::Storage;
use crate::validate::{self, Problems};
use crate::{
    Customer, CustomerId, CustomerPatch, Env, GoogleConnection, NewCustomer, NewTracking, Result,
    SyncStatus, Tenant, TenantId, Tracking, TrackingId, TrackingPatch,
};

/// The tagsmith engine. Cheap to clone; clones share storage and event streams. `Send + Sync`
/// on native targets, so hosts may share one across threads.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    storage: Storage,
    env: Arc<dyn Env>,
    events: ChangeBus,
    /// Serializes writes with their event publication (storage has one writer anyway).
    write_order: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("storage", &self.inner.storage)
            .finish()
    }
}

impl Engine {
    /// An engine over `storage`, with the clock and randomness of `env`.
    pub fn new(storage: Storage, env: Arc<dyn Env>) -> Self {
        Self {
            inner: Arc::new(Inner {
                storage,
                env,
                events: ChangeBus::default(),
                write_order: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The embedded default: a SQLite file at `path` (created and migrated if needed).
    ///
    /// # Errors
    /// `storage` if the file is not a database, is locked, or is newer than this build.
    #[cfg(all(feature = "sqlite", not(target_arch = "wasm32")))]
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self> {
        Ok(Self::new(
            Storage::sqlite(path)?,
            Arc::new(crate::SystemEnv),
        ))
    }

    /// An engine on in-memory storage (tests, scratch work).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn in_memory() -> Self {
        Self::new(Storage::memory(), Arc::new(crate::SystemEnv))
    }

    /// The storage backend's name (`memory`, `sqlite`).
    pub fn backend(&self) -> &'static str {
        self.inner.storage.backend_name()
    }

    /// Close the storage; later calls fail with `unavailable`. Safe to call twice.
    ///
    /// # Errors
    /// `storage` if the backend fails to flush.
    pub fn close(&self) -> Result<()> {
        self.inner.storage.backend.close()
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
            id: TenantId::generate(self.env()),
            name: name.to_owned(),
            created_at: self.env().now(),
        };
        // Held until the event is published, so sequence numbers follow commit order.
        let _order = self.inner.write_order.lock().await;
        self.inner.storage.tenants.insert_tenant(&tenant).await?;
        self.publish(
            &tenant.id,
            Entity::Tenant,
            tenant.id.as_str(),
            ChangeAction::Created,
            1,
            None,
        );
        Ok(tenant)
    }

    /// Fetch a tenant.
    ///
    /// # Errors
    /// `not_found` if unknown.
    pub async fn get_tenant(&self, id: &TenantId) -> Result<Tenant> {
        self.inner.storage.tenants.get_tenant(id).await
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
        Ok(scope.page(self.inner.storage.tenants.list_tenants(slice).await?))
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

    /// Subscribe to a tenant's changes: after event `after` if given (resume), else from now.
    pub fn subscribe(&self, tenant: &TenantId, after: Option<u64>) -> Subscription {
        self.inner.events.subscribe(tenant, after)
    }

    /// The tenant's retained events after sequence number `after` (0: from the oldest retained),
    /// at most `max`: the polling form of [`subscribe`](Self::subscribe) that bindings expose.
    pub fn events(&self, tenant: &TenantId, after: u64, max: usize) -> EventBatch {
        self.inner.events.poll(tenant, after, max)
    }

    /// [`events`](Self::events) with the bindings' options and their defaults.
    pub fn events_with(&self, tenant: &TenantId, options: &crate::EventsOptions) -> EventBatch {
        let limit = options.limit.unwrap_or(crate::EventsOptions::DEFAULT_LIMIT);
        self.events(tenant, options.after.unwrap_or(0), limit)
    }

    fn env(&self) -> &dyn Env {
        self.inner.env.as_ref()
    }

    fn publish(
        &self,
        tenant: &TenantId,
        entity: Entity,
        id: &str,
        action: ChangeAction,
        version: i64,
        sync_status: Option<SyncStatus>,
    ) {
        let at = self.env().now();
        let change = Change {
            entity,
            id: id.to_owned(),
            action,
            version,
            sync_status,
            at,
        };
        self.inner.events.publish(tenant, change);
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
            id: CustomerId::generate(self.engine.env()),
            tenant_id: self.tenant.clone(),
            name: new.name,
            website_url: new.website_url,
            google: GoogleConnection::default(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        // Held until the event is published, so sequence numbers follow commit order.
        let _order = self.engine.inner.write_order.lock().await;
        self.engine
            .inner
            .storage
            .customers
            .insert_customer(&customer)
            .await?;
        self.event(&customer, ChangeAction::Created);
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
            .customers
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
            .customers
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
        // Held until the event is published, so sequence numbers follow commit order.
        let _order = self.engine.inner.write_order.lock().await;
        self.engine
            .inner
            .storage
            .customers
            .replace_customer(&customer, patch.version)
            .await?;
        self.event(&customer, ChangeAction::Updated);
        Ok(customer)
    }

    /// Soft-delete a customer and its trackings (`expected_version` guards against a stale
    /// read when given).
    ///
    /// # Errors
    /// `not_found`, or `conflict` on a stale version.
    pub async fn delete(&self, id: &CustomerId, expected_version: Option<i64>) -> Result<Customer> {
        let at = self.engine.env().now();
        // Held until the event is published, so sequence numbers follow commit order.
        let _order = self.engine.inner.write_order.lock().await;
        let (customer, trackings) = self
            .engine
            .inner
            .storage
            .customers
            .delete_customer(&self.tenant, id, expected_version, at)
            .await?;
        self.event(&customer, ChangeAction::Deleted);
        for t in &trackings {
            Trackings::event_for(&self.engine, t, ChangeAction::Deleted);
        }
        Ok(customer)
    }

    fn event(&self, c: &Customer, action: ChangeAction) {
        self.engine.publish(
            &self.tenant,
            Entity::Customer,
            c.id.as_str(),
            action,
            c.version,
            None,
        );
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
        let id = TrackingId::generate(self.engine.env());
        let tracking = Tracking::from_new(id, self.tenant.clone(), new, self.engine.env().now());
        tracking.validate()?;
        // Held until the event is published, so sequence numbers follow commit order.
        let _order = self.engine.inner.write_order.lock().await;
        self.engine
            .inner
            .storage
            .trackings
            .insert_tracking(&tracking)
            .await?;
        Self::event_for(&self.engine, &tracking, ChangeAction::Created);
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
            .trackings
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
            .trackings
            .list_trackings(&self.tenant, options.customer_id.as_ref(), slice)
            .await?;
        Ok(scope.page(listed))
    }

    /// Change a tracking if `patch.version` is current. A change to what is tracked puts a
    /// synced tracking back to `pending`.
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
        // Held until the event is published, so sequence numbers follow commit order.
        let _order = self.engine.inner.write_order.lock().await;
        self.engine
            .inner
            .storage
            .trackings
            .replace_tracking(&tracking, expected)
            .await?;
        Self::event_for(&self.engine, &tracking, ChangeAction::Updated);
        if tracking.sync_status != before.sync_status {
            Self::event_for(&self.engine, &tracking, ChangeAction::StatusChanged);
        }
        Ok(tracking)
    }

    /// Record a sync outcome (used by the sync worker): new status, error text for `failed`.
    ///
    /// # Errors
    /// `not_found`, or `conflict` on a stale version.
    pub async fn set_sync_status(
        &self,
        id: &TrackingId,
        expected_version: i64,
        status: SyncStatus,
        error: Option<String>,
    ) -> Result<Tracking> {
        if status == SyncStatus::Deleted {
            return Err(crate::Error::invalid_field(
                "status",
                status.as_str(),
                "is set by deleting the tracking, not by a sync outcome",
            ));
        }
        let mut tracking = self.get(id).await?;
        if tracking.version != expected_version {
            return Err(crate::store::stale(
                "tracking",
                id.as_str(),
                expected_version,
                tracking.version,
            ));
        }
        let now = self.engine.env().now();
        tracking.sync_status = status;
        tracking.sync_error = if status == SyncStatus::Failed {
            error
        } else {
            None
        };
        if status == SyncStatus::Synced {
            tracking.last_synced_at = Some(now);
        }
        tracking.version += 1;
        tracking.updated_at = now;
        // Held until the event is published, so sequence numbers follow commit order.
        let _order = self.engine.inner.write_order.lock().await;
        self.engine
            .inner
            .storage
            .trackings
            .replace_tracking(&tracking, expected_version)
            .await?;
        Self::event_for(&self.engine, &tracking, ChangeAction::StatusChanged);
        Ok(tracking)
    }

    /// Soft-delete a tracking (status `deleted`; removal from GTM follows on the next sync).
    ///
    /// # Errors
    /// `not_found`, or `conflict` on a stale version.
    pub async fn delete(&self, id: &TrackingId, expected_version: Option<i64>) -> Result<Tracking> {
        let at = self.engine.env().now();
        // Held until the event is published, so sequence numbers follow commit order.
        let _order = self.engine.inner.write_order.lock().await;
        let tracking = self
            .engine
            .inner
            .storage
            .trackings
            .delete_tracking(&self.tenant, id, expected_version, at)
            .await?;
        Self::event_for(&self.engine, &tracking, ChangeAction::Deleted);
        Ok(tracking)
    }

    fn event_for(engine: &Engine, t: &Tracking, action: ChangeAction) {
        engine.publish(
            &t.tenant_id,
            Entity::Tracking,
            t.id.as_str(),
            action,
            t.version,
            Some(t.sync_status),
        );
    }
}
