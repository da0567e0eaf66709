//! HTTP handlers of health follow-up.
//!
//! | endpoint | who |
//! | --- | --- |
//! | `PUT /api/cases/{id}/followup` (plan), `POST`/`DELETE /api/cases/{id}/followup/token` | the case's health-center case worker |
//! | `GET /api/cases/{id}/followup` | in scope, or the delegated contractor |
//! | `POST /api/followup/observations` with `Authorization: Bearer <link token>` | the patient or family |
//! | `POST /api/cases/{id}/observations` (on the patient's behalf) | health-center case worker, delegated contractor |
//! | `GET /api/cases/{id}/followup/series`, `GET /api/cases/{id}/followup/chart.svg` | in scope, or the delegated contractor |
//! | `GET /api/alerts?state=`, `POST /api/alerts/{id}/acknowledge`, `/resolve` | health-center case worker, delegated contractor |
//!
//! The same plan, token, observation, series and chart routes exist under
//! `/api/contacts/{id}/…` for close contacts (their health center of residence).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{ApiError, bearer_token, staff_principal};
use crate::model::followup::{AlertState, ObservationInput};
use crate::service::CaseRegistry;
use crate::service::followup::{PlanInput, SubjectKind};

type Registry = web::Data<CaseRegistry>;

/// Whose follow-up a path is about: `/api/contacts/{id}/…` a close contact's, else a case's.
pub(super) fn subject_kind(request: &HttpRequest) -> SubjectKind {
    if request.path().starts_with("/api/contacts/") {
        SubjectKind::Contact
    } else {
        SubjectKind::Case
    }
}

async fn set_plan(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Json<PlanInput>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(
        registry
            .set_plan(&principal, subject_kind(&request), &path, body.into_inner())
            .await?,
    ))
}

async fn read_plan(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(
        registry
            .plan(&principal, subject_kind(&request), &path)
            .await?,
    ))
}

async fn issue_token(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Created().json(
        registry
            .issue_followup_token(&principal, subject_kind(&request), &path)
            .await?,
    ))
}

async fn revoke_tokens(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    registry
        .revoke_followup_tokens(&principal, subject_kind(&request), &path)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn patient_observation(
    registry: Registry,
    request: HttpRequest,
    body: web::Json<ObservationInput>,
) -> Result<HttpResponse, ApiError> {
    let token = bearer_token(&request).ok_or_else(ApiError::unauthenticated)?;
    Ok(HttpResponse::Created().json(
        registry
            .patient_observation(token, body.into_inner())
            .await?,
    ))
}

async fn proxy_observation(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Json<ObservationInput>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Created().json(
        registry
            .proxy_observation(&principal, subject_kind(&request), &path, body.into_inner())
            .await?,
    ))
}

async fn series(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(
        registry
            .series(&principal, subject_kind(&request), &path)
            .await?,
    ))
}

async fn chart(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    let svg = registry
        .chart(&principal, subject_kind(&request), &path)
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "no-store"))
        .body(svg))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorklistQuery {
    #[serde(default)]
    state: Option<String>,
}

async fn worklist(
    registry: Registry,
    request: HttpRequest,
    query: web::Query<WorklistQuery>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(
        registry
            .worklist(&principal, query.state.as_deref())
            .await?,
    ))
}

async fn acknowledge(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(
        registry
            .transition_alert(&principal, &path, AlertState::Acknowledged)
            .await?,
    ))
}

async fn resolve(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(
        registry
            .transition_alert(&principal, &path, AlertState::Resolved)
            .await?,
    ))
}

/// Registers the follow-up routes (state registered by [`super::configure`]).
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route(
            "/api/followup/observations",
            web::post().to(patient_observation),
        )
        .route("/api/alerts", web::get().to(worklist))
        .route("/api/alerts/{id}/acknowledge", web::post().to(acknowledge))
        .route("/api/alerts/{id}/resolve", web::post().to(resolve))
        .configure(|config| subject_routes(config, "/api/cases"))
        .configure(|config| subject_routes(config, "/api/contacts"));
}

/// The follow-up routes of one kind of subject under `prefix`.
fn subject_routes(config: &mut web::ServiceConfig, prefix: &str) {
    config
        .route(
            &format!("{prefix}/{{id}}/followup"),
            web::put().to(set_plan),
        )
        .route(
            &format!("{prefix}/{{id}}/followup"),
            web::get().to(read_plan),
        )
        .route(
            &format!("{prefix}/{{id}}/followup/token"),
            web::post().to(issue_token),
        )
        .route(
            &format!("{prefix}/{{id}}/followup/token"),
            web::delete().to(revoke_tokens),
        )
        .route(
            &format!("{prefix}/{{id}}/followup/series"),
            web::get().to(series),
        )
        .route(
            &format!("{prefix}/{{id}}/followup/chart.svg"),
            web::get().to(chart),
        )
        .route(
            &format!("{prefix}/{{id}}/observations"),
            web::post().to(proxy_observation),
        );
}
