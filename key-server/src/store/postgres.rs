//! The PostgreSQL side of [`super::KeyServerStore`].
//!
//! A publish is one round trip for the common case: all keys go in one `INSERT ... SELECT
//! FROM UNNEST(...)` with `ON CONFLICT DO NOTHING`.

use mimamori_crypto::export::{DiagnosisKey, ReportType};
use mimamori_storage::{PgPool, StorageError};

use super::{
    ExistingKey, ExportFileRecord, KeyRevision, NewKey, PublishOutcome, SigningKeyRecord,
    key_from_row, report_type_from, truncate_to_hour,
};

const KEY_COLUMNS_CURRENT: &str = "key_data, rolling_start::BIGINT, rolling_period::BIGINT,
    COALESCE(revised_transmission_risk, transmission_risk)::BIGINT,
    COALESCE(revised_report_type, report_type)::BIGINT,
    (CASE WHEN revised_report_type IS NULL THEN days_since_onset ELSE revised_days_since_onset END)::BIGINT";

fn key_row(row: &tokio_postgres::Row) -> Result<DiagnosisKey, StorageError> {
    let data: Vec<u8> = row.try_get(0)?;
    key_from_row(
        &data,
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(3)?,
        row.try_get(4)?,
        row.try_get(5)?,
    )
}

pub(super) async fn existing_keys(
    pool: &PgPool,
    region: &str,
    keys: &[[u8; 16]],
) -> Result<Vec<([u8; 16], ExistingKey)>, StorageError> {
    let client = pool.get().await?;
    let wanted: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
    let rows = client
        .query(
            "SELECT key_data, report_type::BIGINT, revised_report_type::BIGINT FROM ks_keys
             WHERE region = $1 AND key_data = ANY($2)",
            &[&region, &wanted],
        )
        .await?;
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        let data: Vec<u8> = row.try_get(0)?;
        let mut key = [0u8; 16];
        if data.len() != 16 {
            return Err(StorageError::Task("corrupt key row: key length".into()));
        }
        key.copy_from_slice(&data);
        let revised: Option<i64> = row.try_get(2)?;
        found.push((
            key,
            ExistingKey {
                report_type: report_type_from(row.try_get(1)?)?,
                revised_report_type: revised.map(report_type_from).transpose()?,
            },
        ));
    }
    Ok(found)
}

/// Column arrays of a batch of new keys, for `UNNEST`.
struct KeyColumns<'a> {
    regions: Vec<&'a str>,
    data: Vec<&'a [u8]>,
    starts: Vec<i32>,
    periods: Vec<i32>,
    risks: Vec<i32>,
    types: Vec<i32>,
    dsos: Vec<Option<i32>>,
    available: Vec<i64>,
    certificates: Vec<Option<&'a str>>,
    authorities: Vec<Option<&'a str>>,
    travelers: Vec<bool>,
}

type Param<'p> = &'p (dyn tokio_postgres::types::ToSql + Sync);

impl<'a> KeyColumns<'a> {
    /// `$1`..`$12` of the insert statements (`$8` is the creation time).
    fn params<'p>(&'p self, created: &'p i64) -> [Param<'p>; 12] {
        [
            &self.regions,
            &self.data,
            &self.starts,
            &self.periods,
            &self.risks,
            &self.types,
            &self.dsos,
            created,
            &self.available,
            &self.certificates,
            &self.authorities,
            &self.travelers,
        ]
    }

    /// [`KeyColumns::params`] plus `$13`, the publish index of each row.
    fn params_with<'p>(&'p self, created: &'p i64, index: &'p Vec<i32>) -> Vec<Param<'p>> {
        let mut params = self.params(created).to_vec();
        params.push(index);
        params
    }

    fn of(new: &'a [NewKey]) -> Self {
        KeyColumns {
            regions: new.iter().map(|k| k.region.as_str()).collect(),
            data: new
                .iter()
                .map(|k| k.key.key_data.as_bytes().as_slice())
                .collect(),
            starts: new
                .iter()
                .map(|k| i32::try_from(k.key.rolling_start_interval_number).unwrap_or(i32::MAX))
                .collect(),
            periods: new
                .iter()
                .map(|k| i32::try_from(k.key.rolling_period).unwrap_or(i32::MAX))
                .collect(),
            risks: new.iter().map(|k| k.key.transmission_risk_level).collect(),
            types: new.iter().map(|k| k.key.report_type.as_i32()).collect(),
            dsos: new
                .iter()
                .map(|k| k.key.days_since_onset_of_symptoms)
                .collect(),
            available: new.iter().map(|k| k.available_at_ms).collect(),
            certificates: new.iter().map(|k| k.certificate_id.as_deref()).collect(),
            authorities: new.iter().map(|k| k.health_authority.as_deref()).collect(),
            travelers: new.iter().map(|k| k.traveler).collect(),
        }
    }
}

