//! Python binding: argument conversion, error mapping, GIL release. No business logic: every
//! value goes through tagsmith-core's request parsing and validators.

#![allow(missing_docs)] // documented in the checked-in .pyi stubs

mod convert;
mod jobs;
mod records;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use tagsmith_core as core;
use tagsmith_core::resource::Resource;

use convert::{kwargs_json, to_py_err, value_json};
use records::{AdsConversion, ChangeEvent, Customer, EventBatch, Page, Tenant, Tracking, UrlRule};

/// Run an engine call with the GIL released; panics become `InternalError`, never
/// `PanicException`.
fn call<T: Send>(py: Python<'_>, f: impl FnOnce() -> core::Result<T> + Send) -> PyResult<T> {
    py.detach(|| core::ffi::guarded(f))
        .map_err(|e| to_py_err(py, &e))
}

fn block<T>(f: impl std::future::Future<Output = core::Result<T>>) -> core::Result<T> {
    core::ffi::block_on(f)
}

/// The asyncio twin of [`call`]: an engine future as an awaitable, bridged natively
/// (pyo3-async-runtimes): the future runs on a tokio runtime without holding the GIL, and its
/// result is handed to the event loop when it is ready, with no executor thread per call.
/// `convert` builds the Python value once the GIL is held again; a panic is `InternalError`.
pub(crate) fn awaitable<'py, T: Send + 'static>(
    py: Python<'py>,
    fut: impl std::future::Future<Output = core::Result<T>> + Send + 'static,
    convert: impl FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + Send + 'static,
) -> PyResult<Bound<'py, PyAny>> {
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        let out = core::ffi::guarded_future(fut).await;
        Python::attach(|py| match out {
            Ok(v) => convert(py, v),
            Err(e) => Err(to_py_err(py, &e)),
        })
    })
}

/// A record as its Python class (the `convert` of most twins).
pub(crate) fn object<P>(py: Python<'_>, value: P) -> PyResult<Py<PyAny>>
where
    P: pyo3::PyClass + Into<pyo3::PyClassInitializer<P>>,
{
    Py::new(py, value).map(Py::into_any)
}

/// An awaitable raising `err` (bad arguments of an `a…` twin raise when awaited, as they would
/// in a coroutine).
pub(crate) fn raising(py: Python<'_>, err: PyErr) -> PyResult<Bound<'_, PyAny>> {
    pyo3_async_runtimes::tokio::future_into_py(py, async move { Err::<Py<PyAny>, _>(err) })
}

/// [`raising`] a core error.
pub(crate) fn failed(py: Python<'_>, e: core::Error) -> PyResult<Bound<'_, PyAny>> {
    let err = to_py_err(py, &e);
    raising(py, err)
}

/// Raise a Rust panic inside a guarded call, so the test suite can check that it arrives as
/// `InternalError` (never `PanicException`). Not part of the API.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    call(py, || -> core::Result<()> {
        #[allow(clippy::panic)]
        {
            panic!("a deliberate panic from the test suite")
        }
    })
}

fn text_arg(py: Python<'_>, field: &str, v: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(text) = v.extract::<String>() {
        return Ok(text);
    }
    match value_json(field, v).map_err(|e| to_py_err(py, &e))? {
        serde_json::Value::String(s) => Ok(s),
        other => Err(to_py_err(
            py,
            &core::Error::invalid_field(field, &other.to_string(), "must be a string"),
        )),
    }
}

/// The tagsmith engine over a SQLite file or memory.
///
/// Thread-safe (every call releases the GIL); not fork-safe while open. Close it with close() or a
/// `with` block.
#[pyclass(frozen, module = "tagsmith")]
struct Engine {
    inner: core::Engine,
}

