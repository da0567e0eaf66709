//! Risk scoring: v1 ExposureConfiguration, v2 DailySummariesConfig with
//! DiagnosisKeysDataMapping, and the COCOA v1, COCOA v2 and Corona-Warn-App decision rules
//! (gaen-spec.md §8–11).

use std::collections::BTreeMap;

use crate::export::ReportType;
use crate::interval::{SECONDS_PER_DAY, utc_day_start};
use crate::matcher::{ExposureWindow, KeyMatch, SAME_SCAN_GAP_DECISECONDS};

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

/// Why a configuration is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// A value is outside its allowed range.
    #[error("{0}")]
    OutOfRange(String),
}

// ---------------------------------------------------------------------------------------
// v2
// ---------------------------------------------------------------------------------------

/// Infectiousness of a key, from its days since onset of symptoms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "SCREAMING_SNAKE_CASE"))]
pub enum Infectiousness {
    /// Not infectious: windows are dropped.
    #[default]
    None = 0,
    /// Standard.
    Standard = 1,
    /// High.
    High = 2,
}

/// Maps key metadata to infectiousness and report type (v2 DiagnosisKeysDataMapping).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct DiagnosisKeysDataMapping {
    /// Infectiousness for days since onset −14…+14; unmapped days are NONE. In JSON the
    /// keys are strings ("-3": "HIGH"), as in COCOA's configuration files.
    #[cfg_attr(feature = "serde", serde(with = "day_keys"))]
    pub infectiousness_for_days_since_onset_of_symptoms: BTreeMap<i32, Infectiousness>,
    /// Infectiousness when the key has no days since onset.
    pub infectiousness_when_days_since_onset_missing: Infectiousness,
    /// Report type used for keys whose report type is UNKNOWN (must not be UNKNOWN).
    pub report_type_when_missing: ReportType,
}

impl DiagnosisKeysDataMapping {
    /// Infectiousness of a key.
    pub fn infectiousness(&self, days_since_onset: Option<i32>) -> Infectiousness {
        match days_since_onset {
            None => self.infectiousness_when_days_since_onset_missing,
            Some(d) => self
                .infectiousness_for_days_since_onset_of_symptoms
                .get(&d.clamp(-14, 14))
                .copied()
                .unwrap_or(Infectiousness::None),
        }
    }

    /// The report type after applying `report_type_when_missing`.
    pub fn report_type(&self, report_type: ReportType) -> ReportType {
        if report_type == ReportType::Unknown {
            self.report_type_when_missing
        } else {
            report_type
        }
    }
}

/// (De)serializes `BTreeMap<i32, _>` with string keys, which also works inside internally
/// tagged enums.
#[cfg(feature = "serde")]
mod day_keys {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Infectiousness;

    pub(super) fn serialize<S: Serializer>(
        map: &BTreeMap<i32, Infectiousness>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        map.iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect::<BTreeMap<String, _>>()
            .serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<i32, Infectiousness>, D::Error> {
        BTreeMap::<String, Infectiousness>::deserialize(deserializer)?
            .into_iter()
            .map(|(k, v)| {
                k.trim()
                    .parse::<i32>()
                    .map(|k| (k, v))
                    .map_err(serde::de::Error::custom)
            })
            .collect()
    }
}

/// Per-report-type weights in [0, 2.5]; unset = 0.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct ReportTypeWeights {
    /// CONFIRMED_TEST.
    pub confirmed_test: f64,
    /// CONFIRMED_CLINICAL_DIAGNOSIS.
    pub confirmed_clinical_diagnosis: f64,
    /// SELF_REPORT.
    pub self_report: f64,
    /// RECURSIVE.
    pub recursive: f64,
}

/// Per-infectiousness weights in [0, 2.5].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct InfectiousnessWeights {
    /// STANDARD.
    pub standard: f64,
    /// HIGH.
    pub high: f64,
}

/// The attenuation bucket of a scan instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "SCREAMING_SNAKE_CASE"))]
pub enum AttenuationBucket {
    /// typical ≤ threshold 0.
    Immediate = 0,
    /// ≤ threshold 1.
    Near = 1,
    /// ≤ threshold 2.
    Medium = 2,
    /// Above.
    Other = 3,
}

