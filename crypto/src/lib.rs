//! GAEN crypto core: identifiers, BLE payload, export files, matching and risk scoring.
//!
//! Pure: no IO, no async, no HTTP or SQL.