/// One statement, one round trip for many publishes: a publish (`b`) is inserted only if none
/// of its keys is stored with another (current) report type; conflicting publishes are
/// reported and store nothing.
const INSERT_MANY_UNLESS_CONFLICTING: &str = "WITH batch AS (
        SELECT * FROM UNNEST($13::INT[], $1::TEXT[], $2::BYTEA[], $3::INT[], $4::INT[], $5::INT[],
                             $6::INT[], $7::INT[], $9::BIGINT[], $10::TEXT[], $11::TEXT[], $12::BOOL[])
             AS u(b, r, k, s, p, t, rt, d, a, c, h, tr)
    ),
    conflicted AS (
        SELECT DISTINCT batch.b FROM ks_keys
        JOIN batch ON ks_keys.region = batch.r AND ks_keys.key_data = batch.k
        WHERE COALESCE(ks_keys.revised_report_type, ks_keys.report_type) <> batch.rt
    ),
    inserted AS (
        INSERT INTO ks_keys (region, key_data, rolling_start, rolling_period, transmission_risk,
                             report_type, days_since_onset, created_at_ms, available_at_ms,
                             certificate_id, health_authority, traveler)
        SELECT r, k, s, p, t, rt, d, $8, a, c, h, tr FROM batch
        WHERE batch.b NOT IN (SELECT b FROM conflicted)
        ON CONFLICT (region, key_data) DO NOTHING
        RETURNING region, key_data
    )
    SELECT TRUE, b FROM conflicted
    UNION ALL
    SELECT FALSE, batch.b FROM inserted JOIN batch ON inserted.region = batch.r AND inserted.key_data = batch.k";

pub(super) async fn insert_many_unless_conflicting(
    pool: &PgPool,
    batches: &[Vec<NewKey>],
    now_ms: i64,
) -> Result<Vec<Option<usize>>, StorageError> {
    let mut results: Vec<Option<usize>> = vec![Some(0); batches.len()];
    let all: Vec<NewKey> = batches.iter().flatten().cloned().collect();
    if all.is_empty() {
        return Ok(results);
    }
    let index: Vec<i32> = batches
        .iter()
        .enumerate()
        .flat_map(|(i, batch)| {
            std::iter::repeat_n(i32::try_from(i).unwrap_or(i32::MAX), batch.len())
        })
        .collect();
    let client = pool.get().await?;
    let statement = client
        .prepare_cached(INSERT_MANY_UNLESS_CONFLICTING)
        .await?;
    let c = KeyColumns::of(&all);
    let created = truncate_to_hour(now_ms);
    let rows = client
        .query(&statement, &c.params_with(&created, &index))
        .await?;
    for row in rows {
        let conflicted: bool = row.try_get(0)?;
        let batch = usize::try_from(row.try_get::<_, i32>(1)?).unwrap_or(usize::MAX);
        if let Some(slot) = results.get_mut(batch) {
            *slot = if conflicted {
                None
            } else {
                slot.map(|n| n + 1)
            };
        }
    }
    Ok(results)
}

