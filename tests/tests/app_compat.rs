//! Google's exposure-notifications-android reference app against this server, over real
//! HTTP on SQLite and PostgreSQL: every request as the app builds it, and the statuses and
//! `errorCode`s the app branches on.
//!
//! Request shapes are written from google/exposure-notifications-android at
//! e44603b36d05bc604f01d8c161e57def6110c880 (`app/src/main/java/com/google/android/apps/
//! exposurenotification/`): `keyupload/DiagnosisAttestor.java` (verify `{code, accept,
//! [nonce]}` with `accept` = `["confirmed","likely","negative","user-report"]`, certificate
//! `{token, ekeyhmac}`, user report `{testDate, tzOffset, phone, nonce}`; headers `X-API-Key`
//! and, for cover traffic, `X-Chaff: 1`), `keyupload/DiagnosisKeyUploader.java` (publish
//! `{temporaryExposureKeys, healthAuthorityID, hmacKey, verificationPayload, traveler,
//! [symptomOnsetInterval], [revisionToken]}`, the HMAC of `base64(key).start.period.risk`
//! sorted and comma-joined under the 16-byte `hmacKey`), `network/Padding.java` (every body
//! padded to 5,000 bytes), `keyupload/UploadCoverTrafficWorker.java` (the chaff bodies) and
//! `keyupload/UploadError.java` (errorCode is read only from a 400; 401 = unauthorized
//! client, 429 = rate limited, 500 = server error). Volley sends `Content-Type:
//! application/json; charset=utf-8`.
//! The health-authority side (issue, batch-issue, checkcodestatus, expirecode) follows
//! google/exposure-notifications-verification-server `pkg/api/api.go` at 5a27cc44.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[macro_use]
mod support;

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mimamori_tests::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::*;

/// What the app does with an error (`UploadError.fromVolleyError`): the class it maps to.
fn app_error_class(status: StatusCode, body: &Value) -> &'static str {
    let code = body["errorCode"]
        .as_str()
        .or(body["code"].as_str())
        .unwrap_or_default();
    match status.as_u16() {
        400 => match code {
            "code_invalid" | "code_not_found" | "code_user_unauthorized" | "token_invalid" => {
                "CODE_INVALID"
            }
            "code_expired" | "token_expired" => "CODE_EXPIRED",
            "unsupported_test_type" => "UNSUPPORTED_TEST_TYPE",
            "unknown_health_authority_id"
            | "unable_to_load_health_authority"
            | "health_authority_missing_region_config"
            | "health_authority_verification_certificate_invalid"
            | "internal_error" => "SERVER_ERROR",
            _ => "APP_ERROR",
        },
        401 => "UNAUTHORIZED_CLIENT",
        403..=405 => "APP_ERROR",
        429 => "RATE_LIMITED",
        500 => "SERVER_ERROR",
        _ => "UNKNOWN",
    }
}

