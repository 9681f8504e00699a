//! The embedded default: one SQLite file, WAL, numbered migrations, one writer connection.
//!
//! rusqlite is synchronous: statements run inline, so the async trait methods are ready at first
//! poll and bindings can block on them without a runtime. Every write runs in `BEGIN IMMEDIATE`
//! so several processes on one file queue on `busy_timeout` instead of failing with SQLITE_BUSY.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{
    Connection, ErrorCode, OptionalExtension, Row, Transaction, TransactionBehavior, params,
};

use super::{
    Backend, CustomerStore, TenantStore, TrackingStore, closed, duplicate_tracking, stale,
};
use crate::page::{Listed, Slice};
use crate::{
    AdsCategory, AdsConversion, Customer, CustomerId, Error, GoogleConnection, Result, SyncStatus,
    Tenant, TenantId, Timestamp, Tracking, TrackingId, TrackingKind, UrlMatch, UrlRule,
};

/// Migrations in order; `PRAGMA user_version` is the number applied.
const MIGRATIONS: &[&str] = &[include_str!("sqlite/0001_init.sql")];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Read-only connections kept beside the writer on a file database. WAL lets them read while the
/// writer writes, so host threads (Python releases the GIL, Node worker threads) read in parallel.
const READERS: usize = 2;

/// SQLite storage on one file: one writer connection, a few readers.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Option<Connection>>,
    readers: Vec<Mutex<Option<Connection>>>,
    next_reader: AtomicUsize,
}

impl SqliteStore {
    /// Open (creating if needed) and migrate the database at `path`.
    ///
    /// # Errors
    /// `storage` if the file is not a database, is locked past the busy timeout, or carries a
    /// schema newer than [`SCHEMA_VERSION`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let conn = Connection::open(path)
            .map_err(|e| sql_error(e).context(&format!("opening {}", path.display())))?;
        let mut store = Self::init(conn, true)
            .map_err(|e| e.context(&format!("opening {}", path.display())))?;
        for _ in 0..READERS {
            let reader =
                open_reader(path).map_err(|e| e.context(&format!("opening {}", path.display())))?;
            store.readers.push(Mutex::new(Some(reader)));
        }
        Ok(store)
    }

    /// A private in-memory SQLite database (same SQL as the file backend).
    ///
    /// # Errors
    /// `storage` if SQLite cannot start.
    pub fn in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory().map_err(sql_error)?, false)
    }

    fn init(mut conn: Connection, wal: bool) -> Result<Self> {
        // busy_timeout first: every later statement may meet another process's lock.
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(sql_error)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(sql_error)?;
        if wal {
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(sql_error)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(Error::storage(format!(
                    "could not switch the database to WAL (got {mode})"
                )));
            }
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(sql_error)?;
        }
        migrate(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(Some(conn)),
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
        })
    }

    fn conn(&self) -> Result<MutexGuard<'_, Option<Connection>>> {
        self.conn
            .lock()
            .map_err(|_| Error::internal("sqlite connection lock poisoned"))
    }

    /// Run `f` on an idle reader (the writer when there are none: in-memory databases).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        if self.readers.is_empty() {
            let guard = self.conn()?;
            return f(guard.as_ref().ok_or_else(closed)?);
        }
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let n = self.readers.len();
        let idle = (0..n).find_map(|i| self.readers[(start + i) % n].try_lock().ok());
        let guard = match idle {
            Some(g) => g,
            None => self.readers[start % n]
                .lock()
                .map_err(|_| Error::internal("sqlite reader lock poisoned"))?,
        };
        f(guard.as_ref().ok_or_else(closed)?)
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut guard = self.conn()?;
        let conn = guard.as_mut().ok_or_else(closed)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_error)?;
        let out = f(&tx)?;
        tx.commit().map_err(sql_error)?;
        Ok(out)
    }
}

