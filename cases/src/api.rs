//! HTTP handlers of the case registry, and the JSON error type and authentication helpers
//! the verification service's handlers share.
//!
//! | endpoint | who |
//! | --- | --- |
//! | `POST /api/auth/login` `{username, password, totp}` → `{token, expiresAtMs}` | anyone |
//! | `POST /api/auth/logout`, `GET /api/auth/me` | a session |
//! | `POST /api/auth/password` `{currentPassword, newPassword}` (ends every session) | a session |
//! | `GET/POST /api/organizations` | national org admin |
//! | `POST /api/users` `{organizationId, username, roles}` | org admin (own org; national: any) |
//! | `POST /api/api-keys` `{organizationId?, kind, name}`, `DELETE /api/api-keys/{id}` | org admin |
//! | `POST /api/cases` (notification of occurrence), `GET /api/cases?status&q&page&perPage` | doctor, case worker |
//! | `POST /api/cases/import` (CSV body) | health-center case worker |
//! | `GET /api/cases/{id}`, `POST /api/cases/{id}/status`, `/contacts`, `/links` | in scope |
//! | `GET /api/statistics/cases` (counts only, small counts suppressed) | statistics viewer, org admin |
//! | `GET /api/statistics/tables/{table}?from&to&format=json\|csv` (`new_cases`, `cases_by_status`, `open_alerts`, `verification`) | statistics viewer, org admin |
//!
//! Follow-up (plans, link tokens, observations, alerts, series, chart) is in [`followup`];
//! duplicate persons (review queue, dismissal, merge) in [`duplicates`].
//!
//! Sessions travel as `Authorization: Bearer <token>`. Outside scope every case endpoint
//! answers 404, exactly like an unknown id.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::{Deserialize, Serialize};

use crate::model::{OrgKind, Principal, Role};
use crate::service::{CaseError, CaseRegistry};
use crate::store::ApiKeyKind;

pub mod clusters;
pub mod contacts;
pub mod documents;
pub mod duplicates;
pub mod followup;
pub mod lab_tests;
pub mod messages;
pub mod open_data;
pub mod retention;
pub mod tasks;

/// An HTTP error: `{"error": message, "code": code, "errorCode": code}` (the last for
/// clients of Google's verification server), optionally with `details`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Option<serde_json::Value>,
    retry_after_seconds: Option<u64>,
    reason: Option<&'static str>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    code: &'a str,
    #[serde(rename = "errorCode")]
    error_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

impl ApiError {
    /// An error with a status, a stable code and a message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after_seconds: None,
            reason: None,
        }
    }

    /// Adds the precise cause behind a protocol code (`reason`, for operators), where the
    /// protocol folds several causes into one code.
    pub fn with_reason(mut self, reason: &'static str) -> Self {
        if reason != self.code {
            self.reason = Some(reason);
        }
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Adds structured details (validation errors).
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// 429 with `Retry-After`.
    pub fn too_many_requests(retry_after_seconds: u64) -> Self {
        ApiError {
            retry_after_seconds: Some(retry_after_seconds.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; retry later",
            )
        }
    }

    /// 404.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    /// 401.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "missing or invalid credentials",
        )
    }

    /// 500 with a generic message (log the cause before).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the request id identifies it in the server log",
        )
    }

    /// 503 while the database is unavailable.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database is unavailable; retry later",
        )
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after_seconds
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.insert_header((header::RETRY_AFTER, value));
        }
        response.json(ErrorBody {
            error: &self.message,
            code: self.code,
            error_code: self.code,
            details: self.details.as_ref(),
            reason: self.reason,
        })
    }
}

impl From<CaseError> for ApiError {
    fn from(error: CaseError) -> Self {
        match error {
            CaseError::Unauthenticated => ApiError::unauthenticated(),
            CaseError::InvalidCredentials => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "wrong user name, password or one-time code",
            ),
            CaseError::SignInLocked {
                retry_after_seconds,
            } => ApiError::too_many_requests(retry_after_seconds),
            CaseError::Forbidden => ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "your role does not allow this",
            ),
            CaseError::NotFound => ApiError::not_found(),
            CaseError::BadRequest { code, message } => {
                ApiError::new(StatusCode::BAD_REQUEST, code, message)
            }
            CaseError::Invalid(fields) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "some fields are invalid; see details",
            )
            .with_details(serde_json::to_value(fields).unwrap_or_default()),
            CaseError::ImportRejected(rows) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "import_rejected",
                "nothing was imported; see details for every row",
            )
            .with_details(serde_json::to_value(rows).unwrap_or_default()),
            CaseError::Conflict { code, message } => {
                ApiError::new(StatusCode::CONFLICT, code, message)
            }
            CaseError::Unavailable { code, message } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
            }
            CaseError::Store(e) if e.is_invalid_input() => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_character",
                "the input contains a NUL character (U+0000); remove it",
            ),
            CaseError::Store(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, storage_error_kind = %e.kind(), "database unavailable");
                ApiError::unavailable()
            }
            CaseError::Store(e) => {
                tracing::error!(error = %e, storage_error_kind = %e.kind(), "case store failed");
                ApiError::internal()
            }
            CaseError::Internal(e) => {
                tracing::error!(error = %e, "case registry failed");
                ApiError::internal()
            }
        }
    }
}

