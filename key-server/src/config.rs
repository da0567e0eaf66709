//! Configuration of the key server: the `[key_server]` table of the server configuration
//! (`MIMAMORI_KEY_SERVER__*` in the environment). Defaults follow the Google reference server
//! where the issue is silent; each is documented in README.md.

use std::path::PathBuf;

use serde::{Deserialize, Serialize, Serializer};

/// Settings of the diagnosis-key server.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Region stamped on keys when a publish names none (COCOA uses "440").
    pub default_region: String,
    /// Regions this server accepts and exports.
    pub regions: Vec<String>,
    /// Most keys in one publish.
    pub max_keys_on_publish: usize,
    /// Oldest accepted key start, in hours before now.
    pub max_interval_age_hours: u32,
    /// Symptom onset accepted within this many days of today (either side).
    pub max_symptom_onset_days: u32,
    /// Keys whose |days since onset| exceeds this are dropped with a warning.
    pub max_days_since_onset: u32,
    /// Days before the upload day assumed as onset when neither certificate nor request has one.
    pub default_symptom_onset_days_ago: u32,
    /// Keys and export files older than this many days are deleted (at least 10).
    pub retention_days: u32,
    /// Trusted certificate issuers (verification servers).
    pub issuers: Vec<IssuerConfig>,
    /// The health authorities apps name in `healthAuthorityID` (the reference server's
    /// AuthorizedApp): which issuers' certificates each accepts and the regions its keys go to.
    pub health_authorities: Vec<HealthAuthorityConfig>,
    /// Secret for revision tokens (AES-256-GCM key derivation). Unset: generated once and
    /// stored in the database.
    #[serde(serialize_with = "redact")]
    pub revision_token_secret: Option<String>,
    /// Writer tasks that commit publishes in groups (each uses one database connection).
    pub publish_writers: usize,
    /// Most publishes committed together by one writer.
    pub publish_group_max: usize,
    /// Export batches.
    pub export: ExportConfig,
    /// COCOA's configuration files and operational log.
    pub cocoa: CocoaConfig,
}

/// `[key_server.cocoa]`: what COCOA's app fetches and sends besides keys.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CocoaConfig {
    /// The v2 risk preset `configuration.json` and `risk_calculation_configuration.json`
    /// are rendered from.
    pub exposure_preset: String,
    /// The v1 preset for the legacy parts of `configuration.json`.
    pub legacy_preset: String,
    /// `Cache-Control` max-age of the configuration files.
    pub configuration_max_age_seconds: u64,
    /// Operational event logs (`PUT /api/v1/event_log`) are deleted after this many days.
    pub event_log_retention_days: u32,
    /// Most event-log entries in one request.
    pub max_event_logs_per_request: usize,
    /// `GET /api/inquirylog`: upload grants for the app's diagnostic logs (off when unset).
    pub inquiry_log: Option<InquiryLogConfig>,
}

/// `[key_server.cocoa.inquiry_log]`: the Azure Blob container COCOA's app uploads its
/// zipped diagnostic log into, and the key the app must present.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InquiryLogConfig {
    /// The `x-api-key` the app sends (its `InquiryLogApiKey`; masked when printed).
    #[serde(serialize_with = "redact_str")]
    pub api_key: String,
    /// Storage account name.
    pub storage_account: String,
    /// Storage account key, base64 (masked when printed).
    #[serde(serialize_with = "redact_str")]
    pub account_key: String,
    /// Container (COCOA: its `InquiryLogBlobStorageContainerPrefix`, lower case).
    #[serde(default = "default_inquiry_container")]
    pub container: String,
    /// Lifetime of a grant in seconds (COCOA: 10 minutes).
    #[serde(default = "default_inquiry_ttl")]
    pub sas_ttl_seconds: i64,
    /// Protocols the grant allows: `https` (default) or `https,http` (emulators).
    #[serde(default = "default_inquiry_protocol")]
    pub sas_protocol: String,
}

fn default_inquiry_container() -> String {
    "inquirylog".into()
}

fn default_inquiry_ttl() -> i64 {
    600
}

fn default_inquiry_protocol() -> String {
    "https".into()
}

fn redact_str<S: Serializer>(_: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str("***")
}

impl Default for CocoaConfig {
    fn default() -> Self {
        CocoaConfig {
            exposure_preset: "cocoa-v2".into(),
            legacy_preset: "cocoa-v1".into(),
            configuration_max_age_seconds: 3600,
            event_log_retention_days: 14,
            max_event_logs_per_request: 100,
            inquiry_log: None,
        }
    }
}

