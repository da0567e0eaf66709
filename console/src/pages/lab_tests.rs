//! Laboratory tests on the case page: the case's repeat tests (specimen, collection day,
//! method, laboratory, result), a form to record one, and the result of a pending test
//! entered later (once).

use actix_web::{HttpRequest, web as aweb};
use maud::{Markup, html};
use mimamori_cases::service::followup::SubjectKind;
use mimamori_cases::service::lab_tests::{
    LabResult, LabTestView, NewLabTest, Specimen, TestMethod, TestResult,
};

use super::cases::{Errors, input, options, select};
use super::{Data, form_failed};
use crate::i18n::t;
use crate::web::{self, Form, Staff};
use crate::{Console, Page};

pub(super) fn routes(config: &mut aweb::ServiceConfig) {
    config
        .route("/cases/{id}/tests", aweb::post().to(record))
        .route("/cases/{id}/tests/{test}/result", aweb::post().to(result));
}

const SPECIMENS: [(&str, &str); 6] = [
    ("nasopharyngeal_swab", "lab.specimen.nasopharyngeal_swab"),
    ("nasal_swab", "lab.specimen.nasal_swab"),
    ("saliva", "lab.specimen.saliva"),
    ("sputum", "lab.specimen.sputum"),
    ("blood", "lab.specimen.blood"),
    ("other", "lab.specimen.other"),
];

const METHODS: [(&str, &str); 6] = [
    ("pcr", "lab.method.pcr"),
    ("lamp", "lab.method.lamp"),
    ("antigen_quantitative", "lab.method.antigen_quantitative"),
    ("antigen_qualitative", "lab.method.antigen_qualitative"),
    ("antibody", "lab.method.antibody"),
    ("other", "lab.method.other"),
];

const RESULTS: [(&str, &str); 4] = [
    ("pending", "lab.result.pending"),
    ("positive", "lab.result.positive"),
    ("negative", "lab.result.negative"),
    ("inconclusive", "lab.result.inconclusive"),
];

/// The label key of `value` in `pairs` (the value itself is never shown raw).
fn key_of(pairs: &[(&str, &'static str)], value: &str) -> &'static str {
    pairs
        .iter()
        .find(|(v, _)| *v == value)
        .map_or("lab.other", |(_, key)| key)
}

/// The label key of a field the service names in an error.
fn field_label(field: &str) -> Option<&'static str> {
    Some(match field {
        "specimen" => "lab.specimen",
        "collectedOn" => "lab.collected_on",
        "method" => "lab.method",
        "laboratory" => "lab.laboratory",
        "result" => "lab.result",
        "resultOn" => "lab.result_on",
        _ => return None,
    })
}

fn pending_result_form(staff: &Staff, case_id: &str, test: &LabTestView) -> Markup {
    let lang = staff.lang;
    let known: Vec<(String, String)> = options(lang, &RESULTS[1..]);
    html! {
        form.inline method="post" action={ "/console/cases/" (case_id) "/tests/" (test.id) "/result" } {
            (crate::layout::csrf(staff))
            label { span.sr-only { (t(lang, "lab.result")) }
                select name="result" { @for (value, text) in &known { option value=(value) { (text) } } }
            }
            " "
            label { span.sr-only { (t(lang, "lab.result_on")) }
                input type="date" name="resultOn" required;
            }
            " "
            button.secondary type="submit" { (t(lang, "lab.enter_result")) }
        }
    }
}

/// The laboratory-test part of the case page.
pub(super) async fn case_section(
    console: &Console,
    staff: &Staff,
    case_id: &str,
    writable: bool,
) -> Markup {
    let lang = staff.lang;
    let tests = console
        .cases()
        .lab_tests(&staff.principal, case_id)
        .await
        .unwrap_or_default();
    let empty = Form::default();
    let none = Errors::new();
    html! {
        h2 #lab-tests-title { (t(lang, "lab.title")) }
        @if tests.is_empty() { p.muted { (t(lang, "case.none")) } }
        @else {
            div.table-wrap { table #lab-tests aria-labelledby="lab-tests-title" {
                thead { tr {
                    th scope="col" { (t(lang, "lab.collected_on")) }
                    th scope="col" { (t(lang, "lab.specimen")) }
                    th scope="col" { (t(lang, "lab.method")) }
                    th scope="col" { (t(lang, "lab.laboratory")) }
                    th scope="col" { (t(lang, "lab.result")) }
                } }
                tbody { @for test in &tests {
                    tr data-result=(test.result.as_str()) {
                        td { (test.collected_on) }
                        td { (t(lang, key_of(&SPECIMENS, test.specimen.as_str()))) }
                        td { (t(lang, key_of(&METHODS, test.method.as_str()))) }
                        td { (test.laboratory.as_deref().unwrap_or("—")) }
                        td {
                            (t(lang, key_of(&RESULTS, test.result.as_str())))
                            @if let Some(day) = &test.result_on { " (" (day) ")" }
                            @if writable && test.result == TestResult::Pending {
                                br; (pending_result_form(staff, case_id, test))
                            }
                        }
                    }
                } }
            } }
        }
        @if writable {
            details.panel {
                summary { (t(lang, "lab.record")) }
                form #lab-test-form method="post" action={ "/console/cases/" (case_id) "/tests" } {
                    (crate::layout::csrf(staff))
                    div.row {
                        (select(lang, &empty, &none, "specimen", "lab.specimen", &options(lang, &SPECIMENS)))
                        (input(lang, &empty, &none, "collectedOn", "lab.collected_on", "date", true))
                    }
                    div.row {
                        (select(lang, &empty, &none, "method", "lab.method", &options(lang, &METHODS)))
                        (input(lang, &empty, &none, "laboratory", "lab.laboratory", "text", false))
                    }
                    div.row {
                        (select(lang, &empty, &none, "result", "lab.result", &options(lang, &RESULTS)))
                        (input(lang, &empty, &none, "resultOn", "lab.result_on", "date", false))
                    }
                    button type="submit" { (t(lang, "lab.record")) }
                }
            }
        }
    }
}

