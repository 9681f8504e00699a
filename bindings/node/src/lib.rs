//! Node.js binding of tagsmith (`@tagsmith/node`, napi-rs).
//!
//! Thin on purpose: argument conversion (JS camelCase options → core's snake_case request
//! structs), error projection and Promise glue. What every binding needs lives in core's binding
//! kit (`tagsmith_core::ffi`: the error shape, panic capture, running a storage future) and the
//! operations of `customers`/`trackings` come from core's `resource::Call`, so each resource
//! here is one `resource_class!` line. Every operation is one engine future, driven either
//! inline (`…Sync` methods) or on napi-rs's tokio runtime (Promise methods), so a call waiting
//! on PostgreSQL never holds a thread of libuv's pool.

mod jobs;

use napi::bindgen_prelude::{
    AsyncTask, FromNapiValue, JsObjectValue, Object, PromiseRaw, ToNapiValue, Unknown,
};
use napi::{Env, JsValue, ScopedTask, ValueType};
use napi_derive::napi;
use serde_json::Value as Json;
use tagsmith_core::casing::{keys_to_snake, to_js_json};
use tagsmith_core::ffi::{self, ErrorView};
use tagsmith_core::resource::{Call, Resource};
use tagsmith_core::{Error as CoreError, TenantId, from_json};

type Outcome<T> = std::result::Result<T, CoreError>;

// ---------------------------------------------------------------------------------------------
// Running work: inline, as a future on the tokio runtime, or (opening) on the libuv pool; panics
// caught and mapped to `internal`.

/// A JS `Error` carrying core's error view: `code`, camelCase `fields`, `httpStatus`,
/// `retryable` and `retryAfterSecs` when known. Built on the JS thread and handed to napi as a
/// raw value, so it survives both `throw` and Promise rejection (napi-rs drops custom codes
/// otherwise: napi-rs #1632, #2333).
fn js_error(env: &Env, err: &CoreError) -> napi::Error {
    build_js_error(env, err).unwrap_or_else(|e| e)
}

fn build_js_error(env: &Env, err: &CoreError) -> napi::Result<napi::Error> {
    let view = ErrorView::camel(err);
    let mut obj = env.create_error(napi::Error::from_reason(view.message.clone()))?;
    obj.set("code", view.code)?;
    let fields: Vec<Json> = view
        .fields
        .iter()
        .map(|f| serde_json::json!({"field": f.field, "value": f.value, "reason": f.reason}))
        .collect();
    obj.set("fields", Json::Array(fields))?;
    obj.set("httpStatus", u32::from(view.http_status))?;
    obj.set("retryable", view.retryable)?;
    if let Some(secs) = view.retry_after_secs {
        obj.set("retryAfterSecs", Json::from(secs))?;
    }
    Ok(napi::Error::from(obj.to_unknown()))
}

/// Run an operation inline (the `…Sync` methods).
fn run_sync<T>(env: &Env, work: impl FnOnce() -> Outcome<T>) -> napi::Result<T> {
    ffi::guarded(work).map_err(|e| js_error(env, &e))
}

/// Drive an engine future inline (the `…Sync` methods) and hand its JSON result to JS.
fn block_json<'e>(
    env: &'e Env,
    work: impl std::future::Future<Output = Outcome<CamelJson>>,
) -> napi::Result<Unknown<'e>> {
    run_sync_json(env, || ffi::block_on(work))
}

/// A Promise of an engine future (the Promise methods): polled on napi-rs's tokio runtime,
/// never on libuv's thread pool (which a call waiting on PostgreSQL would hold), and settled on
/// the JS thread, where its value or core's error object is built. A panic while it is polled
/// rejects with `internal`.
fn promise<'e, T: IntoJs>(
    env: &'e Env,
    work: impl std::future::Future<Output = Outcome<T>> + Send + 'static,
) -> napi::Result<PromiseRaw<'e, Unknown<'e>>> {
    env.spawn_future_with_callback(
        async move { Ok(ffi::guarded_future(work).await) },
        |env, outcome: Outcome<T>| match outcome {
            Ok(value) => value.into_js(env),
            Err(e) => Err(js_error(env, &e)),
        },
    )
}

