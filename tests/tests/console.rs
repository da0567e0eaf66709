//! The web console over real HTTP: security headers, cookie flags, CSRF rejection, session
//! expiry, Japanese default and the English switch, validation messages next to fields; and
//! the end-to-end flow in headless Chromium driven over WebDriver (fantoccini), which also
//! writes the screenshots in `docs/screenshots/`.
//!
//! The browser test needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian packages
//! `chromium`, `chromium-driver`); without them it is skipped, except under `CI=true` where
//! it fails. Screenshots are taken on every run; `UPDATE_SCREENSHOTS=1` writes them to
//! `docs/screenshots/` (otherwise to a temporary directory).

#![allow(clippy::unwrap_used)]

mod support;

use mimamori::config::Settings;
use mimamori_storage::ManualClock;
use mimamori_tests::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::json;
use support::visitor::{Visitor, totp};
use support::{Credentials, call, organization};

/// Runs `$name(backend)` as a test on SQLite and on PostgreSQL (skipped outside CI when
/// PostgreSQL is unreachable).
macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(mimamori_tests::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(mimamori_tests::Backend::Postgres).await;
            }
        }
    };
}

/// Statistics show every count (the default suppresses counts below 5).
fn console_settings(settings: &mut Settings) {
    settings.cases.statistics_minimum_count = 1;
    settings.cases.session_ttl_seconds = 3600;
    settings.console.idle_timeout_seconds = 1800;
}

/// A country with one prefecture, health center and clinic; a doctor, and a health-center
/// nurse who also reads statistics and administers the health center.
struct Setup {
    app: TestApp,
    clock: ManualClock,
    admin_token: String,
    admin: Credentials,
    health_center: String,
    doctor: Credentials,
    nurse: Credentials,
}

async fn new_user(
    app: &TestApp,
    admin: &str,
    organization: &str,
    username: &str,
    roles: &[&str],
) -> Credentials {
    let (status, body) = call(
        app,
        "POST",
        "/api/users",
        Some(admin),
        None,
        Some(json!({"organizationId": organization, "username": username, "roles": roles})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    Credentials {
        username: body["username"].as_str().unwrap().into(),
        password: body["password"].as_str().unwrap().into(),
        totp_secret: body["totpSecret"].as_str().unwrap().into(),
    }
}

async fn setup(backend: Backend) -> Option<Setup> {
    let (app, clock) = support::start(backend, console_settings).await?;
    Some(setup_on(app, clock).await)
}

/// The organizations and users of [`Setup`] on an app already started.
async fn setup_on(app: TestApp, clock: ManualClock) -> Setup {
    let admin_credentials = support::admin_init(&app, &clock).await;
    let admin_token = support::login(&app, &clock, &admin_credentials).await;
    let prefecture = organization(&app, &admin_token, "prefecture", "東京都", None).await;
    let health_center = organization(
        &app,
        &admin_token,
        "health_center",
        "みなと保健所",
        Some(&prefecture),
    )
    .await;
    let clinic = organization(
        &app,
        &admin_token,
        "medical_institution",
        "さくら内科クリニック",
        Some(&health_center),
    )
    .await;
    let doctor = new_user(&app, &admin_token, &clinic, "dr.sato", &["doctor"]).await;
    let nurse = new_user(
        &app,
        &admin_token,
        &health_center,
        "hoken.tanaka",
        &["case_worker", "statistics_viewer", "org_admin"],
    )
    .await;
    Setup {
        app,
        clock,
        admin_token,
        admin: admin_credentials,
        health_center,
        doctor,
        nurse,
    }
}

both_backends!(pages_carry_security_headers_and_cookies_are_http_only_and_strict);
async fn pages_carry_security_headers_and_cookies_are_http_only_and_strict(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let mut visitor = Visitor::new(&s.app);
    let root = visitor.get("/").await;
    assert_eq!(root.status, StatusCode::SEE_OTHER);
    assert_eq!(root.location(), "/console/");
    let unsigned = visitor.get("/console/cases").await;
    assert_eq!(unsigned.status, StatusCode::SEE_OTHER);
    assert_eq!(unsigned.location(), "/console/login");

    let login = visitor.get("/console/login").await;
    let csp = login.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(login.headers["x-frame-options"], "DENY");
    assert_eq!(login.headers["referrer-policy"], "no-referrer");
    assert_eq!(login.headers["x-content-type-options"], "nosniff");
    assert_eq!(login.headers["cache-control"], "no-store");
    assert!(!login.body.contains("<script"), "no scripts at all");
    assert!(!login.body.contains("style=\""), "no inline styles");
    let pre = &login.set_cookies()[0];
    assert!(pre.starts_with("mm_pre="), "{pre}");
    assert!(
        pre.contains("HttpOnly") && pre.contains("SameSite=Strict"),
        "{pre}"
    );
    assert!(!pre.contains("Secure"), "plain HTTP: {pre}");

    let signed_in = visitor.sign_in(&s.clock, &s.nurse).await;
    let session = signed_in
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("mm_session="))
        .unwrap();
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(session.contains("Path=/console"), "{session}");
    assert!(session.contains("Max-Age=3600"), "{session}");
    assert!(!session.contains("Secure"), "{session}");
    let cases = visitor.get("/console/cases").await;
    assert_eq!(cases.status, StatusCode::OK);
    assert!(cases.headers.contains_key("content-security-policy"));

    // Behind a TLS-terminating proxy the cookies are Secure.
    let mut behind_tls = Visitor::new(&s.app);
    behind_tls
        .headers
        .push(("x-forwarded-proto", "https".into()));
    let login = behind_tls.get("/console/login").await;
    assert!(
        login.set_cookies()[0].contains("; Secure"),
        "{:?}",
        login.set_cookies()
    );

    // The stylesheet is cached; HTML errors stay HTML (not the API's JSON).
    let css = visitor.get("/console/static/style.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let big = "x".repeat(300 * 1024);
    let too_large = visitor.post("/console/login", &[("username", &big)]).await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        too_large.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        too_large.headers
    );
    assert!(too_large.body.contains("<h1>413"), "{}", too_large.body);
    let api_too_large = visitor.post("/api/auth/login", &[("username", &big)]).await;
    assert_eq!(api_too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        api_too_large.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let unknown = visitor.get("/console/no-such-page").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.body.contains("見つかりません"), "{}", unknown.body);
    let missing = visitor.get("/console/cases/no-such-case").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        missing.headers
    );
}

both_backends!(posts_without_the_session_csrf_token_are_refused);
async fn posts_without_the_session_csrf_token_are_refused(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let mut visitor = Visitor::new(&s.app);
    // Sign-in itself needs the token bound to the pre-sign-in cookie.
    visitor.get("/console/login").await;
    let code = totp(&s.clock, &s.nurse);
    let fields = [
        ("username", s.nurse.username.as_str()),
        ("password", s.nurse.password.as_str()),
        ("totp", code.as_str()),
    ];
    let refused = visitor.post("/console/login", &fields).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused
            .set_cookies()
            .iter()
            .all(|c| !c.starts_with("mm_session"))
    );
    let mut wrong = fields.to_vec();
    wrong.push(("csrf", "forged"));
    assert_eq!(
        visitor.post("/console/login", &wrong).await.status,
        StatusCode::FORBIDDEN
    );

    visitor.sign_in(&s.clock, &s.nurse).await;
    let page = visitor.get("/console/cases").await;
    let token = page.csrf();
    let search = [("name", "Yamada"), ("status", "")];
    let missing = visitor.post("/console/cases/search", &search).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.body.contains("lang=\"ja\""));
    let mut forged = search.to_vec();
    forged.push(("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_eq!(
        visitor.post("/console/cases/search", &forged).await.status,
        StatusCode::FORBIDDEN
    );
    // Another session's token does not work either.
    let mut other = Visitor::new(&s.app);
    s.clock.advance_ms(31_000);
    other.sign_in(&s.clock, &s.nurse).await;
    let other_token = other.get("/console/cases").await.csrf();
    assert_ne!(other_token, token);
    let mut crossed = search.to_vec();
    crossed.push(("csrf", &other_token));
    assert_eq!(
        visitor.post("/console/cases/search", &crossed).await.status,
        StatusCode::FORBIDDEN
    );
    let mut good = search.to_vec();
    good.push(("csrf", &token));
    let accepted = visitor.post("/console/cases/search", &good).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER);
    // The name stays out of the URL: the filter lives with the session.
    assert_eq!(accepted.location(), "/console/cases");
    let logout = visitor.post("/console/logout", &[]).await;
    assert_eq!(logout.status, StatusCode::FORBIDDEN);
}

