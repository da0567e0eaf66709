//! COCOA's configuration files, rendered from the configured risk presets: the app fetches
//! `{exposureConfigurationUrlBase}/exposure_configuration/configuration.json` and
//! `…/risk_calculation_configuration.json` (cocoa-mhlw/cocoa
//! `Repository/ServerConfigurationRepository.cs`; field names of
//! `documents/static/exposure_configuration/*.json` and `Model/ExposureRiskCalculationConfiguration.cs`
//! at 19bb840727f290863c6af88852e3e2981d1b441e).
//!
//! One source of truth: the Google v2 parts, Apple's v2 weights and the daily threshold rule
//! come from a v2 [`RiskConfig`] preset, the legacy v1 parts (Google v1 and Apple v1) from a
//! v1 preset. COCOA's own file has two transmission tables that disagree (`[7; 8]` for Google
//! v1, `[0,0,7,…]` for Apple v1); both are served from the one v1 table here.

use mimamori_crypto::export::ReportType;
use mimamori_crypto::scoring::{ExposureConfiguration, Infectiousness, RiskConfig, V2Config};
use serde_json::{Map, Value, json};

/// The two presets the files are rendered from.
#[derive(Debug, Clone)]
pub struct CocoaPresets {
    /// The v2 (daily summaries) configuration.
    pub v2: V2Config,
    /// The v1 (legacy) configuration.
    pub v1: ExposureConfiguration,
}

impl CocoaPresets {
    /// The presets named in the configuration; an error says which name is wrong.
    pub fn from_names(v2: &str, v1: &str) -> Result<CocoaPresets, String> {
        let v2 = match RiskConfig::preset(v2) {
            Some(RiskConfig::V2(config)) => config,
            _ => {
                return Err(format!(
                    "key_server.cocoa.exposure_preset '{v2}' is not a v2 preset (use cocoa-v2)"
                ));
            }
        };
        let v1 = match RiskConfig::preset(v1) {
            Some(RiskConfig::V1(config)) => config,
            _ => {
                return Err(format!(
                    "key_server.cocoa.legacy_preset '{v1}' is not a v1 preset (use cocoa-v1)"
                ));
            }
        };
        Ok(CocoaPresets { v2, v1 })
    }
}

fn infectiousness_code(value: Infectiousness) -> u8 {
    value as u8
}

fn report_type_code(value: ReportType) -> i32 {
    value as i32
}

fn infectiousness_map(config: &V2Config) -> Value {
    let mapping = &config.diagnosis_keys_data_mapping;
    let mut map = Map::new();
    for day in -14..=14 {
        let value = mapping
            .infectiousness_for_days_since_onset_of_symptoms
            .get(&day)
            .copied()
            .unwrap_or_default();
        map.insert(day.to_string(), json!(infectiousness_code(value)));
    }
    Value::Object(map)
}

