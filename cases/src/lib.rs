//! Case registry: organizations, users, notifications of occurrence, follow-up, statistics and audit log.

pub mod api;
pub mod config;

pub use config::Config;

/// This crate's database migrations (SQL for SQLite and PostgreSQL).
pub const MIGRATIONS: mimamori_storage::MigrationSet = mimamori_storage::MigrationSet {
    component: "cases",
    migrations: &[],
};
