//! Wiring of the case registry, follow-up and verification services.

use actix_web::web;

use super::ServiceContext;

/// The case and verification services' shared state.
#[derive(Clone, Debug)]
pub struct CasesService {}

impl CasesService {
    /// Builds the state from the context.
    pub fn build(_context: &ServiceContext) -> anyhow::Result<Self> {
        Ok(CasesService {})
    }

    /// Registers the routes.
    pub fn configure(&self, config: &mut web::ServiceConfig) {
        mimamori_cases::api::configure(config);
        mimamori_verification::api::configure(config);
    }
}
