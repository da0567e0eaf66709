//! `/openapi.json`: the foundation's endpoints merged with every service's document.

use actix_web::{HttpResponse, get, web};
use utoipa::OpenApi;

#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is up")))]
#[allow(dead_code)]
fn healthz() {}

#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Database reachable and migrated, failure-limit store reachable"),
        (status = 503, description = "Database unreachable, migrations pending, or the failure-limit store (Redis) unreachable")))]
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

/// Every error body: `{error, code, errorCode}`, sometimes with `reason` (the precise cause),
/// `details` (field or row problems) and, on publish paths, `padding`.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Error {
    /// Human-readable message.
    error: String,
    /// Stable machine-readable code.
    code: String,
    /// The same code (the field Google's verification clients read).
    error_code: String,
    /// The precise cause where `code` folds several.
    reason: Option<String>,
    /// Field- or row-level problems.
    details: Option<serde_json::Value>,
    /// Random padding (publish paths).
    padding: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Mimamori",
        description = "Exposure-notification and contact-tracing backend"
    ),
    paths(healthz, readyz, metrics, openapi_json),
    components(schemas(Error))
)]
struct FoundationDoc;

/// Paths that need no credentials of any kind (their refusals are documented per operation).
fn is_open(path: &str) -> bool {
    matches!(
        path,
        "/healthz"
            | "/readyz"
            | "/metrics"
            | "/openapi.json"
            | "/api/v3/diagnosis"
            | "/api/v1/event_log"
            | "/api/inquirylog"
            | "/.well-known/jwks.json"
    ) || !path.starts_with("/api/")
}

/// Paths that never touch the database.
fn is_static(path: &str) -> bool {
    matches!(path, "/healthz" | "/metrics" | "/openapi.json")
}

/// Paths with a failure or attempt limit (answered 429 with `Retry-After`).
fn is_limited(path: &str) -> bool {
    matches!(
        path,
        "/api/auth/login"
            | "/api/verify"
            | "/api/certificate"
            | "/api/user-report"
            | "/api/v3/diagnosis"
    )
}

/// Adds the refusals every operation of a kind can give, where the service's own document
/// does not list them: 400 (request does not match this document), 401 (credentials), 404
/// (unknown path parameter), 413 and 415 (bodies), 429 (limits), 503 (database outage). The
/// rules are the server's own: the body limit and the content-type check apply to every
/// body, the outage answer to every database-backed path.
fn add_common_refusals(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let refusal = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Error")))
                        .build(),
                )
                .build(),
        )
    };
    for (path, item) in document.paths.paths.iter_mut() {
        let operations = [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
            item.patch.as_mut(),
        ];
        for operation in operations.into_iter().flatten() {
            let has_body = operation.request_body.is_some();
            let has_parameters =
                path.contains('{') || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let mut wanted: Vec<(&str, &str)> = Vec::new();
            if has_body || has_parameters {
                wanted.push((
                    "400",
                    "The request does not match this document (malformed JSON, a wrong type, an unknown field, a bad parameter)",
                ));
            }
            if !is_open(path) {
                wanted.push(("401", "Missing, unknown or expired credentials"));
            }
            if path.contains('{') {
                wanted.push(("404", "No such resource (or not visible to the caller)"));
            }
            if has_body {
                wanted.push(("413", "Body over the size limit"));
                wanted.push(("415", "Body not of the documented content type"));
            }
            if is_limited(path) {
                wanted.push(("429", "Too many failures or attempts; see Retry-After"));
            }
            if !is_static(path) {
                wanted.push((
                    "503",
                    "Database unavailable; nothing was done; see Retry-After",
                ));
            }
            for (status, description) in wanted {
                operation
                    .responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| refusal(description));
            }
        }
    }
}

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = FoundationDoc::openapi();
    document.info.version = crate::VERSION.to_string();
    document.merge(mimamori_key_server::openapi::openapi());
    document.merge(mimamori_cases::openapi::openapi());
    document.merge(mimamori_verification::openapi::openapi());
    add_common_refusals(&mut document);
    document
}

/// The documented paths with their methods: an undocumented method on a documented path is
/// answered 405 with `Allow` (not 404), so clients and the document agree.
#[derive(Debug, Clone, Default)]
pub struct KnownRoutes {
    routes: Vec<(Vec<PathSegment>, Vec<&'static str>)>,
}

/// One segment of a documented path: literal text or a `{parameter}`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PathSegment {
    Literal(String),
    Parameter,
}

impl KnownRoutes {
    /// The routes of `document`.
    pub fn from_document(document: &utoipa::openapi::OpenApi) -> Self {
        let routes = document
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = path
                    .trim_start_matches('/')
                    .split('/')
                    .map(|s| {
                        if s.starts_with('{') && s.ends_with('}') {
                            PathSegment::Parameter
                        } else {
                            PathSegment::Literal(s.to_string())
                        }
                    })
                    .collect();
                let methods = [
                    ("GET", item.get.is_some()),
                    ("HEAD", item.head.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("OPTIONS", item.options.is_some()),
                ]
                .into_iter()
                .filter_map(|(name, present)| present.then_some(name))
                .collect();
                (segments, methods)
            })
            .collect();
        KnownRoutes { routes }
    }

    /// The `Allow` value of a documented path, or `None` for a path the document does not
    /// know. Where several templates match (`/api/cases/import` and `/api/cases/{id}`), the
    /// most literal one wins, as in routing.
    pub fn allowed_methods(&self, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        self.routes
            .iter()
            .filter(|(template, _)| {
                template.len() == segments.len()
                    && template.iter().zip(&segments).all(|(t, s)| match t {
                        PathSegment::Literal(literal) => literal == s,
                        PathSegment::Parameter => !s.is_empty(),
                    })
            })
            .max_by_key(|(template, _)| {
                template
                    .iter()
                    .filter(|t| matches!(t, PathSegment::Literal(_)))
                    .count()
            })
            .map(|(_, methods)| methods.join(", "))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_paths_know_their_methods() {
        let routes = KnownRoutes::from_document(&document());
        assert_eq!(routes.allowed_methods("/healthz").as_deref(), Some("GET"));
        let case = routes.allowed_methods("/api/cases/abc").unwrap_or_default();
        assert!(case.contains("GET"), "{case}");
        assert_eq!(
            routes.allowed_methods("/api/cases/import").as_deref(),
            Some("POST")
        );
        assert!(
            routes
                .allowed_methods("/api/cases/abc/nothing-here")
                .is_none()
        );
        assert!(routes.allowed_methods("/nowhere").is_none());
    }
}
