//! Close contacts in the console: the case page's contact investigation (list and a form to
//! record one), and the contact's own page: exposures, quarantine, status, the daily health
//! follow-up link (the patient's report page serves contacts too), and conversion to a case.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web as aweb};
use maud::{Markup, html};
use mimamori_cases::model::contacts::ContactStatus;
use mimamori_cases::service::CaseError;
use mimamori_cases::service::contacts::{
    ContactView, ExposureInput, ExposureSetting, NewContact, PersonInput, Proximity,
};
use mimamori_cases::service::followup::SubjectKind;

use super::cases::{Errors, input, options, select};
use super::{Data, field_message};
use crate::i18n::t;
use crate::layout::{self, csrf, datetime};
use crate::web::{self, Form, Staff};
use crate::{Console, Page, PageError};

pub(super) fn routes(config: &mut aweb::ServiceConfig) {
    config
        .route("/cases/{id}/close-contacts", aweb::post().to(record))
        .route("/contacts/{id}", aweb::get().to(show))
        .route("/contacts/{id}/status", aweb::post().to(status))
        .route("/contacts/{id}/followup-link", aweb::post().to(issue_link))
        .route("/contacts/{id}/convert", aweb::post().to(convert));
}

/// The exposure settings offered (also a cluster's setting).
pub(super) const SETTINGS: [(&str, &str); 7] = [
    ("household", "contact.setting.household"),
    ("workplace", "contact.setting.workplace"),
    ("school", "contact.setting.school"),
    ("care_facility", "contact.setting.care_facility"),
    ("medical", "contact.setting.medical"),
    ("event", "contact.setting.event"),
    ("other", "contact.setting.other"),
];

const PROXIMITIES: [(&str, &str); 4] = [
    ("within_1m", "contact.proximity.within_1m"),
    ("within_2m", "contact.proximity.within_2m"),
    ("over_2m", "contact.proximity.over_2m"),
    ("unknown", "contact.proximity.unknown"),
];

/// The message key of a contact status.
pub(super) fn status_key(status: ContactStatus) -> &'static str {
    match status {
        ContactStatus::Identified => "contact.status.identified",
        ContactStatus::Quarantined => "contact.status.quarantined",
        ContactStatus::Completed => "contact.status.completed",
        ContactStatus::Converted => "contact.status.converted",
        ContactStatus::Lost => "contact.status.lost",
        ContactStatus::Refused => "contact.status.refused",
    }
}

/// The message key of an exposure setting.
pub(super) fn setting_key(setting: &str) -> &'static str {
    SETTINGS
        .iter()
        .find(|(value, _)| *value == setting)
        .map_or("contact.setting.other", |(_, key)| key)
}

fn may_work(staff: &Staff) -> bool {
    use mimamori_cases::model::{OrgKind, Role};
    staff.principal.organization.kind == OrgKind::HealthCenter
        && staff.principal.has(Role::CaseWorker)
}

