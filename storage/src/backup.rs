//! Backup and restore of a whole database (`mimamori backup`, `mimamori restore`).
//!
//! * **SQLite**: an online backup through SQLite's backup API (one read transaction, so the
//!   copy is consistent while servers keep writing), written beside the destination and
//!   renamed into place, as one self-contained file (rollback journal, no `-wal`). A restore
//!   copies a checked backup into the target through the same API while holding the
//!   target's exclusive lock, so it refuses to run while any server has the file open.
//! * **PostgreSQL**: `pg_dump --format=custom` (a consistent snapshot) and
//!   `pg_restore --clean --if-exists --single-transaction` run as external programs
//!   (PostgreSQL's client tools, of the server's major version or newer). The password is
//!   taken out of the URL and handed over as `PGPASSWORD`, so it never appears in a process
//!   listing, and any echo of it in the tools' messages is masked.
//!
//! Nothing here logs; errors carry the redacted target only.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::database::{Backend, DatabaseTarget};
use crate::pg_tls::PgConnectOptions;
use crate::{Database, PoolOptions, StorageError};

/// The table every Mimamori database has (the migration history): a backup without it is
/// not one of ours.
const MIGRATIONS_TABLE: &str = "mimamori_migrations";

/// Why a backup or restore failed. Messages are one line and never contain a password.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The destination exists and `--force` was not given.
    #[error("{what} already exists; pass --force to replace it")]
    Exists {
        /// The file or (redacted) database.
        what: String,
    },
    /// The database to back up does not exist.
    #[error("no database at {path}; check DATABASE_URL or data_dir")]
    NoDatabase {
        /// The SQLite file.
        path: PathBuf,
    },
    /// The file to restore is not a Mimamori backup of this backend.
    #[error("{path} is not a Mimamori {backend} backup: {reason}")]
    NotABackup {
        /// The file.
        path: PathBuf,
        /// `sqlite` or `postgres`.
        backend: &'static str,
        /// What was found.
        reason: String,
    },
    /// A server still uses the target.
    #[error("{what} is in use ({reason}); stop every mimamori server using it, then restore")]
    InUse {
        /// The (redacted) target.
        what: String,
        /// What shows it.
        reason: String,
    },
    /// `pg_dump` or `pg_restore` is not installed.
    #[error(
        "{tool} not found ({program}); install PostgreSQL's client tools (Debian: postgresql-client) of the server's major version or newer, or pass --pg-bindir"
    )]
    ToolMissing {
        /// `pg_dump` or `pg_restore`.
        tool: &'static str,
        /// The program that was run.
        program: String,
    },
    /// `pg_dump` or `pg_restore` failed.
    #[error("{tool} failed ({status}): {message}")]
    ToolFailed {
        /// `pg_dump` or `pg_restore`.
        tool: &'static str,
        /// Its exit status.
        status: String,
        /// Its error output on one line, password masked.
        message: String,
    },
    /// SQLite refused.
    #[error("SQLite {action} {path}: {source}")]
    Sqlite {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// A file operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The PostgreSQL target could not be inspected (URL, connection).
    #[error("database {target}: {source}")]
    Database {
        /// The redacted target.
        target: String,
        /// The cause.
        #[source]
        source: StorageError,
    },
}

/// Where PostgreSQL's client programs are.
#[derive(Debug, Clone)]
pub struct PgTools {
    /// `pg_dump`.
    pub pg_dump: PathBuf,
    /// `pg_restore`.
    pub pg_restore: PathBuf,
}

impl PgTools {
    /// The programs in `bindir`, or found on `PATH` when `None`.
    pub fn new(bindir: Option<&Path>) -> PgTools {
        match bindir {
            Some(dir) => PgTools {
                pg_dump: dir.join("pg_dump"),
                pg_restore: dir.join("pg_restore"),
            },
            None => PgTools {
                pg_dump: PathBuf::from("pg_dump"),
                pg_restore: PathBuf::from("pg_restore"),
            },
        }
    }
}

