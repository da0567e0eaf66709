//! The verification service: issuing processing numbers for cases, trading them for tokens
//! and certificates, the lifecycle written back to the case, revocation and abuse controls.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use mimamori_cases::CaseRegistry;
use mimamori_cases::limits::LimitError;
use mimamori_cases::model::{Access, Date, Principal, secrets};
use mimamori_cases::service::CaseError;
use mimamori_cases::sql::StoreError;
use mimamori_crypto::jws::{self, Jwk, JwsError};
use mimamori_key_server::hooks::{KeyRevoker, UploadReportType, VerifiedUpload};
use mimamori_storage::{Database, SharedClock};
use ring::hmac;
use serde::Serialize;

use crate::Config;
use crate::abuse::{
    CodeSpace, FailureLimiter, LimitKey, Metrics, client_hash, daily_short_code_budget,
};
use crate::keys::{self, Keyring, MasterKey};
use crate::model::{
    CertificateClaims, TestType, TokenClaims, VerifyError, accepted_test_types, check_date,
    code_well_formed, new_code, new_long_code, rfc1123, rfc3339,
};
use crate::store::{
    ClaimOutcome, DbVerificationStore, NumberRecord, TokenOutcome, VerificationStore,
};

/// Bytes of the nonce a self-report binds its code to (upstream's `NonceLength`).
pub const USER_REPORT_NONCE_BYTES: usize = 256;

/// A phone number in E.164 (`+` and 8–15 digits), from E.164 or national digits (a leading
/// 0 replaced by `country_code`); spaces, dashes and brackets are ignored.
pub fn canonical_phone(phone: &str, country_code: &str) -> Option<String> {
    let trimmed = phone.trim();
    let international = trimmed.starts_with('+');
    let digits: String = trimmed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '+'))
        .collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let full = if international {
        digits
    } else if let Some(national) = digits.strip_prefix('0') {
        format!("{country_code}{national}")
    } else {
        return None;
    };
    (8..=15).contains(&full.len()).then(|| format!("+{full}"))
}

/// What the key server learns of a claimed number.
fn upload_of(certificate_id: String, record: &NumberRecord) -> VerifiedUpload {
    let onset = record
        .symptom_date
        .as_deref()
        .or(record.test_date.as_deref())
        .and_then(Date::parse);
    VerifiedUpload {
        certificate_id,
        report_type: match record.test_type.as_str() {
            "likely" => UploadReportType::Likely,
            "negative" => UploadReportType::Negative,
            _ => UploadReportType::Confirmed,
        },
        symptom_onset_interval: onset.and_then(Date::en_interval),
    }
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A protocol error for the app (its own code).
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// A case-registry error (authentication, scope, validation).
    #[error(transparent)]
    Case(#[from] CaseError),
    /// The request conflicts with the case's state.
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// No issued number with this id in the caller's scope.
    #[error("no such code")]
    CodeNotFound,
    /// The SMS gateway did not take the message (nothing was kept).
    #[error("the SMS could not be sent; try again later")]
    SmsFailure,
    /// A rate limit was reached; retry after the given seconds.
    #[error("rate limited ({scope})")]
    RateLimited {
        /// Seconds until the window ends.
        retry_after_seconds: u64,
        /// `client` or `api_key`.
        scope: &'static str,
    },
    /// The database is unavailable.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Anything unexpected.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        if error.is_invalid_input() {
            return ServiceError::Verify(VerifyError::Unparsable(error.to_string()));
        }
        if error.is_unavailable() {
            ServiceError::Unavailable(error.to_string())
        } else {
            ServiceError::Internal(error.to_string())
        }
    }
}

impl From<mimamori_storage::StorageError> for ServiceError {
    fn from(error: mimamori_storage::StorageError) -> Self {
        StoreError::from(error).into()
    }
}

impl From<LimitError> for ServiceError {
    fn from(error: LimitError) -> Self {
        match error {
            LimitError::Exceeded {
                retry_after_seconds,
            } => ServiceError::RateLimited {
                retry_after_seconds,
                scope: "client",
            },
            LimitError::Unavailable(e) => e.into(),
        }
    }
}

impl From<keys::KeyError> for ServiceError {
    fn from(error: keys::KeyError) -> Self {
        match error {
            keys::KeyError::Store(e) => e.into(),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

/// Optional choices when issuing a number.
#[derive(Debug, Clone, Default)]
pub struct IssueRequest {
    /// `confirmed` (default), `likely` or `negative`.
    pub test_type: Option<String>,
    /// Symptom onset date (default: the case's onset date).
    pub symptom_date: Option<String>,
    /// Test date (default: the case's diagnosis date).
    pub test_date: Option<String>,
}

/// An issued number (Google issue API field names).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Issued {
    /// The number's id.
    pub uuid: String,
    /// The case.
    pub case_id: String,
    /// The processing number (shown once).
    pub code: String,
    /// Its expiry, RFC 1123 in UTC as upstream (`Mon, 02 Jan 2006 15:04:05 UTC`).
    pub expires_at: String,
    /// Its expiry, RFC 3339.
    pub expires_at_rfc3339: String,
    /// Its expiry, Unix seconds.
    pub expires_at_timestamp: i64,
    /// The long code for SMS links, if enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long_code: Option<String>,
    /// The long code's expiry, RFC 1123 in UTC.
    pub long_expires_at: String,
    /// The long code's expiry, RFC 3339.
    pub long_expires_at_rfc3339: String,
    /// The long code's expiry, Unix seconds.
    pub long_expires_at_timestamp: i64,
    /// Test type.
    pub test_type: String,
    /// Symptom date used.
    pub symptom_date: Option<String>,
    /// Test date used.
    pub test_date: Option<String>,
}

/// The result of `POST /api/verify`.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    /// Test type.
    pub testtype: String,
    /// Symptom date.
    #[serde(rename = "symptomDate", skip_serializing_if = "Option::is_none")]
    pub symptom_date: Option<String>,
    /// Test date.
    #[serde(rename = "testDate", skip_serializing_if = "Option::is_none")]
    pub test_date: Option<String>,
    /// The verification token (ES256 JWT).
    pub token: String,
}

/// The state of an issued number (`POST /api/checkcodestatus`, `/api/expirecode`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeStatus {
    /// Whether the app has claimed it.
    pub claimed: bool,
    /// Expiry of the short code, Unix seconds.
    pub expires_at_timestamp: i64,
    /// Expiry of the long code, Unix seconds.
    pub long_expires_at_timestamp: i64,
}

