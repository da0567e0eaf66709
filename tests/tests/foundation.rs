//! End-to-end tests of the foundation over real HTTP, on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use mimamori_tests::{Backend, TestApp, spawn_app_with};
use serde_json::Value;

async fn json(response: reqwest::Response) -> Value {
    response.json().await.expect("JSON body")
}

mimamori_tests::e2e_tests! {
    async fn healthz_answers(app) {
        let response = app.get("/healthz").await;
        assert_eq!(response.status(), 200);
        assert_eq!(json(response).await["status"], "ok");
    }

    async fn readyz_reports_the_backend(app) {
        let response = app.get("/readyz").await;
        assert_eq!(response.status(), 200);
        let body = json(response).await;
        assert_eq!(body["status"], "ready");
        let expected = app.database.database.backend().as_str();
        assert_eq!(body["database"], expected);
    }

    async fn unknown_routes_get_json_404(app) {
        let response = app.get("/no/such/thing?x=1").await;
        assert_eq!(response.status(), 404);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "application/json"
        );
        let body = json(response).await;
        assert_eq!(body["code"], "not_found");
        assert!(body["error"].is_string());
    }

    async fn oversize_bodies_get_413_json(app) {
        let body = vec![b'x'; 300 * 1024];
        let response = app
            .client
            .post(app.url("/healthz"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413);
        assert_eq!(json(response).await["code"], "payload_too_large");
    }

    async fn request_ids_are_issued_and_sanitised(app) {
        let issued = app.get("/healthz").await;
        let id = issued.headers()["x-request-id"].to_str().unwrap().to_string();
        assert_eq!(id.len(), 29, "a 16-hex process prefix and a counter: {id}");
        let next = app.get("/healthz").await.headers()["x-request-id"].to_str().unwrap().to_string();
        assert_ne!(id, next, "ids are unique");

        // A server-made id (passed on by a proxy or another replica) is kept; anything a
        // caller chose is replaced, so it never reaches the log verbatim.
        let passed_on = app
            .client
            .get(app.url("/healthz"))
            .header("x-request-id", &id)
            .send()
            .await
            .unwrap();
        assert_eq!(passed_on.headers()["x-request-id"], id.as_str());
        let chosen = app
            .client
            .get(app.url("/healthz"))
            .header("x-request-id", "lb-1234.abc")
            .send()
            .await
            .unwrap();
        let replaced = chosen.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(replaced, "lb-1234.abc");
        assert_eq!(replaced.len(), 29, "{replaced}");

        let hostile = app
            .client
            .get(app.url("/healthz"))
            .header("x-request-id", "<script>alert(1)</script>")
            .send()
            .await
            .unwrap();
        assert_ne!(hostile.headers()["x-request-id"], "<script>alert(1)</script>");
    }

    async fn metrics_use_route_patterns_and_bounded_labels(app) {
        for _ in 0..3 {
            app.get("/healthz").await;
        }
        app.get("/scan/for/secrets/12345").await;
        let response = app.get("/metrics").await;
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        let text = response.text().await.unwrap();
        assert!(
            text.contains(r#"mimamori_http_requests_total{method="GET",route="/healthz",status="2xx"} 3"#),
            "{text}"
        );
        assert!(text.contains(r#"route="unmatched",status="4xx""#));
        assert!(!text.contains("secrets/12345"), "raw paths must not become labels");
        assert!(text.contains("mimamori_http_request_duration_seconds_bucket"));
        assert!(text.contains("mimamori_build_info{"));
        assert!(text.contains("process_resident_memory_bytes"));
        // Set by the scrape itself from the readiness check and the pool.
        assert!(text.contains("\nmimamori_ready 1\n"), "{text}");
        assert!(text.contains("\nmimamori_database_up 1\n"), "{text}");
        // The default `database.max_connections`.
        assert!(text.contains("\nmimamori_database_pool_max_connections 16\n"), "{text}");
        assert!(text.contains(r#"mimamori_database_pool_connections{state="in_use"}"#));
        assert!(text.contains("mimamori_canary_checks_total{result=\"failed\"} 0"));
    }
}

/// A PostgreSQL database that disappears while serving makes `/readyz` answer 503 (no crash);
/// once it is back and migrated, `/readyz` answers 200 without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_follows_postgres_availability() {
    let Some(app) = spawn_app_with(Backend::Postgres, |_| {}).await else {
        return;
    };
    assert_eq!(app.get("/readyz").await.status(), 200);
    let name = app.database.url.rsplit('/').next().unwrap().to_string();
    let admin = mimamori_storage::testing::admin_url();
    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);

    client
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();
    let down = app.get("/readyz").await;
    assert_eq!(down.status(), 503);
    assert_eq!(json(down).await["code"], "database_unavailable");
    assert_eq!(
        gauges(&app).await,
        (0, 0),
        "database_up and ready at a scrape"
    );
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "liveness is unaffected"
    );

    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let empty = app.get("/readyz").await;
    assert_eq!(empty.status(), 503);
    assert_eq!(json(empty).await["code"], "migrations_pending");
    assert_eq!(
        gauges(&app).await,
        (1, 0),
        "the database answers, not ready"
    );

    app.database
        .database
        .migrate(&mimamori::startup::migration_sets())
        .await
        .unwrap();
    assert_eq!(app.get("/readyz").await.status(), 200);
    assert_eq!(gauges(&app).await, (1, 1));
    stop(app).await;
}

/// `(mimamori_database_up, mimamori_ready)` as one scrape of `/metrics` reports them.
async fn gauges(app: &TestApp) -> (i64, i64) {
    let text = app.get("/metrics").await.text().await.unwrap();
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing: {text}"))
    };
    (value("mimamori_database_up"), value("mimamori_ready"))
}

async fn stop(app: TestApp) {
    app.stop().await;
}
