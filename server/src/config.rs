//! Configuration: defaults < optional TOML file (`--config`) < environment (`MIMAMORI_*`,
//! `DATABASE_URL`) < command-line flags.
//!
//! Unknown keys are errors (a typo must not silently fall back to a default). Secrets are
//! never printed: [`Settings::to_redacted_toml`] masks them for `serve --print-config`.
//!
//! Secrets can also come from files ([`SECRET_FILE_KEYS`]): `DATABASE_URL_FILE=/run/secrets/db`
//! or `MIMAMORI_<KEY>_FILE=PATH` reads the value of that key from the file (Docker and Compose
//! secrets, systemd `LoadCredential=` with `%d`), at the precedence of the environment.

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
    /// Where the failure-limit counters live (`[limits]`).
    pub limits: LimitsSettings,
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
    /// Load balancers whose `X-Forwarded-For`/`X-Forwarded-Proto` are believed (CIDR networks
    /// or addresses). Per-client limits then key on the client behind them; from any other
    /// peer the forwarding headers are removed. Default: loopback only (a proxy on this host).
    pub trusted_proxies: Vec<String>,
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

/// Where the failure-limit counters (verification-code guessing, COCOA uploads, console
/// sign-in, user reports) and their hashing secrets live; every replica must use the same.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSettings {
    /// `database` (the server's database, the default) or `redis`.
    pub store: LimitStoreKind,
    /// The Redis for `store = "redis"`: `redis://[:PASSWORD@]HOST:PORT/DB`. A secret (it may
    /// carry a password): masked when printed, also read from `MIMAMORI_LIMITS__REDIS_URL_FILE`.
    pub redis_url: RedisUrl,
    /// Prefix of every Redis key, so deployments can share one Redis.
    pub key_prefix: String,
    /// Milliseconds to wait for Redis to connect or answer before the limited request is
    /// refused (503).
    pub timeout_ms: u64,
}

/// The failure-limit store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitStoreKind {
    /// Tables `limit_windows` and `limit_secrets` in the server's database.
    Database,
    /// A Redis (or Valkey) server.
    Redis,
}

/// A Redis URL: shown with its password masked (`redis://:***@host:6379/0`), or as `***`
/// when it does not parse.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct RedisUrl(pub String);

impl RedisUrl {
    /// The URL with any password (and user name) replaced by `***`.
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut parsed) if parsed.has_host() => {
                if !parsed.username().is_empty() {
                    let _ = parsed.set_username("***");
                }
                if parsed.password().is_some() {
                    let _ = parsed.set_password(Some("***"));
                }
                parsed.to_string()
            }
            _ => "***".into(),
        }
    }
}

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for RedisUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

impl Default for LimitsSettings {
    fn default() -> Self {
        LimitsSettings {
            store: LimitStoreKind::Database,
            redis_url: RedisUrl("redis://127.0.0.1:6379/0".into()),
            key_prefix: "mimamori:".into(),
            timeout_ms: 2000,
        }
    }
}