/// What a backup or restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// The backend.
    pub backend: Backend,
    /// The backup file (written or read).
    pub file: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Backs up `target` into the file `out` (refused when it exists, unless `force`).
///
/// The file appears only when complete: it is written beside `out` and renamed.
pub async fn backup(
    target: &DatabaseTarget,
    out: &Path,
    force: bool,
    tools: &PgTools,
) -> Result<BackupReport, BackupError> {
    if out.exists() && !force {
        return Err(BackupError::Exists {
            what: out.display().to_string(),
        });
    }
    let partial = partial_path(out);
    let (target, tools, work_file) = (target.clone(), tools.clone(), partial.clone());
    let result = blocking(move || match &target {
        DatabaseTarget::Sqlite { path } => sqlite_backup(path, &work_file),
        DatabaseTarget::Postgres { url } => pg_dump(url, &work_file, &tools),
    })
    .await;
    let mut report = match result {
        Ok(report) => report,
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
    };
    std::fs::rename(&partial, out).map_err(|source| BackupError::Io {
        action: "move the finished backup to",
        path: out.to_path_buf(),
        source,
    })?;
    report.file = out.to_path_buf();
    Ok(report)
}

/// Restores the backup `from` into `target`.
///
/// SQLite: a target file that exists is replaced only with `force`, and never while a server
/// has it open. PostgreSQL: a target database that has tables is replaced only with `force`
/// (objects of the backup are dropped and recreated: `pg_restore --clean --if-exists`), and
/// never while a `mimamori` server is connected to it. `timeout` bounds the connection to it.
pub async fn restore(
    target: &DatabaseTarget,
    from: &Path,
    force: bool,
    tools: &PgTools,
    timeout: Duration,
) -> Result<BackupReport, BackupError> {
    if !from.is_file() {
        return Err(BackupError::Io {
            action: "read the backup",
            path: from.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        });
    }
    match target {
        DatabaseTarget::Sqlite { path } => {
            let (from, path) = (from.to_path_buf(), path.clone());
            blocking(move || sqlite_restore(&from, &path, force, timeout)).await?;
        }
        DatabaseTarget::Postgres { url } => {
            let (from_owned, tools_owned) = (from.to_path_buf(), tools.clone());
            blocking(move || pg_check_archive(&from_owned, &tools_owned)).await?;
            pg_check_target(target, force, timeout).await?;
            let (from_owned, tools_owned, url) = (from.to_path_buf(), tools.clone(), url.clone());
            blocking(move || pg_restore(&url, &from_owned, &tools_owned)).await?;
        }
    }
    Ok(BackupReport {
        backend: target.backend(),
        file: from.to_path_buf(),
        bytes: file_size(from)?,
    })
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BackupError> + Send + 'static,
) -> Result<T, BackupError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BackupError::Io {
            action: "finish",
            path: PathBuf::new(),
            source: std::io::Error::other(e.to_string()),
        })?
}

/// `DIR/.NAME.partial` beside `out`.
fn partial_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".into());
    out.with_file_name(format!(".{name}.partial"))
}

fn file_size(path: &Path) -> Result<u64, BackupError> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|source| BackupError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })
}

// ---------------------------------------------------------------------------------- SQLite

fn sqlite_error(action: &'static str, path: &Path) -> impl FnOnce(rusqlite::Error) -> BackupError {
    let path = path.to_path_buf();
    move |source| BackupError::Sqlite {
        action,
        path,
        source,
    }
}

