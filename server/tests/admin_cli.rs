//! Tests of `mimamori admin`, `mimamori audit` and `mimamori keys certificate` on the real
//! binary against a SQLite file.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::value;

fn mimamori(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(args)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("m.db").display()),
        )
        .env("MIMAMORI_CASES__ARGON2_MEMORY_KIB", "64")
        .env("MIMAMORI_CASES__ARGON2_ITERATIONS", "1")
        .env("MIMAMORI_LOG__FORMAT", "json")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

#[test]
fn admin_init_creates_the_first_admin_once_and_scripts_can_build_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let init = mimamori(dir.path(), &["admin", "init", "--name", "Ministry"]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    assert_eq!(value(&init, "username"), "admin");
    assert_eq!(value(&init, "password").len(), 20);
    let secret = value(&init, "totp_secret");
    assert_eq!(secret.len(), 32, "160-bit TOTP secret in base32");
    assert!(value(&init, "totp_uri").starts_with("otpauth://totp/"));

    let again = mimamori(dir.path(), &["admin", "init"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already"));

    let prefecture = mimamori(
        dir.path(),
        &[
            "admin",
            "create-organization",
            "--kind",
            "prefecture",
            "--name",
            "Tokyo",
        ],
    );
    assert!(prefecture.status.success());
    let prefecture_id = value(&prefecture, "organization_id");
    let hc = mimamori(
        dir.path(),
        &[
            "admin",
            "create-organization",
            "--kind",
            "health_center",
            "--name",
            "Minato",
            "--parent",
            &prefecture_id,
        ],
    );
    assert!(
        hc.status.success(),
        "{}",
        String::from_utf8_lossy(&hc.stderr)
    );
    let hc_id = value(&hc, "organization_id");
    let orphan = mimamori(
        dir.path(),
        &[
            "admin",
            "create-organization",
            "--kind",
            "health_center",
            "--name",
            "X",
        ],
    );
    assert_eq!(orphan.status.code(), Some(2));

    let user = mimamori(
        dir.path(),
        &[
            "admin",
            "create-user",
            "--organization",
            &hc_id,
            "--username",
            "worker",
            "--role",
            "case_worker",
        ],
    );
    assert!(
        user.status.success(),
        "{}",
        String::from_utf8_lossy(&user.stderr)
    );
    assert_eq!(value(&user, "password").len(), 20);
    let bad_role = mimamori(
        dir.path(),
        &[
            "admin",
            "create-user",
            "--organization",
            &hc_id,
            "--username",
            "w2",
            "--role",
            "king",
        ],
    );
    assert_eq!(bad_role.status.code(), Some(2));

    let key = mimamori(
        dir.path(),
        &[
            "admin",
            "create-api-key",
            "--organization",
            &hc_id,
            "--kind",
            "device",
            "--name",
            "app",
        ],
    );
    assert!(key.status.success());
    assert!(value(&key, "api_key").starts_with("mkd_"));

    let listed = mimamori(dir.path(), &["admin", "list-organizations"]);
    assert_eq!(String::from_utf8_lossy(&listed.stdout).lines().count(), 3);
}

#[test]
fn audit_verify_fails_after_a_stored_entry_is_edited() {
    let dir = tempfile::tempdir().unwrap();
    assert!(mimamori(dir.path(), &["admin", "init"]).status.success());
    assert!(
        mimamori(
            dir.path(),
            &[
                "admin",
                "create-organization",
                "--kind",
                "prefecture",
                "--name",
                "A"
            ]
        )
        .status
        .success()
    );
    let ok = mimamori(dir.path(), &["audit", "verify"]);
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("audit chain verified: 3 entries"));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let database = mimamori_storage::Database::open(
            &mimamori_storage::DatabaseTarget::Sqlite {
                path: dir.path().join("m.db"),
            },
            &mimamori_storage::PoolOptions::default(),
        )
        .unwrap();
        let changed = mimamori_cases::sql::execute(
            &database,
            "UPDATE audit_log SET action = 'organization.read' WHERE seq = 2",
            vec![],
        )
        .await
        .unwrap();
        assert_eq!(changed, 1);
    });
    let broken = mimamori(dir.path(), &["audit", "verify"]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&broken.stdout).contains("audit chain broken at entry 2"),
        "{}",
        String::from_utf8_lossy(&broken.stdout)
    );
}

#[test]
fn certificate_keys_rotate_and_list() {
    let dir = tempfile::tempdir().unwrap();
    let list = mimamori(dir.path(), &["keys", "certificate", "list"]);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let stdout = String::from_utf8_lossy(&list.stdout).to_string();
    assert_eq!(stdout.lines().count(), 1);
    assert!(stdout.contains("active"));
    // Generated secrets are announced, never printed.
    let stderr = String::from_utf8_lossy(&list.stderr);
    assert!(stderr.contains("stored it in the database"), "{stderr}");

    let rotate = mimamori(dir.path(), &["keys", "certificate", "rotate"]);
    assert!(rotate.status.success());
    let kid = value(&rotate, "kid");
    let list =
        String::from_utf8_lossy(&mimamori(dir.path(), &["keys", "certificate", "list"]).stdout)
            .to_string();
    assert_eq!(list.lines().count(), 2);
    assert!(
        list.lines()
            .any(|l| l.starts_with(&kid) && l.ends_with("\tactive")),
        "{list}"
    );
    assert!(list.contains("verify-only"));

    // A wrong master key cannot open the stored keys.
    let wrong = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["keys", "certificate", "list"])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("m.db").display()),
        )
        .env(
            "MIMAMORI_VERIFICATION__MASTER_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong master key"));
}

#[test]
fn print_config_masks_verification_secrets() {
    let output = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["serve", "--print-config"])
        .env(
            "MIMAMORI_VERIFICATION__MASTER_KEY",
            "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=",
        )
        .env(
            "MIMAMORI_VERIFICATION__HMAC_SECRETS",
            "[\"very-secret-hmac-key-0001\"]",
        )
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("master_key = \"***\""), "{stdout}");
    assert!(stdout.contains("hmac_secrets = [\"***\"]"), "{stdout}");
    assert!(!stdout.contains("very-secret") && !stdout.contains("c2VjcmV0"));
}
