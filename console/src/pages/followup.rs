//! Health follow-up: the case page's section (plan, patient link, chart, proxy entry), the
//! alert worklist, and the patient's own report page reached by the follow-up link.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web as aweb};
use maud::{Markup, html};
use mimamori_cases::model::followup::{AlertState, ObservationInput, Symptoms};
use mimamori_cases::model::{OrgKind, Role};
use mimamori_cases::service::documents::DocumentView;
use mimamori_cases::service::followup::SubjectKind;
use mimamori_cases::service::{CaseError, CaseView};

use super::cases::{Errors, input, render_case};
use super::{Data, field_message};
use crate::i18n::{Lang, t};
use crate::layout::{self, csrf, datetime, qr_svg, svg};
use crate::web::{self, Form, REPORT_COOKIE, SameSite, Staff};
use crate::{Console, Page, PageError};

pub(super) fn routes(config: &mut aweb::ServiceConfig) {
    config
        .route("/cases/{id}/plan", aweb::post().to(start_plan))
        .route("/cases/{id}/followup-link", aweb::post().to(issue_link))
        .route("/cases/{id}/observations", aweb::post().to(proxy))
        .route("/alerts", aweb::get().to(alerts))
        .route("/alerts/{id}/{action}", aweb::post().to(transition))
        .route("/r/{token}", aweb::get().to(open_link))
        .route("/report", aweb::get().to(report_form))
        .route("/report", aweb::post().to(report))
        .route("/report/documents/{id}", aweb::get().to(report_document))
        .route("/report/opt-out", aweb::post().to(report_opt_out));
}

const SYMPTOMS: [(&str, &str); 12] = [
    ("cough", "sym.cough"),
    ("shortnessOfBreath", "sym.shortnessOfBreath"),
    ("chestPain", "sym.chestPain"),
    ("fatigue", "sym.fatigue"),
    ("tasteSmellLoss", "sym.tasteSmellLoss"),
    ("soreThroat", "sym.soreThroat"),
    ("runnyNose", "sym.runnyNose"),
    ("headache", "sym.headache"),
    ("diarrhea", "sym.diarrhea"),
    ("nausea", "sym.nausea"),
    ("musclePain", "sym.musclePain"),
    ("confusion", "sym.confusion"),
];

/// The observation from a form, with the errors of values that are not numbers.
fn parse_observation(lang: Lang, form: &Form) -> (ObservationInput, Errors) {
    let mut errors = Errors::new();
    let mut number = |name: &str| -> Option<f64> {
        let raw = form.get(name).replace(',', ".");
        if raw.is_empty() {
            return None;
        }
        match raw.parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                errors.push((name.to_string(), field_message(lang, "not a number")));
                None
            }
        }
    };
    let temperature = number("temperature");
    let spo2 = number("spo2").map(|v| v.round() as i64);
    let pulse = number("pulse").map(|v| v.round() as i64);
    let on = |name: &str| form.checked(&format!("sym_{name}"));
    let symptoms = Symptoms {
        cough: on("cough"),
        shortness_of_breath: on("shortnessOfBreath"),
        chest_pain: on("chestPain"),
        fatigue: on("fatigue"),
        taste_smell_loss: on("tasteSmellLoss"),
        sore_throat: on("soreThroat"),
        runny_nose: on("runnyNose"),
        headache: on("headache"),
        diarrhea: on("diarrhea"),
        nausea: on("nausea"),
        muscle_pain: on("musclePain"),
        confusion: on("confusion"),
    };
    (
        ObservationInput {
            temperature,
            spo2,
            pulse,
            symptoms,
            note: form.opt("note"),
        },
        errors,
    )
}

