//! The engine's view of the outside world: the clock and a source of randomness.
//!
//! Injected rather than called directly because `SystemTime::now()` panics on
//! `wasm32-unknown-unknown` and randomness there comes from `crypto.getRandomValues`; tests also
//! use it to pin time.

use crate::Timestamp;

/// Clock and randomness, provided by the host runtime.
pub trait Env: Send + Sync + 'static {
    /// Current time.
    fn now(&self) -> Timestamp;
    /// Fill `buf` with unpredictable bytes (record ids, later keys and tokens).
    ///
    /// # Errors
    /// `unavailable` when no cryptographically secure source exists: tagsmith never mints an
    /// id or a secret from a predictable fallback.
    fn fill_random(&self, buf: &mut [u8]) -> crate::Result<()>;
}

/// The native environment: the system clock and the OS random source.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemEnv;

#[cfg(not(target_arch = "wasm32"))]
impl Env for SystemEnv {
    fn now(&self) -> Timestamp {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0);
        Timestamp::from_micros(micros)
    }

    fn fill_random(&self, buf: &mut [u8]) -> crate::Result<()> {
        getrandom::fill(buf).map_err(|e| {
            crate::Error::new(
                crate::ErrorKind::Unavailable,
                format!("the operating system's random source failed: {e}"),
            )
            .with_retryable(false)
        })
    }
}
