//! Abuse controls: failed guesses counted per client (a keyed hash of the IP address, held
//! in memory only, never stored or logged) and per code space (all short codes, all long
//! codes), fixed-window limits answered with 429 and `Retry-After`, and a spike alert (log
//! event and metric). The device API key is deliberately not a limit: every install of an
//! app sends the same key, so a limit on it would let one attacker lock out the country.
//!
//! The counters live in the process: with several replicas each enforces its own share.

use std::collections::HashMap;
use std::sync::Mutex;

use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

/// A kind of code whose guesses share one budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeSpace {
    /// The numeric processing numbers people type (10^8 values at 8 digits).
    Short,
    /// The long codes of SMS links (36^16 values at 16 characters).
    Long,
}

impl CodeSpace {
    /// Metric label.
    pub fn label(self) -> &'static str {
        match self {
            CodeSpace::Short => "short_code_space",
            CodeSpace::Long => "long_code_space",
        }
    }
}

/// What a limit is counted on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LimitKey {
    /// A client: truncated HMAC of its IP address.
    Client([u8; 16]),
    /// Every guess at codes of one space, from anyone.
    CodeSpace(CodeSpace),
    /// Self-reports from one client.
    UserReportClient([u8; 16]),
    /// Self-reports from everyone.
    UserReports,
}

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
pub struct FailureLimiter {
    window_ms: i64,
    alert_per_minute: u32,
    windows: Mutex<HashMap<LimitKey, Window>>,
    spike: Mutex<Spike>,
}

impl FailureLimiter {
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
    pub fn check(&self, keys: &[(LimitKey, u32)], now_ms: i64) -> Result<(), u64> {
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
    pub fn check_and_count(&self, keys: &[(LimitKey, u32)], now_ms: i64) -> Result<(), u64> {
        self.check(keys, now_ms)?;
        let keys: Vec<LimitKey> = keys.iter().map(|(k, _)| k.clone()).collect();
        self.count(&keys, now_ms);
        Ok(())
    }

    /// Counts a failure against every key; returns true when this failure starts a spike
    /// (the per-minute total reached the alert threshold for the first time this minute).
    pub fn record_failure(&self, keys: &[LimitKey], now_ms: i64) -> bool {
        self.count(keys, now_ms);
        self.spike(now_ms)
    }

    fn count(&self, keys: &[LimitKey], now_ms: i64) {
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

/// The service's Prometheus metrics (labels are fixed code names, never data).
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Failed verification steps by error code.
    pub failures: IntCounterVec,
    /// Requests refused by a rate limit, by scope (`client`, `api_key`).
    pub rate_limited: IntCounterVec,
    /// Processing numbers issued.
    pub issued: IntCounter,
    /// Processing numbers claimed.
    pub claimed: IntCounter,
    /// Certificates issued.
    pub certificates: IntCounter,
    /// Failure spikes detected.
    pub spikes: IntCounter,
}

impl Metrics {
    /// Creates the metrics and registers them (a registry that already has them keeps its own).
    pub fn new(registry: &Registry) -> Result<Metrics, prometheus::Error> {
        let metrics = Metrics {
            failures: IntCounterVec::new(
                Opts::new(
                    "mimamori_verification_failures_total",
                    "Failed verification steps by error code",
                ),
                &["code"],
            )?,
            rate_limited: IntCounterVec::new(
                Opts::new(
                    "mimamori_verification_rate_limited_total",
                    "Requests refused with 429 by scope",
                ),
                &["scope"],
            )?,
            issued: IntCounter::new(
                "mimamori_verification_codes_issued_total",
                "Processing numbers issued",
            )?,
            claimed: IntCounter::new(
                "mimamori_verification_codes_claimed_total",
                "Processing numbers claimed",
            )?,
            certificates: IntCounter::new(
                "mimamori_verification_certificates_issued_total",
                "Verification certificates issued",
            )?,
            spikes: IntCounter::new(
                "mimamori_verification_failure_spikes_total",
                "Minutes in which failed verifications reached the alert threshold",
            )?,
        };
        for collector in [
            Box::new(metrics.failures.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(metrics.rate_limited.clone()),
            Box::new(metrics.issued.clone()),
            Box::new(metrics.claimed.clone()),
            Box::new(metrics.certificates.clone()),
            Box::new(metrics.spikes.clone()),
        ] {
            match registry.register(collector) {
                Ok(()) | Err(prometheus::Error::AlreadyReg) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(metrics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_window_and_spikes() {
        let limiter = FailureLimiter::new(60, 3);
        let key = LimitKey::CodeSpace(CodeSpace::Short);
        let limits = [(key.clone(), 2)];
        assert!(limiter.check(&limits, 0).is_ok());
        assert!(!limiter.record_failure(std::slice::from_ref(&key), 0));
        assert!(!limiter.record_failure(std::slice::from_ref(&key), 1_000));
        assert_eq!(limiter.check(&limits, 10_000), Err(50));
        assert!(
            limiter.record_failure(&[LimitKey::Client([0; 16])], 2_000),
            "third failure this minute"
        );
        assert!(
            !limiter.record_failure(&[LimitKey::Client([0; 16])], 3_000),
            "alerted once"
        );
        assert!(limiter.check(&limits, 60_000).is_ok(), "new window");
    }
}
