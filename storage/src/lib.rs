//! Storage foundation shared by every Mimamori service crate.
//!
//! A [`Database`] is either an embedded SQLite file ([`SqlitePool`]) or a PostgreSQL server
//! ([`PgPool`], deadpool-postgres), chosen by the `DATABASE_URL` scheme ([`DatabaseTarget`]).
//! Each service crate owns its SQL: it publishes a [`MigrationSet`] (one SQL text per backend
//! and version) and implements its store traits for both backends. [`Database::migrate`]
//! applies the sets under a lock so several replicas can start together.
//!
//! With the `testing` feature, [`testing`] provides the harness every store uses: a fresh
//! PostgreSQL database per test (dropped afterwards) or a temporary SQLite file, and the
//! [`backend_tests!`] macro that runs one test body against both backends.

pub mod backup;
pub mod clock;
mod database;
mod error;
pub mod lease;
pub mod limits;
mod migrate;
pub mod pg_tls;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use database::{Backend, Database, DatabaseTarget, PgPool, PoolOptions, PoolStatus};
pub use error::{OUTAGE_RETRY_AFTER_SECONDS, StorageError, StorageErrorKind};
pub use migrate::{Migration, MigrationSet, MigrationStatus};
pub use sqlite::SqlitePool;

/// The storage crate's own migrations (the lease table used by background workers, the
/// failure-limit counters shared by the replicas).
pub const MIGRATIONS: MigrationSet = MigrationSet {
    component: "storage",
    migrations: &[
        Migration {
            version: 1,
            name: "leases",
            sqlite: "CREATE TABLE leases (
                     name TEXT PRIMARY KEY,
                     holder TEXT NOT NULL,
                     expires_at_ms INTEGER NOT NULL
                 );",
            postgres: "CREATE TABLE leases (
                       name TEXT PRIMARY KEY,
                       holder TEXT NOT NULL,
                       expires_at_ms BIGINT NOT NULL
                   );",
        },
        Migration {
            version: 2,
            name: "limit_windows",
            sqlite: "CREATE TABLE limit_windows (
                         scope TEXT NOT NULL,
                         limit_key TEXT NOT NULL,
                         start_ms INTEGER NOT NULL,
                         count INTEGER NOT NULL,
                         PRIMARY KEY (scope, limit_key)
                     );
                     CREATE INDEX limit_windows_start ON limit_windows (start_ms);
                     CREATE TABLE limit_secrets (name TEXT PRIMARY KEY, secret BLOB NOT NULL);",
            postgres: "CREATE TABLE limit_windows (
                           scope TEXT NOT NULL,
                           limit_key TEXT NOT NULL,
                           start_ms BIGINT NOT NULL,
                           count BIGINT NOT NULL,
                           PRIMARY KEY (scope, limit_key)
                       );
                       CREATE INDEX limit_windows_start ON limit_windows (start_ms);
                       CREATE TABLE limit_secrets (name TEXT PRIMARY KEY, secret BYTEA NOT NULL);",
        },
    ],
};
