//! The outbox over real HTTP on SQLite and PostgreSQL, with a real SMTP server (python3,
//! aiosmtpd) and the recording SMS provider: staff queue the follow-up link by e-mail and the
//! processing number by SMS; the outbox delivers both; the link in the e-mail works; an
//! opt-out stops further messages; the per-recipient limit holds; a refused address fails
//! permanently without naming it; the daily reminder goes once to whoever has not reported.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mimamori::services::cases::mimamori_cases::CaseRegistry;
use mimamori::services::cases::mimamori_cases::service::outbox::Transports;
use mimamori_messaging::testing::SmtpServer;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::call;

/// One SMTP server for the whole binary; it refuses `refused@example.jp` with 550.
fn smtp() -> &'static SmtpServer {
    static SERVER: OnceLock<SmtpServer> = OnceLock::new();
    SERVER.get_or_init(|| SmtpServer::start(&[("refused@example.jp", 550)]))
}

/// E-mail to the test server, SMS recorded in a file of this app's own, reminders at 18:00.
fn settings(settings: &mut mimamori::config::Settings) {
    static APPS: AtomicU32 = AtomicU32::new(0);
    settings.cases.session_ttl_seconds = 60 * 86_400;
    let messaging = &mut settings.cases.messaging;
    messaging.smtp_host = Some("127.0.0.1".into());
    messaging.smtp_port = smtp().port;
    messaging.smtp_security = "none".into();
    messaging.smtp_from = "みなと保健所 <noreply@hokenjo.example.jp>".into();
    messaging.sms_provider = "recording".into();
    messaging.sms_record_file = Some(std::env::temp_dir().join(format!(
        "mimamori-sms-{}-{}.jsonl",
        std::process::id(),
        APPS.fetch_add(1, Ordering::Relaxed)
    )));
    messaging.public_url = Some("https://mimamori.example.jp".into());
    messaging.max_per_recipient_per_day = 3;
}

