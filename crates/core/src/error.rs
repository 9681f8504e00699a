//! The one public error type: a kind with a stable code, a message, field details, a source.

use std::fmt;

/// What went wrong, as a host would branch on it. Each kind has a stable [`code`](ErrorKind::code)
/// string (the same in every runtime) and an HTTP status a host can return as is.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The record does not exist, was deleted, or belongs to another tenant.
    NotFound,
    /// A record with the same unique key exists.
    AlreadyExists,
    /// A value failed validation; see [`Error::fields`].
    InvalidInput,
    /// The caller is not authenticated.
    Unauthorized,
    /// The caller may not do this.
    Forbidden,
    /// Too many requests; retry after [`Error::retry_after_secs`].
    RateLimited,
    /// The operation took too long.
    Timeout,
    /// The record changed since it was read (stale version).
    Conflict,
    /// A dependency is temporarily unavailable.
    Unavailable,
    /// The storage backend failed (corrupt, locked or newer database file, I/O).
    Storage,
    /// A network call failed.
    Network,
    /// A bug in tagsmith (including a caught panic).
    Internal,
}

impl ErrorKind {
    /// The stable machine-readable code, e.g. `"not_found"`.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::AlreadyExists => "already_exists",
            Self::InvalidInput => "invalid_input",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::RateLimited => "rate_limited",
            Self::Timeout => "timeout",
            Self::Conflict => "conflict",
            Self::Unavailable => "unavailable",
            Self::Storage => "storage",
            Self::Network => "network",
            Self::Internal => "internal",
        }
    }

    /// The HTTP status a host can answer with.
    pub fn http_status(self) -> u16 {
        match self {
            Self::NotFound => 404,
            Self::AlreadyExists | Self::Conflict => 409,
            Self::InvalidInput => 422,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::RateLimited => 429,
            Self::Timeout => 504,
            Self::Unavailable => 503,
            Self::Storage | Self::Network | Self::Internal => 500,
        }
    }

    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::RateLimited | Self::Timeout | Self::Unavailable | Self::Network
        )
    }

    /// All kinds, in a stable order (for bindings that build one exception class per kind).
    pub const ALL: [ErrorKind; 12] = [
        Self::NotFound,
        Self::AlreadyExists,
        Self::InvalidInput,
        Self::Unauthorized,
        Self::Forbidden,
        Self::RateLimited,
        Self::Timeout,
        Self::Conflict,
        Self::Unavailable,
        Self::Storage,
        Self::Network,
        Self::Internal,
    ];
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One invalid field: its path (`ads.currency`), the offending value as text, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// Field path in snake_case, dots for nesting (`url_rule.value`).
    pub field: String,
    /// The offending value, truncated to 200 characters, credentials masked.
    pub value: String,
    /// What is wrong and what is expected.
    pub reason: String,
}

impl FieldError {
    /// A field error; the value is shortened and any credentials in it are masked.
    pub fn new(field: &str, value: &str, reason: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            value: shorten(&crate::redact::secrets(value)),
            reason: crate::redact::secrets(&reason.into()).into_owned(),
        }
    }
}

