//! The crypto commands of the real `mimamori` binary: `en derive`, `export inspect|sign`,
//! `match` and `bench match`, on the published vectors and export files of shared/data.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

fn shared(path: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")).join(path)
}

fn export_fixture(name: &str) -> String {
    shared("gaen-exports").join(name).display().to_string()
}

fn mimamori(args: &[&str]) -> Output {
    support::mimamori().args(args).output().unwrap()
}

fn ok_stdout(args: &[&str]) -> String {
    let out = mimamori(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn ok_json(args: &[&str]) -> Value {
    serde_json::from_str(&ok_stdout(args)).unwrap()
}

fn vectors() -> Value {
    serde_json::from_str(&std::fs::read_to_string(shared("gaen-test-vectors.json")).unwrap())
        .unwrap()
}

#[test]
fn en_derive_reproduces_all_144_published_rpis_and_aems() {
    let v = &vectors()["crypto_test_vector_v1_2"];
    let start = v["en_interval_number_of_generated_key"].as_u64().unwrap();
    let stdout = ok_stdout(&[
        "en",
        "derive",
        "--tek",
        v["tek_hex"].as_str().unwrap(),
        "--interval",
        &start.to_string(),
        "--count",
        "144",
        "--metadata",
        v["ble_metadata_hex"].as_str().unwrap(),
    ]);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 144);
    for (line, want) in lines.iter().zip(v["intervals"].as_array().unwrap()) {
        assert_eq!(line["interval"], want["en_interval_number"]);
        assert_eq!(line["rpi"], want["rpi_hex"]);
        assert_eq!(line["aem"], want["aem_hex"]);
    }
    // Without metadata: no "aem"; the default count is 1.
    let single = ok_stdout(&[
        "en",
        "derive",
        "--tek",
        v["tek_hex"].as_str().unwrap(),
        "--interval",
        &start.to_string(),
    ]);
    let expected = format!(
        "{{\"interval\":{start},\"rpi\":\"{}\"}}\n",
        v["intervals"][0]["rpi_hex"].as_str().unwrap()
    );
    assert_eq!(single, expected);
    assert!(
        !mimamori(&["en", "derive", "--tek", "zz", "--interval", "1"])
            .status
            .success()
    );
}

#[test]
fn export_inspect_real_files_and_signatures() {
    let server_zip = export_fixture("testExport-2-records-1-of-1.zip");
    let public = export_fixture("public.pem");
    let out = ok_json(&["export", "inspect", &server_zip, "--public-key", &public]);
    let fixture = &vectors()["export_fixture_server_example"]["decoded_export"];
    for field in [
        "start_timestamp",
        "end_timestamp",
        "region",
        "batch_num",
        "batch_size",
    ] {
        assert_eq!(out[field], fixture[field], "{field}");
    }
    assert_eq!(out["keys"].as_array().unwrap().len(), 2);
    for (key, want) in out["keys"]
        .as_array()
        .unwrap()
        .iter()
        .zip(fixture["keys"].as_array().unwrap())
    {
        for field in [
            "key_data",
            "transmission_risk_level",
            "rolling_start_interval_number",
            "rolling_period",
        ] {
            assert_eq!(key[field], want[field], "{field}");
        }
        assert_eq!(key["report_type"], 0);
        assert_eq!(key["days_since_onset_of_symptoms"], Value::Null);
    }
    assert_eq!(out["revised_keys"], json!([]));
    assert_eq!(
        out["signatures"],
        json!([{
            "verification_key_id": "some_id",
            "verification_key_version": "1",
            "signature_algorithm": "1.2.840.10045.4.3.2",
            "valid": true
        }])
    );
    // No key given: null. A key scoped to another id: null.
    let out = ok_json(&["export", "inspect", &server_zip]);
    assert_eq!(out["signatures"][0]["valid"], Value::Null);
    let out = ok_json(&[
        "export",
        "inspect",
        &server_zip,
        "--public-key",
        &format!("310/v1={public}"),
    ]);
    assert_eq!(out["signatures"][0]["valid"], Value::Null);

    // The internals sample verifies with the 310-v1 key, not with public.pem.
    let sample = export_fixture("internals-sample_diagnosis_key_file.zip");
    let key_310 = export_fixture("internals-310-v1-public-key.txt");
    let out = ok_json(&["export", "inspect", &sample, "--public-key", &key_310]);
    assert_eq!(out["keys"].as_array().unwrap().len(), 140);
    assert_eq!(out["signatures"][0]["verification_key_id"], "310");
    assert_eq!(out["signatures"][0]["valid"], true);
    let out = ok_json(&["export", "inspect", &sample, "--public-key", &public]);
    assert_eq!(out["signatures"][0]["valid"], false);

    // Bare export.bin files parse too (no signatures).
    let out = ok_json(&[
        "export",
        "inspect",
        &export_fixture("internals-raw-export.bin"),
    ]);
    assert_eq!(out["keys"].as_array().unwrap().len(), 110);
    assert_eq!(out["signatures"], json!([]));
}

#[test]
fn export_inspect_rejects_bad_files_with_exit_1_and_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut bin = std::fs::read(export_fixture("internals-raw-export.bin")).unwrap();
    bin[0] = b'X';
    let wrong_header = dir.path().join("wrong.zip");
    std::fs::write(&wrong_header, &bin).unwrap();
    for file in [
        export_fixture("keys.json"),
        wrong_header.display().to_string(),
        dir.path().join("missing.zip").display().to_string(),
    ] {
        let out = mimamori(&["export", "inspect", &file]);
        assert_eq!(out.status.code(), Some(1), "{file}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error:"), "{stderr}");
    }
}