/// `[[key_server.health_authorities]]`: one app configuration's `healthAuthorityID`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HealthAuthorityConfig {
    /// The `healthAuthorityID` the app sends (for Google's reference app, its
    /// `healthAuthorityId` build setting; commonly the app's package name).
    pub id: String,
    /// The certificate issuers (`iss`) accepted for it; each must be a trusted issuer (or
    /// this server's own verification service).
    pub issuers: Vec<String>,
    /// Regions its keys are stored and exported under (default: `default_region`).
    #[serde(default)]
    pub regions: Vec<String>,
}

/// A verification server whose certificates the key server accepts.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The `iss` claim.
    pub issuer: String,
    /// The `aud` claim the certificate must carry.
    pub audience: String,
    /// PEM files with the issuer's P-256 public keys; the key id is the file stem unless
    /// given as `kid=PATH`.
    #[serde(default)]
    pub public_keys: Vec<String>,
    /// A JWKS URL (`.../.well-known/jwks.json`) to fetch keys by `kid` from.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// Seconds between JWKS refreshes.
    #[serde(default = "default_jwks_refresh")]
    pub jwks_refresh_seconds: u64,
    /// Largest accepted clock difference for `exp`, `nbf` and `iat`, in seconds.
    #[serde(default = "default_skew")]
    pub allowed_clock_skew_seconds: i64,
}

fn default_jwks_refresh() -> u64 {
    300
}

fn default_skew() -> i64 {
    60
}

/// Export worker settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportConfig {
    /// Run the export worker inside `serve`.
    pub enabled: bool,
    /// Window length in seconds; must divide 24 h.
    pub window_seconds: u64,
    /// A window is exported only this many seconds after it closed (in-flight publishes land).
    pub min_window_age_seconds: u64,
    /// How often the worker looks for closed windows, in seconds.
    pub poll_seconds: u64,
    /// Fewest keys in a file; filled up with random keys copying real keys' metadata.
    pub min_keys_per_file: usize,
    /// Up to this many extra random keys on top of the minimum (hides exact counts).
    pub padding_jitter: usize,
    /// Most keys in one file; larger windows are split.
    pub max_keys_per_file: usize,
    /// Where the files are stored: `directory` (the local `directory` below; one process),
    /// `database` (the server's database, so every replica serves every file) or `object`
    /// (an S3 bucket, [`ObjectStorageConfig`]; every replica on the bucket serves every file).
    pub storage: ExportStorage,
    /// `[key_server.export.object]`: the bucket, with `storage = "object"`.
    pub object: ObjectStorageConfig,
    /// Directory the files are written to (served by the server, or synced to a CDN); with
    /// `storage = "directory"` the files, otherwise only `manifest.jsonl`.
    pub directory: PathBuf,
    /// Export-signing key id apps are configured with (e.g. the MCC "440").
    pub signing_key_id: String,
    /// `Cache-Control` max-age of listings, in seconds (files themselves are immutable).
    pub listing_max_age_seconds: u64,
    /// Base URL put into `list.json` (e.g. `https://cdn.example/`); empty = this server.
    pub public_base_url: String,
    /// Run the canary after every export.
    pub canary: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            default_region: "440".into(),
            regions: vec!["440".into()],
            max_keys_on_publish: 30,
            max_interval_age_hours: 14 * 24,
            max_symptom_onset_days: 28,
            max_days_since_onset: 14,
            default_symptom_onset_days_ago: 4,
            retention_days: 14,
            issuers: Vec::new(),
            health_authorities: Vec::new(),
            revision_token_secret: None,
            publish_writers: 2,
            publish_group_max: 64,
            export: ExportConfig::default(),
            cocoa: CocoaConfig::default(),
        }
    }
}

/// Where export files are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportStorage {
    /// The local export directory (the default; embedded and single-process use).
    #[default]
    Directory,
    /// The server's database (SQLite or PostgreSQL): any replica serves any file.
    Database,
    /// An object store (S3 or an S3-compatible server, [`ObjectStorageConfig`]): any replica
    /// on the same bucket serves any file.
    Object,
}