/// v2 DailySummariesConfig.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct DailySummariesConfig {
    /// Three increasing thresholds in [0, 255] on typicalAttenuationDb.
    pub attenuation_bucket_threshold_db: [u8; 3],
    /// Weights of IMMEDIATE, NEAR, MEDIUM, OTHER in [0, 2.5].
    pub attenuation_bucket_weights: [f64; 4],
    /// Report type weights.
    pub report_type_weights: ReportTypeWeights,
    /// Infectiousness weights.
    pub infectiousness_weights: InfectiousnessWeights,
    /// Only windows at most this many days old count (0 = all).
    pub days_since_exposure_threshold: u32,
    /// Windows scoring below this are dropped.
    pub minimum_window_score: f64,
}

/// The score of one exposure window.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct WindowScore {
    /// Start of the UTC day.
    pub date: u64,
    /// Report type after mapping.
    pub report_type: ReportType,
    /// Infectiousness after mapping.
    pub infectiousness: Infectiousness,
    /// Σ secondsSinceLastScan × bucket weight.
    pub weighted_duration: f64,
    /// weightedDuration × report type weight × infectiousness weight.
    pub score: f64,
    /// Σ secondsSinceLastScan.
    pub seconds_since_last_scan_sum: u32,
}

/// Score aggregates of one day (ExposureSummaryData).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct ExposureSummaryData {
    /// Highest window score.
    pub maximum_score: f64,
    /// Sum of window scores.
    pub score_sum: f64,
    /// Sum of weighted durations.
    pub weighted_duration_sum: f64,
}

impl ExposureSummaryData {
    fn add(&mut self, w: &WindowScore) {
        self.maximum_score = self.maximum_score.max(w.score);
        self.score_sum += w.score;
        self.weighted_duration_sum += w.weighted_duration;
    }
}

/// A v2 DailySummary.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct DailySummary {
    /// Start of the UTC day, UNIX seconds.
    pub date: u64,
    /// Over all report types.
    pub day_summary: ExposureSummaryData,
    /// Per report type.
    pub report_type_summaries: BTreeMap<ReportType, ExposureSummaryData>,
    /// Σ secondsSinceLastScan over all of that day's exposure windows (COCOA's rule).
    pub seconds_since_last_scan_sum: u32,
}