/// A select's value as the service's enum (an unknown value is the field's error).
fn parse_choice<T>(
    form: &Form,
    field: &'static str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, mimamori_cases::service::CaseError> {
    parse(form.get(field)).ok_or_else(|| {
        mimamori_cases::service::CaseError::Invalid(vec![mimamori_cases::model::FieldError {
            field,
            message: "required".into(),
        }])
    })
}

fn parse_new_test(form: &Form) -> Result<NewLabTest, mimamori_cases::service::CaseError> {
    Ok(NewLabTest {
        specimen: parse_choice(form, "specimen", Specimen::parse)?,
        collected_on: form.get("collectedOn").to_string(),
        method: parse_choice(form, "method", TestMethod::parse)?,
        laboratory: form.opt("laboratory"),
        result: parse_choice(form, "result", TestResult::parse)?,
        result_on: form.opt("resultOn"),
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
    let id = path.into_inner();
    let outcome = match parse_new_test(&form) {
        Ok(test) => console
            .cases()
            .record_lab_test(&staff.principal, &id, test)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(web::redirect(&format!(
            "/console/cases/{id}#lab-tests-title"
        ))),
        Err(e) => form_failed(&console, &staff, SubjectKind::Case, &id, e, field_label).await,
    }
}

async fn result(
    console: Data,
    request: HttpRequest,
    path: aweb::Path<(String, String)>,
    body: aweb::Bytes,
) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    let (id, test_id) = path.into_inner();
    let outcome = match parse_choice(&form, "result", TestResult::parse) {
        Ok(result) => console
            .cases()
            .enter_lab_result(
                &staff.principal,
                &id,
                &test_id,
                LabResult {
                    result,
                    result_on: form.get("resultOn").to_string(),
                    laboratory: form.opt("laboratory"),
                },
            )
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(web::redirect(&format!(
            "/console/cases/{id}#lab-tests-title"
        ))),
        Err(e) => form_failed(&console, &staff, SubjectKind::Case, &id, e, field_label).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_name_has_a_label() {
        for (value, key) in SPECIMENS {
            assert!(Specimen::parse(value).is_some(), "{value}");
            assert_eq!(key_of(&SPECIMENS, value), key);
        }
        for (value, _) in METHODS {
            assert!(TestMethod::parse(value).is_some(), "{value}");
        }
        for (value, _) in RESULTS {
            assert!(TestResult::parse(value).is_some(), "{value}");
        }
        assert_eq!(key_of(&RESULTS, "made-up"), "lab.other");
    }
}
