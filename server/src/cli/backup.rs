//! `mimamori backup` and `mimamori restore`: a whole database to one file and back, for
//! either backend (see `mimamori_storage::backup`).
//!
//! Output is one `name: value` line per item. The database is named only in its redacted
//! form (no password).

use std::path::PathBuf;
use std::process::ExitCode;

use mimamori_storage::backup::{self, BackupReport, PgTools};

use crate::config::Settings;

/// `mimamori backup --out PATH`.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The backup file to write: a SQLite database file, or a `pg_dump --format=custom`
    /// archive for PostgreSQL. Written beside PATH and renamed when complete.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Replace PATH when it exists.
    #[arg(long)]
    pub force: bool,
    /// Directory holding pg_dump and pg_restore (default: found on PATH).
    #[arg(long, value_name = "DIR")]
    pub pg_bindir: Option<PathBuf>,
}

/// `mimamori restore --from PATH`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A file written by `mimamori backup` for the configured backend.
    #[arg(long, value_name = "PATH")]
    pub from: PathBuf,
    /// Replace an existing database (SQLite: the file; PostgreSQL: a database with tables).
    /// A database a server has open is refused even so.
    #[arg(long)]
    pub force: bool,
    /// Directory holding pg_dump and pg_restore (default: found on PATH).
    #[arg(long, value_name = "DIR")]
    pub pg_bindir: Option<PathBuf>,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn print_report(settings: &Settings, report: &BackupReport) -> anyhow::Result<()> {
    let target = settings.database_target()?;
    println!("backend: {}", report.backend.as_str());
    println!("database: {}", target.redacted());
    println!("file: {}", report.file.display());
    println!("bytes: {}", report.bytes);
    Ok(())
}

impl BackupArgs {
    /// Writes a consistent backup of the configured database (servers may keep running).
    pub fn run(self, settings: Settings) -> anyhow::Result<ExitCode> {
        let target = settings.database_target()?;
        let tools = PgTools::new(self.pg_bindir.as_deref());
        let report = runtime()?.block_on(backup::backup(&target, &self.out, self.force, &tools))?;
        print_report(&settings, &report)?;
        Ok(ExitCode::SUCCESS)
    }
}

impl RestoreArgs {
    /// Restores a backup into the configured database (every server stopped).
    pub fn run(self, settings: Settings) -> anyhow::Result<ExitCode> {
        let target = settings.database_target()?;
        let tools = PgTools::new(self.pg_bindir.as_deref());
        let timeout = settings.pool_options().timeout;
        let report = runtime()?.block_on(backup::restore(
            &target, &self.from, self.force, &tools, timeout,
        ))?;
        print_report(&settings, &report)?;
        println!(
            "next: mimamori migrate (applies migrations newer than the backup), then start the servers"
        );
        Ok(ExitCode::SUCCESS)
    }
}
