//! The embedded default: one SQLite file, WAL, numbered migrations, one writer connection and a
//! few readers.
//!
//! rusqlite is synchronous: statements run inline, so the async trait methods are ready at first
//! poll (unless another unit of work holds the writer) and bindings can block on them without a
//! runtime. Every unit of work is one `BEGIN IMMEDIATE` transaction, so several processes on one
//! file queue on `busy_timeout` instead of failing with SQLITE_BUSY.
//!
//! Files: `migrate.rs` (schema versions and checksums), `errors.rs` (SQLite failures and named
//! constraints → core errors), one file per aggregate.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::MutexGuard;

use super::{Backend, CustomerWrites, TenantWrites, TrackingWrites, Tx, closed};
use crate::events::Change;
use crate::{Error, Result, TenantId, Timestamp};

mod customers;
mod errors;
mod events;
#[cfg(not(target_arch = "wasm32"))]
mod jobs;
mod migrate;
mod rows;
mod tenants;
mod trackings;

pub use migrate::SCHEMA_VERSION;

use errors::sql_error;

/// Prepared statements kept per connection: more than the stores and the queue use.
const STATEMENT_CACHE: usize = 96;

/// How the SQLite backend opens its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// How long a write waits for another connection's (or process's) write lock before
    /// failing with a retryable `storage` error (default 5 s).
    pub busy_timeout: Duration,
    /// Read-only connections beside the writer on a file database (default 2). WAL lets them
    /// read while the writer writes, so host threads read in parallel.
    pub readers: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            readers: 2,
        }
    }
}

/// SQLite storage on one file: one writer connection, a few readers.
#[derive(Debug)]
pub struct SqliteStore {
    /// The writer; a unit of work holds it from `BEGIN IMMEDIATE` to `COMMIT`.
    writer: tokio::sync::Mutex<Option<Connection>>,
    readers: Vec<Mutex<Option<Connection>>>,
    next_reader: AtomicUsize,
    /// The file this store opened (none in memory): every write first checks the path still
    /// names it.
    file: Option<FileIdentity>,
}

/// A database file: its path and what it was when opened.
#[derive(Debug)]
struct FileIdentity {
    path: std::path::PathBuf,
    #[cfg(unix)]
    id: (u64, u64),
}

impl FileIdentity {
    fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(not(unix))]
        let _ = meta;
        Some(Self {
            path: path.to_owned(),
            #[cfg(unix)]
            id: {
                use std::os::unix::fs::MetadataExt;
                (meta.dev(), meta.ino())
            },
        })
    }

    /// `storage` if the file was removed or replaced since it was opened: SQLite would go on
    /// writing to the unlinked file, which no other process sees. Retryable, so workers back off
    /// while an operator restores it; a new engine opens whatever is there.
    fn check(&self) -> Result<()> {
        let same = match std::fs::metadata(&self.path) {
            #[cfg(unix)]
            Ok(meta) => {
                use std::os::unix::fs::MetadataExt;
                (meta.dev(), meta.ino()) == self.id
            }
            #[cfg(not(unix))]
            Ok(_) => true,
            Err(_) => false,
        };
        if same {
            return Ok(());
        }
        Err(Error::storage(format!(
            "the database file {} was removed or replaced while this engine had it open: \
             nothing more is written to the old file; restore it, or open the engine again",
            self.path.display()
        ))
        .with_retryable(true))
    }
}