impl DailySummariesConfig {
    /// Checks the documented ranges.
    ///
    /// # Errors
    /// [`ConfigError::OutOfRange`] naming the first bad value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let t = self.attenuation_bucket_threshold_db;
        if !(t[0] < t[1] && t[1] < t[2]) {
            return Err(ConfigError::OutOfRange(
                "thresholds must be strictly increasing".into(),
            ));
        }
        let r = &self.report_type_weights;
        let i = &self.infectiousness_weights;
        let others = [
            r.confirmed_test,
            r.confirmed_clinical_diagnosis,
            r.self_report,
            r.recursive,
            i.standard,
            i.high,
        ];
        for &w in self.attenuation_bucket_weights.iter().chain(&others) {
            if !(0.0..=2.5).contains(&w) {
                return Err(ConfigError::OutOfRange(format!(
                    "weight {w} is not in [0, 2.5]"
                )));
            }
        }
        if self.minimum_window_score.is_nan() || self.minimum_window_score < 0.0 {
            return Err(ConfigError::OutOfRange(
                "minimum_window_score must be >= 0".into(),
            ));
        }
        Ok(())
    }

    /// The bucket of a typical attenuation.
    pub fn bucket(&self, typical_attenuation_db: u8) -> AttenuationBucket {
        let t = self.attenuation_bucket_threshold_db;
        if typical_attenuation_db <= t[0] {
            AttenuationBucket::Immediate
        } else if typical_attenuation_db <= t[1] {
            AttenuationBucket::Near
        } else if typical_attenuation_db <= t[2] {
            AttenuationBucket::Medium
        } else {
            AttenuationBucket::Other
        }
    }

    /// Σ secondsSinceLastScan × bucket weight over `(typical dB, seconds)` scan instances.
    pub fn weighted_duration(&self, scans: impl IntoIterator<Item = (u8, u32)>) -> f64 {
        scans
            .into_iter()
            .map(|(db, s)| f64::from(s) * self.attenuation_bucket_weights[self.bucket(db) as usize])
            .sum()
    }

    fn report_type_weight(&self, report_type: ReportType) -> Option<f64> {
        let w = &self.report_type_weights;
        match report_type {
            ReportType::ConfirmedTest => Some(w.confirmed_test),
            ReportType::ConfirmedClinicalDiagnosis => Some(w.confirmed_clinical_diagnosis),
            ReportType::SelfReport => Some(w.self_report),
            ReportType::Recursive => Some(w.recursive),
            ReportType::Unknown | ReportType::Revoked => None,
        }
    }

    /// Scores one window, or `None` when it is dropped (report type not scored,
    /// infectiousness NONE, too old, or below the minimum window score).
    pub fn score_window(
        &self,
        mapping: &DiagnosisKeysDataMapping,
        window: &ExposureWindow,
        now: u64,
    ) -> Option<WindowScore> {
        let report_type = mapping.report_type(window.report_type);
        let report_weight = self.report_type_weight(report_type)?;
        let infectiousness = mapping.infectiousness(window.days_since_onset_of_symptoms);
        let infectiousness_weight = match infectiousness {
            Infectiousness::None => return None,
            Infectiousness::Standard => self.infectiousness_weights.standard,
            Infectiousness::High => self.infectiousness_weights.high,
        };
        if self.days_since_exposure_threshold > 0 {
            let days = utc_day_start(now).saturating_sub(window.date) / SECONDS_PER_DAY;
            if days > u64::from(self.days_since_exposure_threshold) {
                return None;
            }
        }
        let weighted_duration = self.weighted_duration(
            window
                .scan_instances
                .iter()
                .map(|s| (s.typical_attenuation_db, s.seconds_since_last_scan)),
        );
        let score = weighted_duration * report_weight * infectiousness_weight;
        if score < self.minimum_window_score {
            return None;
        }
        Some(WindowScore {
            date: window.date,
            report_type,
            infectiousness,
            weighted_duration,
            score,
            seconds_since_last_scan_sum: window
                .scan_instances
                .iter()
                .map(|s| s.seconds_since_last_scan)
                .sum(),
        })
    }

    /// Daily summaries (one per UTC day with at least one window), sorted by date.
    pub fn daily_summaries(
        &self,
        mapping: &DiagnosisKeysDataMapping,
        windows: &[ExposureWindow],
        now: u64,
    ) -> Vec<DailySummary> {
        let mut days: BTreeMap<u64, DailySummary> = BTreeMap::new();
        for window in windows {
            let day = days.entry(window.date).or_insert_with(|| DailySummary {
                date: window.date,
                day_summary: ExposureSummaryData::default(),
                report_type_summaries: BTreeMap::new(),
                seconds_since_last_scan_sum: 0,
            });
            day.seconds_since_last_scan_sum += window
                .scan_instances
                .iter()
                .map(|s| s.seconds_since_last_scan)
                .sum::<u32>();
            if let Some(score) = self.score_window(mapping, window, now) {
                day.day_summary.add(&score);
                day.report_type_summaries
                    .entry(score.report_type)
                    .or_default()
                    .add(&score);
            }
        }
        days.into_values()
            .filter(|d| d.day_summary.score_sum > 0.0 || d.seconds_since_last_scan_sum > 0)
            .collect()
    }
}

/// The COCOA v2 decision: high risk iff a day's ScoreSum ≥ `minimum_score_sum` AND the
/// day's Σ secondsSinceLastScan ≥ `minimum_seconds_since_last_scan_sum`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct DailyThresholdRule {
    /// Minimum DaySummary.ScoreSum (COCOA: 1350).
    pub minimum_score_sum: f64,
    /// Minimum Σ secondsSinceLastScan of the day's windows (COCOA: 900; 0 disables).
    pub minimum_seconds_since_last_scan_sum: u32,
}

impl DailyThresholdRule {
    /// Whether one day is high risk.
    pub fn is_high_risk(&self, day: &DailySummary) -> bool {
        day.day_summary.score_sum >= self.minimum_score_sum
            && day.seconds_since_last_scan_sum >= self.minimum_seconds_since_last_scan_sum
    }
}

/// A complete v2 configuration: summaries config, mapping and decision rule.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct V2Config {
    /// DailySummariesConfig.
    pub daily_summaries_config: DailySummariesConfig,
    /// DiagnosisKeysDataMapping.
    pub diagnosis_keys_data_mapping: DiagnosisKeysDataMapping,
    /// The decision rule.
    pub rule: DailyThresholdRule,
}

// ---------------------------------------------------------------------------------------
// v1
// ---------------------------------------------------------------------------------------

