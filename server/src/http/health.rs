//! `/healthz` (process up), `/readyz` (database reachable and migrated, the failure-limit
//! store answering) and `/metrics`.

use std::time::Duration;

use actix_web::{HttpResponse, ResponseError, get, web};
use std::sync::Arc;

use mimamori_storage::limits::LimitStore;
use mimamori_storage::{Database, MigrationSet};
use serde_json::json;

use crate::http::error::ApiError;
use crate::metrics::HttpMetrics;

/// What readiness checks: the database, the migrations this binary expects and the
/// failure-limit store (Redis when configured; the database store has nothing more to check).
#[derive(Debug, Clone)]
pub struct Readiness {
    /// The database handle.
    pub database: Database,
    /// The failure-limit store: without it no limited request can be answered.
    pub limits: Arc<dyn LimitStore>,
    /// Every component's migrations.
    pub migrations: Vec<MigrationSet>,
    /// How long one check may take before the answer is 503.
    pub timeout: Duration,
}

/// Liveness: the process answers.
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Why a readiness check failed.
#[derive(Debug)]
enum NotReady {
    /// The database answered, but some migrations are not applied.
    MigrationsPending(Vec<(String, u32, u32)>),
    /// The database check failed.
    Database(mimamori_storage::StorageError),
    /// The database did not answer within the timeout.
    Timeout,
    /// The failure-limit store (Redis) failed or did not answer within the timeout.
    Limits(Option<mimamori_storage::StorageError>),
}

impl Readiness {
    /// Pings the database and reads the migration status, within the timeout.
    async fn check(&self) -> Result<(), NotReady> {
        let check = async {
            self.database.ping().await?;
            self.database.migration_status(&self.migrations).await
        };
        match tokio::time::timeout(self.timeout, check).await {
            Ok(Ok(status)) if status.is_current() => Ok(()),
            Ok(Ok(status)) => Err(NotReady::MigrationsPending(status.pending)),
            Ok(Err(error)) => Err(NotReady::Database(error)),
            Err(_) => Err(NotReady::Timeout),
        }?;
        match tokio::time::timeout(self.timeout, self.limits.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(NotReady::Limits(Some(error))),
            Err(_) => Err(NotReady::Limits(None)),
        }
    }
}

/// Readiness: 200 when the database answers and every migration is applied, else 503.
#[get("/readyz")]
pub async fn readyz(readiness: web::Data<Readiness>) -> HttpResponse {
    let backend = readiness.database.backend().as_str();
    match readiness.check().await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready", "database": backend })),
        Err(NotReady::MigrationsPending(pending)) => {
            tracing::warn!(pending = ?pending, "not ready: migrations pending");
            ApiError::unavailable("migrations_pending", "database migrations are not applied")
                .error_response()
        }
        Err(NotReady::Database(error)) => {
            tracing::warn!(database = backend, error = %error, "not ready: database check failed");
            ApiError::unavailable("database_unavailable", "the database is not reachable")
                .error_response()
        }
        Err(NotReady::Timeout) => {
            tracing::warn!(database = backend, "not ready: database check timed out");
            ApiError::unavailable(
                "database_unavailable",
                "the database did not answer in time",
            )
            .error_response()
        }
        Err(NotReady::Limits(error)) => {
            match error {
                Some(error) => {
                    tracing::warn!(error = %error, "not ready: the failure-limit store failed")
                }
                None => tracing::warn!("not ready: the failure-limit store did not answer in time"),
            }
            ApiError::unavailable(
                "limit_store_unavailable",
                "the failure-limit store is not reachable",
            )
            .error_response()
        }
    }
}

/// Prometheus text exposition of every registered metric.
///
/// Each scrape first runs the readiness check (bounded by `database.timeout_seconds`) and
/// reads the pool, so `mimamori_ready`, `mimamori_database_up` and
/// `mimamori_database_pool_*` describe the moment of the scrape. It logs nothing: `/readyz`
/// logs the cause.
#[get("/metrics")]
pub async fn metrics(
    metrics: web::Data<HttpMetrics>,
    readiness: Option<web::Data<Readiness>>,
) -> HttpResponse {
    if let Some(readiness) = readiness {
        let gauges = metrics.database();
        let result = readiness.check().await;
        let database_up = matches!(
            result,
            Ok(()) | Err(NotReady::MigrationsPending(_)) | Err(NotReady::Limits(_))
        );
        gauges.up.set(i64::from(database_up));
        gauges.ready.set(i64::from(result.is_ok()));
        gauges.set_pool(readiness.database.pool_status());
    }
    match metrics.render() {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(body),
        Err(error) => {
            tracing::error!(error = %error, "cannot render metrics");
            ApiError::internal().error_response()
        }
    }
}
