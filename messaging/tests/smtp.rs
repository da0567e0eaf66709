//! `SmtpTransport` against a real SMTP server (`tests/smtp_server.py`: aiosmtpd, installed with
//! pip when missing, else Python's stdlib `smtpd`).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::time::Duration;

use mimamori_messaging::testing::SmtpServer;
use mimamori_messaging::{
    Channel, EmailMessage, EmailTransport, Language, SmtpConfig, SmtpTransport, TemplateId, render,
};

const FROM: &str = "みなと保健所 <noreply@hokenjo.example.jp>";

/// The transport to a test server.
fn transport(server: &SmtpServer) -> SmtpTransport {
    let mut config = SmtpConfig::plain("127.0.0.1", server.port, FROM);
    config.timeout = Duration::from_secs(10);
    SmtpTransport::new(&config).unwrap()
}

fn ja_vars() -> BTreeMap<String, String> {
    [
        ("name", "山田 太郎"),
        ("processing_number", "12345678"),
        ("app_link", "https://app.example.jp/pn?c=12345678"),
        ("valid_until", "2025年6月1日 18:00"),
        ("health_center", "みなと保健所"),
        ("unsubscribe_url", "https://mimamori.example.jp/u/abc"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Line ends as LF, without the trailing line end the SMTP DATA framing may add.
fn normalize(text: &str) -> String {
    text.replace("\r\n", "\n").trim_end_matches('\n').to_owned()
}

#[tokio::test]
async fn a_japanese_message_arrives_decodable() {
    let server = SmtpServer::start(&[]);
    let transport = transport(&server);
    let rendered = render(
        TemplateId::ProcessingNumber,
        Language::Ja,
        &ja_vars(),
        Channel::Email,
    )
    .unwrap();
    let subject = rendered.subject.clone().unwrap();
    let body = rendered.body.clone();
    let msg = EmailMessage::from_rendered("taro.yamada@example.jp", rendered);
    let receipt = transport.send(&msg).await.expect("accepted");
    assert_eq!(receipt.transport, "smtp");
    let message_id = receipt.provider_id.expect("message id");
    assert!(message_id.ends_with("@hokenjo.example.jp>"), "{message_id}");

    let received = server.received();
    assert_eq!(received.len(), 1);
    let got = &received[0];
    assert_eq!(
        got["rcpt_tos"],
        serde_json::json!(["taro.yamada@example.jp"])
    );
    assert_eq!(got["mail_from"], "noreply@hokenjo.example.jp");
    assert_eq!(got["to"], "taro.yamada@example.jp");
    assert_eq!(got["from"], "みなと保健所 <noreply@hokenjo.example.jp>");
    // The subject travels as RFC 2047 encoded words and decodes back to the Japanese.
    assert_eq!(got["subject"], subject.as_str());
    let raw_subject = got["raw_subject"].as_str().unwrap();
    assert!(raw_subject.is_ascii(), "{raw_subject}");
    assert!(
        raw_subject.to_ascii_lowercase().contains("=?utf-8?"),
        "{raw_subject}"
    );
    assert_eq!(got["content_type"], "text/plain");
    assert_eq!(got["charset"], "utf-8");
    assert_eq!(normalize(got["body"].as_str().unwrap()), normalize(&body));
    assert!(body.contains("処理番号: 12345678"));
    assert_eq!(got["message_id"], message_id.as_str());
    assert_eq!(
        got["list_unsubscribe"],
        "<https://mimamori.example.jp/u/abc>"
    );
    assert_eq!(got["auto_submitted"], "auto-generated");

    // The same transport sends again (a new connection per message), here in English.
    let mut en = ja_vars();
    en.insert("health_center".into(), "Minato PHC".into());
    let rendered = render(
        TemplateId::ProcessingNumber,
        Language::En,
        &en,
        Channel::Email,
    )
    .unwrap();
    let english = rendered.body.clone();
    transport
        .send(&EmailMessage::from_rendered("b@example.jp", rendered))
        .await
        .expect("accepted");
    let received = server.received();
    assert_eq!(received.len(), 2);
    assert_eq!(
        normalize(received[1]["body"].as_str().unwrap()),
        normalize(&english)
    );
}

#[tokio::test]
async fn a_refused_recipient_is_permanent_and_not_named() {
    let server = SmtpServer::start(&[("gone@example.jp", 550)]);
    let err = transport(&server)
        .send(&EmailMessage::new("gone@example.jp", "件名", "本文"))
        .await
        .expect_err("refused");
    assert!(!err.is_retryable(), "{err}");
    assert_eq!(err.status(), Some(550));
    let text = format!("{err} {err:?}");
    assert!(text.contains("recipient refused"), "{text}");
    assert!(text.contains("5.1.1"), "{text}");
    assert!(!text.contains("gone"), "the address leaked: {text}");
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn a_451_is_transient() {
    let server = SmtpServer::start(&[("later@example.jp", 451)]);
    let err = transport(&server)
        .send(&EmailMessage::new("later@example.jp", "件名", "本文"))
        .await
        .expect_err("deferred");
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.status(), Some(451));
    assert!(!format!("{err} {err:?}").contains("later@"));
    assert!(server.received().is_empty());
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn no_server_listening_is_transient() {
    let port = free_port();
    let transport = SmtpTransport::new(&SmtpConfig::plain("127.0.0.1", port, FROM)).unwrap();
    let err = transport
        .send(&EmailMessage::new("a@example.jp", "s", "b"))
        .await
        .expect_err("nobody listens");
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.status(), None);
    assert!(!err.to_string().contains("a@example.jp"));
}

#[tokio::test]
async fn a_silent_server_times_out_transiently() {
    // Accepts connections (the kernel does) but never greets.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut config = SmtpConfig::plain("127.0.0.1", port, FROM);
    config.timeout = Duration::from_millis(500);
    let transport = SmtpTransport::new(&config).unwrap();
    let started = std::time::Instant::now();
    let err = transport
        .send(&EmailMessage::new("a@example.jp", "s", "b"))
        .await
        .expect_err("no greeting");
    assert!(err.is_retryable(), "{err}");
    assert!(err.reason().contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(listener);
}

#[tokio::test]
async fn an_invalid_address_is_permanent_before_connecting() {
    // Nobody listens: a connection attempt would be a transient error.
    let transport = SmtpTransport::new(&SmtpConfig::plain("127.0.0.1", free_port(), FROM)).unwrap();
    for to in ["not-an-address", "a@", "@example.jp", "a b@example.jp", ""] {
        let err = transport
            .send(&EmailMessage::new(to, "s", "b"))
            .await
            .expect_err("invalid");
        assert!(!err.is_retryable(), "{to}: {err}");
        assert_eq!(err.reason(), "invalid recipient address");
    }
}