#[pymethods]
impl Engine {
    /// Open (create and migrate if needed) a SQLite database file:
    /// open(path, event_retention={"max_events": 10000, "max_age_secs": 2592000},
    /// busy_timeout_ms=5000).
    ///
    /// Raises InvalidInputError for bad options, StorageError if the file is not a tagsmith database, is locked, or was written by a
    /// newer tagsmith.
    #[staticmethod]
    #[pyo3(signature = (path, **options))]
    fn open(
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let path: std::path::PathBuf = path.extract().map_err(|_| {
            let shown = path.repr().map(|r| r.to_string()).unwrap_or_default();
            to_py_err(
                py,
                &core::Error::invalid_field("path", &shown, "must be a str or os.PathLike"),
            )
        })?;
        let options: core::EngineOptions = parse(py, options)?;
        call(py, || core::Engine::open_with(path, &options)).map(|inner| Self { inner })
    }

    /// Awaitable open(): `engine = await Engine.aopen(path_or_url, **options)`.
    #[staticmethod]
    #[pyo3(signature = (path, **options))]
    fn aopen<'py>(
        py: Python<'py>,
        path: &Bound<'py, PyAny>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let path: std::path::PathBuf = match path.extract() {
            Ok(p) => p,
            Err(_) => {
                let shown = path.repr().map(|r| r.to_string()).unwrap_or_default();
                let e = core::Error::invalid_field("path", &shown, "must be a str or os.PathLike");
                return failed(py, e);
            }
        };
        let options: core::EngineOptions = match kwargs_json(options).and_then(core::from_json) {
            Ok(o) => o,
            Err(e) => return failed(py, e),
        };
        awaitable(
            py,
            async move { core::Engine::open_with(path, &options) },
            |py, inner| object(py, Self { inner }),
        )
    }

    /// An engine on in-memory storage (tests, scratch work); data is lost on close.
    #[staticmethod]
    fn in_memory() -> Self {
        Self {
            inner: core::Engine::in_memory(),
        }
    }

    /// The storage backend's name: 'memory' or 'sqlite'.
    #[getter]
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    /// Create a tenant. Raises InvalidInputError for a bad name.
    fn create_tenant(&self, py: Python<'_>, name: &Bound<'_, PyAny>) -> PyResult<Tenant> {
        let name = text_arg(py, "name", name)?;
        call(py, || block(self.inner.create_tenant(&name))).map(Tenant::from)
    }

    /// Fetch a tenant by id. Raises NotFoundError if unknown.
    fn get_tenant(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<Tenant> {
        let id = core::TenantId::new(text_arg(py, "id", id)?);
        call(py, || block(self.inner.get_tenant(&id))).map(Tenant::from)
    }

    /// List tenants, oldest first: list_tenants(limit=50, cursor=None) -> Page.
    #[pyo3(signature = (**options))]
    fn list_tenants(&self, py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Page> {
        let options: core::ListOptions =
            core::from_json(kwargs_json(options).map_err(|e| to_py_err(py, &e))?)
                .map_err(|e| to_py_err(py, &e))?;
        let page = call(py, || block(self.inner.list_tenants(&options)))?;
        Page::new(py, page, Tenant::from)
    }

    /// Awaitable create_tenant().
    fn acreate_tenant<'py>(
        &self,
        py: Python<'py>,
        name: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let name = match text_arg(py, "name", name) {
            Ok(n) => n,
            Err(e) => return raising(py, e),
        };
        let engine = self.inner.clone();
        awaitable(
            py,
            async move { engine.create_tenant(&name).await },
            |py, t| object(py, Tenant::from(t)),
        )
    }

    /// Awaitable get_tenant().
    fn aget_tenant<'py>(
        &self,
        py: Python<'py>,
        id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = match text_arg(py, "id", id) {
            Ok(id) => core::TenantId::new(id),
            Err(e) => return raising(py, e),
        };
        let engine = self.inner.clone();
        awaitable(py, async move { engine.get_tenant(&id).await }, |py, t| {
            object(py, Tenant::from(t))
        })
    }

    /// Awaitable list_tenants().
    #[pyo3(signature = (**options))]
    fn alist_tenants<'py>(
        &self,
        py: Python<'py>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options: core::ListOptions = match kwargs_json(options).and_then(core::from_json) {
            Ok(o) => o,
            Err(e) => return failed(py, e),
        };
        let engine = self.inner.clone();
        awaitable(
            py,
            async move { engine.list_tenants(&options).await },
            |py, page| object(py, Page::new(py, page, Tenant::from)?),
        )
    }

    /// The customers of one tenant (returned at once; each call checks the tenant).
    fn customers(&self, py: Python<'_>, tenant_id: &Bound<'_, PyAny>) -> PyResult<Customers> {
        let tenant_id = text_arg(py, "tenant_id", tenant_id)?;
        Ok(Customers {
            inner: self.inner.customers(tenant_id),
        })
    }

    /// The trackings of one tenant (returned at once; each call checks the tenant).
    fn trackings(&self, py: Python<'_>, tenant_id: &Bound<'_, PyAny>) -> PyResult<Trackings> {
        let tenant_id = text_arg(py, "tenant_id", tenant_id)?;
        Ok(Trackings {
            inner: self.inner.trackings(tenant_id),
        })
    }

    /// The tenant's activity log: retained change events after sequence number `after` (0: from
    /// the oldest), at most `limit`, optionally only those matching entity=, id=, actor=,
    /// since=, until= (RFC 3339 text); `missed` counts events no longer retained.
    #[pyo3(signature = (tenant_id, after = None, limit = None, **filter))]
    fn events(
        &self,
        py: Python<'_>,
        tenant_id: &Bound<'_, PyAny>,
        after: Option<&Bound<'_, PyAny>>,
        limit: Option<&Bound<'_, PyAny>>,
        filter: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<EventBatch> {
        let (tenant, options) = self.events_args(py, tenant_id, after, limit, filter)?;
        call(py, || block(self.inner.events_with(&tenant, &options))).map(EventBatch::from)
    }

    /// Awaitable events().
    #[pyo3(signature = (tenant_id, after = None, limit = None, **filter))]
    fn aevents<'py>(
        &self,
        py: Python<'py>,
        tenant_id: &Bound<'py, PyAny>,
        after: Option<&Bound<'py, PyAny>>,
        limit: Option<&Bound<'py, PyAny>>,
        filter: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (tenant, options) = match self.events_args(py, tenant_id, after, limit, filter) {
            Ok(args) => args,
            Err(e) => return raising(py, e),
        };
        let engine = self.inner.clone();
        awaitable(
            py,
            async move { engine.events_with(&tenant, &options).await },
            |py, batch| object(py, EventBatch::from(batch)),
        )
    }

    /// A handle on the same engine whose writes the activity log records as made by `actor`
    /// (read back as ChangeEvent.actor and with events(..., actor=...)).
    ///
    /// Raises InvalidInputError for an empty actor, one over 200 characters, or control
    /// characters.
    fn acting_as(&self, py: Python<'_>, actor: &Bound<'_, PyAny>) -> PyResult<Self> {
        let actor = text_arg(py, "actor", actor)?;
        let inner = self
            .inner
            .acting_as(&actor)
            .map_err(|e| to_py_err(py, &e))?;
        Ok(Self { inner })
    }

    /// The actor this handle's writes are recorded as made by, or None.
    #[getter]
    fn actor(&self) -> Option<&str> {
        self.inner.actor()
    }

    /// The job queue: enqueue, list, get, retry, cancel, stats.
    fn jobs(&self) -> jobs::Jobs {
        jobs::Jobs {
            inner: self.inner.jobs(),
        }
    }

    /// A worker running jobs with Python handlers: worker(queues=[("default", 10)],
    /// lease_ms=30000, poll_ms=1000, job_timeout_ms=60000, max_backoff_ms=86400000,
    /// keep_final_secs=604800, maintenance_ms=1000, id=None).
    #[pyo3(signature = (**options))]
    fn worker(
        &self,
        py: Python<'_>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<jobs::Worker> {
        jobs::Worker::new(py, &self.inner, options)
    }

    /// Close the storage; later calls raise UnavailableError. Safe to call twice.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        call(py, || self.inner.close())
    }

    /// `with Engine.open(path) as engine:` closes the engine at the end of the block.
    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Close the engine on leaving a `with` block.
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!("Engine(backend={:?})", self.inner.backend())
    }
}

