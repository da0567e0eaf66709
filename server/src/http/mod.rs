//! The HTTP layer shared by every service: errors, middleware and operational endpoints.

pub mod client_address;
pub mod error;
pub mod health;
pub mod middleware;
pub mod openapi;
