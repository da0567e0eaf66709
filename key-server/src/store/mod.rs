//! Key-server storage: diagnosis keys, export files and checkpoints, export-signing keys and
//! server secrets, behind one trait with a SQLite and a PostgreSQL implementation
//! ([`DatabaseKeyServerStore`]); both pass [`conformance::key_server_store`].

mod postgres;
mod sqlite;

use async_trait::async_trait;
use mimamori_crypto::export::{DiagnosisKey, ReportType};
use mimamori_crypto::keys::Tek;
use mimamori_storage::{Database, Migration, MigrationSet, StorageError};

/// The key server's migrations.
pub const MIGRATIONS: MigrationSet = MigrationSet {
    component: "key_server",
    migrations: &[
        Migration {
            version: 1,
            name: "keys_exports_signing",
            sqlite: include_str!("sql/sqlite_v1.sql"),
            postgres: include_str!("sql/postgres_v1.sql"),
        },
        Migration {
            version: 2,
            name: "cocoa_event_logs",
            sqlite: include_str!("sql/event_log_v2.sql"),
            postgres: include_str!("sql/event_log_v2.sql"),
        },
        Migration {
            version: 3,
            name: "export_blobs",
            sqlite: include_str!("sql/export_blobs_v3.sql"),
            postgres: include_str!("sql/export_blobs_v3.sql"),
        },
    ],
};

/// A key to store with its provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    /// Region.
    pub region: String,
    /// The key and its metadata.
    pub key: DiagnosisKey,
    /// When it may first be exported (Unix ms; later than now for embargoed keys).
    pub available_at_ms: i64,
    /// The certificate (or processing-number claim) it was published under.
    pub certificate_id: Option<String>,
    /// The health authority (certificate issuer).
    pub health_authority: Option<String>,
    /// Whether the uploader travelled.
    pub traveler: bool,
}

/// A revision of a stored key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRevision {
    /// Region.
    pub region: String,
    /// The key bytes.
    pub key_data: [u8; 16],
    /// New report type.
    pub report_type: ReportType,
    /// New transmission risk.
    pub transmission_risk: i32,
    /// New days since onset.
    pub days_since_onset: Option<i32>,
}

/// What is stored about a key that a publish names again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExistingKey {
    /// The report type it was published with.
    pub report_type: ReportType,
    /// The report type it was revised to, if any.
    pub revised_report_type: Option<ReportType>,
}

/// The result of storing a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublishOutcome {
    /// Keys newly inserted.
    pub inserted: usize,
    /// Keys revised.
    pub revised: usize,
}

/// One export file as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFileRecord {
    /// Region.
    pub region: String,
    /// Window start, Unix seconds.
    pub start_s: i64,
    /// Window end (bumped per split file), Unix seconds.
    pub end_s: i64,
    /// Batch number (1-based).
    pub batch_num: i32,
    /// Files in the batch.
    pub batch_size: i32,
    /// Path relative to the export root, e.g. `440/1700000000-1700003600-00001.zip`.
    pub path: String,
    /// SHA-256 of the zip, hex.
    pub sha256: String,
    /// Zip size in bytes.
    pub size_bytes: i64,
    /// Keys in the file (real and padding).
    pub key_count: i64,
    /// When it was written, Unix ms.
    pub created_at_ms: i64,
}

/// One consented entry of COCOA's operational event log (no personal data: the type, the
/// device's timestamp and the validated content; no address, device or key material).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLogRecord {
    /// SHA-256 of the idempotency key and the entry's clear text (a resend is a no-op).
    pub id: [u8; 32],
    /// When the server received it, Unix ms.
    pub received_at_ms: i64,
    /// `android` or `ios`.
    pub platform: String,
    /// Event type (`ExposureNotification`, `survey`).
    pub event_type: String,
    /// Event subtype (`ExposureNotified`, `survey`).
    pub subtype: String,
    /// The device's time of the event, Unix seconds.
    pub epoch_s: i64,
    /// The validated content, compact JSON.
    pub content: String,
}