/// Upper bounds of attenuation buckets 0..7 (bucket i = first i with att > bound[i]).
pub const V1_ATTENUATION_BOUNDS: [u8; 7] = [73, 63, 51, 33, 27, 15, 10];
/// Duration buckets in minutes (bucket i = first i with minutes ≤ bound[i]).
pub const V1_DURATION_BOUNDS: [u32; 7] = [0, 5, 10, 15, 20, 25, 30];
/// Days buckets (bucket i = first i with days ≥ bound[i]).
pub const V1_DAYS_BOUNDS: [u32; 7] = [14, 12, 10, 8, 6, 4, 2];
/// Sightings of one v1 exposure are at most this far apart.
pub const V1_MAX_GAP_SECONDS: u64 = 600;
/// Scan interval used to extend v1 durations (half before the first, half after the last).
pub const V1_SCAN_INTERVAL_SECONDS: u64 = 300;

/// v1 ExposureConfiguration (scores 0–8; weights are unused by devices and omitted).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct ExposureConfiguration {
    /// Risk scores below this become 0 (1–4096).
    pub minimum_risk_score: u32,
    /// Scores for attenuation buckets 0..7.
    pub attenuation_scores: [u8; 8],
    /// Scores for days-since-exposure buckets 0..7.
    pub days_since_last_exposure_scores: [u8; 8],
    /// Scores for duration buckets 0..7.
    pub duration_scores: [u8; 8],
    /// Scores for transmission risk levels 1..8.
    pub transmission_risk_scores: [u8; 8],
    /// Thresholds of attenuationDurations (dB).
    pub duration_at_attenuation_thresholds: [u8; 2],
}

/// Attenuation bucket 0..7.
pub fn v1_attenuation_bucket(attenuation: u8) -> usize {
    V1_ATTENUATION_BOUNDS
        .iter()
        .position(|&b| attenuation > b)
        .unwrap_or(7)
}

/// Duration bucket 0..7.
pub fn v1_duration_bucket(minutes: u32) -> usize {
    V1_DURATION_BOUNDS
        .iter()
        .position(|&b| minutes <= b)
        .unwrap_or(7)
}

/// Days-since-exposure bucket 0..7.
pub fn v1_days_bucket(days: u32) -> usize {
    V1_DAYS_BOUNDS.iter().position(|&b| days >= b).unwrap_or(7)
}

/// Bucketizes a sighted span to 5 minutes: est = span + 300, rounded to the nearest 300 s
/// with a remainder ≤ 150 rounding down.
pub fn v1_bucketize_duration(span_seconds: u64) -> u64 {
    let est = span_seconds
        .saturating_add(V1_SCAN_INTERVAL_SECONDS)
        .min(u64::MAX - 300);
    let rem = est % 300;
    if rem <= 150 {
        est - rem
    } else {
        est - rem + 300
    }
}

/// Time-weighted attenuation over `(time, attenuation)` points sorted by time: each point
/// holds until the next, the first and last are extended by half the scan interval.
/// Returns the rounded mean and the seconds below, between and at or above `thresholds`.
pub fn v1_time_weighted_attenuation(
    points: &[(u64, u8)],
    scan_interval: u64,
    thresholds: [u8; 2],
) -> (u8, [u64; 3]) {
    let mut num = 0u128;
    let mut den = 0u128;
    let mut durations = [0u64; 3];
    for (i, &(t, a)) in points.iter().enumerate() {
        let mut weight = points
            .get(i + 1)
            .map_or(scan_interval / 2, |&(next, _)| next - t);
        if i == 0 {
            weight = weight.saturating_add(scan_interval / 2);
        }
        num += u128::from(weight) * u128::from(a);
        den += u128::from(weight);
        let bucket = if a < thresholds[0] {
            0
        } else if a < thresholds[1] {
            1
        } else {
            2
        };
        durations[bucket] = durations[bucket].saturating_add(weight);
    }
    let mean = if den == 0 {
        0
    } else {
        (num * 2 + den) / (den * 2)
    };
    (u8::try_from(mean).unwrap_or(u8::MAX), durations)
}

/// Breakdown of one v1 risk score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct V1RiskScore {
    /// Attenuation, days, duration buckets.
    pub buckets: [usize; 3],
    /// Attenuation, days, duration, transmission scores.
    pub scores: [u8; 4],
    /// The product.
    pub raw_product: u32,
    /// The product, or 0 below the minimum risk score.
    pub risk_score: u32,
}

