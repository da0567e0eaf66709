//! The data of the open-data tests (and the dashboard screenshots): a small country with
//! counts on both sides of the threshold, built the same way on either backend.

use std::sync::Arc;

use mimamori::services::cases::mimamori_cases::CaseRegistry;
use mimamori_storage::ManualClock;
use mimamori_tests::TestApp;
use reqwest::StatusCode;
use serde_json::json;

use super::{World, call, notification};

/// What [`build`] made.
pub struct OpenWorld {
    /// The organizations and users.
    pub world: World,
    /// Every case's name (none may appear in anything public).
    pub names: Vec<String>,
    /// Every case's id.
    pub case_ids: Vec<String>,
}

/// Cases by diagnosis date and prefecture: 2026-11-18 Tokyo 6, Osaka 2 (a small count whose
/// total must not give it away); 2026-11-19 Tokyo 5. Five Tokyo cases go into home care on
/// 2026-11-20, six uploads of 14 keys each are recorded that day; then the clock moves to
/// 2026-11-21 so the open data covers up to 2026-11-20.
pub async fn build(app: &TestApp, clock: &ManualClock) -> OpenWorld {
    let world = super::world(app, clock).await;
    let plan = [
        (0usize, "2026-11-18", 6),
        (1, "2026-11-18", 2),
        (0, "2026-11-19", 5),
    ];
    let mut names = Vec::new();
    let mut case_ids = Vec::new();
    for (area, date, count) in plan {
        for _ in 0..count {
            let name = format!("Sato Hanako {:02}", names.len());
            let mut case = notification(&world.health_center[area], &name);
            for field in ["resultDate", "diagnosisDate", "reportDate"] {
                case[field] = json!(date);
            }
            let (status, body) = call(
                app,
                "POST",
                "/api/cases",
                Some(&world.doctor[area]),
                None,
                Some(case),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            case_ids.push(body["id"].as_str().unwrap().to_string());
            names.push(name);
        }
    }
    for id in &case_ids[..5] {
        for next in ["accepted", "home_care"] {
            let (status, body) = call(
                app,
                "POST",
                &format!("/api/cases/{id}/status"),
                Some(&world.hc_worker[0]),
                None,
                Some(json!({"status": next})),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }
    // Keys published under six cases' certificates, as the verification service records them.
    let registry = registry(app, clock);
    for (i, id) in case_ids[..6].iter().enumerate() {
        registry
            .store()
            .add_event(
                id,
                "keys_published",
                "14 keys",
                mimamori_storage::Clock::now_ms(clock) + 1000 + i as i64,
                "system",
            )
            .await
            .unwrap();
    }
    OpenWorld {
        world,
        names,
        case_ids,
    }
}

/// A case registry on the test server's database and clock (for the snapshot job).
pub fn registry(app: &TestApp, clock: &ManualClock) -> CaseRegistry {
    CaseRegistry::new(
        app.database.database.clone(),
        app.settings.cases.clone(),
        Arc::new(clock.clone()),
    )
}
