//! Abuse controls: failed guesses counted per client (a keyed hash of the IP address, held
//! in memory only, never stored or logged) and per code space (all short codes, all long
//! codes), fixed-window limits answered with 429 and `Retry-After`, and a spike alert (log
//! event and metric). The device API key is deliberately not a limit: every install of an
//! app sends the same key, so a limit on it would let one attacker lock out the country.
//!
//! The counters live in the process: with several replicas each enforces its own share.

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

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

/// The daily budget of failed guesses at short codes (all clients together) that keeps the
/// expected time to a first hit at `years` or more while `live` codes of `code_length`
/// digits can be hit: each guess hits with probability live / 10^digits, so
/// budget = 10^digits / (365.25 * years * live), clamped to `min..=max` (`years` 0: `max`).
pub fn daily_short_code_budget(
    code_length: usize,
    live: u64,
    years: f64,
    min: u32,
    max: u32,
) -> u32 {
    if years <= 0.0 {
        return max;
    }
    let space = 10f64.powi(i32::try_from(code_length).unwrap_or(i32::MAX));
    let budget = space / (365.25 * years * live.max(1) as f64);
    if budget >= f64::from(max) {
        max
    } else {
        // In range 0..max, so the cast cannot truncate.
        (budget.floor() as u32).max(min).min(max)
    }
}

/// Expected days until all guessers together hit one of `live` codes of `code_length` digits,
/// guessing at `failures_per_day` (the arithmetic the README states).
pub fn expected_days_to_hit(code_length: usize, live: u64, failures_per_day: u32) -> f64 {
    let space = 10f64.powi(i32::try_from(code_length).unwrap_or(i32::MAX));
    space / (live.max(1) as f64 * f64::from(failures_per_day.max(1)))
}

impl mimamori_cases::limits::LimitKeyText for LimitKey {
    fn text(&self) -> String {
        use mimamori_cases::limits::key_text;
        match self {
            LimitKey::Client(hash) => format!("client:{}", key_text(hash)),
            LimitKey::CodeSpace(space) => format!("space:{}", space.label()),
            LimitKey::UserReportClient(hash) => format!("report_client:{}", key_text(hash)),
            LimitKey::UserReports => "user_reports".into(),
        }
    }
}

/// Failure counters with fixed windows, keyed by [`LimitKey`].
pub type FailureLimiter = mimamori_cases::limits::FailureLimiter<LimitKey>;

pub use mimamori_cases::limits::client_hash;

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
    /// Today's budget of failed short-code guesses (all clients), sized on the live codes.
    pub short_code_daily_budget: IntGauge,
    /// Codes a guess could hit now (unclaimed, unrevoked, unexpired), as last counted.
    pub live_codes: IntGauge,
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
            short_code_daily_budget: IntGauge::new(
                "mimamori_verification_short_code_daily_budget",
                "Failed short-code guesses allowed per 24 hours from all clients, sized on the live codes",
            )?,
            live_codes: IntGauge::new(
                "mimamori_verification_live_codes",
                "Processing numbers a guess could hit now (unclaimed, unrevoked, unexpired)",
            )?,
        };
        for collector in [
            Box::new(metrics.failures.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(metrics.rate_limited.clone()),
            Box::new(metrics.issued.clone()),
            Box::new(metrics.claimed.clone()),
            Box::new(metrics.certificates.clone()),
            Box::new(metrics.spikes.clone()),
            Box::new(metrics.short_code_daily_budget.clone()),
            Box::new(metrics.live_codes.clone()),
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
    fn daily_budget_keeps_a_hit_years_away() {
        // 8 digits, 100 live numbers, 1 year: 10^8 / (365.25 * 100) = 2,737 > max 1,000.
        assert_eq!(daily_short_code_budget(8, 100, 1.0, 20, 1_000), 1_000);
        // 1,000 live: 273 a day; the expected time at that budget is a year or more.
        let budget = daily_short_code_budget(8, 1_000, 1.0, 20, 1_000);
        assert_eq!(budget, 273);
        assert!(expected_days_to_hit(8, 1_000, budget) >= 365.25);
        // 100,000 live: the formula says 2, the floor keeps 20 (and the time drops to 50 days).
        assert_eq!(daily_short_code_budget(8, 100_000, 1.0, 20, 1_000), 20);
        assert_eq!(expected_days_to_hit(8, 100_000, 20), 50.0);
        // 12 digits: the cap binds even at a million live numbers, and a hit is 2.7 years away.
        assert_eq!(
            daily_short_code_budget(12, 1_000_000, 1.0, 20, 1_000),
            1_000
        );
        assert!(expected_days_to_hit(12, 1_000_000, 1_000) / 365.25 > 2.7);
        // Off, and no live numbers.
        assert_eq!(daily_short_code_budget(8, 1_000_000, 0.0, 20, 1_000), 1_000);
        assert_eq!(daily_short_code_budget(8, 0, 1.0, 20, 1_000), 1_000);
    }

    #[tokio::test]
    async fn limits_per_window_and_spikes() {
        let store = std::sync::Arc::new(mimamori_storage::limits::MemoryLimitStore::default());
        let limiter = FailureLimiter::new(store, "verify_failures", 60, 3);
        let key = LimitKey::CodeSpace(CodeSpace::Short);
        let limits = [(key.clone(), 2)];
        assert!(limiter.check(&limits, 0).await.is_ok());
        assert!(
            !limiter
                .record_failure(std::slice::from_ref(&key), 0)
                .await
                .unwrap()
        );
        assert!(
            !limiter
                .record_failure(std::slice::from_ref(&key), 1_000)
                .await
                .unwrap()
        );
        assert!(matches!(
            limiter.check(&limits, 10_000).await,
            Err(mimamori_cases::limits::LimitError::Exceeded {
                retry_after_seconds: 50
            })
        ));
        assert!(
            limiter
                .record_failure(&[LimitKey::Client([0; 16])], 2_000)
                .await
                .unwrap(),
            "third failure this minute"
        );
        assert!(
            !limiter
                .record_failure(&[LimitKey::Client([0; 16])], 3_000)
                .await
                .unwrap(),
            "alerted once"
        );
        assert!(limiter.check(&limits, 60_000).await.is_ok(), "new window");
    }

    #[test]
    fn limit_keys_are_hashes_or_fixed_names() {
        use mimamori_cases::limits::LimitKeyText as _;
        assert_eq!(LimitKey::UserReports.text(), "user_reports");
        assert_eq!(
            LimitKey::CodeSpace(CodeSpace::Long).text(),
            "space:long_code_space"
        );
        assert_eq!(
            LimitKey::Client([0; 16]).text(),
            "client:AAAAAAAAAAAAAAAAAAAAAA"
        );
    }
}
