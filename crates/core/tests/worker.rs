//! Workers on a real runtime and a real SQLite file: retries, bad jobs, panics, hangs, periodic
//! jobs, cancellation, graceful shutdown.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tagsmith_core::Engine;
use tagsmith_core::queue::{
    HandlerError, JobContext, JobFilter, JobState, KindOptions, NewJob, Worker, WorkerOptions,
};

fn engine() -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path().join("jobs.db")).unwrap();
    (engine, dir)
}

fn fast() -> WorkerOptions {
    WorkerOptions {
        max_backoff_ms: 10,
        poll_ms: 50,
        maintenance_ms: 50,
        ..WorkerOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_until_idle_retrying_failures_and_discarding_bad_jobs() {
    let (engine, _dir) = engine();
    let jobs = engine.jobs();
    let added = jobs
        .enqueue_many(vec![
            NewJob::new("noop", serde_json::json!({})),
            NewJob::new("sleep", serde_json::json!({"ms": 5})),
            NewJob::new("flaky", serde_json::json!({})),
            NewJob::new("nobody_handles_this", serde_json::json!({})),
            NewJob::new("sleep", serde_json::json!({"ms": "soon"})),
            NewJob::new("panics", serde_json::json!({})),
            NewJob::new("bad kind!", serde_json::json!({})),
        ])
        .await
        .unwrap();
    // The bad item is rejected on its own, naming its field; the others are in.
    let err = added[6].as_ref().unwrap_err();
    assert_eq!(err.fields()[0].field, "jobs[6].kind");
    let id = |i: usize| added[i].as_ref().unwrap().id;

    let tries = Arc::new(AtomicU32::new(0));
    let mut w = Worker::new(&engine, fast()).unwrap();
    let t = tries.clone();
    w.register("flaky", move |_ctx: JobContext| {
        let t = t.clone();
        async move {
            if t.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(HandlerError::new("upstream said 503"))
            } else {
                Ok(())
            }
        }
    });
    w.register("panics", |ctx: JobContext| async move {
        if ctx.job.attempt < 2 {
            panic!("handler bug on attempt {}", ctx.job.attempt);
        }
        Ok(())
    });
    let report = w.run_until_idle().await.unwrap();
    assert_eq!(report.completed, 4, "{report:?}");
    assert_eq!(report.retried, 3, "{report:?}");
    assert_eq!(report.discarded, 2, "{report:?}");

    let flaky = jobs.get(id(2)).await.unwrap();
    assert_eq!(
        (flaky.state, flaky.attempt, flaky.errors.len()),
        (JobState::Completed, 3, 2)
    );
    assert_eq!(flaky.errors[0].message, "upstream said 503");
    let unknown = jobs.get(id(3)).await.unwrap();
    assert_eq!(unknown.state, JobState::Discarded);
    assert!(
        unknown.errors[0].message.contains("no handler for kind"),
        "{:?}",
        unknown.errors
    );
    let bad_args = jobs.get(id(4)).await.unwrap();
    assert_eq!(bad_args.state, JobState::Discarded);
    assert!(
        bad_args.errors[0].message.contains("ms"),
        "{:?}",
        bad_args.errors
    );
    let panicked = jobs.get(id(5)).await.unwrap();
    assert_eq!(panicked.state, JobState::Completed);
    assert!(
        panicked.errors[0]
            .message
            .contains("handler bug on attempt 1"),
        "{:?}",
        panicked.errors
    );
    let stats = jobs.stats(None).await.unwrap();
    assert_eq!((stats.completed, stats.discarded, stats.running), (4, 2, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_handler_times_out_and_the_worker_lives() {
    let (engine, _dir) = engine();
    let mut hang = NewJob::new("hangs", serde_json::json!({}));
    hang.max_attempts = 1;
    let h = engine.jobs().enqueue(hang).await.unwrap().id;
    let n = engine
        .jobs()
        .enqueue(NewJob::new("noop", serde_json::json!({})))
        .await
        .unwrap()
        .id;
    let mut w = Worker::new(&engine, fast()).unwrap();
    w.register_with(
        "hangs",
        |_ctx: JobContext| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        },
        KindOptions {
            timeout: Some(Duration::from_millis(100)),
            max_backoff: None,
        },
    );
    w.run_until_idle().await.unwrap();
    let job = engine.jobs().get(h).await.unwrap();
    assert_eq!(job.state, JobState::Discarded);
    assert!(
        job.errors[0].message.contains("timed out after 100 ms"),
        "{:?}",
        job.errors
    );
    assert_eq!(
        engine.jobs().get(n).await.unwrap().state,
        JobState::Completed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_releases_unfinished_jobs_and_cancel_stops_a_running_one() {
    let (engine, _dir) = engine();
    let long = engine
        .jobs()
        .enqueue(NewJob::new("sleep", serde_json::json!({"ms": 60_000})))
        .await
        .unwrap()
        .id;
    let cancelled = engine
        .jobs()
        .enqueue(NewJob::new("sleep", serde_json::json!({"ms": 60_000})))
        .await
        .unwrap()
        .id;
    let options = WorkerOptions {
        lease_ms: 300,
        ..fast()
    };
    let handle = Worker::new(&engine, options).unwrap().start();
    wait_for(&engine, |s| s.running == 2).await;
    engine.jobs().cancel(cancelled).await.unwrap();
    // The heartbeat (every 100 ms here) finds it lost and stops its handler.
    for _ in 0..100 {
        if handle.report().lost == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(handle.report().lost, 1);
    let report = handle.shutdown(Duration::from_millis(100)).await;
    assert_eq!(report.released, 1, "{report:?}");
    let job = engine.jobs().get(long).await.unwrap();
    assert_eq!(
        (job.state, job.attempt, job.lease_owner),
        (JobState::Available, 0, None)
    );
    assert_eq!(
        engine.jobs().get(cancelled).await.unwrap().state,
        JobState::Cancelled
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn periodic_jobs_are_added_once_per_occurrence_by_many_workers() {
    let (engine, _dir) = engine();
    let mut a = Worker::new(&engine, fast()).unwrap();
    let mut b = Worker::new(&engine, fast()).unwrap();
    for w in [&mut a, &mut b] {
        w.periodic(
            "tick",
            "* * * * * *",
            NewJob::new("noop", serde_json::json!({})),
        )
        .unwrap();
    }
    let err = a
        .periodic(
            "bad",
            "61 * * * *",
            NewJob::new("noop", serde_json::json!({})),
        )
        .unwrap_err();
    assert_eq!(
        (err.code(), err.fields()[0].field.as_str()),
        ("invalid_input", "cron")
    );
    let (a, b) = (a.start(), b.start());
    tokio::time::sleep(Duration::from_millis(3300)).await;
    a.shutdown(Duration::from_secs(1)).await;
    b.shutdown(Duration::from_secs(1)).await;
    let jobs = engine.jobs().list(&JobFilter::default()).await.unwrap();
    let mut keys: Vec<_> = jobs.iter().map(|j| j.unique_key.clone().unwrap()).collect();
    let n = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), n, "an occurrence was added twice: {keys:?}");
    assert!((2..=4).contains(&n), "{n} occurrences in 3.3 s");
    assert!(
        jobs.iter().all(|j| j.state == JobState::Completed),
        "{jobs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_and_states_reach_the_tenants_subscribers() {
    let (engine, _dir) = engine();
    let tenant = engine.create_tenant("Acme").await.unwrap();
    let mut sub = engine.subscribe(&tenant.id, None).await.unwrap();
    let id = engine
        .jobs()
        .enqueue(NewJob::new("crawl", serde_json::json!({})).tenant(tenant.id.clone()))
        .await
        .unwrap()
        .id;
    let mut w = Worker::new(&engine, fast()).unwrap();
    w.register("crawl", |ctx: JobContext| async move {
        ctx.progress(50, Some("half way".into())).await?;
        Ok(())
    });
    w.run_until_idle().await.unwrap();
    let mut seen = Vec::new();
    while let Some(tagsmith_core::Received::Event(e)) = sub.try_next().await.unwrap() {
        seen.push((
            e.entity.as_str(),
            e.action.as_str(),
            e.job_state.map(|s| s.as_str()),
        ));
        if e.entity.as_str() == "job" {
            assert_eq!(e.id, id.to_string());
        }
    }
    assert_eq!(
        seen,
        [
            ("job", "created", Some("available")),
            ("job", "status_changed", Some("running")),
            ("job", "updated", Some("running")),
            ("job", "status_changed", Some("completed")),
        ]
    );
    assert_eq!(
        engine
            .jobs()
            .get(id)
            .await
            .unwrap()
            .progress
            .unwrap()
            .percent,
        50
    );
}

async fn wait_for(engine: &Engine, ok: impl Fn(&tagsmith_core::queue::JobStats) -> bool) {
    for _ in 0..250 {
        if ok(&engine.jobs().stats(None).await.unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "timed out waiting: {:?}",
        engine.jobs().stats(None).await.unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracking_change_and_its_sync_job_commit_together() {
    let dir = tempfile::tempdir().unwrap();
    let options: tagsmith_core::EngineOptions = tagsmith_core::from_json(serde_json::json!({
        "sync_jobs": {"kind": "sync_tracking"}
    }))
    .unwrap();
    let engine = Engine::open_with(dir.path().join("sync.db"), &options).unwrap();
    let tenant = engine.create_tenant("Acme").await.unwrap();
    let shop = engine
        .customers(tenant.id.clone())
        .create(
            tagsmith_core::from_json(serde_json::json!({
                "name": "Shop", "website_url": "https://shop.example"
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let trackings = engine.trackings(tenant.id.clone());
    let t = trackings
        .create(tagsmith_core::from_json(serde_json::json!({
            "customer_id": shop.id, "name": "Buy", "kind": "button_click", "selector": "button.buy"
        })).unwrap())
        .await
        .unwrap();
    let jobs = engine.jobs().list(&JobFilter::default()).await.unwrap();
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(
        (job.kind.as_str(), job.tenant_id.as_ref()),
        ("sync_tracking", Some(&tenant.id))
    );
    assert_eq!(job.args["tracking_id"], t.id.as_str());
    assert_eq!(
        job.unique_key.as_deref(),
        Some(format!("sync:{}", t.id).as_str())
    );
    // An edit while the sync waits is absorbed by it; a stale edit adds nothing.
    let patch = |v: i64| tagsmith_core::TrackingPatch {
        version: v,
        name: Some(format!("Buy {v}")),
        ..Default::default()
    };
    trackings.update(&t.id, patch(1)).await.unwrap();
    assert_eq!(
        trackings.update(&t.id, patch(1)).await.unwrap_err().code(),
        "conflict"
    );
    assert_eq!(engine.jobs().stats(None).await.unwrap().available, 1);
    // Once it ran, the next edit causes the next sync.
    let mut w = Worker::new(&engine, fast()).unwrap();
    w.register("sync_tracking", |_ctx: JobContext| async { Ok(()) });
    w.run_until_idle().await.unwrap();
    trackings.delete(&t.id, None).await.unwrap();
    let stats = engine.jobs().stats(Some(&tenant.id)).await.unwrap();
    assert_eq!((stats.completed, stats.available), (1, 1));
    // A bad kind in the options is refused naming the field.
    let bad: tagsmith_core::EngineOptions =
        tagsmith_core::from_json(serde_json::json!({"sync_jobs": {"kind": "no spaces"}})).unwrap();
    let err = Engine::open_with(dir.path().join("other.db"), &bad).unwrap_err();
    assert_eq!(err.fields()[0].field, "sync_jobs.kind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_file_makes_the_worker_back_off_and_resume_losing_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    let options: tagsmith_core::EngineOptions =
        tagsmith_core::from_json(serde_json::json!({"busy_timeout_ms": 50})).unwrap();
    let engine = Engine::open_with(&path, &options).unwrap();
    let jobs: Vec<NewJob> = (0..200)
        .map(|_| NewJob::new("sleep", serde_json::json!({"ms": 2})))
        .collect();
    for r in engine.jobs().enqueue_many(jobs).await.unwrap() {
        r.unwrap();
    }
    let handle = Worker::new(&engine, fast()).unwrap().start();
    // Another process takes the write lock for a while, mid-run: claims and completions fail
    // with a busy (retryable) error until it lets go.
    wait_for(&engine, |s| s.completed > 0).await;
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let locked_at = engine.jobs().stats(None).await.unwrap().completed;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let during = engine.jobs().stats(None).await.unwrap();
    other.execute_batch("COMMIT").unwrap();
    assert!(
        during.completed <= locked_at + 1,
        "nothing commits while the file is locked"
    );
    wait_for(&engine, |s| s.completed == 200).await;
    let report = handle.shutdown(Duration::from_secs(5)).await;
    assert_eq!(report.lost, 0, "{report:?}");
    let stats = engine.jobs().stats(None).await.unwrap();
    assert_eq!(
        (stats.completed, stats.running, stats.available),
        (200, 0, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_file_stops_writes_and_a_restored_one_resumes_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("removed.db");
    let engine = Engine::open(&path).unwrap();
    let id = engine
        .jobs()
        .enqueue(NewJob::new("noop", serde_json::json!({})))
        .await
        .unwrap()
        .id;
    let moved = dir.path().join("moved-aside.db");
    std::fs::rename(&path, &moved).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::rename(
            format!("{}{suffix}", path.display()),
            format!("{}{suffix}", moved.display()),
        );
    }
    let err = engine
        .jobs()
        .enqueue(NewJob::new("noop", serde_json::json!({})))
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.is_retryable()), ("storage", true), "{err}");
    assert!(err.message().contains("removed or replaced"), "{err}");
    let err = engine.create_tenant("Ghost").await.unwrap_err();
    assert_eq!(err.code(), "storage");
    // A worker backs off (it never claims from the ghost), and a new engine opens the file where
    // it is now, with the job that was committed.
    let handle = Worker::new(&engine, fast()).unwrap().start();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(handle.shutdown(Duration::from_secs(1)).await.completed, 0);
    let moved_engine = Engine::open(&moved).unwrap();
    assert_eq!(
        moved_engine.jobs().get(id).await.unwrap().state,
        JobState::Available
    );
}
