//! Case list with search and filters, the notification-of-occurrence form, and the case page
//! (timeline, contacts, links, processing number, revocation, follow-up).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web as aweb};
use maud::{Markup, html};
use mimamori_cases::model::{CaseStatus, Date, DateRules, Notification, OrgKind, Role};
use mimamori_cases::service::followup::SubjectKind;
use mimamori_cases::service::{CaseError, CaseView};
use mimamori_verification::service::{IssueRequest, Issued};

use super::{Data, field_message, followup};
use crate::i18n::{Lang, status_key, t};
use crate::layout::{self, csrf, datetime, qr_svg, svg};
use crate::web::{self, Form, Staff};
use crate::{Console, Page, PageError};

const PER_PAGE: i64 = 20;

pub(super) fn routes(config: &mut aweb::ServiceConfig) {
    config
        .route("/cases", aweb::get().to(list))
        .route("/cases/search", aweb::post().to(search))
        .route("/cases/new", aweb::get().to(new_form))
        .route("/cases/new", aweb::post().to(file))
        .route("/cases/{id}", aweb::get().to(show))
        .route("/cases/{id}/status", aweb::post().to(status))
        .route("/cases/{id}/contacts", aweb::post().to(contact))
        .route("/cases/{id}/links", aweb::post().to(link))
        .route("/cases/{id}/number", aweb::post().to(issue_number))
        .route("/cases/{id}/revoke", aweb::post().to(revoke));
}

/// Field errors: (JSON field name, message in the user's language).
pub(super) type Errors = Vec<(String, String)>;

fn error_for<'a>(errors: &'a Errors, name: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|(f, _)| f == name)
        .map(|(_, m)| m.as_str())
}

/// A labelled input with its error message tied by `aria-describedby`.
pub(super) fn input(
    lang: Lang,
    form: &Form,
    errors: &Errors,
    name: &str,
    label: &'static str,
    kind: &str,
    required: bool,
) -> Markup {
    let error = error_for(errors, name);
    let id = format!("f-{name}");
    let error_id = format!("err-{name}");
    html! {
        div.field {
            label for=(id) {
                (t(lang, label))
                @if required { span.req { "（" (t(lang, "new.required")) "）" } }
            }
            input id=(id) type=(kind) name=(name) value=(form.get(name))
                required[required]
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| error_id.as_str())]
                step=[(kind == "number").then_some("any")];
            @if let Some(message) = error { p.error id=(error_id) { (message) } }
        }
    }
}

/// A labelled select; `options` are (value, label key).
pub(super) fn select(
    lang: Lang,
    form: &Form,
    errors: &Errors,
    name: &str,
    label: &'static str,
    options: &[(String, String)],
) -> Markup {
    let error = error_for(errors, name);
    let id = format!("f-{name}");
    let error_id = format!("err-{name}");
    let current = form.get(name);
    html! {
        div.field {
            label for=(id) { (t(lang, label)) }
            select id=(id) name=(name)
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| error_id.as_str())] {
                @for (value, text) in options {
                    option value=(value) selected[value == current] { (text) }
                }
            }
            @if let Some(message) = error { p.error id=(error_id) { (message) } }
        }
    }
}

/// A labelled checkbox.
pub(super) fn check(lang: Lang, form: &Form, name: &str, label: &'static str) -> Markup {
    html! {
        label.check {
            input type="checkbox" name=(name) value="on" checked[form.checked(name)];
            (t(lang, label))
        }
    }
}

/// The label key of a notification field (for the error summary).
fn label_key(field: &str) -> &'static str {
    match field {
        "name" => "f.name",
        "kana" => "f.kana",
        "sex" => "f.sex",
        "dateOfBirth" => "f.dateOfBirth",
        "age" => "f.age",
        "address" => "f.address",
        "phone" => "f.phone",
        "healthCenterId" => "f.healthCenterId",
        "municipality" => "f.municipality",
        "resultDate" => "f.resultDate",
        "diagnosisDate" => "f.diagnosisDate",
        "onsetDate" => "f.onsetDate",
        "reportDate" => "f.reportDate",
        "diagnosisMethod" => "f.diagnosisMethod",
        "specimenType" => "f.specimenType",
        "outcome" => "f.outcome",
        "infectionRoute" => "f.infectionRoute",
        "infectionArea" => "f.infectionArea",
        _ => "error.invalid",
    }
}

