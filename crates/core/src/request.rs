//! Turning loosely typed input (JSON from the CLI, Python kwargs, JS option objects) into request
//! structs, with serde's errors mapped to `invalid_input` naming the field.

use serde::de::DeserializeOwned;

use crate::Error;

/// Deserialize a request struct from a JSON value.
///
/// # Errors
/// `invalid_input` naming the field (as a dotted path) when a field is unknown, missing or of the
/// wrong type.
pub fn from_json<T: DeserializeOwned>(value: serde_json::Value) -> crate::Result<T> {
    let shown = value.clone();
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde reports unknown and missing fields at the parent path; name the field itself.
        let field = quoted_after(&inner, "unknown field ")
            .or_else(|| quoted_after(&inner, "missing field "))
            .map(|f| {
                if path == "." {
                    f.to_owned()
                } else if path == f || path.ends_with(&format!(".{f}")) {
                    path.clone()
                } else {
                    format!("{path}.{f}")
                }
            })
            .unwrap_or_else(|| {
                if path == "." {
                    "request".to_owned()
                } else {
                    path.clone()
                }
            });
        let value = lookup(&shown, &field).map(display).unwrap_or_default();
        Error::invalid_field(&field, &value, inner)
    })
}

/// The first backquoted word after `marker` in a serde message (`unknown field `foo``).
fn quoted_after<'a>(message: &'a str, marker: &str) -> Option<&'a str> {
    let rest = &message[message.find(marker)? + marker.len()..];
    let rest = rest.strip_prefix('`')?;
    Some(&rest[..rest.find('`')?])
}

fn lookup<'a>(value: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

fn display(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Options of a delete (Python kwargs / JS option object): the expected version, when the caller
/// wants the delete refused (`conflict`) if the record changed since it was read.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteOptions {
    /// Only delete if the record is still at this version.
    #[serde(default)]
    pub version: Option<i64>,
}

/// Options of polling a tenant's change events (`engine.events(tenant_id, after, limit)` in every
/// binding): both optional, non-negative integers.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsOptions {
    /// Deliver events after this sequence number (default 0: from the oldest retained).
    #[serde(default)]
    pub after: Option<u64>,
    /// At most this many events (default [`EventsOptions::DEFAULT_LIMIT`]).
    #[serde(default)]
    pub limit: Option<usize>,
}

impl EventsOptions {
    /// Events per poll when no limit is given.
    pub const DEFAULT_LIMIT: usize = 1000;
}

/// Serde helper: distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`),
/// so a patch can clear an optional field.
pub(crate) mod double_option {
    use serde::{Deserialize, Deserializer};

    pub(crate) fn deserialize<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        T: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// Serde helper for patch fields that cannot be cleared: absent is `None`, a value is `Some`, and
/// an explicit `null` is refused (`invalid type: null`), naming the field, instead of being
/// silently ignored.
pub(crate) mod present {
    use serde::{Deserialize, Deserializer};

    pub(crate) fn deserialize<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
    where
        T: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        T::deserialize(d).map(Some)
    }
}
