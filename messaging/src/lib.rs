//! Mimamori messaging: the texts sent to cases and contacts, and the transports that deliver
//! them.
//!
//! * [`template`]: the message templates in Japanese and English ([`render`]), with SMS length
//!   checks ([`sms_segments`]) and an opt-out line on every message.
//! * [`delivery`]: the messages ([`EmailMessage`], [`SmsMessage`]), the transport traits
//!   ([`EmailTransport`], [`SmsProvider`]) and the error that tells a retry from a give-up
//!   ([`DeliveryError`]).
//! * [`smtp`]: real SMTP through `lettre` ([`SmtpTransport`]).
//! * [`http_sms`]: an SMS gateway reached by a JSON POST ([`HttpSmsProvider`]).
//! * [`recording`]: in-memory (and optionally JSON-lines) transports for local and test set-ups.
//! * [`phone`]: Japanese phone numbers to E.164 ([`normalize_phone_jp`]).
//!
//! There is no database here: the outbox, retries and scheduling live in `mimamori-cases`.
//! Nothing in this crate logs or puts into an error a recipient address or a message body.

pub mod delivery;
pub mod http_sms;
pub mod phone;
pub mod recording;
pub mod smtp;
pub mod template;
#[cfg(feature = "testing")]
pub mod testing;

pub use delivery::{
    DeliveryError, DeliveryReceipt, EmailMessage, EmailTransport, SmsMessage, SmsProvider,
};
pub use http_sms::{HttpSmsConfig, HttpSmsConfigError, HttpSmsProvider};
pub use phone::{PhoneError, is_jp_mobile, normalize_phone_jp};
pub use recording::{RecordingEmailTransport, RecordingSmsProvider};
pub use smtp::{SmtpConfig, SmtpConfigError, SmtpSecurity, SmtpTransport};
pub use template::{
    Channel, DEFAULT_MAX_SMS_SEGMENTS, Language, RenderOptions, RenderedMessage, SmsEncoding,
    TemplateError, TemplateId, render, render_with_options, sms_encoding, sms_segments,
};
