//! `tagsmith jobs …` and `tagsmith worker`: the queue from the command line, and its bench.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tagsmith_core::queue::{JobContext, JobFilter, JobId, NewJob, Worker, WorkerOptions};
use tagsmith_core::{Engine, Error, Result, TenantId, from_json};

use crate::args::{JobsCmd, WorkerArgs};
use crate::output::{Printer, emit};
use crate::{integer, number, put};

/// A whole number flag at least `min`.
fn at_least(field: &str, text: &str, min: i64) -> Result<i64> {
    let n = integer(field, text)?.as_i64().unwrap_or_default();
    if n < min {
        return Err(Error::invalid_field(
            field,
            text,
            format!("must be at least {min}"),
        ));
    }
    Ok(n)
}

fn job_id(text: &str) -> Result<JobId> {
    text.parse()
}

/// The queue commands that need no worker.
pub async fn dispatch(engine: &Engine, cmd: &JobsCmd, out: &Printer) -> Result<()> {
    let jobs = engine.jobs();
    match cmd {
        JobsCmd::Enqueue {
            kind,
            args,
            count,
            queue,
            tenant,
            priority,
            max_attempts,
            run_at,
            unique_key,
        } => {
            let count = match count {
                Some(c) => at_least("count", c, 1)?,
                None => 1,
            };
            if count > 1_000_000 {
                return Err(Error::invalid_field(
                    "count",
                    &count.to_string(),
                    "must be at most 1000000",
                ));
            }
            let mut map = Map::new();
            map.insert("kind".into(), kind.as_str().into());
            if let Some(a) = args {
                let v: Value = serde_json::from_str(a)
                    .map_err(|e| Error::invalid_field("args", a, format!("must be JSON: {e}")))?;
                map.insert("args".into(), v);
            }
            put(&mut map, "queue", queue.as_deref().map(Value::from));
            put(&mut map, "tenant_id", tenant.as_deref().map(Value::from));
            put(&mut map, "priority", priority.as_deref().map(number));
            put(
                &mut map,
                "max_attempts",
                max_attempts.as_deref().map(number),
            );
            put(&mut map, "run_at", run_at.as_deref().map(Value::from));
            put(
                &mut map,
                "unique_key",
                unique_key.as_deref().map(Value::from),
            );
            let job: NewJob = from_json(Value::Object(map))?;
            if count == 1 {
                return out.record(&jobs.enqueue(job).await?);
            }
            let many = vec![job; count as usize];
            let done: Vec<_> = jobs
                .enqueue_many(many)
                .await?
                .into_iter()
                .collect::<Result<_>>()?;
            let first = done.first().map(|d| d.id.0);
            let last = done.last().map(|d| d.id.0);
            let duplicates = done.iter().filter(|d| d.duplicate).count();
            out.record(&json!({
                "enqueued": done.len() - duplicates, "duplicates": duplicates,
                "first_id": first, "last_id": last,
            }))
        }
        JobsCmd::List {
            state,
            kind,
            tenant,
            queue,
            after,
            limit,
        } => {
            let mut map = Map::new();
            put(&mut map, "state", state.as_deref().map(Value::from));
            put(&mut map, "kind", kind.as_deref().map(Value::from));
            put(&mut map, "tenant_id", tenant.as_deref().map(Value::from));
            put(&mut map, "queue", queue.as_deref().map(Value::from));
            put(&mut map, "after", after.as_deref().map(number));
            put(&mut map, "limit", limit.as_deref().map(number));
            let filter: JobFilter = from_json(Value::Object(map))?;
            let list = jobs.list(&filter).await?;
            if out.json {
                emit(serde_json::to_string(&list).unwrap_or_default());
            } else {
                for j in &list {
                    emit(format_args!(
                        "{:>8}  {:<10}  {:<20}  attempt {}/{}  {}",
                        j.id,
                        j.state.as_str(),
                        j.kind,
                        j.attempt,
                        j.max_attempts,
                        j.errors.last().map_or("", |e| e.message.as_str())
                    ));
                }
                emit(format_args!("-- {} shown", list.len()));
            }
            Ok(())
        }
        JobsCmd::Get { id } => out.record(&jobs.get(job_id(id)?).await?),
        JobsCmd::Retry { id } => out.record(&jobs.retry(job_id(id)?).await?),
        JobsCmd::Cancel { id } => out.record(&jobs.cancel(job_id(id)?).await?),
        JobsCmd::Stats { tenant } => {
            let tenant = tenant.as_deref().map(TenantId::new);
            out.record(&jobs.stats(tenant.as_ref()).await?)
        }
        JobsCmd::Bench { .. } => Ok(()),
    }
}

