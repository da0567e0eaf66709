//! HTTP handlers of the public open data: no credentials, cached, with ETags.
//!
//! | endpoint | caching |
//! | --- | --- |
//! | `GET /open/data/{file}` (`new_cases.csv`, `.json`, `cases_by_status.*`, `notifications.*`) | `public, max-age=300`, ETag |
//! | `GET /open/snapshots/manifest.json` | `public, max-age=300`, ETag |
//! | `GET /open/snapshots/{date}/{file}` | `public, max-age=31536000, immutable`, ETag |
//!
//! `If-None-Match` with the current ETag answers 304 without a body.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::ApiError;
use crate::service::CaseRegistry;
use crate::service::open_data::{CURRENT_MAX_AGE_SECONDS, OpenFile, SNAPSHOT_MAX_AGE_SECONDS};

type Registry = web::Data<CaseRegistry>;

/// Whether `If-None-Match` names `etag` (or is `*`); weak and strong tags compare alike.
fn not_modified(request: &HttpRequest, etag: &str) -> bool {
    request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

/// The response for a file: 200 with the bytes, or 304 when the reader has them.
fn serve(request: &HttpRequest, file: &OpenFile, cache_control: &str) -> HttpResponse {
    let etag = file.etag();
    let mut response = if not_modified(request, &etag) {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag.clone()))
        .insert_header((header::CACHE_CONTROL, cache_control.to_string()))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header(("X-Content-Type-Options", "nosniff"));
    if not_modified(request, &etag) {
        response.finish()
    } else {
        response
            .content_type(file.content_type)
            .body(file.bytes.clone())
    }
}

fn unknown_file() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such open data file")
}

async fn current(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let files = registry.open_data().await?;
    let file = files.file(&path).ok_or_else(unknown_file)?;
    Ok(serve(
        &request,
        file,
        &format!("public, max-age={CURRENT_MAX_AGE_SECONDS}"),
    ))
}

async fn manifest(registry: Registry, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let file = registry.open_data_manifest().await?;
    Ok(serve(
        &request,
        &file,
        &format!("public, max-age={CURRENT_MAX_AGE_SECONDS}"),
    ))
}

async fn snapshot(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (date, name) = path.into_inner();
    let file = registry.open_data_snapshot_file(&date, &name).await?;
    Ok(serve(
        &request,
        &file,
        &format!("public, max-age={SNAPSHOT_MAX_AGE_SECONDS}, immutable"),
    ))
}

/// Registers the open-data routes.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/open/data/{file}", web::get().to(current))
        .route("/open/snapshots/manifest.json", web::get().to(manifest))
        .route("/open/snapshots/{date}/{file}", web::get().to(snapshot));
}
