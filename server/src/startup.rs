//! Building the application: database, migrations, routes, and the bound HTTP server.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use mimamori_storage::limits::{DatabaseLimitStore, LimitStore, RedisLimitStore};
use mimamori_storage::{Database, SharedClock, StorageError, SystemClock};

use crate::config::{ConfigError, LimitStoreKind, Settings};
use crate::http::{error, health, middleware, openapi};
use crate::metrics::HttpMetrics;
use crate::services::{ServiceContext, Services};

/// A handle to stop a running server.
pub use actix_web::dev::ServerHandle;

/// Why the server could not start; each message is one line that says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database could not be opened or migrated.
    #[error("database {target}: {source}")]
    Database {
        /// The redacted database target.
        target: String,
        /// The cause.
        #[source]
        source: StorageError,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {reason}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// What went wrong and how to fix it.
        reason: String,
    },
    /// Anything else while assembling the server.
    #[error("{0}")]
    Other(String),
}

pub use crate::services::migration_sets;

/// Opens the configured database and applies every pending migration (under a lock).
pub async fn open_and_migrate(settings: &Settings) -> Result<Database, StartupError> {
    let target = settings.database_target()?;
    let redacted = target.redacted();
    let database = Database::open(&target, &settings.pool_options()).map_err(|source| {
        match source {
            StorageError::Io { .. } => StartupError::Other(format!(
                "{source}; make data_dir (MIMAMORI_DATA_DIR) writable or point DATABASE_URL=sqlite://PATH elsewhere"
            )),
            source => StartupError::Database {
                target: redacted.clone(),
                source,
            },
        }
    })?;
    let applied = database
        .migrate(&migration_sets())
        .await
        .map_err(|source| StartupError::Database {
            target: redacted.clone(),
            source,
        })?;
    tracing::info!(database = %redacted, applied, "database ready");
    Ok(database)
}

/// The failure-limit store `[limits]` asks for: the database's tables (the default) or
/// Redis. A Redis that does not answer yet is logged, not fatal: limited requests answer 503
/// and `/readyz` is 503 until it does.
pub async fn limit_store(
    settings: &Settings,
    database: &Database,
) -> Result<Arc<dyn LimitStore>, StartupError> {
    match settings.limits.store {
        LimitStoreKind::Database => Ok(Arc::new(DatabaseLimitStore::new(database.clone()))),
        LimitStoreKind::Redis => {
            let redis = settings.limits.redis_url.redacted();
            let store = RedisLimitStore::new(&settings.limits.redis()).map_err(|_| {
                StartupError::Config(ConfigError(format!(
                    "limits.redis_url ({redis}) is not a Redis URL; use redis://[:PASSWORD@]HOST:PORT/DB"
                )))
            })?;
            match store.ping().await {
                Ok(()) => {
                    tracing::info!(redis = %redis, key_prefix = %settings.limits.key_prefix, "failure limits in Redis")
                }
                Err(error) => tracing::warn!(
                    redis = %redis,
                    error = %error,
                    "failure limits in Redis, which does not answer yet: limited requests answer 503 until it does"
                ),
            }
            Ok(Arc::new(store))
        }
    }
}

/// Binds the configured listen address, explaining the usual failures.
fn bind(settings: &Settings) -> Result<TcpListener, StartupError> {
    let address = settings.listen_address()?;
    TcpListener::bind(address).map_err(|e| StartupError::Bind {
        address,
        reason: match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                "address already in use; stop the other process or choose another address with --listen or MIMAMORI_LISTEN".into()
            }
            std::io::ErrorKind::PermissionDenied => {
                "permission denied; use a port above 1023 or run with the needed capability".into()
            }
            std::io::ErrorKind::AddrNotAvailable => {
                "address not available on this machine; check --listen".into()
            }
            _ => e.to_string(),
        },
    })
}

/// A built, bound, not yet running server.
pub struct Application {
    server: Server,
    address: SocketAddr,
    services: Services,
}

