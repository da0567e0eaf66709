//! HTTP handlers of the key server: publish (Google and COCOA), listings and downloads.
//!
//! Privacy: publish responses, successful or not, are padded to the same size, and
//! `X-Chaff` requests get a response shaped like a real one without anything being stored.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use bytes_cache::FileCache;
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Value, json};

use crate::export::Exporter;
use crate::service::{CocoaDiagnosisRequest, KeyServer, PublishError, PublishRequest};
use crate::store::ExportFileRecord;

/// Publish responses are padded to this many bytes (or the next KiB above a longer body).
pub const PUBLISH_RESPONSE_BYTES: usize = 2048;

/// The export listing and when it was read from the database.
type CachedListing = (Instant, Arc<Vec<ExportFileRecord>>);

/// Shared state of the key server's handlers.
#[derive(Clone)]
pub struct KeyServerApi {
    /// Publish logic.
    pub key_server: KeyServer,
    /// Export worker (for the listing's directory and retention).
    pub exporter: Exporter,
    listing: Arc<RwLock<Option<CachedListing>>>,
    files: FileCache,
    /// Largest publish body in bytes.
    pub max_publish_bytes: usize,
    file_counters: (prometheus::IntCounter, prometheus::IntCounter),
    listing_counters: (prometheus::IntCounter, prometheus::IntCounter),
    /// COCOA's `configuration.json` and `risk_calculation_configuration.json`, rendered once.
    cocoa_configuration: Arc<(web::Bytes, web::Bytes)>,
}

impl std::fmt::Debug for KeyServerApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyServerApi").finish_non_exhaustive()
    }
}

/// How long a listing is served from memory before the database is asked again.
const LISTING_TTL: Duration = Duration::from_secs(2);

impl KeyServerApi {
    /// Handler state over the publish logic and the exporter.
    pub fn new(key_server: KeyServer, exporter: Exporter) -> Self {
        let metrics = &key_server.metrics;
        let resolve = |kind: &str| {
            (
                metrics.downloads.with_label_values(&[kind]),
                metrics.download_bytes.with_label_values(&[kind]),
            )
        };
        let file_counters = resolve("file");
        let listing_counters = resolve("listing");
        let cocoa = &key_server.config.cocoa;
        let render =
            |value: Value| web::Bytes::from(serde_json::to_vec(&value).unwrap_or_default());
        // Config::validate refused unknown presets before the server started.
        let cocoa_configuration = match crate::cocoa::CocoaPresets::from_names(
            &cocoa.exposure_preset,
            &cocoa.legacy_preset,
        ) {
            Ok(presets) => (
                render(crate::cocoa::exposure_configuration(&presets)),
                render(crate::cocoa::risk_calculation_configuration(&presets)),
            ),
            Err(_) => (web::Bytes::new(), web::Bytes::new()),
        };
        KeyServerApi {
            cocoa_configuration: Arc::new(cocoa_configuration),
            file_counters,
            listing_counters,
            key_server,
            exporter,
            listing: Arc::new(RwLock::new(None)),
            files: FileCache::new(256 * 1024 * 1024),
            max_publish_bytes: 64_000,
        }
    }

    /// The (requests, bytes) download counters of `kind`, resolved once.
    fn counters(&self, kind: &str) -> &(prometheus::IntCounter, prometheus::IntCounter) {
        if kind == "file" {
            &self.file_counters
        } else {
            &self.listing_counters
        }
    }

    /// Forgets the cached listing (after this replica exported or deleted files).
    pub fn invalidate_listing(&self) {
        if let Ok(mut listing) = self.listing.write() {
            *listing = None;
        }
    }

    async fn listing(&self) -> Result<Arc<Vec<ExportFileRecord>>, HttpResponse> {
        if let Ok(cached) = self.listing.read()
            && let Some((at, files)) = cached.as_ref()
            && at.elapsed() < LISTING_TTL
        {
            return Ok(Arc::clone(files));
        }
        match self.key_server.store.export_files(None).await {
            Ok(files) => {
                let files = Arc::new(files);
                if let Ok(mut listing) = self.listing.write() {
                    *listing = Some((Instant::now(), Arc::clone(&files)));
                }
                Ok(files)
            }
            Err(error) => {
                tracing::error!(error = %error, "cannot read the export listing");
                Err(json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "the export listing is unavailable; retry later",
                ))
            }
        }
    }
}

