//! Command-line access to the crypto core: `mimamori en`, `export inspect|sign`, `match`, `bench`.
//!
//! Placeholder until the crypto issue lands: every command fails with a clear message.

use std::process::ExitCode;

/// `mimamori en ...`: exposure-notification identifiers.
#[derive(Debug, clap::Subcommand)]
pub enum EnCommand {
    /// Derive RPIs (and AEMs) from a TEK.
    Derive,
}

impl EnCommand {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        anyhow::bail!("`mimamori en` is not implemented yet")
    }
}

/// `mimamori export ...`: export files.
#[derive(Debug, clap::Subcommand)]
pub enum ExportCommand {
    /// Parse an export zip and verify its signatures.
    Inspect,
}

impl ExportCommand {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        anyhow::bail!("`mimamori export` is not implemented yet")
    }
}

/// `mimamori match ...`: match sightings against export files.
#[derive(Debug, clap::Args)]
pub struct MatchArgs {}

impl MatchArgs {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        anyhow::bail!("`mimamori match` is not implemented yet")
    }
}

/// `mimamori bench ...`: synthetic benchmarks.
#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Matcher throughput on a synthetic workload.
    Match,
}

impl BenchCommand {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        anyhow::bail!("`mimamori bench` is not implemented yet")
    }
}
