//! Certificates and notices as PDF, over real HTTP on SQLite and PostgreSQL: a health center
//! issues a 療養証明書 and a 就業制限通知 for a case and a quarantine start notice for a close
//! contact; the text extracted from each PDF holds the person's name and the dates; a bundle
//! prints several at once; the contact downloads theirs through the follow-up link, which
//! confirms receipt. Scope as for the records themselves.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::call;

/// `2026-11-25` as printed on a Japanese document: 令和8年11月25日.
fn japanese_date(iso: &str) -> String {
    let year: i32 = iso[0..4].parse().unwrap();
    let month: u32 = iso[5..7].parse().unwrap();
    let day: u32 = iso[8..10].parse().unwrap();
    format!("令和{}年{month}月{day}日", year - 2018)
}

/// GETs a PDF with `token` as bearer; returns the status, the extracted text and the bytes.
async fn pdf_text(
    app: &mimamori_tests::TestApp,
    path: &str,
    token: &str,
) -> (StatusCode, String, Vec<u8>) {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    if status != StatusCode::OK {
        return (status, response.text().await.unwrap(), Vec::new());
    }
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let bytes = response.bytes().await.unwrap().to_vec();
    let text = pdf_extract::extract_text_from_mem(&bytes).unwrap();
    (status, text, bytes)
}

