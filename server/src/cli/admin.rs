//! `mimamori admin ...`, `mimamori audit ...` and `mimamori keys certificate ...`: first set-up,
//! scripting and audit-chain checks for the case registry and the verification service.
//!
//! Output is one `name: value` line per item, so scripts can pick values with `grep`/`cut`.
//! Passwords, TOTP secrets and API keys are printed once and never stored in clear.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use mimamori_cases::CaseRegistry;
use mimamori_cases::model::{OrgKind, Role};
use mimamori_cases::store::ApiKeyKind;
use mimamori_storage::{SharedClock, SystemClock};
use mimamori_verification::Verification;

use crate::config::Settings;

/// `mimamori admin ...`.
#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Create the national organization and its first admin (once); prints the one-time
    /// password and TOTP secret.
    Init {
        /// Name of the national organization.
        #[arg(long, default_value = "Ministry of Health")]
        name: String,
        /// The first admin's user name.
        #[arg(long, default_value = "admin")]
        username: String,
    },
    /// Create an organization; prints its id.
    CreateOrganization {
        /// prefecture, health_center, medical_institution or contractor.
        #[arg(long)]
        kind: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Parent: the prefecture of a health center, or a medical institution's health center.
        #[arg(long)]
        parent: Option<String>,
    },
    /// List organizations.
    ListOrganizations,
    /// Create a user; prints the one-time password and TOTP secret.
    CreateUser {
        /// Organization id.
        #[arg(long)]
        organization: String,
        /// Sign-in name.
        #[arg(long)]
        username: String,
        /// Role (repeatable): org_admin, case_worker, doctor, statistics_viewer.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
    /// Create an API key (admin: issue API; device: apps); prints the key once.
    CreateApiKey {
        /// Organization id.
        #[arg(long)]
        organization: String,
        /// admin or device.
        #[arg(long)]
        kind: String,
        /// Label.
        #[arg(long)]
        name: String,
    },
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

async fn registry(settings: &Settings) -> anyhow::Result<CaseRegistry> {
    let database = crate::startup::open_and_migrate(settings).await?;
    let clock: SharedClock = Arc::new(SystemClock);
    Ok(CaseRegistry::new(database, settings.cases.clone(), clock))
}

async fn verification(settings: &Settings) -> anyhow::Result<Verification> {
    let database = crate::startup::open_and_migrate(settings).await?;
    let clock: SharedClock = Arc::new(SystemClock);
    let cases = CaseRegistry::new(database.clone(), settings.cases.clone(), Arc::clone(&clock));
    Verification::new(
        database,
        cases,
        settings.verification.clone(),
        clock,
        &prometheus::Registry::new(),
    )
    .map_err(anyhow::Error::msg)
}

impl AdminCommand {
    /// Runs the command against the configured database.
    pub fn run(self, settings: Settings) -> anyhow::Result<ExitCode> {
        crate::telemetry::init(&settings.log);
        runtime()?.block_on(async move {
            let registry = registry(&settings).await?;
            match self {
                AdminCommand::Init { name, username } => {
                    let (org, user) = registry.init(&name, &username).await?;
                    println!("organization_id: {}", org.id);
                    println!("username: {}", user.username);
                    println!("password: {}", user.password);
                    println!("totp_secret: {}", user.totp_secret);
                    println!("totp_uri: {}", user.totp_uri);
                    eprintln!(
                        "note: the password and TOTP secret are shown only now; store them safely"
                    );
                }
                AdminCommand::CreateOrganization { kind, name, parent } => {
                    let kind = OrgKind::parse(&kind).context(
                        "--kind must be prefecture, health_center, medical_institution or contractor",
                    )?;
                    let org = registry
                        .create_organization(None, kind, &name, parent.as_deref())
                        .await?;
                    println!("organization_id: {}", org.id);
                }
                AdminCommand::ListOrganizations => {
                    for org in registry.organizations(None).await? {
                        println!(
                            "{}\t{}\t{}\t{}",
                            org.id,
                            org.kind.as_str(),
                            org.parent_id.unwrap_or_else(|| "-".into()),
                            org.name
                        );
                    }
                }
                AdminCommand::CreateUser {
                    organization,
                    username,
                    roles,
                } => {
                    let roles = roles
                        .iter()
                        .map(|r| {
                            Role::parse(r).with_context(|| {
                                format!("unknown role '{r}'; use org_admin, case_worker, doctor or statistics_viewer")
                            })
                        })
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    let user = registry
                        .create_user(None, &organization, &username, roles)
                        .await?;
                    println!("user_id: {}", user.id);
                    println!("username: {}", user.username);
                    println!("password: {}", user.password);
                    println!("totp_secret: {}", user.totp_secret);
                }
                AdminCommand::CreateApiKey {
                    organization,
                    kind,
                    name,
                } => {
                    let kind = ApiKeyKind::parse(&kind).context("--kind must be admin or device")?;
                    let (id, key) = registry
                        .create_api_key(None, &organization, kind, &name)
                        .await?;
                    println!("api_key_id: {id}");
                    println!("api_key: {key}");
                }
            }
            Ok(ExitCode::SUCCESS)
        })
    }
}

/// `mimamori audit ...`.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of the audit log; exits 1 when it is broken.
    Verify,
}