fn json_error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message, "code": code, "errorCode": code }))
}

/// Registers the key server's routes.
pub fn configure(config: &mut web::ServiceConfig, api: KeyServerApi) {
    let max = api.max_publish_bytes;
    config
        .app_data(web::Data::new(api))
        .service(
            web::resource("/v1/publish")
                .app_data(web::PayloadConfig::new(max))
                .route(web::post().to(publish)),
        )
        .service(
            web::resource("/api/v3/diagnosis")
                .app_data(web::PayloadConfig::new(max))
                .route(web::put().to(cocoa_diagnosis)),
        )
        .service(web::resource("/api/inquirylog").route(web::get().to(cocoa_inquiry_log)))
        .service(
            web::resource("/api/v1/event_log")
                .app_data(web::PayloadConfig::new(EVENT_LOG_MAX_BYTES))
                .route(web::put().to(cocoa_event_log)),
        )
        .service(
            web::resource("/c19r/exposure_configuration/configuration.json")
                .route(web::get().to(cocoa_exposure_configuration)),
        )
        .service(
            web::resource("/c19r/exposure_configuration/risk_calculation_configuration.json")
                .route(web::get().to(cocoa_risk_calculation_configuration)),
        )
        .service(web::resource("/v1/exports/index.txt").route(web::get().to(index_txt)))
        .service(web::resource("/v1/exports/{region}/{file}").route(web::get().to(download)))
        .service(web::resource("/c19r/{region}/list.json").route(web::get().to(cocoa_list)));
}

fn random_padding(length: usize) -> String {
    let mut bytes = vec![0u8; length * 3 / 4 + 3];
    let _ = SystemRandom::new().fill(&mut bytes);
    let mut text = base64::engine::general_purpose::STANDARD.encode(bytes);
    text.truncate(length);
    text
}

/// Serializes `body` with a `padding` member sized so the whole body is
/// [`PUBLISH_RESPONSE_BYTES`] long (or the next KiB above a longer body).
fn padded(status: StatusCode, mut body: Value) -> HttpResponse {
    if let Value::Object(map) = &mut body {
        map.insert("padding".into(), Value::String(String::new()));
    }
    let base = serde_json::to_string(&body).map(|s| s.len()).unwrap_or(0);
    let target = if base <= PUBLISH_RESPONSE_BYTES {
        PUBLISH_RESPONSE_BYTES
    } else {
        base.div_ceil(1024) * 1024
    };
    if let Value::Object(map) = &mut body {
        map.insert(
            "padding".into(),
            Value::String(random_padding(target - base)),
        );
    }
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("x-api-version", "v1"))
        .json(body)
}

/// Cover traffic: a non-empty `X-Chaff` header, as the verification server reads it (and
/// as the reference servers do: an empty header is no chaff).
fn is_chaff(request: &HttpRequest) -> bool {
    request
        .headers()
        .get("x-chaff")
        .is_some_and(|value| !value.as_bytes().is_empty())
}

/// The paths whose every answer is padded to [`PUBLISH_RESPONSE_BYTES`] (success, chaff and
/// every error, also those made before a handler ran), so that an observer of the encrypted
/// traffic cannot tell a real upload from cover traffic or a refused one by its size.
pub fn is_publish_path(path: &str) -> bool {
    matches!(path, "/v1/publish" | "/api/v3/diagnosis")
}

/// A padded JSON error for a publish path, in the shape of every other error
/// (`error`, `code`, `errorCode`); for layers that answer before the handler (body limit,
/// unknown method).
pub fn padded_error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    padded(
        status,
        json!({ "error": message, "code": code, "errorCode": code }),
    )
}

