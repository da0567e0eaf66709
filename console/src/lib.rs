//! The web console of Mimamori: server-rendered pages (maud) for health-center staff,
//! clinics and prefectures over the case registry, verification and follow-up services,
//! called in process. Mounted under `/console`; Japanese by default, English on a switch.
//!
//! Security: sessions are the case registry's session tokens in an HttpOnly, SameSite=Strict
//! cookie (Secure behind TLS) with idle and absolute expiry; every POST carries a CSRF token
//! bound to the session (or, before sign-in, to a random pre-sign-in cookie); every response
//! has a CSP without `unsafe-inline`, `frame-ancestors 'none'`, `no-referrer` and `nosniff`.
//! No personal data goes into URLs: name searches are POSTed and kept with the session.

pub mod i18n;
mod layout;
mod pages;
pub mod web;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, web as aweb};
use mimamori_cases::CaseRegistry;
use mimamori_cases::service::CaseError;
use mimamori_verification::service::{ServiceError, Verification};
use serde::{Deserialize, Serialize};

use crate::i18n::{Lang, t};
use crate::web::{SESSION_COOKIE, SameSite, Staff};

/// Console settings (`[console]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The public origin (`https://console.example.jp`) used in links sent to patients and
    /// to decide `Secure` cookies; unset: the request's own origin.
    pub public_url: Option<String>,
    /// Sign out after this many seconds without a request (absolute expiry is the case
    /// registry's `session_ttl_seconds`).
    pub idle_timeout_seconds: i64,
    /// Force the `Secure` cookie attribute on (true) or off (false); unset: on when the
    /// request came over TLS or `public_url` is https.
    pub secure_cookies: Option<bool>,
    /// The link that opens the app with a processing number's long code, `{code}` replaced
    /// (the QR code on the case page and the SMS text).
    pub sms_link_template: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            public_url: None,
            idle_timeout_seconds: 30 * 60,
            secure_cookies: None,
            sms_link_template: "ens://v?c={code}".into(),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct SessionState {
    last_seen_ms: i64,
    filter_name: String,
    filter_status: String,
}

struct Inner {
    cases: CaseRegistry,
    verification: Verification,
    config: Config,
    /// Per session (by token hash): the case-list filter and when it was last set (to prune
    /// the map). Per process: on another replica the list starts unfiltered. The idle clock
    /// is the database's (`CaseRegistry::touch_session`).
    sessions: Mutex<HashMap<Vec<u8>, SessionState>>,
}

/// The console (cheap to clone; shared by every HTTP worker).
#[derive(Clone)]
pub struct Console {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").finish_non_exhaustive()
    }
}

/// Why a page could not be shown (rendered as an HTML error page or a redirect).
#[derive(Debug)]
pub enum PageError {
    /// Not signed in, or the session expired: back to the sign-in page.
    SignIn {
        /// Whether a session existed and expired.
        expired: bool,
    },
    /// The CSRF token was missing or wrong.
    Csrf(Lang),
    /// A service error, in the user's language.
    Service(Lang, CaseError),
    /// A verification error.
    Verification(Lang, ServiceError),
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::SignIn { .. } => write!(f, "sign-in required"),
            PageError::Csrf(_) => write!(f, "CSRF token rejected"),
            PageError::Service(_, e) => write!(f, "{e}"),
            PageError::Verification(_, e) => write!(f, "{e}"),
        }
    }
}

