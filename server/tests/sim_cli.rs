//! `mimamori sim replay` and `mimamori sim calibrate` of the real binary on the DP-3T
//! measurement databases in shared/data.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

fn dp3t(path: &str) -> String {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/dp3t-bt-measurements"
    ))
    .join(path)
    .display()
    .to_string()
}

fn mimamori(args: &[&str]) -> Output {
    support::mimamori().args(args).output().unwrap()
}

fn ok(args: &[&str]) -> Output {
    let out = mimamori(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn replay_writes_report_csv_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("replay");
    let lunch = dp3t("exp34-epfl-soldiers/scenario01-lunch.sqlite");
    let party = dp3t("exp34-epfl-soldiers/scenario05-party.sqlite");
    let out = ok(&[
        "sim",
        "replay",
        "--dp3t",
        &lunch,
        &party,
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let table = String::from_utf8(out.stdout).unwrap();
    for name in [
        "cocoa-v2",
        "cocoa-v1",
        "cwa",
        "attenuation",
        "per-beacon RSSI AUC",
    ] {
        assert!(table.contains(name), "{name} missing in\n{table}");
    }
    let report: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["scenarios"].as_array().unwrap().len(), 2);
    let windows = report["windows"].as_array().unwrap().len();
    assert!(windows > 100, "{windows} windows");
    let auc = report["per_beacon"][0]["auc"].as_f64().unwrap();
    assert!((0.55..0.85).contains(&auc), "{auc}");
    let csv = std::fs::read_to_string(out_dir.join("windows.csv")).unwrap();
    assert_eq!(csv.lines().count(), windows + 1);
    assert!(csv.starts_with("scenario,receiver,transmitter,"));
    let results = std::fs::read_to_string(out_dir.join("results.csv")).unwrap();
    assert_eq!(results.lines().count(), 1 + 4 * 2);
    for svg in ["roc-1.5m.svg", "roc-2m.svg", "attenuation-vs-distance.svg"] {
        let text = std::fs::read_to_string(out_dir.join(svg)).unwrap();
        assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"));
    }
}

#[test]
fn replay_accepts_a_custom_preset_file() {
    let dir = tempfile::tempdir().unwrap();
    let custom = dir.path().join("strict.json");
    // CWA with a stricter attenuation cut-off, as a RiskConfig JSON document.
    std::fs::write(
        &custom,
        r#"{"kind":"cwa","transmission_risk_scores":[1,2,3,4,5,6,7,8],
            "days_since_last_exposure_scores":[5,5,5,5,5,5,5,5],"minimum_risk_score":11,
            "minimum_encounter_seconds":600,"maximum_average_attenuation_db":55,
            "attenuation_thresholds_db":[50,55],"attenuation_weights":[1.0,0.5,0.0],
            "normalization_divisor":25.0,"high_risk_minutes":15.0}"#,
    )
    .unwrap();
    let out = ok(&[
        "sim",
        "replay",
        "--dp3t",
        &dp3t("exp34-epfl-soldiers/scenario05-party.sqlite"),
        "--preset",
        "cwa",
        "--preset",
        custom.to_str().unwrap(),
        "--json",
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cwa", "strict", "attenuation"]);
    // The stricter rule never notifies more pairs than the original.
    let notified = |i: usize| {
        report["windows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["notified"][i].as_bool().unwrap())
            .count()
    };
    assert!(notified(1) <= notified(0));
}

#[test]
fn calibrate_writes_radio_toml_that_parses_back() {
    let dir = tempfile::tempdir().unwrap();
    let toml_path = dir.path().join("radio.toml");
    let mitll = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/mitll-ble-rssi-static"
    ));
    let courtyard = mitll.join("courtyard-2020-05-05");
    let conference = mitll.join("conference-room-2020-05-05");
    let out = ok(&[
        "sim",
        "calibrate",
        "--dp3t",
        &dp3t("exp05-epfl-soldiers/scenario03-office.sqlite"),
        &dp3t("exp05-epfl-soldiers/scenario04-queue.sqlite"),
        "--mitll",
        courtyard.to_str().unwrap(),
        conference.to_str().unwrap(),
        "--out",
        toml_path.to_str().unwrap(),
    ]);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("scenario03-office") && table.contains("pooled"));
    assert!(table.contains("table carriage") && table.contains("body blocking (MIT LL)"));
    let params =
        mimamori_ble_sim::radio::RadioParams::from_toml_file(PathBuf::from(&toml_path).as_path())
            .unwrap();
    assert!((-90.0..-70.0).contains(&params.reference_rssi_dbm));
    assert!((0.5..2.5).contains(&params.path_loss_exponent));
    assert!(params.orientation_extra_db.outdoor > 10.0);

    // The written file drives --simulate-radio.
    let out = ok(&[
        "sim",
        "replay",
        "--dp3t",
        &dp3t("exp34-epfl-soldiers/scenario05-party.sqlite"),
        "--simulate-radio",
        toml_path.to_str().unwrap(),
        "--seed",
        "3",
        "--json",
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["scenarios"][0]
            .as_str()
            .unwrap()
            .ends_with("(simulated radio)")
    );
    assert!(report["windows"].as_array().unwrap().len() > 50);
}

#[test]
fn bad_inputs_fail_with_one_line() {
    let out = mimamori(&["sim", "replay", "--dp3t", "/nonexistent/file.sqlite"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("/nonexistent/file.sqlite"));
    let out = mimamori(&[
        "sim",
        "replay",
        "--dp3t",
        &dp3t("exp34-epfl-soldiers/scenario05-party.sqlite"),
        "--preset",
        "no-such-preset",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("no-such-preset")
    );
}

/// The sightings lines `mimamori sim scan` writes (`scan::SightingRecord`) are what
/// `mimamori match --sightings` reads: a record of Google's published test key matches it.
#[test]
fn scan_records_are_read_by_match() {
    use mimamori_ble_sim::scan::SightingRecord;
    use mimamori_crypto::interval::EnIntervalNumber;
    use mimamori_crypto::keys::Tek;
    use mimamori_crypto::matcher::Sighting;
    use mimamori_crypto::metadata::Metadata;

    // testExport-2-records-1-of-1.zip: key 172fc480…, TRL 8, rolling start 2649980, period 1.
    let tek = Tek::from_bytes(
        mimamori_crypto::hex::decode_array("172fc480e598490c34177604339b1543").unwrap(),
    );
    let interval = 2_649_980u32;
    let rpi = tek.rpik().rpi(EnIntervalNumber(interval));
    let aem = tek.aemk().encrypt(&rpi, Metadata::v1_0(-24).to_bytes());
    let t0 = u64::from(interval) * 600 + 30;
    let mut lines = String::new();
    for i in 0..5u64 {
        let record = SightingRecord::from_sighting(&Sighting {
            time: t0 + i * 240,
            rpi,
            aem,
            rssi: -80,
        });
        lines.push_str(&record.to_json_line());
        lines.push('\n');
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.jsonl");
    std::fs::write(&path, lines).unwrap();
    let zip = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/gaen-exports/testExport-2-records-1-of-1.zip"
    ));
    let out = ok(&[
        "match",
        "--exports",
        zip.to_str().unwrap(),
        "--sightings",
        path.to_str().unwrap(),
        "--rssi-correction",
        "5",
    ]);
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    let matches = result["matches"].as_array().unwrap();
    assert_eq!(matches.len(), 1, "{result}");
    assert_eq!(matches[0]["key_data"], "172fc480e598490c34177604339b1543");
    let seen = matches[0]["sightings"].as_array().unwrap();
    assert_eq!(seen.len(), 5);
    // attenuation = TX −24 − (RSSI −80 + correction 5) = 51 dB.
    assert!(seen.iter().all(|s| s["attenuation"] == 51), "{seen:?}");
}
