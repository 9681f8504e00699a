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
        // The OS source only fails on exotic platforms; fall back to the clock mixed with a
        // process-wide counter so ids made in the same microsecond still differ (storage also
        // refuses a colliding id rather than overwrite).
        if getrandom::fill(buf).is_err() {
            static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut state = (self.now().as_micros() as u64) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            for b in buf.iter_mut() {
                // splitmix64 step
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                *b = (z ^ (z >> 31)) as u8;
            }
        }
    }
}
