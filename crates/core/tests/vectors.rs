//! Runs the shared conformance vectors (`tests/vectors/*.json`) on every backend.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tagsmith_core::store::sqlite::SqliteStore;
use tagsmith_core::{
    CustomerId, Engine, Error, ListOptions, ListTrackings, Storage, SystemEnv, TenantId,
    TrackingId, from_json,
};

fn vector_files() -> Vec<(String, Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 3,
        "expected the shared vectors in {}",
        dir.display()
    );
    files
        .into_iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.display().to_string(), v)
        })
        .collect()
}

#[derive(Default)]
struct Ctx {
    saved: HashMap<String, Value>,
    cursor: Option<String>,
}

impl Ctx {
    /// The id of the record saved as `name`; `=literal` is a literal id. Any other name is a
    /// mistake in the vector, never silently used as an id.
    fn id(&self, name: &str) -> String {
        if name.is_empty() {
            return String::new(); // the step has no such key
        }
        if let Some(literal) = name.strip_prefix('=') {
            return literal.to_owned();
        }
        let id = self.saved.get(name).and_then(|v| match &v["id"] {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()), // a job number
            _ => None,
        });
        match id {
            Some(id) => id,
            None => panic!(
                "the vector names {name:?}, which no earlier step saved (write \"={name}\" for a literal id)"
            ),
        }
    }

    fn resolve(&self, v: &Value) -> Value {
        match v {
            Value::String(s) if s == "$cursor" => json!(self.cursor),
            Value::String(s) if s.starts_with('$') => json!(self.id(&s[1..])),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), self.resolve(v)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|v| self.resolve(v)).collect()),
            other => other.clone(),
        }
    }
}

fn to_json<T: serde::Serialize>(r: tagsmith_core::Result<T>) -> Result<Value, Error> {
    r.map(|v| serde_json::to_value(v).unwrap_or(Value::Null))
}

fn take_version(args: &mut Value) -> Option<i64> {
    args.as_object_mut()
        .and_then(|m| m.remove("version"))
        .and_then(|v| v.as_i64())
}

async fn run_step(engine: &Engine, ctx: &mut Ctx, step: &Value) -> Result<Value, Error> {
    let op = step["op"].as_str().unwrap_or_default();
    let tenant = TenantId::new(ctx.id(step["tenant"].as_str().unwrap_or_default()));
    let id = ctx.id(step["id"].as_str().unwrap_or_default());
    let mut args = ctx.resolve(step.get("args").unwrap_or(&json!({})));
    let customers = engine.customers(tenant.clone());
    let trackings = engine.trackings(tenant);
    match op {
        "create_tenant" => to_json(
            engine
                .create_tenant(args["name"].as_str().unwrap_or_default())
                .await,
        ),
        "get_tenant" => to_json(engine.get_tenant(&TenantId::new(id)).await),
        "create_customer" => to_json(customers.create(from_json(args)?).await),
        "get_customer" => to_json(customers.get(&CustomerId::new(id)).await),
        "list_customers" => to_json(customers.list(&from_json::<ListOptions>(args)?).await),
        "update_customer" => to_json(
            customers
                .update(&CustomerId::new(id), from_json(args)?)
                .await,
        ),
        "delete_customer" => to_json(
            customers
                .delete(&CustomerId::new(id), take_version(&mut args))
                .await,
        ),
        "create_tracking" => to_json(trackings.create(from_json(args)?).await),
        "get_tracking" => to_json(trackings.get(&TrackingId::new(id)).await),
        "list_trackings" => to_json(trackings.list(&from_json::<ListTrackings>(args)?).await),
        "update_tracking" => to_json(
            trackings
                .update(&TrackingId::new(id), from_json(args)?)
                .await,
        ),
        "delete_tracking" => to_json(
            trackings
                .delete(&TrackingId::new(id), take_version(&mut args))
                .await,
        ),
        "enqueue_job" => to_json(engine.jobs().enqueue(from_json(args)?).await),
        "get_job" => to_json(engine.jobs().get(id.parse()?).await),
        "cancel_job" => to_json(engine.jobs().cancel(id.parse()?).await),
        "retry_job" => to_json(engine.jobs().retry(id.parse()?).await),
        "job_stats" => {
            let tenant = args["tenant_id"].as_str().map(TenantId::new);
            to_json(engine.jobs().stats(tenant.as_ref()).await)
        }
        "run_jobs" => {
            // Workers run on tokio (the vectors' own steps need no runtime).
            let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
            let options = tagsmith_core::queue::WorkerOptions {
                max_backoff_ms: 10,
                poll_ms: 50,
                ..Default::default()
            };
            let worker = tagsmith_core::queue::Worker::new(engine, options)?;
            to_json(rt.block_on(worker.run_until_idle()))
        }
        other => panic!("unknown op {other}"),
    }
}