/// Run an operation inline and hand its JSON result to JS.
fn run_sync_json<'e>(
    env: &'e Env,
    work: impl FnOnce() -> Outcome<CamelJson>,
) -> napi::Result<Unknown<'e>> {
    let json = run_sync(env, work)?;
    json_to_js(env, json)
}

/// A result handed to JS as JSON text (camelCase keys, times as epoch milliseconds): `index.js`
/// turns it into a plain object with one `JSON.parse` (the engine's own parser, faster than one
/// napi call per property: a tracking `getSync` 7.0 µs instead of 9.2 µs in November) and its
/// times into `Date`s.
fn json_to_js<'e>(env: &'e Env, json: CamelJson) -> napi::Result<Unknown<'e>> {
    json.0.into_unknown(env)
}

/// One operation for the libuv pool: computed off the JS thread, converted to JS on it.
pub struct Job<T: Send + 'static> {
    work: Option<Box<dyn FnOnce() -> Outcome<T> + Send>>,
}

/// A result that becomes a JS value on the JS thread.
pub trait IntoJs: Send + 'static {
    /// Convert on the JS thread.
    fn into_js(self, env: &Env) -> napi::Result<Unknown<'_>>;
}

/// A result as JSON text with camelCase keys (written by core's `casing::to_js_json`).
pub struct CamelJson(String);

impl IntoJs for CamelJson {
    fn into_js(self, env: &Env) -> napi::Result<Unknown<'_>> {
        json_to_js(env, self)
    }
}

impl IntoJs for Engine {
    fn into_js(self, env: &Env) -> napi::Result<Unknown<'_>> {
        self.into_unknown(env)
    }
}

impl<'task, T: IntoJs> ScopedTask<'task> for Job<T> {
    type Output = Outcome<T>;
    type JsValue = Unknown<'task>;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        Ok(match self.work.take() {
            Some(work) => ffi::guarded(work),
            None => Err(CoreError::internal("task ran twice")),
        })
    }

    fn resolve(&mut self, env: &'task Env, output: Self::Output) -> napi::Result<Unknown<'task>> {
        match output {
            Ok(value) => value.into_js(env),
            Err(e) => Err(js_error(env, &e)),
        }
    }
}

/// Run blocking work on the libuv pool (`Engine.open`, `Worker.shutdown`).
fn spawn<T: IntoJs>(work: impl FnOnce() -> Outcome<T> + Send + 'static) -> AsyncTask<Job<T>> {
    AsyncTask::new(Job {
        work: Some(Box::new(work)),
    })
}

// ---------------------------------------------------------------------------------------------
// Conversion.

/// A JS value as JSON (`undefined` is JSON `null`: a required argument that is missing).
/// Numbers that JSON cannot hold (NaN, ±Infinity) are refused naming `field`, never turned into
/// `null` (core's one NaN policy).
fn json_arg(value: Unknown<'_>, field: &str) -> Outcome<Json> {
    let ty = value.get_type().unwrap_or(ValueType::Unknown);
    if ty == ValueType::Undefined {
        return Ok(Json::Null);
    }
    if ty == ValueType::Number
        && let Ok(n) = f64::from_unknown(value)
    {
        ffi::check_finite(field, n)?;
    }
    if ty == ValueType::Object {
        non_finite(&value, field, 0)?;
    }
    Json::from_unknown(value).map_err(|e| {
        CoreError::invalid_field(
            field,
            &format!("{ty}"),
            format!("is not a plain JSON-like object: {}", e.reason),
        )
    })
}