/// Select options from (value, label key) pairs.
pub(super) fn options(lang: Lang, pairs: &[(&str, &'static str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(v, k)| (v.to_string(), t(lang, k).to_string()))
        .collect()
}

fn statuses() -> [CaseStatus; 8] {
    CaseStatus::ALL
}

fn badge(lang: Lang, status: &str) -> Markup {
    html! { span.badge { (t(lang, status_key(status))) } }
}

fn service(lang: Lang) -> impl Fn(CaseError) -> PageError {
    move |e| PageError::Service(lang, e)
}

async fn list(console: Data, request: HttpRequest) -> Page {
    let staff = console.staff(&request).await?;
    let lang = staff.lang;
    let page: i64 = url::form_urlencoded::parse(request.query_string().as_bytes())
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(1)
        .clamp(1, mimamori_cases::service::MAX_PAGE);
    let (name, status) = console.filter(&staff.token);
    let result = console
        .cases()
        .list(
            &staff.principal,
            Some(status.as_str()).filter(|s| !s.is_empty()),
            Some(name.as_str()).filter(|s| !s.is_empty()),
            page,
            PER_PAGE,
        )
        .await
        .map_err(service(lang))?;
    let pages = (result.total + PER_PAGE - 1) / PER_PAGE;
    let offset = console.cases().config().utc_offset_minutes;
    let mut status_options = vec![(String::new(), t(lang, "cases.any").to_string())];
    status_options.extend(statuses().iter().map(|s| {
        (
            s.as_str().to_string(),
            t(lang, status_key(s.as_str())).to_string(),
        )
    }));
    let filter_form = Form(vec![
        ("name".into(), name.clone()),
        ("status".into(), status.clone()),
    ]);
    let body = html! {
        h1 { (t(lang, "cases.title")) }
        form.panel method="post" action="/console/cases/search" role="search" {
            (csrf(&staff))
            div.row {
                (input(lang, &filter_form, &Vec::new(), "name", "cases.name", "search", false))
                (select(lang, &filter_form, &Vec::new(), "status", "cases.status", &status_options))
                div.field {
                    button type="submit" { (t(lang, "cases.search")) }
                    " "
                    button.secondary type="submit" name="clear" value="1" { (t(lang, "cases.clear")) }
                }
            }
        }
        p.muted role="status" { (result.total) " " (t(lang, "cases.total")) }
        @if result.items.is_empty() {
            p { (t(lang, "cases.none")) }
        } @else {
            div.table-wrap {
                table {
                    thead { tr {
                        th scope="col" { (t(lang, "cases.col.name")) }
                        th scope="col" { (t(lang, "cases.col.status")) }
                        th scope="col" { (t(lang, "cases.col.diagnosis")) }
                        th scope="col" { (t(lang, "cases.col.created")) }
                    } }
                    tbody {
                        @for item in &result.items {
                            tr {
                                td { a href={ "/console/cases/" (item.id) } { (item.name) } }
                                td { (badge(lang, &item.status)) }
                                td { (item.diagnosis_date) }
                                td { (datetime(item.created_at_ms, offset)) }
                            }
                        }
                    }
                }
            }
        }
        @if pages > 1 {
            nav.pager aria-label=(t(lang, "page")) {
                @if page > 1 { a href={ "/console/cases?page=" (page - 1) } { (t(lang, "prev")) } }
                span { (t(lang, "page")) " " (page) " / " (pages) }
                @if page < pages { a href={ "/console/cases?page=" (page + 1) } { (t(lang, "next")) } }
            }
        }
    };
    Ok(web::html(
        StatusCode::OK,
        layout::page(&staff, "/console/cases", t(lang, "cases.title"), body),
    ))
}

async fn search(console: Data, request: HttpRequest, body: aweb::Bytes) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    if form.checked("clear") {
        console.set_filter(&staff.token, String::new(), String::new());
    } else {
        let status = form.get("status");
        let status = if CaseStatus::parse(status).is_some() {
            status.to_string()
        } else {
            String::new()
        };
        console.set_filter(&staff.token, form.get("name").to_string(), status);
    }
    Ok(web::redirect("/console/cases"))
}

fn may_file(staff: &Staff) -> bool {
    let p = &staff.principal;
    match p.organization.kind {
        OrgKind::MedicalInstitution => p.has(Role::Doctor),
        OrgKind::HealthCenter => p.has(Role::CaseWorker),
        _ => false,
    }
}

/// The health centers the form offers: a health center's own, or the clinic's default one.
async fn health_centers(console: &Console, staff: &Staff) -> Vec<(String, String)> {
    let org = &staff.principal.organization;
    let id = match org.kind {
        OrgKind::HealthCenter => Some(org.id.clone()),
        _ => org.parent_id.clone(),
    };
    match id {
        Some(id) => {
            let name = match console.cases().store().organization(&id).await {
                Ok(Some(o)) => o.name,
                _ => id.clone(),
            };
            vec![(id, name)]
        }
        None => Vec::new(),
    }
}

fn notification_form(
    console: &Console,
    staff: &Staff,
    form: &Form,
    errors: &Errors,
    centers: &[(String, String)],
) -> Markup {
    let lang = staff.lang;
    let _ = console;
    let sexes = options(
        lang,
        &[
            ("male", "f.sex.male"),
            ("female", "f.sex.female"),
            ("other", "f.sex.other"),
        ],
    );
    html! {
        h1 { (t(lang, "new.title")) }
        @if !errors.is_empty() {
            div.warning role="alert" #form-errors {
                p { (t(lang, "error.invalid")) }
                ul { @for (field, message) in errors {
                    li { a href={ "#f-" (field) } { (t(lang, label_key(field))) ": " (message) } }
                } }
            }
        }
        form method="post" action="/console/cases/new" novalidate {
            (csrf(staff))
            fieldset {
                legend { (t(lang, "new.patient")) }
                div.grid {
                    (input(lang, form, errors, "name", "f.name", "text", true))
                    (input(lang, form, errors, "kana", "f.kana", "text", false))
                    (select(lang, form, errors, "sex", "f.sex", &sexes))
                    (input(lang, form, errors, "dateOfBirth", "f.dateOfBirth", "date", false))
                    (input(lang, form, errors, "age", "f.age", "number", false))
                    (input(lang, form, errors, "phone", "f.phone", "tel", false))
                    (input(lang, form, errors, "address", "f.address", "text", false))
                    (input(lang, form, errors, "municipality", "f.municipality", "text", true))
                }
                (check(lang, form, "vulnerableHousehold", "f.vulnerableHousehold"))
            }
            fieldset {
                legend { (t(lang, "new.clinical")) }
                div.grid {
                    @if centers.is_empty() {
                        (input(lang, form, errors, "healthCenterId", "f.healthCenterId", "text", true))
                    } @else {
                        (select(lang, form, errors, "healthCenterId", "f.healthCenterId", centers))
                    }
                    (input(lang, form, errors, "resultDate", "f.resultDate", "date", true))
                    (input(lang, form, errors, "diagnosisDate", "f.diagnosisDate", "date", true))
                    (input(lang, form, errors, "onsetDate", "f.onsetDate", "date", false))
                    (input(lang, form, errors, "reportDate", "f.reportDate", "date", true))
                    (select(lang, form, errors, "diagnosisMethod", "f.diagnosisMethod",
                        &options(lang, &[("PCR", "f.method.pcr"), ("antigen", "f.method.antigen")])))
                    (select(lang, form, errors, "specimenType", "f.specimenType",
                        &options(lang, &[("nasopharyngeal swab", "f.specimen.np"), ("saliva", "f.specimen.saliva")])))
                }
                (input(lang, form, errors, "symptomsAtDiagnosis", "f.symptomsAtDiagnosis", "text", false))
            }
            fieldset {
                legend { (t(lang, "new.condition")) }
                (select(lang, form, errors, "outcome", "f.outcome",
                    &options(lang, &[("under treatment", "f.outcome.treatment")])))
                (check(lang, form, "admitted", "f.admitted"))
                (check(lang, form, "icu", "f.icu"))
                (check(lang, form, "ventilator", "f.ventilator"))
                (check(lang, form, "ecmo", "f.ecmo"))
                (check(lang, form, "postMortem", "f.postMortem"))
            }
            fieldset {
                legend { (t(lang, "new.infection")) }
                div.grid {
                    (select(lang, form, errors, "infectionRoute", "f.infectionRoute",
                        &options(lang, &[("droplet", "f.route.droplet"), ("contact", "f.route.contact"), ("unknown", "f.route.unknown")])))
                    (select(lang, form, errors, "infectionArea", "f.infectionArea",
                        &options(lang, &[("domestic", "f.infectionArea.domestic"), ("overseas", "f.infectionArea.overseas")])))
                }
                (check(lang, form, "infectionConfirmed", "f.infectionConfirmed"))
                (check(lang, form, "linkedToOtherCase", "f.linkedToOtherCase"))
            }
            button type="submit" { (t(lang, "new.submit")) }
        }
    }
}

