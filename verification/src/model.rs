//! Pure rules of the verification protocol: processing numbers, test types, claims of tokens
//! and certificates, and the typed errors with their stable codes.

use mimamori_cases::model::Date;
use ring::rand::SecureRandom as _;
use serde::{Deserialize, Serialize};

/// The test type a code carries (Google verification protocol names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestType {
    /// A confirmed test result.
    Confirmed,
    /// A clinical diagnosis.
    Likely,
    /// A negative test.
    Negative,
}

impl TestType {
    /// Protocol name.
    pub fn as_str(self) -> &'static str {
        match self {
            TestType::Confirmed => "confirmed",
            TestType::Likely => "likely",
            TestType::Negative => "negative",
        }
    }

    /// Parses a protocol name.
    pub fn parse(s: &str) -> Option<TestType> {
        match s {
            "confirmed" => Some(TestType::Confirmed),
            "likely" => Some(TestType::Likely),
            "negative" => Some(TestType::Negative),
            _ => None,
        }
    }
}

/// Why a verification step failed; each has a stable code (Google's `errorCode` names
/// where they exist).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The code is malformed (wrong length or characters).
    #[error("the code is malformed")]
    CodeInvalid,
    /// No such code.
    #[error("the code is unknown")]
    CodeNotFound,
    /// The code's validity ended (or it was replaced by a newer one).
    #[error("the code has expired; ask the health center for a new one")]
    CodeExpired,
    /// The code was already used.
    #[error("the code was already used")]
    CodeAlreadyUsed,
    /// The test type is not accepted by the client.
    #[error("the test type is not supported by this client")]
    UnsupportedTestType,
    /// The token is malformed, tampered with or signed by another key.
    #[error("the token is invalid")]
    TokenInvalid,
    /// The token's header names an algorithm other than ES256 (e.g. `none`).
    #[error("the token's algorithm is not accepted")]
    TokenAlgorithm,
    /// The token's `kid` is unknown.
    #[error("the token's signing key is unknown")]
    TokenKidUnknown,
    /// The token is not valid yet (issued in the future beyond the tolerated clock skew).
    #[error("the token is not valid yet; check the device clock")]
    TokenNotYetValid,
    /// The token expired.
    #[error("the token has expired")]
    TokenExpired,
    /// The token was already exchanged for a certificate.
    #[error("the token was already used")]
    TokenAlreadyUsed,
    /// `ekeyhmac` is not base64 of 32 bytes.
    #[error("ekeyhmac must be base64 of a 32-byte HMAC-SHA256")]
    HmacInvalid,
    /// A date is malformed, in the future or too old.
    #[error("{0}")]
    InvalidDate(&'static str),
}

impl VerifyError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::CodeInvalid => "code_invalid",
            VerifyError::CodeNotFound => "code_not_found",
            VerifyError::CodeExpired => "code_expired",
            VerifyError::CodeAlreadyUsed => "code_already_used",
            VerifyError::UnsupportedTestType => "unsupported_test_type",
            VerifyError::TokenInvalid => "token_invalid",
            VerifyError::TokenAlgorithm => "token_algorithm_unsupported",
            VerifyError::TokenKidUnknown => "token_kid_unknown",
            VerifyError::TokenNotYetValid => "token_not_yet_valid",
            VerifyError::TokenExpired => "token_expired",
            VerifyError::TokenAlreadyUsed => "token_already_used",
            VerifyError::HmacInvalid => "hmac_invalid",
            VerifyError::InvalidDate(_) => "invalid_date",
        }
    }
}

fn random_from_alphabet(
    alphabet: &[u8],
    length: usize,
) -> Result<String, ring::error::Unspecified> {
    let rng = ring::rand::SystemRandom::new();
    // Rejection sampling keeps every symbol equally likely.
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(length);
    let mut buffer = [0u8; 64];
    while out.len() < length {
        rng.fill(&mut buffer)?;
        for &b in &buffer {
            if usize::from(b) < limit && out.len() < length {
                out.push(alphabet[usize::from(b) % alphabet.len()] as char);
            }
        }
    }
    Ok(out)
}