/// Refuse NaN/±Infinity anywhere in a plain object or array, naming its path.
fn non_finite(value: &Unknown<'_>, path: &str, depth: usize) -> Outcome<()> {
    if depth > 32 {
        return Ok(()); // serde_json's own depth limit reports deeper nesting.
    }
    let Ok(obj) = Object::from_unknown(*value) else {
        return Ok(());
    };
    let Ok(keys) = obj.get_property_names() else {
        return Ok(());
    };
    let len = keys.get_array_length().unwrap_or(0);
    for i in 0..len {
        let Ok(key) = keys.get_element::<Unknown<'_>>(i) else {
            continue;
        };
        let name = String::from_unknown(key)
            .or_else(|_| u32::from_unknown(key).map(|n| n.to_string()))
            .unwrap_or_default();
        let Ok(child) = obj.get_named_property::<Unknown<'_>>(&name) else {
            continue;
        };
        let child_path = if path == "options" {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        match child.get_type() {
            Ok(ValueType::Number) => {
                if let Ok(n) = f64::from_unknown(child) {
                    ffi::check_finite(&child_path, n)?;
                }
            }
            Ok(ValueType::Object) => non_finite(&child, &child_path, depth + 1)?,
            _ => {}
        }
    }
    Ok(())
}

/// Optional options: `undefined`/`null`/absent are `{}`; then camelCase → snake_case keys.
fn options_arg(value: Option<Unknown<'_>>) -> Outcome<Json> {
    let json = match value {
        Some(v) => Some(json_arg(v, "options")?),
        None => None,
    };
    Ok(keys_to_snake(ffi::options(json)))
}

/// Required options (`create`, `update`): camelCase → snake_case keys; missing is `null`,
/// which core refuses naming the request.
fn required_options(value: Unknown<'_>) -> Outcome<Json> {
    json_arg(value, "options").map(keys_to_snake)
}

/// A string argument (an id or a name); anything else is `invalid_input` naming `field`.
fn string_arg(value: Unknown<'_>, field: &str) -> Outcome<String> {
    if value.get_type().ok() == Some(ValueType::String)
        && let Ok(text) = String::from_unknown(value)
    {
        return Ok(text);
    }
    let shown = Json::from_unknown(value).map_or_else(|_| "?".to_owned(), |v| v.to_string());
    Err(CoreError::invalid_field(field, &shown, "must be a string"))
}

/// An optional scalar argument as JSON (`undefined` → `null`), for core to check.
fn opt_scalar(value: Option<Unknown<'_>>, field: &str) -> Outcome<Option<Json>> {
    value.map(|v| json_arg(v, field)).transpose()
}

/// A core result as JSON text for `index.js` (camelCase keys, times as epoch milliseconds).
fn to_json<T: serde::Serialize>(value: Outcome<T>) -> Outcome<CamelJson> {
    to_js_json(&value?).map(CamelJson)
}

// ---------------------------------------------------------------------------------------------
// Classes.

/// A tagsmith engine over a SQLite file or memory.
///
/// Threads: the native engine is `Send + Sync` and Promise methods run on a tokio runtime
/// concurrently. A JS `Engine` object belongs to the thread (main or `worker_threads` Worker)
/// that created it and cannot be posted to another; open the same SQLite file in each worker
/// instead (SQLite in WAL mode serializes writers across connections and processes).
#[napi]
pub struct Engine {
    inner: tagsmith_core::Engine,
}

#[napi]
impl Engine {
    /// An engine on in-memory storage (tests, scratch work); data is lost on close.
    #[napi(factory, catch_unwind)]
    pub fn in_memory() -> Self {
        Self {
            inner: tagsmith_core::Engine::in_memory(),
        }
    }

