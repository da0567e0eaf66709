//! The signed-in user's own account: replacing the initial password.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web as aweb};
use maud::html;
use mimamori_cases::service::CaseError;

use super::Data;
use crate::i18n::{Lang, t};
use crate::layout::{self, csrf};
use crate::web::{self, Form, SESSION_COOKIE, SameSite, Staff};
use crate::{Page, PageError};

pub(super) fn routes(config: &mut aweb::ServiceConfig) {
    config
        .route("/account", aweb::get().to(show))
        .route("/account/password", aweb::post().to(change_password));
}

fn page(staff: &Staff, error: Option<&'static str>, status: StatusCode) -> HttpResponse {
    let lang: Lang = staff.lang;
    let field = |id: &str, key: &'static str, autocomplete: &str| {
        html! {
            div.field {
                label for=(id) { (t(lang, key)) }
                input id=(id) type="password" name=(id) autocomplete=(autocomplete) required
                    aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[error.map(|_| "password-error")];
            }
        }
    };
    let body = html! {
        h1 { (t(lang, "account.title")) }
        form.panel method="post" action="/console/account/password" {
            h2 { (t(lang, "account.password")) }
            @if let Some(key) = error { p.error #password-error role="alert" { (t(lang, key)) } }
            (csrf(staff))
            (field("current", "account.current", "current-password"))
            (field("new", "account.new", "new-password"))
            p.muted { (t(lang, "account.rule")) }
            button type="submit" { (t(lang, "account.change")) }
        }
    };
    web::html(
        status,
        layout::page(staff, "/console/account", t(lang, "account.title"), body),
    )
}

async fn show(console: Data, request: HttpRequest) -> Page {
    let staff = console.staff(&request).await?;
    Ok(page(&staff, None, StatusCode::OK))
}

async fn change_password(console: Data, request: HttpRequest, body: aweb::Bytes) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    // Passwords are not trimmed: take the raw values.
    let raw = |name: &str| {
        form.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    match console
        .cases()
        .change_password(&staff.principal, raw("current"), raw("new"))
        .await
    {
        // Every session of the user ended: sign in again with the new password.
        Ok(()) => {
            console.forget_session(&staff.token);
            Ok(HttpResponse::SeeOther()
                .insert_header((
                    actix_web::http::header::LOCATION,
                    "/console/login?changed=1",
                ))
                .append_header((
                    actix_web::http::header::SET_COOKIE,
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
        Err(CaseError::InvalidCredentials) => Ok(page(
            &staff,
            Some("account.wrong"),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(CaseError::BadRequest { .. }) => Ok(page(
            &staff,
            Some("account.weak"),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(e) => Err(PageError::Service(staff.lang, e)),
    }
}
