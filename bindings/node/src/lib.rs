//! Node.js binding of tagsmith (`@tagsmith/node`, napi-rs).
//!
//! Thin on purpose: argument conversion (JS camelCase options → core's snake_case request
//! structs), error mapping (core errors → JS `Error` objects with `code`, `fields`, `httpStatus`,
//! `retryable`), and Promise glue. Every operation is one closure that runs either inline
//! (`…Sync` methods) or on the libuv thread pool (`AsyncTask`, Promise methods). Storage futures
//! on memory and SQLite are ready at first poll, so `pollster::block_on` drives them without a
//! runtime.

use std::panic::{AssertUnwindSafe, catch_unwind};

use napi::bindgen_prelude::{
    AsyncTask, FromNapiValue, Function, JsObjectValue, Object, ToNapiValue, Unknown,
};
use napi::{Env, JsValue, ScopedTask, ValueType};
use napi_derive::napi;
use serde_json::{Map, Value as Json};
use tagsmith_core::casing::{field_path_to_camel, keys_to_snake, to_camel_json};
use tagsmith_core::{
    CustomerId, DeleteOptions, Error as CoreError, EventsOptions, TenantId, TrackingId, from_json,
};

type Outcome<T> = std::result::Result<T, CoreError>;

// ---------------------------------------------------------------------------------------------
// Running work: inline or on the libuv pool, panics caught and mapped to `internal`.

/// Run `work`, turning a panic into an `internal` error so nothing unwinds into Node.
fn guarded<T>(work: impl FnOnce() -> Outcome<T>) -> Outcome<T> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| {
        let text = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Err(CoreError::internal(format!("panic in tagsmith: {text}")))
    })
}

/// A JS `Error` carrying core's stable `code`, camelCase `fields`, `httpStatus` and `retryable`.
/// Built on the JS thread and handed to napi as a raw value, so it survives both `throw` and
/// Promise rejection (napi-rs drops custom codes otherwise: napi-rs #1632, #2333).
fn js_error(env: &Env, err: &CoreError) -> napi::Error {
    build_js_error(env, err).unwrap_or_else(|e| e)
}

fn build_js_error(env: &Env, err: &CoreError) -> napi::Result<napi::Error> {
    let mut obj = env.create_error(napi::Error::from_reason(err.to_string()))?;
    obj.set("code", err.code())?;
    let fields: Vec<Json> = err
        .fields()
        .iter()
        .map(|f| {
            serde_json::json!({
                "field": field_path_to_camel(&f.field),
                "value": f.value,
                "reason": f.reason,
            })
        })
        .collect();
    obj.set("fields", Json::Array(fields))?;
    obj.set("httpStatus", u32::from(err.http_status()))?;
    obj.set("retryable", err.is_retryable())?;
    if let Some(secs) = err.retry_after_secs() {
        obj.set("retryAfterSecs", Json::from(secs))?;
    }
    Ok(napi::Error::from(obj.to_unknown()))
}

/// Run an operation inline (the `…Sync` methods).
fn run_sync<T>(env: &Env, work: impl FnOnce() -> Outcome<T>) -> napi::Result<T> {
    guarded(work).map_err(|e| js_error(env, &e))
}

/// Run an operation inline and hand its JSON result to JS.
fn run_sync_json<'e>(
    env: &'e Env,
    work: impl FnOnce() -> Outcome<CamelJson>,
) -> napi::Result<Unknown<'e>> {
    let json = run_sync(env, work)?;
    json_to_js(env, json)
}

/// A JSON result as a plain JS value, built by the JS engine's own `JSON.parse` of the text:
/// faster than one napi call per property (a tracking `getSync`: 7.0 µs instead of 9.2 µs here).
fn json_to_js<'e>(env: &'e Env, json: CamelJson) -> napi::Result<Unknown<'e>> {
    let text = json.0;
    let global = env.get_global()?;
    let json_ns: Object<'_> = global.get_named_property("JSON")?;
    let parse: Function<'_, String, Unknown<'e>> = json_ns.get_named_property("parse")?;
    parse.call(text)
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