fn publish_error_response(error: &PublishError) -> HttpResponse {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut body = json!({
        "error": error.to_string(),
        "code": error.code(),
        "errorCode": error.code(),
    });
    if let Some(reason) = error.reason() {
        body["reason"] = json!(reason);
    }
    let mut response = padded(status, body);
    if let Some(seconds) = error.retry_after_seconds()
        && let Ok(value) = header::HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn reason_label(error: &PublishError) -> &'static str {
    match error {
        PublishError::Rules(_) => "validation",
        PublishError::Certificate(_)
        | PublishError::MissingCertificate
        | PublishError::InvalidHmacKey
        | PublishError::UnknownHealthAuthority
        | PublishError::IssuerNotAllowed => "certificate",
        PublishError::Revision(_) | PublishError::InvalidRevisionToken => "revision",
        PublishError::ProcessingNumber(_) => "processing_number",
        PublishError::Unavailable => "unavailable",
        _ => "other",
    }
}

fn record_outcome(
    api: &KeyServerApi,
    result: &Result<crate::service::PublishOutcome, PublishError>,
    sent: usize,
) {
    let metrics = &api.key_server.metrics;
    match result {
        Ok(outcome) => {
            let outcome_label = if outcome.warnings.is_empty() {
                "success"
            } else {
                "partial"
            };
            metrics.publishes.with_label_values(&[outcome_label]).inc();
            metrics
                .keys
                .with_label_values(&["accepted", "none"])
                .inc_by(outcome.accepted as u64);
            metrics
                .keys
                .with_label_values(&["rejected", "per_key_rule"])
                .inc_by(sent.saturating_sub(outcome.accepted) as u64);
        }
        Err(error) => {
            let label = if matches!(error, PublishError::Unavailable) {
                "unavailable"
            } else {
                "rejected"
            };
            metrics.publishes.with_label_values(&[label]).inc();
            metrics
                .keys
                .with_label_values(&["rejected", reason_label(error)])
                .inc_by(sent as u64);
        }
    }
}

/// 400 for a body that is not the expected JSON (counted as rejected, padded like the rest).
fn malformed_body(api: &KeyServerApi, error: &serde_json::Error) -> HttpResponse {
    api.key_server
        .metrics
        .publishes
        .with_label_values(&["rejected"])
        .inc();
    padded(
        StatusCode::BAD_REQUEST,
        json!({
            "error": format!("invalid JSON body: {error}"),
            "code": "bad_request",
            "errorCode": "bad_request",
        }),
    )
}

/// `POST /v1/publish` (Google exposure-notifications-server v1).
pub async fn publish(
    request: HttpRequest,
    body: web::Bytes,
    api: web::Data<KeyServerApi>,
) -> HttpResponse {
    if is_chaff(&request) {
        api.key_server
            .metrics
            .publishes
            .with_label_values(&["chaff"])
            .inc();
        return padded(
            StatusCode::OK,
            json!({ "revisionToken": random_padding(184), "insertedExposures": 14 }),
        );
    }
    let parsed: PublishRequest = match serde_json::from_slice(&body) {
        Ok(parsed) => parsed,
        Err(error) => return malformed_body(&api, &error),
    };
    let result = api.key_server.publish(&parsed).await;
    record_outcome(&api, &result, parsed.temporary_exposure_keys.len());
    match result {
        Ok(outcome) => {
            let mut body = json!({
                "revisionToken": outcome.revision_token.unwrap_or_default(),
                "insertedExposures": outcome.accepted,
            });
            if !outcome.warnings.is_empty() {
                body["warnings"] = json!(outcome.warnings);
            }
            if !outcome.invalid_keys.is_empty() {
                // As the reference server: 200, `partial_failure`, and go-multierror's text.
                let count = outcome.invalid_keys.len();
                let plural = if count == 1 { "error" } else { "errors" };
                let mut message = format!("{count} {plural} occurred:");
                for reason in &outcome.invalid_keys {
                    message.push_str(&format!("\n\t* {reason}"));
                }
                message.push_str("\n\n");
                body["code"] = json!("partial_failure");
                body["error"] = json!(message);
            }
            padded(StatusCode::OK, body)
        }
        Err(error) => publish_error_response(&error),
    }
}

