//! The duplicate-person review queue (`/console/duplicates`): each candidate pair side by
//! side with its score and evidence; the health center's case workers dismiss it (not the
//! same person) or merge it keeping one record.

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use actix_web::web as aweb;
use maud::{Markup, html};
use mimamori_cases::service::CaseError;
use mimamori_cases::service::duplicates::{DuplicatePerson, MergeRequest, PersonKind};

use super::Data;
use crate::i18n::{Lang, t};
use crate::layout::{self, csrf};
use crate::web::{self, Form, Staff};
use crate::{Page, PageError};

pub(super) fn routes(config: &mut aweb::ServiceConfig) {
    config
        .route("/duplicates", aweb::get().to(list))
        .route("/duplicates/{id}/{action}", aweb::post().to(decide));
}

/// The message key of a piece of evidence.
fn reason_key(reason: &str) -> &'static str {
    match reason {
        "same_birth_date" => "dup.same_birth_date",
        "same_kana" => "dup.same_kana",
        "same_name" => "dup.same_name",
        "similar_name" => "dup.similar_name",
        "same_phone" => "dup.same_phone",
        "different_birth_date" => "dup.different_birth_date",
        _ => "dup.other",
    }
}

fn person(lang: Lang, p: &DuplicatePerson) -> Markup {
    let path = match p.kind {
        PersonKind::Case => "/console/cases/",
        PersonKind::Contact => "/console/contacts/",
    };
    let kind = match p.kind {
        PersonKind::Case => "dup.case",
        PersonKind::Contact => "dup.contact",
    };
    html! {
        a href={ (path) (p.id) } { (p.name) }
        br;
        span.muted {
            (t(lang, kind))
            @if let Some(kana) = &p.kana { " · " (kana) }
            @if let Some(birth) = &p.birth_date { " · " (birth) }
            @for phone in &p.phones { " · " (phone) }
        }
    }
}

fn keep_form(staff: &Staff, pair_id: &str, keep: &DuplicatePerson) -> Markup {
    html! {
        form.inline method="post" action={ "/console/duplicates/" (pair_id) "/merge" } {
            (csrf(staff))
            input type="hidden" name="keep" value=(keep.id);
            button type="submit" { (t(staff.lang, "dup.keep")) " " (keep.name) }
        }
    }
}

async fn list(console: Data, request: HttpRequest) -> Page {
    let staff = console.staff(&request).await?;
    let lang = staff.lang;
    let pairs = console
        .cases()
        .duplicate_pairs(&staff.principal)
        .await
        .map_err(|e| PageError::Service(lang, e))?;
    let body = html! {
        h1 { (t(lang, "dup.title")) }
        p.muted { (t(lang, "dup.intro")) }
        @if pairs.is_empty() { p #no-duplicates { (t(lang, "dup.none")) } }
        @else {
            div.table-wrap { table #duplicates {
                thead { tr {
                    th scope="col" { (t(lang, "dup.score")) }
                    th scope="col" { (t(lang, "dup.first")) }
                    th scope="col" { (t(lang, "dup.second")) }
                    th scope="col" { (t(lang, "dup.reasons")) }
                    th scope="col" { (t(lang, "dup.actions")) }
                } }
                tbody { @for pair in &pairs {
                    tr id={ "pair-" (pair.id) } {
                        td { (pair.score) }
                        td { (person(lang, &pair.first)) }
                        td { (person(lang, &pair.second)) }
                        td { @for (i, reason) in pair.reasons.iter().enumerate() {
                            @if i > 0 { ", " }
                            (t(lang, reason_key(reason)))
                        } }
                        td {
                            @if pair.first.kind == pair.second.kind {
                                (keep_form(&staff, &pair.id, &pair.first)) " "
                                (keep_form(&staff, &pair.id, &pair.second)) " "
                            }
                            form.inline method="post" action={ "/console/duplicates/" (pair.id) "/dismiss" } {
                                (csrf(&staff))
                                button.secondary type="submit" { (t(lang, "dup.dismiss")) }
                            }
                        }
                    }
                } }
            } }
        }
    };
    Ok(web::html(
        StatusCode::OK,
        layout::page(&staff, "/console/duplicates", t(lang, "dup.title"), body),
    ))
}

async fn decide(
    console: Data,
    request: HttpRequest,
    path: aweb::Path<(String, String)>,
    body: aweb::Bytes,
) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    let lang = staff.lang;
    let (id, action) = path.into_inner();
    let result = match action.as_str() {
        "dismiss" => console
            .cases()
            .dismiss_duplicate(&staff.principal, &id)
            .await
            .map(|_| ()),
        "merge" => console
            .cases()
            .merge_duplicate(
                &staff.principal,
                &id,
                MergeRequest {
                    keep: form.get("keep").to_string(),
                },
            )
            .await
            .map(|_| ()),
        _ => Err(CaseError::NotFound),
    };
    result.map_err(|e| PageError::Service(lang, e))?;
    Ok(web::redirect("/console/duplicates"))
}