    /// Open (create and migrate if needed) a SQLite database file, with optional
    /// `{ eventRetention: { maxEvents, maxAgeSecs }, busyTimeoutMs }`. Rejects with
    /// `invalid_input` for bad options, `storage` if the file is not a database, is locked, or was
    /// written by a newer tagsmith.
    #[napi(
        catch_unwind,
        ts_args_type = "path: string, opts?: EngineOptions",
        ts_return_type = "Promise<Engine>"
    )]
    pub fn open(path: Unknown<'_>, opts: Option<Unknown<'_>>) -> AsyncTask<Job<Engine>> {
        let path = string_arg(path, "path");
        let opts = options_arg(opts);
        spawn(move || Self::open_work(path, opts))
    }

    /// `open`, blocking the calling thread.
    #[napi(catch_unwind, ts_args_type = "path: string, opts?: EngineOptions")]
    pub fn open_sync(
        env: Env,
        path: Unknown<'_>,
        opts: Option<Unknown<'_>>,
    ) -> napi::Result<Engine> {
        let path = string_arg(path, "path");
        let opts = options_arg(opts);
        run_sync(&env, move || Self::open_work(path, opts))
    }

    fn open_work(path: Outcome<String>, opts: Outcome<Json>) -> Outcome<Engine> {
        let options: tagsmith_core::EngineOptions = from_json(opts?)?;
        Ok(Engine {
            inner: tagsmith_core::Engine::open_with(path?, &options)?,
        })
    }

    /// The storage backend's name: `memory`, `sqlite` or `postgres`.
    #[napi(getter)]
    pub fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    /// The tenant's activity log: change events after sequence number `after` (default 0: from
    /// the oldest kept), at most `limit` (default 1000), optionally only those matching
    /// `filter` (`{ entity, id, actor, since, until }`; times as `Date`s or RFC 3339 text), read
    /// from the durable log: any process on the same database sees them. Poll with `lastSeq` to
    /// follow changes (e.g. to forward them over SSE); `missed` > 0 means some were pruned
    /// before they were read.
    #[napi(
        catch_unwind,
        ts_args_type = "tenantId: string, after?: number, limit?: number, filter?: EventFilter",
        ts_return_type = "EventBatch"
    )]
    pub fn events<'e>(
        &self,
        env: &'e Env,
        tenant_id: Unknown<'_>,
        after: Option<Unknown<'_>>,
        limit: Option<Unknown<'_>>,
        filter: Option<Unknown<'_>>,
    ) -> napi::Result<Unknown<'e>> {
        let tenant = string_arg(tenant_id, "tenantId");
        let after = opt_scalar(after, "after");
        let limit = opt_scalar(limit, "limit");
        let filter = opt_scalar(filter, "filter").map(|f| f.map(keys_to_snake));
        run_sync_json(env, || {
            let options = ffi::events_options(after?, limit?, filter?)?;
            to_json(ffi::block_on(
                self.inner.events_with(&TenantId::new(tenant?), &options),
            ))
        })
    }

    /// A handle on the same engine whose writes the activity log records as made by `actor`
    /// (read back as `event.actor` and with `events(t, 0, 100, { actor })`). Throws
    /// `invalid_input` for an empty actor, one over 200 characters, or control characters.
    #[napi(catch_unwind, ts_args_type = "actor: string")]
    pub fn acting_as(&self, env: Env, actor: Unknown<'_>) -> napi::Result<Engine> {
        let actor = string_arg(actor, "actor");
        run_sync(&env, || {
            Ok(Engine {
                inner: self.inner.acting_as(&actor?)?,
            })
        })
    }

    /// The actor this handle's writes are recorded as made by, or `null`.
    #[napi(getter, ts_return_type = "string | null")]
    pub fn actor(&self) -> Option<String> {
        self.inner.actor().map(str::to_owned)
    }

    /// The job queue: enqueue, list, get, retry, cancel, stats.
    #[napi(catch_unwind)]
    pub fn jobs(&self) -> jobs::Jobs {
        jobs::Jobs {
            inner: self.inner.jobs(),
        }
    }

    /// A worker running jobs with JS handlers, with optional `{ queues: [[name, concurrency]],
    /// leaseMs, pollMs, jobTimeoutMs, maxBackoffMs, keepFinalSecs, maintenanceMs, id }`.
    #[napi(catch_unwind, ts_args_type = "opts?: WorkerOptions")]
    pub fn worker(&self, env: Env, opts: Option<Unknown<'_>>) -> napi::Result<jobs::Worker> {
        let opts = options_arg(opts);
        run_sync(&env, || jobs::Worker::new(&self.inner, opts))
    }

    /// Close the storage; later calls fail with `unavailable`. Safe to call twice.
    #[napi(catch_unwind)]
    pub fn close(&self, env: Env) -> napi::Result<()> {
        run_sync(&env, || self.inner.close())
    }

    /// Create a tenant. `invalid_input` for a bad name.
    #[napi(
        catch_unwind,
        ts_args_type = "name: string",
        ts_return_type = "Promise<Tenant>"
    )]
    pub fn create_tenant<'e>(
        &self,
        env: &'e Env,
        name: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'e, Unknown<'e>>> {
        promise(env, self.create_tenant_work(string_arg(name, "name")))
    }

    /// `createTenant`, inline.
    #[napi(catch_unwind, ts_args_type = "name: string", ts_return_type = "Tenant")]
    pub fn create_tenant_sync<'e>(
        &self,
        env: &'e Env,
        name: Unknown<'_>,
    ) -> napi::Result<Unknown<'e>> {
        block_json(env, self.create_tenant_work(string_arg(name, "name")))
    }

    fn create_tenant_work(
        &self,
        name: Outcome<String>,
    ) -> impl std::future::Future<Output = Outcome<CamelJson>> + Send + 'static {
        let engine = self.inner.clone();
        async move { to_json(engine.create_tenant(&name?).await) }
    }

    /// Fetch a tenant. `not_found` if unknown.
    #[napi(
        catch_unwind,
        ts_args_type = "id: string",
        ts_return_type = "Promise<Tenant>"
    )]
    pub fn get_tenant<'e>(
        &self,
        env: &'e Env,
        id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'e, Unknown<'e>>> {
        promise(env, self.get_tenant_work(string_arg(id, "id")))
    }

    /// `getTenant`, inline.
    #[napi(catch_unwind, ts_args_type = "id: string", ts_return_type = "Tenant")]
    pub fn get_tenant_sync<'e>(&self, env: &'e Env, id: Unknown<'_>) -> napi::Result<Unknown<'e>> {
        block_json(env, self.get_tenant_work(string_arg(id, "id")))
    }

    fn get_tenant_work(
        &self,
        id: Outcome<String>,
    ) -> impl std::future::Future<Output = Outcome<CamelJson>> + Send + 'static {
        let engine = self.inner.clone();
        async move { to_json(engine.get_tenant(&TenantId::new(id?)).await) }
    }

    /// List tenants (the host's administrative view), oldest first.
    #[napi(
        catch_unwind,
        ts_args_type = "opts?: ListOptions",
        ts_return_type = "Promise<Page<Tenant>>"
    )]
    pub fn list_tenants<'e>(
        &self,
        env: &'e Env,
        opts: Option<Unknown<'_>>,
    ) -> napi::Result<PromiseRaw<'e, Unknown<'e>>> {
        promise(env, self.list_tenants_work(options_arg(opts)))
    }

    /// `listTenants`, inline.
    #[napi(
        catch_unwind,
        ts_args_type = "opts?: ListOptions",
        ts_return_type = "Page<Tenant>"
    )]
    pub fn list_tenants_sync<'e>(
        &self,
        env: &'e Env,
        opts: Option<Unknown<'_>>,
    ) -> napi::Result<Unknown<'e>> {
        block_json(env, self.list_tenants_work(options_arg(opts)))
    }

    fn list_tenants_work(
        &self,
        opts: Outcome<Json>,
    ) -> impl std::future::Future<Output = Outcome<CamelJson>> + Send + 'static {
        let engine = self.inner.clone();
        async move { to_json(engine.list_tenants(&from_json(opts?)?).await) }
    }

    /// The customers of one tenant. Returns at once; each operation checks the tenant.
    #[napi(catch_unwind, ts_args_type = "tenantId: string")]
    pub fn customers(&self, env: Env, tenant_id: Unknown<'_>) -> napi::Result<Customers> {
        let tenant = string_arg(tenant_id, "tenantId");
        run_sync(&env, || {
            Ok(Customers {
                inner: self.inner.customers(tenant?),
            })
        })
    }

    /// The trackings of one tenant. Returns at once; each operation checks the tenant.
    #[napi(catch_unwind, ts_args_type = "tenantId: string")]
    pub fn trackings(&self, env: Env, tenant_id: Unknown<'_>) -> napi::Result<Trackings> {
        let tenant = string_arg(tenant_id, "tenantId");
        run_sync(&env, || {
            Ok(Trackings {
                inner: self.inner.trackings(tenant?),
            })
        })
    }
}

