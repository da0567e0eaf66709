//! Wiring of the diagnosis-key server.

use actix_web::web;

use super::ServiceContext;

/// The key server's shared state.
#[derive(Clone, Debug)]
pub struct KeyServerService {}

impl KeyServerService {
    /// Builds the state from the context.
    pub fn build(_context: &ServiceContext) -> anyhow::Result<Self> {
        Ok(KeyServerService {})
    }

    /// Registers the routes.
    pub fn configure(&self, config: &mut web::ServiceConfig) {
        mimamori_key_server::api::configure(config);
    }
}
