//! The `mimamori` binary: version, configuration layering and errors, graceful shutdown,
//! and privacy of its logs. Each test runs the real executable.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod support;

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{free_port, mimamori};

/// Asserts a failed run: non-zero exit and exactly one `error:` line on stderr.
fn assert_one_line_error(output: &std::process::Output, needle: &str) {
    assert!(!output.status.success(), "must fail: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "exactly one error line: {stderr}");
    assert!(
        errors[0].contains(needle),
        "expected {needle:?} in {}",
        errors[0]
    );
}

#[test]
fn version_prints_the_package_version() {
    let output = mimamori().arg("version").output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.starts_with(&format!("mimamori {}", env!("CARGO_PKG_VERSION"))),
        "{stdout}"
    );
}

#[test]
fn configuration_layers_file_then_environment_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mimamori.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:7001\"\n[http]\nmax_body_bytes = 5000\nworkers = 3\n",
    )
    .unwrap();
    let show = |extra_env: &[(&str, &str)], extra_args: &[&str]| {
        let mut command = mimamori();
        command.args([
            "--config",
            file.to_str().unwrap(),
            "serve",
            "--print-config",
        ]);
        command.args(extra_args);
        for (k, v) in extra_env {
            command.env(k, v);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        toml::from_str::<toml::Table>(&String::from_utf8(output.stdout).unwrap()).unwrap()
    };

    let from_file = show(&[], &[]);
    assert_eq!(from_file["listen"].as_str(), Some("127.0.0.1:7001"));
    assert_eq!(from_file["http"]["max_body_bytes"].as_integer(), Some(5000));

    let from_env = show(
        &[
            ("MIMAMORI_LISTEN", "127.0.0.1:7002"),
            ("MIMAMORI_HTTP__WORKERS", "5"),
        ],
        &[],
    );
    assert_eq!(from_env["listen"].as_str(), Some("127.0.0.1:7002"));
    assert_eq!(from_env["http"]["workers"].as_integer(), Some(5));
    assert_eq!(from_env["http"]["max_body_bytes"].as_integer(), Some(5000));

    let from_flag = show(
        &[("MIMAMORI_LISTEN", "127.0.0.1:7002")],
        &["--listen", "127.0.0.1:7003"],
    );
    assert_eq!(from_flag["listen"].as_str(), Some("127.0.0.1:7003"));

    // Variables read by parts of the process directly are not configuration keys, and an
    // unknown-key error must not refuse them (the certificate font, the simulator's flags).
    let with_process_variables = show(
        &[
            ("MIMAMORI_DOCUMENT_FONT", "/usr/share/fonts/x.ttf"),
            ("MIMAMORI_SIM_ADMIN_API_KEY", "not-a-config-key"),
            (
                "MIMAMORI_HTTP__TRUSTED_PROXIES",
                "[\"10.0.0.0/8\", \"192.0.2.7\"]",
            ),
        ],
        &[],
    );
    let proxies = with_process_variables["http"]["trusted_proxies"]
        .as_array()
        .unwrap();
    assert_eq!(proxies.len(), 2, "{proxies:?}");
    assert_eq!(proxies[0].as_str(), Some("10.0.0.0/8"));
    assert!(!with_process_variables.contains_key("document_font"));

    let redacted = show(
        &[("DATABASE_URL", "postgres://app:topsecret@db.internal/prod")],
        &[],
    );
    let rendered = redacted["database_url"].as_str().unwrap();
    assert!(!rendered.contains("topsecret"), "{rendered}");
    assert!(rendered.contains("db.internal"), "{rendered}");
}

