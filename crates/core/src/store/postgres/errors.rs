//! PostgreSQL failures as core errors (by SQLSTATE), unique constraints by name, and messages
//! with credentials masked.

use crate::{Error, ErrorKind};

/// `text` with any URL credentials masked.
pub(super) fn redacted(text: &str) -> String {
    crate::redact::secrets(text).into_owned()
}

/// How the schema's `enqueue` functions start their errors.
const ENQUEUE: &str = "tagsmith.enqueue: ";

/// `invalid_input` from an `enqueue` error: `tagsmith.enqueue: <field> ['<value>']: <reason>`.
fn enqueue_error(text: &str) -> Error {
    let rest = text.strip_prefix(ENQUEUE).unwrap_or(text);
    let (head, reason) = rest.split_once(": ").unwrap_or((rest, "is not valid"));
    let (field, value) = head.split_once(' ').unwrap_or((head, ""));
    let value = value.trim_matches('\'');
    Error::invalid_field(field, value, reason)
}

/// Map a sqlx failure to the core error a host can act on.
pub(super) fn db_error(e: sqlx::Error) -> Error {
    let (kind, message, retryable) = match &e {
        sqlx::Error::Database(d) => {
            let code = d.code().map(|c| c.into_owned()).unwrap_or_default();
            let text = redacted(d.message());
            match code.as_str() {
                // invalid_password, invalid_authorization_specification
                "28P01" | "28000" => (
                    ErrorKind::Unauthorized,
                    format!("PostgreSQL refused the login: {text}"),
                    false,
                ),
                // invalid_parameter_value, raised by the schema's `enqueue` naming the argument
                "22023" if text.starts_with(ENQUEUE) => return enqueue_error(&text),
                // insufficient_privilege
                "42501" => (
                    ErrorKind::Forbidden,
                    format!("PostgreSQL refused the statement: {text}"),
                    false,
                ),
                // query_canceled: statement_timeout (or a cancel request)
                "57014" => (
                    ErrorKind::Timeout,
                    format!("the statement ran past its timeout: {text}"),
                    true,
                ),
                // serialization_failure, deadlock_detected
                "40001" | "40P01" => (
                    ErrorKind::Storage,
                    format!("a concurrent transaction got in the way (retry): {text}"),
                    true,
                ),
                // admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections,
                // connection_exception class
                c if matches!(c, "57P01" | "57P02" | "57P03" | "53300") || c.starts_with("08") => (
                    ErrorKind::Unavailable,
                    format!("PostgreSQL is not available: {text}"),
                    true,
                ),
                // invalid_catalog_name: the database does not exist
                "3D000" => (
                    ErrorKind::Unavailable,
                    format!("PostgreSQL has no such database: {text}"),
                    false,
                ),
                _ => (
                    ErrorKind::Storage,
                    format!("postgres: {text} (SQLSTATE {code})"),
                    false,
                ),
            }
        }
        sqlx::Error::Io(io) => (
            ErrorKind::Unavailable,
            format!("cannot reach PostgreSQL: {}", redacted(&io.to_string())),
            true,
        ),
        sqlx::Error::PoolTimedOut => (
            ErrorKind::Unavailable,
            "no PostgreSQL connection became free in time (pool exhausted or server unreachable)"
                .to_owned(),
            true,
        ),
        sqlx::Error::PoolClosed => (
            ErrorKind::Unavailable,
            "the engine was closed".to_owned(),
            false,
        ),
        sqlx::Error::Tls(t) => (
            ErrorKind::Unavailable,
            format!("TLS with PostgreSQL failed: {}", redacted(&t.to_string())),
            false,
        ),
        sqlx::Error::Configuration(c) => (
            ErrorKind::InvalidInput,
            format!("bad PostgreSQL settings: {}", redacted(&c.to_string())),
            false,
        ),
        other => (
            ErrorKind::Storage,
            format!("postgres: {}", redacted(&other.to_string())),
            false,
        ),
    };
    Error::new(kind, message).with_retryable(retryable)
}

/// The unique constraint (or unique index) `e` violated, if that is what it is. PostgreSQL names
/// it; the schema names them as on SQLite.
pub(super) fn violated_unique(e: &sqlx::Error) -> Option<String> {
    let sqlx::Error::Database(d) = e else {
        return None;
    };
    if d.code().as_deref() != Some("23505") {
        return None;
    }
    d.constraint().map(str::to_owned)
}