/// `[key_server.export.object]`: the S3 bucket (or S3-compatible server) export files are
/// stored in with `storage = "object"`, through the `object_store` crate. Unset credentials,
/// region and endpoint fall back to the standard AWS variables (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`/`AWS_DEFAULT_REGION`,
/// `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`), then to the instance or web-identity credentials.
#[derive(Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ObjectStorageConfig {
    /// `s3://BUCKET` or `s3://BUCKET/PREFIX` (objects are `PREFIX/sha256/HEX`).
    pub url: String,
    /// A custom endpoint for S3-compatible servers (MinIO, Ceph, s3s-fs), e.g.
    /// `http://127.0.0.1:9000`; requests are then path-style. Unset: AWS.
    pub endpoint: Option<String>,
    /// The bucket's region (e.g. `ap-northeast-1`; `us-east-1` when unset everywhere).
    pub region: Option<String>,
    /// Allow plain `http://` endpoints (test servers only; default false).
    pub allow_http: bool,
    /// Access key id (unset: `AWS_ACCESS_KEY_ID`, or instance credentials).
    pub access_key_id: Option<String>,
    /// Secret access key (masked when printed; also `..._SECRET_ACCESS_KEY_FILE`).
    #[serde(serialize_with = "redact")]
    pub secret_access_key: Option<String>,
}

impl std::fmt::Debug for ObjectStorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStorageConfig")
            .field("url", &self.url)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("allow_http", &self.allow_http)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "***"),
            )
            .finish()
    }
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig {
            enabled: true,
            window_seconds: 3600,
            min_window_age_seconds: 120,
            poll_seconds: 30,
            min_keys_per_file: 1000,
            padding_jitter: 100,
            max_keys_per_file: 500_000,
            storage: ExportStorage::Directory,
            object: ObjectStorageConfig::default(),
            directory: PathBuf::from("./data/exports"),
            signing_key_id: "440".into(),
            listing_max_age_seconds: 300,
            public_base_url: String::new(),
            canary: true,
        }
    }
}

fn redact<S: Serializer>(secret: &Option<String>, serializer: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(_) => serializer.serialize_str("***"),
        None => serializer.serialize_none(),
    }
}

impl Config {
    /// Checks values that parse but make no sense; the message says how to fix it.
    pub fn validate(&self) -> Result<(), String> {
        crate::cocoa::CocoaPresets::from_names(
            &self.cocoa.exposure_preset,
            &self.cocoa.legacy_preset,
        )?;
        let mut ids = std::collections::HashSet::new();
        for authority in &self.health_authorities {
            if authority.id.trim().is_empty() || !ids.insert(authority.id.as_str()) {
                return Err(format!(
                    "key_server.health_authorities: id '{}' is empty or given twice",
                    authority.id
                ));
            }
            if authority.issuers.is_empty() {
                return Err(format!(
                    "key_server.health_authorities '{}': list the certificate issuers it accepts",
                    authority.id
                ));
            }
            if let Some(region) = authority.regions.iter().find(|r| !self.regions.contains(r)) {
                return Err(format!(
                    "key_server.health_authorities '{}': region '{region}' is not in key_server.regions",
                    authority.id
                ));
            }
        }
        if self.retention_days < 10 {
            return Err(format!(
                "key_server.retention_days = {} is below the minimum of 10 days (devices look back 14 days)",
                self.retention_days
            ));
        }
        let day = 24 * 3600;
        let window = self.export.window_seconds;
        if window < 600 || window > day || day % window != 0 {
            return Err(format!(
                "key_server.export.window_seconds = {window} must be between 600 and 86400 and divide 24 h"
            ));
        }
        if self.export.max_keys_per_file == 0
            || self.export.min_keys_per_file > self.export.max_keys_per_file
        {
            return Err(
                "key_server.export.min_keys_per_file must not exceed max_keys_per_file (> 0)"
                    .into(),
            );
        }
        if self.max_keys_on_publish == 0 {
            return Err("key_server.max_keys_on_publish must be at least 1".into());
        }
        if !self.regions.contains(&self.default_region) {
            return Err(format!(
                "key_server.default_region '{}' is not in key_server.regions",
                self.default_region
            ));
        }
        for region in &self.regions {
            if region.is_empty()
                || region.len() > 16
                || !region
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(format!(
                    "key_server.regions: '{region}' must be 1-16 letters, digits or '-'"
                ));
            }
        }
        if self.export.storage == ExportStorage::Object {
            crate::blobs::ObjectBlobStore::from_config(&self.export.object)
                .map_err(|e| e.to_string())?;
        }
        for issuer in &self.issuers {
            if issuer.public_keys.is_empty() && issuer.jwks_url.is_none() {
                return Err(format!(
                    "key_server.issuers '{}': give public_keys (PEM files) or jwks_url",
                    issuer.issuer
                ));
            }
        }
        Ok(())
    }
}
