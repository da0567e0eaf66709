//! HTTP handlers of the verification service, compatible with Google's
//! exposure-notifications-verification-server (`pkg/api/api.go` at 5a27cc44) where it has
//! an equivalent.
//!
//! | endpoint | auth |
//! | --- | --- |
//! | `POST /api/cases/{id}/processing-number` `{testType?, symptomDate?, testDate?}` | session or admin key, case in scope |
//! | `POST /api/cases/{id}/revoke` | session or admin key, case in scope |
//! | `POST /api/issue` `{testType, symptomDate, testDate, caseId}` | `X-API-Key` (admin) |
//! | `POST /api/batch-issue` `{codes: [issue requests]}` (at most 10) | `X-API-Key` (admin) |
//! | `POST /api/checkcodestatus` `{uuid}`, `POST /api/expirecode` `{uuid}` | `X-API-Key` (admin) |
//! | `POST /api/verify` `{code, accept?, nonce?}` → `{testtype, symptomDate, testDate, token}` | `X-API-Key` (device) |
//! | `POST /api/certificate` `{token, ekeyhmac}` → `{certificate}` | `X-API-Key` (device) |
//! | `POST /api/user-report` `{phone, testDate?, symptomDate?, nonce}` → `{expiresAt, expiresAtTimestamp}` | `X-API-Key` (device) |
//! | `GET /.well-known/jwks.json` | none |
//!
//! Device endpoints answer `X-Chaff` (any non-empty value) with 200 `{"padding": …}` after
//! authentication and before any limit, storing and counting nothing. Success bodies carry
//! `padding` (1–2 KiB of random bytes, base64) as upstream's; errors are
//! `{"error", "code", "errorCode"}` with upstream's codes and, where one code covers several
//! causes, `reason`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use mimamori_cases::api::{ApiError, api_key_principal, staff_principal};
use mimamori_cases::model::Principal;
use mimamori_cases::store::ApiKeyKind;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::model::{VerifyError, response_padding};
use crate::service::{IssueRequest, ServiceError, UserReportRequest, Verification};

/// Most entries in one `POST /api/batch-issue` (upstream's `maxBatchSize`).
pub const MAX_BATCH_ISSUE: usize = 10;

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Verify(e) => {
                let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
                ApiError::new(status, e.code(), e.to_string()).with_reason(e.reason())
            }
            ServiceError::Case(e) => e.into(),
            ServiceError::Conflict { code, message } => {
                ApiError::new(StatusCode::CONFLICT, code, message)
            }
            ServiceError::CodeNotFound => ApiError::new(
                StatusCode::NOT_FOUND,
                "code_not_found",
                "no code with this uuid in your jurisdiction",
            ),
            ServiceError::SmsFailure => ApiError::new(
                StatusCode::BAD_REQUEST,
                "sms_failure",
                "the SMS could not be sent; try again later",
            ),
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

/// Parses a JSON body; anything that is not the expected JSON object is 400
/// `unparsable_request` (upstream's code for it).
fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let message = if body.iter().all(u8::is_ascii_whitespace) {
            "the request body is empty; send a JSON object".to_string()
        } else {
            format!("the request body is not the expected JSON: {e}")
        };
        ServiceError::Verify(VerifyError::Unparsable(message)).into()
    })
}

/// A JSON body that may be empty (the case-page issue form).
fn parse_optional_body<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse_body(body)
}

