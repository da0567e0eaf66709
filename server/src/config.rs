//! Configuration: defaults < optional TOML file (`--config`) < environment (`MIMAMORI_*`,
//! `DATABASE_URL`) < command-line flags.
//!
//! Unknown keys are errors (a typo must not silently fall back to a default). Secrets are
//! never printed: [`Settings::to_redacted_toml`] masks them for `serve --print-config`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use mimamori_storage::{DatabaseTarget, PoolOptions};
use serde::{Deserialize, Serialize, Serializer};

/// A configuration problem, reported as one line that says what is wrong and how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// The effective configuration of a `mimamori` process.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Address the HTTP server listens on.
    pub listen: String,
    /// `sqlite://PATH` or `postgres://...`; unset means SQLite at `<data_dir>/mimamori.db`.
    #[serde(serialize_with = "serialize_database_url")]
    pub database_url: Option<String>,
    /// Directory for the embedded database and other local state.
    pub data_dir: PathBuf,
    /// Logging.
    pub log: LogSettings,
    /// HTTP server limits.
    pub http: HttpSettings,
    /// Database pool.
    pub database: DatabaseSettings,
    /// The diagnosis-key server (`[key_server]`).
    pub key_server: mimamori_key_server::Config,
    /// The verification service (`[verification]`).
    pub verification: mimamori_verification::Config,
    /// The case registry and follow-up (`[cases]`).
    pub cases: mimamori_cases::Config,
    /// The web console (`[console]`).
    pub console: mimamori_console::Config,
}

/// Logging settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// A `tracing` filter, e.g. `info` or `info,mimamori=debug`. `RUST_LOG` overrides it.
    pub level: String,
    /// `json`, `text`, or `auto` (text on a terminal, JSON otherwise).
    pub format: LogFormat,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Text on a terminal, JSON otherwise.
    Auto,
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

/// HTTP server settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Largest accepted request body in bytes; larger bodies get 413.
    pub max_body_bytes: usize,
    /// Worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Seconds to let in-flight requests finish after SIGINT/SIGTERM.
    pub shutdown_timeout_seconds: u64,
}

/// Database pool settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// Maximum pooled connections.
    pub max_connections: usize,
    /// Seconds to wait for a connection before failing (and `/readyz` answering 503).
    pub timeout_seconds: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            database_url: None,
            data_dir: PathBuf::from("./data"),
            log: LogSettings::default(),
            http: HttpSettings::default(),
            database: DatabaseSettings::default(),
            key_server: Default::default(),
            verification: Default::default(),
            cases: Default::default(),
            console: Default::default(),
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            level: "info".into(),
            format: LogFormat::Auto,
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            max_body_bytes: 256 * 1024,
            workers: 0,
            shutdown_timeout_seconds: 30,
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            max_connections: 16,
            timeout_seconds: 5,
        }
    }
}

fn serialize_database_url<S: Serializer>(
    url: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match url {
        None => serializer.serialize_none(),
        Some(url) => match DatabaseTarget::parse(Some(url), Path::new("")) {
            Ok(target) => serializer.serialize_str(&target.redacted()),
            Err(_) => serializer.serialize_str("***"),
        },
    }
}

impl Settings {
    /// Loads defaults, then `config_file` (which must exist when given), then the environment.
    pub fn load(config_file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_from(config_file, Env::prefixed("MIMAMORI_").split("__"))
    }

