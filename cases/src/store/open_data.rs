//! Storage behind the public open data: the count of keys published per day (from the
//! `keys_published` case events, no case id leaves the query) and the immutable snapshots
//! (content-addressed files and one manifest entry per day, so every replica serves them).

use async_trait::async_trait;

use super::DbCaseStore;
use crate::params;
use crate::sql::{self, StoreError};

/// Keys published on one local day: how many uploads and how many keys in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysPublished {
    /// The local day (`YYYY-MM-DD`).
    pub date: String,
    /// Uploads recorded (one `keys_published` event each).
    pub uploads: i64,
    /// Keys in those uploads.
    pub keys: i64,
}

/// Storage of the open data.
#[async_trait]
pub trait OpenDataStore: Send + Sync {
    /// Keys published per local day in `[from_ms, to_ms)`, ordered by day.
    async fn keys_published(
        &self,
        from_ms: i64,
        to_ms: i64,
        offset_ms: i64,
    ) -> Result<Vec<KeysPublished>, StoreError>;

    /// Stores a file under its SHA-256 (hex); storing the same bytes again does nothing.
    async fn put_snapshot_file(&self, sha256: &str, bytes: &[u8]) -> Result<(), StoreError>;

    /// The stored bytes of a file, by SHA-256 (hex).
    async fn snapshot_file(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Lists the snapshot of `date` with its manifest entry (JSON); false when that day was
    /// listed already (the first listing stays: snapshots never change).
    async fn list_snapshot(
        &self,
        date: &str,
        built_at_ms: i64,
        entry: &str,
    ) -> Result<bool, StoreError>;

    /// Every listed snapshot's manifest entry, oldest day first.
    async fn snapshots(&self) -> Result<Vec<(String, String)>, StoreError>;
}

#[async_trait]
impl OpenDataStore for DbCaseStore {
    async fn keys_published(
        &self,
        from_ms: i64,
        to_ms: i64,
        offset_ms: i64,
    ) -> Result<Vec<KeysPublished>, StoreError> {
        // The detail is "N keys"; grouping by it keeps the arithmetic out of SQL dialects.
        let rows = sql::query(
            self.database(),
            "SELECT CAST((e.at_ms + $3) / 86400000 AS BIGINT) AS d, e.detail, CAST(COUNT(*) AS BIGINT)
             FROM case_events e
             WHERE e.kind = 'keys_published' AND e.at_ms >= $1 AND e.at_ms < $2
             GROUP BY d, e.detail ORDER BY d, e.detail",
            params![from_ms, to_ms, offset_ms],
        )
        .await?;
        let mut out: Vec<KeysPublished> = Vec::new();
        for row in &rows {
            let date = crate::model::Date { days: row.int(0)? }.to_string();
            let detail = row.text(1)?;
            let uploads = row.int(2)?;
            let per_upload: i64 = detail
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            match out.last_mut() {
                Some(last) if last.date == date => {
                    last.uploads += uploads;
                    last.keys += per_upload * uploads;
                }
                _ => out.push(KeysPublished {
                    date,
                    uploads,
                    keys: per_upload * uploads,
                }),
            }
        }
        Ok(out)
    }

    async fn put_snapshot_file(&self, sha256: &str, bytes: &[u8]) -> Result<(), StoreError> {
        sql::execute(
            self.database(),
            "INSERT INTO open_data_files (sha256, bytes) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING",
            params![sha256, bytes],
        )
        .await?;
        Ok(())
    }

    async fn snapshot_file(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match sql::query_opt(
            self.database(),
            "SELECT bytes FROM open_data_files WHERE sha256 = $1",
            params![sha256],
        )
        .await?
        {
            Some(row) => Ok(Some(row.bytes(0)?)),
            None => Ok(None),
        }
    }

    async fn list_snapshot(
        &self,
        date: &str,
        built_at_ms: i64,
        entry: &str,
    ) -> Result<bool, StoreError> {
        Ok(sql::execute(
            self.database(),
            "INSERT INTO open_data_snapshots (day, built_at_ms, entry) VALUES ($1, $2, $3)
             ON CONFLICT (day) DO NOTHING",
            params![date, built_at_ms, entry],
        )
        .await?
            == 1)
    }

    async fn snapshots(&self) -> Result<Vec<(String, String)>, StoreError> {
        sql::query(
            self.database(),
            "SELECT day, entry FROM open_data_snapshots ORDER BY day",
            vec![],
        )
        .await?
        .iter()
        .map(|row| Ok((row.text(0)?, row.text(1)?)))
        .collect()
    }
}
