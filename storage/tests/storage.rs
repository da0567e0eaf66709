//! Storage foundation tests, each run on SQLite and on a fresh PostgreSQL database.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use mimamori_storage::lease::{DatabaseLeaseStore, conformance};
use mimamori_storage::{Database, Migration, MigrationSet, StorageError};

const EXTRA: MigrationSet = MigrationSet {
    component: "example",
    migrations: &[
        Migration {
            version: 1,
            name: "things",
            sqlite: "CREATE TABLE things (id INTEGER PRIMARY KEY, label TEXT NOT NULL);",
            postgres: "CREATE TABLE things (id BIGSERIAL PRIMARY KEY, label TEXT NOT NULL);",
        },
        Migration {
            version: 2,
            name: "things_index",
            sqlite: "CREATE INDEX things_label ON things (label);",
            postgres: "CREATE INDEX things_label ON things (label);",
        },
    ],
};

async fn count_history(database: &Database) -> i64 {
    match database {
        Database::Sqlite(pool) => pool
            .call(|c| {
                c.query_row("SELECT COUNT(*) FROM mimamori_migrations", [], |r| r.get(0))
                    .map_err(StorageError::from)
            })
            .await
            .unwrap(),
        Database::Postgres(pool) => pool
            .get()
            .await
            .unwrap()
            .query_one("SELECT COUNT(*) FROM mimamori_migrations", &[])
            .await
            .unwrap()
            .get(0),
    }
}

mimamori_storage::backend_tests! {
    migrations = [mimamori_storage::MIGRATIONS];

    async fn lease_store_conforms(database) {
        let store = DatabaseLeaseStore::new(database);
        conformance::lease_store(&store).await;
    }

    async fn limit_store_conforms(database) {
        let store = mimamori_storage::limits::DatabaseLimitStore::new(database);
        mimamori_storage::limits::conformance::limit_store(&store).await;
    }

    async fn migrations_apply_once_and_report_status(database) {
        let sets = [mimamori_storage::MIGRATIONS, EXTRA];
        let before = database.migration_status(&sets).await.unwrap();
        assert_eq!(before.pending, vec![("example".to_string(), 0, 2)]);
        assert!(!before.is_current());

        assert_eq!(database.migrate(&sets).await.unwrap(), 2);
        assert_eq!(database.migrate(&sets).await.unwrap(), 0, "second run applies nothing");
        assert!(database.migration_status(&sets).await.unwrap().is_current());
        assert_eq!(count_history(&database).await, 4, "the storage set's two and the example's two");
        database.ping().await.unwrap();
    }

    async fn edited_migration_is_refused(database) {
        database.migrate(&[EXTRA]).await.unwrap();
        const EDITED: MigrationSet = MigrationSet {
            component: "example",
            migrations: &[Migration {
                version: 1,
                name: "things",
                sqlite: "CREATE TABLE things (id INTEGER PRIMARY KEY);",
                postgres: "CREATE TABLE things (id BIGSERIAL PRIMARY KEY);",
            }],
        };
        let error = database.migrate(&[EDITED]).await.unwrap_err();
        assert!(
            matches!(error, StorageError::Migration { version: 1, .. }),
            "unexpected error {error}"
        );
    }

    async fn failing_migration_leaves_no_trace(database) {
        const BROKEN: MigrationSet = MigrationSet {
            component: "broken",
            migrations: &[Migration {
                version: 1,
                name: "broken",
                sqlite: "CREATE TABLE half (id INTEGER); THIS IS NOT SQL;",
                postgres: "CREATE TABLE half (id INTEGER); THIS IS NOT SQL;",
            }],
        };
        let error = database.migrate(&[BROKEN]).await.unwrap_err();
        assert!(matches!(error, StorageError::Migration { .. }), "{error}");
        let status = database.migration_status(&[BROKEN]).await.unwrap();
        assert_eq!(status.pending, vec![("broken".to_string(), 0, 1)]);
        // The half-created table was rolled back with the migration.
        let fixed = MigrationSet {
            component: "broken",
            migrations: &[Migration {
                version: 1,
                name: "broken",
                sqlite: "CREATE TABLE half (id INTEGER);",
                postgres: "CREATE TABLE half (id INTEGER);",
            }],
        };
        assert_eq!(database.migrate(&[fixed]).await.unwrap(), 1);
    }

    async fn concurrent_migrations_apply_each_version_once(database) {
        let sets = [mimamori_storage::MIGRATIONS, EXTRA];
        let runs = (0..4).map(|_| {
            let database = database.clone();
            tokio::spawn(async move { database.migrate(&sets).await })
        });
        let mut applied = 0;
        for run in runs {
            applied += run.await.unwrap().unwrap();
        }
        // The harness applied the storage set; the two `example` migrations remain.
        assert_eq!(applied, 2, "each migration applied by exactly one runner");
        assert_eq!(count_history(&database).await, 4);
    }
}

