//! Helpers shared by the integration tests: locating and loading `shared/data`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

/// `shared/data` (a sibling of the repository root).
pub fn shared_data() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data"))
}

/// The GAEN test-vector JSON.
pub fn vectors() -> serde_json::Value {
    let path = shared_data().join("gaen-test-vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// A file under `shared/data/gaen-exports`.
pub fn export_file(name: &str) -> Vec<u8> {
    let path = shared_data().join("gaen-exports").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A string field of a JSON value.
pub fn s<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("missing string {key}"))
}

/// Hex-decodes a string field.
pub fn hex_field(v: &serde_json::Value, key: &str) -> Vec<u8> {
    hex::decode(s(v, key)).unwrap()
}
