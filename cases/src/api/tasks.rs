//! HTTP handlers of the task list and the call log.
//!
//! | endpoint | who |
//! | --- | --- |
//! | `GET /api/tasks` | case workers of a health center |
//! | `POST /api/cases/{id}/calls`, `POST /api/contacts/{id}/calls` | case workers of the subject's health center |
//! | `GET /api/cases/{id}/calls`, `GET /api/contacts/{id}/calls` | whoever may read the subject |

use actix_web::{HttpRequest, HttpResponse, web};

use super::followup::subject_kind;
use super::{ApiError, staff_principal};
use crate::service::CaseRegistry;
use crate::service::tasks::CallInput;

type Registry = web::Data<CaseRegistry>;

async fn tasks(registry: Registry, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(registry.tasks(&principal).await?))
}

async fn record_call(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Json<CallInput>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Created().json(
        registry
            .record_call(&principal, subject_kind(&request), &path, body.into_inner())
            .await?,
    ))
}

async fn calls(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(
        registry
            .calls(&principal, subject_kind(&request), &path)
            .await?,
    ))
}

/// Registers the task and call routes (state registered by [`super::configure`]).
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/api/tasks", web::get().to(tasks))
        .route("/api/cases/{id}/calls", web::post().to(record_call))
        .route("/api/cases/{id}/calls", web::get().to(calls))
        .route("/api/contacts/{id}/calls", web::post().to(record_call))
        .route("/api/contacts/{id}/calls", web::get().to(calls));
}