/// A result as JSON text with camelCase keys (written by core's `casing::to_camel_json`).
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
            Some(work) => guarded(work),
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

/// Run an operation on the libuv pool (the Promise methods).
fn spawn<T: IntoJs>(work: impl FnOnce() -> Outcome<T> + Send + 'static) -> AsyncTask<Job<T>> {
    AsyncTask::new(Job {
        work: Some(Box::new(work)),
    })
}

// ---------------------------------------------------------------------------------------------
// Conversion.

/// A JS value as JSON; `undefined`/`null` become `{}` when the argument is optional.
fn json_arg(value: Unknown<'_>, optional: bool) -> Outcome<Json> {
    let ty = value.get_type().unwrap_or(ValueType::Unknown);
    match ty {
        ValueType::Undefined | ValueType::Null if optional => return Ok(Json::Object(Map::new())),
        ValueType::Undefined => return Ok(Json::Null),
        _ => {}
    }
    Json::from_unknown(value).map_err(|e| {
        CoreError::invalid_field(
            "options",
            &format!("{ty}"),
            format!("is not a plain JSON-like object: {}", e.reason),
        )
    })
}

/// A camelCase options object as one of core's request structs (core names any bad field).
fn request<T: tagsmith_core::Request>(options: Outcome<Json>) -> Outcome<T> {
    from_json(keys_to_snake(options?))
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
fn opt_arg_value(value: Option<Unknown<'_>>) -> Outcome<Json> {
    value.map_or(Ok(Json::Null), |v| json_arg(v, false))
}

/// A core result as a plain JS-shaped value (camelCase keys, times as RFC 3339 strings).
fn to_json<T: serde::Serialize>(value: Outcome<T>) -> Outcome<CamelJson> {
    to_camel_json(&value?).map(CamelJson)
}

// ---------------------------------------------------------------------------------------------
// Classes.

/// A tagsmith engine over a SQLite file or memory.
///
/// Threads: the native engine is `Send + Sync` and Promise methods run on libuv's thread pool
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

    /// Open (create and migrate if needed) a SQLite database file. Rejects with `storage` if the
    /// file is not a database, is locked, or was written by a newer tagsmith.
    #[napi(
        catch_unwind,
        ts_args_type = "path: string",
        ts_return_type = "Promise<Engine>"
    )]
    pub fn open(path: Unknown<'_>) -> AsyncTask<Job<Engine>> {
        let path = string_arg(path, "path");
        spawn(move || Self::open_work(path))
    }

    /// `open`, blocking the calling thread.
    #[napi(catch_unwind, ts_args_type = "path: string")]
    pub fn open_sync(env: Env, path: Unknown<'_>) -> napi::Result<Engine> {
        let path = string_arg(path, "path");
        run_sync(&env, move || Self::open_work(path))
    }

    fn open_work(path: Outcome<String>) -> Outcome<Engine> {
        Ok(Engine {
            inner: tagsmith_core::Engine::open(path?)?,
        })
    }

    /// The storage backend's name: `memory` or `sqlite`.
    #[napi(getter)]
    pub fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    /// The tenant's retained change events after sequence number `after` (default 0: from the
    /// oldest retained), at most `limit` (default 1000). Poll with `lastSeq` to follow changes
    /// (e.g. to forward them over SSE); `missed` > 0 means some were dropped.
    #[napi(
        catch_unwind,
        ts_args_type = "tenantId: string, after?: number, limit?: number",
        ts_return_type = "EventBatch"
    )]
    pub fn events<'e>(
        &self,
        env: &'e Env,
        tenant_id: Unknown<'_>,
        after: Option<Unknown<'_>>,
        limit: Option<Unknown<'_>>,
    ) -> napi::Result<Unknown<'e>> {
        let tenant = string_arg(tenant_id, "tenantId");
        let after = opt_arg_value(after);
        let limit = opt_arg_value(limit);
        run_sync_json(env, || {
            let options: EventsOptions =
                from_json(serde_json::json!({"after": after?, "limit": limit?}))?;
            to_json(pollster::block_on(
                self.inner.events_with(&TenantId::new(tenant?), &options),
            ))
        })
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
    pub fn create_tenant(&self, name: Unknown<'_>) -> AsyncTask<Job<CamelJson>> {
        spawn(self.create_tenant_work(string_arg(name, "name")))
    }

    /// `createTenant`, inline.
    #[napi(catch_unwind, ts_args_type = "name: string", ts_return_type = "Tenant")]
    pub fn create_tenant_sync<'e>(
        &self,
        env: &'e Env,
        name: Unknown<'_>,
    ) -> napi::Result<Unknown<'e>> {
        run_sync_json(env, self.create_tenant_work(string_arg(name, "name")))
    }

    fn create_tenant_work(
        &self,
        name: Outcome<String>,
    ) -> impl FnOnce() -> Outcome<CamelJson> + Send + 'static {
        let engine = self.inner.clone();
        move || to_json(pollster::block_on(engine.create_tenant(&name?)))
    }

    /// Fetch a tenant. `not_found` if unknown.
    #[napi(
        catch_unwind,
        ts_args_type = "id: string",
        ts_return_type = "Promise<Tenant>"
    )]
    pub fn get_tenant(&self, id: Unknown<'_>) -> AsyncTask<Job<CamelJson>> {
        spawn(self.get_tenant_work(string_arg(id, "id")))
    }

    /// `getTenant`, inline.
    #[napi(catch_unwind, ts_args_type = "id: string", ts_return_type = "Tenant")]
    pub fn get_tenant_sync<'e>(&self, env: &'e Env, id: Unknown<'_>) -> napi::Result<Unknown<'e>> {
        run_sync_json(env, self.get_tenant_work(string_arg(id, "id")))
    }

    fn get_tenant_work(
        &self,
        id: Outcome<String>,
    ) -> impl FnOnce() -> Outcome<CamelJson> + Send + 'static {
        let engine = self.inner.clone();
        move || to_json(pollster::block_on(engine.get_tenant(&TenantId::new(id?))))
    }

    /// List tenants (the host's administrative view), oldest first.
    #[napi(
        catch_unwind,
        ts_args_type = "opts?: ListOptions",
        ts_return_type = "Promise<Page<Tenant>>"
    )]
    pub fn list_tenants(&self, opts: Option<Unknown<'_>>) -> AsyncTask<Job<CamelJson>> {
        spawn(self.list_tenants_work(opt_arg(opts)))
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
        run_sync_json(env, self.list_tenants_work(opt_arg(opts)))
    }

    fn list_tenants_work(
        &self,
        opts: Outcome<Json>,
    ) -> impl FnOnce() -> Outcome<CamelJson> + Send + 'static {
        let engine = self.inner.clone();
        move || to_json(pollster::block_on(engine.list_tenants(&request(opts)?)))
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