impl Engine {
    /// The arguments of events() and aevents().
    fn events_args(
        &self,
        py: Python<'_>,
        tenant_id: &Bound<'_, PyAny>,
        after: Option<&Bound<'_, PyAny>>,
        limit: Option<&Bound<'_, PyAny>>,
        filter: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<(core::TenantId, core::EventsOptions)> {
        let tenant = core::TenantId::new(text_arg(py, "tenant_id", tenant_id)?);
        let arg =
            |field: &str, v: Option<&Bound<'_, PyAny>>| v.map(|v| value_json(field, v)).transpose();
        let options = arg("after", after)
            .and_then(|a| {
                core::ffi::events_options(a, arg("limit", limit)?, Some(kwargs_json(filter)?))
            })
            .map_err(|e| to_py_err(py, &e))?;
        Ok((tenant, options))
    }
}

// The five operations of a resource handle, written once over core's `Resource` trait; each
// handle is one `resource_class!` line with its record type and docstrings.

fn create_in<R: Resource>(
    py: Python<'_>,
    r: &R,
    fields: Option<&Bound<'_, PyDict>>,
) -> PyResult<R::Record> {
    let new: R::New = parse(py, fields)?;
    call(py, || block(r.create(new)))
}

fn get_in<R: Resource>(py: Python<'_>, r: &R, id: &Bound<'_, PyAny>) -> PyResult<R::Record> {
    let id = R::Id::from(text_arg(py, "id", id)?);
    call(py, || block(r.get(&id)))
}

fn list_in<R: Resource>(
    py: Python<'_>,
    r: &R,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<core::Page<R::Record>> {
    let options: R::List = parse(py, options)?;
    call(py, || block(r.list(&options)))
}

fn update_in<R: Resource>(
    py: Python<'_>,
    r: &R,
    id: &Bound<'_, PyAny>,
    fields: Option<&Bound<'_, PyDict>>,
) -> PyResult<R::Record> {
    let patch: R::Patch = parse(py, fields)?;
    let id = R::Id::from(text_arg(py, "id", id)?);
    call(py, || block(r.update(&id, patch)))
}

fn delete_in<R: Resource>(
    py: Python<'_>,
    r: &R,
    id: &Bound<'_, PyAny>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<R::Record> {
    let options: core::DeleteOptions = parse(py, options)?;
    let id = R::Id::from(text_arg(py, "id", id)?);
    call(py, || block(r.delete(&id, options.version)))
}

// Their asyncio twins: arguments are checked at the call (raised when awaited), the operation
// runs as a future.

fn acreate_in<'py, R: Resource, P>(
    py: Python<'py>,
    r: &R,
    fields: Option<&Bound<'py, PyDict>>,
    wrap: fn(R::Record) -> P,
) -> PyResult<Bound<'py, PyAny>>
where
    P: pyo3::PyClass + Into<pyo3::PyClassInitializer<P>>,
{
    let new: R::New = match parse(py, fields) {
        Ok(new) => new,
        Err(e) => return raising(py, e),
    };
    let r = r.clone();
    awaitable(py, async move { r.create(new).await }, move |py, rec| {
        object(py, wrap(rec))
    })
}

fn aget_in<'py, R: Resource, P>(
    py: Python<'py>,
    r: &R,
    id: &Bound<'py, PyAny>,
    wrap: fn(R::Record) -> P,
) -> PyResult<Bound<'py, PyAny>>
where
    P: pyo3::PyClass + Into<pyo3::PyClassInitializer<P>>,
{
    let id = match text_arg(py, "id", id) {
        Ok(id) => R::Id::from(id),
        Err(e) => return raising(py, e),
    };
    let r = r.clone();
    awaitable(py, async move { r.get(&id).await }, move |py, rec| {
        object(py, wrap(rec))
    })
}

