//! Database outages on PostgreSQL, over real HTTP: while the database cannot be reached every
//! endpoint family (sign-in, cases, statistics, follow-up, alerts, verification, the key
//! server's publish and COCOA upload, export listings, the console) answers 503
//! `database_unavailable` with `Retry-After`, never 500; when the database is back the same
//! requests succeed without a restart. Two kinds of outage: the network path cut (a relay
//! between server and PostgreSQL drops every connection and refuses new ones) and every
//! connection terminated by the database (`pg_terminate_backend`, as a failover or a DBA does).
#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;

use std::time::Duration;

use base64::Engine as _;
use mimamori_storage::ManualClock;
use mimamori_tests::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::app::*;
use support::visitor::Visitor;

/// One request of the probe: what it is, and how to send it.
struct Probe {
    name: &'static str,
    method: &'static str,
    path: String,
    bearer: Option<String>,
    api_key: Option<String>,
    cookie: Option<String>,
    form: Option<String>,
    body: Option<Vec<u8>>,
    /// What the request answers when the database is up.
    healthy: &'static [u16],
}

impl Probe {
    fn json(
        name: &'static str,
        method: &'static str,
        path: String,
        healthy: &'static [u16],
    ) -> Self {
        Probe {
            name,
            method,
            path,
            bearer: None,
            api_key: None,
            cookie: None,
            form: None,
            body: None,
            healthy,
        }
    }

    fn bearer(mut self, token: &str) -> Self {
        self.bearer = Some(token.into());
        self
    }

    fn api_key(mut self, key: &str) -> Self {
        self.api_key = Some(key.into());
        self
    }

    fn body(mut self, body: Value) -> Self {
        self.body = Some(serde_json::to_vec(&body).unwrap());
        self
    }

    fn raw_body(mut self, body: Vec<u8>) -> Self {
        self.body = Some(body);
        self
    }

    async fn send(&self, app: &TestApp) -> (StatusCode, reqwest::header::HeaderMap, String) {
        let mut request = app
            .client
            .request(self.method.parse().unwrap(), app.url(&self.path));
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token);
        }
        if let Some(key) = &self.api_key {
            request = request.header("X-API-Key", key);
        }
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(form) = &self.form {
            request = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.clone());
        } else if let Some(body) = &self.body {
            request = request
                .header("content-type", "application/json")
                .body(body.clone());
        }
        let response = request
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap())
    }
}