async fn new_form(console: Data, request: HttpRequest) -> Page {
    let staff = console.staff(&request).await?;
    if !may_file(&staff) {
        return Err(PageError::Service(staff.lang, CaseError::Forbidden));
    }
    let centers = health_centers(&console, &staff).await;
    let today = Date::from_unix_ms(
        console.cases().now_ms() + console.cases().config().utc_offset_minutes * 60_000,
    )
    .to_string();
    let defaults = Form(vec![("reportDate".into(), today)]);
    let body = notification_form(&console, &staff, &defaults, &Vec::new(), &centers);
    Ok(web::html(
        StatusCode::OK,
        layout::page(
            &staff,
            "/console/cases/new",
            t(staff.lang, "new.title"),
            body,
        ),
    ))
}

/// The notification from the form, and the errors found before the registry's validation.
fn parse_notification(form: &Form) -> (Notification, Vec<(&'static str, &'static str)>) {
    let mut errors = Vec::new();
    let age = match form.opt("age") {
        None => None,
        Some(a) => match a.parse::<u32>() {
            Ok(v) => Some(v),
            Err(_) => {
                errors.push(("age", "not a number"));
                None
            }
        },
    };
    for field in ["resultDate", "diagnosisDate", "reportDate"] {
        if form.get(field).is_empty() {
            errors.push((field, "required"));
        }
    }
    let notification = Notification {
        name: form.get("name").into(),
        kana: form.opt("kana"),
        sex: form.opt("sex"),
        date_of_birth: form.opt("dateOfBirth"),
        age,
        address: form.opt("address"),
        phone: form.opt("phone"),
        email: None,
        workplace: None,
        nationality: None,
        vulnerable_household: form.checked("vulnerableHousehold"),
        health_center_id: form.get("healthCenterId").into(),
        municipality: form.get("municipality").into(),
        reporting_doctor: None,
        result_date: form.get("resultDate").into(),
        test_result: Some("positive".into()),
        administrative_test: None,
        sampling_date: None,
        test_method: None,
        diagnosis_date: form.get("diagnosisDate").into(),
        onset_date: form.opt("onsetDate"),
        admitted: form.checked("admitted"),
        hospital: None,
        icu: form.checked("icu"),
        ventilator: form.checked("ventilator"),
        ecmo: form.checked("ecmo"),
        outcome: form.get("outcome").into(),
        underlying_conditions: None,
        linked_to_other_case: form.checked("linkedToOtherCase"),
        estimated_place_of_infection: None,
        report_date: form.get("reportDate").into(),
        post_mortem: form.checked("postMortem"),
        symptoms_at_diagnosis: form
            .get("symptomsAtDiagnosis")
            .split([',', '、', '，'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        diagnosis_method: form.get("diagnosisMethod").into(),
        specimen_type: form.get("specimenType").into(),
        infection_route: form.get("infectionRoute").into(),
        infection_area: form.get("infectionArea").into(),
        infection_confirmed: form.checked("infectionConfirmed"),
    };
    (notification, errors)
}

async fn file(console: Data, request: HttpRequest, body: aweb::Bytes) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    let lang = staff.lang;
    if !may_file(&staff) {
        return Err(PageError::Service(lang, CaseError::Forbidden));
    }
    let (notification, local) = parse_notification(&form);
    let mut errors: Errors = local
        .iter()
        .map(|(f, m)| (f.to_string(), field_message(lang, m)))
        .collect();
    let found = if errors.is_empty() {
        match console.cases().file(&staff.principal, notification).await {
            Ok(view) => {
                return Ok(web::redirect(&format!(
                    "/console/cases/{}?filed=1",
                    view.id
                )));
            }
            Err(CaseError::Invalid(found)) => found,
            Err(e) => return Err(PageError::Service(lang, e)),
        }
    } else {
        let rules = DateRules {
            today: Date::from_unix_ms(console.cases().now_ms()),
            max_onset_after_diagnosis_days: console.cases().config().max_onset_after_diagnosis_days,
        };
        notification.validate(rules).err().unwrap_or_default()
    };
    for e in found {
        if !errors.iter().any(|(f, _)| f == e.field) {
            errors.push((e.field.to_string(), field_message(lang, &e.message)));
        }
    }
    let centers = health_centers(&console, &staff).await;
    let body = notification_form(&console, &staff, &form, &errors, &centers);
    Ok(web::html(
        StatusCode::UNPROCESSABLE_ENTITY,
        layout::page(&staff, "/console/cases/new", t(lang, "new.title"), body),
    ))
}

fn may_write(staff: &Staff) -> bool {
    staff.principal.organization.kind == OrgKind::HealthCenter
        && staff.principal.has(Role::CaseWorker)
}

const SHOWN_FIELDS: [(&str, &str); 20] = [
    ("kana", "f.kana"),
    ("sex", "f.sex"),
    ("dateOfBirth", "f.dateOfBirth"),
    ("age", "f.age"),
    ("phone", "f.phone"),
    ("address", "f.address"),
    ("municipality", "f.municipality"),
    ("resultDate", "f.resultDate"),
    ("diagnosisDate", "f.diagnosisDate"),
    ("onsetDate", "f.onsetDate"),
    ("reportDate", "f.reportDate"),
    ("diagnosisMethod", "f.diagnosisMethod"),
    ("specimenType", "f.specimenType"),
    ("symptomsAtDiagnosis", "f.symptomsAtDiagnosis"),
    ("outcome", "f.outcome"),
    ("admitted", "f.admitted"),
    ("vulnerableHousehold", "f.vulnerableHousehold"),
    ("infectionRoute", "f.infectionRoute"),
    ("infectionArea", "f.infectionArea"),
    ("linkedToOtherCase", "f.linkedToOtherCase"),
];

fn show_value(lang: Lang, value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::Bool(true) => t(lang, "yes").into(),
        serde_json::Value::Bool(false) => t(lang, "no").into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), String::from))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn event_key(kind: &str) -> &'static str {
    match kind {
        "status" => "ev.status",
        "number_issued" => "ev.number_issued",
        "number_claimed" => "ev.number_claimed",
        "certificate_issued" => "ev.certificate_issued",
        "keys_published" => "ev.keys_published",
        "keys_revoked" => "ev.keys_revoked",
        "number_expired" => "ev.number_expired",
        "revoked" => "ev.revoked",
        "number_released" => "ev.number_released",
        "edited" => "ev.edited",
        "transferred" => "ev.transferred",
        _ => "ev.other",
    }
}

