//! Leases: named, expiring locks held in the database, so that among several replicas exactly
//! one runs a periodic job (an export window, a retention sweep, a follow-up check) at a time.

use std::time::Duration;

use async_trait::async_trait;

use crate::{Database, StorageError};

/// A held lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The lease name (e.g. "export-worker").
    pub name: String,
    /// Who holds it (a per-process random id).
    pub holder: String,
    /// When it lapses unless renewed, in Unix milliseconds.
    pub expires_at_ms: i64,
}

/// Storage of leases. Time is passed in by the caller so tests control the clock.
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes the lease `name` for `holder` until `now_ms + ttl` if it is free, expired, or
    /// already held by `holder` (then it is renewed). Returns `None` when someone else holds it.
    async fn try_acquire(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl: Duration,
    ) -> Result<Option<Lease>, StorageError>;

    /// Gives the lease up if `holder` still holds it; returns whether it did.
    async fn release(&self, name: &str, holder: &str) -> Result<bool, StorageError>;
}

/// [`LeaseStore`] over either backend.
#[derive(Debug, Clone)]
pub struct DatabaseLeaseStore {
    database: Database,
}

impl DatabaseLeaseStore {
    /// A lease store on `database` (which must have [`crate::MIGRATIONS`] applied).
    pub fn new(database: Database) -> Self {
        DatabaseLeaseStore { database }
    }
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl LeaseStore for DatabaseLeaseStore {
    async fn try_acquire(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl: Duration,
    ) -> Result<Option<Lease>, StorageError> {
        let expires_at_ms = now_ms.saturating_add(ttl_ms(ttl));
        match &self.database {
            Database::Sqlite(pool) => {
                let (name, holder) = (name.to_string(), holder.to_string());
                pool.call(move |c| -> Result<Option<Lease>, StorageError> {
                    let mut statement = c.prepare_cached(
                        "INSERT INTO leases (name, holder, expires_at_ms) VALUES (?1, ?2, ?3)
                         ON CONFLICT (name) DO UPDATE
                            SET holder = excluded.holder, expires_at_ms = excluded.expires_at_ms
                            WHERE leases.expires_at_ms <= ?4 OR leases.holder = excluded.holder
                         RETURNING expires_at_ms",
                    )?;
                    let mut rows =
                        statement.query(rusqlite::params![name, holder, expires_at_ms, now_ms])?;
                    match rows.next()? {
                        Some(row) => Ok(Some(Lease {
                            name,
                            holder,
                            expires_at_ms: row.get(0)?,
                        })),
                        None => Ok(None),
                    }
                })
                .await
            }
            Database::Postgres(pool) => {
                let client = pool.get().await?;
                let row = client
                    .query_opt(
                        "INSERT INTO leases (name, holder, expires_at_ms) VALUES ($1, $2, $3)
                         ON CONFLICT (name) DO UPDATE
                            SET holder = EXCLUDED.holder, expires_at_ms = EXCLUDED.expires_at_ms
                            WHERE leases.expires_at_ms <= $4 OR leases.holder = EXCLUDED.holder
                         RETURNING expires_at_ms",
                        &[&name, &holder, &expires_at_ms, &now_ms],
                    )
                    .await?;
                Ok(row.map(|row| Lease {
                    name: name.to_string(),
                    holder: holder.to_string(),
                    expires_at_ms: row.get(0),
                }))
            }
        }
    }

    async fn release(&self, name: &str, holder: &str) -> Result<bool, StorageError> {
        match &self.database {
            Database::Sqlite(pool) => {
                let (name, holder) = (name.to_string(), holder.to_string());
                pool.call(move |c| -> Result<bool, StorageError> {
                    Ok(c.execute(
                        "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
                        rusqlite::params![name, holder],
                    )? > 0)
                })
                .await
            }
            Database::Postgres(pool) => {
                let client = pool.get().await?;
                Ok(client
                    .execute(
                        "DELETE FROM leases WHERE name = $1 AND holder = $2",
                        &[&name, &holder],
                    )
                    .await?
                    > 0)
            }
        }
    }
}

/// The conformance suite every [`LeaseStore`] implementation must pass.
#[cfg(feature = "testing")]
pub mod conformance {
    use super::*;

    /// Acquire, contention, renewal, expiry and release semantics.
    pub async fn lease_store(store: &dyn LeaseStore) {
        let ttl = Duration::from_secs(60);
        let t0 = 1_700_000_000_000_i64;

        let first = store
            .try_acquire("export", "replica-a", t0, ttl)
            .await
            .expect("acquire free lease");
        assert_eq!(
            first,
            Some(Lease {
                name: "export".into(),
                holder: "replica-a".into(),
                expires_at_ms: t0 + 60_000
            })
        );

        // Another holder cannot take a live lease.
        let contended = store
            .try_acquire("export", "replica-b", t0 + 1_000, ttl)
            .await
            .expect("contended acquire");
        assert_eq!(contended, None, "a live lease must not be taken over");

        // The holder renews.
        let renewed = store
            .try_acquire("export", "replica-a", t0 + 30_000, ttl)
            .await
            .expect("renew")
            .expect("holder may renew");
        assert_eq!(renewed.expires_at_ms, t0 + 90_000);

        // Other names are independent.
        assert!(
            store
                .try_acquire("retention", "replica-b", t0, ttl)
                .await
                .expect("other name")
                .is_some()
        );

        // After expiry, someone else takes it.
        let taken = store
            .try_acquire("export", "replica-b", t0 + 90_000, ttl)
            .await
            .expect("acquire expired")
            .expect("expired lease is free");
        assert_eq!(taken.holder, "replica-b");

        // The former holder can neither release nor renew it.
        assert!(!store.release("export", "replica-a").await.expect("release"));
        assert_eq!(
            store
                .try_acquire("export", "replica-a", t0 + 91_000, ttl)
                .await
                .expect("acquire"),
            None
        );

        // The holder releases; then it is free at once.
        assert!(store.release("export", "replica-b").await.expect("release"));
        assert!(
            store
                .try_acquire("export", "replica-a", t0 + 92_000, ttl)
                .await
                .expect("acquire released")
                .is_some()
        );
    }
}
