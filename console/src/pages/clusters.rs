//! Clusters (`/console/clusters`): the health center's clusters with their counts, a form
//! to open one, and a cluster's page with its members, the transmission graph (SVG drawn
//! by the case registry) and a form to add a case or contact. The case and contact pages
//! carry an "add to cluster" form that posts to the same handler.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web as aweb};
use maud::{Markup, html};
use mimamori_cases::model::{OrgKind, Role};
use mimamori_cases::service::CaseError;
use mimamori_cases::service::clusters::{ClusterView, NewCluster, NewMember};
use mimamori_cases::service::contacts::ExposureSetting;
use mimamori_cases::service::documents::{BundleRequest, BundleSubject, DocumentType};
use mimamori_cases::service::followup::SubjectKind;

use super::Data;
use super::cases::{Errors, input, options, select};
use super::contacts::{SETTINGS, setting_key};
use crate::i18n::{Lang, status_key, t};
use crate::layout::{self, csrf, svg};
use crate::web::{self, Form, Staff};
use crate::{Console, Page, PageError};

pub(super) fn routes(config: &mut aweb::ServiceConfig) {
    config
        .route("/clusters", aweb::get().to(list))
        .route("/clusters", aweb::post().to(create))
        .route("/clusters/{id}", aweb::get().to(show))
        .route("/cluster-members", aweb::post().to(add_member))
        .route("/clusters/{id}/documents", aweb::post().to(print_documents));
}

/// The documents printed for all members at once (a quarantine start notice needs each
/// person's own report link, so it is issued one by one on the contact's page).
const BULK_KINDS: [(&str, &str); 3] = [
    ("isolation_certificate", "doc.kind.isolation_certificate"),
    (
        "work_restriction_notice",
        "doc.kind.work_restriction_notice",
    ),
    ("quarantine_end_notice", "doc.kind.quarantine_end_notice"),
];

const MEMBER_KINDS: [(&str, &str); 2] = [
    ("case", "cluster.member.case"),
    ("contact", "cluster.member.contact"),
];

/// Whether the user opens clusters and adds members (a health center's case worker).
fn may_work(staff: &Staff) -> bool {
    staff.principal.organization.kind == OrgKind::HealthCenter
        && staff.principal.has(Role::CaseWorker)
}

fn parse<T: serde::de::DeserializeOwned>(value: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(value.to_string())).ok()
}

/// The field errors of a failed call as the form shows them; other errors as the page.
fn form_errors(lang: Lang, error: CaseError) -> Result<Errors, PageError> {
    match error {
        CaseError::Invalid(found) => Ok(found
            .into_iter()
            .map(|e| (e.field.to_string(), super::field_message(lang, &e.message)))
            .collect()),
        other => Err(PageError::Service(lang, other)),
    }
}

/// The status label of a member (a case status or a contact status).
fn member_status(lang: Lang, kind: SubjectKind, status: &str) -> &'static str {
    match kind {
        SubjectKind::Case => t(lang, status_key(status)),
        SubjectKind::Contact => match parse(status) {
            Some(status) => t(lang, super::contacts::status_key(status)),
            None => "—",
        },
    }
}

fn counts(lang: Lang, cluster: &ClusterView) -> Markup {
    html! {
        (t(lang, "cluster.cases")) " " strong { (cluster.counts.cases) } " · "
        (t(lang, "cluster.contacts")) " " strong { (cluster.counts.contacts) } " · "
        (t(lang, "cluster.quarantined")) " " strong { (cluster.counts.quarantined) } " · "
        (t(lang, "cluster.converted")) " " strong { (cluster.counts.converted) }
    }
}

