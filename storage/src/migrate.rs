//! Embedded, per-component migrations applied under a lock.
//!
//! Every service crate publishes a [`MigrationSet`] with the SQL for both backends. The
//! history lives in `mimamori_migrations` (component, version, name, checksum). On PostgreSQL
//! the whole run holds a session advisory lock, so replicas starting together apply each
//! migration exactly once; on SQLite every migration runs in a `BEGIN IMMEDIATE` transaction,
//! which takes the single writer lock of the file.

use crate::{Database, StorageError};

/// One schema change, written once per backend.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Strictly increasing within the component, starting at 1.
    pub version: u32,
    /// Short name, stored in the history.
    pub name: &'static str,
    /// SQL for SQLite (may hold several statements).
    pub sqlite: &'static str,
    /// SQL for PostgreSQL (may hold several statements).
    pub postgres: &'static str,
}

/// The migrations of one component (crate), applied in version order.
#[derive(Debug, Clone, Copy)]
pub struct MigrationSet {
    /// Component name, unique across the workspace (e.g. "key_server").
    pub component: &'static str,
    /// The migrations, in increasing version order.
    pub migrations: &'static [Migration],
}

impl MigrationSet {
    /// The newest version in this set (0 when empty).
    pub fn latest_version(&self) -> u32 {
        self.migrations.iter().map(|m| m.version).max().unwrap_or(0)
    }
}

/// The result of comparing the database with the binary's migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Components whose newest migration is not applied yet, with (applied, expected) versions.
    pub pending: Vec<(String, u32, u32)>,
}

impl MigrationStatus {
    /// True when every component is at its newest version.
    pub fn is_current(&self) -> bool {
        self.pending.is_empty()
    }
}

/// Arbitrary but fixed key for `pg_advisory_lock` ("mimamori" in ASCII, truncated).
const PG_MIGRATION_LOCK_KEY: i64 = 0x6d69_6d61_6d6f_7269;

const HISTORY_SQLITE: &str = "CREATE TABLE IF NOT EXISTS mimamori_migrations (
    component TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at_ms INTEGER NOT NULL,
    PRIMARY KEY (component, version)
)";

const HISTORY_POSTGRES: &str = "CREATE TABLE IF NOT EXISTS mimamori_migrations (
    component TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at_ms BIGINT NOT NULL,
    PRIMARY KEY (component, version)
)";

/// FNV-1a 64: a stable checksum of a migration's SQL, to detect an edited, already-applied migration.
fn checksum(sql: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in sql.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn check_applied(
    set: &MigrationSet,
    migration: &Migration,
    stored_checksum: &str,
    sql: &str,
) -> Result<(), StorageError> {
    if stored_checksum != checksum(sql) {
        return Err(StorageError::Migration {
            component: set.component.to_string(),
            version: migration.version,
            reason: "already applied with different SQL; migrations must never be edited, add a new version instead".into(),
        });
    }
    Ok(())
}

impl Database {
    /// Applies every pending migration of `sets`, returning how many were applied.
    pub async fn migrate(&self, sets: &[MigrationSet]) -> Result<usize, StorageError> {
        let sets = sets.to_vec();
        match self {
            Database::Sqlite(pool) => pool.call(move |c| migrate_sqlite(c, &sets)).await,
            Database::Postgres(pool) => {
                let mut client = pool.get().await?;
                client
                    .execute("SELECT pg_advisory_lock($1)", &[&PG_MIGRATION_LOCK_KEY])
                    .await?;
                let result = migrate_postgres(&mut client, &sets).await;
                let unlock = client
                    .execute("SELECT pg_advisory_unlock($1)", &[&PG_MIGRATION_LOCK_KEY])
                    .await;
                let applied = result?;
                unlock?;
                Ok(applied)
            }
        }
    }

    /// Compares the stored history with `sets` without changing anything.
    pub async fn migration_status(
        &self,
        sets: &[MigrationSet],
    ) -> Result<MigrationStatus, StorageError> {
        let applied: Vec<(String, u32)> = match self {
            Database::Sqlite(pool) => {
                pool.call(|c| -> Result<Vec<(String, u32)>, StorageError> {
                    let exists: bool = c.query_row(
                        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'mimamori_migrations')",
                        [],
                        |r| r.get(0),
                    )?;
                    if !exists {
                        return Ok(Vec::new());
                    }
                    let mut statement = c.prepare(
                        "SELECT component, MAX(version) FROM mimamori_migrations GROUP BY component",
                    )?;
                    let rows = statement
                        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)))?
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(rows)
                })
                .await?
            }
            Database::Postgres(pool) => {
                let client = pool.get().await?;
                let exists: bool = client
                    .query_one("SELECT to_regclass('mimamori_migrations') IS NOT NULL", &[])
                    .await?
                    .get(0);
                if exists {
                    client
                        .query(
                            "SELECT component, MAX(version) FROM mimamori_migrations GROUP BY component",
                            &[],
                        )
                        .await?
                        .iter()
                        .map(|r| {
                            let version: i32 = r.get(1);
                            (r.get::<_, String>(0), u32::try_from(version).unwrap_or(0))
                        })
                        .collect()
                } else {
                    Vec::new()
                }
            }
        };
        let pending = sets
            .iter()
            .filter_map(|set| {
                let have = applied
                    .iter()
                    .find(|(component, _)| component == set.component)
                    .map(|(_, v)| *v)
                    .unwrap_or(0);
                let want = set.latest_version();
                (have < want).then(|| (set.component.to_string(), have, want))
            })
            .collect();
        Ok(MigrationStatus { pending })
    }
}

