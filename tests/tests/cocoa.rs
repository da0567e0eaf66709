//! The COCOA-compatible upload over real HTTP, on SQLite and PostgreSQL: a health center
//! issues a processing number for a case; the app uploads its keys with it through
//! `PUT /api/v3/diagnosis`; the keys reach the export with the case's report type and onset;
//! the number cannot be used twice; unknown and expired numbers get their own codes; the
//! case records that keys were published; an upload the key store could not take gives its
//! processing number back, so the app's retry succeeds.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[macro_use]
mod support;

use base64::Engine as _;
use mimamori_crypto::export::{ReportType, read_archive};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::call;

const DAY: u32 = 144;

fn cocoa_body(today: u32, seed: u8, number: &str) -> Value {
    let keys: Vec<Value> = (1..=7u32)
        .map(|day| {
            json!({
                "keyData": base64::engine::general_purpose::STANDARD.encode([seed.wrapping_add(day as u8); 16]),
                "rollingStartNumber": today - day * DAY,
                "rollingPeriod": 144,
                "transmissionRisk": 0,
                "reportType": 1,
                "daysSinceOnsetOfSymptoms": 0,
            })
        })
        .collect();
    json!({
        "hasSymptom": true,
        "onsetOfSymptomOrTestDate": "2026-11-16T00:00:00.000Z",
        "keys": keys,
        "regions": ["440"],
        "platform": "Android",
        "deviceVerificationPayload": "",
        "appPackageName": "jp.go.mhlw.covid19radar",
        "verificationPayload": number,
        "idempotency_key": "abc",
        "padding": "",
    })
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

async fn put(app: &mimamori_tests::TestApp, body: &Value) -> (StatusCode, Value) {
    call(
        app,
        "PUT",
        "/api/v3/diagnosis",
        None,
        None,
        Some(body.clone()),
    )
    .await
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
        let (status, body) = put(&app, &cocoa_body(today, 40, &number)).await;
        assert_eq!((status, body["code"].as_str().unwrap()), (StatusCode::CONFLICT, "processing_number_already_used"));
        let (status, body) = put(&app, &cocoa_body(today, 60, "00000000")).await;
        assert_eq!((status, body["code"].as_str().unwrap()), (StatusCode::BAD_REQUEST, "processing_number_unknown"));

        let (_, second) = call(&app, "POST", &format!("/api/cases/{case_id}/processing-number"),
            Some(&world.hc_worker[0]), None, None).await;
        clock.advance_ms(25 * 3_600_000);
        let (status, body) = put(&app, &cocoa_body(today, 80, second["code"].as_str().unwrap())).await;
        assert_eq!((status, body["code"].as_str().unwrap()), (StatusCode::BAD_REQUEST, "processing_number_expired"));

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

    async fn failed_key_store_gives_the_processing_number_back(app, clock) {
        let world = support::world(&app, &clock).await;
        let (case_id, number) = accepted_case_with_number(&app, &world, "Suzuki Jiro").await;
        let today = today();

        // The key store fails after the number was claimed: the app is told to retry.
        fail_key_inserts(&app, true).await;
        let (status, body) = put(&app, &cocoa_body(today, 100, &number)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        fail_key_inserts(&app, false).await;

        // The retry with the same number works, once.
        let (status, body) = put(&app, &cocoa_body(today, 100, &number)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (status, body) = put(&app, &cocoa_body(today, 100, &number)).await;
        assert_eq!((status, body["code"].as_str().unwrap()), (StatusCode::CONFLICT, "processing_number_already_used"));
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