async fn list_page(
    console: &Console,
    staff: &Staff,
    form: &Form,
    errors: &Errors,
    status: StatusCode,
) -> Page {
    let lang = staff.lang;
    let clusters = console
        .cases()
        .clusters(&staff.principal)
        .await
        .map_err(|e| PageError::Service(lang, e))?;
    let body = html! {
        h1 { (t(lang, "cluster.title")) }
        @if clusters.is_empty() { p.muted #no-clusters { (t(lang, "case.none")) } }
        @else {
            div.table-wrap { table #clusters {
                thead { tr {
                    th scope="col" { (t(lang, "cluster.name")) }
                    th scope="col" { (t(lang, "contact.setting")) }
                    th scope="col" { (t(lang, "cluster.first_date")) }
                    th scope="col" { (t(lang, "cluster.counts")) }
                } }
                tbody { @for c in &clusters {
                    tr {
                        td { a href={ "/console/clusters/" (c.id) } { (c.name) } }
                        td { (t(lang, setting_key(&c.setting))) }
                        td { (c.first_date) }
                        td { (counts(lang, c)) }
                    }
                } }
            } }
        }
        @if may_work(staff) {
            h2 { (t(lang, "cluster.create")) }
            @if !errors.is_empty() { p.warning role="alert" { (t(lang, "error.invalid")) } }
            form #cluster-form method="post" action="/console/clusters" {
                (csrf(staff))
                (input(lang, form, errors, "name", "cluster.name", "text", true))
                div.row {
                    (select(lang, form, errors, "setting", "contact.setting", &options(lang, &SETTINGS)))
                    (input(lang, form, errors, "firstDate", "cluster.first_date", "date", false))
                }
                button #create-cluster type="submit" { (t(lang, "cluster.create")) }
            }
        }
    };
    Ok(web::html(
        status,
        layout::page(staff, "/console/clusters", t(lang, "cluster.title"), body),
    ))
}

async fn list(console: Data, request: HttpRequest) -> Page {
    let staff = console.staff(&request).await?;
    list_page(
        &console,
        &staff,
        &Form::default(),
        &Errors::new(),
        StatusCode::OK,
    )
    .await
}

