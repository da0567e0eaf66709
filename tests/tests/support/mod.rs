//! Helpers shared by the case-registry and verification end-to-end tests: a server with a
//! manual clock and cheap Argon2, an initialised national admin, organizations and users
//! signed in over HTTP.
#![allow(dead_code, clippy::unwrap_used)]

pub mod app;
pub mod open_data;
pub mod visitor;

use std::sync::Arc;

use mimamori::config::Settings;
use mimamori::services::cases::mimamori_cases::CaseRegistry;
use mimamori::services::cases::mimamori_cases::model::secrets;
use mimamori::services::cases::mimamori_verification::config::Secret;
use mimamori_storage::ManualClock;
use mimamori_tests::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// 2026-11-20T00:00:00Z.
pub const T0_MS: i64 = 1_795_132_800_000;

/// Test settings: cheap Argon2, fixed secrets.
pub fn settings(settings: &mut Settings) {
    settings.cases.argon2_memory_kib = 64;
    settings.cases.argon2_iterations = 1;
    settings.verification.hmac_secrets = vec![Secret("test-hmac-secret-0123456789".into())];
    settings.verification.master_key = Some(Secret(
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
    ));
}

/// A server on `backend` with a manual clock at [`T0_MS`]; `None` when PostgreSQL is skipped.
pub async fn start(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
) -> Option<(TestApp, ManualClock)> {
    let clock = ManualClock::new(T0_MS);
    let app = mimamori_tests::spawn_app_with_clock(backend, clock.clone(), |s| {
        settings(s);
        adjust(s);
    })
    .await?;
    Some((app, clock))
}

/// Runs each body on SQLite and PostgreSQL with `(app, clock)` from [`start`].
#[macro_export]
macro_rules! flow_tests {
    ( $( async fn $name:ident($app:ident, $clock:ident) $body:block )* ) => {
        flow_tests_with! { |_| {}; $( async fn $name($app, $clock) $body )* }
    };
}

/// [`flow_tests!`] with the settings adjusted by `$adjust` (an `FnOnce(&mut Settings)`).
#[macro_export]
macro_rules! flow_tests_with {
    ( $adjust:expr; $( async fn $name:ident($app:ident, $clock:ident) $body:block )* ) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let ($app, $clock) = support::start(mimamori_tests::Backend::Sqlite, $adjust)
                        .await
                        .expect("SQLite is always available");
                    $body
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(($app, $clock)) =
                        support::start(mimamori_tests::Backend::Postgres, $adjust).await
                    else {
                        return;
                    };
                    $body
                }
            }
        )*
    };
}

/// Credentials as the API or `admin init` shows them.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    pub totp_secret: String,
}

impl Credentials {
    pub fn from_json(value: &Value) -> Credentials {
        Credentials {
            username: value["username"].as_str().unwrap().into(),
            password: value["password"].as_str().unwrap().into(),
            totp_secret: value["totpSecret"].as_str().unwrap().into(),
        }
    }
}

