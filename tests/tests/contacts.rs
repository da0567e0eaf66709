//! Close contacts as people, over real HTTP on SQLite and PostgreSQL: a case's contact
//! investigation records five contacts; two go into quarantine (the rule in force on their
//! last exposure) and report daily through their own link; a later exposure extends one
//! quarantine; one tests positive and becomes a case linked to the source; one is lost to
//! follow-up; one refuses. Scope: the health center of residence, its prefecture, nobody
//! else; the missed-report sweep and the worklist cover contacts too.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::call;

/// Records a contact of `case_id` living in `health_center`, last exposed on `date`.
async fn investigate(
    app: &mimamori_tests::TestApp,
    nurse: &str,
    case_id: &str,
    health_center: &str,
    name: &str,
    date: &str,
    setting: &str,
) -> Value {
    let (status, contact) = call(app, "POST", "/api/contacts", Some(nurse), None, Some(json!({
        "person": {"name": name, "kana": "セッショク", "birthDate": "1990-05-01", "phones": ["090-1111-2222"],
                   "address": "Minato-ku 1-2-3", "household": "spouse, 1 child"},
        "healthCenterId": health_center,
        "exposure": {"caseId": case_id, "date": date, "setting": setting, "durationMinutes": 45,
                     "proximity": "within_1m", "method": "interview", "respondent": "case"}
    }))).await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    assert_eq!(contact["status"], "identified");
    contact
}

async fn set_status(
    app: &mimamori_tests::TestApp,
    nurse: &str,
    id: &str,
    status: &str,
) -> (StatusCode, Value) {
    call(
        app,
        "POST",
        &format!("/api/contacts/{id}/status"),
        Some(nurse),
        None,
        Some(json!({"status": status})),
    )
    .await
}

/// Sessions that outlive the days the clock jumps over.
fn long_sessions(settings: &mut mimamori::config::Settings) {
    settings.cases.session_ttl_seconds = 60 * 86_400;
}

