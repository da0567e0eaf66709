//! Duplicate persons, over real HTTP on SQLite and PostgreSQL: a clinic and the health
//! center notify the same patient, two investigations record the same contact, twins share a
//! landline, and a contact is the same person as a case. The queue shows the candidates (not
//! a stranger born the same day); the twins are dismissed; the contacts are merged (the
//! exposures end on the kept one, the merged one answers `mergedInto`); the cases are merged
//! (the case list and the statistics count the person once, both histories and the audit
//! log record it); a case and a contact are not merged. Scope: the health center decides,
//! its prefecture reads, nobody else learns anything.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;

use std::sync::Arc;

use mimamori::services::cases::mimamori_cases::CaseRegistry;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::call;

/// Exact small counts in statistics.
fn settings(settings: &mut mimamori::config::Settings) {
    settings.cases.statistics_minimum_count = 1;
}

/// Files a case for the first health center as `token` with the person's details.
async fn file(
    app: &mimamori_tests::TestApp,
    token: &str,
    health_center: &str,
    (name, kana, birth, phone): (&str, &str, &str, &str),
) -> String {
    let mut notification = support::notification(health_center, name);
    notification["kana"] = json!(kana);
    notification["dateOfBirth"] = json!(birth);
    notification["phone"] = json!(phone);
    let (status, body) = call(
        app,
        "POST",
        "/api/cases",
        Some(token),
        None,
        Some(notification),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["mergedInto"], Value::Null);
    body["id"].as_str().unwrap().to_string()
}

/// Records a close contact exposed to `case_id` on `date`.
async fn contact(
    app: &mimamori_tests::TestApp,
    nurse: &str,
    case_id: &str,
    date: &str,
    (name, kana, birth, phone): (&str, &str, &str, &str),
) -> String {
    let (status, body) = call(
        app,
        "POST",
        "/api/contacts",
        Some(nurse),
        None,
        Some(json!({
            "person": {"name": name, "kana": kana, "birthDate": birth, "phones": [phone]},
            "exposure": {"caseId": case_id, "date": date, "setting": "household"}
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_string()
}

/// The open pairs `token` sees, as sorted (id, id) of their persons.
async fn queue(app: &mimamori_tests::TestApp, token: &str) -> (Vec<(String, String)>, Value) {
    let (status, body) = call(app, "GET", "/api/duplicates", Some(token), None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut pairs: Vec<(String, String)> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let mut ids = [
                p["first"]["id"].as_str().unwrap().to_string(),
                p["second"]["id"].as_str().unwrap().to_string(),
            ];
            ids.sort();
            (ids[0].clone(), ids[1].clone())
        })
        .collect();
    pairs.sort();
    (pairs, body)
}

fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.into(), b.into())
    } else {
        (b.into(), a.into())
    }
}

