//! Result objects: frozen wrappers over core records with attribute getters (converted on
//! access, so returning a record costs one allocation).

use std::collections::BTreeMap;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyList;
use tagsmith_core as core;

use crate::convert::json_py;

/// A core timestamp as a UTC-aware `datetime.datetime`, exact to the microsecond: the Unix
/// epoch plus a `timedelta` of whole microseconds (both from Python's own `datetime`, which also
/// works under the stable ABI).
pub(crate) fn datetime<'py>(py: Python<'py>, at: core::Timestamp) -> PyResult<Bound<'py, PyAny>> {
    static EPOCH: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static TIMEDELTA: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let epoch = EPOCH.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        let dt = py.import("datetime")?;
        let utc = dt.getattr("timezone")?.getattr("utc")?;
        let kwargs = pyo3::types::PyDict::new(py);
        kwargs.set_item("tzinfo", utc)?;
        Ok(dt
            .getattr("datetime")?
            .call((1970, 1, 1), Some(&kwargs))?
            .unbind())
    })?;
    let timedelta = TIMEDELTA.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("datetime")?.getattr("timedelta")?.unbind())
    })?;
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("microseconds", at.as_micros())?;
    let delta = timedelta.bind(py).call((), Some(&kwargs))?;
    epoch.bind(py).add(delta)
}

fn to_dict<T: serde::Serialize>(py: Python<'_>, v: &T) -> PyResult<Py<PyAny>> {
    let value = serde_json::to_value(v)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("encoding record: {e}")))?;
    json_py(py, &value)
}

macro_rules! record {
    ($name:ident, $core:ty, $doc:literal, $repr:expr) => {
        #[doc = $doc]
        #[pyclass(frozen, module = "tagsmith")]
        pub struct $name(pub $core);

        impl From<$core> for $name {
            fn from(v: $core) -> Self {
                Self(v)
            }
        }

        #[pymethods]
        impl $name {
            /// The record as a plain dict (JSON shape, snake_case keys).
            fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                to_dict(py, &self.0)
            }

            fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
                other
                    .cast::<$name>()
                    .map(|o| o.get().0 == self.0)
                    .unwrap_or(false)
            }

            fn __repr__(&self) -> String {
                let f: fn(&$core) -> String = $repr;
                f(&self.0)
            }
        }
    };
}

record!(
    Tenant,
    core::Tenant,
    "A tenant: an agency or company using the host application. Frozen; fields are attributes.",
    |t| format!("Tenant(id={:?}, name={:?})", t.id.as_str(), t.name)
);
record!(
    Customer,
    core::Customer,
    "A customer (a website) of a tenant. Frozen; fields are attributes; `version` guards updates.",
    |c| format!(
        "Customer(id={:?}, name={:?}, website_url={:?}, version={})",
        c.id.as_str(),
        c.name,
        c.website_url,
        c.version
    )
);
record!(
    Tracking,
    core::Tracking,
    "A tracking: when this happens on that site, record this conversion. Frozen; fields are attributes.",
    |t| format!(
        "Tracking(id={:?}, name={:?}, kind={:?}, sync_status={:?}, version={})",
        t.id.as_str(),
        t.name,
        t.kind.as_str(),
        t.sync_status.as_str(),
        t.version
    )
);
record!(
    UrlRule,
    core::UrlRule,
    "Which page URLs a tracking applies to: `match` (equals, contains, starts_with, regex) and `value`.",
    |r| format!(
        "UrlRule(match={:?}, value={:?})",
        r.r#match.as_str(),
        r.value
    )
);
record!(
    AdsConversion,
    core::AdsConversion,
    "The Google Ads conversion a tracking records: category, optional value and currency.",
    |a| format!(
        "AdsConversion(category={:?}, value={:?}, currency={:?})",
        a.category.as_str(),
        a.value,
        a.currency
    )
);
record!(
    ChangeEvent,
    core::ChangeEvent,
    "One committed change from the tenant's durable log, numbered from 1 without gaps.",
    |e| format!(
        "ChangeEvent(seq={}, entity={:?}, id={:?}, action={:?})",
        e.seq,
        e.entity.as_str(),
        e.id,
        e.action.as_str()
    )
);

#[pymethods]
impl Tenant {
    /// The opaque id.
    #[getter]
    fn id(&self) -> &str {
        self.0.id.as_str()
    }
    /// The name, byte-exact as given.
    #[getter]
    fn name(&self) -> &str {
        &self.0.name
    }
    /// When it was created (UTC datetime).
    #[getter]
    fn created_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime(py, self.0.created_at)
    }
}

