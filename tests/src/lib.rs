//! Shared helpers for the end-to-end tests: start a real `mimamori` HTTP server on a free
//! port against a fresh database of either backend, and talk to it with a real HTTP client.

pub mod certs;
pub mod outage;
pub mod s3;

use std::net::SocketAddr;

use mimamori::config::Settings;
use mimamori::startup::{Application, ServerHandle, migration_sets};
use mimamori_storage::ManualClock;
use mimamori_storage::testing::TestDatabase;

/// The `mimamori` binary built beside the running test binary (`cargo test --workspace`
/// builds it with the server package).
pub fn mimamori_binary() -> std::path::PathBuf {
    let mut path = std::env::current_exe().expect("test binary path");
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    let binary = path.join("mimamori");
    assert!(
        binary.exists(),
        "build the binary first: {}",
        binary.display()
    );
    binary
}

/// A port nothing listens on now (for servers a test starts as processes).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// Waits until `base`'s `/readyz` answers 200; panics after `seconds`.
pub async fn wait_ready(client: &reqwest::Client, base: &str, seconds: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await
            && response.status() == 200
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{base} did not become ready in {seconds} s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Which storage backend a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The bound address.
    pub address: SocketAddr,
    /// A plain HTTP client.
    pub client: reqwest::Client,
    /// The database the server uses (dropped after the test).
    pub database: TestDatabase,
    /// The settings the server runs with.
    pub settings: Settings,
    /// The clock, when the test controls time.
    pub clock: Option<ManualClock>,
    /// The relay between the server and PostgreSQL, for outage tests
    /// ([`spawn_app_behind_relay`]).
    pub relay: Option<outage::PostgresRelay>,
    _export_directory: tempfile::TempDir,
    handle: ServerHandle,
}

impl TestApp {
    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET request")
    }

    /// An exporter on this app's database, configuration and clock (tests run export windows
    /// explicitly instead of waiting for the worker).
    pub fn exporter(&self) -> mimamori_key_server::export::Exporter {
        let clock: mimamori_storage::SharedClock = match &self.clock {
            Some(clock) => std::sync::Arc::new(clock.clone()),
            None => std::sync::Arc::new(mimamori_storage::SystemClock),
        };
        mimamori_key_server::export::Exporter {
            blobs: mimamori_key_server::blobs::from_config(
                &self.settings.key_server.export,
                &self.database.database,
            )
            .expect("export blob store"),
            store: std::sync::Arc::new(mimamori_key_server::store::DatabaseKeyServerStore::new(
                self.database.database.clone(),
            )),
            config: std::sync::Arc::new(self.settings.key_server.clone()),
            clock,
            metrics: mimamori_key_server::metrics::KeyServerMetrics::unregistered(),
        }
    }

    /// Stops the server gracefully.
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }

    /// Another server process on this app's database and clock, with the same settings
    /// but an export directory of its own (a second replica behind a load balancer).
    pub async fn replica(&self) -> Replica {
        let export_directory = tempfile::tempdir().expect("replica export directory");
        let mut settings = self.settings.clone();
        settings.key_server.export.directory = export_directory.path().to_path_buf();
        let clock: mimamori_storage::SharedClock = match &self.clock {
            Some(clock) => std::sync::Arc::new(clock.clone()),
            None => std::sync::Arc::new(mimamori_storage::SystemClock),
        };
        let application =
            Application::build_with_database(settings, self.database.database.clone(), clock)
                .await
                .expect("build replica");
        let address = application.address();
        let handle = application.handle();
        tokio::spawn(application.run_until_stopped());
        Replica {
            base_url: format!("http://{address}"),
            _export_directory: export_directory,
            handle,
        }
    }
}

/// A second server on a [`TestApp`]'s database ([`TestApp::replica`]).
pub struct Replica {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    _export_directory: tempfile::TempDir,
    handle: ServerHandle,
}