/// The SMS the app's recording provider wrote.
fn recorded_sms(app: &mimamori_tests::TestApp) -> Vec<Value> {
    let path = app
        .settings
        .cases
        .messaging
        .sms_record_file
        .clone()
        .unwrap();
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Waits (at most 30 s: the outbox sends every 5 s) until every message of `path` has left
/// `queued`/`sending`; returns them.
async fn settled(
    app: &mimamori_tests::TestApp,
    token: &str,
    path: &str,
    count: usize,
) -> Vec<Value> {
    for _ in 0..60 {
        let (status, messages) = call(app, "GET", path, Some(token), None, None).await;
        assert_eq!(status, StatusCode::OK, "{messages}");
        let list = messages.as_array().unwrap().clone();
        if list.len() >= count
            && list
                .iter()
                .all(|m| m["state"] != "queued" && m["state"] != "sending")
        {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("the outbox did not deliver {path} in time");
}

flow_tests_with! { settings;
    async fn the_outbox_delivers_by_smtp_and_sms_and_respects_opt_outs_and_limits(app, clock) {
        let world = support::world(&app, &clock).await;
        let nurse = world.hc_worker[0].clone();
        let hc = world.health_center[0].clone();
        let email = format!("taro.{}@example.jp", app.address.port());
        let mut notification = support::notification(&hc, "山田 太郎");
        notification["email"] = json!(email);
        notification["phone"] = json!(format!("090-1{:03}-{:04}", app.address.port() % 1000, app.address.port() % 10_000));
        let (status, case) = call(&app, "POST", "/api/cases", Some(&nurse), None, Some(notification.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "{case}");
        let case_id = case["id"].as_str().unwrap().to_string();
        let (status, _) = call(&app, "PUT", &format!("/api/cases/{case_id}/followup"), Some(&nurse), None, Some(json!({}))).await;
        assert_eq!(status, StatusCode::OK);
        let messages = format!("/api/cases/{case_id}/messages");

        // The follow-up link by e-mail and the processing number by SMS: 202 once stored.
        let (status, queued) = call(&app, "POST", &messages, Some(&nurse), None, Some(json!({"template": "follow_up_link", "channel": "email"}))).await;
        assert_eq!((status, queued["state"].as_str()), (StatusCode::ACCEPTED, Some("queued")), "{queued}");
        assert!(!queued.to_string().contains(&email), "the answer hides the address: {queued}");
        let (status, queued) = call(&app, "POST", &messages, Some(&nurse), None, Some(json!({
            "template": "processing_number", "channel": "sms", "processingNumber": "12345678", "validUntil": "11月21日 09:00"}))).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
        let delivered = settled(&app, &nurse, &messages, 2).await;
        assert!(delivered.iter().all(|m| m["state"] == "sent"), "{delivered:?}");

        // The e-mail arrived at the real SMTP server, in Japanese, with a working link.
        let mail = smtp().received().into_iter().find(|m| m.to_string().contains(&email)).expect("the e-mail arrived");
        let body = mail["body"].as_str().unwrap();
        assert!(body.contains("山田 太郎") && body.contains("Minato HC"), "{body}");
        let link = body.split_whitespace().find(|w| w.contains("/console/r/")).expect("a link");
        let token = link.rsplit('/').next().unwrap().trim_end_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-');
        let (status, report) = call(&app, "POST", "/api/followup/observations", Some(token), None, Some(json!({"temperature": 36.6, "spo2": 98}))).await;
        assert_eq!(status, StatusCode::CREATED, "the link in the e-mail works: {report}");
        // The SMS was recorded with the number, to the E.164 form of the phone.
        let sms = recorded_sms(&app);
        assert_eq!(sms.len(), 1, "{sms:?}");
        assert!(sms[0]["to"].as_str().unwrap().starts_with("+8190"), "{sms:?}");
        assert!(sms[0]["body"].as_str().unwrap().contains("12345678"), "{sms:?}");

        // An opt-out stops further messages to that phone.
        let phone = notification["phone"].as_str().unwrap().to_string();
        let (status, _) = call(&app, "POST", "/api/messages/opt-out", Some(&nurse), None, Some(json!({"recipient": phone}))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, refused) = call(&app, "POST", &messages, Some(&nurse), None, Some(json!({"template": "follow_up_link", "channel": "sms"}))).await;
        assert_eq!((status, refused["code"].as_str()), (StatusCode::CONFLICT, Some("opted_out")), "{refused}");

        // A refused address fails for good, and the error does not name it.
        let (status, _) = call(&app, "POST", &messages, Some(&nurse), None, Some(json!({"template": "follow_up_link", "channel": "email", "to": "refused@example.jp"}))).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let all = settled(&app, &nurse, &messages, 3).await;
        let failed = all.iter().find(|m| m["state"] == "failed").expect("a failed message");
        assert!(failed["lastError"].as_str().unwrap().contains("550"), "{failed}");
        assert!(!failed.to_string().contains("refused@"), "{failed}");

        // A close contact in quarantine: the start notice by SMS, then the day's limit (3).
        let contact_phone = format!("080-2{:03}-{:04}", app.address.port() % 1000, app.address.port() % 10_000);
        let (status, contact) = call(&app, "POST", "/api/contacts", Some(&nurse), None, Some(json!({
            "person": {"name": "佐藤 花子", "phones": [contact_phone]},
            "exposure": {"caseId": case_id, "date": "2026-11-19", "setting": "household"}}))).await;
        assert_eq!(status, StatusCode::CREATED, "{contact}");
        let contact_id = contact["id"].as_str().unwrap().to_string();
        let (status, _) = call(&app, "POST", &format!("/api/contacts/{contact_id}/status"), Some(&nurse), None, Some(json!({"status": "quarantined"}))).await;
        assert_eq!(status, StatusCode::OK);
        let contact_messages = format!("/api/contacts/{contact_id}/messages");
        for expected in [StatusCode::ACCEPTED, StatusCode::ACCEPTED, StatusCode::ACCEPTED, StatusCode::CONFLICT] {
            let (status, body) = call(&app, "POST", &contact_messages, Some(&nurse), None, Some(json!({"template": "quarantine_start", "channel": "sms", "language": "en"}))).await;
            assert_eq!(status, expected, "{body}");
        }
        let (status, wrong) = call(&app, "POST", &messages, Some(&nurse), None, Some(json!({"template": "quarantine_start", "channel": "email"}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "quarantine messages are for contacts: {wrong}");
        let (status, _) = call(&app, "POST", &contact_messages, Some(&world.hc_worker[1]), None, Some(json!({"template": "quarantine_start", "channel": "sms"}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "another health center's contact");
        let sent = settled(&app, &nurse, &contact_messages, 3).await;
        assert!(sent.iter().all(|m| m["state"] == "sent"), "{sent:?}");
        assert!(recorded_sms(&app).iter().any(|m| m["body"].as_str().unwrap().contains("quarantine")), "English text");

        // The daily reminder at 18:00 local: once, to those with a plan who did not report
        // today (the case reported; its phone opted out anyway). A second contact gets it.
        let (status, second) = call(&app, "POST", "/api/contacts", Some(&nurse), None, Some(json!({
            "person": {"name": "鈴木 次郎", "phones": [format!("070-3{:03}-{:04}", app.address.port() % 1000, app.address.port() % 10_000)]},
            "exposure": {"caseId": case_id, "date": "2026-11-19", "setting": "workplace"}}))).await;
        assert_eq!(status, StatusCode::CREATED, "{second}");
        let second_id = second["id"].as_str().unwrap().to_string();
        let (status, _) = call(&app, "POST", &format!("/api/contacts/{second_id}/status"), Some(&nurse), None, Some(json!({"status": "quarantined"}))).await;
        assert_eq!(status, StatusCode::OK);
        let mut config = app.settings.cases.clone();
        config.argon2_memory_kib = 64;
        config.argon2_iterations = 1;
        let registry = CaseRegistry::new(app.database.database.clone(), config.clone(), Arc::new(clock.clone()))
            .with_transports(Transports::from_config(&config.messaging).unwrap());
        assert_eq!(registry.queue_daily_reminders().await.unwrap(), 0, "09:00 is before the reminder time");
        clock.advance_ms(9 * 3_600_000 + 30 * 60_000);
        assert_eq!(registry.queue_daily_reminders().await.unwrap(), 1, "only the second contact is due and reachable");
        assert_eq!(registry.queue_daily_reminders().await.unwrap(), 0, "once a day");
        let reminders = settled(&app, &nurse, &format!("/api/contacts/{second_id}/messages"), 1).await;
        assert_eq!((reminders[0]["template"].as_str(), reminders[0]["state"].as_str()), (Some("daily_reminder"), Some("sent")), "{reminders:?}");
    }
}
