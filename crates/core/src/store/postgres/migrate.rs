//! Numbered migrations of the PostgreSQL backend, in tagsmith's schema, each recorded with its
//! SHA-256 in `schema_migrations`. They run in one transaction under a transaction-scoped
//! advisory lock keyed by the schema, so processes starting at once migrate once; a database
//! whose record differs from this build's text, or that is newer, is refused.

use sqlx::PgPool;

use super::errors::db_error;
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
        name: "0002_jobs",
        sql: include_str!("0002_jobs.sql"),
    },
    Migration {
        version: 3,
        name: "0003_activity",
        sql: include_str!("0003_activity.sql"),
    },
    Migration {
        version: 4,
        name: "0004_lease_index",
        sql: include_str!("0004_lease_index.sql"),
    },
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Bring `schema` to [`SCHEMA_VERSION`].
pub(super) async fn migrate(pool: PgPool, schema: String) -> Result<()> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    // Waits for any other process migrating the same schema, released at commit.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("tagsmith migrations: {schema}"))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    // The schema name was checked to be a plain lowercase identifier.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}; SET LOCAL search_path TO {schema}; \
         CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, \
         name TEXT NOT NULL, checksum TEXT NOT NULL, \
         applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )))
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    let applied: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
    let current = applied.last().map_or(0, |(v, _, _)| *v);
    if current > SCHEMA_VERSION {
        return Err(Error::storage(format!(
            "the PostgreSQL schema {schema} has schema version {current}, newer than \
             {SCHEMA_VERSION} which this tagsmith supports: upgrade tagsmith to open it"
        )));
    }
    for (version, name, sum) in &applied {
        let Some(m) = MIGRATIONS.iter().find(|m| m.version == *version) else {
            continue;
        };
        let expected = checksum(m.sql);
        if *sum != expected {
            return Err(Error::storage(format!(
                "migration {version} ({name}) applied to the PostgreSQL schema {schema} differs \
                 from this build's (checksum {sum}, expected {expected}): a landed migration was \
                 edited"
            )));
        }
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        sqlx::raw_sql(m.sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(e).context(&format!("migration {} ({})", m.version, m.name)))?;
        sqlx::query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)")
            .bind(m.version)
            .bind(m.name)
            .bind(checksum(m.sql))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
    }
    tx.commit().await.map_err(db_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_numbered_in_order() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
            assert!(m.name.starts_with(&format!("{:04}_", m.version)));
        }
    }
}
