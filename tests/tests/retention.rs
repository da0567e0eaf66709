//! The line list and the retention rule, over real HTTP on SQLite and PostgreSQL: a
//! prefecture exports its cases as CSV (audited); after the retention period the personal
//! data of closed cases and contacts is gone (earlier versions, follow-up links too), open
//! ones keep theirs, and every statistics table shows the same counts as before.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

use mimamori::services::cases::mimamori_cases::CaseRegistry;
use support::call;

/// A request whose answer is text (CSV) or an error.
async fn call_text(
    app: &mimamori_tests::TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, String) {
    let (status, body) = call(app, method, path, token, None, None).await;
    (
        status,
        body.as_str()
            .map_or_else(|| body.to_string(), str::to_string),
    )
}

/// Exact small counts, sessions that outlive the clock's jump, and a 30-day retention.
fn settings(settings: &mut mimamori::config::Settings) {
    settings.cases.session_ttl_seconds = 60 * 86_400;
    settings.cases.statistics_minimum_count = 1;
    settings.cases.retention_days = 30;
}

const TABLES: [&str; 2] = [
    "/api/statistics/tables/new_cases?from=2026-11-01&to=2026-11-30",
    "/api/statistics/tables/cases_by_status?from=2026-11-15&to=2026-11-25",
];