/// The bearer token of a request.
pub fn bearer_token(request: &HttpRequest) -> Option<&str> {
    request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
}

/// The `X-API-Key` of a request.
pub fn api_key(request: &HttpRequest) -> Option<&str> {
    request
        .headers()
        .get("x-api-key")?
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
}

/// The signed-in principal of a request (session bearer token).
pub async fn session_principal(
    request: &HttpRequest,
    registry: &CaseRegistry,
) -> Result<Principal, ApiError> {
    let token = bearer_token(request).ok_or_else(ApiError::unauthenticated)?;
    Ok(registry.authenticate_session(token).await?)
}

/// The principal of a request's `X-API-Key` of `kind`.
pub async fn api_key_principal(
    request: &HttpRequest,
    registry: &CaseRegistry,
    kind: ApiKeyKind,
) -> Result<Principal, ApiError> {
    let key = api_key(request).ok_or_else(ApiError::unauthenticated)?;
    Ok(registry.authenticate_api_key(key, kind).await?)
}

/// A session or, failing that, an admin API key.
pub async fn staff_principal(
    request: &HttpRequest,
    registry: &CaseRegistry,
) -> Result<Principal, ApiError> {
    if bearer_token(request).is_some() {
        session_principal(request, registry).await
    } else {
        api_key_principal(request, registry, ApiKeyKind::Admin).await
    }
}

type Registry = web::Data<CaseRegistry>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
    totp: String,
}

async fn login(
    registry: Registry,
    request: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let client = request.peer_addr().map(|address| address.ip());
    let session = registry
        .login(&body.username, &body.password, &body.totp, client)
        .await?;
    Ok(HttpResponse::Ok().json(session))
}

