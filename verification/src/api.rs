//! HTTP handlers of the verification service (Google verification-server compatible where
//! it has an equivalent).
//!
//! | endpoint | auth |
//! | --- | --- |
//! | `POST /api/cases/{id}/processing-number` `{testType?, symptomDate?, testDate?}` | session or admin key, case in scope |
//! | `POST /api/cases/{id}/revoke` | session or admin key, case in scope |
//! | `POST /api/issue` `{testType, symptomDate, testDate, caseId}` | `X-API-Key` (admin) |
//! | `POST /api/verify` `{code, accept?}` → `{testtype, symptomDate, testDate, token}` | `X-API-Key` (device) |
//! | `POST /api/certificate` `{token, ekeyhmac}` → `{certificate}` | `X-API-Key` (device) |
//! | `GET /.well-known/jwks.json` | none |

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use mimamori_cases::api::{ApiError, api_key_principal, staff_principal};
use mimamori_cases::store::ApiKeyKind;
use serde::Deserialize;

use crate::service::{IssueRequest, ServiceError, Verification};

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Verify(e) => {
                ApiError::new(StatusCode::BAD_REQUEST, e.code(), e.to_string())
            }
            ServiceError::Case(e) => e.into(),
            ServiceError::Conflict { code, message } => {
                ApiError::new(StatusCode::CONFLICT, code, message)
            }
            ServiceError::RateLimited {
                retry_after_seconds,
                ..
            } => ApiError::too_many_requests(retry_after_seconds),
            ServiceError::Unavailable(e) => {
                tracing::warn!(error = %e, "verification store unavailable");
                ApiError::unavailable()
            }
            ServiceError::Internal(e) => {
                tracing::error!(error = %e, "verification failed");
                ApiError::internal()
            }
        }
    }
}

type State = web::Data<Verification>;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IssueBody {
    #[serde(default)]
    test_type: Option<String>,
    #[serde(default)]
    symptom_date: Option<String>,
    #[serde(default)]
    test_date: Option<String>,
}

fn parse_optional_json<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("invalid JSON body: {e}"),
        )
    })
}

async fn issue_for_case(
    state: State,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, state.cases()).await?;
    let body: IssueBody = parse_optional_json(&body)?;
    let issued = state
        .issue(
            &principal,
            &path,
            IssueRequest {
                test_type: body.test_type,
                symptom_date: body.symptom_date,
                test_date: body.test_date,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(issued))
}

/// Google's issue request (extra fields such as `phone` or `padding` are accepted and
/// ignored; SMS is not sent by this server).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GoogleIssue {
    #[serde(default)]
    test_type: Option<String>,
    #[serde(default)]
    symptom_date: Option<String>,
    #[serde(default)]
    test_date: Option<String>,
    #[serde(default, rename = "caseId")]
    case_id: Option<String>,
}

async fn issue_google(
    state: State,
    request: HttpRequest,
    body: web::Json<GoogleIssue>,
) -> Result<HttpResponse, ApiError> {
    let principal = api_key_principal(&request, state.cases(), ApiKeyKind::Admin).await?;
    let body = body.into_inner();
    let case_id = body.case_id.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "case_required",
            "caseId is required: every processing number belongs to a case",
        )
    })?;
    let issued = state
        .issue(
            &principal,
            &case_id,
            IssueRequest {
                test_type: body.test_type,
                symptom_date: body.symptom_date,
                test_date: body.test_date,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(issued))
}

#[derive(Deserialize)]
struct VerifyBody {
    code: String,
    #[serde(default)]
    accept: Option<Vec<String>>,
}

async fn verify(
    state: State,
    request: HttpRequest,
    body: web::Json<VerifyBody>,
) -> Result<HttpResponse, ApiError> {
    let device = api_key_principal(&request, state.cases(), ApiKeyKind::Device).await?;
    let client = request.peer_addr().map(|a| a.ip());
    let verified = state
        .verify(&device, client, body.code.trim(), body.accept.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(verified))
}

#[derive(Deserialize)]
struct CertificateBody {
    token: String,
    ekeyhmac: String,
}

async fn certificate(
    state: State,
    request: HttpRequest,
    body: web::Json<CertificateBody>,
) -> Result<HttpResponse, ApiError> {
    let device = api_key_principal(&request, state.cases(), ApiKeyKind::Device).await?;
    let client = request.peer_addr().map(|a| a.ip());
    let certificate = state
        .certificate(&device, client, body.token.trim(), body.ekeyhmac.trim())
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "certificate": certificate })))
}

async fn revoke(
    state: State,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, state.cases()).await?;
    Ok(HttpResponse::Ok().json(state.revoke_case(&principal, &path).await?))
}

async fn jwks(state: State) -> Result<HttpResponse, ApiError> {
    let keys = state.jwks().await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(serde_json::json!({ "keys": keys })))
}

/// Registers this service's routes with `state` as shared state.
pub fn configure(config: &mut web::ServiceConfig, state: web::Data<Verification>) {
    config
        .app_data(state)
        .route(
            "/api/cases/{id}/processing-number",
            web::post().to(issue_for_case),
        )
        .route("/api/cases/{id}/revoke", web::post().to(revoke))
        .route("/api/issue", web::post().to(issue_google))
        .route("/api/verify", web::post().to(verify))
        .route("/api/certificate", web::post().to(certificate))
        .route("/.well-known/jwks.json", web::get().to(jwks));
}
