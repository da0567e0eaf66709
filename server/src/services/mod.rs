//! Composition of the service crates into one application: their migrations, their state,
//! their routes and their background jobs. Cross-service wiring (for example the key server's
//! processing-number check implemented by the verification service) happens here and only here.

pub mod cases;
pub mod key_server;

use std::sync::Arc;

use actix_web::web;
use mimamori_storage::limits::LimitStore;
use mimamori_storage::{Database, MigrationSet, SharedClock};

use crate::config::Settings;

/// What every service needs to build its state.
#[derive(Clone)]
pub struct ServiceContext {
    /// The database.
    pub database: Database,
    /// The failure-limit store every limit of this replica counts in (`[limits]`: the
    /// database's tables or Redis), built once at start.
    pub limits: Arc<dyn LimitStore>,
    /// The effective configuration.
    pub settings: Arc<Settings>,
    /// The registry services add their metrics to.
    pub registry: prometheus::Registry,
    /// The time source (a manual clock in tests).
    pub clock: SharedClock,
    /// This server's own base URL (`http://ADDR`), for the export canary.
    pub self_url: String,
}

impl std::fmt::Debug for ServiceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceContext")
            .field("database", &self.database.backend())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Every component's migrations, in dependency order.
pub fn migration_sets() -> Vec<MigrationSet> {
    vec![
        mimamori_storage::MIGRATIONS,
        mimamori_key_server::MIGRATIONS,
        mimamori_cases::MIGRATIONS,
        mimamori_verification::MIGRATIONS,
    ]
}

/// The built services, shared by every HTTP worker.
#[derive(Clone)]
pub struct Services {
    key_server: key_server::KeyServerService,
    cases: cases::CasesService,
    console: mimamori_console::Console,
}

impl Services {
    /// Builds every service's state and wires them together.
    pub async fn build(context: &ServiceContext) -> anyhow::Result<Services> {
        let cases = cases::CasesService::build(context)?;
        // COCOA uploads claim processing numbers in-process; stored keys are reported back
        // per certificate; revoking a case revokes its published keys.
        let key_server = key_server::build(
            context,
            Some(cases.processing_number_verifier()),
            Some(cases.publish_observer()),
        )
        .await?;
        cases.set_key_revoker(key_server.revoker());
        // The console calls the case and verification services in process.
        let console = mimamori_console::Console::new(
            cases.registry().clone(),
            cases.verification().clone(),
            context.settings.console.clone(),
        );
        Ok(Services {
            key_server,
            cases,
            console,
        })
    }

    /// Starts the background workers (export, retention, canary).
    pub fn spawn_workers(&self, context: &ServiceContext) {
        self.key_server.spawn_worker(context.database.clone());
        self.cases.spawn_workers();
    }

    /// The case and verification services.
    pub fn cases(&self) -> &cases::CasesService {
        &self.cases
    }

    /// The key server (for `mimamori export run` and tests).
    pub fn key_server(&self) -> &key_server::KeyServerService {
        &self.key_server
    }

    /// Registers every service's routes (called once per HTTP worker).
    pub fn configure(&self, config: &mut web::ServiceConfig) {
        self.key_server.configure(config);
        self.cases.configure(config);
        self.console.configure(config);
    }
}
