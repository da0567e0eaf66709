//! E-mail over real SMTP, with `lettre` on tokio (TLS by rustls with ring, Mozilla's roots).

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::{self, ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MessageBuilder};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};

use crate::delivery::{DeliveryError, DeliveryReceipt, EmailMessage, EmailTransport};

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain text (a relay on the same host or network only).
    None,
    /// Plain connection upgraded with STARTTLS, which must succeed (usually port 587).
    #[default]
    StartTls,
    /// TLS from the first byte (implicit TLS, usually port 465).
    Tls,
}

/// Where and how to send e-mail.
#[derive(Debug, Clone, Deserialize)]
pub struct SmtpConfig {
    /// The SMTP server's host name (also the name its TLS certificate must have).
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The sender: `noreply@example.jp` or `保健所 <noreply@example.jp>`.
    pub from: String,
    /// Plain, STARTTLS or TLS.
    #[serde(default)]
    pub security: SmtpSecurity,
    /// The user name for SMTP AUTH, if the server wants one.
    #[serde(default)]
    pub username: Option<String>,
    /// The password for SMTP AUTH.
    #[serde(default)]
    pub password: Option<SecretString>,
    /// The time one message's whole SMTP exchange (connect to QUIT) may take.
    #[serde(default = "default_timeout", deserialize_with = "seconds")]
    pub timeout: Duration,
    /// The name sent with EHLO; `localhost`'s address literal when unset.
    #[serde(default)]
    pub helo_name: Option<String>,
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let secs = f64::deserialize(deserializer)?;
    Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
}

impl SmtpConfig {
    /// A plain-text relay on `host:port` (a local MTA, a test server) with a 30-second timeout.
    pub fn plain(host: impl Into<String>, port: u16, from: impl Into<String>) -> Self {
        SmtpConfig {
            host: host.into(),
            port,
            from: from.into(),
            security: SmtpSecurity::None,
            username: None,
            password: None,
            timeout: default_timeout(),
            helo_name: None,
        }
    }
}

/// Why an [`SmtpConfig`] cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SmtpConfigError {
    /// `from` is not an address (or `Name <address>`).
    #[error("smtp: the from address is not valid")]
    InvalidFrom,
    /// A user name without a password, or the reverse.
    #[error("smtp: username and password go together")]
    IncompleteCredentials,
    /// The TLS set-up failed.
    #[error("smtp: TLS set-up failed: {0}")]
    Tls(String),
}

/// Sends e-mail to one SMTP server, one connection per message.
///
/// Problems of the connection or the set-up (refused, timed out, TLS, authentication) are
/// transient: they do not depend on the message and may be fixed later. The server's 4xx
/// replies are transient, its 5xx replies and an invalid recipient address permanent.
#[derive(Clone)]
pub struct SmtpTransport {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
    port: u16,
    timeout: Duration,
}

