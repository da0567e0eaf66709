//! `/openapi.json`: the foundation's endpoints merged with every service's document.

use actix_web::{HttpResponse, get, web};
use utoipa::OpenApi;

#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is up")))]
#[allow(dead_code)]
fn healthz() {}

#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Database reachable and migrated"),
        (status = 503, description = "Database unreachable or migrations pending")))]
#[allow(dead_code)]
fn readyz() {}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
#[allow(dead_code)]
fn metrics() {}

#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "This document", content_type = "application/json")))]
#[allow(dead_code)]
fn openapi_json() {}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Mimamori",
        description = "Exposure-notification and contact-tracing backend"
    ),
    paths(healthz, readyz, metrics, openapi_json)
)]
struct FoundationDoc;

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = FoundationDoc::openapi();
    document.info.version = crate::VERSION.to_string();
    document.merge(mimamori_key_server::openapi::openapi());
    document.merge(mimamori_cases::openapi::openapi());
    document.merge(mimamori_verification::openapi::openapi());
    document
}

/// The rendered document, computed once per worker.
#[derive(Debug, Clone)]
pub struct OpenApiJson(pub String);

/// `GET /openapi.json`.
#[get("/openapi.json")]
pub async fn serve_openapi(document: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document.0.clone())
}
