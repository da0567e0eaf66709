//! The case store's conformance suite on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

use mimamori_cases::store::DbCaseStore;

mimamori_storage::backend_tests! {
    migrations = [mimamori_storage::MIGRATIONS, mimamori_cases::MIGRATIONS];
    async fn case_store_conforms(database) {
        let store = DbCaseStore::new(database);
        mimamori_cases::store::conformance::case_store(&store).await;
    }
}

mimamori_storage::backend_tests! {
    migrations = [mimamori_storage::MIGRATIONS, mimamori_cases::MIGRATIONS];
    async fn followup_store_conforms(database) {
        let store = DbCaseStore::new(database);
        mimamori_cases::store::followup::conformance::followup_store(&store).await;
    }
}

mimamori_storage::backend_tests! {
    migrations = [mimamori_storage::MIGRATIONS, mimamori_cases::MIGRATIONS];
    async fn statistics_store_conforms(database) {
        let store = DbCaseStore::new(database);
        mimamori_cases::store::statistics::conformance::statistics_store(&store).await;
    }
}

mimamori_storage::backend_tests! {
    migrations = [mimamori_storage::MIGRATIONS, mimamori_cases::MIGRATIONS];
    async fn duplicate_store_conforms(database) {
        let store = DbCaseStore::new(database);
        mimamori_cases::store::duplicates::conformance::duplicate_store(&store).await;
    }
}

/// The cases migrations before close contacts (versions 1 and 2).
const BEFORE_CONTACTS: mimamori_storage::MigrationSet = mimamori_storage::MigrationSet {
    component: "cases",
    migrations: mimamori_cases::MIGRATIONS.migrations.split_at(2).0,
};

mimamori_storage::backend_tests! {
    migrations = [mimamori_storage::MIGRATIONS, BEFORE_CONTACTS];
    async fn followup_rows_from_before_contacts_survive_as_cases(database) {
        use mimamori_cases::params;
        use mimamori_cases::sql;
        use mimamori_cases::store::followup::FollowUpStore;
        // A plan, a token, an observation and an alert written by the version-2 schema.
        for (statement, values) in [
            ("INSERT INTO followup_plans (case_id, organization_id, start_date, end_date, reporting_times, created_at_ms, updated_at_ms)
              VALUES ($1, $2, $3, $4, $5, $6, $7)",
             params!["case-1", "hc-1", "2026-11-20", "2026-11-29", "09:00,17:00", 1i64, 1i64]),
            ("INSERT INTO followup_tokens (token_hash, case_id, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4)",
             params![b"hash".to_vec(), "case-1", 1i64, 10_000i64]),
            ("INSERT INTO followup_observations (id, case_id, observed_at_ms, day, temperature_tenths, spo2, pulse, symptoms, note, proxy_actor)
              VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
             params!["obs-1", "case-1", 5i64, "2026-11-20", 371i64, 97i64, 80i64, "{}", "fine", Option::<String>::None]),
            ("INSERT INTO followup_alerts (id, case_id, organization_id, kind, severity, day, detail, state, opened_at_ms)
              VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
             params!["alert-1", "case-1", "hc-1", "low_spo2", 3i64, "2026-11-20", "SpO2 90", "open", 6i64]),
        ] {
            sql::execute(&database, statement, values).await.unwrap();
        }
        // Version 3 renames the columns and marks every existing row as a case's.
        database
            .migrate(&[mimamori_storage::MIGRATIONS, mimamori_cases::MIGRATIONS])
            .await
            .unwrap();
        let store = DbCaseStore::new(database);
        let plan = store.plan("case-1").await.unwrap().expect("the plan survives");
        assert_eq!((plan.subject_kind.as_str(), plan.end_date.as_str()), ("case", "2026-11-29"));
        assert_eq!(store.followup_token_case(b"hash", 5).await.unwrap().as_deref(), Some("case-1"));
        let observations = store.observations("case-1").await.unwrap();
        assert_eq!((observations.len(), observations[0].temperature_tenths), (1, Some(371)));
        let alerts = store.subject_alerts("case-1").await.unwrap();
        assert_eq!((alerts.len(), alerts[0].subject_kind.as_str()), (1, "case"));
    }
}
