//! The outermost middleware: the client address behind trusted proxies, panic recovery, request ids, body-size guard, tracing span,
//! metrics, JSON error bodies and the one access-log line per request.
//!
//! Privacy: the access log records the request id, method, route *pattern*, status and latency.
//! It never records the client address, the raw path, the query string, headers or bodies.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, ResponseError, web};
use futures_util::FutureExt;
use tracing::Instrument;

use crate::http::client_address::TrustedProxies;
use crate::http::error::ApiError;
use crate::metrics::{HttpMetrics, method_label};
use mimamori_key_server::api::{is_publish_path, padded_error};

/// Header carrying the request id in both directions.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, available to handlers as a request extension.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Limits enforced before any handler runs.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Accepts a caller's id when it is short and plain (a proxy's id), else makes a new one.
/// The request's id: the caller's `X-Request-Id` only when it is one a Mimamori server made
/// (16 hex digits, `-`, 12 hex digits: a proxy or another replica passing ours on), else a new
/// one, so nothing a caller chose is logged verbatim. A caller's own id is logged only as
/// the first 16 hex digits of its SHA-256 (`caller_request_id_sha256`), which an operator
/// can compute from the id they hold.
fn request_id_for(request: &ServiceRequest) -> (String, Option<String>) {
    let Some(caller) = request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .map(|v| v.as_bytes())
        .filter(|v| !v.is_empty())
    else {
        return (new_request_id(), None);
    };
    if is_server_made_id(caller) {
        return (String::from_utf8_lossy(caller).into_owned(), None);
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, caller);
    (
        new_request_id(),
        Some(mimamori_crypto::hex::encode(&digest.as_ref()[..8])),
    )
}

fn is_server_made_id(id: &[u8]) -> bool {
    let hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    id.len() == 29 && id[16] == b'-' && id[..16].iter().all(hex) && id[17..].iter().all(hex)
}

/// A new id: a random per-process prefix and a counter (unique without a system call per
/// request; the prefix tells replicas apart).
fn new_request_id() -> String {
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| uuid::Uuid::new_v4().simple().to_string()[..16].to_string());
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}-{n:012x}")
}

fn declared_length(request: &ServiceRequest) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// A short machine code for a status that reached us without a JSON body.
fn code_for(status: actix_web::http::StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        406 => "not_acceptable",
        408 => "request_timeout",
        411 => "length_required",
        413 => "payload_too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        429 => "too_many_requests",
        431 => "headers_too_large",
        500 => "internal",
        503 => "unavailable",
        _ if status.is_client_error() => "client_error",
        _ => "server_error",
    }
}

/// Whether the response already has a body meant for its client: JSON for the API, or an
/// HTML page (the console renders its own error pages).
fn has_own_body(response: &ServiceResponse<BoxBody>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"))
}

/// A minimal HTML error page for the console's paths (a browser shows it; the API gets JSON).
fn console_error(status: actix_web::http::StatusCode) -> HttpResponse {
    let message = status.canonical_reason().unwrap_or("error").to_lowercase();
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\">\
             <title>{code} {message}</title></head><body><h1>{code} {message}</h1>\
             <p><a href=\"/console/\">みまもり / Mimamori</a></p></body></html>",
            code = status.as_u16()
        ))
}