async fn statistics(app: &mimamori_tests::TestApp, viewer: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for table in TABLES {
        let (status, body) = call(app, "GET", table, Some(viewer), None, None).await;
        assert_eq!(status, StatusCode::OK, "{table}: {body}");
        out.push(body["rows"].clone());
    }
    let (status, summary) = call(
        app,
        "GET",
        "/api/statistics/cases",
        Some(viewer),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    out.push(summary);
    out
}

flow_tests_with! { settings;
    async fn retention_anonymises_closed_records_and_statistics_keep_their_counts(app, clock) {
        let world = support::world(&app, &clock).await;
        let nurse = world.hc_worker[0].clone();
        let hc = world.health_center[0].clone();
        let closed = support::file_case(&app, &nurse, &hc, "Closed Case").await;
        let open = support::file_case(&app, &nurse, &hc, "Open Case").await;
        for status in ["home_care", "recovered"] {
            let (code, body) = call(&app, "POST", &format!("/api/cases/{closed}/status"), Some(&nurse), None, Some(json!({"status": status}))).await;
            assert_eq!(code, StatusCode::OK, "{body}");
        }
        // An earlier version and a follow-up link that must go too.
        let (code, _) = call(&app, "PATCH", &format!("/api/cases/{closed}"), Some(&nurse), None, Some(json!({"phone": "080-1234-5678"}))).await;
        assert_eq!(code, StatusCode::OK);
        let (code, _) = call(&app, "PUT", &format!("/api/cases/{closed}/followup"), Some(&nurse), None, Some(json!({}))).await;
        assert_eq!(code, StatusCode::OK);
        let (code, link) = call(&app, "POST", &format!("/api/cases/{closed}/followup/token"), Some(&nurse), None, None).await;
        assert_eq!(code, StatusCode::CREATED, "{link}");
        // Two contacts: one completes quarantine, one is still in it.
        let mut contacts = Vec::new();
        for name in ["Done Contact", "Quarantined Contact"] {
            let (code, contact) = call(&app, "POST", "/api/contacts", Some(&nurse), None, Some(json!({
                "person": {"name": name, "kana": "セッショク", "birthDate": "1990-05-01", "phones": ["090-1111-2222"], "address": "Minato-ku"},
                "exposure": {"caseId": open, "date": "2026-11-19", "setting": "household"}}))).await;
            assert_eq!(code, StatusCode::CREATED, "{contact}");
            let id = contact["id"].as_str().unwrap().to_string();
            let (code, _) = call(&app, "POST", &format!("/api/contacts/{id}/status"), Some(&nurse), None, Some(json!({"status": "quarantined"}))).await;
            assert_eq!(code, StatusCode::OK);
            contacts.push(id);
        }
        let (code, _) = call(&app, "POST", &format!("/api/contacts/{}/status", contacts[0]), Some(&nurse), None, Some(json!({"status": "completed"}))).await;
        assert_eq!(code, StatusCode::OK);

        // The prefecture's line list: every case of its health centers, no contact details.
        let (code, csv) = call_text(&app, "GET", "/api/linelist?from=2026-11-01&to=2026-11-30", Some(&world.pref_worker[0])).await;
        assert_eq!(code, StatusCode::OK, "{csv}");
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].starts_with("caseId,prefectureId,healthCenterId,status,"), "{}", lines[0]);
        assert_eq!(lines.len(), 3, "{csv}");
        assert!(csv.contains("Closed Case") && csv.contains("Open Case") && !csv.contains("080-1234-5678"), "{csv}");
        let (code, other) = call_text(&app, "GET", "/api/linelist?from=2026-11-01&to=2026-11-30", Some(&world.pref_worker[1])).await;
        assert_eq!((code, other.lines().count()), (StatusCode::OK, 1), "another prefecture sees only the header");
        for (query, expected) in [("from=2026-11-30&to=2026-11-01", StatusCode::UNPROCESSABLE_ENTITY), ("from=2025-01-01&to=2026-11-30", StatusCode::UNPROCESSABLE_ENTITY),
                                  ("from=yesterday&to=2026-11-30", StatusCode::BAD_REQUEST), ("from=2026-11-01", StatusCode::BAD_REQUEST)] {
            let (code, body) = call_text(&app, "GET", &format!("/api/linelist?{query}"), Some(&world.pref_worker[0])).await;
            assert_eq!(code, expected, "{query}: {body}");
        }
        let (code, _) = call_text(&app, "GET", "/api/linelist?from=2026-11-01&to=2026-11-30", Some(&world.doctor[0])).await;
        assert_eq!(code, StatusCode::FORBIDDEN, "clinics do not export");
        let registry = CaseRegistry::new(app.database.database.clone(), Default::default(), Arc::new(clock.clone()));
        let entries = registry.store().audit_entries(0, 10_000).await.unwrap();
        let exports: Vec<_> = entries.iter().filter(|e| e.action == "linelist.export").collect();
        assert_eq!(exports.len(), 2, "both exports are audited: {exports:?}");
        assert!(exports[0].target.ends_with(":2026-11-01..2026-11-30:2 rows"), "{:?}", exports[0]);

        let before = statistics(&app, &world.national_stats).await;
        // Not yet: the period has not passed.
        let (code, report) = call(&app, "POST", "/api/retention/run", Some(&world.national_admin), None, None).await;
        assert_eq!((code, report.clone()), (StatusCode::OK, json!({"cases": 0, "contacts": 0})), "{report}");
        clock.advance_ms(31 * 86_400_000);
        let (code, _) = call(&app, "POST", "/api/retention/run", Some(&nurse), None, None).await;
        assert_eq!(code, StatusCode::FORBIDDEN, "only the national admin runs it by hand");
        let (code, report) = call(&app, "POST", "/api/retention/run", Some(&world.national_admin), None, None).await;
        assert_eq!((code, report.clone()), (StatusCode::OK, json!({"cases": 1, "contacts": 1})), "{report}");
        let (_, again) = call(&app, "POST", "/api/retention/run", Some(&world.national_admin), None, None).await;
        assert_eq!(again, json!({"cases": 0, "contacts": 0}), "idempotent");

        // The closed case keeps its epidemiology and loses the person.
        let (code, case) = call(&app, "GET", &format!("/api/cases/{closed}"), Some(&nurse), None, None).await;
        assert_eq!(code, StatusCode::OK, "{case}");
        let notification = &case["notification"];
        assert_eq!(notification["name"], "");
        for gone in ["phone", "address", "dateOfBirth", "kana", "email"] {
            assert!(notification[gone].is_null(), "{gone}: {notification}");
        }
        assert_eq!(notification["municipality"], "Minato-ku", "{notification}");
        assert!(case["history"].as_array().unwrap().iter().any(|e| e["kind"] == "anonymised"));
        let (_, revisions) = call(&app, "GET", &format!("/api/cases/{closed}/revisions"), Some(&nurse), None, None).await;
        assert_eq!(revisions, json!([]), "earlier versions held the phone number");
        let link_token = link["token"].as_str().unwrap();
        let (code, _) = call(&app, "POST", "/api/followup/observations", Some(link_token), None, Some(json!({"temperature": 36.5, "spo2": 97}))).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "the link no longer works");
        let (_, open_case) = call(&app, "GET", &format!("/api/cases/{open}"), Some(&nurse), None, None).await;
        assert_eq!(open_case["notification"]["name"], "Open Case");

        let (_, done) = call(&app, "GET", &format!("/api/contacts/{}", contacts[0]), Some(&nurse), None, None).await;
        assert_eq!((done["name"].as_str(), done["phones"].clone(), done["birthDate"].clone()), (Some(""), json!([]), Value::Null), "{done}");
        assert_eq!(done["status"], "completed");
        let (_, still) = call(&app, "GET", &format!("/api/contacts/{}", contacts[1]), Some(&nurse), None, None).await;
        assert_eq!(still["name"], "Quarantined Contact");

        assert_eq!(statistics(&app, &world.national_stats).await, before, "statistics keep their counts");
    }
}
