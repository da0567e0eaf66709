use std::path::PathBuf;

/// Errors at the storage boundary. Messages never contain row data, only what failed and where.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// `DATABASE_URL` could not be understood.
    #[error("invalid DATABASE_URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it and how to fix it.
        reason: String,
    },
    /// A filesystem operation needed by the SQLite backend failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done, e.g. "cannot create data directory".
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// SQLite reported an error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL reported an error.
    #[error("postgres ({}): {}", postgres_kind(.0), postgres_message(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be had from the pool (server down, timeout).
    #[error("postgres pool: {0}")]
    Pool(String),
    /// A blocking database task was cancelled or panicked.
    #[error("database task failed: {0}")]
    Task(String),
    /// A text value the database cannot hold (U+0000: PostgreSQL text refuses it, so both
    /// backends refuse it before the query runs); the client's input, answered 400.
    #[error("text contains a NUL character (U+0000), which cannot be stored")]
    NulInText,
    /// Redis (the failure-limit store, `[limits] store = "redis"`) failed or could not be
    /// reached. Redis errors name neither the URL nor its password.
    #[error("redis ({}): {}", redis_kind(.0), .0)]
    Redis(#[from] redis::RedisError),
    /// A migration could not be applied or the stored history disagrees with the binary.
    #[error("migration {component} v{version}: {reason}")]
    Migration {
        /// The component whose migration failed.
        component: String,
        /// The migration version.
        version: u32,
        /// What went wrong.
        reason: String,
    },
}

impl From<deadpool_postgres::PoolError> for StorageError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        match error {
            deadpool_postgres::PoolError::Backend(e) => StorageError::Postgres(e),
            other => StorageError::Pool(other.to_string()),
        }
    }
}

/// `SQLSTATE 23505` for a server error, `connection` for a client-side failure.
fn postgres_kind(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        // Names of the schema objects only: the message, detail and hint may quote values.
        Some(db) => {
            let mut kind = format!("SQLSTATE {}", db.code().code());
            for (label, name) in [
                ("table", db.table()),
                ("column", db.column()),
                ("constraint", db.constraint()),
            ] {
                if let Some(name) = name {
                    kind.push_str(&format!(", {label} {name}"));
                }
            }
            kind
        }
        None if error.is_closed() => "connection closed".into(),
        None => "connection".into(),
    }
}

/// `outage` or `fault`, as [`StorageError::kind`] classifies a Redis error.
fn redis_kind(error: &redis::RedisError) -> &'static str {
    if redis_outage(error) {
        "outage"
    } else {
        "fault"
    }
}

/// A Redis error that means "not reachable right now": no connection, a timeout, a dropped
/// connection, a server loading its data, a read-only replica after a failover, out of
/// memory under `noeviction`, a cluster that is down.
fn redis_outage(error: &redis::RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || matches!(
            error.kind(),
            ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::BusyLoading
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ReadOnly
                )
        )
        || matches!(error.code(), Some("OOM" | "MISCONF" | "LOADING"))
}

/// The error with its causes when it is not the server's (a refused connection, a failed TLS
/// handshake: tokio-postgres alone says only "error performing TLS handshake"). A server error
/// is shown as tokio-postgres shows it, without its detail, which may quote row values.
fn postgres_message(error: &tokio_postgres::Error) -> String {
    let mut message = error.to_string();
    if error.as_db_error().is_none() {
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
    }
    message
}

/// Seconds a client is told to wait (`Retry-After`) when the database is unavailable: long
/// enough for a pool reconnect or a failover's first attempt, short enough that a phone's
/// retry is not lost.
pub const OUTAGE_RETRY_AFTER_SECONDS: u64 = 5;

/// What kind of failure a [`StorageError`] is, for logs and for the answer: an outage (503),
/// the client's input (400), a constraint or a conflict between concurrent writers, or a fault
/// of the server (500). Logged as `storage_error_kind` next to the SQLSTATE, never with row
/// data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageErrorKind {
    /// The database cannot be reached or is shutting down; retry later.
    Outage,
    /// The client's input cannot be stored (U+0000 in text).
    BadInput,
    /// A unique, foreign-key, check or not-null constraint refused the write.
    Constraint,
    /// A serialization failure or deadlock between concurrent transactions.
    Conflict,
    /// Anything else: a bug, a schema mismatch, a configuration error.
    Fault,
}

impl StorageErrorKind {
    /// The log label.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageErrorKind::Outage => "outage",
            StorageErrorKind::BadInput => "bad_input",
            StorageErrorKind::Constraint => "constraint",
            StorageErrorKind::Conflict => "conflict",
            StorageErrorKind::Fault => "fault",
        }
    }
}

impl std::fmt::Display for StorageErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// SQLSTATE classes and codes that mean "the server is going away or cannot take us": class
/// 08 (connection exception), 53 (insufficient resources: too many connections, disk full,
/// out of memory), 57P01–57P05 (admin/crash shutdown, cannot connect now, idle-session
/// timeout), 58 (system error: I/O) and 25006 (read-only transaction: a standby after a
/// failover, before the new primary is found).
fn is_outage_sqlstate(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("58")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "57P04" | "57P05" | "25006"
        )
}

impl StorageError {
    /// The kind of failure (see [`StorageErrorKind`]).
    pub fn kind(&self) -> StorageErrorKind {
        match self {
            StorageError::NulInText => StorageErrorKind::BadInput,
            StorageError::Pool(_) | StorageError::Task(_) => StorageErrorKind::Outage,
            StorageError::Postgres(e) => match e.as_db_error() {
                None => StorageErrorKind::Outage,
                Some(db) => {
                    let code = db.code().code();
                    if is_outage_sqlstate(code) {
                        StorageErrorKind::Outage
                    } else if code.starts_with("23") {
                        StorageErrorKind::Constraint
                    } else if code == "40001" || code == "40P01" {
                        StorageErrorKind::Conflict
                    } else if code.starts_with("22") {
                        StorageErrorKind::BadInput
                    } else {
                        StorageErrorKind::Fault
                    }
                }
            },
            StorageError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => match e.code {
                rusqlite::ErrorCode::DatabaseBusy
                | rusqlite::ErrorCode::DatabaseLocked
                | rusqlite::ErrorCode::CannotOpen
                | rusqlite::ErrorCode::SystemIoFailure
                | rusqlite::ErrorCode::DiskFull => StorageErrorKind::Outage,
                rusqlite::ErrorCode::ConstraintViolation => StorageErrorKind::Constraint,
                _ => StorageErrorKind::Fault,
            },
            StorageError::Io { .. } => StorageErrorKind::Outage,
            StorageError::Redis(e) if redis_outage(e) => StorageErrorKind::Outage,
            _ => StorageErrorKind::Fault,
        }
    }

    /// The SQLSTATE of a PostgreSQL server error (e.g. `23505`), for the log.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            StorageError::Postgres(e) => e.as_db_error().map(|db| db.code().code()),
            _ => None,
        }
    }

    /// True when the client's input itself cannot be stored (answer 400, not 500).
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, StorageError::NulInText)
    }

    /// True when the error means "the database is not reachable right now" rather than
    /// "the request or the data is wrong"; callers answer 503 with `Retry-After`.
    pub fn is_unavailable(&self) -> bool {
        self.kind() == StorageErrorKind::Outage
    }
}
