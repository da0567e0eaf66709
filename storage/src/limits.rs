//! Failure-limit counters shared by every replica: a fixed window per (scope, key) that
//! starts at its first counted event, and shared secrets the callers hash their keys with
//! (the same on every replica). In the database ([`DatabaseLimitStore`], the default) or in
//! Redis ([`RedisLimitStore`], `[limits] store = "redis"`); [`MemoryLimitStore`] for tests.
//!
//! Keys are opaque text the caller derives from keyed hashes: never an address, a name or a
//! code. Expired windows are deleted by [`LimitStore::purge`] (Redis also expires them).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::{Database, StorageError};

mod redis_store;
pub use redis_store::{EXPIRY_SLACK_MS, RedisLimitSettings, RedisLimitStore};

/// One counting window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitWindow {
    /// When the window started (Unix ms).
    pub start_ms: i64,
    /// Events counted in it.
    pub count: i64,
}

/// Storage of limit windows. Time is passed in by the caller so tests control the clock.
#[async_trait]
pub trait LimitStore: Send + Sync + std::fmt::Debug {
    /// The window of `key` in `scope`, if one was started (expired or not).
    async fn window(&self, scope: &str, key: &str) -> Result<Option<LimitWindow>, StorageError>;

    /// Counts one event against `key` in `scope`: in its window when that started less than
    /// `window_ms` before `now_ms`, else in a new window starting now. Returns the window.
    async fn count(
        &self,
        scope: &str,
        key: &str,
        window_ms: i64,
        now_ms: i64,
    ) -> Result<LimitWindow, StorageError>;

    /// Deletes the windows of `scope` that started before `before_ms`; returns how many.
    async fn purge(&self, scope: &str, before_ms: i64) -> Result<u64, StorageError>;

    /// The shared secret `name`, storing `candidate` first if there is none (every replica
    /// gets the first one stored).
    async fn secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StorageError>;

