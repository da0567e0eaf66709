//! A small pool of blocking SQLite connections driven from async code.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::Semaphore;

use crate::StorageError;

/// A pool of SQLite connections to one database file, in WAL mode.
///
/// Each call runs on tokio's blocking thread pool, so SQLite never blocks the async workers.
/// Writers serialize inside SQLite (busy timeout); readers run concurrently thanks to WAL.
#[derive(Clone)]
pub struct SqlitePool {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
    max_connections: usize,
    busy_timeout: Duration,
}

impl std::fmt::Debug for SqlitePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlitePool")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl SqlitePool {
    /// Opens (creating if needed) the database file at `path`, creating its parent directory.
    ///
    /// One connection is opened immediately so configuration errors (unwritable directory,
    /// not a database) surface at start-up, not on the first request.
    pub fn open(
        path: &Path,
        max_connections: usize,
        busy_timeout: Duration,
    ) -> Result<Self, StorageError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StorageError::Io {
                action: "cannot create data directory",
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let pool = SqlitePool {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(Semaphore::new(max_connections.max(1))),
                max_connections: max_connections.max(1),
                busy_timeout,
            }),
        };
        let first = pool.open_connection()?;
        pool.return_connection(first);
        Ok(pool)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Connection counts now: the pool's maximum, connections handed out to a call, and open
    /// connections waiting unused. Read for metrics; never blocks on the pool.
    pub fn status(&self) -> crate::PoolStatus {
        let max = self.inner.max_connections;
        let in_use = max.saturating_sub(self.inner.permits.available_permits());
        let idle = self.inner.idle.lock().map(|idle| idle.len()).unwrap_or(0);
        crate::PoolStatus {
            max,
            in_use,
            idle,
            waiting: 0,
        }
    }

    fn open_connection(&self) -> Result<Connection, StorageError> {
        let connection = Connection::open(&self.inner.path)?;
        connection.busy_timeout(self.inner.busy_timeout)?;
        // WAL lets readers run beside the writer; synchronous=FULL makes every committed
        // transaction durable across power loss, not only across a process crash.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        Ok(connection)
    }

    fn return_connection(&self, connection: Connection) {
        if let Ok(mut idle) = self.inner.idle.lock() {
            idle.push(connection);
        }
    }

    /// Runs `work` with a connection on a blocking thread and returns its result.
    ///
    /// `E` is the caller's error type; storage failures convert into it.
    pub async fn call<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        let permit = Arc::clone(&self.inner.permits)
            .acquire_owned()
            .await
            .map_err(|e| E::from(StorageError::Task(e.to_string())))?;
        let pool = self.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let idle = pool.inner.idle.lock().ok().and_then(|mut idle| idle.pop());
            let mut connection = match idle {
                Some(connection) => connection,
                None => pool.open_connection().map_err(E::from)?,
            };
            let result = work(&mut connection);
            // A connection left inside a transaction (the closure returned early) is not reused.
            if connection.is_autocommit() {
                pool.return_connection(connection);
            }
            result
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(join_error) => Err(E::from(StorageError::Task(join_error.to_string()))),
        }
    }
}