impl AuditCommand {
    /// Runs the command against the configured database.
    pub fn run(self, settings: Settings) -> anyhow::Result<ExitCode> {
        crate::telemetry::init(&settings.log);
        runtime()?.block_on(async move {
            let registry = registry(&settings).await?;
            match registry.verify_audit().await? {
                Ok(count) => {
                    println!("audit chain verified: {count} entries");
                    Ok(ExitCode::SUCCESS)
                }
                Err(broken) => {
                    println!("{broken}");
                    Ok(ExitCode::from(1))
                }
            }
        })
    }
}

/// `mimamori keys certificate ...`: the verification service's certificate signing keys.
#[derive(Debug, clap::Subcommand)]
pub enum CertificateKeyCommand {
    /// List signing keys (creates the first one if there is none).
    List,
    /// Create a new signing key and make it active; older keys keep verifying and stay in
    /// the JWKS. Running servers pick it up within a minute.
    Rotate,
}

impl CertificateKeyCommand {
    /// Runs the command against the configured database.
    pub fn run(self, settings: Settings) -> anyhow::Result<ExitCode> {
        crate::telemetry::init(&settings.log);
        runtime()?.block_on(async move {
            let verification = verification(&settings).await?;
            match self {
                CertificateKeyCommand::List => {
                    for (kid, created_at_ms, active) in verification.list_keys().await? {
                        println!(
                            "{kid}\t{}\t{}",
                            mimamori_verification::model::rfc3339(created_at_ms),
                            if active { "active" } else { "verify-only" }
                        );
                    }
                }
                CertificateKeyCommand::Rotate => {
                    let kid = verification.rotate_keys().await?;
                    println!("kid: {kid}");
                }
            }
            Ok(ExitCode::SUCCESS)
        })
    }
}

/// `mimamori opendata ...`.
#[derive(Debug, clap::Subcommand)]
pub enum OpenDataCommand {
    /// Build, verify and list yesterday's open-data snapshot now (what `serve` does every ten
    /// minutes); prints the date and whether it was built or already listed.
    Snapshot,
}

impl OpenDataCommand {
    /// Runs the command against the configured database.
    pub fn run(self, settings: Settings) -> anyhow::Result<ExitCode> {
        crate::telemetry::init(&settings.log);
        runtime()?.block_on(async move {
            let registry = registry(&settings).await?;
            match registry.open_data_snapshot().await? {
                mimamori_cases::service::open_data::SnapshotOutcome::Built(date) => {
                    println!("snapshot {date}: built, verified and listed");
                }
                mimamori_cases::service::open_data::SnapshotOutcome::Existing(date) => {
                    println!("snapshot {date}: already listed");
                }
            }
            Ok(ExitCode::SUCCESS)
        })
    }
}