fn opt_arg(opts: Option<Unknown<'_>>) -> Outcome<Json> {
    match opts {
        Some(value) => json_arg(value, true),
        None => Ok(Json::Object(Map::new())),
    }
}

/// One tenant's customers (from `engine.customers(tenantId)`). Same thread rules as `Engine`.
#[napi]
pub struct Customers {
    inner: tagsmith_core::Customers,
}

#[napi]
impl Customers {
    /// Create a customer. `invalid_input` for bad fields, `not_found` for an unknown tenant.
    #[napi(
        catch_unwind,
        ts_args_type = "opts: NewCustomer",
        ts_return_type = "Promise<Customer>"
    )]
    pub fn create(&self, opts: Unknown<'_>) -> AsyncTask<Job<CamelJson>> {
        spawn(self.create_work(json_arg(opts, false)))
    }

    /// `create`, inline.
    #[napi(
        catch_unwind,
        ts_args_type = "opts: NewCustomer",
        ts_return_type = "Customer"
    )]
    pub fn create_sync<'e>(&self, env: &'e Env, opts: Unknown<'_>) -> napi::Result<Unknown<'e>> {
        run_sync_json(env, self.create_work(json_arg(opts, false)))
    }

    fn create_work(
        &self,
        opts: Outcome<Json>,
    ) -> impl FnOnce() -> Outcome<CamelJson> + Send + 'static {
        let h = self.inner.clone();
        move || to_json(pollster::block_on(h.create(request(opts)?)))
    }

    /// Fetch a customer. `not_found` if unknown, deleted or another tenant's.
    #[napi(
        catch_unwind,
        ts_args_type = "id: string",
        ts_return_type = "Promise<Customer>"
    )]
    pub fn get(&self, id: Unknown<'_>) -> AsyncTask<Job<CamelJson>> {
        spawn(self.get_work(string_arg(id, "id")))
    }

    /// `get`, inline.
    #[napi(catch_unwind, ts_args_type = "id: string", ts_return_type = "Customer")]
    pub fn get_sync<'e>(&self, env: &'e Env, id: Unknown<'_>) -> napi::Result<Unknown<'e>> {
        run_sync_json(env, self.get_work(string_arg(id, "id")))
    }

    fn get_work(
        &self,
        id: Outcome<String>,
    ) -> impl FnOnce() -> Outcome<CamelJson> + Send + 'static {
        let h = self.inner.clone();
        move || to_json(pollster::block_on(h.get(&CustomerId::new(id?))))
    }

    /// List this tenant's customers, oldest first.
    #[napi(
        catch_unwind,
        ts_args_type = "opts?: ListOptions",
        ts_return_type = "Promise<Page<Customer>>"
    )]
    pub fn list(&self, opts: Option<Unknown<'_>>) -> AsyncTask<Job<CamelJson>> {
        spawn(self.list_work(opt_arg(opts)))
    }

    /// `list`, inline.
    #[napi(
        catch_unwind,
        ts_args_type = "opts?: ListOptions",
        ts_return_type = "Page<Customer>"
    )]
    pub fn list_sync<'e>(
        &self,
        env: &'e Env,
        opts: Option<Unknown<'_>>,
    ) -> napi::Result<Unknown<'e>> {
        run_sync_json(env, self.list_work(opt_arg(opts)))
    }

    fn list_work(
        &self,
        opts: Outcome<Json>,
    ) -> impl FnOnce() -> Outcome<CamelJson> + Send + 'static {
        let h = self.inner.clone();
        move || to_json(pollster::block_on(h.list(&request(opts)?)))
    }

    /// Change a customer if `opts.version` is current (`conflict` otherwise).
    #[napi(
        catch_unwind,
        ts_args_type = "id: string, opts: CustomerPatch",
        ts_return_type = "Promise<Customer>"
    )]
    pub fn update(&self, id: Unknown<'_>, opts: Unknown<'_>) -> AsyncTask<Job<CamelJson>> {
        spawn(self.update_work(string_arg(id, "id"), json_arg(opts, false)))
    }

    /// `update`, inline.
    #[napi(
        catch_unwind,
        ts_args_type = "id: string, opts: CustomerPatch",
        ts_return_type = "Customer"
    )]
    pub fn update_sync<'e>(
        &self,
        env: &'e Env,
        id: Unknown<'_>,
        opts: Unknown<'_>,
    ) -> napi::Result<Unknown<'e>> {
        run_sync_json(
            env,
            self.update_work(string_arg(id, "id"), json_arg(opts, false)),
        )
    }

    fn update_work(
        &self,
        id: Outcome<String>,
        opts: Outcome<Json>,
    ) -> impl FnOnce() -> Outcome<CamelJson> + Send + 'static {
        let h = self.inner.clone();
        move || {
            to_json(pollster::block_on(
                h.update(&CustomerId::new(id?), request(opts)?),
            ))
        }
    }

    /// Soft-delete a customer and its trackings; `opts.version` guards against a stale read.
    #[napi(
        catch_unwind,
        ts_args_type = "id: string, opts?: DeleteOptions",
        ts_return_type = "Promise<Customer>"
    )]
    pub fn delete(&self, id: Unknown<'_>, opts: Option<Unknown<'_>>) -> AsyncTask<Job<CamelJson>> {
        spawn(self.delete_work(string_arg(id, "id"), opt_arg(opts)))
    }

    /// `delete`, inline.
    #[napi(
        catch_unwind,
        ts_args_type = "id: string, opts?: DeleteOptions",
        ts_return_type = "Customer"
    )]
    pub fn delete_sync<'e>(
        &self,
        env: &'e Env,
        id: Unknown<'_>,
        opts: Option<Unknown<'_>>,
    ) -> napi::Result<Unknown<'e>> {
        run_sync_json(env, self.delete_work(string_arg(id, "id"), opt_arg(opts)))
    }

    fn delete_work(
        &self,
        id: Outcome<String>,
        opts: Outcome<Json>,
    ) -> impl FnOnce() -> Outcome<CamelJson> + Send + 'static {
        let h = self.inner.clone();
        move || {
            let opts: DeleteOptions = request(opts)?;
            to_json(pollster::block_on(
                h.delete(&CustomerId::new(id?), opts.version),
            ))
        }
    }
}