/// `configuration.json` as COCOA's app deserializes it (Chino's `ExposureConfiguration`).
pub fn exposure_configuration(presets: &CocoaPresets) -> Value {
    let v1 = &presets.v1;
    let v2 = &presets.v2;
    let daily = &v2.daily_summaries_config;
    let mapping = &v2.diagnosis_keys_data_mapping;
    let missing = infectiousness_code(mapping.infectiousness_when_days_since_onset_missing);
    let report_type_missing = report_type_code(mapping.report_type_when_missing);
    let weights = daily.attenuation_bucket_weights;
    let percent = |w: f64| (w * 100.0 * 1000.0).round() / 1000.0;
    json!({
        "google_exposure_config": {
            "attenuation_scores": v1.attenuation_scores,
            "attenuation_weight": 50,
            "days_since_last_exposure_scores": v1.days_since_last_exposure_scores,
            "days_since_last_exposure_weight": 50,
            "duration_at_attenuation_thresholds": v1.duration_at_attenuation_thresholds,
            "duration_scores": v1.duration_scores,
            "duration_weight": 50,
            "minimum_risk_score": v1.minimum_risk_score,
            "transmission_risk_scores": v1.transmission_risk_scores,
            "transmission_risk_weight": 50,
        },
        "google_diagnosis_keys_data_mapping_config": {
            "infectiousness_when_days_since_onset_missing": missing,
            "report_type_when_missing": report_type_missing,
            "infectiousness_for_days_since_onset_of_symptoms": infectiousness_map(v2),
        },
        "google_daily_summaries_config": {
            "attenuation_bucket_threshold_db": daily.attenuation_bucket_threshold_db,
            "attenuation_bucket_weights": weights,
            "days_since_exposure_threshold": daily.days_since_exposure_threshold,
            "infectiousness_weights": {
                "High": daily.infectiousness_weights.high,
                "Standard": daily.infectiousness_weights.standard,
            },
            "minimum_window_score": daily.minimum_window_score,
            "report_type_weights": {
                "ConfirmedClinicalDiagnosis": daily.report_type_weights.confirmed_clinical_diagnosis,
                "ConfirmedTest": daily.report_type_weights.confirmed_test,
                "SelfReport": daily.report_type_weights.self_report,
                "Recursive": daily.report_type_weights.recursive,
            },
        },
        "apple_exposure_config_v1": {
            "attenuation_level_values": v1.attenuation_scores,
            "days_since_last_exposure_level_values": v1.days_since_last_exposure_scores,
            "duration_level_values": v1.duration_scores,
            "transmission_risk_level_values": v1.transmission_risk_scores,
            "minimum_risk_score": v1.minimum_risk_score,
            "minimum_risk_score_full_range": 0.0,
        },
        "apple_exposure_config_v2": {
            "infectiousness_when_days_since_onset_missing": missing,
            "attenuation_duration_thresholds": daily.attenuation_bucket_threshold_db,
            "immediate_duration_weight": percent(weights[0]),
            "near_duration_weight": percent(weights[1]),
            "medium_duration_weight": percent(weights[2]),
            "other_duration_weight": percent(weights[3]),
            "DaysSinceLastExposureThreshold": daily.days_since_exposure_threshold,
            "infectiousness_for_days_since_onset_of_symptoms": infectiousness_map(v2),
            "infectiousness_high_weight": percent(daily.infectiousness_weights.high),
            "infectiousness_standard_weight": percent(daily.infectiousness_weights.standard),
            "report_type_confirmed_clinical_diagnosis_weight":
                percent(daily.report_type_weights.confirmed_clinical_diagnosis),
            "report_type_confirmed_test_weight": percent(daily.report_type_weights.confirmed_test),
            "report_type_recursive_weight": percent(daily.report_type_weights.recursive),
            "report_type_self_reported_weight": percent(daily.report_type_weights.self_report),
            "report_type_none_map": report_type_missing,
        },
    })
}