async fn create(console: Data, request: HttpRequest, body: aweb::Bytes) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    match create_from(&console, &staff, &form).await? {
        Ok(id) => Ok(web::redirect(&format!("/console/clusters/{id}"))),
        Err(errors) => {
            list_page(
                &console,
                &staff,
                &form,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// A result whose inner error is the form's field errors (the page is shown again, 422) and
/// whose outer error is any other failure (shown as an error page).
type FormOutcome<T> = Result<Result<T, Errors>, PageError>;

fn required(lang: Lang, field: &str, key: &'static str) -> Errors {
    vec![(field.to_string(), t(lang, key).to_string())]
}

/// Creates the cluster of `form`; its id.
async fn create_from(console: &Console, staff: &Staff, form: &Form) -> FormOutcome<String> {
    let lang = staff.lang;
    let Some(setting) = parse::<ExposureSetting>(form.get("setting")) else {
        return Ok(Err(required(lang, "setting", "v.required")));
    };
    let cluster = NewCluster {
        name: form.get("name").trim().to_string(),
        setting,
        first_date: form.opt("firstDate"),
    };
    match console
        .cases()
        .create_cluster(&staff.principal, cluster)
        .await
    {
        Ok(created) => Ok(Ok(created.id)),
        Err(e) => form_errors(lang, e).map(Err),
    }
}

async fn cluster_page(
    console: &Console,
    staff: &Staff,
    id: &str,
    form: &Form,
    errors: &Errors,
    status: StatusCode,
) -> Page {
    let lang = staff.lang;
    let cases = console.cases();
    let cluster = cases
        .cluster(&staff.principal, id)
        .await
        .map_err(|e| PageError::Service(lang, e))?;
    let graph = cases
        .cluster_graph_svg(&staff.principal, id)
        .await
        .map_err(|e| PageError::Service(lang, e))?;
    let writable = may_work(staff) && staff.principal.organization.id == cluster.health_center_id;
    let body = html! {
        p { a href="/console/clusters" { "← " (t(lang, "cluster.title")) } }
        h1 { (cluster.name) }
        dl.facts {
            dt { (t(lang, "contact.setting")) } dd { (t(lang, setting_key(&cluster.setting))) }
            dt { (t(lang, "cluster.first_date")) } dd { (cluster.first_date) }
            dt { (t(lang, "cluster.counts")) } dd #cluster-counts { (counts(lang, &cluster)) }
        }
        h2 #graph-title { (t(lang, "cluster.graph")) }
        p.muted { (t(lang, "cluster.graph.legend")) }
        div.graph #cluster-graph { (svg(graph)) }
        h2 #members-title { (t(lang, "cluster.members")) }
        @if cluster.members.is_empty() { p.muted { (t(lang, "case.none")) } }
        @else {
            div.table-wrap { table #members aria-labelledby="members-title" {
                thead { tr {
                    th scope="col" { (t(lang, "cluster.member")) }
                    th scope="col" { (t(lang, "cluster.member.kind")) }
                    th scope="col" { (t(lang, "msg.state")) }
                } }
                tbody { @for m in &cluster.members {
                    tr data-kind=(m.kind.as_str()) {
                        td { a href={ (super::subject_path(m.kind, &m.id)) } { (m.name) } }
                        td { (t(lang, if m.kind == SubjectKind::Case { "cluster.member.case" } else { "cluster.member.contact" })) }
                        td { (member_status(lang, m.kind, &m.status)) }
                    }
                } }
            } }
        }
        @if writable {
            h2 { (t(lang, "cluster.add")) }
            @if !errors.is_empty() { p.warning role="alert" { (t(lang, "error.invalid")) } }
            form #member-form method="post" action="/console/cluster-members" {
                (csrf(staff))
                input type="hidden" name="cluster" value=(cluster.id);
                div.row {
                    (select(lang, form, errors, "kind", "cluster.member.kind", &options(lang, &MEMBER_KINDS)))
                    (input(lang, form, errors, "id", "cluster.member.id", "text", true))
                }
                button #add-member type="submit" { (t(lang, "cluster.add")) }
            }
            h2 { (t(lang, "cluster.print")) }
            p.muted { (t(lang, "cluster.print.hint")) }
            form #bulk-documents method="post" action={ "/console/clusters/" (cluster.id) "/documents" } {
                (csrf(staff))
                div.row {
                    (select(lang, &Form::default(), &Errors::new(), "kind", "doc.kind", &options(lang, &BULK_KINDS)))
                    (select(lang, &Form::default(), &Errors::new(), "language", "doc.language", &options(lang, &super::documents::LANGUAGES)))
                }
                div.row {
                    (input(lang, &Form::default(), &Errors::new(), "periodStart", "doc.period_start", "date", false))
                    (input(lang, &Form::default(), &Errors::new(), "periodEnd", "doc.period_end", "date", false))
                }
                p.muted { (t(lang, "doc.period_hint")) }
                (input(lang, &Form::default(), &Errors::new(), "healthCenterPhone", "doc.hc_phone", "tel", false))
                button.secondary #print-documents type="submit" { (t(lang, "cluster.print")) }
            }
        }
    };
    Ok(web::html(
        status,
        layout::page(staff, "/console/clusters", t(lang, "cluster.title"), body),
    ))
}

async fn show(console: Data, request: HttpRequest, path: aweb::Path<String>) -> Page {
    let staff = console.staff(&request).await?;
    cluster_page(
        &console,
        &staff,
        &path,
        &Form::default(),
        &Errors::new(),
        StatusCode::OK,
    )
    .await
}