impl SqliteStore {
    /// Open (creating if needed) and migrate the database at `path` with default options.
    ///
    /// # Errors
    /// `storage` if the file is not a database, is locked past the busy timeout, or carries a
    /// schema newer than [`SCHEMA_VERSION`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, &SqliteOptions::default())
    }

    /// Open (creating if needed) and migrate the database at `path`.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with(path: impl AsRef<Path>, options: &SqliteOptions) -> Result<Self> {
        let path = path.as_ref();
        let opening = || format!("opening {}", path.display());
        let conn = Connection::open(path).map_err(|e| sql_error(e).context(&opening()))?;
        let mut store = Self::init(conn, true, options).map_err(|e| e.context(&opening()))?;
        store.file = FileIdentity::of(path);
        for _ in 0..options.readers {
            let reader = open_reader(path, options).map_err(|e| e.context(&opening()))?;
            store.readers.push(Mutex::new(Some(reader)));
        }
        Ok(store)
    }

    /// A private in-memory SQLite database (same SQL as the file backend).
    ///
    /// # Errors
    /// `storage` if SQLite cannot start.
    pub fn in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(sql_error)?;
        Self::init(conn, false, &SqliteOptions::default())
    }

    fn init(mut conn: Connection, wal: bool, options: &SqliteOptions) -> Result<Self> {
        // busy_timeout first: every later statement may meet another process's lock.
        conn.busy_timeout(options.busy_timeout).map_err(sql_error)?;
        // Every statement of the stores and the queue stays prepared (rusqlite keeps 16).
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Plans that never depend on bound values (the query planner stability guarantee):
        // otherwise SQLite (built with STAT4) prepares a statement again whenever a parameter
        // compared with an indexed column gets a new value, as the queue's claim scan did on
        // every call (`now` against `scheduled_at`): 15 % of a burn-down's CPU, measured.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )
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
        migrate::migrate(&mut conn)?;
        Ok(Self {
            writer: tokio::sync::Mutex::new(Some(conn)),
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
            file: None,
        })
    }

    /// `storage` (retryable) if the file was removed or replaced under this store.
    pub(crate) fn check_file(&self) -> Result<()> {
        self.file.as_ref().map_or(Ok(()), FileIdentity::check)
    }

    /// Run `f` on an idle reader (the writer when there are none: in-memory databases).
    async fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        if self.readers.is_empty() {
            let guard = self.writer.lock().await;
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
}

/// A read-only connection on an existing, migrated database.
fn open_reader(path: &Path, options: &SqliteOptions) -> Result<Connection> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(sql_error)?;
    conn.busy_timeout(options.busy_timeout).map_err(sql_error)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // As on the writer (see `init`).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(sql_error)?;
    Ok(conn)
}

/// A unit of work: one `BEGIN IMMEDIATE` transaction on the writer, rolled back if dropped
/// uncommitted.
struct SqliteTx<'a> {
    conn: MutexGuard<'a, Option<Connection>>,
    open: bool,
}

impl SqliteTx<'_> {
    fn conn(&self) -> Result<&Connection> {
        self.conn.as_ref().ok_or_else(closed)
    }
}

impl Drop for SqliteTx<'_> {
    fn drop(&mut self) {
        if self.open
            && let Some(c) = self.conn.as_ref()
        {
            // Nothing to report to: the caller already has the error that made it drop us.
            let _ = c.execute_batch("ROLLBACK");
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl Backend for SqliteStore {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    async fn begin(&self) -> Result<Box<dyn Tx + '_>> {
        let conn = self.writer.lock().await;
        self.check_file()?;
        let c = conn.as_ref().ok_or_else(closed)?;
        c.execute_batch("BEGIN IMMEDIATE").map_err(sql_error)?;
        Ok(Box::new(SqliteTx { conn, open: true }))
    }

    fn close(&self) -> Result<()> {
        // The writer first: a unit of work in flight holds it, and then nothing is closed yet.
        let Ok(mut writer) = self.writer.try_lock() else {
            return Err(Error::new(
                crate::ErrorKind::Unavailable,
                "a write is in progress on this engine: close it when the write finishes",
            )
            .with_retryable(true));
        };
        for reader in &self.readers {
            let conn = reader
                .lock()
                .map_err(|_| Error::internal("sqlite reader lock poisoned"))?
                .take();
            if let Some(c) = conn {
                c.close().map_err(|(_, e)| sql_error(e))?;
            }
        }
        match writer.take() {
            Some(c) => c.close().map_err(|(_, e)| sql_error(e)),
            None => Ok(()),
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
impl Tx for SqliteTx<'_> {
    fn backend(&self) -> &'static str {
        "sqlite"
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
        events::append(self.conn()?, tenant, change)
    }

    async fn prune_events(
        &mut self,
        tenant: &TenantId,
        keep_from: u64,
        older_than: Timestamp,
    ) -> Result<()> {
        events::prune(self.conn()?, tenant, keep_from, older_than)
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        self.conn()?.execute_batch("COMMIT").map_err(sql_error)?;
        self.open = false;
        Ok(())
    }
}
