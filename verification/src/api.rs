//! HTTP handlers of this service.

use actix_web::web;

/// Registers this service's routes.
pub fn configure(_config: &mut web::ServiceConfig) {}