flow_tests_with! { long_sessions;
    async fn a_case_investigation_follows_its_contacts_to_the_end(app, clock) {
        let world = support::world(&app, &clock).await;
        let nurse = world.hc_worker[0].clone();
        let hc = world.health_center[0].clone();
        let case_id = support::file_case(&app, &nurse, &hc, "Source Case").await;
        // The test clock's today is 2026-11-20; the rule in force since 2022-09-07: 5 days.
        let contacts: Vec<Value> = vec![
            investigate(&app, &nurse, &case_id, &hc, "Contact Quarantined A", "2026-11-18", "household").await,
            investigate(&app, &nurse, &case_id, &hc, "Contact Quarantined B", "2026-11-19", "workplace").await,
            investigate(&app, &nurse, &case_id, &hc, "Contact Converted", "2026-11-17", "household").await,
            investigate(&app, &nurse, &case_id, &hc, "Contact Lost", "2026-11-16", "event").await,
            investigate(&app, &nurse, &case_id, &hc, "Contact Refused", "2026-11-19", "school").await,
        ];
        let id = |i: usize| contacts[i]["id"].as_str().unwrap().to_string();
        assert_eq!(contacts[0]["exposures"][0]["proximity"], "within_1m");
        assert_eq!(contacts[0]["phones"], json!(["090-1111-2222"]));

        // The case lists its contacts.
        let (status, listed) = call(&app, "GET", &format!("/api/cases/{case_id}/close-contacts"), Some(&nurse), None, None).await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        assert_eq!(listed.as_array().unwrap().len(), 5);

        // Quarantine: from the day after the last exposure, 5 days, with a follow-up plan over it.
        let (status, a) = set_status(&app, &nurse, &id(0), "quarantined").await;
        assert_eq!(status, StatusCode::OK, "{a}");
        assert_eq!((a["quarantineStart"].as_str(), a["quarantineEnd"].as_str()), (Some("2026-11-19"), Some("2026-11-23")));
        let (status, b) = set_status(&app, &nurse, &id(1), "quarantined").await;
        assert_eq!(status, StatusCode::OK, "{b}");
        assert_eq!(b["quarantineEnd"], "2026-11-24");
        let (status, plan) = call(&app, "GET", &format!("/api/contacts/{}/followup", id(0)), Some(&nurse), None, None).await;
        assert_eq!(status, StatusCode::OK, "{plan}");
        assert_eq!((plan["subjectKind"].as_str(), plan["startDate"].as_str(), plan["endDate"].as_str()), (Some("contact"), Some("2026-11-19"), Some("2026-11-23")));
        assert_eq!(plan["caseId"], Value::Null);

        // Daily reports through each contact's own link.
        let mut links = Vec::new();
        for i in [0, 1] {
            let (status, token) = call(&app, "POST", &format!("/api/contacts/{}/followup/token", id(i)), Some(&nurse), None, None).await;
            assert_eq!(status, StatusCode::CREATED, "{token}");
            links.push(token["token"].as_str().unwrap().to_string());
        }
        for day in 0..3 {
            for link in &links {
                let (status, receipt) = call(&app, "POST", "/api/followup/observations", Some(link), None,
                    Some(json!({"temperature": 36.6, "spo2": 98, "symptoms": {"cough": day == 2}}))).await;
                assert_eq!(status, StatusCode::CREATED, "{receipt}");
            }
            clock.advance_ms(86_400_000);
        }
        // Today is 2026-11-23. A low SpO2 opens an alert on the health center's worklist.
        let (status, receipt) = call(&app, "POST", "/api/followup/observations", Some(&links[1]), None, Some(json!({"spo2": 90}))).await;
        assert_eq!(status, StatusCode::CREATED, "{receipt}");
        assert_eq!(receipt["alertsOpened"], json!(["low_spo2"]));
        let (status, worklist) = call(&app, "GET", "/api/alerts", Some(&nurse), None, None).await;
        assert_eq!(status, StatusCode::OK, "{worklist}");
        let alert = worklist.as_array().unwrap().iter().find(|a| a["subjectId"] == id(1).as_str()).expect("the contact's alert");
        assert_eq!((alert["subjectKind"].as_str(), alert["kind"].as_str()), (Some("contact"), Some("low_spo2")));
        let (status, _) = call(&app, "POST", &format!("/api/alerts/{}/acknowledge", alert["id"].as_str().unwrap()), Some(&nurse), None, None).await;
        assert_eq!(status, StatusCode::OK);
        let (status, series) = call(&app, "GET", &format!("/api/contacts/{}/followup/series", id(0)), Some(&nurse), None, None).await;
        assert_eq!(status, StatusCode::OK, "{series}");
        assert_eq!(series["observations"].as_array().unwrap().len(), 3);

        // A later exposure (to the converted contact's case, below) extends B's quarantine.
        let (status, b) = call(&app, "POST", &format!("/api/contacts/{}/exposures", id(1)), Some(&nurse), None,
            Some(json!({"caseId": case_id, "date": "2026-11-22", "setting": "household"}))).await;
        assert_eq!(status, StatusCode::OK, "{b}");
        assert_eq!((b["lastExposureDate"].as_str(), b["quarantineEnd"].as_str()), (Some("2026-11-22"), Some("2026-11-27")));
        assert_eq!(b["exposures"].as_array().unwrap().len(), 2);
        let (_, plan) = call(&app, "GET", &format!("/api/contacts/{}/followup", id(1)), Some(&nurse), None, None).await;
        assert_eq!(plan["endDate"], "2026-11-27", "the follow-up runs to the new end");

        // Conversion: a positive test files the case with the person's data, linked to the source.
        let (status, conversion) = call(&app, "POST", &format!("/api/contacts/{}/convert", id(2)), Some(&nurse), None, Some(json!({
            "municipality": "Minato-ku", "resultDate": "2026-11-23", "diagnosisDate": "2026-11-23", "onsetDate": null,
            "vulnerableHousehold": false, "admitted": false, "icu": false, "ventilator": false, "ecmo": false,
            "outcome": "under treatment", "reportDate": "2026-11-23", "postMortem": false, "symptomsAtDiagnosis": [],
            "diagnosisMethod": "PCR", "specimenType": "nasopharyngeal swab", "infectionRoute": "droplet",
            "infectionArea": "domestic", "infectionConfirmed": true
        }))).await;
        assert_eq!(status, StatusCode::CREATED, "{conversion}");
        let new_case = conversion["caseId"].as_str().unwrap().to_string();
        assert_eq!(conversion["contact"]["status"], "converted");
        assert_eq!(conversion["contact"]["convertedCaseId"], new_case.as_str());
        let (status, case) = call(&app, "GET", &format!("/api/cases/{new_case}"), Some(&nurse), None, None).await;
        assert_eq!(status, StatusCode::OK, "{case}");
        assert_eq!(case["notification"]["name"], "Contact Converted");
        assert_eq!(case["notification"]["dateOfBirth"], "1990-05-01");
        assert_eq!(case["status"], "accepted");
        assert!(case["links"].as_array().unwrap().iter().any(|l| l == case_id.as_str()), "{case}");
        // A converted contact cannot be converted again or go back.
        let (status, _) = call(&app, "POST", &format!("/api/contacts/{}/convert", id(2)), Some(&nurse), None, Some(json!({}))).await;
        assert_eq!(status, StatusCode::CONFLICT);
        let (status, _) = set_status(&app, &nurse, &id(2), "quarantined").await;
        assert_eq!(status, StatusCode::CONFLICT);

        // Lost to follow-up, and refused.
        let (status, lost) = set_status(&app, &nurse, &id(3), "lost").await;
        assert_eq!((status, lost["status"].as_str()), (StatusCode::OK, Some("lost")));
        let (status, refused) = set_status(&app, &nurse, &id(4), "refused").await;
        assert_eq!((status, refused["status"].as_str()), (StatusCode::OK, Some("refused")));

        // Quarantine ends: A completes; its link stops working.
        let (status, a) = set_status(&app, &nurse, &id(0), "completed").await;
        assert_eq!((status, a["status"].as_str()), (StatusCode::OK, Some("completed")));
        let (status, _) = call(&app, "POST", "/api/followup/observations", Some(&links[0]), None, Some(json!({"spo2": 98}))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) = call(&app, "POST", "/api/followup/observations", Some(&links[1]), None, Some(json!({"spo2": 98}))).await;
        assert_eq!(status, StatusCode::CREATED, "B is still in quarantine");

        // Scope: the other health center and the clinics see nothing; the prefecture reads.
        for token in [&world.hc_worker[1], &world.doctor[0], &world.pref_worker[1], &world.hc_admin] {
            let (status, _) = call(&app, "GET", &format!("/api/contacts/{}", id(1)), Some(token), None, None).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        let (status, read) = call(&app, "GET", &format!("/api/contacts/{}", id(1)), Some(&world.pref_worker[0]), None, None).await;
        assert_eq!(status, StatusCode::OK, "{read}");
        let (status, _) = set_status(&app, &world.pref_worker[0], &id(1), "completed").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "the prefecture reads, the health center works");
    }

    async fn contacts_refuse_bad_investigations(app, clock) {
        let world = support::world(&app, &clock).await;
        let nurse = world.hc_worker[0].clone();
        let hc = world.health_center[0].clone();
        let case_id = support::file_case(&app, &nurse, &hc, "Source").await;
        let base = json!({"person": {"name": "Someone"}, "exposure": {"caseId": case_id, "date": "2026-11-18", "setting": "household"}});
        let with = |path: &[&str], value: Value| {
            let mut body = base.clone();
            let mut at = &mut body;
            for key in &path[..path.len() - 1] {
                at = &mut at[*key];
            }
            at[path[path.len() - 1]] = value;
            body
        };
        for (body, expected) in [
            (with(&["exposure", "date"], json!("2026-12-01")), StatusCode::UNPROCESSABLE_ENTITY),
            (with(&["exposure", "date"], json!("2025-01-01")), StatusCode::UNPROCESSABLE_ENTITY),
            (with(&["exposure", "setting"], json!("space")), StatusCode::BAD_REQUEST),
            (with(&["exposure", "durationMinutes"], json!(-5)), StatusCode::UNPROCESSABLE_ENTITY),
            (with(&["person", "name"], json!("  ")), StatusCode::UNPROCESSABLE_ENTITY),
            (with(&["person", "birthDate"], json!("1850-01-01")), StatusCode::UNPROCESSABLE_ENTITY),
            (with(&["healthCenterId"], json!(world.prefecture[0])), StatusCode::UNPROCESSABLE_ENTITY),
            (with(&["exposure", "caseId"], json!("00000000-0000-4000-8000-000000000000")), StatusCode::NOT_FOUND),
        ] {
            let (status, response) = call(&app, "POST", "/api/contacts", Some(&nurse), None, Some(body.clone())).await;
            assert_eq!(status, expected, "{body} → {response}");
        }
        // Only a health center investigates, and only its own cases.
        let (status, _) = call(&app, "POST", "/api/contacts", Some(&world.hc_worker[1]), None, Some(base.clone())).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = call(&app, "POST", "/api/contacts", Some(&world.pref_worker[0]), None, Some(base.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // A contact living in the other health center belongs to it.
        let (status, moved) = call(&app, "POST", "/api/contacts", Some(&nurse), None,
            Some(with(&["healthCenterId"], json!(world.health_center[1])))).await;
        assert_eq!(status, StatusCode::CREATED, "{moved}");
        let moved_id = moved["id"].as_str().unwrap();
        let (status, _) = call(&app, "GET", &format!("/api/contacts/{moved_id}"), Some(&world.hc_worker[1]), None, None).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = call(&app, "GET", &format!("/api/contacts/{moved_id}"), Some(&nurse), None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "it is the other health center's now");
        // An exposure whose quarantine is already over cannot start one.
        let (status, old) = call(&app, "POST", "/api/contacts", Some(&nurse), None, Some(with(&["exposure", "date"], json!("2026-11-01")))).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, body) = set_status(&app, &nurse, old["id"].as_str().unwrap(), "quarantined").await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("quarantine_over")), "{body}");
    }
}

