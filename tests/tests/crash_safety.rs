//! Crash safety: publish under load against the real `mimamori` binary, `kill -9` it, start
//! it again: every key that was acknowledged with a 2xx is stored. On SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use mimamori_crypto::export::DiagnosisKey;
use mimamori_crypto::interval::EnIntervalNumber;
use mimamori_crypto::keys::Tek;
use mimamori_key_server::store::{DatabaseKeyServerStore, KeyServerStore};
use mimamori_storage::testing::TestDatabase;
use mimamori_tests::certs::TestIssuer;
use mimamori_tests::{free_port, wait_ready};
use serde_json::json;

fn start(config: &std::path::Path, database_url: &str, port: u16) -> Child {
    Command::new(mimamori_tests::mimamori_binary())
        .args([
            "--config",
            config.to_str().unwrap(),
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("DATABASE_URL", database_url)
        .env("MIMAMORI_LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn crash_and_recover(database: TestDatabase) {
    let issuer = Arc::new(TestIssuer::new("crash-test-authority", "v1"));
    let directory = tempfile::tempdir().unwrap();
    let config = directory.path().join("mimamori.toml");
    std::fs::write(
        &config,
        format!(
            "[key_server.export]\nenabled = false\ndirectory = \"{}\"\n\n[[key_server.issuers]]\nissuer = \"{}\"\naudience = \"{}\"\npublic_keys = [\"v1={}\"]\n",
            directory.path().join("exports").display(),
            issuer.issuer,
            mimamori_tests::certs::AUDIENCE,
            issuer.public_key_path.display()
        ),
    )
    .unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut server = start(&config, &database.url, port);
    wait_ready(&client, &base, 30).await;

    let acknowledged: Arc<Mutex<Vec<[u8; 16]>>> = Arc::default();
    let stop_at = Instant::now() + Duration::from_millis(1500);
    let today = EnIntervalNumber::from_unix_seconds(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .day_start()
    .0;
    let mut workers = Vec::new();
    for worker in 0u16..6 {
        let (client, base, issuer, acknowledged) = (
            client.clone(),
            base.clone(),
            Arc::clone(&issuer),
            Arc::clone(&acknowledged),
        );
        workers.push(tokio::spawn(async move {
            let mut counter = 0u32;
            // Keep publishing until the server is gone.
            loop {
                counter += 1;
                let keys: Vec<DiagnosisKey> = (1..=14u32)
                    .map(|day| {
                        let mut bytes = [0u8; 16];
                        bytes[..2].copy_from_slice(&worker.to_le_bytes());
                        bytes[2..6].copy_from_slice(&counter.to_le_bytes());
                        bytes[6..10].copy_from_slice(&day.to_le_bytes());
                        DiagnosisKey::new(Tek::from_bytes(bytes), today - day * 144)
                    })
                    .collect();
                let hmac = b"crash-test-hmac-key-0123456789ab";
                let now_s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
                let certificate = issuer.certificate(&keys, hmac, &issuer.claims(now_s));
                let body = json!({
                    "temporaryExposureKeys": keys.iter().map(|k| json!({
                        "key": base64::engine::general_purpose::STANDARD.encode(k.key_data.as_bytes()),
                        "rollingStartNumber": k.rolling_start_interval_number,
                        "rollingPeriod": 144,
                    })).collect::<Vec<_>>(),
                    "verificationPayload": certificate,
                    "hmacKey": base64::engine::general_purpose::STANDARD.encode(hmac),
                });
                match client.post(format!("{base}/v1/publish")).json(&body).send().await {
                    Ok(response) if response.status().is_success() => {
                        let mut acknowledged = acknowledged.lock().unwrap();
                        acknowledged.extend(keys.iter().map(|k| *k.key_data.as_bytes()));
                    }
                    Ok(response) => panic!("unexpected status {}", response.status()),
                    Err(_) => return counter,
                }
            }
        }));
    }
    tokio::time::sleep(stop_at.saturating_duration_since(Instant::now())).await;
    server.kill().unwrap(); // SIGKILL: no graceful shutdown, no flush
    server.wait().unwrap();
    for worker in workers {
        worker.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 14 * 10,
        "the load produced acknowledged publishes: {}",
        acknowledged.len()
    );

    // Restart on the same database; every acknowledged key is there.
    let mut server = start(&config, &database.url, port);
    wait_ready(&client, &base, 30).await;
    let store = DatabaseKeyServerStore::new(database.database.clone());
    let mut found = 0;
    for chunk in acknowledged.chunks(500) {
        found += store.existing_keys("440", chunk).await.unwrap().len();
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(
        found,
        acknowledged.len(),
        "every acknowledged key survived kill -9"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_keys_survive_kill_9_sqlite() {
    let database = TestDatabase::sqlite_unmigrated().await;
    crash_and_recover(database).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_keys_survive_kill_9_postgres() {
    let Some(database) = TestDatabase::postgres_unmigrated().await else {
        return;
    };
    crash_and_recover(database).await;
}