/// The error every tagsmith call returns.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    fields: Vec<FieldError>,
    retry_after_secs: Option<u64>,
    /// Decided per error: a busy database is retryable, a closed engine is not.
    retryable: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// Shorthand for `Result<T, tagsmith_core::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: crate::redact::secrets(&message.into()).into_owned(),
            fields: Vec::new(),
            retry_after_secs: None,
            retryable: kind.is_retryable(),
            source: None,
        }
    }

    /// Override whether the same call may succeed later (e.g. `storage` on a busy database).
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// `invalid_input` for one field.
    pub fn invalid_field(field: &str, value: &str, reason: impl Into<String>) -> Self {
        Self::invalid_fields(vec![FieldError::new(field, value, reason)])
    }

    /// `invalid_input` for several fields at once (validation reports every bad field).
    pub fn invalid_fields(fields: Vec<FieldError>) -> Self {
        let message = fields
            .iter()
            .map(|f| format!("{}: {} (got {:?})", f.field, f.reason, f.value))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            fields,
            ..Self::new(ErrorKind::InvalidInput, format!("invalid input: {message}"))
        }
    }

    /// `not_found` for a record of `entity` with `id`.
    pub fn not_found(entity: &str, id: &str) -> Self {
        Self::new(ErrorKind::NotFound, format!("{entity} {id:?} not found"))
    }

    /// `storage` wrapping a backend error.
    pub fn storage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Storage, message)
    }

    /// `internal`: a bug, e.g. a caught panic.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// Attach the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Attach a retry-after hint (for `rate_limited`, `unavailable`); the error becomes
    /// retryable.
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self.retryable = true;
        self
    }

    /// The same error with `what` prefixed to its message (kind, fields and hints kept; the
    /// original becomes the source when it had one).
    pub fn context(self, what: &str) -> Self {
        let message = format!("{what}: {}", self.message);
        let had_source = self.source.is_some();
        let mut out = Self {
            kind: self.kind,
            message: crate::redact::secrets(&message).into_owned(),
            fields: self.fields.clone(),
            retry_after_secs: self.retry_after_secs,
            retryable: self.retryable,
            source: None,
        };
        if had_source {
            out.source = Some(Box::new(self));
        }
        out
    }

    /// The same error with `prefix` before each field path (an item of a batch: `jobs[3].`).
    #[must_use]
    pub fn with_field_prefix(self, prefix: &str) -> Self {
        if self.fields.is_empty() {
            return self;
        }
        let fields = self
            .fields
            .into_iter()
            .map(|f| FieldError {
                field: format!("{prefix}{}", f.field),
                ..f
            })
            .collect();
        // Rebuilt so the message names the prefixed fields too.
        Self::invalid_fields(fields)
    }

    /// A copy for each caller that shares one failure (a single-flight load): kind, message,
    /// fields and hints; the source chain is not copied. (The cache that uses it is native.)
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub(crate) fn duplicate(&self) -> Self {
        Self {
            kind: self.kind,
            message: self.message.clone(),
            fields: self.fields.clone(),
            retry_after_secs: self.retry_after_secs,
            retryable: self.retryable,
            source: None,
        }
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The stable code of the kind, e.g. `"invalid_input"`.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The HTTP status a host can answer with.
    pub fn http_status(&self) -> u16 {
        self.kind.http_status()
    }

    /// Whether the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// The human-readable message (never contains secrets).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Field details for `invalid_input` (empty otherwise).
    pub fn fields(&self) -> &[FieldError] {
        &self.fields
    }

    /// Seconds to wait before retrying, when known.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after_secs
    }

    /// The error as the JSON object every runtime prints (see [`crate::ffi::ErrorView`]).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(crate::ffi::ErrorView::of(self)).unwrap_or_default()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// Cut a value to 200 characters so errors stay readable and bounded.
pub(crate) fn shorten(value: &str) -> String {
    match value.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &value[..at]),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_snake_case() {
        let mut codes: Vec<_> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ErrorKind::ALL.len());
        assert!(
            codes
                .iter()
                .all(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'))
        );
    }

    #[test]
    fn invalid_field_names_field_and_value() {
        let err = Error::invalid_field("website_url", "ftp://x", "must be http(s)");
        assert_eq!(err.code(), "invalid_input");
        assert_eq!(err.http_status(), 422);
        assert_eq!(err.fields()[0].field, "website_url");
        assert!(err.to_string().contains("ftp://x"));
    }

    #[test]
    fn credentials_are_masked_in_values_and_messages() {
        let err = Error::invalid_field("website_url", "https://bob:hunter2@shop.example/x", "bad");
        assert_eq!(err.fields()[0].value, "https://***@shop.example/x");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = Error::storage("cannot reach postgres://app:s3cret@db:5432/x");
        assert!(!err.message().contains("s3cret"));
    }

    #[test]
    fn retryable_is_per_error() {
        assert!(!Error::storage("corrupt").is_retryable());
        assert!(Error::storage("busy").with_retryable(true).is_retryable());
        assert!(
            !Error::new(ErrorKind::Unavailable, "closed")
                .with_retryable(false)
                .is_retryable()
        );
        let limited = Error::new(ErrorKind::RateLimited, "slow down").with_retry_after(3);
        assert_eq!(limited.to_json()["retry_after_secs"], 3);
    }

    #[test]
    fn long_values_are_shortened() {
        let long = "é".repeat(500);
        let err = Error::invalid_field("name", &long, "too long");
        assert_eq!(err.fields()[0].value.chars().count(), 201);
    }
}
