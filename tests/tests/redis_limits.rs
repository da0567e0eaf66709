//! Failure limits in Redis (`[limits] store = "redis"`), over real HTTP: two replicas on one
//! database and one Redis share every count (verification-code guessing and console
//! sign-in), nothing is counted in the database's tables, and a Redis that stops answering
//! makes the limited requests 503 (never 500, never unlimited) and `/readyz` 503 until it is
//! back. Each test uses a key prefix of its own in the test Redis (`MIMAMORI_TEST_REDIS_URL`,
//! default `redis://127.0.0.1:6379/0`); without Redis the tests are skipped, except under
//! `CI=true`, where they fail.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;

use mimamori::config::{LimitStoreKind, RedisUrl, Settings};
use mimamori_storage::testing::TestRedis;
use mimamori_tests::TestApp;
use reqwest::StatusCode;
use serde_json::json;

fn use_redis(settings: &mut Settings, redis: &TestRedis, url: &str) {
    settings.limits.store = LimitStoreKind::Redis;
    settings.limits.redis_url = RedisUrl(url.to_string());
    settings.limits.key_prefix = redis.settings.key_prefix.clone();
    settings.limits.timeout_ms = 1000;
}

async fn device_key(app: &TestApp, clock: &mimamori_storage::ManualClock) -> String {
    let world = support::world(app, clock).await;
    support::api_key(app, &world.hc_admin, &world.health_center[0], "device").await
}

async fn guess(app: &TestApp, base: &str, key: &str) -> StatusCode {
    app.client
        .post(format!("{base}/api/verify"))
        .header("X-API-Key", key)
        .json(&json!({"code": "00000000"}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn limit_rows(app: &TestApp) -> i64 {
    match &app.database.database {
        mimamori_storage::Database::Sqlite(pool) => pool
            .call(|c| {
                c.query_row("SELECT COUNT(*) FROM limit_windows", [], |r| r.get(0))
                    .map_err(mimamori_storage::StorageError::from)
            })
            .await
            .unwrap(),
        mimamori_storage::Database::Postgres(pool) => pool
            .get()
            .await
            .unwrap()
            .query_one("SELECT COUNT(*) FROM limit_windows", &[])
            .await
            .unwrap()
            .get(0),
    }
}

async fn redis_keys(redis: &TestRedis) -> Vec<String> {
    let client = redis::Client::open(redis.settings.url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("KEYS")
        .arg(format!("{}*", redis.settings.key_prefix))
        .query_async(&mut connection)
        .await
        .unwrap()
}

async fn limits_hold_across_replicas_in_redis(backend: mimamori_tests::Backend) {
    let Some(redis) = TestRedis::start().await else {
        return;
    };
    let url = redis.settings.url.clone();
    let Some((app, clock)) = support::start(backend, |s| {
        use_redis(s, &redis, &url);
        s.verification.max_failures_per_client = 3;
        s.cases.max_sign_in_failures_per_account = 3;
    })
    .await
    else {
        return;
    };
    let key = device_key(&app, &clock).await;
    let replica = app.replica().await;
    for base in [&app.base_url, &replica.base_url, &app.base_url] {
        assert_eq!(guess(&app, base, &key).await, StatusCode::BAD_REQUEST);
    }
    assert_eq!(
        guess(&app, &replica.base_url, &key).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the replica that saw one failure knows of all three"
    );
    assert_eq!(
        guess(&app, &app.base_url, &key).await,
        StatusCode::TOO_MANY_REQUESTS
    );

    // Console sign-in: failures for one name through both replicas lock it on both.
    let sign_in = |base: String| {
        let client = app.client.clone();
        async move {
            client
                .post(format!("{base}/api/auth/login"))
                .json(&json!({"username": "nobody", "password": "wrong", "totp": "000000"}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for base in [&app.base_url, &replica.base_url, &replica.base_url] {
        assert_eq!(sign_in(base.clone()).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        sign_in(app.base_url.clone()).await,
        StatusCode::TOO_MANY_REQUESTS
    );

    assert_eq!(
        limit_rows(&app).await,
        0,
        "nothing is counted in the database"
    );
    let keys = redis_keys(&redis).await;
    let prefix = &redis.settings.key_prefix;
    for scope in ["verify_failures", "verify_failures_daily", "sign_in"] {
        assert!(
            keys.iter()
                .any(|k| k.starts_with(&format!("{prefix}{{{scope}}}:w:"))),
            "{scope} counted in Redis: {keys:?}"
        );
    }
    assert!(
        keys.contains(&format!("{prefix}secret:sign_in_limit_key")),
        "{keys:?}"
    );
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    replica.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hold_across_replicas_in_redis_sqlite() {
    limits_hold_across_replicas_in_redis(mimamori_tests::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hold_across_replicas_in_redis_postgres() {
    limits_hold_across_replicas_in_redis(mimamori_tests::Backend::Postgres).await;
}

/// Redis goes away (through a relay that is cut): guesses are refused with 503 (never let
/// through, never 500), `/readyz` says the limit store is down; once Redis is back the same
/// server counts again, with the counts it had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_redis_refuses_limited_requests_and_readiness() {
    let Some(redis) = TestRedis::start().await else {
        return;
    };
    let upstream = {
        let parsed = url::Url::parse(&redis.settings.url).unwrap();
        format!(
            "{}:{}",
            parsed.host_str().unwrap_or("127.0.0.1"),
            parsed.port().unwrap_or(6379)
        )
    };
    let relay = mimamori_tests::outage::PostgresRelay::start(upstream).await;
    let mut relayed = url::Url::parse(&redis.settings.url).unwrap();
    relayed.set_host(Some("127.0.0.1")).unwrap();
    relayed.set_port(Some(relay.address.port())).unwrap();
    let relayed = relayed.to_string();
    let (app, clock) = support::start(mimamori_tests::Backend::Sqlite, |s| {
        use_redis(s, &redis, &relayed);
        s.verification.max_failures_per_client = 3;
    })
    .await
    .unwrap();
    let key = device_key(&app, &clock).await;
    assert_eq!(
        guess(&app, &app.base_url, &key).await,
        StatusCode::BAD_REQUEST
    );

    relay.cut();
    for _ in 0..5 {
        let response = app
            .client
            .post(app.url("/api/verify"))
            .header("X-API-Key", &key)
            .json(&json!({"code": "00000000"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key("retry-after"));
    }
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["code"], "limit_store_unavailable", "{body}");
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);

    relay.restore();
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let status = guess(&app, &app.base_url, &key).await;
        statuses.push(status);
        if status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    let counted: Vec<_> = statuses
        .iter()
        .filter(|s| **s != StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert_eq!(
        counted,
        [
            &StatusCode::BAD_REQUEST,
            &StatusCode::BAD_REQUEST,
            &StatusCode::TOO_MANY_REQUESTS
        ],
        "after the outage the count goes on from 1: {statuses:?}"
    );
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
}
