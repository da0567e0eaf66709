//! The publish use cases: Google `POST /v1/publish` and COCOA `PUT /api/v3/diagnosis`, as
//! functions from a parsed request to an outcome, independent of HTTP.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use base64::Engine as _;
use mimamori_crypto::export::{DiagnosisKey, ReportType};
use mimamori_crypto::interval::EnIntervalNumber;
use mimamori_storage::{SharedClock, StorageError};
use serde::Deserialize;

use crate::certificate::{CertificateError, CertificateVerifier};
use crate::config::Config;
use crate::hooks::{
    ProcessingNumberError, ProcessingNumberVerifier, PublishObserver, UploadReportType,
};
use crate::metrics::KeyServerMetrics;
use crate::model::publish::{self, ExposureKeyJson, PublishPolicy, PublishRuleError, ValidatedKey};
use crate::model::revision::{
    RevisableKey, RevisionDecision, RevisionError, RevisionTokenCipher, decide,
};
use crate::store::{KeyRevision, KeyServerStore, NewKey};

/// A Google v1 publish request (`exposure_types.go`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishRequest {
    /// The keys.
    pub temporary_exposure_keys: Vec<ExposureKeyJson>,
    /// The health authority; must match the certificate's issuer when given.
    #[serde(rename = "healthAuthorityID", default)]
    pub health_authority_id: Option<String>,
    /// The verification certificate (JWT).
    #[serde(default)]
    pub verification_payload: Option<String>,
    /// base64 of the HMAC key the tekmac was computed with.
    #[serde(default)]
    pub hmac_key: Option<String>,
    /// Symptom onset interval (used when the certificate has none).
    #[serde(default)]
    pub symptom_onset_interval: Option<u32>,
    /// Whether the user travelled.
    #[serde(default)]
    pub traveler: bool,
    /// A revision token from an earlier publish.
    #[serde(default)]
    pub revision_token: Option<String>,
    /// Ignored; evens out request sizes.
    #[serde(default)]
    pub padding: Option<String>,
}

/// One key of a COCOA v3 diagnosis request.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CocoaKey {
    /// base64 key bytes.
    pub key_data: String,
    /// Start interval.
    pub rolling_start_number: i64,
    /// Period.
    #[serde(default = "default_period")]
    pub rolling_period: i64,
    /// Transmission risk as sent (recomputed by the server).
    #[serde(default)]
    pub transmission_risk: i64,
    /// Report type as sent (the processing number's case decides).
    #[serde(default)]
    pub report_type: Option<i64>,
    /// Days since onset as sent (recomputed from the case's onset when known).
    #[serde(default)]
    pub days_since_onset_of_symptoms: Option<i64>,
}

fn default_period() -> i64 {
    144
}

/// A COCOA `PUT /api/v3/diagnosis` request (fields as the COCOA app sends them).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CocoaDiagnosisRequest {
    /// Whether the user had symptoms.
    #[serde(default)]
    pub has_symptom: bool,
    /// Onset of symptoms or test date, RFC 3339 with the device's offset as COCOA writes it
    /// (`yyyy-MM-dd'T'HH:mm:ss.fffzzz`); apps before 2022-02 spelled it `onSetOf…`.
    #[serde(default, alias = "onSetOfSymptomOrTestDate")]
    pub onset_of_symptom_or_test_date: Option<String>,
    /// The keys.
    pub keys: Vec<CocoaKey>,
    /// Regions (MCC codes, e.g. "440").
    #[serde(default)]
    pub regions: Vec<String>,
    /// Platform name (not stored).
    #[serde(default)]
    pub platform: Option<String>,
    /// Device attestation (not checked: see README).
    #[serde(default)]
    pub device_verification_payload: Option<String>,
    /// App package (not stored).
    #[serde(default)]
    pub app_package_name: Option<String>,
    /// The processing number.
    pub verification_payload: String,
    /// Idempotency key (not needed: keys are idempotent by value).
    #[serde(default, rename = "idempotency_key")]
    pub idempotency_key: Option<String>,
    /// Ignored; evens out request sizes.
    #[serde(default)]
    pub padding: Option<String>,
}

/// The successful outcome of a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishOutcome {
    /// Keys accepted (new, unchanged re-publishes and revisions).
    pub accepted: usize,
    /// A token for a later revision of these keys.
    pub revision_token: Option<String>,
    /// Notes such as keys dropped for their distance from onset (no key material).
    pub warnings: Vec<String>,
    /// Keys refused by a per-key rule; when any, the reference server answers
    /// `partial_failure` (no key material).
    pub invalid_keys: Vec<String>,
}

