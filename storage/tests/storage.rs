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