impl LimitsSettings {
    /// The Redis store's settings.
    pub fn redis(&self) -> mimamori_storage::limits::RedisLimitSettings {
        mimamori_storage::limits::RedisLimitSettings {
            url: self.redis_url.0.clone(),
            key_prefix: self.key_prefix.clone(),
            timeout: std::time::Duration::from_millis(self.timeout_ms.max(1)),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.store != LimitStoreKind::Redis {
            return Ok(());
        }
        if self.key_prefix.is_empty() || self.key_prefix.chars().any(char::is_whitespace) {
            return Err(ConfigError(
                "limits.key_prefix must be non-empty without spaces (e.g. mimamori:); fix MIMAMORI_LIMITS__KEY_PREFIX".into(),
            ));
        }
        if self.timeout_ms == 0 {
            return Err(ConfigError("limits.timeout_ms must be at least 1".into()));
        }
        // The URL itself is never quoted: it may carry a password.
        mimamori_storage::limits::RedisLimitStore::new(&self.redis()).map_err(|_| {
            ConfigError(format!(
                "limits.redis_url ({}) is not a Redis URL; use redis://[:PASSWORD@]HOST:PORT/DB (MIMAMORI_LIMITS__REDIS_URL or MIMAMORI_LIMITS__REDIS_URL_FILE)",
                self.redis_url.redacted()
            ))
        })?;
        Ok(())
    }
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
            limits: LimitsSettings::default(),
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
            trusted_proxies: vec!["127.0.0.0/8".into(), "::1/128".into()],
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

/// The secret settings whose value may be read from a file named by an environment variable:
/// `MIMAMORI_<KEY>_FILE` (the key upper-cased, `.` written `__`, as for the other `MIMAMORI_*`
/// variables) and, for `database_url`, also `DATABASE_URL_FILE`.
///
/// The file holds the value alone; trailing line breaks are removed. `verification.hmac_secrets`
/// takes one secret per line, newest first. Setting a key both directly and through `_FILE`
/// is an error. Only these keys: others (such as `key_server.export.min_keys_per_file`) keep
/// their ordinary meaning.
pub const SECRET_FILE_KEYS: &[&str] = &[
    "database_url",
    "limits.redis_url",
    "key_server.revision_token_secret",
    "key_server.cocoa.inquiry_log.api_key",
    "key_server.cocoa.inquiry_log.account_key",
    "key_server.export.object.secret_access_key",
    "verification.master_key",
    "verification.hmac_secrets",
    "verification.user_report.sms_gateway_token",
    "cases.messaging.smtp_password",
    "cases.messaging.sms_token",
];

/// `MIMAMORI_*` variables that are read by one part of the process directly and are not
/// configuration keys (so an unknown-key error must not refuse them): the certificate font
/// (`MIMAMORI_DOCUMENT_FONT`), the simulator client's flags (`MIMAMORI_SIM_*`) and the test
/// harness's (`MIMAMORI_TEST_*`). Keys are compared lower-case, without the prefix.
fn is_process_variable(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key == "document_font" || key.starts_with("sim_") || key.starts_with("test_")
}

/// Largest secret file read (a guard against pointing a `_FILE` variable at the wrong file).
const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// The `MIMAMORI_*` variable that sets `key` directly (`key_server.x` → `MIMAMORI_KEY_SERVER__X`).
fn env_name(key: &str) -> String {
    format!("MIMAMORI_{}", key.replace('.', "__").to_ascii_uppercase())
}

/// The values of [`SECRET_FILE_KEYS`] named by `*_FILE` variables in `vars`, as figment
/// providers. Errors name the variable and the path, never the file's content.
fn secret_file_providers(
    vars: &[(String, String)],
) -> Result<Vec<figment::providers::Serialized<figment::value::Value>>, ConfigError> {
    let lookup = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let mut providers = Vec::new();
    for key in SECRET_FILE_KEYS {
        let direct = env_name(key);
        let mut names = vec![(direct.clone(), format!("{direct}_FILE"))];
        if *key == "database_url" {
            names.push(("DATABASE_URL".into(), "DATABASE_URL_FILE".into()));
        }
        let mut chosen: Option<(String, &String)> = None;
        for (direct, file_var) in &names {
            let Some(path) = lookup(file_var) else {
                continue;
            };
            if lookup(direct).is_some() {
                return Err(ConfigError(format!(
                    "both {direct} and {file_var} are set; unset one of them"
                )));
            }
            if let Some((other, _)) = &chosen {
                return Err(ConfigError(format!(
                    "both {other} and {file_var} are set; unset one of them"
                )));
            }
            chosen = Some((file_var.clone(), path));
        }
        let Some((file_var, path)) = chosen else {
            continue;
        };
        let text = read_secret_file(&file_var, Path::new(path))?;
        let value = if *key == "verification.hmac_secrets" {
            let secrets: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(String::from)
                .collect();
            figment::value::Value::from(secrets)
        } else {
            figment::value::Value::from(text)
        };
        providers.push(figment::providers::Serialized::default(key, value));
    }
    Ok(providers)
}

/// Reads one secret file: UTF-8, at most [`MAX_SECRET_FILE_BYTES`], trailing line breaks
/// removed, not empty.
fn read_secret_file(variable: &str, path: &Path) -> Result<String, ConfigError> {
    let fail = |reason: String| {
        ConfigError(format!(
            "{variable}: cannot use {}: {reason}; point it at a readable file that holds only the secret",
            path.display()
        ))
    };
    let metadata = std::fs::metadata(path).map_err(|e| fail(e.kind().to_string()))?;
    if !metadata.is_file() {
        return Err(fail("not a file".into()));
    }
    if metadata.len() > MAX_SECRET_FILE_BYTES {
        return Err(fail(format!("larger than {MAX_SECRET_FILE_BYTES} bytes")));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(e.kind().to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| fail("not UTF-8 text".into()))?;
    let text = text.trim_end_matches(['\n', '\r']).to_string();
    if text.trim().is_empty() {
        return Err(fail("empty".into()));
    }
    Ok(text)
}

/// The process environment as UTF-8 pairs (variables that are not UTF-8 are left out; none of
/// ours can be).
fn process_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

impl Settings {
    /// Loads defaults, then `config_file` (which must exist when given), then the environment
    /// (including secrets read from files, see [`SECRET_FILE_KEYS`]).
    pub fn load(config_file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_from(
            config_file,
            Env::prefixed("MIMAMORI_").split("__"),
            &process_env(),
        )
    }

    fn load_from(
        config_file: Option<&Path>,
        env: Env,
        vars: &[(String, String)],
    ) -> Result<Settings, ConfigError> {
        // `*_FILE` variables of secret keys are read below, not taken as keys of their own.
        let file_keys: Vec<String> = SECRET_FILE_KEYS
            .iter()
            .map(|k| format!("{k}_file"))
            .collect();
        let env = env.filter(move |key| {
            !file_keys.iter().any(|k| k.as_str() == key) && !is_process_variable(key.as_str())
        });
        let secret_files = secret_file_providers(vars)?;
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
        for provider in secret_files {
            figment = figment.merge(provider);
        }
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
        self.trusted_proxies()?;
        if self.database.max_connections == 0 {
            return Err(ConfigError(
                "database.max_connections must be at least 1".into(),
            ));
        }
        self.cases.validate().map_err(ConfigError)?;
        self.limits.validate()?;
        if self.key_server.export.storage == mimamori_key_server::config::ExportStorage::Object {
            // Before the database is opened: a bad bucket URL is a configuration error.
            mimamori_key_server::blobs::ObjectBlobStore::from_config(
                &self.key_server.export.object,
            )
            .map_err(|e| ConfigError(e.to_string()))?;
        }
        Ok(())
    }

    /// The parsed `http.trusted_proxies`.
    pub fn trusted_proxies(
        &self,
    ) -> Result<crate::http::client_address::TrustedProxies, ConfigError> {
        crate::http::client_address::TrustedProxies::parse(&self.http.trusted_proxies)
            .map_err(|e| ConfigError(format!("{e}; fix MIMAMORI_HTTP__TRUSTED_PROXIES")))
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
        let settings = Settings::load_from(None, no_env(), &[]).unwrap();
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
        let settings = Settings::load_from(Some(&file), no_env(), &[]).unwrap();
        assert_eq!(settings.listen, "127.0.0.1:9999");
        assert_eq!(settings.http.max_body_bytes, 4096);

        std::fs::write(&file, "listne = \"127.0.0.1:9999\"\n").unwrap();
        let error = Settings::load_from(Some(&file), no_env(), &[]).unwrap_err();
        assert!(error.0.contains("listne"), "{error}");
        assert!(!error.0.contains('\n'));

        let missing = dir.path().join("nope.toml");
        let error = Settings::load_from(Some(&missing), no_env(), &[]).unwrap_err();
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
    fn limits_in_redis_are_configured_with_the_url_as_a_secret() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("m.toml");
        std::fs::write(
            &config,
            "[limits]\nstore = \"redis\"\nkey_prefix = \"prod:\"\ntimeout_ms = 500\n",
        )
        .unwrap();
        let url = dir.path().join("redis_url");
        std::fs::write(&url, "redis://:r3dis-pw@cache:6380/2\n").unwrap();
        let settings = Settings::load_from(
            Some(&config),
            no_env(),
            &[var("MIMAMORI_LIMITS__REDIS_URL_FILE", &url)],
        )
        .unwrap();
        assert_eq!(settings.limits.store, LimitStoreKind::Redis);
        assert_eq!(
            settings.limits.redis_url.0,
            "redis://:r3dis-pw@cache:6380/2"
        );
        assert_eq!(settings.limits.key_prefix, "prod:");
        let redis = settings.limits.redis();
        assert_eq!(redis.timeout, std::time::Duration::from_millis(500));
        for shown in [
            settings.to_redacted_toml(),
            format!("{settings:?}"),
            format!("{redis:?}"),
        ] {
            assert!(!shown.contains("r3dis-pw"), "{shown}");
        }
        assert!(
            settings
                .to_redacted_toml()
                .contains("redis://:***@cache:6380/2")
        );
        // The default is the database; a bad Redis URL is refused without being quoted.
        assert_eq!(Settings::default().limits.store, LimitStoreKind::Database);
        let mut bad = Settings::default();
        bad.limits.store = LimitStoreKind::Redis;
        bad.limits.redis_url = RedisUrl("http://user:pw-in-url@x/".into());
        let error = bad.validate().unwrap_err();
        assert!(error.0.contains("limits.redis_url"), "{error}");
        assert!(!error.0.contains("pw-in-url"), "{error}");
        bad.limits.redis_url = RedisUrl("redis://127.0.0.1:6379/0".into());
        bad.limits.key_prefix = String::new();
        assert!(bad.validate().unwrap_err().0.contains("key_prefix"));
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

    fn var(name: &str, value: &Path) -> (String, String) {
        (name.into(), value.display().to_string())
    }

    #[test]
    fn secrets_are_read_from_files_named_by_file_variables() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("database_url");
        std::fs::write(&url, "postgres://app:fr0m-f1le@db/prod\n").unwrap();
        let smtp = dir.path().join("smtp");
        std::fs::write(&smtp, "pass word 123\r\n").unwrap();
        let hmac = dir.path().join("hmac");
        std::fs::write(&hmac, "newest-secret\n\n  older-secret  \n").unwrap();
        let settings = Settings::load_from(
            None,
            no_env(),
            &[
                var("DATABASE_URL_FILE", &url),
                var("MIMAMORI_CASES__MESSAGING__SMTP_PASSWORD_FILE", &smtp),
                var("MIMAMORI_VERIFICATION__HMAC_SECRETS_FILE", &hmac),
            ],
        )
        .unwrap();
        assert_eq!(
            settings.database_url.as_deref(),
            Some("postgres://app:fr0m-f1le@db/prod")
        );
        // A numeric-looking or spaced secret stays the exact string.
        assert_eq!(
            settings.cases.messaging.smtp_password.as_ref().unwrap().0,
            "pass word 123"
        );
        let hmac: Vec<&str> = settings
            .verification
            .hmac_secrets
            .iter()
            .map(|s| s.0.as_str())
            .collect();
        assert_eq!(hmac, ["newest-secret", "older-secret"]);
        let printed = settings.to_redacted_toml();
        assert!(!printed.contains("fr0m-f1le"), "{printed}");
        assert!(!printed.contains("pass word"), "{printed}");
        assert!(!printed.contains("newest-secret"), "{printed}");

        // MIMAMORI_DATABASE_URL_FILE works too; the file wins over the configuration file.
        let config = dir.path().join("m.toml");
        std::fs::write(&config, "database_url = \"sqlite://x.db\"\n").unwrap();
        let settings = Settings::load_from(
            Some(&config),
            no_env(),
            &[var("MIMAMORI_DATABASE_URL_FILE", &url)],
        )
        .unwrap();
        assert!(settings.database_url.unwrap().contains("fr0m-f1le"));
    }

    #[test]
    fn bad_secret_files_are_explained_without_their_content() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cret-value").unwrap();
        let missing = dir.path().join("missing");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let load = |vars: &[(String, String)]| Settings::load_from(None, no_env(), vars);

        let error = load(&[var("DATABASE_URL_FILE", &missing)]).unwrap_err();
        assert!(error.0.contains("DATABASE_URL_FILE"), "{error}");
        assert!(error.0.contains(&missing.display().to_string()), "{error}");

        let error = load(&[var("MIMAMORI_VERIFICATION__MASTER_KEY_FILE", &empty)]).unwrap_err();
        assert!(error.0.contains("empty"), "{error}");

        let error = load(&[var(
            "MIMAMORI_KEY_SERVER__COCOA__INQUIRY_LOG__API_KEY_FILE",
            dir.path(),
        )])
        .unwrap_err();
        assert!(error.0.contains("not a file"), "{error}");

        // Set twice: refused, and the value is not echoed.
        let error = load(&[
            var("MIMAMORI_KEY_SERVER__REVISION_TOKEN_SECRET_FILE", &secret),
            (
                "MIMAMORI_KEY_SERVER__REVISION_TOKEN_SECRET".into(),
                "direct".into(),
            ),
        ])
        .unwrap_err();
        assert!(error.0.contains("both"), "{error}");
        let error = load(&[
            var("DATABASE_URL_FILE", &secret),
            ("DATABASE_URL".into(), "sqlite://x.db".into()),
        ])
        .unwrap_err();
        assert!(
            error.0.contains("DATABASE_URL and DATABASE_URL_FILE"),
            "{error}"
        );

        // A file that is read but holds a bad URL: the error does not quote it.
        let error = load(&[var("DATABASE_URL_FILE", &secret)]).unwrap_err();
        assert!(!error.0.contains("s3cret-value"), "{error}");
    }

    #[test]
    fn every_secret_file_key_is_a_real_key() {
        // Each listed key must be accepted by the configuration (a typo in the list would
        // make its `_FILE` variable fail with "unknown field" instead of working).
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("value");
        std::fs::write(&file, "dmFsdWU=\n").unwrap();
        for key in SECRET_FILE_KEYS {
            let name = format!("{}_FILE", env_name(key));
            let result = Settings::load_from(None, no_env(), &[var(&name, &file)]);
            if let Err(error) = &result {
                // Values may fail validation (e.g. a bad URL), but never as an unknown key.
                assert!(!error.0.contains("unknown field"), "{name}: {error}");
            }
        }
    }
}