/// `PUT /api/v3/diagnosis` (COCOA): 204 on success, padded JSON errors.
pub async fn cocoa_diagnosis(
    request: HttpRequest,
    body: web::Bytes,
    api: web::Data<KeyServerApi>,
) -> HttpResponse {
    if is_chaff(&request) {
        api.key_server
            .metrics
            .publishes
            .with_label_values(&["chaff"])
            .inc();
        return HttpResponse::NoContent().finish();
    }
    let parsed: CocoaDiagnosisRequest = match serde_json::from_slice(&body) {
        Ok(parsed) => parsed,
        Err(error) => return malformed_body(&api, &error),
    };
    let client = request.peer_addr().map(|address| address.ip());
    let result = api.key_server.publish_cocoa(&parsed, client).await;
    record_outcome(&api, &result, parsed.keys.len());
    match result {
        Ok(_) => HttpResponse::NoContent().finish(),
        Err(error) => publish_error_response(&error),
    }
}

fn etag_of(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    format!(
        "\"{}\"",
        mimamori_crypto::hex::encode(&digest.as_ref()[..16])
    )
}

fn not_modified(request: &HttpRequest, etag: &str) -> bool {
    request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

#[allow(clippy::too_many_arguments)]
fn cacheable(
    request: &HttpRequest,
    api: &KeyServerApi,
    kind: &str,
    content_type: &'static str,
    etag: String,
    max_age: u64,
    immutable: bool,
    body: web::Bytes,
) -> HttpResponse {
    api.counters(kind).0.inc();
    let cache_control = if immutable {
        header::HeaderValue::from_static("public, max-age=31536000, immutable")
    } else {
        header::HeaderValue::from_str(&format!("public, max-age={max_age}"))
            .unwrap_or_else(|_| header::HeaderValue::from_static("public, max-age=300"))
    };
    if not_modified(request, &etag) {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, cache_control))
            .finish();
    }
    api.counters(kind).1.inc_by(body.len() as u64);
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache_control))
        .body(body)
}

/// Largest `PUT /api/v1/event_log` body (COCOA allowed 10 MiB; its events are a few
/// hundred bytes each).
pub const EVENT_LOG_MAX_BYTES: usize = 64 * 1024;

/// `PUT /api/v1/event_log` (COCOA's opt-in operational log): 201 when stored (resends with
/// the same idempotency key are no-ops), 400 with a code for anything else; entries without
/// consent are dropped. The export worker's retention deletes entries older than
/// `event_log_retention_days`.
pub async fn cocoa_event_log(body: web::Bytes, api: web::Data<KeyServerApi>) -> HttpResponse {
    use crate::cocoa::event_log::{EventLogRequest, validate};
    let counter = |result: &str, n: u64| {
        api.key_server
            .metrics
            .event_logs
            .with_label_values(&[result])
            .inc_by(n);
    };
    let request: EventLogRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            counter("rejected", 1);
            return json_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                &format!("the body is not an event log: {error}"),
            );
        }
    };
    let now_ms = api.key_server.clock.now_ms();
    let config = &api.key_server.config.cocoa;
    let records = match validate(&request, now_ms, config.max_event_logs_per_request) {
        Ok(records) => records,
        Err(error) => {
            counter("rejected", request.event_logs.len() as u64);
            return json_error(StatusCode::BAD_REQUEST, "bad_request", &error.to_string());
        }
    };
    match api.key_server.store.insert_event_logs(&records).await {
        Ok(inserted) => {
            counter("stored", inserted);
            counter("duplicate", records.len() as u64 - inserted);
            counter(
                "no_consent",
                (request.event_logs.len() - records.len()) as u64,
            );
            HttpResponse::Created().finish()
        }
        Err(error) => {
            tracing::warn!(error = %error, "event log store unavailable");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the event log could not be stored; retry later",
            )
        }
    }
}