#[test]
fn database_url_parsing() {
    use mimamori_storage::DatabaseTarget;
    use std::path::{Path, PathBuf};
    let default = Path::new("./data/mimamori.db");
    assert_eq!(
        DatabaseTarget::parse(None, default).unwrap(),
        DatabaseTarget::Sqlite {
            path: default.to_path_buf()
        }
    );
    assert_eq!(
        DatabaseTarget::parse(Some("sqlite:///var/lib/m.db"), default).unwrap(),
        DatabaseTarget::Sqlite {
            path: PathBuf::from("/var/lib/m.db")
        }
    );
    assert_eq!(
        DatabaseTarget::parse(Some("sqlite://data/x.db"), default).unwrap(),
        DatabaseTarget::Sqlite {
            path: PathBuf::from("data/x.db")
        }
    );
    let pg =
        DatabaseTarget::parse(Some("postgres://user:hunter2@db.example/prod"), default).unwrap();
    assert!(!pg.redacted().contains("hunter2"), "{}", pg.redacted());
    assert!(!format!("{pg:?}").contains("hunter2"));
    assert!(
        DatabaseTarget::parse(Some("mysql://x/y"), default)
            .unwrap_err()
            .to_string()
            .contains("unsupported scheme 'mysql'")
    );
    assert!(DatabaseTarget::parse(Some("sqlite://"), default).is_err());
    // A value that is no URL at all (a bare password in DATABASE_URL_FILE) is not echoed.
    let error = DatabaseTarget::parse(Some("hunter2-not-a-url"), default)
        .unwrap_err()
        .to_string();
    assert!(error.contains("not a database URL"), "{error}");
    assert!(!error.contains("hunter2"), "{error}");
}

#[test]
fn unwritable_data_directory_is_a_clear_error() {
    use mimamori_storage::{DatabaseTarget, PoolOptions};
    // A directory cannot be created below a regular file, even as root.
    let file = tempfile::NamedTempFile::new().unwrap();
    let path = file.path().join("sub").join("mimamori.db");
    let error =
        Database::open(&DatabaseTarget::Sqlite { path }, &PoolOptions::default()).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot create data directory"),
        "{error}"
    );
}

/// Storage errors say what kind they are (for the log and the answer) and name schema
/// objects, never the values: a unique violation is a `constraint` error naming the
/// constraint, without the duplicated value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_errors_say_their_kind_without_row_data() {
    use mimamori_storage::StorageErrorKind;
    let Some(test) = mimamori_storage::testing::TestDatabase::postgres_unmigrated().await else {
        return;
    };
    let Database::Postgres(pool) = &test.database else {
        unreachable!()
    };
    let client = pool.get().await.unwrap();
    client
        .batch_execute("CREATE TABLE people (email TEXT CONSTRAINT people_email_key UNIQUE)")
        .await
        .unwrap();
    let insert = "INSERT INTO people VALUES ('secret.person@example.org')";
    client.batch_execute(insert).await.unwrap();
    let error = StorageError::from(client.batch_execute(insert).await.unwrap_err());
    assert_eq!(error.kind(), StorageErrorKind::Constraint);
    assert_eq!(error.sqlstate(), Some("23505"));
    let shown = error.to_string();
    assert!(
        shown.contains("SQLSTATE 23505") && shown.contains("people_email_key"),
        "{shown}"
    );
    assert!(
        !shown.contains("secret.person"),
        "row data in the error text: {shown}"
    );
    assert!(!error.is_unavailable());

    // A terminated session is an outage (503), not a fault (500).
    let victim = pool.get().await.unwrap();
    let pid: i32 = victim
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    client
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    let error = StorageError::from(victim.batch_execute("SELECT 1").await.unwrap_err());
    assert_eq!(error.kind(), StorageErrorKind::Outage, "{error}");
    assert!(error.is_unavailable());
}

