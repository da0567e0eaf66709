//! Requests exactly as Google's Android reference app builds them (see `app_compat.rs` for
//! the source files and commit), shared by the app-compatibility and outage tests.
#![allow(dead_code, clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mimamori_key_server::config::HealthAuthorityConfig;
use mimamori_storage::ManualClock;
use mimamori_tests::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::World;

/// The sample app configuration's `healthAuthorityID` (`app/configs/sample.json`).
pub const APP_HEALTH_AUTHORITY_ID: &str = "com.google.android.apps.exposurenotification";
/// The app's `SUPPORTED_TEST_TYPES`, in its order.
pub const APP_ACCEPT: [&str; 4] = ["confirmed", "likely", "negative", "user-report"];

/// `Padding.addPadding`: a `padding` member of random base64 grown one byte at a time until
/// the serialized body reaches 5,000 bytes (none when it is already that large).
/// The result is the app's: the smallest padding that reaches the target (the search starts
/// just below it instead of at one byte, which only saves time).
pub fn app_padded(mut body: Value) -> Vec<u8> {
    let unpadded = serde_json::to_vec(&body).unwrap().len();
    if unpadded >= 5000 {
        return serde_json::to_vec(&body).unwrap();
    }
    // `,"padding":"…"` adds 13 bytes plus 4 per 3 padding bytes.
    let mut size = ((5000 - unpadded).saturating_sub(13) * 3 / 4)
        .saturating_sub(4)
        .max(1);
    loop {
        let bytes: Vec<u8> = (0..size)
            .map(|i: usize| (i as u8).wrapping_mul(31))
            .collect();
        body["padding"] = json!(STANDARD.encode(bytes));
        let encoded = serde_json::to_vec(&body).unwrap();
        if encoded.len() >= 5000 {
            return encoded;
        }
        size += 1;
    }
}

/// A POST as Volley sends it: UTF-8 JSON body, the device key, optionally `X-Chaff: 1`.
pub async fn app_post(
    app: &TestApp,
    path: &str,
    api_key: Option<&str>,
    chaff: bool,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .post(app.url(path))
        .header("Content-Type", "application/json; charset=utf-8")
        .body(body);
    if let Some(key) = api_key {
        request = request.header("X-API-Key", key);
    }
    if chaff {
        request = request.header("X-Chaff", "1");
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub fn verify_body(code: &str, accept: &[&str], nonce: Option<&str>) -> Vec<u8> {
    let mut body = json!({"code": code, "accept": accept});
    if let Some(nonce) = nonce {
        body["nonce"] = json!(nonce);
    }
    app_padded(body)
}

pub struct AppWorld {
    pub world: World,
    pub case_id: String,
    pub device_key: String,
    pub admin_key: String,
}

pub async fn app_world(app: &TestApp, clock: &ManualClock) -> AppWorld {
    let world = super::world(app, clock).await;
    let case_id = super::accepted_case(app, &world, "Yamada Taro").await;
    let device_key = super::api_key(app, &world.hc_admin, &world.health_center[0], "device").await;
    let admin_key = super::api_key(app, &world.hc_admin, &world.health_center[0], "admin").await;
    AppWorld {
        world,
        case_id,
        device_key,
        admin_key,
    }
}

/// A number of `test_type` for the world's case through Google's issue API.
pub async fn issue(app: &TestApp, w: &AppWorld, test_type: &str) -> Value {
    let (status, body) = app_post(
        app,
        "/api/issue",
        Some(&w.admin_key),
        false,
        serde_json::to_vec(&json!({"testType": test_type, "symptomDate": "2026-11-16", "tzOffset": 540, "caseId": w.case_id})).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Fourteen keys as the EN API hands them to the app (period 144, risk ≥ 1).
pub fn app_keys(seed: u8) -> Vec<(String, u32, u32, u32)> {
    let today = (super::T0_MS / 1000 / 600) as u32;
    (1..=14u32)
        .map(|day| {
            (
                STANDARD.encode([seed.wrapping_add(day as u8); 16]),
                today - today % 144 - day * 144,
                144,
                1 + day % 7,
            )
        })
        .collect()
}

/// `DiagnosisAttestor.hashedKeys`.
pub fn app_hmac(keys: &[(String, u32, u32, u32)], hmac_key: &[u8]) -> String {
    let mut segments: Vec<String> = keys
        .iter()
        .map(|(k, start, period, risk)| format!("{k}.{start}.{period}.{risk}"))
        .collect();
    segments.sort();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, hmac_key);
    STANDARD.encode(ring::hmac::sign(&key, segments.join(",").as_bytes()).as_ref())
}

/// `DiagnosisKeyUploader.createPayload`.
pub fn publish_body(
    keys: &[(String, u32, u32, u32)],
    certificate: &str,
    hmac_key: &[u8],
    health_authority_id: &str,
) -> Vec<u8> {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(k, start, period, risk)| {
            json!({"key": k, "rollingStartNumber": start, "rollingPeriod": period, "transmissionRisk": risk})
        })
        .collect();
    app_padded(json!({
        "temporaryExposureKeys": keys,
        "healthAuthorityID": health_authority_id,
        "hmacKey": STANDARD.encode(hmac_key),
        "verificationPayload": certificate,
        "traveler": false,
        "symptomOnsetInterval": (super::T0_MS / 1000 / 600) as u32 / 144 * 144 - 4 * 144,
    }))
}

pub fn with_app_authority(s: &mut mimamori::config::Settings) {
    s.key_server.health_authorities = vec![HealthAuthorityConfig {
        id: APP_HEALTH_AUTHORITY_ID.into(),
        issuers: vec!["mimamori-verification".into()],
        regions: vec!["440".into()],
    }];
}
