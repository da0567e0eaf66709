//! Scoring: the derived examples of gaen-test-vectors.json (loaded, not retyped) and
//! hand-checked cases of each preset.
#![allow(clippy::unwrap_used)]

mod common;

use common::vectors;
use mimamori_crypto::export::{DiagnosisKey, ReportType};
use mimamori_crypto::keys::Tek;
use mimamori_crypto::matcher::{ExposureWindow, KeyMatch, MatchedSighting, ScanInstance};
use mimamori_crypto::metadata::CalibrationConfidence;
use mimamori_crypto::scoring::{
    AttenuationBucket, ExposureConfiguration, RiskConfig, V2Config, v1_bucketize_duration,
    v1_time_weighted_attenuation,
};

fn arr8(v: &serde_json::Value) -> [u8; 8] {
    let items: Vec<u8> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| u8::try_from(x.as_u64().unwrap()).unwrap())
        .collect();
    items.try_into().unwrap()
}

fn u(v: &serde_json::Value) -> u32 {
    u32::try_from(v.as_u64().unwrap()).unwrap()
}

#[test]
fn v1_risk_score_examples() {
    let v = &vectors()["scoring_examples"]["v1_risk_score"];
    let c = &v["config_used"];
    let config = ExposureConfiguration {
        minimum_risk_score: u(&c["minimum_risk_score"]),
        attenuation_scores: arr8(&c["attenuation_scores"]),
        days_since_last_exposure_scores: arr8(&c["days_since_last_exposure_scores"]),
        duration_scores: arr8(&c["duration_scores"]),
        transmission_risk_scores: arr8(&c["transmission_risk_scores"]),
        duration_at_attenuation_thresholds: [50, 70],
    };
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for case in cases {
        let i = &case["input"];
        let o = &case["output"];
        let r = config.risk_score(
            u8::try_from(i["attenuation_db"].as_u64().unwrap()).unwrap(),
            u(&i["bucketized_duration_minutes"]),
            u(&i["days_since_exposure"]),
            i32::try_from(i["transmission_risk_level"].as_i64().unwrap()).unwrap(),
        );
        assert_eq!(
            r.buckets[0] as u64,
            o["attenuation_bucket"].as_u64().unwrap(),
            "{case}"
        );
        assert_eq!(
            r.buckets[2] as u64,
            o["duration_bucket"].as_u64().unwrap(),
            "{case}"
        );
        assert_eq!(
            r.buckets[1] as u64,
            o["days_bucket"].as_u64().unwrap(),
            "{case}"
        );
        // JSON order: attenuation, days, duration, transmission.
        let scores: Vec<u64> = o["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        assert_eq!(r.scores.map(u64::from).to_vec(), scores, "{case}");
        assert_eq!(u64::from(r.raw_product), o["raw_product"].as_u64().unwrap());
        assert_eq!(u64::from(r.risk_score), o["risk_score"].as_u64().unwrap());
    }
}

#[test]
fn v1_duration_bucketization() {
    for case in vectors()["scoring_examples"]["v1_duration_bucketization_5min"]
        .as_array()
        .unwrap()
    {
        assert_eq!(
            v1_bucketize_duration(case["sighted_span_seconds"].as_u64().unwrap()),
            case["bucketized_seconds"].as_u64().unwrap(),
            "{case}"
        );
    }
}

#[test]
fn v1_time_weighted_attenuation_example() {
    let v = &vectors()["scoring_examples"]["v1_time_weighted_attenuation"];
    let p = &v["published_example"];
    let points: Vec<(u64, u8)> = p["points_t_att"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pt| {
            (
                pt[0].as_u64().unwrap(),
                u8::try_from(pt[1].as_u64().unwrap()).unwrap(),
            )
        })
        .collect();
    let (value, durations) =
        v1_time_weighted_attenuation(&points, p["scan_interval"].as_u64().unwrap(), [4, 5]);
    assert_eq!(
        u64::from(value),
        v["recomputed"]["rounded"].as_u64().unwrap()
    );
    assert_eq!(
        durations.iter().sum::<u64>(),
        v["recomputed"]["denominator"].as_u64().unwrap()
    );
    assert_eq!(durations, [13, 40, 3]);
}

fn matched(time: u64, attenuation: u8) -> MatchedSighting {
    MatchedSighting {
        time,
        rpi_interval: u32::try_from(time / 600).unwrap(),
        rssi: -i16::from(attenuation),
        tx_power: 0,
        attenuation,
        calibration_confidence: CalibrationConfidence::Lowest,
    }
}

fn key_match(trl: i32, sightings: Vec<MatchedSighting>) -> KeyMatch {
    let mut key = DiagnosisKey::new(
        Tek::from_bytes([1; 16]),
        u32::try_from(sightings[0].time / 600 / 144 * 144).unwrap(),
    );
    key.transmission_risk_level = trl;
    KeyMatch { key, sightings }
}

#[test]
fn v2_scan_instance_aggregation_examples() {
    // typical = round(mean), min = min, through the matcher's window builder.
    let v = &vectors()["scoring_examples"]["v2_scan_instance_aggregation"];
    for example in v["examples"].as_array().unwrap() {
        let atts: Vec<u8> = example["attenuations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| u8::try_from(a.as_u64().unwrap()).unwrap())
            .collect();
        let t0 = 1_590_000_000u64;
        let sightings: Vec<MatchedSighting> = atts
            .iter()
            .enumerate()
            .map(|(i, &a)| matched(t0 + i as u64 * 5, a))
            .collect();
        let index = mimamori_crypto::matcher::SightingIndex::new(&[], 0);
        let windows = index.exposure_windows(&key_match(4, sightings));
        assert_eq!(windows.len(), 1);
        assert_eq!(windows[0].scan_instances.len(), 1);
        let s = windows[0].scan_instances[0];
        assert_eq!(
            u64::from(s.typical_attenuation_db),
            example["typical"].as_u64().unwrap(),
            "{example}"
        );
        assert_eq!(
            u64::from(s.min_attenuation_db),
            example["min"].as_u64().unwrap(),
            "{example}"
        );
        assert_eq!(s.seconds_since_last_scan, 120, "no earlier scan is known");
    }
}

fn cocoa_v2() -> V2Config {
    match RiskConfig::cocoa_v2() {
        RiskConfig::V2(c) => c,
        _ => unreachable!(),
    }
}

fn window(date: u64, scans: &[(u8, u32)]) -> ExposureWindow {
    ExposureWindow {
        date,
        start_time: date + 3600,
        report_type: ReportType::Unknown,
        days_since_onset_of_symptoms: None,
        transmission_risk_level: 0,
        calibration_confidence: CalibrationConfidence::Lowest,
        scan_instances: scans
            .iter()
            .map(|&(db, secs)| ScanInstance {
                typical_attenuation_db: db,
                min_attenuation_db: db,
                seconds_since_last_scan: secs,
            })
            .collect(),
    }
}

#[test]
fn v2_window_score_examples_with_the_cocoa_decision() {
    let v = &vectors()["scoring_examples"]["v2_window_score"];
    let used = &v["config_used"];
    let config = cocoa_v2();
    // The JSON's config is the COCOA v2 preset.
    let th: Vec<u64> = used["attenuation_bucket_threshold_db"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert_eq!(
        config
            .daily_summaries_config
            .attenuation_bucket_threshold_db
            .map(u64::from)
            .to_vec(),
        th
    );
    let w: Vec<f64> = used["attenuation_bucket_weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(
        config
            .daily_summaries_config
            .attenuation_bucket_weights
            .to_vec(),
        w
    );
    let date = 1_590_019_200; // a UTC midnight
    for case in v["cases"].as_array().unwrap() {
        let scans: Vec<(u8, u32)> = case["scan_instances_typical_db_and_seconds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (u8::try_from(p[0].as_u64().unwrap()).unwrap(), u(&p[1])))
            .collect();
        let out = &case["output"];
        let buckets: Vec<String> = scans
            .iter()
            .map(|&(db, _)| {
                match config.daily_summaries_config.bucket(db) {
                    AttenuationBucket::Immediate => "IMMEDIATE",
                    AttenuationBucket::Near => "NEAR",
                    AttenuationBucket::Medium => "MEDIUM",
                    AttenuationBucket::Other => "OTHER",
                }
                .to_owned()
            })
            .collect();
        let want: Vec<String> = out["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(buckets, want);
        let win = window(date, &scans);
        let score = config
            .daily_summaries_config
            .score_window(&config.diagnosis_keys_data_mapping, &win, date)
            .unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(
            close(
                score.weighted_duration,
                out["weighted_duration"].as_f64().unwrap()
            ),
            "{case}"
        );
        assert!(
            close(score.score, out["window_score"].as_f64().unwrap()),
            "{case}"
        );
        assert_eq!(
            u64::from(score.seconds_since_last_scan_sum),
            out["seconds_since_last_scan_sum"].as_u64().unwrap()
        );
        // Missing report type -> CONFIRMED_TEST, missing onset -> HIGH.
        assert_eq!(score.report_type, ReportType::ConfirmedTest);
        let assessment = RiskConfig::V2(config.clone()).assess(&[], &[win], date);
        assert_eq!(
            assessment.high_risk,
            out["cocoa_high_risk_if_only_window_that_day"]
                .as_bool()
                .unwrap(),
            "{case}"
        );
    }
}

#[test]
fn cocoa_v2_hand_checked() {
    let config = cocoa_v2();
    let date = 1_590_019_200;
    // Two windows on one day, 600 s each at 55 dB (NEAR, 2.5): 1500 + 1500 = 3000 >= 1350, 1200 s >= 900.
    let windows = [
        window(date, &[(55, 300), (55, 300)]),
        window(date, &[(55, 300), (55, 300)]),
    ];
    let a = RiskConfig::V2(config.clone()).assess(&[], &windows, date);
    assert!(a.high_risk);
    assert_eq!(a.high_risk_dates, vec![date]);
    assert!((a.daily_summaries[0].day_summary.score_sum - 3000.0).abs() < 1e-9);
    assert!((a.daily_summaries[0].day_summary.maximum_score - 1500.0).abs() < 1e-9);
    // The same windows on two different days: neither day reaches 900 s.
    let split = [
        window(date, &[(55, 300), (55, 300)]),
        window(date + 86_400, &[(55, 300), (55, 300)]),
    ];
    assert!(
        !RiskConfig::V2(config.clone())
            .assess(&[], &split, date + 86_400)
            .high_risk
    );
    // Days since onset 11 maps to NONE: the window is dropped.
    let mut late = window(date, &[(50, 300); 6]);
    late.days_since_onset_of_symptoms = Some(11);
    let a = RiskConfig::V2(config.clone()).assess(&[], &[late.clone()], date);
    assert!(!a.high_risk);
    late.days_since_onset_of_symptoms = Some(-3);
    assert!(
        RiskConfig::V2(config.clone())
            .assess(&[], &[late.clone()], date)
            .high_risk
    );
    // REVOKED windows never score.
    late.report_type = ReportType::Revoked;
    assert!(!RiskConfig::V2(config).assess(&[], &[late], date).high_risk);
}

#[test]
fn cocoa_v1_hand_checked() {
    let config = RiskConfig::cocoa_v1();
    let t0 = 1_590_019_200 + 3600;
    // 20 minutes of scans every 5 min at 55 dB: span 1200 -> 1500 s = 25 min (bucket 5, score 1),
    // attenuation bucket 2 (score 3), TRL 4 -> 7: 3 x 1 x 1 x 7 = 21 >= 21.
    let sightings: Vec<MatchedSighting> = (0..5).map(|i| matched(t0 + i * 300, 55)).collect();
    let a = config.assess(&[key_match(4, sightings.clone())], &[], t0);
    assert!(a.high_risk);
    assert_eq!(a.exposures.len(), 1);
    assert_eq!(a.exposures[0].duration_minutes, 25);
    assert_eq!(a.exposures[0].attenuation_value, 55);
    assert_eq!(a.exposures[0].risk.risk_score, 21);
    assert_eq!(
        a.exposure_summary
            .as_ref()
            .unwrap()
            .attenuation_durations_seconds,
        [0, 1500, 0]
    );
    // TRL 2 scores 0 in COCOA's table, and TRL 0 scores 1 (issue #14): never 21.
    assert!(
        !config
            .assess(&[key_match(2, sightings.clone())], &[], t0)
            .high_risk
    );
    assert!(
        !config
            .assess(&[key_match(0, sightings.clone())], &[], t0)
            .high_risk
    );
    // 64 dB falls into attenuation bucket 1 (score 2): 14 < 21.
    let far: Vec<MatchedSighting> = (0..5).map(|i| matched(t0 + i * 300, 64)).collect();
    assert!(!config.assess(&[key_match(4, far)], &[], t0).high_risk);
    // 10 minutes only (duration bucket 3 scores 0).
    assert!(
        !config
            .assess(&[key_match(4, sightings[..2].to_vec())], &[], t0)
            .high_risk
    );
}

#[test]
fn cwa_hand_checked() {
    let config = RiskConfig::cwa();
    let t0 = 1_590_019_200 + 3600;
    // 20 minutes (span 900 + 300) at 50 dB, TRL 8: risk 8 x 5 = 40; 20 min x 40 / 25 = 32 >= 15.
    let near: Vec<MatchedSighting> = (0..4).map(|i| matched(t0 + i * 300, 50)).collect();
    let a = config.assess(&[key_match(8, near.clone())], &[], t0);
    let cwa = a.cwa.as_ref().unwrap();
    assert!((cwa.weighted_minutes - 20.0).abs() < 1e-9);
    assert_eq!(cwa.maximum_risk_score, 40);
    assert!((cwa.normalized_minutes - 32.0).abs() < 1e-9);
    assert!(a.high_risk);
    // The same time at 60 dB counts half: 10 min x 40 / 25 = 16 -> still high; TRL 2 (risk 10 < 11) is dropped.
    let mid: Vec<MatchedSighting> = (0..4).map(|i| matched(t0 + i * 300, 60)).collect();
    let a = config.assess(&[key_match(8, mid.clone())], &[], t0);
    assert!((a.cwa.as_ref().unwrap().normalized_minutes - 16.0).abs() < 1e-9);
    assert!(!config.assess(&[key_match(2, mid)], &[], t0).high_risk);
    // Too far (74 dB average) and too short (5 min) sets are discarded.
    let far: Vec<MatchedSighting> = (0..4).map(|i| matched(t0 + i * 300, 74)).collect();
    assert!(!config.assess(&[key_match(8, far)], &[], t0).high_risk);
    assert!(
        !config
            .assess(&[key_match(8, near[..1].to_vec())], &[], t0)
            .high_risk
    );
    // TRL 3 (risk 15), 20 min at 50 dB: 20 x 15 / 25 = 12 < 15.
    assert!(!config.assess(&[key_match(3, near)], &[], t0).high_risk);
}

#[test]
fn presets_by_name_and_json_round_trip() {
    for name in mimamori_crypto::scoring::PRESET_NAMES {
        let preset = RiskConfig::preset(name).unwrap();
        let json = serde_json::to_string(&preset).unwrap();
        let back: RiskConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, preset, "{name}");
    }
    assert!(RiskConfig::preset("nope").is_none());
    cocoa_v2().daily_summaries_config.validate().unwrap();
}
