//! [`ObjectBlobStore`]: export files in an S3 bucket (or any S3-compatible server) through
//! the `object_store` crate. The same crate speaks Google Cloud Storage and Azure Blob
//! (`gs://`, `az://`, its `gcp` and `azure` features); only S3 is built here.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, PutPayload, RetryConfig};

use super::{BlobError, BlobStore, checked, valid_key};
use crate::config::ObjectStorageConfig;

/// Longest a single request to the bucket may take (an export file is at most a few MB).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Retries of a failed request (5xx, timeouts, connection errors), within
/// [`RETRY_TIMEOUT`] of the first attempt: a download waits seconds, not minutes.
const MAX_RETRIES: usize = 3;
/// See [`MAX_RETRIES`].
const RETRY_TIMEOUT: Duration = Duration::from_secs(15);

/// Export files as objects `PREFIX/KEY` in one S3 bucket. A `put` returns after the
/// server acknowledged the PUT (S3 stores an object durably before it answers 200), so
/// every replica on the bucket can serve it at once (S3 reads are strongly consistent).
#[derive(Clone)]
pub struct ObjectBlobStore {
    store: Arc<dyn ObjectStore>,
    bucket: String,
    prefix: String,
}

impl std::fmt::Debug for ObjectBlobStore {
    /// The bucket and prefix only: the client holds the credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectBlobStore")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn config_error(message: impl Into<String>) -> BlobError {
    BlobError::ObjectConfig(message.into())
}

impl ObjectBlobStore {
    /// A store on the bucket `config` names. Settings it leaves unset come from the standard
    /// AWS variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
    /// `AWS_REGION`, `AWS_DEFAULT_REGION`, `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`, the web-identity
    /// and container variables), then from instance metadata. Checks the settings only; no
    /// request is made. A bad URL or endpoint is a [`BlobError::ObjectConfig`].
    pub fn from_config(config: &ObjectStorageConfig) -> Result<Self, BlobError> {
        let (bucket, prefix) = parse_url(&config.url)?;
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&bucket);
        if let Some(endpoint) = &config.endpoint {
            let parsed = url::Url::parse(endpoint).map_err(|e| {
                config_error(format!(
                    "key_server.export.object.endpoint '{endpoint}' is not a URL: {e}"
                ))
            })?;
            match parsed.scheme() {
                "https" => {}
                "http" if config.allow_http || env_allows_http() => {}
                "http" => {
                    return Err(config_error(format!(
                        "key_server.export.object.endpoint '{endpoint}' is plain http; use https or set allow_http = true"
                    )));
                }
                other => {
                    return Err(config_error(format!(
                        "key_server.export.object.endpoint '{endpoint}': scheme '{other}' is not http or https"
                    )));
                }
            }
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &config.region {
            builder = builder.with_region(region);
        }
        match (&config.access_key_id, &config.secret_access_key) {
            (Some(id), Some(secret)) => {
                builder = builder
                    .with_access_key_id(id)
                    .with_secret_access_key(secret);
            }
            (None, None) => {}
            _ => {
                return Err(config_error(
                    "key_server.export.object: give both access_key_id and secret_access_key, or neither (then AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or instance credentials)",
                ));
            }
        }
        let store = builder
            .with_client_options(
                // After every `with_*` option: this replaces the client options (`allow_http`
                // from AWS_ALLOW_HTTP included), so it sets `allow_http` itself.
                ClientOptions::new()
                    .with_allow_http(config.allow_http || env_allows_http())
                    .with_timeout(REQUEST_TIMEOUT)
                    .with_connect_timeout(CONNECT_TIMEOUT),
            )
            .with_retry(RetryConfig {
                max_retries: MAX_RETRIES,
                retry_timeout: RETRY_TIMEOUT,
                ..RetryConfig::default()
            })
            .build()
            .map_err(|e| config_error(format!("key_server.export.object: {e}")))?;
        Ok(ObjectBlobStore {
            store: Arc::new(store),
            bucket,
            prefix,
        })
    }

    /// The object path of `key`.
    fn path(&self, key: &str) -> Result<Path, BlobError> {
        let key = checked(key)?;
        let full = if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        };
        Path::parse(full).map_err(|_| BlobError::InvalidKey(key.to_string()))
    }
}

