//! TLS to the real test PostgreSQL server: `sslmode` in `DATABASE_URL` decides whether the
//! session is encrypted (as the server itself reports in `pg_stat_ssl`), and `verify-full`
//! refuses a certificate no trusted root signed. Debian's PostgreSQL serves TLS with its
//! self-signed "snakeoil" certificate out of the box; a server without TLS skips the checks
//! that need it, with a message.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::Path;

use mimamori_storage::testing::TestDatabase;
use mimamori_storage::{Database, DatabaseTarget, PoolOptions};

fn with_query(url: &str, query: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    let joined = match parsed.query() {
        Some(existing) if !existing.is_empty() => format!("{existing}&{query}"),
        _ => query.to_string(),
    };
    parsed.set_query(Some(&joined));
    parsed.to_string()
}

fn open(url: &str) -> Database {
    let target = DatabaseTarget::parse(Some(url), Path::new("unused.db")).unwrap();
    Database::open(&target, &PoolOptions::default()).unwrap()
}

/// Whether this session is encrypted, by the server's own account.
async fn encrypted(database: &Database) -> Result<bool, String> {
    let Database::Postgres(pool) = database else {
        panic!("not PostgreSQL")
    };
    let client = pool.get().await.map_err(|e| e.to_string())?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

/// A server setting, read over a plain connection.
async fn show(url: &str, setting: &str) -> String {
    let Database::Postgres(pool) = open(&with_query(url, "sslmode=disable")) else {
        panic!("not PostgreSQL")
    };
    let client = pool.get().await.unwrap();
    client
        .query_one(&format!("SHOW {setting}"), &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn sslmode_decides_encryption_and_verify_full_checks_the_certificate() {
    let Some(db) = TestDatabase::postgres_unmigrated().await else {
        return;
    };
    assert!(
        !encrypted(&open(&with_query(&db.url, "sslmode=disable")))
            .await
            .unwrap()
    );

    let ssl = show(&db.url, "ssl").await;
    if ssl != "on" {
        eprintln!("skipping the TLS checks: the test PostgreSQL server has ssl = {ssl}");
        // Without TLS at the server, prefer falls back to plain and require fails.
        assert!(!encrypted(&open(&db.url)).await.unwrap());
        assert!(
            encrypted(&open(&with_query(&db.url, "sslmode=require")))
                .await
                .is_err()
        );
        return;
    }

    // The default is libpq's `prefer`: encrypted when the server offers TLS.
    assert!(encrypted(&open(&db.url)).await.unwrap());
    assert!(
        encrypted(&open(&with_query(&db.url, "sslmode=require")))
            .await
            .unwrap()
    );

    // The test server's certificate is self-signed: Mozilla's roots do not vouch for it.
    // The message says why (tokio-postgres alone says "error performing TLS handshake").
    let refused = open(&with_query(&db.url, "sslmode=verify-full"))
        .ping()
        .await
        .unwrap_err();
    assert!(refused.is_unavailable());
    let message = refused.to_string();
    assert!(message.contains("invalid peer certificate"), "{message}");

    // With the server's own certificate as the trusted root (readable here when the server
    // runs on this machine, as the test server does).
    let cert_file = show(&db.url, "ssl_cert_file").await;
    let host = url::Url::parse(&db.url)
        .unwrap()
        .host_str()
        .unwrap_or_default()
        .to_string();
    if !Path::new(&cert_file).is_file() || host != "127.0.0.1" {
        eprintln!(
            "skipping the sslrootcert checks: {cert_file} is not readable here or the server is not on 127.0.0.1"
        );
        return;
    }
    let root = format!("sslrootcert={cert_file}");
    // verify-ca checks the chain only: the certificate names "localhost", we dialled an IP.
    assert!(
        encrypted(&open(&with_query(
            &db.url,
            &format!("sslmode=verify-ca&{root}")
        )))
        .await
        .unwrap()
    );
    // ... and refuses it when the roots did not sign it (the system's public CAs).
    let public_roots = Path::new("/etc/ssl/certs/ca-certificates.crt");
    if public_roots.is_file() {
        let other_roots = format!("sslmode=verify-ca&sslrootcert={}", public_roots.display());
        let refused = open(&with_query(&db.url, &other_roots))
            .ping()
            .await
            .unwrap_err()
            .to_string();
        assert!(refused.contains("invalid peer certificate"), "{refused}");
    }
    // verify-full also checks the name: refused for 127.0.0.1, accepted for localhost.
    let wrong_name = open(&with_query(&db.url, &format!("sslmode=verify-full&{root}")))
        .ping()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        wrong_name.contains("invalid peer certificate"),
        "{wrong_name}"
    );
    let mut by_name =
        url::Url::parse(&with_query(&db.url, &format!("sslmode=verify-full&{root}"))).unwrap();
    by_name.set_host(Some("localhost")).unwrap();
    assert!(encrypted(&open(by_name.as_str())).await.unwrap());
}
