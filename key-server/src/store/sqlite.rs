//! The SQLite side of [`super::KeyServerStore`].

use mimamori_crypto::export::{DiagnosisKey, ReportType};
use mimamori_storage::{SqlitePool, StorageError};
use rusqlite::{OptionalExtension, params};

use super::{
    ExistingKey, ExportFileRecord, KeyRevision, NewKey, PublishOutcome, SigningKeyRecord,
    key_from_row, report_type_from, truncate_to_hour,
};

const KEY_COLUMNS_CURRENT: &str = "key_data, rolling_start, rolling_period,
    COALESCE(revised_transmission_risk, transmission_risk),
    COALESCE(revised_report_type, report_type),
    CASE WHEN revised_report_type IS NULL THEN days_since_onset ELSE revised_days_since_onset END";

fn key_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<DiagnosisKey, StorageError>> {
    let data: Vec<u8> = row.get(0)?;
    Ok(key_from_row(
        &data,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

const INSERT_KEY: &str = "INSERT INTO ks_keys (region, key_data, rolling_start, rolling_period,
        transmission_risk, report_type, days_since_onset, created_at_ms, available_at_ms,
        certificate_id, health_authority, traveler)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
     ON CONFLICT (region, key_data) DO NOTHING";

/// Inserts one key with [`INSERT_KEY`]; returns 1 if it was new, 0 if it existed.
fn insert_key(
    statement: &mut rusqlite::CachedStatement<'_>,
    key: &NewKey,
    now_ms: i64,
) -> rusqlite::Result<usize> {
    statement.execute(params![
        key.region,
        key.key.key_data.as_bytes().as_slice(),
        key.key.rolling_start_interval_number,
        key.key.rolling_period,
        key.key.transmission_risk_level,
        key.key.report_type.as_i32(),
        key.key.days_since_onset_of_symptoms,
        truncate_to_hour(now_ms),
        key.available_at_ms,
        key.certificate_id,
        key.health_authority,
        key.traveler,
    ])
}

pub(super) async fn existing_keys(
    pool: &SqlitePool,
    region: &str,
    keys: &[[u8; 16]],
) -> Result<Vec<([u8; 16], ExistingKey)>, StorageError> {
    let (region, keys) = (region.to_string(), keys.to_vec());
    pool.call(move |c| {
        let mut statement = c.prepare_cached(
            "SELECT report_type, revised_report_type FROM ks_keys WHERE region = ?1 AND key_data = ?2",
        )?;
        let mut found = Vec::new();
        for key in keys {
            let row = statement
                .query_row(params![region, key.as_slice()], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?))
                })
                .optional()?;
            if let Some((report_type, revised)) = row {
                found.push((
                    key,
                    ExistingKey {
                        report_type: report_type_from(report_type)?,
                        revised_report_type: revised.map(report_type_from).transpose()?,
                    },
                ));
            }
        }
        Ok(found)
    })
    .await
}

pub(super) async fn publish(
    pool: &SqlitePool,
    new: &[NewKey],
    revisions: &[KeyRevision],
    now_ms: i64,
) -> Result<PublishOutcome, StorageError> {
    let (new, revisions) = (new.to_vec(), revisions.to_vec());
    pool.call(move |c| {
        let transaction = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut outcome = PublishOutcome::default();
        {
            let mut insert = transaction.prepare_cached(INSERT_KEY)?;
            for key in &new {
                outcome.inserted += insert_key(&mut insert, key, now_ms)?;
            }
            let mut revise = transaction.prepare_cached(
                "UPDATE ks_keys SET revised_report_type = ?3, revised_transmission_risk = ?4,
                    revised_days_since_onset = ?5, revised_at_ms = ?6
                 WHERE region = ?1 AND key_data = ?2 AND revised_report_type IS NULL",
            )?;
            for revision in &revisions {
                outcome.revised += revise.execute(params![
                    revision.region,
                    revision.key_data.as_slice(),
                    revision.report_type.as_i32(),
                    revision.transmission_risk,
                    revision.days_since_onset,
                    now_ms,
                ])?;
            }
        }
        transaction.commit()?;
        Ok(outcome)
    })
    .await
}