fn event_detail(lang: Lang, kind: &str, detail: &str) -> String {
    if kind == "status" {
        t(lang, status_key(detail)).to_string()
    } else {
        detail.to_string()
    }
}

/// The case page; `extra` is shown on top (a number just issued, a link, a notice).
pub(super) async fn render_case(
    console: &Console,
    staff: &Staff,
    id: &str,
    extra: Option<Markup>,
    observation_form: Option<(&Form, &Errors)>,
    status: StatusCode,
) -> Page {
    let lang = staff.lang;
    let view: CaseView = console
        .cases()
        .read(&staff.principal, id)
        .await
        .map_err(service(lang))?;
    let offset = console.cases().config().utc_offset_minutes;
    let writable = may_write(staff) && !view.revoked;
    let current = CaseStatus::parse(&view.status);
    let next_statuses: Vec<(String, String)> = statuses()
        .iter()
        .filter(|s| current.is_some_and(|c| c.can_become(**s)))
        .map(|s| {
            (
                s.as_str().to_string(),
                t(lang, status_key(s.as_str())).to_string(),
            )
        })
        .collect();
    let name = view.notification["name"].as_str().unwrap_or("").to_string();
    let number_events: Vec<_> = view
        .history
        .iter()
        .filter(|e| {
            matches!(
                e.kind.as_str(),
                "number_issued" | "number_claimed" | "number_expired" | "certificate_issued"
            )
        })
        .collect();
    let issued_before = number_events.iter().any(|e| e.kind == "number_issued");
    let followup = followup::case_section(console, staff, &view, observation_form).await;
    let contacts_section =
        super::contacts::case_section(console, staff, &view.id, writable, None).await;
    let lab_tests = super::lab_tests::case_section(console, staff, &view.id, writable).await;
    let documents =
        super::documents::section(console, staff, SubjectKind::Case, &view.id, writable).await;
    let messages =
        super::messages::section(console, staff, SubjectKind::Case, &view.id, writable).await;
    let add_to_cluster =
        super::clusters::add_to_cluster_form(console, staff, SubjectKind::Case, &view.id, writable)
            .await;
    let body = html! {
        p { a href="/console/cases" { "← " (t(lang, "nav.cases")) } }
        h1 { (name) " " (badge(lang, &view.status)) }
        @if let Some(extra) = extra { (extra) }
        @if view.revoked { p.warning role="status" { (t(lang, "case.revoked")) } }
        div.cols {
            div {
                h2 { (t(lang, "case.details")) }
                dl.facts {
                    dt { (t(lang, "id")) } dd.mono { (view.id) }
                    @for (field, key) in SHOWN_FIELDS {
                        dt { (t(lang, key)) }
                        dd { (show_value(lang, &view.notification[field])) }
                    }
                }
                h2 { (t(lang, "case.contacts")) }
                (contacts_section)
                @if !view.contacts.is_empty() {
                    h3 { (t(lang, "case.contact.notes")) }
                    ul { @for c in &view.contacts {
                        li { (show_value(lang, &c["name"])) " / " (show_value(lang, &c["phone"])) " / " (show_value(lang, &c["lastContact"])) }
                    } }
                }
                h2 { (t(lang, "case.links")) }
                @if view.links.is_empty() { p.muted { (t(lang, "case.none")) } }
                @else {
                    ul { @for other in &view.links {
                        li { a.mono href={ "/console/cases/" (other) } { (other) } }
                    } }
                }
                @if writable {
                    form.panel method="post" action={ "/console/cases/" (view.id) "/links" } {
                        (csrf(staff))
                        (input(lang, &Form::default(), &Vec::new(), "other", "case.link.other", "text", true))
                        button.secondary type="submit" { (t(lang, "case.link.add")) }
                    }
                }
                (add_to_cluster)
                (lab_tests)
                (followup)
                (documents)
                (messages)
            }
            div {
                h2 { (t(lang, "case.timeline")) }
                ol.timeline {
                    li { strong { (t(lang, "ev.created")) } br; span.muted { (datetime(view.created_at_ms, offset)) } }
                    @for e in &view.history {
                        li {
                            strong { (t(lang, event_key(&e.kind))) }
                            @let detail = event_detail(lang, &e.kind, &e.detail);
                            @if !detail.is_empty() { " " (detail) }
                            br; span.muted { (datetime(e.at_ms, offset)) }
                        }
                    }
                }
                @if writable {
                    h2 { (t(lang, "case.change_status")) }
                    @if view.status == "reported" {
                        form method="post" action={ "/console/cases/" (view.id) "/status" } {
                            (csrf(staff))
                            input type="hidden" name="status" value="accepted";
                            button #accept type="submit" { (t(lang, "case.accept")) }
                        }
                    } @else if !next_statuses.is_empty() {
                        form method="post" action={ "/console/cases/" (view.id) "/status" } {
                            (csrf(staff))
                            (select(lang, &Form::default(), &Vec::new(), "status", "case.new_status", &next_statuses))
                            button type="submit" { (t(lang, "case.apply")) }
                        }
                    }
                }
                h2 { (t(lang, "case.number")) }
                @if number_events.is_empty() { p.muted { (t(lang, "case.none")) } }
                @else {
                    ul { @for e in &number_events {
                        li { (t(lang, event_key(&e.kind))) " " (e.detail) " — " span.muted { (datetime(e.at_ms, offset)) } }
                    } }
                }
                @if writable {
                    @if view.status == "reported" {
                        p.muted { (t(lang, "case.number.not_accepted")) }
                    } @else {
                        form method="post" action={ "/console/cases/" (view.id) "/number" } {
                            (csrf(staff))
                            button #issue-number type="submit" {
                                @if issued_before { (t(lang, "case.number.reissue")) } @else { (t(lang, "case.number.issue")) }
                            }
                        }
                    }
                    h2 { (t(lang, "case.revoke")) }
                    form method="post" action={ "/console/cases/" (view.id) "/revoke" } {
                        (csrf(staff))
                        label.check { input type="checkbox" name="confirm" value="on" required; (t(lang, "case.revoke.confirm")) }
                        button.danger type="submit" { (t(lang, "case.revoke")) }
                    }
                }
            }
        }
    };
    let here = format!("/console/cases/{}", view.id);
    Ok(web::html(
        status,
        layout::page(staff, &here, t(lang, "case.title"), body),
    ))
}

