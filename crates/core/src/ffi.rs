//! The binding kit: what the Python, Node and WASM bindings each need, once.
//!
//! - [`ErrorView`]: the one shape every runtime projects an error to (`code`, `message`,
//!   `fields`, `http_status`, `retryable`, `retry_after_secs`), with field paths in the
//!   runtime's casing.
//! - [`guarded`]: run a call with panics caught and turned into `internal`, so nothing unwinds
//!   into Python, Node or the browser.
//! - [`guarded_future`]: the same for a future a host's event loop awaits.
//! - [`block_on`]: drive a storage future to completion on the calling thread. Memory and SQLite
//!   futures are ready at the first poll unless another unit of work holds the writer; then the
//!   thread parks until it is woken (no runtime needed).
//! - [`options`]: `undefined`/`None`/`null` options become `{}`.
//! - [`events_options`]: the `events(tenant, after, limit, filter)` arguments, checked once.
//! - [`check_finite`]: the one NaN/Infinity policy: a non-finite number in input is
//!   `invalid_input` naming the field (JSON has no NaN; it never silently becomes `null`).

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::{Error, EventsOptions, FieldError, Result, from_json};

/// An error as every runtime shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ErrorView {
    /// The stable code (`not_found`, `invalid_input`, …).
    pub code: &'static str,
    /// The message, credentials masked.
    pub message: String,
    /// Field details for `invalid_input`.
    pub fields: Vec<FieldError>,
    /// The HTTP status a host can answer with.
    pub http_status: u16,
    /// Whether the same call may succeed later.
    pub retryable: bool,
    /// Seconds to wait before retrying, when known.
    pub retry_after_secs: Option<u64>,
}

impl ErrorView {
    /// The view of `e`, field paths as core spells them (snake_case).
    pub fn of(e: &Error) -> Self {
        Self {
            code: e.code(),
            message: e.to_string(),
            fields: e.fields().to_vec(),
            http_status: e.http_status(),
            retryable: e.is_retryable(),
            retry_after_secs: e.retry_after_secs(),
        }
    }

    /// The view with field paths in JS casing (`adsCurrency`-style segments).
    pub fn camel(e: &Error) -> Self {
        let mut v = Self::of(e);
        for f in &mut v.fields {
            f.field = crate::casing::field_path_to_camel(&f.field);
        }
        v
    }
}

/// Run `work`, turning a panic into an `internal` error.
///
/// # Errors
/// Whatever `work` returns, or `internal` naming the panic's message.
pub fn guarded<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| Err(panicked(panic.as_ref())))
}

/// [`guarded`] for a future the host's event loop awaits (Python's asyncio twins, Node's
/// Promise methods): a panic while it is polled becomes `internal`.
///
/// # Errors
/// Whatever `work` returns, or `internal` naming the panic's message.
#[cfg(not(target_arch = "wasm32"))]
pub async fn guarded_future<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    use futures_util::FutureExt;
    AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| Err(panicked(panic.as_ref())))
}

fn panicked(panic: &(dyn std::any::Any + Send)) -> Error {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    Error::internal(format!("panic in tagsmith: {text}"))
}

/// Drive a future to completion on this thread (see the module docs).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    pollster::block_on(future)
}

/// An optional options argument: absent or `null` means `{}`.
pub fn options(value: Option<serde_json::Value>) -> serde_json::Value {
    match value {
        None | Some(serde_json::Value::Null) => serde_json::Value::Object(serde_json::Map::new()),
        Some(v) => v,
    }
}

/// The `events(tenant, after, limit, filter)` arguments as core's options (absent → defaults);
/// `filter` is an object of [`EventsOptions`]' conditions (`entity`, `id`, `actor`, `since`,
/// `until`), absent or `null` for none.
///
/// # Errors
/// `invalid_input` naming `after` or `limit` when it is not a non-negative integer in range, a
/// filter field that is unknown or bad, or `filter` itself when it is not an object.
pub fn events_options(
    after: Option<serde_json::Value>,
    limit: Option<serde_json::Value>,
    filter: Option<serde_json::Value>,
) -> Result<EventsOptions> {
    let mut fields = match filter {
        None | Some(serde_json::Value::Null) => serde_json::Map::new(),
        Some(serde_json::Value::Object(map)) => map,
        Some(other) => {
            return Err(Error::invalid_field(
                "filter",
                &other.to_string(),
                "must be an object of entity, id, actor, since, until",
            ));
        }
    };
    for (key, value) in [("after", after), ("limit", limit)] {
        if fields.contains_key(key) {
            return Err(Error::invalid_field(
                &format!("filter.{key}"),
                &fields[key].to_string(),
                format!("is an argument of its own, not a filter: pass {key} before the filter"),
            ));
        }
        fields.insert(key.to_owned(), value.unwrap_or(serde_json::Value::Null));
    }
    let options: EventsOptions = from_json(serde_json::Value::Object(fields))?;
    crate::Request::check(&options, &[])?;
    Ok(options)
}