async fn logout(registry: Registry, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let token = bearer_token(&request).ok_or_else(ApiError::unauthenticated)?;
    registry.logout(token).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

async fn change_password(
    registry: Registry,
    request: HttpRequest,
    body: web::Json<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let principal = session_principal(&request, &registry).await?;
    registry
        .change_password(&principal, &body.current_password, &body.new_password)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Me {
    user_id: Option<String>,
    organization_id: String,
    organization_kind: OrgKind,
    roles: Vec<Role>,
}

async fn me(registry: Registry, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let principal = session_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(Me {
        user_id: principal.user_id,
        organization_id: principal.organization.id,
        organization_kind: principal.organization.kind,
        roles: principal.roles,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewOrganization {
    kind: OrgKind,
    name: String,
    #[serde(default)]
    parent_id: Option<String>,
}

async fn create_organization(
    registry: Registry,
    request: HttpRequest,
    body: web::Json<NewOrganization>,
) -> Result<HttpResponse, ApiError> {
    let principal = session_principal(&request, &registry).await?;
    let org = registry
        .create_organization(
            Some(&principal),
            body.kind,
            &body.name,
            body.parent_id.as_deref(),
        )
        .await?;
    Ok(HttpResponse::Created().json(org))
}

async fn list_organizations(
    registry: Registry,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let principal = session_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(registry.organizations(Some(&principal)).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewUserRequest {
    organization_id: String,
    username: String,
    roles: Vec<Role>,
}

async fn create_user(
    registry: Registry,
    request: HttpRequest,
    body: web::Json<NewUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let principal = session_principal(&request, &registry).await?;
    let body = body.into_inner();
    let user = registry
        .create_user(
            Some(&principal),
            &body.organization_id,
            &body.username,
            body.roles,
        )
        .await?;
    Ok(HttpResponse::Created().json(user))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewApiKey {
    #[serde(default)]
    organization_id: Option<String>,
    kind: ApiKeyKind,
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreatedApiKey {
    id: String,
    key: String,
}

async fn create_api_key(
    registry: Registry,
    request: HttpRequest,
    body: web::Json<NewApiKey>,
) -> Result<HttpResponse, ApiError> {
    let principal = session_principal(&request, &registry).await?;
    let organization = body
        .organization_id
        .clone()
        .unwrap_or_else(|| principal.organization.id.clone());
    let (id, key) = registry
        .create_api_key(Some(&principal), &organization, body.kind, &body.name)
        .await?;
    Ok(HttpResponse::Created().json(CreatedApiKey { id, key }))
}

async fn revoke_api_key(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = session_principal(&request, &registry).await?;
    registry.revoke_api_key(&principal, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn file_case(
    registry: Registry,
    request: HttpRequest,
    body: web::Json<crate::model::Notification>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    let view = registry.file(&principal, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    page: Option<i64>,
    #[serde(default)]
    per_page: Option<i64>,
}

async fn list_cases(
    registry: Registry,
    request: HttpRequest,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    let list = registry
        .list(
            &principal,
            // An empty status is no status (400): leave the parameter out for all.
            query.status.as_deref(),
            query.q.as_deref().filter(|s| !s.is_empty()),
            query.page.unwrap_or(1),
            query.per_page.unwrap_or(20),
        )
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

async fn read_case(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(registry.read(&principal, &path).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusChange {
    status: String,
}

async fn change_status(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Json<StatusChange>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(
        registry
            .change_status(&principal, &path, &body.status)
            .await?,
    ))
}

async fn add_contact(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    let id = registry
        .add_contact(&principal, &path, body.into_inner())
        .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({ "id": id })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LinkRequest {
    case_id: String,
}

async fn add_link(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Json<LinkRequest>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    registry.add_link(&principal, &path, &body.case_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn statistics(registry: Registry, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(registry.statistics(&principal).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

async fn statistics_table(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
    query: web::Query<TableQuery>,
) -> Result<HttpResponse, ApiError> {
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_format",
                "format: json or csv",
            ));
        }
    };
    let principal = staff_principal(&request, &registry).await?;
    let table = registry
        .statistics_table(
            &principal,
            &path,
            // An empty date is no date (400), not the default: leave the parameter out.
            query.from.as_deref(),
            query.to.as_deref(),
        )
        .await?;
    Ok(if csv {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}.csv\"", table.table),
            ))
            .body(table.to_csv())
    } else {
        HttpResponse::Ok().json(table)
    })
}

async fn correct_case(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Json<serde_json::Map<String, serde_json::Value>>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(
        registry
            .correct_case(&principal, &path, body.into_inner())
            .await?,
    ))
}

async fn case_revisions(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(registry.case_revisions(&principal, &path).await?))
}

async fn transfer_case(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Json<crate::service::records::Transfer>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(
        registry
            .transfer_case(&principal, &path, &body.health_center_id)
            .await?,
    ))
}

async fn import_cases(
    registry: Registry,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_encoding",
            "CSV must be UTF-8",
        )
    })?;
    let ids = registry.import_csv(&principal, text).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({ "imported": ids.len(), "caseIds": ids })))
}

/// Registers this service's routes with `registry` as shared state.
pub fn configure(config: &mut web::ServiceConfig, registry: web::Data<CaseRegistry>) {
    config
        .app_data(registry)
        .route("/api/auth/login", web::post().to(login))
        .route("/api/auth/logout", web::post().to(logout))
        .route("/api/auth/me", web::get().to(me))
        .route("/api/auth/password", web::post().to(change_password))
        .route("/api/organizations", web::post().to(create_organization))
        .route("/api/organizations", web::get().to(list_organizations))
        .route("/api/users", web::post().to(create_user))
        .route("/api/api-keys", web::post().to(create_api_key))
        .route("/api/api-keys/{id}", web::delete().to(revoke_api_key))
        .route("/api/cases", web::post().to(file_case))
        .route("/api/cases", web::get().to(list_cases))
        .route("/api/cases/import", web::post().to(import_cases))
        .route("/api/statistics/cases", web::get().to(statistics))
        .route(
            "/api/statistics/tables/{table}",
            web::get().to(statistics_table),
        )
        .route("/api/cases/{id}", web::get().to(read_case))
        .route("/api/cases/{id}/status", web::post().to(change_status))
        .route("/api/cases/{id}/contacts", web::post().to(add_contact))
        .route("/api/cases/{id}/links", web::post().to(add_link))
        .route("/api/cases/{id}", web::patch().to(correct_case))
        .route("/api/cases/{id}/revisions", web::get().to(case_revisions))
        .route("/api/cases/{id}/transfer", web::post().to(transfer_case))
        .configure(followup::configure)
        .configure(contacts::configure)
        .configure(clusters::configure)
        .configure(lab_tests::configure)
        .configure(retention::configure)
        .configure(documents::configure)
        .configure(messages::configure)
        .configure(tasks::configure)
        .configure(duplicates::configure)
        .configure(open_data::configure);
}
