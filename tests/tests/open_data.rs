//! The public open data over real HTTP on SQLite and PostgreSQL: the published numbers are
//! the registry's wherever a count is shown, every count is 0, at least the threshold, `<5`
//! or `x` (and no hidden one follows by subtraction), nothing personal is published, the same
//! data gives byte-identical files on both backends, ETags answer 304, and daily snapshots
//! verify against their manifest, stay immutable and name the days a later one revised.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;

use std::collections::HashMap;

use mimamori::services::cases::mimamori_cases::service::open_data::SnapshotOutcome;
use mimamori_storage::ManualClock;
use mimamori_tests::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::Value;
use support::call;
use support::open_data::{OpenWorld, build, registry};

const DAY_MS: i64 = 86_400_000;

const FILES: [&str; 6] = [
    "new_cases.csv",
    "new_cases.json",
    "cases_by_status.csv",
    "cases_by_status.json",
    "notifications.csv",
    "notifications.json",
];

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.unwrap()
}

async fn json(app: &TestApp, path: &str) -> Value {
    let response = get(app, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The registry's own counts (the signed-in statistics table), by (date, prefecture id).
async fn registry_counts(
    app: &TestApp,
    token: &str,
    table: &str,
) -> HashMap<(String, String, String), i64> {
    let (status, body) = call(
        app,
        "GET",
        &format!("/api/statistics/tables/{table}?from=2026-11-14&to=2026-11-20"),
        Some(token),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut out = HashMap::new();
    // The staff table shows small counts as "<5" too; this data has none below 5 per health
    // center except Osaka's 2, which the test knows.
    for row in body["rows"].as_array().unwrap() {
        let key = |c: &str| row[c].as_str().unwrap_or("").to_string();
        let count = match &row["count"] {
            Value::Number(n) => n.as_i64().unwrap(),
            Value::String(s) if s == "<5" => 2,
            other => panic!("{other}"),
        };
        *out.entry((key("date"), key("prefectureId"), key("status")))
            .or_default() += count;
    }
    out
}

/// Every count of a JSON table is 0, at least `minimum`, `<minimum` or `x`.
fn every_count_is_safe(table: &Value, columns: &[&str]) {
    let minimum = table["minimumCount"].as_i64().unwrap();
    for row in table["rows"].as_array().unwrap() {
        for column in columns {
            match &row[*column] {
                Value::Number(n) => {
                    let n = n.as_i64().unwrap();
                    assert!(n == 0 || n >= minimum, "{column} {n} in {row}");
                }
                Value::String(s) => assert!(s == "x" || *s == format!("<{minimum}"), "{s}"),
                other => panic!("{column}: {other}"),
            }
        }
    }
}

fn row<'a>(table: &'a Value, pairs: &[(&str, &str)]) -> &'a Value {
    table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| pairs.iter().all(|(k, v)| r[*k] == *v))
        .unwrap_or_else(|| panic!("no row {pairs:?}"))
}