#[test]
fn bad_configuration_exits_with_one_line() {
    let dir = tempfile::tempdir().unwrap();

    let unknown = dir.path().join("unknown.toml");
    std::fs::write(&unknown, "lisen = \"127.0.0.1:1\"\n").unwrap();
    let output = mimamori()
        .args(["--config", unknown.to_str().unwrap(), "serve"])
        .output()
        .unwrap();
    assert_one_line_error(&output, "lisen");

    let output = mimamori()
        .args([
            "--config",
            dir.path().join("missing.toml").to_str().unwrap(),
            "serve",
        ])
        .output()
        .unwrap();
    assert_one_line_error(&output, "does not exist");

    let output = mimamori()
        .arg("serve")
        .env("DATABASE_URL", "mysql://root@localhost/db")
        .output()
        .unwrap();
    assert_one_line_error(&output, "unsupported scheme 'mysql'");

    let output = mimamori()
        .arg("serve")
        .env("MIMAMORI_HTTP__MAX_BODY_BYTES", "lots")
        .output()
        .unwrap();
    assert_one_line_error(&output, "MAX_BODY_BYTES");

    let output = mimamori()
        .arg("serve")
        .env("MIMAMORI_HTTP__TRUSTED_PROXIES", "[\"nginx\"]")
        .output()
        .unwrap();
    assert_one_line_error(&output, "trusted_proxies entry 'nginx'");

    let output = mimamori()
        .args(["serve", "--listen", "localhost"])
        .output()
        .unwrap();
    assert_one_line_error(&output, "HOST:PORT");

    // Export storage on S3 with a URL that names no bucket: refused before the database.
    let output = mimamori()
        .arg("serve")
        .current_dir(dir.path())
        .env("MIMAMORI_KEY_SERVER__EXPORT__STORAGE", "object")
        .env(
            "MIMAMORI_KEY_SERVER__EXPORT__OBJECT__URL",
            "https://exports.example/x",
        )
        .output()
        .unwrap();
    assert_one_line_error(&output, "only s3:// is supported");
    assert!(!dir.path().join("data").exists(), "no database was opened");

    // A directory cannot be created below a regular file, even by root.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "").unwrap();
    let output = mimamori()
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/sub/m.db", file.display()),
        )
        .output()
        .unwrap();
    assert_one_line_error(&output, "cannot create data directory");

    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let output = mimamori()
        .args(["serve", "--listen", &busy.local_addr().unwrap().to_string()])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/busy.db", dir.path().display()),
        )
        .output()
        .unwrap();
    assert_one_line_error(&output, "address already in use");
    assert!(
        !dir.path().join("busy.db").exists(),
        "a busy port fails before the database is touched"
    );
}

#[test]
fn migrate_applies_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/m.db", dir.path().display());
    for _ in 0..2 {
        let output = mimamori()
            .arg("migrate")
            .env("DATABASE_URL", &url)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
    }
    assert!(dir.path().join("m.db").exists());
}

/// Serves with the default embedded SQLite under `./data` (created on start), answers the
/// operational endpoints, never logs the client's address, and stops cleanly on SIGTERM.
#[test]
fn serve_answers_logs_privately_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = mimamori()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("MIMAMORI_LOG__FORMAT", "json")
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(response) = client.get(format!("{base}/healthz")).send().await
                && response.status() == 200
            {
                break;
            }
            assert!(Instant::now() < deadline, "server did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for path in ["/readyz", "/metrics", "/healthz?token=abcdef"] {
            let response = client
                .get(format!("{base}{path}"))
                .header("x-forwarded-for", "203.0.113.77")
                .header("user-agent", "PrivacyProbe/1.0")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{path}");
        }
    });
    assert!(
        dir.path().join("data/mimamori.db").exists(),
        "default SQLite file under ./data"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "graceful shutdown exits 0: {exit:?}");

    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    assert!(
        logs.contains("request finished"),
        "access log present: {logs}"
    );
    assert!(
        !logs.contains("203.0.113.77"),
        "client address leaked: {logs}"
    );
    assert!(!logs.contains("PrivacyProbe"), "user agent leaked");
    assert!(!logs.contains("abcdef"), "query string leaked");
    for line in logs.lines().filter(|l| l.contains("request finished")) {
        let event: serde_json::Value = serde_json::from_str(line).expect("JSON log line");
        assert!(
            !line.contains("127.0.0.1"),
            "peer address in access log: {line}"
        );
        assert!(event["span"]["request_id"].is_string(), "{line}");
    }
}