/// The observation inputs (shared by the proxy form and the patient's page).
fn observation_fields(lang: Lang, form: &Form, errors: &Errors) -> Markup {
    let note_error = errors.iter().find(|(f, _)| f == "note").map(|(_, m)| m);
    html! {
        div.grid {
            (input(lang, form, errors, "temperature", "obs.temperature", "number", false))
            (input(lang, form, errors, "spo2", "obs.spo2", "number", false))
            (input(lang, form, errors, "pulse", "obs.pulse", "number", false))
        }
        fieldset {
            legend { (t(lang, "obs.symptoms")) }
            @for (name, key) in SYMPTOMS {
                @let field = format!("sym_{name}");
                label.check {
                    input type="checkbox" name=(field) value="on" checked[form.checked(&field)];
                    (t(lang, key))
                }
            }
        }
        div.field {
            label for="f-note" { (t(lang, "obs.note")) }
            textarea #f-note name="note" maxlength="2000"
                aria-invalid=[note_error.map(|_| "true")]
                aria-describedby=[note_error.map(|_| "err-note")] { (form.get("note")) }
            @if let Some(m) = note_error { p.error #err-note { (m) } }
        }
    }
}

/// The follow-up section of the case page.
pub(super) async fn case_section(
    console: &Console,
    staff: &Staff,
    view: &CaseView,
    observation_form: Option<(&Form, &Errors)>,
) -> Markup {
    let lang = staff.lang;
    let p = &staff.principal;
    let health_center = p.organization.kind == OrgKind::HealthCenter && p.has(Role::CaseWorker);
    let Ok(series) = console.cases().series(p, SubjectKind::Case, &view.id).await else {
        return html! {};
    };
    let chart = match &series.plan {
        Some(_) => console
            .cases()
            .chart(p, SubjectKind::Case, &view.id)
            .await
            .ok(),
        None => None,
    };
    let offset = console.cases().config().utc_offset_minutes;
    let empty = (Form::default(), Errors::new());
    let (form, errors) = observation_form.unwrap_or((&empty.0, &empty.1));
    html! {
        h2 #followup { (t(lang, "case.followup")) }
        @match &series.plan {
            None => {
                p.muted { (t(lang, "case.plan.none")) }
                @if health_center && !view.revoked && view.status != "reported" {
                    form method="post" action={ "/console/cases/" (view.id) "/plan" } {
                        (csrf(staff))
                        button #start-plan type="submit" { (t(lang, "case.plan.set")) }
                    }
                }
            }
            Some(plan) => {
                p { (t(lang, "case.plan")) ": " (plan.start_date) " – " (plan.end_date) " (" (plan.reporting_times.join(", ")) ")" }
                @if health_center && !view.revoked {
                    form method="post" action={ "/console/cases/" (view.id) "/followup-link" } {
                        (csrf(staff))
                        button.secondary #issue-link type="submit" { (t(lang, "case.followup.link")) }
                    }
                }
                @if let Some(chart) = chart {
                    h3 { (t(lang, "case.chart")) }
                    figure.chart #chart { (svg(chart)) }
                }
                @if !series.alerts.is_empty() {
                    h3 { (t(lang, "nav.alerts")) }
                    ul { @for a in &series.alerts {
                        li { span class={ "badge sev-" (a.severity) } { (t(lang, alert_key(&a.kind))) } " " (a.day) " — " (t(lang, state_key(&a.state))) }
                    } }
                }
                h3 { (t(lang, "case.observations")) }
                @if series.observations.is_empty() { p.muted { (t(lang, "case.none")) } }
                @else {
                    div.table-wrap { table {
                        thead { tr {
                            th scope="col" { (t(lang, "alerts.day")) }
                            th scope="col" { (t(lang, "obs.temperature")) }
                            th scope="col" { (t(lang, "obs.spo2")) }
                            th scope="col" { (t(lang, "obs.pulse")) }
                            th scope="col" { (t(lang, "case.proxy")) }
                        } }
                        tbody { @for o in series.observations.iter().rev() {
                            tr {
                                td { (datetime(o.observed_at_ms, offset)) }
                                td { (o.temperature.map(|v| format!("{v:.1}")).unwrap_or_default()) }
                                td { (o.spo2.map(|v| v.to_string()).unwrap_or_default()) }
                                td { (o.pulse.map(|v| v.to_string()).unwrap_or_default()) }
                                td { @if o.proxy { "✓" } }
                            }
                        } }
                    } }
                }
                @if !view.revoked {
                    details.panel open[observation_form.is_some()] {
                        summary { (t(lang, "case.proxy")) }
                        form method="post" action={ "/console/cases/" (view.id) "/observations" } {
                            (csrf(staff))
                            (observation_fields(lang, form, errors))
                            button type="submit" { (t(lang, "obs.submit")) }
                        }
                    }
                }
            }
        }
    }
}

fn case_error(lang: Lang) -> impl Fn(CaseError) -> PageError {
    move |e| PageError::Service(lang, e)
}

async fn start_plan(
    console: Data,
    request: HttpRequest,
    path: aweb::Path<String>,
    body: aweb::Bytes,
) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    console
        .cases()
        .set_plan(
            &staff.principal,
            SubjectKind::Case,
            &path,
            Default::default(),
        )
        .await
        .map_err(case_error(staff.lang))?;
    Ok(web::redirect(&format!("/console/cases/{path}#followup")))
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
        .issue_followup_token(&staff.principal, SubjectKind::Case, &path)
        .await
        .map_err(case_error(lang))?;
    let panel = link_panel(&console, &request, lang, &token);
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

/// The panel that shows a just-issued report link once, with its expiry and QR code (cases
/// and close contacts alike).
pub(super) fn link_panel(
    console: &Console,
    request: &HttpRequest,
    lang: Lang,
    token: &mimamori_cases::service::followup::FollowUpToken,
) -> Markup {
    let link = format!(
        "{}/console/r/{}",
        web::origin(request, console.config().public_url.as_deref()),
        token.token
    );
    let offset = console.cases().config().utc_offset_minutes;
    html! {
        section.panel #followup-link aria-labelledby="link-title" {
            h2 #link-title { (t(lang, "case.followup.link")) }
            p role="status" { (t(lang, "case.followup.link_shown")) }
            p.mono #report-link { (link) }
            p.muted { (t(lang, "case.number.expires")) ": " (datetime(token.expires_at_ms, offset)) }
            (svg(qr_svg(&link, t(lang, "case.followup.link"))))
        }
    }
}

