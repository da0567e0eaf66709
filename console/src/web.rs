//! HTTP plumbing of the console: cookies, form bodies, CSRF tokens, security headers and the
//! request context (language, signed-in staff member).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mimamori_cases::model::Principal;

use crate::i18n::Lang;

/// The staff session cookie (holds the case registry's session token).
pub const SESSION_COOKIE: &str = "mm_session";
/// The pre-sign-in cookie the sign-in form's CSRF token is bound to.
pub const PRE_COOKIE: &str = "mm_pre";
/// The patient's follow-up link token (set by the link, then stripped from the URL).
pub const REPORT_COOKIE: &str = "mm_report";
/// The language choice.
pub const LANG_COOKIE: &str = "mm_lang";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// The Content-Security-Policy of every console response: nothing inline, nothing foreign.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The value of cookie `name`, if the request has it.
pub fn cookie(request: &HttpRequest, name: &str) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// How a cookie is sent.
#[derive(Debug, Clone, Copy)]
pub enum SameSite {
    /// Same-site requests only (staff session).
    Strict,
    /// Also top-level navigations from other sites (the patient's SMS link).
    Lax,
}

/// A `Set-Cookie` value: HttpOnly, path `/console`, `Secure` when `secure`; `max_age`
/// None deletes the cookie.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age: Option<i64>,
    same_site: SameSite,
    secure: bool,
) -> String {
    let same_site = match same_site {
        SameSite::Strict => "Strict",
        SameSite::Lax => "Lax",
    };
    let age = max_age.unwrap_or(0).max(0);
    let mut out =
        format!("{name}={value}; Path=/console; HttpOnly; SameSite={same_site}; Max-Age={age}");
    if secure {
        out.push_str("; Secure");
    }
    out
}

/// A random token (32 bytes, base64url).
pub fn random_token() -> String {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 32];
    // The system CSPRNG does not fail on supported platforms; a zero token would only make
    // this one pre-sign-in CSRF value guessable, never a session.
    let _ = ring::rand::SystemRandom::new().fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The CSRF token bound to a secret cookie value (the session token, the pre-sign-in value
/// or the patient's link token): SHA-256 of a label and the value. Only a page served to
/// the holder of the cookie can know it.
pub fn csrf_token(bound_to: &str) -> String {
    let mut input = b"mimamori-console-csrf:".to_vec();
    input.extend_from_slice(bound_to.as_bytes());
    URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &input))
}

/// Constant-time check of a submitted CSRF token.
pub fn csrf_ok(bound_to: &str, submitted: Option<&str>) -> bool {
    let expected = csrf_token(bound_to);
    match submitted {
        Some(s) if s.len() == expected.len() => {
            // Constant time over the token's bytes (lengths are public).
            expected
                .bytes()
                .zip(s.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
        }
        _ => false,
    }
}

/// A parsed `application/x-www-form-urlencoded` body (repeated names kept in order).
#[derive(Debug, Clone, Default)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    /// Parses a body.
    pub fn parse(body: &[u8]) -> Form {
        Form(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, trimmed ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    /// The first value of `name` when present and not blank.
    pub fn opt(&self, name: &str) -> Option<String> {
        Some(self.get(name).to_string()).filter(|v| !v.is_empty())
    }

    /// Whether a checkbox `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// The language of a request: the switch cookie, else `Accept-Language`, else Japanese.
pub fn lang(request: &HttpRequest) -> Lang {
    if let Some(lang) = cookie(request, LANG_COOKIE).and_then(|v| Lang::parse(&v)) {
        return lang;
    }
    request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map_or(Lang::Ja, Lang::from_accept_language)
}

/// A signed-in staff member.
#[derive(Debug, Clone)]
pub struct Staff {
    /// Who.
    pub principal: Principal,
    /// The session token (from the cookie).
    pub token: String,
    /// The CSRF token for this session's forms.
    pub csrf: String,
    /// The language.
    pub lang: Lang,
}

/// `303 See Other` to `location`.
pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// An HTML response.
pub fn html(status: StatusCode, markup: maud::Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

/// Adds the security headers to every console response; pages are never cached (they hold
/// personal data), static assets are.
pub async fn security_headers(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // Static assets and the public dashboard (no personal data) may be cached.
    let is_static =
        request.path().starts_with("/console/static/") || request.path().starts_with("/open/");
    let mut response = next.call(request).await?;
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
        ("cross-origin-opener-policy", "same-origin"),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=()",
        ),
    ] {
        headers.insert(
            header::HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    if !is_static {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(response)
}

/// Whether the request came over TLS (directly or per the proxy's `X-Forwarded-Proto`).
pub fn over_tls(request: &HttpRequest) -> bool {
    request.connection_info().scheme() == "https"
}

/// The origin (`scheme://host`) links in messages should use.
pub fn origin(request: &HttpRequest, public_url: Option<&str>) -> String {
    match public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let info = request.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_are_bound_to_their_value() {
        let a = csrf_token("session-a");
        assert!(csrf_ok("session-a", Some(&a)));
        assert!(!csrf_ok("session-b", Some(&a)));
        assert!(!csrf_ok("session-a", None));
        assert!(!csrf_ok("session-a", Some("")));
    }

    #[test]
    fn forms_keep_repeated_names_and_checkboxes() {
        let form = Form::parse(b"a=1&s=cough&s=fever&box=on&name=%E5%B1%B1%E7%94%B0+");
        assert_eq!(form.get("a"), "1");
        assert_eq!(form.all("s"), ["cough", "fever"]);
        assert!(form.checked("box") && !form.checked("other"));
        assert_eq!(form.get("name"), "山田");
        assert_eq!(form.opt("missing"), None);
    }

    #[test]
    fn cookies_are_http_only_and_strict() {
        let c = set_cookie("x", "v", Some(60), SameSite::Strict, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.ends_with("Secure"));
        assert!(!set_cookie("x", "v", None, SameSite::Lax, false).contains("Secure"));
    }
}
