//! HTTP handlers of duplicate persons.
//!
//! | endpoint | who |
//! | --- | --- |
//! | `GET /api/duplicates` (open pairs, both persons summarised) | health centers' and prefectures' case workers |
//! | `POST /api/duplicates/scan` | case workers of a health center |
//! | `POST /api/duplicates/{id}/dismiss`, `POST /api/duplicates/{id}/merge` `{keep}` | case workers of the health center holding both records |

use actix_web::{HttpRequest, HttpResponse, web};

use super::{ApiError, staff_principal};
use crate::service::CaseRegistry;
use crate::service::duplicates::MergeRequest;

type Registry = web::Data<CaseRegistry>;

async fn list(registry: Registry, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(registry.duplicate_pairs(&principal).await?))
}

async fn scan(registry: Registry, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(registry.scan_duplicates(&principal).await?))
}

async fn dismiss(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(registry.dismiss_duplicate(&principal, &path).await?))
}

async fn merge(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Json<MergeRequest>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(
        registry
            .merge_duplicate(&principal, &path, body.into_inner())
            .await?,
    ))
}

/// Registers the duplicate routes (state registered by [`super::configure`]).
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/api/duplicates", web::get().to(list))
        .route("/api/duplicates/scan", web::post().to(scan))
        .route("/api/duplicates/{id}/dismiss", web::post().to(dismiss))
        .route("/api/duplicates/{id}/merge", web::post().to(merge));
}