/// A stored export-signing key.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// Key id apps are configured with (e.g. "440").
    pub key_id: String,
    /// Key version (e.g. "v1").
    pub key_version: String,
    /// PKCS#8 DER of the P-256 private key.
    pub private_pkcs8: Vec<u8>,
    /// When it was created, Unix ms.
    pub created_at_ms: i64,
    /// From when it signs, Unix ms.
    pub activates_at_ms: i64,
    /// From when it no longer signs, Unix ms.
    pub retires_at_ms: Option<i64>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("key_id", &self.key_id)
            .field("key_version", &self.key_version)
            .field("private_pkcs8", &"[REDACTED]")
            .field("activates_at_ms", &self.activates_at_ms)
            .field("retires_at_ms", &self.retires_at_ms)
            .finish()
    }
}

impl SigningKeyRecord {
    /// Whether it signs at `now_ms`.
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.activates_at_ms <= now_ms && self.retires_at_ms.is_none_or(|r| r > now_ms)
    }
}

/// Storage of the key server.
#[async_trait]
pub trait KeyServerStore: Send + Sync {
    /// The stored state of those of `keys` that exist in `region`.
    async fn existing_keys(
        &self,
        region: &str,
        keys: &[[u8; 16]],
    ) -> Result<Vec<([u8; 16], ExistingKey)>, StorageError>;

    /// Inserts `new` keys (existing ones are left untouched: idempotent) and applies
    /// `revisions` to keys not revised before, in one transaction. `now_ms` stamps
    /// creation (truncated to the hour) and revision times.
    async fn publish(
        &self,
        new: &[NewKey],
        revisions: &[KeyRevision],
        now_ms: i64,
    ) -> Result<PublishOutcome, StorageError>;

    /// Fast path of a publish without revisions: inserts `new` (all of one region and report
    /// type) unless one of them is already stored with a different report type. Returns
    /// `Some(inserted)` (re-published identical keys count as present, not inserted), or
    /// `None` when a conflicting key exists — then nothing was stored and the caller takes the
    /// full path ([`KeyServerStore::existing_keys`] and [`KeyServerStore::publish`]).
    async fn insert_unless_conflicting(
        &self,
        new: &[NewKey],
        now_ms: i64,
    ) -> Result<Option<usize>, StorageError> {
        let mut results = self
            .insert_many_unless_conflicting(&[new.to_vec()], now_ms)
            .await?;
        Ok(results.pop().flatten())
    }

    /// [`KeyServerStore::insert_unless_conflicting`] for several publishes at once (one
    /// transaction): each batch is decided on its own; the result is per batch, in order.
    async fn insert_many_unless_conflicting(
        &self,
        batches: &[Vec<NewKey>],
        now_ms: i64,
    ) -> Result<Vec<Option<usize>>, StorageError>;