/// Whether `AWS_ALLOW_HTTP` is `true` (what `AmazonS3Builder::from_env` would have read).
fn env_allows_http() -> bool {
    std::env::var("AWS_ALLOW_HTTP").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `s3://BUCKET[/PREFIX]` → (bucket, prefix without slashes at either end).
fn parse_url(text: &str) -> Result<(String, String), BlobError> {
    let hint = "set key_server.export.object.url to s3://BUCKET or s3://BUCKET/PREFIX";
    if text.trim().is_empty() {
        return Err(config_error(format!(
            "key_server.export.object.url is empty; {hint}"
        )));
    }
    let url = url::Url::parse(text).map_err(|e| {
        config_error(format!(
            "key_server.export.object.url '{text}' is not a URL ({e}); {hint}"
        ))
    })?;
    if url.scheme() != "s3" {
        return Err(config_error(format!(
            "key_server.export.object.url '{text}': only s3:// is supported (S3 and S3-compatible servers); {hint}"
        )));
    }
    let bucket = url.host_str().unwrap_or_default().to_string();
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.'));
    if !bucket_ok
        || url.port().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(config_error(format!(
            "key_server.export.object.url '{text}': the bucket must be 3-63 lower-case letters, digits, '-' or '.', with no port, user, query or fragment; {hint}"
        )));
    }
    let prefix = url.path().trim_matches('/').to_string();
    // As written, not as the URL parser normalised it (`a/../b` is not quietly `b`).
    let written = text
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map_or("", |(_, path)| path.trim_matches('/'));
    if written != prefix || (!prefix.is_empty() && !valid_key(&prefix)) {
        return Err(config_error(format!(
            "key_server.export.object.url '{text}': the prefix must be segments of letters, digits, '-', '_' or '.'"
        )));
    }
    Ok((bucket, prefix))
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        let path = self.path(key)?;
        self.store
            .put(&path, PutPayload::from(bytes.to_vec()))
            .await?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        let path = self.path(key)?;
        match self.store.get(&path).await {
            Ok(result) => Ok(Some(result.bytes().await?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn kind(&self) -> &'static str {
        "object"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> ObjectStorageConfig {
        ObjectStorageConfig {
            url: url.into(),
            endpoint: Some("http://127.0.0.1:9".into()),
            region: Some("us-east-1".into()),
            allow_http: true,
            access_key_id: Some("id".into()),
            secret_access_key: Some("secret-not-shown".into()),
        }
    }

    #[test]
    fn urls_name_a_bucket_and_an_optional_prefix() {
        assert_eq!(
            parse_url("s3://exports").unwrap(),
            ("exports".into(), String::new())
        );
        assert_eq!(
            parse_url("s3://exports/mimamori/prod/").unwrap(),
            ("exports".into(), "mimamori/prod".into())
        );
        for bad in [
            "",
            "exports",
            "https://exports/x",
            "gs://exports",
            "s3://",
            "s3://Exports",
            "s3://ex",
            "s3://exports:9000",
            "s3://user:pw@exports",
            "s3://exports/a/../b",
            "s3://exports/a b",
            "s3://exports?x=1",
        ] {
            let error = parse_url(bad).unwrap_err();
            assert!(
                matches!(error, BlobError::ObjectConfig(_)),
                "{bad:?}: {error}"
            );
        }
    }

    #[test]
    fn configuration_is_checked_without_a_request_and_hides_the_secret() {
        let store = ObjectBlobStore::from_config(&config("s3://exports/p")).unwrap();
        assert_eq!(store.kind(), "object");
        assert_eq!(
            store.path("sha256/ab").unwrap().as_ref(),
            "p/sha256/ab",
            "under the prefix"
        );
        assert!(matches!(store.path("../x"), Err(BlobError::InvalidKey(_))));
        let printed = format!("{store:?} {:?}", config("s3://exports"));
        assert!(!printed.contains("secret-not-shown"), "{printed}");

        let mut plain = config("s3://exports");
        plain.allow_http = false;
        let error = ObjectBlobStore::from_config(&plain).unwrap_err();
        assert!(error.to_string().contains("allow_http"), "{error}");
        let mut half = config("s3://exports");
        half.secret_access_key = None;
        let error = ObjectBlobStore::from_config(&half).unwrap_err();
        assert!(error.to_string().contains("both"), "{error}");
        let mut endpoint = config("s3://exports");
        endpoint.endpoint = Some("not a url".into());
        assert!(matches!(
            ObjectBlobStore::from_config(&endpoint),
            Err(BlobError::ObjectConfig(_))
        ));
    }
}
