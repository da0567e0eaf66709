//! The canary: after every export the server acts as a phone would. It plants a key of its
//! own, and once that key's window is exported it downloads the listing and the new files
//! over its own HTTP interface, verifies their signatures with the public keys of the active
//! signing keys, and matches a synthetic sighting of its key with the crypto matcher.
//! The result is `mimamori_canary_ok` and a log event, so a silent distribution failure
//! (files not listed, not signed, not downloadable, key lost) shows within one window.

use std::sync::{Arc, Mutex};

use mimamori_crypto::export::{DiagnosisKey, ReportType, VerificationKey, read_archive};
use mimamori_crypto::interval::{EnIntervalNumber, TEK_ROLLING_PERIOD};
use mimamori_crypto::keys::Tek;
use mimamori_crypto::matcher::{Sighting, SightingIndex};
use mimamori_crypto::metadata::Metadata;
use mimamori_storage::SharedClock;
use ring::rand::SystemRandom;

use crate::export::{ExportRunReport, active_signer};
use crate::metrics::KeyServerMetrics;
use crate::store::{KeyServerStore, NewKey};

/// Certificate id under which canary keys are stored.
pub const CANARY_CERTIFICATE_ID: &str = "mimamori-canary";

#[derive(Debug, Clone)]
struct Planted {
    key: DiagnosisKey,
    planted_at_ms: i64,
}

/// Plants and checks canary keys.
#[derive(Clone)]
pub struct Canary {
    store: Arc<dyn KeyServerStore>,
    clock: SharedClock,
    metrics: KeyServerMetrics,
    http: reqwest::Client,
    base_url: String,
    region: String,
    pending: Arc<Mutex<Option<Planted>>>,
}

impl std::fmt::Debug for Canary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Canary")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Why a canary check failed (each is logged; the metric becomes 0).
#[derive(Debug, thiserror::Error)]
pub enum CanaryError {
    /// The listing or a file could not be downloaded.
    #[error("download failed: {0}")]
    Download(String),
    /// A newly exported file is not in the listing.
    #[error("file {0} is not listed")]
    NotListed(String),
    /// A file does not parse or its signatures do not verify.
    #[error("file {path} does not verify: {reason}")]
    Verify {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The planted key is in no downloaded file, or does not match its sighting.
    #[error("the canary key was not found in the exported files")]
    KeyMissing,
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(String),
}

impl Canary {
    /// A canary talking to this server at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(
        store: Arc<dyn KeyServerStore>,
        clock: SharedClock,
        metrics: KeyServerMetrics,
        base_url: String,
        region: String,
    ) -> Self {
        Canary {
            store,
            clock,
            metrics,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
            base_url,
            region,
            pending: Arc::new(Mutex::new(None)),
        }
    }

    /// Stores a new canary key (yesterday's, already expired, so it is exported in the
    /// next window) unless one is waiting to be checked.
    pub async fn plant(&self) -> Result<(), CanaryError> {
        if self.pending.lock().map(|p| p.is_some()).unwrap_or(true) {
            return Ok(());
        }
        let now_ms = self.clock.now_ms();
        let today = EnIntervalNumber::from_unix_seconds(u64::try_from(now_ms / 1000).unwrap_or(0))
            .day_start();
        let tek =
            Tek::generate(&SystemRandom::new()).map_err(|e| CanaryError::Storage(e.to_string()))?;
        let key = DiagnosisKey {
            key_data: tek,
            rolling_start_interval_number: today.0.saturating_sub(TEK_ROLLING_PERIOD),
            rolling_period: TEK_ROLLING_PERIOD,
            transmission_risk_level: 2,
            report_type: ReportType::ConfirmedTest,
            days_since_onset_of_symptoms: Some(0),
        };
        self.store
            .publish(
                &[NewKey {
                    region: self.region.clone(),
                    key: key.clone(),
                    available_at_ms: now_ms,
                    certificate_id: Some(CANARY_CERTIFICATE_ID.into()),
                    health_authority: None,
                    traveler: false,
                }],
                &[],
                now_ms,
            )
            .await
            .map_err(|e| CanaryError::Storage(e.to_string()))?;
        if let Ok(mut pending) = self.pending.lock() {
            *pending = Some(Planted {
                key,
                planted_at_ms: now_ms,
            });
        }
        Ok(())
    }

