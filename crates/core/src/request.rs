//! Turning loosely typed input (JSON from the CLI, Python kwargs, JS option objects) into request
//! structs, with serde's errors mapped to `invalid_input` naming the field.

use serde::de::DeserializeOwned;

use crate::{Error, FieldError};

/// A request struct hosts send as loose JSON (CLI flags, Python kwargs, JS options).
pub trait Request: DeserializeOwned {
    /// The field checks that need no stored record, reporting every problem at once. Run by
    /// [`from_json`] when a field had an unknown enum value, so that value does not hide the
    /// other bad fields of the same request; `stood_in` names the fields that held one (their
    /// stand-in value must not trigger rules of its own).
    ///
    /// # Errors
    /// `invalid_input` naming every bad field.
    fn check(&self, stood_in: &[&str]) -> crate::Result<()> {
        let _ = stood_in;
        Ok(())
    }
}

/// Unknown enum values reported in one request before giving up on collecting more.
const MAX_ENUM_PROBLEMS: usize = 16;

/// Deserialize a request struct from a JSON value.
///
/// # Errors
/// `invalid_input` naming the field (as a dotted path) when a field is unknown, missing or of the
/// wrong type. An unknown enum value (`kind: "nope"`) is reported together with every other bad
/// field of the request: the value is set aside, the rest is parsed and checked.
pub fn from_json<T: Request>(value: serde_json::Value) -> crate::Result<T> {
    let shown = value.clone();
    let mut value = value;
    let mut problems: Vec<FieldError> = Vec::new();
    loop {
        let attempt = serde_path_to_error::deserialize::<_, T>(value.clone());
        let e = match attempt {
            Ok(request) if problems.is_empty() => return Ok(request),
            Ok(request) => {
                let stood_in: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
                if let Err(more) = request.check(&stood_in) {
                    for f in more.fields() {
                        if !problems.iter().any(|p| p.field == f.field) {
                            problems.push(f.clone());
                        }
                    }
                }
                return Err(Error::invalid_fields(problems));
            }
            Err(e) => e,
        };
        let (problem, stand_in) = describe(&shown, e);
        let retry = stand_in
            .filter(|_| problems.len() < MAX_ENUM_PROBLEMS)
            .is_some_and(|v| set_at(&mut value, &problem.field, v));
        problems.push(problem);
        if !retry {
            return Err(Error::invalid_fields(problems));
        }
    }
}

/// The field error of one serde failure, and for an unknown enum value a valid stand-in
/// (the first expected variant) to carry on parsing with.
fn describe(
    shown: &serde_json::Value,
    e: serde_path_to_error::Error<serde_json::Error>,
) -> (FieldError, Option<serde_json::Value>) {
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
    let stand_in = if inner.starts_with("unknown variant ") && path != "." {
        quoted_after(&inner, "expected ")
            .or_else(|| quoted_after(&inner, "expected one of "))
            .map(|v| serde_json::Value::String(v.to_owned()))
    } else if inner.starts_with(crate::timestamp::NOT_RFC3339) && path != "." {
        // A bad time, like an unknown enum value, must not hide the other bad fields.
        Some(serde_json::Value::String("1970-01-01T00:00:00Z".to_owned()))
    } else {
        None
    };
    let value = lookup(shown, &field).map(display).unwrap_or_default();
    (FieldError::new(&field, &value, inner), stand_in)
}

/// Replace the value at a dotted path; `false` if the path is not there.
fn set_at(value: &mut serde_json::Value, path: &str, new: serde_json::Value) -> bool {
    let mut at = value;
    for key in path.split('.') {
        match at.get_mut(key) {
            Some(next) => at = next,
            None => return false,
        }
    }
    *at = new;
    true
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

/// Options of reading a tenant's change events, its activity log (`engine.events(tenant_id,
/// after, limit, filter)` in every binding): every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsOptions {
    /// Deliver events after this sequence number (default 0: from the oldest retained).
    #[serde(default)]
    pub after: Option<u64>,
    /// At most this many events (default [`EventsOptions::DEFAULT_LIMIT`]).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Only changes of this kind of record (`tenant`, `customer`, `tracking`, `job`).
    #[serde(default)]
    pub entity: Option<crate::events::Entity>,
    /// Only changes of the record with this id.
    #[serde(default)]
    pub id: Option<String>,
    /// Only changes made by this actor.
    #[serde(default)]
    pub actor: Option<String>,
    /// Only changes at or after this time (RFC 3339).
    #[serde(default)]
    pub since: Option<crate::Timestamp>,
    /// Only changes before this time (RFC 3339).
    #[serde(default)]
    pub until: Option<crate::Timestamp>,
}

impl EventsOptions {
    /// Events per poll when no limit is given.
    pub const DEFAULT_LIMIT: usize = 1000;

    /// The conditions of these options.
    pub fn filter(&self) -> crate::events::EventFilter {
        crate::events::EventFilter {
            entity: self.entity,
            id: self.id.clone(),
            actor: self.actor.clone(),
            since: self.since,
            until: self.until,
        }
    }
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

impl Request for DeleteOptions {}
impl Request for crate::EngineOptions {
    fn check(&self, _: &[&str]) -> crate::Result<()> {
        self.validate()
    }
}
impl Request for EventsOptions {
    fn check(&self, _: &[&str]) -> crate::Result<()> {
        let mut p = crate::validate::Problems::default();
        if let (Some(since), Some(until)) = (self.since, self.until)
            && until < since
        {
            p.add(
                "until",
                &until.to_rfc3339(),
                format!("must not be before since ({})", since.to_rfc3339()),
            );
        }
        if let Some(id) = self.id.as_deref().filter(|id| id.is_empty()) {
            p.add("id", id, "must not be empty");
        }
        p.into_result()
    }
}
impl Request for crate::ListOptions {}
impl Request for crate::ListTrackings {}
impl Request for crate::CustomerPatch {}
impl Request for crate::TrackingPatch {}
impl Request for crate::SyncUpdate {
    fn check(&self, _: &[&str]) -> crate::Result<()> {
        self.validate()
    }
}
impl Request for crate::NewCustomer {
    fn check(&self, _: &[&str]) -> crate::Result<()> {
        self.validate()
    }
}
impl Request for crate::NewTracking {
    fn check(&self, stood_in: &[&str]) -> crate::Result<()> {
        crate::Tracking::from_new(
            crate::TrackingId::new("trk_check"),
            crate::TenantId::new("ten_check"),
            self.clone(),
            crate::Timestamp::from_micros(0),
        )
        .validate_with(!stood_in.contains(&"kind"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_kind_does_not_hide_the_other_bad_fields() {
        let err = from_json::<crate::NewTracking>(serde_json::json!({
            "customer_id": "cus_x", "name": "", "kind": "nope", "selector": "button[",
            "url_rule": {"match": "sometimes", "value": "/x"}
        }))
        .unwrap_err();
        let fields: Vec<&str> = err.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            ["kind", "url_rule.match", "name", "selector"],
            "{err}"
        );
        assert_eq!(err.fields()[0].value, "nope");
    }

    #[test]
    fn other_serde_errors_still_stop_at_the_first() {
        let err = from_json::<crate::NewCustomer>(serde_json::json!({"name": 3})).unwrap_err();
        assert_eq!(err.fields()[0].field, "name");
    }
}