/// A random numeric processing number of `length` digits.
pub fn new_code(length: usize) -> Result<String, ring::error::Unspecified> {
    random_from_alphabet(b"0123456789", length)
}

/// A random long code of `length` characters `[a-z0-9]`.
pub fn new_long_code(length: usize) -> Result<String, ring::error::Unspecified> {
    random_from_alphabet(b"abcdefghijklmnopqrstuvwxyz0123456789", length)
}

/// Whether `code` has the form of a short or long code of the configured lengths.
pub fn code_well_formed(code: &str, short_length: usize, long_length: usize) -> bool {
    (code.len() == short_length && code.bytes().all(|b| b.is_ascii_digit()))
        || (long_length > 0
            && code.len() == long_length
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// Checks an optional date: `YYYY-MM-DD`, not in the future, at most `max_age_days` old.
pub fn check_date(
    value: Option<&str>,
    today: Date,
    max_age_days: i64,
) -> Result<Option<Date>, VerifyError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let date = Date::parse(value).ok_or(VerifyError::InvalidDate("dates must be YYYY-MM-DD"))?;
    if date > today {
        return Err(VerifyError::InvalidDate("date is in the future"));
    }
    if today.days - date.days > max_age_days {
        return Err(VerifyError::InvalidDate("date is too old"));
    }
    Ok(Some(date))
}

/// RFC 3339 UTC timestamp (seconds precision) of Unix milliseconds.
pub fn rfc3339(ms: i64) -> String {
    let seconds = ms.div_euclid(1000);
    let date = Date {
        days: seconds.div_euclid(86_400),
    };
    let of_day = seconds.rem_euclid(86_400);
    format!(
        "{date}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        (of_day / 60) % 60,
        of_day % 60
    )
}

/// Claims of a verification token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Token id (single use).
    pub jti: String,
    /// `testtype.symptomDate.testDate`.
    pub sub: String,
    /// Expiry (Unix seconds).
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
}

/// Claims of a verification certificate (the Google verification protocol's format).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateClaims {
    /// Report type: `confirmed`, `likely` or `negative`.
    #[serde(rename = "reportType")]
    pub report_type: String,
    /// Symptom onset (or test date) as an ENIntervalNumber at UTC midnight.
    #[serde(rename = "symptomOnsetInterval")]
    pub symptom_onset_interval: u32,
    /// Transmission-risk overrides (always empty).
    pub trisk: Vec<serde_json::Value>,
    /// base64 HMAC-SHA256 of the keys (from the app's `ekeyhmac`).
    pub tekmac: String,
    /// Certificate id (the key server reports publishes under it).
    pub jti: String,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at (now − 5 s).
    pub iat: i64,
    /// Not before (now − 5 s).
    pub nbf: i64,
    /// Expiry.
    pub exp: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_configured_form() {
        for _ in 0..50 {
            let code = new_code(8).unwrap();
            assert!(code_well_formed(&code, 8, 16), "{code}");
            let long = new_long_code(16).unwrap();
            assert!(code_well_formed(&long, 8, 16), "{long}");
        }
        assert!(!code_well_formed("1234567", 8, 16));
        assert!(!code_well_formed("1234567a", 8, 16));
        assert!(!code_well_formed("ABCDEFGHIJKLMNOP", 8, 16));
    }

    #[test]
    fn dates_and_timestamps() {
        let today = Date::parse("2026-11-21").unwrap();
        assert!(check_date(Some("2026-11-22"), today, 28).is_err());
        assert!(check_date(Some("2026-10-01"), today, 28).is_err());
        assert_eq!(
            check_date(Some("2026-11-01"), today, 28).unwrap(),
            Date::parse("2026-11-01")
        );
        assert_eq!(check_date(None, today, 28).unwrap(), None);
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20Z");
    }
}