/// `call` on a resource, as a future.
fn resource_work<R: Resource>(
    resource: &R,
    call: Outcome<Call>,
) -> impl std::future::Future<Output = Outcome<CamelJson>> + Send + 'static {
    let resource = resource.clone();
    async move { to_json(call?.run(&resource).await) }
}

/// The five operations of a resource handle, each as a Promise method and a `…Sync` twin, with
/// the TypeScript names of its record and option types.
macro_rules! resource_class {
    (
        $(#[$doc:meta])*
        $class:ident($core:ty),
        record: $rec:tt, promise: $p:tt, page: $page:tt, promise_page: $pp:tt,
        new: $new:tt, patch: $patch:tt, list: $list:tt
    ) => {
        $(#[$doc])*
        #[napi]
        pub struct $class {
            inner: $core,
        }

        #[napi]
        impl $class {
            /// Create a record. `invalid_input` naming every bad field, `not_found` for another
            /// tenant's parent, `already_exists` for a duplicate.
            #[napi(catch_unwind, ts_args_type = $new, ts_return_type = $p)]
            pub fn create<'e>(&self, env: &'e Env, opts: Unknown<'_>) -> napi::Result<PromiseRaw<'e, Unknown<'e>>> {
                promise(env, resource_work(&self.inner, required_options(opts).map(Call::Create)))
            }

            /// `create`, inline.
            #[napi(catch_unwind, ts_args_type = $new, ts_return_type = $rec)]
            pub fn create_sync<'e>(&self, env: &'e Env, opts: Unknown<'_>) -> napi::Result<Unknown<'e>> {
                block_json(env, resource_work(&self.inner, required_options(opts).map(Call::Create)))
            }

            /// Fetch a record of this tenant. `not_found` if unknown, deleted or another tenant's.
            #[napi(catch_unwind, ts_args_type = "id: string", ts_return_type = $p)]
            pub fn get<'e>(&self, env: &'e Env, id: Unknown<'_>) -> napi::Result<PromiseRaw<'e, Unknown<'e>>> {
                promise(env, resource_work(&self.inner, string_arg(id, "id").map(Call::Get)))
            }

            /// `get`, inline.
            #[napi(catch_unwind, ts_args_type = "id: string", ts_return_type = $rec)]
            pub fn get_sync<'e>(&self, env: &'e Env, id: Unknown<'_>) -> napi::Result<Unknown<'e>> {
                block_json(env, resource_work(&self.inner, string_arg(id, "id").map(Call::Get)))
            }

            /// One page of this tenant's records, oldest first.
            #[napi(catch_unwind, ts_args_type = $list, ts_return_type = $pp)]
            pub fn list<'e>(&self, env: &'e Env, opts: Option<Unknown<'_>>) -> napi::Result<PromiseRaw<'e, Unknown<'e>>> {
                promise(env, resource_work(&self.inner, options_arg(opts).map(Call::List)))
            }

            /// `list`, inline.
            #[napi(catch_unwind, ts_args_type = $list, ts_return_type = $page)]
            pub fn list_sync<'e>(&self, env: &'e Env, opts: Option<Unknown<'_>>) -> napi::Result<Unknown<'e>> {
                block_json(env, resource_work(&self.inner, options_arg(opts).map(Call::List)))
            }

            /// Change a record if `opts.version` is current (`conflict` otherwise); `null`
            /// clears an optional field.
            #[napi(catch_unwind, ts_args_type = $patch, ts_return_type = $p)]
            pub fn update<'e>(&self, env: &'e Env, id: Unknown<'_>, opts: Unknown<'_>) -> napi::Result<PromiseRaw<'e, Unknown<'e>>> {
                let call = string_arg(id, "id").and_then(|id| Ok(Call::Update(id, required_options(opts)?)));
                promise(env, resource_work(&self.inner, call))
            }

            /// `update`, inline.
            #[napi(catch_unwind, ts_args_type = $patch, ts_return_type = $rec)]
            pub fn update_sync<'e>(&self, env: &'e Env, id: Unknown<'_>, opts: Unknown<'_>) -> napi::Result<Unknown<'e>> {
                let call = string_arg(id, "id").and_then(|id| Ok(Call::Update(id, required_options(opts)?)));
                block_json(env, resource_work(&self.inner, call))
            }

            /// Soft-delete a record; `opts.version` guards against a stale read.
            #[napi(catch_unwind, ts_args_type = "id: string, opts?: DeleteOptions", ts_return_type = $p)]
            pub fn delete<'e>(&self, env: &'e Env, id: Unknown<'_>, opts: Option<Unknown<'_>>) -> napi::Result<PromiseRaw<'e, Unknown<'e>>> {
                let call = string_arg(id, "id").and_then(|id| Ok(Call::Delete(id, options_arg(opts)?)));
                promise(env, resource_work(&self.inner, call))
            }

            /// `delete`, inline.
            #[napi(catch_unwind, ts_args_type = "id: string, opts?: DeleteOptions", ts_return_type = $rec)]
            pub fn delete_sync<'e>(&self, env: &'e Env, id: Unknown<'_>, opts: Option<Unknown<'_>>) -> napi::Result<Unknown<'e>> {
                let call = string_arg(id, "id").and_then(|id| Ok(Call::Delete(id, options_arg(opts)?)));
                block_json(env, resource_work(&self.inner, call))
            }
        }
    };
}

