//! Configuration of this service: the `[verification]` table of the server configuration
//! (`MIMAMORI_VERIFICATION__*` in the environment).
//!
//! Secrets (`hmac_secrets`, `master_key`) are masked when the configuration is printed. When
//! they are not configured, `serve` generates them at first start and stores them in the
//! database (table `verification_secrets`), logging that it did so: fine for development and
//! a single site, but production should configure them so a database dump alone does not
//! reveal the signing keys.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A configured secret: printed and debug-formatted as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// Settings of this service. Unknown keys are rejected; secrets are masked when serialized.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Digits of a processing number (6 to 12; default 8, as HER-SYS).
    pub code_length: usize,
    /// Validity of a processing number in seconds (default 24 h).
    pub code_ttl_seconds: i64,
    /// Characters of the long code for SMS links (`[a-z0-9]`; 0 disables; default 16).
    pub long_code_length: usize,
    /// Validity of the long code in seconds (default 24 h).
    pub long_code_ttl_seconds: i64,
    /// Validity of a verification token in seconds (default 24 h).
    pub token_ttl_seconds: i64,
    /// Validity of a certificate in seconds (default 15 min).
    pub certificate_ttl_seconds: i64,
    /// Tolerated clock difference for `iat`/`nbf` in seconds (default 60).
    pub clock_skew_seconds: i64,
    /// `iss` and `aud` of verification tokens.
    pub token_issuer: String,
    /// `iss` of certificates (the key server trusts this issuer).
    pub certificate_issuer: String,
    /// `aud` of certificates (the key server's name).
    pub certificate_audience: String,
    /// Oldest accepted symptom or test date, in days (Google: 28).
    pub max_date_age_days: i64,
    /// HMAC secrets for processing numbers, newest first (older ones still verify, for
    /// rotation). Empty: generated at first start and stored in the database.
    pub hmac_secrets: Vec<Secret>,
    /// Base64 of 32 bytes: encrypts signing keys at rest. Unset: generated and stored in the
    /// database at first start.
    pub master_key: Option<Secret>,
    /// Failed verifications allowed per client (keyed hash of the IP) per window.
    pub max_failures_per_client: u32,
    /// Failed guesses at short (numeric) codes allowed per window from all clients together;
    /// past it short codes get 429 until the window ends, long codes keep working.
    pub max_failures_per_short_code_space: u32,
    /// Failed guesses at long codes allowed per window from all clients together.
    pub max_failures_per_long_code_space: u32,
    /// The rate-limit window in seconds.
    pub failure_window_seconds: i64,
    /// Failed verifications allowed per client per 24-hour window (on top of the
    /// per-window limit: a patient attacker on one address gets this many a day).
    pub max_failures_per_client_per_day: u32,
    /// Most failed guesses at short codes allowed per 24-hour window from all clients
    /// together (the daily guessing budget, before the floor below).
    pub max_failures_per_short_code_space_per_day: u32,
    /// Fewest failed short-code guesses allowed per 24 hours, whatever the budget computes
    /// (so that a few typos cannot close uploads for the whole country at once).
    pub min_failures_per_short_code_space_per_day: u32,
    /// The daily short-code budget shrinks with the number of live codes so that the
    /// expected time for all guessers together to hit one is at least this many years:
    /// budget = 10^code_length / (365.25 * years * live codes). 0 turns this off.
    pub years_to_guess_a_short_code: f64,
    /// Failures per minute (all clients) that raise a spike alert (log event and metric).
    pub failure_alert_per_minute: u32,
    /// Days after their validity ends that numbers and tokens are deleted (certificate ids
    /// stay, for revocation).
    pub retention_days: i64,
    /// Self-reports (`POST /api/user-report`).
    pub user_report: UserReportConfig,
}

