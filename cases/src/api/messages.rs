//! HTTP handlers of outbound messages.
//!
//! | endpoint | who |
//! | --- | --- |
//! | `POST /api/cases/{id}/messages`, `POST /api/contacts/{id}/messages` | case workers of the subject's health center |
//! | `GET /api/cases/{id}/messages`, `GET /api/contacts/{id}/messages` | whoever may read the subject |
//! | `POST /api/messages/opt-out` | case workers (when the person asks) |
//! | `POST /api/followup/opt-out` | the person, with their follow-up link token |

use actix_web::{HttpRequest, HttpResponse, web};

use super::followup::subject_kind;
use super::{ApiError, bearer_token, staff_principal};
use crate::service::CaseRegistry;
use crate::service::outbox::{OptOutRequest, SendRequest};

type Registry = web::Data<CaseRegistry>;

async fn send(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Json<SendRequest>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Accepted().json(
        registry
            .send_message(&principal, subject_kind(&request), &path, body.into_inner())
            .await?,
    ))
}

async fn list(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(
        registry
            .messages(&principal, subject_kind(&request), &path)
            .await?,
    ))
}

async fn opt_out(
    registry: Registry,
    request: HttpRequest,
    body: web::Json<OptOutRequest>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    registry.opt_out(&principal, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn link_opt_out(registry: Registry, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let token = bearer_token(&request).ok_or_else(ApiError::unauthenticated)?;
    registry.link_opt_out(token).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the message routes (state registered by [`super::configure`]).
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/api/cases/{id}/messages", web::post().to(send))
        .route("/api/cases/{id}/messages", web::get().to(list))
        .route("/api/contacts/{id}/messages", web::post().to(send))
        .route("/api/contacts/{id}/messages", web::get().to(list))
        .route("/api/messages/opt-out", web::post().to(opt_out))
        .route("/api/followup/opt-out", web::post().to(link_opt_out));
}
