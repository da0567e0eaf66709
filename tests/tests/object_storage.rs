//! The object blob store (`storage = "object"`) against a real S3 server (s3s-fs): the
//! blob-store conformance suite, prefixes that keep deployments apart, and failures that
//! are typed errors rather than missing files. The end-to-end export and download through
//! two replicas is `every_replica_serves_every_file_from_object_storage_*` in `key_server.rs`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use mimamori_key_server::blobs::{BlobError, BlobStore, ObjectBlobStore, conformance};
use mimamori_tests::s3::S3Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_object_blob_store_conforms() {
    let Some(s3) = S3Server::start("conformance").await else {
        return;
    };
    for prefix in ["", "mimamori/prod"] {
        let store = ObjectBlobStore::from_config(&s3.config(prefix)).unwrap();
        conformance::blob_store(&store).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefixes_keep_deployments_apart_in_one_bucket() {
    let Some(s3) = S3Server::start("shared").await else {
        return;
    };
    let prod = ObjectBlobStore::from_config(&s3.config("prod")).unwrap();
    let staging = ObjectBlobStore::from_config(&s3.config("staging")).unwrap();
    prod.put("sha256/ab", b"prod").await.unwrap();
    assert_eq!(staging.get("sha256/ab").await.unwrap(), None);
    staging.delete("sha256/ab").await.unwrap();
    assert_eq!(
        prod.get("sha256/ab").await.unwrap().as_deref(),
        Some(&b"prod"[..])
    );
    assert_eq!(
        std::fs::read(s3.object_file("prod/sha256/ab")).unwrap(),
        b"prod"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_and_unreachable_buckets_are_errors_not_missing_files() {
    let Some(s3) = S3Server::start("guarded").await else {
        return;
    };
    let mut wrong = s3.config("");
    wrong.secret_access_key = Some("not-the-secret".into());
    let store = ObjectBlobStore::from_config(&wrong).unwrap();
    assert!(matches!(
        store.get("sha256/ab").await,
        Err(BlobError::Object(_))
    ));
    assert!(matches!(
        store.put("sha256/ab", b"x").await,
        Err(BlobError::Object(_))
    ));

    let mut unreachable = s3.config("");
    unreachable.endpoint = Some(format!("http://127.0.0.1:{}", mimamori_tests::free_port()));
    let store = ObjectBlobStore::from_config(&unreachable).unwrap();
    let started = std::time::Instant::now();
    let error = store.get("sha256/ab").await.unwrap_err();
    assert!(matches!(error, BlobError::Object(_)), "{error}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "bounded retries"
    );
    let printed = format!("{error} {store:?}");
    assert!(
        !printed.contains(mimamori_tests::s3::SECRET_KEY),
        "{printed}"
    );
}