impl ExposureConfiguration {
    /// attenuationScore × daysScore × durationScore × transmissionScore, 0 below the minimum.
    /// Transmission risk level 0 scores 1 (Android's behaviour, COCOA issue #14).
    pub fn risk_score(
        &self,
        attenuation: u8,
        bucketized_duration_minutes: u32,
        days_since_exposure: u32,
        transmission_risk_level: i32,
    ) -> V1RiskScore {
        let buckets = [
            v1_attenuation_bucket(attenuation),
            v1_days_bucket(days_since_exposure),
            v1_duration_bucket(bucketized_duration_minutes),
        ];
        let transmission = match usize::try_from(transmission_risk_level) {
            Ok(level @ 1..=8) => self.transmission_risk_scores[level - 1],
            _ => 1,
        };
        let scores = [
            self.attenuation_scores[buckets[0]],
            self.days_since_last_exposure_scores[buckets[1]],
            self.duration_scores[buckets[2]],
            transmission,
        ];
        let raw_product = scores.iter().map(|&s| u32::from(s)).product();
        let risk_score = if raw_product < self.minimum_risk_score {
            0
        } else {
            raw_product
        };
        V1RiskScore {
            buckets,
            scores,
            raw_product,
            risk_score,
        }
    }
}

/// One v1 exposure (ExposureInformation).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct ExposureInformation {
    /// Start of the UTC day, UNIX seconds.
    pub date: u64,
    /// First and last scan of the exposure.
    pub first_time: u64,
    /// Last scan time.
    pub last_time: u64,
    /// Bucketized duration, minutes.
    pub duration_minutes: u32,
    /// Time-weighted attenuation, dB.
    pub attenuation_value: u8,
    /// Seconds below, between and above the thresholds.
    pub attenuation_durations_seconds: [u64; 3],
    /// Transmission risk level of the key.
    pub transmission_risk_level: i32,
    /// The risk score breakdown.
    pub risk: V1RiskScore,
}

/// Aggregates of all v1 exposures (ExposureSummary).
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct ExposureSummary {
    /// Keys with at least one exposure.
    pub matched_key_count: usize,
    /// Days since the most recent exposure (0 when none).
    pub days_since_last_exposure: u32,
    /// Highest risk score.
    pub maximum_risk_score: u32,
    /// Sum of risk scores.
    pub summation_risk_score: u32,
    /// Summed attenuation durations.
    pub attenuation_durations_seconds: [u64; 3],
}

/// Points `(time, strongest attenuation)` of a key: sightings ≤ 25.5 s apart form one scan.
fn v1_scans(m: &KeyMatch) -> Vec<(u64, u8)> {
    let mut scans: Vec<(u64, u8)> = Vec::new();
    let mut last: Option<u64> = None;
    for s in &m.sightings {
        match (scans.last_mut(), last) {
            (Some(scan), Some(prev))
                if (s.time - prev).saturating_mul(10) <= SAME_SCAN_GAP_DECISECONDS =>
            {
                scan.1 = scan.1.min(s.attenuation);
            }
            _ => scans.push((s.time, s.attenuation)),
        }
        last = Some(s.time);
    }
    scans
}

/// Splits a key's scans into runs with gaps ≤ 600 s.
fn v1_runs(m: &KeyMatch) -> Vec<Vec<(u64, u8)>> {
    let mut runs: Vec<Vec<(u64, u8)>> = Vec::new();
    for scan in v1_scans(m) {
        match runs.last_mut() {
            Some(run)
                if run
                    .last()
                    .is_some_and(|&(t, _)| scan.0 - t <= V1_MAX_GAP_SECONDS) =>
            {
                run.push(scan);
            }
            _ => runs.push(vec![scan]),
        }
    }
    runs
}

impl ExposureConfiguration {
    /// The v1 exposures of all matches, with risk scores relative to `now`.
    pub fn exposures(&self, matches: &[KeyMatch], now: u64) -> Vec<ExposureInformation> {
        let mut out = Vec::new();
        for m in matches {
            for run in v1_runs(m) {
                let (first, last) = match (run.first(), run.last()) {
                    (Some(f), Some(l)) => (f.0, l.0),
                    _ => continue,
                };
                let duration = v1_bucketize_duration(last - first);
                let (attenuation_value, durations) = v1_time_weighted_attenuation(
                    &run,
                    V1_SCAN_INTERVAL_SECONDS,
                    self.duration_at_attenuation_thresholds,
                );
                let date = utc_day_start(first);
                let days = u32::try_from(utc_day_start(now).saturating_sub(date) / SECONDS_PER_DAY)
                    .unwrap_or(u32::MAX);
                let minutes = u32::try_from(duration / 60).unwrap_or(u32::MAX);
                out.push(ExposureInformation {
                    date,
                    first_time: first,
                    last_time: last,
                    duration_minutes: minutes,
                    attenuation_value,
                    attenuation_durations_seconds: durations,
                    transmission_risk_level: m.key.transmission_risk_level,
                    risk: self.risk_score(
                        attenuation_value,
                        minutes,
                        days,
                        m.key.transmission_risk_level,
                    ),
                });
            }
        }
        out.sort_by_key(|e| e.first_time);
        out
    }

