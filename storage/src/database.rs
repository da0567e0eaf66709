//! The database handle chosen by `DATABASE_URL`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod, Runtime};

use crate::pg_tls::PgConnectOptions;
use crate::{SqlitePool, StorageError};

/// A PostgreSQL connection pool.
pub type PgPool = deadpool_postgres::Pool;

/// Which backend a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl Backend {
    /// Lower-case name, as used in logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Where the data lives, parsed from `DATABASE_URL`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// `sqlite://PATH` (or `DATABASE_URL` unset): an embedded database file.
    Sqlite {
        /// The database file.
        path: PathBuf,
    },
    /// `postgres://...` or `postgresql://...`.
    Postgres {
        /// The full connection URL (may contain a password: never log it, use [`Self::redacted`]).
        url: String,
    },
}

impl std::fmt::Debug for DatabaseTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl DatabaseTarget {
    /// Parses a `DATABASE_URL`; `None` or an empty string selects SQLite at `default_sqlite_path`.
    ///
    /// `sqlite://data/x.db` is relative to the working directory, `sqlite:///var/x.db` absolute.
    pub fn parse(url: Option<&str>, default_sqlite_path: &Path) -> Result<Self, StorageError> {
        let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(DatabaseTarget::Sqlite {
                path: default_sqlite_path.to_path_buf(),
            });
        };
        if let Some(rest) = url.strip_prefix("sqlite://") {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err(StorageError::InvalidUrl {
                    reason: "sqlite:// needs a file path, e.g. sqlite://./data/mimamori.db".into(),
                });
            }
            return Ok(DatabaseTarget::Sqlite {
                path: PathBuf::from(path),
            });
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            PgConnectOptions::parse(url)?;
            return Ok(DatabaseTarget::Postgres {
                url: url.to_string(),
            });
        }
        // Name the scheme only when there is one: a value without `://` may be a secret put
        // in the wrong place (a password file read through DATABASE_URL_FILE), never echoed.
        let reason = match url.split_once("://") {
            Some((scheme, _))
                if !scheme.is_empty()
                    && scheme.len() <= 32
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                format!(
                    "unsupported scheme '{scheme}'; use sqlite://PATH or postgres://USER@HOST/DATABASE"
                )
            }
            _ => "not a database URL; use sqlite://PATH or postgres://USER@HOST/DATABASE".into(),
        };
        Err(StorageError::InvalidUrl { reason })
    }

    /// The target with any password replaced by `***`, safe to print.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseTarget::Sqlite { path } => format!("sqlite://{}", path.display()),
            DatabaseTarget::Postgres { url } => match url::Url::parse(url) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("***"));
                    }
                    // Query parameters may carry `password=`; drop them from the display.
                    if parsed.query().is_some() {
                        parsed.set_query(Some("***"));
                    }
                    parsed.to_string()
                }
                Err(_) => "postgres://***".to_string(),
            },
        }
    }

    /// Which backend this target selects.
    pub fn backend(&self) -> Backend {
        match self {
            DatabaseTarget::Sqlite { .. } => Backend::Sqlite,
            DatabaseTarget::Postgres { .. } => Backend::Postgres,
        }
    }
}

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Maximum open connections.
    pub max_connections: usize,
    /// How long to wait for a connection (PostgreSQL connect, pool wait, SQLite busy).
    pub timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_connections: 16,
            timeout: Duration::from_secs(5),
        }
    }
}

/// Connection counts of a database pool at one moment (for the `mimamori_database_pool_*`
/// metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// The most connections the pool opens (`database.max_connections`).
    pub max: usize,
    /// Connections handed out to a caller now.
    pub in_use: usize,
    /// Open connections waiting unused in the pool.
    pub idle: usize,
    /// Callers waiting for a connection (PostgreSQL; SQLite does not count them: 0).
    pub waiting: usize,
}

/// A handle on the configured database; cheap to clone.
#[derive(Clone, Debug)]
pub enum Database {
    /// Embedded SQLite.
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

impl Database {
    /// Opens the database. For SQLite this creates the directory and file; for PostgreSQL it
    /// builds the pool without connecting (the server may come up later; `/readyz` tells).
    pub fn open(target: &DatabaseTarget, options: &PoolOptions) -> Result<Self, StorageError> {
        match target {
            DatabaseTarget::Sqlite { path } => Ok(Database::Sqlite(SqlitePool::open(
                path,
                options.max_connections,
                options.timeout,
            )?)),
            DatabaseTarget::Postgres { url } => {
                let connect = PgConnectOptions::parse(url)?;
                let tls = connect.tls_connector()?;
                let mut config = connect.config;
                config.connect_timeout(options.timeout);
                if config.get_application_name().is_none() {
                    config.application_name("mimamori");
                }
                let manager = Manager::from_config(
                    config,
                    tls,
                    ManagerConfig {
                        recycling_method: RecyclingMethod::Fast,
                    },
                );
                let pool = deadpool_postgres::Pool::builder(manager)
                    .max_size(options.max_connections.max(1))
                    .runtime(Runtime::Tokio1)
                    .wait_timeout(Some(options.timeout))
                    .create_timeout(Some(options.timeout))
                    .recycle_timeout(Some(options.timeout))
                    .build()
                    .map_err(|e| StorageError::Pool(e.to_string()))?;
                Ok(Database::Postgres(pool))
            }
        }
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            Database::Sqlite(_) => Backend::Sqlite,
            Database::Postgres(_) => Backend::Postgres,
        }
    }

    /// Checks that the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StorageError> {
        match self {
            Database::Sqlite(pool) => {
                pool.call(|c| {
                    c.query_row("SELECT 1", [], |_| Ok(()))
                        .map_err(StorageError::from)
                })
                .await
            }
            Database::Postgres(pool) => {
                let client = pool.get().await?;
                client.simple_query("SELECT 1").await?;
                Ok(())
            }
        }
    }

    /// The pool's connection counts now; cheap, never waits for a connection.
    pub fn pool_status(&self) -> PoolStatus {
        match self {
            Database::Sqlite(pool) => pool.status(),
            Database::Postgres(pool) => {
                let status = pool.status();
                PoolStatus {
                    max: status.max_size,
                    in_use: status.size.saturating_sub(status.available),
                    idle: status.available,
                    waiting: status.waiting,
                }
            }
        }
    }

    /// Closes pooled PostgreSQL connections (used by tests before dropping a database).
    pub fn close(&self) {
        if let Database::Postgres(pool) = self {
            pool.close();
        }
    }
}
