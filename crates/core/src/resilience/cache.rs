//! A TTL cache with single-flight loading (`moka`): concurrent misses of one key run the loader
//! once and share its result, so a burst of requests does not stampede Google's token endpoint.

use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use crate::{Error, Result};

/// Values kept up to `ttl` after they were loaded, at most `capacity` entries.
#[derive(Clone)]
pub struct TtlCache<K, V> {
    inner: moka::future::Cache<K, V>,
}

impl<K, V> std::fmt::Debug for TtlCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtlCache")
            .field("entries", &self.inner.entry_count())
            .finish()
    }
}

impl<K, V> TtlCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache of at most `capacity` entries, each kept `ttl` after it was loaded.
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        Self {
            inner: moka::future::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// The cached value of `key`, or the one `load` produces (run once however many callers
    /// miss at the same time; an error is not cached and reaches every waiting caller).
    ///
    /// # Errors
    /// What `load` returned (the same kind, message, fields and hints for every waiter).
    pub async fn get_or_load<F>(&self, key: K, load: F) -> Result<V>
    where
        F: Future<Output = Result<V>>,
    {
        self.inner
            .try_get_with(key, load)
            .await
            .map_err(|shared: Arc<Error>| shared.duplicate())
    }

    /// Drop `key` (e.g. a token the server rejected).
    pub async fn invalidate(&self, key: &K) {
        self.inner.invalidate(key).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn concurrent_misses_load_once_and_errors_are_not_cached() {
        let cache: TtlCache<&'static str, u32> = TtlCache::new(100, Duration::from_secs(60));
        let loads = Arc::new(AtomicUsize::new(0));
        std::thread::scope(|s| {
            for _ in 0..8 {
                let (cache, loads) = (cache.clone(), loads.clone());
                s.spawn(move || {
                    let v = pollster::block_on(cache.get_or_load("token", async {
                        loads.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(30));
                        Ok(7)
                    }));
                    assert_eq!(v.unwrap(), 7);
                });
            }
        });
        assert_eq!(loads.load(Ordering::SeqCst), 1, "single flight");
        let err = pollster::block_on(cache.get_or_load("bad", async {
            Err(Error::new(crate::ErrorKind::Network, "down").with_retry_after(3))
        }))
        .unwrap_err();
        assert_eq!((err.code(), err.retry_after_secs()), ("network", Some(3)));
        let again = pollster::block_on(cache.get_or_load("bad", async { Ok(1) }));
        assert_eq!(again.unwrap(), 1, "the error was not cached");
    }
}
