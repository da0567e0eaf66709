//! The verification service's part of `/openapi.json` (documentation schemas; the handlers
//! are in [`crate::api`]).

use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// Error body: `{error, code, errorCode, reason?}` with upstream's codes
/// (`unparsable_request`, `code_invalid`, `code_expired`, `unsupported_test_type`,
/// `invalid_test_type`, `token_invalid`, `token_expired`, `hmac_invalid`, `invalid_date`,
/// `missing_nonce`, `missing_phone`, `phone_number_invalid`, `sms_failure`,
/// `code_not_found`, `rate_limited`, …); `reason` is the finer cause where one code covers
/// several (`code_not_found`, `code_already_used`, `token_already_used`, …).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct VerificationErrorSchema {
    /// Message.
    error: String,
    /// Stable code.
    code: String,
    /// The same code (Google's field name).
    #[serde(rename = "errorCode")]
    error_code: String,
    /// The precise cause, when `code` covers several.
    reason: Option<String>,
}

/// `POST /api/user-report` request (Google's Android app: `DiagnosisAttestor`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct UserReportSchema {
    /// Where the code is sent (E.164, or national digits).
    phone: String,
    /// `YYYY-MM-DD`.
    test_date: Option<String>,
    /// `YYYY-MM-DD`.
    symptom_date: Option<String>,
    /// Minutes east of UTC (accepted, unused).
    tz_offset: Option<i64>,
    /// base64 of 256 random bytes; verify must send it again.
    nonce: String,
}

/// `POST /api/user-report` response (empty values when the phone reported recently).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct UserReportedSchema {
    /// RFC 1123 in UTC.
    expires_at: String,
    /// Unix seconds.
    expires_at_timestamp: i64,
    /// 1–2 KiB of random base64.
    padding: String,
}

/// `{uuid}` of an issued number.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct UuidSchema {
    /// The `uuid` the issue API returned.
    uuid: String,
}

/// State of an issued number.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CodeStatusSchema {
    /// Whether the app used it (absent on `/api/expirecode`).
    claimed: Option<bool>,
    /// Unix seconds.
    expires_at_timestamp: i64,
    /// Unix seconds.
    long_expires_at_timestamp: i64,
}

/// `POST /api/batch-issue` request.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct BatchIssueSchema {
    /// 1 to 10 issue requests.
    codes: Vec<IssueSchema>,
}

/// Issue request (Google `/api/issue` plus `caseId`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct IssueSchema {
    /// `confirmed` (default), `likely`, `negative`.
    test_type: Option<String>,
    /// `YYYY-MM-DD`, at most 28 days old (default: the case's onset date).
    symptom_date: Option<String>,
    /// `YYYY-MM-DD` (default: the case's diagnosis date).
    test_date: Option<String>,
    /// The case (required on `/api/issue`; the path gives it otherwise).
    case_id: Option<String>,
}

/// Optional choices when a health center issues a number for one of its cases (the path
/// names the case).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
pub struct CaseIssueSchema {
    /// Default `confirmed`.
    test_type: Option<TestTypeSchema>,
    /// `YYYY-MM-DD`, at most 28 days old (default: the case's onset date).
    #[schema(format = Date)]
    symptom_date: Option<String>,
    /// `YYYY-MM-DD` (default: the case's diagnosis date).
    #[schema(format = Date)]
    test_date: Option<String>,
}

/// A test type.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum TestTypeSchema {
    /// A positive test.
    Confirmed,
    /// A clinical diagnosis.
    Likely,
    /// A negative test.
    Negative,
}

/// An issued processing number.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct IssuedSchema {
    /// Number id.
    uuid: String,
    /// Case.
    case_id: String,
    /// The number (8 digits by default; shown once).
    code: String,
    /// RFC 1123 in UTC (`Sat, 21 Nov 2026 00:00:00 UTC`), as upstream.
    expires_at: String,
    /// RFC 3339.
    expires_at_rfc3339: String,
    /// Unix seconds.
    expires_at_timestamp: i64,
    /// Long code for SMS links.
    long_code: Option<String>,
    /// RFC 1123 in UTC.
    long_expires_at: String,
    /// RFC 3339.
    long_expires_at_rfc3339: String,
    /// Unix seconds.
    long_expires_at_timestamp: i64,
    /// Test type.
    test_type: String,
    /// Symptom date.
    symptom_date: Option<String>,
    /// Test date.
    test_date: Option<String>,
}

/// `POST /api/verify` request.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct VerifySchema {
    /// The processing number or long code.
    #[schema(min_length = 1)]
    code: String,
    /// Test types the app accepts (each implies the stronger ones; empty = all).
    accept: Option<Vec<String>>,
    /// The self-report nonce (base64), for a `user-report` code.
    nonce: Option<String>,
}

/// `POST /api/verify` response.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct VerifiedSchema {
    /// Test type.
    testtype: String,
    /// Symptom date.
    #[serde(rename = "symptomDate")]
    symptom_date: Option<String>,
    /// Test date.
    #[serde(rename = "testDate")]
    test_date: Option<String>,
    /// ES256 JWT, single use, 24 h.
    token: String,
}

/// `POST /api/certificate` request.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct CertificateRequestSchema {
    /// The verification token.
    #[schema(min_length = 1)]
    token: String,
    /// base64 HMAC-SHA256 of the keys (32 bytes: 44 characters).
    #[schema(min_length = 44, max_length = 44)]
    ekeyhmac: String,
}

