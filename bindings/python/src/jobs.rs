//! The job queue from Python: `engine.jobs()` (enqueue, list, get, retry, cancel, stats) and
//! `engine.worker(**options)` running Python handlers. Jobs, reports and stats are plain dicts
//! (times as UTC datetimes). A handler is any callable taking the job dict: a plain function, or
//! an `async def` (its coroutine is run with `asyncio.run` on the worker's thread). It runs on a
//! blocking thread of the worker's runtime with the GIL taken only for the call; an exception
//! fails that attempt with its message recorded, and the worker lives on.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;
use tagsmith_core as core;
use tagsmith_core::queue::{self as q, HandlerError, HandlerFuture, JobContext};

use crate::convert::{json_py, kwargs_json, to_py_err, value_json};
use crate::{awaitable, block, call, failed, parse, raising, text_arg};

/// Keys of a job dict holding times (RFC 3339 in JSON, datetimes in Python).
const TIME_KEYS: &[&str] = &[
    "scheduled_at",
    "lease_expires_at",
    "created_at",
    "attempted_at",
    "finalized_at",
];

/// A serializable core value as Python objects, its times as datetimes.
fn to_py<T: serde::Serialize>(py: Python<'_>, v: &T) -> PyResult<Py<PyAny>> {
    let value = serde_json::to_value(v)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("encoding job: {e}")))?;
    let obj = json_py(py, &value)?;
    datetimes(py, obj.bind(py), &value)?;
    Ok(obj)
}

fn datetimes(py: Python<'_>, obj: &Bound<'_, PyAny>, value: &Value) -> PyResult<()> {
    let Ok(dict) = obj.cast::<PyDict>() else {
        return Ok(());
    };
    for key in TIME_KEYS.iter().chain(["at"].iter()) {
        if let Some(Value::String(text)) = value.get(*key)
            && let Ok(t) = core::Timestamp::parse_rfc3339(key, text)
        {
            dict.set_item(*key, crate::records::datetime(py, t)?)?;
        }
    }
    if let (Some(Value::Array(errors)), Ok(Some(list))) =
        (value.get("errors"), dict.get_item("errors"))
        && let Ok(list) = list.cast::<PyList>()
    {
        for (item, v) in list.iter().zip(errors) {
            datetimes(py, &item, v)?;
        }
    }
    Ok(())
}