fn alist_in<'py, R: Resource, P>(
    py: Python<'py>,
    r: &R,
    options: Option<&Bound<'py, PyDict>>,
    wrap: fn(R::Record) -> P,
) -> PyResult<Bound<'py, PyAny>>
where
    P: pyo3::PyClass + Into<pyo3::PyClassInitializer<P>>,
{
    let options: R::List = match parse(py, options) {
        Ok(o) => o,
        Err(e) => return raising(py, e),
    };
    let r = r.clone();
    awaitable(
        py,
        async move { r.list(&options).await },
        move |py, page| object(py, Page::new(py, page, wrap)?),
    )
}

fn aupdate_in<'py, R: Resource, P>(
    py: Python<'py>,
    r: &R,
    id: &Bound<'py, PyAny>,
    fields: Option<&Bound<'py, PyDict>>,
    wrap: fn(R::Record) -> P,
) -> PyResult<Bound<'py, PyAny>>
where
    P: pyo3::PyClass + Into<pyo3::PyClassInitializer<P>>,
{
    let args = parse::<R::Patch>(py, fields)
        .and_then(|patch| Ok((R::Id::from(text_arg(py, "id", id)?), patch)));
    let (id, patch) = match args {
        Ok(args) => args,
        Err(e) => return raising(py, e),
    };
    let r = r.clone();
    awaitable(
        py,
        async move { r.update(&id, patch).await },
        move |py, rec| object(py, wrap(rec)),
    )
}