async fn show(console: Data, request: HttpRequest, path: aweb::Path<String>) -> Page {
    let staff = console.staff(&request).await?;
    let extra = request
        .query_string()
        .contains("filed=1")
        .then(|| html! { p.notice role="status" { (t(staff.lang, "new.filed")) } });
    render_case(&console, &staff, &path, extra, None, StatusCode::OK).await
}

async fn status(
    console: Data,
    request: HttpRequest,
    path: aweb::Path<String>,
    body: aweb::Bytes,
) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    console
        .cases()
        .change_status(&staff.principal, &path, form.get("status"))
        .await
        .map_err(service(staff.lang))?;
    Ok(web::redirect(&format!("/console/cases/{path}")))
}

async fn contact(
    console: Data,
    request: HttpRequest,
    path: aweb::Path<String>,
    body: aweb::Bytes,
) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    if form.get("contactName").is_empty() {
        return Err(PageError::Service(
            staff.lang,
            CaseError::BadRequest {
                code: "invalid_contact",
                message: "name required".into(),
            },
        ));
    }
    let data = serde_json::json!({
        "name": form.get("contactName"),
        "phone": form.opt("contactPhone"),
        "lastContact": form.opt("lastContact"),
    });
    console
        .cases()
        .add_contact(&staff.principal, &path, data)
        .await
        .map_err(service(staff.lang))?;
    Ok(web::redirect(&format!("/console/cases/{path}")))
}