/// A case with a follow-up plan, a link token, a processing number and a certificate, made
/// while the database is up; then one probe per endpoint family.
async fn probes(app: &TestApp, clock: &ManualClock) -> Vec<Probe> {
    let w = app_world(app, clock).await;
    let case_id = &w.case_id;
    let hc = &w.world.hc_worker[0];
    let (status, body) = support::call(app, "PUT", &format!("/api/cases/{case_id}/followup"), Some(hc), None,
        Some(json!({"startDate": "2026-11-20", "endDate": "2026-11-29", "reportingTimes": ["09:00"]}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = support::call(
        app,
        "POST",
        &format!("/api/cases/{case_id}/followup/token"),
        Some(hc),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let link = body["token"].as_str().unwrap().to_string();
    let cocoa_number = support::issue_processing_number(app, &w.world, case_id).await["code"]
        .as_str()
        .unwrap()
        .to_string();
    let issued = issue(app, &w, "confirmed").await;
    let (status, verified) = app_post(
        app,
        "/api/verify",
        Some(&w.device_key),
        false,
        verify_body(issued["code"].as_str().unwrap(), &APP_ACCEPT, None),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    let keys = app_keys(40);
    let hmac_key = [5u8; 16];
    let (status, certificate) = app_post(
        app,
        "/api/certificate",
        Some(&w.device_key),
        false,
        app_padded(json!({"token": verified["token"], "ekeyhmac": app_hmac(&keys, &hmac_key)})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{certificate}");
    let certificate = certificate["certificate"].as_str().unwrap().to_string();
    // A second verification code, verified during the outage.
    let unverified = issue(app, &w, "confirmed").await["code"]
        .as_str()
        .unwrap()
        .to_string();

    // Sign-in probes need a one-time code of their own (codes are single use): the API one
    // is a new user's, the console one the national admin's, at a later time step.
    let (status, created) = support::call(app, "POST", "/api/users", Some(&w.world.national_admin), None,
        Some(json!({"organizationId": w.world.health_center[0], "username": "outage.nurse", "roles": ["case_worker"]}))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let credentials = support::Credentials::from_json(&created);
    clock.advance_ms(30_000);
    let totp = support::visitor::totp(clock, &credentials);
    let mut console = Visitor::new(app);
    console.sign_in(clock, &w.world.admin_credentials).await;
    let console_cookie = console
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut signed_out = Visitor::new(app);
    let login_form = signed_out.get("/console/login").await;
    clock.advance_ms(30_000);
    let console_totp = support::visitor::totp(clock, &w.world.admin_credentials);

    let today = ((support::T0_MS / 1000) / 600) as u32 / 144 * 144;
    let cocoa_keys: Vec<Value> = (1..=3u32)
        .map(|day| json!({"keyData": base64::engine::general_purpose::STANDARD.encode([day as u8 + 90; 16]),
            "rollingStartNumber": today - day * 144, "rollingPeriod": 144, "reportType": 1}))
        .collect();
    let credentials = &credentials;

    let mut probes = vec![
        Probe::json("sign-in", "POST", "/api/auth/login".into(), &[200])
            .body(json!({"username": credentials.username, "password": credentials.password, "totp": totp})),
        Probe::json("session", "GET", "/api/auth/me".into(), &[200]).bearer(hc),
        Probe::json("case list", "GET", "/api/cases".into(), &[200]).bearer(hc),
        Probe::json("case", "GET", format!("/api/cases/{case_id}"), &[200]).bearer(hc),
        Probe::json("file a case", "POST", "/api/cases".into(), &[201])
            .bearer(&w.world.doctor[0]).body(support::notification(&w.world.health_center[0], "Outage Hanako")),
        Probe::json("organizations", "GET", "/api/organizations".into(), &[200]).bearer(&w.world.national_admin),
        Probe::json("statistics", "GET", "/api/statistics/cases".into(), &[200]).bearer(&w.world.national_stats),
        Probe::json("alerts", "GET", "/api/alerts".into(), &[200]).bearer(hc),
        Probe::json("follow-up plan", "GET", format!("/api/cases/{case_id}/followup"), &[200]).bearer(hc),
        Probe::json("follow-up report", "POST", "/api/followup/observations".into(), &[201])
            .bearer(&link).body(json!({"spo2": 97, "temperature": 36.8})),
        Probe::json("processing number", "POST", format!("/api/cases/{case_id}/processing-number"), &[201]).bearer(hc),
        Probe::json("issue", "POST", "/api/issue".into(), &[200]).api_key(&w.admin_key)
            .body(json!({"testType": "confirmed", "symptomDate": "2026-11-16", "tzOffset": 540, "caseId": case_id})),
        Probe::json("verify", "POST", "/api/verify".into(), &[200]).api_key(&w.device_key)
            .raw_body(verify_body(&unverified, &APP_ACCEPT, None)),
        Probe::json("code status", "POST", "/api/checkcodestatus".into(), &[200]).api_key(&w.admin_key)
            .body(json!({"uuid": issued["uuid"]})),
        Probe::json("publish", "POST", "/v1/publish".into(), &[200])
            .raw_body(publish_body(&keys, &certificate, &hmac_key, APP_HEALTH_AUTHORITY_ID)),
        Probe::json("COCOA upload", "PUT", "/api/v3/diagnosis".into(), &[204])
            .body(json!({"hasSymptom": true, "onsetOfSymptomOrTestDate": "2026-11-16T00:00:00.000+09:00",
                "keys": cocoa_keys, "regions": ["440"], "platform": "android",
                "deviceVerificationPayload": "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl",
                "appPackageName": "jp.go.mhlw.cocoa", "verificationPayload": cocoa_number,
                "idempotency_key": "5b1f0c8e-7d2a-4c1b-9e3f-000000000777",
                "padding": "AAAA"})),
        Probe::json("export index", "GET", "/v1/exports/index.txt".into(), &[200]),
        Probe::json("COCOA list", "GET", "/c19r/440/list.json".into(), &[200]),
        Probe::json("readiness", "GET", "/readyz".into(), &[200]),
    ];
    let mut page = Probe::json("console page", "GET", "/console/cases".into(), &[200]);
    page.cookie = Some(console_cookie);
    probes.push(page);
    let mut sign_in = Probe::json("console sign-in", "POST", "/console/login".into(), &[303]);
    sign_in.cookie = Some(
        signed_out
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; "),
    );
    sign_in.form = Some(
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("csrf", login_form.csrf().as_str()),
                ("username", &w.world.admin_credentials.username),
                ("password", &w.world.admin_credentials.password),
                ("totp", &console_totp),
            ])
            .finish(),
    );
    probes.push(sign_in);
    probes
}

/// Every probe answers 503 `database_unavailable` with a `Retry-After`.
async fn assert_all_unavailable(app: &TestApp, probes: &[Probe], outage: &str) {
    let mut wrong = Vec::new();
    for probe in probes {
        let (status, headers, body) = probe.send(app).await;
        let code = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["errorCode"].as_str().map(String::from));
        let is_html = headers
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
        let retry_after = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u32>().ok());
        if status != StatusCode::SERVICE_UNAVAILABLE
            || retry_after.is_none_or(|s| s == 0)
            || !(is_html || code.as_deref() == Some("database_unavailable"))
        {
            wrong.push(format!(
                "{} {} {}: {status} retry-after={retry_after:?} {}",
                probe.name,
                probe.method,
                probe.path,
                body.chars().take(160).collect::<String>()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{outage}: not 503 database_unavailable:\n{}",
        wrong.join("\n")
    );
}

/// Once the database is back, every probe answers as when healthy (within a few seconds: the
/// pool reconnects on demand).
async fn assert_all_recovered(app: &TestApp, probes: &[Probe], outage: &str) {
    for probe in probes {
        let mut last = String::new();
        let mut recovered = false;
        for _ in 0..40 {
            let (status, _, body) = probe.send(app).await;
            if probe.healthy.contains(&status.as_u16())
                || (status.is_client_error() && probe.name != "readiness")
            {
                recovered = true;
                assert!(
                    !status.is_server_error(),
                    "{outage}: {} answered {status}",
                    probe.name
                );
                break;
            }
            last = format!("{status} {}", body.chars().take(160).collect::<String>());
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert!(
            recovered,
            "{outage}: {} did not recover: {last}",
            probe.name
        );
    }
}

async fn terminate_connections(app: &TestApp) {
    let name = app.database.url.rsplit('/').next().unwrap().to_string();
    let (client, connection) = tokio_postgres::connect(
        &mimamori_storage::testing::admin_url(),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    client
        .execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", &[&name])
        .await
        .unwrap();
}

/// A server behind a relay (PostgreSQL; `None` when skipped) and its probes.
async fn start_with_probes() -> Option<(TestApp, Vec<Probe>)> {
    let clock = ManualClock::new(support::T0_MS);
    let app = mimamori_tests::spawn_app_behind_relay(clock.clone(), |s| {
        support::settings(s);
        with_app_authority(s);
    })
    .await?;
    let probes = probes(&app, &clock).await;
    Some((app, probes))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_503_while_postgres_is_unreachable_and_recovers() {
    let Some((app, probes)) = start_with_probes().await else {
        return;
    };
    let relay = app.relay.as_ref().unwrap();

    relay.cut();
    assert_all_unavailable(&app, &probes, "network cut").await;
    relay.restore();
    // What was refused during the outage is done now, once.
    assert_all_recovered(&app, &probes, "network cut").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_connections_give_503_or_success_never_500() {
    let Some((app, probes)) = start_with_probes().await else {
        return;
    };
    // Every pooled connection is killed by the server; the next request of each probe may
    // meet a dead connection (503) or a fresh one (success), never a 500.
    for round in 0..3 {
        terminate_connections(&app).await;
        for probe in &probes {
            let (status, headers, body) = probe.send(&app).await;
            assert!(
                !status.is_server_error()
                    || (status == StatusCode::SERVICE_UNAVAILABLE
                        && headers.contains_key("retry-after")),
                "round {round}: {} answered {status}: {body}",
                probe.name
            );
        }
    }
    assert_all_recovered(&app, &probes, "terminated connections").await;
}
