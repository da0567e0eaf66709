//! End-to-end tests of health follow-up over real HTTP, on SQLite and PostgreSQL: ten days of
//! patient reports through the link token, a falling SpO2 alert worked through its states, the
//! series and chart, the token's end; the missed-report check at its cut-off (manual clock);
//! a contractor's delegated scope.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use mimamori::services::cases::mimamori_cases::CaseRegistry;
use mimamori_storage::ManualClock;
use mimamori_tests::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::call;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// A registry on the server's database with the test settings, changed by `adjust`: what the
/// periodic job runs, driven by the test's clock.
fn registry(
    app: &TestApp,
    clock: &ManualClock,
    adjust: impl FnOnce(&mut mimamori::config::Settings),
) -> CaseRegistry {
    let mut settings = mimamori::config::Settings::default();
    support::settings(&mut settings);
    adjust(&mut settings);
    CaseRegistry::new(
        app.database.database.clone(),
        settings.cases,
        Arc::new(clock.clone()),
    )
}

/// Sets a ten-day plan (2026-11-20 … 2026-11-29) on a new case of health center 1, as its
/// case worker, optionally delegated; returns the case id.
async fn case_with_plan(
    app: &TestApp,
    world: &support::World,
    name: &str,
    delegate_to: Option<&str>,
) -> String {
    let id = support::file_case(app, &world.hc_worker[0], &world.health_center[0], name).await;
    let mut plan = json!({"startDate": "2026-11-20", "endDate": "2026-11-29", "reportingTimes": ["17:00", "09:00"]});
    if let Some(org) = delegate_to {
        plan["organizationId"] = json!(org);
    }
    let (status, body) = call(
        app,
        "PUT",
        &format!("/api/cases/{id}/followup"),
        Some(&world.hc_worker[0]),
        None,
        Some(plan),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["reportingTimes"], json!(["09:00", "17:00"]));
    assert_eq!(body["delegated"], json!(delegate_to.is_some()));
    id
}

async fn link_token(app: &TestApp, token: &str, case_id: &str) -> String {
    let (status, body) = call(
        app,
        "POST",
        &format!("/api/cases/{case_id}/followup/token"),
        Some(token),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("mfu_"));
    token
}

async fn report(app: &TestApp, link: &str, body: Value) -> (StatusCode, Value) {
    call(
        app,
        "POST",
        "/api/followup/observations",
        Some(link),
        None,
        Some(body),
    )
    .await
}

