//! The two-backend test harness (feature `testing`).
//!
//! * [`TestDatabase::sqlite`] — a migrated database in a temporary file, removed afterwards.
//! * [`TestDatabase::postgres`] — a fresh, migrated PostgreSQL database per test, dropped
//!   afterwards. The server is `TEST_DATABASE_URL` (default
//!   `postgres://postgres@127.0.0.1:5432/postgres`). When it cannot be reached the test is
//!   skipped with a message — except under `CI=true` (or `TEST_REQUIRE_POSTGRES=1`), where
//!   it fails, so CI never silently skips the PostgreSQL half.
//!
//! [`backend_tests!`](crate::backend_tests) turns one async test body into a SQLite and a
//! PostgreSQL test.
//!
//! * [`TestRedis::start`] — the Redis limit store's settings with a random key prefix of
//!   their own (so runs never collide; the keys are deleted afterwards). The server is
//!   `MIMAMORI_TEST_REDIS_URL` (default `redis://127.0.0.1:6379/0`); unreachable, the test is
//!   skipped with a message — except under `CI=true` (or `TEST_REQUIRE_REDIS=1`), where it
//!   fails.

use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use crate::{Database, DatabaseTarget, MigrationSet, PoolOptions};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The PostgreSQL server used by tests.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_string())
}