resource_class!(
    /// One tenant's customers (from `engine.customers(tenantId)`). Same thread rules as `Engine`.
    Customers(tagsmith_core::Customers),
    record: "Customer", promise: "Promise<Customer>", page: "Page<Customer>",
    promise_page: "Promise<Page<Customer>>",
    new: "opts: NewCustomer", patch: "id: string, opts: CustomerPatch", list: "opts?: ListOptions"
);

resource_class!(
    /// One tenant's trackings (from `engine.trackings(tenantId)`). Same thread rules as `Engine`.
    Trackings(tagsmith_core::Trackings),
    record: "Tracking", promise: "Promise<Tracking>", page: "Page<Tracking>",
    promise_page: "Promise<Page<Tracking>>",
    new: "opts: NewTracking", patch: "id: string, opts: TrackingPatch", list: "opts?: ListTrackings"
);

/// Raise a Rust panic inside a guarded call: the test suite checks it arrives as an `internal`
/// error, never as a crash of the Node process. Not part of the API.
#[napi(js_name = "__tagsmithPanicForTests", catch_unwind)]
pub fn panic_for_tests(env: Env) -> napi::Result<()> {
    run_sync(&env, || -> Outcome<()> {
        #[allow(clippy::panic)]
        {
            panic!("a deliberate panic from the test suite")
        }
    })
}

/// One bare Promise round trip (the tokio runtime and back, resolving `undefined`): the floor
/// the bench compares an awaited `get` with. Not part of the API.
#[napi(js_name = "__tagsmithNoopForBench", ts_return_type = "Promise<void>")]
pub fn noop_for_bench(env: &Env) -> napi::Result<PromiseRaw<'_, Unknown<'_>>> {
    promise(env, async { Ok(Nothing) })
}

/// `undefined` in JS.
pub struct Nothing;

impl IntoJs for Nothing {
    fn into_js(self, env: &Env) -> napi::Result<Unknown<'_>> {
        ().into_unknown(env)
    }
}
