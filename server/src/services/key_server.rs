//! Wiring of the diagnosis-key server: state, routes and the export worker.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use mimamori_key_server::api::KeyServerApi;
use mimamori_key_server::canary::Canary;
use mimamori_key_server::certificate::{CertificateVerifier, JwkSet};
use mimamori_key_server::export::Exporter;
use mimamori_key_server::hooks::{ProcessingNumberVerifier, PublishObserver};
use mimamori_key_server::metrics::KeyServerMetrics;
use mimamori_key_server::model::revision::RevisionTokenCipher;
use mimamori_key_server::service::KeyServer;
use mimamori_key_server::store::{DatabaseKeyServerStore, KeyServerStore};
use mimamori_storage::lease::{DatabaseLeaseStore, LeaseStore};
use ring::rand::{SecureRandom, SystemRandom};

use super::ServiceContext;

/// The key server's shared state.
#[derive(Clone, Debug)]
pub struct KeyServerService {
    api: KeyServerApi,
    canary: Option<Canary>,
}

/// Builds the store, certificate checks, revision-token key and exporter.
pub async fn build(
    context: &ServiceContext,
    processing_numbers: Option<Arc<dyn ProcessingNumberVerifier>>,
    publish_observer: Option<Arc<dyn PublishObserver>>,
) -> anyhow::Result<KeyServerService> {
    let mut key_server_config = context.settings.key_server.clone();
    // The verification service in this process is trusted without configuration: its
    // certificates are checked against its own JWKS, fetched over this server's HTTP port
    // like any other issuer's (never by calling the service on the publish path).
    let local = &context.settings.verification;
    if !key_server_config
        .issuers
        .iter()
        .any(|i| i.issuer == local.certificate_issuer)
    {
        key_server_config
            .issuers
            .push(mimamori_key_server::config::IssuerConfig {
                issuer: local.certificate_issuer.clone(),
                audience: local.certificate_audience.clone(),
                public_keys: Vec::new(),
                jwks_url: Some(format!("{}/.well-known/jwks.json", context.self_url)),
                jwks_refresh_seconds: 300,
                allowed_clock_skew_seconds: 60,
            });
    }
    let config = Arc::new(key_server_config);
    config.validate().map_err(anyhow::Error::msg)?;
    let store: Arc<dyn KeyServerStore> =
        Arc::new(DatabaseKeyServerStore::new(context.database.clone()));
    let metrics = KeyServerMetrics::new(&context.registry)?;
    let certificates =
        CertificateVerifier::from_config(&config.issuers).map_err(anyhow::Error::msg)?;
    let secret = match &config.revision_token_secret {
        Some(secret) => secret.as_bytes().to_vec(),
        None => {
            let mut candidate = [0u8; 32];
            SystemRandom::new()
                .fill(&mut candidate)
                .map_err(|_| anyhow::anyhow!("random number generator failed"))?;
            store
                .secret_or_insert("revision_token_secret", &candidate)
                .await?
        }
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let jwks_fetcher: Arc<
        dyn Fn(String) -> mimamori_key_server::service::futures_fetch::JwksFuture + Send + Sync,
    > = Arc::new(move |url: String| {
        let http = http.clone();
        Box::pin(async move { fetch_jwks(&http, &url).await })
    });
    let key_server = KeyServer {
        store: Arc::clone(&store),
        config: Arc::clone(&config),
        certificates,
        revision_tokens: Arc::new(RevisionTokenCipher::new(&secret)),
        clock: Arc::clone(&context.clock),
        metrics: metrics.clone(),
        publish_observer,
        processing_numbers,
        inserter: Some(mimamori_key_server::batcher::InsertBatcher::start(
            Arc::clone(&store),
            config.publish_writers.max(1),
            config.publish_group_max.max(1),
        )),
        jwks_fetcher: Some(jwks_fetcher),
    };
    let exporter = Exporter {
        blobs: mimamori_key_server::blobs::from_config(&config.export, &context.database)?,
        store: Arc::clone(&store),
        config: Arc::clone(&config),
        clock: Arc::clone(&context.clock),
        metrics: metrics.clone(),
    };
    exporter.ensure_signing_key().await?;
    let canary = (config.export.canary && config.export.enabled).then(|| {
        Canary::new(
            Arc::clone(&store),
            Arc::clone(&context.clock),
            metrics.clone(),
            context.self_url.clone(),
            config.default_region.clone(),
        )
    });
    let mut api = KeyServerApi::new(key_server, exporter);
    api.max_publish_bytes = 64_000;
    Ok(KeyServerService { api, canary })
}

/// GETs a JWKS document; `None` (logged) on any failure.
async fn fetch_jwks(http: &reqwest::Client, url: &str) -> Option<JwkSet> {
    match http.get(url).send().await {
        Ok(response) if response.status().is_success() => match response.json::<JwkSet>().await {
            Ok(set) => Some(set),
            Err(error) => {
                tracing::warn!(url, error = %error, "JWKS is not valid JSON");
                None
            }
        },
        Ok(response) => {
            tracing::warn!(
                url,
                status = response.status().as_u16(),
                "JWKS fetch failed"
            );
            None
        }
        Err(error) => {
            tracing::warn!(url, error = %error, "JWKS fetch failed");
            None
        }
    }
}

impl KeyServerService {
    /// Registers the routes.
    pub fn configure(&self, config: &mut web::ServiceConfig) {
        mimamori_key_server::api::configure(config, self.api.clone());
    }

    /// Revokes keys by certificate, for the verification service's case revocation.
    pub fn revoker(&self) -> Arc<dyn mimamori_key_server::hooks::KeyRevoker> {
        Arc::new(mimamori_key_server::service::StoreKeyRevoker::new(
            Arc::clone(&self.api.key_server.store),
            Arc::clone(&self.api.key_server.clock),
        ))
    }

    /// The exporter (for `mimamori export run` and tests).
    pub fn exporter(&self) -> &Exporter {
        &self.api.exporter
    }

    /// One export pass as the worker runs it (without the lease, canary and retention):
    /// exports closed windows and makes the listing show the new files at once. For callers
    /// that drive time themselves (the simulator with a manual clock).
    pub async fn export_now(
        &self,
    ) -> Result<
        mimamori_key_server::export::ExportRunReport,
        mimamori_key_server::export::ExportError,
    > {
        let report = self.api.exporter.run_once().await?;
        if !report.files.is_empty() {
            self.api.invalidate_listing();
        }
        Ok(report)
    }

    /// Starts the background export worker when enabled: every poll it takes the
    /// `key_server.export` lease (so one replica exports at a time), exports closed windows,
    /// applies retention, refreshes JWKS keys and runs the canary.
    pub fn spawn_worker(&self, database: mimamori_storage::Database) {
        let config = &self.api.key_server.config;
        if !config.export.enabled {
            return;
        }
        let poll = Duration::from_secs(config.export.poll_seconds.max(1));
        let api = self.api.clone();
        let canary = self.canary.clone();
        let leases = DatabaseLeaseStore::new(database);
        let holder = uuid::Uuid::new_v4().to_string();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(poll);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let exporter = &api.exporter;
                let metrics = &api.key_server.metrics;
                let now_s = api.key_server.clock.now_seconds();
                let last = metrics.last_export_success.get();
                if last > 0 {
                    metrics.seconds_since_export.set(now_s - last);
                }
                let lease = leases
                    .try_acquire(
                        "key_server.export",
                        &holder,
                        api.key_server.clock.now_ms(),
                        poll * 4 + Duration::from_secs(60),
                    )
                    .await;
                match lease {
                    Ok(Some(_)) => {}
                    Ok(None) => continue,
                    Err(error) => {
                        tracing::warn!(error = %error, "export worker: cannot take the lease");
                        continue;
                    }
                }
                if let Some(canary) = &canary
                    && let Err(error) = canary.plant().await
                {
                    tracing::warn!(error = %error, "canary: cannot plant its key");
                }
                match exporter.run_once().await {
                    Ok(report) => {
                        if !report.files.is_empty() {
                            api.invalidate_listing();
                            if let Some(canary) = &canary {
                                canary.check(&report).await;
                            }
                        }
                    }
                    Err(error) => tracing::error!(error = %error, "export run failed"),
                }
                match exporter.retention().await {
                    Ok((_, files)) if files > 0 => api.invalidate_listing(),
                    Ok(_) => {}
                    Err(error) => tracing::error!(error = %error, "retention failed"),
                }
                for (issuer, url) in api.key_server.certificates.jwks_due() {
                    if let Some(http) = &api.key_server.jwks_fetcher
                        && let Some(set) = http(url).await
                    {
                        let keys = api.key_server.certificates.install_jwks(&issuer, &set);
                        tracing::info!(issuer = %issuer, keys, "JWKS refreshed");
                    }
                }
            }
        });
    }
}