impl CodeStatus {
    fn of(number: &NumberRecord) -> CodeStatus {
        CodeStatus {
            claimed: number.claimed_at_ms.is_some(),
            expires_at_timestamp: number.expires_at_ms.div_euclid(1000),
            long_expires_at_timestamp: number.long_expires_at_ms.div_euclid(1000),
        }
    }
}

/// A self-report request (`POST /api/user-report`).
#[derive(Debug, Clone, Default)]
pub struct UserReportRequest {
    /// Test date, `YYYY-MM-DD`.
    pub test_date: Option<String>,
    /// Symptom onset date, `YYYY-MM-DD`.
    pub symptom_date: Option<String>,
    /// The phone the code is sent to.
    pub phone: String,
    /// The app's nonce (decoded), to be presented again at verify.
    pub nonce: Vec<u8>,
}

/// The answer to a self-report: when its code expires. A phone that already reported gets
/// the same shape with empty values and no SMS, as upstream, so the answer does not reveal
/// whether a number reported before.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserReported {
    /// Expiry, RFC 1123 (empty when nothing was sent).
    pub expires_at: String,
    /// Expiry, Unix seconds (0 when nothing was sent).
    pub expires_at_timestamp: i64,
}

/// The result of revoking a case.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Revoked {
    /// Certificates revoked.
    pub certificates: usize,
    /// Keys the key server marked revoked (None when no key server is connected).
    pub keys_revoked: Option<u64>,
}

struct Secrets {
    /// (key id, key), newest first.
    hmac_keys: Vec<(String, hmac::Key)>,
    master: MasterKey,
    client_key: hmac::Key,
}

struct KeyringCache {
    keyring: Arc<Keyring>,
    loaded: Instant,
}

struct Inner {
    store: Arc<dyn VerificationStore>,
    cases: CaseRegistry,
    config: Config,
    clock: SharedClock,
    secrets: tokio::sync::OnceCell<Arc<Secrets>>,
    keyring: RwLock<Option<KeyringCache>>,
    last_forced_reload: Mutex<Option<Instant>>,
    reload: tokio::sync::Mutex<()>,
    limiter: FailureLimiter,
    daily_limiter: FailureLimiter,
    live_codes: Mutex<Option<(Instant, u64)>>,
    user_reports_hourly: FailureLimiter,
    user_reports_daily: FailureLimiter,
    http: reqwest::Client,
    metrics: Metrics,
    revoker: RwLock<Option<Arc<dyn KeyRevoker>>>,
}

/// The verification service (cheap to clone).
#[derive(Clone)]
pub struct Verification {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Verification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verification").finish_non_exhaustive()
    }
}

const KEYRING_REFRESH: Duration = Duration::from_secs(60);
const FORCED_RELOAD_MIN_INTERVAL: Duration = Duration::from_secs(5);

fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

fn key_id(secret: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, secret);
    mimamori_crypto::hex::encode(&digest.as_ref()[..4])
}

impl Verification {
    /// The service over `database` (migrated), sharing the case registry and its
    /// failure-limit store ([`CaseRegistry::limit_store`]: the database's, or the one the
    /// server configured in `[limits]`), so every limit of a replica counts in one store.
    pub fn new(
        database: Database,
        cases: CaseRegistry,
        config: Config,
        clock: SharedClock,
        registry: &prometheus::Registry,
    ) -> Result<Verification, String> {
        config.validate()?;
        let metrics = Metrics::new(registry).map_err(|e| e.to_string())?;
        // Counted in the shared store (database or Redis): one count for every replica.
        let limits = cases.limit_store();
        Ok(Verification {
            inner: Arc::new(Inner {
                store: Arc::new(DbVerificationStore::new(database)),
                cases,
                limiter: FailureLimiter::new(
                    Arc::clone(&limits),
                    "verify_failures",
                    config.failure_window_seconds,
                    config.failure_alert_per_minute,
                ),
                daily_limiter: FailureLimiter::new(
                    Arc::clone(&limits),
                    "verify_failures_daily",
                    86_400,
                    u32::MAX,
                ),
                live_codes: Mutex::new(None),
                user_reports_hourly: FailureLimiter::new(
                    Arc::clone(&limits),
                    "user_reports_hourly",
                    3600,
                    u32::MAX,
                ),
                user_reports_daily: FailureLimiter::new(
                    limits,
                    "user_reports_daily",
                    86_400,
                    u32::MAX,
                ),
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .map_err(|e| format!("cannot build the SMS gateway client: {e}"))?,
                config,
                clock,
                secrets: tokio::sync::OnceCell::new(),
                keyring: RwLock::new(None),
                last_forced_reload: Mutex::new(None),
                reload: tokio::sync::Mutex::new(()),
                metrics,
                revoker: RwLock::new(None),
            }),
        })
    }

    /// Connects the key server's revocation (for false-positive cases).
    pub fn set_key_revoker(&self, revoker: Arc<dyn KeyRevoker>) {
        if let Ok(mut slot) = self.inner.revoker.write() {
            *slot = Some(revoker);
        }
    }