fn job_id(py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<q::JobId> {
    value_json("id", id)
        .and_then(|v| core::ffi::job_id(&v))
        .map_err(|e| to_py_err(py, &e))
}

/// The engine's job queue, from engine.jobs().
#[pyclass(frozen, module = "tagsmith")]
pub struct Jobs {
    pub inner: q::Jobs,
}

#[pymethods]
impl Jobs {
    /// Add a job: enqueue(kind, args=None, queue="default", tenant_id=None, priority=0,
    /// max_attempts=25, run_at=None, unique_key=None, unique_states=None,
    /// concurrency_key=None) -> {"id": int, "duplicate": bool}.
    ///
    /// Raises InvalidInputError naming every bad field, NotFoundError for an unknown tenant.
    #[pyo3(signature = (kind, args = None, **options))]
    fn enqueue(
        &self,
        py: Python<'_>,
        kind: &Bound<'_, PyAny>,
        args: Option<&Bound<'_, PyAny>>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let job = new_job(py, kind, args, options)?;
        let done = call(py, || block(self.inner.enqueue(job)))?;
        to_py(py, &done)
    }

    /// Add many jobs in one transaction: enqueue_many([{"kind": ..., "args": ..., ...}, ...]).
    /// Each is answered on its own: {"id", "duplicate"}, or {"error": {...}} for a bad one (the
    /// others are added all the same).
    fn enqueue_many(&self, py: Python<'_>, jobs: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let value = value_json("jobs", jobs).map_err(|e| to_py_err(py, &e))?;
        let Value::Array(items) = value else {
            return Err(to_py_err(
                py,
                &core::Error::invalid_field("jobs", &value.to_string(), "must be a list of dicts"),
            ));
        };
        let results = call(py, || block(self.inner.enqueue_many_json(items)))?;
        enqueued(py, results)
    }

    /// From a handler: record the job's progress, progress(job, percent, message=None), with
    /// the job dict the handler was given (its id, attempt and lease owner). Published as a
    /// change event of the job's tenant. Raises InvalidInputError for a percent above 100,
    /// ConflictError once the worker no longer holds the job.
    #[pyo3(signature = (job, percent, message = None))]
    fn progress(
        &self,
        py: Python<'_>,
        job: &Bound<'_, PyAny>,
        percent: &Bound<'_, PyAny>,
        message: Option<String>,
    ) -> PyResult<()> {
        let target = progress_target(job, percent).map_err(|e| to_py_err(py, &e))?;
        let (id, attempt, owner, percent) = target;
        call(py, || {
            block(self.inner.progress(id, attempt, &owner, percent, message))
        })
    }

    /// Fetch a job (a dict with its errors and progress). Raises NotFoundError.
    fn get(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let id = job_id(py, id)?;
        let job = call(py, || block(self.inner.get(id)))?;
        to_py(py, &job)
    }

    /// Jobs by id: list(state=None, kind=None, queue=None, tenant_id=None, after=None,
    /// limit=100) -> list of dicts.
    #[pyo3(signature = (**filter))]
    fn list(&self, py: Python<'_>, filter: Option<&Bound<'_, PyDict>>) -> PyResult<Py<PyAny>> {
        let filter: q::JobFilter = parse(py, filter)?;
        let jobs = call(py, || block(self.inner.list(&filter)))?;
        to_py(py, &jobs)
    }

    /// Run a job that is not running again now. Raises ConflictError if it is running.
    fn retry(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let id = job_id(py, id)?;
        let job = call(py, || block(self.inner.retry(id)))?;
        to_py(py, &job)
    }

    /// Cancel a job that is not final. Raises ConflictError if it already is.
    fn cancel(&self, py: Python<'_>, id: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let id = job_id(py, id)?;
        let job = call(py, || block(self.inner.cancel(id)))?;
        to_py(py, &job)
    }

    /// Jobs per state: {"available": n, "scheduled": n, "running": n, ...}.
    #[pyo3(signature = (tenant_id = None))]
    fn stats(&self, py: Python<'_>, tenant_id: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        let tenant = tenant_id
            .map(|t| text_arg(py, "tenant_id", t).map(core::TenantId::new))
            .transpose()?;
        let stats = call(py, || block(self.inner.stats(tenant.as_ref())))?;
        to_py(py, &stats)
    }
}

/// The asyncio twins of the queue's methods (`await jobs.aenqueue(...)`), bridged natively.
#[pymethods]
impl Jobs {
    /// Awaitable enqueue().
    #[pyo3(signature = (kind, args = None, **options))]
    fn aenqueue<'py>(
        &self,
        py: Python<'py>,
        kind: &Bound<'py, PyAny>,
        args: Option<&Bound<'py, PyAny>>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let job = match new_job(py, kind, args, options) {
            Ok(job) => job,
            Err(e) => return raising(py, e),
        };
        let jobs = self.inner.clone();
        awaitable(py, async move { jobs.enqueue(job).await }, |py, done| {
            to_py(py, &done)
        })
    }

    /// Awaitable enqueue_many().
    fn aenqueue_many<'py>(
        &self,
        py: Python<'py>,
        jobs: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let items = match value_json("jobs", jobs) {
            Ok(Value::Array(items)) => items,
            Ok(other) => {
                let e = core::Error::invalid_field(
                    "jobs",
                    &other.to_string(),
                    "must be a list of dicts",
                );
                return failed(py, e);
            }
            Err(e) => return failed(py, e),
        };
        let queue = self.inner.clone();
        awaitable(
            py,
            async move { queue.enqueue_many_json(items).await },
            enqueued,
        )
    }

    /// Awaitable progress().
    #[pyo3(signature = (job, percent, message = None))]
    fn aprogress<'py>(
        &self,
        py: Python<'py>,
        job: &Bound<'py, PyAny>,
        percent: &Bound<'py, PyAny>,
        message: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (id, attempt, owner, percent) = match progress_target(job, percent) {
            Ok(target) => target,
            Err(e) => return failed(py, e),
        };
        let jobs = self.inner.clone();
        awaitable(
            py,
            async move { jobs.progress(id, attempt, &owner, percent, message).await },
            |py, ()| Ok(py.None()),
        )
    }

    /// Awaitable get().
    fn aget<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = match job_id(py, id) {
            Ok(id) => id,
            Err(e) => return raising(py, e),
        };
        let jobs = self.inner.clone();
        awaitable(py, async move { jobs.get(id).await }, |py, job| {
            to_py(py, &job)
        })
    }

    /// Awaitable list().
    #[pyo3(signature = (**filter))]
    fn alist<'py>(
        &self,
        py: Python<'py>,
        filter: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let filter: q::JobFilter = match parse(py, filter) {
            Ok(f) => f,
            Err(e) => return raising(py, e),
        };
        let jobs = self.inner.clone();
        awaitable(py, async move { jobs.list(&filter).await }, |py, found| {
            to_py(py, &found)
        })
    }

    /// Awaitable retry().
    fn aretry<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = match job_id(py, id) {
            Ok(id) => id,
            Err(e) => return raising(py, e),
        };
        let jobs = self.inner.clone();
        awaitable(py, async move { jobs.retry(id).await }, |py, job| {
            to_py(py, &job)
        })
    }

    /// Awaitable cancel().
    fn acancel<'py>(&self, py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let id = match job_id(py, id) {
            Ok(id) => id,
            Err(e) => return raising(py, e),
        };
        let jobs = self.inner.clone();
        awaitable(py, async move { jobs.cancel(id).await }, |py, job| {
            to_py(py, &job)
        })
    }

    /// Awaitable stats().
    #[pyo3(signature = (tenant_id = None))]
    fn astats<'py>(
        &self,
        py: Python<'py>,
        tenant_id: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let tenant = match tenant_id
            .map(|t| text_arg(py, "tenant_id", t).map(core::TenantId::new))
            .transpose()
        {
            Ok(t) => t,
            Err(e) => return raising(py, e),
        };
        let jobs = self.inner.clone();
        awaitable(
            py,
            async move { jobs.stats(tenant.as_ref()).await },
            |py, stats| to_py(py, &stats),
        )
    }
}

