//! HTTP handlers of issued documents (PDF certificates and notices).
//!
//! | endpoint | who |
//! | --- | --- |
//! | `POST /api/cases/{id}/documents`, `POST /api/contacts/{id}/documents`, `POST /api/documents/bundle` | case workers of the subject's health center |
//! | `GET /api/cases/{id}/documents`, `GET /api/contacts/{id}/documents`, `GET /api/documents/{id}/pdf` | whoever may read the subject |
//! | `GET /api/followup/documents`, `GET /api/followup/documents/{id}/pdf` | the person, with their follow-up link token |

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::followup::subject_kind;
use super::{ApiError, bearer_token, staff_principal};
use crate::service::CaseRegistry;
use crate::service::documents::{BundleRequest, DocumentRequest, DocumentView};

type Registry = web::Data<CaseRegistry>;

/// A PDF answer that is not cached anywhere (it holds personal data).
fn pdf(document: Option<&DocumentView>, name: &str, bytes: Vec<u8>) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response
        .content_type("application/pdf")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.pdf\""),
        ));
    if let Some(document) = document {
        response.insert_header(("X-Document-Id", document.id.as_str()));
    }
    response.body(bytes)
}

async fn issue(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Json<DocumentRequest>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    let body = body.into_inner();
    if body.kind_subject() != subject_kind(&request) {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_subject",
            "certificates and work restrictions are for cases, quarantine notices for contacts",
        ));
    }
    let (document, _) = registry.issue_document(&principal, &path, body).await?;
    Ok(HttpResponse::Created().json(document))
}

async fn list(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(
        registry
            .documents(&principal, subject_kind(&request), &path)
            .await?,
    ))
}

async fn bundle(
    registry: Registry,
    request: HttpRequest,
    body: web::Json<BundleRequest>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    let (documents, bytes) = registry.issue_bundle(&principal, body.into_inner()).await?;
    let mut response = pdf(None, "documents", bytes);
    response.headers_mut().insert(
        header::HeaderName::from_static("x-document-count"),
        header::HeaderValue::from(documents.len()),
    );
    Ok(response)
}

async fn download(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    let (document, bytes) = registry.document_pdf(&principal, &path).await?;
    Ok(pdf(Some(&document), &document.number, bytes))
}

async fn link_list(registry: Registry, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let token = bearer_token(&request).ok_or_else(ApiError::unauthenticated)?;
    Ok(HttpResponse::Ok().json(registry.link_documents(token).await?))
}

async fn link_download(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = bearer_token(&request).ok_or_else(ApiError::unauthenticated)?;
    let (document, bytes) = registry.link_document_pdf(token, &path).await?;
    Ok(pdf(Some(&document), &document.number, bytes))
}

/// Registers the document routes (state registered by [`super::configure`]).
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/api/cases/{id}/documents", web::post().to(issue))
        .route("/api/cases/{id}/documents", web::get().to(list))
        .route("/api/contacts/{id}/documents", web::post().to(issue))
        .route("/api/contacts/{id}/documents", web::get().to(list))
        .route("/api/documents/bundle", web::post().to(bundle))
        .route("/api/documents/{id}/pdf", web::get().to(download))
        .route("/api/followup/documents", web::get().to(link_list))
        .route(
            "/api/followup/documents/{id}/pdf",
            web::get().to(link_download),
        );
}