pub(super) async fn insert_many_unless_conflicting(
    pool: &SqlitePool,
    batches: &[Vec<NewKey>],
    now_ms: i64,
) -> Result<Vec<Option<usize>>, StorageError> {
    let batches = batches.to_vec();
    pool.call(move |c| {
        let transaction = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut results = Vec::with_capacity(batches.len());
        for new in &batches {
            results.push(insert_one_unless_conflicting(&transaction, new, now_ms)?);
        }
        transaction.commit()?;
        Ok(results)
    })
    .await
}

fn insert_one_unless_conflicting(
    transaction: &rusqlite::Transaction<'_>,
    new: &[NewKey],
    now_ms: i64,
) -> Result<Option<usize>, StorageError> {
    {
        let mut conflict = transaction.prepare_cached(
            "SELECT 1 FROM ks_keys WHERE region = ?1 AND key_data = ?2
                   AND COALESCE(revised_report_type, report_type) <> ?3",
        )?;
        for key in new {
            if conflict.exists(params![
                key.region,
                key.key.key_data.as_bytes().as_slice(),
                key.key.report_type.as_i32()
            ])? {
                return Ok(None);
            }
        }
    }
    let mut inserted = 0;
    {
        let mut insert = transaction.prepare_cached(INSERT_KEY)?;
        for key in new {
            inserted += insert_key(&mut insert, key, now_ms)?;
        }
    }
    Ok(Some(inserted))
}

