//! The PostgreSQL server restarting under load: a call made while it is down waits up to the
//! connect timeout and then fails with a retryable `unavailable`, workers back off and resume,
//! and every job completes — none lost, none left running. Its own test binary, so nothing else runs against the server meanwhile.
//! Needs `TAGSMITH_TEST_POSTGRES_RESTART`, the command that restarts the server
//! (`scripts/test.sh` sets it to `pg_ctlcluster <version> main restart` when it started the
//! local one); skipped, saying so, when the server is not ours to restart.
#![cfg(feature = "postgres")]
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tagsmith_core::queue::{NewJob, Worker, WorkerOptions};
use tagsmith_core::store::postgres::PgStore;
use tagsmith_core::{Engine, Storage, SystemEnv};

mod common;

#[test]
fn a_server_restart_under_load_loses_nothing() {
    let Ok(restart) = std::env::var("TAGSMITH_TEST_POSTGRES_RESTART") else {
        eprintln!("skipped: TAGSMITH_TEST_POSTGRES_RESTART is not set (the server is not ours)");
        return;
    };
    // A short connect timeout, so a call made while the server is down fails soon instead of
    // waiting for it, and enough connections for the worker and the test's calls.
    let options = tagsmith_core::store::postgres::PgOptions {
        connect_timeout: Duration::from_secs(1),
        max_connections: 10,
        ..common::postgres_options()
    };
    let store = PgStore::connect(&common::postgres_url(), &options).unwrap();
    let engine = Engine::new(Storage::new(store.clone()), Arc::new(SystemEnv));
    let jobs = 3000;
    let batch: Vec<NewJob> = (0..jobs)
        .map(|_| NewJob::new("sleep", serde_json::json!({"ms": 2})))
        .collect();
    let rt = tagsmith_core::queue::driving_runtime().unwrap();
    rt.block_on(async {
        for r in engine.jobs().enqueue_many(batch).await.unwrap() {
            r.unwrap();
        }
        let options = WorkerOptions {
            queues: vec![("default".to_owned(), 20)],
            poll_ms: 200,
            ..WorkerOptions::default()
        };
        let handle = Worker::new(&engine, options).unwrap().start();
        // Let it get going, then restart the server under it.
        let deadline = Instant::now() + Duration::from_secs(60);
        while engine.jobs().stats(None).await.map_or(0, |s| s.completed) < 300 {
            assert!(Instant::now() < deadline, "the worker never got going");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let restarting = tokio::task::spawn_blocking(move || {
            std::process::Command::new("sh")
                .args(["-c", &restart])
                .status()
                .unwrap()
        });
        // Calls while it is down are typed, retryable errors, never hangs or panics.
        let mut refused = Vec::new();
        while !restarting.is_finished() {
            if let Err(e) = engine.jobs().stats(None).await {
                refused.push(e);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            restarting.await.unwrap().success(),
            "the restart command failed"
        );
        // (A restart can be quicker than the calls: then none failed, which is fine too.)
        for e in &refused {
            assert!(
                e.code() == "unavailable" && e.is_retryable(),
                "{}: {e}",
                e.code()
            );
        }
        // Everything completes after it: nothing lost, nothing left running.
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            match engine.jobs().stats(None).await {
                Ok(s) if s.completed == jobs as u64 => break,
                _ => {}
            }
            assert!(
                Instant::now() < deadline,
                "not every job completed after the restart: {:?}",
                engine.jobs().stats(None).await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        handle.shutdown(Duration::from_secs(10)).await;
        let stats = engine.jobs().stats(None).await.unwrap();
        assert_eq!(
            (stats.running, stats.available, stats.retryable),
            (0, 0, 0),
            "{stats:?}"
        );
        eprintln!(
            "restart test: {jobs} jobs completed across a server restart; {} calls refused \
             during it{}",
            refused.len(),
            refused
                .first()
                .map_or(String::new(), |e| format!(", e.g. {e}"))
        );
    });
    store.drop_schema().unwrap();
}
