//! `HttpSmsProvider` against a real HTTP server on loopback (actix-web): the JSON it sends, the
//! bearer token, and how answers map to receipts and errors.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use mimamori_messaging::{HttpSmsConfig, HttpSmsProvider, SmsMessage, SmsProvider};
use serde_json::{Value, json};

/// What the gateway saw: path, Authorization header, JSON body.
type Seen = Arc<Mutex<Vec<(String, Option<String>, Value)>>>;

struct Gateway {
    base: String,
    seen: Seen,
    _server: actix_web::dev::ServerHandle,
}

async fn answer(req: HttpRequest, body: web::Json<Value>, seen: web::Data<Seen>) -> HttpResponse {
    let auth = req
        .headers()
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned());
    let path = req.path().to_owned();
    seen.lock()
        .unwrap()
        .push((path.clone(), auth, body.into_inner()));
    match path.as_str() {
        "/ok" => HttpResponse::Accepted().json(json!({ "id": "sm-123", "status": "queued" })),
        "/ok-number" => HttpResponse::Ok().json(json!({ "id": 42 })),
        "/ok-empty" => HttpResponse::NoContent().finish(),
        "/ok-text" => HttpResponse::Ok().body("queued"),
        "/busy" => HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", "7"))
            .finish(),
        "/down" => HttpResponse::ServiceUnavailable().finish(),
        "/broken" => HttpResponse::InternalServerError().body("+819012345678 failed"),
        "/bad" => {
            HttpResponse::BadRequest().json(json!({ "error": "invalid number +819012345678" }))
        }
        "/unauthorized" => HttpResponse::Unauthorized().finish(),
        "/redirect" => HttpResponse::Found()
            .insert_header(("Location", "/ok"))
            .finish(),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            HttpResponse::Ok().finish()
        }
        _ => HttpResponse::NotFound().finish(),
    }
}

async fn gateway() -> Gateway {
    let seen: Seen = Arc::default();
    let data = web::Data::new(Arc::clone(&seen));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(data.clone())
            .default_service(web::post().to(answer))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Gateway {
        base: format!("http://127.0.0.1:{port}"),
        seen,
        _server: handle,
    }
}

impl Gateway {
    fn provider(&self, path: &str) -> HttpSmsProvider {
        HttpSmsProvider::new(&HttpSmsConfig {
            url: format!("{}{path}", self.base),
            token: "s3cret-token".into(),
            timeout: Duration::from_millis(800),
        })
        .unwrap()
    }

    fn seen(&self) -> Vec<(String, Option<String>, Value)> {
        self.seen.lock().unwrap().clone()
    }
}

fn message() -> SmsMessage {
    SmsMessage::new(
        "+819012345678",
        "山田様 健康観察の報告をお願いします。\n配信停止: STOP と返信",
    )
    .with_reference("outbox-17")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_with_an_id_and_the_right_request() {
    let gw = gateway().await;
    let receipt = gw.provider("/ok").send(&message()).await.expect("accepted");
    assert_eq!(receipt.transport, "http_sms");
    assert_eq!(receipt.provider_id.as_deref(), Some("sm-123"));
    let seen = gw.seen();
    assert_eq!(seen.len(), 1);
    let (path, auth, body) = &seen[0];
    assert_eq!(path, "/ok");
    assert_eq!(auth.as_deref(), Some("Bearer s3cret-token"));
    assert_eq!(
        body,
        &json!({
            "to": "+819012345678",
            "body": "山田様 健康観察の報告をお願いします。\n配信停止: STOP と返信",
            "reference": "outbox-17",
        })
    );

    // Without a reference the field is null.
    gw.provider("/ok")
        .send(&SmsMessage::new("+819012345678", "x"))
        .await
        .expect("accepted");
    assert_eq!(gw.seen()[1].2["reference"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_2xx_answers_are_accepted() {
    let gw = gateway().await;
    let number = gw.provider("/ok-number").send(&message()).await.unwrap();
    assert_eq!(number.provider_id.as_deref(), Some("42"));
    let empty = gw.provider("/ok-empty").send(&message()).await.unwrap();
    assert_eq!(empty.provider_id, None);
    let text = gw.provider("/ok-text").send(&message()).await.unwrap();
    assert_eq!(text.provider_id, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_server_errors_are_transient() {
    let gw = gateway().await;
    let busy = gw.provider("/busy").send(&message()).await.unwrap_err();
    assert!(busy.is_retryable());
    assert_eq!(busy.status(), Some(429));
    assert_eq!(busy.retry_after(), Some(Duration::from_secs(7)));
    for path in ["/down", "/broken"] {
        let err = gw.provider(path).send(&message()).await.unwrap_err();
        assert!(err.is_retryable(), "{path}: {err}");
        assert!(!err.to_string().contains("+81"), "{err}");
        assert_eq!(err.retry_after(), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_are_permanent() {
    let gw = gateway().await;
    for (path, status) in [
        ("/bad", 400),
        ("/unauthorized", 401),
        ("/nowhere", 404),
        ("/redirect", 302),
    ] {
        let err = gw.provider(path).send(&message()).await.unwrap_err();
        assert!(!err.is_retryable(), "{path}: {err}");
        assert_eq!(err.status(), Some(status), "{path}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains("+81"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }
    // The redirect was not followed.
    assert_eq!(gw.seen().iter().filter(|(p, _, _)| p == "/ok").count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_is_transient() {
    let gw = gateway().await;
    let started = std::time::Instant::now();
    let err = gw.provider("/slow").send(&message()).await.unwrap_err();
    assert!(err.is_retryable());
    assert!(err.reason().contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_gateway_is_transient_and_a_bad_number_permanent() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let provider = HttpSmsProvider::new(&HttpSmsConfig {
        url: format!("http://127.0.0.1:{port}/sms"),
        token: "t".into(),
        timeout: Duration::from_secs(2),
    })
    .unwrap();
    let err = provider.send(&message()).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.reason().contains("connect"), "{err}");

    for to in ["09012345678", "+0123", "+81 90 1234 5678", ""] {
        let err = provider.send(&SmsMessage::new(to, "x")).await.unwrap_err();
        assert!(!err.is_retryable(), "{to}: {err}");
    }
}

#[test]
fn bad_urls_are_refused() {
    for url in ["not a url", "ftp://example.jp/sms"] {
        assert!(
            HttpSmsProvider::new(&HttpSmsConfig {
                url: url.into(),
                token: "t".into(),
                timeout: Duration::from_secs(1),
            })
            .is_err()
        );
    }
}