async fn svg(app: &TestApp, token: &str, case_id: &str) -> (StatusCode, String, String) {
    let response = app
        .client
        .get(app.url(&format!("/api/cases/{case_id}/followup/chart.svg")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// Sessions that outlive the follow-up days the clock jumps over.
fn long_sessions(settings: &mut mimamori::config::Settings) {
    settings.cases.session_ttl_seconds = 60 * 86_400;
}

flow_tests_with! { long_sessions;
    async fn plans_refuse_absurd_dates(app, clock) {
        let world = support::world(&app, &clock).await;
        let id = support::file_case(&app, &world.hc_worker[0], &world.health_center[0], "Date Check").await;
        for start in ["1899-12-31", "9999-01-01", "2024-11-20", "2026-02-30"] {
            let (status, body) = call(&app, "PUT", &format!("/api/cases/{id}/followup"), Some(&world.hc_worker[0]), None,
                Some(json!({"startDate": start}))).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{start}: {body}");
            assert_eq!(body["details"][0]["field"], "startDate", "{body}");
        }
        let (status, body) = call(&app, "PUT", &format!("/api/cases/{id}/followup"), Some(&world.hc_worker[0]), None,
            Some(json!({"startDate": "2026-11-20"}))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    async fn ten_days_of_reports_a_falling_spo2_alert_and_the_end_of_the_plan(app, clock) {
        let world = support::world(&app, &clock).await;
        let nurse = &world.hc_worker[0];
        let case_id = case_with_plan(&app, &world, "Followed Patient", None).await;
        let link = link_token(&app, nurse, &case_id).await;

        // Impossible values and bad tokens are refused with a clear error.
        let (status, body) = report(&app, &link, json!({"temperature": 46.0, "spo2": 97})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["code"], "validation_failed");
        assert_eq!(body["details"][0]["field"], "temperature");
        let (status, body) = report(&app, &link, json!({"temperature": 36.5, "spo2": 49})).await;
        assert_eq!((status, body["details"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("spo2")));
        let (status, body) = report(&app, &link, json!({"temperature": "hot"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, body) = report(&app, "mfu_forged", json!({"spo2": 97})).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));
        let (status, _) = call(&app, "POST", "/api/followup/observations", None, None, Some(json!({"spo2": 97}))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Ten days, one report a day at 10:00 local; SpO2 falls to 93 on day 7.
        let spo2 = [98, 98, 97, 97, 96, 96, 95, 93, 95, 96];
        for (day, spo2) in spo2.into_iter().enumerate() {
            clock.set_ms(support::T0_MS + day as i64 * DAY_MS + HOUR_MS);
            let (status, body) = report(&app, &link, json!({
                "temperature": 36.6 + day as f64 / 10.0,
                "spo2": spo2,
                "pulse": 80,
                "symptoms": {"cough": day < 3, "fatigue": true},
                "note": "family member entered this"
            })).await;
            assert_eq!(status, StatusCode::CREATED, "day {day}: {body}");
            assert_eq!(body["day"], format!("2026-11-{}", 20 + day));
            if day == 7 {
                assert_eq!(body["alertsOpened"], json!(["low_spo2"]), "{body}");
                let (status, worklist) = call(&app, "GET", "/api/alerts", Some(nurse), None, None).await;
                assert_eq!(status, StatusCode::OK, "{worklist}");
                let alert = &worklist[0];
                assert_eq!((alert["kind"].as_str(), alert["severity"].as_str(), alert["state"].as_str()),
                    (Some("low_spo2"), Some("high"), Some("open")), "{worklist}");
                assert_eq!(alert["caseId"], case_id.as_str());
                let alert_id = alert["id"].as_str().unwrap().to_string();
                assert_eq!(metric(&app, "mimamori_followup_open_alerts{severity=\"high\"}").await, 1);
                assert_eq!(metric(&app, "mimamori_followup_alerts_opened_total{kind=\"low_spo2\"}").await, 1);
                assert_eq!(metric(&app, "mimamori_followup_observations_total{source=\"link\"}").await, 8);
                // Another health center does not see it.
                let (_, other) = call(&app, "GET", "/api/alerts", Some(&world.hc_worker[1]), None, None).await;
                assert_eq!(other, json!([]));
                let (status, _) = call(&app, "POST", &format!("/api/alerts/{alert_id}/acknowledge"), Some(&world.hc_worker[1]), None, None).await;
                assert_eq!(status, StatusCode::NOT_FOUND);
                // The nurse acknowledges, then resolves.
                clock.advance_ms(60_000);
                let (status, acked) = call(&app, "POST", &format!("/api/alerts/{alert_id}/acknowledge"), Some(nurse), None, None).await;
                assert_eq!(status, StatusCode::OK, "{acked}");
                assert_eq!(acked["state"], "acknowledged");
                assert!(acked["acknowledgedBy"].as_str().unwrap().starts_with("user:"));
                assert_eq!(acked["acknowledgedAtMs"], support::T0_MS + 7 * DAY_MS + HOUR_MS + 60_000);
                let (status, _) = call(&app, "POST", &format!("/api/alerts/{alert_id}/acknowledge"), Some(nurse), None, None).await;
                assert_eq!(status, StatusCode::CONFLICT);
                let (status, resolved) = call(&app, "POST", &format!("/api/alerts/{alert_id}/resolve"), Some(nurse), None, None).await;
                assert_eq!(status, StatusCode::OK, "{resolved}");
                assert_eq!(resolved["state"], "resolved");
                let (_, worklist) = call(&app, "GET", "/api/alerts", Some(nurse), None, None).await;
                assert_eq!(worklist, json!([]));
                assert_eq!(metric(&app, "mimamori_followup_open_alerts{severity=\"high\"}").await, 0);
                let (_, done) = call(&app, "GET", "/api/alerts?state=resolved", Some(nurse), None, None).await;
                assert_eq!(done.as_array().unwrap().len(), 1);
                let (status, _) = call(&app, "GET", "/api/alerts?state=bogus", Some(nurse), None, None).await;
                assert_eq!(status, StatusCode::BAD_REQUEST);
            } else {
                assert_eq!(body["alertsOpened"], json!([]), "day {day}: {body}");
            }
        }
        // A nurse records one on the patient's behalf (marked as proxy).
        let (status, body) = call(&app, "POST", &format!("/api/cases/{case_id}/observations"), Some(nurse), None,
            Some(json!({"temperature": 36.4, "spo2": 97}))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, _) = call(&app, "POST", &format!("/api/cases/{case_id}/observations"), Some(nurse), None,
            Some(json!({"temperature": 29.0}))).await;
        assert_eq!(metric(&app, "mimamori_followup_observations_total{source=\"proxy\"}").await, 1);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        // The series and the chart show the data.
        let (status, series) = call(&app, "GET", &format!("/api/cases/{case_id}/followup/series"), Some(nurse), None, None).await;
        assert_eq!(status, StatusCode::OK, "{series}");
        let days = series["days"].as_array().unwrap();
        assert_eq!(days.len(), 10);
        assert_eq!(days[0]["date"], "2026-11-20");
        assert_eq!(days[7]["minSpo2"], 93);
        assert_eq!(days[9]["reports"], 2);
        assert_eq!(days[9]["minSpo2"], 96);
        assert_eq!(days[3]["maxTemperature"], 36.9);
        let observations = series["observations"].as_array().unwrap();
        assert_eq!(observations.len(), 11);
        assert_eq!(observations.iter().filter(|o| o["proxy"] == true).count(), 1);
        assert_eq!(observations[0]["symptoms"]["cough"], true);
        assert_eq!(series["alerts"][0]["state"], "resolved");
        assert!(series["alerts"][0]["resolvedBy"].as_str().unwrap().starts_with("user:"));
        assert_eq!(series["thresholds"]["spo2"], 93);
        let (status, content_type, chart) = svg(&app, nurse, &case_id).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "image/svg+xml");
        assert!(chart.starts_with("<svg") && chart.ends_with("</svg>"));
        assert_eq!(chart.matches("class=\"threshold\"").count(), 2);
        assert_eq!(chart.matches("<circle").count(), 20);
        assert!(!chart.contains("Followed Patient"));

        // Scope: the prefecture reads, others do not.
        let (status, _) = call(&app, "GET", &format!("/api/cases/{case_id}/followup/series"), Some(&world.pref_worker[0]), None, None).await;
        assert_eq!(status, StatusCode::OK);
        for token in [&world.hc_worker[1], &world.pref_worker[1], &world.doctor[1], &world.national_admin] {
            let (status, body) = call(&app, "GET", &format!("/api/cases/{case_id}/followup/series"), Some(token), None, None).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
            let (status, _, _) = svg(&app, token, &case_id).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        let (status, _) = call(&app, "GET", &format!("/api/cases/{case_id}/followup/series"), Some(&world.hc_admin), None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = call(&app, "POST", &format!("/api/cases/{case_id}/followup/token"), Some(&world.pref_worker[0]), None, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // The plan ends with 2026-11-29 (local): the token stops working.
        clock.set_ms(support::T0_MS + 9 * DAY_MS + 14 * HOUR_MS + 59 * 60_000);
        let (status, body) = report(&app, &link, json!({"spo2": 97})).await;
        assert_eq!(status, StatusCode::CREATED, "last minute of the plan: {body}");
        clock.advance_ms(60_000);
        let (status, _) = report(&app, &link, json!({"spo2": 97})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, body) = call(&app, "POST", &format!("/api/cases/{case_id}/followup/token"), Some(nurse), None, None).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("plan_ended")));
    }

    async fn tokens_are_replaced_and_revocable_and_plans_validated(app, clock) {
        let world = support::world(&app, &clock).await;
        let nurse = &world.hc_worker[0];
        let case_id = case_with_plan(&app, &world, "Token Patient", None).await;
        let first = link_token(&app, nurse, &case_id).await;
        let second = link_token(&app, nurse, &case_id).await;
        assert_eq!(report(&app, &first, json!({"spo2": 97})).await.0, StatusCode::UNAUTHORIZED, "replaced");
        assert_eq!(report(&app, &second, json!({"spo2": 97})).await.0, StatusCode::CREATED);
        let (status, _) = call(&app, "DELETE", &format!("/api/cases/{case_id}/followup/token"), Some(nurse), None, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(report(&app, &second, json!({"spo2": 97})).await.0, StatusCode::UNAUTHORIZED, "revoked");

        // Changing the plan moves the live link's end.
        let third = link_token(&app, nurse, &case_id).await;
        let set_end = |end: &'static str| {
            let (app, nurse, case_id) = (&app, nurse.clone(), case_id.clone());
            async move {
                let (status, body) = call(app, "PUT", &format!("/api/cases/{case_id}/followup"), Some(&nurse), None,
                    Some(json!({"startDate": "2026-11-20", "endDate": end}))).await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
        };
        set_end("2026-12-05").await;
        clock.set_ms(support::T0_MS + 12 * DAY_MS);
        assert_eq!(report(&app, &third, json!({"spo2": 97})).await.0, StatusCode::CREATED, "extended");
        set_end("2026-12-01").await;
        assert_eq!(report(&app, &third, json!({"spo2": 97})).await.0, StatusCode::UNAUTHORIZED, "shortened");
        clock.set_ms(support::T0_MS);


        let other = support::file_case(&app, nurse, &world.health_center[0], "Default Plan").await;
        let (status, _) = call(&app, "POST", &format!("/api/cases/{other}/followup/token"), Some(nurse), None, None).await;
        assert_eq!(status, StatusCode::CONFLICT, "no plan yet");
        let (status, plan) = call(&app, "PUT", &format!("/api/cases/{other}/followup"), Some(nurse), None, Some(json!({}))).await;
        assert_eq!(status, StatusCode::OK, "{plan}");
        assert_eq!((plan["startDate"].as_str(), plan["endDate"].as_str()), (Some("2026-11-16"), Some("2026-11-26")));
        assert_eq!(plan["organizationId"], world.health_center[0].as_str());
        // Missed reports count from the day the plan was set (2026-11-20), not from its start.
        clock.set_ms(support::T0_MS + 15 * HOUR_MS);
        assert_eq!(registry(&app, &clock, |_| {}).check_missed_reports().await.unwrap(), 1);
        let (_, alerts) = call(&app, "GET", &format!("/api/cases/{other}/followup/series"), Some(nurse), None, None).await;
        assert_eq!(alerts["alerts"][0]["day"], "2026-11-20", "{alerts}");
        clock.set_ms(support::T0_MS);
        for bad in [
            json!({"startDate": "2026-11-20", "endDate": "2026-11-19"}),
            json!({"startDate": "20-11-2026"}),
            json!({"reportingTimes": ["25:00"]}),
            json!({"organizationId": world.health_center[1]}),
        ] {
            let (status, body) = call(&app, "PUT", &format!("/api/cases/{other}/followup"), Some(nurse), None, Some(bad.clone())).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        }
        let (status, _) = call(&app, "PUT", &format!("/api/cases/{other}/followup"), Some(nurse), None, Some(json!({"bogus": 1}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = call(&app, "PUT", &format!("/api/cases/{other}/followup"), Some(&world.hc_worker[1]), None, Some(json!({}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    async fn a_missed_day_opens_a_missed_report_alert_at_the_cutoff(app, clock) {
        let world = support::world(&app, &clock).await;
        let nurse = &world.hc_worker[0];
        let case_id = case_with_plan(&app, &world, "Quiet Patient", None).await;
        let link = link_token(&app, nurse, &case_id).await;
        // 2026-11-20 10:00 local: a report. Then nothing on the 21st.
        clock.set_ms(support::T0_MS + HOUR_MS);
        assert_eq!(report(&app, &link, json!({"spo2": 97})).await.0, StatusCode::CREATED);

        // Default cut-off: the end of the day (local midnight = 15:00 UTC).
        let job = registry(&app, &clock, |_| {});
        let end_of_21st = support::T0_MS + DAY_MS + 15 * HOUR_MS;
        clock.set_ms(end_of_21st - 1);
        assert_eq!(job.check_missed_reports().await.unwrap(), 0);
        clock.set_ms(end_of_21st);
        assert_eq!(job.check_missed_reports().await.unwrap(), 1);
        assert_eq!(job.check_missed_reports().await.unwrap(), 0, "once per day");
        let (_, worklist) = call(&app, "GET", "/api/alerts", Some(nurse), None, None).await;
        assert_eq!(worklist.as_array().unwrap().len(), 1, "{worklist}");
        assert_eq!((worklist[0]["kind"].as_str(), worklist[0]["day"].as_str(), worklist[0]["severity"].as_str()),
            (Some("missed_report"), Some("2026-11-21"), Some("low")));

        // A configured cut-off of 20:00 local fires at 20:00 of the 22nd (11:00 UTC).
        let early = registry(&app, &clock, |s| s.cases.missed_report_cutoff_minutes = 20 * 60);
        let cutoff_22nd = support::T0_MS + 2 * DAY_MS + 11 * HOUR_MS;
        clock.set_ms(cutoff_22nd - 60_000);
        assert_eq!(early.check_missed_reports().await.unwrap(), 0);
        clock.set_ms(cutoff_22nd);
        assert_eq!(early.check_missed_reports().await.unwrap(), 1);
        // A day with a report opens nothing; days outside the plan neither.
        clock.set_ms(support::T0_MS + 3 * DAY_MS + HOUR_MS);
        assert_eq!(report(&app, &link, json!({"spo2": 97})).await.0, StatusCode::CREATED);
        clock.set_ms(support::T0_MS + 3 * DAY_MS + 15 * HOUR_MS);
        assert_eq!(job.check_missed_reports().await.unwrap(), 0);

        // Higher severity first, then the oldest.
        clock.set_ms(support::T0_MS + 4 * DAY_MS + HOUR_MS);
        let link = link_token(&app, nurse, &case_id).await;
        let (_, body) = report(&app, &link, json!({"spo2": 96, "symptoms": {"shortnessOfBreath": true}})).await;
        assert_eq!(body["alertsOpened"], json!(["breathing_difficulty"]));
        let (_, worklist) = call(&app, "GET", "/api/alerts", Some(nurse), None, None).await;
        let kinds: Vec<(&str, &str)> = worklist.as_array().unwrap().iter()
            .map(|a| (a["kind"].as_str().unwrap(), a["day"].as_str().unwrap())).collect();
        assert_eq!(kinds, [("breathing_difficulty", "2026-11-24"), ("missed_report", "2026-11-21"), ("missed_report", "2026-11-22")]);

        // Fever on three consecutive days opens a persistent-fever alert on the third.
        for day in 5..8 {
            clock.set_ms(support::T0_MS + day * DAY_MS + HOUR_MS);
            let (status, body) = report(&app, &link, json!({"temperature": 38.6, "spo2": 97})).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            let expected = if day == 7 { json!(["persistent_fever"]) } else { json!([]) };
            assert_eq!(body["alertsOpened"], expected, "day {day}");
        }

        // A job that was stopped for days catches up on the whole plan once it runs again:
        // the 28th and 29th had no report; days after the plan's end open nothing.
        clock.set_ms(support::T0_MS + 20 * DAY_MS);
        assert_eq!(job.check_missed_reports().await.unwrap(), 2);
        assert_eq!(job.check_missed_reports().await.unwrap(), 0);
        let (_, series) = call(&app, "GET", &format!("/api/cases/{case_id}/followup/series"), Some(nurse), None, None).await;
        let mut missed: Vec<&str> = series["alerts"].as_array().unwrap().iter()
            .filter(|a| a["kind"] == "missed_report").map(|a| a["day"].as_str().unwrap()).collect();
        missed.sort_unstable();
        assert_eq!(missed, ["2026-11-21", "2026-11-22", "2026-11-28", "2026-11-29"], "{series}");
    }

    async fn a_contractor_sees_only_the_cases_delegated_to_it(app, clock) {
        let world = support::world(&app, &clock).await;
        let (status, contractor) = call(&app, "POST", "/api/organizations", Some(&world.national_admin), None,
            Some(json!({"kind": "contractor", "name": "Home Care Nurses Inc."}))).await;
        assert_eq!(status, StatusCode::CREATED, "{contractor}");
        let contractor = contractor["id"].as_str().unwrap().to_string();
        let contract_nurse = support::user(&app, &clock, &world.national_admin, &contractor, "contract.nurse", &["case_worker"]).await;
        let delegated = case_with_plan(&app, &world, "Delegated Patient", Some(&contractor)).await;
        let kept = case_with_plan(&app, &world, "Kept Patient", None).await;
        for id in [&delegated, &kept] {
            let link = link_token(&app, &world.hc_worker[0], id).await;
            let (_, body) = report(&app, &link, json!({"spo2": 90})).await;
            assert_eq!(body["alertsOpened"], json!(["low_spo2"]));
        }
        // The contractor's worklist: the delegated case only; the health center sees both.
        let (status, worklist) = call(&app, "GET", "/api/alerts", Some(&contract_nurse), None, None).await;
        assert_eq!(status, StatusCode::OK, "{worklist}");
        let cases: Vec<&str> = worklist.as_array().unwrap().iter().map(|a| a["caseId"].as_str().unwrap()).collect();
        assert_eq!(cases, [delegated.as_str()]);
        let (_, worklist) = call(&app, "GET", "/api/alerts", Some(&world.hc_worker[0]), None, None).await;
        assert_eq!(worklist.as_array().unwrap().len(), 2);
        let kept_alert = worklist.as_array().unwrap().iter().find(|a| a["caseId"] == kept.as_str()).unwrap()["id"].as_str().unwrap().to_string();

        // Delegated: series, chart, proxy entry, alert work. Not delegated: 404 everywhere.
        let (status, _) = call(&app, "GET", &format!("/api/cases/{delegated}/followup/series"), Some(&contract_nurse), None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(svg(&app, &contract_nurse, &delegated).await.0, StatusCode::OK);
        let (status, plan) = call(&app, "GET", &format!("/api/cases/{delegated}/followup"), Some(&contract_nurse), None, None).await;
        assert_eq!((status, plan["delegated"].as_bool()), (StatusCode::OK, Some(true)));
        let (status, _) = call(&app, "POST", &format!("/api/cases/{delegated}/observations"), Some(&contract_nurse), None, Some(json!({"spo2": 95}))).await;
        assert_eq!(status, StatusCode::CREATED);
        let own_alert = cases_first_alert(&app, &contract_nurse).await;
        let (status, _) = call(&app, "POST", &format!("/api/alerts/{own_alert}/acknowledge"), Some(&contract_nurse), None, None).await;
        assert_eq!(status, StatusCode::OK);
        for (method, path) in [
            ("GET", format!("/api/cases/{kept}/followup/series")),
            ("GET", format!("/api/cases/{kept}/followup")),
            ("POST", format!("/api/cases/{kept}/observations")),
            ("POST", format!("/api/alerts/{kept_alert}/acknowledge")),
            ("GET", format!("/api/cases/{delegated}")),
            ("PUT", format!("/api/cases/{delegated}/followup")),
            ("POST", format!("/api/cases/{delegated}/followup/token")),
        ] {
            let body = (method != "GET").then(|| json!({"spo2": 95}));
            let body = if path.ends_with("/followup") { Some(json!({})) } else { body };
            let (status, response) = call(&app, method, &path, Some(&contract_nurse), None, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {response}");
            assert!(!response.to_string().contains("Patient"));
        }
        assert_eq!(svg(&app, &contract_nurse, &kept).await.0, StatusCode::NOT_FOUND);
        let (status, list) = call(&app, "GET", "/api/cases", Some(&contract_nurse), None, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{list}");
        // Taking the delegation back ends the contractor's access.
        let (status, _) = call(&app, "PUT", &format!("/api/cases/{delegated}/followup"), Some(&world.hc_worker[0]), None,
            Some(json!({"startDate": "2026-11-20", "endDate": "2026-11-29"}))).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = call(&app, "GET", &format!("/api/cases/{delegated}/followup/series"), Some(&contract_nurse), None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

/// The value of one sample on `/metrics` (0 when absent).
async fn metric(app: &TestApp, sample: &str) -> i64 {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(sample)?.trim().parse::<f64>().ok())
        .map_or(0, |v| v as i64)
}

async fn cases_first_alert(app: &TestApp, token: &str) -> String {
    let (_, worklist) = call(app, "GET", "/api/alerts", Some(token), None, None).await;
    worklist[0]["id"].as_str().unwrap().to_string()
}

flow_tests_with! { long_sessions;
    async fn statistics_tables_are_scoped_suppressed_exportable_and_free_of_personal_data(app, clock) {
        let world = support::world(&app, &clock).await;
        let pref_stats = support::user(&app, &clock, &world.national_admin, &world.prefecture[0], "p1.stats", &["statistics_viewer"]).await;
        let mut names = Vec::new();
        let mut case_ids = Vec::new();
        for i in 0..6 {
            let name = format!("Tokyo Patient {i}");
            case_ids.push(support::file_case(&app, &world.doctor[0], &world.health_center[0], &name).await);
            names.push(name);
        }
        names.push("Osaka Patient".to_string());
        case_ids.push(support::file_case(&app, &world.doctor[1], &world.health_center[1], "Osaka Patient").await);
        // One processing number, one open alert, one hospitalized case in ICU.
        let nurse = &world.hc_worker[0];
        let first = case_ids[0].clone();
        let (status, _) = call(&app, "POST", &format!("/api/cases/{first}/status"), Some(nurse), None, Some(json!({"status": "accepted"}))).await;
        assert_eq!(status, StatusCode::OK);
        let (status, number) = call(&app, "POST", &format!("/api/cases/{first}/processing-number"), Some(nurse), None, None).await;
        assert_eq!(status, StatusCode::CREATED, "{number}");
        let (status, _) = call(&app, "PUT", &format!("/api/cases/{first}/followup"), Some(nurse), None,
            Some(json!({"startDate": "2026-11-20", "endDate": "2026-11-29"}))).await;
        assert_eq!(status, StatusCode::OK);
        let link = link_token(&app, nurse, &first).await;
        assert_eq!(report(&app, &link, json!({"spo2": 90})).await.0, StatusCode::CREATED);
        let mut icu = support::notification(&world.health_center[0], "ICU Patient");
        icu["icu"] = json!(true);
        let (status, body) = call(&app, "POST", "/api/cases", Some(nurse), None, Some(icu)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let icu_id = body["id"].as_str().unwrap().to_string();
        names.push("ICU Patient".into());
        case_ids.push(icu_id.clone());
        let (status, _) = call(&app, "POST", &format!("/api/cases/{icu_id}/status"), Some(nurse), None, Some(json!({"status": "hospitalized"}))).await;
        assert_eq!(status, StatusCode::OK);

        let table = |token: &str, name: &str, query: &str| {
            let (app, token, path) = (&app, token.to_string(), format!("/api/statistics/tables/{name}?from=2026-11-01&to=2026-11-30{query}"));
            async move {
                let response = app.client.get(app.url(&path)).bearer_auth(&token).send().await.unwrap();
                let status = response.status();
                let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
                (status, content_type, response.text().await.unwrap())
            }
        };
        let rows = |text: &str| -> Vec<Value> { serde_json::from_str::<Value>(text).unwrap()["rows"].as_array().unwrap().clone() };

        // The ministry sees everything; small counts are "<5".
        let (status, _, text) = table(&world.national_stats, "new_cases", "").await;
        assert_eq!(status, StatusCode::OK, "{text}");
        let new_cases = rows(&text);
        assert_eq!(new_cases.len(), 2, "{text}");
        assert!(new_cases.contains(&json!({"date": "2026-11-18", "prefectureId": world.prefecture[0], "healthCenterId": world.health_center[0], "count": 7})), "{text}");
        assert!(new_cases.contains(&json!({"date": "2026-11-18", "prefectureId": world.prefecture[1], "healthCenterId": world.health_center[1], "count": "<5"})), "{text}");
        let (_, _, text) = table(&world.national_stats, "cases_by_status", "").await;
        let statuses: Vec<(String, Value)> = rows(&text).iter().map(|r| (r["status"].as_str().unwrap().to_string(), r["count"].clone())).collect();
        assert!(statuses.contains(&("icu_ventilator".into(), json!("<5"))), "{text}");
        assert!(statuses.contains(&("reported".into(), json!(5))), "{text}");
        // Daily counts: today's row is there and no row lies after today.
        let days: Vec<String> = rows(&text).iter().map(|r| r["date"].as_str().unwrap().to_string()).collect();
        let today = days.iter().max().unwrap().clone();
        assert!(days.iter().all(|d| d.as_str() <= today.as_str() && d.len() == 10), "{text}");
        assert!(rows(&text).iter().any(|r| r["date"] == today.as_str() && r["status"] == "reported"), "{text}");
        let (_, _, text) = table(&world.national_stats, "open_alerts", "").await;
        assert_eq!(rows(&text)[0]["kind"], "low_spo2");
        assert_eq!(rows(&text)[0]["count"], "<5");
        let (_, _, text) = table(&world.national_stats, "verification", "").await;
        assert_eq!(rows(&text)[0]["event"], "number_issued", "{text}");
        assert_eq!(rows(&text)[0]["date"], "2026-11-20");

        // A prefecture sees only its area.
        for name in ["new_cases", "cases_by_status", "open_alerts", "verification"] {
            let (status, _, text) = table(&pref_stats, name, "").await;
            assert_eq!(status, StatusCode::OK, "{name}: {text}");
            let rows = rows(&text);
            assert!(!rows.is_empty(), "{name}");
            assert!(rows.iter().all(|r| r["prefectureId"] == world.prefecture[0].as_str()), "{name}: {text}");
        }
        // CSV export.
        let (status, content_type, csv) = table(&world.national_stats, "new_cases", "&format=csv").await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/csv"), "{content_type}");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "date,prefectureId,healthCenterId,count");
        assert_eq!(lines.len(), 3);
        assert!(lines.contains(&format!("2026-11-18,{},{},<5", world.prefecture[1], world.health_center[1]).as_str()), "{csv}");

        // No statistics response contains a registered name, phone number or case id.
        let mut bodies = Vec::new();
        for token in [&world.national_stats, &pref_stats, &world.hc_admin] {
            for name in ["new_cases", "cases_by_status", "open_alerts", "verification"] {
                for format in ["", "&format=csv"] {
                    let (status, _, text) = table(token, name, format).await;
                    assert_eq!(status, StatusCode::OK, "{name}{format}: {text}");
                    bodies.push(text);
                }
            }
            let (status, summary) = call(&app, "GET", "/api/statistics/cases", Some(token), None, None).await;
            assert_eq!(status, StatusCode::OK);
            bodies.push(summary.to_string());
        }
        for body in &bodies {
            for secret in names.iter().chain(case_ids.iter()).chain(["090-0000-0000", "ヤマダ", link.as_str()].map(String::from).iter()) {
                assert!(!body.contains(secret.as_str()), "{secret} in {body}");
            }
        }

        // Refusals.
        let (status, _, _) = table(&world.doctor[0], "new_cases", "").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = table(&world.hc_worker[0], "new_cases", "").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = table(&world.national_stats, "names", "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, text) = table(&world.national_stats, "new_cases", "&format=xml").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        // Well-formed dates in a wrong order or span: 422; a date that does not parse: 400.
        let (status, _) = call(&app, "GET", "/api/statistics/tables/new_cases?from=2026-12-01&to=2026-11-01", Some(&world.national_stats), None, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (status, _) = call(&app, "GET", "/api/statistics/tables/new_cases?from=2020-01-01&to=2026-11-01", Some(&world.national_stats), None, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        for bad in ["from=2026-13-01", "to=", "from=yesterday"] {
            let (status, _) = call(&app, "GET", &format!("/api/statistics/tables/new_cases?{bad}"), Some(&world.national_stats), None, None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        }
    }
}
