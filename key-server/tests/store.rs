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

    async fn the_database_blob_store_writes_reads_replaces_and_deletes(database) {
        use mimamori_key_server::blobs::{BlobError, BlobStore, DatabaseBlobStore};
        let store = DatabaseBlobStore::new(database);
        let key = store.key_for("440/1-2-00001.zip", "ab12");
        assert_eq!(key, "sha256/ab12", "content-addressed");
        assert_eq!(store.get(&key).await.unwrap(), None);
        let big: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
        store.put(&key, b"first").await.unwrap();
        store.put(&key, &big).await.unwrap();
        assert_eq!(store.get(&key).await.unwrap(), Some(big));
        store.put("sha256/other", b"other").await.unwrap();
        store.delete(&key).await.unwrap();
        store.delete(&key).await.unwrap();
        assert_eq!(store.get(&key).await.unwrap(), None);
        assert_eq!(store.get("sha256/other").await.unwrap().as_deref(), Some(&b"other"[..]));
        assert!(matches!(store.put("../x", b"x").await, Err(BlobError::InvalidKey(_))));
    }
}