/// A read-only connection on an existing, migrated database.
fn open_reader(path: &Path) -> Result<Connection> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(sql_error)?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(sql_error)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_error)?;
    // Re-read inside the write lock: another process may have migrated meanwhile.
    let current: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql_error)?;
    if current < 0 {
        return Err(Error::storage(format!(
            "the database has schema version {current}, which no tagsmith writes: it is not a \
             tagsmith database"
        )));
    }
    if current > SCHEMA_VERSION {
        return Err(Error::storage(format!(
            "the database has schema version {current}, newer than {SCHEMA_VERSION} which this \
             tagsmith supports: upgrade tagsmith to open it"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.execute_batch(sql)
            .map_err(|e| sql_error(e).context(&format!("migration {}", i + 1)))?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(sql_error)?;
    tx.commit().map_err(sql_error)
}

/// Map SQLite failures to `storage` with a message a host can act on.
fn sql_error(e: rusqlite::Error) -> Error {
    let message = match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => {
            "the file is not a tagsmith database (or it is corrupt)".to_owned()
        }
        Some(ErrorCode::DatabaseCorrupt) => "the database file is corrupt".to_owned(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            "the database is locked by another connection (busy timeout expired)".to_owned()
        }
        Some(ErrorCode::ReadOnly) => "the database is read-only".to_owned(),
        Some(ErrorCode::CannotOpen) => "the database file cannot be opened".to_owned(),
        _ => format!("sqlite: {e}"),
    };
    Error::storage(message).with_source(e)
}

trait Context {
    fn context(self, what: &str) -> Self;
}

impl Context for Error {
    fn context(self, what: &str) -> Self {
        let prefixed = Error::new(self.kind(), format!("{what}: {}", self.message()));
        match std::error::Error::source(&self) {
            Some(_) => prefixed.with_source(self),
            None => prefixed,
        }
    }
}

/// A generated id that collided with an existing one (the random source failed twice over).
fn is_id_collision(e: &rusqlite::Error) -> bool {
    is_unique_violation(e) && e.to_string().contains(".id")
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

fn ts(micros: i64) -> Timestamp {
    Timestamp::from_micros(micros)
}

/// Text columns holding wire enums: an unknown value means a newer writer, so say so.
fn wire<T>(column: &str, text: &str, parse: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    parse(text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown {column} {text:?} in the database").into(),
        )
    })
}

fn tenant_row(r: &Row<'_>) -> rusqlite::Result<Tenant> {
    Ok(Tenant {
        id: TenantId::new(r.get::<_, String>(0)?),
        name: r.get(1)?,
        created_at: ts(r.get(2)?),
    })
}

const CUSTOMER_COLS: &str =
    "seq, id, tenant_id, name, website_url, google, version, created_at, updated_at";

fn customer_row(r: &Row<'_>) -> rusqlite::Result<Customer> {
    Ok(Customer {
        id: CustomerId::new(r.get::<_, String>(1)?),
        tenant_id: TenantId::new(r.get::<_, String>(2)?),
        name: r.get(3)?,
        website_url: r.get(4)?,
        google: wire("google", &r.get::<_, String>(5)?, GoogleConnection::parse)?,
        version: r.get(6)?,
        created_at: ts(r.get(7)?),
        updated_at: ts(r.get(8)?),
    })
}

const TRACKING_COLS: &str = "seq, id, tenant_id, customer_id, name, kind, selector, url_match, url_value, \
    ga4_event, ga4_params, ads_category, ads_value, ads_currency, scroll_percent, sync_status, sync_error, \
    gtm_trigger_id, gtm_tag_id, ads_conversion_action_id, ads_conversion_label, version, created_at, \
    updated_at, last_synced_at";

fn tracking_row(r: &Row<'_>) -> rusqlite::Result<Tracking> {
    let url_rule = match (
        r.get::<_, Option<String>>(7)?,
        r.get::<_, Option<String>>(8)?,
    ) {
        (Some(m), Some(value)) => Some(UrlRule {
            r#match: wire("url_match", &m, UrlMatch::parse)?,
            value,
        }),
        _ => None,
    };
    let ads = match r.get::<_, Option<String>>(11)? {
        Some(c) => Some(AdsConversion {
            category: wire("ads_category", &c, AdsCategory::parse)?,
            value: r.get(12)?,
            currency: r.get(13)?,
        }),
        None => None,
    };
    let params: String = r.get(10)?;
    Ok(Tracking {
        id: TrackingId::new(r.get::<_, String>(1)?),
        tenant_id: TenantId::new(r.get::<_, String>(2)?),
        customer_id: CustomerId::new(r.get::<_, String>(3)?),
        name: r.get(4)?,
        kind: wire("kind", &r.get::<_, String>(5)?, TrackingKind::parse)?,
        selector: r.get(6)?,
        url_rule,
        ga4_event: r.get(9)?,
        ga4_params: serde_json::from_str(&params).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(10, rusqlite::types::Type::Text, Box::new(e))
        })?,
        ads,
        scroll_percent: r.get(14)?,
        sync_status: wire("sync_status", &r.get::<_, String>(15)?, SyncStatus::parse)?,
        sync_error: r.get(16)?,
        gtm_trigger_id: r.get(17)?,
        gtm_tag_id: r.get(18)?,
        ads_conversion_action_id: r.get(19)?,
        ads_conversion_label: r.get(20)?,
        version: r.get(21)?,
        created_at: ts(r.get(22)?),
        updated_at: ts(r.get(23)?),
        last_synced_at: r.get::<_, Option<i64>>(24)?.map(ts),
    })
}

