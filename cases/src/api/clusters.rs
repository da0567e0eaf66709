//! HTTP handlers of clusters.
//!
//! | endpoint | who |
//! | --- | --- |
//! | `POST /api/clusters`, `GET /api/clusters` | case workers of a health center |
//! | `GET /api/clusters/{id}`, `GET /api/clusters/{id}/graph`, `GET /api/clusters/{id}/graph.svg` | the managing health center, its prefecture |
//! | `POST /api/clusters/{id}/members` | case workers of the managing health center, for cases and contacts they work on |

use actix_web::{HttpRequest, HttpResponse, web};

use super::{ApiError, staff_principal};
use crate::service::CaseRegistry;
use crate::service::clusters::{NewCluster, NewMember};

type Registry = web::Data<CaseRegistry>;

async fn create(
    registry: Registry,
    request: HttpRequest,
    body: web::Json<NewCluster>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Created().json(
        registry
            .create_cluster(&principal, body.into_inner())
            .await?,
    ))
}

async fn list(registry: Registry, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(registry.clusters(&principal).await?))
}

async fn read(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(registry.cluster(&principal, &path).await?))
}

async fn add_member(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Json<NewMember>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(
        registry
            .add_cluster_member(&principal, &path, body.into_inner())
            .await?,
    ))
}

async fn graph(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    Ok(HttpResponse::Ok().json(registry.cluster_graph(&principal, &path).await?))
}

async fn graph_svg(
    registry: Registry,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = staff_principal(&request, &registry).await?;
    let svg = registry.cluster_graph_svg(&principal, &path).await?;
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "no-store"))
        .body(svg))
}

/// Registers the cluster routes (state registered by [`super::configure`]).
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/api/clusters", web::post().to(create))
        .route("/api/clusters", web::get().to(list))
        .route("/api/clusters/{id}", web::get().to(read))
        .route("/api/clusters/{id}/members", web::post().to(add_member))
        .route("/api/clusters/{id}/graph", web::get().to(graph))
        .route("/api/clusters/{id}/graph.svg", web::get().to(graph_svg));
}
