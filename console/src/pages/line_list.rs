//! The line list for the prefecture (`/console/line-list`): a period form and the CSV of
//! the cases diagnosed in it within the user's scope (`/console/line-list.csv`), sent as an
//! attachment that no cache keeps. The case registry audits every export.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web as aweb};
use maud::html;
use mimamori_cases::model::{Date, OrgKind, Role};
use mimamori_cases::service::CaseError;

use super::Data;
use super::cases::{Errors, input};
use crate::i18n::t;
use crate::layout;
use crate::web::{self, Form, Staff};
use crate::{Console, Page, PageError};

pub(super) fn routes(config: &mut aweb::ServiceConfig) {
    config
        .route("/line-list", aweb::get().to(form_page))
        .route("/line-list.csv", aweb::get().to(download));
}

/// Whether the user may export (a case worker of a health center or prefecture).
fn may_export(staff: &Staff) -> bool {
    matches!(
        staff.principal.organization.kind,
        OrgKind::HealthCenter | OrgKind::Prefecture
    ) && staff.principal.has(Role::CaseWorker)
}

fn render(
    console: &Console,
    staff: &Staff,
    form: &Form,
    errors: &Errors,
    status: StatusCode,
) -> Page {
    let lang = staff.lang;
    let today = Date::from_unix_ms(
        console.cases().now_ms() + console.cases().config().utc_offset_minutes * 60_000,
    );
    // The last seven days unless the user asked for another period.
    let or_default = |name: &str, default: Date| match form.opt(name) {
        Some(value) => value,
        None => default.to_string(),
    };
    let shown = Form(vec![
        (
            "from".into(),
            or_default(
                "from",
                Date {
                    days: today.days - 6,
                },
            ),
        ),
        ("to".into(), or_default("to", today)),
    ]);
    let body = html! {
        h1 { (t(lang, "linelist.title")) }
        p.muted { (t(lang, "linelist.intro")) }
        @if !errors.is_empty() {
            ul.warning #form-errors role="alert" { @for (_, message) in errors { li { (message) } } }
        }
        form #line-list-form method="get" action="/console/line-list.csv" {
            div.row {
                (input(lang, &shown, errors, "from", "linelist.from", "date", true))
                (input(lang, &shown, errors, "to", "linelist.to", "date", true))
            }
            button #download-line-list type="submit" { (t(lang, "linelist.download")) }
        }
    };
    Ok(web::html(
        status,
        layout::page(staff, "/console/line-list", t(lang, "linelist.title"), body),
    ))
}

async fn form_page(console: Data, request: HttpRequest) -> Page {
    let staff = console.staff(&request).await?;
    if !may_export(&staff) {
        return Err(PageError::Service(staff.lang, CaseError::Forbidden));
    }
    render(
        &console,
        &staff,
        &Form::default(),
        &Errors::new(),
        StatusCode::OK,
    )
}

async fn download(console: Data, request: HttpRequest) -> Page {
    let staff = console.staff(&request).await?;
    let lang = staff.lang;
    let query = Form::parse(request.query_string().as_bytes());
    match console
        .cases()
        .line_list(&staff.principal, query.get("from"), query.get("to"))
        .await
    {
        Ok(list) => {
            let day = |name: &str| -> String {
                query
                    .get(name)
                    .chars()
                    .filter(|c| c.is_ascii_digit() || *c == '-')
                    .collect()
            };
            let filename = format!("line-list-{}-{}.csv", day("from"), day("to"));
            Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}\""),
                ))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header(("X-Row-Count", list.rows.to_string()))
                .body(list.csv))
        }
        Err(CaseError::Invalid(found)) => {
            let errors: Errors = found
                .into_iter()
                .map(|e| (e.field.to_string(), super::field_message(lang, &e.message)))
                .collect();
            render(
                &console,
                &staff,
                &query,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(CaseError::BadRequest { .. }) => {
            let errors = vec![("from".to_string(), t(lang, "v.date").to_string())];
            render(&console, &staff, &query, &errors, StatusCode::BAD_REQUEST)
        }
        Err(e) => Err(PageError::Service(lang, e)),
    }
}
