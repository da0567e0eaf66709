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
    #[error("postgres: {}", postgres_message(.0))]
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

impl StorageError {
    /// True when the error means "the database is not reachable right now" rather than
    /// "the request or the data is wrong"; callers answer 503 for these.
    /// True when the client's input itself cannot be stored (answer 400, not 500).
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, StorageError::NulInText)
    }

    /// True for database outages (answer 503, not 500).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StorageError::Pool(_) | StorageError::Task(_) => true,
            StorageError::Postgres(e) => e.is_closed() || e.as_db_error().is_none(),
            StorageError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::CannotOpen
                    | rusqlite::ErrorCode::SystemIoFailure
                    | rusqlite::ErrorCode::DiskFull
            ),
            _ => false,
        }
    }
}