/// `POST /api/certificate` response.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct CertificateSchema {
    /// ES256 JWT (15 min) with `reportType`, `symptomOnsetInterval`, `trisk`, `tekmac`, `jti`.
    certificate: String,
}

/// Result of revoking a case.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct RevokedSchema {
    /// Certificates revoked.
    certificates: usize,
    /// Keys revoked by the key server.
    keys_revoked: Option<u64>,
}

#[utoipa::path(post, path = "/api/cases/{id}/processing-number", tag = "verification",
    params(("id" = String, Path)), request_body(content = CaseIssueSchema, description = "Optional"),
    responses((status = 201, body = IssuedSchema), (status = 404, body = VerificationErrorSchema),
              (status = 409, description = "Case not accepted or revoked", body = VerificationErrorSchema)))]
#[allow(dead_code)]
fn issue_for_case() {}

#[utoipa::path(post, path = "/api/cases/{id}/revoke", tag = "verification", params(("id" = String, Path)),
    responses((status = 200, body = RevokedSchema), (status = 404, body = VerificationErrorSchema)))]
#[allow(dead_code)]
fn revoke() {}

#[utoipa::path(post, path = "/api/issue", tag = "verification", request_body = IssueSchema,
    params(("X-API-Key" = String, Header, description = "Admin API key")),
    responses((status = 200, body = IssuedSchema), (status = 400, body = VerificationErrorSchema), (status = 401, body = VerificationErrorSchema), (status = 404, body = VerificationErrorSchema)))]
#[allow(dead_code)]
fn issue() {}

#[utoipa::path(post, path = "/api/verify", tag = "verification", request_body = VerifySchema,
    params(("X-API-Key" = String, Header, description = "Device API key")),
    responses((status = 200, body = VerifiedSchema), (status = 400, body = VerificationErrorSchema),
              (status = 401, body = VerificationErrorSchema), (status = 429, description = "Too many failures; see Retry-After", body = VerificationErrorSchema)))]
#[allow(dead_code)]
fn verify() {}

#[utoipa::path(post, path = "/api/certificate", tag = "verification", request_body = CertificateRequestSchema,
    params(("X-API-Key" = String, Header, description = "Device API key")),
    responses((status = 200, body = CertificateSchema), (status = 400, body = VerificationErrorSchema),
              (status = 401, body = VerificationErrorSchema), (status = 429, body = VerificationErrorSchema)))]
#[allow(dead_code)]
fn certificate() {}

/// Self-report of a positive test: sends a code by SMS.
///
/// Cover traffic: with a non-empty `X-Chaff` header (as on `/api/verify` and
/// `/api/certificate`) the answer is 200 with only `padding`, after the API-key check and
/// before the body is read; nothing is done. (Described here rather than as a parameter: a
/// chaff answer does not depend on the body.)
#[utoipa::path(post, path = "/api/user-report", tag = "verification", request_body = UserReportSchema,
    params(("X-API-Key" = String, Header, description = "Device API key")),
    responses((status = 200, body = UserReportedSchema), (status = 400, body = VerificationErrorSchema),
              (status = 401, body = VerificationErrorSchema), (status = 429, body = VerificationErrorSchema)))]
#[allow(dead_code)]
fn user_report() {}

#[utoipa::path(post, path = "/api/batch-issue", tag = "verification", request_body = BatchIssueSchema,
    params(("X-API-Key" = String, Header, description = "Admin API key")),
    responses((status = 200, description = "`{codes: [issued]}`"), (status = 400, description = "`{codes: [issued or {error, errorCode}], error, errorCode}` (first failure)", body = VerificationErrorSchema), (status = 401, body = VerificationErrorSchema)))]
#[allow(dead_code)]
fn batch_issue() {}

#[utoipa::path(post, path = "/api/checkcodestatus", tag = "verification", request_body = UuidSchema,
    params(("X-API-Key" = String, Header, description = "Admin API key")),
    responses((status = 200, body = CodeStatusSchema), (status = 401, body = VerificationErrorSchema), (status = 404, description = "code_not_found (also outside the key's jurisdiction)", body = VerificationErrorSchema)))]
#[allow(dead_code)]
fn check_code_status() {}

#[utoipa::path(post, path = "/api/expirecode", tag = "verification", request_body = UuidSchema,
    params(("X-API-Key" = String, Header, description = "Admin API key")),
    responses((status = 200, body = CodeStatusSchema), (status = 401, body = VerificationErrorSchema), (status = 404, body = VerificationErrorSchema), (status = 409, description = "Already claimed", body = VerificationErrorSchema)))]
#[allow(dead_code)]
fn expire_code() {}

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "verification",
    responses((status = 200, description = "`{keys: [{kty, crv, x, y, kid, alg, use}]}` of every signing key")))]
#[allow(dead_code)]
fn jwks() {}

/// The verification service's OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(
    issue_for_case,
    revoke,
    issue,
    batch_issue,
    check_code_status,
    expire_code,
    verify,
    certificate,
    user_report,
    jwks
))]
pub struct VerificationDoc;

/// The verification service's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    VerificationDoc::openapi()
}

#[cfg(test)]
mod tests {
    #[test]
    fn documents_every_route() {
        let document = super::openapi();
        for path in [
            "/api/cases/{id}/processing-number",
            "/api/cases/{id}/revoke",
            "/api/issue",
            "/api/batch-issue",
            "/api/checkcodestatus",
            "/api/expirecode",
            "/api/user-report",
            "/api/verify",
            "/api/certificate",
            "/.well-known/jwks.json",
        ] {
            assert!(document.paths.paths.contains_key(path), "{path}");
        }
    }
}