pub(super) async fn publish(
    pool: &PgPool,
    new: &[NewKey],
    revisions: &[KeyRevision],
    now_ms: i64,
) -> Result<PublishOutcome, StorageError> {
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    let mut outcome = PublishOutcome::default();
    if !new.is_empty() {
        let c = KeyColumns::of(new);
        let created = truncate_to_hour(now_ms);
        let inserted = transaction
            .execute(
                "INSERT INTO ks_keys (region, key_data, rolling_start, rolling_period,
                    transmission_risk, report_type, days_since_onset, created_at_ms,
                    available_at_ms, certificate_id, health_authority, traveler)
                 SELECT r, k, s, p, t, rt, d, $8, a, c, h, tr
                 FROM UNNEST($1::TEXT[], $2::BYTEA[], $3::INT[], $4::INT[], $5::INT[], $6::INT[],
                             $7::INT[], $9::BIGINT[], $10::TEXT[], $11::TEXT[], $12::BOOL[])
                      AS u(r, k, s, p, t, rt, d, a, c, h, tr)
                 ON CONFLICT (region, key_data) DO NOTHING",
                &c.params(&created)[..],
            )
            .await?;
        outcome.inserted = usize::try_from(inserted).unwrap_or(usize::MAX);
    }
    for revision in revisions {
        let changed = transaction
            .execute(
                "UPDATE ks_keys SET revised_report_type = $3, revised_transmission_risk = $4,
                    revised_days_since_onset = $5, revised_at_ms = $6
                 WHERE region = $1 AND key_data = $2 AND revised_report_type IS NULL",
                &[
                    &revision.region,
                    &revision.key_data.as_slice(),
                    &revision.report_type.as_i32(),
                    &revision.transmission_risk,
                    &revision.days_since_onset,
                    &now_ms,
                ],
            )
            .await?;
        outcome.revised += usize::try_from(changed).unwrap_or(0);
    }
    transaction.commit().await?;
    Ok(outcome)
}