/// What enqueue_many answers: one dict per job, `{"id", "duplicate"}` or `{"error": {...}}`.
fn enqueued(py: Python<'_>, results: Vec<core::Result<q::Enqueued>>) -> PyResult<Py<PyAny>> {
    let out = PyList::empty(py);
    for result in results {
        match result {
            Ok(done) => out.append(to_py(py, &done)?)?,
            Err(e) => {
                let d = PyDict::new(py);
                d.set_item("error", json_py(py, &e.to_json())?)?;
                out.append(d)?;
            }
        }
    }
    Ok(out.into_any().unbind())
}

/// The job a handler was given and a percent, as core's progress arguments.
fn progress_target(
    job: &Bound<'_, PyAny>,
    percent: &Bound<'_, PyAny>,
) -> core::Result<(q::JobId, u32, String, u8)> {
    let field = |key: &str| -> core::Result<Value> {
        match job.get_item(key) {
            Ok(v) => value_json(&format!("job.{key}"), &v),
            Err(_) => Ok(Value::Null),
        }
    };
    core::ffi::progress_target(
        &field("id")?,
        &field("attempt")?,
        &field("lease_owner")?,
        &value_json("percent", percent)?,
    )
}

fn new_job(
    py: Python<'_>,
    kind: &Bound<'_, PyAny>,
    args: Option<&Bound<'_, PyAny>>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<q::NewJob> {
    let mut map = match kwargs_json(options).map_err(|e| to_py_err(py, &e))? {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    map.insert("kind".into(), Value::String(text_arg(py, "kind", kind)?));
    if let Some(a) = args.filter(|a| !a.is_none()) {
        map.insert(
            "args".into(),
            value_json("args", a).map_err(|e| to_py_err(py, &e))?,
        );
    }
    core::from_json(Value::Object(map)).map_err(|e| to_py_err(py, &e))
}

/// A Python callable run for one kind.
struct PyHandler {
    f: Arc<Py<PyAny>>,
}

impl q::Handler for PyHandler {
    fn run(&self, ctx: JobContext) -> HandlerFuture {
        let f = self.f.clone();
        Box::pin(async move {
            let job = ctx.job;
            tokio::task::spawn_blocking(move || Python::attach(|py| run_handler(py, &f, &job)))
                .await
                .map_err(|e| HandlerError::new(format!("the handler thread failed: {e}")))?
        })
    }
}

/// Call the handler with the job dict (running its coroutine if it returns one); an exception
/// becomes the attempt's error.
fn run_handler(py: Python<'_>, f: &Py<PyAny>, job: &q::Job) -> Result<(), HandlerError> {
    let outcome = (|| -> PyResult<()> {
        let arg = to_py(py, job)?;
        let result = f.call1(py, (arg,))?;
        let inspect = py.import("inspect")?;
        if inspect
            .call_method1("iscoroutine", (&result,))?
            .is_truthy()?
        {
            py.import("asyncio")?.call_method1("run", (result,))?;
        }
        Ok(())
    })();
    outcome.map_err(|e| {
        let kind = e
            .get_type(py)
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "Exception".into());
        let text = e.value(py).str().map(|s| s.to_string()).unwrap_or_default();
        HandlerError::new(if text.is_empty() {
            kind
        } else {
            format!("{kind}: {text}")
        })
    })
}