/// The middleware function; install with `actix_web::middleware::from_fn(observe)`.
pub async fn observe(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    if let Some(proxies) = request.app_data::<web::Data<TrustedProxies>>().cloned() {
        proxies.apply(&mut request);
    }
    let (request_id, caller_request_id) = request_id_for(&request);
    let method = method_label(request.method());
    let metrics = request.app_data::<web::Data<HttpMetrics>>().cloned();
    let limit = request.app_data::<web::Data<BodyLimit>>().map(|l| l.0);
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    let span = tracing::info_span!(
        "http_request",
        request_id = %request_id,
        method,
        caller_request_id_sha256 = caller_request_id.as_deref().unwrap_or_default()
    );

    let mut response = match (limit, declared_length(&request)) {
        (Some(limit), Some(length)) if length > limit as u64 => {
            let answer = if request.path().starts_with("/console") {
                console_error(actix_web::http::StatusCode::PAYLOAD_TOO_LARGE)
            } else if is_publish_path(request.path()) {
                padded_error(
                    actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    &format!("request body exceeds the limit of {limit} bytes"),
                )
            } else {
                ApiError::payload_too_large(limit).error_response()
            };
            request.into_response(answer)
        }
        _ => {
            let outcome = AssertUnwindSafe(next.call(request).instrument(span.clone()))
                .catch_unwind()
                .await;
            match outcome {
                Ok(Ok(response)) => response.map_into_boxed_body(),
                // The request was consumed by the inner service; actix renders the error
                // (ApiError renders JSON). Still count and log it.
                Ok(Err(error)) => {
                    let status = error.as_response_error().status_code().as_u16();
                    finish(
                        &span,
                        metrics.as_ref().map(|m| m.get_ref()),
                        "unmatched",
                        method,
                        status,
                        started,
                    );
                    return Err(error);
                }
                Err(_panic) => {
                    span.in_scope(|| tracing::error!("handler panicked; answered 500"));
                    finish(
                        &span,
                        metrics.as_ref().map(|m| m.get_ref()),
                        "unmatched",
                        method,
                        500,
                        started,
                    );
                    return Err(ApiError::internal().into());
                }
            }
        }
    };

    let status = response.status();
    if (status.is_client_error() || status.is_server_error()) && !has_own_body(&response) {
        let message = status.canonical_reason().unwrap_or("error").to_lowercase();
        // Console pages get a small HTML page (a browser shows it); the API gets JSON.
        let path = response.request().path();
        let replacement = if path.starts_with("/console") {
            console_error(status)
        } else if is_publish_path(path) {
            padded_error(status, code_for(status), &message)
        } else {
            ApiError::new(status, code_for(status), message).error_response()
        };
        let (http_request, old) = response.into_parts();
        let mut replacement = replacement;
        for (name, value) in old.headers() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                replacement
                    .headers_mut()
                    .insert(name.clone(), value.clone());
            }
        }
        response = ServiceResponse::new(http_request, replacement);
    }

    // Every 503 says when to come back, whichever layer answered it.
    if status == actix_web::http::StatusCode::SERVICE_UNAVAILABLE
        && !response.headers().contains_key(header::RETRY_AFTER)
    {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(mimamori_storage::OUTAGE_RETRY_AFTER_SECONDS),
        );
    }
    // Every 405 says what is allowed (actix's own 405s of single-method resources do not).
    if status == actix_web::http::StatusCode::METHOD_NOT_ALLOWED
        && !response.headers().contains_key(header::ALLOW)
        && let Some(methods) = response
            .request()
            .app_data::<web::Data<crate::http::openapi::KnownRoutes>>()
            .and_then(|routes| routes.allowed_methods(response.request().path()))
        && let Ok(value) = HeaderValue::from_str(&methods)
    {
        response.headers_mut().insert(header::ALLOW, value);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    finish(
        &span,
        metrics.as_ref().map(|m| m.get_ref()),
        &route,
        method,
        status.as_u16(),
        started,
    );
    Ok(response)
}

/// Records the metrics and writes the access-log line of one finished request.
fn finish(
    span: &tracing::Span,
    metrics: Option<&HttpMetrics>,
    route: &str,
    method: &'static str,
    status: u16,
    started: Instant,
) {
    let seconds = started.elapsed().as_secs_f64();
    if let Some(metrics) = metrics {
        metrics.observe(route, method, status, seconds);
    }
    span.in_scope(|| {
        tracing::info!(
            route,
            status,
            latency_ms = seconds * 1000.0,
            "request finished"
        );
    });
}

/// Fallback for unmatched routes: 405 with `Allow` when the path is documented with other
/// methods, else 404.
pub async fn not_found(request: actix_web::HttpRequest) -> HttpResponse {
    let allowed = request
        .app_data::<web::Data<crate::http::openapi::KnownRoutes>>()
        .and_then(|routes| routes.allowed_methods(request.path()));
    match allowed {
        Some(methods) => {
            let mut response = ApiError::new(
                actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("this path accepts {methods}"),
            )
            .error_response();
            if let Ok(value) = HeaderValue::from_str(&methods) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            response
        }
        None => ApiError::not_found().error_response(),
    }
}
