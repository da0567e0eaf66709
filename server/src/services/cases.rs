//! Wiring of the case registry, follow-up and verification services.
//!
//! The crates are re-exported ([`mimamori_cases`], [`mimamori_verification`]) so tests and
//! tools that only depend on this package can reach their types.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use mimamori_cases::service::CaseRegistry;
use mimamori_key_server::hooks::{KeyRevoker, ProcessingNumberVerifier, PublishObserver};
use mimamori_verification::service::Verification;

pub use mimamori_cases;
pub use mimamori_verification;

use super::ServiceContext;

/// How often unclaimed numbers past their validity are written to their cases as expired.
const EXPIRY_SWEEP: Duration = Duration::from_secs(30);

/// How often follow-up plans are checked for days past the cut-off without a report.
const MISSED_REPORT_CHECK: Duration = Duration::from_secs(60);

/// How often the outbox sends what is due (a twelfth of `sends_per_minute` each time).
const OUTBOX_ROUND: Duration = Duration::from_secs(5);

/// How often the retention rule runs (idempotent on every replica; a day late is still on
/// time for a period counted in days).
const RETENTION_SWEEP: Duration = Duration::from_secs(3600);

/// How often a replica checks that yesterday's open-data snapshot is listed (and builds it
/// when not; idempotent on every replica, the first listing of a day wins).
const OPEN_DATA_SNAPSHOT_CHECK: Duration = Duration::from_secs(600);

/// The case and verification services' shared state.
#[derive(Clone)]
pub struct CasesService {
    cases: web::Data<CaseRegistry>,
    verification: web::Data<Verification>,
}

impl std::fmt::Debug for CasesService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CasesService").finish_non_exhaustive()
    }
}

impl CasesService {
    /// Builds the state from the context (`settings.cases`, `settings.verification`).
    /// Secrets and the first signing key are loaded or generated lazily on first use.
    pub fn build(context: &ServiceContext) -> anyhow::Result<Self> {
        let cases = CaseRegistry::new(
            context.database.clone(),
            context.settings.cases.clone(),
            Arc::clone(&context.clock),
        )
        // Sign-in and (through the registry) verification count in the one shared store.
        .with_limit_store(Arc::clone(&context.limits))
        .with_metrics(&context.registry)
        .map_err(anyhow::Error::msg)?;
        let transports = mimamori_cases::service::outbox::Transports::from_config(
            &context.settings.cases.messaging,
        )
        .map_err(|e| anyhow::anyhow!("cases.messaging: {e}"))?;
        let cases = cases.with_transports(transports);
        // Certificates and notices need a Japanese font; without one only they are off.
        let cases = match mimamori_cases::mimamori_documents::Renderer::discover() {
            Ok(renderer) => {
                tracing::info!(
                    font = renderer.fonts().origin(),
                    "documents: PDF font found"
                );
                cases.with_document_renderer(renderer)
            }
            Err(error) => {
                tracing::warn!(error = %error, "documents are off: no Japanese font");
                cases
            }
        };
        let verification = Verification::new(
            context.database.clone(),
            cases.clone(),
            context.settings.verification.clone(),
            Arc::clone(&context.clock),
            &context.registry,
        )
        .map_err(anyhow::Error::msg)?;
        Ok(CasesService {
            cases: web::Data::new(cases),
            verification: web::Data::new(verification),
        })
    }

    /// The case registry.
    pub fn registry(&self) -> &CaseRegistry {
        &self.cases
    }

    /// The verification service.
    pub fn verification(&self) -> &Verification {
        &self.verification
    }

    /// The COCOA-path processing-number check, for the key server.
    pub fn processing_number_verifier(&self) -> Arc<dyn ProcessingNumberVerifier> {
        Arc::new(self.verification.get_ref().clone())
    }

    /// Receives "keys published under certificate X" from the key server.
    pub fn publish_observer(&self) -> Arc<dyn PublishObserver> {
        Arc::new(self.verification.get_ref().clone())
    }

