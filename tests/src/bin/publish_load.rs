//! Publish load generator: many distinct, validly certified 14-key publishes against a running
//! `mimamori serve`, at a fixed concurrency for a bounded time (loopback only).
//!
//! ```text
//! publish_load init DIR                      # writes an issuer key and a server config in DIR
//! publish_load run DIR URL SECONDS CONCURRENCY
//! ```
//! `run` signs every request before the clock starts (so the generator's own ECDSA work is
//! not on the measured path), then prints one JSON line: requests, errors, requests per
//! second, p50/p90/p99/max latency in milliseconds.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a command-line tool: failures abort

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use mimamori_crypto::export::DiagnosisKey;
use mimamori_crypto::interval::EnIntervalNumber;
use mimamori_crypto::keys::Tek;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::json;

const ISSUER: &str = "load-test-authority";
const HMAC_KEY: &[u8] = b"load-test-hmac-key-0123456789abc";

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn init(directory: &str) {
    let random = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &random).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &random)
        .unwrap();
    let mut spki = vec![
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    spki.extend_from_slice(key.public_key().as_ref());
    let directory = std::path::Path::new(directory);
    std::fs::create_dir_all(directory).unwrap();
    std::fs::write(directory.join("issuer.pkcs8"), pkcs8.as_ref()).unwrap();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(&spki)
    );
    std::fs::write(directory.join("issuer.pem"), pem).unwrap();
    std::fs::write(
        directory.join("mimamori.toml"),
        format!(
            "[log]\nlevel = \"warn\"\n\n[key_server.export]\nenabled = false\ndirectory = \"{exports}\"\n\n[[key_server.issuers]]\nissuer = \"{ISSUER}\"\naudience = \"mimamori-key-server\"\npublic_keys = [\"v1={pem}\"]\n",
            exports = directory.join("exports").display(),
            pem = directory.join("issuer.pem").display(),
        ),
    )
    .unwrap();
}

fn bodies(directory: &str, count: usize) -> Vec<Vec<u8>> {
    let random = ring::rand::SystemRandom::new();
    let pkcs8 = std::fs::read(std::path::Path::new(directory).join("issuer.pkcs8")).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, &random).unwrap();
    let today = EnIntervalNumber::from_unix_seconds(now_s() as u64)
        .day_start()
        .0;
    let run = now_s() as u32;
    let now = now_s();
    (0..count)
        .map(|n| {
            let keys: Vec<DiagnosisKey> = (1..=14u32)
                .map(|day| {
                    let mut bytes = [0u8; 16];
                    bytes[..4].copy_from_slice(&run.to_le_bytes());
                    bytes[4..12].copy_from_slice(&(n as u64).to_le_bytes());
                    bytes[12..].copy_from_slice(&day.to_le_bytes());
                    DiagnosisKey::new(Tek::from_bytes(bytes), today - day * 144)
                })
                .collect();
            let claims = json!({
                "iss": ISSUER, "aud": "mimamori-key-server", "iat": now - 5, "nbf": now - 5,
                "exp": now + 3600, "reportType": "confirmed",
                "tekmac": mimamori_crypto::tekmac::tekmac_base64(HMAC_KEY, &keys),
                "jti": format!("load-{run}-{n}"),
            });
            let certificate =
                mimamori_crypto::jws::sign("v1", &serde_json::to_vec(&claims).unwrap(), &key)
                    .unwrap();
            serde_json::to_vec(&json!({
                "temporaryExposureKeys": keys.iter().map(|k| json!({
                    "key": base64::engine::general_purpose::STANDARD.encode(k.key_data.as_bytes()),
                    "rollingStartNumber": k.rolling_start_interval_number,
                    "rollingPeriod": 144,
                    "transmissionRisk": 0,
                })).collect::<Vec<_>>(),
                "healthAuthorityID": ISSUER,
                "verificationPayload": certificate,
                "hmacKey": base64::engine::general_purpose::STANDARD.encode(HMAC_KEY),
                "padding": "",
            }))
            .unwrap()
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("init") => init(&args[2]),
        Some("run") => {
            let directory = &args[2];
            let url = format!("{}/v1/publish", args[3].trim_end_matches('/'));
            assert!(
                url.starts_with("http://127.") || url.starts_with("http://localhost"),
                "load tests target loopback only"
            );
            let seconds: u64 = args[4].parse().unwrap();
            let concurrency: usize = args[5].parse().unwrap();
            let prepared = Arc::new(bodies(directory, 6_000 * seconds as usize));
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(concurrency)
                .build()
                .unwrap();
            let next = Arc::new(AtomicUsize::new(0));
            let errors = Arc::new(AtomicUsize::new(0));
            let started = Instant::now();
            let deadline = started + Duration::from_secs(seconds);
            let mut tasks = Vec::new();
            for _ in 0..concurrency {
                let (client, url, prepared, next, errors) = (
                    client.clone(),
                    url.clone(),
                    Arc::clone(&prepared),
                    Arc::clone(&next),
                    Arc::clone(&errors),
                );
                tasks.push(tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    while Instant::now() < deadline {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(body) = prepared.get(index) else {
                            break;
                        };
                        let sent = Instant::now();
                        let ok = match client
                            .post(&url)
                            .header("content-type", "application/json")
                            .body(body.clone())
                            .send()
                            .await
                        {
                            Ok(response) => {
                                let ok = response.status().is_success();
                                let _ = response.bytes().await;
                                ok
                            }
                            Err(_) => false,
                        };
                        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                        if !ok {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    latencies
                }));
            }
            let mut latencies = Vec::new();
            for task in tasks {
                latencies.extend(task.await.unwrap());
            }
            let elapsed = started.elapsed().as_secs_f64();
            latencies.sort_by(f64::total_cmp);
            let at = |q: f64| {
                latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)]
            };
            println!(
                "{}",
                json!({
                    "requests": latencies.len(),
                    "errors": errors.load(Ordering::Relaxed),
                    "seconds": (elapsed * 100.0).round() / 100.0,
                    "requests_per_second": (latencies.len() as f64 / elapsed).round(),
                    "keys_per_request": 14,
                    "concurrency": concurrency,
                    "p50_ms": (at(0.50) * 100.0).round() / 100.0,
                    "p90_ms": (at(0.90) * 100.0).round() / 100.0,
                    "p99_ms": (at(0.99) * 100.0).round() / 100.0,
                    "max_ms": (at(1.0) * 100.0).round() / 100.0,
                })
            );
        }
        _ => {
            eprintln!("usage: publish_load init DIR | publish_load run DIR URL SECONDS CONCURRENCY")
        }
    }
}
