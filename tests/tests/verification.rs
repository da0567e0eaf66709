//! End-to-end tests of the verification service over real HTTP, on SQLite and PostgreSQL:
//! the full flow from `admin init` to published keys written back to the case, single use
//! under 100 concurrent claims, every token and code rejection with its own error code,
//! rate limits, revocation and JWKS.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;

use std::sync::Arc;

use mimamori::services::cases::mimamori_cases::CaseRegistry;
use mimamori::services::cases::mimamori_verification::{Verification, jws};
use mimamori_storage::ManualClock;
use mimamori_tests::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{World, call, claims};

const EKEYHMAC: &str = "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs=";

struct Flow {
    world: World,
    case_id: String,
    device_key: String,
}

/// A world, a filed and accepted case, and a device API key.
async fn prepared(app: &TestApp, clock: &ManualClock) -> Flow {
    let world = support::world(app, clock).await;
    let case_id = support::accepted_case(app, &world, "Yamada Taro").await;
    let hc_admin = world.hc_admin.clone();
    let device_key = support::api_key(app, &hc_admin, &world.health_center[0], "device").await;
    Flow {
        world,
        case_id,
        device_key,
    }
}

async fn issue(app: &TestApp, flow: &Flow) -> Value {
    support::issue_processing_number(app, &flow.world, &flow.case_id).await
}

async fn verify(app: &TestApp, flow: &Flow, code: &str) -> (StatusCode, Value) {
    call(
        app,
        "POST",
        "/api/verify",
        None,
        Some(&flow.device_key),
        Some(json!({"code": code})),
    )
    .await
}

async fn certificate(app: &TestApp, flow: &Flow, token: &str) -> (StatusCode, Value) {
    call(
        app,
        "POST",
        "/api/certificate",
        None,
        Some(&flow.device_key),
        Some(json!({"token": token, "ekeyhmac": EKEYHMAC})),
    )
    .await
}

/// Asserts the status, the precise `reason` and the `errorCode` upstream sends for it
/// (`verifyapi/verify.go`, `certapi/certificate.go` at 5a27cc44), which the apps branch on.
fn assert_code(result: &(StatusCode, Value), status: StatusCode, reason: &str) {
    let upstream = match reason {
        "code_malformed" | "code_not_found" | "code_already_used" => "code_invalid",
        "token_algorithm_unsupported" | "token_kid_unknown" | "token_not_yet_valid" => {
            "token_invalid"
        }
        "token_already_used" => "token_expired",
        other => other,
    };
    assert_eq!(result.0, status, "{}", result.1);
    assert_eq!(result.1["errorCode"], upstream, "{}", result.1);
    assert_eq!(result.1["code"], upstream, "{}", result.1);
    let shown_reason = result.1["reason"].as_str().unwrap_or(upstream);
    assert_eq!(shown_reason, reason, "{}", result.1);
}

fn history_kinds(case: &Value) -> Vec<String> {
    case["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let kind = e["kind"].as_str().unwrap();
            if kind == "status" {
                format!("status:{}", e["detail"].as_str().unwrap())
            } else {
                kind.to_string()
            }
        })
        .collect()
}

/// The verification service as the server builds it, on the same database (to play the key
/// server's in-process publish report).
fn in_process_verification(app: &TestApp, clock: &ManualClock) -> Verification {
    let mut settings = mimamori::config::Settings::default();
    support::settings(&mut settings);
    let clock: mimamori_storage::SharedClock = Arc::new(clock.clone());
    let registry = CaseRegistry::new(
        app.database.database.clone(),
        settings.cases,
        Arc::clone(&clock),
    );
    Verification::new(
        app.database.database.clone(),
        registry,
        settings.verification,
        clock,
        mimamori::metrics::HttpMetrics::new().unwrap().registry(),
    )
    .unwrap()
}