fn adelete_in<'py, R: Resource, P>(
    py: Python<'py>,
    r: &R,
    id: &Bound<'py, PyAny>,
    options: Option<&Bound<'py, PyDict>>,
    wrap: fn(R::Record) -> P,
) -> PyResult<Bound<'py, PyAny>>
where
    P: pyo3::PyClass + Into<pyo3::PyClassInitializer<P>>,
{
    let args = parse::<core::DeleteOptions>(py, options)
        .and_then(|o| Ok((R::Id::from(text_arg(py, "id", id)?), o.version)));
    let (id, version) = match args {
        Ok(args) => args,
        Err(e) => return raising(py, e),
    };
    let r = r.clone();
    awaitable(
        py,
        async move { r.delete(&id, version).await },
        move |py, rec| object(py, wrap(rec)),
    )
}

macro_rules! resource_class {
    (
        $(#[$doc:meta])*
        $class:ident($core:ty) -> $record:ident,
        create: $create:literal, get: $get:literal, list: $list:literal,
        update: $update:literal, delete: $delete:literal $(,)?
    ) => {
        $(#[$doc])*
        #[pyclass(frozen, module = "tagsmith")]
        struct $class {
            inner: $core,
        }

        #[pymethods]
        impl $class {
            #[doc = $create]
            #[pyo3(signature = (**fields))]
            fn create(&self, py: Python<'_>, fields: Option<&Bound<'_, PyDict>>) -> PyResult<$record> {
                create_in(py, &self.inner, fields).map($record::from)
            }

            #[doc = $get]
            fn get(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<$record> {
                get_in(py, &self.inner, id).map($record::from)
            }

            #[doc = $list]
            #[pyo3(signature = (**options))]
            fn list(&self, py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Page> {
                let page = list_in(py, &self.inner, options)?;
                Page::new(py, page, $record::from)
            }

            #[doc = $update]
            #[pyo3(signature = (id, **fields))]
            fn update(
                &self,
                py: Python<'_>,
                id: &Bound<'_, PyAny>,
                fields: Option<&Bound<'_, PyDict>>,
            ) -> PyResult<$record> {
                update_in(py, &self.inner, id, fields).map($record::from)
            }

            #[doc = $delete]
            #[pyo3(signature = (id, **options))]
            fn delete(
                &self,
                py: Python<'_>,
                id: &Bound<'_, PyAny>,
                options: Option<&Bound<'_, PyDict>>,
            ) -> PyResult<$record> {
                delete_in(py, &self.inner, id, options).map($record::from)
            }

            /// Awaitable create().
            #[pyo3(signature = (**fields))]
            fn acreate<'py>(
                &self,
                py: Python<'py>,
                fields: Option<&Bound<'py, PyDict>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                acreate_in(py, &self.inner, fields, $record::from)
            }

            /// Awaitable get().
            fn aget<'py>(
                &self,
                py: Python<'py>,
                id: &Bound<'py, PyAny>,
            ) -> PyResult<Bound<'py, PyAny>> {
                aget_in(py, &self.inner, id, $record::from)
            }

            /// Awaitable list().
            #[pyo3(signature = (**options))]
            fn alist<'py>(
                &self,
                py: Python<'py>,
                options: Option<&Bound<'py, PyDict>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                alist_in(py, &self.inner, options, $record::from)
            }

            /// Awaitable update().
            #[pyo3(signature = (id, **fields))]
            fn aupdate<'py>(
                &self,
                py: Python<'py>,
                id: &Bound<'py, PyAny>,
                fields: Option<&Bound<'py, PyDict>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                aupdate_in(py, &self.inner, id, fields, $record::from)
            }

            /// Awaitable delete().
            #[pyo3(signature = (id, **options))]
            fn adelete<'py>(
                &self,
                py: Python<'py>,
                id: &Bound<'py, PyAny>,
                options: Option<&Bound<'py, PyDict>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                adelete_in(py, &self.inner, id, options, $record::from)
            }
        }
    };
}

