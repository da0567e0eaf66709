//! Checking verification certificates: ES256 JWTs from configured issuers, as the Google
//! verification protocol defines them. The key server never calls the verification service
//! here; it trusts the issuers' public keys (PEM files, or a JWKS fetched and refreshed).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use mimamori_crypto::export::ReportType;
use mimamori_crypto::jws::{self, Jwk, JwsError};
use serde::Deserialize;

use crate::config::IssuerConfig;

/// DER prefix of a P-256 SubjectPublicKeyInfo; the uncompressed point follows it.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Why a certificate was refused. Each has its own error code in the publish response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// Not a well-formed JWT.
    #[error("certificate is malformed: {0}")]
    Malformed(String),
    /// `alg` is not ES256 (including `none`).
    #[error("certificate algorithm is not ES256")]
    UnsupportedAlgorithm,
    /// `iss` names no configured issuer.
    #[error("certificate issuer is not trusted")]
    UnknownIssuer,
    /// No key of the issuer has the certificate's `kid`.
    #[error("certificate key id is unknown")]
    UnknownKey,
    /// The signature does not verify.
    #[error("certificate signature is invalid")]
    BadSignature,
    /// `aud` does not name this key server.
    #[error("certificate audience is wrong")]
    WrongAudience,
    /// `exp` has passed (beyond the allowed skew).
    #[error("certificate has expired")]
    Expired,
    /// `nbf` or `iat` lies in the future (beyond the allowed skew).
    #[error("certificate is not yet valid")]
    NotYetValid,
    /// `reportType` is not one of the protocol's values.
    #[error("certificate report type is unsupported")]
    UnsupportedReportType,
    /// The tekmac does not match the request's keys and `hmacKey`.
    #[error("certificate HMAC does not match the keys")]
    HmacMismatch,
}

impl CertificateError {
    /// The stable error code sent to the app.
    pub fn code(&self) -> &'static str {
        match self {
            CertificateError::Malformed(_) => "certificate_malformed",
            CertificateError::UnsupportedAlgorithm => "certificate_algorithm_unsupported",
            CertificateError::UnknownIssuer => "unknown_health_authority_id",
            CertificateError::UnknownKey => "certificate_key_unknown",
            CertificateError::BadSignature => "certificate_signature_invalid",
            CertificateError::WrongAudience => "certificate_audience_invalid",
            CertificateError::Expired => "certificate_expired",
            CertificateError::NotYetValid => "certificate_not_yet_valid",
            CertificateError::UnsupportedReportType => "certificate_report_type_unsupported",
            CertificateError::HmacMismatch => "certificate_hmac_invalid",
        }
    }
}

/// The claims of a verification certificate.
#[derive(Debug, Deserialize)]
struct Claims {
    iss: String,
    aud: Audience,
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(rename = "reportType", default)]
    report_type: Option<String>,
    #[serde(rename = "symptomOnsetInterval", default)]
    symptom_onset_interval: Option<u32>,
    #[serde(rename = "testDateInterval", default)]
    test_date_interval: Option<u32>,
    tekmac: String,
    #[serde(default)]
    jti: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, wanted: &str) -> bool {
        match self {
            Audience::One(a) => a == wanted,
            Audience::Many(all) => all.iter().any(|a| a == wanted),
        }
    }
}

/// A certificate that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCertificate {
    /// The issuer (health authority).
    pub issuer: String,
    /// The report type of its keys; `None` for a negative test (keys are not stored).
    pub report_type: Option<ReportType>,
    /// Symptom onset (or test date) interval, when the certificate has one.
    pub symptom_onset_interval: Option<u32>,
    /// The tekmac (HMAC-SHA256 bytes) binding the certificate to a set of keys.
    pub tekmac: Vec<u8>,
    /// Identifies the certificate: its `jti`, else a hash of the token.
    pub certificate_id: String,
}

struct TrustedIssuer {
    config: IssuerConfig,
    keys: RwLock<HashMap<String, [u8; jws::PUBLIC_KEY_LEN]>>,
    refreshed: RwLock<Option<Instant>>,
}

/// Checks certificates against the configured issuers.
#[derive(Clone)]
pub struct CertificateVerifier {
    issuers: Arc<HashMap<String, Arc<TrustedIssuer>>>,
}

