//! `/openapi.json` stays in step with the routes: every documented operation reaches a
//! registered route (the metrics show its pattern, not "unmatched"), and the document equals
//! the committed `docs/openapi.json` (regenerate with `UPDATE_OPENAPI=1 cargo test --test openapi`).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use mimamori_tests::{Backend, spawn_app};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_routed_and_the_snapshot_is_current() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let document: Value = serde_json::from_str(&text).unwrap();
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.len() >= 9, "{}", paths.len());

    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                operations.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    for (method, path) in &operations {
        let concrete = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "x"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let request = app
            .client
            .request(method.parse().unwrap(), app.url(&concrete))
            .header("content-type", "application/json")
            .body("{}");
        let status = request.send().await.unwrap().status();
        assert_ne!(status.as_u16(), 405, "{method} {path}");
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    for (method, path) in &operations {
        let series = format!("method=\"{method}\",route=\"{path}\"");
        assert!(
            metrics.contains(&series),
            "{method} {path} is documented but not routed"
        );
    }

    let snapshot_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(snapshot_path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(snapshot_path).unwrap_or_default();
    assert_eq!(
        committed, text,
        "docs/openapi.json is stale: run UPDATE_OPENAPI=1 cargo test -p mimamori-tests --test openapi"
    );
}