#[pymethods]
impl Customer {
    /// The opaque id.
    #[getter]
    fn id(&self) -> &str {
        self.0.id.as_str()
    }
    /// The owning tenant's id.
    #[getter]
    fn tenant_id(&self) -> &str {
        self.0.tenant_id.as_str()
    }
    /// The name, byte-exact as given.
    #[getter]
    fn name(&self) -> &str {
        &self.0.name
    }
    /// The site's absolute http(s) URL.
    #[getter]
    fn website_url(&self) -> &str {
        &self.0.website_url
    }
    /// The Google connection state: not_connected, connected or error.
    #[getter]
    fn google(&self) -> &'static str {
        self.0.google.as_str()
    }
    /// Optimistic-concurrency version: pass it back to update; sync outcomes never move it.
    #[getter]
    fn version(&self) -> i64 {
        self.0.version
    }
    /// When it was created (UTC datetime).
    #[getter]
    fn created_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime(py, self.0.created_at)
    }
    /// When its user fields last changed (UTC datetime).
    #[getter]
    fn updated_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime(py, self.0.updated_at)
    }
}

#[pymethods]
impl UrlRule {
    /// How the URL is compared: equals, contains, starts_with or regex.
    #[getter(r#match)]
    fn match_(&self) -> &'static str {
        self.0.r#match.as_str()
    }
    /// The value compared with, or the conversion value.
    #[getter]
    fn value(&self) -> &str {
        &self.0.value
    }
}

#[pymethods]
impl AdsConversion {
    /// The Google Ads conversion category.
    #[getter]
    fn category(&self) -> &'static str {
        self.0.category.as_str()
    }
    /// The value compared with, or the conversion value.
    #[getter]
    fn value(&self) -> Option<f64> {
        self.0.value
    }
    /// The ISO 4217 currency of the value, or None.
    #[getter]
    fn currency(&self) -> Option<&str> {
        self.0.currency.as_deref()
    }
}

#[pymethods]
impl Tracking {
    /// The opaque id.
    #[getter]
    fn id(&self) -> &str {
        self.0.id.as_str()
    }
    /// The owning tenant's id.
    #[getter]
    fn tenant_id(&self) -> &str {
        self.0.tenant_id.as_str()
    }
    /// The customer (site) it belongs to.
    #[getter]
    fn customer_id(&self) -> &str {
        self.0.customer_id.as_str()
    }
    /// The name, byte-exact as given.
    #[getter]
    fn name(&self) -> &str {
        &self.0.name
    }
    /// What fires it: button_click, link_click, form_submit, page_view, element_visibility, scroll_depth, custom_event.
    #[getter]
    fn kind(&self) -> &'static str {
        self.0.kind.as_str()
    }
    /// The CSS selector of the element, or None.
    #[getter]
    fn selector(&self) -> Option<&str> {
        self.0.selector.as_deref()
    }
    /// The URL rule (UrlRule), or None.
    #[getter]
    fn url_rule(&self) -> Option<UrlRule> {
        self.0.url_rule.clone().map(UrlRule)
    }
    /// The GA4 event name sent when it fires, or None.
    #[getter]
    fn ga4_event(&self) -> Option<&str> {
        self.0.ga4_event.as_deref()
    }
    /// The GA4 event parameters (keys as given).
    #[getter]
    fn ga4_params(&self) -> BTreeMap<String, String> {
        self.0.ga4_params.clone()
    }
    /// The Google Ads conversion (AdsConversion), or None.
    #[getter]
    fn ads(&self) -> Option<AdsConversion> {
        self.0.ads.clone().map(AdsConversion)
    }
    /// The scroll depth in percent, or None.
    #[getter]
    fn scroll_percent(&self) -> Option<u32> {
        self.0.scroll_percent
    }
    /// Where it stands with Google: pending, syncing, synced, failed, deleted.
    #[getter]
    fn sync_status(&self) -> &'static str {
        self.0.sync_status.as_str()
    }
    /// What the last sync reported (why it failed, or a warning), kept whatever the status.
    #[getter]
    fn sync_error(&self) -> Option<&str> {
        self.0.sync_error.as_deref()
    }
    /// Ids each tag platform assigned, by platform then key, e.g. {'gtm': {'trigger_id': '12'}}.
    #[getter]
    fn external_ids(&self) -> core::ExternalIds {
        self.0.external_ids.clone()
    }
    /// Optimistic-concurrency version: pass it back to update; sync outcomes never move it.
    #[getter]
    fn version(&self) -> i64 {
        self.0.version
    }
    /// When it was created (UTC datetime).
    #[getter]
    fn created_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime(py, self.0.created_at)
    }
    /// When its user fields last changed (UTC datetime).
    #[getter]
    fn updated_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime(py, self.0.updated_at)
    }
    /// When it was last synced successfully (UTC datetime), or None.
    #[getter]
    fn last_synced_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.0.last_synced_at.map(|t| datetime(py, t)).transpose()
    }
}