flow_tests! {
    async fn full_flow_writes_every_lifecycle_step_to_the_case(app, clock) {
        let flow = prepared(&app, &clock).await;
        let issued = issue(&app, &flow).await;
        let code = issued["code"].as_str().unwrap();
        assert_eq!(code.len(), 8);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(issued["longCode"].as_str().unwrap().len(), 16);
        assert_eq!(issued["expiresAtTimestamp"], support::T0_MS / 1000 + 24 * 3600);
        assert_eq!(issued["symptomDate"], "2026-11-16");

        let (status, verified) = verify(&app, &flow, code).await;
        assert_eq!(status, StatusCode::OK, "{verified}");
        assert_eq!(verified["testtype"], "confirmed");
        assert_eq!(verified["symptomDate"], "2026-11-16");
        let token = verified["token"].as_str().unwrap();
        let header = jws::decode_unverified_header(token).unwrap();
        assert_eq!(header.alg, "ES256");

        let (status, body) = certificate(&app, &flow, token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let certificate = body["certificate"].as_str().unwrap();
        let cert = claims(certificate);
        assert_eq!(cert["reportType"], "confirmed");
        assert_eq!(cert["tekmac"], EKEYHMAC);
        assert_eq!(cert["aud"], "exposure-notifications-server");
        assert_eq!(cert["iss"], "mimamori-verification");
        // 2026-11-16T00:00Z as an ENIntervalNumber.
        assert_eq!(cert["symptomOnsetInterval"], (support::T0_MS / 1000 - 4 * 86_400) / 600);
        assert_eq!(cert["exp"], support::T0_MS / 1000 + 900);

        // The certificate verifies against the published JWKS.
        let (status, jwks) = call(&app, "GET", "/.well-known/jwks.json", None, None, None).await;
        assert_eq!(status, StatusCode::OK);
        let kid = jws::decode_unverified_header(certificate).unwrap().kid.unwrap();
        let jwk: jws::Jwk = serde_json::from_value(
            jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str()).unwrap().clone(),
        )
        .unwrap();
        jws::verify(certificate, &jwk.public_key().unwrap()).unwrap();

        // The key server reports the publish under the certificate id (in process).
        let verification = in_process_verification(&app, &clock);
        verification
            .keys_published(cert["jti"].as_str().unwrap(), 14)
            .await
            .unwrap();

        let (status, case) = call(
            &app,
            "GET",
            &format!("/api/cases/{}", flow.case_id),
            Some(&flow.world.hc_worker[0]),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            history_kinds(&case),
            [
                "status:reported",
                "status:accepted",
                "number_issued",
                "number_claimed",
                "certificate_issued",
                "keys_published"
            ]
        );

        // Revoking the case (false positive) revokes its certificates.
        let (status, revoked) = call(
            &app,
            "POST",
            &format!("/api/cases/{}/revoke", flow.case_id),
            Some(&flow.world.hc_worker[0]),
            None,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{revoked}");
        assert_eq!(revoked["certificates"], 1);
        let (_, case) = call(
            &app,
            "GET",
            &format!("/api/cases/{}", flow.case_id),
            Some(&flow.world.hc_worker[0]),
            None,
            None,
        )
        .await;
        assert_eq!(case["revoked"], true);
        assert!(history_kinds(&case).contains(&"revoked".to_string()));
        // No more numbers for a revoked case.
        let (status, body) = call(
            &app,
            "POST",
            &format!("/api/cases/{}/processing-number", flow.case_id),
            Some(&flow.world.hc_worker[0]),
            None,
            None,
        )
        .await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("case_revoked")));
    }

    async fn codes_are_rejected_with_their_own_error_codes(app, clock) {
        let flow = prepared(&app, &clock).await;
        assert_code(&verify(&app, &flow, "12ab").await, StatusCode::BAD_REQUEST, "code_malformed");
        assert_code(&verify(&app, &flow, "00000000").await, StatusCode::BAD_REQUEST, "code_not_found");

        // Re-issue invalidates the previous number.
        let first = issue(&app, &flow).await;
        let second = issue(&app, &flow).await;
        assert_code(
            &verify(&app, &flow, first["code"].as_str().unwrap()).await,
            StatusCode::BAD_REQUEST,
            "code_expired",
        );
        // Used.
        let code = second["code"].as_str().unwrap();
        assert_eq!(verify(&app, &flow, code).await.0, StatusCode::OK);
        assert_code(&verify(&app, &flow, code).await, StatusCode::BAD_REQUEST, "code_already_used");

        // Expired after 24 h; the long code works as well while valid.
        let third = issue(&app, &flow).await;
        let (status, body) = verify(&app, &flow, third["longCode"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let fourth = issue(&app, &flow).await;
        clock.advance_ms(24 * 3600 * 1000 + 1000);
        assert_code(
            &verify(&app, &flow, fourth["code"].as_str().unwrap()).await,
            StatusCode::BAD_REQUEST,
            "code_expired",
        );
        // The expiry is written to the case (sessions have expired by now: read the store).
        let verification = in_process_verification(&app, &clock);
        assert_eq!(verification.expire_due().await.unwrap(), 1);
        let events = verification.cases().store().events(&flow.case_id).await.unwrap();
        assert_eq!(events.last().unwrap().kind, "number_expired");

        // Wrong kind of key, no key.
        let (status, _) = call(&app, "POST", "/api/verify", None, None, Some(json!({"code": "00000000"}))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    async fn tokens_are_rejected_with_their_own_error_codes(app, clock) {
        let flow = prepared(&app, &clock).await;
        let mut tokens = Vec::new();
        for _ in 0..3 {
            let issued = issue(&app, &flow).await;
            let (status, verified) = verify(&app, &flow, issued["code"].as_str().unwrap()).await;
            assert_eq!(status, StatusCode::OK, "{verified}");
            tokens.push(verified["token"].as_str().unwrap().to_string());
        }
        let token = &tokens[0];
        let parts: Vec<&str> = token.split('.').collect();

        // Tampered payload.
        let mut payload = claims(token);
        payload["sub"] = json!("negative..");
        let tampered = format!("{}.{}.{}", parts[0], support::b64url(payload.to_string().as_bytes()), parts[2]);
        assert_code(&certificate(&app, &flow, &tampered).await, StatusCode::BAD_REQUEST, "token_invalid");
        assert_code(&certificate(&app, &flow, "not.a.jwt").await, StatusCode::BAD_REQUEST, "token_invalid");

        // alg: none.
        let none_header = support::b64url(br#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{}.", parts[1]);
        assert_code(&certificate(&app, &flow, &unsigned).await, StatusCode::BAD_REQUEST, "token_algorithm_unsupported");

        // Unknown kid.
        let kid_header = support::b64url(br#"{"alg":"ES256","kid":"nope","typ":"JWT"}"#);
        let wrong_kid = format!("{kid_header}.{}.{}", parts[1], parts[2]);
        assert_code(&certificate(&app, &flow, &wrong_kid).await, StatusCode::BAD_REQUEST, "token_kid_unknown");

        // ekeyhmac must be 32 bytes of base64.
        let (status, body) = call(
            &app,
            "POST",
            "/api/certificate",
            None,
            Some(&flow.device_key),
            Some(json!({"token": token, "ekeyhmac": "c2hvcnQ="})),
        )
        .await;
        assert_code(&(status, body), StatusCode::BAD_REQUEST, "hmac_invalid");

        // Clock skew beyond the bound: the server's clock is now 2 minutes behind the token.
        clock.advance_ms(-120_000);
        assert_code(&certificate(&app, &flow, token).await, StatusCode::BAD_REQUEST, "token_not_yet_valid");
        clock.advance_ms(120_000);

        // Single use.
        assert_eq!(certificate(&app, &flow, token).await.0, StatusCode::OK);
        assert_code(&certificate(&app, &flow, token).await, StatusCode::BAD_REQUEST, "token_already_used");

        // Expired after 24 h.
        clock.advance_ms(24 * 3600 * 1000 + 1000);
        assert_code(&certificate(&app, &flow, &tokens[1]).await, StatusCode::BAD_REQUEST, "token_expired");
    }

    async fn rotated_keys_keep_verifying_and_appear_in_the_jwks(app, clock) {
        let flow = prepared(&app, &clock).await;
        let issued = issue(&app, &flow).await;
        let (_, verified) = verify(&app, &flow, issued["code"].as_str().unwrap()).await;
        let token = verified["token"].as_str().unwrap().to_string();
        let old_kid = jws::decode_unverified_header(&token).unwrap().kid.unwrap();
        let new_kid = in_process_verification(&app, &clock).rotate_keys().await.unwrap();
        assert_ne!(old_kid, new_kid);
        // The running server finds the new kid on demand (unknown kid forces a reload).
        let forged_header = support::b64url(format!(r#"{{"alg":"ES256","kid":"{new_kid}"}}"#).as_bytes());
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!("{forged_header}.{}.{}", parts[1], parts[2]);
        assert_code(&certificate(&app, &flow, &forged).await, StatusCode::BAD_REQUEST, "token_invalid");
        // A token signed before the rotation still works.
        let (status, body) = certificate(&app, &flow, &token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, jwks) = call(&app, "GET", "/.well-known/jwks.json", None, None, None).await;
        let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
        assert!(kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()), "{jwks}");
        assert!(jwks["keys"][0].get("d").is_none(), "no private material");
    }

    async fn issue_api_is_google_compatible_and_scoped(app, clock) {
        let flow = prepared(&app, &clock).await;
        let admin_key = support::api_key(&app, &flow.world.hc_admin, &flow.world.health_center[0], "admin").await;
        let (status, body) = call(
            &app,
            "POST",
            "/api/issue",
            None,
            Some(&admin_key),
            Some(json!({"testType": "confirmed", "symptomDate": "2026-11-15", "testDate": "2026-11-18", "tzOffset": 540, "caseId": flow.case_id})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["uuid"].is_string() && body["expiresAt"].is_string() && body["longExpiresAtTimestamp"].is_number());
        let (status, verified) = verify(&app, &flow, body["code"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(verified["symptomDate"], "2026-11-15");
        assert_eq!(verified["testDate"], "2026-11-18");

        let bad = |body: Value| {
            let app = &app;
            let key = admin_key.clone();
            async move { call(app, "POST", "/api/issue", None, Some(&key), Some(body)).await }
        };
        assert_code(&bad(json!({"testType": "antibody", "caseId": flow.case_id})).await, StatusCode::BAD_REQUEST, "invalid_test_type");
        assert_code(&bad(json!({"testType": "confirmed", "symptomDate": "2026-12-01", "caseId": flow.case_id})).await, StatusCode::BAD_REQUEST, "invalid_date");
        assert_code(&bad(json!({"testType": "confirmed"})).await, StatusCode::BAD_REQUEST, "case_required");
        // A case of another health center does not exist for this key.
        let other = support::file_case(&app, &flow.world.hc_worker[1], &flow.world.health_center[1], "Other").await;
        assert_code(&bad(json!({"testType": "confirmed", "caseId": other})).await, StatusCode::NOT_FOUND, "not_found");
        // A device key cannot issue.
        let (status, _) = call(&app, "POST", "/api/issue", None, Some(&flow.device_key), Some(json!({"caseId": flow.case_id}))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    async fn hmac_secrets_rotate_without_losing_live_numbers(app, clock) {
        use mimamori::services::cases::mimamori_verification::config::Secret;
        use mimamori::services::cases::mimamori_verification::hooks::{
            ProcessingNumberError, ProcessingNumberVerifier,
        };
        let flow = prepared(&app, &clock).await;
        let second = issue(&app, &flow).await;
        let with_secrets = |secrets: Vec<&str>| {
            let mut settings = mimamori::config::Settings::default();
            support::settings(&mut settings);
            settings.verification.hmac_secrets = secrets.into_iter().map(|s| Secret(s.into())).collect();
            let shared: mimamori_storage::SharedClock = Arc::new(clock.clone());
            let registry = CaseRegistry::new(app.database.database.clone(), settings.cases, Arc::clone(&shared));
            Verification::new(
                app.database.database.clone(),
                registry,
                settings.verification,
                shared,
                mimamori::metrics::HttpMetrics::new().unwrap().registry(),
            )
            .unwrap()
        };
        let code = second["code"].as_str().unwrap();
        // Only the new secret: the number issued under the old one is unknown.
        let only_new = with_secrets(vec!["a-brand-new-hmac-secret-2026"]);
        assert_eq!(ProcessingNumberVerifier::claim(&only_new, code, None, None).await, Err(ProcessingNumberError::Unknown));
        // New secret first, old one kept: the live number still works.
        let rotated = with_secrets(vec!["a-brand-new-hmac-secret-2026", "test-hmac-secret-0123456789"]);
        assert!(ProcessingNumberVerifier::claim(&rotated, code, None, None).await.is_ok());
    }

    async fn revoked_device_keys_are_refused(app, clock) {
        let flow = prepared(&app, &clock).await;
        let (status, created) = call(
            &app,
            "POST",
            "/api/api-keys",
            Some(&flow.world.hc_admin),
            None,
            Some(json!({"kind": "device", "name": "old app"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let key = created["key"].as_str().unwrap();
        let (status, _) = call(&app, "POST", "/api/verify", None, Some(key), Some(json!({"code": "00000000"}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "the key works");
        // Another organization's admin cannot revoke it; its own admin can.
        let (status, _) = call(&app, "DELETE", &format!("/api/api-keys/{}", created["id"].as_str().unwrap()), Some(&flow.world.hc_worker[0]), None, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = call(&app, "DELETE", &format!("/api/api-keys/{}", created["id"].as_str().unwrap()), Some(&flow.world.hc_admin), None, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, body) = call(&app, "POST", "/api/verify", None, Some(key), Some(json!({"code": "00000000"}))).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
        // A device key cannot act as staff.
        let (status, _) = call(&app, "GET", "/api/cases", None, Some(&flow.device_key), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    async fn cocoa_processing_number_hook_claims_once(app, clock) {
        use mimamori::services::cases::mimamori_verification::hooks::{
            ProcessingNumberError, ProcessingNumberVerifier,
        };
        let flow = prepared(&app, &clock).await;
        let issued = issue(&app, &flow).await;
        let code = issued["code"].as_str().unwrap();
        let verification = in_process_verification(&app, &clock);
        let upload = ProcessingNumberVerifier::claim(&verification, code, None, None).await.unwrap();
        assert_eq!(upload.symptom_onset_interval, Some(((support::T0_MS / 1000 - 4 * 86_400) / 600) as u32));
        assert_eq!(ProcessingNumberVerifier::claim(&verification, code, None, None).await, Err(ProcessingNumberError::AlreadyUsed));
        assert_eq!(ProcessingNumberVerifier::claim(&verification, "99999999", None, None).await, Err(ProcessingNumberError::Unknown));
        let expiring = issue(&app, &flow).await;
        clock.advance_ms(25 * 3600 * 1000);
        assert_eq!(
            ProcessingNumberVerifier::claim(&verification, expiring["code"].as_str().unwrap(), None, None).await,
            Err(ProcessingNumberError::Expired)
        );
    }
}

/// 100 concurrent claims of one number over HTTP: exactly one succeeds.
async fn concurrent_claims(backend: mimamori_tests::Backend) {
    let Some((app, clock)) = support::start(backend, |s| {
        s.verification.max_failures_per_client = 1_000;
        s.database.max_connections = 32;
    })
    .await
    else {
        return;
    };
    let flow = prepared(&app, &clock).await;
    let issued = issue(&app, &flow).await;
    let code = issued["code"].as_str().unwrap().to_string();
    let app = Arc::new(app);
    let flow = Arc::new(flow);
    let mut handles = Vec::new();
    for _ in 0..100 {
        let (app, flow, code) = (Arc::clone(&app), Arc::clone(&flow), code.clone());
        handles.push(tokio::spawn(
            async move { verify(&app, &flow, &code).await },
        ));
    }
    let mut ok = 0;
    for handle in handles {
        let (status, body) = handle.await.unwrap();
        if status == StatusCode::OK {
            ok += 1;
        } else {
            assert_eq!(body["reason"], "code_already_used", "{body}");
            assert_eq!(body["errorCode"], "code_invalid", "{body}");
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_concurrent_claims_sqlite() {
    concurrent_claims(mimamori_tests::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_concurrent_claims_postgres() {
    concurrent_claims(mimamori_tests::Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_verifications_are_rate_limited_with_retry_after() {
    let (app, clock) = support::start(mimamori_tests::Backend::Sqlite, |s| {
        s.verification.max_failures_per_client = 3;
        s.verification.failure_alert_per_minute = 2;
    })
    .await
    .unwrap();
    let flow = prepared(&app, &clock).await;
    for _ in 0..3 {
        assert_code(
            &verify(&app, &flow, "00000000").await,
            StatusCode::BAD_REQUEST,
            "code_not_found",
        );
    }
    let response = app
        .client
        .post(app.url("/api/verify"))
        .header("X-API-Key", &flow.device_key)
        .json(&json!({"code": "00000000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=600).contains(&retry_after));
    // Even a valid code waits until the window ends.
    let issued = issue(&app, &flow).await;
    assert_eq!(
        verify(&app, &flow, issued["code"].as_str().unwrap())
            .await
            .0,
        StatusCode::TOO_MANY_REQUESTS
    );
    clock.advance_ms(601_000);
    assert_eq!(
        verify(&app, &flow, issued["code"].as_str().unwrap())
            .await
            .0,
        StatusCode::OK
    );
    // The spike alert is a metric; labels are error codes only.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("mimamori_verification_failure_spikes_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("mimamori_verification_failures_total{code=\"code_not_found\"} 3"));
    assert!(metrics.contains("mimamori_verification_rate_limited_total{scope=\"client\"} 2"));
    assert!(!metrics.contains("127.0.0.1"));
}

/// The whole loop with the real key server in the same process, with no issuer configured:
/// it trusts this server's JWKS, accepts the publish with our certificate, reports it back to the case, and the
/// case's revocation revokes the published keys.
async fn key_server_accepts_our_certificate(backend: mimamori_tests::Backend) {
    use base64::Engine as _;
    use mimamori_crypto::export::DiagnosisKey;
    use mimamori_crypto::keys::Tek;

    // No issuer is configured: the key server trusts the verification service of its own
    // process through this server's JWKS out of the box.
    let Some((app, clock)) = support::start(backend, |s| {
        assert!(s.key_server.issuers.is_empty());
    })
    .await
    else {
        return;
    };
    let flow = prepared(&app, &clock).await;
    let issued = issue(&app, &flow).await;
    let (status, verified) = verify(&app, &flow, issued["code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{verified}");

    let today = (support::T0_MS / 1000 / 600) as u32;
    let keys: Vec<DiagnosisKey> = (1..=3u32)
        .map(|day| DiagnosisKey::new(Tek::from_bytes([day as u8 + 40; 16]), today - day * 144))
        .collect();
    let hmac_key = b"app-secret-hmac-key-0123456789ab";
    let ekeyhmac = mimamori_crypto::tekmac::tekmac_base64(hmac_key, &keys);
    let (status, body) = call(
        &app,
        "POST",
        "/api/certificate",
        None,
        Some(&flow.device_key),
        Some(json!({"token": verified["token"], "ekeyhmac": ekeyhmac})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let keys_json: Vec<Value> = keys
        .iter()
        .map(|k| {
            json!({
                "key": base64::engine::general_purpose::STANDARD.encode(k.key_data.as_bytes()),
                "rollingStartNumber": k.rolling_start_interval_number,
                "rollingPeriod": k.rolling_period,
                "transmissionRisk": k.transmission_risk_level,
            })
        })
        .collect();
    let (status, published) = call(
        &app,
        "POST",
        "/v1/publish",
        None,
        None,
        Some(json!({
            "temporaryExposureKeys": keys_json,
            "verificationPayload": body["certificate"],
            "hmacKey": base64::engine::general_purpose::STANDARD.encode(hmac_key),
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["insertedExposures"], 3);

    let case_path = format!("/api/cases/{}", flow.case_id);
    let (_, case) = call(
        &app,
        "GET",
        &case_path,
        Some(&flow.world.hc_worker[0]),
        None,
        None,
    )
    .await;
    assert_eq!(
        history_kinds(&case),
        [
            "status:reported",
            "status:accepted",
            "number_issued",
            "number_claimed",
            "certificate_issued",
            "keys_published"
        ]
    );
    let published_event = case["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(published_event["detail"], "3 keys");

    let (status, revoked) = call(
        &app,
        "POST",
        &format!("{case_path}/revoke"),
        Some(&flow.world.hc_worker[0]),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["keysRevoked"], 3, "{revoked}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_server_accepts_our_certificate_sqlite() {
    key_server_accepts_our_certificate(mimamori_tests::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_server_accepts_our_certificate_postgres() {
    key_server_accepts_our_certificate(mimamori_tests::Backend::Postgres).await;
}

/// Two replicas on one database count failed guesses together: three failures spread over
/// both lock the client on both (the limit is in the database, not in each process).
async fn failure_limits_hold_across_replicas(backend: mimamori_tests::Backend) {
    let Some((app, clock)) = support::start(backend, |s| {
        s.verification.max_failures_per_client = 3;
    })
    .await
    else {
        return;
    };
    let flow = prepared(&app, &clock).await;
    let replica = app.replica().await;
    let guess_on = |base: String| {
        let client = app.client.clone();
        let key = flow.device_key.clone();
        async move {
            client
                .post(format!("{base}/api/verify"))
                .header("X-API-Key", key)
                .json(&json!({"code": "00000000"}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for base in [&app.base_url, &replica.base_url, &app.base_url] {
        assert_eq!(guess_on(base.clone()).await, StatusCode::BAD_REQUEST);
    }
    assert_eq!(
        guess_on(replica.base_url.clone()).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the replica that saw one failure knows of all three"
    );
    assert_eq!(
        guess_on(app.base_url.clone()).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    replica.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_limits_hold_across_replicas_sqlite() {
    failure_limits_hold_across_replicas(mimamori_tests::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_limits_hold_across_replicas_postgres() {
    failure_limits_hold_across_replicas(mimamori_tests::Backend::Postgres).await;
}
