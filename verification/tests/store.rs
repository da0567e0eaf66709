//! The verification store's conformance suite on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use mimamori_verification::store::DbVerificationStore;

mimamori_storage::backend_tests! {
    migrations = [mimamori_storage::MIGRATIONS, mimamori_cases::MIGRATIONS, mimamori_verification::MIGRATIONS];
    async fn verification_store_conforms(database) {
        let store = Arc::new(DbVerificationStore::new(database));
        mimamori_verification::store::conformance::verification_store(store).await;
    }
}
