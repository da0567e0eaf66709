//! `mimamori sim run --server URL` against a separately started `mimamori serve`, set up the
//! way an operator does it (`mimamori admin`, `mimamori keys export generate`): the simulated
//! health center files the case over HTTP, the app verifies and publishes, the server's own
//! export worker signs a file on the real clock, and the simulated phones download it, verify
//! its signature and match.
//!
//! The export window is at least 10 minutes (a privacy floor of the key server), so this test
//! waits up to that long for the window holding the case's keys to close. It is ignored in
//! the plain suite and `.ci/run` runs it beside the suite:
//! `cargo test -p mimamori --test sim_server -- --ignored`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{free_port, value};

/// One `mimamori` command against the test's SQLite database, without the caller's settings.
fn mimamori(database_url: &str) -> Command {
    let mut command = support::mimamori();
    command
        .env("DATABASE_URL", database_url)
        .env("MIMAMORI_CASES__ARGON2_MEMORY_KIB", "64")
        .env("MIMAMORI_CASES__ARGON2_ITERATIONS", "1");
    command
}

fn run_ok(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?}\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Kills the server when the test ends, passed or failed.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_ready(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let address = base.trim_start_matches("http://");
    loop {
        // A bare HTTP/1.0 request: no client crate needed for one readiness probe.
        if let Ok(mut stream) = std::net::TcpStream::connect(address) {
            use std::io::{Read, Write};
            let _ = stream.write_all(b"GET /readyz HTTP/1.0\r\n\r\n");
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response);
            if response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        assert!(Instant::now() < deadline, "server did not become ready");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn office() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/office.toml")
}

#[test]
#[ignore = "waits up to one 10-minute export window; .ci/run runs it beside the suite"]
fn office_against_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("mimamori.db").display());
    let db = || mimamori(&database_url);

    // The operator's set-up.
    run_ok(db().args(["admin", "init", "--name", "Ministry"]));
    let prefecture = run_ok(db().args([
        "admin",
        "create-organization",
        "--kind",
        "prefecture",
        "--name",
        "Tokyo",
    ]));
    let prefecture_id = value(&prefecture, "organization_id");
    let health_center = run_ok(db().args([
        "admin",
        "create-organization",
        "--kind",
        "health_center",
        "--name",
        "Minato",
        "--parent",
        &prefecture_id,
    ]));
    let health_center_id = value(&health_center, "organization_id");
    let api_key = |kind: &str| {
        let output = run_ok(db().args([
            "admin",
            "create-api-key",
            "--organization",
            &health_center_id,
            "--kind",
            kind,
            "--name",
            "simulator",
        ]));
        value(&output, "api_key")
    };
    let admin_key = api_key("admin");
    let device_key = api_key("device");
    let signing = run_ok(db().args(["keys", "export", "generate"]));
    let signing: Value = serde_json::from_slice(&signing.stdout).unwrap();
    let public_key = dir.path().join("export-public-key.pem");
    std::fs::write(&public_key, signing["public_key_pem"].as_str().unwrap()).unwrap();

    // The server: shortest export window the key server allows, checked every second.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _server = Server(
        db().args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("MIMAMORI_DATA_DIR", dir.path().join("data"))
            .env(
                "MIMAMORI_KEY_SERVER__EXPORT__DIRECTORY",
                dir.path().join("exports"),
            )
            .env("MIMAMORI_KEY_SERVER__EXPORT__WINDOW_SECONDS", "600")
            .env("MIMAMORI_KEY_SERVER__EXPORT__MIN_WINDOW_AGE_SECONDS", "5")
            .env("MIMAMORI_KEY_SERVER__EXPORT__POLL_SECONDS", "1")
            .env("MIMAMORI_LOG__LEVEL", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    wait_ready(&base);

    // The simulation over HTTP.
    let out = dir.path().join("report");
    let scenario = office();
    let started = Instant::now();
    run_ok(
        mimamori(&database_url)
            .env_remove("DATABASE_URL")
            .args([
                "sim",
                "run",
                scenario.to_str().unwrap(),
                "--server",
                &base,
                "--health-center-id",
                &health_center_id,
                "--export-public-key",
                public_key.to_str().unwrap(),
                "--export-timeout",
                "700",
                "--out",
                out.to_str().unwrap(),
                "--quiet",
            ])
            .env("MIMAMORI_SIM_ADMIN_API_KEY", &admin_key)
            .env("MIMAMORI_SIM_DEVICE_API_KEY", &device_key),
    );
    eprintln!("sim run --server took {:?}", started.elapsed());
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();

    // The case went through the server's registry, verification and key server.
    assert_eq!(report["cases"]["published"], 1, "{report:#}");
    assert_eq!(report["cases"]["failures"], Value::Array(vec![]));
    // The server's worker signed what the phones downloaded, with the operator's key.
    let exports = report["exports"].as_array().unwrap();
    assert!(!exports.is_empty(), "{report:#}");
    assert!(
        exports.iter().all(|e| e["signature_verified"] == true),
        "{report:#}"
    );
    let simulated: u64 = exports
        .iter()
        .map(|e| e["simulated_keys"].as_u64().unwrap())
        .sum();
    assert_eq!(simulated, 1, "the case's office day: {report:#}");
    // The same notifications as the in-process run: every close contact, nobody from the
    // other floor.
    assert!(report["close_contacts"].as_u64().unwrap() >= 1);
    for c in report["configs"].as_array().unwrap() {
        assert_eq!(c["recall"].as_f64(), Some(1.0), "{c:#}");
        assert_eq!(c["notified_by_exposure"]["apart"], 0, "{c:#}");
    }
}
