//! # tagsmith-wasm
//!
//! The browser binding of tagsmith (`@tagsmith/wasm`), built with wasm-bindgen over
//! `tagsmith-core`'s in-memory storage. Thin on purpose: option conversion (camelCase JS objects
//! to core's request structs and back), error mapping (JS `Error` objects carrying `.code`,
//! `.fields`, `.httpStatus`, `.retryable`) and Promise glue. Every rule lives in core.
//!
//! The JS shape matches @tagsmith/node (minus `Engine.open`, SQLite being native-only):
//! `Engine.inMemory()`, `createTenant`/`getTenant`/`listTenants`, `engine.customers(tenantId)` /
//! `engine.trackings(tenantId)` handles with `create`, `get`, `list`, `update`, `delete`
//! returning Promises, each with a `…Sync` twin; `close()` and `Symbol.asyncDispose`.
//!
//! Core's storage futures are ready at first poll: the `…Sync` twins poll once (no blocking,
//! which wasm32 cannot do), the Promise forms go through `wasm-bindgen-futures`, so a backend
//! that really awaits would still work there.
//!
//! wasm32 aborts on panic, so nothing here unwraps anything derived from input.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use js_sys::{Array, Object, Promise, Reflect};
use serde::Serialize;
use serde_json::Value;
use tagsmith_core as ts;
use tagsmith_core::casing::{keys_to_camel, keys_to_snake};
use tagsmith_core::resource::{Call, Resource};
use tagsmith_core::{Error, ListOptions, TenantId, Timestamp, from_json};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

// ---------------------------------------------------------------------------------------------
// Environment: the browser's clock and random source (`SystemTime::now()` panics on wasm32).

/// Clock from `Date.now()`, randomness from `crypto.getRandomValues`.
struct BrowserEnv;

impl ts::Env for BrowserEnv {
    fn now(&self) -> Timestamp {
        // Milliseconds with a fractional part; microsecond precision is what core stores.
        Timestamp::from_micros((js_sys::Date::now() * 1000.0) as i64)
    }

    fn fill_random(&self, buf: &mut [u8]) -> ts::Result<()> {
        // No predictable fallback: an id (and later a key) is never minted from Math.random.
        if crypto_fill(buf) {
            Ok(())
        } else {
            Err(Error::new(
                ts::ErrorKind::Unavailable,
                "crypto.getRandomValues is not available: tagsmith needs Web Crypto",
            )
            .with_retryable(false))
        }
    }
}

