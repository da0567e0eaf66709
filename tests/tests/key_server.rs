//! The diagnosis-key server end to end over real HTTP, on SQLite and PostgreSQL: certificate →
//! publish → export → listings → download → inspect (the real binary) → matching; bad inputs;
//! embargo; revision and revocation; retention; chaff.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use base64::Engine as _;
use mimamori_crypto::export::{DiagnosisKey, ReportType, VerificationKey, read_archive};
use mimamori_crypto::interval::EnIntervalNumber;
use mimamori_crypto::keys::Tek;
use mimamori_crypto::matcher::{Sighting, SightingIndex};
use mimamori_crypto::metadata::Metadata;
use mimamori_key_server::blobs::{BlobStore, DatabaseBlobStore};
use mimamori_key_server::config::ExportStorage;
use mimamori_key_server::store::{DatabaseKeyServerStore, KeyServerStore};
use mimamori_storage::ManualClock;
use mimamori_tests::certs::TestIssuer;
use mimamori_tests::{Backend, TestApp, spawn_app_with_clock};
use serde_json::{Value, json};

/// 2026-11-20 13:20 UTC: a day start plus 80 intervals.
/// The precise cause of a publish error: `reason` where one of the reference server's codes
/// (`health_authority_verification_certificate_invalid`, `bad_request`) covers several, else
/// `code`.
fn cause(body: &Value) -> &str {
    match body["reason"].as_str() {
        Some(reason) => {
            let folded = if reason.starts_with("certificate_") || reason == "hmac_key_invalid" {
                "health_authority_verification_certificate_invalid"
            } else {
                "bad_request"
            };
            assert_eq!(body["code"], folded, "{body}");
            reason
        }
        None => body["code"].as_str().unwrap_or_default(),
    }
}

const DAY_START_INTERVAL: u32 = 2_955_600; // divisible by 144: a UTC day start
const NOW_S: i64 = (DAY_START_INTERVAL as i64 + 80) * 600;

struct Setup {
    app: TestApp,
    issuer: TestIssuer,
    clock: ManualClock,
}

async fn setup(backend: Backend) -> Option<Setup> {
    setup_with(backend, ExportStorage::Directory).await
}

async fn setup_with(backend: Backend, storage: ExportStorage) -> Option<Setup> {
    setup_export(backend, move |export| export.storage = storage).await
}

async fn setup_export(
    backend: Backend,
    adjust: impl FnOnce(&mut mimamori_key_server::config::ExportConfig),
) -> Option<Setup> {
    let issuer = TestIssuer::new("test-health-authority", "v1");
    let clock = ManualClock::new(NOW_S * 1000);
    let config = issuer.config();
    let app = spawn_app_with_clock(backend, clock.clone(), move |settings| {
        settings.key_server.issuers = vec![config];
        settings.key_server.export.min_keys_per_file = 50;
        settings.key_server.export.padding_jitter = 10;
        settings.key_server.export.min_window_age_seconds = 0;
        adjust(&mut settings.key_server.export);
    })
    .await?;
    Some(Setup { app, issuer, clock })
}

fn daily_keys(count: u32, seed: u8) -> Vec<DiagnosisKey> {
    (1..=count)
        .map(|day| {
            let mut key = DiagnosisKey::new(
                Tek::from_bytes([seed.wrapping_add(day as u8); 16]),
                DAY_START_INTERVAL - day * 144,
            );
            key.transmission_risk_level = 0;
            key
        })
        .collect()
}

fn keys_json(keys: &[DiagnosisKey]) -> Value {
    Value::Array(
        keys.iter()
            .map(|k| {
                json!({
                    "key": base64::engine::general_purpose::STANDARD.encode(k.key_data.as_bytes()),
                    "rollingStartNumber": k.rolling_start_interval_number,
                    "rollingPeriod": k.rolling_period,
                    "transmissionRisk": k.transmission_risk_level,
                })
            })
            .collect(),
    )
}

const HMAC_KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn publish_body(setup: &Setup, keys: &[DiagnosisKey], report_type: &str) -> Value {
    let mut claims = setup.issuer.claims(setup.clock_s());
    claims.report_type = report_type.into();
    claims.symptom_onset_interval = Some(DAY_START_INTERVAL - 3 * 144);
    json!({
        "temporaryExposureKeys": keys_json(keys),
        "healthAuthorityID": setup.issuer.issuer,
        "verificationPayload": setup.issuer.certificate(keys, HMAC_KEY, &claims),
        "hmacKey": base64::engine::general_purpose::STANDARD.encode(HMAC_KEY),
        "padding": "AAAA",
    })
}