/// Text without the spaces and line breaks an extractor puts between glyph runs.
fn squeezed(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

flow_tests! {
    async fn certificates_and_notices_carry_the_person_and_dates_and_reach_the_person(app, clock) {
        let world = support::world(&app, &clock).await;
        let nurse = world.hc_worker[0].clone();
        let hc = world.health_center[0].clone();
        let case_id = support::file_case(&app, &nurse, &hc, "山田 太郎").await;
        let (status, plan) = call(&app, "PUT", &format!("/api/cases/{case_id}/followup"), Some(&nurse), None, Some(json!({}))).await;
        assert_eq!(status, StatusCode::OK, "{plan}");
        let (start, end) = (plan["startDate"].as_str().unwrap().to_string(), plan["endDate"].as_str().unwrap().to_string());

        // 療養証明書 in Japanese: the name, the kana, the period and the health center.
        let (status, certificate) = call(&app, "POST", &format!("/api/cases/{case_id}/documents"), Some(&nurse), None,
            Some(json!({"kind": "isolation_certificate"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{certificate}");
        assert_eq!((certificate["kind"].as_str(), certificate["language"].as_str()), (Some("isolation_certificate"), Some("ja")));
        let (status, text, bytes) = pdf_text(&app, &format!("/api/documents/{}/pdf", certificate["id"].as_str().unwrap()), &nurse).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert!(bytes.len() < 100_000, "a subset font keeps it small: {} bytes", bytes.len());
        let flat = squeezed(&text);
        for expected in ["療養証明書".to_string(), "山田太郎".into(), "ヤマダタロウ".into(), japanese_date(&start), japanese_date(&end),
                         japanese_date("2026-11-18"), "MinatoHC".into(), squeezed(certificate["number"].as_str().unwrap())] {
            assert!(flat.contains(&expected), "{expected} not in {text}");
        }

        // 就業制限通知 in English with the period given.
        let (status, notice) = call(&app, "POST", &format!("/api/cases/{case_id}/documents"), Some(&nurse), None,
            Some(json!({"kind": "work_restriction_notice", "language": "en", "periodStart": "2026-11-18", "periodEnd": "2026-11-27"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{notice}");
        let (_, text, _) = pdf_text(&app, &format!("/api/documents/{}/pdf", notice["id"].as_str().unwrap()), &nurse).await;
        let flat = squeezed(&text);
        for expected in ["山田太郎", "18November2026", "27November2026"] {
            assert!(flat.contains(expected), "{expected} not in {text}");
        }

        // A close contact's quarantine start notice needs the phone and the report link.
        let (status, contact) = call(&app, "POST", "/api/contacts", Some(&nurse), None, Some(json!({
            "person": {"name": "佐藤 花子", "kana": "サトウ ハナコ", "birthDate": "1992-03-04", "phones": ["090-1111-2222"], "address": "港区芝公園1-1"},
            "exposure": {"caseId": case_id, "date": "2026-11-19", "setting": "household"}}))).await;
        assert_eq!(status, StatusCode::CREATED, "{contact}");
        let contact_id = contact["id"].as_str().unwrap().to_string();
        let (status, quarantined) = call(&app, "POST", &format!("/api/contacts/{contact_id}/status"), Some(&nurse), None, Some(json!({"status": "quarantined"}))).await;
        assert_eq!(status, StatusCode::OK, "{quarantined}");
        let (status, refused) = call(&app, "POST", &format!("/api/contacts/{contact_id}/documents"), Some(&nurse), None,
            Some(json!({"kind": "quarantine_start_notice"}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        let (status, wrong) = call(&app, "POST", &format!("/api/contacts/{contact_id}/documents"), Some(&nurse), None,
            Some(json!({"kind": "isolation_certificate"}))).await;
        assert_eq!((status, wrong["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("wrong_subject")));
        let (status, link) = call(&app, "POST", &format!("/api/contacts/{contact_id}/followup/token"), Some(&nurse), None, None).await;
        assert_eq!(status, StatusCode::CREATED, "{link}");
        let link_token = link["token"].as_str().unwrap().to_string();
        let (status, start_notice) = call(&app, "POST", &format!("/api/contacts/{contact_id}/documents"), Some(&nurse), None,
            Some(json!({"kind": "quarantine_start_notice", "healthCenterPhone": "03-1234-5678",
                        "healthReportUrl": format!("https://mimamori.example/console/r/{link_token}")}))).await;
        assert_eq!(status, StatusCode::CREATED, "{start_notice}");

        // The person lists and downloads it with the link; that confirms receipt.
        let (status, mine) = call(&app, "GET", "/api/followup/documents", Some(&link_token), None, None).await;
        assert_eq!(status, StatusCode::OK, "{mine}");
        assert_eq!(mine.as_array().unwrap().len(), 1);
        assert!(mine[0]["downloadedAtMs"].is_null());
        let document_id = start_notice["id"].as_str().unwrap();
        let (status, text, _) = pdf_text(&app, &format!("/api/followup/documents/{document_id}/pdf"), &link_token).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let flat = squeezed(&text);
        for expected in ["佐藤花子".to_string(), japanese_date("2026-11-19"), japanese_date(quarantined["quarantineEnd"].as_str().unwrap()), "03-1234-5678".into()] {
            assert!(flat.contains(&expected), "{expected} not in {text}");
        }
        let (_, listed) = call(&app, "GET", &format!("/api/contacts/{contact_id}/documents"), Some(&nurse), None, None).await;
        assert!(listed[0]["downloadedAtMs"].is_i64(), "{listed}");
        // Another subject's document is not theirs; a made-up link is 401.
        let (status, _, _) = pdf_text(&app, &format!("/api/followup/documents/{}/pdf", certificate["id"].as_str().unwrap()), &link_token).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = call(&app, "GET", "/api/followup/documents", Some("mfu_not-a-token"), None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Bulk printing: one PDF, a page per case.
        let second = support::file_case(&app, &nurse, &hc, "鈴木 一郎").await;
        let response = app.client.post(app.url("/api/documents/bundle")).bearer_auth(&nurse)
            .json(&json!({"document": {"kind": "isolation_certificate", "periodStart": "2026-11-16", "periodEnd": "2026-11-25"},
                          "subjects": [{"id": case_id}, {"id": second}]}))
            .send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["x-document-count"], "2");
        let bytes = response.bytes().await.unwrap();
        let pages = pdf_extract::extract_text_from_mem_by_pages(&bytes).unwrap();
        assert_eq!(pages.len(), 2);
        assert!(squeezed(&pages[0]).contains("山田太郎") && squeezed(&pages[1]).contains("鈴木一郎"), "{pages:?}");
        let (_, documents) = call(&app, "GET", &format!("/api/cases/{second}/documents"), Some(&nurse), None, None).await;
        assert_eq!(documents.as_array().unwrap().len(), 1, "the bundle recorded each document");

        // Scope: the prefecture reads but does not issue; another health center sees nothing.
        let (status, _) = call(&app, "GET", &format!("/api/cases/{case_id}/documents"), Some(&world.pref_worker[0]), None, None).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = call(&app, "POST", &format!("/api/cases/{case_id}/documents"), Some(&world.pref_worker[0]), None,
            Some(json!({"kind": "isolation_certificate"}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = pdf_text(&app, &format!("/api/documents/{}/pdf", certificate["id"].as_str().unwrap()), &world.hc_worker[1]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, response) = call(&app, "POST", "/api/documents/bundle", Some(&world.hc_worker[1]), None,
            Some(json!({"document": {"kind": "isolation_certificate"}, "subjects": [{"id": case_id}]}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{response}");
        let (status, _) = call(&app, "POST", "/api/documents/bundle", Some(&nurse), None,
            Some(json!({"document": {"kind": "isolation_certificate"}, "subjects": []}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}