    /// Whether the store answers (for `/readyz`). The database store answers `Ok` here:
    /// readiness checks the database itself.
    async fn ping(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

/// [`LimitStore`] in this process's memory (each process counts on its own).
#[derive(Debug, Default)]
pub struct MemoryLimitStore {
    windows: Mutex<HashMap<(String, String), LimitWindow>>,
    secrets: Mutex<HashMap<String, Vec<u8>>>,
}

fn poisoned() -> StorageError {
    StorageError::Task("limit counters lock poisoned".into())
}

#[async_trait]
impl LimitStore for MemoryLimitStore {
    async fn window(&self, scope: &str, key: &str) -> Result<Option<LimitWindow>, StorageError> {
        let windows = self.windows.lock().map_err(|_| poisoned())?;
        Ok(windows.get(&(scope.to_string(), key.to_string())).copied())
    }

    async fn count(
        &self,
        scope: &str,
        key: &str,
        window_ms: i64,
        now_ms: i64,
    ) -> Result<LimitWindow, StorageError> {
        let mut windows = self.windows.lock().map_err(|_| poisoned())?;
        if windows.len() > 100_000 {
            windows.retain(|_, w| now_ms - w.start_ms < window_ms);
        }
        let window = windows
            .entry((scope.to_string(), key.to_string()))
            .or_insert(LimitWindow {
                start_ms: now_ms,
                count: 0,
            });
        if now_ms - window.start_ms >= window_ms || now_ms < window.start_ms {
            *window = LimitWindow {
                start_ms: now_ms,
                count: 0,
            };
        }
        window.count = window.count.saturating_add(1);
        Ok(*window)
    }

    async fn purge(&self, scope: &str, before_ms: i64) -> Result<u64, StorageError> {
        let mut windows = self.windows.lock().map_err(|_| poisoned())?;
        let before = windows.len();
        windows.retain(|(s, _), w| s != scope || w.start_ms >= before_ms);
        Ok((before - windows.len()) as u64)
    }

    async fn secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StorageError> {
        let mut secrets = self.secrets.lock().map_err(|_| poisoned())?;
        Ok(secrets
            .entry(name.to_string())
            .or_insert_with(|| candidate.to_vec())
            .clone())
    }
}

/// [`LimitStore`] over either backend (tables `limit_windows` and `limit_secrets`).
#[derive(Debug, Clone)]
pub struct DatabaseLimitStore {
    database: Database,
}

impl DatabaseLimitStore {
    /// A store on `database` (which must have [`crate::MIGRATIONS`] applied).
    pub fn new(database: Database) -> Self {
        DatabaseLimitStore { database }
    }
}

/// Starts a new window when the stored one is over (or in the future: a clock step back).
const COUNT_SQLITE: &str = "INSERT INTO limit_windows (scope, limit_key, start_ms, count)
     VALUES (?1, ?2, ?3, 1)
     ON CONFLICT (scope, limit_key) DO UPDATE SET
        count = CASE WHEN ?3 - limit_windows.start_ms >= ?4 OR ?3 < limit_windows.start_ms
                     THEN 1 ELSE limit_windows.count + 1 END,
        start_ms = CASE WHEN ?3 - limit_windows.start_ms >= ?4 OR ?3 < limit_windows.start_ms
                        THEN ?3 ELSE limit_windows.start_ms END
     RETURNING start_ms, count";

const COUNT_POSTGRES: &str = "INSERT INTO limit_windows (scope, limit_key, start_ms, count)
     VALUES ($1, $2, $3, 1)
     ON CONFLICT (scope, limit_key) DO UPDATE SET
        count = CASE WHEN $3 - limit_windows.start_ms >= $4 OR $3 < limit_windows.start_ms
                     THEN 1 ELSE limit_windows.count + 1 END,
        start_ms = CASE WHEN $3 - limit_windows.start_ms >= $4 OR $3 < limit_windows.start_ms
                        THEN $3 ELSE limit_windows.start_ms END
     RETURNING start_ms, count";

#[async_trait]
impl LimitStore for DatabaseLimitStore {
    async fn window(&self, scope: &str, key: &str) -> Result<Option<LimitWindow>, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => {
                let (scope, key) = (scope.to_string(), key.to_string());
                pool.call(move |c| -> Result<Option<LimitWindow>, StorageError> {
                    let mut statement = c.prepare_cached(
                        "SELECT start_ms, count FROM limit_windows WHERE scope = ?1 AND limit_key = ?2",
                    )?;
                    let mut rows = statement.query(rusqlite::params![scope, key])?;
                    Ok(match rows.next()? {
                        Some(row) => Some(LimitWindow {
                            start_ms: row.get(0)?,
                            count: row.get(1)?,
                        }),
                        None => None,
                    })
                })
                .await
            }
            Database::Postgres(pool) => {
                let client = pool.get().await?;
                let row = client
                    .query_opt(
                        "SELECT start_ms, count FROM limit_windows WHERE scope = $1 AND limit_key = $2",
                        &[&scope, &key],
                    )
                    .await?;
                Ok(row.map(|row| LimitWindow {
                    start_ms: row.get(0),
                    count: row.get(1),
                }))
            }
        }
    }