    /// After an export run: if the planted key's window was exported, download and verify
    /// the new files over HTTP and look for the key. Sets `mimamori_canary_ok`.
    pub async fn check(&self, report: &ExportRunReport) -> Option<bool> {
        let planted = self.pending.lock().ok()?.clone()?;
        let in_region = || report.files.iter().filter(|f| f.region == self.region);
        // The key became available when it was planted: the run that exported a window
        // ending after that moment carries it.
        if !in_region().any(|f| f.end_s * 1000 > planted.planted_at_ms) {
            return None;
        }
        let covering: Vec<String> = in_region().map(|f| f.path.clone()).collect();
        let result = self.verify_download(&covering, &planted.key).await;
        let ok = result.is_ok();
        self.metrics.canary_ok.set(i64::from(ok));
        self.metrics
            .canary_checks
            .with_label_values(&[if ok { "ok" } else { "failed" }])
            .inc();
        match result {
            Ok(()) => tracing::info!(
                files = covering.len(),
                "canary ok: key downloaded, verified and matched"
            ),
            Err(error) => {
                tracing::error!(error = %error, "canary FAILED: exports are not reaching phones")
            }
        }
        if let Ok(mut pending) = self.pending.lock() {
            *pending = None;
        }
        Some(ok)
    }

    async fn get(&self, path: &str) -> Result<Vec<u8>, CanaryError> {
        let url = format!("{}{path}", self.base_url);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| CanaryError::Download(format!("{path}: {e}")))?;
        if !response.status().is_success() {
            return Err(CanaryError::Download(format!(
                "{path}: HTTP {}",
                response.status()
            )));
        }
        Ok(response
            .bytes()
            .await
            .map_err(|e| CanaryError::Download(format!("{path}: {e}")))?
            .to_vec())
    }

    async fn verify_download(
        &self,
        paths: &[String],
        planted: &DiagnosisKey,
    ) -> Result<(), CanaryError> {
        let now = self.clock.now_ms();
        let verification_keys: Vec<VerificationKey> = self
            .store
            .signing_keys()
            .await
            .map_err(|e| CanaryError::Storage(e.to_string()))?
            .iter()
            .filter(|k| k.is_active(now) || k.retires_at_ms.is_some_and(|r| r > now - 86_400_000))
            .filter_map(|k| active_signer(k).ok().map(|s| s.verification_key))
            .collect();
        let index = String::from_utf8_lossy(&self.get("/v1/exports/index.txt").await?).into_owned();
        let mut keys = Vec::new();
        for path in paths {
            if !index.lines().any(|line| line == path) {
                return Err(CanaryError::NotListed(path.clone()));
            }
            let zip = self.get(&format!("/v1/exports/{path}")).await?;
            let archive = read_archive(&zip).map_err(|e| CanaryError::Verify {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            archive
                .verify(&verification_keys)
                .map_err(|e| CanaryError::Verify {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            keys.extend(archive.export.keys);
        }
        // A phone that saw the canary's RPI: derive it, encrypt metadata, match.
        let interval = EnIntervalNumber(planted.rolling_start_interval_number + 42);
        let rpi = planted.key_data.rpik().rpi(interval);
        let aem = planted
            .key_data
            .aemk()
            .encrypt(&rpi, Metadata::v1_0(-8).to_bytes());
        let sighting = Sighting {
            time: interval.to_unix_seconds() + 30,
            rpi,
            aem,
            rssi: -60,
        };
        let matches = SightingIndex::new(&[sighting], 0).match_keys(&keys);
        if matches.iter().any(|m| m.key.key_data == planted.key_data) {
            Ok(())
        } else {
            Err(CanaryError::KeyMissing)
        }
    }
}