/// Fill `buf` from `globalThis.crypto.getRandomValues`; `false` if it is unavailable.
fn crypto_fill(buf: &mut [u8]) -> bool {
    let global = js_sys::global();
    let Ok(crypto) = Reflect::get(&global, &JsValue::from_str("crypto")) else {
        return false;
    };
    if !crypto.is_object() {
        return false;
    }
    let Ok(get) = Reflect::get(&crypto, &JsValue::from_str("getRandomValues")) else {
        return false;
    };
    let Ok(get) = get.dyn_into::<js_sys::Function>() else {
        return false;
    };
    // getRandomValues takes at most 65536 bytes per call.
    for chunk in buf.chunks_mut(65536) {
        let array = js_sys::Uint8Array::new_with_length(chunk.len() as u32);
        if get.call1(&crypto, &array).is_err() {
            return false;
        }
        array.copy_to(chunk);
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Conversion helpers.

/// A core error as a JS `Error` with `.code`, `.fields` (camelCase paths), `.httpStatus`,
/// `.retryable` and, when known, `.retryAfterSecs` — the same properties as @tagsmith/node.
fn js_error(e: &Error) -> JsValue {
    let view = ts::ffi::ErrorView::camel(e);
    // Same text as @tagsmith/node: "code: message".
    let err = js_sys::Error::new(&view.message);
    let fields = Array::new();
    for f in &view.fields {
        let o = Object::new();
        set(&o, "field", &JsValue::from_str(&f.field));
        set(&o, "value", &JsValue::from_str(&f.value));
        set(&o, "reason", &JsValue::from_str(&f.reason));
        fields.push(&o);
    }
    set(&err, "code", &JsValue::from_str(view.code));
    set(&err, "fields", &fields);
    set(&err, "httpStatus", &JsValue::from(view.http_status));
    set(&err, "retryable", &JsValue::from_bool(view.retryable));
    if let Some(secs) = view.retry_after_secs {
        set(&err, "retryAfterSecs", &JsValue::from_f64(secs as f64));
    }
    err.into()
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    // Setting a plain data property on a fresh object cannot fail; nothing to report if it did.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// A short, printable form of a JS value for error details.
fn describe(value: &JsValue) -> String {
    if let Some(s) = value.as_string() {
        return s;
    }
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| value.js_typeof().as_string().unwrap_or_default())
}

/// A JS options object as core's wire JSON (snake_case keys).
///
/// `undefined`/`null` is `{}` where the options are optional, and JSON `null` otherwise (core
/// then reports the request as invalid, as @tagsmith/node does). Goes through `JSON.stringify`,
/// so it follows JSON's rules exactly: properties set to `undefined` and functions are omitted
/// (an absent field, not a `null` that would clear it), dates become strings, and cycles or
/// BigInts are refused as `invalid_input` instead of recursing forever; serde_json's depth limit
/// bounds nesting.
fn options(value: &JsValue, optional: bool) -> ts::Result<Value> {
    if value.is_undefined() || value.is_null() {
        return Ok(if optional {
            Value::Object(serde_json::Map::new())
        } else {
            Value::Null
        });
    }
    let shown = || value.js_typeof().as_string().unwrap_or_default();
    // JSON.stringify turns NaN and ±Infinity into null, which would silently drop a value:
    // pass them on as text instead, so core names the field that is not a number.
    let replacer =
        Closure::<dyn Fn(JsValue, JsValue) -> JsValue>::new(|_key: JsValue, v: JsValue| {
            match v.as_f64() {
                Some(f) if !f.is_finite() => JsValue::from_str(&f.to_string()),
                _ => v,
            }
        });
    let text = js_sys::JSON::stringify_with_replacer(value, replacer.as_ref().unchecked_ref())
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| {
            Error::invalid_field(
                "options",
                &shown(),
                "is not plain JSON-like data (functions, symbols, cycles and BigInts are not)",
            )
        })?;
    let json: Value = serde_json::from_str(&text).map_err(|e| {
        Error::invalid_field(
            "options",
            &shown(),
            format!("is not plain JSON-like data: {e}"),
        )
    })?;
    Ok(keys_to_snake(json))
}

/// A string argument such as an id or a name.
fn string_arg(value: &JsValue, field: &str) -> ts::Result<String> {
    value
        .as_string()
        .ok_or_else(|| Error::invalid_field(field, &describe(value), "must be a string"))
}

/// A result as a plain JS object with camelCase keys (`null` for `None`, objects for maps), its
/// times as `Date`s (RFC 3339 text only in JSON).
fn to_js<T: Serialize>(value: &T) -> ts::Result<JsValue> {
    let json = serde_json::to_value(value)
        .map_err(|e| Error::internal(format!("serializing a result: {e}")))?;
    let js = keys_to_camel(json)
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| Error::internal(format!("converting a result to JS: {e}")))?;
    with_dates(&js);
    Ok(js)
}

/// Time fields of every record and event, at any depth of a result (records, pages, batches).
const TIME_KEYS: [&str; 4] = ["createdAt", "updatedAt", "lastSyncedAt", "at"];

fn with_dates(value: &JsValue) {
    if Array::is_array(value) {
        for item in Array::from(value).iter() {
            with_dates(&item);
        }
    } else if value.is_object() {
        for key in TIME_KEYS {
            let k = JsValue::from_str(key);
            if let Ok(v) = Reflect::get(value, &k)
                && v.is_string()
            {
                let _ = Reflect::set(value, &k, &js_sys::Date::new(&v));
            }
        }
        for nested in ["items", "events"] {
            if let Ok(v) = Reflect::get(value, &JsValue::from_str(nested))
                && !v.is_undefined()
            {
                with_dates(&v);
            }
        }
    }
}

/// Drive a core future to completion on the spot. Memory storage answers at first poll; if a
/// backend ever does not, this reports `internal` instead of blocking (which wasm32 cannot do).
fn run_sync<F: Future<Output = ts::Result<JsValue>>>(future: F) -> Result<JsValue, JsValue> {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(result) => result.map_err(|e| js_error(&e)),
        Poll::Pending => Err(js_error(&Error::internal(
            "the storage backend did not answer synchronously: use the Promise method",
        ))),
    }
}

/// A core future as a Promise; errors (bad input included) reject rather than throw.
fn promise<F: Future<Output = ts::Result<JsValue>> + 'static>(future: F) -> Promise {
    wasm_bindgen_futures::future_to_promise(async move { future.await.map_err(|e| js_error(&e)) })
}