flow_tests! {
    async fn published_numbers_are_the_registrys_and_no_cell_is_small_or_derivable(app, clock) {
        let OpenWorld { world, names, .. } = build(&app, &clock).await;
        let [tokyo, osaka] = world.prefecture.clone();
        let new_cases = registry_counts(&app, &world.national_stats, "new_cases").await;
        let by_status = registry_counts(&app, &world.national_stats, "cases_by_status").await;
        clock.advance_ms(DAY_MS);

        let table = json(&app, "/open/data/new_cases.json").await;
        assert_eq!((table["to"].as_str(), table["minimumCount"].as_i64()), (Some("2026-11-20"), Some(5)));
        every_count_is_safe(&table, &["count"]);
        let area_id = |area: &str| match area { "Tokyo" => Some(tokyo.clone()), "Osaka" => Some(osaka.clone()), _ => None };
        let mut compared = 0;
        for r in table["rows"].as_array().unwrap() {
            let (date, area) = (r["date"].as_str().unwrap(), r["area"].as_str().unwrap());
            let Some(shown) = r["count"].as_i64() else { continue };
            let expected: i64 = new_cases.iter()
                .filter(|((d, p, _), _)| d == date && (area == "national" || Some(p.clone()) == area_id(area)))
                .map(|(_, n)| n).sum();
            assert_eq!(shown, expected, "{r}");
            compared += 1;
        }
        assert!(compared >= 3 * 120 - 5, "{compared}");
        // 2026-11-18: Osaka's 2 is hidden, and so is Tokyo's 6 or the total of 8 (otherwise
        // 8 − 6 gives it away). 2026-11-19: Tokyo 5 of 5, Osaka 0.
        assert_eq!(row(&table, &[("date", "2026-11-18"), ("area", "Osaka")])["count"], "<5");
        let hidden = |area: &str| row(&table, &[("date", "2026-11-18"), ("area", area)])["count"].is_string();
        assert!(hidden("Tokyo") || hidden("national"));
        assert_eq!(row(&table, &[("date", "2026-11-19"), ("area", "Tokyo")])["count"], 5);
        assert_eq!(row(&table, &[("date", "2026-11-19"), ("area", "national")])["count"], 5);
        assert_eq!(row(&table, &[("date", "2026-11-19"), ("area", "Osaka")])["count"], 0);

        let table = json(&app, "/open/data/cases_by_status.json").await;
        every_count_is_safe(&table, &["count"]);
        let home = row(&table, &[("date", "2026-11-20"), ("area", "Tokyo"), ("status", "home_care")]);
        assert_eq!(home["count"].as_i64(), by_status.get(&("2026-11-20".into(), tokyo.clone(), "home_care".into())).copied());
        assert_eq!(home["count"], 5);
        assert_eq!(row(&table, &[("date", "2026-11-20"), ("area", "national"), ("status", "home_care")])["count"], 5);

        let table = json(&app, "/open/data/notifications.json").await;
        every_count_is_safe(&table, &["newCases", "registrations", "keys"]);
        let day = row(&table, &[("date", "2026-11-20")]);
        assert_eq!((day["registrations"].as_i64(), day["keys"].as_i64(), day["newCases"].as_i64()), (Some(6), Some(84), Some(0)));

        // Nothing personal anywhere public: no name, phone, birth date or case id.
        let mut public = Vec::new();
        for file in FILES { public.push(get(&app, &format!("/open/data/{file}")).await.text().await.unwrap()); }
        for page in ["/open/", "/open/en/"] {
            let response = get(&app, page).await;
            assert_eq!(response.status(), StatusCode::OK);
            assert!(response.headers()["cache-control"].to_str().unwrap().starts_with("public"));
            public.push(response.text().await.unwrap());
        }
        for text in &public {
            for name in &names { assert!(!text.contains(name.as_str()), "{name}"); }
            for personal in ["090-0000-0000", "1980-04-01", "Sato", "ヤマダ"] { assert!(!text.contains(personal), "{personal}"); }
        }
        assert!(public[6].contains("新規陽性者数") && public[6].contains("<svg"), "{}", public[6]);
        assert!(public[7].contains("New cases by prefecture") && public[7].contains("G-MIS"));
        assert!(!public[6].contains("<script"));
    }

    async fn files_are_cached_with_etags_and_bad_names_are_404(app, clock) {
        build(&app, &clock).await;
        clock.advance_ms(DAY_MS);
        let response = get(&app, "/open/data/new_cases.csv").await;
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
        assert_eq!(headers["cache-control"], "public, max-age=300");
        let etag = headers["etag"].to_str().unwrap().to_string();
        let body = response.bytes().await.unwrap();
        assert_eq!(etag, format!("\"{}\"", sha256_hex(&body)));
        assert!(body.starts_with(b"date,area,count,average7\r\n"));
        for tag in [etag.clone(), format!("W/{etag}"), format!("\"other\", {etag}"), "*".into()] {
            let response = app.client.get(app.url("/open/data/new_cases.csv")).header("if-none-match", &tag).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{tag}");
            assert_eq!(response.headers()["etag"].to_str().unwrap(), etag);
            assert!(response.bytes().await.unwrap().is_empty());
        }
        let response = app.client.get(app.url("/open/data/new_cases.csv")).header("if-none-match", "\"stale\"").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        for path in ["/open/data/nothing.csv", "/open/data/..%2Fetc", "/open/snapshots/2026-13-01/new_cases.csv",
                     "/open/snapshots/not-a-date/new_cases.csv", "/open/snapshots/2026-11-20/new_cases.csv",
                     "/open/snapshots/2026-11-20/manifest.json"] {
            let response = get(&app, path).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"), "{path}");
        }
        assert_eq!(app.client.post(app.url("/open/data/new_cases.csv")).send().await.unwrap().status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    async fn snapshots_verify_stay_immutable_and_name_revised_days(app, clock) {
        let OpenWorld { world, .. } = build(&app, &clock).await;
        clock.advance_ms(DAY_MS);
        let registry = registry(&app, &clock);
        assert_eq!(registry.open_data_snapshot().await.unwrap(), SnapshotOutcome::Built("2026-11-20".into()));
        assert_eq!(registry.open_data_snapshot().await.unwrap(), SnapshotOutcome::Existing("2026-11-20".into()));

        let manifest = json(&app, "/open/snapshots/manifest.json").await;
        let entries = manifest["snapshots"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{manifest}");
        assert_eq!(entries[0]["date"], "2026-11-20");
        let mut first = HashMap::new();
        for file in entries[0]["files"].as_array().unwrap() {
            let url = file["url"].as_str().unwrap();
            let response = get(&app, url).await;
            assert_eq!(response.status(), StatusCode::OK, "{url}");
            assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable");
            let etag = response.headers()["etag"].to_str().unwrap().to_string();
            let bytes = response.bytes().await.unwrap();
            assert_eq!(sha256_hex(&bytes), file["sha256"].as_str().unwrap(), "{url}");
            assert_eq!(bytes.len() as u64, file["bytes"].as_u64().unwrap());
            // The snapshot is the day's current file, byte for byte.
            let name = file["name"].as_str().unwrap();
            assert_eq!(bytes, get(&app, &format!("/open/data/{name}")).await.bytes().await.unwrap(), "{name}");
            let response = app.client.get(app.url(url)).header("if-none-match", &etag).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
            first.insert(name.to_string(), bytes);
        }
        assert_eq!(first.len(), 6);

        // A late report for 2026-11-19 arrives: the next day's snapshot carries it and names
        // the revised day; the listed one does not change.
        // The sessions of the first day have expired: sign in afresh.
        let admin = support::login(&app, &clock, &world.admin_credentials).await;
        let doctor = support::user(&app, &clock, &admin, &world.clinic[0], "late.doctor", &["doctor"]).await;
        let mut case = support::notification(&world.health_center[0], "Late Report");
        for field in ["resultDate", "diagnosisDate", "reportDate"] { case[field] = serde_json::json!("2026-11-19"); }
        let (status, body) = call(&app, "POST", "/api/cases", Some(&doctor), None, Some(case)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        clock.advance_ms(DAY_MS);
        assert_eq!(registry.open_data_snapshot().await.unwrap(), SnapshotOutcome::Built("2026-11-21".into()));
        let manifest = json(&app, "/open/snapshots/manifest.json").await;
        let entries = manifest["snapshots"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        // 2026-11-19 itself, and 2026-11-20's 7-day average, which includes it.
        assert_eq!(entries[1]["revisedDates"]["new_cases.csv"], serde_json::json!(["2026-11-19", "2026-11-20"]), "{manifest}");
        assert_eq!(entries[1]["revisedDates"]["notifications.csv"], serde_json::json!(["2026-11-19"]));
        assert_eq!(entries[1]["revisedDates"]["cases_by_status.csv"], serde_json::json!([]));
        for (name, bytes) in &first {
            let again = get(&app, &format!("/open/snapshots/2026-11-20/{name}")).await.bytes().await.unwrap();
            assert_eq!(&again, bytes, "{name}");
        }
        let table: Value = get(&app, "/open/snapshots/2026-11-21/new_cases.json").await.json().await.unwrap();
        assert_eq!(row(&table, &[("date", "2026-11-19"), ("area", "Tokyo")])["count"], 6);

        // A stored file altered behind the server's back is refused, never served.
        let sha = entries[1]["files"][5]["sha256"].as_str().unwrap().to_string();
        mimamori::services::cases::mimamori_cases::sql::execute(&app.database.database,
            "UPDATE open_data_files SET bytes = $1 WHERE sha256 = $2",
            vec![b"tampered".to_vec().into(), sha.into()]).await.unwrap();
        let fresh = support::open_data::registry(&app, &clock);
        assert!(fresh.open_data_snapshot_file("2026-11-21", "notifications.json").await.is_err());
        let response = get(&app, "/open/snapshots/2026-11-21/notifications.json").await;
        assert!(response.status().is_server_error());
        assert!(!response.text().await.unwrap().contains("tampered"));
    }
}

async fn published(backend: Backend) -> Option<Vec<(String, Vec<u8>)>> {
    let (app, clock): (TestApp, ManualClock) = support::start(backend, |_| {}).await?;
    build(&app, &clock).await;
    clock.advance_ms(DAY_MS);
    let mut out = Vec::new();
    for path in FILES
        .map(|f| format!("/open/data/{f}"))
        .into_iter()
        .chain(["/open/".into(), "/open/en/".into()])
    {
        let response = get(&app, &path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        out.push((path, response.bytes().await.unwrap().to_vec()));
    }
    Some(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_data_gives_byte_identical_files_on_sqlite_and_postgresql() {
    let sqlite = published(Backend::Sqlite).await.unwrap();
    let Some(postgres) = published(Backend::Postgres).await else {
        return;
    };
    for ((path, a), (_, b)) in sqlite.iter().zip(&postgres) {
        assert!(
            a == b,
            "{path} differs:\n{}\n---\n{}",
            String::from_utf8_lossy(a),
            String::from_utf8_lossy(b)
        );
    }
}
