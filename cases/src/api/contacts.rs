//! HTTP handlers of close contacts.
//!
//! | endpoint | who |
//! | --- | --- |
//! | `POST /api/contacts` (from a case's contact investigation) | case worker of the health center working the case |
//! | `GET /api/contacts/{id}` | the health center of residence, its prefecture |
//! | `GET /api/cases/{id}/close-contacts` | whoever reads the case (only contacts in their scope) |
//! | `POST /api/contacts/{id}/exposures`, `/status`, `/convert`, `/transfer` | case worker of the health center of residence |
//!
//! Follow-up of a contact: the case routes under `/api/contacts/{id}/…` (see
//! [`super::followup`]).

use actix_web::{HttpRequest, HttpResponse, web};

use super::{ApiError, staff_principal};
use crate::service::CaseRegistry;
use crate::service::contacts::{ContactStatusChange, ExposureInput, NewContact};

type Registry = web::Data<CaseRegistry>;

async fn create(
    registry: Registry,
    request: HttpRequest,
    body: web::Json<NewContact>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Created().json(
        registry
            .create_contact(&principal, body.into_inner())
            .await?,
    ))
}

async fn read(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(registry.contact(&principal, &path).await?))
}

async fn of_case(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(registry.contacts_of_case(&principal, &path).await?))
}

async fn add_exposure(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Json<ExposureInput>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(
        registry
            .add_contact_exposure(&principal, &path, body.into_inner())
            .await?,
    ))
}

async fn change_status(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Json<ContactStatusChange>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(
        registry
            .change_contact_status(&principal, &path, body.status)
            .await?,
    ))
}

async fn convert(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Json<serde_json::Map<String, serde_json::Value>>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Created().json(
        registry
            .convert_contact(&principal, &path, body.into_inner())
            .await?,
    ))
}

async fn transfer(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Json<crate::service::records::Transfer>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(
        registry
            .transfer_contact(&principal, &path, &body.health_center_id)
            .await?,
    ))
}

/// Registers the close-contact routes (state registered by [`super::configure`]).
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/api/contacts", web::post().to(create))
        .route("/api/contacts/{id}", web::get().to(read))
        .route("/api/cases/{id}/close-contacts", web::get().to(of_case))
        .route("/api/contacts/{id}/exposures", web::post().to(add_exposure))
        .route("/api/contacts/{id}/status", web::post().to(change_status))
        .route("/api/contacts/{id}/convert", web::post().to(convert))
        .route("/api/contacts/{id}/transfer", web::post().to(transfer));
}
