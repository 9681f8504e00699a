//! Numbered migrations with checksums. `PRAGMA user_version` is the number applied; the
//! `schema_migrations` table (from schema 2) records each applied migration's SHA-256, and a
//! database whose record differs from this build's text is refused: a landed migration must
//! never be edited.

use rusqlite::{Connection, params};

use super::errors::sql_error;
use crate::store::{Migration, migration_checksum as checksum};
use crate::{Error, Result};

/// Migrations in order; never edit one that has landed, add the next.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_init",
        sql: include_str!("0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "0002_event_log",
        sql: include_str!("0002_event_log.sql"),
    },
    Migration {
        version: 3,
        name: "0003_jobs",
        sql: include_str!("0003_jobs.sql"),
    },
    Migration {
        version: 4,
        name: "0004_jobs_due_or",
        sql: include_str!("0004_jobs_due_or.sql"),
    },
    Migration {
        version: 5,
        name: "0005_activity",
        sql: include_str!("0005_activity.sql"),
    },
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The first schema with the `schema_migrations` table.
const CHECKSUMS_FROM: i64 = 2;

/// Bring the database to [`SCHEMA_VERSION`] in one IMMEDIATE transaction.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
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
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.execute_batch(m.sql)
            .map_err(|e| sql_error(e).context(&format!("migration {} ({})", m.version, m.name)))?;
    }
    if SCHEMA_VERSION >= CHECKSUMS_FROM {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        for m in MIGRATIONS {
            let recorded: Option<String> = tx
                .query_row(
                    "SELECT checksum FROM schema_migrations WHERE version = ?1",
                    [m.version],
                    |r| r.get(0),
                )
                .map_or_else(
                    |e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        e => Err(sql_error(e)),
                    },
                    |c| Ok(Some(c)),
                )?;
            let expected = checksum(m.sql);
            match recorded {
                Some(c) if c != expected => {
                    return Err(Error::storage(format!(
                        "migration {} ({}) applied to this database differs from this build's \
                         (checksum {c}, expected {expected}): a landed migration was edited",
                        m.version, m.name
                    )));
                }
                Some(_) => {}
                None => {
                    tx.execute(
                        "INSERT INTO schema_migrations (version, name, checksum, applied_at) \
                         VALUES (?1, ?2, ?3, ?4)",
                        params![m.version, m.name, expected, now],
                    )
                    .map_err(sql_error)?;
                }
            }
        }
    }
    if current != SCHEMA_VERSION {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(sql_error)?;
    }
    tx.commit().map_err(sql_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edited_migration_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute(
            "UPDATE schema_migrations SET checksum = 'x' WHERE version = 1",
            [],
        )
        .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(err.message().contains("was edited"), "{err}");
    }

    #[test]
    fn versions_are_numbered_in_order() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
            assert!(m.name.starts_with(&format!("{:04}_", m.version)));
        }
    }
}