    fn load_from(config_file: Option<&Path>, env: Env) -> Result<Settings, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = config_file {
            if !path.is_file() {
                return Err(ConfigError(format!(
                    "configuration file {} does not exist or is not a file; check --config",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(env).merge(
            Env::raw()
                .only(&["DATABASE_URL"])
                .map(|_| "database_url".into()),
        );
        let settings: Settings = figment.extract().map_err(|error| {
            let first = error
                .into_iter()
                .next()
                .map(|e| e.to_string())
                .unwrap_or_default();
            ConfigError(format!(
                "invalid configuration: {}; see the configuration table in README.md",
                first.replace('\n', " ")
            ))
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_address()?;
        self.database_target()?;
        if self.http.max_body_bytes < 1024 {
            return Err(ConfigError(
                "http.max_body_bytes must be at least 1024; raise MIMAMORI_HTTP__MAX_BODY_BYTES"
                    .into(),
            ));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError(
                "database.max_connections must be at least 1".into(),
            ));
        }
        self.cases.validate().map_err(ConfigError)?;
        Ok(())
    }

    /// The listen address as a socket address.
    pub fn listen_address(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|_| {
            ConfigError(format!(
                "listen address '{}' is not HOST:PORT with a numeric IP (e.g. 127.0.0.1:8080); fix --listen or MIMAMORI_LISTEN",
                self.listen
            ))
        })
    }

    /// Where the data lives.
    pub fn database_target(&self) -> Result<DatabaseTarget, ConfigError> {
        DatabaseTarget::parse(
            self.database_url.as_deref(),
            &self.data_dir.join("mimamori.db"),
        )
        .map_err(|e| ConfigError(format!("{e}; fix DATABASE_URL")))
    }

    /// Pool options derived from [`DatabaseSettings`].
    pub fn pool_options(&self) -> PoolOptions {
        PoolOptions {
            max_connections: self.database.max_connections,
            timeout: std::time::Duration::from_secs(self.database.timeout_seconds.max(1)),
        }
    }

    /// The effective configuration as TOML with secrets masked.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self)
            .unwrap_or_else(|e| format!("# could not render configuration: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An environment provider that reads nothing, so unit tests ignore the process environment
    /// (environment overrides are tested on the real binary in `tests/cli.rs`).
    fn no_env() -> Env {
        Env::prefixed("MIMAMORI_UNIT_TEST_NEVER_SET_").split("__")
    }

    #[test]
    fn defaults_are_valid() {
        let settings = Settings::load_from(None, no_env()).unwrap();
        assert_eq!(settings.listen, "127.0.0.1:8080");
        assert_eq!(
            settings.database_target().unwrap(),
            DatabaseTarget::Sqlite {
                path: PathBuf::from("./data/mimamori.db")
            }
        );
    }

    #[test]
    fn file_overrides_defaults_and_unknown_keys_fail() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9999\"\n[http]\nmax_body_bytes = 4096\n",
        )
        .unwrap();
        let settings = Settings::load_from(Some(&file), no_env()).unwrap();
        assert_eq!(settings.listen, "127.0.0.1:9999");
        assert_eq!(settings.http.max_body_bytes, 4096);

        std::fs::write(&file, "listne = \"127.0.0.1:9999\"\n").unwrap();
        let error = Settings::load_from(Some(&file), no_env()).unwrap_err();
        assert!(error.0.contains("listne"), "{error}");
        assert!(!error.0.contains('\n'));

        let missing = dir.path().join("nope.toml");
        let error = Settings::load_from(Some(&missing), no_env()).unwrap_err();
        assert!(error.0.contains("does not exist"), "{error}");
    }

    #[test]
    fn print_config_redacts_database_password() {
        let settings = Settings {
            database_url: Some("postgres://app:s3cret@db/prod".into()),
            ..Settings::default()
        };
        let rendered = settings.to_redacted_toml();
        assert!(!rendered.contains("s3cret"), "{rendered}");
        assert!(
            rendered.contains("postgres://app:***@db/prod"),
            "{rendered}"
        );
    }

    #[test]
    fn bad_values_are_explained() {
        let bad_listen = Settings {
            listen: "localhost".into(),
            ..Settings::default()
        };
        assert!(bad_listen.validate().unwrap_err().0.contains("HOST:PORT"));
        let bad_url = Settings {
            database_url: Some("mysql://x".into()),
            ..Settings::default()
        };
        assert!(bad_url.validate().unwrap_err().0.contains("DATABASE_URL"));
    }
}
