//! Pure rules of the verification protocol: processing numbers, test types, claims of tokens
//! and certificates, and the typed errors with their stable codes.

use mimamori_cases::model::Date;
use ring::rand::SecureRandom as _;
use serde::{Deserialize, Serialize};

/// The test type a code carries (Google verification protocol names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TestType {
    /// A confirmed test result.
    Confirmed,
    /// A clinical diagnosis.
    Likely,
    /// A negative test.
    Negative,
    /// A self-reported positive test (the app's `POST /api/user-report` flow).
    UserReport,
}

impl TestType {
    /// Every test type, in protocol order.
    pub const ALL: [TestType; 4] = [
        TestType::Confirmed,
        TestType::Likely,
        TestType::Negative,
        TestType::UserReport,
    ];

    /// Protocol name.
    pub fn as_str(self) -> &'static str {
        match self {
            TestType::Confirmed => "confirmed",
            TestType::Likely => "likely",
            TestType::Negative => "negative",
            TestType::UserReport => "user-report",
        }
    }

    /// Parses a protocol name (exact, lower case).
    pub fn parse(s: &str) -> Option<TestType> {
        TestType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The types a client that lists this one in `accept` can handle, as upstream's
    /// `GetAcceptedTestTypes` (`pkg/api/util.go`): a client that understands a weaker
    /// result also understands the stronger ones.
    fn implied(self) -> &'static [TestType] {
        match self {
            TestType::Confirmed => &[TestType::Confirmed],
            TestType::Likely => &[TestType::Confirmed, TestType::Likely],
            TestType::Negative => &[TestType::Confirmed, TestType::Likely, TestType::Negative],
            TestType::UserReport => &[TestType::Confirmed, TestType::UserReport],
        }
    }
}

/// The set of test types a verify request's `accept` list admits: empty or absent means
/// all four; each entry (case-insensitive) adds itself and the types it implies; an unknown
/// entry is [`VerifyError::InvalidTestType`].
pub fn accepted_test_types(accept: Option<&[String]>) -> Result<Vec<TestType>, VerifyError> {
    let accept = accept.unwrap_or_default();
    if accept.is_empty() {
        return Ok(TestType::ALL.to_vec());
    }
    let mut accepted = Vec::new();
    for entry in accept {
        let test_type =
            TestType::parse(&entry.to_ascii_lowercase()).ok_or(VerifyError::InvalidTestType)?;
        for implied in test_type.implied() {
            if !accepted.contains(implied) {
                accepted.push(*implied);
            }
        }
    }
    Ok(accepted)
}

/// Why a verification step failed. [`VerifyError::code`] is the `errorCode` Google's
/// verification server sends for the same condition (the apps map it to messages);
/// [`VerifyError::reason`] is the finer cause for metrics and operators.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The request body is not the expected JSON.
    #[error("{0}")]
    Unparsable(String),
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
    /// The code's test type is not in the client's `accept` set (the code stays unused).
    #[error("the code's test type is not accepted by this client")]
    UnsupportedTestType,
    /// A health authority asked to issue a type it may not (self-reports come only from
    /// `POST /api/user-report`).
    #[error("this test type cannot be issued here")]
    NotIssuable,
    /// An `accept` entry or a `testType` is not a protocol test type.
    #[error("unknown test type; use confirmed, likely, negative or user-report")]
    InvalidTestType,
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
    /// A user report without a nonce.
    #[error("nonce is required: base64 of 256 random bytes")]
    MissingNonce,
    /// A user report without a phone number.
    #[error("phone is required")]
    MissingPhone,
    /// A phone number that is not E.164 (or national digits).
    #[error("phone is not a valid phone number")]
    PhoneInvalid,
}