impl Application {
    /// Opens the database, migrates it, binds the listen address and assembles the routes.
    /// Bind to port 0 to let the OS choose (tests), then read [`Application::port`].
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        // Bind before touching the database so a busy port fails fast, with nothing migrated.
        let listener = bind(&settings)?;
        let database = open_and_migrate(&settings).await?;
        Self::assemble(settings, database, listener, Arc::new(SystemClock)).await
    }

    /// Like [`Application::build`] with an already opened and migrated database.
    pub async fn build_with_database(
        settings: Settings,
        database: Database,
        clock: SharedClock,
    ) -> Result<Application, StartupError> {
        let listener = bind(&settings)?;
        Self::assemble(settings, database, listener, clock).await
    }

    async fn assemble(
        settings: Settings,
        database: Database,
        listener: TcpListener,
        clock: SharedClock,
    ) -> Result<Application, StartupError> {
        let address = listener
            .local_addr()
            .map_err(|e| StartupError::Other(format!("cannot read the bound address: {e}")))?;

        let metrics = HttpMetrics::new()
            .map_err(|e| StartupError::Other(format!("cannot create metrics: {e}")))?;
        let limits = limit_store(&settings, &database).await?;
        let context = ServiceContext {
            database: database.clone(),
            limits: Arc::clone(&limits),
            settings: Arc::new(settings.clone()),
            registry: metrics.registry().clone(),
            clock,
            self_url: format!("http://{address}"),
        };
        let services = Services::build(&context)
            .await
            .map_err(|e| StartupError::Other(format!("cannot start the services: {e:#}")))?;
        services.spawn_workers(&context);
        let built = services.clone();
        let metrics = web::Data::new(metrics);
        let readiness = web::Data::new(health::Readiness {
            database,
            limits,
            migrations: migration_sets(),
            timeout: Duration::from_secs(settings.database.timeout_seconds.max(1)),
        });
        let document = openapi::document();
        let known_routes = web::Data::new(openapi::KnownRoutes::from_document(&document));
        let openapi_json =
            web::Data::new(openapi::OpenApiJson(document.to_pretty_json().map_err(
                |e| StartupError::Other(format!("cannot render the OpenAPI document: {e}")),
            )?));
        let max_body = settings.http.max_body_bytes;
        let body_limit = web::Data::new(middleware::BodyLimit(max_body));
        let trusted_proxies = web::Data::new(
            settings
                .trusted_proxies()
                .map_err(|e| StartupError::Other(e.to_string()))?,
        );

        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(metrics.clone())
                .app_data(readiness.clone())
                .app_data(body_limit.clone())
                .app_data(trusted_proxies.clone())
                .app_data(known_routes.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(max_body)
                        .error_handler(error::json_error_handler),
                )
                .app_data(web::PayloadConfig::new(max_body))
                .app_data(web::QueryConfig::default().error_handler(error::query_error_handler))
                .app_data(web::PathConfig::default().error_handler(error::path_error_handler))
                .wrap(from_fn(middleware::observe))
                .service(health::healthz)
                .service(health::readyz)
                .service(health::metrics)
                .app_data(openapi_json.clone())
                .service(openapi::serve_openapi)
                .configure(|config| services.configure(config))
                .default_service(web::to(middleware::not_found))
        })
        .shutdown_timeout(settings.http.shutdown_timeout_seconds);
        if settings.http.workers > 0 {
            server = server.workers(settings.http.workers);
        }
        let server = server
            .listen(listener)
            .map_err(|e| StartupError::Other(format!("cannot start the HTTP server: {e}")))?
            .run();
        Ok(Application {
            server,
            address,
            services: built,
        })
    }

    /// The services this server runs (for in-process drivers such as the simulator).
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// A handle to stop the server (tests).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM (graceful: in-flight requests finish within the timeout).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        tracing::info!(address = %self.address, "listening");
        self.server.await?;
        tracing::info!("stopped");
        Ok(())
    }
}
