//! Failure limits shared by the services: counters of failed attempts per key in fixed
//! windows, kept in a [`LimitStore`] (the database or Redis, so a limit holds across every
//! replica; the keys are keyed hashes, never addresses or names), and a per-process, per-minute spike
//! detector for alerts.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use mimamori_storage::StorageError;
use mimamori_storage::limits::LimitStore;

/// The client key of an IP address: HMAC-SHA256 under a server secret, truncated to 16
/// bytes (the address itself is never kept).
pub fn client_hash(key: &ring::hmac::Key, ip: std::net::IpAddr) -> [u8; 16] {
    let tag = ring::hmac::sign(key, ip.to_string().as_bytes());
    let mut hashed = [0u8; 16];
    hashed.copy_from_slice(&tag.as_ref()[..16]);
    hashed
}

#[derive(Debug, Default)]
struct Spike {
    minute: i64,
    failures: u32,
    alerted: bool,
}

/// A key a limit is counted on, as the text the limit store keeps (derived from keyed
/// hashes or fixed names: never an address, a name or a code).
pub trait LimitKeyText {
    /// The stored text.
    fn text(&self) -> String;
}

/// A hashed key as stored text (URL-safe base64).
pub fn key_text(hash: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash)
}

impl LimitKeyText for &str {
    fn text(&self) -> String {
        (*self).to_string()
    }
}

/// Why a limited operation may not go ahead.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    /// A limit is used up for this many more seconds.
    #[error("limit reached; retry after {retry_after_seconds} s")]
    Exceeded {
        /// Seconds until the window ends.
        retry_after_seconds: u64,
    },
    /// The counters could not be read (the operation is refused, not let through).
    #[error("failure-limit counters unavailable: {0}")]
    Unavailable(#[from] StorageError),
}

/// How often expired windows of a scope are deleted (by whichever replica counts).
const PURGE_EVERY_MS: i64 = 600_000;

/// Failure counters with fixed windows in a [`LimitStore`] (the database or Redis: one count
/// for all replicas), under a `scope` name.
#[derive(Debug)]
pub struct FailureLimiter<K> {
    store: Arc<dyn LimitStore>,
    scope: &'static str,
    window_ms: i64,
    alert_per_minute: u32,
    spike: Mutex<Spike>,
    last_purge_ms: AtomicI64,
    keys: PhantomData<fn(K)>,
}

impl<K: LimitKeyText> FailureLimiter<K> {
    /// A limiter with windows of `window_seconds` counted in `store` under `scope`.
    pub fn new(
        store: Arc<dyn LimitStore>,
        scope: &'static str,
        window_seconds: i64,
        alert_per_minute: u32,
    ) -> Self {
        FailureLimiter {
            store,
            scope,
            window_ms: window_seconds.max(1) * 1000,
            alert_per_minute,
            spike: Mutex::new(Spike::default()),
            last_purge_ms: AtomicI64::new(i64::MIN),
            keys: PhantomData,
        }
    }

    /// [`LimitError::Exceeded`] when any key has used up its failures in the current window.
    pub async fn check(&self, keys: &[(K, u32)], now_ms: i64) -> Result<(), LimitError> {
        for (key, max) in keys {
            if let Some(window) = self.store.window(self.scope, &key.text()).await?
                && now_ms - window.start_ms < self.window_ms
                && now_ms >= window.start_ms
                && window.count >= i64::from(*max)
            {
                let remaining_ms = window.start_ms + self.window_ms - now_ms;
                return Err(LimitError::Exceeded {
                    retry_after_seconds: u64::try_from((remaining_ms + 999) / 1000)
                        .unwrap_or(1)
                        .max(1),
                });
            }
        }
        Ok(())
    }

    /// Checks every limit and, when none is used up, counts one event against each key
    /// (for limits on attempts rather than failures).
    pub async fn check_and_count(&self, keys: &[(K, u32)], now_ms: i64) -> Result<(), LimitError> {
        self.check(keys, now_ms).await?;
        for (key, _) in keys {
            self.count(key, now_ms).await?;
        }
        Ok(())
    }

    /// Counts a failure against every key; returns true when this failure starts a spike
    /// (this process's per-minute total reached the alert threshold for the first time
    /// this minute).
    pub async fn record_failure(&self, keys: &[K], now_ms: i64) -> Result<bool, StorageError> {
        for key in keys {
            self.count(key, now_ms).await?;
        }
        Ok(self.spike(now_ms))
    }

    /// Failures counted against `key` in its current window.
    pub async fn failures(&self, key: &K, now_ms: i64) -> Result<u32, StorageError> {
        Ok(self
            .store
            .window(self.scope, &key.text())
            .await?
            .filter(|w| now_ms - w.start_ms < self.window_ms && now_ms >= w.start_ms)
            .map_or(0, |w| u32::try_from(w.count).unwrap_or(u32::MAX)))
    }

    async fn count(&self, key: &K, now_ms: i64) -> Result<(), StorageError> {
        self.store
            .count(self.scope, &key.text(), self.window_ms, now_ms)
            .await?;
        let last = self.last_purge_ms.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) >= PURGE_EVERY_MS
            && self
                .last_purge_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            && let Err(error) = self.store.purge(self.scope, now_ms - self.window_ms).await
        {
            tracing::warn!(scope = self.scope, error = %error, "could not delete expired failure-limit windows");
        }
        Ok(())
    }

    fn spike(&self, now_ms: i64) -> bool {
        let Ok(mut spike) = self.spike.lock() else {
            return false;
        };
        let minute = now_ms.div_euclid(60_000);
        if spike.minute != minute {
            *spike = Spike {
                minute,
                failures: 0,
                alerted: false,
            };
        }
        spike.failures = spike.failures.saturating_add(1);
        if spike.failures >= self.alert_per_minute && !spike.alerted {
            spike.alerted = true;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mimamori_storage::limits::MemoryLimitStore;

    #[tokio::test]
    async fn failures_are_counted_per_key_and_window() {
        let store: Arc<dyn LimitStore> = Arc::new(MemoryLimitStore::default());
        let limiter: FailureLimiter<&str> = FailureLimiter::new(store.clone(), "t", 60, u32::MAX);
        limiter.record_failure(&["a"], 0).await.unwrap();
        limiter.record_failure(&["a"], 1_000).await.unwrap();
        assert_eq!(limiter.failures(&"a", 2_000).await.unwrap(), 2);
        assert_eq!(limiter.failures(&"b", 2_000).await.unwrap(), 0);
        assert_eq!(
            limiter.failures(&"a", 60_000).await.unwrap(),
            0,
            "the window ended"
        );
        assert!(matches!(
            limiter.check(&[("a", 2)], 30_000).await,
            Err(LimitError::Exceeded {
                retry_after_seconds: 30
            })
        ));
        assert!(limiter.check(&[("a", 3)], 30_000).await.is_ok());
        // Another limiter on the same store (another replica) sees the same count.
        let other: FailureLimiter<&str> = FailureLimiter::new(store, "t", 60, u32::MAX);
        assert_eq!(other.failures(&"a", 2_000).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_spike_alerts_once_a_minute() {
        let store: Arc<dyn LimitStore> = Arc::new(MemoryLimitStore::default());
        let limiter: FailureLimiter<&str> = FailureLimiter::new(store, "t", 60, 2);
        assert!(!limiter.record_failure(&["a"], 0).await.unwrap());
        assert!(limiter.record_failure(&["b"], 1).await.unwrap());
        assert!(!limiter.record_failure(&["c"], 2).await.unwrap());
        assert!(!limiter.record_failure(&["c"], 60_000).await.unwrap());
    }
}
