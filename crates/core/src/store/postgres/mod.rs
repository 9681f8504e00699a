//! The scale-out backend: one PostgreSQL database shared by many processes (feature `postgres`,
//! sqlx with rustls).
//!
//! - **Schema**: every table lives in one schema (default `tagsmith`, see [`PgOptions::schema`]),
//!   created and migrated on open under an advisory lock, so many processes starting at once
//!   migrate once (`migrate.rs`).
//! - **Units of work** are `READ COMMITTED` transactions; a write first locks the rows it checks
//!   (`FOR UPDATE`), so optimistic versions hold across processes, and an event's sequence number
//!   comes from its tenant row, bumped in the same transaction (gapless, in commit order, decided
//!   by no process-local lock).
//! - **Runtimes**: sqlx's connections belong to a tokio runtime. A store opened inside a
//!   multi-thread runtime uses it; otherwise it starts one of its own (one worker thread). Every
//!   call enters that runtime while it is polled, so the store's futures can be driven by any
//!   executor — a host's runtime, or the bindings' `block_on` on a plain thread.
//!
//! Files: `migrate.rs`, `errors.rs` (SQLSTATEs and constraints → core errors), `rows.rs`, and one
//! file per aggregate.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use super::{Backend, CustomerWrites, TenantWrites, TrackingWrites, Tx};
use crate::events::Change;
use crate::{Error, Result, TenantId, Timestamp};

/// The columns of each record, as literals so statements stay `&'static str` (sqlx asks dynamic
/// SQL to be audited; these never are).
macro_rules! tenant_cols {
    () => {
        "seq, id, name, created_at"
    };
}
macro_rules! customer_cols {
    () => {
        "seq, id, tenant_id, name, website_url, google, version, created_at, updated_at"
    };
}
macro_rules! tracking_cols {
    () => {
        "seq, id, tenant_id, customer_id, name, kind, selector, url_match, url_value, ga4_event, \
         ga4_params, ads_category, ads_value, ads_currency, scroll_percent, sync_status, \
         sync_error, external_ids, version, created_at, updated_at, last_synced_at"
    };
}

mod customers;
mod errors;
mod events;
mod jobs;
mod listen;
mod migrate;
mod rows;
mod tenants;
mod trackings;

pub use migrate::SCHEMA_VERSION;

use errors::{db_error, redacted};

/// How the PostgreSQL backend connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOptions {
    /// The schema holding tagsmith's tables (created if missing). Default `tagsmith`.
    pub schema: String,
    /// Most connections in the pool. Default 10.
    pub max_connections: u32,
    /// How long connecting (or waiting for a free pooled connection) may take. Default 10 s.
    pub connect_timeout: Duration,
    /// The server-side limit of one statement (`statement_timeout`); `None` for the server's
    /// default. Default 30 s. A statement that runs longer fails with `timeout`.
    pub statement_timeout: Option<Duration>,
    /// `application_name`, shown in `pg_stat_activity`. Default `tagsmith`.
    pub application_name: String,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            schema: "tagsmith".to_owned(),
            max_connections: 10,
            connect_timeout: Duration::from_secs(10),
            statement_timeout: Some(Duration::from_secs(30)),
            application_name: "tagsmith".to_owned(),
        }
    }
}

impl PgOptions {
    /// `invalid_input` naming each bad option.
    ///
    /// # Errors
    /// As above.
    pub fn validate(&self) -> Result<()> {
        let mut bad = Vec::new();
        let ident = |s: &str| {
            !s.is_empty()
                && s.len() <= 63
                && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if !ident(&self.schema) {
            bad.push(crate::FieldError::new(
                "schema",
                &self.schema,
                "must be 1 to 63 lowercase letters, digits or underscores, not starting with a digit",
            ));
        }
        if self.max_connections == 0 {
            bad.push(crate::FieldError::new(
                "max_connections",
                "0",
                "must be at least 1",
            ));
        }
        if self.application_name.chars().any(char::is_control) || self.application_name.len() > 63 {
            bad.push(crate::FieldError::new(
                "application_name",
                &self.application_name,
                "must be at most 63 characters without control characters",
            ));
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_fields(bad))
        }
    }
}