async fn add_member(console: Data, request: HttpRequest, body: aweb::Bytes) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    let cluster_id = form.get("cluster").to_string();
    match add_member_from(&console, &staff, &cluster_id, &form).await? {
        Ok(()) => Ok(web::redirect(&format!("/console/clusters/{cluster_id}"))),
        Err(errors) => {
            cluster_page(
                &console,
                &staff,
                &cluster_id,
                &form,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// Adds the member of `form` to cluster `cluster_id`.
async fn add_member_from(
    console: &Console,
    staff: &Staff,
    cluster_id: &str,
    form: &Form,
) -> FormOutcome<()> {
    let lang = staff.lang;
    let Some(kind) = parse::<SubjectKind>(form.get("kind")) else {
        return Ok(Err(required(lang, "kind", "v.required")));
    };
    let member = NewMember {
        kind,
        id: form.get("id").trim().to_string(),
    };
    match console
        .cases()
        .add_cluster_member(&staff.principal, cluster_id, member)
        .await
    {
        Ok(_) => Ok(Ok(())),
        Err(e) => form_errors(lang, e).map(Err),
    }
}

/// One PDF with a page per member for whom the chosen document is meant (cases for
/// certificates and work restrictions, contacts for quarantine end notices).
async fn print_documents(
    console: Data,
    request: HttpRequest,
    path: aweb::Path<String>,
    body: aweb::Bytes,
) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    let id = path.into_inner();
    match bundle_from(&console, &staff, &id, &form).await? {
        Ok((count, pdf)) => Ok(HttpResponse::Ok()
            .content_type("application/pdf")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"cluster-{count}.pdf\""),
            ))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(pdf)),
        Err(errors) => {
            cluster_page(
                &console,
                &staff,
                &id,
                &form,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// The bundle `form` asks for over the members of cluster `id`: how many documents, the PDF.
async fn bundle_from(
    console: &Console,
    staff: &Staff,
    id: &str,
    form: &Form,
) -> FormOutcome<(usize, Vec<u8>)> {
    let lang = staff.lang;
    let document = super::documents::parse_request(form)
        .filter(|d| d.kind != DocumentType::QuarantineStartNotice);
    let Some(document) = document else {
        return Ok(Err(required(lang, "kind", "v.required")));
    };
    let cluster = console
        .cases()
        .cluster(&staff.principal, id)
        .await
        .map_err(|e| PageError::Service(lang, e))?;
    let subjects: Vec<BundleSubject> = cluster
        .members
        .iter()
        .filter(|m| m.kind == document.kind_subject())
        .map(|m| BundleSubject { id: m.id.clone() })
        .collect();
    if subjects.is_empty() {
        return Ok(Err(required(lang, "kind", "cluster.print.nobody")));
    }
    match console
        .cases()
        .issue_bundle(&staff.principal, BundleRequest { document, subjects })
        .await
    {
        Ok((documents, pdf)) => Ok(Ok((documents.len(), pdf))),
        Err(e) => form_errors(lang, e).map(Err),
    }
}

/// The "add to cluster" form on a case or contact page: the health center's clusters to
/// choose from (nothing when it has none or the user may not add members).
pub(super) async fn add_to_cluster_form(
    console: &Console,
    staff: &Staff,
    kind: SubjectKind,
    id: &str,
    writable: bool,
) -> Markup {
    if !writable || !may_work(staff) {
        return html! {};
    }
    let lang = staff.lang;
    let clusters = console
        .cases()
        .clusters(&staff.principal)
        .await
        .unwrap_or_default();
    if clusters.is_empty() {
        return html! {};
    }
    let choices: Vec<(String, String)> = clusters
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    html! {
        details.panel {
            summary { (t(lang, "cluster.add_to")) }
            form #add-to-cluster method="post" action="/console/cluster-members" {
                (csrf(staff))
                input type="hidden" name="kind" value=(kind.as_str());
                input type="hidden" name="id" value=(id);
                (select(lang, &Form::default(), &Errors::new(), "cluster", "cluster.title", &choices))
                button.secondary type="submit" { (t(lang, "cluster.add_to")) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_offered_choice_parses() {
        for (value, _) in MEMBER_KINDS {
            assert!(parse::<SubjectKind>(value).is_some(), "{value}");
        }
        for (value, _) in SETTINGS {
            assert!(parse::<ExposureSetting>(value).is_some(), "{value}");
        }
        assert!(parse::<SubjectKind>("person").is_none());
        for (value, _) in BULK_KINDS {
            let form = Form(vec![("kind".into(), value.into())]);
            assert!(
                super::super::documents::parse_request(&form).is_some(),
                "{value}"
            );
        }
    }
}
