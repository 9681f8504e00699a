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
    /// Fill `buf` with unpredictable bytes (record ids).
    fn fill_random(&self, buf: &mut [u8]);
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

    fn fill_random(&self, buf: &mut [u8]) {
        // The OS source only fails on exotic platforms; fall back to clock-seeded bytes so id
        // generation never panics (ids also carry a uniqueness check in storage).
        if getrandom::fill(buf).is_err() {
            let seed = self.now().as_micros() as u64;
            for (i, b) in buf.iter_mut().enumerate() {
                *b = (seed.rotate_left(i as u32 * 7) >> 3) as u8 ^ i as u8;
            }
        }
    }
}