/// 200 with `body` and upstream's random `padding`.
fn padded(status: StatusCode, mut body: Value) -> HttpResponse {
    if let Value::Object(map) = &mut body {
        map.insert("padding".into(), Value::String(response_padding()));
    }
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

fn is_chaff(request: &HttpRequest) -> bool {
    request
        .headers()
        .get("x-chaff")
        .is_some_and(|value| !value.as_bytes().is_empty())
}

/// The answer to cover traffic: shaped like a success, nothing stored or counted.
fn chaff_response() -> HttpResponse {
    padded(StatusCode::OK, json!({}))
}

/// A device request's body after the device-key check; `None` for cover traffic (`X-Chaff`),
/// which is answered before any parsing or limit.
async fn device_request<T: DeserializeOwned>(
    state: &Verification,
    request: &HttpRequest,
    body: &[u8],
) -> Result<Option<T>, ApiError> {
    api_key_principal(request, state.cases(), ApiKeyKind::Device).await?;
    if is_chaff(request) {
        return Ok(None);
    }
    parse_body(body).map(Some)
}

fn client_address(request: &HttpRequest) -> Option<std::net::IpAddr> {
    request.peer_addr().map(|a| a.ip())
}

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

async fn issue_for_case(
    state: State,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, state.cases()).await?;
    let body: IssueBody = parse_optional_body(&body)?;
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

/// Google's issue request. `phone`, `smsTemplateLabel`, `tzOffset`, `externalIssuerID`,
/// `onlyGenerateSMS` and `padding` are accepted and ignored (this server sends no SMS for
/// health-authority codes; the console shows the SMS link).
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

async fn issue_one(
    state: &Verification,
    principal: &Principal,
    body: GoogleIssue,
) -> Result<Value, ApiError> {
    let case_id = body.case_id.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "case_required",
            "caseId is required: every processing number belongs to a case",
        )
    })?;
    let issued = state
        .issue(
            principal,
            &case_id,
            IssueRequest {
                test_type: body.test_type,
                symptom_date: body.symptom_date,
                test_date: body.test_date,
            },
        )
        .await?;
    serde_json::to_value(issued).map_err(|_| ApiError::internal())
}

async fn issue_google(
    state: State,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let principal = api_key_principal(&request, state.cases(), ApiKeyKind::Admin).await?;
    let body: GoogleIssue = parse_body(&body)?;
    let issued = issue_one(&state, &principal, body).await?;
    Ok(padded(StatusCode::OK, issued))
}

#[derive(Deserialize)]
struct BatchIssueBody {
    codes: Vec<Value>,
}

/// `POST /api/batch-issue`: each entry issued on its own; `codes[i]` is that entry's answer
/// or its `{error, errorCode}`; when any failed, the status and `errorCode` are the first
/// failure's (as upstream's `handle_issue_batch.go`).
async fn batch_issue(
    state: State,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let principal = api_key_principal(&request, state.cases(), ApiKeyKind::Admin).await?;
    let body: BatchIssueBody = parse_body(&body)?;
    if body.codes.is_empty() || body.codes.len() > MAX_BATCH_ISSUE {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "batch_size_invalid",
            format!("send 1 to {MAX_BATCH_ISSUE} codes per batch"),
        ));
    }
    let mut answers = Vec::with_capacity(body.codes.len());
    let mut first_failure: Option<ApiError> = None;
    for entry in body.codes {
        let result = match serde_json::from_value::<GoogleIssue>(entry) {
            Ok(entry) => issue_one(&state, &principal, entry).await,
            Err(e) => Err(ServiceError::Verify(VerifyError::Unparsable(format!(
                "the entry is not an issue request: {e}"
            )))
            .into()),
        };
        match result {
            Ok(mut issued) => {
                issued["padding"] = json!("");
                answers.push(issued);
            }
            Err(error) => {
                answers.push(json!({
                    "error": error.to_string(),
                    "errorCode": error.code(),
                    "padding": "",
                }));
                first_failure.get_or_insert(error);
            }
        }
    }
    let issued = answers.iter().filter(|a| a.get("code").is_some()).count();
    let failed = answers.len() - issued;
    match first_failure {
        None => Ok(padded(StatusCode::OK, json!({ "codes": answers }))),
        Some(first) => Ok(padded(
            first.status(),
            json!({
                "codes": answers,
                "error": format!(
                    "Failed to issue {failed} codes. Issued {issued} codes successfully. See each error status in the codes array."
                ),
                "errorCode": first.code(),
                "code": first.code(),
            }),
        )),
    }
}

#[derive(Deserialize)]
struct UuidBody {
    uuid: String,
}