    /// Connects the key server's revocation (false-positive cases revoke published keys).
    pub fn set_key_revoker(&self, revoker: Arc<dyn KeyRevoker>) {
        self.verification.set_key_revoker(revoker);
    }

    /// Loads or generates the verification secrets and signing key at start (a log line says
    /// when they were generated), then runs the job that records expired numbers on their
    /// cases and purges old ones (idempotent conditional updates, so every replica may run
    /// it). Also runs the follow-up missed-report check (idempotent: one alert per case and
    /// day). Needs a tokio runtime.
    pub fn spawn_workers(&self) {
        let cases = self.cases.get_ref().clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(MISSED_REPORT_CHECK);
            loop {
                interval.tick().await;
                match cases.check_missed_reports().await {
                    Ok(0) => {}
                    Ok(count) => tracing::info!(count, "missed-report alerts opened"),
                    Err(error) => tracing::warn!(error = %error, "missed-report check failed"),
                }
                if let Err(error) = cases.refresh_followup_metrics().await {
                    tracing::warn!(error = %error, "follow-up metrics refresh failed");
                }
            }
        });
        let cases = self.cases.get_ref().clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(OUTBOX_ROUND);
            let mut rounds: u64 = 0;
            loop {
                interval.tick().await;
                // Reminders once a minute; deliveries every round.
                if rounds.is_multiple_of(12) {
                    match cases.queue_daily_reminders().await {
                        Ok(0) => {}
                        Ok(count) => tracing::info!(count, "daily reminders queued"),
                        Err(error) => tracing::warn!(error = %error, "reminder sweep failed"),
                    }
                }
                rounds = rounds.wrapping_add(1);
                if let Err(error) = cases.deliver_due(cases.sends_per_round()).await {
                    tracing::warn!(error = %error, "outbox delivery failed");
                }
            }
        });
        let cases = self.cases.get_ref().clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(RETENTION_SWEEP);
            loop {
                interval.tick().await;
                match cases.run_retention().await {
                    Ok(report) if report.cases + report.contacts > 0 => tracing::info!(
                        cases = report.cases,
                        contacts = report.contacts,
                        "retention: personal data of closed records removed"
                    ),
                    Ok(_) => {}
                    Err(error) => tracing::warn!(error = %error, "retention sweep failed"),
                }
            }
        });
        let cases = self.cases.get_ref().clone();
        tokio::spawn(async move {
            // Not at start: a (re)starting replica serves first.
            let mut interval = tokio::time::interval_at(
                tokio::time::Instant::now() + OPEN_DATA_SNAPSHOT_CHECK,
                OPEN_DATA_SNAPSHOT_CHECK,
            );
            loop {
                interval.tick().await;
                match cases.open_data_snapshot().await {
                    Ok(mimamori_cases::service::open_data::SnapshotOutcome::Built(date)) => {
                        tracing::info!(date = %date, "open data snapshot built")
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(error = %error, "open data snapshot failed"),
                }
            }
        });
        let verification = self.verification.get_ref().clone();
        tokio::spawn(async move {
            if let Err(error) = verification.warm_up().await {
                tracing::warn!(error = %error, "verification secrets and keys not ready yet");
            }
            let mut interval = tokio::time::interval(EXPIRY_SWEEP);
            loop {
                interval.tick().await;
                match verification.expire_due().await {
                    Ok(0) => {}
                    Ok(count) => tracing::info!(count, "processing numbers expired unclaimed"),
                    Err(error) => tracing::warn!(error = %error, "expiry sweep failed"),
                }
            }
        });
    }

    /// Registers the routes.
    pub fn configure(&self, config: &mut web::ServiceConfig) {
        mimamori_cases::api::configure(config, self.cases.clone());
        mimamori_verification::api::configure(config, self.verification.clone());
    }
}
