//! Field validators shared by every request type. Each collects into a [`Problems`] list so one
//! call reports every bad field at once.

use crate::error::{Error, FieldError};

/// Longest accepted name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest accepted URL, in bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// GA4 event and parameter names: at most 40 characters.
pub const MAX_GA4_NAME_CHARS: usize = 40;
/// GA4 allows at most 25 parameters per event.
pub const MAX_GA4_PARAMS: usize = 25;
/// GA4 parameter values: at most 100 characters.
pub const MAX_GA4_VALUE_CHARS: usize = 100;

/// Prefixes GA4 reserves for its own event and parameter names.
const GA4_RESERVED_PREFIXES: [&str; 3] = ["google_", "ga_", "firebase_"];
/// Event names GA4 reserves (automatically collected events).
const GA4_RESERVED_EVENTS: [&str; 14] = [
    "ad_activeview",
    "ad_click",
    "ad_exposure",
    "ad_query",
    "adunit_exposure",
    "app_clear_data",
    "app_remove",
    "app_update",
    "error",
    "first_open",
    "first_visit",
    "in_app_purchase",
    "session_start",
    "user_engagement",
];

/// Accumulates field errors, then turns them into one `invalid_input`.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<FieldError>);

impl Problems {
    pub(crate) fn add(&mut self, field: &str, value: &str, reason: impl Into<String>) {
        self.0.push(FieldError::new(field, value, reason));
    }

    #[cfg_attr(target_arch = "wasm32", allow(dead_code))] // used by the (native) queue
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn into_result(self) -> crate::Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_fields(self.0))
        }
    }
}

/// A display name: 1 to 200 characters, no control characters; stored byte-exact.
pub(crate) fn name(p: &mut Problems, field: &str, value: &str) {
    let chars = value.chars().count();
    if value.trim().is_empty() {
        p.add(field, value, "must not be empty or blank");
    } else if chars > MAX_NAME_CHARS {
        p.add(
            field,
            value,
            format!("must be at most {MAX_NAME_CHARS} characters (got {chars})"),
        );
    } else if value.chars().any(char::is_control) {
        p.add(field, value, "must not contain control characters");
    }
}

/// A map key chosen by code (a platform name, an external id key): 1 to 64 characters of
/// `[a-z0-9_]`, starting with a letter.
pub(crate) fn key(p: &mut Problems, field: &str, value: &str) {
    let ok = (1..=64).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        p.add(
            field,
            value,
            "must be 1 to 64 characters of a-z, 0-9 and _, starting with a letter",
        );
    }
}

/// An absolute http(s) URL with a host.
pub(crate) fn http_url(p: &mut Problems, field: &str, value: &str) {
    if value.len() > MAX_URL_BYTES {
        p.add(
            field,
            value,
            format!("must be at most {MAX_URL_BYTES} bytes"),
        );
        return;
    }
    match url::Url::parse(value) {
        Ok(u)
            if matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some_and(|h| !h.is_empty()) =>
        {
            if !u.username().is_empty() || u.password().is_some() {
                p.add(field, value, "must not contain credentials");
            }
        }
        Ok(_) => p.add(field, value, "must be an absolute http:// or https:// URL"),
        Err(e) => p.add(
            field,
            value,
            format!("must be an absolute http(s) URL ({e})"),
        ),
    }
}

/// A CSS selector that [`CssSelector`](crate::CssSelector) accepts.
pub(crate) fn css_selector(p: &mut Problems, field: &str, value: &str) {
    if let Err(e) = crate::CssSelector::parse(value) {
        for f in e.fields() {
            p.add(field, value, f.reason.clone());
        }
    }
}

/// A regular expression that compiles (with a size limit, so a hostile pattern cannot blow up).
pub(crate) fn regex(p: &mut Problems, field: &str, value: &str) {
    if let Err(e) = regex::RegexBuilder::new(value).size_limit(1 << 20).build() {
        let first = e.to_string().lines().last().unwrap_or("").trim().to_owned();
        p.add(
            field,
            value,
            format!("must be a valid regular expression ({first})"),
        );
    }
}

/// A GA4 event or parameter name: letters, digits and underscores, starting with a letter, at
/// most 40 characters, no reserved prefix.
pub(crate) fn ga4_name(p: &mut Problems, field: &str, value: &str, is_event: bool) {
    let Some(first) = value.chars().next() else {
        p.add(field, value, "must not be empty");
        return;
    };
    if value.chars().count() > MAX_GA4_NAME_CHARS {
        p.add(
            field,
            value,
            format!("must be at most {MAX_GA4_NAME_CHARS} characters"),
        );
    } else if !first.is_ascii_alphabetic() {
        p.add(field, value, "must start with a letter");
    } else if !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        p.add(
            field,
            value,
            "may contain only letters, digits and underscores",
        );
    } else if let Some(prefix) = GA4_RESERVED_PREFIXES
        .iter()
        .find(|pre| value.starts_with(*pre))
    {
        p.add(
            field,
            value,
            format!("must not start with the reserved prefix {prefix:?}"),
        );
    } else if is_event && GA4_RESERVED_EVENTS.contains(&value) {
        p.add(field, value, "is reserved by GA4");
    }
}

/// An ISO 4217 currency code: three upper-case letters.
pub(crate) fn currency(p: &mut Problems, field: &str, value: &str) {
    if value.len() != 3 || !value.bytes().all(|b| b.is_ascii_uppercase()) {
        p.add(
            field,
            value,
            "must be a 3-letter ISO 4217 code such as EUR or USD",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(f: impl FnOnce(&mut Problems)) -> crate::Result<()> {
        let mut p = Problems::default();
        f(&mut p);
        p.into_result()
    }

    #[test]
    fn names_accept_unicode_and_refuse_blank_long_control() {
        assert!(check(|p| name(p, "name", "Café \"Ü\" 🚀 東京")).is_ok());
        assert!(check(|p| name(p, "name", "  ")).is_err());
        assert!(check(|p| name(p, "name", &"x".repeat(201))).is_err());
        assert!(check(|p| name(p, "name", &"é".repeat(200))).is_ok());
        assert!(check(|p| name(p, "name", "a\u{0}b")).is_err());
    }

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(check(|p| http_url(p, "u", "https://shop.example.com/path?q=1")).is_ok());
        for bad in [
            "shop.example.com",
            "ftp://x.com",
            "/relative",
            "javascript:alert(1)",
            "https://u:p@x.com",
        ] {
            assert!(check(|p| http_url(p, "u", bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn ga4_names_follow_ga4_rules() {
        assert!(check(|p| ga4_name(p, "e", "generate_lead", true)).is_ok());
        for bad in [
            "",
            "1abc",
            "has-dash",
            "google_thing",
            "ga_x",
            "firebase_y",
            "session_start",
            &"a".repeat(41),
        ] {
            assert!(check(|p| ga4_name(p, "e", bad, true)).is_err(), "{bad}");
        }
    }

    #[test]
    fn regexes_must_compile() {
        assert!(check(|p| regex(p, "r", r"^/checkout/\d+$")).is_ok());
        assert!(check(|p| regex(p, "r", "(unclosed")).is_err());
    }
}