both_backends!(idle_and_absolute_session_expiry_send_the_user_to_sign_in);
async fn idle_and_absolute_session_expiry_send_the_user_to_sign_in(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let mut visitor = Visitor::new(&s.app);
    visitor.sign_in(&s.clock, &s.nurse).await;
    assert_eq!(visitor.get("/console/cases").await.status, StatusCode::OK);
    // Idle: 30 minutes without a request.
    s.clock.advance_ms(1_801_000);
    let idle = visitor.get("/console/cases").await;
    assert_eq!(idle.status, StatusCode::SEE_OTHER);
    assert_eq!(idle.location(), "/console/login?expired=1");
    let notice = visitor.get("/console/login?expired=1").await;
    assert!(
        notice.body.contains("セッションの有効期限が切れました"),
        "{}",
        notice.body
    );
    // The idle session was ended server-side too.
    assert_eq!(
        visitor.get("/console/cases").await.status,
        StatusCode::SEE_OTHER
    );

    // Absolute: active every 20 minutes, still out after the one-hour lifetime.
    visitor.sign_in(&s.clock, &s.nurse).await;
    for _ in 0..2 {
        s.clock.advance_ms(1_200_000);
        assert_eq!(visitor.get("/console/cases").await.status, StatusCode::OK);
    }
    s.clock.advance_ms(1_300_000);
    let expired = visitor.get("/console/cases").await;
    assert_eq!(expired.status, StatusCode::SEE_OTHER);
    assert_eq!(expired.location(), "/console/login?expired=1");
}

both_backends!(japanese_by_default_english_by_switch_or_accept_language);
async fn japanese_by_default_english_by_switch_or_accept_language(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let mut visitor = Visitor::new(&s.app);
    let page = visitor.get("/console/login").await;
    assert!(page.body.contains("<html lang=\"ja\">"), "{}", page.body);
    assert!(page.body.contains("ログイン"));
    assert!(
        page.body
            .contains("<label for=\"username\">ユーザー名</label>")
    );

    let switch = visitor.get("/console/lang/en?next=/console/login").await;
    assert_eq!(switch.status, StatusCode::SEE_OTHER);
    assert_eq!(switch.location(), "/console/login");
    assert!(switch.set_cookies()[0].starts_with("mm_lang=en"));
    let english = visitor.get("/console/login").await;
    assert!(english.body.contains("<html lang=\"en\">"));
    assert!(english.body.contains("Sign in"));
    // Back to Japanese; a foreign `next` is ignored.
    let back = visitor
        .get("/console/lang/ja?next=https://evil.example/")
        .await;
    assert_eq!(back.location(), "/console/");
    assert!(
        visitor
            .get("/console/login")
            .await
            .body
            .contains("<html lang=\"ja\">")
    );

    let mut browser_in_english = Visitor::new(&s.app);
    browser_in_english
        .headers
        .push(("accept-language", "en-US,en;q=0.9".into()));
    assert!(
        browser_in_english
            .get("/console/login")
            .await
            .body
            .contains("<html lang=\"en\">")
    );
}

