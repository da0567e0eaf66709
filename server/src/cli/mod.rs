//! The `mimamori` command line: argument definitions and dispatch.

pub mod admin;
pub mod backup;
pub mod crypto;
pub mod key_server;
pub mod sim;
pub mod sim_run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::startup::{self, Application};
use crate::telemetry;

/// Mimamori: exposure-notification and contact-tracing backend.
#[derive(Debug, Parser)]
#[command(name = "mimamori", version = crate::VERSION, about, long_about = None)]
pub struct Cli {
    /// TOML configuration file (values there are overridden by MIMAMORI_* variables and flags).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (migrates the database first).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Print the version and exit.
    Version,
    /// Exposure-notification identifiers (RPI/AEM derivation).
    #[command(subcommand)]
    En(crypto::EnCommand),
    /// Export files: inspect, sign, and run the export once.
    #[command(subcommand)]
    Export(ExportCli),
    /// Match sightings against export files and score the exposure.
    Match(crypto::MatchArgs),
    /// Synthetic benchmarks.
    #[command(subcommand)]
    Bench(crypto::BenchCommand),
    /// Organizations, users and API keys (first set-up and scripts).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(admin::AuditCommand),
    /// The public open data.
    #[command(subcommand)]
    Opendata(admin::OpenDataCommand),
    /// Signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// BLE simulator: replay and calibration on measured data.
    #[command(subcommand)]
    Sim(sim::SimCommand),
    /// Write a consistent backup of the database to one file (servers may keep running).
    Backup(backup::BackupArgs),
    /// Restore a backup into the configured database (stop the servers first).
    Restore(backup::RestoreArgs),
}

/// `mimamori export ...`.
#[derive(Debug, Subcommand)]
pub enum ExportCli {
    /// Inspect and sign export files.
    #[command(flatten)]
    File(crypto::ExportCommand),
    /// Export every closed window once and apply retention (what `serve` does periodically).
    Run(key_server::ExportRunArgs),
}

/// `mimamori keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// The key server's export-signing keys.
    #[command(subcommand)]
    Export(key_server::ExportKeyCommand),
    /// The verification service's certificate and token signing keys.
    #[command(subcommand)]
    Certificate(admin::CertificateKeyCommand),
}

/// `mimamori serve` flags.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Listen address, HOST:PORT (overrides `listen` and MIMAMORI_LISTEN).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Print the effective configuration (secrets redacted) and exit.
    #[arg(long)]
    pub print_config: bool,
}

/// Parses the arguments and runs the command; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, skipping causes already quoted by their parent.
fn one_line(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message.replace('\n', " ")
}

fn load_settings(config: Option<&PathBuf>) -> anyhow::Result<Settings> {
    Ok(Settings::load(config.map(PathBuf::as_path))?)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Runs one parsed command.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => {
            let mut settings = load_settings(cli.config.as_ref())?;
            if let Some(listen) = args.listen {
                settings.listen = listen;
                settings.validate()?;
            }
            if args.print_config {
                print!("{}", settings.to_redacted_toml());
                return Ok(ExitCode::SUCCESS);
            }
            telemetry::init(&settings.log);
            runtime()?.block_on(async move {
                let application = Application::build(settings).await?;
                application.run_until_stopped().await?;
                Ok(ExitCode::SUCCESS)
            })
        }
        Command::Migrate => {
            let settings = load_settings(cli.config.as_ref())?;
            telemetry::init(&settings.log);
            runtime()?.block_on(async move {
                startup::open_and_migrate(&settings).await?;
                println!("migrations applied");
                Ok(ExitCode::SUCCESS)
            })
        }
        Command::Version => {
            println!("mimamori {} ({})", crate::VERSION, crate::REVISION);
            Ok(ExitCode::SUCCESS)
        }
        Command::En(command) => command.run(),
        Command::Export(ExportCli::File(command)) => command.run(),
        Command::Export(ExportCli::Run(args)) => args.run(load_settings(cli.config.as_ref())?),
        Command::Keys(KeysCommand::Export(command)) => {
            command.run(load_settings(cli.config.as_ref())?)
        }
        Command::Match(args) => args.run(),
        Command::Bench(command) => command.run(),
        Command::Admin(command) => command.run(load_settings(cli.config.as_ref())?),
        Command::Audit(command) => command.run(load_settings(cli.config.as_ref())?),
        Command::Opendata(command) => command.run(load_settings(cli.config.as_ref())?),
        Command::Keys(KeysCommand::Certificate(command)) => {
            command.run(load_settings(cli.config.as_ref())?)
        }
        Command::Sim(command) => command.run(),
        Command::Backup(args) => args.run(load_settings(cli.config.as_ref())?),
        Command::Restore(args) => args.run(load_settings(cli.config.as_ref())?),
    }
}