impl PageError {
    fn status_and_key(&self) -> (StatusCode, &'static str) {
        let case = |e: &CaseError| match e {
            CaseError::Unauthenticated | CaseError::InvalidCredentials => {
                (StatusCode::UNAUTHORIZED, "login.expired")
            }
            CaseError::SignInLocked { .. } => (StatusCode::TOO_MANY_REQUESTS, "login.locked"),
            CaseError::Forbidden => (StatusCode::FORBIDDEN, "error.forbidden"),
            CaseError::NotFound => (StatusCode::NOT_FOUND, "error.not_found"),
            CaseError::BadRequest { .. } | CaseError::ImportRejected(_) => {
                (StatusCode::BAD_REQUEST, "error.bad_request")
            }
            CaseError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "error.invalid"),
            CaseError::Conflict { .. } => (StatusCode::CONFLICT, "error.conflict"),
            CaseError::Store(e) if e.is_invalid_input() => {
                (StatusCode::BAD_REQUEST, "error.bad_request")
            }
            CaseError::Store(e) if e.is_unavailable() => {
                (StatusCode::SERVICE_UNAVAILABLE, "error.unavailable")
            }
            CaseError::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "error.unavailable"),
            CaseError::Store(_) | CaseError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "error.internal")
            }
        };
        match self {
            PageError::SignIn { .. } => (StatusCode::SEE_OTHER, "login.expired"),
            PageError::Csrf(_) => (StatusCode::FORBIDDEN, "error.csrf"),
            PageError::Service(_, e) => case(e),
            PageError::Verification(_, e) => match e {
                ServiceError::Case(e) => case(e),
                ServiceError::Conflict { .. } => (StatusCode::CONFLICT, "error.conflict"),
                ServiceError::Verify(_) | ServiceError::SmsFailure => {
                    (StatusCode::BAD_REQUEST, "error.bad_request")
                }
                ServiceError::CodeNotFound => (StatusCode::NOT_FOUND, "error.not_found"),
                ServiceError::RateLimited { .. } => {
                    (StatusCode::TOO_MANY_REQUESTS, "error.rate_limited")
                }
                ServiceError::Unavailable(_) => {
                    (StatusCode::SERVICE_UNAVAILABLE, "error.unavailable")
                }
                ServiceError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "error.internal"),
            },
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            PageError::Service(_, CaseError::Conflict { message, .. })
            | PageError::Service(_, CaseError::BadRequest { message, .. })
            | PageError::Verification(_, ServiceError::Conflict { message, .. })
            | PageError::Verification(
                _,
                ServiceError::Case(
                    CaseError::Conflict { message, .. } | CaseError::BadRequest { message, .. },
                ),
            ) => Some(message.clone()),
            PageError::Service(_, CaseError::Invalid(errors)) => Some(
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            _ => None,
        }
    }
}

impl actix_web::ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status_and_key().0
    }

    fn error_response(&self) -> HttpResponse {
        let lang = match self {
            PageError::SignIn { expired } => {
                return web::redirect(if *expired {
                    "/console/login?expired=1"
                } else {
                    "/console/login"
                });
            }
            PageError::Csrf(lang)
            | PageError::Service(lang, _)
            | PageError::Verification(lang, _) => *lang,
        };
        if let PageError::Service(_, CaseError::Unauthenticated) = self {
            return web::redirect("/console/login?expired=1");
        }
        if matches!(
            self,
            PageError::Service(_, CaseError::Store(_) | CaseError::Internal(_))
                | PageError::Verification(
                    _,
                    ServiceError::Internal(_) | ServiceError::Unavailable(_)
                )
        ) {
            tracing::error!(error = %self, "console page failed");
        }
        let (status, key) = self.status_and_key();
        web::html(
            status,
            layout::bare(
                lang,
                t(lang, "error.title"),
                maud::html! {
                    h1 { (t(lang, "error.title")) }
                    p.error role="alert" { (t(lang, key)) }
                    @if let Some(detail) = self.detail() { p.muted { (detail) } }
                    p { a href="/console/cases" { (t(lang, "back")) } }
                },
            ),
        )
    }
}

/// An HTML 404 for unknown console paths (the API's JSON 404 stays outside `/console`).
async fn not_found(request: HttpRequest) -> HttpResponse {
    let lang = web::lang(&request);
    actix_web::ResponseError::error_response(&PageError::Service(lang, CaseError::NotFound))
}

/// The result of a console handler.
pub type Page = Result<HttpResponse, PageError>;