#[test]
fn secrets_come_from_file_variables_and_are_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("database_url");
    std::fs::write(&url, "postgres://app:f1le-secret@db.example/prod\n").unwrap();
    let revision = dir.path().join("revision_token_secret");
    std::fs::write(&revision, "revision-f1le-secret\n").unwrap();
    let s3_secret = dir.path().join("s3_secret");
    std::fs::write(&s3_secret, "s3-f1le-secret\n").unwrap();
    let output = mimamori()
        .args(["serve", "--print-config"])
        .env("DATABASE_URL_FILE", &url)
        .env("MIMAMORI_KEY_SERVER__REVISION_TOKEN_SECRET_FILE", &revision)
        .env("MIMAMORI_KEY_SERVER__EXPORT__STORAGE", "object")
        .env(
            "MIMAMORI_KEY_SERVER__EXPORT__OBJECT__URL",
            "s3://exports/prod",
        )
        .env(
            "MIMAMORI_KEY_SERVER__EXPORT__OBJECT__ACCESS_KEY_ID",
            "AKIDEXAMPLE",
        )
        .env(
            "MIMAMORI_KEY_SERVER__EXPORT__OBJECT__SECRET_ACCESS_KEY_FILE",
            &s3_secret,
        )
        // A key that merely ends in _FILE is still an ordinary key.
        .env("MIMAMORI_KEY_SERVER__EXPORT__MIN_KEYS_PER_FILE", "7")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!stdout.contains("f1le-secret"), "{stdout}");
    let printed: toml::Table = toml::from_str(&stdout).unwrap();
    assert_eq!(
        printed["database_url"].as_str(),
        Some("postgres://app:***@db.example/prod")
    );
    assert_eq!(
        printed["key_server"]["revision_token_secret"].as_str(),
        Some("***")
    );
    assert_eq!(
        printed["key_server"]["export"]["min_keys_per_file"].as_integer(),
        Some(7)
    );
    assert_eq!(
        printed["key_server"]["export"]["object"]["secret_access_key"].as_str(),
        Some("***")
    );

    let output = mimamori()
        .args(["serve", "--print-config"])
        .env("DATABASE_URL_FILE", dir.path().join("missing"))
        .output()
        .unwrap();
    assert_one_line_error(&output, "DATABASE_URL_FILE");
}

#[test]
fn backup_without_pg_dump_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = mimamori()
        .args(["backup", "--out"])
        .arg(dir.path().join("b.dump"))
        .arg("--pg-bindir")
        .arg(dir.path())
        .env(
            "DATABASE_URL",
            "postgres://app:pw-not-shown@127.0.0.1:1/prod",
        )
        .output()
        .unwrap();
    assert_one_line_error(&output, "pg_dump not found");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("pw-not-shown"));
    assert!(!dir.path().join("b.dump").exists());
}

#[test]
fn sqlite_backup_and_restore_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sqlite://{}", dir.path().join("live.db").display());
    let migrate = mimamori()
        .arg("migrate")
        .env("DATABASE_URL", &source)
        .output()
        .unwrap();
    assert!(migrate.status.success(), "{migrate:?}");
    let file = dir.path().join("backup.db");
    let backup = mimamori()
        .args(["backup", "--out", file.to_str().unwrap()])
        .env("DATABASE_URL", &source)
        .output()
        .unwrap();
    assert!(backup.status.success(), "{backup:?}");
    assert_eq!(support::value(&backup, "backend"), "sqlite");

    // Not a backup: refused before anything is written.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    let target = format!("sqlite://{}", dir.path().join("restored.db").display());
    let output = mimamori()
        .args(["restore", "--from", junk.to_str().unwrap()])
        .env("DATABASE_URL", &target)
        .output()
        .unwrap();
    assert_one_line_error(&output, "is not a Mimamori sqlite backup");
    assert!(!dir.path().join("restored.db").exists());

    let output = mimamori()
        .args(["restore", "--from", file.to_str().unwrap()])
        .env("DATABASE_URL", &target)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    // The same file again: only with --force (no server has it open).
    let output = mimamori()
        .args(["restore", "--from", file.to_str().unwrap()])
        .env("DATABASE_URL", &target)
        .output()
        .unwrap();
    assert_one_line_error(&output, "pass --force");
    let output = mimamori()
        .args(["restore", "--force", "--from", file.to_str().unwrap()])
        .env("DATABASE_URL", &target)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let migrate = mimamori()
        .arg("migrate")
        .env("DATABASE_URL", &target)
        .output()
        .unwrap();
    assert!(migrate.status.success(), "{migrate:?}");
}
