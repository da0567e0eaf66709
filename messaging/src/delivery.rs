//! Messages, the transport traits and the delivery error.
//!
//! Privacy: recipient addresses and bodies are personal data. The `Debug` impls of the
//! messages redact them, and no [`DeliveryError`] carries them: an error says "recipient
//! refused", never who.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::template::RenderedMessage;

/// An e-mail to send: plain text, UTF-8.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailMessage {
    /// The recipient's address (`someone@example.jp`).
    pub to: String,
    /// The subject (any Unicode; encoded per RFC 2047 on the wire).
    pub subject: String,
    /// The plain-text body.
    pub body: String,
    /// A `List-Unsubscribe` header value (`<https://…>`, `<mailto:…>`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_unsubscribe: Option<String>,
}

impl EmailMessage {
    /// An e-mail without extra headers.
    pub fn new(to: impl Into<String>, subject: impl Into<String>, body: impl Into<String>) -> Self {
        EmailMessage {
            to: to.into(),
            subject: subject.into(),
            body: body.into(),
            list_unsubscribe: None,
        }
    }

    /// An e-mail from a message rendered for [`Channel::Email`](crate::Channel::Email); a
    /// message without a subject (rendered for SMS) gets an empty one.
    pub fn from_rendered(to: impl Into<String>, rendered: RenderedMessage) -> Self {
        EmailMessage {
            to: to.into(),
            subject: rendered.subject.unwrap_or_default(),
            body: rendered.body,
            list_unsubscribe: rendered.list_unsubscribe,
        }
    }
}

impl fmt::Debug for EmailMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailMessage")
            .field("to", &"<redacted>")
            .field("subject", &"<redacted>")
            .field("body_chars", &self.body.chars().count())
            .field("list_unsubscribe", &self.list_unsubscribe.is_some())
            .finish()
    }
}

/// An SMS to send.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsMessage {
    /// The recipient in E.164 (`+819012345678`); see
    /// [`normalize_phone_jp`](crate::normalize_phone_jp).
    pub to: String,
    /// The text.
    pub body: String,
    /// The sender's own reference for the message (an outbox id, say), passed to the provider
    /// so that its callbacks and logs can be matched; never personal data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl SmsMessage {
    /// An SMS without a reference.
    pub fn new(to: impl Into<String>, body: impl Into<String>) -> Self {
        SmsMessage {
            to: to.into(),
            body: body.into(),
            reference: None,
        }
    }

    /// The same SMS with a reference.
    pub fn with_reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = Some(reference.into());
        self
    }
}

impl fmt::Debug for SmsMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsMessage")
            .field("to", &"<redacted>")
            .field("body_chars", &self.body.chars().count())
            .field("reference", &self.reference)
            .finish()
    }
}

/// What a transport tells about an accepted message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReceipt {
    /// The transport that accepted it: `smtp`, `http_sms`, `recording`.
    pub transport: String,
    /// The id the provider gave the message, if any (for SMTP: the `Message-ID` we set).
    pub provider_id: Option<String>,
    /// When the transport accepted it.
    pub accepted_at: SystemTime,
}

impl DeliveryReceipt {
    /// A receipt accepted now.
    pub fn now(transport: impl Into<String>, provider_id: Option<String>) -> Self {
        DeliveryReceipt {
            transport: transport.into(),
            provider_id,
            accepted_at: SystemTime::now(),
        }
    }
}

/// Why a message was not delivered, split by what the sender should do about it.
///
/// Neither variant holds the recipient or the body: `reason` is text written here (and
/// never the server's own reply, which may quote the address).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Try again later: connection refused or reset, timeout, SMTP 4xx, HTTP 5xx or 429.
    #[error("transient delivery failure: {reason}")]
    Transient {
        /// What went wrong.
        reason: String,
        /// The SMTP reply code or HTTP status, if there was one.
        status: Option<u16>,
        /// How long the provider asked us to wait (HTTP `Retry-After`), if it said.
        retry_after: Option<Duration>,
    },
    /// Do not retry this message: SMTP 5xx (unknown mailbox, …), HTTP 4xx, invalid address.
    #[error("permanent delivery failure: {reason}")]
    Permanent {
        /// What went wrong.
        reason: String,
        /// The SMTP reply code or HTTP status, if there was one.
        status: Option<u16>,
    },
}

impl DeliveryError {
    /// A transient failure without a status.
    pub fn transient(reason: impl Into<String>) -> Self {
        DeliveryError::Transient {
            reason: reason.into(),
            status: None,
            retry_after: None,
        }
    }

    /// A permanent failure without a status.
    pub fn permanent(reason: impl Into<String>) -> Self {
        DeliveryError::Permanent {
            reason: reason.into(),
            status: None,
        }
    }

    /// Whether sending the same message later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, DeliveryError::Transient { .. })
    }

    /// The SMTP reply code or HTTP status, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            DeliveryError::Transient { status, .. } | DeliveryError::Permanent { status, .. } => {
                *status
            }
        }
    }

    /// How long the provider asked to wait before the next try, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            DeliveryError::Transient { retry_after, .. } => *retry_after,
            DeliveryError::Permanent { .. } => None,
        }
    }

    /// What went wrong, without the recipient or the body.
    pub fn reason(&self) -> &str {
        match self {
            DeliveryError::Transient { reason, .. } | DeliveryError::Permanent { reason, .. } => {
                reason
            }
        }
    }
}

/// Sends e-mail.
#[async_trait]
pub trait EmailTransport: Send + Sync {
    /// Sends one message; `Ok` once the next hop accepted it.
    async fn send(&self, msg: &EmailMessage) -> Result<DeliveryReceipt, DeliveryError>;
}

/// Sends SMS.
#[async_trait]
pub trait SmsProvider: Send + Sync {
    /// Sends one message; `Ok` once the provider accepted it.
    async fn send(&self, msg: &SmsMessage) -> Result<DeliveryReceipt, DeliveryError>;
}

#[async_trait]
impl<T: EmailTransport + ?Sized> EmailTransport for std::sync::Arc<T> {
    async fn send(&self, msg: &EmailMessage) -> Result<DeliveryReceipt, DeliveryError> {
        (**self).send(msg).await
    }
}

#[async_trait]
impl<T: SmsProvider + ?Sized> SmsProvider for std::sync::Arc<T> {
    async fn send(&self, msg: &SmsMessage) -> Result<DeliveryReceipt, DeliveryError> {
        (**self).send(msg).await
    }
}