/// base64 as the reference server's `base64util.DecodeString` reads it: standard or URL
/// alphabet, padded or not.
pub fn decode_base64_any(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let text = text.trim();
    [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

/// Why a publish failed; each variant has a status and a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// A request-wide validation rule.
    #[error(transparent)]
    Rules(#[from] PublishRuleError),
    /// No certificate in the request.
    #[error("verificationPayload (the certificate) is missing")]
    MissingCertificate,
    /// `hmacKey` missing or not base64.
    #[error("hmacKey is missing or not base64")]
    InvalidHmacKey,
    /// The certificate was refused.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// `healthAuthorityID` names no configured health authority.
    #[error("healthAuthorityID names no health authority of this server")]
    UnknownHealthAuthority,
    /// The certificate's issuer is not accepted for the named health authority.
    #[error("the certificate's issuer is not accepted for this healthAuthorityID")]
    IssuerNotAllowed,
    /// The revision token was refused or a transition is not allowed.
    #[error(transparent)]
    Revision(#[from] RevisionError),
    /// The revision token is not one of ours.
    #[error("revision token is invalid")]
    InvalidRevisionToken,
    /// The processing number was refused.
    #[error(transparent)]
    ProcessingNumber(#[from] ProcessingNumberError),
    /// No region of the request is served here.
    #[error("no requested region is served by this server")]
    UnknownRegion,
    /// The onset date does not parse.
    #[error("onsetOfSymptomOrTestDate is not an RFC 3339 date-time")]
    InvalidOnsetDate,
    /// The database is unavailable; nothing was stored.
    #[error("the key store is unavailable; nothing was stored, retry later")]
    Unavailable,
}

impl PublishError {
    /// HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            PublishError::MissingCertificate
            | PublishError::Certificate(_)
            | PublishError::InvalidHmacKey
            | PublishError::UnknownHealthAuthority
            | PublishError::IssuerNotAllowed => 401,
            // COCOA's app shows its "incorrect processing number" dialog only for 406
            // (NotifyOtherPageViewModel.ShowResult); the body's code tells operators why.
            PublishError::ProcessingNumber(
                ProcessingNumberError::Unknown
                | ProcessingNumberError::Expired
                | ProcessingNumberError::AlreadyUsed,
            ) => 406,
            PublishError::ProcessingNumber(ProcessingNumberError::RateLimited { .. }) => 429,
            PublishError::ProcessingNumber(ProcessingNumberError::Unavailable(_))
            | PublishError::Unavailable => 503,
            _ => 400,
        }
    }

    /// Seconds for `Retry-After` when the request was refused by a limit.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            PublishError::ProcessingNumber(ProcessingNumberError::RateLimited {
                retry_after_seconds,
            }) => Some((*retry_after_seconds).max(1)),
            _ => None,
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            // The reference server answers every request-wide rule with `bad_request`.
            PublishError::Rules(_) => "bad_request",
            // The reference server answers every certificate failure with one code
            // (`ErrorVerificationCertificateInvalid`); `reason` keeps the cause.
            PublishError::MissingCertificate
            | PublishError::InvalidHmacKey
            | PublishError::Certificate(_) => "health_authority_verification_certificate_invalid",
            PublishError::UnknownHealthAuthority => "unknown_health_authority_id",
            PublishError::IssuerNotAllowed => "health_authority_verification_certificate_invalid",
            PublishError::Revision(RevisionError::TokenRequired) => "missing_revision_token",
            PublishError::Revision(RevisionError::AlreadyRevised) => "key_already_revised",
            PublishError::Revision(RevisionError::InvalidTransition { .. }) => {
                "invalid_report_type_transition"
            }
            PublishError::InvalidRevisionToken => "invalid_revision_token",
            PublishError::ProcessingNumber(ProcessingNumberError::Unknown) => {
                "processing_number_unknown"
            }
            PublishError::ProcessingNumber(ProcessingNumberError::Expired) => {
                "processing_number_expired"
            }
            PublishError::ProcessingNumber(ProcessingNumberError::AlreadyUsed) => {
                "processing_number_already_used"
            }
            PublishError::ProcessingNumber(ProcessingNumberError::RateLimited { .. }) => {
                "rate_limited"
            }
            PublishError::ProcessingNumber(ProcessingNumberError::Unavailable(_)) => {
                "database_unavailable"
            }
            PublishError::UnknownRegion => "unknown_region",
            PublishError::InvalidOnsetDate => "invalid_onset_date",
            PublishError::Unavailable => "database_unavailable",
        }
    }
}