impl Replica {
    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Stops the server gracefully.
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

/// Starts a server against a fresh, migrated database of `backend`; `None` when the backend
/// is unavailable outside CI (see `mimamori_storage::testing`).
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// Like [`spawn_app_with`], with time controlled by `clock` (see `TestApp::clock`).
pub async fn spawn_app_with_clock(
    backend: Backend,
    clock: ManualClock,
    adjust: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    spawn(backend, Some(clock), false, adjust).await
}

/// A PostgreSQL server whose database connections pass through a [`outage::PostgresRelay`]
/// (`TestApp::relay`), so a test can cut the database away and bring it back.
pub async fn spawn_app_behind_relay(
    clock: ManualClock,
    adjust: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    spawn(Backend::Postgres, Some(clock), true, adjust).await
}

/// Like [`spawn_app`] with a chance to adjust the settings first.
pub async fn spawn_app_with(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    spawn(backend, None, false, adjust).await
}

async fn spawn(
    backend: Backend,
    clock: Option<ManualClock>,
    behind_relay: bool,
    adjust: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    if std::env::var("TEST_LOG").is_ok() {
        mimamori::telemetry::init(&mimamori::config::LogSettings::default());
    }
    let database = match backend {
        Backend::Sqlite => TestDatabase::sqlite(&migration_sets()).await,
        Backend::Postgres => TestDatabase::postgres(&migration_sets()).await?,
    };
    let mut settings = Settings {
        listen: "127.0.0.1:0".into(),
        database_url: Some(database.url.clone()),
        ..Settings::default()
    };
    settings.http.workers = 2;
    // Tests run export windows themselves (`TestApp::exporter`), into their own directory.
    let export_directory = tempfile::tempdir().expect("export directory");
    settings.key_server.export.enabled = false;
    settings.key_server.export.directory = export_directory.path().to_path_buf();
    settings.database.timeout_seconds = 2;
    adjust(&mut settings);
    let manual_clock = clock.clone();
    let clock: mimamori_storage::SharedClock = match clock {
        Some(clock) => std::sync::Arc::new(clock),
        None => std::sync::Arc::new(mimamori_storage::SystemClock),
    };
    let (served_database, relay) = if behind_relay {
        let mut url = url::Url::parse(&database.url).expect("PostgreSQL URL");
        let upstream = format!(
            "{}:{}",
            url.host_str().unwrap_or("127.0.0.1"),
            url.port().unwrap_or(5432)
        );
        let relay = outage::PostgresRelay::start(upstream).await;
        url.set_host(Some("127.0.0.1")).expect("relay host");
        url.set_port(Some(relay.address.port()))
            .expect("relay port");
        let target = mimamori_storage::DatabaseTarget::Postgres {
            url: url.to_string(),
        };
        let options = mimamori_storage::PoolOptions {
            max_connections: 8,
            timeout: std::time::Duration::from_secs(2),
        };
        let served = mimamori_storage::Database::open(&target, &options).expect("open via relay");
        (served, Some(relay))
    } else {
        (database.database.clone(), None)
    };
    let application = Application::build_with_database(settings.clone(), served_database, clock)
        .await
        .expect("build application");
    let address = application.address();
    let handle = application.handle();
    tokio::spawn(application.run_until_stopped());
    Some(TestApp {
        base_url: format!("http://{address}"),
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client"),
        database,
        settings,
        clock: manual_clock,
        relay,
        _export_directory: export_directory,
        handle,
    })
}

/// Runs each async test body against a server on SQLite and on PostgreSQL.
///
/// ```ignore
/// mimamori_tests::e2e_tests! {
///     async fn health_answers(app) { assert!(app.get("/healthz").await.status().is_success()); }
/// }
/// ```
#[macro_export]
macro_rules! e2e_tests {
    ( $( async fn $name:ident($app:ident) $body:block )* ) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let $app = $crate::spawn_app($crate::Backend::Sqlite)
                        .await
                        .expect("SQLite is always available");
                    $body
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some($app) = $crate::spawn_app($crate::Backend::Postgres).await else {
                        return;
                    };
                    $body
                }
            }
        )*
    };
}
