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
