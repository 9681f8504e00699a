//! The queue across processes on one SQLite file, and on one PostgreSQL schema: worker
//! processes killed with SIGKILL at random moments lose no job; two workers split the jobs
//! without running one twice; SIGTERM shuts a worker down gracefully. Real processes of the
//! real binary.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Where the processes meet: a fresh SQLite file, or a fresh schema of the test PostgreSQL.
struct Db {
    db: String,
    schema: Option<String>,
}

fn db(tag: &str) -> Db {
    let dir = std::env::temp_dir().join(format!("tagsmith-jobs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{tag}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Db {
        db: path.display().to_string(),
        schema: None,
    }
}

/// A fresh schema on the server `TAGSMITH_TEST_POSTGRES` names (scripts/test.sh sets it).
fn postgres(tag: &str) -> Db {
    let url = std::env::var("TAGSMITH_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!(
            "TAGSMITH_TEST_POSTGRES is not set: run ./scripts/test.sh, or export \
             TAGSMITH_TEST_POSTGRES=$(./scripts/postgres.sh)"
        )
    });
    Db {
        db: url,
        schema: Some(format!("t_cli_{tag}_{}", std::process::id())),
    }
}

fn tagsmith(db: &Db, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tagsmith"));
    c.arg("--json").arg("--db").arg(&db.db);
    if let Some(s) = &db.schema {
        c.arg("--schema").arg(s);
    }
    c.args(args);
    c
}

fn ok(db: &Db, args: &[&str]) -> Value {
    let out = tagsmith(db, args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{args:?}: {stdout} / {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

fn spawn_worker(db: &Db, extra: &[&str]) -> Child {
    let mut args = vec!["worker", "--concurrency", "8", "--lease-ms", "1000"];
    args.extend_from_slice(extra);
    tagsmith(db, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A small xorshift: the kill moments only need to differ from run to run.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Per-state counts, and how many attempts ran beyond the first (duplicate executions),
/// read through the CLI page by page.
fn tally(db: &Db) -> (Value, i64, i64) {
    let stats = ok(db, &["jobs", "stats"]);
    let (mut extra, mut twice, mut after) = (0, 0, 0);
    loop {
        let page = ok(
            db,
            &[
                "jobs",
                "list",
                "--after",
                &after.to_string(),
                "--limit",
                "1000",
            ],
        );
        let jobs = page.as_array().unwrap();
        let Some(last) = jobs.last() else {
            break;
        };
        after = last["id"].as_i64().unwrap();
        for j in jobs {
            let attempt = j["attempt"].as_i64().unwrap();
            extra += (attempt - 1).max(0);
            twice += i64::from(attempt > 1);
        }
    }
    (stats, extra, twice)
}

#[test]
fn workers_killed_at_random_lose_no_job() {
    crash_test(&db("crash"));
}

#[test]
fn workers_killed_at_random_lose_no_job_on_postgres() {
    crash_test(&postgres("crash"));
}

fn crash_test(db: &Db) {
    let jobs = 10_000;
    let added = ok(
        db,
        &[
            "jobs",
            "enqueue",
            "--kind",
            "sleep",
            "--args",
            r#"{"ms": 10}"#,
            "--count",
            "10000",
        ],
    );
    assert_eq!(added["enqueued"], jobs);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut rng = Rng(seed | 1);
    let mut workers = vec![spawn_worker(db, &[]), spawn_worker(db, &[])];
    let started = Instant::now();
    // A worker process on PostgreSQL takes longer to start (connect, check the schema,
    // listen): kill less often there, so most kills still land mid-job.
    let (base, spread) = if db.schema.is_some() {
        (150, 150)
    } else {
        (20, 100)
    };
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(base + rng.below(spread)));
        let i = rng.below(workers.len() as u64) as usize;
        workers[i].kill().unwrap(); // SIGKILL: no shutdown, leases left behind
        workers[i].wait().unwrap();
        workers[i] = spawn_worker(db, &[]);
    }
    let killing = started.elapsed();
    let (mid, _, _) = tally(db);
    for w in &mut workers {
        w.kill().unwrap();
        w.wait().unwrap();
    }
    // A last worker waits out the dead workers' leases and finishes everything.
    let out = spawn_worker(db, &["--exit-when-idle"])
        .wait_with_output()
        .unwrap();
    assert!(out.status.success());
    let (stats, extra, twice) = tally(db);
    eprintln!(
        "crash test on {}: 50 SIGKILLs over {killing:?} (completed {} by then); {jobs} jobs, \
         {twice} ran more than once, {extra} duplicate executions in all (at-least-once)",
        if db.schema.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        mid["completed"]
    );
    assert_eq!(stats["completed"], jobs, "{stats}");
    for state in [
        "available",
        "scheduled",
        "running",
        "retryable",
        "discarded",
        "cancelled",
    ] {
        assert_eq!(stats[state], 0, "{state}: {stats}");
    }
    assert!(
        mid["completed"].as_i64().unwrap() < jobs,
        "the kills came after the work was done: nothing was tested"
    );
}

#[test]
fn two_workers_split_the_jobs_and_run_none_twice() {
    split_test(&db("split"));
}

#[test]
fn two_workers_split_the_jobs_and_run_none_twice_on_postgres() {
    split_test(&postgres("split"));
}

fn split_test(db: &Db) {
    ok(
        db,
        &[
            "jobs",
            "enqueue",
            "--kind",
            "sleep",
            "--args",
            r#"{"ms": 2}"#,
            "--count",
            "2000",
        ],
    );
    let a = spawn_worker(db, &["--exit-when-idle"]);
    let b = spawn_worker(db, &["--exit-when-idle"]);
    let reports: Vec<Value> = [a, b]
        .into_iter()
        .map(|w| {
            let out = w.wait_with_output().unwrap();
            assert!(out.status.success());
            serde_json::from_slice(&out.stdout).unwrap()
        })
        .collect();
    let done: Vec<i64> = reports
        .iter()
        .map(|r| r["completed"].as_i64().unwrap())
        .collect();
    assert_eq!(done.iter().sum::<i64>(), 2000, "{reports:?}");
    assert!(
        done.iter().all(|n| *n > 0),
        "one worker did everything: {reports:?}"
    );
    let (stats, extra, _) = tally(db);
    assert_eq!(stats["completed"], 2000);
    assert_eq!(extra, 0, "no lease expired, so no job may run twice");
}

#[cfg(unix)]
#[test]
fn sigterm_shuts_a_worker_down_gracefully() {
    let db = db("sigterm");
    ok(
        &db,
        &[
            "jobs",
            "enqueue",
            "--kind",
            "sleep",
            "--args",
            r#"{"ms": 300}"#,
            "--count",
            "4",
        ],
    );
    let w = spawn_worker(&db, &["--shutdown-ms", "5000"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while ok(&db, &["jobs", "stats"])["running"] != 4 {
        assert!(
            Instant::now() < deadline,
            "the worker never claimed the jobs"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args(["-TERM", &w.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = w.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["completed"], 4,
        "running jobs finish within the deadline: {report}"
    );
    let stats = ok(&db, &["jobs", "stats"]);
    assert_eq!(
        (stats["completed"].as_i64(), stats["running"].as_i64()),
        (Some(4), Some(0))
    );
}
