//! Documents on the case and contact pages: the issued certificates and notices (number,
//! kind, when, whether the person received them), a form to issue one as PDF, and the
//! download. A quarantine start notice without a report address given gets a new report
//! link printed on it.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web as aweb};
use maud::{Markup, html};
use mimamori_cases::service::CaseError;
use mimamori_cases::service::documents::{
    DocumentLanguage, DocumentRequest, DocumentType, DocumentView,
};
use mimamori_cases::service::followup::SubjectKind;

use super::cases::{Errors, input, options, select};
use super::{Data, SUBJECTS, form_failed, subject_kind, subject_path};
use crate::i18n::t;
use crate::layout::{csrf, datetime};
use crate::web::{self, Form, Staff};
use crate::{Console, Page, PageError};

pub(super) fn routes(config: &mut aweb::ServiceConfig) {
    config
        .route(
            &format!("/{SUBJECTS}/{{id}}/documents"),
            aweb::post().to(issue),
        )
        .route("/documents/{id}", aweb::get().to(download));
}

const CASE_KINDS: [(&str, &str); 2] = [
    ("isolation_certificate", "doc.kind.isolation_certificate"),
    (
        "work_restriction_notice",
        "doc.kind.work_restriction_notice",
    ),
];

const CONTACT_KINDS: [(&str, &str); 2] = [
    (
        "quarantine_start_notice",
        "doc.kind.quarantine_start_notice",
    ),
    ("quarantine_end_notice", "doc.kind.quarantine_end_notice"),
];

/// The document languages offered.
pub(super) const LANGUAGES: [(&str, &str); 2] =
    [("ja", "doc.language.ja"), ("en", "doc.language.en")];

/// The label key of a document kind.
pub(super) fn kind_key(kind: DocumentType) -> &'static str {
    match kind {
        DocumentType::IsolationCertificate => "doc.kind.isolation_certificate",
        DocumentType::WorkRestrictionNotice => "doc.kind.work_restriction_notice",
        DocumentType::QuarantineStartNotice => "doc.kind.quarantine_start_notice",
        DocumentType::QuarantineEndNotice => "doc.kind.quarantine_end_notice",
    }
}

fn parse_kind(value: &str) -> Option<DocumentType> {
    serde_json::from_value(serde_json::Value::String(value.to_string())).ok()
}

/// The label key of a field the service names in an error.
fn field_label(field: &str) -> Option<&'static str> {
    Some(match field {
        "kind" => "doc.kind",
        "healthCenterPhone" | "health_center_phone" => "doc.hc_phone",
        "healthReportUrl" | "health_report_url" => "doc.report_url",
        "restrictionReason" | "restriction_reason" => "doc.reason",
        "periodStart" | "isolation_start" | "quarantine_start" | "restricted_from" => {
            "doc.period_start"
        }
        "periodEnd" | "isolation_end" | "quarantine_end" | "restricted_to" => "doc.period_end",
        _ => return None,
    })
}

/// The documents part of a case or contact page.
pub(super) async fn section(
    console: &Console,
    staff: &Staff,
    kind: SubjectKind,
    id: &str,
    writable: bool,
) -> Markup {
    let lang = staff.lang;
    let documents = console
        .cases()
        .documents(&staff.principal, kind, id)
        .await
        .unwrap_or_default();
    let offset = console.cases().config().utc_offset_minutes;
    let (kinds, action) = match kind {
        SubjectKind::Case => (&CASE_KINDS, format!("/console/cases/{id}/documents")),
        SubjectKind::Contact => (&CONTACT_KINDS, format!("/console/contacts/{id}/documents")),
    };
    let empty = Form::default();
    let none = Errors::new();
    html! {
        h2 #documents-title { (t(lang, "doc.title")) }
        @if documents.is_empty() { p.muted { (t(lang, "case.none")) } }
        @else {
            ul.documents #documents { @for d in &documents {
                li {
                    a href={ "/console/documents/" (d.id) } download { (t(lang, kind_key(d.kind))) " " span.mono { (d.number) } }
                    br;
                    span.muted {
                        (t(lang, "doc.issued")) " " (datetime(d.issued_at_ms, offset)) " · "
                        @match d.downloaded_at_ms {
                            Some(at) => { (t(lang, "doc.received")) " " (datetime(at, offset)) }
                            None => { (t(lang, "doc.not_received")) }
                        }
                    }
                }
            } }
        }
        @if writable {
            details.panel {
                summary { (t(lang, "doc.issue")) }
                form #document-form method="post" action=(action) {
                    (csrf(staff))
                    div.row {
                        (select(lang, &empty, &none, "kind", "doc.kind", &options(lang, kinds)))
                        (select(lang, &empty, &none, "language", "doc.language", &options(lang, &LANGUAGES)))
                    }
                    div.row {
                        (input(lang, &empty, &none, "periodStart", "doc.period_start", "date", false))
                        (input(lang, &empty, &none, "periodEnd", "doc.period_end", "date", false))
                    }
                    p.muted { (t(lang, "doc.period_hint")) }
                    (input(lang, &empty, &none, "healthCenterPhone", "doc.hc_phone", "tel", false))
                    @match kind {
                        SubjectKind::Case => {
                            (input(lang, &empty, &none, "restrictionReason", "doc.reason", "text", false))
                        }
                        SubjectKind::Contact => {
                            (input(lang, &empty, &none, "healthReportUrl", "doc.report_url", "url", false))
                            p.muted { (t(lang, "doc.report_url_hint")) }
                        }
                    }
                    button #issue-document type="submit" { (t(lang, "doc.issue")) }
                }
            }
        }
    }
}

