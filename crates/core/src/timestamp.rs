//! Microsecond UTC timestamps, serialized as RFC 3339 strings in JSON.

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How a time that does not parse is described (request parsing recognizes it).
pub(crate) const NOT_RFC3339: &str = "must be an RFC 3339 time";

/// A UTC instant with microsecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From microseconds since the Unix epoch.
    pub fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// Microseconds since the Unix epoch.
    pub fn as_micros(self) -> i64 {
        self.0
    }

    /// RFC 3339 in UTC, e.g. `2026-11-23T05:00:00.123456Z`.
    pub fn to_rfc3339(self) -> String {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1000)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| format!("@{}", self.0))
    }

    /// Parse an RFC 3339 string.
    ///
    /// # Errors
    /// `invalid_input` naming `field` when the text is not RFC 3339.
    pub fn parse_rfc3339(field: &str, text: &str) -> crate::Result<Self> {
        let t = OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|e| crate::Error::invalid_field(field, text, format!("{NOT_RFC3339}: {e}")))?;
        Ok(Self((t.unix_timestamp_nanos() / 1000) as i64))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

thread_local! {
    /// Set while [`as_epoch_millis`] runs: times serialize as numbers for a JS runtime.
    static AS_MILLIS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `f` with every [`Timestamp`] serialized on this thread as milliseconds since the Unix
/// epoch (what `new Date(ms)` takes without parsing text) instead of RFC 3339 text.
pub(crate) fn as_epoch_millis<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            AS_MILLIS.with(|m| m.set(self.0));
        }
    }
    let _restore = Restore(AS_MILLIS.with(|m| m.replace(true)));
    f()
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if AS_MILLIS.with(std::cell::Cell::get) {
            return s.serialize_i64(self.0.div_euclid(1000));
        }
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        // The message alone: whoever reads the error names the field.
        Self::parse_rfc3339("time", &text).map_err(|e| {
            let reason = e.fields().first().map(|f| f.reason.clone());
            serde::de::Error::custom(reason.unwrap_or_else(|| e.to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rfc3339() {
        let t = Timestamp::from_micros(1_795_000_000_123_456);
        let text = t.to_rfc3339();
        assert!(text.ends_with('Z'), "{text}");
        assert_eq!(Timestamp::parse_rfc3339("t", &text).ok(), Some(t));
    }
}