/// Copies every page of `from` into `to` in one step (one read transaction on `from`),
/// retrying while either side is busy, up to a minute.
fn copy_pages(from: &Connection, to: &mut Connection, path: &Path) -> Result<(), BackupError> {
    use rusqlite::backup::{Backup, StepResult};
    let backup = Backup::new(from, to).map_err(sqlite_error("backup to", path))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match backup.step(-1).map_err(sqlite_error("backup to", path))? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            // Busy, Locked (and any later variant): retry until the deadline.
            _ => {
                if Instant::now() > deadline {
                    return Err(BackupError::InUse {
                        what: path.display().to_string(),
                        reason: "the database stayed locked for a minute".into(),
                    });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// `PRAGMA quick_check` answers `ok` and the migration history is there.
fn check_sqlite(connection: &Connection, path: &Path) -> Result<(), BackupError> {
    let not_ours = |reason: String| BackupError::NotABackup {
        path: path.to_path_buf(),
        backend: "sqlite",
        reason,
    };
    let check: String = connection
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .map_err(|e| not_ours(e.to_string()))?;
    if check != "ok" {
        return Err(not_ours(format!("quick_check: {check}")));
    }
    let tables: i64 = connection
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [MIGRATIONS_TABLE],
            |row| row.get(0),
        )
        .map_err(|e| not_ours(e.to_string()))?;
    if tables == 0 {
        return Err(not_ours(format!("it has no {MIGRATIONS_TABLE} table")));
    }
    Ok(())
}

fn sqlite_backup(source: &Path, partial: &Path) -> Result<BackupReport, BackupError> {
    if !source.is_file() {
        return Err(BackupError::NoDatabase {
            path: source.to_path_buf(),
        });
    }
    let _ = std::fs::remove_file(partial);
    // Read-write without create: a WAL database needs its shared-memory index.
    let from = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite_error("open", source))?;
    from.busy_timeout(Duration::from_secs(5))
        .map_err(sqlite_error("open", source))?;
    let mut to = Connection::open(partial).map_err(sqlite_error("create", partial))?;
    copy_pages(&from, &mut to, partial)?;
    drop(from);
    // One self-contained file: no write-ahead log beside it.
    to.pragma_update(None, "journal_mode", "DELETE")
        .map_err(sqlite_error("finish", partial))?;
    check_sqlite(&to, partial)?;
    to.close()
        .map_err(|(_, e)| sqlite_error("close", partial)(e))?;
    sync_file(partial)?;
    Ok(BackupReport {
        backend: Backend::Sqlite,
        file: partial.to_path_buf(),
        bytes: file_size(partial)?,
    })
}

fn sync_file(path: &Path) -> Result<(), BackupError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|source| BackupError::Io {
            action: "sync",
            path: path.to_path_buf(),
            source,
        })
}

fn sqlite_restore(
    from: &Path,
    target: &Path,
    force: bool,
    timeout: Duration,
) -> Result<(), BackupError> {
    let backup = Connection::open_with_flags(
        from,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| BackupError::NotABackup {
        path: from.to_path_buf(),
        backend: "sqlite",
        reason: e.to_string(),
    })?;
    check_sqlite(&backup, from)?;

    let existed = target.exists();
    let leftovers = ["-wal", "-shm"].map(|suffix| {
        let mut name = target.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    });
    if (existed || leftovers.iter().any(|p| p.exists())) && !force {
        return Err(BackupError::Exists {
            what: target.display().to_string(),
        });
    }
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| BackupError::Io {
            action: "create the directory",
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let result = (|| {
        let mut to = Connection::open(target).map_err(sqlite_error("open", target))?;
        // A server keeps its connections open, so waiting long for the lock is futile.
        to.busy_timeout(timeout.min(Duration::from_secs(1)))
            .map_err(sqlite_error("open", target))?;
        // Exclusive locking mode keeps the lock from the first write until the connection
        // closes; taking it fails while any other connection (a server) has the file open.
        to.pragma_update(None, "locking_mode", "EXCLUSIVE")
            .map_err(sqlite_error("lock", target))?;
        if let Err(error) = to.execute_batch("BEGIN EXCLUSIVE; COMMIT;") {
            return Err(match error.sqlite_error_code() {
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                    BackupError::InUse {
                        what: target.display().to_string(),
                        reason: "another connection has the file open".into(),
                    }
                }
                _ => sqlite_error("lock", target)(error),
            });
        }
        copy_pages(&backup, &mut to, target)?;
        check_sqlite(&to, target)?;
        to.close()
            .map_err(|(_, e)| sqlite_error("close", target)(e))
    })();
    if result.is_err() && !existed {
        let _ = std::fs::remove_file(target);
        for leftover in &leftovers {
            let _ = std::fs::remove_file(leftover);
        }
    }
    result
}

