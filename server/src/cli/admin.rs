//! `mimamori admin ...`, `mimamori audit ...` and `mimamori keys certificate ...`: first set-up,
//! scripting and audit-chain checks for the case registry and the verification service.
//!
//! Placeholder until the case-registry issue lands: every command fails with a clear message.

use std::process::ExitCode;

use crate::config::Settings;

/// `mimamori admin ...`.
#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Create the national organization and its first admin.
    Init,
}

impl AdminCommand {
    /// Runs the command against the configured database.
    pub fn run(self, _settings: Settings) -> anyhow::Result<ExitCode> {
        anyhow::bail!("`mimamori admin` is not implemented yet")
    }
}

/// `mimamori audit ...`.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of the audit log.
    Verify,
}

impl AuditCommand {
    /// Runs the command against the configured database.
    pub fn run(self, _settings: Settings) -> anyhow::Result<ExitCode> {
        anyhow::bail!("`mimamori audit` is not implemented yet")
    }
}

/// `mimamori keys certificate ...`: the verification service's certificate signing keys.
#[derive(Debug, clap::Subcommand)]
pub enum CertificateKeyCommand {
    /// List signing keys.
    List,
}

impl CertificateKeyCommand {
    /// Runs the command against the configured database.
    pub fn run(self, _settings: Settings) -> anyhow::Result<ExitCode> {
        anyhow::bail!("`mimamori keys certificate` is not implemented yet")
    }
}