async fn link(
    console: Data,
    request: HttpRequest,
    path: aweb::Path<String>,
    body: aweb::Bytes,
) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    console
        .cases()
        .add_link(&staff.principal, &path, form.get("other"))
        .await
        .map_err(service(staff.lang))?;
    Ok(web::redirect(&format!("/console/cases/{path}")))
}

fn issued_panel(console: &Console, staff: &Staff, case_id: &str, issued: &Issued) -> Markup {
    let lang = staff.lang;
    let expires = datetime(
        issued.expires_at_timestamp * 1000,
        console.cases().config().utc_offset_minutes,
    );
    let sms = issued
        .long_code
        .as_ref()
        .map(|code| console.config().sms_link_template.replace("{code}", code));
    html! {
        section.panel #issued aria-labelledby="issued-title" {
            h2 #issued-title { (t(lang, "case.number")) }
            p role="status" { (t(lang, "case.number.once")) }
            p { span.secret #processing-number { (issued.code) } }
            dl.facts {
                dt { (t(lang, "case.number.expires")) }
                dd #number-expiry { (expires) }
                @if let Some(sms) = &sms {
                    dt { (t(lang, "case.number.sms")) }
                    dd.mono #sms-link { (sms) }
                }
            }
            @if let Some(sms) = &sms {
                h3 { (t(lang, "case.number.qr")) }
                (svg(qr_svg(sms, t(lang, "case.number.qr"))))
            }
            (super::messages::processing_number_form(staff, case_id, &issued.code, &expires))
        }
    }
}

async fn issue_number(
    console: Data,
    request: HttpRequest,
    path: aweb::Path<String>,
    body: aweb::Bytes,
) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    let issued = console
        .verification()
        .issue(&staff.principal, &path, IssueRequest::default())
        .await
        .map_err(|e| PageError::Verification(staff.lang, e))?;
    let panel = issued_panel(&console, &staff, &path, &issued);
    render_case(
        &console,
        &staff,
        &path,
        Some(panel),
        None,
        StatusCode::CREATED,
    )
    .await
}

async fn revoke(
    console: Data,
    request: HttpRequest,
    path: aweb::Path<String>,
    body: aweb::Bytes,
) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    if !form.checked("confirm") {
        return Err(PageError::Service(
            staff.lang,
            CaseError::BadRequest {
                code: "confirm",
                message: "confirm the revocation".into(),
            },
        ));
    }
    console
        .verification()
        .revoke_case(&staff.principal, &path)
        .await
        .map_err(|e| PageError::Verification(staff.lang, e))?;
    let notice = html! { p.notice role="status" { (t(staff.lang, "case.revoke.done")) } };
    render_case(&console, &staff, &path, Some(notice), None, StatusCode::OK).await
}
