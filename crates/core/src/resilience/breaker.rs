//! A circuit breaker: after enough consecutive failures a dependency is left alone for a while,
//! then one probe decides whether it is back.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{Error, ErrorKind, Result};

/// What a breaker lets through now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; `failures` consecutive retryable failures so far.
    Closed {
        /// Consecutive failures counted.
        failures: u32,
    },
    /// Calls are refused with `unavailable` until `retry_in` has passed.
    Open {
        /// How long until a probe is let through.
        retry_in: Duration,
    },
    /// One probe call is in flight; the others are refused until it ends.
    HalfOpen,
}

#[derive(Debug)]
enum Inner {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen,
}

/// Counts consecutive failures a retry could fix (network, timeouts, 5xx, rate limits); a bad
/// request or a missing record says nothing about the dependency's health and does not count.
#[derive(Debug)]
pub struct CircuitBreaker {
    name: String,
    threshold: u32,
    open_for: Duration,
    state: Mutex<Inner>,
}

impl CircuitBreaker {
    /// A breaker that opens after `threshold` consecutive failures and stays open `open_for`.
    pub fn new(name: impl Into<String>, threshold: u32, open_for: Duration) -> Self {
        Self {
            name: name.into(),
            threshold: threshold.max(1),
            open_for,
            state: Mutex::new(Inner::Closed { failures: 0 }),
        }
    }

    /// The state now (for hosts' health pages).
    pub fn state(&self) -> BreakerState {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match *s {
            Inner::Closed { failures } => BreakerState::Closed { failures },
            Inner::Open { until } => BreakerState::Open {
                retry_in: until.saturating_duration_since(Instant::now()),
            },
            Inner::HalfOpen => BreakerState::HalfOpen,
        }
    }

    /// Run `call` if the breaker lets it through.
    ///
    /// # Errors
    /// `unavailable` (retryable, with the seconds until a probe) while open or while a probe is
    /// in flight; otherwise whatever `call` returns.
    pub async fn call<T, Fut: Future<Output = Result<T>>>(&self, call: Fut) -> Result<T> {
        self.admit()?;
        let out = call.await;
        self.record(out.as_ref().err());
        out
    }

    fn admit(&self) -> Result<()> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match *s {
            Inner::Closed { .. } => Ok(()),
            Inner::Open { until } if Instant::now() >= until => {
                *s = Inner::HalfOpen;
                Ok(())
            }
            Inner::Open { until } => {
                let secs = until
                    .saturating_duration_since(Instant::now())
                    .as_secs_f64()
                    .ceil() as u64;
                Err(self
                    .refusal("is open after repeated failures")
                    .with_retry_after(secs.max(1)))
            }
            Inner::HalfOpen => Err(self
                .refusal("is checking whether the service is back")
                .with_retry_after(1)),
        }
    }

    fn record(&self, error: Option<&Error>) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let failed = error.is_some_and(Error::is_retryable);
        *s = match (&*s, failed) {
            (_, false) => Inner::Closed { failures: 0 },
            (Inner::Closed { failures }, true) if failures + 1 < self.threshold => Inner::Closed {
                failures: failures + 1,
            },
            (_, true) => Inner::Open {
                until: Instant::now() + self.open_for,
            },
        };
    }

    fn refusal(&self, why: &str) -> Error {
        Error::new(
            ErrorKind::Unavailable,
            format!("the circuit breaker for {} {why}", self.name),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail() -> std::future::Ready<Result<()>> {
        std::future::ready(Err(Error::new(ErrorKind::Network, "down")))
    }

    #[test]
    fn opens_after_the_threshold_then_probes_once() {
        let b = CircuitBreaker::new("gtm", 3, Duration::from_millis(30));
        for _ in 0..2 {
            assert!(pollster::block_on(b.call(fail())).is_err());
        }
        // A bad request means the service answered: it is not a failure, and the count resets.
        let bad = pollster::block_on(b.call(std::future::ready(Err::<(), _>(
            Error::invalid_field("a", "b", "c"),
        ))));
        assert_eq!(bad.unwrap_err().code(), "invalid_input");
        assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
        for _ in 0..3 {
            assert_eq!(
                pollster::block_on(b.call(fail())).unwrap_err().code(),
                "network"
            );
        }
        assert!(matches!(b.state(), BreakerState::Open { .. }));
        let refused = pollster::block_on(b.call(std::future::ready(Ok(())))).unwrap_err();
        assert_eq!(refused.code(), "unavailable");
        assert!(refused.is_retryable() && refused.retry_after_secs().is_some());
        std::thread::sleep(Duration::from_millis(40));
        // The probe succeeds: closed again.
        pollster::block_on(b.call(std::future::ready(Ok(())))).unwrap();
        assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
        // A failed probe opens it again at once.
        for _ in 0..3 {
            let _ = pollster::block_on(b.call(fail()));
        }
        std::thread::sleep(Duration::from_millis(40));
        assert!(pollster::block_on(b.call(fail())).is_err());
        assert!(matches!(b.state(), BreakerState::Open { .. }));
    }
}
