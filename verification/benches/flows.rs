//! Load generator: complete verify → certificate flows against a running `mimamori serve`
//! on 127.0.0.1 (see `flows.sh`, which starts the server on PostgreSQL and runs this).
//!
//! Setup (not timed): files `FLOWS` cases through the issue API's admin key and issues one
//! processing number each. Timed: `CONCURRENCY` workers each take the next number and run
//! `POST /api/verify` then `POST /api/certificate` with a device key, until the numbers run
//! out or `DURATION_SECONDS` pass. Prints flows/s and the flow latency percentiles.
//!
//! Environment: `BASE_URL` (default `http://127.0.0.1:8080`; only loopback is accepted),
//! `ADMIN_KEY`, `DEVICE_KEY`, `HEALTH_CENTER_ID`, `FLOWS` (20000), `CONCURRENCY` (64),
//! `DURATION_SECONDS` (30), `SETUP_CONCURRENCY` (32).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn notification(health_center: &str, i: usize) -> Value {
    json!({
        "name": format!("Load Test {i}"),
        "vulnerableHousehold": false,
        "healthCenterId": health_center,
        "municipality": "Minato-ku",
        "resultDate": "2026-01-01",
        "diagnosisDate": "2026-01-01",
        "onsetDate": null,
        "admitted": false, "icu": false, "ventilator": false, "ecmo": false,
        "outcome": "under treatment",
        "linkedToOtherCase": false,
        "reportDate": "2026-01-01",
        "postMortem": false,
        "symptomsAtDiagnosis": [],
        "diagnosisMethod": "PCR",
        "specimenType": "swab",
        "infectionRoute": "unknown",
        "infectionArea": "domestic",
        "infectionConfirmed": false
    })
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    body: &Value,
) -> Result<Value, String> {
    let response = client
        .post(url)
        .header("X-API-Key", key)
        .json(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let value: Value = response.json().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(value)
    } else {
        Err(format!("{status}: {value}"))
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn main() {
    let base = env("BASE_URL", "http://127.0.0.1:8080");
    let host = base
        .trim_start_matches("http://")
        .split(':')
        .next()
        .unwrap_or_default();
    assert!(
        host == "127.0.0.1" || host == "localhost" || host == "[::1]",
        "the load generator only targets loopback, not {base}"
    );
    let admin_key = env("ADMIN_KEY", "");
    let device_key = env("DEVICE_KEY", "");
    let health_center = env("HEALTH_CENTER_ID", "");
    if admin_key.is_empty() || device_key.is_empty() || health_center.is_empty() {
        println!("flows: set ADMIN_KEY, DEVICE_KEY and HEALTH_CENTER_ID (flows.sh does); skipping");
        return;
    }
    let flows: usize = env("FLOWS", "20000").parse().unwrap();
    let concurrency: usize = env("CONCURRENCY", "64").parse().unwrap();
    let setup_concurrency: usize = env("SETUP_CONCURRENCY", "32").parse().unwrap();
    let duration = Duration::from_secs(env("DURATION_SECONDS", "30").parse().unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency.max(setup_concurrency))
            .build()
            .unwrap();

        // Setup: cases and numbers.
        let started = Instant::now();
        let next = Arc::new(AtomicUsize::new(0));
        let mut setup = Vec::new();
        for _ in 0..setup_concurrency {
            let (client, next) = (client.clone(), Arc::clone(&next));
            let (base, admin_key, health_center) = (base.clone(), admin_key.clone(), health_center.clone());
            setup.push(tokio::spawn(async move {
                let mut codes = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= flows {
                        return codes;
                    }
                    let case = post(&client, &format!("{base}/api/cases"), &admin_key, &notification(&health_center, i))
                        .await
                        .unwrap();
                    let issued = post(
                        &client,
                        &format!("{base}/api/issue"),
                        &admin_key,
                        &json!({"testType": "confirmed", "caseId": case["id"]}),
                    )
                    .await
                    .unwrap();
                    codes.push(issued["code"].as_str().unwrap().to_string());
                }
            }));
        }
        let mut codes = Vec::with_capacity(flows);
        for handle in setup {
            codes.extend(handle.await.unwrap());
        }
        println!(
            "setup: {} cases with numbers in {:.1} s",
            codes.len(),
            started.elapsed().as_secs_f64()
        );

        // Timed: verify → certificate.
        let codes = Arc::new(codes);
        let next = Arc::new(AtomicUsize::new(0));
        let errors = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let deadline = started + duration;
        let mut workers = Vec::new();
        for _ in 0..concurrency {
            let (client, codes, next, errors) = (client.clone(), Arc::clone(&codes), Arc::clone(&next), Arc::clone(&errors));
            let (base, device_key) = (base.clone(), device_key.clone());
            workers.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= codes.len() || Instant::now() >= deadline {
                        return latencies;
                    }
                    let flow_start = Instant::now();
                    let result = async {
                        let verified = post(&client, &format!("{base}/api/verify"), &device_key, &json!({"code": codes[i]})).await?;
                        post(
                            &client,
                            &format!("{base}/api/certificate"),
                            &device_key,
                            &json!({"token": verified["token"], "ekeyhmac": "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs="}),
                        )
                        .await
                    }
                    .await;
                    match result {
                        Ok(_) => latencies.push(flow_start.elapsed()),
                        Err(e) => {
                            if errors.fetch_add(1, Ordering::Relaxed) < 5 {
                                println!("flow error: {e}");
                            }
                        }
                    }
                }
            }));
        }
        let mut latencies = Vec::new();
        for worker in workers {
            latencies.extend(worker.await.unwrap());
        }
        let elapsed = started.elapsed().as_secs_f64();
        latencies.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "flows: {} complete verify→certificate flows in {:.2} s = {:.0} flows/s (concurrency {}, errors {})",
            latencies.len(),
            elapsed,
            latencies.len() as f64 / elapsed,
            concurrency,
            errors.load(Ordering::Relaxed)
        );
        println!(
            "latency per flow: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            ms(percentile(&latencies, 0.50)),
            ms(percentile(&latencies, 0.90)),
            ms(percentile(&latencies, 0.99)),
            ms(percentile(&latencies, 1.0))
        );
    });
}