/// A runtime of the store's own, dropped without blocking (a store may be dropped inside
/// another runtime).
#[derive(Debug)]
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// The PostgreSQL backend (see the module docs).
#[derive(Debug, Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: PgPool,
    schema: String,
    /// The `LISTEN` task for jobs added and events appended by any process (started on first
    /// use, stopped when the store goes).
    listener: std::sync::OnceLock<listen::Listener>,
    /// The runtime the pool's connections live on: the host's multi-thread runtime the store
    /// was opened in, or `own`.
    handle: tokio::runtime::Handle,
    /// Started when opened outside a multi-thread runtime (a current-thread one would stall
    /// while a binding blocks on a call). Declared last: dropped after the pool.
    _own: Option<OwnRuntime>,
}

impl PgStore {
    /// Connect to `url` (`postgres://user:password@host:port/db?sslmode=…`) and migrate.
    ///
    /// # Errors
    /// `invalid_input` for a malformed URL or options; `unauthorized` for a refused login;
    /// `unavailable` (retryable) when the server cannot be reached; `storage` for a database
    /// written by a newer tagsmith. Messages never carry the password.
    pub fn connect(url: &str, options: &PgOptions) -> Result<Self> {
        options.validate()?;
        let mut connect = PgConnectOptions::from_str(url).map_err(|e| {
            Error::invalid_field(
                "db",
                &redacted(url),
                format!("is not a PostgreSQL URL: {}", redacted(&e.to_string())),
            )
        })?;
        connect = connect
            .application_name(&options.application_name)
            .options([("search_path", options.schema.as_str())]);
        if let Some(t) = options.statement_timeout {
            connect = connect.options([("statement_timeout", format!("{}", t.as_millis()))]);
        }
        let own = match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => None,
            _ => Some(OwnRuntime(Some(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("tagsmith-postgres")
                    .enable_all()
                    .build()
                    .map_err(|e| Error::internal(format!("cannot start a runtime: {e}")))?,
            ))),
        };
        let handle = match own.as_ref().and_then(|o| o.0.as_ref()) {
            Some(rt) => rt.handle().clone(),
            None => tokio::runtime::Handle::current(),
        };
        // No ping before each acquire (sqlx's default): it doubles the round trips of every
        // call. A connection the server dropped fails its next statement instead, which maps to
        // a retryable `unavailable`, and sqlx discards it.
        let pool_options = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.connect_timeout)
            .test_before_acquire(false);
        let timeout = options.connect_timeout;
        let pool = in_runtime(&handle, async move {
            // One connection first, so a refused login or an unreachable server is reported
            // as such at once (the pool would retry until its timeout).
            use sqlx::{ConnectOptions, Connection};
            let first = tokio::time::timeout(timeout, connect.connect())
                .await
                .map_err(|_| {
                    Error::new(
                        crate::ErrorKind::Unavailable,
                        format!(
                            "PostgreSQL did not answer within {} ms",
                            timeout.as_millis()
                        ),
                    )
                    .with_retryable(true)
                })?
                .map_err(db_error)?;
            let _ = first.close().await;
            Ok::<_, Error>(pool_options.connect_lazy_with(connect))
        });
        let pool = block(pool)?;
        let store = Self {
            inner: Arc::new(Inner {
                pool,
                schema: options.schema.clone(),
                listener: std::sync::OnceLock::new(),
                handle,
                _own: own,
            }),
        };
        block(store.run(migrate::migrate(
            store.inner.pool.clone(),
            store.inner.schema.clone(),
        )))?;
        Ok(store)
    }

    /// The schema this store works in.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// The connection pool (a host can run its own statements on it).
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// Drop this store's schema and everything in it (throwaway schemas of tests and benches).
    /// The pool is closed first.
    ///
    /// # Errors
    /// As any statement.
    pub fn drop_schema(&self) -> Result<()> {
        let pool = self.inner.pool.clone();
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.inner.schema);
        let options = pool.connect_options();
        block(self.run(async move {
            use sqlx::{ConnectOptions, Connection};
            pool.close().await;
            let mut c = options.connect().await.map_err(db_error)?;
            // The schema name was checked to be a plain lowercase identifier.
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut c)
                .await
                .map_err(db_error)?;
            let _ = c.close().await;
            Ok(())
        }))
    }

    /// `fut`, polled inside the store's runtime.
    fn run<'a, T: 'a>(
        &self,
        fut: impl Future<Output = T> + Send + 'a,
    ) -> impl Future<Output = T> + Send + 'a {
        in_runtime(&self.inner.handle, fut)
    }
}