pub(super) async fn keys_available(
    pool: &PgPool,
    region: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<DiagnosisKey>, StorageError> {
    let client = pool.get().await?;
    let rows = client
        .query(
            &format!(
                "SELECT {KEY_COLUMNS_CURRENT} FROM ks_keys
                 WHERE region = $1 AND available_at_ms >= $2 AND available_at_ms < $3
                   AND COALESCE(revised_report_type, report_type) <> $4"
            ),
            &[&region, &from_ms, &to_ms, &ReportType::Revoked.as_i32()],
        )
        .await?;
    rows.iter().map(key_row).collect()
}

pub(super) async fn revised_keys(
    pool: &PgPool,
    region: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<DiagnosisKey>, StorageError> {
    let client = pool.get().await?;
    let rows = client
        .query(
            &format!(
                "SELECT {KEY_COLUMNS_CURRENT} FROM ks_keys
                 WHERE region = $1 AND revised_at_ms >= $2 AND revised_at_ms < $3
                   AND available_at_ms < $2"
            ),
            &[&region, &from_ms, &to_ms],
        )
        .await?;
    rows.iter().map(key_row).collect()
}

pub(super) async fn revoke(
    pool: &PgPool,
    certificate_ids: &[String],
    now_ms: i64,
) -> Result<u64, StorageError> {
    let client = pool.get().await?;
    Ok(client
        .execute(
            "UPDATE ks_keys SET revised_report_type = $2, revised_at_ms = $3,
                revised_transmission_risk = transmission_risk,
                revised_days_since_onset = days_since_onset
             WHERE certificate_id = ANY($1)
               AND (revised_report_type IS NULL OR revised_report_type <> $2)",
            &[&certificate_ids, &ReportType::Revoked.as_i32(), &now_ms],
        )
        .await?)
}

pub(super) async fn delete_keys_before(pool: &PgPool, cutoff_ms: i64) -> Result<u64, StorageError> {
    let client = pool.get().await?;
    Ok(client
        .execute(
            "DELETE FROM ks_keys WHERE created_at_ms < $1",
            &[&cutoff_ms],
        )
        .await?)
}

pub(super) async fn checkpoint(pool: &PgPool, region: &str) -> Result<Option<i64>, StorageError> {
    let client = pool.get().await?;
    Ok(client
        .query_opt(
            "SELECT last_window_end_s FROM ks_export_checkpoints WHERE region = $1",
            &[&region],
        )
        .await?
        .map(|r| r.get(0)))
}

pub(super) async fn record_export(
    pool: &PgPool,
    region: &str,
    window_end_s: i64,
    files: &[ExportFileRecord],
) -> Result<bool, StorageError> {
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    // Lock the checkpoint row (or the gap where it will be) for this region.
    transaction
        .execute(
            "INSERT INTO ks_export_checkpoints (region, last_window_end_s) VALUES ($1, -1)
             ON CONFLICT (region) DO NOTHING",
            &[&region],
        )
        .await?;
    let current: i64 = transaction
        .query_one(
            "SELECT last_window_end_s FROM ks_export_checkpoints WHERE region = $1 FOR UPDATE",
            &[&region],
        )
        .await?
        .get(0);
    if current >= window_end_s {
        transaction.rollback().await?;
        return Ok(false);
    }
    transaction
        .execute(
            "UPDATE ks_export_checkpoints SET last_window_end_s = $2 WHERE region = $1",
            &[&region, &window_end_s],
        )
        .await?;
    for file in files {
        transaction
            .execute(
                "INSERT INTO ks_export_files (region, start_s, end_s, batch_num, batch_size, path,
                    sha256, size_bytes, key_count, created_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &[
                    &file.region,
                    &file.start_s,
                    &file.end_s,
                    &file.batch_num,
                    &file.batch_size,
                    &file.path,
                    &file.sha256,
                    &file.size_bytes,
                    &file.key_count,
                    &file.created_at_ms,
                ],
            )
            .await?;
    }
    transaction.commit().await?;
    Ok(true)
}

const FILE_COLUMNS: &str = "region, start_s, end_s, batch_num, batch_size, path, sha256, size_bytes, key_count, created_at_ms";

fn file_row(r: &tokio_postgres::Row) -> Result<ExportFileRecord, StorageError> {
    Ok(ExportFileRecord {
        region: r.try_get(0)?,
        start_s: r.try_get(1)?,
        end_s: r.try_get(2)?,
        batch_num: r.try_get(3)?,
        batch_size: r.try_get(4)?,
        path: r.try_get(5)?,
        sha256: r.try_get(6)?,
        size_bytes: r.try_get(7)?,
        key_count: r.try_get(8)?,
        created_at_ms: r.try_get(9)?,
    })
}

pub(super) async fn export_files(
    pool: &PgPool,
    region: Option<&str>,
) -> Result<Vec<ExportFileRecord>, StorageError> {
    let client = pool.get().await?;
    let rows = client
        .query(
            &format!(
                "SELECT {FILE_COLUMNS} FROM ks_export_files
                 WHERE unlisted_at_ms IS NULL AND ($1::TEXT IS NULL OR region = $1)
                 ORDER BY start_s, region, batch_num, id"
            ),
            &[&region],
        )
        .await?;
    rows.iter().map(file_row).collect()
}

pub(super) async fn unlist_exports_before(
    pool: &PgPool,
    cutoff_ms: i64,
    now_ms: i64,
) -> Result<Vec<ExportFileRecord>, StorageError> {
    let client = pool.get().await?;
    let rows = client
        .query(
            &format!(
                "UPDATE ks_export_files SET unlisted_at_ms = $2
                 WHERE unlisted_at_ms IS NULL AND created_at_ms < $1
                 RETURNING {FILE_COLUMNS}"
            ),
            &[&cutoff_ms, &now_ms],
        )
        .await?;
    rows.iter().map(file_row).collect()
}

pub(super) async fn signing_keys(pool: &PgPool) -> Result<Vec<SigningKeyRecord>, StorageError> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT key_id, key_version, private_pkcs8, created_at_ms, activates_at_ms, retires_at_ms
             FROM ks_signing_keys ORDER BY activates_at_ms DESC, key_version DESC",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(SigningKeyRecord {
                key_id: r.try_get(0)?,
                key_version: r.try_get(1)?,
                private_pkcs8: r.try_get(2)?,
                created_at_ms: r.try_get(3)?,
                activates_at_ms: r.try_get(4)?,
                retires_at_ms: r.try_get(5)?,
            })
        })
        .collect()
}