/// The close-contacts part of the case page: the case's contacts the user may see, and
/// (for the health center working the case) the form of the contact investigation.
pub(super) async fn case_section(
    console: &Console,
    staff: &Staff,
    case_id: &str,
    writable: bool,
    form: Option<(&Form, &Errors)>,
) -> Markup {
    let lang = staff.lang;
    let contacts = console
        .cases()
        .contacts_of_case(&staff.principal, case_id)
        .await
        .unwrap_or_default();
    let empty = (Form::default(), Errors::new());
    let (form, errors) = form.unwrap_or((&empty.0, &empty.1));
    html! {
        @if contacts.is_empty() { p.muted { (t(lang, "case.none")) } }
        @else {
            div.table-wrap { table #close-contacts {
                thead { tr {
                    th scope="col" { (t(lang, "case.contact.name")) }
                    th scope="col" { (t(lang, "contact.status")) }
                    th scope="col" { (t(lang, "contact.last_exposure")) }
                    th scope="col" { (t(lang, "contact.quarantine")) }
                } }
                tbody { @for c in &contacts {
                    tr {
                        td { a href={ "/console/contacts/" (c.id) } { (c.name) } }
                        td { span.badge { (t(lang, status_key(c.status))) } }
                        td { (c.last_exposure_date) }
                        td { @if let (Some(start), Some(end)) = (&c.quarantine_start, &c.quarantine_end) { (start) " – " (end) } }
                    }
                } }
            } }
        }
        @if writable {
            details.panel open[!errors.is_empty()] {
                summary { (t(lang, "contact.record")) }
                form method="post" action={ "/console/cases/" (case_id) "/close-contacts" } {
                    (csrf(staff))
                    div.row {
                        (input(lang, form, errors, "name", "case.contact.name", "text", true))
                        (input(lang, form, errors, "kana", "f.kana", "text", false))
                    }
                    div.row {
                        (input(lang, form, errors, "phone", "case.contact.phone", "tel", false))
                        (input(lang, form, errors, "birthDate", "f.dateOfBirth", "date", false))
                    }
                    (input(lang, form, errors, "address", "f.address", "text", false))
                    div.row {
                        (input(lang, form, errors, "date", "case.contact.date", "date", true))
                        (input(lang, form, errors, "durationMinutes", "contact.duration", "number", false))
                    }
                    div.row {
                        (select(lang, form, errors, "setting", "contact.setting", &options(lang, &SETTINGS)))
                        (select(lang, form, errors, "proximity", "contact.proximity", &options(lang, &PROXIMITIES)))
                    }
                    button.secondary #record-contact type="submit" { (t(lang, "case.contact.add")) }
                }
            }
        }
    }
}

