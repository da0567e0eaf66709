//! Messages on the case and contact pages: what the outbox holds for the person (channel,
//! template, the recipient masked, delivery state and attempts), a form to send one of the
//! templates by SMS or e-mail, and recording that a number or address wants no more
//! messages. The text and the full address stay in the outbox.

use actix_web::{HttpRequest, web as aweb};
use maud::{Markup, html};
use mimamori_cases::model::FieldError;
use mimamori_cases::service::CaseError;
use mimamori_cases::service::followup::SubjectKind;
use mimamori_cases::service::outbox::{
    MessageChannel, MessageLanguage, MessageTemplate, OptOutRequest, SendRequest,
};

use super::cases::{Errors, input, options, select};
use super::{Data, SUBJECTS, form_failed, subject_kind, subject_page, subject_path};
use crate::i18n::{Lang, t};
use crate::layout::{csrf, datetime};
use crate::web::{Form, Staff};
use crate::{Console, Page};

pub(super) fn routes(config: &mut aweb::ServiceConfig) {
    config
        .route(
            &format!("/{SUBJECTS}/{{id}}/messages"),
            aweb::post().to(send),
        )
        .route(
            &format!("/{SUBJECTS}/{{id}}/opt-out"),
            aweb::post().to(opt_out),
        );
}

const CASE_TEMPLATES: [(&str, &str); 2] = [
    ("follow_up_link", "msg.template.follow_up_link"),
    ("daily_reminder", "msg.template.daily_reminder"),
];

const CONTACT_TEMPLATES: [(&str, &str); 4] = [
    ("quarantine_start", "msg.template.quarantine_start"),
    ("follow_up_link", "msg.template.follow_up_link"),
    ("daily_reminder", "msg.template.daily_reminder"),
    ("quarantine_end", "msg.template.quarantine_end"),
];

const CHANNELS: [(&str, &str); 2] = [("sms", "msg.channel.sms"), ("email", "msg.channel.email")];

const LANGUAGES: [(&str, &str); 2] = [("ja", "doc.language.ja"), ("en", "doc.language.en")];

const STATES: [(&str, &str); 5] = [
    ("queued", "msg.state.queued"),
    ("sending", "msg.state.sending"),
    ("sent", "msg.state.sent"),
    ("failed", "msg.state.failed"),
    ("suppressed", "msg.state.suppressed"),
];

fn template_key(template: &str) -> &'static str {
    match template {
        "processing_number" => "msg.template.processing_number",
        "follow_up_link" => "msg.template.follow_up_link",
        "daily_reminder" => "msg.template.daily_reminder",
        "quarantine_start" => "msg.template.quarantine_start",
        "quarantine_end" => "msg.template.quarantine_end",
        _ => "msg.template.other",
    }
}

fn state_key(state: &str) -> &'static str {
    STATES
        .iter()
        .find(|(value, _)| *value == state)
        .map_or("msg.template.other", |(_, key)| key)
}

fn parse<T: serde::de::DeserializeOwned>(value: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(value.to_string())).ok()
}

/// The label key of a field the service names in an error.
fn field_label(field: &str) -> Option<&'static str> {
    Some(match field {
        "template" => "msg.template",
        "channel" => "msg.channel",
        "to" => "msg.to",
        "recipient" => "msg.recipient",
        _ => return None,
    })
}

/// A hidden-field form that sends the processing number just issued by SMS (on the panel
/// that shows the number once).
pub(super) fn processing_number_form(
    staff: &Staff,
    case_id: &str,
    number: &str,
    valid_until: &str,
) -> Markup {
    let lang = staff.lang;
    html! {
        form #send-number method="post" action={ "/console/cases/" (case_id) "/messages" } {
            (csrf(staff))
            input type="hidden" name="template" value="processing_number";
            input type="hidden" name="processingNumber" value=(number);
            input type="hidden" name="validUntil" value=(valid_until);
            div.row {
                (select(lang, &Form::default(), &Errors::new(), "channel", "msg.channel", &options(lang, &CHANNELS)))
                (select(lang, &Form::default(), &Errors::new(), "language", "doc.language", &options(lang, &LANGUAGES)))
            }
            (input(lang, &Form::default(), &Errors::new(), "to", "msg.to", "text", false))
            button.secondary type="submit" { (t(lang, "msg.send_number")) }
        }
    }
}

