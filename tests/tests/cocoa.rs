//! The COCOA-compatible upload over real HTTP, on SQLite and PostgreSQL, with the request
//! exactly as COCOA's app builds it and the statuses its screen branches on.
//!
//! Request shape: `Covid19Radar/Covid19Radar/Model/DiagnosisSubmissionParameter.cs` and
//! `Services/DiagnosisKeyRegisterServer.cs`, headers from `Services/HttpDataService.cs`
//! (`Accept: application/json`, `x-functions-key`, body `application/json; charset=utf-8`),
//! the date as `AppConstants.FORMAT_TIMESTAMP` (`yyyy-MM-dd'T'HH:mm:ss.fffzzz`), keys
//! without transmission risk or days since onset, `reportType` 1, `idempotency_key` one GUID
//! per submission screen; cocoa-mhlw/cocoa at 19bb840727f290863c6af88852e3e2981d1b441e.
//! Statuses: `ViewModels/HomePage/NotifyOtherPageViewModel.cs` `ShowResult` shows a dialog
//! only for 200/204 (success), 406 (wrong or expired processing number), 400, 403, 500/503.
//! Days since onset and transmission risk as COCOA's server computed them
//! (`src/Covid19Radar.Api/Models/V3DiagnosisSubmissionParameter.cs` and `V3DiagnosisApi.cs`
//! at d5485de795dabaaf7687ccf99f9a1ce378e40876, the last version before the 406 stubs).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[macro_use]
mod support;

use base64::Engine as _;
use mimamori_crypto::export::{ReportType, read_archive};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::call;

const DAY: u32 = 144;

/// A diagnosis body as the app serializes it: keys of the last `days` days (seed bytes
/// `seed + day`), onset at a local midnight in JST.
fn cocoa_body_with(
    today: u32,
    seed: u8,
    number: &str,
    days: u32,
    onset: &str,
    idempotency_key: &str,
) -> Value {
    let keys: Vec<Value> = (1..=days)
        .map(|day| {
            json!({
                "keyData": base64::engine::general_purpose::STANDARD.encode([seed.wrapping_add(day as u8); 16]),
                "rollingStartNumber": today - day * DAY,
                "rollingPeriod": 144,
                "reportType": 1,
            })
        })
        .collect();
    json!({
        "hasSymptom": true,
        "onsetOfSymptomOrTestDate": onset,
        "keys": keys,
        "regions": ["440"],
        "platform": "android",
        "deviceVerificationPayload": "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl",
        "appPackageName": "jp.go.mhlw.cocoa",
        "verificationPayload": number,
        "idempotency_key": idempotency_key,
        "padding": base64::engine::general_purpose::STANDARD.encode([7u8; 1100]),
    })
}

/// Seven keys, onset 2026-11-16 00:00 JST, one idempotency key per seed.
fn cocoa_body(today: u32, seed: u8, number: &str) -> Value {
    cocoa_body_with(
        today,
        seed,
        number,
        7,
        "2026-11-16T00:00:00.000+09:00",
        &format!("5b1f0c8e-7d2a-4c1b-9e3f-00000000{seed:04}"),
    )
}

/// The test clock's day as the ENIntervalNumber of its midnight.
fn today() -> u32 {
    let interval = ((support::T0_MS / 1000) / 600) as u32;
    interval - interval % DAY
}

/// A case filed by a doctor, accepted by the health center, with a fresh processing number.
async fn accepted_case_with_number(
    app: &mimamori_tests::TestApp,
    world: &support::World,
    name: &str,
) -> (String, String) {
    let case_id = support::accepted_case(app, world, name).await;
    let issued = support::issue_processing_number(app, world, &case_id).await;
    (case_id, issued["code"].as_str().unwrap().to_string())
}

