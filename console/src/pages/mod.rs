//! The console's pages and form handlers.

mod account;
mod admin;
mod cases;
mod clusters;
mod contacts;
mod documents;
mod duplicates;
mod followup;
mod lab_tests;
mod line_list;
mod messages;
pub(crate) mod open;
mod stats;
mod tasks;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web as aweb};
use maud::{Markup, html};
use mimamori_cases::model::{OrgKind, Role};
use mimamori_cases::service::CaseError;
use mimamori_cases::service::followup::SubjectKind;

use crate::i18n::{Lang, t};
use crate::layout;
use crate::web::Staff;
use crate::web::{self, Form, LANG_COOKIE, PRE_COOKIE, SESSION_COOKIE, SameSite};
use crate::{Console, Page, PageError};

type Data = aweb::Data<Console>;

/// Registers every console route (inside the `/console` scope).
pub fn routes(config: &mut aweb::ServiceConfig) {
    config
        .route("", aweb::get().to(index))
        .route("/", aweb::get().to(index))
        .route("/static/style.css", aweb::get().to(style))
        .route("/login", aweb::get().to(login_form))
        .route("/login", aweb::post().to(login))
        .route("/logout", aweb::post().to(logout))
        .route("/lang/{lang}", aweb::get().to(switch_language));
    account::routes(config);
    cases::routes(config);
    contacts::routes(config);
    followup::routes(config);
    stats::routes(config);
    tasks::routes(config);
    duplicates::routes(config);
    lab_tests::routes(config);
    documents::routes(config);
    messages::routes(config);
    clusters::routes(config);
    line_list::routes(config);
    admin::routes(config);
}

async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(layout::STYLE_CSS)
}

async fn index(console: Data, request: HttpRequest) -> Page {
    let staff = console.staff(&request).await?;
    let p = &staff.principal;
    let target = match p.organization.kind {
        OrgKind::HealthCenter | OrgKind::Prefecture | OrgKind::MedicalInstitution
            if p.has(Role::CaseWorker) || p.has(Role::Doctor) =>
        {
            "/console/cases"
        }
        OrgKind::Contractor => "/console/alerts",
        _ if p.has(Role::StatisticsViewer) => "/console/stats",
        _ => "/console/admin",
    };
    Ok(web::redirect(target))
}

fn login_page(
    lang: Lang,
    csrf: &str,
    username: &str,
    message: Option<(&'static str, bool)>,
) -> Markup {
    layout::bare_at(
        lang,
        "/console/login",
        t(lang, "login.title"),
        html! {
            div.panel.narrow {
                h1 { (t(lang, "login.title")) }
                @if let Some((key, is_error)) = message {
                    @if is_error { p.warning #login-error role="alert" { (t(lang, key)) } }
                    @else { p.notice role="status" { (t(lang, key)) } }
                }
                form method="post" action="/console/login" {
                    input type="hidden" name="csrf" value=(csrf);
                    div.field {
                        label for="username" { (t(lang, "login.username")) }
                        input #username type="text" name="username" value=(username)
                            autocomplete="username" required autocapitalize="none" spellcheck="false";
                    }
                    div.field {
                        label for="password" { (t(lang, "login.password")) }
                        input #password type="password" name="password" autocomplete="current-password" required;
                    }
                    div.field {
                        label for="totp" { (t(lang, "login.totp")) }
                        input #totp type="text" name="totp" inputmode="numeric" pattern="[0-9]{6}"
                            maxlength="6" autocomplete="one-time-code" required;
                    }
                    button type="submit" { (t(lang, "login.submit")) }
                }
            }
        },
    )
}

async fn login_form(console: Data, request: HttpRequest) -> HttpResponse {
    let lang = web::lang(&request);
    let query = request.query_string();
    let message = if query.contains("expired=1") {
        Some(("login.expired", true))
    } else if query.contains("out=1") {
        Some(("login.signed_out", false))
    } else if query.contains("changed=1") {
        Some(("account.changed", false))
    } else {
        None
    };
    let (pre, fresh) = match web::cookie(&request, PRE_COOKIE) {
        Some(v) if v.len() == 43 => (v, false),
        _ => (web::random_token(), true),
    };
    let mut response = web::html(
        StatusCode::OK,
        login_page(lang, &web::csrf_token(&pre), "", message),
    );
    if fresh {
        let cookie = web::set_cookie(
            PRE_COOKIE,
            &pre,
            Some(3600),
            SameSite::Strict,
            console.secure(&request),
        );
        if let Ok(value) = header::HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

async fn login(console: Data, request: HttpRequest, body: aweb::Bytes) -> Page {
    let lang = web::lang(&request);
    let form = Form::parse(&body);
    let Some(pre) = web::cookie(&request, PRE_COOKIE) else {
        return Err(PageError::Csrf(lang));
    };
    if !web::csrf_ok(&pre, form.opt(web::CSRF_FIELD).as_deref()) {
        return Err(PageError::Csrf(lang));
    }
    let username = form.get("username");
    let client = request.peer_addr().map(|address| address.ip());
    match console
        .cases()
        .login(username, form.get("password"), form.get("totp"), client)
        .await
    {
        Ok(session) => {
            let secure = console.secure(&request);
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/console/"))
                .append_header((
                    header::SET_COOKIE,
                    console.session_cookie(&request, &session.token),
                ))
                .append_header((
                    header::SET_COOKIE,
                    web::set_cookie(PRE_COOKIE, "", None, SameSite::Strict, secure),
                ))
                .finish())
        }
        Err(CaseError::InvalidCredentials | CaseError::BadRequest { .. }) => Ok(web::html(
            StatusCode::UNAUTHORIZED,
            login_page(
                lang,
                &web::csrf_token(&pre),
                username,
                Some(("login.failed", true)),
            ),
        )),
        Err(CaseError::SignInLocked {
            retry_after_seconds,
        }) => {
            let mut response = web::html(
                StatusCode::TOO_MANY_REQUESTS,
                login_page(
                    lang,
                    &web::csrf_token(&pre),
                    username,
                    Some(("login.locked", true)),
                ),
            );
            if let Ok(value) = header::HeaderValue::from_str(&retry_after_seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Ok(response)
        }
        Err(e) => Err(PageError::Service(lang, e)),
    }
}

async fn logout(console: Data, request: HttpRequest, body: aweb::Bytes) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    console
        .cases()
        .logout(&staff.token)
        .await
        .map_err(|e| PageError::Service(staff.lang, e))?;
    console.forget_session(&staff.token);
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console/login?out=1"))
        .append_header((
            header::SET_COOKIE,
            web::set_cookie(
                SESSION_COOKIE,
                "",
                None,
                SameSite::Strict,
                console.secure(&request),
            ),
        ))
        .finish())
}

/// Where the language switch may send the browser back to: console paths only.
fn safe_next(next: &str) -> &str {
    let ok = next.starts_with("/console")
        && !next.contains("//")
        && next
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b));
    if ok { next } else { "/console/" }
}

