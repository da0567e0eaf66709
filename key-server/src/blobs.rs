//! Where export files live: the blob-store boundary between the export worker (which writes,
//! verifies and only then lists a file) and the download route (which serves listed files).
//!
//! Three stores:
//! - [`DirectoryBlobStore`]: a local directory, the layout a CDN or nginx can serve as is
//!   (`REGION/START-END-BATCH.zip`); the default, for one process.
//! - [`DatabaseBlobStore`]: the `ks_export_blobs` table of the server's own database, so every
//!   replica on one PostgreSQL serves every listed file with no extra service.
//! - [`ObjectBlobStore`]: an S3 bucket (or S3-compatible server) through the `object_store`
//!   crate, so every replica on the bucket serves every listed file.
//!
//! Invariants: a blob is written (and synced, or committed) and read back with the right
//! SHA-256 before its file is listed; the download route serves a blob only when its SHA-256
//! is the listing's (a file replaced under a listed name is refused, not served); retention
//! deletes the blobs of the files it unlists. Keys ([`BlobStore::key_for`]) are relative
//! paths, checked by [`valid_key`].

use std::io::Write;
use std::path::PathBuf;

use async_trait::async_trait;
use mimamori_storage::{Database, StorageError};
use rusqlite::OptionalExtension;

use crate::config::{ExportConfig, ExportStorage};

mod object;
pub use object::ObjectBlobStore;

/// The semantics every [`BlobStore`] must have, checked against each implementation.
#[cfg(any(test, feature = "testing"))]
pub mod conformance;

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The local directory could not be read or written.
    #[error("export directory {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The database failed.
    #[error("export blob store: {0}")]
    Storage(#[from] StorageError),
    /// A key that is not a relative export path.
    #[error("not an export file key: {0:?}")]
    InvalidKey(String),
    /// The object store (S3) failed or answered with an error.
    #[error("export object store: {0}")]
    Object(#[from] object_store::Error),
    /// `[key_server.export.object]` does not describe a usable bucket.
    #[error("{0}")]
    ObjectConfig(String),
}

/// A store of export files by key (the listing's relative path).
#[async_trait]
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Stores `bytes` under `key` durably before returning, replacing what was there.
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError>;
    /// The bytes under `key`, `None` when there are none.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError>;
    /// Removes `key` (nothing there is not an error).
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
    /// The store's kind for logs (`directory`, `database`, `object`).
    fn kind(&self) -> &'static str;
    /// The key the file listed as `path` with `sha256` is stored under. Shared stores are
    /// content-addressed (`sha256/HEX`): a replica that built the same window but lost the
    /// race to list it writes another key and cannot replace the file that was listed.
    fn key_for(&self, path: &str, sha256: &str) -> String {
        let _ = path;
        format!("sha256/{sha256}")
    }
}

/// Whether `key` is a relative export path: non-empty segments of ASCII letters, digits,
/// `-`, `_` and `.` (no `..`, no leading `/`, no backslash).
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 512
        && key.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
}

fn checked(key: &str) -> Result<&str, BlobError> {
    if valid_key(key) {
        Ok(key)
    } else {
        Err(BlobError::InvalidKey(key.to_string()))
    }
}

/// The store the configuration names, on `database` when it is the database store. Fails
/// only for `object` with settings that name no usable bucket ([`BlobError::ObjectConfig`]).
pub fn from_config(
    config: &ExportConfig,
    database: &Database,
) -> Result<std::sync::Arc<dyn BlobStore>, BlobError> {
    Ok(match config.storage {
        ExportStorage::Directory => {
            std::sync::Arc::new(DirectoryBlobStore::new(config.directory.clone()))
        }
        ExportStorage::Database => std::sync::Arc::new(DatabaseBlobStore::new(database.clone())),
        ExportStorage::Object => std::sync::Arc::new(ObjectBlobStore::from_config(&config.object)?),
    })
}

/// Export files in a local directory.
#[derive(Debug, Clone)]
pub struct DirectoryBlobStore {
    root: PathBuf,
}

impl DirectoryBlobStore {
    /// A store under `root` (created on the first write).
    pub fn new(root: PathBuf) -> Self {
        DirectoryBlobStore { root }
    }
}

fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> BlobError + '_ {
    move |source| BlobError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[async_trait]
impl BlobStore for DirectoryBlobStore {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        let path = self.root.join(checked(key)?);
        let bytes = bytes.to_vec();
        tokio::task::spawn_blocking(move || {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io_error(parent))?;
            }
            // A temporary file beside the target, synced, renamed into place: a reader sees
            // the old file or the whole new one.
            let temporary = path.with_extension("zip.tmp");
            let mut file = std::fs::File::create(&temporary).map_err(io_error(&temporary))?;
            file.write_all(&bytes).map_err(io_error(&temporary))?;
            file.sync_all().map_err(io_error(&temporary))?;
            std::fs::rename(&temporary, &path).map_err(io_error(&path))?;
            Ok(())
        })
        .await
        .map_err(|e| BlobError::Storage(StorageError::Task(e.to_string())))?
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        let path = self.root.join(checked(key)?);
        tokio::task::spawn_blocking(move || match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path)(e)),
        })
        .await
        .map_err(|e| BlobError::Storage(StorageError::Task(e.to_string())))?
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.root.join(checked(key)?);
        tokio::task::spawn_blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(&path)(e)),
        })
        .await
        .map_err(|e| BlobError::Storage(StorageError::Task(e.to_string())))?
    }

    fn kind(&self) -> &'static str {
        "directory"
    }

    /// The listing's path: the directory keeps the layout a CDN or nginx serves.
    fn key_for(&self, path: &str, _sha256: &str) -> String {
        path.to_string()
    }
}