flow_tests! {
    async fn corrections_keep_every_version_and_transfers_move_the_scope(app, clock) {
        let world = support::world(&app, &clock).await;
        let nurse = world.hc_worker[0].clone();
        let other_nurse = world.hc_worker[1].clone();
        let hc = world.health_center[0].clone();
        let case_id = support::file_case(&app, &nurse, &hc, "Before Correction").await;

        // A correction: the changed fields go into the history, the old version is kept.
        clock.advance_ms(1_000);
        let (status, corrected) = call(&app, "PATCH", &format!("/api/cases/{case_id}"), Some(&nurse), None,
            Some(json!({"name": "After Correction", "phone": "080-9999-0000", "reportDate": "2026-11-18"}))).await;
        assert_eq!(status, StatusCode::OK, "{corrected}");
        assert_eq!(corrected["notification"]["name"], "After Correction");
        let edit = corrected["history"].as_array().unwrap().iter().find(|e| e["kind"] == "edited").expect("edited event");
        assert_eq!(edit["detail"], "name, phone", "{edit}");
        let (status, revisions) = call(&app, "GET", &format!("/api/cases/{case_id}/revisions"), Some(&nurse), None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(revisions.as_array().unwrap().len(), 1);
        assert_eq!(revisions[0]["notification"]["name"], "Before Correction");
        assert_eq!(revisions[0]["notification"]["phone"], "090-0000-0000");
        // The search finds the new name.
        let (_, list) = call(&app, "GET", "/api/cases?q=After", Some(&nurse), None, None).await;
        assert_eq!(list["total"], 1);
        // The legal report date and the health center cannot be corrected; invalid data is 422.
        for body in [json!({"reportDate": "2026-11-19"}), json!({"healthCenterId": world.health_center[1]}),
                     json!({"diagnosisDate": "not a date"}), json!({"admitted": "perhaps"})] {
            let (status, response) = call(&app, "PATCH", &format!("/api/cases/{case_id}"), Some(&nurse), None, Some(body.clone())).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {response}");
        }
        // Only the health center works the case.
        let (status, _) = call(&app, "PATCH", &format!("/api/cases/{case_id}"), Some(&world.pref_worker[0]), None, Some(json!({"name": "X"}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = call(&app, "PATCH", &format!("/api/cases/{case_id}"), Some(&other_nurse), None, Some(json!({"name": "X"}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // A follow-up plan, then a transfer: the case, its plan and the scope move.
        let (status, _) = call(&app, "PUT", &format!("/api/cases/{case_id}/followup"), Some(&nurse), None, Some(json!({}))).await;
        assert_eq!(status, StatusCode::OK);
        let (status, moved) = call(&app, "POST", &format!("/api/cases/{case_id}/transfer"), Some(&nurse), None,
            Some(json!({"healthCenterId": world.health_center[1]}))).await;
        assert_eq!(status, StatusCode::OK, "{moved}");
        assert_eq!((moved["healthCenterId"].as_str(), moved["prefectureId"].as_str()), (Some(world.health_center[1].as_str()), Some(world.prefecture[1].as_str())));
        let (status, _) = call(&app, "GET", &format!("/api/cases/{case_id}"), Some(&nurse), None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "the sender's scope ends");
        let (status, case) = call(&app, "GET", &format!("/api/cases/{case_id}"), Some(&other_nurse), None, None).await;
        assert_eq!(status, StatusCode::OK, "{case}");
        let transfer = case["history"].as_array().unwrap().iter().find(|e| e["kind"] == "transferred").expect("transferred event");
        assert_eq!(transfer["detail"], format!("{} → {}", world.health_center[0], world.health_center[1]));
        let (status, plan) = call(&app, "GET", &format!("/api/cases/{case_id}/followup"), Some(&other_nurse), None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(plan["organizationId"], world.health_center[1].as_str());
        let (status, _) = call(&app, "POST", &format!("/api/cases/{case_id}/transfer"), Some(&other_nurse), None,
            Some(json!({"healthCenterId": world.health_center[1]}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "already there");

        // A contact moves to the health center of the new residence.
        let source = support::file_case(&app, &nurse, &hc, "Source").await;
        let contact = investigate(&app, &nurse, &source, &hc, "Moving Contact", "2026-11-19", "household").await;
        let contact_id = contact["id"].as_str().unwrap();
        let (status, moved) = call(&app, "POST", &format!("/api/contacts/{contact_id}/transfer"), Some(&nurse), None,
            Some(json!({"healthCenterId": world.health_center[1]}))).await;
        assert_eq!(status, StatusCode::OK, "{moved}");
        let (status, _) = call(&app, "GET", &format!("/api/contacts/{contact_id}"), Some(&nurse), None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, read) = call(&app, "GET", &format!("/api/contacts/{contact_id}"), Some(&other_nurse), None, None).await;
        assert_eq!((status, read["healthCenterId"].as_str()), (StatusCode::OK, Some(world.health_center[1].as_str())));
    }
}

flow_tests! {
    async fn a_cluster_shows_its_members_counts_and_transmission_graph(app, clock) {
        let world = support::world(&app, &clock).await;
        let nurse = world.hc_worker[0].clone();
        let hc = world.health_center[0].clone();
        let first = support::file_case(&app, &nurse, &hc, "Resident One").await;
        let second = support::file_case(&app, &nurse, &hc, "Resident Two").await;
        let (status, _) = call(&app, "POST", &format!("/api/cases/{second}/links"), Some(&nurse), None, Some(json!({"caseId": first}))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let staff_member = investigate(&app, &nurse, &first, &hc, "Care Worker", "2026-11-19", "care_facility").await;
        let visitor = investigate(&app, &nurse, &first, &hc, "Visitor", "2026-11-18", "care_facility").await;
        let (staff_id, visitor_id) = (staff_member["id"].as_str().unwrap(), visitor["id"].as_str().unwrap());
        let (status, _) = set_status(&app, &nurse, staff_id, "quarantined").await;
        assert_eq!(status, StatusCode::OK);
        let (status, conversion) = call(&app, "POST", &format!("/api/contacts/{visitor_id}/convert"), Some(&nurse), None, Some(json!({
            "municipality": "Minato-ku", "resultDate": "2026-11-20", "diagnosisDate": "2026-11-20", "onsetDate": null,
            "vulnerableHousehold": false, "admitted": false, "icu": false, "ventilator": false, "ecmo": false,
            "outcome": "under treatment", "reportDate": "2026-11-20", "postMortem": false, "symptomsAtDiagnosis": [],
            "diagnosisMethod": "PCR", "specimenType": "swab", "infectionRoute": "droplet", "infectionArea": "domestic",
            "infectionConfirmed": true
        }))).await;
        assert_eq!(status, StatusCode::CREATED, "{conversion}");
        let third = conversion["caseId"].as_str().unwrap().to_string();

        let (status, cluster) = call(&app, "POST", "/api/clusters", Some(&nurse), None,
            Some(json!({"name": "Sakura Nursing Home", "setting": "care_facility", "firstDate": "2026-11-16"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{cluster}");
        let cluster_id = cluster["id"].as_str().unwrap().to_string();
        for (kind, id) in [("case", first.as_str()), ("case", second.as_str()), ("case", third.as_str()),
                           ("contact", staff_id), ("contact", visitor_id), ("case", first.as_str())] {
            let (status, body) = call(&app, "POST", &format!("/api/clusters/{cluster_id}/members"), Some(&nurse), None,
                Some(json!({"kind": kind, "id": id}))).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let (status, cluster) = call(&app, "GET", &format!("/api/clusters/{cluster_id}"), Some(&nurse), None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(cluster["counts"], json!({"cases": 3, "contacts": 2, "converted": 1, "quarantined": 1}), "{cluster}");
        assert_eq!(cluster["members"].as_array().unwrap().len(), 5, "adding twice changes nothing");

        let (status, graph) = call(&app, "GET", &format!("/api/clusters/{cluster_id}/graph"), Some(&nurse), None, None).await;
        assert_eq!(status, StatusCode::OK, "{graph}");
        let edges: Vec<(String, String, String)> = graph["edges"].as_array().unwrap().iter()
            .map(|e| (e["kind"].as_str().unwrap().into(), e["from"].as_str().unwrap().into(), e["to"].as_str().unwrap().into()))
            .collect();
        let has = |kind: &str, from: &str, to: &str| edges.iter().any(|(k, f, t)| k == kind && f == from && t == to);
        assert!(has("link", &second, &first), "{edges:?}");
        assert!(has("link", &third, &first), "the conversion linked the new case: {edges:?}");
        assert!(has("exposure", &first, staff_id) && has("exposure", &first, visitor_id), "{edges:?}");
        assert!(has("became", visitor_id, &third), "{edges:?}");
        assert_eq!(edges.len(), 5, "{edges:?}");
        let response = app.client.get(app.url(&format!("/api/clusters/{cluster_id}/graph.svg"))).bearer_auth(&nurse).send().await.unwrap();
        assert_eq!(response.headers()["content-type"], "image/svg+xml");
        let svg = response.text().await.unwrap();
        assert_eq!(svg.matches("<rect").count(), 5);
        assert_eq!(svg.matches("<line").count(), 5);

        // The health center's list; the prefecture reads; others see nothing.
        let (status, list) = call(&app, "GET", "/api/clusters", Some(&nurse), None, None).await;
        assert_eq!((status, list.as_array().unwrap().len()), (StatusCode::OK, 1));
        let (status, _) = call(&app, "GET", &format!("/api/clusters/{cluster_id}"), Some(&world.pref_worker[0]), None, None).await;
        assert_eq!(status, StatusCode::OK);
        for token in [&world.hc_worker[1], &world.doctor[0], &world.pref_worker[1]] {
            let (status, _) = call(&app, "GET", &format!("/api/clusters/{cluster_id}/graph"), Some(token), None, None).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        // Only members the caller works on can be added.
        let other = support::file_case(&app, &world.hc_worker[1], &world.health_center[1], "Elsewhere").await;
        let (status, _) = call(&app, "POST", &format!("/api/clusters/{cluster_id}/members"), Some(&nurse), None,
            Some(json!({"kind": "case", "id": other}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

flow_tests! {
    async fn repeat_tests_are_records_of_their_own_in_the_case_history(app, clock) {
        let world = support::world(&app, &clock).await;
        let nurse = world.hc_worker[0].clone();
        let hc = world.health_center[0].clone();
        let case_id = support::file_case(&app, &nurse, &hc, "Tested Twice").await;
        let tests = format!("/api/cases/{case_id}/tests");

        // A negative PCR with its result, then a pending antigen test.
        let (status, pcr) = call(&app, "POST", &tests, Some(&nurse), None, Some(json!({
            "specimen": "saliva", "collectedOn": "2026-11-19", "method": "pcr", "laboratory": "Minato Lab",
            "result": "negative", "resultOn": "2026-11-20"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{pcr}");
        assert!(pcr["recordedBy"].as_str().unwrap().starts_with("user:"), "{pcr}");
        let (status, antigen) = call(&app, "POST", &tests, Some(&nurse), None, Some(json!({
            "specimen": "nasal_swab", "collectedOn": "2026-11-18", "method": "antigen_quantitative", "result": "pending"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{antigen}");
        let antigen_id = antigen["id"].as_str().unwrap();

        // Listed by collection day; the case's history holds both, without the laboratory.
        let (status, listed) = call(&app, "GET", &tests, Some(&world.pref_worker[0]), None, None).await;
        assert_eq!(status, StatusCode::OK, "the prefecture reads them");
        let days: Vec<&str> = listed.as_array().unwrap().iter().map(|t| t["collectedOn"].as_str().unwrap()).collect();
        assert_eq!(days, ["2026-11-18", "2026-11-19"]);
        let (_, case) = call(&app, "GET", &format!("/api/cases/{case_id}"), Some(&nurse), None, None).await;
        let events: Vec<&str> = case["history"].as_array().unwrap().iter()
            .filter(|e| e["kind"] == "lab_test").map(|e| e["detail"].as_str().unwrap()).collect();
        assert_eq!(events, ["pcr saliva 2026-11-19: negative", "antigen_quantitative nasal_swab 2026-11-18: pending"]);

        // The pending result arrives once.
        let result = format!("{tests}/{antigen_id}/result");
        let (status, entered) = call(&app, "POST", &result, Some(&nurse), None,
            Some(json!({"result": "positive", "resultOn": "2026-11-19", "laboratory": "Clinic A"}))).await;
        assert_eq!(status, StatusCode::OK, "{entered}");
        assert_eq!((entered["result"].as_str(), entered["laboratory"].as_str()), (Some("positive"), Some("Clinic A")));
        let (status, again) = call(&app, "POST", &result, Some(&nurse), None,
            Some(json!({"result": "negative", "resultOn": "2026-11-19"}))).await;
        assert_eq!((status, again["code"].as_str()), (StatusCode::CONFLICT, Some("result_known")));
        let (_, case) = call(&app, "GET", &format!("/api/cases/{case_id}"), Some(&nurse), None, None).await;
        assert!(case["history"].as_array().unwrap().iter()
            .any(|e| e["detail"] == "antigen_quantitative nasal_swab 2026-11-18: positive"), "{case}");

        // Bad input is 422, others' cases 404, the prefecture may not record.
        for body in [
            json!({"specimen": "saliva", "collectedOn": "2099-01-01", "method": "pcr", "result": "pending"}),
            json!({"specimen": "saliva", "collectedOn": "2026-11-19", "method": "pcr", "result": "positive"}),
            json!({"specimen": "saliva", "collectedOn": "2026-11-19", "method": "pcr", "result": "positive", "resultOn": "2026-11-01"}),
            json!({"specimen": "saliva", "collectedOn": "2026-11-19", "method": "pcr", "result": "pending", "resultOn": "2026-11-19"}),
        ] {
            let (status, response) = call(&app, "POST", &tests, Some(&nurse), None, Some(body.clone())).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {response}");
        }
        let (status, _) = call(&app, "POST", &tests, Some(&nurse), None, Some(json!({"specimen": "hair", "collectedOn": "2026-11-19", "method": "pcr", "result": "pending"}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "an unknown specimen");
        let (status, _) = call(&app, "GET", &tests, Some(&world.hc_worker[1]), None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = call(&app, "POST", &tests, Some(&world.pref_worker[0]), None, Some(json!({
            "specimen": "saliva", "collectedOn": "2026-11-19", "method": "pcr", "result": "pending"}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = call(&app, "POST", &format!("{tests}/no-such-test/result"), Some(&nurse), None,
            Some(json!({"result": "positive", "resultOn": "2026-11-19"}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