    /// The case registry.
    pub fn cases(&self) -> &CaseRegistry {
        &self.inner.cases
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    async fn secrets(&self) -> Result<Arc<Secrets>, ServiceError> {
        self.inner
            .secrets
            .get_or_try_init(|| self.load_secrets())
            .await
            .cloned()
    }

    async fn stored_secret(&self, name: &str, what: &str) -> Result<Vec<u8>, ServiceError> {
        let candidate = secrets::random_bytes(32).map_err(|_| internal("random"))?;
        let stored = self
            .inner
            .store
            .secret(name, &candidate, self.now_ms())
            .await?;
        if stored == candidate {
            tracing::warn!(
                secret = name,
                "generated the {what} and stored it in the database (table verification_secrets); configure it in [verification] for production"
            );
        }
        Ok(stored)
    }

    async fn load_secrets(&self) -> Result<Arc<Secrets>, ServiceError> {
        let config = &self.inner.config;
        let raw: Vec<Vec<u8>> = if config.hmac_secrets.is_empty() {
            vec![
                self.stored_secret("hmac_secret", "processing-number HMAC secret")
                    .await?,
            ]
        } else {
            config
                .hmac_secrets
                .iter()
                .map(|s| s.0.as_bytes().to_vec())
                .collect()
        };
        let master = match &config.master_key {
            Some(secret) => STANDARD
                .decode(secret.0.trim())
                .map_err(|_| internal("verification.master_key is not base64"))?,
            None => {
                self.stored_secret("master_key", "signing-key master key")
                    .await?
            }
        };
        let master = MasterKey::new(&master)
            .ok_or_else(|| internal("verification.master_key must be 32 bytes (base64)"))?;
        let client_key = hmac::Key::new(
            hmac::HMAC_SHA256,
            hmac::sign(
                &hmac::Key::new(hmac::HMAC_SHA256, &raw[0]),
                b"client-address",
            )
            .as_ref(),
        );
        Ok(Arc::new(Secrets {
            hmac_keys: raw
                .iter()
                .map(|s| (key_id(s), hmac::Key::new(hmac::HMAC_SHA256, s)))
                .collect(),
            master,
            client_key,
        }))
    }

    /// The keyring, reloaded every minute (so `mimamori keys certificate rotate` reaches
    /// running servers) or at once when `force` (an unknown `kid`, at most every 5 s).
    async fn keyring(&self, force: bool) -> Result<Arc<Keyring>, ServiceError> {
        if let Ok(cache) = self.inner.keyring.read()
            && let Some(cache) = cache.as_ref()
            && !force
            && cache.loaded.elapsed() < KEYRING_REFRESH
        {
            return Ok(Arc::clone(&cache.keyring));
        }
        if force {
            let mut last = self
                .inner
                .last_forced_reload
                .lock()
                .map_err(|_| internal("poisoned"))?;
            if last.is_some_and(|t| t.elapsed() < FORCED_RELOAD_MIN_INTERVAL)
                && let Ok(cache) = self.inner.keyring.read()
                && let Some(cache) = cache.as_ref()
            {
                return Ok(Arc::clone(&cache.keyring));
            }
            *last = Some(Instant::now());
        }
        let _guard = self.inner.reload.lock().await;
        let secrets = self.secrets().await?;
        let mut records = self.inner.store.signing_keys().await?;
        if !records.iter().any(|r| r.active) {
            let kid = keys::generate(&self.inner.store, &secrets.master, self.now_ms()).await?;
            tracing::info!(kid = %kid, "generated the first certificate signing key");
            records = self.inner.store.signing_keys().await?;
        }
        let keyring = Arc::new(Keyring::from_records(&records, &secrets.master)?);
        if let Ok(mut cache) = self.inner.keyring.write() {
            *cache = Some(KeyringCache {
                keyring: Arc::clone(&keyring),
                loaded: Instant::now(),
            });
        }
        Ok(keyring)
    }

    /// Loads (or, when unconfigured, generates and stores) the secrets and the first signing
    /// key, so `serve` reports generated secrets at start rather than on the first request.
    pub async fn warm_up(&self) -> Result<(), ServiceError> {
        self.keyring(false).await.map(|_| ())
    }

    /// The public keys as a JWKS (`{"keys": [...]}` members).
    pub async fn jwks(&self) -> Result<Vec<Jwk>, ServiceError> {
        Ok(self.keyring(false).await?.jwks())
    }

    /// Generates a new active signing key (older keys keep verifying); returns its kid.
    pub async fn rotate_keys(&self) -> Result<String, ServiceError> {
        let secrets = self.secrets().await?;
        let kid = keys::generate(&self.inner.store, &secrets.master, self.now_ms()).await?;
        self.keyring(true).await?;
        Ok(kid)
    }

    /// (kid, created at ms, active) of every signing key, creating the first if none.
    pub async fn list_keys(&self) -> Result<Vec<(String, i64, bool)>, ServiceError> {
        let keyring = self.keyring(true).await?;
        Ok(keyring
            .keys()
            .iter()
            .map(|k| (k.kid.clone(), k.created_at_ms, k.active))
            .collect())
    }

    fn sign(&self, keyring: &Keyring, claims: &impl Serialize) -> Result<String, ServiceError> {
        let key = keyring
            .active()
            .ok_or_else(|| internal("no active signing key"))?;
        let bytes = serde_json::to_vec(claims).map_err(internal)?;
        jws::sign(&key.kid, &bytes, &key.pair).map_err(internal)
    }

    /// Writes a lifecycle event to the number's case; self-reports (no case) have none.
    async fn case_event(
        &self,
        case_id: &str,
        kind: &str,
        detail: &str,
    ) -> Result<(), ServiceError> {
        if case_id.is_empty() {
            return Ok(());
        }
        self.inner
            .cases
            .record_event(case_id, kind, detail)
            .await
            .map_err(ServiceError::from)
    }

    // ---- issuing ----

    /// Issues a processing number for a case the principal may write (re-issue invalidates
    /// the previous live number).
    pub async fn issue(
        &self,
        principal: &Principal,
        case_id: &str,
        request: IssueRequest,
    ) -> Result<Issued, ServiceError> {
        let case = self
            .inner
            .cases
            .case_for(principal, case_id, Access::Write, "number.issue")
            .await?;
        if case.revoked_at_ms.is_some() {
            return Err(ServiceError::Conflict {
                code: "case_revoked",
                message: "the case was revoked".into(),
            });
        }
        if case.status == "reported" {
            return Err(ServiceError::Conflict {
                code: "case_not_accepted",
                message: "accept the case before issuing a number".into(),
            });
        }
        let test_type = match request.test_type.as_deref() {
            None | Some("") => TestType::Confirmed,
            Some(t) => match TestType::parse(t).ok_or(VerifyError::InvalidTestType)? {
                TestType::UserReport => return Err(VerifyError::NotIssuable.into()),
                other => other,
            },
        };
        let now = self.now_ms();
        let today = Date::from_unix_ms(now);
        let max_age = self.inner.config.max_date_age_days;
        let pick = |explicit: Option<&str>,
                    from_case: Option<&str>|
         -> Result<Option<Date>, VerifyError> {
            match explicit.filter(|s| !s.is_empty()) {
                Some(value) => check_date(Some(value), today, max_age),
                None => Ok(check_date(from_case, today, max_age).ok().flatten()),
            }
        };
        let symptom = pick(request.symptom_date.as_deref(), case.onset_date.as_deref())?;
        let test = pick(request.test_date.as_deref(), Some(&case.diagnosis_date))?;
        let secrets = self.secrets().await?;
        let config = &self.inner.config;
        let (key_id, key) = secrets
            .hmac_keys
            .first()
            .ok_or_else(|| internal("no HMAC secret"))?;
        for _ in 0..10 {
            let code = new_code(config.code_length).map_err(|_| internal("random"))?;
            let long_code = if config.long_code_length > 0 {
                Some(new_long_code(config.long_code_length).map_err(|_| internal("random"))?)
            } else {
                None
            };
            let code_hmac = hmac::sign(key, code.as_bytes());
            let long_hmac = long_code.as_ref().map(|c| hmac::sign(key, c.as_bytes()));
            let record = NumberRecord {
                id: uuid::Uuid::new_v4().to_string(),
                case_id: case.id.clone(),
                test_type: test_type.as_str().into(),
                symptom_date: symptom.map(|d| d.to_string()),
                test_date: test.map(|d| d.to_string()),
                issued_at_ms: now,
                expires_at_ms: now + config.code_ttl_seconds * 1000,
                long_expires_at_ms: now + config.long_code_ttl_seconds * 1000,
                claimed_at_ms: None,
                revoked_at_ms: None,
            };
            match self
                .inner
                .store
                .issue_number(
                    &record,
                    code_hmac.as_ref(),
                    long_hmac.as_ref().map(|h| h.as_ref()),
                    key_id,
                    &principal.actor,
                )
                .await
            {
                Ok(()) => {}
                Err(e) if e.is_unique_violation() => continue,
                Err(e) => return Err(e.into()),
            }
            self.inner.metrics.issued.inc();
            self.inner
                .cases
                .record_event(
                    &case.id,
                    "number_issued",
                    &format!("valid until {}", rfc3339(record.expires_at_ms)),
                )
                .await?;
            return Ok(Issued {
                uuid: record.id,
                case_id: record.case_id,
                code,
                expires_at: rfc1123(record.expires_at_ms),
                expires_at_rfc3339: rfc3339(record.expires_at_ms),
                expires_at_timestamp: record.expires_at_ms.div_euclid(1000),
                long_code,
                long_expires_at: rfc1123(record.long_expires_at_ms),
                long_expires_at_rfc3339: rfc3339(record.long_expires_at_ms),
                long_expires_at_timestamp: record.long_expires_at_ms.div_euclid(1000),
                test_type: record.test_type,
                symptom_date: record.symptom_date,
                test_date: record.test_date,
            });
        }
        Err(internal("could not draw an unused processing number"))
    }

    /// The number `uuid` if it belongs to a case `principal` may access; 404
    /// `code_not_found` otherwise (a number outside scope is as unknown as a missing one).
    async fn number_in_scope(
        &self,
        principal: &Principal,
        uuid: &str,
        access: Access,
        action: &str,
    ) -> Result<NumberRecord, ServiceError> {
        let number = self
            .inner
            .store
            .number(uuid)
            .await?
            .filter(|n| !n.case_id.is_empty())
            .ok_or(ServiceError::CodeNotFound)?;
        match self
            .inner
            .cases
            .case_for(principal, &number.case_id, access, action)
            .await
        {
            Ok(_) => Ok(number),
            Err(CaseError::NotFound) => Err(ServiceError::CodeNotFound),
            Err(other) => Err(other.into()),
        }
    }

    /// `POST /api/checkcodestatus`: whether an issued number was claimed, and its expiry.
    pub async fn code_status(
        &self,
        principal: &Principal,
        uuid: &str,
    ) -> Result<CodeStatus, ServiceError> {
        let number = self
            .number_in_scope(principal, uuid, Access::Read, "number.status")
            .await?;
        Ok(CodeStatus::of(&number))
    }

    /// `POST /api/expirecode`: ends an unclaimed number's validity now (idempotent for an
    /// expired one; a claimed number cannot be expired).
    pub async fn expire_code(
        &self,
        principal: &Principal,
        uuid: &str,
    ) -> Result<CodeStatus, ServiceError> {
        let number = self
            .number_in_scope(principal, uuid, Access::Write, "number.expire")
            .await?;
        if number.claimed_at_ms.is_some() {
            return Err(ServiceError::Conflict {
                code: "code_already_claimed",
                message: "the code was already used by the app and cannot be expired".into(),
            });
        }
        let now = self.now_ms();
        let expired = self
            .inner
            .store
            .expire_number(uuid, now)
            .await?
            .ok_or(ServiceError::CodeNotFound)?;
        if number.expires_at_ms > now {
            self.case_event(
                &number.case_id,
                "number_expired",
                "expired by the health authority",
            )
            .await?;
        }
        Ok(CodeStatus::of(&expired))
    }

    /// `POST /api/user-report`: a self-reported positive test. Draws a short code bound to
    /// the app's nonce, sends it by SMS through the gateway, and answers with its expiry. A
    /// phone that reported within `repeat_after_days` gets an empty answer and no SMS.
    pub async fn user_report(
        &self,
        client: Option<IpAddr>,
        request: UserReportRequest,
    ) -> Result<UserReported, ServiceError> {
        let config = &self.inner.config;
        let settings = &config.user_report;
        if !settings.enabled {
            return Err(VerifyError::NotIssuable.into());
        }
        if request.nonce.is_empty() {
            return Err(VerifyError::MissingNonce.into());
        }
        if request.nonce.len() != USER_REPORT_NONCE_BYTES {
            return Err(VerifyError::Unparsable(format!(
                "nonce must be base64 of {USER_REPORT_NONCE_BYTES} bytes"
            ))
            .into());
        }
        if request.phone.trim().is_empty() {
            return Err(VerifyError::MissingPhone.into());
        }
        let phone = canonical_phone(&request.phone, &settings.phone_country_code)
            .ok_or(VerifyError::PhoneInvalid)?;
        let now = self.now_ms();
        let today = Date::from_unix_ms(now);
        let symptom = check_date(
            request.symptom_date.as_deref(),
            today,
            config.max_date_age_days,
        )?;
        let test = check_date(
            request.test_date.as_deref(),
            today,
            config.max_date_age_days,
        )?;
        let secrets = self.secrets().await?;
        // Each report sends an SMS: bounded per client per hour and for everyone per day.
        let per_client = client.map(|ip| {
            (
                LimitKey::UserReportClient(client_hash(&secrets.client_key, ip)),
                settings.max_per_client_per_hour,
            )
        });
        let mut limited = match per_client {
            Some(limit) => {
                self.inner
                    .user_reports_hourly
                    .check_and_count(&[limit], now)
                    .await
            }
            None => Ok(()),
        };
        if limited.is_ok() {
            limited = self
                .inner
                .user_reports_daily
                .check_and_count(&[(LimitKey::UserReports, settings.max_per_day)], now)
                .await;
        }
        if let Err(error) = limited {
            let LimitError::Exceeded {
                retry_after_seconds,
            } = error
            else {
                return Err(error.into());
            };
            self.inner
                .metrics
                .rate_limited
                .with_label_values(&["user_report"])
                .inc();
            return Err(ServiceError::RateLimited {
                retry_after_seconds,
                scope: "user_report",
            });
        }
        let (key_id, key) = secrets
            .hmac_keys
            .first()
            .ok_or_else(|| internal("no HMAC secret"))?;
        let phone_hmac = hmac::sign(key, format!("phone:{phone}").as_bytes());
        let number_id = uuid::Uuid::new_v4().to_string();
        let stale_before = now - settings.repeat_after_days.max(0) * 86_400_000;
        if !self
            .inner
            .store
            .take_user_report_slot(phone_hmac.as_ref(), &number_id, now, stale_before)
            .await?
        {
            return Ok(UserReported {
                expires_at: String::new(),
                expires_at_timestamp: 0,
            });
        }
        let nonce_hash = ring::digest::digest(&ring::digest::SHA256, &request.nonce);
        let expires_at_ms = now + settings.code_ttl_seconds * 1000;
        let record = NumberRecord {
            id: number_id.clone(),
            case_id: String::new(),
            test_type: TestType::UserReport.as_str().into(),
            symptom_date: symptom.map(|d| d.to_string()),
            test_date: test.map(|d| d.to_string()),
            issued_at_ms: now,
            expires_at_ms,
            long_expires_at_ms: expires_at_ms,
            claimed_at_ms: None,
            revoked_at_ms: None,
        };
        let mut code = None;
        for _ in 0..10 {
            let candidate = new_code(config.code_length).map_err(|_| internal("random"))?;
            let tag = hmac::sign(key, candidate.as_bytes());
            match self
                .inner
                .store
                .issue_user_report_number(&record, tag.as_ref(), key_id, nonce_hash.as_ref())
                .await
            {
                Ok(()) => {
                    code = Some(candidate);
                    break;
                }
                Err(e) if e.is_unique_violation() => continue,
                Err(e) => {
                    self.inner
                        .store
                        .delete_user_report(phone_hmac.as_ref(), &number_id)
                        .await
                        .ok();
                    return Err(e.into());
                }
            }
        }
        let Some(code) = code else {
            return Err(internal("could not draw an unused self-report code"));
        };
        let minutes = settings.code_ttl_seconds / 60;
        let message = settings
            .sms_template
            .replace("{code}", &code)
            .replace("{minutes}", &minutes.to_string());
        if let Err(error) = self.send_sms(&phone, &message).await {
            tracing::warn!(error = %error, "the SMS gateway did not take a self-report code");
            self.inner
                .store
                .delete_user_report(phone_hmac.as_ref(), &number_id)
                .await?;
            return Err(ServiceError::SmsFailure);
        }
        self.inner.metrics.issued.inc();
        Ok(UserReported {
            expires_at: rfc1123(expires_at_ms),
            expires_at_timestamp: expires_at_ms.div_euclid(1000),
        })
    }

    async fn send_sms(&self, to: &str, body: &str) -> Result<(), String> {
        let settings = &self.inner.config.user_report;
        let url = settings
            .sms_gateway_url
            .as_deref()
            .ok_or("no SMS gateway is configured")?;
        let mut request = self
            .inner
            .http
            .post(url)
            .json(&serde_json::json!({ "to": to, "body": body }));
        if let Some(token) = &settings.sms_gateway_token {
            request = request.bearer_auth(&token.0);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("gateway unreachable: {}", e.without_url()))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("gateway answered {}", response.status().as_u16()))
        }
    }

    // ---- device flow ----

    fn limit_keys(
        &self,
        secrets: &Secrets,
        client: Option<IpAddr>,
        space: Option<CodeSpace>,
    ) -> Vec<(LimitKey, u32, &'static str)> {
        let config = &self.inner.config;
        let mut keys = Vec::with_capacity(2);
        if let Some(ip) = client {
            keys.push((
                LimitKey::Client(client_hash(&secrets.client_key, ip)),
                config.max_failures_per_client,
                "client",
            ));
        }
        if let Some(space) = space {
            let max = match space {
                CodeSpace::Short => config.max_failures_per_short_code_space,
                CodeSpace::Long => config.max_failures_per_long_code_space,
            };
            keys.push((LimitKey::CodeSpace(space), max, space.label()));
        }
        keys
    }

    /// The 24-hour limits beside the window limits in `keys`: per client, and the short-code
    /// budget sized on the codes live now (long codes have no daily limit: 36^16 values).
    async fn daily_limit_keys(
        &self,
        keys: &[(LimitKey, u32, &'static str)],
    ) -> Vec<(LimitKey, u32, &'static str)> {
        let config = &self.inner.config;
        let mut daily = Vec::with_capacity(keys.len());
        for (key, _, _) in keys {
            match key {
                LimitKey::Client(_) => {
                    daily.push((
                        key.clone(),
                        config.max_failures_per_client_per_day,
                        "client_daily",
                    ));
                }
                LimitKey::CodeSpace(CodeSpace::Short) => {
                    let live = self.live_codes().await;
                    let budget = daily_short_code_budget(
                        config.code_length,
                        live,
                        config.years_to_guess_a_short_code,
                        config.min_failures_per_short_code_space_per_day,
                        config.max_failures_per_short_code_space_per_day,
                    );
                    self.inner
                        .metrics
                        .short_code_daily_budget
                        .set(i64::from(budget));
                    daily.push((key.clone(), budget, "short_code_space_daily"));
                }
                _ => {}
            }
        }
        daily
    }

    /// The live-code count, recounted at most once a minute (a failed count keeps the last
    /// one; with none yet the budget takes its maximum, and the claim itself will answer 503).
    async fn live_codes(&self) -> u64 {
        const RECOUNT: Duration = Duration::from_secs(60);
        if let Ok(cached) = self.inner.live_codes.lock()
            && let Some((counted, live)) = *cached
            && counted.elapsed() < RECOUNT
        {
            return live;
        }
        match self.inner.store.live_numbers(self.now_ms()).await {
            Ok(live) => {
                if let Ok(mut cached) = self.inner.live_codes.lock() {
                    *cached = Some((Instant::now(), live));
                }
                self.inner
                    .metrics
                    .live_codes
                    .set(i64::try_from(live).unwrap_or(i64::MAX));
                live
            }
            Err(error) => {
                tracing::warn!(error = %error, storage_error_kind = %error.kind(), "could not count the live processing numbers");
                self.inner
                    .live_codes
                    .lock()
                    .ok()
                    .and_then(|cached| cached.map(|(_, live)| live))
                    .unwrap_or(0)
            }
        }
    }

    async fn check_limits(
        &self,
        limiter: &FailureLimiter,
        keys: &[(LimitKey, u32, &'static str)],
    ) -> Result<(), ServiceError> {
        let now = self.now_ms();
        for (key, max, scope) in keys {
            if let Err(error) = limiter.check(&[(key.clone(), *max)], now).await {
                let LimitError::Exceeded {
                    retry_after_seconds,
                } = error
                else {
                    return Err(error.into());
                };
                self.inner
                    .metrics
                    .rate_limited
                    .with_label_values(&[scope])
                    .inc();
                return Err(ServiceError::RateLimited {
                    retry_after_seconds,
                    scope,
                });
            }
        }
        Ok(())
    }

    async fn count_failure(&self, error: &VerifyError, keys: &[(LimitKey, u32, &'static str)]) {
        self.inner
            .metrics
            .failures
            .with_label_values(&[error.reason()])
            .inc();
        if !error.is_guess() {
            return;
        }
        let keys: Vec<LimitKey> = keys.iter().map(|(k, _, _)| k.clone()).collect();
        let now = self.now_ms();
        if let Err(e) = self.inner.daily_limiter.record_failure(&keys, now).await {
            tracing::warn!(error = %e, "could not count a failed verification (daily)");
        }
        let spike = match self.inner.limiter.record_failure(&keys, now).await {
            Ok(spike) => spike,
            Err(e) => {
                tracing::warn!(error = %e, "could not count a failed verification");
                false
            }
        };
        if spike {
            self.inner.metrics.spikes.inc();
            tracing::warn!(
                alert = "verification_failure_spike",
                threshold_per_minute = self.inner.config.failure_alert_per_minute,
                "failed verifications reached the alert threshold this minute"
            );
        }
    }

    /// Runs `work` under the failure limits of `client` and `space`: refused with 429 while
    /// either is used up; a failed guess counts against both. The device API key is not a
    /// limit: every install of an app shares it.
    async fn guarded<T, F>(
        &self,
        client: Option<IpAddr>,
        space: Option<CodeSpace>,
        work: F,
    ) -> Result<T, ServiceError>
    where
        F: Future<Output = Result<T, ServiceError>>,
    {
        let secrets = self.secrets().await?;
        let keys = self.limit_keys(&secrets, client, space);
        self.check_limits(&self.inner.limiter, &keys).await?;
        let daily = self.daily_limit_keys(&keys).await;
        self.check_limits(&self.inner.daily_limiter, &daily).await?;
        let result = work.await;
        if let Err(ServiceError::Verify(error)) = &result {
            self.count_failure(error, &keys).await;
        }
        result
    }

    async fn claim(
        &self,
        code: &str,
        accepted: &[TestType],
        nonce: Option<&[u8]>,
    ) -> Result<NumberRecord, ServiceError> {
        let config = &self.inner.config;
        if !code_well_formed(code, config.code_length, config.long_code_length) {
            return Err(VerifyError::CodeInvalid.into());
        }
        let secrets = self.secrets().await?;
        let now = self.now_ms();
        let accepted: Vec<&str> = accepted.iter().map(|t| t.as_str()).collect();
        let nonce_hash = nonce.map(|n| ring::digest::digest(&ring::digest::SHA256, n));
        let nonce_hash = nonce_hash.as_ref().map(|d| d.as_ref());
        let mut outcome = ClaimOutcome::NotFound;
        for (_, key) in &secrets.hmac_keys {
            let tag = hmac::sign(key, code.as_bytes());
            outcome = self
                .inner
                .store
                .claim_number(tag.as_ref(), &accepted, nonce_hash, now)
                .await?;
            if outcome != ClaimOutcome::NotFound {
                break;
            }
        }
        Err(match outcome {
            ClaimOutcome::Claimed(number) => return Ok(number),
            ClaimOutcome::NotFound => VerifyError::CodeNotFound,
            ClaimOutcome::Expired | ClaimOutcome::Revoked => VerifyError::CodeExpired,
            ClaimOutcome::AlreadyUsed => VerifyError::CodeAlreadyUsed,
            ClaimOutcome::TypeNotAccepted => VerifyError::UnsupportedTestType,
        }
        .into())
    }

    /// The code space a code of this form falls in (for the failure limits).
    fn code_space(&self, code: &str) -> CodeSpace {
        let long = self.inner.config.long_code_length;
        if long > 0 && code.len() == long {
            CodeSpace::Long
        } else {
            CodeSpace::Short
        }
    }

    /// `POST /api/verify`: claims the code (single use) if its type is in the client's
    /// `accept` set, and returns a signed token. `nonce` is the self-report nonce.
    pub async fn verify(
        &self,
        client: Option<IpAddr>,
        code: &str,
        accept: Option<&[String]>,
        nonce: Option<&[u8]>,
    ) -> Result<Verified, ServiceError> {
        let accepted = accepted_test_types(accept)?;
        self.guarded(
            client,
            Some(self.code_space(code)),
            self.verify_inner(code, &accepted, nonce),
        )
        .await
    }

    async fn verify_inner(
        &self,
        code: &str,
        accepted: &[TestType],
        nonce: Option<&[u8]>,
    ) -> Result<Verified, ServiceError> {
        let keyring = self.keyring(false).await?;
        let number = self.claim(code, accepted, nonce).await?;
        let now = self.now_ms();
        let now_s = now.div_euclid(1000);
        let config = &self.inner.config;
        let jti =
            URL_SAFE_NO_PAD.encode(secrets::random_bytes(32).map_err(|_| internal("random"))?);
        let claims = TokenClaims {
            iss: config.token_issuer.clone(),
            aud: config.token_issuer.clone(),
            jti: jti.clone(),
            sub: format!(
                "{}.{}.{}",
                number.test_type,
                number.symptom_date.as_deref().unwrap_or_default(),
                number.test_date.as_deref().unwrap_or_default()
            ),
            exp: now_s + config.token_ttl_seconds,
            iat: now_s,
            nbf: now_s,
        };
        let token = self.sign(&keyring, &claims)?;
        self.inner
            .store
            .insert_token(&jti, &number.id, &number.case_id, now, claims.exp * 1000)
            .await?;
        self.inner.metrics.claimed.inc();
        self.case_event(&number.case_id, "number_claimed", "")
            .await?;
        Ok(Verified {
            testtype: number.test_type,
            symptom_date: number.symptom_date,
            test_date: number.test_date,
            token,
        })
    }

    /// Checks a verification token's signature, algorithm, key, issuer, audience and times.
    pub async fn verify_token(&self, token: &str) -> Result<TokenClaims, ServiceError> {
        let header = jws::decode_unverified_header(token).map_err(|e| match e {
            JwsError::UnsupportedAlgorithm(_) => VerifyError::TokenAlgorithm,
            _ => VerifyError::TokenInvalid,
        })?;
        let kid = header.kid.ok_or(VerifyError::TokenKidUnknown)?;
        let mut keyring = self.keyring(false).await?;
        if keyring.public_key(&kid).is_none() {
            keyring = self.keyring(true).await?;
        }
        let public_key = keyring
            .public_key(&kid)
            .ok_or(VerifyError::TokenKidUnknown)?;
        let bytes = jws::verify(token, public_key).map_err(|e| match e {
            JwsError::UnsupportedAlgorithm(_) => VerifyError::TokenAlgorithm,
            _ => VerifyError::TokenInvalid,
        })?;
        let claims: TokenClaims =
            serde_json::from_slice(&bytes).map_err(|_| VerifyError::TokenInvalid)?;
        let config = &self.inner.config;
        if claims.iss != config.token_issuer || claims.aud != config.token_issuer {
            return Err(VerifyError::TokenInvalid.into());
        }
        let now_s = self.now_ms().div_euclid(1000);
        if claims.nbf > now_s + config.clock_skew_seconds
            || claims.iat > now_s + config.clock_skew_seconds
        {
            return Err(VerifyError::TokenNotYetValid.into());
        }
        if claims.exp <= now_s {
            return Err(VerifyError::TokenExpired.into());
        }
        Ok(claims)
    }

    /// `POST /api/certificate`: trades a token (once) and the app's HMAC of its keys for a
    /// signed certificate.
    pub async fn certificate(
        &self,
        client: Option<IpAddr>,
        token: &str,
        ekeyhmac: &str,
    ) -> Result<String, ServiceError> {
        self.guarded(client, None, self.certificate_inner(token, ekeyhmac))
            .await
    }

    async fn certificate_inner(&self, token: &str, ekeyhmac: &str) -> Result<String, ServiceError> {
        let hmac_bytes = STANDARD
            .decode(ekeyhmac)
            .map_err(|_| VerifyError::HmacInvalid)?;
        if hmac_bytes.len() != 32 {
            return Err(VerifyError::HmacInvalid.into());
        }
        let claims = self.verify_token(token).await?;
        let now = self.now_ms();
        let (number_id, case_id) = match self.inner.store.use_token(&claims.jti, now).await? {
            TokenOutcome::Used(number_id, case_id) => (number_id, case_id),
            // Upstream answers a token it has no row for as expired (purged after expiry).
            TokenOutcome::NotFound => return Err(VerifyError::TokenExpired.into()),
            TokenOutcome::AlreadyUsed => return Err(VerifyError::TokenAlreadyUsed.into()),
        };
        let mut parts = claims.sub.split('.');
        let test_type = parts.next().unwrap_or("confirmed").to_string();
        let symptom = parts.next().and_then(Date::parse);
        let test = parts.next().and_then(Date::parse);
        let onset = symptom.or(test).unwrap_or_else(|| Date::from_unix_ms(now));
        let certificate_id = uuid::Uuid::new_v4().to_string();
        let now_s = now.div_euclid(1000);
        let config = &self.inner.config;
        let certificate = CertificateClaims {
            report_type: test_type,
            symptom_onset_interval: onset.en_interval().unwrap_or(0),
            trisk: Vec::new(),
            tekmac: STANDARD.encode(&hmac_bytes),
            jti: certificate_id.clone(),
            iss: config.certificate_issuer.clone(),
            aud: config.certificate_audience.clone(),
            iat: now_s - 5,
            nbf: now_s - 5,
            exp: now_s + config.certificate_ttl_seconds,
        };
        let keyring = self.keyring(false).await?;
        let signed = self.sign(&keyring, &certificate)?;
        self.inner
            .store
            .insert_certificate(&certificate_id, &case_id, &number_id, now, None)
            .await?;
        self.inner.metrics.certificates.inc();
        self.case_event(&case_id, "certificate_issued", "").await?;
        Ok(signed)
    }

    /// The COCOA path: claims a bare processing number for an upload and records a
    /// certificate id for it (no JWT: the key server asked in process). A retry of the same
    /// submission (same idempotency key, within a day of the claim) gets the certificate of
    /// the first attempt again, as COCOA's server upserted retried uploads. Guesses count
    /// against the same per-client and short-code-space limits as `POST /api/verify`.
    pub async fn claim_for_upload(
        &self,
        client: Option<IpAddr>,
        number: &str,
        idempotency_key: Option<&str>,
    ) -> Result<VerifiedUpload, ServiceError> {
        self.guarded(
            client,
            Some(CodeSpace::Short),
            self.claim_for_upload_inner(number, idempotency_key),
        )
        .await
    }

    async fn claim_for_upload_inner(
        &self,
        number: &str,
        idempotency_key: Option<&str>,
    ) -> Result<VerifiedUpload, ServiceError> {
        let idempotency_hash =
            idempotency_key.map(|k| ring::digest::digest(&ring::digest::SHA256, k.as_bytes()));
        let record = match self.claim(number, &TestType::ALL, None).await {
            Ok(record) => record,
            Err(ServiceError::Verify(VerifyError::CodeAlreadyUsed))
                if idempotency_hash.is_some() =>
            {
                let hash = idempotency_hash
                    .as_ref()
                    .map(|d| d.as_ref())
                    .unwrap_or_default();
                return match self.retried_upload(number, hash).await? {
                    Some(upload) => Ok(upload),
                    None => Err(VerifyError::CodeAlreadyUsed.into()),
                };
            }
            Err(error) => return Err(error),
        };
        let certificate_id = uuid::Uuid::new_v4().to_string();
        let now = self.now_ms();
        self.inner
            .store
            .insert_certificate(
                &certificate_id,
                &record.case_id,
                &record.id,
                now,
                idempotency_hash.as_ref().map(|d| d.as_ref()),
            )
            .await?;
        self.inner.metrics.claimed.inc();
        let recorded = async {
            let cases = &self.inner.cases;
            cases
                .record_event(&record.case_id, "number_claimed", "cocoa")
                .await?;
            cases
                .record_event(&record.case_id, "certificate_issued", "cocoa")
                .await
        };
        if let Err(error) = recorded.await {
            // The key server answers 503 and the app retries: the number must still work.
            if let Err(release_error) = self.release_upload_claim(&certificate_id).await {
                tracing::error!(error = %release_error, "could not release a processing-number claim");
            }
            return Err(error.into());
        }
        Ok(upload_of(certificate_id, &record))
    }

    /// The earlier upload of `number` under this idempotency key, if it was claimed within
    /// the last day.
    async fn retried_upload(
        &self,
        number: &str,
        idempotency_hash: &[u8],
    ) -> Result<Option<VerifiedUpload>, ServiceError> {
        let secrets = self.secrets().await?;
        let since = self.now_ms() - 86_400_000;
        for (_, key) in &secrets.hmac_keys {
            let tag = hmac::sign(key, number.as_bytes());
            if let Some((certificate_id, record)) = self
                .inner
                .store
                .retried_upload(tag.as_ref(), idempotency_hash, since)
                .await?
            {
                return Ok(Some(upload_of(certificate_id, &record)));
            }
        }
        Ok(None)
    }

    /// Gives back the processing number claimed for a COCOA upload that could not be stored
    /// (see [`ProcessingNumberVerifier::release`](mimamori_key_server::hooks::ProcessingNumberVerifier::release)).
    pub async fn release_upload_claim(&self, certificate_id: &str) -> Result<(), ServiceError> {
        if let Some(case_id) = self.inner.store.release_claim(certificate_id).await? {
            self.inner
                .cases
                .record_event(&case_id, "number_released", "cocoa upload failed")
                .await?;
        }
        Ok(())
    }

    /// Records that the key server stored `keys` keys under `certificate_id`.
    pub async fn keys_published(
        &self,
        certificate_id: &str,
        keys: usize,
    ) -> Result<(), ServiceError> {
        let count = i64::try_from(keys).unwrap_or(i64::MAX);
        if let Some(case_id) = self
            .inner
            .store
            .add_published(certificate_id, count)
            .await?
        {
            self.case_event(&case_id, "keys_published", &format!("{keys} keys"))
                .await?;
        }
        Ok(())
    }

    /// Revokes a case (false positive): its live number, unused tokens, certificates and
    /// the keys published under them.
    pub async fn revoke_case(
        &self,
        principal: &Principal,
        case_id: &str,
    ) -> Result<Revoked, ServiceError> {
        self.inner
            .cases
            .case_for(principal, case_id, Access::Write, "revoke")
            .await?;
        let certificates = self.inner.store.revoke_case(case_id, self.now_ms()).await?;
        self.inner.cases.mark_revoked(principal, case_id).await?;
        let revoker = self.inner.revoker.read().ok().and_then(|slot| slot.clone());
        let keys_revoked = match revoker {
            Some(revoker) if !certificates.is_empty() => {
                let count = revoker
                    .revoke_by_certificates(&certificates)
                    .await
                    .map_err(|e| internal(format!("key server revocation failed: {e}")))?;
                self.inner
                    .cases
                    .record_event(case_id, "keys_revoked", &format!("{count} keys"))
                    .await?;
                Some(count)
            }
            Some(_) => Some(0),
            None => {
                tracing::warn!("no key server connected; published keys were not revoked");
                None
            }
        };
        Ok(Revoked {
            certificates: certificates.len(),
            keys_revoked,
        })
    }

    /// Writes `number_expired` to cases whose number expired unclaimed, and deletes numbers
    /// and tokens past retention; returns how many numbers expired.
    pub async fn expire_due(&self) -> Result<usize, ServiceError> {
        let now = self.now_ms();
        let retention_ms = self.inner.config.retention_days.max(1) * 86_400_000;
        self.inner.store.purge(now - retention_ms).await?;
        let cases = self.inner.store.expire_due(now).await?;
        for case_id in &cases {
            self.case_event(case_id, "number_expired", "").await?;
        }
        Ok(cases.len())
    }
}