impl std::fmt::Debug for CertificateVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateVerifier")
            .field("issuers", &self.issuers.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Parses a PEM (or bare base64) P-256 SubjectPublicKeyInfo into its uncompressed point.
pub fn public_key_from_pem(text: &str) -> Result<[u8; jws::PUBLIC_KEY_LEN], String> {
    let body: String = text
        .lines()
        .filter(|line| !line.starts_with("-----") && !line.trim().is_empty())
        .map(str::trim)
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|_| "not base64/PEM".to_string())?;
    if der.len() != P256_SPKI_PREFIX.len() + jws::PUBLIC_KEY_LEN
        || der[..P256_SPKI_PREFIX.len()] != P256_SPKI_PREFIX
    {
        return Err("not a P-256 public key (SubjectPublicKeyInfo)".into());
    }
    let mut point = [0u8; jws::PUBLIC_KEY_LEN];
    point.copy_from_slice(&der[P256_SPKI_PREFIX.len()..]);
    Ok(point)
}

/// A JWKS document.
#[derive(Debug, Deserialize)]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl CertificateVerifier {
    /// Builds the verifier, reading every configured PEM file (`kid=PATH` or `PATH`, whose
    /// file stem is then the key id).
    pub fn from_config(issuers: &[IssuerConfig]) -> Result<Self, String> {
        let mut map = HashMap::new();
        for issuer in issuers {
            let mut keys = HashMap::new();
            for entry in &issuer.public_keys {
                let (kid, path) = match entry.split_once('=') {
                    Some((kid, path)) => (kid.to_string(), path.to_string()),
                    None => (
                        std::path::Path::new(entry)
                            .file_stem()
                            .and_then(|s| s.to_str())
                            .unwrap_or(entry)
                            .to_string(),
                        entry.clone(),
                    ),
                };
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    format!(
                        "issuer {}: cannot read public key {path}: {e}",
                        issuer.issuer
                    )
                })?;
                let point = public_key_from_pem(&text)
                    .map_err(|e| format!("issuer {}: {path}: {e}", issuer.issuer))?;
                keys.insert(kid, point);
            }
            map.insert(
                issuer.issuer.clone(),
                Arc::new(TrustedIssuer {
                    config: issuer.clone(),
                    keys: RwLock::new(keys),
                    refreshed: RwLock::new(None),
                }),
            );
        }
        Ok(CertificateVerifier {
            issuers: Arc::new(map),
        })
    }

    /// Replaces the keys of `issuer` learnt from its JWKS (keys from PEM files stay).
    pub fn install_jwks(&self, issuer: &str, set: &JwkSet) -> usize {
        let Some(trusted) = self.issuers.get(issuer) else {
            return 0;
        };
        let mut installed = 0;
        if let Ok(mut keys) = trusted.keys.write() {
            for jwk in &set.keys {
                if let Ok(point) = jwk.public_key() {
                    keys.insert(jwk.kid.clone(), point);
                    installed += 1;
                }
            }
        }
        if let Ok(mut refreshed) = trusted.refreshed.write() {
            *refreshed = Some(Instant::now());
        }
        installed
    }

    /// Issuers with a JWKS URL whose keys are due for a refresh (or have never been fetched).
    pub fn jwks_due(&self) -> Vec<(String, String)> {
        self.issuers
            .values()
            .filter_map(|t| {
                let url = t.config.jwks_url.clone()?;
                let due = t.refreshed.read().ok().is_none_or(|r| {
                    r.is_none_or(|at| {
                        at.elapsed() >= Duration::from_secs(t.config.jwks_refresh_seconds)
                    })
                });
                due.then(|| (t.config.issuer.clone(), url))
            })
            .collect()
    }

    /// Whether `issuer` may need its JWKS fetched now because a token names an unknown key
    /// (rotation): true when it has a JWKS URL and was not refreshed in the last second
    /// (so a flood of tokens with a bogus `kid` cannot turn into a flood of fetches).
    fn may_refresh_for_unknown_key(&self, issuer: &str) -> Option<String> {
        let trusted = self.issuers.get(issuer)?;
        let url = trusted.config.jwks_url.clone()?;
        let recent = trusted
            .refreshed
            .read()
            .ok()
            .is_some_and(|r| r.is_some_and(|at| at.elapsed() < Duration::from_secs(1)));
        (!recent).then_some(url)
    }

    /// Verifies `token` at `now_s` (Unix seconds): algorithm, issuer, key, signature,
    /// audience, time claims (with the issuer's skew), report type.
    ///
    /// Returns `Err(UnknownKey)` with the JWKS URL to refresh when the key is unknown and a
    /// refresh may help; see [`CertificateVerifier::verify_refreshing`].
    pub fn verify(&self, token: &str, now_s: i64) -> Result<VerifiedCertificate, CertificateError> {
        let header = jws::decode_unverified_header(token).map_err(map_jws)?;
        let claims_bytes = jws::decode_unverified_claims(token).map_err(map_jws)?;
        let unverified: Claims = serde_json::from_slice(&claims_bytes)
            .map_err(|e| CertificateError::Malformed(format!("claims: {e}")))?;
        let trusted = self
            .issuers
            .get(&unverified.iss)
            .ok_or(CertificateError::UnknownIssuer)?;
        let kid = header.kid.unwrap_or_default();
        let key = trusted
            .keys
            .read()
            .ok()
            .and_then(|keys| keys.get(&kid).copied())
            .ok_or(CertificateError::UnknownKey)?;
        let verified_bytes = jws::verify(token, &key).map_err(map_jws)?;
        let claims: Claims = serde_json::from_slice(&verified_bytes)
            .map_err(|e| CertificateError::Malformed(format!("claims: {e}")))?;
        let skew = trusted.config.allowed_clock_skew_seconds.max(0);
        if !claims.aud.contains(&trusted.config.audience) {
            return Err(CertificateError::WrongAudience);
        }
        if claims.exp + skew < now_s {
            return Err(CertificateError::Expired);
        }
        if claims.nbf.is_some_and(|nbf| nbf - skew > now_s)
            || claims.iat.is_some_and(|iat| iat - skew > now_s)
        {
            return Err(CertificateError::NotYetValid);
        }
        let report_type = match claims.report_type.as_deref() {
            Some("confirmed") => Some(ReportType::ConfirmedTest),
            Some("likely") => Some(ReportType::ConfirmedClinicalDiagnosis),
            Some("user-report") | Some("self-report") => Some(ReportType::SelfReport),
            Some("negative") => None,
            _ => return Err(CertificateError::UnsupportedReportType),
        };
        let tekmac = base64::engine::general_purpose::STANDARD
            .decode(claims.tekmac.as_bytes())
            .map_err(|_| CertificateError::Malformed("tekmac is not base64".into()))?;
        let certificate_id = claims.jti.clone().unwrap_or_else(|| {
            let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
            mimamori_crypto::hex::encode(&digest.as_ref()[..16])
        });
        Ok(VerifiedCertificate {
            issuer: claims.iss,
            report_type,
            symptom_onset_interval: claims.symptom_onset_interval.or(claims.test_date_interval),
            tekmac,
            certificate_id,
        })
    }

    /// Like [`CertificateVerifier::verify`], but on an unknown key fetches the issuer's JWKS
    /// once (rotation) with `fetch` and retries.
    pub async fn verify_refreshing<F, Fut>(
        &self,
        token: &str,
        now_s: i64,
        fetch: F,
    ) -> Result<VerifiedCertificate, CertificateError>
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Option<JwkSet>>,
    {
        match self.verify(token, now_s) {
            Err(CertificateError::UnknownKey) => {
                let issuer = jws::decode_unverified_claims(token)
                    .ok()
                    .and_then(|c| serde_json::from_slice::<Claims>(&c).ok())
                    .map(|c| c.iss);
                let Some(issuer) = issuer else {
                    return Err(CertificateError::UnknownKey);
                };
                let Some(url) = self.may_refresh_for_unknown_key(&issuer) else {
                    return Err(CertificateError::UnknownKey);
                };
                if let Some(set) = fetch(url).await {
                    self.install_jwks(&issuer, &set);
                }
                self.verify(token, now_s)
            }
            other => other,
        }
    }
}

fn map_jws(error: JwsError) -> CertificateError {
    match error {
        JwsError::UnsupportedAlgorithm(_) => CertificateError::UnsupportedAlgorithm,
        JwsError::BadSignature | JwsError::InvalidKey => CertificateError::BadSignature,
        other => CertificateError::Malformed(other.to_string()),
    }
}
