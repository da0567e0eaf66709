//! The `mimamori` server: configuration, start-up, composition of the services, HTTP
//! middleware, metrics and the command line. Domain rules live in the service crates.

pub mod cli;
pub mod config;
pub mod http;
pub mod metrics;
pub mod services;
pub mod startup;
pub mod telemetry;

/// The package version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The source revision the binary was built from (`unknown` outside a git checkout).
pub const REVISION: &str = env!("BUILD_GIT_REVISION");