/// `risk_calculation_configuration.json`: the daily threshold rule as COCOA's conditions.
pub fn risk_calculation_configuration(presets: &CocoaPresets) -> Value {
    let rule = &presets.v2.rule;
    let nop = json!({"op": "NOP", "value": 0.0});
    json!({
        "format_version": 1,
        "DailySummary_DaySummary_ScoreSum": {"op": ">=", "value": rule.minimum_score_sum},
        "DailySummary_DaySummary_WeightedDurationAverage": nop,
        "ExposureWindow_ScanInstance_SecondsSinceLastScanSum": {
            "op": ">=",
            "value": f64::from(rule.minimum_seconds_since_last_scan_sum),
        },
        "ExposureWindow_ScanInstance_TypicalAttenuationDb_Max": nop,
        "ExposureWindow_ScanInstance_TypicalAttenuationDb_Min": nop,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_or_mismatched_presets_are_refused() {
        assert!(CocoaPresets::from_names("cocoa-v2", "cocoa-v1").is_ok());
        assert!(CocoaPresets::from_names("cocoa-v1", "cocoa-v1").is_err());
        assert!(CocoaPresets::from_names("cocoa-v2", "cwa").is_err());
        assert!(CocoaPresets::from_names("nope", "cocoa-v1").is_err());
    }
}

/// COCOA's operational event log (`PUT /api/v1/event_log`, the opt-in log the ministry
/// planned): the request as the app sends it (`Model/V1EventLogRequest.cs`), validated so
/// that nothing but the known event types with numeric content is kept.
pub mod event_log {
    use serde::Deserialize;
    use serde_json::Value;

    use crate::store::EventLogRecord;

    /// The request body.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct EventLogRequest {
        /// One GUID per submission; resends with it are no-ops.
        pub idempotency_key: String,
        /// `android` or `ios`.
        pub platform: String,
        /// The app's package name (checked, not stored).
        #[serde(default)]
        pub app_package_name: String,
        /// Device attestation (not checked, not stored).
        #[serde(default)]
        pub device_verification_payload: String,
        /// The entries.
        pub event_logs: Vec<EventLogEntry>,
    }

    /// One entry.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct EventLogEntry {
        /// Whether the user agreed to send it; entries without consent are dropped.
        pub has_consent: bool,
        /// The device's time of the event, Unix seconds.
        pub epoch: i64,
        /// Event type.
        #[serde(rename = "type")]
        pub event_type: String,
        /// Event subtype.
        pub subtype: String,
        /// Content (a JSON object).
        pub content: Value,
    }

    /// The (type, subtype) pairs COCOA sends (`Repository/SendEventLogStateRepository.cs`)
    /// and the content keys each may carry.
    const KNOWN: [(&str, &str, &[&str]); 2] = [
        (
            "ExposureNotification",
            "ExposureNotified",
            &["notifiedTimeInMillis"],
        ),
        (
            "survey",
            "survey",
            &["q1", "q2", "start_date", "exposure_data"],
        ),
    ];

    /// Largest content of one entry, compact JSON bytes.
    pub const MAX_CONTENT_BYTES: usize = 4096;

    /// Why a request was refused (400 with `code`).
    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    pub enum EventLogError {
        /// A field is missing, malformed or out of range.
        #[error("{0}")]
        Invalid(String),
    }

    /// No strings anywhere: free text could carry personal data, and COCOA's events have
    /// none (numbers, booleans, arrays and objects of them).
    fn numeric_only(value: &Value, depth: usize) -> bool {
        depth < 6
            && match value {
                Value::String(_) => false,
                Value::Array(items) => items.iter().all(|v| numeric_only(v, depth + 1)),
                Value::Object(map) => map.values().all(|v| numeric_only(v, depth + 1)),
                _ => true,
            }
    }

    /// The entries to store: consented, validated, with their ids.
    pub fn validate(
        request: &EventLogRequest,
        now_ms: i64,
        max_entries: usize,
    ) -> Result<Vec<EventLogRecord>, EventLogError> {
        let invalid = |m: String| Err(EventLogError::Invalid(m));
        let key = request.idempotency_key.trim();
        if key.is_empty() || key.len() > 128 {
            return invalid("idempotencyKey must have 1 to 128 characters".into());
        }
        let platform = request.platform.to_ascii_lowercase();
        if platform != "android" && platform != "ios" {
            return invalid("platform must be android or ios".into());
        }
        if request.app_package_name.len() > 256 {
            return invalid("appPackageName is too long".into());
        }
        if request.event_logs.is_empty() || request.event_logs.len() > max_entries {
            return invalid(format!("send 1 to {max_entries} eventLogs"));
        }
        let now_s = now_ms.div_euclid(1000);
        let mut records = Vec::new();
        for (index, entry) in request.event_logs.iter().enumerate() {
            let Some((_, _, keys)) = KNOWN
                .iter()
                .find(|(t, s, _)| *t == entry.event_type && *s == entry.subtype)
            else {
                return invalid(format!("eventLogs[{index}]: unknown type/subtype"));
            };
            if !(now_s - 30 * 86_400..=now_s + 86_400).contains(&entry.epoch) {
                return invalid(format!(
                    "eventLogs[{index}]: epoch is not within the last 30 days"
                ));
            }
            let Value::Object(content) = &entry.content else {
                return invalid(format!("eventLogs[{index}]: content must be an object"));
            };
            if let Some(unknown) = content.keys().find(|k| !keys.contains(&k.as_str())) {
                return invalid(format!(
                    "eventLogs[{index}]: content field '{unknown}' is not allowed"
                ));
            }
            if !numeric_only(&entry.content, 0) {
                return invalid(format!(
                    "eventLogs[{index}]: content may hold only numbers (no text)"
                ));
            }
            let compact = serde_json::to_string(&entry.content).unwrap_or_default();
            if compact.len() > MAX_CONTENT_BYTES {
                return invalid(format!("eventLogs[{index}]: content is too large"));
            }
            if !entry.has_consent {
                continue;
            }
            // COCOA's id: SHA-256 of the idempotency key and the entry's clear text
            // (`HasConsent.Epoch.Type.Subtype.content`).
            let clear = format!(
                "{key}True.{}.{}.{}.{compact}",
                entry.epoch, entry.event_type, entry.subtype
            );
            let digest = ring::digest::digest(&ring::digest::SHA256, clear.as_bytes());
            let mut id = [0u8; 32];
            id.copy_from_slice(digest.as_ref());
            records.push(EventLogRecord {
                id,
                received_at_ms: now_ms,
                platform: platform.clone(),
                event_type: entry.event_type.clone(),
                subtype: entry.subtype.clone(),
                epoch_s: entry.epoch,
                content: compact,
            });
        }
        Ok(records)
    }
}

