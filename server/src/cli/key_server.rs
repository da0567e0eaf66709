//! `mimamori export run` and `mimamori keys export ...`: the key server's export and
//! export-signing-key operations from the command line.

use std::process::ExitCode;
use std::sync::Arc;

use mimamori_key_server::export::{Exporter, generate_signing_key, public_key_pem};
use mimamori_key_server::metrics::KeyServerMetrics;
use mimamori_key_server::store::{DatabaseKeyServerStore, KeyServerStore};
use mimamori_storage::{Clock, SystemClock};
use serde_json::json;

use crate::config::Settings;

/// `mimamori export run`: export every closed window once, apply retention, print a report.
#[derive(Debug, clap::Args)]
pub struct ExportRunArgs {}

/// `mimamori keys export ...`: export-signing keys.
#[derive(Debug, clap::Subcommand)]
pub enum ExportKeyCommand {
    /// Create a signing key (the first, or an extra version).
    Generate {
        /// Key id apps are configured with (default: key_server.export.signing_key_id).
        #[arg(long)]
        key_id: Option<String>,
        /// Version (default: the next `vN`).
        #[arg(long)]
        key_version: Option<String>,
        /// Start signing this many hours from now (give apps the public key first).
        #[arg(long, default_value_t = 0)]
        activate_in_hours: u32,
    },
    /// List signing keys with their state and the public key apps need.
    List,
    /// Add a new version that signs from now, and retire the current ones after an overlap.
    Rotate {
        /// Hours during which old and new keys both sign.
        #[arg(long, default_value_t = 168)]
        overlap_hours: u32,
    },
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn exporter(
    settings: &Settings,
    database: &mimamori_storage::Database,
    store: Arc<dyn KeyServerStore>,
) -> anyhow::Result<Exporter> {
    Ok(Exporter {
        blobs: mimamori_key_server::blobs::from_config(&settings.key_server.export, database)?,
        store,
        config: Arc::new(settings.key_server.clone()),
        clock: Arc::new(SystemClock),
        metrics: KeyServerMetrics::unregistered(),
    })
}

impl ExportRunArgs {
    /// Runs one export pass against the configured database.
    pub fn run(self, settings: Settings) -> anyhow::Result<ExitCode> {
        settings.key_server.validate().map_err(anyhow::Error::msg)?;
        crate::telemetry::init(&settings.log);
        runtime()?.block_on(async move {
            let database = crate::startup::open_and_migrate(&settings).await?;
            let store: Arc<dyn KeyServerStore> =
                Arc::new(DatabaseKeyServerStore::new(database.clone()));
            let exporter = exporter(&settings, &database, store)?;
            exporter.ensure_signing_key().await?;
            let report = exporter.run_once().await?;
            let (keys_deleted, files_deleted) = exporter.retention().await?;
            let files: Vec<_> = report
                .files
                .iter()
                .map(|f| {
                    json!({
                        "path": f.path, "sha256": f.sha256, "size_bytes": f.size_bytes,
                        "key_count": f.key_count, "region": f.region,
                        "start_timestamp": f.start_s, "end_timestamp": f.end_s,
                    })
                })
                .collect();
            println!(
                "{}",
                json!({
                    "windows": report.windows,
                    "files": files,
                    "retention": { "keys_deleted": keys_deleted, "files_deleted": files_deleted },
                })
            );
            Ok(ExitCode::SUCCESS)
        })
    }
}

/// The `<KEY_ID>-<KEY_VERSION>,<base64 SPKI>` line devices are configured with.
fn device_line(key_id: &str, key_version: &str, pem: &str) -> String {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("");
    format!("{key_id}-{key_version},{body}")
}

fn next_version(existing: &[mimamori_key_server::store::SigningKeyRecord], key_id: &str) -> String {
    let highest = existing
        .iter()
        .filter(|k| k.key_id == key_id)
        .filter_map(|k| k.key_version.strip_prefix('v')?.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    format!("v{}", highest + 1)
}

impl ExportKeyCommand {
    /// Runs the command against the configured database.
    pub fn run(self, settings: Settings) -> anyhow::Result<ExitCode> {
        runtime()?.block_on(async move {
            let database = crate::startup::open_and_migrate(&settings).await?;
            let store = DatabaseKeyServerStore::new(database);
            let now = SystemClock.now_ms();
            let default_id = settings.key_server.export.signing_key_id.clone();
            match self {
                ExportKeyCommand::Generate {
                    key_id,
                    key_version,
                    activate_in_hours,
                } => {
                    let existing = store.signing_keys().await?;
                    let key_id = key_id.unwrap_or(default_id);
                    let version = key_version.unwrap_or_else(|| next_version(&existing, &key_id));
                    let record = generate_signing_key(
                        &key_id,
                        &version,
                        now,
                        now + i64::from(activate_in_hours) * 3_600_000,
                    )?;
                    if !store.insert_signing_key(&record).await? {
                        anyhow::bail!("signing key {key_id}/{version} already exists; choose another --key-version");
                    }
                    let pem = public_key_pem(&record)?;
                    println!("{}", json!({
                        "key_id": key_id, "key_version": version,
                        "activates_at_ms": record.activates_at_ms,
                        "public_key_pem": pem,
                        "device_configuration": device_line(&record.key_id, &record.key_version, &pem),
                    }));
                }
                ExportKeyCommand::List => {
                    for record in store.signing_keys().await? {
                        let pem = public_key_pem(&record)?;
                        let state = if record.is_active(now) {
                            "active"
                        } else if record.activates_at_ms > now {
                            "pending"
                        } else {
                            "retired"
                        };
                        println!("{}", json!({
                            "key_id": record.key_id, "key_version": record.key_version,
                            "state": state, "activates_at_ms": record.activates_at_ms,
                            "retires_at_ms": record.retires_at_ms,
                            "public_key_pem": pem,
                            "device_configuration": device_line(&record.key_id, &record.key_version, &pem),
                        }));
                    }
                }
                ExportKeyCommand::Rotate { overlap_hours } => {
                    let existing = store.signing_keys().await?;
                    let version = next_version(&existing, &default_id);
                    let record = generate_signing_key(&default_id, &version, now, now)?;
                    store.insert_signing_key(&record).await?;
                    let retire_at = now + i64::from(overlap_hours) * 3_600_000;
                    for old in existing.iter().filter(|k| k.is_active(now)) {
                        store
                            .retire_signing_key(&old.key_id, &old.key_version, retire_at)
                            .await?;
                    }
                    let pem = public_key_pem(&record)?;
                    println!("{}", json!({
                        "key_id": default_id, "key_version": version,
                        "previous_keys_retire_at_ms": retire_at,
                        "public_key_pem": pem,
                        "device_configuration": device_line(&record.key_id, &record.key_version, &pem),
                    }));
                }
            }
            Ok(ExitCode::SUCCESS)
        })
    }
}
