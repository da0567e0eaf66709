//! Publish validation: the rules of the Google reference server's `POST /v1/publish`
//! (`internal/publish/model/exposure_model.go`), as pure functions of the request and "now".
//!
//! A key that breaks a per-key rule is dropped alone, with a warning (partial success).
//! Too many keys or overlapping keys fail the whole request.

use std::collections::BTreeMap;

use base64::Engine as _;
use mimamori_crypto::export::{DiagnosisKey, ReportType};
use mimamori_crypto::interval::{EnIntervalNumber, TEK_ROLLING_PERIOD};
use mimamori_crypto::keys::Tek;
use serde::Deserialize;

/// Intervals per UTC day.
const DAY: u32 = TEK_ROLLING_PERIOD;

/// Keys sharing one start interval (OS v1.5 same-day re-keys) before it counts as overlap.
pub const MAX_KEYS_SHARING_START: usize = 3;

/// One key of a Google v1 publish request.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExposureKeyJson {
    /// base64 of the 16 key bytes.
    pub key: String,
    /// First ENIntervalNumber of validity.
    pub rolling_start_number: i64,
    /// Number of intervals (1..=144); 144 when absent.
    #[serde(default = "default_period")]
    pub rolling_period: i64,
    /// Transmission risk 0..=8 (0 = backfilled from the report type).
    #[serde(default)]
    pub transmission_risk: i64,
}

fn default_period() -> i64 {
    i64::from(TEK_ROLLING_PERIOD)
}

/// Limits applied to a publish.
#[derive(Debug, Clone)]
pub struct PublishPolicy {
    /// Most keys per request.
    pub max_keys: usize,
    /// Oldest accepted start, in intervals before now.
    pub max_interval_age: u32,
    /// Onset accepted within this many days of today.
    pub max_symptom_onset_days: u32,
    /// Largest |days since onset| kept.
    pub max_days_since_onset: u32,
    /// Days before today assumed as onset when none is known.
    pub default_onset_days_ago: u32,
}

/// What fails a whole publish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishRuleError {
    /// No keys at all.
    #[error("the request contains no exposure keys")]
    NoKeys,
    /// More keys than allowed.
    #[error("too many exposure keys: {count}, at most {max}")]
    TooManyKeys {
        /// Keys sent.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Keys overlap in time (beyond the allowed same-start re-keys).
    #[error("exposure keys overlap: {0}")]
    Overlap(String),
    /// Every key was dropped by a per-key rule.
    #[error("no valid exposure keys: {0}")]
    NoValidKeys(String),
}

/// A key that passed the per-key rules, before report metadata is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedKey {
    /// The key bytes.
    pub key: Tek,
    /// Start interval.
    pub rolling_start: u32,
    /// Period.
    pub rolling_period: u32,
    /// Transmission risk as sent (0..=8).
    pub transmission_risk: i32,
}

impl ValidatedKey {
    /// The key as the tekmac sees it (the request's values, before any backfill).
    pub fn as_sent(&self) -> DiagnosisKey {
        DiagnosisKey {
            key_data: self.key.clone(),
            rolling_start_interval_number: self.rolling_start,
            rolling_period: self.rolling_period,
            transmission_risk_level: self.transmission_risk,
            report_type: ReportType::Unknown,
            days_since_onset_of_symptoms: None,
        }
    }

    /// First interval after the key's validity.
    pub fn end_interval(&self) -> u32 {
        self.rolling_start.saturating_add(self.rolling_period)
    }
}

/// Per-key checks, then the request-wide count and overlap checks.
///
/// Returns the valid keys and one warning per dropped key (no key bytes in warnings).
pub fn validate_keys(
    keys: &[ExposureKeyJson],
    now: EnIntervalNumber,
    policy: &PublishPolicy,
) -> Result<(Vec<ValidatedKey>, Vec<String>), PublishRuleError> {
    if keys.is_empty() {
        return Err(PublishRuleError::NoKeys);
    }
    if keys.len() > policy.max_keys {
        return Err(PublishRuleError::TooManyKeys {
            count: keys.len(),
            max: policy.max_keys,
        });
    }
    let oldest = i64::from(now.0) - i64::from(policy.max_interval_age);
    let mut valid = Vec::with_capacity(keys.len());
    let mut warnings = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (index, key) in keys.iter().enumerate() {
        match validate_key(key, now, oldest) {
            // The same key twice in one publish is one key (stored and counted once).
            Ok(key) if !seen.insert(*key.key.as_bytes()) => {}
            Ok(key) => valid.push(key),
            Err(reason) => warnings.push(format!("key {index} cannot be imported: {reason}")),
        }
    }
    check_overlap(&valid)?;
    if valid.is_empty() {
        return Err(PublishRuleError::NoValidKeys(warnings.join("; ")));
    }
    Ok((valid, warnings))
}

