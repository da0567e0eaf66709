//! The key server's part of `/openapi.json`.

use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// One key of a publish request (documentation schema of [`crate::model::publish::ExposureKeyJson`]).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ExposureKey {
    /// base64 of the 16 key bytes.
    key: String,
    /// First ENIntervalNumber of validity.
    rolling_start_number: u32,
    /// Intervals of validity, 1–144 (default 144).
    rolling_period: Option<u32>,
    /// 0–8; 0 is backfilled from the report type.
    transmission_risk: Option<u8>,
}

/// `POST /v1/publish` request body (Google exposure-notifications-server v1).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PublishRequestSchema {
    /// The keys (at most `key_server.max_keys_on_publish`).
    temporary_exposure_keys: Vec<ExposureKey>,
    /// Must match the certificate's issuer when given.
    #[serde(rename = "healthAuthorityID")]
    health_authority_id: Option<String>,
    /// The verification certificate (ES256 JWT).
    verification_payload: String,
    /// base64 of the HMAC key the certificate's tekmac was computed with.
    hmac_key: String,
    /// Symptom onset interval, used when the certificate has none.
    symptom_onset_interval: Option<u32>,
    /// Whether the user travelled.
    traveler: Option<bool>,
    /// Token from an earlier publish, to revise its keys.
    revision_token: Option<String>,
    /// Ignored.
    padding: Option<String>,
}

/// `POST /v1/publish` response body; errors carry `error` and `code` instead. Always padded
/// to the same size.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PublishResponseSchema {
    /// Token for a later revision of these keys.
    revision_token: Option<String>,
    /// Keys accepted.
    inserted_exposures: Option<u32>,
    /// Per-key notes when some keys were dropped (`code` is then `partial_failure`).
    warnings: Option<Vec<String>>,
    /// Human-readable error.
    error: Option<String>,
    /// Stable error code.
    code: Option<String>,
    /// Random filler.
    padding: String,
}

/// One key of a COCOA diagnosis request.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CocoaKeySchema {
    /// base64 key bytes.
    key_data: String,
    /// Start interval.
    rolling_start_number: u32,
    /// Period (default 144).
    rolling_period: Option<u32>,
    /// Ignored (recomputed).
    transmission_risk: Option<u8>,
    /// Ignored (from the case).
    report_type: Option<u8>,
    /// Ignored (recomputed from the case's onset).
    days_since_onset_of_symptoms: Option<i32>,
}

/// `PUT /api/v3/diagnosis` request body (COCOA).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CocoaDiagnosisSchema {
    /// Whether the user had symptoms.
    has_symptom: Option<bool>,
    /// Onset or test date, RFC 3339.
    onset_of_symptom_or_test_date: Option<String>,
    /// The keys.
    keys: Vec<CocoaKeySchema>,
    /// Regions (MCC), default the server's region.
    regions: Option<Vec<String>>,
    /// The processing number issued by the health center.
    verification_payload: String,
    /// Ignored.
    padding: Option<String>,
}

/// One entry of `list.json`.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct CocoaListEntry {
    /// Region.
    region: String,
    /// Absolute URL of the zip.
    url: String,
    /// Creation time, epoch milliseconds.
    created: i64,
}

/// A JSON error.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct ErrorSchema {
    /// Human-readable message.
    error: String,
    /// Stable code.
    code: String,
}

#[utoipa::path(post, path = "/v1/publish", tag = "key-server",
    request_body = PublishRequestSchema,
    params(("X-Chaff" = Option<String>, Header, description = "Chaff request: answered like a real one, nothing stored")),
    responses(
        (status = 200, description = "Stored (or partially stored: code partial_failure)", body = PublishResponseSchema),
        (status = 400, description = "Validation failed", body = PublishResponseSchema),
        (status = 401, description = "Certificate refused", body = PublishResponseSchema),
        (status = 413, description = "Body over 64,000 bytes", body = ErrorSchema),
        (status = 503, description = "Key store unavailable; nothing stored", body = PublishResponseSchema)))]
#[allow(dead_code)]
fn publish() {}

#[utoipa::path(put, path = "/api/v3/diagnosis", tag = "key-server",
    request_body = CocoaDiagnosisSchema,
    responses(
        (status = 204, description = "Stored"),
        (status = 400, description = "Validation failed, unknown or expired processing number", body = PublishResponseSchema),
        (status = 409, description = "Processing number already used", body = PublishResponseSchema),
        (status = 413, description = "Body too large", body = ErrorSchema),
        (status = 503, description = "Processing-number check or key store unavailable", body = PublishResponseSchema)))]
#[allow(dead_code)]
fn cocoa_diagnosis() {}

#[utoipa::path(get, path = "/v1/exports/index.txt", tag = "key-server",
    responses((status = 200, description = "Live export files, oldest first, one relative path per line", content_type = "text/plain")))]
#[allow(dead_code)]
fn index_txt() {}

#[utoipa::path(get, path = "/v1/exports/{region}/{file}", tag = "key-server",
    params(("region" = String, Path), ("file" = String, Path)),
    responses(
        (status = 200, description = "Export zip (immutable; ETag = SHA-256)", content_type = "application/zip"),
        (status = 304, description = "Not modified"),
        (status = 404, description = "Not a listed file", body = ErrorSchema)))]
#[allow(dead_code)]
fn download() {}

#[utoipa::path(get, path = "/c19r/{region}/list.json", tag = "key-server",
    params(("region" = String, Path)),
    responses(
        (status = 200, description = "COCOA listing", body = Vec<CocoaListEntry>),
        (status = 404, description = "Unknown region", body = ErrorSchema)))]
#[allow(dead_code)]
fn cocoa_list() {}

/// The key server's OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(publish, cocoa_diagnosis, index_txt, download, cocoa_list))]
pub struct KeyServerDoc;

/// The key server's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    KeyServerDoc::openapi()
}
