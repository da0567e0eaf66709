//! Transports that deliver nowhere: they record what they were given, in memory and
//! optionally as JSON lines appended to a file, for local set-ups and tests.
//!
//! They check recipients like the real ones (an invalid address or a non-E.164 number is a
//! permanent failure) and can be told to fail the next sends ([`RecordingSmsProvider::fail_next`])
//! so that retry logic can be exercised without a server.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use serde::Serialize;
use tokio::io::AsyncWriteExt;

use crate::delivery::{
    DeliveryError, DeliveryReceipt, EmailMessage, EmailTransport, SmsMessage, SmsProvider,
};
use crate::http_sms::is_e164;

/// The shared machinery: records, queued failures, the optional file.
#[derive(Debug)]
struct Recorder<T> {
    messages: Mutex<Vec<T>>,
    failures: Mutex<VecDeque<DeliveryError>>,
    file: Option<PathBuf>,
    /// Serializes appends to the file so that lines never interleave.
    file_lock: tokio::sync::Mutex<()>,
    counter: AtomicU64,
}

impl<T: Clone + Serialize> Recorder<T> {
    fn new(file: Option<PathBuf>) -> Self {
        Recorder {
            messages: Mutex::new(Vec::new()),
            failures: Mutex::new(VecDeque::new()),
            file,
            file_lock: tokio::sync::Mutex::new(()),
            counter: AtomicU64::new(0),
        }
    }

    fn messages(&self) -> Vec<T> {
        self.messages
            .lock()
            .map(|m| m.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    fn fail_next(&self, error: DeliveryError) {
        match self.failures.lock() {
            Ok(mut f) => f.push_back(error),
            Err(poisoned) => poisoned.into_inner().push_back(error),
        }
    }

    fn take_failure(&self) -> Option<DeliveryError> {
        match self.failures.lock() {
            Ok(mut f) => f.pop_front(),
            Err(poisoned) => poisoned.into_inner().pop_front(),
        }
    }

    async fn record(&self, msg: &T) -> Result<DeliveryReceipt, DeliveryError> {
        if let Some(error) = self.take_failure() {
            return Err(error);
        }
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        let receipt = DeliveryReceipt::now("recording", Some(format!("recorded-{n}")));
        if let Some(path) = &self.file {
            #[derive(Serialize)]
            struct Line<'a, T> {
                #[serde(flatten)]
                message: &'a T,
                provider_id: &'a Option<String>,
            }
            let mut line = serde_json::to_vec(&Line {
                message: msg,
                provider_id: &receipt.provider_id,
            })
            .map_err(|_| DeliveryError::transient("could not encode the record"))?;
            line.push(b'\n');
            let _guard = self.file_lock.lock().await;
            append(path, &line)
                .await
                .map_err(|_| DeliveryError::transient("could not append to the record file"))?;
        }
        match self.messages.lock() {
            Ok(mut m) => m.push(msg.clone()),
            Err(poisoned) => poisoned.into_inner().push(msg.clone()),
        }
        Ok(receipt)
    }
}

async fn append(path: &Path, line: &[u8]) -> std::io::Result<()> {
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await?;
    file.write_all(line).await?;
    file.flush().await
}

/// An SMS provider that records messages instead of sending them.
#[derive(Debug)]
pub struct RecordingSmsProvider {
    inner: Recorder<SmsMessage>,
}

impl Default for RecordingSmsProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl RecordingSmsProvider {
    /// Records in memory only.
    pub fn new() -> Self {
        RecordingSmsProvider {
            inner: Recorder::new(None),
        }
    }

    /// Records in memory and appends each message as a JSON line
    /// (`{"to":…,"body":…,"reference":…,"provider_id":…}`) to `path`.
    pub fn with_file(path: impl Into<PathBuf>) -> Self {
        RecordingSmsProvider {
            inner: Recorder::new(Some(path.into())),
        }
    }

    /// The messages accepted so far, oldest first.
    pub fn messages(&self) -> Vec<SmsMessage> {
        self.inner.messages()
    }

    /// Makes the next send fail with `error` (queued: call it twice to fail twice).
    pub fn fail_next(&self, error: DeliveryError) {
        self.inner.fail_next(error);
    }
}

#[async_trait]
impl SmsProvider for RecordingSmsProvider {
    async fn send(&self, msg: &SmsMessage) -> Result<DeliveryReceipt, DeliveryError> {
        if !is_e164(&msg.to) {
            return Err(DeliveryError::permanent(
                "recipient is not an E.164 phone number",
            ));
        }
        self.inner.record(msg).await
    }
}

/// An e-mail transport that records messages instead of sending them.
#[derive(Debug)]
pub struct RecordingEmailTransport {
    inner: Recorder<EmailMessage>,
}

impl Default for RecordingEmailTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl RecordingEmailTransport {
    /// Records in memory only.
    pub fn new() -> Self {
        RecordingEmailTransport {
            inner: Recorder::new(None),
        }
    }

    /// Records in memory and appends each message as a JSON line
    /// (`{"to":…,"subject":…,"body":…,"provider_id":…}`) to `path`.
    pub fn with_file(path: impl Into<PathBuf>) -> Self {
        RecordingEmailTransport {
            inner: Recorder::new(Some(path.into())),
        }
    }

    /// The messages accepted so far, oldest first.
    pub fn messages(&self) -> Vec<EmailMessage> {
        self.inner.messages()
    }

    /// Makes the next send fail with `error` (queued: call it twice to fail twice).
    pub fn fail_next(&self, error: DeliveryError) {
        self.inner.fail_next(error);
    }
}

#[async_trait]
impl EmailTransport for RecordingEmailTransport {
    async fn send(&self, msg: &EmailMessage) -> Result<DeliveryReceipt, DeliveryError> {
        if msg.to.trim().parse::<lettre::Address>().is_err() {
            return Err(DeliveryError::permanent("invalid recipient address"));
        }
        self.inner.record(msg).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_in_memory_and_in_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sms.jsonl");
        let provider = RecordingSmsProvider::with_file(&path);
        let receipt = provider
            .send(&SmsMessage::new("+819012345678", "こんにちは").with_reference("out-1"))
            .await
            .expect("sent");
        assert_eq!(receipt.provider_id.as_deref(), Some("recorded-1"));
        provider
            .send(&SmsMessage::new("+819012345679", "two"))
            .await
            .expect("sent");
        let refused = provider
            .send(&SmsMessage::new("090-1234-5678", "x"))
            .await
            .expect_err("not E.164");
        assert!(!refused.is_retryable());
        assert!(!refused.to_string().contains("090"));

        provider.fail_next(DeliveryError::transient("test"));
        let failed = provider
            .send(&SmsMessage::new("+819012345678", "x"))
            .await
            .expect_err("queued failure");
        assert!(failed.is_retryable());

        let messages = provider.messages();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].body, "こんにちは");
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
            .expect("file")
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["to"], "+819012345678");
        assert_eq!(lines[0]["reference"], "out-1");
        assert_eq!(lines[0]["provider_id"], "recorded-1");
        assert_eq!(lines[1]["provider_id"], "recorded-2");
    }

    #[tokio::test]
    async fn email_recording_checks_the_address() {
        let transport = RecordingEmailTransport::new();
        transport
            .send(&EmailMessage::new("a@example.jp", "件名", "本文"))
            .await
            .expect("sent");
        let refused = transport
            .send(&EmailMessage::new("not-an-address", "s", "b"))
            .await
            .expect_err("invalid");
        assert!(!refused.is_retryable());
        assert_eq!(transport.messages().len(), 1);
    }
}
