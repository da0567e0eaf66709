//! The case registry's part of `/openapi.json` (documentation schemas; the handlers are in
//! [`crate::api`]).

use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// Every error body: `{error, code, errorCode, details?}`.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct CaseErrorSchema {
    /// Human-readable message.
    error: String,
    /// Stable code.
    code: String,
    /// The same code, for clients of Google's verification server.
    #[serde(rename = "errorCode")]
    error_code: String,
    /// Field- or row-level problems (validation, CSV import).
    details: Option<Vec<serde_json::Value>>,
}

/// Sign-in request.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct LoginSchema {
    /// User name.
    username: String,
    /// Password.
    password: String,
    /// Current 6-digit TOTP (each code works once).
    totp: String,
}

/// A session.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SessionSchema {
    /// Bearer token.
    token: String,
    /// Expiry, Unix ms.
    expires_at_ms: i64,
}

/// A new organization.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
pub struct NewOrganizationSchema {
    /// The kind (national organizations are made by `admin init` only).
    kind: OrgKindSchema,
    /// Name.
    name: String,
    /// A health center's prefecture; optionally a medical institution's health center.
    parent_id: Option<String>,
}

/// A new user.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
pub struct NewUserSchema {
    /// Organization.
    organization_id: String,
    /// User name.
    username: String,
    /// Roles.
    roles: Vec<RoleSchema>,
}

/// A created user's one-time credentials.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CreatedUserSchema {
    /// Id.
    id: String,
    /// User name.
    username: String,
    /// Initial password (shown once).
    password: String,
    /// TOTP secret, base32 (shown once).
    totp_secret: String,
    /// `otpauth://` URI.
    totp_uri: String,
}

/// A new API key.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
pub struct NewApiKeySchema {
    /// Organization (default: the caller's).
    organization_id: Option<String>,
    /// `admin` (issue API) or `device` (apps).
    kind: ApiKeyKindSchema,
    /// Label.
    name: String,
}

/// A created API key.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct CreatedApiKeySchema {
    /// Id (to revoke).
    id: String,
    /// The key (shown once; send as `X-API-Key`).
    key: String,
}

/// A case with its notification, history, contacts and links (see
/// [`crate::service::CaseView`]; the notification fields are those of
/// [`crate::model::Notification`]).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CaseSchema {
    /// Case id.
    id: String,
    /// `reported`, `accepted`, `home_care`, `hotel_care`, `hospitalized`, `icu_ventilator`, `recovered`, `deceased`.
    status: String,
    /// Health center of jurisdiction.
    health_center_id: String,
    /// Its prefecture.
    prefecture_id: String,
    /// Filing organization.
    reporting_organization_id: String,
    /// Revoked as a false positive.
    revoked: bool,
    /// Created, Unix ms.
    created_at_ms: i64,
    /// Updated, Unix ms.
    updated_at_ms: i64,
    /// The notification of occurrence.
    notification: serde_json::Value,
    /// Status changes and lifecycle events (`number_issued`, `number_claimed`,
    /// `certificate_issued`, `keys_published`, `number_expired`, `revoked`, `keys_revoked`).
    history: Vec<serde_json::Value>,
    /// Close contacts.
    contacts: Vec<serde_json::Value>,
    /// Linked case ids.
    links: Vec<String>,
    /// The case this one was merged into (a duplicate of the same person), or null.
    merged_into: Option<String>,
}

/// A page of cases.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CaseListSchema {
    /// `{id, status, name, healthCenterId, diagnosisDate, createdAtMs}` rows.
    items: Vec<serde_json::Value>,
    /// Total matching.
    total: i64,
    /// Page (from 1).
    page: i64,
    /// Page size.
    per_page: i64,
}

/// A status change.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct StatusChangeSchema {
    /// The new status.
    status: CaseStatusSchema,
}

/// A case status.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum CaseStatusSchema {
    /// Filed, not yet accepted.
    Reported,
    /// Accepted by the health center.
    Accepted,
    /// Home care.
    HomeCare,
    /// Hotel care.
    HotelCare,
    /// In hospital.
    Hospitalized,
    /// ICU or ventilator.
    IcuVentilator,
    /// Recovered.
    Recovered,
    /// Deceased.
    Deceased,
}

/// The kind of a new organization.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum OrgKindSchema {
    /// A prefecture.
    Prefecture,
    /// A health center (parent: its prefecture).
    HealthCenter,
    /// A clinic or hospital.
    MedicalInstitution,
    /// A contractor.
    Contractor,
}

/// A user's role.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum RoleSchema {
    /// Manages the organization's users and keys.
    OrgAdmin,
    /// Works on cases.
    CaseWorker,
    /// Files notifications.
    Doctor,
    /// Reads statistics.
    StatisticsViewer,
}

/// The kind of an API key.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ApiKeyKindSchema {
    /// The issue API.
    Admin,
    /// Apps.
    Device,
}

/// A statistics table.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum StatisticsTableSchema {
    /// New cases per diagnosis date.
    NewCases,
    /// Cases in each status at the end of each day.
    CasesByStatus,
    /// Open alerts by kind.
    OpenAlerts,
    /// Processing numbers and key publications per day.
    Verification,
}

/// A statistics format.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum TableFormatSchema {
    /// JSON (default).
    Json,
    /// CSV.
    Csv,
}