/// COCOA's `GET /api/inquirylog` (`InquiryLogApi.cs`): the app, holding the inquiry-log API
/// key, asks for a short-lived grant to upload its zipped diagnostic log to Azure Blob
/// Storage, and gets `{"sas_token": …}`, a service SAS for the container with create-only
/// permission.
pub mod inquiry_log {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    /// The SAS version the token is signed for.
    pub const SAS_VERSION: &str = "2020-10-02";

    /// What a grant is made for.
    #[derive(Debug, Clone)]
    pub struct SasGrant<'a> {
        /// Storage account name.
        pub account: &'a str,
        /// The account key (base64, as Azure shows it).
        pub account_key: &'a str,
        /// The container the app uploads into.
        pub container: &'a str,
        /// Expiry, Unix seconds.
        pub expires_at_s: i64,
        /// `https` or `https,http`.
        pub protocol: &'a str,
    }

    fn iso8601(seconds: i64) -> String {
        time::OffsetDateTime::from_unix_timestamp(seconds)
            .ok()
            .and_then(|t| {
                t.format(time::macros::format_description!(
                    "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
                ))
                .ok()
            })
            .unwrap_or_default()
    }

    fn query_escape(value: &str) -> String {
        let mut out = String::with_capacity(value.len() * 3);
        for byte in value.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(char::from(byte));
                }
                other => out.push_str(&format!("%{other:02X}")),
            }
        }
        out
    }

    /// A service SAS for the container (`sr=c`) with create permission only (`sp=c`): the
    /// string to sign of SAS version 2020-10-02 (permissions, start, expiry, canonical
    /// resource, identifier, IP, protocol, version, resource, snapshot time and the five
    /// response headers), HMAC-SHA256 under the account key. `None` when the key is not
    /// base64.
    pub fn container_sas(grant: &SasGrant<'_>) -> Option<String> {
        let key = STANDARD.decode(grant.account_key.trim()).ok()?;
        let expiry = iso8601(grant.expires_at_s);
        let resource = format!("/blob/{}/{}", grant.account, grant.container);
        let string_to_sign = format!(
            "c\n\n{expiry}\n{resource}\n\n\n{}\n{SAS_VERSION}\nc\n\n\n\n\n\n",
            grant.protocol
        );
        let tag = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key),
            string_to_sign.as_bytes(),
        );
        Some(format!(
            "sv={SAS_VERSION}&se={}&sr=c&sp=c&spr={}&sig={}",
            query_escape(&expiry),
            query_escape(grant.protocol),
            query_escape(&STANDARD.encode(tag.as_ref()))
        ))
    }
}
