//! HTTP handlers of a case's laboratory tests.
//!
//! | endpoint | who |
//! | --- | --- |
//! | `POST /api/cases/{id}/tests`, `POST /api/cases/{id}/tests/{testId}/result` | case workers of the case's health center |
//! | `GET /api/cases/{id}/tests` | whoever may read the case |

use actix_web::{HttpRequest, HttpResponse, web};

use super::{ApiError, staff_principal};
use crate::service::CaseRegistry;
use crate::service::lab_tests::{LabResult, NewLabTest};

type Registry = web::Data<CaseRegistry>;

async fn record(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Json<NewLabTest>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Created().json(
        registry
            .record_lab_test(&principal, &path, body.into_inner())
            .await?,
    ))
}

async fn list(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(registry.lab_tests(&principal, &path).await?))
}

async fn result(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Json<LabResult>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    let (case_id, test_id) = path.into_inner();
    Ok(HttpResponse::Ok().json(
        registry
            .enter_lab_result(&principal, &case_id, &test_id, body.into_inner())
            .await?,
    ))
}

/// Registers the laboratory-test routes (state registered by [`super::configure`]).
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/api/cases/{id}/tests", web::post().to(record))
        .route("/api/cases/{id}/tests", web::get().to(list))
        .route(
            "/api/cases/{id}/tests/{testId}/result",
            web::post().to(result),
        );
}
