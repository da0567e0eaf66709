//! Diagnosis-key server: publish, certificate checks, key storage, signed export batches and downloads.

pub mod api;
pub mod config;
pub mod hooks;
pub mod model;
pub mod store;

pub use config::Config;

pub use store::MIGRATIONS;
