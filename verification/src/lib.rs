//! Verification service: processing numbers tied to cases, device verification, certificates and JWKS.
//!
//! Rooms: [`model`] (codes, claims, error codes), [`store`] (the [`store::VerificationStore`]
//! trait on SQLite and PostgreSQL), [`keys`] (signing keys encrypted at rest, JWKS),
//! [`abuse`] (failure limits, spike alerts, metrics), [`service`] (the flows) and [`api`]
//! (actix-web handlers). [`hooks`] implements the key server's seams.
//!
//! **Invariants.** This crate never sees a TEK (only the app's HMAC over them). A processing
//! number is stored only as an HMAC under a server secret and is claimed by a conditional
//! update, so it is single use under any concurrency. No code, token, key or IP address is
//! logged or used as a metric label.

pub mod abuse;
pub mod api;
pub mod config;
pub mod hooks;
pub mod keys;
pub mod model;
pub mod openapi;
pub mod service;
pub mod store;

pub use config::Config;
/// The ES256 JWS and JWK helpers tokens and certificates are made with (for clients and tests).
pub use mimamori_crypto::jws;
pub use openapi::openapi;
pub use service::Verification;

macro_rules! tables {
    () => {
        "CREATE TABLE processing_numbers (
            id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL,
            test_type TEXT NOT NULL,
            symptom_date TEXT,
            test_date TEXT,
            issued_at_ms BIGINT NOT NULL,
            expires_at_ms BIGINT NOT NULL,
            long_expires_at_ms BIGINT NOT NULL,
            claimed_at_ms BIGINT,
            revoked_at_ms BIGINT,
            code_hmac BYTEA NOT NULL UNIQUE,
            long_hmac BYTEA UNIQUE,
            hmac_key_id TEXT NOT NULL,
            issued_by TEXT NOT NULL,
            expiry_recorded BIGINT NOT NULL DEFAULT 0
        );
        CREATE INDEX processing_numbers_by_case ON processing_numbers (case_id);
        CREATE INDEX processing_numbers_by_expiry ON processing_numbers (expiry_recorded, expires_at_ms);
        CREATE TABLE verification_tokens (
            jti TEXT PRIMARY KEY,
            number_id TEXT NOT NULL,
            case_id TEXT NOT NULL,
            issued_at_ms BIGINT NOT NULL,
            expires_at_ms BIGINT NOT NULL,
            used_at_ms BIGINT,
            revoked_at_ms BIGINT
        );
        CREATE INDEX verification_tokens_by_case ON verification_tokens (case_id);
        CREATE TABLE certificates (
            id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL,
            number_id TEXT NOT NULL,
            issued_at_ms BIGINT NOT NULL,
            keys_published BIGINT NOT NULL DEFAULT 0,
            revoked_at_ms BIGINT
        );
        CREATE INDEX certificates_by_case ON certificates (case_id);
        CREATE TABLE signing_keys (
            kid TEXT PRIMARY KEY,
            created_at_ms BIGINT NOT NULL,
            encrypted_private BYTEA NOT NULL,
            public_key BYTEA NOT NULL,
            active BIGINT NOT NULL
        );
        CREATE TABLE verification_secrets (
            name TEXT PRIMARY KEY,
            value BYTEA NOT NULL,
            created_at_ms BIGINT NOT NULL
        );"
    };
}

/// Self-reports (`POST /api/user-report`): a number without a case, bound to the app's
/// nonce (SHA-256), and one report per phone number (HMAC) at a time.
///
/// COCOA retries: the certificate of an upload keeps the SHA-256 of its idempotency key, so
/// a retry of the same submission is recognised.
const USER_REPORTS: &str = "ALTER TABLE processing_numbers ADD COLUMN nonce_hash BYTEA;
    ALTER TABLE certificates ADD COLUMN idempotency_hash BYTEA;
    CREATE TABLE user_reports (
        phone_hmac BYTEA PRIMARY KEY,
        number_id TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL
    );";

/// This crate's database migrations (SQL for SQLite and PostgreSQL).
pub const MIGRATIONS: mimamori_storage::MigrationSet = mimamori_storage::MigrationSet {
    component: "verification",
    migrations: &[
        mimamori_storage::Migration {
            version: 1,
            name: "numbers_tokens_certificates_keys",
            sqlite: tables!(),
            postgres: tables!(),
        },
        mimamori_storage::Migration {
            version: 2,
            name: "user_reports",
            sqlite: USER_REPORTS,
            postgres: USER_REPORTS,
        },
    ],
};