/// The NaN/Infinity policy for numbers arriving from a host: refused, naming the field.
///
/// # Errors
/// `invalid_input` when `value` is NaN or infinite.
pub fn check_finite(field: &str, value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::invalid_field(
            field,
            &value.to_string(),
            "must be a finite number (NaN and Infinity are not accepted)",
        ))
    }
}

/// A job number from a host value: a positive integer, or its decimal text (ids from URLs).
///
/// # Errors
/// `invalid_input` naming `id` for anything else.
#[cfg(not(target_arch = "wasm32"))]
pub fn job_id(value: &serde_json::Value) -> crate::Result<crate::queue::JobId> {
    match value {
        serde_json::Value::Number(n) => n
            .as_i64()
            .filter(|i| *i > 0)
            .map(crate::queue::JobId)
            .ok_or_else(|| {
                Error::invalid_field("id", &n.to_string(), "must be a positive job number")
            }),
        serde_json::Value::String(s) => s.parse(),
        other => Err(Error::invalid_field(
            "id",
            &other.to_string(),
            "must be a positive job number",
        )),
    }
}

/// What a handler in another runtime reports progress for: the job it was given (its `id`,
/// `attempt` and `lease_owner`) and a percent.
///
/// # Errors
/// `invalid_input` naming `job.…` or `percent`.
#[cfg(not(target_arch = "wasm32"))]
pub fn progress_target(
    id: &serde_json::Value,
    attempt: &serde_json::Value,
    lease_owner: &serde_json::Value,
    percent: &serde_json::Value,
) -> crate::Result<(crate::queue::JobId, u32, String, u8)> {
    let id = job_id(id).map_err(|e| e.with_field_prefix("job."))?;
    let attempt = attempt
        .as_u64()
        .and_then(|a| u32::try_from(a).ok())
        .ok_or_else(|| {
            Error::invalid_field(
                "job.attempt",
                &attempt.to_string(),
                "must be the job's attempt",
            )
        })?;
    let owner = lease_owner.as_str().ok_or_else(|| {
        Error::invalid_field(
            "job.lease_owner",
            &lease_owner.to_string(),
            "must be the lease owner of the job a handler was given",
        )
    })?;
    let percent = percent
        .as_u64()
        .filter(|p| *p <= 100)
        .ok_or_else(|| Error::invalid_field("percent", &percent.to_string(), "must be 0 to 100"))?;
    Ok((id, attempt, owner.to_owned(), percent as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::panic)]
    fn panics_become_internal() {
        let err = guarded::<()>(|| panic!("boom")).unwrap_err();
        assert_eq!(err.code(), "internal");
        assert!(err.message().contains("boom"));
    }

    #[test]
    fn error_view_carries_retry_after() {
        let e = Error::new(crate::ErrorKind::RateLimited, "slow").with_retry_after(7);
        let v = ErrorView::of(&e);
        assert_eq!(
            (v.retryable, v.retry_after_secs, v.http_status),
            (true, Some(7), 429)
        );
        let e = Error::invalid_field("ads.value", "x", "bad");
        assert_eq!(ErrorView::camel(&e).fields[0].field, "ads.value");
    }

    #[test]
    fn nan_is_refused_by_name() {
        let e = check_finite("ads.value", f64::NAN).unwrap_err();
        assert_eq!(e.fields()[0].field, "ads.value");
        assert!(check_finite("x", 1.5).is_ok());
    }

    #[test]
    fn events_arguments_default_and_are_checked() {
        let o = events_options(None, None, None).unwrap();
        assert_eq!((o.after, o.limit), (None, None));
        let e = events_options(Some(serde_json::json!(-1)), None, None).unwrap_err();
        assert_eq!(e.fields()[0].field, "after");
        let o = events_options(
            None,
            None,
            Some(serde_json::json!({"entity": "job", "id": "7"})),
        )
        .unwrap();
        assert_eq!(o.filter().id.as_deref(), Some("7"));
        for (filter, field) in [
            (serde_json::json!("job"), "filter"),
            (serde_json::json!({"after": 3}), "filter.after"),
            (serde_json::json!({"nope": 1}), "nope"),
        ] {
            let e = events_options(None, None, Some(filter)).unwrap_err();
            assert_eq!(e.fields()[0].field, field);
        }
    }
}
