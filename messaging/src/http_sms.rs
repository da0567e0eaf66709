//! An SMS gateway reached by one JSON POST per message.
//!
//! The request: `POST <url>` with `Authorization: Bearer <token>` and
//! `{"to": "+81…", "body": "…", "reference": "…" | null}`. A 2xx answer is acceptance (its JSON
//! `id`, string or number, becomes the receipt's provider id); 408, 429 and 5xx, timeouts and
//! connection failures are transient; any other answer is permanent.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};

use crate::delivery::{DeliveryError, DeliveryReceipt, SmsMessage, SmsProvider};

/// Where the gateway is and how to authenticate to it.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpSmsConfig {
    /// The URL to POST to.
    pub url: String,
    /// The bearer token.
    pub token: SecretString,
    /// The time a whole request may take.
    #[serde(default = "default_timeout", deserialize_with = "seconds")]
    pub timeout: Duration,
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let secs = f64::deserialize(deserializer)?;
    Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
}

/// Sends SMS through an HTTP gateway.
#[derive(Clone)]
pub struct HttpSmsProvider {
    client: reqwest::Client,
    url: reqwest::Url,
    token: SecretString,
}

impl fmt::Debug for HttpSmsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSmsProvider")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

/// Why an [`HttpSmsConfig`] cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HttpSmsConfigError {
    /// The URL does not parse or is not http(s).
    #[error("sms gateway: the URL is not a valid http(s) URL")]
    InvalidUrl,
    /// The HTTP client could not be built.
    #[error("sms gateway: HTTP client: {0}")]
    Client(String),
}

#[derive(Serialize)]
struct Request<'a> {
    to: &'a str,
    body: &'a str,
    reference: Option<&'a str>,
}

impl HttpSmsProvider {
    /// A provider for the configured gateway. Redirects are not followed (a redirect is a
    /// permanent failure: the bearer token must not travel elsewhere).
    pub fn new(config: &HttpSmsConfig) -> Result<Self, HttpSmsConfigError> {
        let url = reqwest::Url::parse(&config.url).map_err(|_| HttpSmsConfigError::InvalidUrl)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(HttpSmsConfigError::InvalidUrl);
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| HttpSmsConfigError::Client(e.to_string()))?;
        Ok(HttpSmsProvider {
            client,
            url,
            token: config.token.clone(),
        })
    }
}

#[async_trait]
impl SmsProvider for HttpSmsProvider {
    async fn send(&self, msg: &SmsMessage) -> Result<DeliveryReceipt, DeliveryError> {
        if !is_e164(&msg.to) {
            return Err(DeliveryError::permanent(
                "recipient is not an E.164 phone number",
            ));
        }
        let request = Request {
            to: &msg.to,
            body: &msg.body,
            reference: msg.reference.as_deref(),
        };
        let result = self
            .client
            .post(self.url.clone())
            .bearer_auth(self.token.expose_secret())
            .json(&request)
            .send()
            .await;
        let outcome = match result {
            Err(e) => Err(DeliveryError::transient(if e.is_timeout() {
                "timed out talking to the SMS gateway"
            } else if e.is_connect() {
                "could not connect to the SMS gateway"
            } else {
                "HTTP error talking to the SMS gateway"
            })),
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    // The answer's body is optional; a body we cannot read still means
                    // accepted.
                    let id = response
                        .bytes()
                        .await
                        .ok()
                        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                        .and_then(|v| match v.get("id") {
                            Some(serde_json::Value::String(s)) => Some(s.clone()),
                            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                            _ => None,
                        });
                    Ok(DeliveryReceipt::now("http_sms", id))
                } else {
                    Err(classify_status(status, response.headers()))
                }
            }
        };
        if let Err(error) = &outcome {
            tracing::warn!(
                retryable = error.is_retryable(),
                reason = error.reason(),
                "sms delivery failed"
            );
        }
        outcome
    }
}

fn classify_status(status: StatusCode, headers: &HeaderMap) -> DeliveryError {
    let code = status.as_u16();
    if status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
    {
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        DeliveryError::Transient {
            reason: format!("SMS gateway answered HTTP {code}"),
            status: Some(code),
            retry_after,
        }
    } else {
        let what = if status.is_redirection() {
            " (redirects are not followed)"
        } else {
            ""
        };
        DeliveryError::Permanent {
            reason: format!("SMS gateway answered HTTP {code}{what}"),
            status: Some(code),
        }
    }
}

/// `+` and 8 to 15 digits, the first not `0`.
pub(crate) fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}