/// Export files in the `ks_export_blobs` table (SQLite or PostgreSQL).
#[derive(Debug, Clone)]
pub struct DatabaseBlobStore {
    database: Database,
}

impl DatabaseBlobStore {
    /// A store on `database` (with the key server's migrations applied).
    pub fn new(database: Database) -> Self {
        DatabaseBlobStore { database }
    }
}

#[async_trait]
impl BlobStore for DatabaseBlobStore {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        let key = checked(key)?.to_string();
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        match &self.database {
            Database::Sqlite(pool) => {
                let bytes = bytes.to_vec();
                pool.call(move |c| {
                    c.execute(
                        "INSERT INTO ks_export_blobs (blob_key, bytes, size_bytes) VALUES (?1, ?2, ?3)
                         ON CONFLICT (blob_key) DO UPDATE SET bytes = excluded.bytes,
                         size_bytes = excluded.size_bytes",
                        rusqlite::params![key, bytes, size],
                    )?;
                    Ok::<_, StorageError>(())
                })
                .await?
            }
            Database::Postgres(pool) => {
                let client = pool.get().await.map_err(StorageError::from)?;
                client
                    .execute(
                        "INSERT INTO ks_export_blobs (blob_key, bytes, size_bytes) VALUES ($1, $2, $3)
                         ON CONFLICT (blob_key) DO UPDATE SET bytes = EXCLUDED.bytes,
                         size_bytes = EXCLUDED.size_bytes",
                        &[&key, &bytes, &size],
                    )
                    .await
                    .map_err(StorageError::from)?;
            }
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        let key = checked(key)?.to_string();
        Ok(match &self.database {
            Database::Sqlite(pool) => {
                pool.call(move |c| {
                    let bytes: Option<Vec<u8>> = c
                        .query_row(
                            "SELECT bytes FROM ks_export_blobs WHERE blob_key = ?1",
                            rusqlite::params![key],
                            |row| row.get(0),
                        )
                        .optional()?;
                    Ok::<_, StorageError>(bytes)
                })
                .await?
            }
            Database::Postgres(pool) => {
                let client = pool.get().await.map_err(StorageError::from)?;
                client
                    .query_opt(
                        "SELECT bytes FROM ks_export_blobs WHERE blob_key = $1",
                        &[&key],
                    )
                    .await
                    .map_err(StorageError::from)?
                    .map(|row| row.get(0))
            }
        })
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let key = checked(key)?.to_string();
        match &self.database {
            Database::Sqlite(pool) => {
                pool.call(move |c| {
                    c.execute(
                        "DELETE FROM ks_export_blobs WHERE blob_key = ?1",
                        rusqlite::params![key],
                    )?;
                    Ok::<_, StorageError>(())
                })
                .await?
            }
            Database::Postgres(pool) => {
                let client = pool.get().await.map_err(StorageError::from)?;
                client
                    .execute("DELETE FROM ks_export_blobs WHERE blob_key = $1", &[&key])
                    .await
                    .map_err(StorageError::from)?;
            }
        }
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "database"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_relative_export_paths() {
        assert!(valid_key("440/1700000000-1700003600-00001.zip"));
        assert!(valid_key("manifest.jsonl"));
        for bad in [
            "",
            "/etc/passwd",
            "../x.zip",
            "440/../../x",
            "440//x.zip",
            "a\\b",
            "440/x y.zip",
            "440/./x",
        ] {
            assert!(!valid_key(bad), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn the_directory_store_conforms() {
        let dir = tempfile::tempdir().unwrap();
        conformance::blob_store(&DirectoryBlobStore::new(dir.path().to_path_buf())).await;
    }

    #[tokio::test]
    async fn the_directory_store_writes_reads_replaces_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirectoryBlobStore::new(dir.path().to_path_buf());
        let key = "440/1-2-00001.zip";
        assert_eq!(store.get(key).await.unwrap(), None);
        store.put(key, b"first").await.unwrap();
        store.put(key, b"second").await.unwrap();
        assert_eq!(
            store.get(key).await.unwrap().as_deref(),
            Some(&b"second"[..])
        );
        assert_eq!(
            std::fs::read(dir.path().join(key)).unwrap(),
            b"second",
            "the CDN layout"
        );
        store.delete(key).await.unwrap();
        store.delete(key).await.unwrap();
        assert_eq!(store.get(key).await.unwrap(), None);
        assert!(matches!(
            store.put("../escape.zip", b"x").await,
            Err(BlobError::InvalidKey(_))
        ));
    }
}
