//! The key server's seams to other services, implemented elsewhere and wired in `server/`.
//!
//! The key server never calls the verification service on the Google-compatible publish path
//! (it checks a signed certificate). Only the COCOA-compatible `PUT /api/v3/diagnosis`, whose
//! `verificationPayload` is a bare processing number, asks a [`ProcessingNumberVerifier`].

use async_trait::async_trait;

/// The report type a verified upload carries (Google verification protocol names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadReportType {
    /// A confirmed test result.
    Confirmed,
    /// A clinical diagnosis without a test ("likely").
    Likely,
    /// A negative test (keys are not distributed).
    Negative,
}

/// What a successful processing-number check yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedUpload {
    /// Identifies the claim, so publishes and revocations can be traced to the case.
    pub certificate_id: String,
    /// The report type of the case.
    pub report_type: UploadReportType,
    /// Symptom onset (or test date when asymptomatic) as an ENIntervalNumber at UTC midnight.
    pub symptom_onset_interval: Option<u32>,
}

/// Why a processing number was refused; each maps to its own error code for the app.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessingNumberError {
    /// No such number (or malformed).
    #[error("unknown processing number")]
    Unknown,
    /// The number existed but its validity ended.
    #[error("processing number expired")]
    Expired,
    /// The number was already used.
    #[error("processing number already used")]
    AlreadyUsed,
    /// Too many failed numbers from this client or from everyone: refused unchecked.
    #[error("too many failed processing numbers; retry after {retry_after_seconds} s")]
    RateLimited {
        /// When the limit that refused it ends.
        retry_after_seconds: u64,
    },
    /// The check could not be made (database down); the app should retry.
    #[error("processing number check unavailable: {0}")]
    Unavailable(String),
}

/// Checks and claims a processing number (single use, even under concurrent claims).
#[async_trait]
pub trait ProcessingNumberVerifier: Send + Sync {
    /// Claims `number`; on success it can never be claimed again, unless the claim is
    /// released with [`ProcessingNumberVerifier::release`]. A retry of the same upload
    /// (same `idempotency_key`, as COCOA's app sends on every retry of one submission) of a
    /// number this upload already claimed succeeds again with the same certificate id.
    /// `client` is the uploader's address, for the per-client failure limit (the verifier
    /// keys it with a secret and never stores it).
    async fn claim(
        &self,
        number: &str,
        idempotency_key: Option<&str>,
        client: Option<std::net::IpAddr>,
    ) -> Result<VerifiedUpload, ProcessingNumberError>;

    /// Undoes the claim behind `certificate_id` because the upload it was made for could not
    /// be stored: the app was told to retry, so its processing number must still work. Does
    /// nothing once keys were recorded under the certificate or the case was revoked.
    async fn release(&self, certificate_id: &str) -> Result<(), ProcessingNumberError>;
}

/// Told by the key server after keys published under a certificate were stored.
#[async_trait]
pub trait PublishObserver: Send + Sync {
    /// `keys` keys were stored under `certificate_id`.
    async fn keys_published(&self, certificate_id: &str, keys: usize);
}

/// Revokes keys published under given certificates (a false-positive case).
#[async_trait]
pub trait KeyRevoker: Send + Sync {
    /// Marks every key published under `certificate_ids` as revoked; returns how many.
    async fn revoke_by_certificates(&self, certificate_ids: &[String]) -> Result<u64, String>;
}