// ---------------------------------------------------------------------------------------------
// TypeScript: the option and result shapes (shared with @tagsmith/node) for the generated .d.ts.

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = include_str!("../../types/tagsmith.d.ts");

// ---------------------------------------------------------------------------------------------
// Engine.

/// The tagsmith engine, on in-memory storage in the browser.
///
/// Every operation has a Promise form and a `…Sync` twin; both fail with a `TagsmithError`
/// (an `Error` with a stable `code`). `close()` ends it; `free()` (or `using`) also releases its
/// memory.
#[wasm_bindgen]
pub struct Engine {
    inner: ts::Engine,
}

#[wasm_bindgen]
impl Engine {
    /// A fresh engine on in-memory storage, with the browser's clock and Web Crypto.
    #[wasm_bindgen(js_name = inMemory)]
    pub fn in_memory() -> Engine {
        Engine {
            inner: ts::Engine::new(ts::Storage::memory(), Arc::new(BrowserEnv)),
        }
    }

    /// The storage backend's name (`memory`).
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.inner.backend().to_owned()
    }

    /// The tenant's activity log: retained change events after sequence number `after` (default
    /// 0: from the oldest retained), at most `limit` (default 1000), optionally only those
    /// matching `filter` (`{ entity, id, actor, since, until }`, times as `Date`s or RFC 3339
    /// text); `missed` > 0 means some were dropped.
    #[wasm_bindgen(unchecked_return_type = "EventBatch")]
    pub fn events(
        &self,
        #[wasm_bindgen(js_name = tenantId, unchecked_param_type = "string")] tenant_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] after: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] limit: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EventFilter")] filter: JsValue,
    ) -> Result<JsValue, JsValue> {
        let engine = self.inner.clone();
        let args = (|| {
            let tenant = TenantId::new(string_arg(&tenant_id, "tenantId")?);
            let query = js_sys::Object::new();
            set(&query, "after", &after);
            set(&query, "limit", &limit);
            let mut query = options(&query, true)?;
            let filter = if filter.is_undefined() || filter.is_null() {
                None
            } else if filter.is_object() && !js_sys::Array::is_array(&filter) {
                Some(options(&filter, true)?)
            } else {
                Some(Value::String(describe(&filter)))
            };
            let options = tagsmith_core::ffi::events_options(
                query.get_mut("after").map(Value::take),
                query.get_mut("limit").map(Value::take),
                filter,
            )?;
            Ok((tenant, options))
        })();
        run_sync(async move {
            let (tenant, options) = args?;
            to_js(&engine.events_with(&tenant, &options).await?)
        })
    }

    /// A handle on the same engine whose writes the activity log records as made by `actor`.
    /// Throws `invalid_input` for an empty actor, one over 200 characters, or control
    /// characters.
    #[wasm_bindgen(js_name = actingAs)]
    pub fn acting_as(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] actor: JsValue,
    ) -> Result<Engine, JsValue> {
        let actor = string_arg(&actor, "actor").map_err(|e| js_error(&e))?;
        let inner = self.inner.acting_as(&actor).map_err(|e| js_error(&e))?;
        Ok(Engine { inner })
    }

    /// The actor this handle's writes are recorded as made by, or `null`.
    #[wasm_bindgen(getter)]
    pub fn actor(&self) -> Option<String> {
        self.inner.actor().map(str::to_owned)
    }

    /// Close the storage; later calls fail with `unavailable`. Safe to call twice.
    pub fn close(&self) -> Result<(), JsValue> {
        self.inner.close().map_err(|e| js_error(&e))
    }

    /// `await using engine = Engine.inMemory()` closes it at the end of the block.
    #[wasm_bindgen(
        js_name = "[Symbol.asyncDispose]",
        unchecked_return_type = "Promise<void>"
    )]
    pub fn async_dispose(&self) -> Promise {
        match self.inner.close() {
            Ok(()) => Promise::resolve(&JsValue::UNDEFINED),
            Err(e) => Promise::reject(&js_error(&e)),
        }
    }

    /// Create a tenant. `invalid_input` for a bad name.
    #[wasm_bindgen(js_name = createTenant, unchecked_return_type = "Promise<Tenant>")]
    pub fn create_tenant(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
    ) -> Promise {
        promise(self.create_tenant_op(&name))
    }

    /// `createTenant`, inline.
    #[wasm_bindgen(js_name = createTenantSync, unchecked_return_type = "Tenant")]
    pub fn create_tenant_sync(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
    ) -> Result<JsValue, JsValue> {
        run_sync(self.create_tenant_op(&name))
    }

    /// Fetch a tenant. `not_found` if unknown.
    #[wasm_bindgen(js_name = getTenant, unchecked_return_type = "Promise<Tenant>")]
    pub fn get_tenant(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Promise {
        promise(self.get_tenant_op(&id))
    }

    /// `getTenant`, inline.
    #[wasm_bindgen(js_name = getTenantSync, unchecked_return_type = "Tenant")]
    pub fn get_tenant_sync(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Result<JsValue, JsValue> {
        run_sync(self.get_tenant_op(&id))
    }

    /// List tenants (the host's administrative view), oldest first.
    #[wasm_bindgen(js_name = listTenants, unchecked_return_type = "Promise<Page<Tenant>>")]
    pub fn list_tenants(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ListOptions")] opts: JsValue,
    ) -> Promise {
        promise(self.list_tenants_op(&opts))
    }

    /// `listTenants`, inline.
    #[wasm_bindgen(js_name = listTenantsSync, unchecked_return_type = "Page<Tenant>")]
    pub fn list_tenants_sync(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ListOptions")] opts: JsValue,
    ) -> Result<JsValue, JsValue> {
        run_sync(self.list_tenants_op(&opts))
    }

    /// The customers of one tenant. Returns at once; each operation checks the tenant.
    /// Throws `invalid_input` if `tenantId` is not a string.
    pub fn customers(
        &self,
        #[wasm_bindgen(js_name = tenantId, unchecked_param_type = "string")] tenant_id: JsValue,
    ) -> Result<Customers, JsValue> {
        let tenant = string_arg(&tenant_id, "tenantId").map_err(|e| js_error(&e))?;
        Ok(Customers {
            inner: self.inner.customers(TenantId::new(tenant)),
        })
    }

    /// The trackings of one tenant. Returns at once; each operation checks the tenant.
    /// Throws `invalid_input` if `tenantId` is not a string.
    pub fn trackings(
        &self,
        #[wasm_bindgen(js_name = tenantId, unchecked_param_type = "string")] tenant_id: JsValue,
    ) -> Result<Trackings, JsValue> {
        let tenant = string_arg(&tenant_id, "tenantId").map_err(|e| js_error(&e))?;
        Ok(Trackings {
            inner: self.inner.trackings(TenantId::new(tenant)),
        })
    }

    fn create_tenant_op(
        &self,
        name: &JsValue,
    ) -> impl Future<Output = ts::Result<JsValue>> + 'static {
        let name = string_arg(name, "name");
        let engine = self.inner.clone();
        async move { to_js(&engine.create_tenant(&name?).await?) }
    }

    fn get_tenant_op(&self, id: &JsValue) -> impl Future<Output = ts::Result<JsValue>> + 'static {
        let id = string_arg(id, "id").map(TenantId::new);
        let engine = self.inner.clone();
        async move { to_js(&engine.get_tenant(&id?).await?) }
    }

    fn list_tenants_op(
        &self,
        opts: &JsValue,
    ) -> impl Future<Output = ts::Result<JsValue>> + 'static {
        let input = options(opts, true).and_then(from_json::<ListOptions>);
        let engine = self.inner.clone();
        async move { to_js(&engine.list_tenants(&input?).await?) }
    }
}