/// `fut` polled with `handle` entered: what sqlx spawns, the sockets it opens and the timers
/// it sets belong to that runtime, whichever executor drives `fut`.
fn in_runtime<'a, T: 'a>(
    handle: &tokio::runtime::Handle,
    fut: impl Future<Output = T> + Send + 'a,
) -> impl Future<Output = T> + Send + 'a {
    let handle = handle.clone();
    let mut fut = Box::pin(fut);
    std::future::poll_fn(move |cx| {
        let _entered = handle.enter();
        fut.as_mut().poll(cx)
    })
}

/// Wait for `fut` on this thread: inside a multi-thread runtime without stalling it, elsewhere
/// by parking (the store's own runtime does the I/O).
fn block<T>(fut: impl Future<Output = T>) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| pollster::block_on(fut))
        }
        _ => pollster::block_on(fut),
    }
}

/// A unit of work: one transaction, rolled back if dropped uncommitted.
pub(crate) struct PgTx {
    tx: Option<Transaction<'static, Postgres>>,
    store: PgStore,
}

impl PgTx {
    fn conn(&mut self) -> Result<&mut sqlx::PgConnection> {
        self.tx
            .as_deref_mut()
            .ok_or_else(|| Error::internal("the unit of work was already committed"))
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        // sqlx rolls back on the connection's return to the pool, which it spawns: enter the
        // store's runtime so that works from any thread.
        let _entered = self.store.inner.handle.enter();
        self.tx.take();
    }
}

#[async_trait::async_trait]
impl Backend for PgStore {
    fn name(&self) -> &'static str {
        "postgres"
    }

    async fn begin(&self) -> Result<Box<dyn Tx + '_>> {
        let pool = self.inner.pool.clone();
        let tx = self
            .run(async move { pool.begin().await })
            .await
            .map_err(db_error)?;
        Ok(Box::new(PgTx {
            tx: Some(tx),
            store: self.clone(),
        }))
    }

    fn close(&self) -> Result<()> {
        let pool = self.inner.pool.clone();
        block(self.run(async move { pool.close().await }));
        Ok(())
    }
}

#[async_trait::async_trait]
impl Tx for PgTx {
    fn backend(&self) -> &'static str {
        "postgres"
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

    fn jobs(&mut self) -> Result<&mut dyn crate::queue::JobWrites> {
        Ok(self)
    }

    async fn append_event(&mut self, tenant: &TenantId, change: &Change) -> Result<u64> {
        let store = self.store.clone();
        let conn = self.conn()?;
        store.run(events::append(conn, tenant, change)).await
    }

    async fn prune_events(
        &mut self,
        tenant: &TenantId,
        keep_from: u64,
        older_than: Timestamp,
    ) -> Result<()> {
        let store = self.store.clone();
        let conn = self.conn()?;
        store
            .run(events::prune(conn, tenant, keep_from, older_than))
            .await
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        let tx = self
            .tx
            .take()
            .ok_or_else(|| Error::internal("the unit of work was already committed"))?;
        self.store.run(tx.commit()).await.map_err(db_error)
    }
}