// ------------------------------------------------------------------------------ PostgreSQL

/// The URL without its password, and the password (decoded) for `PGPASSWORD`.
fn split_password(url: &str) -> Result<(String, Option<String>), BackupError> {
    let invalid = |source: StorageError| BackupError::Database {
        target: DatabaseTarget::Postgres { url: url.into() }.redacted(),
        source,
    };
    let options = PgConnectOptions::parse(url).map_err(invalid)?;
    let password = options
        .config
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let mut parsed = url::Url::parse(url).map_err(|e| {
        invalid(StorageError::InvalidUrl {
            reason: e.to_string(),
        })
    })?;
    if parsed.password().is_some() {
        let _ = parsed.set_password(None);
    }
    Ok((parsed.to_string(), password))
}

/// Runs a PostgreSQL client program with the password in its environment only.
fn run_tool(
    tool: &'static str,
    program: &Path,
    args: &[&std::ffi::OsStr],
    password: Option<&str>,
) -> Result<Output, BackupError> {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let output = command.output().map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
            BackupError::ToolMissing {
                tool,
                program: program.display().to_string(),
            }
        }
        _ => BackupError::Io {
            action: "run",
            path: program.to_path_buf(),
            source,
        },
    })?;
    if !output.status.success() {
        return Err(BackupError::ToolFailed {
            tool,
            status: output.status.to_string(),
            message: tool_message(&output.stderr, password),
        });
    }
    Ok(output)
}

/// A tool's error output on one line, at most 1,000 characters, with `password` masked.
fn tool_message(stderr: &[u8], password: Option<&str>) -> String {
    let mut text = String::from_utf8_lossy(stderr).trim().replace('\n', " | ");
    if let Some(password) = password.filter(|p| !p.is_empty()) {
        text = text.replace(password, "***");
    }
    if text.chars().count() > 1000 {
        text = text.chars().take(1000).collect::<String>() + "…";
    }
    text
}

fn pg_dump(url: &str, partial: &Path, tools: &PgTools) -> Result<BackupReport, BackupError> {
    let _ = std::fs::remove_file(partial);
    let (url, password) = split_password(url)?;
    let dbname = format!("--dbname={url}");
    let file = partial.as_os_str();
    run_tool(
        "pg_dump",
        &tools.pg_dump,
        &[
            "--format=custom".as_ref(),
            "--no-password".as_ref(),
            "--file".as_ref(),
            file,
            dbname.as_ref(),
        ],
        password.as_deref(),
    )?;
    sync_file(partial)?;
    pg_check_archive(partial, tools)?;
    Ok(BackupReport {
        backend: Backend::Postgres,
        file: partial.to_path_buf(),
        bytes: file_size(partial)?,
    })
}

/// `pg_restore --list` reads the archive and it holds the migration history.
fn pg_check_archive(path: &Path, tools: &PgTools) -> Result<(), BackupError> {
    let not_ours = |reason: String| BackupError::NotABackup {
        path: path.to_path_buf(),
        backend: "postgres",
        reason,
    };
    let output = match run_tool(
        "pg_restore",
        &tools.pg_restore,
        &["--list".as_ref(), path.as_os_str()],
        None,
    ) {
        Ok(output) => output,
        Err(BackupError::ToolFailed { message, .. }) => return Err(not_ours(message)),
        Err(other) => return Err(other),
    };
    let listing = String::from_utf8_lossy(&output.stdout);
    if !listing
        .lines()
        .any(|line| line.contains(&format!("TABLE public {MIGRATIONS_TABLE} ")))
    {
        return Err(not_ours(format!("it has no {MIGRATIONS_TABLE} table")));
    }
    Ok(())
}

