//! The key-server store conformance suite on SQLite and PostgreSQL.

use mimamori_key_server::store::{DatabaseKeyServerStore, conformance};

mimamori_storage::backend_tests! {
    migrations = [mimamori_storage::MIGRATIONS, mimamori_key_server::store::MIGRATIONS];

    async fn keys_conform(database) {
        conformance::keys(&DatabaseKeyServerStore::new(database)).await;
    }

    async fn exports_conform(database) {
        conformance::exports(&DatabaseKeyServerStore::new(database)).await;
    }

    async fn signing_keys_and_secrets_conform(database) {
        conformance::signing_keys_and_secrets(&DatabaseKeyServerStore::new(database)).await;
    }
}

mimamori_storage::backend_tests! {
    migrations = [mimamori_storage::MIGRATIONS, mimamori_key_server::store::MIGRATIONS];

    async fn fast_path_conforms(database) {
        conformance::fast_path(&DatabaseKeyServerStore::new(database)).await;
    }
}

mimamori_storage::backend_tests! {
    migrations = [mimamori_storage::MIGRATIONS, mimamori_key_server::store::MIGRATIONS];

    async fn many_fast_paths_conform(database) {
        conformance::many_fast_paths(&DatabaseKeyServerStore::new(database)).await;
    }
}

mimamori_storage::backend_tests! {
    migrations = [mimamori_storage::MIGRATIONS, mimamori_key_server::store::MIGRATIONS];

    async fn the_database_blob_store_conforms(database) {
        use mimamori_key_server::blobs::{DatabaseBlobStore, conformance};
        conformance::blob_store(&DatabaseBlobStore::new(database)).await;
    }
}