/// The admin principal and the `uuid` of a code-status request.
async fn uuid_request(
    state: &Verification,
    request: &HttpRequest,
    body: &[u8],
) -> Result<(Principal, String), ApiError> {
    let principal = api_key_principal(request, state.cases(), ApiKeyKind::Admin).await?;
    let body: UuidBody = parse_body(body)?;
    Ok((principal, body.uuid.trim().to_string()))
}

async fn check_code_status(
    state: State,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (principal, uuid) = uuid_request(&state, &request, &body).await?;
    let status = state.code_status(&principal, &uuid).await?;
    Ok(padded(
        StatusCode::OK,
        serde_json::to_value(status).map_err(|_| ApiError::internal())?,
    ))
}

async fn expire_code(
    state: State,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (principal, uuid) = uuid_request(&state, &request, &body).await?;
    let status = state.expire_code(&principal, &uuid).await?;
    Ok(padded(
        StatusCode::OK,
        json!({
            "expiresAtTimestamp": status.expires_at_timestamp,
            "longExpiresAtTimestamp": status.long_expires_at_timestamp,
        }),
    ))
}

/// Decodes a nonce as upstream's tolerant decoder does: standard or URL alphabet, padded
/// or not.
fn decode_nonce(text: &str) -> Result<Vec<u8>, ApiError> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let text = text.trim();
    [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .ok_or_else(|| {
            ServiceError::Verify(VerifyError::Unparsable("nonce is not base64".into())).into()
        })
}

#[derive(Deserialize)]
struct VerifyBody {
    code: String,
    #[serde(default)]
    accept: Option<Vec<String>>,
    #[serde(default)]
    nonce: Option<String>,
}

async fn verify(
    state: State,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let Some(body) = device_request::<VerifyBody>(&state, &request, &body).await? else {
        return Ok(chaff_response());
    };
    let nonce = match body.nonce.as_deref() {
        Some(text) if !text.trim().is_empty() => Some(decode_nonce(text)?),
        _ => None,
    };
    let verified = state
        .verify(
            client_address(&request),
            body.code.trim(),
            body.accept.as_deref(),
            nonce.as_deref(),
        )
        .await?;
    Ok(padded(
        StatusCode::OK,
        serde_json::to_value(verified).map_err(|_| ApiError::internal())?,
    ))
}

#[derive(Deserialize)]
struct CertificateBody {
    token: String,
    ekeyhmac: String,
}

async fn certificate(
    state: State,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let Some(body) = device_request::<CertificateBody>(&state, &request, &body).await? else {
        return Ok(chaff_response());
    };
    let certificate = state
        .certificate(
            client_address(&request),
            body.token.trim(),
            body.ekeyhmac.trim(),
        )
        .await?;
    Ok(padded(
        StatusCode::OK,
        json!({ "certificate": certificate }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserReportBody {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    test_date: Option<String>,
    #[serde(default)]
    symptom_date: Option<String>,
    #[serde(default)]
    nonce: String,
}

async fn user_report(
    state: State,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let Some(body) = device_request::<UserReportBody>(&state, &request, &body).await? else {
        return Ok(chaff_response());
    };
    let nonce = decode_nonce(&body.nonce)?;
    let reported = state
        .user_report(
            client_address(&request),
            UserReportRequest {
                test_date: body.test_date,
                symptom_date: body.symptom_date,
                phone: body.phone,
                nonce,
            },
        )
        .await?;
    Ok(padded(
        StatusCode::OK,
        serde_json::to_value(reported).map_err(|_| ApiError::internal())?,
    ))
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
        .route("/api/batch-issue", web::post().to(batch_issue))
        .route("/api/checkcodestatus", web::post().to(check_code_status))
        .route("/api/expirecode", web::post().to(expire_code))
        .route("/api/verify", web::post().to(verify))
        .route("/api/certificate", web::post().to(certificate))
        .route("/api/user-report", web::post().to(user_report))
        .route("/.well-known/jwks.json", web::get().to(jwks));
}