/// The id of the listed pair of `a` and `b`.
fn pair_id(listed: &Value, a: &str, b: &str) -> String {
    listed
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            let ids = [
                p["first"]["id"].as_str().unwrap(),
                p["second"]["id"].as_str().unwrap(),
            ];
            ids.contains(&a) && ids.contains(&b)
        })
        .unwrap_or_else(|| panic!("no pair of {a} and {b} in {listed}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn new_cases(app: &mimamori_tests::TestApp, viewer: &str, health_center: &str) -> i64 {
    let (status, body) = call(
        app,
        "GET",
        "/api/statistics/tables/new_cases?from=2026-11-01&to=2026-11-30",
        Some(viewer),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["healthCenterId"] == health_center)
        .map(|r| r["count"].as_i64().unwrap())
        .sum()
}

async fn case_total(app: &mimamori_tests::TestApp, token: &str) -> i64 {
    let (status, body) = call(
        app,
        "GET",
        "/api/cases?perPage=100",
        Some(token),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["total"].as_i64().unwrap()
}

flow_tests_with! { settings;
    async fn duplicates_are_found_reviewed_and_merged_without_losing_a_record(app, clock) {
        let world = support::world(&app, &clock).await;
        let nurse = world.hc_worker[0].clone();
        let hc = world.health_center[0].clone();

        // The health center and a clinic notify the same patient, written differently.
        let a = file(&app, &nurse, &hc, ("山田 太郎", "ヤマダ タロウ", "1980-04-01", "090-1234-5678")).await;
        let b = file(&app, &world.doctor[0], &hc, ("山田太郎", "やまだ たろう", "1980-04-01", "+81 90 1234 5678")).await;
        // A stranger born the same day.
        let c = file(&app, &nurse, &hc, ("鈴木 花子", "スズキ ハナコ", "1980-04-01", "080-9999-0000")).await;
        // Twins sharing a landline.
        let d = file(&app, &nurse, &hc, ("佐藤 一郎", "サトウ イチロウ", "1975-01-01", "03-1111-2222")).await;
        let e = file(&app, &nurse, &hc, ("佐藤 二郎", "サトウ ジロウ", "1975-01-01", "03-1111-2222")).await;
        // One contact recorded by two investigations, and a contact who is case A's patient.
        let x = contact(&app, &nurse, &c, "2026-11-18", ("田中 次郎", "タナカ ジロウ", "1990-05-01", "090-5555-6666")).await;
        let y = contact(&app, &nurse, &d, "2026-11-19", ("田中次郎", "たなか じろう", "1990-05-01", "09055556666")).await;
        let z = contact(&app, &nurse, &c, "2026-11-19", ("山田 太郎", "ヤマダ タロウ", "1980-04-01", "090-1234-5678")).await;

        let (pairs, listed) = queue(&app, &nurse).await;
        let mut expected = vec![pair(&a, &b), pair(&d, &e), pair(&x, &y), pair(&a, &z), pair(&b, &z)];
        expected.sort();
        assert_eq!(pairs, expected, "{listed}");
        let ab = pair_id(&listed, &a, &b);
        let de = pair_id(&listed, &d, &e);
        let xy = pair_id(&listed, &x, &y);
        let az = pair_id(&listed, &a, &z);
        let shown = listed.as_array().unwrap().iter().find(|p| p["id"] == ab.as_str()).unwrap();
        assert_eq!(shown["score"], 100, "{shown}");
        assert_eq!(shown["reasons"], json!(["same_birth_date", "same_kana", "same_phone"]));
        assert_eq!(shown["state"], "open");
        let names = [shown["first"]["name"].as_str().unwrap(), shown["second"]["name"].as_str().unwrap()];
        assert!(names.contains(&"山田 太郎") && names.contains(&"山田太郎"), "{shown}");
        assert_eq!(shown["first"]["kind"], "case");

        // Who sees the queue: the health center and its prefecture; nobody else.
        assert_eq!(queue(&app, &world.pref_worker[0]).await.0, expected);
        assert!(queue(&app, &world.pref_worker[1]).await.0.is_empty());
        assert!(queue(&app, &world.hc_worker[1]).await.0.is_empty());
        for token in [&world.doctor[0], &world.hc_admin, &world.national_stats] {
            let (status, body) = call(&app, "GET", "/api/duplicates", Some(token), None, None).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        }
        let (status, _) = call(&app, "GET", "/api/duplicates", None, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // The twins are not the same person. Only the health center decides.
        let dismiss = format!("/api/duplicates/{de}/dismiss");
        let (status, _) = call(&app, "POST", &dismiss, Some(&world.pref_worker[0]), None, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a prefecture reads, does not decide");
        for token in [&world.hc_worker[1], &world.pref_worker[1], &world.doctor[0], &world.hc_admin] {
            let (status, _) = call(&app, "POST", &dismiss, Some(token), None, None).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        let (status, dismissed) = call(&app, "POST", &dismiss, Some(&nurse), None, None).await;
        assert_eq!(status, StatusCode::OK, "{dismissed}");
        assert_eq!(dismissed["state"], "dismissed");
        let (status, again) = call(&app, "POST", &dismiss, Some(&nurse), None, None).await;
        assert_eq!((status, again["code"].as_str()), (StatusCode::CONFLICT, Some("pair_closed")));
        let (_, twin) = call(&app, "GET", &format!("/api/cases/{d}"), Some(&nurse), None, None).await;
        assert!(twin["history"].as_array().unwrap().iter().any(|h| h["kind"] == "duplicate_dismissed"), "{twin}");
        // A correction detects again, and a dismissed pair stays dismissed.
        let (status, _) = call(&app, "PATCH", &format!("/api/cases/{e}"), Some(&nurse), None, Some(json!({"municipality": "Shibuya-ku"}))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!queue(&app, &nurse).await.0.contains(&pair(&d, &e)));

        // Unknown ids and U+0000 are 404; a bad body is 400/422, never 500.
        for path in ["/api/duplicates/nope/merge", "/api/duplicates/%00/merge", "/api/duplicates/a%00b/dismiss"] {
            let (status, body) = call(&app, "POST", path, Some(&nurse), None, Some(json!({"keep": a}))).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        }
        let merge = |id: &str| format!("/api/duplicates/{id}/merge");
        for body in [json!({}), json!({"keep": 5}), json!({"keep": a, "extra": 1}), json!("x")] {
            let (status, answer) = call(&app, "POST", &merge(&ab), Some(&nurse), None, Some(body.clone())).await;
            assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY, "{body}: {status} {answer}");
        }
        for keep in [c.as_str(), "a\u{0}b", ""] {
            let (status, answer) = call(&app, "POST", &merge(&ab), Some(&nurse), None, Some(json!({"keep": keep}))).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{keep:?}: {answer}");
        }

        // A case and a contact are not merged: the contact became the case.
        let (status, refused) = call(&app, "POST", &merge(&az), Some(&nurse), None, Some(json!({"keep": a}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert!(refused["details"][0]["message"].as_str().unwrap().contains(&format!("/api/contacts/{z}/convert")), "{refused}");

        // The contacts merge: the exposures end on the kept one.
        let (status, _) = call(&app, "POST", &merge(&xy), Some(&world.pref_worker[0]), None, Some(json!({"keep": x}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, merged) = call(&app, "POST", &merge(&xy), Some(&nurse), None, Some(json!({"keep": x}))).await;
        assert_eq!(status, StatusCode::OK, "{merged}");
        assert_eq!((merged["state"].as_str(), merged["keptId"].as_str()), (Some("merged"), Some(x.as_str())));
        let (_, kept) = call(&app, "GET", &format!("/api/contacts/{x}"), Some(&nurse), None, None).await;
        let cases: Vec<&str> = kept["exposures"].as_array().unwrap().iter().map(|e| e["caseId"].as_str().unwrap()).collect();
        assert_eq!(cases, [c.as_str(), d.as_str()], "{kept}");
        assert_eq!(kept["lastExposureDate"], "2026-11-19");
        assert_eq!(kept["mergedInto"], Value::Null);
        let (status, gone) = call(&app, "GET", &format!("/api/contacts/{y}"), Some(&nurse), None, None).await;
        assert_eq!(status, StatusCode::OK, "the merged contact is still there");
        assert_eq!(gone["mergedInto"], x.as_str());
        assert_eq!(gone["exposures"], json!([]));
        let (_, of_d) = call(&app, "GET", &format!("/api/cases/{d}/close-contacts"), Some(&nurse), None, None).await;
        let ids: Vec<&str> = of_d.as_array().unwrap().iter().map(|k| k["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [x.as_str()], "{of_d}");

        // The cases merge: the person counts once.
        let total = case_total(&app, &nurse).await;
        let count = new_cases(&app, &world.national_stats, &hc).await;
        assert_eq!((total, count), (5, 5));
        let (status, _) = call(&app, "POST", &merge(&ab), Some(&world.pref_worker[0]), None, Some(json!({"keep": a}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = call(&app, "POST", &merge(&ab), Some(&world.hc_worker[1]), None, Some(json!({"keep": a}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, merged) = call(&app, "POST", &merge(&ab), Some(&nurse), None, Some(json!({"keep": a}))).await;
        assert_eq!(status, StatusCode::OK, "{merged}");
        assert_eq!(merged["keptId"], a.as_str());
        let (status, again) = call(&app, "POST", &merge(&ab), Some(&nurse), None, Some(json!({"keep": a}))).await;
        assert_eq!((status, again["code"].as_str()), (StatusCode::CONFLICT, Some("pair_closed")));
        assert_eq!(case_total(&app, &nurse).await, total - 1);
        assert_eq!(new_cases(&app, &world.national_stats, &hc).await, count - 1);
        let (_, summary) = call(&app, "GET", "/api/statistics/cases", Some(&world.national_stats), None, None).await;
        assert_eq!(summary["total"], 4, "{summary}");
        let (status, duplicate) = call(&app, "GET", &format!("/api/cases/{b}"), Some(&world.doctor[0]), None, None).await;
        assert_eq!(status, StatusCode::OK, "the clinic still reads what it filed");
        assert_eq!(duplicate["mergedInto"], a.as_str());
        assert!(duplicate["history"].as_array().unwrap().iter().any(|h| h["kind"] == "merged_into" && h["detail"].as_str().unwrap().contains(&a)), "{duplicate}");
        let (_, kept) = call(&app, "GET", &format!("/api/cases/{a}"), Some(&nurse), None, None).await;
        assert!(kept["history"].as_array().unwrap().iter().any(|h| h["kind"] == "merged_from"), "{kept}");
        assert_eq!(kept["mergedInto"], Value::Null);

        // What is left: the case and the contact of the same person (B's pair went with B).
        let (pairs, _) = queue(&app, &nurse).await;
        assert_eq!(pairs, [pair(&a, &z)]);
        let (status, report) = call(&app, "POST", "/api/duplicates/scan", Some(&nurse), None, None).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report, json!({"persons": 6, "openPairs": 1}), "A, C, D, E, X, Z");
        for token in [&world.pref_worker[0], &world.doctor[0], &world.hc_admin] {
            let (status, _) = call(&app, "POST", "/api/duplicates/scan", Some(token), None, None).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
        }

        // The audit log has every decision.
        let registry = CaseRegistry::new(app.database.database.clone(), Default::default(), Arc::new(clock.clone()));
        let entries = registry.store().audit_entries(0, 10_000).await.unwrap();
        let actions = |action: &str| entries.iter().filter(|e| e.action == action).map(|e| e.target.clone()).collect::<Vec<_>>();
        assert_eq!(actions("duplicate.dismiss").len(), 1);
        let merges = actions("duplicate.merge");
        assert_eq!(merges.len(), 2, "{merges:?}");
        assert_eq!(merges[0], format!("duplicate:{xy} kept:contact:{x} merged:contact:{y}"));
        assert_eq!(merges[1], format!("duplicate:{ab} kept:case:{a} merged:case:{b}"));
        assert_eq!(actions("duplicate.scan").len(), 1);
        assert_eq!(registry.verify_audit().await.unwrap(), Ok(entries.len()));
    }

    async fn a_converted_contact_is_no_duplicate_of_its_case(app, clock) {
        let world = support::world(&app, &clock).await;
        let nurse = world.hc_worker[0].clone();
        let hc = world.health_center[0].clone();
        let source = file(&app, &nurse, &hc, ("高橋 三郎", "タカハシ サブロウ", "1960-02-02", "090-7777-8888")).await;
        let k = contact(&app, &nurse, &source, "2026-11-18", ("伊藤 四郎", "イトウ シロウ", "1985-03-03", "080-3333-4444")).await;
        let (status, conversion) = call(&app, "POST", &format!("/api/contacts/{k}/convert"), Some(&nurse), None, Some(json!({
            "municipality": "Minato-ku", "resultDate": "2026-11-19", "diagnosisDate": "2026-11-19", "onsetDate": null,
            "vulnerableHousehold": false, "admitted": false, "icu": false, "ventilator": false, "ecmo": false,
            "outcome": "under treatment", "reportDate": "2026-11-19", "postMortem": false, "symptomsAtDiagnosis": [],
            "diagnosisMethod": "PCR", "specimenType": "nasopharyngeal swab", "infectionRoute": "droplet",
            "infectionArea": "domestic", "infectionConfirmed": true
        }))).await;
        assert_eq!(status, StatusCode::CREATED, "{conversion}");
        assert!(queue(&app, &nurse).await.0.is_empty(), "the conversion links them");
        let (status, report) = call(&app, "POST", "/api/duplicates/scan", Some(&nurse), None, None).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["openPairs"], 0);
        // A clinic then notifies the same patient: that case is a duplicate of the converted one.
        let again = file(&app, &world.doctor[0], &hc, ("伊藤四郎", "いとう しろう", "1985-03-03", "08033334444")).await;
        let (pairs, _) = queue(&app, &nurse).await;
        assert_eq!(pairs, [pair(conversion["caseId"].as_str().unwrap(), &again)]);
    }
}
