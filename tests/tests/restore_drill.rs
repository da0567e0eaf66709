//! The restore drill, on SQLite and PostgreSQL: a server with published keys, an exported
//! window (export storage `database`, so the files are in the database) and a filed case is
//! backed up with the real `mimamori backup` while it keeps running, restored into a fresh
//! database with the real `mimamori restore`, and a server on the restored database must
//! serve the same listing, the same files byte for byte (SHA-256), the same number of keys
//! and the same case (read with the session made before the backup). Restoring over a
//! database in use, or over one that exists without `--force`, is refused.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod support;

use std::path::Path;
use std::process::Output;
use std::time::Instant;

use base64::Engine as _;
use mimamori::startup::Application;
use mimamori_crypto::export::{DiagnosisKey, read_archive};
use mimamori_crypto::keys::Tek;
use mimamori_key_server::config::ExportStorage;
use mimamori_key_server::store::{DatabaseKeyServerStore, KeyServerStore};
use mimamori_storage::testing::TestDatabase;
use mimamori_storage::{Clock as _, Database, DatabaseTarget, PoolOptions};
use mimamori_tests::certs::TestIssuer;
use mimamori_tests::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::call;

/// The UTC day start of `support::T0_MS` as an ENIntervalNumber (T0 is midnight UTC).
const DAY_START_INTERVAL: u32 = (support::T0_MS / 600_000) as u32;
const HMAC_KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn daily_keys(count: u32) -> Vec<DiagnosisKey> {
    (1..=count)
        .map(|day| {
            let mut key = DiagnosisKey::new(
                Tek::from_bytes([40u8.wrapping_add(day as u8); 16]),
                DAY_START_INTERVAL - day * 144,
            );
            key.transmission_risk_level = 0;
            key
        })
        .collect()
}