/// `tagsmith worker`.
pub fn worker(engine: &Engine, args: &WorkerArgs, out: &Printer) -> Result<()> {
    let concurrency = match &args.concurrency {
        Some(c) => at_least("concurrency", c, 1)?,
        None => 10,
    };
    let queues: Vec<Value> = args
        .queues
        .as_deref()
        .unwrap_or(tagsmith_core::queue::DEFAULT_QUEUE)
        .split(',')
        .map(|q| json!([q.trim(), concurrency]))
        .collect();
    let mut map = Map::new();
    map.insert("queues".into(), Value::Array(queues));
    put(&mut map, "lease_ms", args.lease_ms.as_deref().map(number));
    put(
        &mut map,
        "max_backoff_ms",
        args.max_backoff_ms.as_deref().map(number),
    );
    let options: WorkerOptions = from_json(Value::Object(map))?;
    let deadline = match &args.shutdown_ms {
        Some(ms) => at_least("shutdown_ms", ms, 0)? as u64,
        None => 10_000,
    };
    let worker = Worker::new(engine, options)?;
    let report = tagsmith_core::queue::driving_runtime()?.block_on(async {
        if args.exit_when_idle {
            return worker.run_until_idle().await;
        }
        let handle = worker.start();
        stopped().await;
        Ok(handle.shutdown(Duration::from_millis(deadline)).await)
    })?;
    out.record(&report)
}

/// Wait for SIGTERM or Ctrl-C.
pub(crate) async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// `tagsmith jobs bench`: bulk enqueue, burn-down and idle pickup latency on a fresh file.
pub fn bench(db: &std::path::Path, jobs: &str, concurrency: &str, out: &Printer) -> Result<()> {
    let n = at_least("jobs", jobs, 1)? as usize;
    let c = at_least("concurrency", concurrency, 1)? as usize;
    let run =
        |engine: &Engine| tagsmith_core::queue::driving_runtime()?.block_on(measure(engine, n, c));
    let report = match db.to_str().filter(|d| tagsmith_core::is_postgres_url(d)) {
        Some(url) => {
            use tagsmith_core::store::postgres::{PgOptions, PgStore};
            let store = PgStore::connect(
                url,
                &PgOptions {
                    schema: format!("tagsmith_bench_{}", std::process::id()),
                    ..PgOptions::default()
                },
            )?;
            let engine = Engine::new(
                tagsmith_core::Storage::new(store.clone()),
                std::sync::Arc::new(tagsmith_core::SystemEnv),
            );
            let result = run(&engine);
            engine.close()?;
            store.drop_schema()?;
            result?
        }
        None => {
            let dir =
                std::env::temp_dir().join(format!("tagsmith-jobs-bench-{}", std::process::id()));
            std::fs::create_dir_all(&dir).map_err(|e| Error::storage(e.to_string()))?;
            let result = Engine::open(dir.join("jobs.db")).and_then(|engine| run(&engine));
            let _ = std::fs::remove_dir_all(&dir);
            result?
        }
    };
    if !out.json {
        emit(format_args!(
            "{n} no-op jobs: enqueued at {:.0}/s, processed at {:.0}/s (concurrency {c}); \
             idle pickup p50 {:.2} ms, p99 {:.2} ms",
            report["enqueue_per_sec"].as_f64().unwrap_or_default(),
            report["process_per_sec"].as_f64().unwrap_or_default(),
            report["p50_ms"].as_f64().unwrap_or_default(),
            report["p99_ms"].as_f64().unwrap_or_default(),
        ));
    }
    emit(report);
    Ok(())
}

async fn measure(engine: &Engine, n: usize, c: usize) -> Result<Value> {
    let options = WorkerOptions {
        queues: vec![(tagsmith_core::queue::DEFAULT_QUEUE.to_owned(), c)],
        ..WorkerOptions::default()
    };
    let batch: Vec<NewJob> = (0..n).map(|_| NewJob::new("noop", json!({}))).collect();
    let start = Instant::now();
    for r in engine.jobs().enqueue_many(batch).await? {
        r?;
    }
    let enqueue_secs = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let report = Worker::new(engine, options.clone())?
        .run_until_idle()
        .await?;
    let process_secs = start.elapsed().as_secs_f64();
    if report.completed != n as u64 {
        return Err(Error::internal(format!(
            "the bench burned down {} of {n} jobs",
            report.completed
        )));
    }

    // Pickup latency: one job at a time to an idle worker, enqueue → handler start.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<f64>();
    let mut w = Worker::new(engine, options)?;
    w.register("latency", move |ctx: JobContext| {
        let tx = tx.clone();
        async move {
            let now = tagsmith_core::Env::now(&tagsmith_core::SystemEnv).as_micros();
            let _ = tx.send((now - ctx.job.created_at.as_micros()) as f64 / 1000.0);
            Ok(())
        }
    });
    let handle = w.start();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut latencies = Vec::with_capacity(200);
    for _ in 0..200 {
        engine
            .jobs()
            .enqueue(NewJob::new("latency", json!({})))
            .await?;
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(ms)) => latencies.push(ms),
            _ => return Err(Error::internal("a latency job was not picked up in 10 s")),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    handle.shutdown(Duration::from_secs(5)).await;
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    Ok(json!({
        "backend": engine.backend(),
        "jobs": n,
        "concurrency": c,
        "enqueue_per_sec": n as f64 / enqueue_secs,
        "process_per_sec": n as f64 / process_secs,
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
    }))
}