/// Asserts an error the app shows with a specific message: status, `errorCode`, `error`.
fn assert_app_error(result: &(StatusCode, Value), error_code: &str, class: &str) {
    let (status, body) = result;
    assert_eq!(body["errorCode"], error_code, "{status} {body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert_eq!(app_error_class(*status, body), class, "{status} {body}");
}

/// An SMS gateway on loopback that records what it is asked to send.
struct SmsGateway {
    url: String,
    messages: Arc<Mutex<Vec<Value>>>,
    _server: actix_web::dev::ServerHandle,
}

async fn sms_gateway() -> SmsGateway {
    let messages: Arc<Mutex<Vec<Value>>> = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&messages);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = actix_web::HttpServer::new(move || {
        let recorded = Arc::clone(&recorded);
        actix_web::App::new().route(
            "/sms",
            actix_web::web::post().to(move |body: actix_web::web::Json<Value>| {
                let recorded = Arc::clone(&recorded);
                async move {
                    recorded.lock().unwrap().push(body.into_inner());
                    actix_web::HttpResponse::Accepted().finish()
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    SmsGateway {
        url: format!("http://127.0.0.1:{port}/sms"),
        messages,
        _server: handle,
    }
}

flow_tests_with! { with_app_authority;
    async fn the_app_shares_a_diagnosis_end_to_end(app, clock) {
        let w = app_world(&app, &clock).await;
        let issued = issue(&app, &w, "confirmed").await;
        let code = issued["code"].as_str().unwrap();

        // Verify with the app's real accept list: 200 and the fields the app reads.
        let (status, verified) = app_post(&app, "/api/verify", Some(&w.device_key), false, verify_body(code, &APP_ACCEPT, None)).await;
        assert_eq!(status, StatusCode::OK, "{verified}");
        assert_eq!(verified["testtype"], "confirmed");
        assert_eq!(verified["symptomDate"], "2026-11-16");
        assert!(verified["token"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(verified["padding"].as_str().is_some_and(|p| p.len() >= 1366), "padding as upstream");

        // Certificate for the app's HMAC of its keys under a 16-byte key.
        let keys = app_keys(30);
        let hmac_key = [9u8; 16];
        let body = app_padded(json!({"token": verified["token"], "ekeyhmac": app_hmac(&keys, &hmac_key)}));
        let (status, certificate) = app_post(&app, "/api/certificate", Some(&w.device_key), false, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{certificate}");
        let certificate = certificate["certificate"].as_str().unwrap().to_string();
        // The token is single use: the app is told it expired.
        let used = app_post(&app, "/api/certificate", Some(&w.device_key), false, body).await;
        assert_app_error(&used, "token_expired", "CODE_EXPIRED");

        // Publish with the app's configured healthAuthorityID: 200 with the revision token
        // the app requires.
        let (status, published) = app_post(&app, "/v1/publish", None, false, publish_body(&keys, &certificate, &hmac_key, APP_HEALTH_AUTHORITY_ID)).await;
        assert_eq!(status, StatusCode::OK, "{published}");
        assert!(published["revisionToken"].as_str().is_some_and(|t| !t.is_empty()), "{published}");
        assert_eq!(published["insertedExposures"], 14);
        assert!(published.get("code").is_none(), "{published}");

        // Another app's id is refused as upstream does.
        let issued = issue(&app, &w, "confirmed").await;
        let (_, verified) = app_post(&app, "/api/verify", Some(&w.device_key), false, verify_body(issued["code"].as_str().unwrap(), &APP_ACCEPT, None)).await;
        let keys = app_keys(60);
        let body = app_padded(json!({"token": verified["token"], "ekeyhmac": app_hmac(&keys, &hmac_key)}));
        let (_, certificate) = app_post(&app, "/api/certificate", Some(&w.device_key), false, body).await;
        let certificate = certificate["certificate"].as_str().unwrap();
        let (status, refused) = app_post(&app, "/v1/publish", None, false, publish_body(&keys, certificate, &hmac_key, "org.example.other")).await;
        assert_eq!((status, refused["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unknown_health_authority_id")), "{refused}");

        // One malformed key among valid ones: the tekmac covers the keys as sent, so the rest
        // is stored and the app gets a partial success.
        let mut mixed = keys.clone();
        mixed[3].0 = STANDARD.encode([1u8; 15]);
        let issued = issue(&app, &w, "confirmed").await;
        let (_, verified) = app_post(&app, "/api/verify", Some(&w.device_key), false, verify_body(issued["code"].as_str().unwrap(), &APP_ACCEPT, None)).await;
        let body = app_padded(json!({"token": verified["token"], "ekeyhmac": app_hmac(&mixed, &hmac_key)}));
        let (_, certificate) = app_post(&app, "/api/certificate", Some(&w.device_key), false, body).await;
        let (status, partial) = app_post(&app, "/v1/publish", None, false, publish_body(&mixed, certificate["certificate"].as_str().unwrap(), &hmac_key, APP_HEALTH_AUTHORITY_ID)).await;
        assert_eq!(status, StatusCode::OK, "{partial}");
        assert_eq!(partial["code"], "partial_failure");
        assert_eq!(partial["insertedExposures"], 13);
        assert!(partial["revisionToken"].as_str().is_some_and(|t| !t.is_empty()));
    }

    async fn accept_lists_follow_upstreams_hierarchy(app, clock) {
        let w = app_world(&app, &clock).await;
        let verify = |code: String, accept: Vec<&'static str>| {
            let app = &app;
            let key = w.device_key.clone();
            async move { app_post(app, "/api/verify", Some(&key), false, verify_body(&code, &accept, None)).await }
        };
        let code = |issued: &Value| issued["code"].as_str().unwrap().to_string();
        // (type issued, accept list, accepted?)
        let cases: [(&str, Vec<&'static str>, bool); 9] = [
            ("confirmed", vec!["confirmed", "user-report"], true),
            ("confirmed", vec!["likely"], true),
            ("confirmed", vec!["CONFIRMED"], true),
            ("confirmed", vec![], true),
            ("likely", vec!["likely"], true),
            ("likely", vec!["negative"], true),
            ("likely", vec!["confirmed"], false),
            ("negative", vec!["likely"], false),
            ("likely", vec!["user-report"], false),
        ];
        for (test_type, accept, accepted) in cases {
            let issued = issue(&app, &w, test_type).await;
            let result = verify(code(&issued), accept.clone()).await;
            if accepted {
                assert_eq!(result.0, StatusCode::OK, "{test_type} with {accept:?}: {}", result.1);
                assert_eq!(result.1["testtype"], test_type);
            } else {
                assert_app_error(&result, "unsupported_test_type", "UNSUPPORTED_TEST_TYPE");
                // The code was not used up: the app's full list still takes it.
                let retry = verify(code(&issued), APP_ACCEPT.to_vec()).await;
                assert_eq!(retry.0, StatusCode::OK, "{test_type} after {accept:?}: {}", retry.1);
            }
        }
        let issued = issue(&app, &w, "confirmed").await;
        assert_app_error(&verify(code(&issued), vec!["positive"]).await, "invalid_test_type", "APP_ERROR");
    }

    async fn verify_and_certificate_errors_are_upstreams_codes(app, clock) {
        let w = app_world(&app, &clock).await;
        let verify = |code: String| {
            let app = &app;
            let key = w.device_key.clone();
            async move { app_post(app, "/api/verify", Some(&key), false, verify_body(&code, &APP_ACCEPT, None)).await }
        };
        assert_app_error(&verify("00000000".into()).await, "code_invalid", "CODE_INVALID");
        assert_app_error(&verify("abc".into()).await, "code_invalid", "CODE_INVALID");
        let issued = issue(&app, &w, "confirmed").await;
        let code = issued["code"].as_str().unwrap().to_string();
        let (status, verified) = verify(code.clone()).await;
        assert_eq!(status, StatusCode::OK);
        // Used: code_invalid (upstream folds "used" into it).
        let used = verify(code.clone()).await;
        assert_app_error(&used, "code_invalid", "CODE_INVALID");
        assert_eq!(used.1["reason"], "code_already_used");
        // Replaced by a newer number, and past its validity: code_expired.
        let old = issue(&app, &w, "confirmed").await;
        let newer = issue(&app, &w, "confirmed").await;
        assert_app_error(&verify(old["code"].as_str().unwrap().into()).await, "code_expired", "CODE_EXPIRED");
        clock.advance_ms(24 * 3_600_000 + 1000);
        assert_app_error(&verify(newer["code"].as_str().unwrap().into()).await, "code_expired", "CODE_EXPIRED");
        // The token has expired too by now (24 h).
        let body = app_padded(json!({"token": verified["token"], "ekeyhmac": app_hmac(&app_keys(1), &[1; 16])}));
        assert_app_error(&app_post(&app, "/api/certificate", Some(&w.device_key), false, body).await, "token_expired", "CODE_EXPIRED");
        // A forged token, a bad HMAC.
        let body = app_padded(json!({"token": "eyJhbGciOiJFUzI1NiJ9.e30.AAAA", "ekeyhmac": app_hmac(&app_keys(1), &[1; 16])}));
        assert_app_error(&app_post(&app, "/api/certificate", Some(&w.device_key), false, body).await, "token_invalid", "CODE_INVALID");
        let body = app_padded(json!({"token": "x.y.z", "ekeyhmac": "not base64!"}));
        assert_app_error(&app_post(&app, "/api/certificate", Some(&w.device_key), false, body).await, "hmac_invalid", "APP_ERROR");
        // Bodies that are not JSON, on every device endpoint.
        for path in ["/api/verify", "/api/certificate", "/api/user-report"] {
            let result = app_post(&app, path, Some(&w.device_key), false, b"{not json".to_vec()).await;
            assert_eq!(result.0, StatusCode::BAD_REQUEST, "{path}");
            assert_app_error(&result, "unparsable_request", "APP_ERROR");
        }
        // Without the API key: 401, which the app shows as an unauthorized client.
        let result = app_post(&app, "/api/verify", None, false, verify_body("00000000", &APP_ACCEPT, None)).await;
        assert_eq!(app_error_class(result.0, &result.1), "UNAUTHORIZED_CLIENT");
        assert!(result.1["errorCode"].is_string(), "{}", result.1);
    }

    async fn cover_traffic_is_answered_and_never_counted(app, clock) {
        let w = app_world(&app, &clock).await;
        // The app's cover traffic (UploadCoverTrafficWorker), many times over: 2xx always.
        for round in 0..40 {
            let fake_verify = verify_body("FAKE-VALIDATION-CODE", &APP_ACCEPT, None);
            let (status, body) = app_post(&app, "/api/verify", Some(&w.device_key), true, fake_verify).await;
            assert_eq!(status, StatusCode::OK, "round {round}: {body}");
            assert!(body["padding"].is_string());
            let fake_token = STANDARD.encode([round as u8; 100]);
            let fake_cert = app_padded(json!({"token": fake_token, "ekeyhmac": app_hmac(&app_keys(round as u8), &[round as u8; 16])}));
            let (status, _) = app_post(&app, "/api/certificate", Some(&w.device_key), true, fake_cert).await;
            assert_eq!(status, StatusCode::OK);
            let fake_report = app_padded(json!({"testDate": "2026-11-20", "tzOffset": 0, "phone": "FAKE-PHONE-NUMBER", "nonce": STANDARD.encode([3u8; 256])}));
            let (status, _) = app_post(&app, "/api/user-report", Some(&w.device_key), true, fake_report).await;
            assert_eq!(status, StatusCode::OK);
            let fake_publish = publish_body(&app_keys(round as u8), &fake_token, &[round as u8; 32], APP_HEALTH_AUTHORITY_ID);
            let (status, body) = app_post(&app, "/v1/publish", None, true, fake_publish).await;
            assert!(status.is_success(), "{status} {body}");
        }
        // Nothing was counted: a real user's code still works (the per-client limit is 30).
        let issued = issue(&app, &w, "confirmed").await;
        let (status, body) = app_post(&app, "/api/verify", Some(&w.device_key), false, verify_body(issued["code"].as_str().unwrap(), &APP_ACCEPT, None)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let metrics = app.get("/metrics").await.text().await.unwrap();
        assert!(!metrics.contains("mimamori_verification_failures_total{"), "chaff is no failure: {metrics}");
        assert_eq!(app.exporter().run_once().await.unwrap().real_keys, 0, "chaff stored nothing");
    }

    async fn health_authority_apis_answer_as_upstream(app, clock) {
        let w = app_world(&app, &clock).await;
        let issued = issue(&app, &w, "confirmed").await;
        // expiresAt as Go's time.RFC1123 in UTC; the RFC 3339 value beside it; padding.
        let expires_at = issued["expiresAt"].as_str().unwrap();
        let timestamp = issued["expiresAtTimestamp"].as_i64().unwrap();
        assert_eq!(timestamp, support::T0_MS / 1000 + 86_400);
        assert_eq!(expires_at, "Sat, 21 Nov 2026 00:00:00 UTC");
        assert_eq!(issued["expiresAtRfc3339"], "2026-11-21T00:00:00Z");
        assert!(issued["longExpiresAt"].as_str().unwrap().ends_with(" UTC"));
        assert!(issued["padding"].as_str().is_some_and(|p| p.len() >= 1366));
        let uuid = issued["uuid"].as_str().unwrap();

        let post = |path: &'static str, body: Value| {
            let app = &app;
            let key = w.admin_key.clone();
            async move { app_post(app, path, Some(&key), false, serde_json::to_vec(&body).unwrap()).await }
        };
        let (status, state) = post("/api/checkcodestatus", json!({"uuid": uuid})).await;
        assert_eq!(status, StatusCode::OK, "{state}");
        assert_eq!((state["claimed"].as_bool(), state["expiresAtTimestamp"].as_i64()), (Some(false), Some(timestamp)));
        assert!(state["padding"].is_string());
        // Unknown, and another health center's number: both 404 code_not_found.
        let (status, body) = post("/api/checkcodestatus", json!({"uuid": "0d5f6e1c-0000-4000-8000-000000000000"})).await;
        assert_eq!((status, body["errorCode"].as_str()), (StatusCode::NOT_FOUND, Some("code_not_found")));
        let other_key = support::api_key(&app, &w.world.national_admin, &w.world.health_center[1], "admin").await;
        let (status, body) = app_post(&app, "/api/checkcodestatus", Some(&other_key), false, serde_json::to_vec(&json!({"uuid": uuid})).unwrap()).await;
        assert_eq!((status, body["errorCode"].as_str()), (StatusCode::NOT_FOUND, Some("code_not_found")));

        // Expire: validity ends now, the app's verify then gets code_expired.
        let (status, expired) = post("/api/expirecode", json!({"uuid": uuid})).await;
        assert_eq!(status, StatusCode::OK, "{expired}");
        assert_eq!(expired["expiresAtTimestamp"].as_i64(), Some(support::T0_MS / 1000));
        let result = app_post(&app, "/api/verify", Some(&w.device_key), false, verify_body(issued["code"].as_str().unwrap(), &APP_ACCEPT, None)).await;
        assert_app_error(&result, "code_expired", "CODE_EXPIRED");
        // A claimed number cannot be expired.
        let claimed = issue(&app, &w, "confirmed").await;
        let (status, _) = app_post(&app, "/api/verify", Some(&w.device_key), false, verify_body(claimed["code"].as_str().unwrap(), &APP_ACCEPT, None)).await;
        assert_eq!(status, StatusCode::OK);
        let (status, state) = post("/api/checkcodestatus", json!({"uuid": claimed["uuid"]})).await;
        assert_eq!((status, state["claimed"].as_bool()), (StatusCode::OK, Some(true)));
        let (status, _) = post("/api/expirecode", json!({"uuid": claimed["uuid"]})).await;
        assert_eq!(status, StatusCode::CONFLICT);

        // Batch: each entry on its own; the first failure decides the status and errorCode.
        let second_case = support::accepted_case(&app, &w.world, "Sato Hanako").await;
        let (status, batch) = post("/api/batch-issue", json!({"codes": [
            {"testType": "confirmed", "caseId": w.case_id},
            {"testType": "likely", "caseId": second_case},
        ]})).await;
        assert_eq!(status, StatusCode::OK, "{batch}");
        assert_eq!(batch["codes"].as_array().unwrap().len(), 2);
        assert!(batch["codes"].as_array().unwrap().iter().all(|c| c["code"].is_string() && c["expiresAt"].is_string()));
        let (status, batch) = post("/api/batch-issue", json!({"codes": [
            {"testType": "confirmed", "caseId": w.case_id},
            {"testType": "antibody", "caseId": w.case_id},
        ]})).await;
        assert_eq!((status, batch["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_test_type")), "{batch}");
        assert!(batch["codes"][0]["code"].is_string());
        assert_eq!(batch["codes"][1]["errorCode"], "invalid_test_type");
        let eleven: Vec<Value> = (0..11).map(|_| json!({"testType": "confirmed", "caseId": w.case_id})).collect();
        let (status, _) = post("/api/batch-issue", json!({"codes": eleven})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // user-report cannot be issued by a health authority.
        let (status, body) = post("/api/issue", json!({"testType": "user-report", "caseId": w.case_id})).await;
        assert_eq!((status, body["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_test_type")));
    }

}

/// A client whose requests come from `ip` (any 127.0.0.0/8 address is this machine).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn verify_from(client: &reqwest::Client, app: &TestApp, key: &str, code: &str) -> StatusCode {
    client
        .post(app.url("/api/verify"))
        .header("Content-Type", "application/json; charset=utf-8")
        .header("X-API-Key", key)
        .body(verify_body(code, &APP_ACCEPT, None))
        .send()
        .await
        .unwrap()
        .status()
}

/// Limits are per client and per code space, never per device key (every install shares
/// it): one guessing client is limited alone; many guessers together close the short-code
/// space for the window, and the long codes of SMS links keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_device_key_is_no_kill_switch() {
    let (app, clock) = support::start(mimamori_tests::Backend::Sqlite, |s| {
        with_app_authority(s);
        s.verification.max_failures_per_client = 30;
        s.verification.max_failures_per_short_code_space = 70;
    })
    .await
    .unwrap();
    let w = app_world(&app, &clock).await;
    let guesser = client_from("127.0.0.2");
    let mut statuses = Vec::new();
    for _ in 0..31 {
        statuses.push(verify_from(&guesser, &app, &w.device_key, "00000000").await);
    }
    assert!(
        statuses[..30].iter().all(|s| *s == StatusCode::BAD_REQUEST),
        "{statuses:?}"
    );
    assert_eq!(statuses[30], StatusCode::TOO_MANY_REQUESTS);
    // The same device key from another client keeps working.
    let fresh_code = |code: String| {
        let (app, key) = (&app, w.device_key.clone());
        async move { verify_from(&app.client, app, &key, &code).await }
    };
    let issued = issue(&app, &w, "confirmed").await;
    assert_eq!(
        fresh_code(issued["code"].as_str().unwrap().to_string()).await,
        StatusCode::OK
    );

    // Two more guessers bring the short-code space to its limit of 70 failed guesses.
    for ip in ["127.0.0.3", "127.0.0.4"] {
        let client = client_from(ip);
        for _ in 0..20 {
            verify_from(&client, &app, &w.device_key, "00000001").await;
        }
    }
    let issued = issue(&app, &w, "confirmed").await;
    assert_eq!(
        fresh_code(issued["code"].as_str().unwrap().to_string()).await,
        StatusCode::TOO_MANY_REQUESTS,
        "short codes wait for the window"
    );
    assert_eq!(
        fresh_code(issued["longCode"].as_str().unwrap().to_string()).await,
        StatusCode::OK,
        "the SMS link's long code still works"
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("mimamori_verification_rate_limited_total{scope=\"short_code_space\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mimamori_verification_rate_limited_total{scope=\"client\"} 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_report_sends_a_code_bound_to_the_nonce_sqlite() {
    user_report_sends_a_code_bound_to_the_nonce(mimamori_tests::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_report_sends_a_code_bound_to_the_nonce_postgres() {
    user_report_sends_a_code_bound_to_the_nonce(mimamori_tests::Backend::Postgres).await;
}

/// Self-reports as the app sends them, with codes delivered through a real HTTP SMS gateway
/// on loopback.
async fn user_report_sends_a_code_bound_to_the_nonce(backend: mimamori_tests::Backend) {
    let gateway = sms_gateway().await;
    let url = gateway.url.clone();
    let Some((app, clock)) = support::start(backend, |s| {
        with_app_authority(s);
        s.verification.user_report.enabled = true;
        s.verification.user_report.sms_gateway_url = Some(url);
    })
    .await
    else {
        return;
    };
    let w = app_world(&app, &clock).await;
    let nonce = STANDARD.encode((0..=255u8).collect::<Vec<u8>>());
    let report = |phone: &str, nonce: &str| {
        app_padded(
            json!({"testDate": "2026-11-19", "tzOffset": 540, "phone": phone, "nonce": nonce}),
        )
    };
    let (status, reported) = app_post(
        &app,
        "/api/user-report",
        Some(&w.device_key),
        false,
        report("+819012345678", &nonce),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reported}");
    assert!(reported["expiresAt"].as_str().unwrap().ends_with(" UTC"));
    assert_eq!(
        reported["expiresAtTimestamp"].as_i64(),
        Some(support::T0_MS / 1000 + 3600)
    );
    let messages = gateway.messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["to"], "+819012345678");
    let text = messages[0]["body"].as_str().unwrap();
    let code: String = text.chars().filter(char::is_ascii_digit).take(8).collect();
    assert_eq!(code.len(), 8, "{text}");

    // The same phone again: the same answer shape, empty, and no second SMS (no probing).
    let (status, again) = app_post(
        &app,
        "/api/user-report",
        Some(&w.device_key),
        false,
        report("090-1234-5678", &nonce),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            again["expiresAt"].as_str(),
            again["expiresAtTimestamp"].as_i64()
        ),
        (Some(""), Some(0))
    );
    assert_eq!(gateway.messages.lock().unwrap().len(), 1);

    // Missing nonce, missing phone.
    assert_app_error(
        &app_post(
            &app,
            "/api/user-report",
            Some(&w.device_key),
            false,
            report("+819011112222", ""),
        )
        .await,
        "missing_nonce",
        "APP_ERROR",
    );
    assert_app_error(
        &app_post(
            &app,
            "/api/user-report",
            Some(&w.device_key),
            false,
            report("", &nonce),
        )
        .await,
        "missing_phone",
        "APP_ERROR",
    );

    // Verify needs the nonce the code was asked for with.
    let other_nonce = STANDARD.encode([5u8; 256]);
    let wrong = app_post(
        &app,
        "/api/verify",
        Some(&w.device_key),
        false,
        verify_body(&code, &APP_ACCEPT, Some(&other_nonce)),
    )
    .await;
    assert_app_error(&wrong, "code_invalid", "CODE_INVALID");
    let without = app_post(
        &app,
        "/api/verify",
        Some(&w.device_key),
        false,
        verify_body(&code, &APP_ACCEPT, None),
    )
    .await;
    assert_app_error(&without, "code_invalid", "CODE_INVALID");
    let (status, verified) = app_post(
        &app,
        "/api/verify",
        Some(&w.device_key),
        false,
        verify_body(&code, &APP_ACCEPT, Some(&nonce)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert_eq!(verified["testtype"], "user-report");
    assert_eq!(verified["testDate"], "2026-11-19");

    // Its own limit: five self-reports per client per hour, the repeat above included.
    for i in 0..3 {
        let (status, body) = app_post(
            &app,
            "/api/user-report",
            Some(&w.device_key),
            false,
            report(&format!("+8190000000{i:02}"), &nonce),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, _) = app_post(
        &app,
        "/api/user-report",
        Some(&w.device_key),
        false,
        report("+819000000099", &nonce),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// Self-reports are off by default: 400 `unsupported_test_type`, as upstream for a realm
/// without them; chaff is still answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_report_is_off_unless_configured() {
    let (app, clock) = support::start(mimamori_tests::Backend::Sqlite, with_app_authority)
        .await
        .unwrap();
    let w = app_world(&app, &clock).await;
    let body = app_padded(
        json!({"testDate": "2026-11-19", "tzOffset": 540, "phone": "+819012345678", "nonce": STANDARD.encode([1u8; 256])}),
    );
    assert_app_error(
        &app_post(
            &app,
            "/api/user-report",
            Some(&w.device_key),
            false,
            body.clone(),
        )
        .await,
        "unsupported_test_type",
        "UNSUPPORTED_TEST_TYPE",
    );
    assert_eq!(
        app_post(&app, "/api/user-report", Some(&w.device_key), true, body)
            .await
            .0,
        StatusCode::OK
    );
}