/// Sends a request; returns status and JSON body (Null when empty).
pub async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    api_key: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app.client.request(method.parse().unwrap(), app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(key) = api_key {
        request = request.header("X-API-Key", key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

/// Signs in with password and the current TOTP.
pub async fn login(app: &TestApp, clock: &ManualClock, credentials: &Credentials) -> String {
    use mimamori_storage::Clock as _;
    let secret = secrets::base32_decode(&credentials.totp_secret).unwrap();
    let totp = secrets::totp(&secret, clock.now_seconds());
    let (status, body) = call(
        app,
        "POST",
        "/api/auth/login",
        None,
        None,
        Some(json!({"username": credentials.username, "password": credentials.password, "totp": totp})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["token"].as_str().unwrap().to_string()
}

/// The organizations and signed-in users of a small country.
pub struct World {
    pub national_admin: String,
    pub national_stats: String,
    pub prefecture: [String; 2],
    pub health_center: [String; 2],
    pub clinic: [String; 2],
    /// Case workers of health centers 1 and 2.
    pub hc_worker: [String; 2],
    /// Org admin of health center 1 (no case role).
    pub hc_admin: String,
    /// Case workers of prefectures 1 and 2.
    pub pref_worker: [String; 2],
    /// Doctors of clinics 1 and 2.
    pub doctor: [String; 2],
    /// Credentials of `admin init`.
    pub admin_credentials: Credentials,
}

/// `admin init` on the server's database, exactly as the CLI does it.
pub async fn admin_init(app: &TestApp, clock: &ManualClock) -> Credentials {
    let mut config = Settings::default().cases;
    config.argon2_memory_kib = 64;
    config.argon2_iterations = 1;
    let registry = CaseRegistry::new(
        app.database.database.clone(),
        config,
        Arc::new(clock.clone()),
    );
    let (_, user) = registry.init("Ministry", "admin").await.unwrap();
    Credentials {
        username: user.username,
        password: user.password,
        totp_secret: user.totp_secret,
    }
}

/// Creates an organization through the API as `token` and returns its id.
pub async fn organization(
    app: &TestApp,
    token: &str,
    kind: &str,
    name: &str,
    parent: Option<&str>,
) -> String {
    let (status, body) = call(
        app,
        "POST",
        "/api/organizations",
        Some(token),
        None,
        Some(json!({"kind": kind, "name": name, "parentId": parent})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_string()
}

/// Creates a user through the API and signs them in.
pub async fn user(
    app: &TestApp,
    clock: &ManualClock,
    admin_token: &str,
    organization: &str,
    username: &str,
    roles: &[&str],
) -> String {
    let (status, body) = call(
        app,
        "POST",
        "/api/users",
        Some(admin_token),
        None,
        Some(json!({"organizationId": organization, "username": username, "roles": roles})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    login(app, clock, &Credentials::from_json(&body)).await
}

/// Builds the [`World`] over HTTP.
pub async fn world(app: &TestApp, clock: &ManualClock) -> World {
    let admin_credentials = admin_init(app, clock).await;
    let admin = login(app, clock, &admin_credentials).await;
    let p1 = organization(app, &admin, "prefecture", "Tokyo", None).await;
    let p2 = organization(app, &admin, "prefecture", "Osaka", None).await;
    let h1 = organization(app, &admin, "health_center", "Minato HC", Some(&p1)).await;
    let h2 = organization(app, &admin, "health_center", "Kita HC", Some(&p2)).await;
    let c1 = organization(app, &admin, "medical_institution", "Clinic A", Some(&h1)).await;
    let c2 = organization(app, &admin, "medical_institution", "Clinic B", Some(&h2)).await;
    let national_org = {
        let (_, me) = call(app, "GET", "/api/auth/me", Some(&admin), None, None).await;
        me["organizationId"].as_str().unwrap().to_string()
    };
    World {
        national_stats: user(
            app,
            clock,
            &admin,
            &national_org,
            "stats",
            &["statistics_viewer"],
        )
        .await,
        hc_worker: [
            user(app, clock, &admin, &h1, "hc1.worker", &["case_worker"]).await,
            user(app, clock, &admin, &h2, "hc2.worker", &["case_worker"]).await,
        ],
        hc_admin: user(app, clock, &admin, &h1, "hc1.admin", &["org_admin"]).await,
        pref_worker: [
            user(app, clock, &admin, &p1, "p1.worker", &["case_worker"]).await,
            user(app, clock, &admin, &p2, "p2.worker", &["case_worker"]).await,
        ],
        doctor: [
            user(app, clock, &admin, &c1, "c1.doctor", &["doctor"]).await,
            user(app, clock, &admin, &c2, "c2.doctor", &["doctor"]).await,
        ],
        national_admin: admin,
        prefecture: [p1, p2],
        health_center: [h1, h2],
        clinic: [c1, c2],
        admin_credentials,
    }
}

/// A valid notification of occurrence for `health_center`.
pub fn notification(health_center: &str, name: &str) -> Value {
    json!({
        "name": name,
        "kana": "ヤマダ タロウ",
        "sex": "male",
        "dateOfBirth": "1980-04-01",
        "age": 46,
        "phone": "090-0000-0000",
        "vulnerableHousehold": false,
        "healthCenterId": health_center,
        "municipality": "Minato-ku",
        "resultDate": "2026-11-18",
        "diagnosisDate": "2026-11-18",
        "onsetDate": "2026-11-16",
        "admitted": false,
        "icu": false,
        "ventilator": false,
        "ecmo": false,
        "outcome": "under treatment",
        "linkedToOtherCase": false,
        "reportDate": "2026-11-18",
        "postMortem": false,
        "symptomsAtDiagnosis": ["fever", "cough"],
        "diagnosisMethod": "PCR",
        "specimenType": "nasopharyngeal swab",
        "infectionRoute": "droplet",
        "infectionArea": "domestic",
        "infectionConfirmed": false
    })
}

/// Files a case as `token` and returns its id.
pub async fn file_case(app: &TestApp, token: &str, health_center: &str, name: &str) -> String {
    let (status, body) = call(
        app,
        "POST",
        "/api/cases",
        Some(token),
        None,
        Some(notification(health_center, name)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_string()
}

/// Files a case as the world's first doctor and has the first health center accept it.
#[allow(dead_code)] // not every test binary uses every helper
pub async fn accepted_case(app: &TestApp, world: &World, name: &str) -> String {
    let case_id = file_case(app, &world.doctor[0], &world.health_center[0], name).await;
    let (status, body) = call(
        app,
        "POST",
        &format!("/api/cases/{case_id}/status"),
        Some(&world.hc_worker[0]),
        None,
        Some(json!({"status": "accepted"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    case_id
}

/// Issues a processing number for a case as the first health center's worker; the response.
#[allow(dead_code)] // not every test binary uses every helper
pub async fn issue_processing_number(app: &TestApp, world: &World, case_id: &str) -> Value {
    let (status, body) = call(
        app,
        "POST",
        &format!("/api/cases/{case_id}/processing-number"),
        Some(&world.hc_worker[0]),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// Creates an API key of `kind` for the caller's organization.
pub async fn api_key(app: &TestApp, admin_token: &str, organization: &str, kind: &str) -> String {
    let (status, body) = call(
        app,
        "POST",
        "/api/api-keys",
        Some(admin_token),
        None,
        Some(json!({"organizationId": organization, "kind": kind, "name": "test"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["key"].as_str().unwrap().to_string()
}

/// base64url without padding (for forging tokens in tests).
pub fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Decodes base64url without padding.
pub fn b64url_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|x| *x == c).unwrap() as u32;
        buffer = (buffer << 6) | v;
        bits += 6;
        if bits >= 8 {
            out.push(((buffer >> (bits - 8)) & 0xff) as u8);
            bits -= 8;
        }
    }
    out
}

/// The claims of a JWT (unverified).
pub fn claims(token: &str) -> Value {
    serde_json::from_slice(&b64url_decode(token.split('.').nth(1).unwrap())).unwrap()
}
