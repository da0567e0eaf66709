//! Diagnosis-key server: publish, certificate checks, key storage, signed export batches and downloads.

pub mod api;
pub mod config;
pub mod hooks;
pub mod model;

pub use config::Config;

/// This crate's database migrations (SQL for SQLite and PostgreSQL).
pub const MIGRATIONS: mimamori_storage::MigrationSet = mimamori_storage::MigrationSet {
    component: "key_server",
    migrations: &[],
};