fn publish_body(issuer: &TestIssuer, now_s: i64, keys: &[DiagnosisKey]) -> Value {
    let mut claims = issuer.claims(now_s);
    claims.report_type = "confirmed".into();
    claims.symptom_onset_interval = Some(DAY_START_INTERVAL - 3 * 144);
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let keys_json: Vec<Value> = keys
        .iter()
        .map(|k| {
            json!({
                "key": b64(k.key_data.as_bytes()),
                "rollingStartNumber": k.rolling_start_interval_number,
                "rollingPeriod": k.rolling_period,
                "transmissionRisk": k.transmission_risk_level,
            })
        })
        .collect();
    json!({
        "temporaryExposureKeys": keys_json,
        "healthAuthorityID": issuer.issuer,
        "verificationPayload": issuer.certificate(keys, HMAC_KEY, &claims),
        "hmacKey": b64(HMAC_KEY),
        "padding": "AAAA",
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    mimamori_crypto::hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// Runs the real binary with `DATABASE_URL` set to `url`.
fn mimamori(url: &str, args: &[&str]) -> Output {
    std::process::Command::new(mimamori_tests::mimamori_binary())
        .args(args)
        .env("DATABASE_URL", url)
        .env("MIMAMORI_LOG__LEVEL", "warn")
        .output()
        .unwrap()
}

fn assert_success(output: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A refused run: exit status 2 and one `error:` line containing `needle`.
fn assert_refused(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "must be refused: {stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains(needle),
        "expected {needle:?} in {}",
        errors[0]
    );
}

/// What a server on a database serves: the listing, every listed file's SHA-256, and the
/// number of stored keys.
async fn exports(
    client: &reqwest::Client,
    base: &str,
    database: &Database,
) -> (String, Vec<String>, i64) {
    let index = client
        .get(format!("{base}/v1/exports/index.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(index.status(), 200);
    let index = index.text().await.unwrap();
    let mut digests = Vec::new();
    for path in index.lines() {
        let download = client
            .get(format!("{base}/v1/exports/{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(download.status(), 200, "{path}");
        let bytes = download.bytes().await.unwrap();
        read_archive(&bytes).unwrap();
        digests.push(sha256_hex(&bytes));
    }
    let keys = DatabaseKeyServerStore::new(database.clone())
        .count_keys()
        .await
        .unwrap();
    (index, digests, keys)
}

/// The PostgreSQL URL with a password in it (unless it has one), so the drill also shows the
/// password never reaches the tools' command lines or the output. Trust authentication
/// ignores it.
fn with_password(url: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    if parsed.password().is_none() {
        parsed.set_password(Some("drill-secret-pw")).unwrap();
    }
    parsed.to_string()
}

async fn drill(backend: Backend) {
    let started = Instant::now();
    let issuer = TestIssuer::new("drill-health-authority", "v1");
    let issuer_config = issuer.config();
    let Some((app, clock)) = support::start(backend, move |settings| {
        settings.key_server.issuers = vec![issuer_config];
        settings.key_server.export.min_keys_per_file = 50;
        settings.key_server.export.padding_jitter = 10;
        settings.key_server.export.min_window_age_seconds = 0;
        settings.key_server.export.storage = ExportStorage::Database;
    })
    .await
    else {
        return;
    };
    // 13:20 UTC on T0's day: the keys of the 14 days before are all in the past.
    clock.advance_ms(80 * 600_000);

    // Keys published, a window exported into the database, a case filed.
    let keys = daily_keys(14);
    let response = app
        .client
        .post(app.url("/v1/publish"))
        .json(&publish_body(&issuer, clock.now_seconds(), &keys))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    clock.advance_ms(3_600_000);
    let report = app.exporter().run_once().await.unwrap();
    assert_eq!(report.real_keys, 14);
    assert!(!report.files.is_empty());
    let world = support::world(&app, &clock).await;
    let case_id = support::file_case(
        &app,
        &world.doctor[0],
        &world.health_center[0],
        "Restore Drill",
    )
    .await;
    let case_path = format!("/api/cases/{case_id}");
    let (status, case) = call(
        &app,
        "GET",
        &case_path,
        Some(&world.hc_worker[0]),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{case}");

    let before = exports(&app.client, &app.base_url, &app.database.database).await;
    assert_eq!(before.0.lines().count(), report.files.len());
    let listed: Vec<&str> = report.files.iter().map(|f| f.sha256.as_str()).collect();
    assert_eq!(before.1, listed, "the files served are the listed ones");
    assert!(before.2 >= 14, "{}", before.2);

    // The backup, while the server keeps running.
    let directory = tempfile::tempdir().unwrap();
    let source_url = match backend {
        Backend::Sqlite => app.database.url.clone(),
        Backend::Postgres => with_password(&app.database.url),
    };
    let file = directory.path().join(match backend {
        Backend::Sqlite => "mimamori-backup.db",
        Backend::Postgres => "mimamori-backup.dump",
    });
    let file_arg = file.to_str().unwrap();
    let output = mimamori(&source_url, &["backup", "--out", file_arg]);
    let stdout = assert_success(&output, "backup");
    assert!(stdout.contains(&format!("file: {file_arg}")), "{stdout}");
    assert!(file.is_file());
    for text in [
        &stdout,
        &String::from_utf8_lossy(&output.stderr).into_owned(),
    ] {
        assert!(!text.contains("drill-secret-pw"), "password leaked: {text}");
    }
    // A second backup to the same file needs --force.
    assert_refused(
        &mimamori(&source_url, &["backup", "--out", file_arg]),
        "already exists",
    );

    // The database in use is never restored over, even with --force.
    assert_refused(
        &mimamori(&source_url, &["restore", "--from", file_arg, "--force"]),
        "in use",
    );

    // Restore into a fresh database.
    let (restored_url, _fresh_database): (String, Option<TestDatabase>) = match backend {
        Backend::Sqlite => {
            let path = directory.path().join("restored").join("mimamori.db");
            (format!("sqlite://{}", path.display()), None)
        }
        Backend::Postgres => {
            let fresh = TestDatabase::postgres_unmigrated().await.unwrap();
            (with_password(&fresh.url), Some(fresh))
        }
    };
    let output = mimamori(&restored_url, &["restore", "--from", file_arg]);
    let stdout = assert_success(&output, "restore");
    assert!(
        stdout.contains(&format!(
            "backend: {}",
            match backend {
                Backend::Sqlite => "sqlite",
                Backend::Postgres => "postgres",
            }
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("drill-secret-pw"), "{stdout}");
    // Once restored, the target exists: restoring again needs --force.
    assert_refused(
        &mimamori(&restored_url, &["restore", "--from", file_arg]),
        "already exists",
    );
    // Nothing is pending (the backup holds the migration history).
    assert_success(&mimamori(&restored_url, &["migrate"]), "migrate");

    // A server on the restored database serves the same.
    let target = DatabaseTarget::parse(Some(&restored_url), Path::new("unused.db")).unwrap();
    let restored = Database::open(&target, &PoolOptions::default()).unwrap();
    let mut settings = app.settings.clone();
    settings.database_url = Some(restored_url.clone());
    let application = Application::build_with_database(
        settings,
        restored.clone(),
        std::sync::Arc::new(clock.clone()),
    )
    .await
    .unwrap();
    let base = format!("http://{}", application.address());
    let handle = application.handle();
    tokio::spawn(application.run_until_stopped());
    let ready = app
        .client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    let after = exports(&app.client, &base, &restored).await;
    assert_eq!(
        after, before,
        "listing, file SHA-256 and key count after restore"
    );
    let response = app
        .client
        .get(format!("{base}{case_path}"))
        .bearer_auth(&world.hc_worker[0])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let restored_case: Value = response.json().await.unwrap();
    assert_eq!(restored_case, case, "the case after restore");

    handle.stop(true).await;
    restored.close();
    stop(&app).await;
    eprintln!(
        "restore drill on {backend:?}: {} file(s), {} keys, {:.1} s",
        before.1.len(),
        before.2,
        started.elapsed().as_secs_f64()
    );
}

async fn stop(app: &TestApp) {
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_drill_sqlite() {
    drill(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_drill_postgres() {
    drill(Backend::Postgres).await;
}