#[tokio::test]
async fn the_memory_limit_store_conforms() {
    let store = mimamori_storage::limits::MemoryLimitStore::default();
    mimamori_storage::limits::conformance::limit_store(&store).await;
}

mod redis_limits {
    use std::sync::Arc;
    use std::time::Duration;

    use mimamori_storage::limits::{
        EXPIRY_SLACK_MS, LimitStore, RedisLimitSettings, RedisLimitStore, conformance,
    };
    use mimamori_storage::testing::TestRedis;
    use mimamori_storage::{StorageError, StorageErrorKind};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_redis_limit_store_conforms() {
        let Some(redis) = TestRedis::start().await else {
            return;
        };
        conformance::limit_store(&redis.store()).await;
    }

    /// Several replicas (one store each) counting the same key at once lose no increment.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_counts_from_several_replicas_are_all_counted() {
        let Some(redis) = TestRedis::start().await else {
            return;
        };
        let replicas: Vec<Arc<RedisLimitStore>> = (0..4).map(|_| Arc::new(redis.store())).collect();
        let mut tasks = Vec::new();
        for replica in &replicas {
            for _ in 0..50 {
                let replica = Arc::clone(replica);
                tasks.push(tokio::spawn(async move {
                    replica
                        .count("verify", "shared", 600_000, 5_000)
                        .await
                        .unwrap()
                }));
            }
        }
        let mut counts = Vec::new();
        for task in tasks {
            let window = task.await.unwrap();
            assert_eq!(window.start_ms, 5_000, "one window for every replica");
            counts.push(window.count);
        }
        counts.sort_unstable();
        assert_eq!(
            counts,
            (1..=200).collect::<Vec<i64>>(),
            "each count seen exactly once"
        );
        let window = replicas[0]
            .window("verify", "shared")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(window.count, 200);
    }

    /// Windows vanish on their own: every key has an expiry just past its window; secrets do
    /// not expire. Key names carry the prefix and the caller's opaque key only.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn windows_expire_by_themselves_and_keys_are_prefixed() {
        let Some(redis) = TestRedis::start().await else {
            return;
        };
        let store = redis.store();
        store.count("verify", "k", 1_000, 10).await.unwrap();
        store.secret("name", b"value").await.unwrap();
        let client = redis::Client::open(redis.settings.url.as_str()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let prefix = &redis.settings.key_prefix;
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query_async(&mut connection)
            .await
            .unwrap();
        keys.sort();
        assert_eq!(
            keys,
            vec![
                format!("{prefix}secret:name"),
                format!("{prefix}{{verify}}:index"),
                format!("{prefix}{{verify}}:w:k"),
            ]
        );
        for key in [
            format!("{prefix}{{verify}}:w:k"),
            format!("{prefix}{{verify}}:index"),
        ] {
            let ttl: i64 = redis::cmd("PTTL")
                .arg(&key)
                .query_async(&mut connection)
                .await
                .unwrap();
            assert!(ttl > 0 && ttl <= 1_000 + EXPIRY_SLACK_MS, "{key}: {ttl}");
        }
        let ttl: i64 = redis::cmd("PTTL")
            .arg(format!("{prefix}secret:name"))
            .query_async(&mut connection)
            .await
            .unwrap();
        assert_eq!(ttl, -1, "secrets never expire");
        // A window whose key expired is gone, and counting starts a new one.
        let _: () = redis::cmd("DEL")
            .arg(format!("{prefix}{{verify}}:w:k"))
            .query_async(&mut connection)
            .await
            .unwrap();
        assert_eq!(store.window("verify", "k").await.unwrap(), None);
        assert_eq!(
            store
                .count("verify", "k", 1_000, 20)
                .await
                .unwrap()
                .start_ms,
            20
        );
    }

    /// Purge deletes in batches: more windows than one batch are all deleted.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn purge_deletes_more_than_one_batch() {
        let Some(redis) = TestRedis::start().await else {
            return;
        };
        let store = Arc::new(redis.store());
        let mut tasks = Vec::new();
        for i in 0..2_500 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                store
                    .count("bulk", &format!("k{i}"), 600_000, 1_000 + i % 7)
                    .await
                    .unwrap();
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        store.count("bulk", "young", 600_000, 9_000).await.unwrap();
        assert_eq!(store.purge("bulk", 2_000).await.unwrap(), 2_500);
        assert_eq!(store.purge("bulk", 2_000).await.unwrap(), 0);
        assert!(store.window("bulk", "young").await.unwrap().is_some());
    }

    /// A Redis that does not answer is an outage error (callers refuse: 503), quickly, and
    /// the error does not show the URL's password. Once it answers, the store works again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreachable_redis_is_an_outage_error_without_the_password() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        }; // closed again: nothing listens there
        let store = RedisLimitStore::new(&RedisLimitSettings {
            url: format!("redis://:hunter2-secret@127.0.0.1:{port}/0"),
            key_prefix: "mimamori:".into(),
            timeout: Duration::from_millis(500),
        })
        .unwrap();
        assert!(!format!("{store:?}").contains("hunter2"));
        let started = std::time::Instant::now();
        let errors: Vec<StorageError> = vec![
            store.count("verify", "k", 60_000, 1_000).await.unwrap_err(),
            store.window("verify", "k").await.unwrap_err(),
            store.purge("verify", 1_000).await.unwrap_err(),
            store.secret("s", b"x").await.unwrap_err(),
            store.ping().await.unwrap_err(),
        ];
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        for error in &errors {
            assert_eq!(error.kind(), StorageErrorKind::Outage, "{error}");
            assert!(error.is_unavailable());
            let shown = format!("{error} {error:?}");
            assert!(!shown.contains("hunter2"), "{shown}");
        }
        // A URL that is not a Redis URL is refused when the store is made.
        assert!(
            RedisLimitStore::new(&RedisLimitSettings {
                url: "postgres://x".into(),
                key_prefix: "mimamori:".into(),
                timeout: Duration::from_secs(1),
            })
            .is_err()
        );
    }

    /// A Redis of this test's own (`redis-server` or `valkey-server` on PATH), stopped on drop.
    struct PrivateRedis {
        child: std::process::Child,
        url: String,
    }

    impl PrivateRedis {
        fn start() -> Option<PrivateRedis> {
            let port = {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                listener.local_addr().unwrap().port()
            };
            for program in ["redis-server", "valkey-server"] {
                let spawned = std::process::Command::new(program)
                    .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                    .args(["--save", "", "--appendonly", "no"])
                    .stdout(std::process::Stdio::null())
                    .spawn();
                if let Ok(child) = spawned {
                    return Some(PrivateRedis {
                        child,
                        url: format!("redis://127.0.0.1:{port}/0"),
                    });
                }
            }
            if mimamori_storage::testing::redis_required() {
                panic!(
                    "Redis tests are required (CI=true) but neither redis-server nor valkey-server is on PATH"
                );
            }
            eprintln!("skipping: neither redis-server nor valkey-server is on PATH");
            None
        }

        async fn connection(&self) -> redis::aio::MultiplexedConnection {
            let client = redis::Client::open(self.url.as_str()).unwrap();
            for _ in 0..100 {
                if let Ok(connection) = client.get_multiplexed_async_connection().await {
                    return connection;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("the private Redis did not start");
        }
    }

    impl Drop for PrivateRedis {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// A Redis that can be read but refuses writes (out of memory under `noeviction`) must
    /// not let guesses through uncounted: the check fails as the count would.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_redis_that_refuses_writes_fails_the_check_too() {
        let Some(server) = PrivateRedis::start() else {
            return;
        };
        let mut admin = server.connection().await;
        let store = RedisLimitStore::new(&RedisLimitSettings {
            url: server.url.clone(),
            key_prefix: "mimamori:".into(),
            timeout: Duration::from_secs(2),
        })
        .unwrap();
        store.count("verify", "k", 60_000, 1_000).await.unwrap();
        assert_eq!(store.window("verify", "k").await.unwrap().unwrap().count, 1);
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("maxmemory")
            .arg("1")
            .query_async(&mut admin)
            .await
            .unwrap();
        let check = store.window("verify", "k").await.unwrap_err();
        assert_eq!(check.kind(), StorageErrorKind::Outage, "{check}");
        let count = store.count("verify", "k", 60_000, 2_000).await.unwrap_err();
        assert_eq!(count.kind(), StorageErrorKind::Outage, "{count}");
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("maxmemory")
            .arg("0")
            .query_async(&mut admin)
            .await
            .unwrap();
        assert_eq!(
            store
                .count("verify", "k", 60_000, 3_000)
                .await
                .unwrap()
                .count,
            2
        );
    }
}