pub(super) async fn insert_signing_key(
    pool: &PgPool,
    key: &SigningKeyRecord,
) -> Result<bool, StorageError> {
    let client = pool.get().await?;
    Ok(client
        .execute(
            "INSERT INTO ks_signing_keys (key_id, key_version, private_pkcs8, created_at_ms,
                activates_at_ms, retires_at_ms) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (key_id, key_version) DO NOTHING",
            &[
                &key.key_id,
                &key.key_version,
                &key.private_pkcs8,
                &key.created_at_ms,
                &key.activates_at_ms,
                &key.retires_at_ms,
            ],
        )
        .await?
        > 0)
}

pub(super) async fn retire_signing_key(
    pool: &PgPool,
    key_id: &str,
    key_version: &str,
    retires_at_ms: i64,
) -> Result<bool, StorageError> {
    let client = pool.get().await?;
    Ok(client
        .execute(
            "UPDATE ks_signing_keys SET retires_at_ms = $3 WHERE key_id = $1 AND key_version = $2",
            &[&key_id, &key_version, &retires_at_ms],
        )
        .await?
        > 0)
}

pub(super) async fn secret_or_insert(
    pool: &PgPool,
    name: &str,
    candidate: &[u8],
) -> Result<Vec<u8>, StorageError> {
    let client = pool.get().await?;
    client
        .execute(
            "INSERT INTO ks_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&name, &candidate],
        )
        .await?;
    Ok(client
        .query_one("SELECT value FROM ks_secrets WHERE name = $1", &[&name])
        .await?
        .get(0))
}

pub(super) async fn count_keys(pool: &PgPool) -> Result<i64, StorageError> {
    let client = pool.get().await?;
    Ok(client
        .query_one("SELECT COUNT(*) FROM ks_keys", &[])
        .await?
        .get(0))
}

pub(super) async fn insert_event_logs(
    pool: &PgPool,
    entries: &[super::EventLogRecord],
) -> Result<u64, StorageError> {
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    let statement = transaction
        .prepare(
            "INSERT INTO ks_event_logs (id, received_at_ms, platform, event_type, subtype, epoch_s, content)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        )
        .await?;
    let mut inserted = 0;
    for e in entries {
        inserted += transaction
            .execute(
                &statement,
                &[
                    &e.id.as_slice(),
                    &e.received_at_ms,
                    &e.platform,
                    &e.event_type,
                    &e.subtype,
                    &e.epoch_s,
                    &e.content,
                ],
            )
            .await?;
    }
    transaction.commit().await?;
    Ok(inserted)
}

pub(super) async fn purge_event_logs(pool: &PgPool, before_ms: i64) -> Result<u64, StorageError> {
    let client = pool.get().await?;
    Ok(client
        .execute(
            "DELETE FROM ks_event_logs WHERE received_at_ms < $1",
            &[&before_ms],
        )
        .await?)
}

pub(super) async fn event_log_counts(
    pool: &PgPool,
    since_ms: i64,
) -> Result<Vec<(String, String, i64)>, StorageError> {
    let client = pool.get().await?;
    Ok(client
        .query(
            "SELECT event_type, subtype, COUNT(*) FROM ks_event_logs WHERE received_at_ms >= $1
             GROUP BY event_type, subtype ORDER BY event_type, subtype",
            &[&since_ms],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}