async fn proxy(
    console: Data,
    request: HttpRequest,
    path: aweb::Path<String>,
    body: aweb::Bytes,
) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    let lang = staff.lang;
    let (observation, mut errors) = parse_observation(lang, &form);
    if errors.is_empty() {
        match console
            .cases()
            .proxy_observation(&staff.principal, SubjectKind::Case, &path, observation)
            .await
        {
            Ok(_) => return Ok(web::redirect(&format!("/console/cases/{path}#followup"))),
            Err(CaseError::Invalid(found)) => errors.extend(
                found
                    .into_iter()
                    .map(|e| (e.field.to_string(), field_message(lang, &e.message))),
            ),
            Err(e) => return Err(PageError::Service(lang, e)),
        }
    }
    render_case(
        &console,
        &staff,
        &path,
        None,
        Some((&form, &errors)),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

fn alert_key(kind: &str) -> &'static str {
    match kind {
        "low_spo2" => "alert.low_spo2",
        "breathing_difficulty" => "alert.breathing_difficulty",
        "persistent_fever" => "alert.persistent_fever",
        "missed_report" => "alert.missed_report",
        _ => "?",
    }
}

fn state_key(state: &str) -> &'static str {
    match state {
        "open" => "alert.open",
        "acknowledged" => "alert.acknowledged",
        "resolved" => "alert.resolved",
        _ => "?",
    }
}

fn severity_key(severity: &str) -> &'static str {
    match severity {
        "high" => "sev.high",
        "medium" => "sev.medium",
        "low" => "sev.low",
        _ => "?",
    }
}

async fn alerts(console: Data, request: HttpRequest) -> Page {
    let staff = console.staff(&request).await?;
    let lang = staff.lang;
    let resolved = request.query_string().contains("state=resolved");
    let list = console
        .cases()
        .worklist(
            &staff.principal,
            Some(if resolved { "resolved" } else { "active" }),
        )
        .await
        .map_err(case_error(lang))?;
    let offset = console.cases().config().utc_offset_minutes;
    let case_links = staff.principal.organization.kind == OrgKind::HealthCenter;
    let body = html! {
        h1 { (t(lang, "alerts.title")) }
        p {
            @if resolved { a href="/console/alerts" { (t(lang, "alerts.show_active")) } }
            @else { a href="/console/alerts?state=resolved" { (t(lang, "alerts.show_resolved")) } }
        }
        @if list.is_empty() { p #no-alerts { (t(lang, "alerts.none")) } }
        @else {
            div.table-wrap { table #alerts {
                thead { tr {
                    th scope="col" { (t(lang, "alerts.severity")) }
                    th scope="col" { (t(lang, "alerts.kind")) }
                    th scope="col" { (t(lang, "alerts.day")) }
                    th scope="col" { (t(lang, "alerts.detail")) }
                    th scope="col" { (t(lang, "alerts.state")) }
                    th scope="col" { (t(lang, "alerts.case")) }
                    th scope="col" { (t(lang, "alerts.actions")) }
                } }
                tbody { @for a in &list {
                    tr {
                        td { span class={ "badge sev-" (a.severity) } { (t(lang, severity_key(&a.severity))) } }
                        td { (t(lang, alert_key(&a.kind))) }
                        td { (a.day) br; span.muted { (datetime(a.opened_at_ms, offset)) } }
                        td { (a.detail) }
                        td.state { (t(lang, state_key(&a.state))) }
                        td { @if case_links && let Some(case_id) = &a.case_id { a href={ "/console/cases/" (case_id) "#followup" } { (t(lang, "case.title")) } } }
                        td {
                            @if a.state == "open" {
                                form.inline method="post" action={ "/console/alerts/" (a.id) "/acknowledge" } {
                                    (csrf(&staff))
                                    button.secondary type="submit" { (t(lang, "alerts.ack")) }
                                }
                                " "
                            }
                            @if a.state != "resolved" {
                                form.inline method="post" action={ "/console/alerts/" (a.id) "/resolve" } {
                                    (csrf(&staff))
                                    button type="submit" { (t(lang, "alerts.resolve")) }
                                }
                            }
                        }
                    }
                } }
            } }
        }
    };
    Ok(web::html(
        StatusCode::OK,
        layout::page(&staff, "/console/alerts", t(lang, "alerts.title"), body),
    ))
}