fn migrate_sqlite(
    connection: &mut rusqlite::Connection,
    sets: &[MigrationSet],
) -> Result<usize, StorageError> {
    connection.execute_batch(HISTORY_SQLITE)?;
    let mut applied = 0;
    for set in sets {
        for migration in set.migrations {
            let transaction =
                connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let stored: Option<String> = transaction
                .query_row(
                    "SELECT checksum FROM mimamori_migrations WHERE component = ?1 AND version = ?2",
                    rusqlite::params![set.component, migration.version],
                    |r| r.get(0),
                )
                .map(Some)
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    other => Err(other),
                })?;
            if let Some(stored) = stored {
                check_applied(set, migration, &stored, migration.sqlite)?;
                continue;
            }
            transaction
                .execute_batch(migration.sqlite)
                .map_err(|e| StorageError::Migration {
                    component: set.component.to_string(),
                    version: migration.version,
                    reason: e.to_string(),
                })?;
            transaction.execute(
                "INSERT INTO mimamori_migrations (component, version, name, checksum, applied_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![set.component, migration.version, migration.name, checksum(migration.sqlite), now_ms()],
            )?;
            transaction.commit()?;
            tracing::info!(
                component = set.component,
                version = migration.version,
                name = migration.name,
                "migration applied"
            );
            applied += 1;
        }
    }
    Ok(applied)
}

async fn migrate_postgres(
    client: &mut deadpool_postgres::Client,
    sets: &[MigrationSet],
) -> Result<usize, StorageError> {
    client.batch_execute(HISTORY_POSTGRES).await?;
    let mut applied = 0;
    for set in sets {
        for migration in set.migrations {
            let version = i32::try_from(migration.version).unwrap_or(i32::MAX);
            let transaction = client.transaction().await?;
            let stored = transaction
                .query_opt(
                    "SELECT checksum FROM mimamori_migrations WHERE component = $1 AND version = $2",
                    &[&set.component, &version],
                )
                .await?;
            if let Some(row) = stored {
                let stored: String = row.get(0);
                check_applied(set, migration, &stored, migration.postgres)?;
                continue;
            }
            transaction
                .batch_execute(migration.postgres)
                .await
                .map_err(|e| StorageError::Migration {
                    component: set.component.to_string(),
                    version: migration.version,
                    reason: e.to_string(),
                })?;
            transaction
                .execute(
                    "INSERT INTO mimamori_migrations (component, version, name, checksum, applied_at_ms) VALUES ($1, $2, $3, $4, $5)",
                    &[&set.component, &version, &migration.name, &checksum(migration.postgres), &now_ms()],
                )
                .await?;
            transaction.commit().await?;
            tracing::info!(
                component = set.component,
                version = migration.version,
                name = migration.name,
                "migration applied"
            );
            applied += 1;
        }
    }
    Ok(applied)
}
