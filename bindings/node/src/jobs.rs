//! The job queue from Node: `engine.jobs()` (Promise methods returning plain objects) and
//! `engine.worker(opts)` running JS handlers. A handler is called on the JS thread through a
//! threadsafe function (`index.js` wraps it so it always returns a Promise); a thrown error or a
//! rejected Promise fails that attempt with its message recorded, and the worker lives on. The
//! worker itself runs on its own small tokio runtime; `runUntilIdle` and `shutdown` wait on the
//! libuv pool, so the JS thread stays free to run handlers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::{
    AsyncTask, FromNapiValue, Function, JsObjectValue, Promise, PromiseRaw, Unknown,
};
use napi::threadsafe_function::ThreadsafeFunction;
use napi::{Env, Status};
use napi_derive::napi;
use serde_json::Value as Json;
use tagsmith_core::casing::to_js_json;
use tagsmith_core::queue::{self as q, HandlerError, HandlerFuture, JobContext};
use tagsmith_core::{Error as CoreError, TenantId, from_json};

use crate::{
    CamelJson, Job, Outcome, json_arg, options_arg, promise, run_sync, spawn, string_arg, to_json,
};

/// A job number argument (a number, or its decimal text).
fn job_id(value: Unknown<'_>) -> Outcome<q::JobId> {
    tagsmith_core::ffi::job_id(&json_arg(value, "id")?)
}