#[test]
fn export_sign_then_inspect_round_trip_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    // The keys of the reference server's example, as `inspect` prints them.
    let original = ok_json(&[
        "export",
        "inspect",
        &export_fixture("testExport-2-records-1-of-1.zip"),
    ]);
    let mut keys = original["keys"].clone();
    keys.as_array_mut().unwrap().push(json!({
        "key_data": "00112233445566778899aabbccddeeff",
        "rolling_start_interval_number": 2_650_032,
        "rolling_period": 144,
        "transmission_risk_level": 4,
        "report_type": 1,
        "days_since_onset_of_symptoms": -2
    }));
    let keys_path = dir.path().join("keys.json");
    std::fs::write(&keys_path, keys.to_string()).unwrap();
    let sign = |out: &Path| {
        ok_json(&[
            "export",
            "sign",
            "--keys",
            keys_path.to_str().unwrap(),
            "--private-key",
            &export_fixture("private.pem"),
            "--region",
            "440",
            "--key-id",
            "440",
            "--key-version",
            "v1",
            "--start",
            "1590159600",
            "--end",
            "1590246000",
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let first = dir.path().join("a.zip");
    let second = dir.path().join("b.zip");
    assert_eq!(sign(&first)["keys"], 3);
    sign(&second);
    assert_eq!(
        std::fs::read(&first).unwrap(),
        std::fs::read(&second).unwrap(),
        "signed zips must be byte-for-byte identical"
    );
    let out = ok_json(&[
        "export",
        "inspect",
        first.to_str().unwrap(),
        "--public-key",
        &export_fixture("public.pem"),
    ]);
    assert_eq!(out["region"], "440");
    assert_eq!(out["start_timestamp"], 1_590_159_600);
    assert_eq!(out["signatures"][0]["verification_key_id"], "440");
    assert_eq!(out["signatures"][0]["verification_key_version"], "v1");
    assert_eq!(out["signatures"][0]["valid"], true);
    // Keys come back sorted by key bytes, with every field intact.
    let mut expected: Vec<Value> = keys.as_array().unwrap().clone();
    expected.sort_by(|a, b| a["key_data"].as_str().cmp(&b["key_data"].as_str()));
    assert_eq!(out["keys"], Value::Array(expected));
    // The wrong public key does not verify.
    let out = ok_json(&[
        "export",
        "inspect",
        first.to_str().unwrap(),
        "--public-key",
        &export_fixture("internals-310-v1-public-key.txt"),
    ]);
    assert_eq!(out["signatures"][0]["valid"], false);
}

/// Writes an export with one TEK and sightings of it: five scans 5 min apart at 55 dB.
fn match_fixture(dir: &Path) -> (PathBuf, PathBuf, u64) {
    let tek = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let start: u64 = 2_650_464; // 2020-06-01T00:00Z
    let offset = 60; // 10:00Z
    // Metadata v1.0, TX -10 dBm; RSSI -65 gives 55 dB.
    let derived = ok_stdout(&[
        "en",
        "derive",
        "--tek",
        tek,
        "--interval",
        &(start + offset).to_string(),
        "--count",
        "3",
        "--metadata",
        "40f60000",
    ]);
    let rpis: Vec<Value> = derived
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let t0 = (start + offset) * 600 + 30;
    let mut jsonl = String::new();
    for i in 0..5u64 {
        let t = t0 + i * 300;
        let interval = t / 600;
        let rpi = rpis
            .iter()
            .find(|r| r["interval"].as_u64() == Some(interval))
            .unwrap();
        jsonl.push_str(
            &json!({"time": t, "rpi": rpi["rpi"], "aem": rpi["aem"], "rssi": -65}).to_string(),
        );
        jsonl.push('\n');
    }
    // Someone else's RPI.
    jsonl.push_str(&json!({"time": t0 + 5, "rpi": "00000000000000000000000000000001", "aem": "00000000", "rssi": -80}).to_string());
    jsonl.push('\n');
    let sightings = dir.join("sightings.jsonl");
    std::fs::write(&sightings, jsonl).unwrap();
    let keys = dir.join("keys.json");
    std::fs::write(
        &keys,
        json!([
            {"key_data": tek, "rolling_start_interval_number": start, "rolling_period": 144,
             "transmission_risk_level": 4, "report_type": 1, "days_since_onset_of_symptoms": 0},
            {"key_data": "ffeeddccbbaa99887766554433221100", "rolling_start_interval_number": start}
        ])
        .to_string(),
    )
    .unwrap();
    let zip = dir.join("export.zip");
    ok_json(&[
        "export",
        "sign",
        "--keys",
        keys.to_str().unwrap(),
        "--private-key",
        &export_fixture("private.pem"),
        "--region",
        "440",
        "--key-id",
        "440",
        "--key-version",
        "v1",
        "--start",
        "1590969600",
        "--end",
        "1591056000",
        "--out",
        zip.to_str().unwrap(),
    ]);
    (zip, sightings, start * 600)
}

/// `base` followed by `extra`.
fn args<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    [base, extra].concat()
}

#[test]
fn match_finds_the_key_builds_windows_and_decides() {
    let dir = tempfile::tempdir().unwrap();
    let (zip, sightings, day) = match_fixture(dir.path());
    let zip = zip.to_str().unwrap();
    let sightings = sightings.to_str().unwrap();
    let base = ["match", "--exports", zip, "--sightings", sightings];
    // Default config: COCOA v2.
    let out = ok_json(&base);
    assert_eq!(out["config"], "cocoa-v2");
    assert_eq!(out["keys_checked"], 2);
    let matches = out["matches"].as_array().unwrap();
    assert_eq!(matches.len(), 1);
    assert_eq!(matches[0]["key_data"], "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
    let seen = matches[0]["sightings"].as_array().unwrap();
    assert_eq!(seen.len(), 5);
    assert!(
        seen.iter()
            .all(|s| s["attenuation"] == 55 && s["tx_power"] == -10)
    );
    let windows = out["exposure_windows"].as_array().unwrap();
    assert_eq!(windows.len(), 1);
    assert_eq!(windows[0]["date"], day);
    let scans = windows[0]["scan_instances"].as_array().unwrap();
    assert_eq!(scans.len(), 5);
    // The first scan follows the other device's sighting of the same scan... 5 s earlier,
    // which is the same scan, so no previous scan is known: 120 s; then 300 s each.
    let seconds: Vec<u64> = scans
        .iter()
        .map(|s| s["seconds_since_last_scan"].as_u64().unwrap())
        .collect();
    assert_eq!(seconds, vec![120, 300, 300, 300, 300]);
    // 1320 s at 55 dB (NEAR, weight 2.5): 3300 >= 1350 and 1320 >= 900.
    let summary = &out["daily_summaries"][0];
    assert_eq!(summary["date"], day);
    assert_eq!(
        summary["day_summary"]["score_sum"].as_f64().unwrap(),
        3300.0
    );
    assert_eq!(out["decision"]["high_risk"], true);
    assert_eq!(out["decision"]["high_risk_dates"], json!([day]));

    // COCOA v1: 20 min span -> 25 min bucket, 55 dB -> score 3, TRL 4 -> 7: 21.
    let out = ok_json(&args(&base, &["--risk-config", "cocoa-v1"]));
    assert_eq!(out["decision"]["high_risk"], true);
    assert_eq!(out["decision"]["exposures"][0]["risk"]["risk_score"], 21);
    // CWA: 25 min at 55 dB counts half (12.5 min) x risk 4 x 5 = 20 / 25 -> 10 min < 15.
    let out = ok_json(&args(&base, &["--risk-config", "cwa"]));
    assert_eq!(out["decision"]["high_risk"], false);
    assert_eq!(out["decision"]["cwa"]["maximum_risk_score"], 20);
    // The global server configuration file and the risk configuration are different flags.
    let server_toml = dir.path().join("server.toml");
    std::fs::write(&server_toml, "[log]\nlevel = \"warn\"\n").unwrap();
    let out = ok_json(&[
        "--config",
        server_toml.to_str().unwrap(),
        "match",
        "--exports",
        zip,
        "--sightings",
        sightings,
        "--risk-config",
        "cwa",
    ]);
    assert_eq!(out["decision"]["cwa"]["maximum_risk_score"], 20);
    // A JSON configuration file: COCOA v2 with a stricter score threshold.
    let config_path = dir.path().join("config.json");
    std::fs::write(
        &config_path,
        json!({
            "kind": "v2",
            "daily_summaries_config": {
                "attenuation_bucket_threshold_db": [46, 60, 65],
                "attenuation_bucket_weights": [1.0, 2.5, 1.3, 0.01],
                "report_type_weights": {"confirmed_test": 1.0},
                "infectiousness_weights": {"standard": 1.0, "high": 1.0},
                "days_since_exposure_threshold": 0,
                "minimum_window_score": 0.0
            },
            "diagnosis_keys_data_mapping": {
                "infectiousness_for_days_since_onset_of_symptoms": {"-1": "HIGH", "0": "HIGH", "1": "HIGH"},
                "infectiousness_when_days_since_onset_missing": "HIGH",
                "report_type_when_missing": "CONFIRMED_TEST"
            },
            "rule": {"minimum_score_sum": 4000.0, "minimum_seconds_since_last_scan_sum": 900}
        })
        .to_string(),
    )
    .unwrap();
    let out = ok_json(&args(
        &base,
        &["--risk-config", config_path.to_str().unwrap()],
    ));
    assert_eq!(
        out["daily_summaries"][0]["day_summary"]["score_sum"]
            .as_f64()
            .unwrap(),
        3300.0
    );
    assert_eq!(out["decision"]["high_risk"], false);
    // A receiver correction of -10 dB raises attenuation to 65 dB (MEDIUM, 1.3).
    let out = ok_json(&args(&base, &["--rssi-correction", "-10"]));
    assert_eq!(out["matches"][0]["sightings"][0]["attenuation"], 65);
    // Unknown preset.
    assert!(
        !mimamori(&args(&base, &["--risk-config", "nope"]))
            .status
            .success()
    );
}

#[test]
fn match_against_the_real_export_finds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_, sightings, _) = match_fixture(dir.path());
    let out = ok_json(&[
        "match",
        "--exports",
        &export_fixture("internals-sample_diagnosis_key_file.zip"),
        &export_fixture("testExport-2-records-1-of-1.zip"),
        "--sightings",
        sightings.to_str().unwrap(),
    ]);
    assert_eq!(out["keys_checked"], 142);
    assert_eq!(out["matches"], json!([]));
    assert_eq!(out["decision"]["high_risk"], false);
}

#[test]
fn bench_match_prints_one_json_line() {
    let stdout = ok_stdout(&[
        "bench",
        "match",
        "--keys",
        "3000",
        "--sightings",
        "500",
        "--days",
        "3",
        "--seed",
        "7",
    ]);
    assert_eq!(stdout.lines().count(), 1);
    let out: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(out["keys"], 3000);
    assert_eq!(out["sightings"], 500);
    // 0.1 % of the keys (at least one) are planted and found.
    assert_eq!(out["matched"], 3);
    assert!(out["seconds"].as_f64().unwrap() > 0.0);
    assert!(out["keys_per_second"].as_f64().unwrap() > 0.0);
}
