//! Verification service: processing numbers tied to cases, device verification, certificates and JWKS.

pub mod api;
pub mod config;

pub use config::Config;

/// This crate's database migrations (SQL for SQLite and PostgreSQL).
pub const MIGRATIONS: mimamori_storage::MigrationSet = mimamori_storage::MigrationSet {
    component: "verification",
    migrations: &[],
};
