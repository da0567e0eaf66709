//! `/healthz` (process up), `/readyz` (database reachable and migrated) and `/metrics`.

use std::time::Duration;

use actix_web::{HttpResponse, ResponseError, get, web};
use mimamori_storage::{Database, MigrationSet};
use serde_json::json;

use crate::http::error::ApiError;
use crate::metrics::HttpMetrics;

/// What readiness checks: the database and the migrations this binary expects.
#[derive(Debug, Clone)]
pub struct Readiness {
    /// The database handle.
    pub database: Database,
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

/// Readiness: 200 when the database answers and every migration is applied, else 503.
#[get("/readyz")]
pub async fn readyz(readiness: web::Data<Readiness>) -> HttpResponse {
    let backend = readiness.database.backend().as_str();
    let check = async {
        readiness.database.ping().await?;
        readiness
            .database
            .migration_status(&readiness.migrations)
            .await
    };
    match tokio::time::timeout(readiness.timeout, check).await {
        Ok(Ok(status)) if status.is_current() => {
            HttpResponse::Ok().json(json!({ "status": "ready", "database": backend }))
        }
        Ok(Ok(status)) => {
            tracing::warn!(pending = ?status.pending, "not ready: migrations pending");
            ApiError::unavailable("migrations_pending", "database migrations are not applied")
                .error_response()
        }
        Ok(Err(error)) => {
            tracing::warn!(database = backend, error = %error, "not ready: database check failed");
            ApiError::unavailable("database_unavailable", "the database is not reachable")
                .error_response()
        }
        Err(_) => {
            tracing::warn!(database = backend, "not ready: database check timed out");
            ApiError::unavailable(
                "database_unavailable",
                "the database did not answer in time",
            )
            .error_response()
        }
    }
}

/// Prometheus text exposition of every registered metric.
#[get("/metrics")]
pub async fn metrics(metrics: web::Data<HttpMetrics>) -> HttpResponse {
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