both_backends!(the_notification_form_shows_messages_next_to_the_fields);
async fn the_notification_form_shows_messages_next_to_the_fields(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let mut visitor = Visitor::new(&s.app);
    visitor.sign_in(&s.clock, &s.doctor).await;
    let form = visitor.get("/console/cases/new").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("<label for=\"f-name\">"));
    assert_labelled(&form.body);
    let csrf = form.csrf();
    let answer = visitor
        .post(
            "/console/cases/new",
            &[
                ("csrf", &csrf),
                ("name", ""),
                ("municipality", "港区"),
                ("healthCenterId", &s.health_center),
                ("resultDate", "2026-11-18"),
                ("diagnosisDate", "2027-01-01"),
                ("reportDate", "2026-11-18"),
                ("age", "forty"),
                ("outcome", "under treatment"),
                ("diagnosisMethod", "PCR"),
                ("specimenType", "saliva"),
                ("infectionRoute", "droplet"),
                ("infectionArea", "domestic"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = &answer.body;
    assert!(
        body.contains("aria-invalid=\"true\" aria-describedby=\"err-name\""),
        "{body}"
    );
    assert!(
        body.contains("<p class=\"error\" id=\"err-name\">入力してください。</p>"),
        "{body}"
    );
    assert!(
        body.contains("id=\"err-age\">数字で入力してください。"),
        "{body}"
    );
    assert!(
        body.contains("id=\"err-diagnosisDate\">未来の日付は入力できません。"),
        "{body}"
    );
    // What was typed is kept.
    assert!(body.contains("value=\"港区\""));
    // Nothing was filed.
    let list = visitor.get("/console/cases").await;
    assert!(
        list.body.contains("該当する患者はいません"),
        "{}",
        list.body
    );

    // Corrected, it is filed and the case page opens.
    let answer = visitor
        .post(
            "/console/cases/new",
            &[
                ("csrf", &csrf),
                ("name", "山田 太郎"),
                ("municipality", "港区"),
                ("healthCenterId", &s.health_center),
                ("resultDate", "2026-11-18"),
                ("diagnosisDate", "2026-11-18"),
                ("onsetDate", "2026-11-16"),
                ("reportDate", "2026-11-18"),
                ("outcome", "under treatment"),
                ("diagnosisMethod", "PCR"),
                ("specimenType", "saliva"),
                ("infectionRoute", "droplet"),
                ("infectionArea", "domestic"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let case_page = visitor.get(answer.location()).await;
    assert!(case_page.body.contains("山田 太郎"));
    assert!(case_page.body.contains("届出済（未受理）"));
    assert!(!answer.location().contains("山田"));
}

both_backends!(case_list_search_is_posted_and_scoped);
async fn case_list_search_is_posted_and_scoped(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let doctor_token = {
        s.clock.advance_ms(31_000);
        support::login(&s.app, &s.clock, &s.doctor).await
    };
    for name in ["Yamada Taro", "Suzuki Hanako"] {
        support::file_case(&s.app, &doctor_token, &s.health_center, name).await;
    }
    let mut visitor = Visitor::new(&s.app);
    visitor.sign_in(&s.clock, &s.nurse).await;
    let all = visitor.get("/console/cases").await;
    assert!(all.body.contains("Yamada Taro") && all.body.contains("Suzuki Hanako"));
    let csrf = all.csrf();
    visitor
        .post(
            "/console/cases/search",
            &[("csrf", &csrf), ("name", "Suzu"), ("status", "reported")],
        )
        .await;
    let filtered = visitor.get("/console/cases").await;
    assert!(filtered.body.contains("Suzuki Hanako"));
    assert!(!filtered.body.contains("Yamada Taro"));
    visitor
        .post("/console/cases/search", &[("csrf", &csrf), ("clear", "1")])
        .await;
    assert!(
        visitor
            .get("/console/cases")
            .await
            .body
            .contains("Yamada Taro")
    );
    let _ = &s.admin_token;
}

both_backends!(the_task_list_links_each_person_and_speaks_both_languages);
async fn the_task_list_links_each_person_and_speaks_both_languages(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let nurse_token = support::login(&s.app, &s.clock, &s.nurse).await;
    let case_id = support::file_case(&s.app, &nurse_token, &s.health_center, "Kato Ken").await;
    let mut visitor = Visitor::new(&s.app);
    s.clock.advance_ms(31_000);
    visitor.sign_in(&s.clock, &s.nurse).await;
    let page = visitor.get("/console/tasks").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("作業一覧") && page.body.contains("初回連絡が未実施"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("href=\"/console/cases/{case_id}\"")),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("address"),
        "the missing item is named: {}",
        page.body
    );
    assert!(
        page.body.contains("href=\"/console/tasks\""),
        "the menu links it"
    );
    // A reached call takes the case off the first-call list.
    let (status, _) = call(
        &s.app,
        "POST",
        &format!("/api/cases/{case_id}/calls"),
        Some(&nurse_token),
        None,
        Some(json!({"outcome": "reached"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let page = visitor.get("/console/tasks").await;
    assert!(
        !page.body.contains("data-kind=\"tasks.first_call\""),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("data-kind=\"tasks.missing_items\""),
        "{}",
        page.body
    );
    // In English after the switch.
    visitor.get("/console/lang/en").await;
    let page = visitor.get("/console/tasks").await;
    assert!(
        page.body.contains("Missing required items") && page.body.contains(">Tasks<"),
        "{}",
        page.body
    );
    // A doctor has no task list.
    let mut doctor = Visitor::new(&s.app);
    s.clock.advance_ms(31_000);
    doctor.sign_in(&s.clock, &s.doctor).await;
    assert_eq!(
        doctor.get("/console/tasks").await.status,
        StatusCode::FORBIDDEN
    );
}

both_backends!(the_duplicate_queue_merges_keeping_the_chosen_record);
async fn the_duplicate_queue_merges_keeping_the_chosen_record(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let nurse_token = support::login(&s.app, &s.clock, &s.nurse).await;
    // The same person twice (same name, birth date and phone), and someone else.
    let first = support::file_case(&s.app, &nurse_token, &s.health_center, "Mori Aki").await;
    let second = support::file_case(&s.app, &nurse_token, &s.health_center, "Mori Aki").await;
    let mut visitor = Visitor::new(&s.app);
    s.clock.advance_ms(31_000);
    visitor.sign_in(&s.clock, &s.nurse).await;
    let page = visitor.get("/console/duplicates").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("重複の可能性がある人") && page.body.contains("生年月日が同じ"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("href=\"/console/cases/{first}\""))
            && page
                .body
                .contains(&format!("href=\"/console/cases/{second}\"")),
        "{}",
        page.body
    );
    let pair_id = page
        .body
        .split("id=\"pair-")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a pair row")
        .to_string();
    let csrf = page.csrf();
    let merged = visitor
        .post(
            &format!("/console/duplicates/{pair_id}/merge"),
            &[("csrf", &csrf), ("keep", &first)],
        )
        .await;
    assert!(
        merged.status.is_redirection() || merged.status == StatusCode::OK,
        "{}",
        merged.status
    );
    let page = visitor.get("/console/duplicates").await;
    assert!(
        page.body.contains("no-duplicates"),
        "the pair left the queue: {}",
        page.body
    );
    let (status, case) = call(
        &s.app,
        "GET",
        &format!("/api/cases/{second}"),
        Some(&nurse_token),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(case["mergedInto"], first.as_str(), "{case}");
    // Without the session's CSRF token nothing happens.
    let refused = visitor
        .post(
            &format!("/console/duplicates/{pair_id}/dismiss"),
            &[("csrf", "wrong")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

/// The text of the element with `id` (a leaf element holding text only).
fn element_text(body: &str, id: &str) -> String {
    let start = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("#{id} in {body}"));
    let rest = &body[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest[open..].find('<').unwrap();
    rest[open..open + close].to_string()
}

both_backends!(administration_enrols_users_who_can_sign_in_and_revokes_api_keys);
async fn administration_enrols_users_who_can_sign_in_and_revokes_api_keys(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    // The national admin creates an organization.
    let mut national = Visitor::new(&s.app);
    s.clock.advance_ms(31_000);
    national.sign_in(&s.clock, &s.admin).await;
    let page = national.get("/console/admin").await;
    assert!(
        page.body.contains("みなと保健所"),
        "national admins see every organization"
    );
    let created = national
        .post(
            "/console/admin/organizations",
            &[
                ("csrf", &page.csrf()),
                ("kind", "prefecture"),
                ("orgName", "大阪府"),
                ("parent", ""),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(created.body.contains("大阪府"));

    let mut admin = Visitor::new(&s.app);
    admin.sign_in(&s.clock, &s.nurse).await;
    assert!(
        !admin
            .get("/console/admin")
            .await
            .body
            .contains("id=\"organizations\""),
        "a health center's admin has no organization table"
    );

    let page = admin.get("/console/admin").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("hoken.tanaka"), "users are listed");
    let csrf = page.csrf();

    // A new user: the initial password and the TOTP secret (and its QR code) are shown once.
    let created = admin
        .post(
            "/console/admin/users",
            &[
                ("csrf", &csrf),
                ("organization", &s.health_center),
                ("username", "hoken.suzuki"),
                ("role", "case_worker"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(created.body.contains("<svg role=\"img\""), "TOTP QR code");
    let newcomer = Credentials {
        username: element_text(&created.body, "new-username"),
        password: element_text(&created.body, "new-password"),
        totp_secret: element_text(&created.body, "new-totp-secret"),
    };
    assert_eq!(newcomer.username, "hoken.suzuki");
    let mut fresh = Visitor::new(&s.app);
    fresh.sign_in(&s.clock, &newcomer).await;
    assert_eq!(fresh.get("/console/cases").await.status, StatusCode::OK);
    // The newcomer replaces the initial password; every session ends, the new one works.
    let account = fresh.get("/console/account").await;
    let account_csrf = account.csrf();
    let weak = fresh
        .post(
            "/console/account/password",
            &[
                ("csrf", &account_csrf),
                ("current", &newcomer.password),
                ("new", "short"),
            ],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.body.contains("id=\"password-error\""));
    let changed = fresh
        .post(
            "/console/account/password",
            &[
                ("csrf", &account_csrf),
                ("current", &newcomer.password),
                ("new", "a much longer passphrase"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    assert_eq!(changed.location(), "/console/login?changed=1");
    assert_eq!(
        fresh.get("/console/cases").await.status,
        StatusCode::SEE_OTHER
    );
    let newcomer = Credentials {
        password: "a much longer passphrase".into(),
        ..newcomer
    };
    s.clock.advance_ms(31_000);
    fresh.sign_in(&s.clock, &newcomer).await;
    // A case worker without the admin role cannot administer.
    assert_eq!(
        fresh.get("/console/admin").await.status,
        StatusCode::FORBIDDEN
    );

    // An API key: shown once, listed, revoked with the row's button.
    let key = admin
        .post(
            "/console/admin/api-keys",
            &[
                ("csrf", &csrf),
                ("keyOrganization", &s.health_center),
                ("keyKind", "device"),
                ("keyName", "COCOA app"),
            ],
        )
        .await;
    assert_eq!(key.status, StatusCode::CREATED, "{}", key.body);
    let key_id = element_text(&key.body, "new-key-id");
    let key_value = element_text(&key.body, "new-key-value");
    assert!(key_value.starts_with("mkd_"));
    let listed = admin.get("/console/admin").await;
    assert!(listed.body.contains("COCOA app"));
    assert!(
        !listed.body.contains(&key_value),
        "the key is never shown again"
    );
    let (status, _) = call(
        &s.app,
        "POST",
        "/api/verify",
        None,
        Some(&key_value),
        Some(json!({"code": "00000000"})),
    )
    .await;
    assert_ne!(status, StatusCode::UNAUTHORIZED);
    let revoked = admin
        .post(
            "/console/admin/api-keys/revoke",
            &[("csrf", &csrf), ("keyId", &key_id)],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert!(revoked.body.contains("失効済み"));
    let (status, _) = call(
        &s.app,
        "POST",
        "/api/verify",
        None,
        Some(&key_value),
        Some(json!({"code": "00000000"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Every visible input, select and textarea is labelled: by `<label for=…>` or by being
/// inside a `<label>` (checkboxes).
fn assert_labelled(body: &str) {
    let mut checked = 0;
    for tag in ["<input ", "<select ", "<textarea "] {
        for (at, _) in body.match_indices(tag) {
            let element = &body[at..at + body[at..].find('>').unwrap()];
            if element.contains("type=\"hidden\"") {
                continue;
            }
            let inside_label = body[..at]
                .rfind("<label")
                .is_some_and(|open| !body[open..at].contains("</label>"));
            let labelled_by_for = element
                .split("id=\"")
                .nth(1)
                .map(|rest| rest.split('"').next().unwrap())
                .is_some_and(|id| body.contains(&format!("<label for=\"{id}\"")));
            assert!(inside_label || labelled_by_for, "unlabelled: {element}");
            checked += 1;
        }
    }
    assert!(checked > 0);
}

both_backends!(the_patients_page_takes_reports_through_the_link_in_either_language);
async fn the_patients_page_takes_reports_through_the_link_in_either_language(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let nurse = support::login(&s.app, &s.clock, &s.nurse).await;
    let case_id = support::file_case(&s.app, &nurse, &s.health_center, "Yamada Taro").await;
    let (status, _) = call(
        &s.app,
        "PUT",
        &format!("/api/cases/{case_id}/followup"),
        Some(&nurse),
        None,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, token) = call(
        &s.app,
        "POST",
        &format!("/api/cases/{case_id}/followup/token"),
        Some(&nurse),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = token["token"].as_str().unwrap();

    let mut patient = Visitor::new(&s.app);
    let no_link = patient.get("/console/report").await;
    assert_eq!(no_link.status, StatusCode::UNAUTHORIZED);
    assert!(no_link.body.contains("このリンクは無効か期限切れです"));
    let opened = patient.get(&format!("/console/r/{token}")).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    assert_eq!(
        opened.location(),
        "/console/report",
        "the token leaves the address bar"
    );
    let cookie = opened.set_cookies()[0].clone();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let form = patient.get("/console/report").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("<html lang=\"ja\">") && form.body.contains("体温"));
    assert_labelled(&form.body);
    let csrf = form.csrf();

    let refused = patient.post("/console/report", &[("spo2", "96")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let invalid = patient
        .post(
            "/console/report",
            &[("csrf", &csrf), ("spo2", "abc"), ("temperature", "52")],
        )
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        invalid
            .body
            .contains("id=\"err-spo2\">数字で入力してください。"),
        "{}",
        invalid.body
    );
    let invalid = patient
        .post("/console/report", &[("csrf", &csrf), ("temperature", "52")])
        .await;
    assert!(
        invalid
            .body
            .contains("aria-describedby=\"err-temperature\""),
        "{}",
        invalid.body
    );
    let saved = patient
        .post(
            "/console/report",
            &[
                ("csrf", &csrf),
                ("temperature", "36.8"),
                ("spo2", "97"),
                ("sym_cough", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::CREATED, "{}", saved.body);
    assert!(saved.body.contains("報告を受け付けました"));

    s.clock.advance_ms(60_000);
    patient.get("/console/lang/en?next=/console/report").await;
    let english = patient.get("/console/report").await;
    assert!(english.body.contains("<html lang=\"en\">") && english.body.contains("Temperature"));
    let saved = patient
        .post("/console/report", &[("csrf", &csrf), ("spo2", "90")])
        .await;
    assert_eq!(saved.status, StatusCode::CREATED);
    assert!(
        saved.body.contains("Your health center has been told"),
        "{}",
        saved.body
    );

    let (_, series) = call(
        &s.app,
        "GET",
        &format!("/api/cases/{case_id}/followup/series"),
        Some(&nurse),
        None,
        None,
    )
    .await;
    assert_eq!(series["observations"].as_array().unwrap().len(), 2);
    assert_eq!(series["observations"][0]["symptoms"]["cough"], true);

    // A revoked link no longer works.
    let (status, _) = call(
        &s.app,
        "DELETE",
        &format!("/api/cases/{case_id}/followup/token"),
        Some(&nurse),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let gone = patient
        .post("/console/report", &[("csrf", &csrf), ("spo2", "97")])
        .await;
    assert_eq!(gone.status, StatusCode::UNAUTHORIZED);

    // Staff enter a report on the patient's behalf from the case page.
    let mut staff = Visitor::new(&s.app);
    s.clock.advance_ms(31_000);
    staff.sign_in(&s.clock, &s.nurse).await;
    let case_page = staff.get(&format!("/console/cases/{case_id}")).await;
    assert!(
        case_page.body.contains("id=\"chart\""),
        "the chart is on the case page"
    );
    assert_labelled(&case_page.body);
    let staff_csrf = case_page.csrf();
    let path = format!("/console/cases/{case_id}/observations");
    let bad = staff
        .post(&path, &[("csrf", &staff_csrf), ("pulse", "400")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("id=\"err-pulse\""), "{}", bad.body);
    let proxied = staff
        .post(
            &path,
            &[
                ("csrf", &staff_csrf),
                ("temperature", "37.0"),
                ("spo2", "95"),
            ],
        )
        .await;
    assert_eq!(proxied.status, StatusCode::SEE_OTHER, "{}", proxied.body);
    let (_, series) = call(
        &s.app,
        "GET",
        &format!("/api/cases/{case_id}/followup/series"),
        Some(&nurse),
        None,
        None,
    )
    .await;
    let observations = series["observations"].as_array().unwrap();
    assert_eq!(observations.len(), 3);
    assert_eq!(
        observations.iter().filter(|o| o["proxy"] == true).count(),
        1
    );

    // The dashboard's CSV downloads.
    let csv = staff.get("/console/stats/new_cases.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert!(
        csv.body
            .starts_with("date,prefectureId,healthCenterId,count\r\n"),
        "{}",
        csv.body
    );
    assert!(
        csv.body.contains(&format!("{},1", s.health_center)),
        "{}",
        csv.body
    );
    assert!(!csv.body.contains("Yamada"));
    let by_status = staff.get("/console/stats/cases_by_status.csv").await;
    assert!(by_status.body.contains("accepted,1"), "{}", by_status.body);
    assert_eq!(
        staff.get("/console/stats/audit.csv").await.status,
        StatusCode::NOT_FOUND
    );
}

// ---------------------------------------------------------------------------------------
// The browser flow.

mod browser {
    use std::net::TcpListener;
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::time::Duration;

    use fantoccini::{Client, ClientBuilder, Locator};

    use super::*;

    const CHROMIUM: &str = "/usr/bin/chromium";
    const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

    /// Stops chromedriver when the test ends, however it ends.
    struct Driver(Child);

    impl Drop for Driver {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    async fn start_driver() -> Option<(Driver, String)> {
        if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true: install chromium and chromium-driver (.ci/run does)"
            );
            eprintln!("skipping the browser test: {CHROMIUM} or {CHROMEDRIVER} is missing");
            return None;
        }
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let driver = Driver(child);
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if reqwest::get(format!("{url}/status")).await.is_ok() {
                return Some((driver, url));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start");
    }

    async fn browser(driver: &str, width: u32, height: u32) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    format!("--window-size={width},{height}"), "--lang=ja-JP",
                    "--hide-scrollbars", "--force-device-scale-factor=1"
                ],
                "prefs": {"intl.accept_languages": "ja,en"}
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(driver)
            .await
            .unwrap()
    }

    async fn shot(client: &Client, name: &str) {
        let png = client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}");
        // `UPDATE_SCREENSHOTS=1` rewrites the committed ones; otherwise they go to a temporary
        // directory (taken and checked all the same, without dirtying the work tree).
        let dir = if std::env::var("UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/screenshots"))
        } else {
            std::env::temp_dir().join("mimamori-console-screenshots")
        };
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    async fn fill(client: &Client, id: &str, text: &str) {
        let element = client.find(Locator::Id(id)).await.unwrap();
        element.clear().await.unwrap();
        element.send_keys(text).await.unwrap();
    }

    /// Date inputs take typed text in a locale-dependent order; set their value directly.
    async fn set_value(client: &Client, id: &str, value: &str) {
        client
            .execute(
                "document.getElementById(arguments[0]).value = arguments[1];",
                vec![json!(id), json!(value)],
            )
            .await
            .unwrap();
    }

    async fn click(client: &Client, css: &str) {
        client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Clicks and waits for an element of the next page (`css`) to appear.
    async fn click_then(client: &Client, css: &str, expect: &str) {
        click(client, css).await;
        wait(client, expect).await;
    }

    async fn wait(client: &Client, css: &str) {
        client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("waiting for {css}: {e}"));
    }

    async fn text(client: &Client, id: &str) -> String {
        client
            .find(Locator::Id(id))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn sign_in(
        client: &Client,
        s: &Setup,
        credentials: &Credentials,
        screenshot: Option<&str>,
    ) {
        client.goto(&s.app.url("/console/login")).await.unwrap();
        fill(client, "username", &credentials.username).await;
        fill(client, "password", &credentials.password).await;
        fill(client, "totp", &totp(&s.clock, credentials)).await;
        if let Some(name) = screenshot {
            shot(client, name).await;
        }
        click_then(client, "main button[type=submit]", "header nav").await;
        let url = client.current_url().await.unwrap();
        assert!(!url.path().starts_with("/console/login"), "{url}");
    }

    /// The public dashboard without signing in: Japanese on a phone, the switch to English,
    /// and a desktop width; nothing wider than the screen, no name on the page. Screenshots
    /// `open-*.png` (committed under docs/screenshots with `UPDATE_SCREENSHOTS=1`).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn public_dashboard_renders_on_a_phone_and_a_desktop_in_both_languages() {
        let Some((_driver, driver_url)) = start_driver().await else {
            return;
        };
        let (app, clock) = support::start(Backend::Sqlite, |_| {}).await.unwrap();
        let built = support::open_data::build(&app, &clock).await;
        clock.advance_ms(86_400_000);
        let fits = "return document.documentElement.scrollWidth <= window.innerWidth;";
        let phone = browser(&driver_url, 390, 2200).await;
        phone.goto(&app.url("/open/")).await.unwrap();
        wait(&phone, "#new-title").await;
        assert_eq!(phone.execute(fits, vec![]).await.unwrap(), json!(true));
        let source = phone.source().await.unwrap();
        assert!(
            source.contains("新規陽性者数") && source.contains("G-MIS"),
            "{source}"
        );
        for name in &built.names {
            assert!(!source.contains(name.as_str()), "{name}");
        }
        assert!(!text(&phone, "beds-note").await.is_empty());
        shot(&phone, "open-ja-phone").await;
        click_then(&phone, "header a.lang", "#en-title").await;
        assert_eq!(phone.current_url().await.unwrap().path(), "/open/en/");
        assert!(phone.source().await.unwrap().contains("New cases per day"));
        assert_eq!(phone.execute(fits, vec![]).await.unwrap(), json!(true));
        shot(&phone, "open-en-phone").await;
        phone.close().await.unwrap();
        let desktop = browser(&driver_url, 1280, 2000).await;
        desktop.goto(&app.url("/open/en/")).await.unwrap();
        wait(&desktop, "#by-status").await;
        shot(&desktop, "open-en-desktop").await;
        desktop.close().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn clinic_files_health_center_issues_patient_reports_alert_resolved_dashboard_counts() {
        let Some((_driver, driver_url)) = start_driver().await else {
            return;
        };
        let s = setup(Backend::Sqlite).await.unwrap();
        let device_key = support::api_key(&s.app, &s.admin_token, &s.health_center, "device").await;
        let staff = browser(&driver_url, 1280, 900).await;

        // A clinic doctor signs in with password and TOTP and files a notification.
        sign_in(&staff, &s, &s.doctor, Some("01-sign-in")).await;
        staff.goto(&s.app.url("/console/cases/new")).await.unwrap();
        click_then(&staff, "main form button[type=submit]", "#err-name").await;
        shot(&staff, "02-notification-validation").await;
        fill(&staff, "f-name", "山田 太郎").await;
        fill(&staff, "f-kana", "ヤマダ タロウ").await;
        fill(&staff, "f-age", "46").await;
        fill(&staff, "f-municipality", "港区").await;
        set_value(&staff, "f-resultDate", "2026-11-18").await;
        set_value(&staff, "f-diagnosisDate", "2026-11-18").await;
        set_value(&staff, "f-onsetDate", "2026-11-16").await;
        fill(&staff, "f-symptomsAtDiagnosis", "発熱、せき").await;
        click_then(&staff, "main form button[type=submit]", "ol.timeline").await;
        let case_url = staff.current_url().await.unwrap();
        assert!(case_url.path().starts_with("/console/cases/"), "{case_url}");
        let case_id = case_url.path().rsplit('/').next().unwrap().to_string();
        assert!(staff.source().await.unwrap().contains("届出済（未受理）"));
        click_then(&staff, "header form button", "input#username").await;
        assert!(staff.source().await.unwrap().contains("ログアウトしました"));

        // The health center accepts it and issues a processing number.
        s.clock.advance_ms(1_000);
        sign_in(&staff, &s, &s.nurse, None).await;
        staff.goto(&s.app.url("/console/cases")).await.unwrap();
        assert!(staff.source().await.unwrap().contains("山田 太郎"));
        shot(&staff, "03-case-list").await;
        staff
            .goto(&s.app.url(&format!("/console/cases/{case_id}")))
            .await
            .unwrap();
        click_then(&staff, "#accept", "#issue-number").await;
        click_then(&staff, "#issue-number", "#processing-number").await;
        let code = text(&staff, "processing-number").await;
        assert_eq!(code.len(), 8, "{code}");
        assert!(text(&staff, "sms-link").await.starts_with("ens://v?c="));
        assert!(staff.source().await.unwrap().contains("class=\"qr\""));
        shot(&staff, "04-processing-number").await;

        // An app completes the device flow over the API; the case shows the number claimed.
        let (status, verified) = call(
            &s.app,
            "POST",
            "/api/verify",
            None,
            Some(&device_key),
            Some(json!({"code": code})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{verified}");
        let (status, certificate) = call(
            &s.app,
            "POST",
            "/api/certificate",
            None,
            Some(&device_key),
            Some(json!({"token": verified["token"], "ekeyhmac": "3q2+7wABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs="})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{certificate}");
        staff
            .goto(&s.app.url(&format!("/console/cases/{case_id}")))
            .await
            .unwrap();
        let page = staff.source().await.unwrap();
        assert!(page.contains("処理番号使用（アプリ登録）"), "{page}");
        assert!(page.contains("証明書発行"));

        // Follow-up: a plan and the patient's link.
        click_then(&staff, "#start-plan", "#issue-link").await;
        click_then(&staff, "#issue-link", "#report-link").await;
        let link = text(&staff, "report-link").await;
        assert!(link.contains("/console/r/mfu_"), "{link}");

        // The patient reports on a phone through the link, in Japanese.
        let phone = browser(&driver_url, 390, 844).await;
        phone.goto(&link).await.unwrap();
        assert_eq!(phone.current_url().await.unwrap().path(), "/console/report");
        assert!(!phone.current_url().await.unwrap().as_str().contains("mfu_"));
        fill(&phone, "f-temperature", "37.2").await;
        fill(&phone, "f-spo2", "97").await;
        click_then(&phone, "#send-report", "#report-saved").await;
        s.clock.advance_ms(10 * 60 * 1000);
        phone.goto(&s.app.url("/console/report")).await.unwrap();
        fill(&phone, "f-temperature", "38.6").await;
        fill(&phone, "f-spo2", "90").await;
        click(&phone, "label.check input[name=sym_cough]").await;
        click(&phone, "label.check input[name=sym_shortnessOfBreath]").await;
        shot(&phone, "05-patient-report-phone").await;
        click_then(&phone, "#send-report", "#report-saved").await;
        assert!(
            phone
                .source()
                .await
                .unwrap()
                .contains("担当の保健所に連絡しました")
        );
        phone.close().await.unwrap();

        // Alerts appear in the worklist; acknowledged, then resolved.
        staff.goto(&s.app.url("/console/alerts")).await.unwrap();
        let worklist = staff.source().await.unwrap();
        assert!(worklist.contains("SpO2低下"), "{worklist}");
        assert!(worklist.contains("息苦しさ"));
        shot(&staff, "06-alert-worklist").await;
        // Work every alert (missed-report alerts of the plan's earlier days may be there
        // too): acknowledge, then resolve, reloading the worklist after each step.
        for _ in 0..40 {
            let Ok(button) = staff
                .find(Locator::Css("#alerts button[type=submit]"))
                .await
            else {
                break;
            };
            button.click().await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
            staff.goto(&s.app.url("/console/alerts")).await.unwrap();
        }
        wait(&staff, "#no-alerts").await;

        // The chart on the case page.
        staff
            .goto(&s.app.url(&format!("/console/cases/{case_id}#followup")))
            .await
            .unwrap();
        assert!(staff.find(Locator::Css("#chart svg")).await.is_ok());
        staff
            .execute(
                "document.getElementById('followup').scrollIntoView();",
                vec![],
            )
            .await
            .unwrap();
        shot(&staff, "07-case-followup-chart").await;

        // The dashboard counts the case.
        staff.goto(&s.app.url("/console/stats")).await.unwrap();
        assert_eq!(text(&staff, "new-total").await, "1");
        assert_eq!(text(&staff, "status-total").await, "1");
        shot(&staff, "08-dashboard").await;

        // Administration: a new user with the TOTP enrolment QR code.
        staff.goto(&s.app.url("/console/admin")).await.unwrap();
        fill(&staff, "f-username", "hoken.suzuki").await;
        click(&staff, "input[name=role][value=case_worker]").await;
        click_then(
            &staff,
            "form[action='/console/admin/users'] button",
            "#new-username",
        )
        .await;
        assert_eq!(text(&staff, "new-username").await, "hoken.suzuki");
        staff
            .execute(
                "document.getElementById('new-user').scrollIntoView();",
                vec![],
            )
            .await
            .unwrap();
        shot(&staff, "09-admin-new-user-totp").await;

        // English, on a phone-sized window.
        staff.set_window_size(390, 844).await.unwrap();
        staff
            .goto(&s.app.url("/console/lang/en?next=/console/cases"))
            .await
            .unwrap();
        assert!(staff.source().await.unwrap().contains("<html lang=\"en\">"));
        shot(&staff, "10-case-list-english-phone").await;
        staff.close().await.unwrap();
    }
    /// Issue 15's browser flow: a nurse records a contact investigation on a case's page,
    /// starts the contact's quarantine, the contact reports on a phone-sized window through
    /// their link, and the nurse converts them to a case after a positive test.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nurse_records_a_contact_quarantines_them_they_report_and_become_a_case() {
        let Some((_driver, driver_url)) = start_driver().await else {
            return;
        };
        let s = setup(Backend::Sqlite).await.unwrap();
        let nurse_token = support::login(&s.app, &s.clock, &s.nurse).await;
        let case_id =
            support::file_case(&s.app, &nurse_token, &s.health_center, "感染者 一郎").await;
        s.clock.advance_ms(30_000);
        let staff = browser(&driver_url, 1280, 900).await;
        sign_in(&staff, &s, &s.nurse, None).await;
        staff
            .goto(&s.app.url(&format!("/console/cases/{case_id}")))
            .await
            .unwrap();

        // The contact investigation, on the case's page.
        click(&staff, "details.panel summary").await;
        fill(&staff, "f-name", "接触 花子").await;
        fill(&staff, "f-phone", "090-3333-4444").await;
        set_value(&staff, "f-birthDate", "1992-03-04").await;
        set_value(&staff, "f-date", "2026-11-19").await;
        fill(&staff, "f-durationMinutes", "120").await;
        click_then(&staff, "#record-contact", "#contact-status").await;
        assert_eq!(text(&staff, "contact-status").await, "特定済み");
        let contact_url = staff.current_url().await.unwrap();
        assert!(
            contact_url.path().starts_with("/console/contacts/"),
            "{contact_url}"
        );

        // Quarantine from the day after the last exposure (the rule in force: 5 days).
        click_then(&staff, "#to-quarantined", "#issue-link").await;
        assert_eq!(text(&staff, "contact-status").await, "待機中");
        assert_eq!(text(&staff, "quarantine").await, "2026-11-20 – 2026-11-24");
        click_then(&staff, "#issue-link", "#report-link").await;
        let link = text(&staff, "report-link").await;
        assert!(link.contains("/console/r/mfu_"), "{link}");
        shot(&staff, "11-contact-quarantine-link").await;

        // The contact reports on a phone.
        let phone = browser(&driver_url, 390, 844).await;
        phone.goto(&link).await.unwrap();
        assert_eq!(phone.current_url().await.unwrap().path(), "/console/report");
        fill(&phone, "f-temperature", "37.9").await;
        fill(&phone, "f-spo2", "96").await;
        click_then(&phone, "#send-report", "#report-saved").await;
        shot(&phone, "12-contact-report-phone").await;
        phone.close().await.unwrap();
        staff.goto(contact_url.as_str()).await.unwrap();
        assert!(text(&staff, "contact-observations").await.contains("37.9"));

        // A positive test: the nurse files the case from the contact's record.
        set_value(&staff, "f-resultDate", "2026-11-20").await;
        set_value(&staff, "f-diagnosisDate", "2026-11-20").await;
        fill(&staff, "f-municipality", "港区").await;
        fill(&staff, "f-diagnosisMethod", "PCR").await;
        fill(&staff, "f-specimenType", "鼻咽頭ぬぐい液").await;
        click_then(&staff, "#convert", "ol.timeline").await;
        let new_case = staff.current_url().await.unwrap();
        assert!(new_case.path().starts_with("/console/cases/"), "{new_case}");
        let page = staff.source().await.unwrap();
        assert!(page.contains("接触 花子"), "the person's data carried over");
        assert!(page.contains(&case_id), "linked to the source case");
        staff.goto(contact_url.as_str()).await.unwrap();
        assert_eq!(text(&staff, "contact-status").await, "陽性（患者へ）");
        assert!(staff.find(Locator::Id("converted-case")).await.is_ok());
        staff.close().await.unwrap();
    }
}

/// The console's settings plus the recording SMS provider (a file of this test's own) and
/// the public address the links in messages point at.
fn messaging_settings(settings: &mut Settings) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static APPS: AtomicU32 = AtomicU32::new(0);
    console_settings(settings);
    let messaging = &mut settings.cases.messaging;
    messaging.sms_provider = "recording".into();
    messaging.sms_record_file = Some(std::env::temp_dir().join(format!(
        "mimamori-console-sms-{}-{}.jsonl",
        std::process::id(),
        APPS.fetch_add(1, Ordering::Relaxed)
    )));
    messaging.public_url = Some("https://mimamori.example.jp".into());
}

/// The SMS the app's recording provider wrote, waiting (at most 30 s: the outbox sends
/// every few seconds) until there are `count`.
async fn recorded_sms(app: &TestApp, count: usize) -> Vec<serde_json::Value> {
    let path = app
        .settings
        .cases
        .messaging
        .sms_record_file
        .clone()
        .unwrap();
    for _ in 0..60 {
        let sms: Vec<serde_json::Value> = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        if sms.len() >= count {
            return sms;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    panic!("the outbox did not send {count} SMS in time");
}

/// The value of the first `attribute="…"` after `marker` in `body`.
fn attribute_after(body: &str, marker: &str, attribute: &str) -> String {
    let start = body
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {body}"));
    let rest = &body[start..];
    let at = rest
        .find(&format!("{attribute}=\""))
        .unwrap_or_else(|| panic!("{attribute} after {marker}"))
        + attribute.len()
        + 2;
    rest[at..at + rest[at..].find('"').unwrap()].to_string()
}

both_backends!(the_case_page_records_tests_issues_documents_and_sends_messages);
async fn the_case_page_records_tests_issues_documents_and_sends_messages(backend: Backend) {
    let Some((app, clock)) = support::start(backend, messaging_settings).await else {
        return;
    };
    let s = setup_on(app, clock).await;
    let nurse = support::login(&s.app, &s.clock, &s.nurse).await;
    let case_id = support::file_case(&s.app, &nurse, &s.health_center, "Ito Yui").await;
    let (status, body) = call(
        &s.app,
        "POST",
        &format!("/api/cases/{case_id}/status"),
        Some(&nurse),
        None,
        Some(json!({"status": "accepted"})),
    )
    .await;
    assert!(
        status == StatusCode::OK || status == StatusCode::CONFLICT,
        "{body}"
    );
    let mut visitor = Visitor::new(&s.app);
    s.clock.advance_ms(31_000);
    visitor.sign_in(&s.clock, &s.nurse).await;
    let case_page = format!("/console/cases/{case_id}");
    let page = visitor.get(&case_page).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for form in [
        "lab-test-form",
        "document-form",
        "message-form",
        "opt-out-form",
    ] {
        assert!(page.body.contains(&format!("id=\"{form}\"")), "#{form}");
    }
    assert_labelled(&page.body);
    let csrf = page.csrf();

    // A repeat test, then its result.
    let tests_path = format!("/console/cases/{case_id}/tests");
    let bad = visitor
        .post(
            &tests_path,
            &[
                ("csrf", &csrf),
                ("specimen", "tears"),
                ("collectedOn", "2026-11-19"),
                ("method", "pcr"),
                ("result", "pending"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("id=\"form-errors\""), "{}", bad.body);
    let recorded = visitor
        .post(
            &tests_path,
            &[
                ("csrf", &csrf),
                ("specimen", "saliva"),
                ("collectedOn", "2026-11-19"),
                ("method", "pcr"),
                ("laboratory", "みなと検査センター"),
                ("result", "pending"),
            ],
        )
        .await;
    assert_eq!(recorded.status, StatusCode::SEE_OTHER, "{}", recorded.body);
    let page = visitor.get(&case_page).await;
    assert!(
        page.body.contains("唾液") && page.body.contains("結果待ち"),
        "{}",
        page.body
    );
    let result_action = attribute_after(&page.body, "id=\"lab-tests\"", "action");
    assert!(result_action.ends_with("/result"), "{result_action}");
    let entered = visitor
        .post(
            &result_action,
            &[
                ("csrf", &csrf),
                ("result", "negative"),
                ("resultOn", "2026-11-20"),
            ],
        )
        .await;
    assert_eq!(entered.status, StatusCode::SEE_OTHER, "{}", entered.body);
    let page = visitor.get(&case_page).await;
    let table = &page.body[page.body.find("id=\"lab-tests\"").unwrap()..];
    assert!(
        table.contains("陰性") && !table[..table.find("</table>").unwrap()].contains("結果待ち"),
        "{table}"
    );

    // A certificate of isolation as PDF.
    let issued = visitor
        .post(
            &format!("/console/cases/{case_id}/documents"),
            &[
                ("csrf", &csrf),
                ("kind", "isolation_certificate"),
                ("language", "ja"),
                ("periodStart", "2026-11-16"),
                ("periodEnd", "2026-11-26"),
                ("healthCenterPhone", "03-1234-5678"),
            ],
        )
        .await;
    assert_eq!(issued.status, StatusCode::SEE_OTHER, "{}", issued.body);
    let page = visitor.get(&case_page).await;
    let document = attribute_after(&page.body, "id=\"documents\"", "href");
    assert!(document.starts_with("/console/documents/"), "{document}");
    assert!(page.body.contains("療養証明書"), "{}", page.body);
    let pdf = visitor.get(&document).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    assert_eq!(pdf.headers["cache-control"], "no-store");
    assert!(
        pdf.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=")
    );
    assert!(pdf.body.starts_with("%PDF-"), "a PDF");
    // A notice for contacts is not a case's document.
    let wrong = visitor
        .post(
            &format!("/console/cases/{case_id}/documents"),
            &[
                ("csrf", &csrf),
                ("kind", "quarantine_end_notice"),
                ("language", "ja"),
            ],
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );

    // The follow-up link by SMS to the phone on record: once the case has a plan.
    let early = visitor
        .post(
            &format!("/console/cases/{case_id}/messages"),
            &[
                ("csrf", &csrf),
                ("template", "follow_up_link"),
                ("channel", "sms"),
            ],
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert!(
        early.body.contains("id=\"form-errors\"") && early.body.contains("id=\"message-form\""),
        "said on the case page: {}",
        early.body
    );
    let (status, _) = call(
        &s.app,
        "PUT",
        &format!("/api/cases/{case_id}/followup"),
        Some(&nurse),
        None,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let sent = visitor
        .post(
            &format!("/console/cases/{case_id}/messages"),
            &[
                ("csrf", &csrf),
                ("template", "follow_up_link"),
                ("channel", "sms"),
                ("language", "ja"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
    assert!(sent.body.contains("id=\"message-notice\""), "{}", sent.body);
    let sms = recorded_sms(&s.app, 1).await;
    assert!(
        sms[0]["to"].as_str().unwrap().starts_with("+8190"),
        "{sms:?}"
    );
    assert!(
        sms[0]["body"]
            .as_str()
            .unwrap()
            .contains("https://mimamori.example.jp/console/r/mfu_"),
        "{sms:?}"
    );
    let page = visitor.get(&case_page).await;
    let table = &page.body[page
        .body
        .find("id=\"messages\"")
        .expect("the messages table")..];
    let table = &table[..table.find("</table>").unwrap()];
    assert!(
        table.contains("data-state=\"sent\"") && !table.contains("090-0000-0000"),
        "sent, the recipient masked: {table}"
    );

    // The processing number panel offers to send the number.
    let number = visitor
        .post(
            &format!("/console/cases/{case_id}/number"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(number.status, StatusCode::CREATED, "{}", number.body);
    assert!(
        number.body.contains("id=\"send-number\""),
        "{}",
        number.body
    );
    let code = element_text(&number.body, "processing-number");
    let valid_until = attribute_after(&number.body, "name=\"validUntil\"", "value");
    let sent = visitor
        .post(
            &format!("/console/cases/{case_id}/messages"),
            &[
                ("csrf", &csrf),
                ("template", "processing_number"),
                ("processingNumber", &code),
                ("validUntil", &valid_until),
                ("channel", "sms"),
                ("language", "en"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
    let sms = recorded_sms(&s.app, 2).await;
    assert!(sms[1]["body"].as_str().unwrap().contains(&code), "{sms:?}");

    // The person reads the certificate through the follow-up link and stops messages.
    let (status, token) = call(
        &s.app,
        "POST",
        &format!("/api/cases/{case_id}/followup/token"),
        Some(&nurse),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    let mut patient = Visitor::new(&s.app);
    patient
        .get(&format!("/console/r/{}", token["token"].as_str().unwrap()))
        .await;
    let report = patient.get("/console/report").await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let download = attribute_after(&report.body, "id=\"report-documents\"", "href");
    assert!(
        download.starts_with("/console/report/documents/"),
        "{download}"
    );
    let pdf = patient.get(&download).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert!(pdf.body.starts_with("%PDF-"));
    let (_, documents) = call(
        &s.app,
        "GET",
        &format!("/api/cases/{case_id}/documents"),
        Some(&nurse),
        None,
        None,
    )
    .await;
    assert!(
        documents[0]["downloadedAtMs"].is_i64(),
        "receipt confirmed: {documents}"
    );
    // Another person's document through this link is 404.
    let other = patient.get("/console/report/documents/doc_nope").await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let refused = patient
        .post("/console/report/opt-out", &[("csrf", "wrong")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let stopped = patient
        .post("/console/report/opt-out", &[("csrf", &report.csrf())])
        .await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.body);
    assert!(
        stopped.body.contains("id=\"opted-out\""),
        "{}",
        stopped.body
    );
    let (status, refused) = call(
        &s.app,
        "POST",
        &format!("/api/cases/{case_id}/messages"),
        Some(&nurse),
        None,
        Some(json!({"template": "follow_up_link", "channel": "sms"})),
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::CONFLICT, Some("opted_out")),
        "{refused}"
    );

    // In English.
    visitor.get("/console/lang/en").await;
    let page = visitor.get(&case_page).await;
    assert!(
        page.body.contains("Lab tests") && page.body.contains("Certificate of isolation"),
        "{}",
        page.body
    );
}

both_backends!(clusters_show_members_and_the_graph_and_the_line_list_downloads);
async fn clusters_show_members_and_the_graph_and_the_line_list_downloads(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let nurse = support::login(&s.app, &s.clock, &s.nurse).await;
    let case_id = support::file_case(&s.app, &nurse, &s.health_center, "Abe Rin").await;
    let (status, contact) = call(
        &s.app,
        "POST",
        "/api/contacts",
        Some(&nurse),
        None,
        Some(json!({
            "person": {"name": "Ueno Sora", "kana": "ウエノ ソラ", "birthDate": "1990-05-01",
                       "phones": ["090-1111-2222"], "address": "Minato-ku 1-2-3"},
            "healthCenterId": s.health_center,
            "exposure": {"caseId": case_id, "date": "2026-11-17", "setting": "care_facility",
                         "durationMinutes": 45, "proximity": "within_1m", "method": "interview",
                         "respondent": "case"}
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    let contact_id = contact["id"].as_str().unwrap();
    let mut visitor = Visitor::new(&s.app);
    s.clock.advance_ms(31_000);
    visitor.sign_in(&s.clock, &s.nurse).await;
    let list = visitor.get("/console/clusters").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(
        list.body.contains("id=\"no-clusters\"")
            && list.body.contains("href=\"/console/clusters\"")
    );
    let csrf = list.csrf();
    let nameless = visitor
        .post(
            "/console/clusters",
            &[("csrf", &csrf), ("name", " "), ("setting", "care_facility")],
        )
        .await;
    assert_eq!(
        nameless.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        nameless.body
    );
    let created = visitor
        .post(
            "/console/clusters",
            &[
                ("csrf", &csrf),
                ("name", "さくら苑"),
                ("setting", "care_facility"),
                ("firstDate", "2026-11-17"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let cluster_page = created.location().to_string();
    let cluster_id = cluster_page
        .trim_start_matches("/console/clusters/")
        .to_string();
    // The case page offers the cluster; the contact is added from the cluster's page.
    let page = visitor.get(&format!("/console/cases/{case_id}")).await;
    assert!(
        page.body.contains("id=\"add-to-cluster\"") && page.body.contains("さくら苑"),
        "{}",
        page.body
    );
    let added = visitor
        .post(
            "/console/cluster-members",
            &[
                ("csrf", &csrf),
                ("cluster", &cluster_id),
                ("kind", "case"),
                ("id", &case_id),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let unknown = visitor
        .post(
            "/console/cluster-members",
            &[
                ("csrf", &csrf),
                ("cluster", &cluster_id),
                ("kind", "contact"),
                ("id", "nobody"),
            ],
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.body
    );
    assert!(
        unknown.body.contains("id=\"member-form\""),
        "{}",
        unknown.body
    );
    let added = visitor
        .post(
            "/console/cluster-members",
            &[
                ("csrf", &csrf),
                ("cluster", &cluster_id),
                ("kind", "contact"),
                ("id", contact_id),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let page = visitor.get(&cluster_page).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains(&format!("href=\"/console/cases/{case_id}\"")),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("href=\"/console/contacts/{contact_id}\"")),
        "{}",
        page.body
    );
    let graph = &page.body[page.body.find("id=\"cluster-graph\"").unwrap()..];
    assert!(
        graph.contains("<svg") && graph.contains("<line"),
        "an exposure edge: {graph}"
    );
    assert!(element_text(&page.body, "cluster-counts").contains("患者"));
    let list = visitor.get("/console/clusters").await;
    assert!(
        list.body.contains(&format!("href=\"{cluster_page}\"")),
        "{}",
        list.body
    );
    // Certificates for the cluster's cases in one PDF.
    let print = format!("/console/clusters/{cluster_id}/documents");
    let pdf = visitor
        .post(
            &print,
            &[
                ("csrf", &csrf),
                ("kind", "isolation_certificate"),
                ("language", "ja"),
                ("periodStart", "2026-11-16"),
                ("periodEnd", "2026-11-26"),
            ],
        )
        .await;
    assert_eq!(pdf.status, StatusCode::OK, "{}", pdf.body);
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    assert_eq!(
        pdf.headers["content-disposition"],
        "attachment; filename=\"cluster-1.pdf\""
    );
    assert!(pdf.body.starts_with("%PDF-"));
    let page = visitor.get(&format!("/console/cases/{case_id}")).await;
    assert!(
        page.body.contains("/console/documents/"),
        "the certificate is listed on the case"
    );
    let start_notice = visitor
        .post(
            &print,
            &[("csrf", &csrf), ("kind", "quarantine_start_notice")],
        )
        .await;
    assert_eq!(start_notice.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The line list: the form, the CSV, and the period checked.
    let form = visitor.get("/console/line-list").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("id=\"line-list-form\""));
    let csv = visitor
        .get("/console/line-list.csv?from=2026-11-12&to=2026-11-20")
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert_eq!(csv.headers["cache-control"], "no-store");
    assert_eq!(
        csv.headers["content-disposition"],
        "attachment; filename=\"line-list-2026-11-12-2026-11-20.csv\""
    );
    assert!(
        csv.body.starts_with("caseId,")
            && csv.body.contains(&case_id)
            && csv.body.contains("Abe Rin"),
        "{}",
        csv.body
    );
    let backwards = visitor
        .get("/console/line-list.csv?from=2026-11-20&to=2026-11-01")
        .await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        backwards.body.contains("id=\"form-errors\""),
        "{}",
        backwards.body
    );
    let garbage = visitor
        .get("/console/line-list.csv?from=yesterday&to=today")
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);

    // A clinic doctor has neither.
    let mut doctor = Visitor::new(&s.app);
    s.clock.advance_ms(31_000);
    doctor.sign_in(&s.clock, &s.doctor).await;
    assert_eq!(
        doctor.get("/console/clusters").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        doctor.get("/console/line-list").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        doctor.get(&cluster_page).await.status,
        StatusCode::NOT_FOUND
    );
}

both_backends!(the_idle_clock_is_the_same_on_every_replica);
async fn the_idle_clock_is_the_same_on_every_replica(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let replica = s.app.replica().await;
    let mut visitor = Visitor::new(&s.app);
    visitor.sign_in(&s.clock, &s.nurse).await;
    assert_eq!(on_replica(&mut visitor, &replica).await, StatusCode::OK);
    // Active on the first replica 20 minutes later, then on the second 20 minutes after
    // that: 40 minutes since the second last saw the session, 20 since it was used.
    s.clock.advance_ms(1_200_000);
    assert_eq!(visitor.get("/console/cases").await.status, StatusCode::OK);
    s.clock.advance_ms(1_200_000);
    assert_eq!(on_replica(&mut visitor, &replica).await, StatusCode::OK);
    // 31 idle minutes: out on both.
    s.clock.advance_ms(1_860_000);
    assert_eq!(
        on_replica(&mut visitor, &replica).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        visitor.get("/console/cases").await.status,
        StatusCode::SEE_OTHER
    );
    replica.stop().await;
}

/// GET the case list through `replica` with the visitor's cookies.
async fn on_replica(visitor: &mut Visitor<'_>, replica: &mimamori_tests::Replica) -> StatusCode {
    let request = visitor.app.client.get(replica.url("/console/cases"));
    visitor.send(request).await.status
}