    /// The ExposureSummary of a list of exposures.
    pub fn summary(
        &self,
        exposures: &[ExposureInformation],
        matched_keys: usize,
        now: u64,
    ) -> ExposureSummary {
        let mut summary = ExposureSummary {
            matched_key_count: matched_keys,
            ..Default::default()
        };
        if let Some(latest) = exposures.iter().map(|e| e.date).max() {
            summary.days_since_last_exposure =
                u32::try_from(utc_day_start(now).saturating_sub(latest) / SECONDS_PER_DAY)
                    .unwrap_or(u32::MAX);
        }
        for e in exposures {
            summary.maximum_risk_score = summary.maximum_risk_score.max(e.risk.risk_score);
            summary.summation_risk_score += e.risk.risk_score;
            for (acc, d) in summary
                .attenuation_durations_seconds
                .iter_mut()
                .zip(e.attenuation_durations_seconds)
            {
                *acc += d;
            }
        }
        summary
    }
}

// ---------------------------------------------------------------------------------------
// Corona-Warn-App (rule before app 1.5)
// ---------------------------------------------------------------------------------------

/// The Corona-Warn-App risk rule of cwa-risk-assessment.md (before app 1.5, October 2020).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub struct CwaConfig {
    /// Scores for transmission risk levels 1..8 (level 0 scores 1).
    pub transmission_risk_scores: [u8; 8],
    /// Scores for days-since-exposure buckets 0..7.
    pub days_since_last_exposure_scores: [u8; 8],
    /// Encounter sets with a lower risk score are discarded.
    pub minimum_risk_score: u32,
    /// Encounter sets shorter than this are discarded (seconds).
    pub minimum_encounter_seconds: u64,
    /// Encounter sets with a higher mean attenuation are discarded (dB).
    pub maximum_average_attenuation_db: u8,
    /// Time below `[0]` dB counts with weight `[0]`, up to and including `[1]` dB with
    /// weight `[1]`, above with weight `[2]`.
    pub attenuation_thresholds_db: [u8; 2],
    /// Weights of the three attenuation ranges.
    pub attenuation_weights: [f64; 3],
    /// Weighted minutes are multiplied by max risk score / this.
    pub normalization_divisor: f64,
    /// Notify at or above this many normalized minutes.
    pub high_risk_minutes: f64,
}

/// One CWA encounter set (one key, one UTC day).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct CwaEncounter {
    /// Start of the UTC day.
    pub date: u64,
    /// Total seconds.
    pub seconds: u64,
    /// Time-weighted mean attenuation.
    pub average_attenuation_db: u8,
    /// TRL score × days score.
    pub risk_score: u32,
    /// Weighted seconds (full / half / none).
    pub weighted_seconds: f64,
    /// Whether the set passed the gates.
    pub counted: bool,
}

/// The CWA result.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct CwaResult {
    /// All encounter sets.
    pub encounters: Vec<CwaEncounter>,
    /// Σ weighted minutes of counted sets.
    pub weighted_minutes: f64,
    /// Highest risk score among counted sets.
    pub maximum_risk_score: u32,
    /// weighted minutes × maximum risk score / divisor.
    pub normalized_minutes: f64,
    /// Whether normalized minutes reach the threshold.
    pub high_risk: bool,
}

