//! How long to wait before the next attempt, and a retry loop built on it.

use std::future::Future;
use std::time::Duration;

use crate::{Error, Result};

/// Retries with River's backoff: `attempt^4` seconds, ±10 % jitter, capped; a `retry_after`
/// carried by the error (a 429's Retry-After) is honoured instead. Only errors a retry may fix
/// ([`Error::is_retryable`]) are retried.
///
/// ```
/// use std::time::Duration;
/// let p = tagsmith_core::resilience::RetryPolicy::default();
/// let d = p.delay(2, None); // 16 s ± 10 %
/// assert!(d >= Duration::from_secs_f64(14.4) && d <= Duration::from_secs_f64(17.6));
/// assert_eq!(p.delay(1, Some(Duration::from_secs(30))).as_secs(), 30);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (default 25, as River and Oban).
    pub max_attempts: u32,
    /// The longest wait between attempts (default 24 h).
    pub max_delay: Duration,
    /// Relative jitter, 0 to 1 (default 0.1: ±10 %).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 25,
            max_delay: Duration::from_secs(24 * 3600),
            jitter: 0.1,
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1 for the first): `retry_after` if the
    /// error carried one, else `attempt^4` seconds with jitter; at most `max_delay`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let base = match retry_after {
            Some(wait) => wait.as_secs_f64(),
            None => {
                let n = f64::from(attempt.max(1));
                let spread = self.jitter.clamp(0.0, 1.0);
                n.powi(4) * (1.0 + spread * (2.0 * super::unit_random() - 1.0))
            }
        };
        Duration::from_secs_f64(base.clamp(0.0, self.max_delay.as_secs_f64()))
    }

    /// Whether a failure of attempt number `attempt` may be retried.
    pub fn should_retry(&self, attempt: u32, error: &Error) -> bool {
        error.is_retryable() && attempt < self.max_attempts
    }

    /// Run `op` until it succeeds, fails with an error a retry cannot fix, or runs out of
    /// attempts, waiting with `sleep` (e.g. `tokio::time::sleep`) between attempts.
    ///
    /// # Errors
    /// The last error.
    pub async fn run<T, Op, Fut, Sleep, SleepFut>(&self, mut op: Op, sleep: Sleep) -> Result<T>
    where
        Op: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T>>,
        Sleep: Fn(Duration) -> SleepFut,
        SleepFut: Future<Output = ()>,
    {
        let mut attempt = 1;
        loop {
            match op(attempt).await {
                Ok(v) => return Ok(v),
                Err(e) if self.should_retry(attempt, &e) => {
                    let wait = self.delay(attempt, e.retry_after_secs().map(Duration::from_secs));
                    sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn backoff_grows_as_attempt_to_the_fourth_with_jitter_and_a_cap() {
        let p = RetryPolicy::default();
        for attempt in 1..=10u32 {
            let d = p.delay(attempt, None).as_secs_f64();
            let want = f64::from(attempt).powi(4);
            assert!((want * 0.9..=want * 1.1).contains(&d), "{attempt}: {d}");
        }
        assert_eq!(p.delay(1000, None), p.max_delay);
        let no_jitter = RetryPolicy { jitter: 0.0, ..p };
        assert_eq!(no_jitter.delay(3, None), Duration::from_secs(81));
    }

    #[test]
    fn the_loop_retries_only_what_a_retry_can_fix() {
        let p = RetryPolicy {
            max_attempts: 4,
            ..RetryPolicy::default()
        };
        let mut waits = Vec::new();
        let waited = std::cell::RefCell::new(&mut waits);
        let out = pollster::block_on(p.run(
            |attempt| async move {
                if attempt < 3 {
                    Err(Error::new(ErrorKind::RateLimited, "slow down").with_retry_after(2))
                } else {
                    Ok(attempt)
                }
            },
            |d| {
                waited.borrow_mut().push(d);
                std::future::ready(())
            },
        ));
        assert_eq!(out.unwrap(), 3);
        assert_eq!(waits, [Duration::from_secs(2), Duration::from_secs(2)]);

        let mut calls = 0;
        let bad = pollster::block_on(p.run(
            |_| {
                calls += 1;
                std::future::ready(Err::<(), _>(Error::invalid_field("x", "y", "bad")))
            },
            |_| std::future::ready(()),
        ));
        assert_eq!((bad.unwrap_err().code(), calls), ("invalid_input", 1));

        let mut calls = 0;
        let gone = pollster::block_on(p.run(
            |_| {
                calls += 1;
                std::future::ready(Err::<(), _>(Error::new(ErrorKind::Network, "down")))
            },
            |_| std::future::ready(()),
        ));
        assert_eq!((gone.unwrap_err().code(), calls), ("network", 4));
    }
}