    async fn count(
        &self,
        scope: &str,
        key: &str,
        window_ms: i64,
        now_ms: i64,
    ) -> Result<LimitWindow, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => {
                let (scope, key) = (scope.to_string(), key.to_string());
                pool.call(move |c| -> Result<LimitWindow, StorageError> {
                    let mut statement = c.prepare_cached(COUNT_SQLITE)?;
                    let mut rows =
                        statement.query(rusqlite::params![scope, key, now_ms, window_ms])?;
                    match rows.next()? {
                        Some(row) => Ok(LimitWindow {
                            start_ms: row.get(0)?,
                            count: row.get(1)?,
                        }),
                        None => Err(StorageError::Task("limit count returned no row".into())),
                    }
                })
                .await
            }
            Database::Postgres(pool) => {
                let client = pool.get().await?;
                let row = client
                    .query_one(COUNT_POSTGRES, &[&scope, &key, &now_ms, &window_ms])
                    .await?;
                Ok(LimitWindow {
                    start_ms: row.get(0),
                    count: row.get(1),
                })
            }
        }
    }

    async fn purge(&self, scope: &str, before_ms: i64) -> Result<u64, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => {
                let scope = scope.to_string();
                pool.call(move |c| -> Result<u64, StorageError> {
                    Ok(c.execute(
                        "DELETE FROM limit_windows WHERE scope = ?1 AND start_ms < ?2",
                        rusqlite::params![scope, before_ms],
                    )? as u64)
                })
                .await
            }
            Database::Postgres(pool) => {
                let client = pool.get().await?;
                Ok(client
                    .execute(
                        "DELETE FROM limit_windows WHERE scope = $1 AND start_ms < $2",
                        &[&scope, &before_ms],
                    )
                    .await?)
            }
        }
    }

    async fn secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => {
                let (name, candidate) = (name.to_string(), candidate.to_vec());
                pool.call(move |c| -> Result<Vec<u8>, StorageError> {
                    c.execute(
                        "INSERT INTO limit_secrets (name, secret) VALUES (?1, ?2)
                         ON CONFLICT (name) DO NOTHING",
                        rusqlite::params![name, candidate],
                    )?;
                    Ok(c.query_row(
                        "SELECT secret FROM limit_secrets WHERE name = ?1",
                        rusqlite::params![name],
                        |row| row.get(0),
                    )?)
                })
                .await
            }
            Database::Postgres(pool) => {
                let client = pool.get().await?;
                client
                    .execute(
                        "INSERT INTO limit_secrets (name, secret) VALUES ($1, $2)
                         ON CONFLICT (name) DO NOTHING",
                        &[&name, &candidate],
                    )
                    .await?;
                let row = client
                    .query_one("SELECT secret FROM limit_secrets WHERE name = $1", &[&name])
                    .await?;
                Ok(row.get(0))
            }
        }
    }
}

/// The conformance suite every [`LimitStore`] implementation must pass.
#[cfg(feature = "testing")]
#[allow(clippy::unwrap_used)] // test code: a failed call is a failed test
pub mod conformance {
    use super::*;

    /// Windows start at the first event, count within `window_ms`, restart after it, are
    /// separate per scope and key, and are purged; secrets keep the first value stored.
    pub async fn limit_store(store: &dyn LimitStore) {
        assert_eq!(store.window("verify", "k1").await.unwrap(), None);
        let first = store.count("verify", "k1", 60_000, 1_000).await.unwrap();
        assert_eq!(
            first,
            LimitWindow {
                start_ms: 1_000,
                count: 1
            }
        );
        let second = store.count("verify", "k1", 60_000, 30_000).await.unwrap();
        assert_eq!(
            second,
            LimitWindow {
                start_ms: 1_000,
                count: 2
            }
        );
        assert_eq!(store.window("verify", "k1").await.unwrap(), Some(second));
        // Another key and another scope count apart.
        assert_eq!(
            store
                .count("verify", "k2", 60_000, 30_000)
                .await
                .unwrap()
                .count,
            1
        );
        assert_eq!(
            store
                .count("sign_in", "k1", 60_000, 30_000)
                .await
                .unwrap()
                .count,
            1
        );
        // The window is over: a new one starts.
        let later = store.count("verify", "k1", 60_000, 61_000).await.unwrap();
        assert_eq!(
            later,
            LimitWindow {
                start_ms: 61_000,
                count: 1
            }
        );
        // A clock step back starts a new window too.
        let back = store.count("verify", "k1", 60_000, 50_000).await.unwrap();
        assert_eq!(
            back,
            LimitWindow {
                start_ms: 50_000,
                count: 1
            }
        );
        // Every count is counted.
        for _ in 0..20 {
            store
                .count("verify", "busy", 60_000, 100_000)
                .await
                .unwrap();
        }
        assert_eq!(
            store.window("verify", "busy").await.unwrap().unwrap().count,
            20
        );
        assert_eq!(store.purge("verify", 40_000).await.unwrap(), 1);
        assert_eq!(store.window("verify", "k2").await.unwrap(), None);
        assert!(
            store.window("sign_in", "k1").await.unwrap().is_some(),
            "other scopes stay"
        );
        assert!(store.window("verify", "busy").await.unwrap().is_some());
        let secret = store.secret("sign_in", b"first").await.unwrap();
        assert_eq!(secret, b"first");
        assert_eq!(store.secret("sign_in", b"second").await.unwrap(), b"first");
    }
}