/// An alert state filter.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum AlertStateSchema {
    /// Open.
    Open,
    /// Acknowledged.
    Acknowledged,
    /// Resolved.
    Resolved,
    /// Open and acknowledged.
    Active,
}

/// An infection link.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
pub struct LinkSchema {
    /// The other case.
    case_id: String,
}

#[utoipa::path(post, path = "/api/auth/login", tag = "cases", request_body = LoginSchema,
    responses((status = 200, body = SessionSchema), (status = 401, description = "Wrong name, password or one-time code", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn login() {}

#[utoipa::path(post, path = "/api/auth/logout", tag = "cases",
    responses((status = 204, description = "Session ended"), (status = 401, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn logout() {}

/// A password change.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
pub struct PasswordChangeSchema {
    /// The current password.
    current_password: String,
    /// The new password (12 to 256 characters, not the current one).
    #[schema(min_length = 12, max_length = 256)]
    new_password: String,
}

#[utoipa::path(post, path = "/api/auth/password", tag = "cases", request_body = PasswordChangeSchema,
    responses((status = 204, description = "Changed; every session of the user ended"), (status = 400, description = "Weak password", body = CaseErrorSchema), (status = 401, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn change_password() {}

#[utoipa::path(get, path = "/api/auth/me", tag = "cases",
    responses((status = 200, description = "`{userId, organizationId, organizationKind, roles}`"), (status = 401, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn me() {}

#[utoipa::path(post, path = "/api/organizations", tag = "cases", request_body = NewOrganizationSchema,
    responses((status = 201, description = "The organization"), (status = 400, body = CaseErrorSchema), (status = 403, description = "Not a national admin", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn create_organization() {}

#[utoipa::path(get, path = "/api/organizations", tag = "cases",
    responses((status = 200, description = "Every organization"), (status = 403, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn list_organizations() {}

#[utoipa::path(post, path = "/api/users", tag = "cases", request_body = NewUserSchema,
    responses((status = 201, body = CreatedUserSchema), (status = 403, body = CaseErrorSchema), (status = 404, description = "Organization outside the admin's scope", body = CaseErrorSchema), (status = 409, description = "User name taken", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn create_user() {}

#[utoipa::path(post, path = "/api/api-keys", tag = "cases", request_body = NewApiKeySchema,
    responses((status = 201, body = CreatedApiKeySchema), (status = 403, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn create_api_key() {}

#[utoipa::path(delete, path = "/api/api-keys/{id}", tag = "cases", params(("id" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn revoke_api_key() {}

#[utoipa::path(post, path = "/api/cases", tag = "cases",
    request_body(content = crate::model::Notification, description = "The notification of occurrence"),
    responses((status = 201, body = CaseSchema), (status = 403, body = CaseErrorSchema), (status = 422, description = "Validation failed, field by field", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn file_case() {}

#[utoipa::path(get, path = "/api/cases", tag = "cases",
    params(("status" = Option<CaseStatusSchema>, Query), ("q" = Option<String>, Query, description = "Name prefix"),
           ("page" = Option<i64>, Query, minimum = 1, maximum = 1_000_000), ("perPage" = Option<i64>, Query, minimum = 1, description = "Page size (capped at the configured maximum)")),
    responses((status = 200, body = CaseListSchema), (status = 403, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn list_cases() {}

#[utoipa::path(post, path = "/api/cases/import", tag = "cases",
    request_body(content = String, content_type = "text/csv", description = "One row per case; columns in `csv::COLUMNS`"),
    responses((status = 201, description = "`{imported, caseIds}`"), (status = 422, description = "Nothing imported; row-by-row report in details", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn import_cases() {}

#[utoipa::path(get, path = "/api/cases/{id}", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, body = CaseSchema), (status = 403, body = CaseErrorSchema), (status = 404, description = "Unknown or outside scope", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn read_case() {}

#[utoipa::path(post, path = "/api/cases/{id}/status", tag = "cases", params(("id" = String, Path)), request_body = StatusChangeSchema,
    responses((status = 200, body = CaseSchema), (status = 404, body = CaseErrorSchema), (status = 409, description = "Transition not allowed", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn change_status() {}

#[utoipa::path(post, path = "/api/cases/{id}/contacts", tag = "cases", params(("id" = String, Path)),
    request_body(content = std::collections::HashMap<String, serde_json::Value>, description = "A close contact (JSON object: name, phone, last contact date, …)"),
    responses((status = 201, description = "`{id}`"), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn add_contact() {}

#[utoipa::path(post, path = "/api/cases/{id}/links", tag = "cases", params(("id" = String, Path)), request_body = LinkSchema,
    responses((status = 204, description = "Linked"), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn add_link() {}

#[utoipa::path(get, path = "/api/statistics/cases", tag = "cases",
    responses((status = 200, description = "`{total, byStatus, byPrefecture}`; each count a number, \"<5\" (1 to 4) or \"x\" (5 or more, withheld so that no \"<5\" can be derived by subtraction); no names or contact details"),
              (status = 403, description = "Not a statistics viewer or org admin", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn statistics() {}

use crate::model::followup::ObservationInput;
use crate::service::followup::{
    AlertView, FollowUpToken, ObservationReceipt, PlanInput, PlanView, Series,
};

#[utoipa::path(put, path = "/api/cases/{id}/followup", tag = "followup", params(("id" = String, Path)), request_body = PlanInput,
    responses((status = 200, body = PlanView), (status = 403, body = CaseErrorSchema), (status = 404, description = "Unknown or outside scope", body = CaseErrorSchema),
              (status = 422, description = "Bad dates, times or responsible organization", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn set_plan() {}

#[utoipa::path(get, path = "/api/cases/{id}/followup", tag = "followup", params(("id" = String, Path)),
    responses((status = 200, body = PlanView), (status = 404, description = "No plan, unknown or outside scope", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn read_plan() {}

#[utoipa::path(post, path = "/api/cases/{id}/followup/token", tag = "followup", params(("id" = String, Path)),
    responses((status = 201, description = "A new link token (earlier ones stop working); shown once", body = FollowUpToken),
              (status = 403, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema), (status = 409, description = "No plan, or the plan has ended", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn issue_followup_token() {}

#[utoipa::path(delete, path = "/api/cases/{id}/followup/token", tag = "followup", params(("id" = String, Path)),
    responses((status = 204, description = "Every link token of the case revoked"), (status = 403, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn revoke_followup_tokens() {}

#[utoipa::path(post, path = "/api/followup/observations", tag = "followup", request_body = ObservationInput,
    description = "The patient's (or a family member's) daily report, with `Authorization: Bearer <link token>`.",
    responses((status = 201, body = ObservationReceipt), (status = 401, description = "Unknown, revoked or expired link token", body = CaseErrorSchema),
              (status = 422, description = "Impossible values (temperature outside 30–45 °C, SpO2 outside 50–100)", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn patient_observation() {}

#[utoipa::path(post, path = "/api/cases/{id}/observations", tag = "followup", params(("id" = String, Path)), request_body = ObservationInput,
    description = "An observation entered by staff on the patient's behalf (marked as proxy).",
    responses((status = 201, body = ObservationReceipt), (status = 404, body = CaseErrorSchema), (status = 409, description = "No plan", body = CaseErrorSchema),
              (status = 422, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn proxy_observation() {}

#[utoipa::path(get, path = "/api/cases/{id}/followup/series", tag = "followup", params(("id" = String, Path)),
    responses((status = 200, body = Series), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn followup_series() {}

#[utoipa::path(get, path = "/api/cases/{id}/followup/chart.svg", tag = "followup", params(("id" = String, Path)),
    responses((status = 200, description = "Temperature and SpO2 per day with the alert thresholds", content_type = "image/svg+xml", body = String),
              (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn followup_chart() {}

#[utoipa::path(get, path = "/api/alerts", tag = "followup",
    params(("state" = Option<AlertStateSchema>, Query, description = "Default: open and acknowledged")),
    responses((status = 200, description = "The organization's worklist, by severity then age", body = Vec<AlertView>),
              (status = 400, body = CaseErrorSchema), (status = 403, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn worklist() {}

#[utoipa::path(post, path = "/api/alerts/{id}/acknowledge", tag = "followup", params(("id" = String, Path)),
    responses((status = 200, body = AlertView), (status = 404, body = CaseErrorSchema), (status = 409, description = "Not open any more", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn acknowledge_alert() {}

#[utoipa::path(post, path = "/api/alerts/{id}/resolve", tag = "followup", params(("id" = String, Path)),
    responses((status = 200, body = AlertView), (status = 404, body = CaseErrorSchema), (status = 409, description = "Already resolved", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn resolve_alert() {}

#[utoipa::path(get, path = "/api/statistics/tables/{table}", tag = "cases",
    params(("table" = StatisticsTableSchema, Path),
           ("from" = Option<String>, Query, format = Date, description = "First day (default: 29 days before `to`)"),
           ("to" = Option<String>, Query, format = Date, description = "Last day (default: today)"),
           ("format" = Option<TableFormatSchema>, Query, description = "Default: json")),
    responses((status = 200, description = "Grouped counts of the caller's area; counts from 1 to `minimumCount` − 1 shown as `\"<N\"`; no names, contact details or case ids; CSV with `format=csv`",
               content((crate::service::statistics::StatisticsTableView = "application/json"), (String = "text/csv"))),
              (status = 400, description = "A date or format that does not parse", body = CaseErrorSchema), (status = 403, body = CaseErrorSchema), (status = 404, description = "Unknown table", body = CaseErrorSchema),
              (status = 422, description = "`from` after `to`, or a range over 366 days", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn statistics_table() {}

/// An open-data file name.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub enum OpenDataFileSchema {
    #[serde(rename = "new_cases.csv")]
    /// New cases, CSV.
    NewCasesCsv,
    #[serde(rename = "new_cases.json")]
    /// New cases, JSON.
    NewCasesJson,
    #[serde(rename = "cases_by_status.csv")]
    /// Cases by status, CSV.
    CasesByStatusCsv,
    #[serde(rename = "cases_by_status.json")]
    /// Cases by status, JSON.
    CasesByStatusJson,
    #[serde(rename = "notifications.csv")]
    /// Exposure notifications, CSV.
    NotificationsCsv,
    #[serde(rename = "notifications.json")]
    /// Exposure notifications, JSON.
    NotificationsJson,
}

#[utoipa::path(get, path = "/open/data/{file}", tag = "open data",
    description = "Public open data, no credentials. `new_cases`: `date, area, count, average7` (area `national` or a prefecture's name; `average7` the 7-day average where all seven counts are shown). `cases_by_status`: `date, area, status, count` (status `home_care`, `hotel_care`, `hospitalized`, `icu_ventilator`, at the end of the day). `notifications`: `date, newCases, registrations, keys` (nation-wide: uploads of the exposure-notification app and keys in them). Counts from 1 to `minimumCount` − 1 are `<N`; `x` is withheld so that no hidden count can be derived by subtraction. The last 120 days up to yesterday. Cached (`max-age=300`), ETag.",
    params(("file" = OpenDataFileSchema, Path),
           ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer")),
    responses((status = 200, description = "The file", content((String = "text/csv"), (serde_json::Value = "application/json"))),
              (status = 304, description = "Unchanged since the ETag given"),
              (status = 404, description = "No such file", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn open_data_file() {}

#[utoipa::path(get, path = "/open/snapshots/manifest.json", tag = "open data",
    description = "Every immutable daily snapshot: its date, build time, each file's SHA-256, size and URL, and the dates whose figures it revised (`revisedDates`, per CSV file) against the snapshot before.",
    params(("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer")),
    responses((status = 200, description = "The manifest", body = serde_json::Value),
              (status = 304, description = "Unchanged since the ETag given")))]
#[allow(dead_code)]
fn open_data_manifest() {}

#[utoipa::path(get, path = "/open/snapshots/{date}/{file}", tag = "open data",
    description = "A file of a listed snapshot; never changes (`immutable`, a year), served only when its SHA-256 is the manifest's.",
    params(("date" = String, Path, format = Date), ("file" = OpenDataFileSchema, Path),
           ("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer")),
    responses((status = 200, description = "The file", content((String = "text/csv"), (serde_json::Value = "application/json"))),
              (status = 304, description = "Unchanged since the ETag given"),
              (status = 404, description = "No such snapshot or file", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn open_data_snapshot() {}

#[utoipa::path(get, path = "/open/", tag = "open data",
    description = "The public dashboard in Japanese (no sign-in, no JavaScript): new cases with the 7-day average, by prefecture, cases by status, the exposure-notification figures, as SVG charts with tables.",
    responses((status = 200, description = "HTML page", content_type = "text/html")))]
#[allow(dead_code)]
fn open_page() {}

#[utoipa::path(get, path = "/open/en/", tag = "open data",
    description = "The public dashboard in English.",
    responses((status = 200, description = "HTML page", content_type = "text/html")))]
#[allow(dead_code)]
fn open_page_en() {}

use crate::service::contacts::{
    ContactStatusChange, ContactView, Conversion, ExposureInput, NewContact,
};

#[utoipa::path(post, path = "/api/contacts", tag = "contacts", request_body = NewContact,
    description = "Records a close contact found by the contact investigation of a case (a case worker of the health center working the case). The contact belongs to the health center of residence.",
    responses((status = 201, body = ContactView), (status = 403, description = "Not a health center", body = CaseErrorSchema),
              (status = 404, description = "The case is unknown or outside scope", body = CaseErrorSchema),
              (status = 422, description = "Dates, lengths or the health center of residence are wrong", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn create_contact() {}

#[utoipa::path(get, path = "/api/contacts/{id}", tag = "contacts", params(("id" = String, Path)),
    responses((status = 200, body = ContactView), (status = 404, description = "Unknown or outside scope", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn read_contact() {}

#[utoipa::path(get, path = "/api/cases/{id}/close-contacts", tag = "contacts", params(("id" = String, Path)),
    responses((status = 200, description = "The case's contacts the caller may see", body = Vec<ContactView>), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn case_close_contacts() {}

#[utoipa::path(post, path = "/api/contacts/{id}/exposures", tag = "contacts", params(("id" = String, Path)), request_body = ExposureInput,
    description = "A later exposure; a quarantine in progress is extended to the rule's end after it.",
    responses((status = 200, body = ContactView), (status = 404, body = CaseErrorSchema),
              (status = 409, description = "The contact is no longer followed", body = CaseErrorSchema), (status = 422, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn add_contact_exposure() {}

#[utoipa::path(post, path = "/api/contacts/{id}/status", tag = "contacts", params(("id" = String, Path)), request_body = ContactStatusChange,
    description = "`quarantined` starts quarantine (the rule in force on the last exposure, from the next day) with a follow-up plan over it; `completed`, `lost`, `refused` end it (link tokens stop working).",
    responses((status = 200, body = ContactView), (status = 403, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema),
              (status = 409, description = "Transition not allowed, or the quarantine is already over", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn change_contact_status() {}

#[utoipa::path(post, path = "/api/contacts/{id}/convert", tag = "contacts", params(("id" = String, Path)),
    request_body(content = std::collections::HashMap<String, serde_json::Value>, description = "The notification's fields other than the person's (name, kana, date of birth, address and phone are prefilled from the contact; given ones win)"),
    description = "A contact who tested positive becomes a case of the health center of residence, linked to every case they were exposed to.",
    responses((status = 201, body = Conversion), (status = 403, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema),
              (status = 409, description = "The contact is no longer followed", body = CaseErrorSchema),
              (status = 422, description = "No complete notification with the prefill", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn convert_contact() {}

#[utoipa::path(put, path = "/api/contacts/{id}/followup", tag = "contacts", params(("id" = String, Path)), request_body = PlanInput,
    description = "The contact's follow-up plan (defaults: the quarantine period).",
    responses((status = 200, body = PlanView), (status = 403, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema),
              (status = 409, description = "Not in quarantine and no start date, or no longer followed", body = CaseErrorSchema), (status = 422, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn contact_set_plan() {}

#[utoipa::path(get, path = "/api/contacts/{id}/followup", tag = "contacts", params(("id" = String, Path)),
    responses((status = 200, body = PlanView), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn contact_read_plan() {}

#[utoipa::path(post, path = "/api/contacts/{id}/followup/token", tag = "contacts", params(("id" = String, Path)),
    responses((status = 201, description = "The contact's link token for `POST /api/followup/observations` (earlier ones stop working); shown once", body = FollowUpToken),
              (status = 403, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema), (status = 409, description = "No plan, or the plan has ended", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn contact_issue_token() {}

#[utoipa::path(delete, path = "/api/contacts/{id}/followup/token", tag = "contacts", params(("id" = String, Path)),
    responses((status = 204, description = "Every link token of the contact revoked"), (status = 403, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn contact_revoke_tokens() {}

#[utoipa::path(post, path = "/api/contacts/{id}/observations", tag = "contacts", params(("id" = String, Path)), request_body = ObservationInput,
    description = "An observation entered by staff on the contact's behalf (marked as proxy).",
    responses((status = 201, body = ObservationReceipt), (status = 404, body = CaseErrorSchema), (status = 409, description = "No plan", body = CaseErrorSchema), (status = 422, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn contact_observation() {}

#[utoipa::path(get, path = "/api/contacts/{id}/followup/series", tag = "contacts", params(("id" = String, Path)),
    responses((status = 200, body = Series), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn contact_series() {}

#[utoipa::path(get, path = "/api/contacts/{id}/followup/chart.svg", tag = "contacts", params(("id" = String, Path)),
    responses((status = 200, description = "Temperature and SpO2 per day with the alert thresholds", content_type = "image/svg+xml", body = String),
              (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn contact_chart() {}

use crate::service::records::{Revision, Transfer, Transferred};

#[utoipa::path(patch, path = "/api/cases/{id}", tag = "cases", params(("id" = String, Path)),
    request_body(content = std::collections::HashMap<String, serde_json::Value>, description = "Notification fields to correct (others keep their values); `healthCenterId` and `reportDate` cannot change"),
    description = "Corrects a filed notification (a case worker of the case's health center). The replaced version is kept (`/revisions`) and the history lists the changed fields.",
    responses((status = 200, body = CaseSchema), (status = 403, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema),
              (status = 409, description = "Revoked, or changed meanwhile", body = CaseErrorSchema),
              (status = 422, description = "The corrected notification is not valid, or a fixed field was changed", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn correct_case() {}

#[utoipa::path(get, path = "/api/cases/{id}/revisions", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, description = "Replaced versions of the notification, oldest first", body = Vec<Revision>), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn case_revisions() {}

#[utoipa::path(post, path = "/api/cases/{id}/transfer", tag = "cases", params(("id" = String, Path)), request_body = Transfer,
    description = "Moves a case to another health center (a case worker of its current one), with its follow-up plan and open alerts; the history records it.",
    responses((status = 200, body = Transferred), (status = 403, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema),
              (status = 409, description = "Changed meanwhile", body = CaseErrorSchema), (status = 422, description = "Not another health center", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn transfer_case() {}

#[utoipa::path(post, path = "/api/contacts/{id}/transfer", tag = "contacts", params(("id" = String, Path)), request_body = Transfer,
    description = "Moves a close contact to the health center of their (new) residence, with the follow-up plan and open alerts.",
    responses((status = 200, body = Transferred), (status = 403, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema),
              (status = 409, description = "Changed meanwhile", body = CaseErrorSchema), (status = 422, description = "Not another health center", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn transfer_contact() {}

use crate::service::lab_tests::{LabResult, LabTestView, NewLabTest};

#[utoipa::path(post, path = "/api/cases/{id}/tests", tag = "cases", params(("id" = String, Path)), request_body = NewLabTest,
    description = "Records a laboratory test of a case (a case worker of its health center); the case's history lists it.",
    responses((status = 201, body = LabTestView), (status = 403, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema),
              (status = 409, description = "Revoked case, or 200 tests already", body = CaseErrorSchema), (status = 422, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn record_lab_test() {}

#[utoipa::path(get, path = "/api/cases/{id}/tests", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, description = "The case's tests by collection day", body = Vec<LabTestView>), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn list_lab_tests() {}

#[utoipa::path(post, path = "/api/cases/{id}/tests/{testId}/result", tag = "cases",
    params(("id" = String, Path), ("testId" = String, Path)), request_body = LabResult,
    description = "Enters the result of a pending test, once (a known result is corrected by recording a new test).",
    responses((status = 200, body = LabTestView), (status = 403, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema),
              (status = 409, description = "The result is known, or changed meanwhile", body = CaseErrorSchema), (status = 422, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn enter_lab_result() {}

use crate::service::documents::{BundleRequest, DocumentRequest, DocumentView};

const DOCUMENTS_OFF: &str = "No Japanese font on this server (install fonts-ipaexfont-gothic)";

#[utoipa::path(post, path = "/api/cases/{id}/documents", tag = "documents", params(("id" = String, Path)), request_body = DocumentRequest,
    description = "Issues a 療養証明書 (isolation certificate) or 就業制限通知 (work-restriction notice) for a case, filled from the notification and the follow-up plan's period (or `periodStart`/`periodEnd`). A case worker of its health center.",
    responses((status = 201, body = DocumentView), (status = 403, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema),
              (status = 409, description = "The record was anonymised", body = CaseErrorSchema),
              (status = 422, description = "A field the document needs is missing or invalid, or the kind is for contacts", body = CaseErrorSchema),
              (status = 503, description = DOCUMENTS_OFF, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn issue_case_document() {}

#[utoipa::path(post, path = "/api/contacts/{id}/documents", tag = "documents", params(("id" = String, Path)), request_body = DocumentRequest,
    description = "Issues a quarantine start or end notice for a close contact, filled from the contact and their quarantine.",
    responses((status = 201, body = DocumentView), (status = 403, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema),
              (status = 409, description = "The record was anonymised", body = CaseErrorSchema),
              (status = 422, description = "A field the document needs is missing or invalid, or the kind is for cases", body = CaseErrorSchema),
              (status = 503, description = DOCUMENTS_OFF, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn issue_contact_document() {}

#[utoipa::path(get, path = "/api/cases/{id}/documents", tag = "documents", params(("id" = String, Path)),
    responses((status = 200, description = "Issued documents, newest first", body = Vec<DocumentView>), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn case_documents() {}

#[utoipa::path(get, path = "/api/contacts/{id}/documents", tag = "documents", params(("id" = String, Path)),
    responses((status = 200, description = "Issued documents, newest first", body = Vec<DocumentView>), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn contact_documents() {}

#[utoipa::path(post, path = "/api/documents/bundle", tag = "documents", request_body = BundleRequest,
    description = "Issues one kind of document for up to 500 cases or contacts and answers one PDF, a page each (bulk printing); all or nothing. `X-Document-Count` says how many.",
    responses((status = 200, description = "PDF", content_type = "application/pdf"), (status = 403, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema),
              (status = 409, description = "A record was anonymised", body = CaseErrorSchema),
              (status = 422, body = CaseErrorSchema), (status = 503, description = DOCUMENTS_OFF, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn document_bundle() {}

#[utoipa::path(get, path = "/api/documents/{id}/pdf", tag = "documents", params(("id" = String, Path)),
    responses((status = 200, description = "PDF of an issued document", content_type = "application/pdf"), (status = 404, body = CaseErrorSchema),
              (status = 503, description = DOCUMENTS_OFF, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn document_pdf() {}

#[utoipa::path(get, path = "/api/followup/documents", tag = "documents",
    description = "The documents issued to the holder of a follow-up link, with `Authorization: Bearer <link token>`.",
    responses((status = 200, body = Vec<DocumentView>), (status = 401, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn link_documents() {}

#[utoipa::path(get, path = "/api/followup/documents/{id}/pdf", tag = "documents", params(("id" = String, Path)),
    description = "A document's PDF for the holder of its subject's follow-up link (`Authorization: Bearer <link token>`); the first download confirms receipt.",
    responses((status = 200, description = "PDF", content_type = "application/pdf"), (status = 401, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema),
              (status = 503, description = DOCUMENTS_OFF, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn link_document_pdf() {}

use crate::service::outbox::{MessageView, OptOutRequest, SendRequest};

#[utoipa::path(post, path = "/api/cases/{id}/messages", tag = "messages", params(("id" = String, Path)), request_body = SendRequest,
    description = "Queues an e-mail or SMS to a case (a case worker of its health center): the processing number, the follow-up link or a reminder, to the notification's phone or e-mail unless `to` is given. 202 once stored; the outbox sends it with retries.",
    responses((status = 202, body = MessageView), (status = 403, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema),
              (status = 409, description = "Opted out, the day's limit for the recipient, no plan, or anonymised", body = CaseErrorSchema),
              (status = 422, description = "No recipient, or the text does not fit (SMS segments)", body = CaseErrorSchema),
              (status = 503, description = "The channel is not configured", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn send_case_message() {}

#[utoipa::path(post, path = "/api/contacts/{id}/messages", tag = "messages", params(("id" = String, Path)), request_body = SendRequest,
    description = "Queues an e-mail or SMS to a close contact: the follow-up link, a reminder, quarantine start or end.",
    responses((status = 202, body = MessageView), (status = 403, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema),
              (status = 409, description = "Opted out, the day's limit for the recipient, no plan or quarantine, or anonymised", body = CaseErrorSchema),
              (status = 422, body = CaseErrorSchema), (status = 503, description = "The channel is not configured", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn send_contact_message() {}

#[utoipa::path(get, path = "/api/cases/{id}/messages", tag = "messages", params(("id" = String, Path)),
    responses((status = 200, description = "The case's messages with their delivery states, newest first", body = Vec<MessageView>), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn case_messages() {}

#[utoipa::path(get, path = "/api/contacts/{id}/messages", tag = "messages", params(("id" = String, Path)),
    responses((status = 200, description = "The contact's messages with their delivery states, newest first", body = Vec<MessageView>), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn contact_messages() {}

#[utoipa::path(post, path = "/api/messages/opt-out", tag = "messages", request_body = OptOutRequest,
    description = "Records that a phone number or address wants no more messages (staff, when the person asks).",
    responses((status = 204, description = "Recorded"), (status = 403, body = CaseErrorSchema), (status = 422, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn opt_out() {}

#[utoipa::path(post, path = "/api/followup/opt-out", tag = "messages",
    description = "The holder of a follow-up link (`Authorization: Bearer <link token>`) opts out of messages to the record's phone and e-mail.",
    responses((status = 204, description = "Recorded"), (status = 401, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn link_opt_out() {}

use crate::service::tasks::{CallInput, CallView, Task};

#[utoipa::path(get, path = "/api/tasks", tag = "tasks",
    description = "The caller's health center's tasks beyond clinical alerts (`/api/alerts`): `first_call` (nobody reached the person yet), `missing_items` (no phone, date of birth or address), `quarantine_ends_today`, `no_report` (nothing through the link yesterday or today), `unconfirmed_document` (issued over a day ago, not downloaded). At most 500 of each kind.",
    responses((status = 200, body = Vec<Task>), (status = 403, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn tasks() {}

#[utoipa::path(post, path = "/api/cases/{id}/calls", tag = "tasks", params(("id" = String, Path)), request_body = CallInput,
    responses((status = 201, body = CallView), (status = 403, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn record_case_call() {}

#[utoipa::path(post, path = "/api/contacts/{id}/calls", tag = "tasks", params(("id" = String, Path)), request_body = CallInput,
    responses((status = 201, body = CallView), (status = 403, body = CaseErrorSchema), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn record_contact_call() {}

#[utoipa::path(get, path = "/api/cases/{id}/calls", tag = "tasks", params(("id" = String, Path)),
    responses((status = 200, description = "Calls, newest first", body = Vec<CallView>), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn case_calls() {}

#[utoipa::path(get, path = "/api/contacts/{id}/calls", tag = "tasks", params(("id" = String, Path)),
    responses((status = 200, description = "Calls, newest first", body = Vec<CallView>), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn contact_calls() {}

use crate::service::retention::RetentionReport;

#[utoipa::path(get, path = "/api/linelist", tag = "cases",
    params(("from" = String, Query, format = Date), ("to" = String, Query, format = Date)),
    description = "The caller's cases diagnosed in the period (at most 366 days) as CSV, for prefectures and health centers; audited. Columns: the case, its place and course, sex, age, municipality and the clinical fields (no address, phone, e-mail or workplace).",
    responses((status = 200, description = "CSV", content_type = "text/csv"), (status = 400, description = "Not days", body = CaseErrorSchema),
              (status = 403, body = CaseErrorSchema), (status = 422, description = "`to` before `from`, or more than 366 days", body = CaseErrorSchema), (status = 409, description = "More than 100,000 cases: ask for a shorter period", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn line_list() {}

#[utoipa::path(post, path = "/api/retention/run", tag = "cases",
    description = "Runs the retention rule now (org admins of the national organization; a daily sweep runs it anyway): the personal data of cases and close contacts closed longer than `retention_days` is removed; statistics keep their counts.",
    responses((status = 200, description = "What was anonymised", body = RetentionReport), (status = 403, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn run_retention() {}

use crate::service::clusters::{ClusterGraph, ClusterView, NewCluster, NewMember};

#[utoipa::path(post, path = "/api/clusters", tag = "clusters", request_body = NewCluster,
    description = "Opens a cluster (a health center's case worker): a setting with several cases.",
    responses((status = 201, body = ClusterView), (status = 403, body = CaseErrorSchema), (status = 422, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn create_cluster() {}

#[utoipa::path(get, path = "/api/clusters", tag = "clusters",
    responses((status = 200, description = "The health center's clusters with counts", body = Vec<ClusterView>), (status = 403, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn list_clusters() {}

#[utoipa::path(get, path = "/api/clusters/{id}", tag = "clusters", params(("id" = String, Path)),
    responses((status = 200, body = ClusterView), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn read_cluster() {}

#[utoipa::path(post, path = "/api/clusters/{id}/members", tag = "clusters", params(("id" = String, Path)), request_body = NewMember,
    description = "Adds a case or a close contact the caller works on (adding one twice changes nothing).",
    responses((status = 200, body = ClusterView), (status = 403, body = CaseErrorSchema), (status = 404, description = "Unknown cluster", body = CaseErrorSchema),
              (status = 422, description = "No such case or contact that the caller works on", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn add_cluster_member() {}

#[utoipa::path(get, path = "/api/clusters/{id}/graph", tag = "clusters", params(("id" = String, Path)),
    responses((status = 200, description = "Members and the infection links, exposures and conversions among them", body = ClusterGraph), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn cluster_graph() {}

#[utoipa::path(get, path = "/api/clusters/{id}/graph.svg", tag = "clusters", params(("id" = String, Path)),
    responses((status = 200, description = "The transmission graph: cases on top, contacts below", content_type = "image/svg+xml", body = String), (status = 404, body = CaseErrorSchema)))]
#[allow(dead_code)]
fn cluster_graph_svg() {}

use crate::service::duplicates::{DuplicatePair, MergeRequest, ScanReport};

#[utoipa::path(get, path = "/api/duplicates", tag = "duplicates",
    description = "Open candidate pairs of duplicate persons (cases, close contacts) with both records in the caller's health center, or in a prefecture's health centers; best score first, at most 500. A pair scores 60 or more out of 100: same birth date 35, same kana or name 35 (similar name 25), a phone in common 30, two different birth dates −40.",
    responses((status = 200, body = Vec<DuplicatePair>), (status = 403, description = "Not a health center's or prefecture's case worker", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn list_duplicates() {}

#[utoipa::path(post, path = "/api/duplicates/scan", tag = "duplicates",
    description = "Compares every case and close contact of the caller's health center with the persons of its prefecture sharing a birth date or a phone (detection also runs on each filing, correction and new contact).",
    responses((status = 200, body = ScanReport), (status = 403, description = "Not a health center's case worker", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn scan_duplicates() {}

#[utoipa::path(post, path = "/api/duplicates/{id}/dismiss", tag = "duplicates", params(("id" = String, Path)),
    description = "Not the same person: the pair is closed and not proposed again; audited and written into each case's history.",
    responses((status = 200, body = DuplicatePair), (status = 403, description = "May read the pair but not decide (a prefecture)", body = CaseErrorSchema),
              (status = 404, description = "Unknown, or a record outside the caller's scope", body = CaseErrorSchema), (status = 409, description = "Already dismissed or merged", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn dismiss_duplicate() {}

#[utoipa::path(post, path = "/api/duplicates/{id}/merge", tag = "duplicates", params(("id" = String, Path)), request_body = MergeRequest,
    description = "The same person: `keep` stays, the other record is marked merged into it (`mergedInto`; never deleted) and left out of lists and statistics; a merged contact's exposures move to the kept one. Audited and written into each case's history. A case and a close contact are not merged: convert the contact.",
    responses((status = 200, body = DuplicatePair), (status = 403, description = "May read the pair but not merge (a prefecture)", body = CaseErrorSchema),
              (status = 404, description = "Unknown, or a record outside the caller's scope", body = CaseErrorSchema),
              (status = 409, description = "Already dismissed or merged, or a record was merged meanwhile", body = CaseErrorSchema),
              (status = 422, description = "`keep` is not one of the pair, or the pair is a case and a contact (convert the contact instead)", body = CaseErrorSchema)))]
#[allow(dead_code)]
fn merge_duplicate() {}

/// The case registry's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        login,
        logout,
        me,
        change_password,
        create_organization,
        list_organizations,
        create_user,
        create_api_key,
        revoke_api_key,
        file_case,
        list_cases,
        import_cases,
        read_case,
        change_status,
        add_contact,
        add_link,
        statistics,
        statistics_table,
        set_plan,
        read_plan,
        issue_followup_token,
        revoke_followup_tokens,
        patient_observation,
        proxy_observation,
        followup_series,
        followup_chart,
        worklist,
        acknowledge_alert,
        resolve_alert,
        create_contact,
        read_contact,
        case_close_contacts,
        add_contact_exposure,
        change_contact_status,
        convert_contact,
        contact_set_plan,
        contact_read_plan,
        contact_issue_token,
        contact_revoke_tokens,
        contact_observation,
        contact_series,
        contact_chart,
        correct_case,
        case_revisions,
        transfer_case,
        transfer_contact,
        create_cluster,
        list_clusters,
        read_cluster,
        add_cluster_member,
        cluster_graph,
        cluster_graph_svg,
        record_lab_test,
        list_lab_tests,
        enter_lab_result,
        line_list,
        run_retention,
        issue_case_document,
        issue_contact_document,
        case_documents,
        contact_documents,
        document_bundle,
        document_pdf,
        link_documents,
        link_document_pdf,
        send_case_message,
        send_contact_message,
        case_messages,
        contact_messages,
        opt_out,
        link_opt_out,
        tasks,
        record_case_call,
        record_contact_call,
        case_calls,
        contact_calls,
        list_duplicates,
        scan_duplicates,
        dismiss_duplicate,
        merge_duplicate,
        open_data_file,
        open_data_manifest,
        open_data_snapshot,
        open_page,
        open_page_en
    ),
    components(schemas(
        CaseStatusSchema,
        StatisticsTableSchema,
        TableFormatSchema,
        AlertStateSchema,
        OpenDataFileSchema
    ))
)]
pub struct CasesDoc;

/// The case registry's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    CasesDoc::openapi()
}

#[cfg(test)]
mod tests {
    #[test]
    fn documents_every_route() {
        let document = super::openapi();
        let operations: usize = document
            .paths
            .paths
            .values()
            .map(|item| {
                [&item.get, &item.post, &item.put, &item.delete, &item.patch]
                    .iter()
                    .filter(|o| o.is_some())
                    .count()
            })
            .sum();
        // The routes registered in `api::configure`, and the two public pages the console serves.
        assert_eq!(operations, 85);
    }
}
