//! Python values ⇄ JSON values, and core errors → `tagsmith.errors` exceptions.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDateTime, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Value};
use tagsmith_core::Error;

/// kwargs as one JSON object (`None` → `{}`).
pub fn kwargs_json(kwargs: Option<&Bound<'_, PyDict>>) -> tagsmith_core::Result<Value> {
    match kwargs {
        None => Ok(Value::Object(Map::new())),
        Some(d) => value_json("", d.as_any()),
    }
}

/// How deep a request may nest; deeper (or cyclic) input is `invalid_input`, not a stack overflow.
const MAX_DEPTH: usize = 32;

/// A Python value as JSON; `field` names it in the error for an unsupported type.
pub fn value_json(field: &str, v: &Bound<'_, PyAny>) -> tagsmith_core::Result<Value> {
    nested_json(field, v, 0)
}

fn nested_json(field: &str, v: &Bound<'_, PyAny>, depth: usize) -> tagsmith_core::Result<Value> {
    let unsupported = |why: &str| {
        let shown = v.repr().map(|r| r.to_string()).unwrap_or_default();
        Error::invalid_field(
            if field.is_empty() { "request" } else { field },
            &shown,
            why.to_owned(),
        )
    };
    if depth > MAX_DEPTH {
        let name = if field.is_empty() { "request" } else { field };
        return Err(Error::invalid_field(
            name,
            "…",
            format!("nests deeper than {MAX_DEPTH} levels (or refers to itself)"),
        ));
    }
    if v.is_none() {
        Ok(Value::Null)
    } else if v.is_instance_of::<PyBool>() {
        Ok(Value::Bool(
            v.extract::<bool>()
                .map_err(|_| unsupported("must be a bool"))?,
        ))
    } else if v.is_instance_of::<PyInt>() {
        match v.extract::<i64>() {
            Ok(i) => Ok(Value::from(i)),
            Err(_) => Err(unsupported("is out of the 64-bit integer range")),
        }
    } else if v.is_instance_of::<PyFloat>() {
        let f = v
            .extract::<f64>()
            .map_err(|_| unsupported("must be a number"))?;
        // Core's one NaN/Infinity policy, then JSON (which holds every finite f64).
        let f =
            tagsmith_core::ffi::check_finite(if field.is_empty() { "request" } else { field }, f)?;
        serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| unsupported("must be a finite number"))
    } else if v.is_instance_of::<PyString>() {
        let text = v.extract::<String>();
        Ok(Value::String(
            text.map_err(|_| unsupported("must be valid Unicode"))?,
        ))
    } else if let Ok(d) = v.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, item) in d.iter() {
            let key = k
                .cast::<PyString>()
                .map_err(|_| unsupported("must have string keys"))?
                .to_string();
            let path = if field.is_empty() {
                key.clone()
            } else {
                format!("{field}.{key}")
            };
            map.insert(key, nested_json(&path, &item, depth + 1)?);
        }
        Ok(Value::Object(map))
    } else if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for item in v.try_iter().map_err(|_| unsupported("must be a list"))? {
            items.push(nested_json(
                field,
                &item.map_err(|_| unsupported("must be a list"))?,
                depth + 1,
            )?);
        }
        Ok(Value::Array(items))
    } else if v.is_instance_of::<PyDateTime>() {
        // An aware datetime is an instant: RFC 3339 text, which core parses. A naive one is a
        // wall-clock time in no zone: refused rather than guessed.
        let aware = v
            .getattr("utcoffset")
            .and_then(|f| f.call0())
            .is_ok_and(|offset| !offset.is_none());
        if !aware {
            return Err(unsupported(
                "must be a timezone-aware datetime (e.g. datetime.now(timezone.utc))",
            ));
        }
        v.call_method0("isoformat")
            .and_then(|text| text.extract::<String>())
            .map(Value::String)
            .map_err(|_| unsupported("must be a datetime"))
    } else {
        let type_name = v
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        Err(unsupported(&format!("has unsupported type {type_name}")))
    }
}

/// JSON → Python (dicts, lists, str, int, float, bool, None).
pub fn json_py(py: Python<'_>, v: &Value) -> PyResult<Py<PyAny>> {
    Ok(match v {
        Value::Null => py.None(),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into_pyobject(py)?.into_any().unbind(),
            None => n
                .as_f64()
                .unwrap_or(f64::NAN)
                .into_pyobject(py)?
                .into_any()
                .unbind(),
        },
        Value::String(s) => PyString::new(py, s).into_any().unbind(),
        Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| json_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any().unbind()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, json_py(py, x)?)?;
            }
            d.into_any().unbind()
        }
    })
}

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The `tagsmith.errors` exception for a core error, with `code`, `fields`, `http_status`,
/// `retryable`.
pub fn to_py_err(py: Python<'_>, e: &Error) -> PyErr {
    build(py, e).unwrap_or_else(|fallback| fallback)
}

fn build(py: Python<'_>, e: &Error) -> Result<PyErr, PyErr> {
    let module = ERRORS
        .get_or_try_init(py, || py.import("tagsmith.errors").map(Bound::unbind))?
        .bind(py);
    let view = tagsmith_core::ffi::ErrorView::of(e);
    let class = module.getattr("BY_CODE")?.get_item(view.code)?;
    let field_class = module.getattr("FieldError")?;
    let fields = view
        .fields
        .iter()
        .map(|f| field_class.call1((f.field.as_str(), f.value.as_str(), f.reason.as_str())))
        .collect::<PyResult<Vec<_>>>()?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("fields", fields)?;
    kwargs.set_item("http_status", view.http_status)?;
    kwargs.set_item("retryable", view.retryable)?;
    kwargs.set_item("retry_after_secs", view.retry_after_secs)?;
    let exc = class.call((e.message(),), Some(&kwargs))?;
    Ok(PyErr::from_value(exc))
}