#[pymethods]
impl ChangeEvent {
    /// The per-tenant sequence number, from 1; resume with events(tenant_id, after=seq).
    #[getter]
    fn seq(&self) -> u64 {
        self.0.seq
    }
    /// The owning tenant's id.
    #[getter]
    fn tenant_id(&self) -> &str {
        self.0.tenant_id.as_str()
    }
    /// What kind of record changed: tenant, customer, tracking or job.
    #[getter]
    fn entity(&self) -> &'static str {
        self.0.entity.as_str()
    }
    /// The opaque id.
    #[getter]
    fn id(&self) -> &str {
        &self.0.id
    }
    /// What happened: created, updated, deleted or status_changed.
    #[getter]
    fn action(&self) -> &'static str {
        self.0.action.as_str()
    }
    /// Optimistic-concurrency version: pass it back to update; sync outcomes never move it.
    #[getter]
    fn version(&self) -> i64 {
        self.0.version
    }
    /// Where it stands with Google: pending, syncing, synced, failed, deleted.
    #[getter]
    fn sync_status(&self) -> Option<&'static str> {
        self.0.sync_status.map(|s| s.as_str())
    }
    /// A job's state after the change (its `version` is the attempt); None for other records.
    #[getter]
    fn job_state(&self) -> Option<&'static str> {
        self.0.job_state.map(|s| s.as_str())
    }
    /// When it happened (UTC datetime).
    #[getter]
    fn at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime(py, self.0.at)
    }
    /// Who made the change (engine.acting_as(actor)); None when not named and for job
    /// transitions.
    #[getter]
    fn actor(&self) -> Option<&str> {
        self.0.actor.as_deref()
    }
}

record!(
    EventBatch,
    core::EventBatch,
    "The events after a sequence number: `events`, `missed` (pruned before read), `last_seq`, `reset`.",
    |b| format!(
        "EventBatch(events=<{}>, missed={}, last_seq={})",
        b.events.len(),
        b.missed,
        b.last_seq
    )
);

#[pymethods]
impl EventBatch {
    /// The events, in order.
    #[getter]
    fn events(&self) -> Vec<ChangeEvent> {
        self.0.events.iter().cloned().map(ChangeEvent).collect()
    }
    /// Events after `after` pruned before they were read: reload state.
    #[getter]
    fn missed(&self) -> u64 {
        self.0.missed
    }
    /// Pass as `after` next time.
    #[getter]
    fn last_seq(&self) -> u64 {
        self.0.last_seq
    }
    /// `after` was ahead of the log (the database was replaced): reload state.
    #[getter]
    fn reset(&self) -> bool {
        self.0.reset
    }
}

/// One page of a list: `items`, `total`, `next_cursor`.
#[pyclass(frozen, module = "tagsmith")]
pub struct Page {
    /// The records on this page, oldest first.
    #[pyo3(get)]
    items: Py<PyList>,
    /// How many records the whole query matches.
    #[pyo3(get)]
    total: u64,
    /// Pass back as `cursor` for the next page; None on the last page.
    #[pyo3(get)]
    next_cursor: Option<String>,
}

impl Page {
    pub fn new<T, P>(py: Python<'_>, page: core::Page<T>, wrap: fn(T) -> P) -> PyResult<Self>
    where
        P: pyo3::PyClass + Into<pyo3::PyClassInitializer<P>>,
    {
        let items = page
            .items
            .into_iter()
            .map(|t| Py::new(py, wrap(t)))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Self {
            items: PyList::new(py, items)?.unbind(),
            total: page.total,
            next_cursor: page.next_cursor,
        })
    }
}

#[pymethods]
impl Page {
    fn __len__(&self, py: Python<'_>) -> usize {
        self.items.bind(py).len()
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.items.bind(py).try_iter()?.into_any().unbind())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Page(items=<{}>, total={}, next_cursor={:?})",
            self.items.bind(py).len(),
            self.total,
            self.next_cursor
        )
    }
}
