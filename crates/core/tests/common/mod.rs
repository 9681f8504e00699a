//! What several test files share: the test PostgreSQL (`TAGSMITH_TEST_POSTGRES`, set by
//! `scripts/test.sh` from `scripts/postgres.sh`), one fresh schema per store.
#![allow(dead_code, clippy::panic, clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "postgres")]
pub use pg::*;

#[cfg(feature = "postgres")]
mod pg {
    use std::sync::atomic::{AtomicU32, Ordering};

    use tagsmith_core::store::postgres::{PgOptions, PgStore};

    /// The test server's URL: `scripts/test.sh` sets it (`scripts/postgres.sh` starts the
    /// local PostgreSQL and prints it); point it at any server you can create schemas on.
    pub fn postgres_url() -> String {
        std::env::var("TAGSMITH_TEST_POSTGRES").unwrap_or_else(|_| {
            panic!(
                "TAGSMITH_TEST_POSTGRES is not set: run ./scripts/test.sh, or export \
                 TAGSMITH_TEST_POSTGRES=$(./scripts/postgres.sh) (or a postgres:// URL of a \
                 server where the user may create schemas)"
            )
        })
    }

    /// A schema no other test uses (`t_` + process, counter and clock; dropped by the next
    /// `scripts/postgres.sh`).
    pub fn fresh_schema() -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        format!(
            "t_{}_{}_{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Options for a fresh schema on the test server.
    pub fn postgres_options() -> PgOptions {
        PgOptions {
            schema: fresh_schema(),
            max_connections: 4,
            ..PgOptions::default()
        }
    }

    /// A store on a fresh schema of the test server.
    pub fn postgres_store() -> PgStore {
        PgStore::connect(&postgres_url(), &postgres_options()).unwrap()
    }
}
