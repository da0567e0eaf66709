//! The key server's part of `/openapi.json`.

use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// One key of a publish request (documentation schema of [`crate::model::publish::ExposureKeyJson`]).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ExposureKey {
    /// base64 of the 16 key bytes.
    #[schema(min_length = 24, max_length = 24)]
    key: String,
    /// First ENIntervalNumber of validity.
    rolling_start_number: u32,
    /// Intervals of validity, 1–144 (default 144).
    #[schema(minimum = 1, maximum = 144)]
    rolling_period: Option<u32>,
    /// 0–8; 0 is backfilled from the report type.
    #[schema(maximum = 8)]
    transmission_risk: Option<u8>,
}

/// `POST /v1/publish` request body (Google exposure-notifications-server v1).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PublishRequestSchema {
    /// The keys (1 to `key_server.max_keys_on_publish`).
    #[schema(min_items = 1)]
    temporary_exposure_keys: Vec<ExposureKey>,
    /// A configured health authority (`key_server.health_authorities`, matched without
    /// regard to case) whose issuers include the certificate's; or the issuer's own name.
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
    /// Notes, e.g. keys dropped for their distance from onset.
    warnings: Option<Vec<String>>,
    /// Human-readable error (for `partial_failure`: the refused keys, go-multierror style).
    error: Option<String>,
    /// Upstream's code: `partial_failure`, `bad_request`, `unknown_health_authority_id`,
    /// `health_authority_verification_certificate_invalid`, `missing_revision_token`,
    /// `invalid_revision_token`, `key_already_revised`, `invalid_report_type_transition`;
    /// COCOA: `processing_number_unknown`, `_expired`, `_already_used`, `_check_unavailable`.
    code: Option<String>,
    /// The precise cause where `code` covers several.
    reason: Option<String>,
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
    /// Ignored (from the processing number's case).
    report_type: Option<u8>,
    /// Ignored (recomputed from the submitted onset date).
    days_since_onset_of_symptoms: Option<i32>,
}

/// `PUT /api/v3/diagnosis` request body (COCOA).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CocoaDiagnosisSchema {
    /// Whether the user had symptoms.
    has_symptom: Option<bool>,
    /// Onset or test date, RFC 3339 with the device's offset (decides days since onset).
    onset_of_symptom_or_test_date: Option<String>,
    /// The keys (at least one).
    #[schema(min_items = 1)]
    keys: Vec<CocoaKeySchema>,
    /// Regions (MCC), default the server's region.
    regions: Option<Vec<String>>,
    /// The processing number issued by the health center (8 digits for COCOA's app).
    #[schema(min_length = 1)]
    verification_payload: String,
    /// One per submission; a retry with it succeeds again.
    #[serde(rename = "idempotency_key")]
    idempotency_key: Option<String>,
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

/// Publishes diagnosis keys under a verification certificate.
///
/// Cover traffic: a request with an `X-Chaff` header (any value) is answered like a real
/// publish, padded to the same size, before the body is read; nothing is validated, stored or
/// counted. (The header is described here rather than as a parameter: a chaff answer does not
/// depend on the body at all, which no request schema can say.)
#[utoipa::path(post, path = "/v1/publish", tag = "key-server",
    request_body = PublishRequestSchema,
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
        (status = 204, description = "Stored (also for a retry with the same idempotency_key)"),
        (status = 400, description = "Validation failed", body = PublishResponseSchema),
        (status = 406, description = "Processing number unknown, expired, replaced or already used (code says which)", body = PublishResponseSchema),
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

/// `PUT /api/v1/event_log` request body (COCOA `V1EventLogRequest`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct EventLogSchema {
    /// One per submission; resends are no-ops.
    #[schema(min_length = 1, max_length = 128)]
    idempotency_key: String,
    /// `android` or `ios`.
    #[schema(min_length = 1)]
    platform: String,
    /// The app's package.
    app_package_name: Option<String>,
    /// Attestation (not checked, not stored).
    device_verification_payload: Option<String>,
    /// `[{hasConsent, epoch, type, subtype, content}]`: `ExposureNotification`/`ExposureNotified`
    /// or `survey`/`survey`, content numbers only.
    event_logs: Vec<serde_json::Value>,
}

#[utoipa::path(put, path = "/api/v1/event_log", tag = "key-server", request_body = EventLogSchema,
    responses(
        (status = 201, description = "Stored (entries without consent dropped)"),
        (status = 400, description = "Not a valid event log", body = ErrorSchema),
        (status = 413, description = "Body over 64 KiB", body = ErrorSchema),
        (status = 503, description = "Store unavailable", body = ErrorSchema)))]
#[allow(dead_code)]
fn cocoa_event_log() {}

#[utoipa::path(get, path = "/api/inquirylog", tag = "key-server",
    params(("x-api-key" = String, Header, description = "The app's inquiry-log key")),
    responses(
        (status = 200, description = "`{sas_token}`: create-only Azure Blob SAS for the container, 10 minutes"),
        (status = 400, description = "Missing or wrong key", body = ErrorSchema),
        (status = 404, description = "Not configured", body = ErrorSchema)))]
#[allow(dead_code)]
fn cocoa_inquiry_log() {}

#[utoipa::path(get, path = "/c19r/exposure_configuration/configuration.json", tag = "key-server",
    responses((status = 200, description = "COCOA's exposure configuration, rendered from `key_server.cocoa.exposure_preset` and `legacy_preset`")))]
#[allow(dead_code)]
fn cocoa_exposure_configuration() {}

#[utoipa::path(get, path = "/c19r/exposure_configuration/risk_calculation_configuration.json", tag = "key-server",
    responses((status = 200, description = "COCOA's risk calculation configuration (the daily threshold rule)")))]
#[allow(dead_code)]
fn cocoa_risk_calculation_configuration() {}

/// The key server's OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(
    publish,
    cocoa_diagnosis,
    cocoa_event_log,
    cocoa_inquiry_log,
    cocoa_exposure_configuration,
    cocoa_risk_calculation_configuration,
    index_txt,
    download,
    cocoa_list
))]
pub struct KeyServerDoc;

/// The key server's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    KeyServerDoc::openapi()
}