/// `GET /api/inquirylog` (COCOA): `{"sas_token"}` for a holder of the inquiry-log key, 400
/// otherwise (as COCOA's `ValidationInquiryLogService`), 404 when not configured.
pub async fn cocoa_inquiry_log(request: HttpRequest, api: web::Data<KeyServerApi>) -> HttpResponse {
    // The app's own request always carries the key: without one the request is malformed,
    // whether or not uploads are configured (400, as for a wrong key).
    if !request.headers().contains_key("x-api-key") {
        return json_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "missing or wrong x-api-key",
        );
    }
    let Some(config) = &api.key_server.config.cocoa.inquiry_log else {
        return json_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "inquiry-log uploads are not configured on this server",
        );
    };
    let presented = request
        .headers()
        .get("x-api-key")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let expected = config.api_key.as_bytes();
    // Compared as digests, so the comparison's time says nothing about the key.
    let digest = |bytes: &[u8]| ring::digest::digest(&ring::digest::SHA256, bytes);
    let same = digest(presented).as_ref() == digest(expected).as_ref();
    if expected.is_empty() || !same {
        return json_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "missing or wrong x-api-key",
        );
    }
    let now_s = api.key_server.clock.now_ms().div_euclid(1000);
    let grant = crate::cocoa::inquiry_log::SasGrant {
        account: &config.storage_account,
        account_key: &config.account_key,
        container: &config.container,
        expires_at_s: now_s + config.sas_ttl_seconds.max(1),
        protocol: &config.sas_protocol,
    };
    match crate::cocoa::inquiry_log::container_sas(&grant) {
        Some(token) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(json!({ "sas_token": token })),
        None => {
            tracing::error!("key_server.cocoa.inquiry_log.account_key is not base64");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_configured",
                "inquiry-log uploads are misconfigured",
            )
        }
    }
}

fn cocoa_configuration_file(
    request: &HttpRequest,
    api: &KeyServerApi,
    body: web::Bytes,
) -> HttpResponse {
    let etag = etag_of(&body);
    let max_age = api.key_server.config.cocoa.configuration_max_age_seconds;
    cacheable(
        request,
        api,
        "listing",
        "application/json",
        etag,
        max_age,
        false,
        body,
    )
}

/// `GET /c19r/exposure_configuration/configuration.json` (COCOA's exposure configuration).
pub async fn cocoa_exposure_configuration(
    request: HttpRequest,
    api: web::Data<KeyServerApi>,
) -> HttpResponse {
    let body = api.cocoa_configuration.0.clone();
    cocoa_configuration_file(&request, &api, body)
}

/// `GET /c19r/exposure_configuration/risk_calculation_configuration.json`.
pub async fn cocoa_risk_calculation_configuration(
    request: HttpRequest,
    api: web::Data<KeyServerApi>,
) -> HttpResponse {
    let body = api.cocoa_configuration.1.clone();
    cocoa_configuration_file(&request, &api, body)
}

/// `GET /v1/exports/index.txt`: every live file, oldest first, one path per line.
pub async fn index_txt(request: HttpRequest, api: web::Data<KeyServerApi>) -> HttpResponse {
    let files = match api.listing().await {
        Ok(files) => files,
        Err(response) => return response,
    };
    let mut text = String::with_capacity(files.len() * 48);
    for file in files.iter() {
        text.push_str(&file.path);
        text.push('\n');
    }
    let body = web::Bytes::from(text);
    let etag = etag_of(&body);
    let max_age = api.key_server.config.export.listing_max_age_seconds;
    cacheable(
        &request,
        &api,
        "listing",
        "text/plain; charset=utf-8",
        etag,
        max_age,
        false,
        body,
    )
}

