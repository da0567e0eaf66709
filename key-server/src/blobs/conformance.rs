//! The conformance suite every [`BlobStore`] must pass: the directory store in this crate's
//! unit tests, the database store on SQLite and PostgreSQL (`tests/store.rs`), the object
//! store against a real S3 server (`mimamori-tests`, `tests/object_storage.rs`).
#![allow(clippy::unwrap_used, clippy::panic)]

use super::{BlobError, BlobStore};

/// Writes, reads, replaces and deletes through `store`, and checks the trait's invariants:
/// `get` of a missing key is `None`, `put` replaces, a 2 MB file round-trips byte for byte,
/// deleting a missing key is not an error, other keys are untouched, shared stores are
/// content-addressed, and keys that are not relative export paths are refused.
pub async fn blob_store(store: &dyn BlobStore) {
    let key = store.key_for("440/1-2-00001.zip", "ab12");
    if store.kind() == "directory" {
        assert_eq!(key, "440/1-2-00001.zip", "the CDN layout");
    } else {
        assert_eq!(key, "sha256/ab12", "shared stores are content-addressed");
    }
    let other = store.key_for("440/3-4-00001.zip", "cd34");
    assert_ne!(key, other);

    assert_eq!(store.get(&key).await.unwrap(), None, "nothing there yet");
    store.delete(&key).await.unwrap();

    let big: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    store.put(&key, b"first").await.unwrap();
    assert_eq!(
        store.get(&key).await.unwrap().as_deref(),
        Some(&b"first"[..])
    );
    store.put(&key, &big).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), Some(big), "replaced");
    store.put(&other, b"other").await.unwrap();
    store.put(&other, b"").await.unwrap();
    assert_eq!(
        store.get(&other).await.unwrap(),
        Some(Vec::new()),
        "empty blob"
    );

    store.delete(&key).await.unwrap();
    store.delete(&key).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), None, "deleted");
    assert_eq!(
        store.get(&other).await.unwrap(),
        Some(Vec::new()),
        "untouched"
    );
    store.delete(&other).await.unwrap();

    for bad in ["../x", "/etc/passwd", "a//b", "a\\b", ""] {
        assert!(
            matches!(store.put(bad, b"x").await, Err(BlobError::InvalidKey(_))),
            "put {bad:?}"
        );
        assert!(
            matches!(store.get(bad).await, Err(BlobError::InvalidKey(_))),
            "get {bad:?}"
        );
        assert!(
            matches!(store.delete(bad).await, Err(BlobError::InvalidKey(_))),
            "delete {bad:?}"
        );
    }
}