impl PublishError {
    /// The precise cause where [`PublishError::code`] folds several into one.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            PublishError::MissingCertificate => Some("certificate_missing"),
            PublishError::InvalidHmacKey => Some("hmac_key_invalid"),
            PublishError::Certificate(e) => Some(e.code()),
            PublishError::Rules(PublishRuleError::NoKeys) => Some("no_keys"),
            PublishError::Rules(PublishRuleError::TooManyKeys { .. }) => Some("too_many_keys"),
            PublishError::Rules(PublishRuleError::Overlap(_)) => Some("keys_overlap"),
            PublishError::Rules(PublishRuleError::NoValidKeys(_)) => Some("no_valid_keys"),
            _ => None,
        }
    }
}

impl From<StorageError> for PublishError {
    fn from(error: StorageError) -> Self {
        tracing::error!(error = %error, storage_error_kind = %error.kind(), "key store failed during publish");
        PublishError::Unavailable
    }
}

/// The key server's publish logic and its collaborators.
#[derive(Clone)]
pub struct KeyServer {
    /// Storage.
    pub store: Arc<dyn KeyServerStore>,
    /// Configuration.
    pub config: Arc<Config>,
    /// Certificate checks.
    pub certificates: CertificateVerifier,
    /// Revision tokens.
    pub revision_tokens: Arc<RevisionTokenCipher>,
    /// Time.
    pub clock: SharedClock,
    /// Metrics.
    pub metrics: KeyServerMetrics,
    /// Told about stored keys per certificate (verification lifecycle).
    pub publish_observer: Option<Arc<dyn PublishObserver>>,
    /// Checks COCOA processing numbers.
    pub processing_numbers: Option<Arc<dyn ProcessingNumberVerifier>>,
    /// Group-commit writer for fast-path publishes; `None` writes each publish directly.
    pub inserter: Option<crate::batcher::InsertBatcher>,
    /// Fetches a JWKS by URL (rotation); `None` in setups without JWKS issuers.
    pub jwks_fetcher: Option<Arc<dyn Fn(String) -> futures_fetch::JwksFuture + Send + Sync>>,
}

/// The boxed future type of a JWKS fetch.
pub mod futures_fetch {
    use std::future::Future;
    use std::pin::Pin;

    use crate::certificate::JwkSet;

    /// A pending JWKS fetch.
    pub type JwksFuture = Pin<Box<dyn Future<Output = Option<JwkSet>> + Send>>;
}

impl std::fmt::Debug for KeyServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyServer").finish_non_exhaustive()
    }
}

/// Keys as the app's tekmac saw them: every key of the request as sent, malformed ones
/// included (the reference server MACs the request before dropping invalid keys, so one bad
/// key gives a partial success rather than a refused certificate).
fn tekmac_key_strings(keys: &[ExposureKeyJson], with_risk: bool) -> Vec<String> {
    keys.iter()
        .map(|k| {
            if with_risk {
                mimamori_crypto::tekmac::key_string_as_sent(
                    &k.key,
                    k.rolling_start_number,
                    k.rolling_period,
                    k.transmission_risk,
                )
            } else {
                format!("{}.{}.{}", k.key, k.rolling_start_number, k.rolling_period)
            }
        })
        .collect()
}

impl KeyServer {
    /// The publish policy from the configuration.
    pub fn policy(&self) -> PublishPolicy {
        PublishPolicy {
            max_keys: self.config.max_keys_on_publish,
            max_interval_age: self.config.max_interval_age_hours.saturating_mul(6),
            max_symptom_onset_days: self.config.max_symptom_onset_days,
            max_days_since_onset: self.config.max_days_since_onset,
            default_onset_days_ago: self.config.default_symptom_onset_days_ago,
        }
    }