/// Refuses a target that a `mimamori` server is connected to, or that has tables (unless
/// `force`).
async fn pg_check_target(
    target: &DatabaseTarget,
    force: bool,
    timeout: Duration,
) -> Result<(), BackupError> {
    let redacted = target.redacted();
    let fail = |source: StorageError| BackupError::Database {
        target: redacted.clone(),
        source,
    };
    let options = PoolOptions {
        max_connections: 1,
        timeout,
    };
    let database = Database::open(target, &options).map_err(fail)?;
    let Database::Postgres(pool) = &database else {
        return Ok(());
    };
    let client = pool.get().await.map_err(|e| fail(e.into()))?;
    let row = client
        .query_one(
            "SELECT
                 (SELECT count(*) FROM pg_stat_activity
                   WHERE datname = current_database() AND pid <> pg_backend_pid()
                     AND application_name = 'mimamori'),
                 (SELECT count(*) FROM pg_tables
                   WHERE schemaname NOT IN ('pg_catalog', 'information_schema'))",
            &[],
        )
        .await
        .map_err(|e| fail(e.into()))?;
    drop(client);
    database.close();
    let (servers, tables): (i64, i64) = (row.get(0), row.get(1));
    if servers > 0 {
        return Err(BackupError::InUse {
            what: redacted,
            reason: format!("{servers} connection(s) with application_name mimamori"),
        });
    }
    if tables > 0 && !force {
        return Err(BackupError::Exists {
            what: format!("database {redacted} with {tables} table(s)"),
        });
    }
    Ok(())
}

fn pg_restore(url: &str, from: &Path, tools: &PgTools) -> Result<(), BackupError> {
    let (url, password) = split_password(url)?;
    let dbname = format!("--dbname={url}");
    run_tool(
        "pg_restore",
        &tools.pg_restore,
        &[
            "--clean".as_ref(),
            "--if-exists".as_ref(),
            "--no-owner".as_ref(),
            "--no-privileges".as_ref(),
            "--single-transaction".as_ref(),
            "--exit-on-error".as_ref(),
            "--no-password".as_ref(),
            dbname.as_ref(),
            from.as_os_str(),
        ],
        password.as_deref(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn passwords_leave_the_url_and_the_messages() {
        let (url, password) =
            split_password("postgres://app:p%40ss%3Aw0rd@db.example:5433/prod?sslmode=require")
                .unwrap();
        assert_eq!(url, "postgres://app@db.example:5433/prod?sslmode=require");
        assert_eq!(password.as_deref(), Some("p@ss:w0rd"));
        let (url, password) = split_password("postgres://app@db/prod").unwrap();
        assert_eq!(url, "postgres://app@db/prod");
        assert_eq!(password, None);

        let message = tool_message(
            b"pg_dump: error: bad p@ss:w0rd\nsecond line\n",
            Some("p@ss:w0rd"),
        );
        assert_eq!(message, "pg_dump: error: bad *** | second line");
    }

    #[test]
    fn a_missing_tool_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let tools = PgTools::new(Some(dir.path()));
        let error = pg_check_archive(&dir.path().join("x.dump"), &tools).unwrap_err();
        assert!(matches!(
            error,
            BackupError::ToolMissing {
                tool: "pg_restore",
                ..
            }
        ));
        assert!(error.to_string().contains("postgresql-client"), "{error}");
    }

    #[test]
    fn partial_files_sit_beside_the_destination() {
        assert_eq!(
            partial_path(Path::new("/backups/m.db")),
            PathBuf::from("/backups/.m.db.partial")
        );
    }
}
