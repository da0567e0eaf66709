//! Benchmarks of issue 15 on PostgreSQL: the daily sweep over N active follow-up subjects
//! (missed-report check, then reminders to those who did not report) and the case list over
//! M cases (a filtered page, p50/p99 over repeated requests).
//!
//! `TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!  cargo run --release -p mimamori-cases --example followup_bench -- 100000 1000000`
//!
//! Of the N subjects 80 % reported today; the rest are due a missed-report alert and a
//! reminder (by the recording SMS provider, which sends nothing).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::Instant;

use mimamori_cases::model::{OrgKind, Organization, Principal, Role};
use mimamori_cases::service::CaseRegistry;
use mimamori_cases::service::outbox::Transports;
use mimamori_cases::sql;
use mimamori_storage::ManualClock;
use mimamori_storage::testing::TestDatabase;

/// 2026-11-20 18:30 JST.
const NOW_MS: i64 = 1_795_132_800_000 + 9 * 3_600_000 + 30 * 60_000;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let subjects: i64 = args.next().map_or(100_000, |a| a.parse().unwrap());
    let cases: i64 = args.next().map_or(1_000_000, |a| a.parse().unwrap());
    let test_database = TestDatabase::postgres(&[mimamori_cases::MIGRATIONS])
        .await
        .expect("set TEST_DATABASE_URL to a PostgreSQL server");
    let database = test_database.database.clone();
    let started = Instant::now();
    // Ten health centers of one prefecture; every case in a health center by its number.
    let seed = [
        "INSERT INTO organizations (id, kind, name, parent_id, created_at_ms) VALUES ('pref', 'prefecture', 'Tokyo', NULL, 0)",
        "INSERT INTO organizations (id, kind, name, parent_id, created_at_ms)
         SELECT 'hc' || g, 'health_center', 'HC ' || g, 'pref', 0 FROM generate_series(0, 9) g",
    ];
    for statement in seed {
        sql::execute(&database, statement, vec![]).await.unwrap();
    }
    sql::execute(
        &database,
        "INSERT INTO cases (id, health_center_id, prefecture_id, reporting_org_id, status, name, data, onset_date, diagnosis_date, created_at_ms, updated_at_ms)
         SELECT 'case-' || g, 'hc' || (g % 10), 'pref', 'clinic',
                (ARRAY['accepted','home_care','hotel_care','hospitalized','recovered'])[1 + g % 5],
                'Patient ' || lpad(g::text, 7, '0'),
                '{\"name\":\"Patient ' || g || '\",\"phone\":\"090' || lpad((g % 100000000)::text, 8, '0') || '\"}',
                '2026-11-16', to_char(DATE '2026-11-20' - (g % 300)::int, 'YYYY-MM-DD'), g, g
         FROM generate_series(1, $1::bigint) g",
        vec![cases.into()],
    )
    .await
    .unwrap();
    sql::execute(
        &database,
        "INSERT INTO followup_plans (subject_id, organization_id, start_date, end_date, reporting_times, created_at_ms, updated_at_ms, subject_kind)
         SELECT 'case-' || g, 'hc' || (g % 10), '2026-11-16', '2026-11-25', '[\"09:00\"]', 0, 0, 'case'
         FROM generate_series(1, $1::bigint) g",
        vec![subjects.into()],
    )
    .await
    .unwrap();
    // 80 % reported every day so far; the others stopped after 2026-11-18, so yesterday is
    // a missed report and today a reminder.
    sql::execute(
        &database,
        "INSERT INTO followup_observations (id, subject_id, observed_at_ms, day, temperature_tenths, spo2, pulse, symptoms, note, proxy_actor)
         SELECT 'obs-' || g || '-' || d, 'case-' || g, 0, to_char(DATE '2026-11-16' + d::int, 'YYYY-MM-DD'), 365, 98, 70, '[]', NULL, NULL
         FROM generate_series(1, $1::bigint) g, generate_series(0, 4) d
         WHERE d < 3 OR g % 5 <> 0",
        vec![subjects.into()],
    )
    .await
    .unwrap();
    sql::execute(&database, "ANALYZE", vec![]).await.unwrap();
    println!(
        "data: {cases} cases, {subjects} plans, reports through today for 80 %, through 2026-11-18 for 20 %: {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let clock = ManualClock::new(NOW_MS);
    let mut config = mimamori_cases::Config::default();
    config.messaging.sms_provider = "recording".into();
    config.messaging.public_url = Some("https://mimamori.example.jp".into());
    config.messaging.max_per_recipient_per_day = 1_000;
    let transports = Transports::from_config(&config.messaging).unwrap();
    let registry =
        CaseRegistry::new(database.clone(), config, Arc::new(clock)).with_transports(transports);

    let started = Instant::now();
    let opened = registry.check_missed_reports().await.unwrap();
    let missed = started.elapsed();
    let started = Instant::now();
    let reminders = registry.queue_daily_reminders().await.unwrap();
    let reminded = started.elapsed();
    println!(
        "sweep over {subjects} active subjects: missed-report check {:.2} s ({opened} alerts), reminders {:.2} s ({reminders} queued), total {:.2} s",
        missed.as_secs_f64(),
        reminded.as_secs_f64(),
        (missed + reminded).as_secs_f64()
    );

    // The case list: a health center's case worker, a status filter and a name prefix, page 3.
    let principal = Principal {
        actor: "user:bench".into(),
        user_id: Some("bench".into()),
        organization: Organization {
            id: "hc1".into(),
            kind: OrgKind::HealthCenter,
            name: "HC 1".into(),
            parent_id: Some("pref".into()),
        },
        roles: vec![Role::CaseWorker],
    };
    let mut times = Vec::new();
    for round in 0..200 {
        let prefix = format!("Patient {:02}", round % 100);
        let started = Instant::now();
        let page = registry
            .list(&principal, Some("home_care"), Some(&prefix), 3, 50)
            .await
            .unwrap();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        if round == 0 {
            println!(
                "first page: {} of {} matching",
                page.items.len(),
                page.total
            );
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "case list over {cases} cases (status + name prefix, page 3 of 50): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        times[times.len() / 2],
        times[times.len() * 99 / 100],
        times[times.len() - 1]
    );
}