fn validate_key(
    key: &ExposureKeyJson,
    now: EnIntervalNumber,
    oldest: i64,
) -> Result<ValidatedKey, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key.key.as_bytes())
        .map_err(|_| "key is not valid base64".to_string())?;
    let tek = Tek::from_slice(&bytes)
        .map_err(|_| format!("key is {} bytes, expected 16", bytes.len()))?;
    if !(1..=i64::from(TEK_ROLLING_PERIOD)).contains(&key.rolling_period) {
        return Err(format!(
            "rollingPeriod {} is not in 1..=144",
            key.rolling_period
        ));
    }
    if !(0..=8).contains(&key.transmission_risk) {
        return Err(format!(
            "transmissionRisk {} is not in 0..=8",
            key.transmission_risk
        ));
    }
    if key.rolling_start_number < 0 || key.rolling_start_number > i64::from(now.0) {
        return Err(format!(
            "rollingStartNumber {} is in the future",
            key.rolling_start_number
        ));
    }
    if key.rolling_start_number + key.rolling_period <= oldest {
        return Err(format!(
            "rollingStartNumber {} is older than the accepted age",
            key.rolling_start_number
        ));
    }
    Ok(ValidatedKey {
        key: tek,
        rolling_start: u32::try_from(key.rolling_start_number).map_err(|e| e.to_string())?,
        rolling_period: u32::try_from(key.rolling_period).map_err(|e| e.to_string())?,
        transmission_risk: i32::try_from(key.transmission_risk).map_err(|e| e.to_string())?,
    })
}

/// Keys must not overlap, except up to [`MAX_KEYS_SHARING_START`] keys with the same start.
fn check_overlap(keys: &[ValidatedKey]) -> Result<(), PublishRuleError> {
    let mut by_start: BTreeMap<u32, Vec<&ValidatedKey>> = BTreeMap::new();
    for key in keys {
        by_start.entry(key.rolling_start).or_default().push(key);
    }
    let mut previous_end: Option<(u32, u32)> = None;
    for (start, group) in &by_start {
        if group.len() > MAX_KEYS_SHARING_START {
            return Err(PublishRuleError::Overlap(format!(
                "{} keys start at interval {start}; at most {MAX_KEYS_SHARING_START} may share a start",
                group.len()
            )));
        }
        if let Some((previous_start, end)) = previous_end
            && *start < end
        {
            return Err(PublishRuleError::Overlap(format!(
                "the key starting at {start} begins before the key starting at {previous_start} ends ({end})"
            )));
        }
        let end = group
            .iter()
            .map(|k| k.end_interval())
            .max()
            .unwrap_or(*start);
        previous_end = Some((*start, end));
    }
    Ok(())
}

/// Transmission risk backfilled for keys sent with 0, by report type (reference server).
pub fn default_transmission_risk(report_type: ReportType) -> i32 {
    match report_type {
        ReportType::ConfirmedTest => 2,
        ReportType::ConfirmedClinicalDiagnosis => 4,
        ReportType::SelfReport => 5,
        _ => 0,
    }
}

/// The symptom-onset day (interval at UTC midnight) to use: the certificate's or the
/// request's value when plausible (within the policy's range of today), else the default.
pub fn effective_onset(
    candidates: &[Option<u32>],
    now: EnIntervalNumber,
    policy: &PublishPolicy,
) -> (u32, Option<String>) {
    let today = now.day_start().0;
    let range = policy.max_symptom_onset_days.saturating_mul(DAY);
    let mut warning = None;
    for candidate in candidates.iter().flatten() {
        let day = candidate - candidate % DAY;
        if day.abs_diff(today) <= range {
            return (day, warning);
        }
        warning = Some(format!(
            "symptom onset interval {candidate} is more than {} days from today; using the default",
            policy.max_symptom_onset_days
        ));
    }
    (
        today.saturating_sub(policy.default_onset_days_ago.saturating_mul(DAY)),
        warning,
    )
}