/// One tenant's trackings (from `engine.trackings(tenantId)`). Same thread rules as `Engine`.
#[napi]
pub struct Trackings {
    inner: tagsmith_core::Trackings,
}

#[napi]
impl Trackings {
    /// Create a tracking for one of this tenant's customers. `invalid_input` for bad fields,
    /// `not_found` for another tenant's customer, `already_exists` for a duplicate name.
    #[napi(
        catch_unwind,
        ts_args_type = "opts: NewTracking",
        ts_return_type = "Promise<Tracking>"
    )]
    pub fn create(&self, opts: Unknown<'_>) -> AsyncTask<Job<CamelJson>> {
        spawn(self.create_work(json_arg(opts, false)))
    }

    /// `create`, inline.
    #[napi(
        catch_unwind,
        ts_args_type = "opts: NewTracking",
        ts_return_type = "Tracking"
    )]
    pub fn create_sync<'e>(&self, env: &'e Env, opts: Unknown<'_>) -> napi::Result<Unknown<'e>> {
        run_sync_json(env, self.create_work(json_arg(opts, false)))
    }

    fn create_work(
        &self,
        opts: Outcome<Json>,
    ) -> impl FnOnce() -> Outcome<CamelJson> + Send + 'static {
        let h = self.inner.clone();
        move || to_json(pollster::block_on(h.create(request(opts)?)))
    }

    /// Fetch a tracking. `not_found` if unknown, deleted or another tenant's.
    #[napi(
        catch_unwind,
        ts_args_type = "id: string",
        ts_return_type = "Promise<Tracking>"
    )]
    pub fn get(&self, id: Unknown<'_>) -> AsyncTask<Job<CamelJson>> {
        spawn(self.get_work(string_arg(id, "id")))
    }

    /// `get`, inline.
    #[napi(catch_unwind, ts_args_type = "id: string", ts_return_type = "Tracking")]
    pub fn get_sync<'e>(&self, env: &'e Env, id: Unknown<'_>) -> napi::Result<Unknown<'e>> {
        run_sync_json(env, self.get_work(string_arg(id, "id")))
    }

    fn get_work(
        &self,
        id: Outcome<String>,
    ) -> impl FnOnce() -> Outcome<CamelJson> + Send + 'static {
        let h = self.inner.clone();
        move || to_json(pollster::block_on(h.get(&TrackingId::new(id?))))
    }

    /// List this tenant's trackings (optionally one customer's), oldest first.
    #[napi(
        catch_unwind,
        ts_args_type = "opts?: ListTrackings",
        ts_return_type = "Promise<Page<Tracking>>"
    )]
    pub fn list(&self, opts: Option<Unknown<'_>>) -> AsyncTask<Job<CamelJson>> {
        spawn(self.list_work(opt_arg(opts)))
    }

    /// `list`, inline.
    #[napi(
        catch_unwind,
        ts_args_type = "opts?: ListTrackings",
        ts_return_type = "Page<Tracking>"
    )]
    pub fn list_sync<'e>(
        &self,
        env: &'e Env,
        opts: Option<Unknown<'_>>,
    ) -> napi::Result<Unknown<'e>> {
        run_sync_json(env, self.list_work(opt_arg(opts)))
    }

    fn list_work(
        &self,
        opts: Outcome<Json>,
    ) -> impl FnOnce() -> Outcome<CamelJson> + Send + 'static {
        let h = self.inner.clone();
        move || to_json(pollster::block_on(h.list(&request(opts)?)))
    }

    /// Change a tracking if `opts.version` is current (`conflict` otherwise); `null` clears an
    /// optional field. A change to what is tracked puts a synced tracking back to `pending`.
    #[napi(
        catch_unwind,
        ts_args_type = "id: string, opts: TrackingPatch",
        ts_return_type = "Promise<Tracking>"
    )]
    pub fn update(&self, id: Unknown<'_>, opts: Unknown<'_>) -> AsyncTask<Job<CamelJson>> {
        spawn(self.update_work(string_arg(id, "id"), json_arg(opts, false)))
    }

    /// `update`, inline.
    #[napi(
        catch_unwind,
        ts_args_type = "id: string, opts: TrackingPatch",
        ts_return_type = "Tracking"
    )]
    pub fn update_sync<'e>(
        &self,
        env: &'e Env,
        id: Unknown<'_>,
        opts: Unknown<'_>,
    ) -> napi::Result<Unknown<'e>> {
        run_sync_json(
            env,
            self.update_work(string_arg(id, "id"), json_arg(opts, false)),
        )
    }

    fn update_work(
        &self,
        id: Outcome<String>,
        opts: Outcome<Json>,
    ) -> impl FnOnce() -> Outcome<CamelJson> + Send + 'static {
        let h = self.inner.clone();
        move || {
            to_json(pollster::block_on(
                h.update(&TrackingId::new(id?), request(opts)?),
            ))
        }
    }

    /// Soft-delete a tracking (status `deleted`); `opts.version` guards against a stale read.
    #[napi(
        catch_unwind,
        ts_args_type = "id: string, opts?: DeleteOptions",
        ts_return_type = "Promise<Tracking>"
    )]
    pub fn delete(&self, id: Unknown<'_>, opts: Option<Unknown<'_>>) -> AsyncTask<Job<CamelJson>> {
        spawn(self.delete_work(string_arg(id, "id"), opt_arg(opts)))
    }

    /// `delete`, inline.
    #[napi(
        catch_unwind,
        ts_args_type = "id: string, opts?: DeleteOptions",
        ts_return_type = "Tracking"
    )]
    pub fn delete_sync<'e>(
        &self,
        env: &'e Env,
        id: Unknown<'_>,
        opts: Option<Unknown<'_>>,
    ) -> napi::Result<Unknown<'e>> {
        run_sync_json(env, self.delete_work(string_arg(id, "id"), opt_arg(opts)))
    }

    fn delete_work(
        &self,
        id: Outcome<String>,
        opts: Outcome<Json>,
    ) -> impl FnOnce() -> Outcome<CamelJson> + Send + 'static {
        let h = self.inner.clone();
        move || {
            let opts: DeleteOptions = request(opts)?;
            to_json(pollster::block_on(
                h.delete(&TrackingId::new(id?), opts.version),
            ))
        }
    }
}