pub(super) async fn keys_available(
    pool: &SqlitePool,
    region: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<DiagnosisKey>, StorageError> {
    let region = region.to_string();
    pool.call(move |c| {
        let mut statement = c.prepare_cached(&format!(
            "SELECT {KEY_COLUMNS_CURRENT} FROM ks_keys
             WHERE region = ?1 AND available_at_ms >= ?2 AND available_at_ms < ?3
               AND COALESCE(revised_report_type, report_type) <> ?4"
        ))?;
        let rows = statement.query_map(
            params![region, from_ms, to_ms, ReportType::Revoked.as_i32()],
            key_row,
        )?;
        let mut keys = Vec::new();
        for row in rows {
            keys.push(row??);
        }
        Ok(keys)
    })
    .await
}

pub(super) async fn revised_keys(
    pool: &SqlitePool,
    region: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<DiagnosisKey>, StorageError> {
    let region = region.to_string();
    pool.call(move |c| {
        let mut statement = c.prepare_cached(&format!(
            "SELECT {KEY_COLUMNS_CURRENT} FROM ks_keys
             WHERE region = ?1 AND revised_at_ms >= ?2 AND revised_at_ms < ?3
               AND available_at_ms < ?2"
        ))?;
        let rows = statement.query_map(params![region, from_ms, to_ms], key_row)?;
        let mut keys = Vec::new();
        for row in rows {
            keys.push(row??);
        }
        Ok(keys)
    })
    .await
}

pub(super) async fn revoke(
    pool: &SqlitePool,
    certificate_ids: &[String],
    now_ms: i64,
) -> Result<u64, StorageError> {
    let ids = certificate_ids.to_vec();
    pool.call(move |c| {
        let transaction = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut changed = 0u64;
        {
            let mut statement = transaction.prepare_cached(
                "UPDATE ks_keys SET revised_report_type = ?2, revised_at_ms = ?3,
                    revised_transmission_risk = transmission_risk,
                    revised_days_since_onset = days_since_onset
                 WHERE certificate_id = ?1
                   AND (revised_report_type IS NULL OR revised_report_type <> ?2)",
            )?;
            for id in &ids {
                changed +=
                    statement.execute(params![id, ReportType::Revoked.as_i32(), now_ms])? as u64;
            }
        }
        transaction.commit()?;
        Ok(changed)
    })
    .await
}

pub(super) async fn delete_keys_before(
    pool: &SqlitePool,
    cutoff_ms: i64,
) -> Result<u64, StorageError> {
    pool.call(move |c| {
        Ok(c.execute(
            "DELETE FROM ks_keys WHERE created_at_ms < ?1",
            params![cutoff_ms],
        )? as u64)
    })
    .await
}

pub(super) async fn checkpoint(
    pool: &SqlitePool,
    region: &str,
) -> Result<Option<i64>, StorageError> {
    let region = region.to_string();
    pool.call(move |c| {
        Ok(c.query_row(
            "SELECT last_window_end_s FROM ks_export_checkpoints WHERE region = ?1",
            params![region],
            |r| r.get(0),
        )
        .optional()?)
    })
    .await
}

pub(super) async fn record_export(
    pool: &SqlitePool,
    region: &str,
    window_end_s: i64,
    files: &[ExportFileRecord],
) -> Result<bool, StorageError> {
    let (region, files) = (region.to_string(), files.to_vec());
    pool.call(move |c| {
        let transaction = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let current: Option<i64> = transaction
            .query_row(
                "SELECT last_window_end_s FROM ks_export_checkpoints WHERE region = ?1",
                params![region],
                |r| r.get(0),
            )
            .optional()?;
        if current.is_some_and(|c| c >= window_end_s) {
            return Ok(false);
        }
        transaction.execute(
            "INSERT INTO ks_export_checkpoints (region, last_window_end_s) VALUES (?1, ?2)
             ON CONFLICT (region) DO UPDATE SET last_window_end_s = excluded.last_window_end_s",
            params![region, window_end_s],
        )?;
        for file in &files {
            transaction.execute(
                "INSERT INTO ks_export_files (region, start_s, end_s, batch_num, batch_size, path,
                    sha256, size_bytes, key_count, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    file.region,
                    file.start_s,
                    file.end_s,
                    file.batch_num,
                    file.batch_size,
                    file.path,
                    file.sha256,
                    file.size_bytes,
                    file.key_count,
                    file.created_at_ms
                ],
            )?;
        }
        transaction.commit()?;
        Ok(true)
    })
    .await
}

fn file_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ExportFileRecord> {
    Ok(ExportFileRecord {
        region: r.get(0)?,
        start_s: r.get(1)?,
        end_s: r.get(2)?,
        batch_num: r.get(3)?,
        batch_size: r.get(4)?,
        path: r.get(5)?,
        sha256: r.get(6)?,
        size_bytes: r.get(7)?,
        key_count: r.get(8)?,
        created_at_ms: r.get(9)?,
    })
}

const FILE_COLUMNS: &str = "region, start_s, end_s, batch_num, batch_size, path, sha256, size_bytes, key_count, created_at_ms";

pub(super) async fn export_files(
    pool: &SqlitePool,
    region: Option<&str>,
) -> Result<Vec<ExportFileRecord>, StorageError> {
    let region = region.map(str::to_string);
    pool.call(move |c| {
        let mut statement = c.prepare_cached(&format!(
            "SELECT {FILE_COLUMNS} FROM ks_export_files
             WHERE unlisted_at_ms IS NULL AND (?1 IS NULL OR region = ?1)
             ORDER BY start_s, region, batch_num, id"
        ))?;
        let rows = statement.query_map(params![region], file_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })
    .await
}

pub(super) async fn unlist_exports_before(
    pool: &SqlitePool,
    cutoff_ms: i64,
    now_ms: i64,
) -> Result<Vec<ExportFileRecord>, StorageError> {
    pool.call(move |c| {
        let transaction = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let files = {
            let mut statement = transaction.prepare(&format!(
                "UPDATE ks_export_files SET unlisted_at_ms = ?2
                 WHERE unlisted_at_ms IS NULL AND created_at_ms < ?1
                 RETURNING {FILE_COLUMNS}"
            ))?;
            let rows = statement.query_map(params![cutoff_ms, now_ms], file_row)?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        transaction.commit()?;
        Ok(files)
    })
    .await
}

pub(super) async fn signing_keys(pool: &SqlitePool) -> Result<Vec<SigningKeyRecord>, StorageError> {
    pool.call(move |c| {
        let mut statement = c.prepare_cached(
            "SELECT key_id, key_version, private_pkcs8, created_at_ms, activates_at_ms, retires_at_ms
             FROM ks_signing_keys ORDER BY activates_at_ms DESC, key_version DESC",
        )?;
        let rows = statement.query_map([], |r| {
            Ok(SigningKeyRecord {
                key_id: r.get(0)?,
                key_version: r.get(1)?,
                private_pkcs8: r.get(2)?,
                created_at_ms: r.get(3)?,
                activates_at_ms: r.get(4)?,
                retires_at_ms: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })
    .await
}

pub(super) async fn insert_signing_key(
    pool: &SqlitePool,
    key: &SigningKeyRecord,
) -> Result<bool, StorageError> {
    let key = key.clone();
    pool.call(move |c| {
        Ok(c.execute(
            "INSERT INTO ks_signing_keys (key_id, key_version, private_pkcs8, created_at_ms,
                activates_at_ms, retires_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (key_id, key_version) DO NOTHING",
            params![
                key.key_id,
                key.key_version,
                key.private_pkcs8,
                key.created_at_ms,
                key.activates_at_ms,
                key.retires_at_ms
            ],
        )? > 0)
    })
    .await
}

pub(super) async fn retire_signing_key(
    pool: &SqlitePool,
    key_id: &str,
    key_version: &str,
    retires_at_ms: i64,
) -> Result<bool, StorageError> {
    let (key_id, key_version) = (key_id.to_string(), key_version.to_string());
    pool.call(move |c| {
        Ok(c.execute(
            "UPDATE ks_signing_keys SET retires_at_ms = ?3 WHERE key_id = ?1 AND key_version = ?2",
            params![key_id, key_version, retires_at_ms],
        )? > 0)
    })
    .await
}

pub(super) async fn secret_or_insert(
    pool: &SqlitePool,
    name: &str,
    candidate: &[u8],
) -> Result<Vec<u8>, StorageError> {
    let (name, candidate) = (name.to_string(), candidate.to_vec());
    pool.call(move |c| {
        c.execute(
            "INSERT INTO ks_secrets (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
            params![name, candidate],
        )?;
        Ok(c.query_row(
            "SELECT value FROM ks_secrets WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )?)
    })
    .await
}

pub(super) async fn count_keys(pool: &SqlitePool) -> Result<i64, StorageError> {
    pool.call(|c| Ok(c.query_row("SELECT COUNT(*) FROM ks_keys", [], |r| r.get(0))?))
        .await
}

pub(super) async fn insert_event_logs(
    pool: &SqlitePool,
    entries: &[super::EventLogRecord],
) -> Result<u64, StorageError> {
    let entries = entries.to_vec();
    pool.call(move |c| {
        let transaction = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut inserted = 0u64;
        {
            let mut statement = transaction.prepare_cached(
                "INSERT INTO ks_event_logs (id, received_at_ms, platform, event_type, subtype, epoch_s, content)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING",
            )?;
            for e in &entries {
                inserted += statement.execute(params![
                    e.id.as_slice(),
                    e.received_at_ms,
                    e.platform,
                    e.event_type,
                    e.subtype,
                    e.epoch_s,
                    e.content
                ])? as u64;
            }
        }
        transaction.commit()?;
        Ok(inserted)
    })
    .await
}

pub(super) async fn purge_event_logs(
    pool: &SqlitePool,
    before_ms: i64,
) -> Result<u64, StorageError> {
    pool.call(move |c| {
        Ok(c.execute(
            "DELETE FROM ks_event_logs WHERE received_at_ms < ?1",
            params![before_ms],
        )? as u64)
    })
    .await
}

pub(super) async fn event_log_counts(
    pool: &SqlitePool,
    since_ms: i64,
) -> Result<Vec<(String, String, i64)>, StorageError> {
    pool.call(move |c| {
        let mut statement = c.prepare_cached(
            "SELECT event_type, subtype, COUNT(*) FROM ks_event_logs WHERE received_at_ms >= ?1
             GROUP BY event_type, subtype ORDER BY event_type, subtype",
        )?;
        let rows =
            statement.query_map(params![since_ms], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })
    .await
}
