//! Failure limits shared by the services: counters of failed attempts per key in fixed
//! windows, held in memory only (the keys are keyed hashes, never addresses or names), and a
//! per-minute spike detector for alerts. With several replicas each enforces its own share.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// The client key of an IP address: HMAC-SHA256 under a server secret, truncated to 16
/// bytes (the address itself is never kept).
pub fn client_hash(key: &ring::hmac::Key, ip: std::net::IpAddr) -> [u8; 16] {
    let tag = ring::hmac::sign(key, ip.to_string().as_bytes());
    let mut hashed = [0u8; 16];
    hashed.copy_from_slice(&tag.as_ref()[..16]);
    hashed
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start_ms: i64,
    failures: u32,
}

#[derive(Debug, Default)]
struct Spike {
    minute: i64,
    failures: u32,
    alerted: bool,
}

/// Failure counters with fixed windows.
#[derive(Debug)]
pub struct FailureLimiter<K> {
    window_ms: i64,
    alert_per_minute: u32,
    windows: Mutex<HashMap<K, Window>>,
    spike: Mutex<Spike>,
}

impl<K: Clone + Eq + Hash> FailureLimiter<K> {
    /// A limiter with windows of `window_seconds`.
    pub fn new(window_seconds: i64, alert_per_minute: u32) -> Self {
        FailureLimiter {
            window_ms: window_seconds.max(1) * 1000,
            alert_per_minute,
            windows: Mutex::new(HashMap::new()),
            spike: Mutex::new(Spike::default()),
        }
    }

    /// `Err(retry_after_seconds)` when any key has used up its failures in the current window.
    pub fn check(&self, keys: &[(K, u32)], now_ms: i64) -> Result<(), u64> {
        let Ok(windows) = self.windows.lock() else {
            return Ok(());
        };
        for (key, max) in keys {
            if let Some(window) = windows.get(key)
                && now_ms - window.start_ms < self.window_ms
                && window.failures >= *max
            {
                let remaining_ms = window.start_ms + self.window_ms - now_ms;
                return Err(u64::try_from((remaining_ms + 999) / 1000)
                    .unwrap_or(1)
                    .max(1));
            }
        }
        Ok(())
    }

    /// Checks every limit and, when none is used up, counts one event against each key
    /// (for limits on attempts rather than failures).
    pub fn check_and_count(&self, keys: &[(K, u32)], now_ms: i64) -> Result<(), u64> {
        self.check(keys, now_ms)?;
        let keys: Vec<K> = keys.iter().map(|(k, _)| k.clone()).collect();
        self.count(&keys, now_ms);
        Ok(())
    }

    /// Counts a failure against every key; returns true when this failure starts a spike
    /// (the per-minute total reached the alert threshold for the first time this minute).
    pub fn record_failure(&self, keys: &[K], now_ms: i64) -> bool {
        self.count(keys, now_ms);
        self.spike(now_ms)
    }

    /// Failures counted against `key` in its current window.
    pub fn failures(&self, key: &K, now_ms: i64) -> u32 {
        let Ok(windows) = self.windows.lock() else {
            return 0;
        };
        windows
            .get(key)
            .filter(|w| now_ms - w.start_ms < self.window_ms && now_ms >= w.start_ms)
            .map_or(0, |w| w.failures)
    }

    fn count(&self, keys: &[K], now_ms: i64) {
        if let Ok(mut windows) = self.windows.lock() {
            if windows.len() > 100_000 {
                let window_ms = self.window_ms;
                windows.retain(|_, w| now_ms - w.start_ms < window_ms);
            }
            for key in keys {
                let window = windows.entry(key.clone()).or_insert(Window {
                    start_ms: now_ms,
                    failures: 0,
                });
                if now_ms - window.start_ms >= self.window_ms || now_ms < window.start_ms {
                    *window = Window {
                        start_ms: now_ms,
                        failures: 0,
                    };
                }
                window.failures = window.failures.saturating_add(1);
            }
        }
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

    #[test]
    fn failures_are_counted_per_key_and_window() {
        let limiter: FailureLimiter<&str> = FailureLimiter::new(60, u32::MAX);
        limiter.record_failure(&["a"], 0);
        limiter.record_failure(&["a"], 1_000);
        assert_eq!(limiter.failures(&"a", 2_000), 2);
        assert_eq!(limiter.failures(&"b", 2_000), 0);
        assert_eq!(limiter.failures(&"a", 60_000), 0, "the window ended");
        assert_eq!(limiter.check(&[("a", 2)], 30_000), Err(30));
        assert_eq!(limiter.check(&[("a", 3)], 30_000), Ok(()));
    }
}
