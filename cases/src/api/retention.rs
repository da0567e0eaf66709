//! HTTP handlers of the line list and of the retention run.
//!
//! | endpoint | who |
//! | --- | --- |
//! | `GET /api/linelist?from=&to=` | case workers of a health center or a prefecture (their scope) |
//! | `POST /api/retention/run` | org admins of the national organization (the daily sweep runs it too) |

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{ApiError, staff_principal};
use crate::service::CaseRegistry;

type Registry = web::Data<CaseRegistry>;

/// The period of a line list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Period {
    from: String,
    to: String,
}

async fn line_list(
    registry: Registry,
    request: HttpRequest,
    query: web::Query<Period>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    let list = registry
        .line_list(&principal, &query.from, &query.to)
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"linelist-{}-{}.csv\"",
                query.from, query.to
            ),
        ))
        .body(list.csv))
}

async fn run_retention(registry: Registry, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(registry.run_retention_for(&principal).await?))
}

/// Registers the routes (state registered by [`super::configure`]).
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/api/linelist", web::get().to(line_list))
        .route("/api/retention/run", web::post().to(run_retention));
}