    /// The regions of a publish by `health_authority_id` with a certificate from `issuer`:
    /// a configured health authority that accepts the issuer gives its regions; with none
    /// configured under that id, the id may be the issuer's own name (or absent), and the
    /// keys go to the default region.
    fn regions_for(
        &self,
        health_authority_id: Option<&str>,
        issuer: &str,
    ) -> Result<Vec<String>, PublishError> {
        let id = health_authority_id.map(str::trim).unwrap_or_default();
        // Matched without regard to case, as the reference server's AuthorizedApp lookup.
        if let Some(authority) = self
            .config
            .health_authorities
            .iter()
            .find(|a| a.id.eq_ignore_ascii_case(id))
        {
            if !authority.issuers.iter().any(|i| i == issuer) {
                return Err(PublishError::IssuerNotAllowed);
            }
            return Ok(if authority.regions.is_empty() {
                vec![self.config.default_region.clone()]
            } else {
                authority.regions.clone()
            });
        }
        if id.is_empty() || id == issuer {
            Ok(vec![self.config.default_region.clone()])
        } else {
            Err(PublishError::UnknownHealthAuthority)
        }
    }

    fn now(&self) -> (i64, EnIntervalNumber) {
        let now_ms = self.clock.now_ms();
        (
            now_ms,
            EnIntervalNumber::from_unix_seconds(u64::try_from(now_ms / 1000).unwrap_or(0)),
        )
    }

    /// Google v1 publish: validate, check the certificate and tekmac, apply revisions, store.
    pub async fn publish(&self, request: &PublishRequest) -> Result<PublishOutcome, PublishError> {
        let (now_ms, now) = self.now();
        let policy = self.policy();
        let (valid, invalid_keys) =
            publish::validate_keys(&request.temporary_exposure_keys, now, &policy)?;
        let mut warnings = Vec::new();

        let token = request
            .verification_payload
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or(PublishError::MissingCertificate)?;
        let certificate = match &self.jwks_fetcher {
            Some(fetch) => {
                let fetch = Arc::clone(fetch);
                self.certificates
                    .verify_refreshing(token, now_ms / 1000, move |url| fetch(url))
                    .await?
            }
            None => self.certificates.verify(token, now_ms / 1000)?,
        };
        let regions =
            self.regions_for(request.health_authority_id.as_deref(), &certificate.issuer)?;
        let hmac_key = request
            .hmac_key
            .as_deref()
            .and_then(decode_base64_any)
            .filter(|k| !k.is_empty())
            .ok_or(PublishError::InvalidHmacKey)?;
        let keys = &request.temporary_exposure_keys;
        // As `CalculateAllAllowedExposureKeyHMAC`: when every risk is 0, the form without it
        // is accepted too.
        let matches = mimamori_crypto::tekmac::verify_strings(
            &hmac_key,
            tekmac_key_strings(keys, true),
            &certificate.tekmac,
        ) || (keys.iter().all(|k| k.transmission_risk == 0)
            && mimamori_crypto::tekmac::verify_strings(
                &hmac_key,
                tekmac_key_strings(keys, false),
                &certificate.tekmac,
            ));
        if !matches {
            return Err(CertificateError::HmacMismatch.into());
        }
        let Some(report_type) = certificate.report_type else {
            warnings.push("negative test: keys are not distributed".into());
            return Ok(PublishOutcome {
                accepted: 0,
                revision_token: None,
                warnings,
                invalid_keys,
            });
        };
        let (onset, onset_warning) = publish::effective_onset(
            &[
                certificate.symptom_onset_interval,
                request.symptom_onset_interval,
            ],
            now,
            &policy,
        );
        warnings.extend(onset_warning);
        self.store_keys(
            &valid,
            report_type,
            onset,
            &regions,
            StoreContext {
                certificate_id: certificate.certificate_id,
                health_authority: Some(certificate.issuer),
                traveler: request.traveler,
                revision_token: request.revision_token.clone(),
                now_ms,
                transmission_risk: None,
            },
            warnings,
        )
        .await
        .map(|outcome| PublishOutcome {
            invalid_keys,
            ..outcome
        })
    }