/// Run a paged query: `sql` selects `seq` first, takes `?after` and `?limit` as its last two
/// parameters; `count_sql` takes the leading parameters.
fn page<T>(
    conn: &Connection,
    sql: &str,
    count_sql: &str,
    leading: &[&dyn rusqlite::ToSql],
    slice: Slice,
    map: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Listed<T>> {
    // One read transaction, so the total and the rows come from the same snapshot.
    let snapshot = conn.unchecked_transaction().map_err(sql_error)?;
    let total: i64 = snapshot
        .prepare_cached(count_sql)
        .and_then(|mut s| s.query_row(leading, |r| r.get(0)))
        .map_err(sql_error)?;
    let after = slice.after.unwrap_or(0);
    let fetch = i64::from(slice.limit) + 1;
    let mut args: Vec<&dyn rusqlite::ToSql> = leading.to_vec();
    args.push(&after);
    args.push(&fetch);
    let mut stmt = snapshot.prepare_cached(sql).map_err(sql_error)?;
    let mut rows = stmt
        .query_map(args.as_slice(), |r| Ok((r.get::<_, i64>(0)?, map(r)?)))
        .map_err(sql_error)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sql_error)?;
    let more = rows.len() > slice.limit as usize;
    rows.truncate(slice.limit as usize);
    Ok(Listed {
        last_seq: rows.last().map(|(s, _)| *s),
        items: rows.into_iter().map(|(_, t)| t).collect(),
        more,
        total: total as u64,
    })
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl TenantStore for SqliteStore {
    async fn insert_tenant(&self, t: &Tenant) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("INSERT INTO tenants (id, name, created_at) VALUES (?1, ?2, ?3)")
                .and_then(|mut s| {
                    s.execute(params![t.id.as_str(), t.name, t.created_at.as_micros()])
                })
                .map_err(sql_error)?;
            Ok(())
        })
    }

    async fn get_tenant(&self, id: &TenantId) -> Result<Tenant> {
        self.read(|c| {
            c.prepare_cached("SELECT id, name, created_at FROM tenants WHERE id = ?1")
                .and_then(|mut s| s.query_row([id.as_str()], tenant_row).optional())
                .map_err(sql_error)?
                .ok_or_else(|| Error::not_found("tenant", id.as_str()))
        })
    }

    async fn list_tenants(&self, slice: Slice) -> Result<Listed<Tenant>> {
        self.read(|c| {
            page(
                c,
                "SELECT seq, id, name, created_at FROM tenants WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                "SELECT count(*) FROM tenants",
                &[],
                slice,
                |r| Ok(Tenant { id: TenantId::new(r.get::<_, String>(1)?), name: r.get(2)?, created_at: ts(r.get(3)?) }),
            )
        })
    }
}

