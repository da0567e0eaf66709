//! The health center's task list over real HTTP on SQLite and PostgreSQL: first calls not
//! made, missing items, quarantines ending today, no report for a day, documents not
//! downloaded; a reached call takes the person off the first-call list.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::call;

fn long_sessions(settings: &mut mimamori::config::Settings) {
    settings.cases.session_ttl_seconds = 60 * 86_400;
}

/// The (kind, subject id) pairs of the task list.
async fn tasks(app: &mimamori_tests::TestApp, token: &str) -> Vec<(String, String, String)> {
    let (status, list) = call(app, "GET", "/api/tasks", Some(token), None, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .map(|t: &Value| {
            (
                t["kind"].as_str().unwrap().to_string(),
                t["subjectId"].as_str().unwrap().to_string(),
                t["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn has(list: &[(String, String, String)], kind: &str, id: &str) -> bool {
    list.iter().any(|(k, i, _)| k == kind && i == id)
}

flow_tests_with! { long_sessions;
    async fn the_task_list_shows_what_a_nurse_must_do_today(app, clock) {
        let world = support::world(&app, &clock).await;
        let nurse = world.hc_worker[0].clone();
        let hc = world.health_center[0].clone();
        let case_id = support::file_case(&app, &nurse, &hc, "Task Case").await;
        let (status, contact) = call(&app, "POST", "/api/contacts", Some(&nurse), None, Some(json!({
            "person": {"name": "Task Contact", "phones": ["090-1111-2222"]},
            "exposure": {"caseId": case_id, "date": "2026-11-19", "setting": "household"}}))).await;
        assert_eq!(status, StatusCode::CREATED, "{contact}");
        let contact_id = contact["id"].as_str().unwrap().to_string();

        let list = tasks(&app, &nurse).await;
        assert!(has(&list, "first_call", &case_id) && has(&list, "first_call", &contact_id), "{list:?}");
        let missing = list.iter().find(|(k, i, _)| k == "missing_items" && *i == case_id).expect("the notification has no address");
        assert_eq!(missing.2, "address");

        // A call that reaches the person takes them off; one that does not, does not.
        let (status, _) = call(&app, "POST", &format!("/api/contacts/{contact_id}/calls"), Some(&nurse), None, Some(json!({"outcome": "no_answer"}))).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, called) = call(&app, "POST", &format!("/api/cases/{case_id}/calls"), Some(&nurse), None, Some(json!({"outcome": "reached"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{called}");
        let list = tasks(&app, &nurse).await;
        assert!(!has(&list, "first_call", &case_id) && has(&list, "first_call", &contact_id), "{list:?}");
        let (_, calls) = call(&app, "GET", &format!("/api/contacts/{contact_id}/calls"), Some(&world.pref_worker[0]), None, None).await;
        assert_eq!(calls[0]["outcome"], "no_answer", "{calls}");

        // Quarantine and a follow-up plan; on the last day of quarantine, with no reports.
        let (status, quarantined) = call(&app, "POST", &format!("/api/contacts/{contact_id}/status"), Some(&nurse), None, Some(json!({"status": "quarantined"}))).await;
        assert_eq!(status, StatusCode::OK, "{quarantined}");
        let end = quarantined["quarantineEnd"].as_str().unwrap().to_string();
        let (status, _) = call(&app, "PUT", &format!("/api/cases/{case_id}/followup"), Some(&nurse), None, Some(json!({}))).await;
        assert_eq!(status, StatusCode::OK);
        let (status, document) = call(&app, "POST", &format!("/api/cases/{case_id}/documents"), Some(&nurse), None, Some(json!({"kind": "work_restriction_notice"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{document}");
        let days = mimamori::services::cases::mimamori_cases::model::Date::parse(&end).unwrap().days
            - mimamori::services::cases::mimamori_cases::model::Date::parse("2026-11-20").unwrap().days;
        clock.advance_ms(days * 86_400_000);
        let list = tasks(&app, &nurse).await;
        let ending = list.iter().find(|(k, i, _)| k == "quarantine_ends_today" && *i == contact_id);
        assert_eq!(ending.map(|t| t.2.as_str()), Some(end.as_str()), "{list:?}");
        assert!(has(&list, "no_report", &case_id), "the plan runs and nothing came in: {list:?}");
        assert!(has(&list, "unconfirmed_document", &case_id), "{list:?}");

        // Only a health center's case workers have a task list; another's is empty of ours.
        let (status, _) = call(&app, "GET", "/api/tasks", Some(&world.pref_worker[0]), None, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let other = tasks(&app, &world.hc_worker[1]).await;
        assert!(other.iter().all(|(_, i, _)| *i != case_id && *i != contact_id), "{other:?}");
        let (status, _) = call(&app, "POST", &format!("/api/cases/{case_id}/calls"), Some(&world.hc_worker[1]), None, Some(json!({"outcome": "reached"}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