/// Runs jobs with Python handlers, from engine.worker(queues=[("default", 10)], lease_ms=30000,
/// poll_ms=1000, job_timeout_ms=60000, max_backoff_ms=86400000, keep_final_secs=604800).
///
/// Built in: "noop", and "sleep" with args {"ms": N}. register() handlers, then run_until_idle(),
/// or start() and later shutdown().
#[pyclass(frozen, module = "tagsmith")]
pub struct Worker {
    setup: Mutex<Option<q::Worker>>,
    running: Mutex<Option<(tokio::runtime::Runtime, q::WorkerHandle)>>,
}

impl Worker {
    pub fn new(
        py: Python<'_>,
        engine: &core::Engine,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let options: q::WorkerOptions = parse(py, options)?;
        let worker = q::Worker::new(engine, options).map_err(|e| to_py_err(py, &e))?;
        Ok(Self {
            setup: Mutex::new(Some(worker)),
            running: Mutex::new(None),
        })
    }

    fn take(&self, py: Python<'_>) -> PyResult<q::Worker> {
        self.setup
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| to_py_err(py, &started()))
    }
}

fn started() -> core::Error {
    core::Error::new(
        core::ErrorKind::Conflict,
        "this worker was already started: make a new one with engine.worker()",
    )
}

/// The runtime of a started worker: its own threads keep running jobs after `start` returns.
fn runtime() -> core::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| core::Error::internal(format!("cannot start the worker runtime: {e}")))
}

