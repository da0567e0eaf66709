//! # mimamori-crypto
//!
//! The pure crypto core of Mimamori, an exposure-notification (GAEN v1.2) backend.
//!
//! **Architecture invariant:** this crate does no IO, no async, no HTTP and no SQL. Every
//! function takes bytes or values and returns bytes or values; callers own files, sockets
//! and clocks (the current time is always a parameter).
//!
//! | Module | What it does |
//! |---|---|
//! | [`interval`] | ENIntervalNumber arithmetic (10-minute intervals, UTC days) |
//! | [`keys`] | TEK generation, RPIK/AEMK (HKDF-SHA256), RPIs (AES-128), AEM (AES-128-CTR) |
//! | [`metadata`] | The 4-byte Bluetooth metadata (version, TX power, calibration confidence) |
//! | [`payload`] | The legacy BLE advertisement carrying RPI ‖ AEM under service UUID 0xFD6F |
//! | [`export`] | `export.bin` / `export.sig` in a reproducible, signed zip, and its verification |
//! | [`tekmac`] | The verification protocol's HMAC over a set of TEKs |
//! | [`matcher`] | Matching sightings against diagnosis keys; exposure windows |
//! | [`scoring`] | v1 and v2 risk scoring, COCOA v1/v2 and Corona-Warn-App presets |
//! | [`synthetic`] | Deterministic synthetic workloads for benchmarks and tests |
//!
//! Formulas and constants follow `shared/docs/gaen-spec.md`; section numbers in the
//! documentation below refer to it.
//!
//! ```
//! use mimamori_crypto::keys::Tek;
//! use mimamori_crypto::interval::EnIntervalNumber;
//!
//! // The published v1.2 test vector (gaen-spec.md §2).
//! let tek = Tek::from_bytes(mimamori_crypto::hex::decode_array(
//!     "75c734c6dd1a782de7a965da5eb93125").unwrap());
//! let rpis = tek.rpik().rpis_for_day(EnIntervalNumber(2642976));
//! assert_eq!(mimamori_crypto::hex::encode(rpis[0].as_bytes()),
//!     "8be6cd371c5c891604bfbe49df845096");
//! ```

pub mod error;
pub mod export;
pub mod hex;
pub mod interval;
pub mod jws;
pub mod keys;
pub mod matcher;
pub mod metadata;
pub mod payload;
pub mod proto;
pub mod scoring;
pub mod synthetic;
pub mod tekmac;

pub use error::{Error, ExportError, PayloadError};