/// `{kind, args, ...options}` from JS: option keys to snake_case, `args` kept as given.
fn new_job(kind: Outcome<String>, args: Outcome<Json>, opts: Outcome<Json>) -> Outcome<q::NewJob> {
    let mut map = match opts? {
        Json::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    map.insert("kind".into(), Json::String(kind?));
    let args = args?;
    if !args.is_null() {
        map.insert("args".into(), args);
    }
    from_json(Json::Object(map))
}

/// The engine's job queue, from `engine.jobs()`.
#[napi]
pub struct Jobs {
    pub(crate) inner: q::Jobs,
}

#[napi]
impl Jobs {
    /// Add a job: `enqueue(kind, args?, { queue, tenantId, priority, maxAttempts, runAt,
    /// uniqueKey, uniqueStates, concurrencyKey })` → `{ id, duplicate }`.
    #[napi(
        catch_unwind,
        ts_args_type = "kind: string, args?: unknown, opts?: EnqueueOptions",
        ts_return_type = "Promise<Enqueued>"
    )]
    pub fn enqueue<'e>(
        &self,
        env: &'e Env,
        kind: Unknown<'_>,
        args: Option<Unknown<'_>>,
        opts: Option<Unknown<'_>>,
    ) -> napi::Result<PromiseRaw<'e, Unknown<'e>>> {
        let job = new_job(
            string_arg(kind, "kind"),
            args.map_or(Ok(Json::Null), |a| json_arg(a, "args")),
            options_arg(opts),
        );
        let jobs = self.inner.clone();
        promise(env, async move { to_json(jobs.enqueue(job?).await) })
    }

    /// Add many jobs in one transaction: `enqueueMany([{ kind, args, ...options }])`. Each is
    /// answered on its own: `{ id, duplicate }`, or `{ error }` for a bad one (the others are
    /// added all the same).
    #[napi(
        catch_unwind,
        ts_args_type = "jobs: Array<{ kind: string; args?: unknown } & EnqueueOptions>",
        ts_return_type = "Promise<Array<Enqueued | { error: JobItemError }>>"
    )]
    pub fn enqueue_many<'e>(
        &self,
        env: &'e Env,
        jobs: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'e, Unknown<'e>>> {
        let items = json_arg(jobs, "jobs");
        let handle = self.inner.clone();
        promise(env, async move {
            let Json::Array(items) = items? else {
                return Err(CoreError::invalid_field(
                    "jobs",
                    "not an array",
                    "must be an array of jobs",
                ));
            };
            let items = items
                .into_iter()
                .map(tagsmith_core::casing::keys_to_snake)
                .collect();
            let results = handle.enqueue_many_json(items).await?;
            let out: Vec<Json> = results
                .into_iter()
                .map(|result| match result {
                    Ok(done) => serde_json::json!({"id": done.id, "duplicate": done.duplicate}),
                    Err(e) => serde_json::json!({
                        "error": serde_json::to_value(tagsmith_core::ffi::ErrorView::camel(&e))
                            .unwrap_or(Json::Null)
                    }),
                })
                .collect();
            Ok(CamelJson(Json::Array(out).to_string()))
        })
    }

    /// From a handler: record the job's progress, `progress(job, percent, message?)`, with the
    /// job object the handler was given (its `id`, `attempt` and `leaseOwner`). Published as a
    /// change event of the job's tenant; `conflict` once the worker no longer holds the job.
    #[napi(
        catch_unwind,
        ts_args_type = "job: JobRecord, percent: number, message?: string",
        ts_return_type = "Promise<void>"
    )]
    pub fn progress<'e>(
        &self,
        env: &'e Env,
        job: Unknown<'_>,
        percent: Unknown<'_>,
        message: Option<String>,
    ) -> napi::Result<PromiseRaw<'e, Unknown<'e>>> {
        let field = |key: &str| -> Outcome<Json> {
            let obj = napi::bindgen_prelude::Object::from_unknown(job).map_err(|_| {
                CoreError::invalid_field("job", "?", "must be the job a handler was given")
            })?;
            match obj.get_named_property::<Unknown<'_>>(key) {
                Ok(v) => json_arg(v, &format!("job.{key}")),
                Err(_) => Ok(Json::Null),
            }
        };
        let target = (|| {
            tagsmith_core::ffi::progress_target(
                &field("id")?,
                &field("attempt")?,
                &field("leaseOwner")?,
                &json_arg(percent, "percent")?,
            )
        })();
        let jobs = self.inner.clone();
        promise(env, async move {
            let (id, attempt, owner, percent) = target?;
            jobs.progress(id, attempt, &owner, percent, message).await?;
            Ok(crate::Nothing)
        })
    }

    /// Fetch a job (with its errors and progress). `not_found` if unknown.
    #[napi(
        catch_unwind,
        ts_args_type = "id: number",
        ts_return_type = "Promise<JobRecord>"
    )]
    pub fn get<'e>(
        &self,
        env: &'e Env,
        id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'e, Unknown<'e>>> {
        let id = job_id(id);
        let jobs = self.inner.clone();
        promise(env, async move { to_json(jobs.get(id?).await) })
    }

    /// Jobs by id: `list({ state, kind, queue, tenantId, after, limit })`.
    #[napi(
        catch_unwind,
        ts_args_type = "opts?: JobFilter",
        ts_return_type = "Promise<JobRecord[]>"
    )]
    pub fn list<'e>(
        &self,
        env: &'e Env,
        opts: Option<Unknown<'_>>,
    ) -> napi::Result<PromiseRaw<'e, Unknown<'e>>> {
        let opts = options_arg(opts);
        let jobs = self.inner.clone();
        promise(env, async move {
            let filter: q::JobFilter = from_json(opts?)?;
            to_json(jobs.list(&filter).await)
        })
    }

    /// Run a job that is not running again now. `conflict` if it is running.
    #[napi(
        catch_unwind,
        ts_args_type = "id: number",
        ts_return_type = "Promise<JobRecord>"
    )]
    pub fn retry<'e>(
        &self,
        env: &'e Env,
        id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'e, Unknown<'e>>> {
        let id = job_id(id);
        let jobs = self.inner.clone();
        promise(env, async move { to_json(jobs.retry(id?).await) })
    }

    /// Cancel a job that is not final. `conflict` if it already is.
    #[napi(
        catch_unwind,
        ts_args_type = "id: number",
        ts_return_type = "Promise<JobRecord>"
    )]
    pub fn cancel<'e>(
        &self,
        env: &'e Env,
        id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'e, Unknown<'e>>> {
        let id = job_id(id);
        let jobs = self.inner.clone();
        promise(env, async move { to_json(jobs.cancel(id?).await) })
    }

    /// Jobs per state (of one tenant, or all).
    #[napi(
        catch_unwind,
        ts_args_type = "tenantId?: string",
        ts_return_type = "Promise<JobStats>"
    )]
    pub fn stats<'e>(
        &self,
        env: &'e Env,
        tenant_id: Option<Unknown<'_>>,
    ) -> napi::Result<PromiseRaw<'e, Unknown<'e>>> {
        let tenant = tenant_id
            .map(|t| string_arg(t, "tenantId").map(TenantId::new))
            .transpose();
        let jobs = self.inner.clone();
        promise(env, async move {
            let tenant = tenant?;
            to_json(jobs.stats(tenant.as_ref()).await)
        })
    }
}