fn parse_new_contact(form: &Form, case_id: &str) -> Result<NewContact, Errors> {
    let mut errors = Errors::new();
    let setting = match form.get("setting") {
        "household" => ExposureSetting::Household,
        "workplace" => ExposureSetting::Workplace,
        "school" => ExposureSetting::School,
        "care_facility" => ExposureSetting::CareFacility,
        "medical" => ExposureSetting::Medical,
        "event" => ExposureSetting::Event,
        _ => ExposureSetting::Other,
    };
    let proximity = match form.get("proximity") {
        "within_1m" => Some(Proximity::Within1m),
        "within_2m" => Some(Proximity::Within2m),
        "over_2m" => Some(Proximity::Over2m),
        _ => Some(Proximity::Unknown),
    };
    let duration_minutes = match form.opt("durationMinutes") {
        None => None,
        Some(text) => match text.trim().parse::<i64>() {
            Ok(minutes) => Some(minutes),
            Err(_) => {
                errors.push(("durationMinutes".into(), "0–10080".into()));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(NewContact {
        person: PersonInput {
            name: form.get("name").to_string(),
            kana: form.opt("kana"),
            birth_date: form.opt("birthDate"),
            phones: form.opt("phone").into_iter().collect(),
            address: form.opt("address"),
            household: None,
        },
        health_center_id: None,
        exposure: ExposureInput {
            case_id: case_id.to_string(),
            date: form.get("date").to_string(),
            setting,
            duration_minutes,
            proximity,
            method: Some("interview".into()),
            respondent: Some("case".into()),
        },
    })
}

async fn record(
    console: Data,
    request: HttpRequest,
    path: aweb::Path<String>,
    body: aweb::Bytes,
) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    let lang = staff.lang;
    let errors: Errors = match parse_new_contact(&form, &path) {
        Ok(input) => match console
            .cases()
            .create_contact(&staff.principal, input)
            .await
        {
            Ok(contact) => return Ok(web::redirect(&format!("/console/contacts/{}", contact.id))),
            Err(CaseError::Invalid(found)) => found
                .into_iter()
                .map(|e| (e.field.to_string(), field_message(lang, &e.message)))
                .collect(),
            Err(e) => return Err(PageError::Service(lang, e)),
        },
        Err(errors) => errors,
    };
    let panel = html! {
        div.error-summary role="alert" {
            h2 { (t(lang, "contact.record.failed")) }
            ul { @for (field, message) in &errors { li { (field) ": " (message) } } }
        }
    };
    super::cases::render_case(
        &console,
        &staff,
        &path,
        Some(panel),
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

pub(super) async fn render(
    console: &Console,
    staff: &Staff,
    id: &str,
    extra: Option<Markup>,
    status: StatusCode,
) -> Page {
    let lang = staff.lang;
    let contact: ContactView = console
        .cases()
        .contact(&staff.principal, id)
        .await
        .map_err(|e| PageError::Service(lang, e))?;
    let series = console
        .cases()
        .series(&staff.principal, SubjectKind::Contact, id)
        .await
        .ok();
    let writable = may_work(staff) && staff.principal.organization.id == contact.health_center_id;
    let next: Vec<ContactStatus> = [
        ContactStatus::Quarantined,
        ContactStatus::Completed,
        ContactStatus::Lost,
        ContactStatus::Refused,
    ]
    .into_iter()
    .filter(|s| contact.status.can_become(*s))
    .collect();
    let offset = console.cases().config().utc_offset_minutes;
    let documents =
        super::documents::section(console, staff, SubjectKind::Contact, &contact.id, writable)
            .await;
    let messages =
        super::messages::section(console, staff, SubjectKind::Contact, &contact.id, writable).await;
    let add_to_cluster = super::clusters::add_to_cluster_form(
        console,
        staff,
        SubjectKind::Contact,
        &contact.id,
        writable,
    )
    .await;
    let body = html! {
        h1 { (contact.name) " " span.badge #contact-status { (t(lang, status_key(contact.status))) } }
        @if let Some(extra) = extra { (extra) }
        div.cols {
            div {
                h2 { (t(lang, "case.details")) }
                dl.facts {
                    dt { (t(lang, "f.kana")) } dd { (contact.kana.as_deref().unwrap_or("—")) }
                    dt { (t(lang, "f.dateOfBirth")) } dd { (contact.birth_date.as_deref().unwrap_or("—")) }
                    dt { (t(lang, "case.contact.phone")) } dd { (contact.phones.join(", ")) }
                    dt { (t(lang, "f.address")) } dd { (contact.address.as_deref().unwrap_or("—")) }
                    dt { (t(lang, "contact.last_exposure")) } dd { (contact.last_exposure_date) }
                    dt { (t(lang, "contact.quarantine")) }
                    dd #quarantine { @if let (Some(start), Some(end)) = (&contact.quarantine_start, &contact.quarantine_end) { (start) " – " (end) } @else { "—" } }
                    @if let Some(case_id) = &contact.converted_case_id {
                        dt { (t(lang, "contact.converted_case")) }
                        dd { a #converted-case href={ "/console/cases/" (case_id) } { (case_id) } }
                    }
                }
                h2 { (t(lang, "contact.exposures")) }
                ul { @for e in &contact.exposures {
                    li {
                        (e.date) " — " (t(lang, setting_key(&e.setting)))
                        @if let Some(minutes) = e.duration_minutes { " (" (minutes) " min)" }
                        " — " a href={ "/console/cases/" (e.case_id) } { (t(lang, "case.title")) }
                    }
                } }
                @if let Some(series) = &series && let Some(plan) = &series.plan {
                    h2 { (t(lang, "case.followup")) }
                    p { (t(lang, "case.plan")) ": " (plan.start_date) " – " (plan.end_date) }
                    h3 { (t(lang, "case.observations")) }
                    @if series.observations.is_empty() { p.muted { (t(lang, "case.none")) } }
                    @else {
                        ul #contact-observations { @for o in series.observations.iter().rev() {
                            li {
                                (datetime(o.observed_at_ms, offset)) " — "
                                (o.temperature.map(|v| format!("{v:.1} °C")).unwrap_or_default()) " "
                                (o.spo2.map(|v| format!("SpO2 {v}")).unwrap_or_default())
                            }
                        } }
                    }
                }
                (add_to_cluster)
                (documents)
                (messages)
            }
            div {
                @if writable {
                    @if !next.is_empty() {
                        h2 { (t(lang, "case.change_status")) }
                        @for s in &next {
                            form.inline method="post" action={ "/console/contacts/" (contact.id) "/status" } {
                                (csrf(staff))
                                input type="hidden" name="status" value=(s.as_str());
                                button.secondary id={ "to-" (s.as_str()) } type="submit" { (t(lang, status_key(*s))) }
                            }
                            " "
                        }
                    }
                    @if contact.status == ContactStatus::Quarantined {
                        form method="post" action={ "/console/contacts/" (contact.id) "/followup-link" } {
                            (csrf(staff))
                            button.secondary #issue-link type="submit" { (t(lang, "case.followup.link")) }
                        }
                    }
                    @if contact.status.is_open() {
                        h2 { (t(lang, "contact.convert")) }
                        p.muted { (t(lang, "contact.convert.hint")) }
                        form method="post" action={ "/console/contacts/" (contact.id) "/convert" } {
                            (csrf(staff))
                            div.row {
                                (input(lang, &Form::default(), &Errors::new(), "resultDate", "f.resultDate", "date", true))
                                (input(lang, &Form::default(), &Errors::new(), "diagnosisDate", "f.diagnosisDate", "date", true))
                            }
                            div.row {
                                (input(lang, &Form::default(), &Errors::new(), "onsetDate", "f.onsetDate", "date", false))
                                (input(lang, &Form::default(), &Errors::new(), "municipality", "f.municipality", "text", true))
                            }
                            div.row {
                                (input(lang, &Form::default(), &Errors::new(), "diagnosisMethod", "f.diagnosisMethod", "text", true))
                                (input(lang, &Form::default(), &Errors::new(), "specimenType", "f.specimenType", "text", true))
                            }
                            button.danger #convert type="submit" { (t(lang, "contact.convert")) }
                        }
                    }
                }
            }
        }
    };
    let here = format!("/console/contacts/{id}");
    Ok(web::html(
        status,
        layout::page(staff, &here, t(lang, "contact.title"), body),
    ))
}

async fn show(console: Data, request: HttpRequest, path: aweb::Path<String>) -> Page {
    let staff = console.staff(&request).await?;
    render(&console, &staff, &path, None, StatusCode::OK).await
}

async fn status(
    console: Data,
    request: HttpRequest,
    path: aweb::Path<String>,
    body: aweb::Bytes,
) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    let next = ContactStatus::parse(form.get("status")).ok_or(PageError::Service(
        staff.lang,
        CaseError::BadRequest {
            code: "invalid_status",
            message: "unknown status".into(),
        },
    ))?;
    console
        .cases()
        .change_contact_status(&staff.principal, &path, next)
        .await
        .map_err(|e| PageError::Service(staff.lang, e))?;
    Ok(web::redirect(&format!("/console/contacts/{path}")))
}

async fn issue_link(
    console: Data,
    request: HttpRequest,
    path: aweb::Path<String>,
    body: aweb::Bytes,
) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    let lang = staff.lang;
    let token = console
        .cases()
        .issue_followup_token(&staff.principal, SubjectKind::Contact, &path)
        .await
        .map_err(|e| PageError::Service(lang, e))?;
    let panel = super::followup::link_panel(&console, &request, lang, &token);
    render(&console, &staff, &path, Some(panel), StatusCode::CREATED).await
}

async fn convert(
    console: Data,
    request: HttpRequest,
    path: aweb::Path<String>,
    body: aweb::Bytes,
) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    let lang = staff.lang;
    let diagnosis = form.get("diagnosisDate").to_string();
    let fields = serde_json::json!({
        "municipality": form.get("municipality"),
        "resultDate": form.get("resultDate"),
        "diagnosisDate": diagnosis,
        "onsetDate": form.opt("onsetDate"),
        "reportDate": diagnosis,
        "vulnerableHousehold": false,
        "admitted": false,
        "icu": false,
        "ventilator": false,
        "ecmo": false,
        "outcome": "under treatment",
        "postMortem": false,
        "symptomsAtDiagnosis": [],
        "diagnosisMethod": form.get("diagnosisMethod"),
        "specimenType": form.get("specimenType"),
        "infectionRoute": "close contact",
        "infectionArea": "domestic",
        "infectionConfirmed": true,
    });
    let serde_json::Value::Object(fields) = fields else {
        return Err(PageError::Service(
            lang,
            CaseError::Internal("notification".into()),
        ));
    };
    let conversion = console
        .cases()
        .convert_contact(&staff.principal, &path, fields)
        .await
        .map_err(|e| PageError::Service(lang, e))?;
    Ok(web::redirect(&format!(
        "/console/cases/{}?filed=1",
        conversion.case_id
    )))
}