#[pymethods]
impl Worker {
    /// Run `handler(job: dict)` (a function or an async def) for jobs of `kind`:
    /// register(kind, handler, timeout_ms=None, max_backoff_ms=None).
    #[pyo3(signature = (kind, handler, timeout_ms = None, max_backoff_ms = None))]
    fn register(
        &self,
        py: Python<'_>,
        kind: &Bound<'_, PyAny>,
        handler: &Bound<'_, PyAny>,
        timeout_ms: Option<u64>,
        max_backoff_ms: Option<u64>,
    ) -> PyResult<()> {
        let kind = text_arg(py, "kind", kind)?;
        if !handler.is_callable() {
            return Err(to_py_err(
                py,
                &core::Error::invalid_field(
                    "handler",
                    &handler.repr()?.to_string(),
                    "must be callable",
                ),
            ));
        }
        let mut guard = self.setup.lock().unwrap_or_else(|p| p.into_inner());
        let worker = guard.as_mut().ok_or_else(|| to_py_err(py, &started()))?;
        worker.register_with(
            &kind,
            PyHandler {
                f: Arc::new(handler.clone().unbind()),
            },
            q::KindOptions {
                timeout: timeout_ms.map(Duration::from_millis),
                max_backoff: max_backoff_ms.map(Duration::from_millis),
            },
        );
        Ok(())
    }

    /// Enqueue a job at every occurrence of a cron expression, once per occurrence however many
    /// workers run it: periodic(name, cron, kind, args=None, **job_options).
    #[pyo3(signature = (name, cron, kind, args = None, **options))]
    fn periodic(
        &self,
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        cron: &Bound<'_, PyAny>,
        kind: &Bound<'_, PyAny>,
        args: Option<&Bound<'_, PyAny>>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let name = text_arg(py, "name", name)?;
        let cron = text_arg(py, "cron", cron)?;
        let job = new_job(py, kind, args, options)?;
        let mut guard = self.setup.lock().unwrap_or_else(|p| p.into_inner());
        let worker = guard.as_mut().ok_or_else(|| to_py_err(py, &started()))?;
        worker
            .periodic(&name, &cron, job)
            .map_err(|e| to_py_err(py, &e))
    }

    /// Run until no job is available, running or retryable; returns the report dict
    /// ({"completed", "retried", "discarded", "released", "lost", "rescued"}).
    fn run_until_idle(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let worker = self.take(py)?;
        let report = call(py, move || {
            q::driving_runtime()?.block_on(worker.run_until_idle())
        })?;
        to_py(py, &report)
    }

    /// Awaitable run_until_idle(): the worker runs on the asyncio twins' runtime.
    fn arun_until_idle<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let worker = match self.take(py) {
            Ok(w) => w,
            Err(e) => return raising(py, e),
        };
        awaitable(py, worker.run_until_idle(), |py, report| to_py(py, &report))
    }

    /// Start running jobs in the background (returns at once).
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        let worker = self.take(py)?;
        let rt = runtime().map_err(|e| to_py_err(py, &e))?;
        let handle = {
            let _entered = rt.enter();
            worker.start()
        };
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some((rt, handle));
        Ok(())
    }

    /// Stop: running jobs get `deadline_ms` to finish, the rest are released; returns the
    /// report dict. A worker never started reports nothing done.
    #[pyo3(signature = (deadline_ms = 10000))]
    fn shutdown(&self, py: Python<'_>, deadline_ms: u64) -> PyResult<Py<PyAny>> {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let report = match running {
            Some((rt, handle)) => py.detach(|| {
                let report = rt.block_on(handle.shutdown(Duration::from_millis(deadline_ms)));
                rt.shutdown_timeout(Duration::from_secs(5));
                report
            }),
            None => q::WorkerReport::default(),
        };
        to_py(py, &report)
    }

    /// Awaitable shutdown(): the worker's own runtime is stopped on a blocking thread, never on
    /// the event loop.
    #[pyo3(signature = (deadline_ms = 10000))]
    fn ashutdown<'py>(&self, py: Python<'py>, deadline_ms: u64) -> PyResult<Bound<'py, PyAny>> {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let stopped = async move {
            let Some((rt, handle)) = running else {
                return Ok(q::WorkerReport::default());
            };
            tokio::task::spawn_blocking(move || {
                let report = rt.block_on(handle.shutdown(Duration::from_millis(deadline_ms)));
                rt.shutdown_timeout(Duration::from_secs(5));
                report
            })
            .await
            .map_err(|e| core::Error::internal(format!("the worker's shutdown failed: {e}")))
        };
        awaitable(py, stopped, |py, report| to_py(py, &report))
    }
}