/// The JS handler: called with the job as JSON text, it returns a Promise (`index.js` makes it
/// `async`).
type JsHandler = ThreadsafeFunction<String, Promise<()>, String, Status, false>;

struct NodeHandler {
    f: Arc<JsHandler>,
}

impl q::Handler for NodeHandler {
    fn run(&self, ctx: JobContext) -> HandlerFuture {
        let f = self.f.clone();
        Box::pin(async move {
            let text = to_js_json(&ctx.job)
                .map_err(|e| HandlerError::new(format!("encoding the job: {e}")))?;
            let promise = f
                .call_async_catch(text)
                .await
                .map_err(|e| HandlerError::new(e.reason.clone()))?;
            promise
                .await
                .map_err(|e| HandlerError::new(e.reason.clone()))
        })
    }
}

/// The runtime of a started worker: its own threads keep running jobs after `start` returns.
fn runtime() -> Outcome<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CoreError::internal(format!("cannot start the worker runtime: {e}")))
}

fn started() -> CoreError {
    CoreError::new(
        tagsmith_core::ErrorKind::Conflict,
        "this worker was already started: make a new one with engine.worker()",
    )
}

/// Runs jobs with JS handlers, from `engine.worker(opts)`. Built in: `noop`, and `sleep` with
/// args `{ ms }`. `register` handlers, then `runUntilIdle()`, or `start()` and later
/// `shutdown()`.
#[napi]
pub struct Worker {
    setup: Mutex<Option<q::Worker>>,
    running: Arc<Mutex<Option<(tokio::runtime::Runtime, q::WorkerHandle)>>>,
}

impl Worker {
    pub(crate) fn new(engine: &tagsmith_core::Engine, opts: Outcome<Json>) -> Outcome<Self> {
        let options: q::WorkerOptions = from_json(opts?)?;
        Ok(Self {
            setup: Mutex::new(Some(q::Worker::new(engine, options)?)),
            running: Arc::new(Mutex::new(None)),
        })
    }

    fn take(&self) -> Outcome<q::Worker> {
        self.setup
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(started)
    }
}

/// What a worker did (`{ completed, retried, discarded, released, lost, rescued }`).
fn report(r: q::WorkerReport) -> Outcome<CamelJson> {
    to_json(Ok(r))
}