/// Applies report type, transmission-risk backfill and days since onset; drops keys whose
/// days since onset exceed the policy, with a warning each.
pub fn finalize_keys(
    keys: &[ValidatedKey],
    report_type: ReportType,
    onset_day: u32,
    policy: &PublishPolicy,
) -> (Vec<DiagnosisKey>, Vec<String>) {
    let mut out = Vec::with_capacity(keys.len());
    let mut warnings = Vec::new();
    for key in keys {
        let key_day = i64::from(key.rolling_start - key.rolling_start % DAY);
        let days = (key_day - i64::from(onset_day)) / i64::from(DAY);
        if days.unsigned_abs() > u64::from(policy.max_days_since_onset) {
            warnings.push(format!(
                "key starting at {}: {days} days from symptom onset, beyond ±{}; dropped",
                key.rolling_start, policy.max_days_since_onset
            ));
            continue;
        }
        let transmission_risk = if key.transmission_risk == 0 {
            default_transmission_risk(report_type)
        } else {
            key.transmission_risk
        };
        out.push(DiagnosisKey {
            key_data: key.key.clone(),
            rolling_start_interval_number: key.rolling_start,
            rolling_period: key.rolling_period,
            transmission_risk_level: transmission_risk,
            report_type,
            days_since_onset_of_symptoms: i32::try_from(days).ok(),
        });
    }
    (out, warnings)
}