// ---------------------------------------------------------------------------------------------
// Handles: the five operations of a resource come from core's `resource::Call`; each handle is
// one `resource_class!` line with the TypeScript names of its types.

/// Run `call` on a resource.
fn resource_op<R: Resource>(
    resource: &R,
    call: ts::Result<Call>,
) -> impl Future<Output = ts::Result<JsValue>> + 'static {
    let resource = resource.clone();
    async move { to_js(&call?.run(&resource).await?) }
}

macro_rules! resource_class {
    (
        $(#[$doc:meta])*
        $class:ident($core:ty),
        record: $rec:tt, promise: $p:tt, page: $page:tt, promise_page: $pp:tt,
        new: $new:tt, patch: $patch:tt, list: $list:tt
    ) => {
        $(#[$doc])*
        #[wasm_bindgen]
        pub struct $class {
            inner: $core,
        }

        #[wasm_bindgen]
        impl $class {
            /// Create a record. `invalid_input` naming every bad field, `not_found` for another
            /// tenant's parent, `already_exists` for a duplicate.
            #[wasm_bindgen(unchecked_return_type = $p)]
            pub fn create(&self, #[wasm_bindgen(unchecked_param_type = $new)] opts: JsValue) -> Promise {
                promise(resource_op(&self.inner, options(&opts, false).map(Call::Create)))
            }

            /// `create`, inline.
            #[wasm_bindgen(js_name = createSync, unchecked_return_type = $rec)]
            pub fn create_sync(&self, #[wasm_bindgen(unchecked_param_type = $new)] opts: JsValue) -> Result<JsValue, JsValue> {
                run_sync(resource_op(&self.inner, options(&opts, false).map(Call::Create)))
            }

            /// Fetch a record of this tenant. `not_found` if unknown, deleted or another tenant's.
            #[wasm_bindgen(unchecked_return_type = $p)]
            pub fn get(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Promise {
                promise(resource_op(&self.inner, string_arg(&id, "id").map(Call::Get)))
            }

            /// `get`, inline.
            #[wasm_bindgen(js_name = getSync, unchecked_return_type = $rec)]
            pub fn get_sync(&self, #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue) -> Result<JsValue, JsValue> {
                run_sync(resource_op(&self.inner, string_arg(&id, "id").map(Call::Get)))
            }

            /// One page of this tenant's records, oldest first.
            #[wasm_bindgen(unchecked_return_type = $pp)]
            pub fn list(&self, #[wasm_bindgen(unchecked_optional_param_type = $list)] opts: JsValue) -> Promise {
                promise(resource_op(&self.inner, options(&opts, true).map(Call::List)))
            }

            /// `list`, inline.
            #[wasm_bindgen(js_name = listSync, unchecked_return_type = $page)]
            pub fn list_sync(&self, #[wasm_bindgen(unchecked_optional_param_type = $list)] opts: JsValue) -> Result<JsValue, JsValue> {
                run_sync(resource_op(&self.inner, options(&opts, true).map(Call::List)))
            }

            /// Change a record if `opts.version` is current (`conflict` if stale); `null`
            /// clears an optional field.
            #[wasm_bindgen(unchecked_return_type = $p)]
            pub fn update(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
                #[wasm_bindgen(unchecked_param_type = $patch)] opts: JsValue,
            ) -> Promise {
                let call = string_arg(&id, "id").and_then(|id| Ok(Call::Update(id, options(&opts, false)?)));
                promise(resource_op(&self.inner, call))
            }

            /// `update`, inline.
            #[wasm_bindgen(js_name = updateSync, unchecked_return_type = $rec)]
            pub fn update_sync(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
                #[wasm_bindgen(unchecked_param_type = $patch)] opts: JsValue,
            ) -> Result<JsValue, JsValue> {
                let call = string_arg(&id, "id").and_then(|id| Ok(Call::Update(id, options(&opts, false)?)));
                run_sync(resource_op(&self.inner, call))
            }

            /// Soft-delete a record; `opts.version` guards against a stale read.
            #[wasm_bindgen(unchecked_return_type = $p)]
            pub fn delete(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
                #[wasm_bindgen(unchecked_optional_param_type = "DeleteOptions")] opts: JsValue,
            ) -> Promise {
                let call = string_arg(&id, "id").and_then(|id| Ok(Call::Delete(id, options(&opts, true)?)));
                promise(resource_op(&self.inner, call))
            }

            /// `delete`, inline.
            #[wasm_bindgen(js_name = deleteSync, unchecked_return_type = $rec)]
            pub fn delete_sync(
                &self,
                #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
                #[wasm_bindgen(unchecked_optional_param_type = "DeleteOptions")] opts: JsValue,
            ) -> Result<JsValue, JsValue> {
                let call = string_arg(&id, "id").and_then(|id| Ok(Call::Delete(id, options(&opts, true)?)));
                run_sync(resource_op(&self.inner, call))
            }
        }
    };
}

resource_class!(
    /// One tenant's customers (from `engine.customers(tenantId)`).
    Customers(ts::Customers),
    record: "Customer", promise: "Promise<Customer>", page: "Page<Customer>",
    promise_page: "Promise<Page<Customer>>",
    new: "NewCustomer", patch: "CustomerPatch", list: "ListOptions"
);

resource_class!(
    /// One tenant's trackings (from `engine.trackings(tenantId)`).
    Trackings(ts::Trackings),
    record: "Tracking", promise: "Promise<Tracking>", page: "Page<Tracking>",
    promise_page: "Promise<Page<Tracking>>",
    new: "NewTracking", patch: "TrackingPatch", list: "ListTrackings"
);