fn live_customer(tx: &Connection, tenant: &TenantId, id: &CustomerId) -> Result<Customer> {
    tx.prepare_cached(&format!(
        "SELECT {CUSTOMER_COLS} FROM customers WHERE id = ?1 AND tenant_id = ?2 AND deleted_at IS NULL"
    ))
    .and_then(|mut s| s.query_row([id.as_str(), tenant.as_str()], customer_row).optional())
    .map_err(sql_error)?
    .ok_or_else(|| Error::not_found("customer", id.as_str()))
}

fn live_tracking(tx: &Connection, tenant: &TenantId, id: &TrackingId) -> Result<Tracking> {
    tx.prepare_cached(&format!(
        "SELECT {TRACKING_COLS} FROM trackings WHERE id = ?1 AND tenant_id = ?2 AND deleted_at IS NULL"
    ))
    .and_then(|mut s| s.query_row([id.as_str(), tenant.as_str()], tracking_row).optional())
    .map_err(sql_error)?
    .ok_or_else(|| Error::not_found("tracking", id.as_str()))
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl CustomerStore for SqliteStore {
    async fn insert_customer(&self, c: &Customer) -> Result<()> {
        self.write(|tx| {
            let tenant_exists = tx
                .prepare_cached("SELECT 1 FROM tenants WHERE id = ?1")
                .and_then(|mut s| s.exists([c.tenant_id.as_str()]))
                .map_err(sql_error)?;
            if !tenant_exists {
                return Err(Error::not_found("tenant", c.tenant_id.as_str()));
            }
            tx.prepare_cached(
                "INSERT INTO customers (id, tenant_id, name, website_url, google, version, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    c.id.as_str(),
                    c.tenant_id.as_str(),
                    c.name,
                    c.website_url,
                    c.google.as_str(),
                    c.version,
                    c.created_at.as_micros(),
                    c.updated_at.as_micros()
                ])
            })
            .map_err(sql_error)?;
            Ok(())
        })
    }

    async fn get_customer(&self, tenant: &TenantId, id: &CustomerId) -> Result<Customer> {
        self.read(|c| live_customer(c, tenant, id))
    }

    async fn list_customers(&self, tenant: &TenantId, slice: Slice) -> Result<Listed<Customer>> {
        self.read(|c| {
            page(
                c,
                &format!(
                    "SELECT {CUSTOMER_COLS} FROM customers WHERE tenant_id = ?1 AND deleted_at IS NULL \
                     AND seq > ?2 ORDER BY seq LIMIT ?3"
                ),
                "SELECT count(*) FROM customers WHERE tenant_id = ?1 AND deleted_at IS NULL",
                &[&tenant.as_str()],
                slice,
                customer_row,
            )
        })
    }

    async fn replace_customer(&self, c: &Customer, expected_version: i64) -> Result<()> {
        self.write(|tx| {
            let current = live_customer(tx, &c.tenant_id, &c.id)?;
            if current.version != expected_version {
                return Err(stale("customer", c.id.as_str(), expected_version, current.version));
            }
            tx.prepare_cached(
                "UPDATE customers SET name = ?3, website_url = ?4, google = ?5, version = ?6, updated_at = ?7 \
                 WHERE id = ?1 AND tenant_id = ?2",
            )
            .and_then(|mut s| {
                s.execute(params![
                    c.id.as_str(),
                    c.tenant_id.as_str(),
                    c.name,
                    c.website_url,
                    c.google.as_str(),
                    c.version,
                    c.updated_at.as_micros()
                ])
            })
            .map_err(sql_error)?;
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
        self.write(|tx| {
            let mut customer = live_customer(tx, tenant, id)?;
            if let Some(v) = expected_version.filter(|v| *v != customer.version) {
                return Err(stale("customer", id.as_str(), v, customer.version));
            }
            customer.version += 1;
            customer.updated_at = at;
            tx.prepare_cached(
                "UPDATE customers SET deleted_at = ?3, updated_at = ?3, version = ?4 WHERE id = ?1 AND tenant_id = ?2",
            )
            .and_then(|mut s| s.execute(params![id.as_str(), tenant.as_str(), at.as_micros(), customer.version]))
            .map_err(sql_error)?;
            let gone = tx
                .prepare_cached(&format!(
                    "UPDATE trackings SET deleted_at = ?3, updated_at = ?3, version = version + 1, \
                     sync_status = 'deleted' WHERE tenant_id = ?1 AND customer_id = ?2 AND deleted_at IS NULL \
                     RETURNING {TRACKING_COLS}"
                ))
                .and_then(|mut s| {
                    s.query_map(params![tenant.as_str(), id.as_str(), at.as_micros()], tracking_row)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(sql_error)?;
            Ok((customer, gone))
        })
    }
}

fn tracking_params(t: &Tracking) -> Result<[Box<dyn rusqlite::ToSql + '_>; 24]> {
    let params = serde_json::to_string(&t.ga4_params)
        .map_err(|e| Error::internal(format!("encoding ga4_params: {e}")))?;
    Ok([
        Box::new(t.id.as_str()),
        Box::new(t.tenant_id.as_str()),
        Box::new(t.customer_id.as_str()),
        Box::new(t.name.as_str()),
        Box::new(t.kind.as_str()),
        Box::new(t.selector.as_deref()),
        Box::new(t.url_rule.as_ref().map(|u| u.r#match.as_str())),
        Box::new(t.url_rule.as_ref().map(|u| u.value.as_str())),
        Box::new(t.ga4_event.as_deref()),
        Box::new(params),
        Box::new(t.ads.as_ref().map(|a| a.category.as_str())),
        Box::new(t.ads.as_ref().and_then(|a| a.value)),
        Box::new(t.ads.as_ref().and_then(|a| a.currency.as_deref())),
        Box::new(t.scroll_percent),
        Box::new(t.sync_status.as_str()),
        Box::new(t.sync_error.as_deref()),
        Box::new(t.gtm_trigger_id.as_deref()),
        Box::new(t.gtm_tag_id.as_deref()),
        Box::new(t.ads_conversion_action_id.as_deref()),
        Box::new(t.ads_conversion_label.as_deref()),
        Box::new(t.version),
        Box::new(t.created_at.as_micros()),
        Box::new(t.updated_at.as_micros()),
        Box::new(t.last_synced_at.map(Timestamp::as_micros)),
    ])
}

fn write_tracking(tx: &Transaction<'_>, sql: &str, t: &Tracking) -> Result<()> {
    let values = tracking_params(t)?;
    let refs: Vec<&dyn rusqlite::ToSql> = values.iter().map(|b| b.as_ref()).collect();
    match tx
        .prepare_cached(sql)
        .and_then(|mut s| s.execute(refs.as_slice()))
    {
        Ok(_) => Ok(()),
        Err(e) if is_id_collision(&e) => Err(Error::internal(format!(
            "generated tracking id {} collided with an existing one; retry",
            t.id
        ))),
        Err(e) if is_unique_violation(&e) => Err(duplicate_tracking(&t.name)),
        Err(e) => Err(sql_error(e)),
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl TrackingStore for SqliteStore {
    async fn insert_tracking(&self, t: &Tracking) -> Result<()> {
        self.write(|tx| {
            live_customer(tx, &t.tenant_id, &t.customer_id)?;
            write_tracking(
                tx,
                &format!(
                    "INSERT INTO trackings ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, \
                     ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
                    &TRACKING_COLS["seq, ".len()..]
                ),
                t,
            )
        })
    }

    async fn get_tracking(&self, tenant: &TenantId, id: &TrackingId) -> Result<Tracking> {
        self.read(|c| live_tracking(c, tenant, id))
    }

    async fn list_trackings(
        &self,
        tenant: &TenantId,
        customer: Option<&CustomerId>,
        slice: Slice,
    ) -> Result<Listed<Tracking>> {
        self.read(|c| match customer {
            None => page(
                c,
                &format!(
                    "SELECT {TRACKING_COLS} FROM trackings WHERE tenant_id = ?1 AND deleted_at IS NULL \
                     AND seq > ?2 ORDER BY seq LIMIT ?3"
                ),
                "SELECT count(*) FROM trackings WHERE tenant_id = ?1 AND deleted_at IS NULL",
                &[&tenant.as_str()],
                slice,
                tracking_row,
            ),
            Some(cus) => page(
                c,
                &format!(
                    "SELECT {TRACKING_COLS} FROM trackings WHERE tenant_id = ?1 AND customer_id = ?2 \
                     AND deleted_at IS NULL AND seq > ?3 ORDER BY seq LIMIT ?4"
                ),
                "SELECT count(*) FROM trackings WHERE tenant_id = ?1 AND customer_id = ?2 AND deleted_at IS NULL",
                &[&tenant.as_str(), &cus.as_str()],
                slice,
                tracking_row,
            ),
        })
    }

    async fn replace_tracking(&self, t: &Tracking, expected_version: i64) -> Result<()> {
        self.write(|tx| {
            let current = live_tracking(tx, &t.tenant_id, &t.id)?;
            if current.version != expected_version {
                return Err(stale("tracking", t.id.as_str(), expected_version, current.version));
            }
            write_tracking(
                tx,
                "UPDATE trackings SET customer_id = ?3, name = ?4, kind = ?5, selector = ?6, url_match = ?7, \
                 url_value = ?8, ga4_event = ?9, ga4_params = ?10, ads_category = ?11, ads_value = ?12, \
                 ads_currency = ?13, scroll_percent = ?14, sync_status = ?15, sync_error = ?16, \
                 gtm_trigger_id = ?17, gtm_tag_id = ?18, ads_conversion_action_id = ?19, \
                 ads_conversion_label = ?20, version = ?21, created_at = ?22, updated_at = ?23, \
                 last_synced_at = ?24 WHERE id = ?1 AND tenant_id = ?2",
                t,
            )
        })
    }

    async fn delete_tracking(
        &self,
        tenant: &TenantId,
        id: &TrackingId,
        expected_version: Option<i64>,
        at: Timestamp,
    ) -> Result<Tracking> {
        self.write(|tx| {
            let current = live_tracking(tx, tenant, id)?;
            if let Some(v) = expected_version.filter(|v| *v != current.version) {
                return Err(stale("tracking", id.as_str(), v, current.version));
            }
            tx.prepare_cached(&format!(
                "UPDATE trackings SET deleted_at = ?3, updated_at = ?3, version = version + 1, \
                 sync_status = 'deleted' WHERE id = ?1 AND tenant_id = ?2 RETURNING {TRACKING_COLS}"
            ))
            .and_then(|mut s| {
                s.query_row(
                    params![id.as_str(), tenant.as_str(), at.as_micros()],
                    tracking_row,
                )
            })
            .map_err(sql_error)
        })
    }
}

impl Backend for SqliteStore {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn close(&self) -> Result<()> {
        for reader in &self.readers {
            let conn = reader
                .lock()
                .map_err(|_| Error::internal("sqlite reader lock poisoned"))?
                .take();
            if let Some(c) = conn {
                c.close().map_err(|(_, e)| sql_error(e))?;
            }
        }
        let conn = self.conn()?.take();
        match conn {
            Some(c) => c.close().map_err(|(_, e)| sql_error(e)),
            None => Ok(()),
        }
    }
}