async fn transition(
    console: Data,
    request: HttpRequest,
    path: aweb::Path<(String, String)>,
    body: aweb::Bytes,
) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    let (id, action) = path.into_inner();
    let next = match action.as_str() {
        "acknowledge" => AlertState::Acknowledged,
        "resolve" => AlertState::Resolved,
        _ => return Err(PageError::Service(staff.lang, CaseError::NotFound)),
    };
    console
        .cases()
        .transition_alert(&staff.principal, &id, next)
        .await
        .map_err(case_error(staff.lang))?;
    Ok(web::redirect("/console/alerts"))
}

/// The follow-up link: keeps the token in a cookie and drops it from the address bar (it
/// must not stay in history, bookmarks or shared screenshots).
async fn open_link(console: Data, request: HttpRequest, path: aweb::Path<String>) -> HttpResponse {
    let token = path.into_inner();
    let well_formed = token.starts_with("mfu_")
        && token.len() <= 100
        && token[4..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return web::redirect("/console/report");
    }
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console/report"))
        .append_header((
            header::SET_COOKIE,
            web::set_cookie(
                REPORT_COOKIE,
                &token,
                Some(61 * 86_400),
                SameSite::Lax,
                console.secure(&request),
            ),
        ))
        .finish()
}

/// What the person's report page shows besides the form.
#[derive(Default)]
struct ReportExtras {
    /// A notice on top (saved, alerted, opted out).
    message: Option<Markup>,
    /// The documents issued to the person, downloadable here.
    documents: Vec<DocumentView>,
}

fn report_page(
    lang: Lang,
    token: &str,
    form: &Form,
    errors: &Errors,
    extras: ReportExtras,
) -> Markup {
    let csrf = web::csrf_token(token);
    layout::bare_at(
        lang,
        "/console/report",
        t(lang, "report.title"),
        html! {
            div.report {
                h1 { (t(lang, "report.title")) }
                @if let Some(message) = extras.message { (message) }
                p { (t(lang, "report.intro")) }
                @if !errors.is_empty() { p.warning role="alert" { (t(lang, "error.invalid")) } }
                form method="post" action="/console/report" {
                    input type="hidden" name="csrf" value=(csrf);
                    (observation_fields(lang, form, errors))
                    button #send-report type="submit" { (t(lang, "obs.submit")) }
                }
                @if !extras.documents.is_empty() {
                    h2 { (t(lang, "report.documents")) }
                    ul.documents #report-documents { @for d in &extras.documents {
                        li {
                            a href={ "/console/report/documents/" (d.id) } download {
                                (t(lang, super::documents::kind_key(d.kind))) " " span.mono { (d.number) }
                            }
                        }
                    } }
                }
                details.panel {
                    summary { (t(lang, "report.opt_out")) }
                    form #report-opt-out method="post" action="/console/report/opt-out" {
                        input type="hidden" name="csrf" value=(csrf);
                        p.muted { (t(lang, "report.opt_out.hint")) }
                        button.secondary type="submit" { (t(lang, "report.opt_out")) }
                    }
                }
            }
        },
    )
}

/// The documents of the link's subject (none when the lookup fails: the form still works).
async fn link_documents(console: &Console, token: &str) -> Vec<DocumentView> {
    console
        .cases()
        .link_documents(token)
        .await
        .unwrap_or_default()
}