#[napi]
impl Worker {
    /// Run `handler(job)` (returning a value or a Promise) for jobs of `kind`, with optional
    /// `{ timeoutMs, maxBackoffMs }`.
    #[napi(
        js_name = "_register",
        catch_unwind,
        ts_args_type = "kind: string, handler: unknown, opts?: { timeoutMs?: number; maxBackoffMs?: number }"
    )]
    pub fn register(
        &self,
        env: Env,
        kind: Unknown<'_>,
        handler: Unknown<'_>,
        opts: Option<Unknown<'_>>,
    ) -> napi::Result<()> {
        let kind = string_arg(kind, "kind");
        let opts = options_arg(opts);
        let tsfn = if handler.get_type().ok() == Some(napi::ValueType::Function) {
            Function::<String, Promise<()>>::from_unknown(handler)
                .and_then(|f| {
                    f.build_threadsafe_function::<String>()
                        .callee_handled::<false>()
                        .build()
                })
                .map_err(|e| CoreError::internal(format!("cannot hold the handler: {e}")))
        } else {
            let shown = handler
                .get_type()
                .map_or_else(|_| "?".to_owned(), |t| t.to_string());
            Err(CoreError::invalid_field(
                "handler",
                &shown,
                "must be a function",
            ))
        };
        run_sync(&env, move || {
            let tsfn = tsfn?;
            #[derive(serde::Deserialize, Default)]
            #[serde(deny_unknown_fields, default)]
            struct KindOpts {
                timeout_ms: Option<u64>,
                max_backoff_ms: Option<u64>,
            }
            impl tagsmith_core::Request for KindOpts {}
            let o: KindOpts = from_json(opts?)?;
            let mut guard = self.setup.lock().unwrap_or_else(|p| p.into_inner());
            let worker = guard.as_mut().ok_or_else(started)?;
            worker.register_with(
                &kind?,
                NodeHandler { f: Arc::new(tsfn) },
                q::KindOptions {
                    timeout: o.timeout_ms.map(Duration::from_millis),
                    max_backoff: o.max_backoff_ms.map(Duration::from_millis),
                },
            );
            Ok(())
        })
    }

    /// Enqueue a job at every occurrence of a cron expression, once per occurrence however many
    /// workers run it: `periodic(name, cron, kind, args?, opts?)`.
    #[napi(
        catch_unwind,
        ts_args_type = "name: string, cron: string, kind: string, args?: unknown, opts?: EnqueueOptions"
    )]
    pub fn periodic(
        &self,
        env: Env,
        name: Unknown<'_>,
        cron: Unknown<'_>,
        kind: Unknown<'_>,
        args: Option<Unknown<'_>>,
        opts: Option<Unknown<'_>>,
    ) -> napi::Result<()> {
        let name = string_arg(name, "name");
        let cron = string_arg(cron, "cron");
        let job = new_job(
            string_arg(kind, "kind"),
            args.map_or(Ok(Json::Null), |a| json_arg(a, "args")),
            options_arg(opts),
        );
        run_sync(&env, move || {
            let mut guard = self.setup.lock().unwrap_or_else(|p| p.into_inner());
            let worker = guard.as_mut().ok_or_else(started)?;
            worker.periodic(&name?, &cron?, job?)
        })
    }

    /// Run until no job is available, running or retryable; resolves with the report.
    #[napi(catch_unwind, ts_return_type = "Promise<WorkerReport>")]
    pub fn run_until_idle<'e>(&self, env: &'e Env) -> napi::Result<PromiseRaw<'e, Unknown<'e>>> {
        let worker = self.take();
        promise(env, async move { report(worker?.run_until_idle().await?) })
    }

    /// Start running jobs in the background (returns at once).
    #[napi(catch_unwind)]
    pub fn start(&self, env: Env) -> napi::Result<()> {
        run_sync(&env, || {
            let worker = self.take()?;
            let rt = runtime()?;
            let handle = {
                let _entered = rt.enter();
                worker.start()
            };
            *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some((rt, handle));
            Ok(())
        })
    }

    /// Stop: running jobs get `deadlineMs` (default 10 000) to finish, the rest are released;
    /// resolves with the report.
    #[napi(
        catch_unwind,
        ts_args_type = "deadlineMs?: number",
        ts_return_type = "Promise<WorkerReport>"
    )]
    pub fn shutdown(&self, deadline_ms: Option<u32>) -> AsyncTask<Job<CamelJson>> {
        let running = self.running.clone();
        let deadline = Duration::from_millis(u64::from(deadline_ms.unwrap_or(10_000)));
        spawn(move || {
            let taken = running.lock().unwrap_or_else(|p| p.into_inner()).take();
            let r = match taken {
                Some((rt, handle)) => {
                    let r = rt.block_on(handle.shutdown(deadline));
                    rt.shutdown_timeout(Duration::from_secs(5));
                    r
                }
                None => q::WorkerReport::default(),
            };
            report(r)
        })
    }
}