/// The document request a form describes (`None`: no kind chosen).
pub(super) fn parse_request(form: &Form) -> Option<DocumentRequest> {
    Some(DocumentRequest {
        kind: parse_kind(form.get("kind"))?,
        language: if form.get("language") == "en" {
            DocumentLanguage::En
        } else {
            DocumentLanguage::Ja
        },
        health_center_phone: form.opt("healthCenterPhone"),
        health_report_url: form.opt("healthReportUrl"),
        restriction_reason: form.opt("restrictionReason"),
        period_start: form.opt("periodStart"),
        period_end: form.opt("periodEnd"),
    })
}

async fn issue(
    console: Data,
    request: HttpRequest,
    path: aweb::Path<(String, String)>,
    body: aweb::Bytes,
) -> Page {
    let (subjects, id) = path.into_inner();
    let kind = subject_kind(&subjects);
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    let Some(mut document) = parse_request(&form).filter(|d| d.kind_subject() == kind) else {
        let error = CaseError::Invalid(vec![mimamori_cases::model::FieldError {
            field: "kind",
            message: "required".into(),
        }]);
        return form_failed(&console, &staff, kind, &id, error, field_label).await;
    };
    if document.kind == DocumentType::QuarantineStartNotice && document.health_report_url.is_none()
    {
        // The notice tells the person where to report: print a new link (earlier ones stop).
        let token = console
            .cases()
            .issue_followup_token(&staff.principal, kind, &id)
            .await
            .map_err(|e| PageError::Service(staff.lang, e))?;
        document.health_report_url = Some(format!(
            "{}/console/r/{}",
            web::origin(&request, console.config().public_url.as_deref()),
            token.token
        ));
    }
    match console
        .cases()
        .issue_document(&staff.principal, &id, document)
        .await
    {
        Ok(_) => Ok(web::redirect(&format!(
            "{}#documents-title",
            subject_path(kind, &id)
        ))),
        Err(e) => form_failed(&console, &staff, kind, &id, e, field_label).await,
    }
}

/// A PDF as a download that no cache keeps.
pub(super) fn pdf_response(document: &DocumentView, pdf: Vec<u8>) -> HttpResponse {
    let filename: String = document
        .number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}.pdf\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(pdf)
}

async fn download(console: Data, request: HttpRequest, path: aweb::Path<String>) -> Page {
    let staff = console.staff(&request).await?;
    let (document, pdf) = console
        .cases()
        .document_pdf(&staff.principal, &path)
        .await
        .map_err(|e| PageError::Service(staff.lang, e))?;
    Ok(pdf_response(&document, pdf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_offered_kind_is_a_document_type_of_its_subject() {
        for (value, key) in CASE_KINDS {
            let kind = parse_kind(value).expect(value);
            assert_eq!(kind.subject_kind(), SubjectKind::Case);
            assert_eq!(kind_key(kind), key);
        }
        for (value, key) in CONTACT_KINDS {
            let kind = parse_kind(value).expect(value);
            assert_eq!(kind.subject_kind(), SubjectKind::Contact);
            assert_eq!(kind_key(kind), key);
        }
        assert!(parse_kind("anything").is_none());
    }
}