/// The messages part of a case or contact page.
pub(super) async fn section(
    console: &Console,
    staff: &Staff,
    kind: SubjectKind,
    id: &str,
    writable: bool,
) -> Markup {
    let lang = staff.lang;
    let messages = console
        .cases()
        .messages(&staff.principal, kind, id)
        .await
        .unwrap_or_default();
    let offset = console.cases().config().utc_offset_minutes;
    let path = subject_path(kind, id);
    let templates: &[(&str, &'static str)] = match kind {
        SubjectKind::Case => &CASE_TEMPLATES,
        SubjectKind::Contact => &CONTACT_TEMPLATES,
    };
    let empty = Form::default();
    let none = Errors::new();
    html! {
        h2 #messages-title { (t(lang, "msg.title")) }
        @if messages.is_empty() { p.muted { (t(lang, "case.none")) } }
        @else {
            div.table-wrap { table #messages aria-labelledby="messages-title" {
                thead { tr {
                    th scope="col" { (t(lang, "msg.queued_at")) }
                    th scope="col" { (t(lang, "msg.template")) }
                    th scope="col" { (t(lang, "msg.recipient")) }
                    th scope="col" { (t(lang, "msg.state")) }
                } }
                tbody { @for m in &messages {
                    tr data-state=(m.state) {
                        td { (datetime(m.created_at_ms, offset)) }
                        td { (t(lang, template_key(&m.template))) }
                        td.mono { (m.recipient) }
                        td {
                            (t(lang, state_key(&m.state)))
                            @if m.attempts > 1 { " (" (m.attempts) " " (t(lang, "msg.attempts")) ")" }
                            @if let Some(error) = &m.last_error { br; span.muted { (error) } }
                        }
                    }
                } }
            } }
        }
        @if writable {
            details.panel {
                summary { (t(lang, "msg.send")) }
                form #message-form method="post" action={ (path) "/messages" } {
                    (csrf(staff))
                    div.row {
                        (select(lang, &empty, &none, "template", "msg.template", &options(lang, templates)))
                        (select(lang, &empty, &none, "channel", "msg.channel", &options(lang, &CHANNELS)))
                        (select(lang, &empty, &none, "language", "doc.language", &options(lang, &LANGUAGES)))
                    }
                    (input(lang, &empty, &none, "to", "msg.to", "text", false))
                    p.muted { (t(lang, "msg.to_hint")) }
                    button #send-message type="submit" { (t(lang, "msg.send")) }
                }
            }
            details.panel {
                summary { (t(lang, "msg.opt_out")) }
                form #opt-out-form method="post" action={ (path) "/opt-out" } {
                    (csrf(staff))
                    (input(lang, &empty, &none, "recipient", "msg.recipient", "text", true))
                    p.muted { (t(lang, "msg.opt_out_hint")) }
                    button.secondary type="submit" { (t(lang, "msg.opt_out")) }
                }
            }
        }
    }
}

fn parse_send(form: &Form) -> Result<SendRequest, CaseError> {
    let missing = |field: &'static str| {
        CaseError::Invalid(vec![FieldError {
            field,
            message: "required".into(),
        }])
    };
    Ok(SendRequest {
        template: parse::<MessageTemplate>(form.get("template")).ok_or(missing("template"))?,
        channel: parse::<MessageChannel>(form.get("channel")).ok_or(missing("channel"))?,
        language: parse::<MessageLanguage>(form.get("language")).unwrap_or_default(),
        to: form.opt("to"),
        processing_number: form.opt("processingNumber"),
        valid_until: form.opt("validUntil"),
    })
}

fn notice(lang: Lang, key: &'static str) -> Markup {
    html! { p.notice #message-notice role="status" { (t(lang, key)) } }
}

async fn send(
    console: Data,
    request: HttpRequest,
    path: aweb::Path<(String, String)>,
    body: aweb::Bytes,
) -> Page {
    let (subjects, id) = path.into_inner();
    let kind = subject_kind(&subjects);
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    let outcome = match parse_send(&form) {
        Ok(message) => console
            .cases()
            .send_message(&staff.principal, kind, &id, message)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => {
            let extra = notice(staff.lang, "msg.queued");
            subject_page(
                &console,
                &staff,
                kind,
                &id,
                extra,
                actix_web::http::StatusCode::ACCEPTED,
            )
            .await
        }
        Err(e) => form_failed(&console, &staff, kind, &id, e, field_label).await,
    }
}

async fn opt_out(
    console: Data,
    request: HttpRequest,
    path: aweb::Path<(String, String)>,
    body: aweb::Bytes,
) -> Page {
    let (subjects, id) = path.into_inner();
    let kind = subject_kind(&subjects);
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    // The page must be one the user may work on before anything is recorded.
    let writable = match kind {
        SubjectKind::Case => console
            .cases()
            .read(&staff.principal, &id)
            .await
            .map(|_| ()),
        SubjectKind::Contact => console
            .cases()
            .contact(&staff.principal, &id)
            .await
            .map(|_| ()),
    };
    if let Err(e) = writable {
        return Err(crate::PageError::Service(staff.lang, e));
    }
    let request_body = OptOutRequest {
        recipient: form.get("recipient").to_string(),
    };
    match console
        .cases()
        .opt_out(&staff.principal, request_body)
        .await
    {
        Ok(()) => {
            let extra = notice(staff.lang, "msg.opted_out");
            subject_page(
                &console,
                &staff,
                kind,
                &id,
                extra,
                actix_web::http::StatusCode::OK,
            )
            .await
        }
        Err(e) => form_failed(&console, &staff, kind, &id, e, field_label).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_offered_choice_parses_and_has_a_label() {
        for (value, key) in CASE_TEMPLATES.iter().chain(CONTACT_TEMPLATES.iter()) {
            assert!(parse::<MessageTemplate>(value).is_some(), "{value}");
            assert_eq!(template_key(value), *key);
        }
        for (value, _) in CHANNELS {
            assert!(parse::<MessageChannel>(value).is_some(), "{value}");
        }
        for (value, _) in LANGUAGES {
            assert!(parse::<MessageLanguage>(value).is_some(), "{value}");
        }
        assert!(parse::<MessageTemplate>("processing_number").is_some());
        assert_eq!(state_key("sent"), "msg.state.sent");
    }
}