impl CwaConfig {
    /// Applies the rule to all matches.
    pub fn assess(&self, matches: &[KeyMatch], now: u64) -> CwaResult {
        let mut encounters = Vec::new();
        for m in matches {
            let mut by_day: BTreeMap<u64, Vec<Vec<(u64, u8)>>> = BTreeMap::new();
            for run in v1_runs(m) {
                if let Some(&(t, _)) = run.first() {
                    by_day.entry(utc_day_start(t)).or_default().push(run);
                }
            }
            for (date, runs) in by_day {
                let mut seconds = 0u64;
                let mut weighted_att = 0u64;
                let mut weighted = 0.0;
                for run in &runs {
                    let (mean, _) =
                        v1_time_weighted_attenuation(run, V1_SCAN_INTERVAL_SECONDS, [0, 0]);
                    let total = (run.last().map_or(0, |l| l.0) - run[0].0)
                        .saturating_add(V1_SCAN_INTERVAL_SECONDS);
                    seconds = seconds.saturating_add(total);
                    weighted_att =
                        weighted_att.saturating_add(total.saturating_mul(u64::from(mean)));
                    let t = self.attenuation_thresholds_db;
                    let (_, d) = v1_time_weighted_attenuation(
                        run,
                        V1_SCAN_INTERVAL_SECONDS,
                        [t[0], t[1].saturating_add(1)],
                    );
                    weighted += d
                        .iter()
                        .zip(self.attenuation_weights)
                        .map(|(&s, w)| s as f64 * w)
                        .sum::<f64>();
                }
                let average =
                    u8::try_from((weighted_att + seconds / 2) / seconds.max(1)).unwrap_or(u8::MAX);
                let days = u32::try_from(utc_day_start(now).saturating_sub(date) / SECONDS_PER_DAY)
                    .unwrap_or(u32::MAX);
                let trl = match usize::try_from(m.key.transmission_risk_level) {
                    Ok(level @ 1..=8) => self.transmission_risk_scores[level - 1],
                    _ => 1,
                };
                let risk_score = u32::from(trl)
                    * u32::from(self.days_since_last_exposure_scores[v1_days_bucket(days)]);
                let counted = seconds >= self.minimum_encounter_seconds
                    && average <= self.maximum_average_attenuation_db
                    && risk_score >= self.minimum_risk_score;
                encounters.push(CwaEncounter {
                    date,
                    seconds,
                    average_attenuation_db: average,
                    risk_score,
                    weighted_seconds: weighted,
                    counted,
                });
            }
        }
        let counted = encounters.iter().filter(|e| e.counted);
        let weighted_minutes = counted.clone().map(|e| e.weighted_seconds).sum::<f64>() / 60.0;
        let maximum_risk_score = counted.map(|e| e.risk_score).max().unwrap_or(0);
        let normalized_minutes =
            weighted_minutes * f64::from(maximum_risk_score) / self.normalization_divisor;
        CwaResult {
            encounters,
            weighted_minutes,
            maximum_risk_score,
            normalized_minutes,
            high_risk: normalized_minutes >= self.high_risk_minutes,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Presets and the combined assessment
// ---------------------------------------------------------------------------------------

/// A risk configuration: v2 (COCOA 2.x style), v1 (COCOA 1.x) or the CWA rule.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
pub enum RiskConfig {
    /// v2 scoring with a daily threshold rule.
    V2(V2Config),
    /// v1 scoring: high risk when any exposure reaches the minimum risk score.
    V1(ExposureConfiguration),
    /// The Corona-Warn-App rule.
    Cwa(CwaConfig),
}

/// Names accepted by [`RiskConfig::preset`].
pub const PRESET_NAMES: [&str; 3] = ["cocoa-v2", "cocoa-v1", "cwa"];

impl RiskConfig {
    /// COCOA 2.x (since 2022-01-21): thresholds [46, 60, 65], weights [1.0, 2.5, 1.3, 0.01],
    /// days −3…+10 HIGH, missing onset HIGH, missing report type CONFIRMED_TEST; high risk iff
    /// ScoreSum ≥ 1350 and seconds ≥ 900.
    pub fn cocoa_v2() -> Self {
        let infectiousness = (-14..=14)
            .map(|d| {
                (
                    d,
                    if (-3..=10).contains(&d) {
                        Infectiousness::High
                    } else {
                        Infectiousness::None
                    },
                )
            })
            .collect();
        Self::V2(V2Config {
            daily_summaries_config: DailySummariesConfig {
                attenuation_bucket_threshold_db: [46, 60, 65],
                attenuation_bucket_weights: [1.0, 2.5, 1.3, 0.01],
                report_type_weights: ReportTypeWeights {
                    confirmed_test: 1.0,
                    confirmed_clinical_diagnosis: 1.0,
                    self_report: 1.0,
                    recursive: 1.0,
                },
                infectiousness_weights: InfectiousnessWeights {
                    standard: 1.0,
                    high: 1.0,
                },
                days_since_exposure_threshold: 0,
                minimum_window_score: 0.0,
            },
            diagnosis_keys_data_mapping: DiagnosisKeysDataMapping {
                infectiousness_for_days_since_onset_of_symptoms: infectiousness,
                infectiousness_when_days_since_onset_missing: Infectiousness::High,
                report_type_when_missing: ReportType::ConfirmedTest,
            },
            rule: DailyThresholdRule {
                minimum_score_sum: 1350.0,
                minimum_seconds_since_last_scan_sum: 900,
            },
        })
    }

    /// COCOA 1.x (Configration.json): minimum risk score 21, attenuation scores 1..8,
    /// days all 1, duration [0,0,0,0,1,1,1,1], transmission [0,0,7,7,7,7,7,7], thresholds [50, 70].
    pub fn cocoa_v1() -> Self {
        Self::V1(ExposureConfiguration {
            minimum_risk_score: 21,
            attenuation_scores: [1, 2, 3, 4, 5, 6, 7, 8],
            days_since_last_exposure_scores: [1; 8],
            duration_scores: [0, 0, 0, 0, 1, 1, 1, 1],
            transmission_risk_scores: [0, 0, 7, 7, 7, 7, 7, 7],
            duration_at_attenuation_thresholds: [50, 70],
        })
    }

    /// Corona-Warn-App before 1.5: sets < 10 min or > 73 dB dropped; risk = TRL score (1..8) ×
    /// days score (5); minimum 11; < 55 dB full, 55–63 dB half; × max risk / 25; ≥ 15 min.
    pub fn cwa() -> Self {
        Self::Cwa(CwaConfig {
            transmission_risk_scores: [1, 2, 3, 4, 5, 6, 7, 8],
            days_since_last_exposure_scores: [5; 8],
            minimum_risk_score: 11,
            minimum_encounter_seconds: 600,
            maximum_average_attenuation_db: 73,
            attenuation_thresholds_db: [55, 63],
            attenuation_weights: [1.0, 0.5, 0.0],
            normalization_divisor: 25.0,
            high_risk_minutes: 15.0,
        })
    }

    /// A preset by name: `cocoa-v2`, `cocoa-v1` or `cwa`.
    pub fn preset(name: &str) -> Option<Self> {
        match name {
            "cocoa-v2" => Some(Self::cocoa_v2()),
            "cocoa-v1" => Some(Self::cocoa_v1()),
            "cwa" => Some(Self::cwa()),
            _ => None,
        }
    }

    /// Scores matches and windows and decides.
    pub fn assess(&self, matches: &[KeyMatch], windows: &[ExposureWindow], now: u64) -> Assessment {
        match self {
            Self::V2(c) => {
                let daily = c.daily_summaries_config.daily_summaries(
                    &c.diagnosis_keys_data_mapping,
                    windows,
                    now,
                );
                let high: Vec<u64> = daily
                    .iter()
                    .filter(|d| c.rule.is_high_risk(d))
                    .map(|d| d.date)
                    .collect();
                Assessment {
                    high_risk: !high.is_empty(),
                    high_risk_dates: high,
                    daily_summaries: daily,
                    exposures: Vec::new(),
                    exposure_summary: None,
                    cwa: None,
                }
            }
            Self::V1(c) => {
                let exposures = c.exposures(matches, now);
                let summary = c.summary(&exposures, matches.len(), now);
                let high: Vec<u64> = exposures
                    .iter()
                    .filter(|e| e.risk.risk_score > 0)
                    .map(|e| e.date)
                    .collect();
                let mut high_dates = high;
                high_dates.dedup();
                Assessment {
                    high_risk: summary.maximum_risk_score > 0,
                    high_risk_dates: high_dates,
                    daily_summaries: Vec::new(),
                    exposures,
                    exposure_summary: Some(summary),
                    cwa: None,
                }
            }
            Self::Cwa(c) => {
                let result = c.assess(matches, now);
                let dates = result
                    .encounters
                    .iter()
                    .filter(|e| e.counted && result.high_risk)
                    .map(|e| e.date)
                    .collect();
                Assessment {
                    high_risk: result.high_risk,
                    high_risk_dates: dates,
                    daily_summaries: Vec::new(),
                    exposures: Vec::new(),
                    exposure_summary: None,
                    cwa: Some(result),
                }
            }
        }
    }
}

/// The outcome of [`RiskConfig::assess`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize))]
pub struct Assessment {
    /// The decision.
    pub high_risk: bool,
    /// The days (UTC day starts) that made it high risk.
    pub high_risk_dates: Vec<u64>,
    /// v2 daily summaries (v2 configurations only).
    pub daily_summaries: Vec<DailySummary>,
    /// v1 exposures (v1 configurations only).
    pub exposures: Vec<ExposureInformation>,
    /// v1 summary (v1 configurations only).
    pub exposure_summary: Option<ExposureSummary>,
    /// CWA details (CWA configuration only).
    pub cwa: Option<CwaResult>,
}
