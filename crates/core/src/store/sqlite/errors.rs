//! SQLite failures as core errors, and unique constraints matched by name.

use rusqlite::ErrorCode;

use crate::{Error, ErrorKind};

/// Map SQLite failures to `storage` with a message a host can act on; a busy database is
/// retryable.
pub(super) fn sql_error(e: rusqlite::Error) -> Error {
    let (message, retryable) = match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => (
            "the file is not a tagsmith database (or it is corrupt)".to_owned(),
            false,
        ),
        Some(ErrorCode::DatabaseCorrupt) => ("the database file is corrupt".to_owned(), false),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => (
            "the database is locked by another connection (busy timeout expired): retry".to_owned(),
            true,
        ),
        Some(ErrorCode::ReadOnly) => ("the database is read-only".to_owned(), false),
        Some(ErrorCode::CannotOpen) => ("the database file cannot be opened".to_owned(), false),
        _ => (format!("sqlite: {e}"), false),
    };
    Error::new(ErrorKind::Storage, message)
        .with_retryable(retryable)
        .with_source(e)
}

/// The unique constraints of the schema, by name, with the column list SQLite reports when one
/// is violated (SQLite names columns, not constraints, in its message; Postgres names the
/// constraint, so callers match on these names either way).
const UNIQUE: &[(&str, &str)] = &[
    ("tenants_id", "tenants.id"),
    ("customers_id", "customers.id"),
    ("trackings_id", "trackings.id"),
    (
        "trackings_live_name",
        "trackings.tenant_id, trackings.customer_id, trackings.name",
    ),
    ("events_pk", "events.tenant_id, events.seq"),
];

/// The name of the unique constraint `e` violated, if that is what it is.
pub(super) fn violated_unique(e: &rusqlite::Error) -> Option<&'static str> {
    let rusqlite::Error::SqliteFailure(f, Some(message)) = e else {
        return None;
    };
    if f.extended_code != rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
        && f.extended_code != rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    {
        return None;
    }
    let columns = message.split_once("constraint failed: ")?.1;
    UNIQUE
        .iter()
        .find(|(_, cols)| *cols == columns)
        .map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violations_are_named() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE trackings (id TEXT UNIQUE, tenant_id TEXT, customer_id TEXT, name TEXT);
             CREATE UNIQUE INDEX n ON trackings (tenant_id, customer_id, name);
             INSERT INTO trackings VALUES ('a', 't', 'c', 'x');",
        )
        .unwrap();
        let dup_id = conn
            .execute("INSERT INTO trackings VALUES ('a', 't', 'c', 'y')", [])
            .unwrap_err();
        assert_eq!(violated_unique(&dup_id), Some("trackings_id"));
        let dup_name = conn
            .execute("INSERT INTO trackings VALUES ('b', 't', 'c', 'x')", [])
            .unwrap_err();
        assert_eq!(violated_unique(&dup_name), Some("trackings_live_name"));
    }
}