async fn switch_language(
    console: Data,
    request: HttpRequest,
    path: aweb::Path<String>,
) -> HttpResponse {
    let Some(lang) = Lang::parse(&path) else {
        return web::redirect("/console/");
    };
    let next = url::form_urlencoded::parse(request.query_string().as_bytes())
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, safe_next(&next).to_string()))
        .append_header((
            header::SET_COOKIE,
            web::set_cookie(
                LANG_COOKIE,
                lang.code(),
                Some(365 * 86_400),
                SameSite::Lax,
                console.secure(&request),
            ),
        ))
        .finish()
}

/// The console page of a case or a close contact.
pub(crate) fn subject_path(kind: SubjectKind, id: &str) -> String {
    match kind {
        SubjectKind::Case => format!("/console/cases/{id}"),
        SubjectKind::Contact => format!("/console/contacts/{id}"),
    }
}

/// The case or contact page with `extra` shown on top.
pub(super) async fn subject_page(
    console: &Console,
    staff: &Staff,
    kind: SubjectKind,
    id: &str,
    extra: Markup,
    status: StatusCode,
) -> Page {
    match kind {
        SubjectKind::Case => {
            cases::render_case(console, staff, id, Some(extra), None, status).await
        }
        SubjectKind::Contact => contacts::render(console, staff, id, Some(extra), status).await,
    }
}

/// The route segment of a page whose form works on cases and contacts alike
/// (`/{subjects}/{id}/…` with `subjects` one of these).
pub(super) const SUBJECTS: &str = "{subjects:cases|contacts}";

/// The subject kind a [`SUBJECTS`] segment names.
pub(super) fn subject_kind(segment: &str) -> SubjectKind {
    if segment == "contacts" {
        SubjectKind::Contact
    } else {
        SubjectKind::Case
    }
}

/// After a form on a case or contact page failed: field errors listed on top of the page
/// again (422, `label` names the field in the user's language); any other error is the
/// error page.
pub(super) async fn form_failed(
    console: &Console,
    staff: &Staff,
    kind: SubjectKind,
    id: &str,
    error: CaseError,
    label: fn(&str) -> Option<&'static str>,
) -> Page {
    let lang = staff.lang;
    let errors = match error {
        CaseError::Invalid(errors) => errors,
        // Not possible in the current state (no plan yet, opted out, …): say why on the
        // page the user was working on.
        CaseError::Conflict { message, .. } => {
            let extra = html! {
                div.warning #form-errors role="alert" {
                    p { (t(lang, "error.conflict")) }
                    p.muted { (message) }
                }
            };
            return subject_page(console, staff, kind, id, extra, StatusCode::CONFLICT).await;
        }
        other => return Err(PageError::Service(lang, other)),
    };
    let extra = html! {
        div.warning #form-errors role="alert" {
            p { (t(lang, "error.invalid")) }
            ul { @for e in &errors {
                li {
                    @match label(e.field) { Some(key) => (t(lang, key)), None => (e.field) }
                    ": " (field_message(lang, &e.message))
                }
            } }
        }
    };
    subject_page(
        console,
        staff,
        kind,
        id,
        extra,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// Field-level error messages in the user's language (unknown messages shown as sent).
pub(crate) fn field_message(lang: Lang, message: &str) -> String {
    let key = match message {
        "required" => "v.required",
        "not a date (YYYY-MM-DD)" => "v.date",
        "in the future" => "v.future",
        "implausibly early" => "v.early",
        "implausible" => "v.implausible",
        "not a number" => "v.number",
        "unknown health center" => "v.hc_unknown",
        "a health center enters cases of its own jurisdiction" => "v.hc_own",
        m if m.starts_with("more than") && m.ends_with("after the diagnosis date") => "v.onset",
        other => return other.to_string(),
    };
    t(lang, key).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_switch_only_returns_to_console_paths() {
        assert_eq!(safe_next("/console/cases"), "/console/cases");
        assert_eq!(safe_next("https://evil.example/"), "/console/");
        assert_eq!(safe_next("/console//evil.example"), "/console/");
        assert_eq!(safe_next("/console/x?name=a"), "/console/");
        assert_eq!(safe_next(""), "/console/");
    }

    #[test]
    fn validation_messages_are_translated() {
        assert_eq!(field_message(Lang::Ja, "required"), "入力してください。");
        assert_eq!(
            field_message(Lang::En, "in the future"),
            "The date lies in the future."
        );
        assert_eq!(field_message(Lang::En, "something new"), "something new");
    }
}
