//! A cookie-keeping console visitor (sign-in with CSRF, form posts) shared by the console
//! and outage tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;

use mimamori::services::cases::mimamori_cases::model::secrets;
use mimamori_storage::{Clock as _, ManualClock};
use mimamori_tests::TestApp;
use reqwest::StatusCode;

use super::Credentials;

pub fn totp(clock: &ManualClock, credentials: &Credentials) -> String {
    let secret = secrets::base32_decode(&credentials.totp_secret).unwrap();
    secrets::totp(&secret, clock.now_seconds())
}

/// A cookie-keeping HTTP client of the console (no redirects followed).
pub struct Visitor<'a> {
    pub app: &'a TestApp,
    pub cookies: HashMap<String, String>,
    pub headers: Vec<(&'static str, String)>,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .map_or("", |v| v.to_str().unwrap())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    /// The first CSRF token on the page.
    pub fn csrf(&self) -> String {
        let start = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a CSRF field")
            + 19;
        self.body[start..].split('"').next().unwrap().to_string()
    }
}

impl<'a> Visitor<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Visitor {
            app,
            cookies: HashMap::new(),
            headers: Vec::new(),
        }
    }

    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let mut request = request;
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.header("cookie", cookie);
        }
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        let answer = Answer {
            status,
            headers,
            body,
        };
        for cookie in answer.set_cookies() {
            let pair = cookie.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || cookie.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.into(), value.into());
            }
        }
        answer
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let request = self.app.client.get(self.app.url(path));
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = self
            .app
            .client
            .post(self.app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    pub async fn sign_in(&mut self, clock: &ManualClock, credentials: &Credentials) -> Answer {
        let form = self.get("/console/login").await;
        assert_eq!(form.status, StatusCode::OK);
        let code = totp(clock, credentials);
        let answer = self
            .post(
                "/console/login",
                &[
                    ("csrf", &form.csrf()),
                    ("username", &credentials.username),
                    ("password", &credentials.password),
                    ("totp", &code),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        answer
    }
}
