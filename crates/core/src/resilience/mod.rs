//! Resilience primitives for outbound calls (Google APIs, crawling, metric ingestion): a retry
//! policy, a circuit breaker, a keyed rate limiter and a TTL cache with single-flight. Native
//! only: the browser engine makes no outbound calls.
//!
//! Thin wrappers where a well-kept crate does the work (`governor` for rate limits, `moka` for
//! the cache); the retry policy and the breaker are ours because their rules are the design's:
//! River's `attempt^4` backoff honouring a server's Retry-After, and a breaker that counts only
//! the failures a retry could fix (a bad request says nothing about the dependency's health).

mod backoff;
mod breaker;
mod cache;
mod limiter;

pub use backoff::RetryPolicy;
pub use breaker::{BreakerState, CircuitBreaker};
pub use cache::TtlCache;
pub use limiter::KeyedLimiter;

/// A uniformly random number in `[0, 1)` from the OS source (0.5 if it fails: jitter is not a
/// secret).
pub(crate) fn unit_random() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}