/// When a key may first be exported, in Unix milliseconds: now, or — for a key still valid
/// now — its expiry plus one export window (embargo, so a live key never leaves the server).
pub fn available_at_ms(key: &DiagnosisKey, now_ms: i64, window_seconds: u64) -> i64 {
    let expiry_ms = i64::from(
        key.rolling_start_interval_number
            .saturating_add(key.rolling_period),
    ) * 600_000;
    if expiry_ms > now_ms {
        expiry_ms + i64::try_from(window_seconds).unwrap_or(3600) * 1000
    } else {
        now_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u32 = 2_700_000 + 60; // 2_700_000 is a day start (divisible by 144)

    fn policy() -> PublishPolicy {
        PublishPolicy {
            max_keys: 30,
            max_interval_age: 14 * 144,
            max_symptom_onset_days: 28,
            max_days_since_onset: 14,
            default_onset_days_ago: 4,
        }
    }

    fn key(byte: u8, start: i64, period: i64, tr: i64) -> ExposureKeyJson {
        ExposureKeyJson {
            key: base64::engine::general_purpose::STANDARD.encode([byte; 16]),
            rolling_start_number: start,
            rolling_period: period,
            transmission_risk: tr,
        }
    }

    fn day(n: i64) -> i64 {
        i64::from(NOW - NOW % 144) - n * 144
    }

    #[test]
    fn fourteen_daily_keys_pass() {
        let keys: Vec<_> = (1..=14).map(|d| key(d as u8, day(d), 144, 0)).collect();
        let (valid, warnings) = validate_keys(&keys, EnIntervalNumber(NOW), &policy()).unwrap();
        assert_eq!(valid.len(), 14);
        assert!(warnings.is_empty());
    }

    #[test]
    fn a_key_repeated_in_one_publish_counts_once() {
        let keys = vec![
            key(1, day(1), 144, 0),
            key(2, day(2), 144, 0),
            key(1, day(1), 144, 0),
        ];
        let (valid, warnings) = validate_keys(&keys, EnIntervalNumber(NOW), &policy()).unwrap();
        assert_eq!(valid.len(), 2);
        assert!(warnings.is_empty(), "a repeat is not an error");
    }

    #[test]
    fn bad_keys_are_dropped_alone() {
        let keys = vec![
            key(1, day(1), 144, 0),
            ExposureKeyJson {
                key: "c2hvcnQ=".into(),
                ..key(2, day(2), 144, 0)
            },
            key(3, day(3), 0, 0),
            key(4, day(4), 145, 0),
            key(5, day(5), 144, 9),
            key(6, day(6), 144, -1),
            key(7, i64::from(NOW) + 1, 144, 0),
            key(8, day(20), 144, 0),
        ];
        let (valid, warnings) = validate_keys(&keys, EnIntervalNumber(NOW), &policy()).unwrap();
        assert_eq!(valid.len(), 1);
        assert_eq!(warnings.len(), 7, "{warnings:?}");
        assert!(warnings.iter().all(|w| !w.contains("AQEB")), "no key bytes");
    }

    #[test]
    fn count_and_overlap_fail_the_request() {
        let many: Vec<_> = (0..31).map(|i| key(i as u8, day(1), 1, 0)).collect();
        assert!(matches!(
            validate_keys(&many, EnIntervalNumber(NOW), &policy()),
            Err(PublishRuleError::TooManyKeys { count: 31, max: 30 })
        ));
        let overlapping = vec![key(1, day(2), 144, 0), key(2, day(2) + 100, 144, 0)];
        assert!(matches!(
            validate_keys(&overlapping, EnIntervalNumber(NOW), &policy()),
            Err(PublishRuleError::Overlap(_))
        ));
        let same_start: Vec<_> = (0..3).map(|i| key(i, day(1), 144, 0)).collect();
        assert!(validate_keys(&same_start, EnIntervalNumber(NOW), &policy()).is_ok());
        let four: Vec<_> = (0..4).map(|i| key(i, day(1), 144, 0)).collect();
        assert!(matches!(
            validate_keys(&four, EnIntervalNumber(NOW), &policy()),
            Err(PublishRuleError::Overlap(_))
        ));
        assert_eq!(
            validate_keys(&[], EnIntervalNumber(NOW), &policy()),
            Err(PublishRuleError::NoKeys)
        );
    }

    #[test]
    fn onset_and_days_since_onset() {
        let now = EnIntervalNumber(NOW);
        let today = NOW - NOW % 144;
        // A plausible onset is rounded down to its day.
        assert_eq!(
            effective_onset(&[Some(today - 3 * 144 + 17)], now, &policy()).0,
            today - 3 * 144
        );
        // An implausible one falls back to the default (4 days ago) with a warning.
        let (onset, warning) = effective_onset(&[Some(today - 40 * 144)], now, &policy());
        assert_eq!(onset, today - 4 * 144);
        assert!(warning.is_some());
        // The certificate's value wins over the request's.
        assert_eq!(
            effective_onset(&[Some(today - 144), Some(today - 2 * 144)], now, &policy()).0,
            today - 144
        );

        let keys: Vec<_> = [1, 2, 13]
            .iter()
            .map(|d| ValidatedKey {
                key: Tek::from_bytes([*d as u8; 16]),
                rolling_start: (day(*d)) as u32,
                rolling_period: 144,
                transmission_risk: 0,
            })
            .collect();
        let (final_keys, warnings) =
            finalize_keys(&keys, ReportType::ConfirmedTest, today - 2 * 144, &policy());
        assert_eq!(final_keys.len(), 3);
        assert!(warnings.is_empty());
        let dsos: Vec<_> = final_keys
            .iter()
            .map(|k| k.days_since_onset_of_symptoms)
            .collect();
        assert_eq!(dsos, vec![Some(1), Some(0), Some(-11)]);
        assert!(final_keys.iter().all(|k| k.transmission_risk_level == 2));

        let (kept, dropped) =
            finalize_keys(&keys, ReportType::ConfirmedTest, today + 2 * 144, &policy());
        assert_eq!(kept.len(), 2, "a key 15 days before onset is dropped");
        assert_eq!(dropped.len(), 1);
    }

    #[test]
    fn live_keys_are_embargoed_until_expiry_plus_a_window() {
        let now_ms = i64::from(NOW) * 600_000;
        let mut live = DiagnosisKey::new(Tek::from_bytes([1; 16]), NOW - NOW % 144);
        live.rolling_period = 144;
        let expiry_ms = i64::from(NOW - NOW % 144 + 144) * 600_000;
        assert_eq!(available_at_ms(&live, now_ms, 3600), expiry_ms + 3_600_000);
        let old = DiagnosisKey::new(Tek::from_bytes([2; 16]), NOW - NOW % 144 - 144);
        assert_eq!(available_at_ms(&old, now_ms, 3600), now_ms);
    }
}