impl VerifyError {
    /// The `errorCode` upstream sends for this condition (`pkg/api/api.go`,
    /// `verifyapi/verify.go`, `certapi/certificate.go` at 5a27cc44).
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Unparsable(_) => "unparsable_request",
            VerifyError::CodeInvalid | VerifyError::CodeNotFound | VerifyError::CodeAlreadyUsed => {
                "code_invalid"
            }
            VerifyError::CodeExpired => "code_expired",
            VerifyError::UnsupportedTestType | VerifyError::NotIssuable => "unsupported_test_type",
            VerifyError::InvalidTestType => "invalid_test_type",
            VerifyError::TokenInvalid
            | VerifyError::TokenAlgorithm
            | VerifyError::TokenKidUnknown
            | VerifyError::TokenNotYetValid => "token_invalid",
            VerifyError::TokenExpired | VerifyError::TokenAlreadyUsed => "token_expired",
            VerifyError::HmacInvalid => "hmac_invalid",
            VerifyError::InvalidDate(_) => "invalid_date",
            VerifyError::MissingNonce => "missing_nonce",
            VerifyError::MissingPhone => "missing_phone",
            VerifyError::PhoneInvalid => "phone_number_invalid",
        }
    }

    /// The precise cause (metric label and `reason` in the error body).
    pub fn reason(&self) -> &'static str {
        match self {
            VerifyError::CodeInvalid => "code_malformed",
            VerifyError::CodeNotFound => "code_not_found",
            VerifyError::CodeAlreadyUsed => "code_already_used",
            VerifyError::NotIssuable => "test_type_not_issuable",
            VerifyError::TokenAlgorithm => "token_algorithm_unsupported",
            VerifyError::TokenKidUnknown => "token_kid_unknown",
            VerifyError::TokenNotYetValid => "token_not_yet_valid",
            VerifyError::TokenAlreadyUsed => "token_already_used",
            other => other.code(),
        }
    }

    /// The HTTP status: 400 for every protocol error. Upstream's server answers a code the
    /// client does not accept with 412, but Google's Android app reads `errorCode` only from
    /// a 400 (`UploadError.fromVolleyError` at e44603b3) and shows a generic error for a 412;
    /// 400 makes it show "unsupported test type".
    pub fn status(&self) -> u16 {
        400
    }

    /// Whether this failure is a guess at a code or token (counted by the failure limits);
    /// malformed requests and dates are the client's bugs, not guesses.
    pub fn is_guess(&self) -> bool {
        matches!(
            self,
            VerifyError::CodeInvalid
                | VerifyError::CodeNotFound
                | VerifyError::CodeExpired
                | VerifyError::CodeAlreadyUsed
                | VerifyError::TokenInvalid
                | VerifyError::TokenAlgorithm
                | VerifyError::TokenKidUnknown
                | VerifyError::TokenNotYetValid
                | VerifyError::TokenExpired
                | VerifyError::TokenAlreadyUsed
        )
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

/// RFC 1123 timestamp of Unix milliseconds in UTC, as Go's `time.RFC1123` writes it for the
/// upstream issue API (`Mon, 02 Jan 2006 15:04:05 UTC`).
pub fn rfc1123(ms: i64) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let seconds = ms.div_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let iso = Date { days }.to_string();
    let mut parts = iso.split('-');
    let year = parts.next().unwrap_or("1970");
    let month: usize = parts.next().and_then(|m| m.parse().ok()).unwrap_or(1);
    let day = parts.next().unwrap_or("01");
    let of_day = seconds.rem_euclid(86_400);
    format!(
        "{}, {day} {} {year} {:02}:{:02}:{:02} UTC",
        WEEKDAYS[usize::try_from(days.rem_euclid(7)).unwrap_or(0)],
        MONTHS[month.clamp(1, 12) - 1],
        of_day / 3600,
        (of_day / 60) % 60,
        of_day % 60
    )
}

/// Random `padding` for a response, as upstream's `api.Padding` (1,024–2,047 random bytes,
/// base64), so that success responses do not reveal their kind by size.
pub fn response_padding() -> String {
    use base64::Engine as _;
    let rng = ring::rand::SystemRandom::new();
    let mut length = [0u8; 2];
    let _ = rng.fill(&mut length);
    let size = 1024 + usize::from(u16::from_le_bytes(length) % 1024);
    let mut bytes = vec![0u8; size];
    let _ = rng.fill(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
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
    /// Report type: `confirmed`, `likely`, `negative` or `user-report`.
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
        // Go: time.Unix(1700000000, 0).UTC().Format(time.RFC1123)
        assert_eq!(rfc1123(1_700_000_000_123), "Tue, 14 Nov 2023 22:13:20 UTC");
        assert_eq!(rfc1123(0), "Thu, 01 Jan 1970 00:00:00 UTC");
    }

    #[test]
    fn accept_sets_follow_upstream() {
        let set = |list: &[&str]| {
            let list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
            accepted_test_types(Some(&list))
        };
        use TestType::*;
        assert_eq!(accepted_test_types(None).unwrap(), TestType::ALL.to_vec());
        assert_eq!(set(&[]).unwrap(), TestType::ALL.to_vec());
        assert_eq!(set(&["confirmed"]).unwrap(), vec![Confirmed]);
        assert_eq!(set(&["likely"]).unwrap(), vec![Confirmed, Likely]);
        assert_eq!(
            set(&["negative"]).unwrap(),
            vec![Confirmed, Likely, Negative]
        );
        assert_eq!(set(&["user-report"]).unwrap(), vec![Confirmed, UserReport]);
        assert_eq!(
            set(&["CONFIRMED", "user-report"]).unwrap(),
            vec![Confirmed, UserReport]
        );
        assert_eq!(
            set(&["confirmed", "likely", "negative", "user-report"]).unwrap(),
            TestType::ALL.to_vec()
        );
        assert_eq!(set(&["positive"]), Err(VerifyError::InvalidTestType));
    }
}