    /// COCOA v3 diagnosis: validate, claim the processing number (failures limited per
    /// `client` and globally), store.
    pub async fn publish_cocoa(
        &self,
        request: &CocoaDiagnosisRequest,
        client: Option<std::net::IpAddr>,
    ) -> Result<PublishOutcome, PublishError> {
        let (now_ms, now) = self.now();
        let policy = self.policy();
        let keys: Vec<ExposureKeyJson> = request
            .keys
            .iter()
            .map(|k| ExposureKeyJson {
                key: k.key_data.clone(),
                rolling_start_number: k.rolling_start_number,
                // COCOA's server stored a period of 0 as 144 (TemporaryExposureKeyModel).
                rolling_period: if k.rolling_period == 0 {
                    144
                } else {
                    k.rolling_period
                },
                // COCOA sends 0–7 and the server recomputes it; validate the range only.
                transmission_risk: k.transmission_risk.clamp(0, 8),
            })
            .collect();
        let (valid, mut warnings) = publish::validate_keys(&keys, now, &policy)?;
        let regions: Vec<String> = if request.regions.is_empty() {
            vec![self.config.default_region.clone()]
        } else {
            let served: Vec<String> = request
                .regions
                .iter()
                .filter(|r| self.config.regions.contains(r))
                .cloned()
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            if served.is_empty() {
                return Err(PublishError::UnknownRegion);
            }
            served
        };
        let request_onset = match request.onset_of_symptom_or_test_date.as_deref() {
            Some(text) if !text.is_empty() => {
                let parsed = time::OffsetDateTime::parse(
                    text,
                    &time::format_description::well_known::Rfc3339,
                )
                .map_err(|_| PublishError::InvalidOnsetDate)?;
                u32::try_from(parsed.unix_timestamp() / 600).ok()
            }
            _ => None,
        };
        let verifier = self.processing_numbers.as_ref().ok_or_else(|| {
            ProcessingNumberError::Unavailable("no processing-number verifier is configured".into())
        })?;
        let idempotency_key = request
            .idempotency_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty());
        let claim = verifier
            .claim(request.verification_payload.trim(), idempotency_key, client)
            .await?;
        let report_type = match claim.report_type {
            UploadReportType::Confirmed => ReportType::ConfirmedTest,
            UploadReportType::Likely => ReportType::ConfirmedClinicalDiagnosis,
            UploadReportType::Negative => {
                warnings.push("negative test: keys are not distributed".into());
                return Ok(PublishOutcome {
                    accepted: 0,
                    revision_token: None,
                    warnings,
                    invalid_keys: Vec::new(),
                });
            }
        };
        // The submitted date decides, as on COCOA's server (V3DiagnosisSubmissionParameter.
        // SetDaysSinceOnsetOfSymptoms): the UTC date of the submitted instant, so a JST
        // midnight counts as the UTC day before. The case's date is the fallback.
        let (onset, onset_warning) =
            publish::effective_onset(&[request_onset, claim.symptom_onset_interval], now, &policy);
        warnings.extend(onset_warning);
        let certificate_id = claim.certificate_id.clone();
        let stored = self
            .store_keys(
                &valid,
                report_type,
                onset,
                &regions,
                StoreContext {
                    certificate_id: claim.certificate_id,
                    health_authority: None,
                    traveler: false,
                    revision_token: None,
                    now_ms,
                    // COCOA: TRL 4 from three days before onset, else 1 (PR #841).
                    transmission_risk: Some(
                        |dso: Option<i32>| if dso.is_some_and(|d| d >= -3) { 4 } else { 1 },
                    ),
                },
                warnings,
            )
            .await;
        if stored.is_err() {
            // The app is told to retry (503): give its processing number back, or the retry
            // would find it used and the keys would never be published.
            if let Err(error) = verifier.release(&certificate_id).await {
                tracing::error!(error = %error, "could not release a processing-number claim after a failed upload");
            }
        }
        stored
    }

    async fn store_keys(
        &self,
        valid: &[ValidatedKey],
        report_type: ReportType,
        onset: u32,
        regions: &[String],
        context: StoreContext,
        mut warnings: Vec<String>,
    ) -> Result<PublishOutcome, PublishError> {
        let policy = self.policy();
        let (mut keys, dso_warnings) = publish::finalize_keys(valid, report_type, onset, &policy);
        warnings.extend(dso_warnings);
        if let Some(rule) = context.transmission_risk {
            for key in &mut keys {
                key.transmission_risk_level = rule(key.days_since_onset_of_symptoms);
            }
        }
        let token_keys: HashSet<RevisableKey> = match context.revision_token.as_deref() {
            Some(token) if !token.is_empty() => self
                .revision_tokens
                .open(token)
                .map_err(|_| PublishError::InvalidRevisionToken)?
                .into_iter()
                .collect(),
            _ => HashSet::new(),
        };
        let revisable: Vec<RevisableKey> = keys
            .iter()
            .map(|k| RevisableKey {
                key: *k.key_data.as_bytes(),
                rolling_start: k.rolling_start_interval_number,
                rolling_period: k.rolling_period,
            })
            .collect();
        let new_key = |region: &str, key: &DiagnosisKey| NewKey {
            region: region.to_string(),
            key: key.clone(),
            available_at_ms: publish::available_at_ms(
                key,
                context.now_ms,
                self.config.export.window_seconds,
            ),
            certificate_id: Some(context.certificate_id.clone()),
            health_authority: context.health_authority.clone(),
            traveler: context.traveler,
        };
        // Fast path (no revision asked for): one statement inserts the keys unless one of
        // them is stored with another report type; identical re-publishes are no-ops.
        if token_keys.is_empty() {
            let batch: Vec<NewKey> = regions
                .iter()
                .flat_map(|region| keys.iter().map(|key| new_key(region, key)))
                .collect();
            let stored = match &self.inserter {
                Some(inserter) => inserter.insert(batch, context.now_ms).await?,
                None => {
                    self.store
                        .insert_unless_conflicting(&batch, context.now_ms)
                        .await?
                }
            };
            if let Some(inserted) = stored {
                if let Some(observer) = &self.publish_observer {
                    observer
                        .keys_published(&context.certificate_id, inserted)
                        .await;
                }
                return Ok(PublishOutcome {
                    accepted: keys.len(),
                    revision_token: self.revision_tokens.seal(&revisable).ok(),
                    warnings,
                    invalid_keys: Vec::new(),
                });
            }
        }
        let mut new = Vec::new();
        let mut revisions = Vec::new();
        let mut accepted = 0;
        for region in regions {
            let wanted: Vec<[u8; 16]> = keys.iter().map(|k| *k.key_data.as_bytes()).collect();
            let existing: HashMap<[u8; 16], _> = self
                .store
                .existing_keys(region, &wanted)
                .await?
                .into_iter()
                .collect();
            for key in &keys {
                let bytes = *key.key_data.as_bytes();
                let stored = existing.get(&bytes);
                let covered = token_keys.contains(&RevisableKey {
                    key: bytes,
                    rolling_start: key.rolling_start_interval_number,
                    rolling_period: key.rolling_period,
                });
                match decide(
                    stored.map(|e| e.report_type),
                    stored.and_then(|e| e.revised_report_type),
                    key.report_type,
                    covered,
                )? {
                    RevisionDecision::Insert => new.push(new_key(region, key)),
                    RevisionDecision::Unchanged => {}
                    RevisionDecision::Revise => revisions.push(KeyRevision {
                        region: region.clone(),
                        key_data: bytes,
                        report_type: key.report_type,
                        transmission_risk: key.transmission_risk_level,
                        days_since_onset: key.days_since_onset_of_symptoms,
                    }),
                }
                accepted += 1;
            }
        }
        let stored = self.store.publish(&new, &revisions, context.now_ms).await?;
        if let Some(observer) = &self.publish_observer {
            observer
                .keys_published(&context.certificate_id, stored.inserted + stored.revised)
                .await;
        }
        let revision_token = self.revision_tokens.seal(&revisable).ok();
        Ok(PublishOutcome {
            accepted: accepted / regions.len().max(1),
            revision_token,
            warnings,
            invalid_keys: Vec::new(),
        })
    }
}

struct StoreContext {
    certificate_id: String,
    health_authority: Option<String>,
    traveler: bool,
    revision_token: Option<String>,
    now_ms: i64,
    transmission_risk: Option<fn(Option<i32>) -> i32>,
}

/// [`crate::hooks::KeyRevoker`] over the key store: marks keys revoked at the clock's time.
#[derive(Clone)]
pub struct StoreKeyRevoker {
    store: Arc<dyn KeyServerStore>,
    clock: SharedClock,
}

impl StoreKeyRevoker {
    /// A revoker on `store`.
    pub fn new(store: Arc<dyn KeyServerStore>, clock: SharedClock) -> Self {
        StoreKeyRevoker { store, clock }
    }
}

impl std::fmt::Debug for StoreKeyRevoker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKeyRevoker")
    }
}

#[async_trait::async_trait]
impl crate::hooks::KeyRevoker for StoreKeyRevoker {
    async fn revoke_by_certificates(&self, certificate_ids: &[String]) -> Result<u64, String> {
        self.store
            .revoke_by_certificates(certificate_ids, self.clock.now_ms())
            .await
            .map_err(|e| e.to_string())
    }
}
