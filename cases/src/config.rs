//! Configuration of this service: the `[cases]` table of the server configuration
//! (`MIMAMORI_CASES__*` in the environment).

use serde::{Deserialize, Serialize};

/// Settings of this service. Unknown keys are rejected. There are no secrets here.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Argon2id memory cost in KiB (OWASP: 19456). Lower only in tests.
    pub argon2_memory_kib: u32,
    /// Argon2id iterations (OWASP: 2).
    pub argon2_iterations: u32,
    /// Session lifetime in seconds.
    pub session_ttl_seconds: i64,
    /// How many days the onset date may lie after the diagnosis date.
    pub max_onset_after_diagnosis_days: i64,
    /// Largest page of a case list.
    pub max_page_size: i64,
    /// Largest CSV import, in rows.
    pub max_import_rows: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            session_ttl_seconds: 8 * 3600,
            max_onset_after_diagnosis_days: 3,
            max_page_size: 100,
            max_import_rows: 10_000,
        }
    }
}
