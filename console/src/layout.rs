//! The page frame: document head, header with navigation, language switch and sign-out.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use mimamori_cases::model::{OrgKind, Role};

use crate::i18n::{Lang, t};
use crate::web::Staff;

/// The stylesheet (served at `/console/static/style.css`).
pub const STYLE_CSS: &str = include_str!("../assets/style.css");

fn head(lang: Lang, title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content="no-referrer";
            title { (title) " – " (t(lang, "app")) }
            link rel="stylesheet" href="/console/static/style.css";
        }
    }
}

fn switch(lang: Lang, next: &str) -> Markup {
    let other = match lang {
        Lang::Ja => "en",
        Lang::En => "ja",
    };
    html! {
        a.lang href={ "/console/lang/" (other) "?next=" (next) }
            lang=(other) aria-label=(t(lang, "switch.label")) { (t(lang, "switch")) }
    }
}

/// A page without navigation (sign-in, errors, the patient's report page).
pub fn bare(lang: Lang, title: &str, body: Markup) -> Markup {
    bare_at(lang, "/console/", title, body)
}

/// Like [`bare`]; the language switch returns to `here`.
pub fn bare_at(lang: Lang, here: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(lang, title))
            body {
                a.skip href="#main" { (t(lang, "skip")) }
                header.top {
                    span.brand { (t(lang, "app")) }
                    (switch(lang, here))
                }
                main #main tabindex="-1" { (body) }
            }
        }
    }
}

/// A signed-in page; `here` is the path for the language switch to return to.
pub fn page(staff: &Staff, here: &str, title: &str, body: Markup) -> Markup {
    let lang = staff.lang;
    let p = &staff.principal;
    let kind = p.organization.kind;
    let case_reader = matches!(
        kind,
        OrgKind::HealthCenter | OrgKind::Prefecture | OrgKind::MedicalInstitution
    ) && (p.has(Role::CaseWorker) || p.has(Role::Doctor));
    let filer = (kind == OrgKind::HealthCenter && p.has(Role::CaseWorker))
        || (kind == OrgKind::MedicalInstitution && p.has(Role::Doctor));
    let alerts = (kind == OrgKind::HealthCenter && p.has(Role::CaseWorker))
        || (kind == OrgKind::Contractor && (p.has(Role::CaseWorker) || p.has(Role::Doctor)));
    let tasks = kind == OrgKind::HealthCenter && p.has(Role::CaseWorker);
    let line_list =
        matches!(kind, OrgKind::HealthCenter | OrgKind::Prefecture) && p.has(Role::CaseWorker);
    let stats = p.has(Role::StatisticsViewer) || p.has(Role::OrgAdmin);
    let admin = p.has(Role::OrgAdmin);
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(lang, title))
            body {
                a.skip href="#main" { (t(lang, "skip")) }
                header.top {
                    span.brand { (t(lang, "app")) " " small { (t(lang, "app.sub")) } }
                    nav aria-label=(t(lang, "nav")) {
                        ul {
                            @if case_reader { li { a href="/console/cases" { (t(lang, "nav.cases")) } } }
                            @if filer { li { a href="/console/cases/new" { (t(lang, "nav.new")) } } }
                            @if alerts { li { a href="/console/alerts" { (t(lang, "nav.alerts")) } } }
                            @if tasks { li { a href="/console/tasks" { (t(lang, "nav.tasks")) } } }
                            @if tasks { li { a href="/console/duplicates" { (t(lang, "nav.duplicates")) } } }
                            @if tasks { li { a href="/console/clusters" { (t(lang, "nav.clusters")) } } }
                            @if line_list { li { a href="/console/line-list" { (t(lang, "nav.line_list")) } } }
                            @if stats { li { a href="/console/stats" { (t(lang, "nav.stats")) } } }
                            @if admin { li { a href="/console/admin" { (t(lang, "nav.admin")) } } }
                        }
                    }
                    div.who {
                        a.org href="/console/account" { (p.organization.name) }
                        (switch(lang, here))
                        form method="post" action="/console/logout" {
                            input type="hidden" name="csrf" value=(staff.csrf);
                            button.link type="submit" { (t(lang, "signout")) }
                        }
                    }
                }
                main #main tabindex="-1" { (body) }
            }
        }
    }
}

/// The hidden CSRF field of a staff form.
pub fn csrf(staff: &Staff) -> Markup {
    html! { input type="hidden" name="csrf" value=(staff.csrf); }
}

/// Inline SVG produced by our own renderers (chart, QR code): no scripts, escaped text.
pub fn svg(markup: String) -> PreEscaped<String> {
    PreEscaped(markup)
}

/// A date-time in the console's local time (UTC offset from the case registry's settings).
pub fn datetime(ms: i64, offset_minutes: i64) -> String {
    let local = ms + offset_minutes * 60_000;
    let day = mimamori_cases::model::Date::from_unix_ms(local);
    let minutes = local.rem_euclid(86_400_000) / 60_000;
    format!("{day} {:02}:{:02}", minutes / 60, minutes % 60)
}

/// A QR code of `text` as inline SVG (black on white, with a quiet zone).
pub fn qr_svg(text: &str, label: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(180, 180)
                .dark_color(qrcode::render::svg::Color("#000000"))
                .light_color(qrcode::render::svg::Color("#ffffff"))
                .build();
            // Drop the XML declaration; give the image a role and an accessible name.
            let start = svg.find("<svg").unwrap_or(0);
            let escaped = label
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('"', "&quot;");
            svg[start..].replacen(
                "<svg",
                &format!("<svg role=\"img\" aria-label=\"{escaped}\" class=\"qr\""),
                1,
            )
        }
        Err(_) => String::new(),
    }
}