resource_class!(
    /// One tenant's customers (websites), from engine.customers(tenant_id).
    Customers(core::Customers) -> Customer,
    create: "Create a customer: create(name=..., website_url=...) -> Customer.\n\nRaises InvalidInputError naming every bad field, NotFoundError for an unknown tenant.",
    get: "Fetch a customer of this tenant. Raises NotFoundError if unknown, deleted or another tenant's.",
    list: "List this tenant's customers: list(limit=50, cursor=None) -> Page.",
    update: "Change a customer: update(id, version=..., name=..., website_url=...).\n\nRaises ConflictError when version is not the current one.",
    delete: "Soft-delete a customer and its trackings: delete(id, version=None) -> Customer.",
);

resource_class!(
    /// One tenant's trackings, from engine.trackings(tenant_id).
    Trackings(core::Trackings) -> Tracking,
    create: "Create a tracking: create(customer_id=..., name=..., kind=..., selector=..., url_rule=...,\nga4_event=..., ga4_params=..., ads=..., scroll_percent=...) -> Tracking.\n\nRaises InvalidInputError naming every bad field, NotFoundError if the customer is not this\ntenant's, AlreadyExistsError if the customer has a tracking of that name.",
    get: "Fetch a tracking of this tenant. Raises NotFoundError if unknown, deleted or another tenant's.",
    list: "List this tenant's trackings: list(limit=50, cursor=None, customer_id=None) -> Page.",
    update: "Change a tracking: update(id, version=..., **fields); None clears an optional field.\n\nA change puts the tracking back to sync status 'pending'. Raises ConflictError on a stale version.",
    delete: "Soft-delete a tracking (sync status 'deleted'): delete(id, version=None) -> Tracking.",
);

/// kwargs → JSON → core request struct, with core's field-naming errors.
fn parse<T: core::Request>(py: Python<'_>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<T> {
    kwargs_json(kwargs)
        .and_then(core::from_json)
        .map_err(|e| to_py_err(py, &e))
}

#[pymodule]
fn _tagsmith(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add_class::<Customers>()?;
    m.add_class::<Trackings>()?;
    m.add_class::<Tenant>()?;
    m.add_class::<Customer>()?;
    m.add_class::<Tracking>()?;
    m.add_class::<UrlRule>()?;
    m.add_class::<AdsConversion>()?;
    m.add_class::<Page>()?;
    m.add_class::<ChangeEvent>()?;
    m.add_class::<EventBatch>()?;
    m.add_class::<jobs::Jobs>()?;
    m.add_class::<jobs::Worker>()?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    Ok(())
}