fn base_url(request: &HttpRequest, api: &KeyServerApi) -> String {
    let configured = api
        .key_server
        .config
        .export
        .public_base_url
        .trim_end_matches('/');
    if !configured.is_empty() {
        return configured.to_string();
    }
    let info = request.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// `GET /c19r/{region}/list.json` (COCOA): `[{region, url, created}]`, `created` in epoch ms.
pub async fn cocoa_list(
    request: HttpRequest,
    region: web::Path<String>,
    api: web::Data<KeyServerApi>,
) -> HttpResponse {
    let region = region.into_inner();
    if !api.key_server.config.regions.contains(&region) {
        return json_error(StatusCode::NOT_FOUND, "not_found", "unknown region");
    }
    let files = match api.listing().await {
        Ok(files) => files,
        Err(response) => return response,
    };
    let base = base_url(&request, &api);
    let entries: Vec<Value> = files
        .iter()
        .filter(|f| f.region == region)
        .map(|f| {
            json!({
                "region": f.region,
                "url": format!("{base}/v1/exports/{}", f.path),
                "created": f.created_at_ms,
            })
        })
        .collect();
    let body = web::Bytes::from(serde_json::to_vec(&entries).unwrap_or_default());
    let etag = etag_of(&body);
    let max_age = api.key_server.config.export.listing_max_age_seconds;
    cacheable(
        &request,
        &api,
        "listing",
        "application/json",
        etag,
        max_age,
        false,
        body,
    )
}

/// `GET /v1/exports/{region}/{file}`: an export zip, only if it is listed.
pub async fn download(
    request: HttpRequest,
    path: web::Path<(String, String)>,
    api: web::Data<KeyServerApi>,
) -> HttpResponse {
    let (region, file) = path.into_inner();
    let relative = format!("{region}/{file}");
    let files = match api.listing().await {
        Ok(files) => files,
        Err(response) => return response,
    };
    // Only listed files are served: no path traversal, nothing unlisted or deleted.
    let Some(record) = files.iter().find(|f| f.path == relative) else {
        return json_error(StatusCode::NOT_FOUND, "not_found", "no such export file");
    };
    let etag = format!("\"{}\"", record.sha256);
    if not_modified(&request, &etag) {
        return cacheable(
            &request,
            &api,
            "file",
            "application/zip",
            etag,
            31_536_000,
            true,
            web::Bytes::new(),
        );
    }
    match api.files.get_or_load(&api.exporter, record).await {
        Ok(Some(bytes)) => cacheable(
            &request,
            &api,
            "file",
            "application/zip",
            etag,
            31_536_000,
            true,
            bytes,
        ),
        Ok(None) => {
            tracing::error!(path = %record.path, "a listed export file is missing from the store");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the export file is temporarily unavailable",
            )
        }
        Err(error) => {
            tracing::error!(path = %record.path, error = %error, "listed export file cannot be read");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the export file is temporarily unavailable",
            )
        }
    }
}

/// An in-memory cache of export files (they are immutable once listed).
mod bytes_cache {
    use super::*;

    /// Files by relative path, bounded in total size.
    #[derive(Clone)]
    pub struct FileCache {
        entries: Arc<RwLock<HashMap<String, web::Bytes>>>,
        budget: usize,
    }

    impl FileCache {
        /// A cache holding at most `budget` bytes.
        pub fn new(budget: usize) -> Self {
            FileCache {
                entries: Arc::new(RwLock::new(HashMap::new())),
                budget,
            }
        }

        /// The listed file's bytes, from memory or from the exporter's store (verified
        /// against the listing's SHA-256 before they are cached).
        pub async fn get_or_load(
            &self,
            exporter: &Exporter,
            record: &ExportFileRecord,
        ) -> Result<Option<web::Bytes>, crate::blobs::BlobError> {
            if let Ok(entries) = self.entries.read()
                && let Some(bytes) = entries.get(&record.path)
            {
                return Ok(Some(bytes.clone()));
            }
            let Some(bytes) = exporter.file_bytes(record).await? else {
                return Ok(None);
            };
            let bytes = web::Bytes::from(bytes);
            if let Ok(mut entries) = self.entries.write() {
                let used: usize = entries.values().map(web::Bytes::len).sum();
                if used + bytes.len() <= self.budget {
                    entries.insert(record.path.clone(), bytes.clone());
                }
            }
            Ok(Some(bytes))
        }
    }
}