/// Makes every insert into the key table fail (a failing key store), or stops doing so.
async fn fail_key_inserts(app: &mimamori_tests::TestApp, fail: bool) {
    match &app.database.database {
        mimamori_storage::Database::Sqlite(pool) => {
            let sql = if fail {
                "CREATE TRIGGER fail_key_inserts BEFORE INSERT ON ks_keys BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            } else {
                "DROP TRIGGER fail_key_inserts"
            };
            pool.call(move |c| {
                c.execute_batch(sql)
                    .map_err(mimamori_storage::StorageError::from)
            })
            .await
            .unwrap();
        }
        mimamori_storage::Database::Postgres(pool) => {
            let sql = if fail {
                "CREATE FUNCTION fail_key_inserts() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;
                 CREATE TRIGGER fail_key_inserts BEFORE INSERT ON ks_keys FOR EACH ROW EXECUTE FUNCTION fail_key_inserts();"
            } else {
                "DROP TRIGGER fail_key_inserts ON ks_keys; DROP FUNCTION fail_key_inserts();"
            };
            pool.get().await.unwrap().batch_execute(sql).await.unwrap();
        }
    }
}

/// `PUT /api/v3/diagnosis` with the app's headers; status and JSON body (Null when empty).
async fn put(app: &mimamori_tests::TestApp, body: &Value) -> (StatusCode, Value) {
    let response = app
        .client
        .put(app.url("/api/v3/diagnosis"))
        .header("Accept", "application/json")
        .header("x-functions-key", "functions-key-of-the-app")
        .header("Content-Type", "application/json; charset=utf-8")
        .body(serde_json::to_vec(body).unwrap())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The statuses COCOA's `ShowResult` has a dialog for.
const STATUSES_THE_APP_SHOWS: [u16; 7] = [200, 204, 400, 403, 406, 500, 503];

fn assert_refused(result: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert!(
        STATUSES_THE_APP_SHOWS.contains(&result.0.as_u16()),
        "{result:?}"
    );
    assert_eq!(result.0, status, "{}", result.1);
    assert_eq!(result.1["code"], code, "{}", result.1);
}

/// Days since onset as COCOA's server computed them: the UTC date of the key's start minus
/// the UTC date of the submitted instant (`DateTime.ParseExact(...).ToUniversalTime().Date`).
fn cocoa_days_since_onset(rolling_start: u32, onset: &str) -> i64 {
    let onset =
        time::OffsetDateTime::parse(onset, &time::format_description::well_known::Rfc3339).unwrap();
    let onset_day = onset.unix_timestamp().div_euclid(86_400);
    let key_day = (i64::from(rolling_start) * 600).div_euclid(86_400);
    key_day - onset_day
}

/// COCOA's transmission risk: 4 (medium) from three days before onset, else 1 (lowest).
fn cocoa_transmission_risk(days_since_onset: i64) -> i32 {
    if days_since_onset >= -3 { 4 } else { 1 }
}

flow_tests! {
    async fn cocoa_upload_with_processing_number(app, clock) {
        let world = support::world(&app, &clock).await;
        let (case_id, number) = accepted_case_with_number(&app, &world, "Sato Hanako").await;
        let today = today();

        // Chaff: 204 like a real upload, the number is not consumed.
        let chaff = app.client.put(app.url("/api/v3/diagnosis")).header("x-chaff", "1")
            .json(&cocoa_body(today, 10, &number)).send().await.unwrap();
        assert_eq!(chaff.status(), 204);

        let (status, body) = put(&app, &cocoa_body(today, 10, &number)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        // The case shows that keys were published under its number.
        let (status, case) = call(&app, "GET", &format!("/api/cases/{case_id}"), Some(&world.hc_worker[0]), None, None).await;
        assert_eq!(status, StatusCode::OK);
        let text = case.to_string();
        assert!(text.contains("keys_published"), "lifecycle written back: {text}");
        // A retry of the same submission (same idempotency key) succeeds again, as COCOA's
        // server upserted it; another submission with the used number is refused with 406.
        let (status, body) = put(&app, &cocoa_body(today, 10, &number)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        assert_refused(&put(&app, &cocoa_body(today, 40, &number)).await, StatusCode::NOT_ACCEPTABLE, "processing_number_already_used");
        assert_refused(&put(&app, &cocoa_body(today, 60, "00000000")).await, StatusCode::NOT_ACCEPTABLE, "processing_number_unknown");
        assert_refused(&put(&app, &cocoa_body(today, 60, "1234")).await, StatusCode::NOT_ACCEPTABLE, "processing_number_unknown");

        // Replaced by a newer number, and expired: both 406 with their own code.
        let (_, second) = call(&app, "POST", &format!("/api/cases/{case_id}/processing-number"),
            Some(&world.hc_worker[0]), None, None).await;
        let (_, third) = call(&app, "POST", &format!("/api/cases/{case_id}/processing-number"),
            Some(&world.hc_worker[0]), None, None).await;
        assert_refused(&put(&app, &cocoa_body(today, 70, second["code"].as_str().unwrap())).await, StatusCode::NOT_ACCEPTABLE, "processing_number_expired");
        clock.advance_ms(25 * 3_600_000);
        assert_refused(&put(&app, &cocoa_body(today, 80, third["code"].as_str().unwrap())).await, StatusCode::NOT_ACCEPTABLE, "processing_number_expired");
        // A malformed body is 400 (the app's "problem with the data" dialog), never 422.
        let (status, _) = put(&app, &json!({"keys": "nope"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // The keys are exported with the case's report type; risk as COCOA sets it.
        let report = app.exporter().run_once().await.unwrap();
        assert_eq!(report.real_keys, 7);
        let zip = std::fs::read(app.settings.key_server.export.directory.join(&report.files[0].path)).unwrap();
        let archive = read_archive(&zip).unwrap();
        let ours: Vec<_> = archive.export.keys.iter()
            .filter(|k| (11..=17u8).any(|b| k.key_data.as_bytes() == &[b; 16]))
            .collect();
        assert_eq!(ours.len(), 7);
        assert!(ours.iter().all(|k| k.report_type == ReportType::ConfirmedTest));
        assert!(ours.iter().all(|k| k.transmission_risk_level == 4 || k.transmission_risk_level == 1));

    }

    async fn days_since_onset_and_risk_match_cocoa_key_for_key(app, clock) {
        let world = support::world(&app, &clock).await;
        // The case says onset 2026-11-16; the app submits 2026-11-12 00:00 JST, which
        // COCOA's server read as the UTC date 2026-11-11. The submitted date decides.
        let (_, number) = accepted_case_with_number(&app, &world, "Kato Misaki").await;
        let today = today();
        let onset = "2026-11-12T00:00:00.000+09:00";
        let body = cocoa_body_with(today, 120, &number, 14, onset, "0d4c8f8a-2b61-4f47-a5c5-3a8cf1f0b0a1");
        let (status, body_out) = put(&app, &body).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body_out}");
        clock.advance_ms(25 * 3_600_000);
        let report = app.exporter().run_once().await.unwrap();
        let mut exported = Vec::new();
        for file in &report.files {
            let zip = std::fs::read(app.settings.key_server.export.directory.join(&file.path)).unwrap();
            exported.extend(read_archive(&zip).unwrap().export.keys);
        }
        let mut compared = 0;
        let mut low_risk = 0;
        for key in &body["keys"].as_array().unwrap()[..] {
            let bytes = base64::engine::general_purpose::STANDARD.decode(key["keyData"].as_str().unwrap()).unwrap();
            let start = key["rollingStartNumber"].as_u64().unwrap() as u32;
            let ours = exported.iter().find(|k| k.key_data.as_bytes()[..] == bytes[..]).expect("every key exported");
            let days = cocoa_days_since_onset(start, onset);
            assert_eq!(i64::from(ours.days_since_onset_of_symptoms.unwrap()), days, "key starting {start}");
            assert_eq!(ours.transmission_risk_level, cocoa_transmission_risk(days), "key starting {start}, {days} days");
            assert_eq!(ours.report_type, ReportType::ConfirmedTest);
            low_risk += usize::from(ours.transmission_risk_level == 1);
            compared += 1;
        }
        assert_eq!(compared, 14);
        assert!(low_risk >= 2, "the test covers both risk levels");
    }

    async fn event_log_is_validated_consented_and_bounded(app, clock) {
        use mimamori_key_server::store::KeyServerStore as _;
        let store = mimamori_key_server::store::DatabaseKeyServerStore::new(app.database.database.clone());
        let now_s = support::T0_MS / 1000;
        // As `HttpDataService.PutEventLog` sends `V1EventLogRequest` (cocoa-mhlw/cocoa 19bb840).
        let body = |key: &str, logs: Value| json!({
            "idempotencyKey": key,
            "platform": "android",
            "appPackageName": "jp.go.mhlw.cocoa",
            "deviceVerificationPayload": "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl",
            "eventLogs": logs,
        });
        let notified = json!({"hasConsent": true, "epoch": now_s - 60, "type": "ExposureNotification",
            "subtype": "ExposureNotified", "content": {"notifiedTimeInMillis": (now_s - 60) * 1000}});
        let survey_without_consent = json!({"hasConsent": false, "epoch": now_s, "type": "survey", "subtype": "survey",
            "content": {"q1": 1, "q2": 0, "start_date": now_s - 86_400,
                "exposure_data": {"daily_summaries": [{"DateMillisSinceEpoch": (now_s - 86_400) * 1000, "ExposureDetected": 1}]}}});
        let send = |value: Value| {
            let app = &app;
            async move {
                app.client.put(app.url("/api/v1/event_log"))
                    .header("Accept", "application/json")
                    .header("x-api-key", "api-key-of-the-app")
                    .header("x-functions-key", "functions-key-of-the-app")
                    .json(&value).send().await.unwrap().status()
            }
        };
        let first = body("0b3c6d4e-1111-4222-8333-944455556666", json!([notified, survey_without_consent]));
        assert_eq!(send(first.clone()).await, StatusCode::CREATED);
        assert_eq!(send(first).await, StatusCode::CREATED, "a resend is a no-op");
        assert_eq!(store.event_log_counts(0).await.unwrap(), [("ExposureNotification".to_string(), "ExposureNotified".to_string(), 1)]);

        // Text could carry personal data; unknown events, fields and old epochs are refused.
        let mut with_text = notified.clone();
        with_text["content"] = json!({"notifiedTimeInMillis": "Yamada Taro, 090-0000-0000"});
        let mut unknown_field = notified.clone();
        unknown_field["content"]["name"] = json!(1);
        let mut unknown_type = notified.clone();
        unknown_type["type"] = json!("location");
        let mut old = notified.clone();
        old["epoch"] = json!(now_s - 40 * 86_400);
        for bad in [with_text, unknown_field, unknown_type, old] {
            assert_eq!(send(body("k2", json!([bad]))).await, StatusCode::BAD_REQUEST);
        }
        assert_eq!(send(body("k3", json!([]))).await, StatusCode::BAD_REQUEST);
        assert_eq!(send(json!({"eventLogs": "nope"})).await, StatusCode::BAD_REQUEST);
        let huge: Vec<Value> = (0..101).map(|_| notified.clone()).collect();
        assert_eq!(send(body("k4", json!(huge))).await, StatusCode::BAD_REQUEST);
        let oversize = "A".repeat(70_000);
        assert_eq!(send(json!({"padding": oversize})).await, StatusCode::PAYLOAD_TOO_LARGE);

        // Retention (the export worker's): entries older than 14 days are deleted.
        clock.advance_ms(15 * 86_400_000);
        app.exporter().retention().await.unwrap();
        assert!(store.event_log_counts(0).await.unwrap().is_empty(), "the first entry is gone");
        let mut later = notified.clone();
        later["epoch"] = json!(now_s + 15 * 86_400);
        assert_eq!(send(body("k5", json!([later]))).await, StatusCode::CREATED);
        assert_eq!(store.event_log_counts(0).await.unwrap()[0].2, 1, "the first entry is gone");
        let metrics = app.get("/metrics").await.text().await.unwrap();
        assert!(metrics.contains("mimamori_cocoa_event_logs_total{result=\"stored\"} 2"), "{metrics}");
        assert!(metrics.contains("mimamori_cocoa_event_logs_total{result=\"duplicate\"} 1"), "{metrics}");
    }

    async fn failed_key_store_gives_the_processing_number_back(app, clock) {
        let world = support::world(&app, &clock).await;
        let (case_id, number) = accepted_case_with_number(&app, &world, "Suzuki Jiro").await;
        let today = today();

        // The key store fails after the number was claimed: the app is told to retry.
        fail_key_inserts(&app, true).await;
        let (status, body) = put(&app, &cocoa_body(today, 100, &number)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        fail_key_inserts(&app, false).await;

        // The app's retry works; retried again it is the same submission (204, stored once);
        // another submission with the number is refused.
        let (status, body) = put(&app, &cocoa_body(today, 100, &number)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (status, body) = put(&app, &cocoa_body(today, 100, &number)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        assert_refused(&put(&app, &cocoa_body(today, 101, &number)).await, StatusCode::NOT_ACCEPTABLE, "processing_number_already_used");
        let (_, case) = call(&app, "GET", &format!("/api/cases/{case_id}"), Some(&world.hc_worker[0]), None, None).await;
        let text = case.to_string();
        assert!(text.contains("number_released"), "the release is on the case's history: {text}");
        assert!(text.contains("keys_published"), "{text}");
        // Exactly one copy of the keys is exported once their window has closed.
        clock.advance_ms(25 * 3_600_000);
        let report = app.exporter().run_once().await.unwrap();
        assert_eq!(report.real_keys, 7);
    }
}

/// The published COCOA configuration (`documents/static/exposure_configuration/`, copied
/// into shared/data/gaen-test-vectors.json with its commit).
fn published_cocoa_configuration() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/gaen-test-vectors.json");
    let vectors: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    vectors["cocoa_configuration"].clone()
}

/// Every path and leaf of a JSON value, numbers compared as f64.
fn leaves(value: &Value, path: String, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| leaves(v, format!("{path}/{k}"), out)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| leaves(v, format!("{path}/{i}"), out)),
        Value::Number(n) => out.push((path, json!(n.as_f64().unwrap()))),
        other => out.push((path, other.clone())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exposure_configuration_files_are_cocoas_own() {
    let (app, _clock) = support::start(mimamori_tests::Backend::Sqlite, |_| {})
        .await
        .unwrap();
    let published = published_cocoa_configuration();
    for (path, key) in [
        (
            "/c19r/exposure_configuration/configuration.json",
            "v2_exposure_configuration",
        ),
        (
            "/c19r/exposure_configuration/risk_calculation_configuration.json",
            "v2_risk_calculation_configuration",
        ),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response.headers()["cache-control"]
                .to_str()
                .unwrap()
                .starts_with("public")
        );
        let served: Value = response.json().await.unwrap();
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        leaves(&served, String::new(), &mut ours);
        leaves(&published[key]["value"], String::new(), &mut theirs);
        // COCOA's file keeps a second, older transmission table for Google v1 ([7; 8]); the
        // one v1 table ([0, 0, 7, …], Apple v1's) is served in both places.
        let differing: Vec<_> = theirs
            .iter()
            .filter(|leaf| !ours.contains(leaf))
            .map(|(p, _)| p.as_str())
            .filter(|p| !p.starts_with("/google_exposure_config/transmission_risk_scores/"))
            .collect();
        assert!(differing.is_empty(), "{path}: differs at {differing:?}");
        assert_eq!(ours.len(), theirs.len(), "{path}: same fields");
    }
}

/// Azurite's well-known development account (public; `devstoreaccount1`).
const AZURITE_ACCOUNT: &str = "devstoreaccount1";
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// The `azurite-blob` program: `AZURITE_BLOB`, else what `.ci/run` installs under
/// `target/azurite`, else `PATH`.
fn azurite_blob() -> Option<std::path::PathBuf> {
    if let Ok(path) = std::env::var("AZURITE_BLOB") {
        return Some(path.into());
    }
    let installed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/azurite/node_modules/.bin/azurite-blob");
    if installed.exists() {
        return Some(installed);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("azurite-blob"))
            .find(|p| p.exists())
    })
}

/// An account SAS (the test's own, to create the container as an operator would).
fn account_sas() -> String {
    let string_to_sign = format!(
        "{AZURITE_ACCOUNT}\nrwdlac\nb\nsco\n\n2099-01-01T00:00:00Z\n\nhttps,http\n2020-10-02\n"
    );
    let key = base64::engine::general_purpose::STANDARD
        .decode(AZURITE_KEY)
        .unwrap();
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key),
        string_to_sign.as_bytes(),
    );
    let sig = base64::engine::general_purpose::STANDARD.encode(tag.as_ref());
    format!(
        "sv=2020-10-02&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00%3A00%3A00Z&spr=https%2Chttp&sig={}",
        url::form_urlencoded::byte_serialize(sig.as_bytes()).collect::<String>()
    )
}

/// `GET /api/inquirylog` grants an upload that a real Azure Blob service (Azurite) accepts
/// with 201, as COCOA's app expects; the grant cannot read, and a wrong key gets 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inquiry_log_grant_uploads_to_azure_blob() {
    let Some(program) = azurite_blob() else {
        assert!(
            std::env::var("CI").is_err(),
            "CI installs Azurite (.ci/run)"
        );
        eprintln!("skipped: azurite-blob not found (npm install --prefix target/azurite azurite)");
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _azurite = Kill(
        std::process::Command::new(program)
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                &port.to_string(),
                "--inMemoryPersistence",
                "--skipApiVersionCheck",
                "--silent",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}/{AZURITE_ACCOUNT}");
    let client = reqwest::Client::new();
    let mut created = None;
    for _ in 0..100 {
        if let Ok(response) = client
            .put(format!(
                "{base}/inquirylog?restype=container&{}",
                account_sas()
            ))
            .header("x-ms-version", "2020-10-02")
            .send()
            .await
        {
            created = Some(response.status());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        created,
        Some(StatusCode::CREATED),
        "Azurite created the container"
    );

    let (app, clock) = support::start(mimamori_tests::Backend::Sqlite, |s| {
        s.key_server.cocoa.inquiry_log = Some(mimamori_key_server::config::InquiryLogConfig {
            api_key: "inquiry-log-key-of-the-app".into(),
            storage_account: AZURITE_ACCOUNT.into(),
            account_key: AZURITE_KEY.into(),
            container: "inquirylog".into(),
            sas_ttl_seconds: 600,
            sas_protocol: "https,http".into(),
        });
    })
    .await
    .unwrap();
    // Azurite checks the grant's expiry against the real clock.
    let real_now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    clock.advance_ms(real_now_ms - support::T0_MS);
    let ask = |key: &'static str| {
        let app = &app;
        async move {
            let response = app
                .client
                .get(app.url("/api/inquirylog"))
                .header("x-api-key", key)
                .header("x-functions-key", "functions-key")
                .send()
                .await
                .unwrap();
            (
                response.status(),
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    assert_eq!(ask("wrong").await.0, StatusCode::BAD_REQUEST);
    let (status, body) = ask("inquiry-log-key-of-the-app").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sas = body["sas_token"].as_str().unwrap().to_string();
    // The upload as the app's BlobClient makes it.
    let upload = client
        .put(format!("{base}/inquirylog/cocoa_log_20261120.zip?{sas}"))
        .header("x-ms-blob-type", "BlockBlob")
        .header("x-ms-version", "2020-10-02")
        .body(vec![
            0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        upload.status(),
        StatusCode::CREATED,
        "{}",
        upload.text().await.unwrap()
    );
    // Create-only: the grant reads nothing; a tampered signature is refused.
    let read = client
        .get(format!("{base}/inquirylog/cocoa_log_20261120.zip?{sas}"))
        .header("x-ms-version", "2020-10-02")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::FORBIDDEN);
    let tampered = sas.replace("sp=c", "sp=r");
    let read = client
        .get(format!(
            "{base}/inquirylog/cocoa_log_20261120.zip?{tampered}"
        ))
        .header("x-ms-version", "2020-10-02")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::FORBIDDEN);
}

fn split_exports(settings: &mut mimamori::config::Settings) {
    settings.key_server.export.min_keys_per_file = 2;
    settings.key_server.export.padding_jitter = 0;
    settings.key_server.export.max_keys_per_file = 3;
}

flow_tests_with! { split_exports;
    async fn a_split_window_is_batch_one_of_one_per_file(app, clock) {
        let world = support::world(&app, &clock).await;
        let (_, number) = accepted_case_with_number(&app, &world, "Ito Ken").await;
        let (status, body) = put(&app, &cocoa_body(today(), 150, &number)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        clock.advance_ms(25 * 3_600_000);
        let report = app.exporter().run_once().await.unwrap();
        // The upload's seven keys share one window, split into files of at most three.
        let mut by_window: std::collections::BTreeMap<i64, Vec<_>> = Default::default();
        for file in &report.files {
            by_window.entry(file.start_s).or_default().push(file.clone());
        }
        let (start, files) = by_window.iter().find(|(_, f)| f.len() == 3).expect("a window in three files");
        let window_end = start + app.settings.key_server.export.window_seconds as i64;
        let index = app.get("/v1/exports/index.txt").await.text().await.unwrap();
        for (k, file) in files.iter().enumerate() {
            // As the reference server: the name keeps the window's end and numbers the file;
            // the file itself is batch 1 of 1 and ends k seconds after the window.
            assert_eq!(file.path, format!("440/{start}-{window_end}-{:05}.zip", k + 1));
            assert!(index.lines().any(|l| l == file.path), "listed: {}", file.path);
            let zip = app.get(&format!("/v1/exports/{}", file.path)).await.bytes().await.unwrap();
            let archive = read_archive(&zip).unwrap();
            assert_eq!((archive.export.batch_num, archive.export.batch_size), (1, 1));
            assert_eq!(archive.export.end_timestamp, (window_end + k as i64 + 1) as u64);
            assert!(archive.export.keys.len() <= 3);
        }
    }
}

/// Guessing limits small enough to reach in a test: 5 failures per client per window, 8 a day.
fn small_guess_limits(settings: &mut mimamori::config::Settings) {
    settings.verification.max_failures_per_client = 5;
    settings.verification.max_failures_per_client_per_day = 8;
    // The number outlives the daily window, so the same one is tried at the end.
    settings.verification.code_ttl_seconds = 3 * 86_400;
}

/// The `Retry-After` of a refused upload, checked to be padded like every publish answer.
async fn put_refused_with_retry_after(
    app: &mimamori_tests::TestApp,
    body: &Value,
) -> (String, u64) {
    let response = app
        .client
        .put(app.url("/api/v3/diagnosis"))
        .header("x-functions-key", "functions-key-of-the-app")
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let text = response.text().await.unwrap();
    assert_eq!(text.len(), 2048, "padded like every publish answer");
    let body: Value = serde_json::from_str(&text).unwrap();
    (
        body["code"].as_str().unwrap_or_default().to_string(),
        retry_after,
    )
}

flow_tests_with! { small_guess_limits;
    async fn cocoa_upload_guesses_are_limited_per_client(app, clock) {
        let world = support::world(&app, &clock).await;
        let (_, number) = accepted_case_with_number(&app, &world, "Kato Jun").await;
        let today = today();
        for attempt in 0..5u8 {
            let guess = format!("{:08}", 10_000_000 + u32::from(attempt));
            assert_refused(&put(&app, &cocoa_body(today, 100 + attempt, &guess)).await, StatusCode::NOT_ACCEPTABLE, "processing_number_unknown");
        }
        // The sixth guess is refused unchecked, and so is the right number until the window ends.
        let (code, retry_after) = put_refused_with_retry_after(&app, &cocoa_body(today, 110, "10000099")).await;
        assert_eq!(code, "rate_limited");
        assert!((1..=600).contains(&retry_after), "{retry_after}");
        let (code, _) = put_refused_with_retry_after(&app, &cocoa_body(today, 111, &number)).await;
        assert_eq!(code, "rate_limited");
        clock.advance_ms(601_000);
        // Three more failures reach the daily limit of 8: refused for the rest of the day.
        for attempt in 0..3u8 {
            let guess = format!("{:08}", 20_000_000 + u32::from(attempt));
            assert_refused(&put(&app, &cocoa_body(today, 120 + attempt, &guess)).await, StatusCode::NOT_ACCEPTABLE, "processing_number_unknown");
        }
        let (code, retry_after) = put_refused_with_retry_after(&app, &cocoa_body(today, 130, &number)).await;
        assert_eq!(code, "rate_limited");
        assert!(retry_after > 600, "the daily window: {retry_after}");
        clock.advance_ms(i64::try_from(retry_after).unwrap() * 1000);
        let (status, body) = put(&app, &cocoa_body(today, 131, &number)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let metrics = app.get("/metrics").await.text().await.unwrap();
        assert!(metrics.contains("mimamori_verification_rate_limited_total{scope=\"client\"} 2"), "{metrics}");
        assert!(metrics.contains("mimamori_verification_rate_limited_total{scope=\"client_daily\"} 1"), "{metrics}");
        assert!(!metrics.contains("127.0.0.1"));
    }
}

/// A guessing budget that binds before the per-client limit: 10^8 / (365.25 * 100,000 years *
/// live numbers) is below 1, so the floor of 3 failures a day from everyone holds.
fn tiny_guess_budget(settings: &mut mimamori::config::Settings) {
    settings.verification.years_to_guess_a_short_code = 100_000.0;
    settings
        .verification
        .min_failures_per_short_code_space_per_day = 3;
}

flow_tests_with! { tiny_guess_budget;
    async fn cocoa_upload_guesses_share_a_daily_budget_sized_on_live_numbers(app, clock) {
        let world = support::world(&app, &clock).await;
        let (_, number) = accepted_case_with_number(&app, &world, "Kimura Aoi").await;
        let today = today();
        for attempt in 0..3u8 {
            let guess = format!("{:08}", 30_000_000 + u32::from(attempt));
            assert_refused(&put(&app, &cocoa_body(today, 140 + attempt, &guess)).await, StatusCode::NOT_ACCEPTABLE, "processing_number_unknown");
        }
        let (code, retry_after) = put_refused_with_retry_after(&app, &cocoa_body(today, 150, &number)).await;
        assert_eq!(code, "rate_limited");
        assert!(retry_after > 600, "the daily window: {retry_after}");
        let metrics = app.get("/metrics").await.text().await.unwrap();
        assert!(metrics.contains("mimamori_verification_rate_limited_total{scope=\"short_code_space_daily\"} 1"), "{metrics}");
        assert!(metrics.contains("mimamori_verification_short_code_daily_budget 3"), "{metrics}");
        assert!(metrics.contains("mimamori_verification_live_codes 1"), "{metrics}");
    }
}