/// True when PostgreSQL tests must run (CI), so an unreachable server is a failure.
pub fn postgres_required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
        || std::env::var("TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379/0";

/// The Redis used by tests (`MIMAMORI_TEST_REDIS_URL`).
pub fn redis_url() -> String {
    std::env::var("MIMAMORI_TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_string())
}

/// True when Redis tests must run (CI), so an unreachable Redis is a failure.
pub fn redis_required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
        || std::env::var("TEST_REQUIRE_REDIS").is_ok_and(|v| v == "1")
}

/// A key prefix in the test Redis that belongs to one test; its keys are deleted on drop.
#[derive(Debug)]
pub struct TestRedis {
    /// Settings for [`crate::limits::RedisLimitStore`] with this test's prefix.
    pub settings: crate::limits::RedisLimitSettings,
}

impl TestRedis {
    /// This test's prefix in the test Redis, or `None` (test skipped) when Redis does not
    /// answer outside CI. Panics under CI when it does not.
    pub async fn start() -> Option<TestRedis> {
        let url = redis_url();
        let settings = crate::limits::RedisLimitSettings {
            url: url.clone(),
            key_prefix: format!("mimamori-test:{}:", uuid::Uuid::new_v4().simple()),
            timeout: Duration::from_secs(2),
        };
        let reachable = match crate::limits::RedisLimitStore::new(&settings) {
            Ok(store) => {
                use crate::limits::LimitStore as _;
                store.ping().await.map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        if let Err(error) = reachable {
            if redis_required() {
                panic!(
                    "Redis tests are required (CI=true) but {url} does not answer ({error}); start redis-server or valkey-server, or set MIMAMORI_TEST_REDIS_URL"
                );
            }
            eprintln!(
                "skipping Redis test: {url} does not answer ({error}); set MIMAMORI_TEST_REDIS_URL (under CI=true this fails)"
            );
            return None;
        }
        Some(TestRedis { settings })
    }

    /// A store on this test's prefix.
    pub fn store(&self) -> crate::limits::RedisLimitStore {
        crate::limits::RedisLimitStore::new(&self.settings).expect("test Redis URL")
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let Ok(client) = redis::Client::open(self.settings.url.as_str()) else {
            return;
        };
        let Ok(mut connection) = client.get_connection_with_timeout(Duration::from_secs(2)) else {
            return;
        };
        let pattern = format!("{}*", self.settings.key_prefix);
        let mut cursor: u64 = 0;
        loop {
            let Ok((next, keys)): redis::RedisResult<(u64, Vec<String>)> = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query(&mut connection)
            else {
                return;
            };
            if !keys.is_empty() {
                let _: redis::RedisResult<u64> =
                    redis::cmd("DEL").arg(&keys).query(&mut connection);
            }
            if next == 0 {
                return;
            }
            cursor = next;
        }
    }
}

/// A database that exists for one test.
pub struct TestDatabase {
    /// The handle to use in the test.
    pub database: Database,
    /// The `DATABASE_URL` of this database (to start a server or a CLI against it).
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { name: String },
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("backend", &self.database.backend())
            .finish_non_exhaustive()
    }
}

impl TestDatabase {
    /// A migrated SQLite database in a temporary directory.
    pub async fn sqlite(migrations: &[MigrationSet]) -> TestDatabase {
        let database = Self::sqlite_unmigrated().await;
        database
            .database
            .migrate(migrations)
            .await
            .expect("migrate test SQLite database");
        database
    }

    /// An empty SQLite database in a temporary directory.
    pub async fn sqlite_unmigrated() -> TestDatabase {
        let directory = tempfile::tempdir().expect("create temporary directory");
        let path = directory.path().join("test.db");
        let url = format!("sqlite://{}", path.display());
        let target = DatabaseTarget::Sqlite { path };
        let database = Database::open(&target, &PoolOptions::default()).expect("open SQLite");
        TestDatabase {
            database,
            url,
            cleanup: Cleanup::Sqlite(directory),
        }
    }

    /// A fresh, migrated PostgreSQL database, or `None` (test skipped) when no server is
    /// reachable outside CI.
    pub async fn postgres(migrations: &[MigrationSet]) -> Option<TestDatabase> {
        let database = Self::postgres_unmigrated().await?;
        database
            .database
            .migrate(migrations)
            .await
            .expect("migrate test PostgreSQL database");
        Some(database)
    }

    /// A fresh, empty PostgreSQL database, or `None` when skipped.
    pub async fn postgres_unmigrated() -> Option<TestDatabase> {
        if !postgres_reachable().await {
            return None;
        }
        let admin = admin_url();
        let name = format!("mimamori_test_{}", uuid::Uuid::new_v4().simple());
        let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .expect("connect to the test PostgreSQL server");
        let driver = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        drop(client);
        let _ = driver.await;

        let mut config = tokio_postgres::Config::from_str(&admin).expect("parse TEST_DATABASE_URL");
        config.dbname(&name);
        let url = url_with_database(&admin, &name);
        let target = DatabaseTarget::Postgres { url: url.clone() };
        let database = Database::open(&target, &PoolOptions::default()).expect("open PostgreSQL");
        Some(TestDatabase {
            database,
            url,
            cleanup: Cleanup::Postgres { name },
        })
    }
}

fn url_with_database(admin: &str, name: &str) -> String {
    match url::Url::parse(admin) {
        Ok(mut parsed) => {
            parsed.set_path(&format!("/{name}"));
            parsed.to_string()
        }
        Err(_) => format!("postgres://postgres@127.0.0.1:5432/{name}"),
    }
}

/// Whether the test PostgreSQL server answers; panics under CI when it does not.
async fn postgres_reachable() -> bool {
    static REACHABLE: OnceLock<bool> = OnceLock::new();
    if let Some(known) = REACHABLE.get() {
        return *known;
    }
    let admin = admin_url();
    let attempt = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_postgres::connect(&admin, tokio_postgres::NoTls),
    )
    .await;
    let reachable = matches!(attempt, Ok(Ok(_)));
    if !reachable {
        if postgres_required() {
            panic!(
                "PostgreSQL tests are required (CI=true) but {admin} is not reachable; start PostgreSQL or set TEST_DATABASE_URL"
            );
        }
        eprintln!(
            "skipping PostgreSQL tests: {admin} is not reachable (set TEST_DATABASE_URL; under CI=true this fails)"
        );
    }
    *REACHABLE.get_or_init(|| reachable)
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        self.database.close();
        if let Cleanup::Postgres { name } = &self.cleanup {
            let name = name.clone();
            let admin = admin_url();
            // Drop may run inside a runtime; use a separate thread with its own runtime.
            let dropper = std::thread::spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(async move {
                    if let Ok((client, connection)) =
                        tokio_postgres::connect(&admin, tokio_postgres::NoTls).await
                    {
                        let driver = tokio::spawn(connection);
                        if let Err(e) = client
                            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .await
                        {
                            eprintln!("could not drop test database {name}: {e}");
                        }
                        drop(client);
                        let _ = driver.await;
                    }
                });
            });
            let _ = dropper.join();
        }
    }
}

/// Runs each async test body against both backends.
///
/// ```ignore
/// mimamori_storage::backend_tests! {
///     migrations = [mimamori_storage::MIGRATIONS];
///     async fn leases_conform(database) {
///         let store = DatabaseLeaseStore::new(database);
///         conformance::lease_store(&store).await;
///     }
/// }
/// ```
/// expands to modules `leases_conform::sqlite` and `leases_conform::postgres`.
#[macro_export]
macro_rules! backend_tests {
    (
        migrations = $migrations:expr;
        $( async fn $name:ident($database:ident) $body:block )*
    ) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let test_database =
                        $crate::testing::TestDatabase::sqlite(&$migrations).await;
                    let $database = test_database.database.clone();
                    $body
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(test_database) =
                        $crate::testing::TestDatabase::postgres(&$migrations).await
                    else {
                        return;
                    };
                    let $database = test_database.database.clone();
                    $body
                }
            }
        )*
    };
}