impl Setup {
    fn clock_s(&self) -> i64 {
        mimamori_storage::Clock::now_seconds(&self.clock)
    }

    async fn post_publish(&self, body: &Value) -> (u16, Value, usize) {
        let response = self
            .app
            .client
            .post(self.app.url("/v1/publish"))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap(), bytes.len())
    }

    async fn stored_keys(&self) -> i64 {
        DatabaseKeyServerStore::new(self.app.database.database.clone())
            .count_keys()
            .await
            .unwrap()
    }
}

async fn signing_public_key_pem(app: &TestApp) -> String {
    let store = DatabaseKeyServerStore::new(app.database.database.clone());
    let keys = store.signing_keys().await.unwrap();
    mimamori_key_server::export::public_key_pem(&keys[0]).unwrap()
}

async fn full_loop(backend: Backend) {
    let Some(setup) = setup(backend).await else {
        return;
    };
    let keys = daily_keys(14, 10);
    let (status, body, size) = setup
        .post_publish(&publish_body(&setup, &keys, "confirmed"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["insertedExposures"], 14);
    assert!(body["revisionToken"].as_str().unwrap().len() > 20);
    assert_eq!(
        size,
        mimamori_key_server::api::PUBLISH_RESPONSE_BYTES,
        "padded response"
    );

    // The window closes; the exporter lists a padded, signed file.
    setup.clock.advance_ms(3_600_000);
    let report = setup.app.exporter().run_once().await.unwrap();
    assert_eq!(report.real_keys, 14);
    assert_eq!(report.files.len(), 1);

    let index = setup.app.get("/v1/exports/index.txt").await;
    assert_eq!(index.status(), 200);
    assert!(
        index.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let index = index.text().await.unwrap();
    let listed: Vec<&str> = index.lines().collect();
    assert_eq!(listed, vec![report.files[0].path.as_str()]);

    let list: Value = setup
        .app
        .get("/c19r/440/list.json")
        .await
        .json()
        .await
        .unwrap();
    let entry = &list.as_array().unwrap()[0];
    assert_eq!(entry["region"], "440");
    assert_eq!(entry["created"], report.files[0].created_at_ms);
    let url = entry["url"].as_str().unwrap();
    assert!(url.ends_with(listed[0]), "{url}");

    let download = setup.app.client.get(url).send().await.unwrap();
    assert_eq!(download.status(), 200);
    let etag = download.headers()["etag"].to_str().unwrap().to_string();
    assert!(
        download.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let zip = download.bytes().await.unwrap();
    let again = setup
        .app
        .client
        .get(url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    // `mimamori export inspect` (the real binary) verifies the signature and shows the keys.
    let directory = tempfile::tempdir().unwrap();
    let zip_path = directory.path().join("export.zip");
    let pem_path = directory.path().join("public.pem");
    std::fs::write(&zip_path, &zip).unwrap();
    std::fs::write(&pem_path, signing_public_key_pem(&setup.app).await).unwrap();
    let output = std::process::Command::new(mimamori_tests::mimamori_binary())
        .args([
            "export",
            "inspect",
            zip_path.to_str().unwrap(),
            "--public-key",
            pem_path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let inspected: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(inspected["region"], "440");
    assert!(
        inspected["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["valid"] == true)
    );
    let inspected_keys: Vec<String> = inspected["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key_data"].as_str().unwrap().to_string())
        .collect();
    for key in &keys {
        let hex = mimamori_crypto::hex::encode(key.key_data.as_bytes());
        assert!(
            inspected_keys.contains(&hex),
            "published key {hex} is in the export"
        );
    }
    let published = inspected["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_data"] == mimamori_crypto::hex::encode(keys[0].key_data.as_bytes()))
        .unwrap();
    assert_eq!(published["report_type"], 1, "CONFIRMED_TEST");
    assert_eq!(
        published["transmission_risk_level"], 2,
        "backfilled from the report type"
    );
    assert_eq!(
        published["days_since_onset_of_symptoms"], 2,
        "key of day -1, onset day -3"
    );

    // A phone that saw two of the keys finds exactly those two.
    let archive = read_archive(&zip).unwrap();
    let verification =
        VerificationKey::from_text(&std::fs::read_to_string(&pem_path).unwrap()).unwrap();
    archive.verify(&[verification]).unwrap();
    let sightings: Vec<Sighting> = [&keys[2], &keys[7]]
        .iter()
        .map(|key| {
            let interval = EnIntervalNumber(key.rolling_start_interval_number + 50);
            let rpi = key.key_data.rpik().rpi(interval);
            Sighting {
                time: interval.to_unix_seconds() + 60,
                rpi,
                aem: key
                    .key_data
                    .aemk()
                    .encrypt(&rpi, Metadata::v1_0(-10).to_bytes()),
                rssi: -55,
            }
        })
        .collect();
    let matches = SightingIndex::new(&sightings, 0).match_keys(&archive.export.keys);
    let mut matched: Vec<_> = matches.iter().map(|m| m.key.key_data.clone()).collect();
    matched.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(
        matched,
        vec![keys[2].key_data.clone(), keys[7].key_data.clone()]
    );

    // Re-publishing the same keys is idempotent.
    let (status, body, _) = setup
        .post_publish(&publish_body(&setup, &keys, "confirmed"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(setup.stored_keys().await, 14);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_loop_sqlite() {
    full_loop(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_loop_postgres() {
    full_loop(Backend::Postgres).await;
}

async fn bad_inputs(backend: Backend) {
    let Some(setup) = setup(backend).await else {
        return;
    };
    let keys = daily_keys(3, 40);
    let good = publish_body(&setup, &keys, "confirmed");
    let now_s = setup.clock_s();
    let with = |mutate: &dyn Fn(&mut Value)| {
        let mut body = good.clone();
        mutate(&mut body);
        body
    };
    let resign = |keys: &[DiagnosisKey],
                  mutate: &dyn Fn(&mut mimamori_tests::certs::CertificateClaims)| {
        let mut claims = setup.issuer.claims(now_s);
        mutate(&mut claims);
        let mut body = good.clone();
        body["temporaryExposureKeys"] = keys_json(keys);
        body["verificationPayload"] = json!(setup.issuer.certificate(keys, HMAC_KEY, &claims));
        body
    };
    let mut future_key = daily_keys(1, 90);
    future_key[0].rolling_start_interval_number = DAY_START_INTERVAL + 200;
    let too_many: Vec<DiagnosisKey> = (0..31)
        .map(|i| {
            DiagnosisKey::new(
                Tek::from_bytes([i as u8 + 100; 16]),
                DAY_START_INTERVAL - 144 - i,
            )
        })
        .collect();
    let mut overlapping = daily_keys(2, 60);
    overlapping[1].rolling_start_interval_number =
        overlapping[0].rolling_start_interval_number + 10;
    let other_issuer = TestIssuer::new("test-health-authority", "v1");
    let none_alg = {
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"alg":"none","kid":"v1"}"#);
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&json!({"iss": setup.issuer.issuer, "aud": "mimamori-key-server", "exp": now_s + 900, "reportType": "confirmed",
                "tekmac": mimamori_crypto::tekmac::tekmac_base64(HMAC_KEY, &keys)})).unwrap());
        format!("{header}.{claims}.")
    };

    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("malformed JSON", json!("{not json"), 400, "bad_request"),
        (
            "wrong type",
            with(&|b| b["temporaryExposureKeys"][0]["rollingStartNumber"] = json!("yesterday")),
            400,
            "bad_request",
        ),
        (
            "unknown field",
            with(&|b| b["surprise"] = json!(1)),
            400,
            "bad_request",
        ),
        (
            "no keys",
            with(&|b| b["temporaryExposureKeys"] = json!([])),
            400,
            "no_keys",
        ),
        (
            "too many keys",
            resign(&too_many, &|_| {}),
            400,
            "too_many_keys",
        ),
        (
            "overlapping keys",
            resign(&overlapping, &|_| {}),
            400,
            "keys_overlap",
        ),
        (
            "future-dated key only",
            resign(&future_key, &|_| {}),
            400,
            "no_valid_keys",
        ),
        (
            "bad key length only",
            with(&|b| {
                b["temporaryExposureKeys"] =
                    json!([{"key": "AAAA", "rollingStartNumber": DAY_START_INTERVAL - 144}])
            }),
            400,
            "no_valid_keys",
        ),
        (
            "missing certificate",
            with(&|b| b["verificationPayload"] = json!(null)),
            401,
            "certificate_missing",
        ),
        (
            "expired certificate",
            resign(&keys, &|c| c.expires_at = now_s - 3600),
            401,
            "certificate_expired",
        ),
        (
            "certificate from the future",
            resign(&keys, &|c| c.issued_at = now_s + 3600),
            401,
            "certificate_not_yet_valid",
        ),
        (
            "wrong audience",
            resign(&keys, &|c| c.audience = "someone-else".into()),
            401,
            "certificate_audience_invalid",
        ),
        (
            "unsupported report type",
            resign(&keys, &|c| c.report_type = "maybe".into()),
            401,
            "certificate_report_type_unsupported",
        ),
        (
            "alg none",
            with(&|b| b["verificationPayload"] = json!(none_alg.clone())),
            401,
            "certificate_algorithm_unsupported",
        ),
        (
            "forged signature",
            with(&|b| {
                b["verificationPayload"] =
                    json!(other_issuer.certificate(&keys, HMAC_KEY, &setup.issuer.claims(now_s)))
            }),
            401,
            "certificate_signature_invalid",
        ),
        (
            "tampered tekmac",
            with(&|b| {
                b["hmacKey"] =
                    json!(base64::engine::general_purpose::STANDARD.encode(b"another hmac key"))
            }),
            401,
            "certificate_hmac_invalid",
        ),
        (
            "tampered key",
            with(&|b| b["temporaryExposureKeys"][0]["transmissionRisk"] = json!(5)),
            401,
            "certificate_hmac_invalid",
        ),
        (
            "bad hmacKey",
            with(&|b| b["hmacKey"] = json!("%%%")),
            401,
            "hmac_key_invalid",
        ),
        (
            "foreign health authority",
            with(&|b| b["healthAuthorityID"] = json!("elsewhere")),
            401,
            "unknown_health_authority_id",
        ),
        (
            "invalid revision token",
            with(&|b| b["revisionToken"] = json!("bm90IGEgdG9rZW4gYXQgYWxs")),
            400,
            "invalid_revision_token",
        ),
    ];
    for (name, body, status, code) in cases {
        let response = if body.is_string() {
            setup
                .app
                .client
                .post(setup.app.url("/v1/publish"))
                .header("content-type", "application/json")
                .body(body.as_str().unwrap().to_string())
                .send()
                .await
                .unwrap()
        } else {
            setup
                .app
                .client
                .post(setup.app.url("/v1/publish"))
                .json(&body)
                .send()
                .await
                .unwrap()
        };
        assert_eq!(response.status().as_u16(), status, "{name}");
        let bytes = response.bytes().await.unwrap();
        assert_eq!(
            bytes.len(),
            mimamori_key_server::api::PUBLISH_RESPONSE_BYTES,
            "{name}: error responses are padded like successes"
        );
        let parsed: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(cause(&parsed), code, "{name}: {parsed}");
    }

    // Oversize body: 413 before parsing.
    let huge = "A".repeat(70_000);
    let response = setup
        .app
        .client
        .post(setup.app.url("/v1/publish"))
        .header("content-type", "application/json")
        .body(format!("{{\"padding\":\"{huge}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let bytes = response.bytes().await.unwrap();
    assert_eq!(
        bytes.len(),
        mimamori_key_server::api::PUBLISH_RESPONSE_BYTES,
        "413 padded"
    );
    // Early answers, made before the publish handler runs, are padded too: a body over the
    // server-wide limit (refused on its declared length), an unknown method, on both paths.
    let enormous = "A".repeat(300 * 1024);
    for (method, path) in [("POST", "/v1/publish"), ("PUT", "/api/v3/diagnosis")] {
        let response = setup
            .app
            .client
            .request(method.parse().unwrap(), setup.app.url(path))
            .header("content-type", "application/json")
            .body(enormous.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413, "{path}");
        let bytes = response.bytes().await.unwrap();
        assert_eq!(
            bytes.len(),
            mimamori_key_server::api::PUBLISH_RESPONSE_BYTES,
            "{path}: 413 padded"
        );
        let parsed: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(parsed["errorCode"], "payload_too_large", "{path}");
        let response = setup
            .app
            .client
            .get(setup.app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{path}");
        let bytes = response.bytes().await.unwrap();
        assert_eq!(
            bytes.len(),
            mimamori_key_server::api::PUBLISH_RESPONSE_BYTES,
            "{path}: 405 padded"
        );
    }

    assert_eq!(setup.stored_keys().await, 0, "nothing was stored");

    // One bad key among good ones is dropped alone (partial success).
    let mut mixed = keys.clone();
    mixed.push(future_key[0].clone());
    let (status, body, _) = setup.post_publish(&resign(&mixed, &|_| {})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["code"], "partial_failure");
    assert_eq!(body["insertedExposures"], 3);
    assert_eq!(
        body["error"],
        format!(
            "1 error occurred:\n\t* key 3 cannot be imported: rollingStartNumber {} is in the future\n\n",
            future_key[0].rolling_start_interval_number
        ),
        "{body}"
    );
    assert_eq!(setup.stored_keys().await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_sqlite() {
    bad_inputs(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_postgres() {
    bad_inputs(Backend::Postgres).await;
}

async fn embargo_revision_revocation_retention_chaff(backend: Backend) {
    let Some(setup) = setup(backend).await else {
        return;
    };
    let store = DatabaseKeyServerStore::new(setup.app.database.database.clone());

    // Chaff: answered like a real publish, nothing stored.
    let real_size = {
        let chaff = setup
            .app
            .client
            .post(setup.app.url("/v1/publish"))
            .header("x-chaff", "1")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(chaff.status(), 200);
        chaff.bytes().await.unwrap().len()
    };
    assert_eq!(real_size, mimamori_key_server::api::PUBLISH_RESPONSE_BYTES);
    assert_eq!(setup.stored_keys().await, 0);

    // A likely diagnosis with today's (still valid) key and two older keys.
    let mut keys = daily_keys(2, 150);
    let mut today = DiagnosisKey::new(Tek::from_bytes([222; 16]), DAY_START_INTERVAL);
    today.rolling_period = 144;
    keys.push(today.clone());
    let (status, body, _) = setup
        .post_publish(&publish_body(&setup, &keys, "likely"))
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["revisionToken"].as_str().unwrap().to_string();

    // Embargo: the first window holds only the two expired keys.
    setup.clock.advance_ms(3_600_000);
    let first = setup.app.exporter().run_once().await.unwrap();
    assert_eq!(first.real_keys, 2, "today's key is held back");
    // Today's key appears only in the window after its expiry plus one window.
    let expiry_s = i64::from(DAY_START_INTERVAL + 144) * 600;
    setup.clock.set_ms((expiry_s + 3600 - 1) * 1000);
    let before = setup.app.exporter().run_once().await.unwrap();
    assert_eq!(before.real_keys, 0);
    setup.clock.set_ms((expiry_s + 2 * 3600) * 1000);
    let after = setup.app.exporter().run_once().await.unwrap();
    assert_eq!(after.real_keys, 1, "released after expiry plus a window");

    // Revision: without the token the confirmed re-publish is refused; with it, accepted.
    let (status, body, _) = setup
        .post_publish(&publish_body(&setup, &keys[..2], "confirmed"))
        .await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (400, "missing_revision_token")
    );
    let mut with_token = publish_body(&setup, &keys[..2], "confirmed");
    with_token["revisionToken"] = json!(token);
    let (status, body, _) = setup.post_publish(&with_token).await;
    assert_eq!(status, 200, "{body}");
    let (status, body, _) = setup.post_publish(&with_token).await;
    assert_eq!(status, 200, "repeating a revision is idempotent: {body}");
    setup.clock.advance_ms(3_600_000);
    let revised = setup.app.exporter().run_once().await.unwrap();
    let zip = std::fs::read(
        setup
            .app
            .settings
            .key_server
            .export
            .directory
            .join(&revised.files[0].path),
    )
    .unwrap();
    let archive = read_archive(&zip).unwrap();
    assert_eq!(archive.export.revised_keys.len(), 2);
    assert!(
        archive
            .export
            .revised_keys
            .iter()
            .all(|k| k.report_type == ReportType::ConfirmedTest)
    );

    // Revocation (a false positive): keys come back as REVOKED.
    let revoked = mimamori_key_server::hooks::KeyRevoker::revoke_by_certificates(
        &mimamori_key_server::service::StoreKeyRevoker::new(
            std::sync::Arc::new(store.clone()),
            std::sync::Arc::new(setup.clock.clone()),
        ),
        &all_certificate_ids(&setup).await,
    )
    .await
    .unwrap();
    assert_eq!(revoked, 3);
    setup.clock.advance_ms(3_600_000);
    let revocation = setup.app.exporter().run_once().await.unwrap();
    let zip = std::fs::read(
        setup
            .app
            .settings
            .key_server
            .export
            .directory
            .join(&revocation.files[0].path),
    )
    .unwrap();
    let archive = read_archive(&zip).unwrap();
    assert_eq!(archive.export.revised_keys.len(), 3);
    assert!(
        archive
            .export
            .revised_keys
            .iter()
            .all(|k| k.report_type == ReportType::Revoked)
    );

    // Retention: after 15 days keys and files are gone and nothing lists a deleted file.
    let listed_before = store.export_files(None).await.unwrap();
    assert!(!listed_before.is_empty());
    setup.clock.advance_ms(15 * 86_400_000);
    let (keys_deleted, files_deleted) = setup.app.exporter().retention().await.unwrap();
    assert_eq!(keys_deleted, 3);
    assert_eq!(files_deleted, listed_before.len());
    assert_eq!(setup.stored_keys().await, 0);
    let index = setup
        .app
        .get("/v1/exports/index.txt")
        .await
        .text()
        .await
        .unwrap();
    for file in &listed_before {
        assert!(!index.contains(&file.path), "deleted file still listed");
        assert!(
            !setup
                .app
                .settings
                .key_server
                .export
                .directory
                .join(&file.path)
                .exists()
        );
        let response = setup.app.get(&format!("/v1/exports/{}", file.path)).await;
        assert_eq!(response.status(), 404);
    }
}

async fn all_certificate_ids(setup: &Setup) -> Vec<String> {
    match &setup.app.database.database {
        mimamori_storage::Database::Sqlite(pool) => pool
            .call(|c| -> Result<Vec<String>, mimamori_storage::StorageError> {
                let mut s = c.prepare("SELECT DISTINCT certificate_id FROM ks_keys")?;
                let rows = s.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<Result<Vec<String>, _>>()?)
            })
            .await
            .unwrap(),
        mimamori_storage::Database::Postgres(pool) => pool
            .get()
            .await
            .unwrap()
            .query("SELECT DISTINCT certificate_id FROM ks_keys", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embargo_revision_revocation_retention_chaff_sqlite() {
    embargo_revision_revocation_retention_chaff(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embargo_revision_revocation_retention_chaff_postgres() {
    embargo_revision_revocation_retention_chaff(Backend::Postgres).await;
}

async fn canary_detects_distribution(backend: Backend) {
    use mimamori_key_server::canary::Canary;
    use mimamori_key_server::metrics::KeyServerMetrics;
    let Some(setup) = setup(backend).await else {
        return;
    };
    let store: std::sync::Arc<dyn KeyServerStore> = std::sync::Arc::new(
        DatabaseKeyServerStore::new(setup.app.database.database.clone()),
    );
    let metrics = KeyServerMetrics::unregistered();
    let canary = Canary::new(
        store,
        std::sync::Arc::new(setup.clock.clone()),
        metrics.clone(),
        setup.app.base_url.clone(),
        "440".into(),
    );
    canary.plant().await.unwrap();
    setup.clock.advance_ms(3_600_000);
    let report = setup.app.exporter().run_once().await.unwrap();
    assert_eq!(canary.check(&report).await, Some(true));
    assert_eq!(metrics.canary_ok.get(), 1);

    // A file that cannot be downloaded (lost from the export directory) fails the canary.
    canary.plant().await.unwrap();
    setup.clock.advance_ms(3_600_000);
    let report = setup.app.exporter().run_once().await.unwrap();
    for file in &report.files {
        std::fs::remove_file(
            setup
                .app
                .settings
                .key_server
                .export
                .directory
                .join(&file.path),
        )
        .unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await; // listing cache TTL
    assert_eq!(canary.check(&report).await, Some(false));
    assert_eq!(metrics.canary_ok.get(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_detects_distribution_sqlite() {
    canary_detects_distribution(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_detects_distribution_postgres() {
    canary_detects_distribution(Backend::Postgres).await;
}

/// Keys from the issuer's JWKS, fetched on demand; a rotated key is picked up on first use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_keys_are_fetched_and_rotation_is_followed() {
    use std::sync::{Arc, Mutex};
    let first = TestIssuer::new("jwks-authority", "k1");
    let second = TestIssuer::new("jwks-authority", "k2");
    let published: Arc<Mutex<Vec<mimamori_crypto::jws::Jwk>>> =
        Arc::new(Mutex::new(vec![first.jwk()]));
    let served = Arc::clone(&published);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let jwks_port = listener.local_addr().unwrap().port();
    let server = actix_web::HttpServer::new(move || {
        let served = Arc::clone(&served);
        actix_web::App::new().route(
            "/.well-known/jwks.json",
            actix_web::web::get().to(move || {
                let keys: Vec<Value> = served
                    .lock()
                    .unwrap()
                    .iter()
                    .map(|k| serde_json::from_str(&k.to_json()).unwrap())
                    .collect();
                async move { actix_web::HttpResponse::Ok().json(json!({ "keys": keys })) }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);

    let clock = ManualClock::new(NOW_S * 1000);
    let app = spawn_app_with_clock(Backend::Sqlite, clock.clone(), move |settings| {
        settings.key_server.issuers = vec![mimamori_key_server::config::IssuerConfig {
            issuer: "jwks-authority".into(),
            audience: mimamori_tests::certs::AUDIENCE.into(),
            public_keys: vec![],
            jwks_url: Some(format!(
                "http://127.0.0.1:{jwks_port}/.well-known/jwks.json"
            )),
            jwks_refresh_seconds: 300,
            allowed_clock_skew_seconds: 60,
        }];
    })
    .await
    .unwrap();
    let publish_with = |issuer: &TestIssuer, keys: &[DiagnosisKey]| {
        json!({
            "temporaryExposureKeys": keys_json(keys),
            "verificationPayload": issuer.certificate(keys, HMAC_KEY, &issuer.claims(NOW_S)),
            "hmacKey": base64::engine::general_purpose::STANDARD.encode(HMAC_KEY),
        })
    };
    let post = |body: Value| {
        let client = app.client.clone();
        let url = app.url("/v1/publish");
        async move {
            let response = client.post(url).json(&body).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = post(publish_with(&first, &daily_keys(2, 1))).await;
    assert_eq!(status, 200, "{body}");

    // The issuer rotates: k2 appears in its JWKS and signs the next certificate.
    published.lock().unwrap().push(second.jwk());
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, body) = post(publish_with(&second, &daily_keys(2, 50))).await;
    assert_eq!(status, 200, "{body}");

    // An unknown kid that the JWKS does not have stays refused.
    let stranger = TestIssuer::new("jwks-authority", "k9");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, body) = post(publish_with(&stranger, &daily_keys(2, 90))).await;
    assert_eq!((status, cause(&body)), (401, "certificate_key_unknown"));
}

/// 14 keys published through `replica`, exported by the first server; then every listed file
/// downloaded from both, byte for byte what was listed, and parsed. The export's report.
async fn publish_export_and_download_everywhere(
    setup: &Setup,
    replica: &mimamori_tests::Replica,
) -> mimamori_key_server::export::ExportRunReport {
    let keys = daily_keys(14, 30);
    let response = setup
        .app
        .client
        .post(replica.url("/v1/publish"))
        .json(&publish_body(setup, &keys, "confirmed"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    setup.clock.advance_ms(3_600_000);
    let report = setup.app.exporter().run_once().await.unwrap();
    assert_eq!(report.real_keys, 14);
    assert!(!report.files.is_empty());
    for base in [setup.app.base_url.clone(), replica.base_url.clone()] {
        let index = setup
            .app
            .client
            .get(format!("{base}/v1/exports/index.txt"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(index.lines().count(), report.files.len(), "{base}: {index}");
        for file in &report.files {
            let download = setup
                .app
                .client
                .get(format!("{base}/v1/exports/{}", file.path))
                .send()
                .await
                .unwrap();
            assert_eq!(download.status(), 200, "{base} {}", file.path);
            let bytes = download.bytes().await.unwrap();
            let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
            assert_eq!(mimamori_crypto::hex::encode(digest.as_ref()), file.sha256);
            read_archive(&bytes).unwrap();
        }
    }
    report
}

/// Two replicas on one database: with the database store either serves every listed file
/// (byte for byte what was listed), wherever it was exported; retention deletes the blobs.
/// With the directory store the other replica cannot (the multi-replica bug of issue 16).
async fn every_replica_serves_every_file(backend: Backend) {
    let Some(setup) = setup_with(backend, ExportStorage::Database).await else {
        return;
    };
    let replica = setup.app.replica().await;
    // Published through the second replica, exported by the first.
    let report = publish_export_and_download_everywhere(&setup, &replica).await;
    // Nothing was written to the exporting replica's directory: the store is the database.
    let directory = &setup.app.settings.key_server.export.directory;
    assert!(!directory.join(&report.files[0].path).exists());
    let blobs = DatabaseBlobStore::new(setup.app.database.database.clone());
    let key = blobs.key_for(&report.files[0].path, &report.files[0].sha256);
    assert!(blobs.get(&key).await.unwrap().is_some());

    // Retention unlists the files and deletes their blobs.
    setup.clock.advance_ms(15 * 86_400_000);
    let (_, files_deleted) = setup.app.exporter().retention().await.unwrap();
    assert_eq!(files_deleted, report.files.len());
    assert!(blobs.get(&key).await.unwrap().is_none());
    replica.stop().await;

    // The directory store: the replica that did not export cannot serve the file.
    let Some(setup) = setup_with(backend, ExportStorage::Directory).await else {
        return;
    };
    let replica = setup.app.replica().await;
    let (status, _, _) = setup
        .post_publish(&publish_body(&setup, &daily_keys(14, 60), "confirmed"))
        .await;
    assert_eq!(status, 200);
    setup.clock.advance_ms(3_600_000);
    let report = setup.app.exporter().run_once().await.unwrap();
    let path = format!("/v1/exports/{}", report.files[0].path);
    assert_eq!(setup.app.get(&path).await.status(), 200);
    let other = setup
        .app
        .client
        .get(replica.url(&path))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 503);
    replica.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_replica_serves_every_file_sqlite() {
    every_replica_serves_every_file(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_replica_serves_every_file_postgres() {
    every_replica_serves_every_file(Backend::Postgres).await;
}

/// Two replicas on one database and one S3 bucket (a real S3 server, s3s-fs): either serves
/// every listed file byte for byte; the objects are content-addressed under the configured
/// prefix; an object replaced in the bucket under a listed key is refused by both, not
/// served; retention deletes the objects from the bucket.
async fn every_replica_serves_every_file_from_object_storage(backend: Backend) {
    let Some(s3) = mimamori_tests::s3::S3Server::start("mimamori-exports").await else {
        return;
    };
    let prefix = "prod/exports";
    let object_config = s3.config(prefix);
    let Some(setup) = setup_export(backend, move |export| {
        export.storage = ExportStorage::Object;
        export.object = object_config;
    })
    .await
    else {
        return;
    };
    let replica = setup.app.replica().await;
    let report = publish_export_and_download_everywhere(&setup, &replica).await;
    // The files are objects `PREFIX/sha256/HEX` in the bucket, not in the local directory.
    let directory = &setup.app.settings.key_server.export.directory;
    assert!(!directory.join(&report.files[0].path).exists());
    for file in &report.files {
        let object = s3.object_file(&format!("{prefix}/sha256/{}", file.sha256));
        assert_eq!(
            std::fs::metadata(&object).unwrap().len(),
            file.size_bytes as u64,
            "{}",
            object.display()
        );
    }

    // A file replaced in the bucket under a listed key (before any replica cached it) is
    // refused by every replica.
    let (status, _, _) = setup
        .post_publish(&publish_body(&setup, &daily_keys(14, 60), "confirmed"))
        .await;
    assert_eq!(status, 200);
    setup.clock.advance_ms(3_600_000);
    let second = setup.app.exporter().run_once().await.unwrap();
    let replaced = &second.files[0];
    let bucket =
        mimamori_key_server::blobs::ObjectBlobStore::from_config(&s3.config(prefix)).unwrap();
    let key = bucket.key_for(&replaced.path, &replaced.sha256);
    let mut tampered = bucket.get(&key).await.unwrap().unwrap();
    tampered[40] ^= 1;
    bucket.put(&key, &tampered).await.unwrap();
    // The replicas keep their listing for 2 s (`api::LISTING_TTL`): past it, they know the file.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    for base in [setup.app.base_url.clone(), replica.base_url.clone()] {
        let download = setup
            .app
            .client
            .get(format!("{base}/v1/exports/{}", replaced.path))
            .send()
            .await
            .unwrap();
        assert_eq!(
            download.status(),
            503,
            "{base}: a replaced file is not served"
        );
    }

    // Retention unlists the files and deletes their objects from the bucket.
    setup.clock.advance_ms(15 * 86_400_000);
    let (_, files_deleted) = setup.app.exporter().retention().await.unwrap();
    assert_eq!(files_deleted, report.files.len() + second.files.len());
    for file in report.files.iter().chain(&second.files) {
        let key = bucket.key_for(&file.path, &file.sha256);
        assert_eq!(bucket.get(&key).await.unwrap(), None, "{key}");
        assert!(
            !s3.object_file(&format!("{prefix}/{key}")).exists(),
            "{key}"
        );
    }
    replica.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_replica_serves_every_file_from_object_storage_sqlite() {
    every_replica_serves_every_file_from_object_storage(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_replica_serves_every_file_from_object_storage_postgres() {
    every_replica_serves_every_file_from_object_storage(Backend::Postgres).await;
}