fn invalid_link(lang: Lang) -> HttpResponse {
    web::html(
        StatusCode::UNAUTHORIZED,
        layout::bare(
            lang,
            t(lang, "report.title"),
            html! {
                div.report {
                    h1 { (t(lang, "report.title")) }
                    p.warning role="alert" { (t(lang, "report.invalid")) }
                }
            },
        ),
    )
}

async fn report_form(console: Data, request: HttpRequest) -> HttpResponse {
    let lang = web::lang(&request);
    match web::cookie(&request, REPORT_COOKIE) {
        Some(token) => {
            let extras = ReportExtras {
                message: None,
                documents: link_documents(&console, &token).await,
            };
            web::html(
                StatusCode::OK,
                report_page(lang, &token, &Form::default(), &Errors::new(), extras),
            )
        }
        None => invalid_link(lang),
    }
}

/// A document's PDF for the person; the first download confirms receipt.
async fn report_document(console: Data, request: HttpRequest, path: aweb::Path<String>) -> Page {
    let lang = web::lang(&request);
    let Some(token) = web::cookie(&request, REPORT_COOKIE) else {
        return Ok(invalid_link(lang));
    };
    match console.cases().link_document_pdf(&token, &path).await {
        Ok((document, pdf)) => Ok(super::documents::pdf_response(&document, pdf)),
        Err(CaseError::Unauthenticated) => Ok(invalid_link(lang)),
        Err(e) => Err(PageError::Service(lang, e)),
    }
}

/// The person asks for no more messages to the number or address on record.
async fn report_opt_out(console: Data, request: HttpRequest, body: aweb::Bytes) -> Page {
    let lang = web::lang(&request);
    let Some(token) = web::cookie(&request, REPORT_COOKIE) else {
        return Ok(invalid_link(lang));
    };
    let form = Form::parse(&body);
    if !web::csrf_ok(&token, form.opt(web::CSRF_FIELD).as_deref()) {
        return Err(PageError::Csrf(lang));
    }
    match console.cases().link_opt_out(&token).await {
        Ok(()) => {
            let extras = ReportExtras {
                message: Some(
                    html! { p.notice #opted-out role="status" { (t(lang, "report.opted_out")) } },
                ),
                documents: link_documents(&console, &token).await,
            };
            Ok(web::html(
                StatusCode::OK,
                report_page(lang, &token, &Form::default(), &Errors::new(), extras),
            ))
        }
        Err(CaseError::Unauthenticated) => Ok(invalid_link(lang)),
        Err(e) => Err(PageError::Service(lang, e)),
    }
}

async fn report(console: Data, request: HttpRequest, body: aweb::Bytes) -> Page {
    let lang = web::lang(&request);
    let Some(token) = web::cookie(&request, REPORT_COOKIE) else {
        return Ok(invalid_link(lang));
    };
    let form = Form::parse(&body);
    if !web::csrf_ok(&token, form.opt(web::CSRF_FIELD).as_deref()) {
        return Err(PageError::Csrf(lang));
    }
    let (observation, mut errors) = parse_observation(lang, &form);
    if errors.is_empty() {
        match console
            .cases()
            .patient_observation(&token, observation)
            .await
        {
            Ok(receipt) => {
                let message = html! {
                    p.notice #report-saved role="status" { (t(lang, "obs.saved")) }
                    @if !receipt.alerts_opened.is_empty() {
                        p.warning role="alert" { (t(lang, "obs.alerted")) }
                    }
                };
                let extras = ReportExtras {
                    message: Some(message),
                    documents: link_documents(&console, &token).await,
                };
                return Ok(web::html(
                    StatusCode::CREATED,
                    report_page(lang, &token, &Form::default(), &Errors::new(), extras),
                ));
            }
            Err(CaseError::Unauthenticated) => return Ok(invalid_link(lang)),
            Err(CaseError::Invalid(found)) => errors.extend(
                found
                    .into_iter()
                    .map(|e| (e.field.to_string(), field_message(lang, &e.message))),
            ),
            Err(e) => return Err(PageError::Service(lang, e)),
        }
    }
    let extras = ReportExtras {
        message: None,
        documents: link_documents(&console, &token).await,
    };
    Ok(web::html(
        StatusCode::UNPROCESSABLE_ENTITY,
        report_page(lang, &token, &form, &errors, extras),
    ))
}