impl Console {
    /// The console over the in-process services.
    pub fn new(cases: CaseRegistry, verification: Verification, config: Config) -> Console {
        Console {
            inner: Arc::new(Inner {
                cases,
                verification,
                config,
                sessions: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The case registry.
    pub fn cases(&self) -> &CaseRegistry {
        &self.inner.cases
    }

    /// The verification service.
    pub fn verification(&self) -> &Verification {
        &self.inner.verification
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Whether cookies for this request get the `Secure` attribute.
    pub fn secure(&self, request: &HttpRequest) -> bool {
        self.inner.config.secure_cookies.unwrap_or_else(|| {
            web::over_tls(request)
                || self
                    .inner
                    .config
                    .public_url
                    .as_deref()
                    .is_some_and(|u| u.starts_with("https://"))
        })
    }

    fn session_key(token: &str) -> Vec<u8> {
        ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
            .as_ref()
            .to_vec()
    }

    /// The signed-in staff member of a request, enforcing idle expiry.
    pub async fn staff(&self, request: &HttpRequest) -> Result<Staff, PageError> {
        let lang = web::lang(request);
        let Some(token) = web::cookie(request, SESSION_COOKIE) else {
            return Err(PageError::SignIn { expired: false });
        };
        let principal = match self.inner.cases.authenticate_session(&token).await {
            Ok(p) => p,
            Err(CaseError::Unauthenticated) => return Err(PageError::SignIn { expired: true }),
            Err(e) => return Err(PageError::Service(lang, e)),
        };
        let idle_ms = self.inner.config.idle_timeout_seconds.max(1) * 1000;
        match self.inner.cases.touch_session(&token, idle_ms).await {
            Ok(()) => {}
            Err(CaseError::Unauthenticated) => return Err(PageError::SignIn { expired: true }),
            Err(e) => return Err(PageError::Service(lang, e)),
        }
        Ok(Staff {
            csrf: web::csrf_token(&token),
            principal,
            token,
            lang,
        })
    }

    /// Like [`Console::staff`], and checks the form's CSRF token.
    pub async fn staff_post(
        &self,
        request: &HttpRequest,
        form: &web::Form,
    ) -> Result<Staff, PageError> {
        let staff = self.staff(request).await?;
        if !web::csrf_ok(&staff.token, form.opt(web::CSRF_FIELD).as_deref()) {
            return Err(PageError::Csrf(staff.lang));
        }
        Ok(staff)
    }

    fn forget_session(&self, token: &str) {
        if let Ok(mut sessions) = self.inner.sessions.lock() {
            sessions.remove(&Self::session_key(token));
        }
    }

    fn filter(&self, token: &str) -> (String, String) {
        self.inner
            .sessions
            .lock()
            .ok()
            .and_then(|s| {
                s.get(&Self::session_key(token))
                    .map(|s| (s.filter_name.clone(), s.filter_status.clone()))
            })
            .unwrap_or_default()
    }

    fn set_filter(&self, token: &str, name: String, status: String) {
        let now = self.inner.cases.now_ms();
        let idle_ms = self.inner.config.idle_timeout_seconds.max(1) * 1000;
        if let Ok(mut sessions) = self.inner.sessions.lock() {
            if sessions.len() > 100_000 {
                sessions.retain(|_, s| now - s.last_seen_ms <= idle_ms);
            }
            let state = sessions.entry(Self::session_key(token)).or_default();
            state.last_seen_ms = now;
            state.filter_name = name;
            state.filter_status = status;
        }
    }

    /// A session cookie for `token`.
    fn session_cookie(&self, request: &HttpRequest, token: &str) -> String {
        web::set_cookie(
            SESSION_COOKIE,
            token,
            Some(self.inner.cases.config().session_ttl_seconds),
            SameSite::Strict,
            self.secure(request),
        )
    }

    /// Registers the console's routes: `/` redirects to `/console/`.
    pub fn configure(&self, config: &mut aweb::ServiceConfig) {
        // The public dashboard: no session, cacheable, the same security headers.
        let console = aweb::Data::new(self.clone());
        for (path, lang) in [("/open/", Lang::Ja), ("/open/en/", Lang::En)] {
            config.service(
                aweb::resource(path)
                    .app_data(console.clone())
                    .wrap(from_fn(web::security_headers))
                    .route(
                        aweb::get().to(move |console: aweb::Data<Console>| {
                            pages::open::page(console, lang)
                        }),
                    ),
            );
        }
        config
            .route("/", aweb::get().to(|| async { web::redirect("/console/") }))
            .service(
                aweb::scope("/console")
                    .app_data(aweb::Data::new(self.clone()))
                    .wrap(from_fn(web::security_headers))
                    .configure(pages::routes)
                    .default_service(aweb::to(not_found)),
            );
    }
}