    /// Keys of `region` that became available in [`from_ms`, `to_ms`), with their current
    /// (possibly revised) metadata; revoked keys are left out.
    async fn keys_available(
        &self,
        region: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<DiagnosisKey>, StorageError>;

    /// Keys of `region` revised in [`from_ms`, `to_ms`) that had been available before
    /// `from_ms` (so devices saw the original), with the revised metadata.
    async fn revised_keys(
        &self,
        region: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<DiagnosisKey>, StorageError>;

    /// Revokes every key published under `certificate_ids`; returns how many changed.
    async fn revoke_by_certificates(
        &self,
        certificate_ids: &[String],
        now_ms: i64,
    ) -> Result<u64, StorageError>;

    /// Deletes keys created before `cutoff_ms`; returns how many.
    async fn delete_keys_created_before(&self, cutoff_ms: i64) -> Result<u64, StorageError>;

    /// The end (Unix s) of the last exported window of `region`.
    async fn export_checkpoint(&self, region: &str) -> Result<Option<i64>, StorageError>;

    /// Records a window's files and advances the checkpoint to `window_end_s`, atomically;
    /// returns false (and records nothing) if the checkpoint was already there (another
    /// replica exported it).
    async fn record_export(
        &self,
        region: &str,
        window_end_s: i64,
        files: &[ExportFileRecord],
    ) -> Result<bool, StorageError>;

    /// Live export files, oldest first (by window start, then batch); all regions when `None`.
    async fn export_files(
        &self,
        region: Option<&str>,
    ) -> Result<Vec<ExportFileRecord>, StorageError>;

    /// Unlists files created before `cutoff_ms` (at `now_ms`) and returns them, so they can
    /// be deleted from disk after no listing points at them any more.
    async fn unlist_exports_created_before(
        &self,
        cutoff_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<ExportFileRecord>, StorageError>;

    /// Every export-signing key.
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StorageError>;

    /// Adds a signing key; false if (key_id, key_version) exists.
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<bool, StorageError>;

    /// Sets when a signing key stops signing.
    async fn retire_signing_key(
        &self,
        key_id: &str,
        key_version: &str,
        retires_at_ms: i64,
    ) -> Result<bool, StorageError>;

    /// The secret `name`, storing `candidate` first if none exists (first writer wins).
    async fn secret_or_insert(&self, name: &str, candidate: &[u8])
    -> Result<Vec<u8>, StorageError>;

    /// Number of stored keys (operations and tests).
    async fn count_keys(&self) -> Result<i64, StorageError>;

    /// Stores event-log entries, skipping ids already stored; returns how many were new.
    async fn insert_event_logs(&self, entries: &[EventLogRecord]) -> Result<u64, StorageError>;

    /// Deletes event-log entries received before `before_ms`; returns how many.
    async fn purge_event_logs(&self, before_ms: i64) -> Result<u64, StorageError>;

    /// Entries received at or after `since_ms` by (type, subtype), for operators.
    async fn event_log_counts(
        &self,
        since_ms: i64,
    ) -> Result<Vec<(String, String, i64)>, StorageError>;
}

/// [`KeyServerStore`] over either backend.
#[derive(Debug, Clone)]
pub struct DatabaseKeyServerStore {
    database: Database,
}

impl DatabaseKeyServerStore {
    /// A store on `database` (with [`MIGRATIONS`] applied).
    pub fn new(database: Database) -> Self {
        DatabaseKeyServerStore { database }
    }
}

/// Creation times are truncated to the hour (privacy: no exact publish times at rest).
pub(crate) fn truncate_to_hour(ms: i64) -> i64 {
    ms - ms.rem_euclid(3_600_000)
}

pub(crate) fn key_from_row(
    key_data: &[u8],
    rolling_start: i64,
    rolling_period: i64,
    transmission_risk: i64,
    report_type: i64,
    days_since_onset: Option<i64>,
) -> Result<DiagnosisKey, StorageError> {
    let corrupt = |what: &str| StorageError::Task(format!("corrupt key row: {what}"));
    Ok(DiagnosisKey {
        key_data: Tek::from_slice(key_data).map_err(|_| corrupt("key length"))?,
        rolling_start_interval_number: u32::try_from(rolling_start)
            .map_err(|_| corrupt("start"))?,
        rolling_period: u32::try_from(rolling_period).map_err(|_| corrupt("period"))?,
        transmission_risk_level: i32::try_from(transmission_risk).map_err(|_| corrupt("risk"))?,
        report_type: i32::try_from(report_type)
            .ok()
            .and_then(ReportType::from_i32)
            .ok_or_else(|| corrupt("report type"))?,
        days_since_onset_of_symptoms: days_since_onset.and_then(|d| i32::try_from(d).ok()),
    })
}

pub(crate) fn report_type_from(value: i64) -> Result<ReportType, StorageError> {
    i32::try_from(value)
        .ok()
        .and_then(ReportType::from_i32)
        .ok_or_else(|| StorageError::Task(format!("corrupt report type {value}")))
}

#[async_trait]
impl KeyServerStore for DatabaseKeyServerStore {
    async fn existing_keys(
        &self,
        region: &str,
        keys: &[[u8; 16]],
    ) -> Result<Vec<([u8; 16], ExistingKey)>, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => sqlite::existing_keys(pool, region, keys).await,
            Database::Postgres(pool) => postgres::existing_keys(pool, region, keys).await,
        }
    }

    async fn publish(
        &self,
        new: &[NewKey],
        revisions: &[KeyRevision],
        now_ms: i64,
    ) -> Result<PublishOutcome, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => sqlite::publish(pool, new, revisions, now_ms).await,
            Database::Postgres(pool) => postgres::publish(pool, new, revisions, now_ms).await,
        }
    }

    async fn insert_many_unless_conflicting(
        &self,
        batches: &[Vec<NewKey>],
        now_ms: i64,
    ) -> Result<Vec<Option<usize>>, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => {
                sqlite::insert_many_unless_conflicting(pool, batches, now_ms).await
            }
            Database::Postgres(pool) => {
                postgres::insert_many_unless_conflicting(pool, batches, now_ms).await
            }
        }
    }

    async fn keys_available(
        &self,
        region: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<DiagnosisKey>, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => sqlite::keys_available(pool, region, from_ms, to_ms).await,
            Database::Postgres(pool) => {
                postgres::keys_available(pool, region, from_ms, to_ms).await
            }
        }
    }

    async fn revised_keys(
        &self,
        region: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<DiagnosisKey>, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => sqlite::revised_keys(pool, region, from_ms, to_ms).await,
            Database::Postgres(pool) => postgres::revised_keys(pool, region, from_ms, to_ms).await,
        }
    }

    async fn revoke_by_certificates(
        &self,
        certificate_ids: &[String],
        now_ms: i64,
    ) -> Result<u64, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => sqlite::revoke(pool, certificate_ids, now_ms).await,
            Database::Postgres(pool) => postgres::revoke(pool, certificate_ids, now_ms).await,
        }
    }

    async fn delete_keys_created_before(&self, cutoff_ms: i64) -> Result<u64, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => sqlite::delete_keys_before(pool, cutoff_ms).await,
            Database::Postgres(pool) => postgres::delete_keys_before(pool, cutoff_ms).await,
        }
    }

    async fn export_checkpoint(&self, region: &str) -> Result<Option<i64>, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => sqlite::checkpoint(pool, region).await,
            Database::Postgres(pool) => postgres::checkpoint(pool, region).await,
        }
    }

    async fn record_export(
        &self,
        region: &str,
        window_end_s: i64,
        files: &[ExportFileRecord],
    ) -> Result<bool, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => {
                sqlite::record_export(pool, region, window_end_s, files).await
            }
            Database::Postgres(pool) => {
                postgres::record_export(pool, region, window_end_s, files).await
            }
        }
    }

    async fn export_files(
        &self,
        region: Option<&str>,
    ) -> Result<Vec<ExportFileRecord>, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => sqlite::export_files(pool, region).await,
            Database::Postgres(pool) => postgres::export_files(pool, region).await,
        }
    }

    async fn unlist_exports_created_before(
        &self,
        cutoff_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<ExportFileRecord>, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => sqlite::unlist_exports_before(pool, cutoff_ms, now_ms).await,
            Database::Postgres(pool) => {
                postgres::unlist_exports_before(pool, cutoff_ms, now_ms).await
            }
        }
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => sqlite::signing_keys(pool).await,
            Database::Postgres(pool) => postgres::signing_keys(pool).await,
        }
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<bool, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => sqlite::insert_signing_key(pool, key).await,
            Database::Postgres(pool) => postgres::insert_signing_key(pool, key).await,
        }
    }

    async fn retire_signing_key(
        &self,
        key_id: &str,
        key_version: &str,
        retires_at_ms: i64,
    ) -> Result<bool, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => {
                sqlite::retire_signing_key(pool, key_id, key_version, retires_at_ms).await
            }
            Database::Postgres(pool) => {
                postgres::retire_signing_key(pool, key_id, key_version, retires_at_ms).await
            }
        }
    }

    async fn secret_or_insert(
        &self,
        name: &str,
        candidate: &[u8],
    ) -> Result<Vec<u8>, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => sqlite::secret_or_insert(pool, name, candidate).await,
            Database::Postgres(pool) => postgres::secret_or_insert(pool, name, candidate).await,
        }
    }

    async fn count_keys(&self) -> Result<i64, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => sqlite::count_keys(pool).await,
            Database::Postgres(pool) => postgres::count_keys(pool).await,
        }
    }

    async fn insert_event_logs(&self, entries: &[EventLogRecord]) -> Result<u64, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => sqlite::insert_event_logs(pool, entries).await,
            Database::Postgres(pool) => postgres::insert_event_logs(pool, entries).await,
        }
    }

    async fn purge_event_logs(&self, before_ms: i64) -> Result<u64, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => sqlite::purge_event_logs(pool, before_ms).await,
            Database::Postgres(pool) => postgres::purge_event_logs(pool, before_ms).await,
        }
    }

    async fn event_log_counts(
        &self,
        since_ms: i64,
    ) -> Result<Vec<(String, String, i64)>, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => sqlite::event_log_counts(pool, since_ms).await,
            Database::Postgres(pool) => postgres::event_log_counts(pool, since_ms).await,
        }
    }
}

#[cfg(feature = "testing")]
pub mod conformance;
