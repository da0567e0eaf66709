//! Diagnosis-key server: publish, certificate checks, key storage, signed export batches and downloads.

pub mod api;
pub mod batcher;
pub mod blobs;
pub mod canary;
pub mod certificate;
pub mod cocoa;
pub mod config;
pub mod export;
pub mod hooks;
pub mod metrics;
pub mod model;
pub mod openapi;
pub mod service;
pub mod store;

pub use config::Config;

pub use store::MIGRATIONS;
