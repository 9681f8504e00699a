//! A keyed rate limiter (per tenant, per API key, per Google account): `governor`'s GCRA.

use std::hash::Hash;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::{Error, ErrorKind, Result};

/// Allows `per_second` calls per key on average, with bursts up to `burst`.
///
/// ```
/// use std::num::NonZeroU32;
/// let limiter = tagsmith_core::resilience::KeyedLimiter::new(
///     NonZeroU32::new(1).unwrap(), NonZeroU32::new(2).unwrap());
/// assert!(limiter.check(&"tenant-a").is_ok());
/// assert!(limiter.check(&"tenant-a").is_ok());
/// let third = limiter.check(&"tenant-a").unwrap_err();
/// assert_eq!(third.code(), "rate_limited");
/// assert!(limiter.check(&"tenant-b").is_ok()); // keys are independent
/// ```
pub struct KeyedLimiter<K: Hash + Eq + Clone> {
    inner: DefaultKeyedRateLimiter<K>,
    clock: DefaultClock,
}

impl<K: Hash + Eq + Clone> std::fmt::Debug for KeyedLimiter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedLimiter")
            .field("keys", &self.inner.len())
            .finish()
    }
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// `per_second` calls per key, bursts up to `burst`.
    pub fn new(per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        Self {
            inner: governor::RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            clock: DefaultClock::default(),
        }
    }

    /// Take one call for `key` now.
    ///
    /// # Errors
    /// `rate_limited` with the whole seconds to wait (at least 1) when `key` is over its quota.
    pub fn check(&self, key: &K) -> Result<()> {
        self.inner.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            Error::new(
                ErrorKind::RateLimited,
                "too many requests for this key: slow down",
            )
            .with_retry_after(wait.as_secs_f64().ceil().max(1.0) as u64)
        })
    }

    /// Forget keys whose quota is fully replenished, so memory stays bounded by the keys seen
    /// recently. Call it now and then (a maintenance task does).
    pub fn forget_idle(&self) {
        self.inner.retain_recent();
        self.inner.shrink_to_fit();
    }

    /// How many keys are tracked.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}
