//! The health center's task list (`/console/tasks`): first calls not made, missing items,
//! quarantines ending today, no report for a day, documents not downloaded; each row links
//! to the case or contact.

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use actix_web::web as aweb;
use maud::html;
use mimamori_cases::service::tasks::TaskKind;

use super::Data;
use crate::i18n::t;
use crate::layout;
use crate::web;
use crate::{Page, PageError};

pub(super) fn routes(config: &mut aweb::ServiceConfig) {
    config.route("/tasks", aweb::get().to(list));
}

/// The message key of a task kind.
fn kind_key(kind: TaskKind) -> &'static str {
    match kind {
        TaskKind::FirstCall => "tasks.first_call",
        TaskKind::MissingItems => "tasks.missing_items",
        TaskKind::QuarantineEndsToday => "tasks.quarantine_ends_today",
        TaskKind::NoReport => "tasks.no_report",
        TaskKind::UnconfirmedDocument => "tasks.unconfirmed_document",
    }
}

async fn list(console: Data, request: HttpRequest) -> Page {
    let staff = console.staff(&request).await?;
    let lang = staff.lang;
    let tasks = console
        .cases()
        .tasks(&staff.principal)
        .await
        .map_err(|e| PageError::Service(lang, e))?;
    let body = html! {
        h1 { (t(lang, "tasks.title")) }
        p.muted { (t(lang, "tasks.intro")) }
        @if tasks.is_empty() { p #no-tasks { (t(lang, "tasks.none")) } }
        @else {
            div.table-wrap { table #tasks {
                thead { tr {
                    th scope="col" { (t(lang, "tasks.kind")) }
                    th scope="col" { (t(lang, "tasks.person")) }
                    th scope="col" { (t(lang, "tasks.detail")) }
                } }
                tbody { @for task in &tasks {
                    tr data-kind=(kind_key(task.kind)) {
                        td { (t(lang, kind_key(task.kind))) }
                        td {
                            @let path = if task.subject_kind == "contact" { "/console/contacts/" } else { "/console/cases/" };
                            a href={ (path) (task.subject_id) } { (task.name) }
                        }
                        td { (task.detail) }
                    }
                } }
            } }
        }
    };
    Ok(web::html(
        StatusCode::OK,
        layout::page(&staff, "/console/tasks", t(lang, "tasks.title"), body),
    ))
}