impl fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpTransport")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl SmtpTransport {
    /// A transport for the configured server; connects only when sending.
    pub fn new(config: &SmtpConfig) -> Result<Self, SmtpConfigError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|_| SmtpConfigError::InvalidFrom)?;
        let tls = match config.security {
            SmtpSecurity::None => Tls::None,
            SmtpSecurity::StartTls => Tls::Required(tls_parameters(&config.host)?),
            SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(&config.host)?),
        };
        let hello = match &config.helo_name {
            Some(name) => ClientId::Domain(name.clone()),
            None => ClientId::Ipv4(std::net::Ipv4Addr::LOCALHOST),
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
                .port(config.port)
                .tls(tls)
                .timeout(Some(config.timeout))
                .hello_name(hello);
        match (&config.username, &config.password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(
                    user.clone(),
                    password.expose_secret().to_owned(),
                ));
            }
            (None, None) => {}
            _ => return Err(SmtpConfigError::IncompleteCredentials),
        }
        Ok(SmtpTransport {
            transport: builder.build(),
            from,
            host: config.host.clone(),
            port: config.port,
            timeout: config.timeout,
        })
    }

    fn build(&self, msg: &EmailMessage, message_id: &str) -> Result<Message, DeliveryError> {
        let to: Address = msg
            .to
            .trim()
            .parse()
            .map_err(|_| DeliveryError::permanent("invalid recipient address"))?;
        let mut builder: MessageBuilder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(msg.subject.clone())
            .message_id(Some(message_id.to_owned()))
            .date_now()
            .header(ContentType::TEXT_PLAIN)
            .header(AutoSubmitted);
        if let Some(value) = &msg.list_unsubscribe {
            if value.chars().any(char::is_control) {
                return Err(DeliveryError::permanent("invalid List-Unsubscribe value"));
            }
            builder = builder.header(ListUnsubscribe(value.clone()));
        }
        builder
            .body(msg.body.clone())
            .map_err(|_| DeliveryError::permanent("the message could not be built"))
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, SmtpConfigError> {
    TlsParameters::new(host.to_owned()).map_err(|e| SmtpConfigError::Tls(e.to_string()))
}

#[async_trait]
impl EmailTransport for SmtpTransport {
    async fn send(&self, msg: &EmailMessage) -> Result<DeliveryReceipt, DeliveryError> {
        let domain = self.from.email.domain().to_owned();
        let message_id = format!("<{}@{domain}>", uuid::Uuid::new_v4());
        let message = self.build(msg, &message_id)?;
        // lettre bounds only the connect with its timeout: bound the whole exchange too.
        let outcome = tokio::time::timeout(self.timeout, self.transport.send(message)).await;
        match outcome {
            Ok(Ok(_)) => Ok(DeliveryReceipt::now("smtp", Some(message_id))),
            Ok(Err(e)) => Err(self.failed(classify(&e))),
            Err(_) => Err(self.failed(DeliveryError::transient(
                "timed out talking to the SMTP server",
            ))),
        }
    }
}

impl SmtpTransport {
    fn failed(&self, error: DeliveryError) -> DeliveryError {
        tracing::warn!(
            host = %self.host,
            port = self.port,
            retryable = error.is_retryable(),
            reason = error.reason(),
            "smtp delivery failed"
        );
        error
    }
}

/// Maps lettre's error to ours without the server's text (which may quote the address).
fn classify(e: &lettre::transport::smtp::Error) -> DeliveryError {
    if let Some(code) = e.status() {
        let status = u16::from(code);
        let enhanced = e
            .source()
            .and_then(|s| enhanced_status(&s.to_string()))
            .map(|code| format!(", {code}"))
            .unwrap_or_default();
        let reason = format!("SMTP {status}{enhanced}: {}", reply_meaning(status));
        return if e.is_permanent() {
            DeliveryError::Permanent {
                reason,
                status: Some(status),
            }
        } else {
            DeliveryError::Transient {
                reason,
                status: Some(status),
                retry_after: None,
            }
        };
    }
    let reason = if e.is_timeout() {
        "timed out talking to the SMTP server"
    } else if e.is_tls() {
        "TLS with the SMTP server failed"
    } else if e.is_response() {
        "unreadable reply from the SMTP server"
    } else if e.is_client() {
        "SMTP client error (server features or set-up)"
    } else if e.is_transport_shutdown() {
        "SMTP transport shut down"
    } else {
        "could not connect to the SMTP server"
    };
    DeliveryError::transient(reason)
}

/// The enhanced status code (RFC 3463) that starts a reply's text, if any: only the code
/// is taken from the text.
fn enhanced_status(text: &str) -> Option<String> {
    let first = text.split_whitespace().next()?;
    let mut parts = first.split('.');
    let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
    let ok = parts.next().is_none()
        && matches!(class, "2" | "4" | "5")
        && (1..=3).contains(&subject.len())
        && (1..=3).contains(&detail.len())
        && subject
            .bytes()
            .chain(detail.bytes())
            .all(|b| b.is_ascii_digit());
    ok.then(|| format!("{class}.{subject}.{detail}"))
}

fn reply_meaning(status: u16) -> &'static str {
    match status {
        421 => "service not available",
        450 => "recipient temporarily refused (mailbox unavailable)",
        451 => "server error in processing",
        452 => "insufficient storage",
        454 => "TLS or authentication temporarily unavailable",
        530 => "authentication required",
        534 | 535 => "authentication failed",
        550 => "recipient refused (mailbox unavailable)",
        551 => "recipient refused (user not local)",
        552 => "message exceeds storage allocation",
        553 => "recipient refused (mailbox name not allowed)",
        554 => "transaction failed",
        400..=499 => "temporary failure",
        _ => "permanent failure",
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834): automatic replies should not answer it.
#[derive(Debug, Clone)]
struct AutoSubmitted;

impl header::Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

/// `List-Unsubscribe` (RFC 2369).
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl header::Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enhanced_status_codes() {
        assert_eq!(
            enhanced_status("5.1.1 <a@b>: user unknown").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(enhanced_status("4.3.0 try later").as_deref(), Some("4.3.0"));
        assert_eq!(enhanced_status("user <a@b> unknown"), None);
        assert_eq!(enhanced_status("5.1.1a x"), None);
        assert_eq!(enhanced_status(""), None);
    }

    #[test]
    fn incomplete_credentials_are_refused() {
        let mut config = SmtpConfig::plain("127.0.0.1", 25, "noreply@example.jp");
        config.username = Some("user".into());
        assert!(matches!(
            SmtpTransport::new(&config),
            Err(SmtpConfigError::IncompleteCredentials)
        ));
        config.username = None;
        config.from = "not an address".into();
        assert!(matches!(
            SmtpTransport::new(&config),
            Err(SmtpConfigError::InvalidFrom)
        ));
    }

    #[test]
    fn config_deserializes() {
        let config: SmtpConfig = serde_json::from_str(
            r#"{"host":"smtp.example.jp","port":587,"from":"保健所 <noreply@example.jp>",
                "username":"u","password":"p","timeout":2.5}"#,
        )
        .expect("config");
        assert_eq!(config.security, SmtpSecurity::StartTls);
        assert_eq!(config.timeout, Duration::from_millis(2500));
        assert!(!format!("{config:?}").contains("\"p\""));
        SmtpTransport::new(&config).expect("transport");
    }
}