fn check(where_: &str, step: &Value, ctx: &mut Ctx, result: Result<Value, Error>) {
    let expect = step.get("expect").cloned().unwrap_or(json!({"ok": {}}));
    match (result, expect.get("error")) {
        (Ok(value), None) => {
            let is_list = step["op"].as_str().is_some_and(|o| o.starts_with("list_"));
            let shown = if is_list {
                ctx.cursor = value["next_cursor"].as_str().map(str::to_owned);
                let items = value["items"].as_array().cloned().unwrap_or_default();
                json!({
                    "total": value["total"],
                    "count": items.len(),
                    "has_more": !value["next_cursor"].is_null(),
                    "names": items.iter().map(|i| i["name"].clone()).collect::<Vec<_>>(),
                })
            } else {
                value.clone()
            };
            for (k, want) in expect["ok"].as_object().into_iter().flatten() {
                assert_eq!(&shown[k], want, "{where_}: field {k} of {shown}");
            }
            if let Some(name) = step["save"].as_str() {
                ctx.saved.insert(name.to_owned(), value);
            }
        }
        (Ok(value), Some(code)) => panic!("{where_}: expected error {code}, got {value}"),
        (Err(e), None) => panic!("{where_}: expected success, got {e}"),
        (Err(e), Some(code)) => {
            assert_eq!(json!(e.code()), *code, "{where_}: {e}");
            if let Some(fields) = expect.get("fields").and_then(Value::as_array) {
                let mut want: Vec<_> = fields.iter().filter_map(Value::as_str).collect();
                let mut got: Vec<_> = e.fields().iter().map(|f| f.field.as_str()).collect();
                want.sort_unstable();
                got.sort_unstable();
                assert_eq!(got, want, "{where_}: {e}");
            }
        }
    }
}

fn run_all(make: impl Fn() -> Engine, backend: &str) {
    for (file, vector) in vector_files() {
        let engine = make();
        let mut ctx = Ctx::default();
        for (i, step) in vector["steps"].as_array().into_iter().flatten().enumerate() {
            let where_ = format!("{backend} {file} step {i} ({})", step["op"]);
            let result = pollster::block_on(run_step(&engine, &mut ctx, step));
            check(&where_, step, &mut ctx, result);
        }
    }
}

#[test]
fn vectors_pass_on_memory() {
    run_all(Engine::in_memory, "memory");
}

#[test]
fn vectors_pass_on_sqlite_in_memory() {
    run_all(
        || {
            let store = SqliteStore::in_memory().unwrap_or_else(|e| panic!("{e}"));
            Engine::new(Storage::new(store), Arc::new(SystemEnv))
        },
        "sqlite",
    );
}

#[test]
fn vectors_pass_on_sqlite_file() {
    let dir = std::env::temp_dir().join(format!("tagsmith-vectors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let n = std::sync::atomic::AtomicUsize::new(0);
    run_all(
        || {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Engine::open(dir.join(format!("v{i}.db"))).unwrap_or_else(|e| panic!("{e}"))
        },
        "sqlite-file",
    );
    let _ = std::fs::remove_dir_all(&dir);
}