/// `[verification.user_report]`: self-reports of a positive test, whose code reaches the
/// phone by SMS through an HTTP gateway.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct UserReportConfig {
    /// Whether self-reports are taken (off: 400 `unsupported_test_type`, as upstream for a
    /// realm without them).
    pub enabled: bool,
    /// The SMS gateway: `POST {"to": E.164, "body": text}` as JSON; 2xx means accepted.
    pub sms_gateway_url: Option<String>,
    /// Bearer token for the gateway (masked when printed).
    pub sms_gateway_token: Option<Secret>,
    /// The message; `{code}` and `{minutes}` are replaced.
    pub sms_template: String,
    /// Country calling code for national numbers (a leading 0 is replaced by it).
    pub phone_country_code: String,
    /// Validity of a self-report code.
    pub code_ttl_seconds: i64,
    /// A phone number can self-report again after this many days.
    pub repeat_after_days: i64,
    /// Self-reports accepted per client (keyed hash of the IP) per hour.
    pub max_per_client_per_hour: u32,
    /// Self-reports accepted per UTC day from everyone (each sends an SMS).
    pub max_per_day: u32,
}

impl Default for UserReportConfig {
    fn default() -> Self {
        UserReportConfig {
            enabled: false,
            sms_gateway_url: None,
            sms_gateway_token: None,
            sms_template: "確認コード / verification code: {code} ({minutes} min)".into(),
            phone_country_code: "81".into(),
            code_ttl_seconds: 3600,
            repeat_after_days: 30,
            max_per_client_per_hour: 5,
            max_per_day: 20_000,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            code_length: 8,
            code_ttl_seconds: 24 * 3600,
            long_code_length: 16,
            long_code_ttl_seconds: 24 * 3600,
            token_ttl_seconds: 24 * 3600,
            certificate_ttl_seconds: 15 * 60,
            clock_skew_seconds: 60,
            token_issuer: "mimamori-verification".into(),
            certificate_issuer: "mimamori-verification".into(),
            certificate_audience: "exposure-notifications-server".into(),
            max_date_age_days: 28,
            hmac_secrets: Vec::new(),
            master_key: None,
            max_failures_per_client: 30,
            max_failures_per_short_code_space: 200,
            max_failures_per_long_code_space: 20_000,
            failure_window_seconds: 600,
            max_failures_per_client_per_day: 100,
            max_failures_per_short_code_space_per_day: 1_000,
            min_failures_per_short_code_space_per_day: 20,
            years_to_guess_a_short_code: 1.0,
            failure_alert_per_minute: 100,
            retention_days: 14,
            user_report: UserReportConfig::default(),
        }
    }
}

impl Config {
    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), String> {
        if !(6..=12).contains(&self.code_length) {
            return Err("verification.code_length must be 6 to 12".into());
        }
        if self.long_code_length != 0 && !(12..=64).contains(&self.long_code_length) {
            return Err("verification.long_code_length must be 0 or 12 to 64".into());
        }
        if self.code_ttl_seconds <= 0
            || self.token_ttl_seconds <= 0
            || self.certificate_ttl_seconds <= 0
        {
            return Err("verification TTLs must be positive".into());
        }
        if self.user_report.enabled {
            match self.user_report.sms_gateway_url.as_deref() {
                Some(url) if url.starts_with("http://") || url.starts_with("https://") => {}
                _ => {
                    return Err(
                        "verification.user_report.enabled needs sms_gateway_url (http:// or https://)"
                            .into(),
                    );
                }
            }
            if self.user_report.code_ttl_seconds <= 0 || self.user_report.repeat_after_days < 0 {
                return Err("verification.user_report TTLs must be positive".into());
            }
        }
        if !self.years_to_guess_a_short_code.is_finite() || self.years_to_guess_a_short_code < 0.0 {
            return Err("verification.years_to_guess_a_short_code must be 0 or more".into());
        }
        if self.min_failures_per_short_code_space_per_day
            > self.max_failures_per_short_code_space_per_day
        {
            return Err(
                "verification.min_failures_per_short_code_space_per_day must not exceed max_failures_per_short_code_space_per_day"
                    .into(),
            );
        }
        if self.hmac_secrets.iter().any(|s| s.0.len() < 16) {
            return Err("verification.hmac_secrets entries need at least 16 characters".into());
        }
        Ok(())
    }
}
