//! The public dashboard (`/open/` in Japanese, `/open/en/` in English): no sign-in, no
//! JavaScript, mobile-first. It shows only what the open-data files publish (the case
//! registry's suppressed counts, [`mimamori_cases::service::open_data`]), as SVG charts with
//! tables, and links the files and the snapshot manifest.

use std::fmt::Write as _;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use maud::{DOCTYPE, Markup, html};
use mimamori_cases::service::open_data::{
    CURRENT_MAX_AGE_SECONDS, Cell, NATIONAL, OpenDataFiles, PUBLIC_STATUSES, TABLES,
};
use mimamori_cases::suppression::{Published, WITHHELD};

use super::Data;
use crate::i18n::{Lang, status_key, t};
use crate::layout::svg;
use crate::{Page, PageError};

/// Days shown in the charts (the files hold the whole window).
const CHART_DAYS: usize = 60;

/// Days shown in the tables.
const TABLE_DAYS: usize = 14;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn shown(cell: Option<&Cell>, minimum: i64) -> String {
    match cell {
        Some(Cell::Count(Published::Count(n))) => n.to_string(),
        Some(Cell::Count(Published::Small)) => format!("<{minimum}"),
        Some(Cell::Count(Published::Withheld)) => WITHHELD.into(),
        Some(Cell::Tenths(Some(tenths))) => format!("{}.{}", tenths / 10, tenths % 10),
        Some(Cell::Text(text)) => text.clone(),
        _ => "–".into(),
    }
}

fn count(cell: Option<&Cell>) -> Option<i64> {
    match cell {
        Some(Cell::Count(Published::Count(n))) => Some(*n),
        _ => None,
    }
}

fn text(cell: Option<&Cell>) -> &str {
    match cell {
        Some(Cell::Text(text)) => text,
        _ => "",
    }
}

/// One bar per value (hidden values drawn as a grey mark at the base line) with an optional
/// line (the 7-day average, tenths); scales to the page width.
fn bar_chart(
    title: &str,
    labels: &[String],
    values: &[Option<i64>],
    line: Option<&[Option<i64>]>,
) -> String {
    const W: f64 = 640.0;
    const H: f64 = 240.0;
    const LEFT: f64 = 36.0;
    const BOTTOM: f64 = 34.0;
    const TOP: f64 = 14.0;
    let line_max = line
        .map(|l| l.iter().flatten().map(|t| (t + 9) / 10).max().unwrap_or(0))
        .unwrap_or(0);
    let max = values
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(0)
        .max(line_max)
        .max(1) as f64;
    let n = values.len().max(1) as f64;
    let slot = (W - LEFT - 8.0) / n;
    let base = H - BOTTOM;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" aria-label="{}" font-family="sans-serif" font-size="11"><title>{}</title><rect width="100%" height="100%" fill="#fff"/><line x1="{LEFT}" y1="{base}" x2="{}" y2="{base}" stroke="#333"/><text x="{}" y="{}" text-anchor="end">{}</text><text x="{}" y="{}" text-anchor="end">0</text>"##,
        escape(title),
        escape(title),
        W - 8.0,
        LEFT - 4.0,
        TOP + 4.0,
        max as i64,
        LEFT - 4.0,
        base + 4.0
    );
    let every = (values.len() / 6).max(1);
    for (i, value) in values.iter().enumerate() {
        let width = (slot * 0.75).max(1.0);
        let x = LEFT + slot * i as f64 + (slot - width) / 2.0;
        let label = labels.get(i).map_or("", String::as_str);
        match value {
            Some(v) => {
                let height = (base - TOP) * (*v as f64) / max;
                let _ = write!(
                    s,
                    r##"<rect x="{x:.1}" y="{:.1}" width="{width:.1}" height="{height:.1}" fill="#0b5cad"><title>{}: {v}</title></rect>"##,
                    base - height,
                    escape(label)
                );
            }
            None => {
                let _ = write!(
                    s,
                    r##"<rect x="{x:.1}" y="{:.1}" width="{width:.1}" height="3" fill="#8a8f96"><title>{}: –</title></rect>"##,
                    base - 3.0,
                    escape(label)
                );
            }
        }
        if i % every == 0 {
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                x + width / 2.0,
                base + 16.0,
                escape(label)
            );
        }
    }
    if let Some(line) = line {
        let mut points = String::new();
        for (i, tenths) in line.iter().enumerate() {
            match tenths {
                Some(t) => {
                    let x = LEFT + slot * (i as f64 + 0.5);
                    let y = base - (base - TOP) * (*t as f64 / 10.0) / max;
                    let _ = write!(points, "{x:.1},{y:.1} ");
                }
                None if !points.is_empty() => {
                    let _ = write!(
                        s,
                        r##"<polyline points="{}" fill="none" stroke="#b00020" stroke-width="2"/>"##,
                        points.trim_end()
                    );
                    points.clear();
                }
                None => {}
            }
        }
        if !points.is_empty() {
            let _ = write!(
                s,
                r##"<polyline points="{}" fill="none" stroke="#b00020" stroke-width="2"/>"##,
                points.trim_end()
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn frame(lang: Lang, body: Markup) -> Markup {
    let (other, other_href, other_label) = match lang {
        Lang::Ja => ("en", "/open/en/", "English"),
        Lang::En => ("ja", "/open/", "日本語"),
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (t(lang, "open.title")) " – " (t(lang, "app")) }
                link rel="stylesheet" href="/console/static/style.css";
                link rel="alternate" hreflang=(other) href=(other_href);
            }
            body {
                a.skip href="#main" { (t(lang, "skip")) }
                header.top {
                    span.brand { (t(lang, "app")) " " small { (t(lang, "open.sub")) } }
                    a.lang href=(other_href) lang=(other) hreflang=(other) { (other_label) }
                }
                main #main.open tabindex="-1" { (body) }
            }
        }
    }
}

fn last<T>(items: &[T], n: usize) -> &[T] {
    &items[items.len().saturating_sub(n)..]
}

fn render(lang: Lang, files: &OpenDataFiles) -> Markup {
    let data = &files.data;
    let minimum = data.minimum;
    let empty = Vec::new();
    let rows = |name: &str| files.table(name).map_or(&empty, |t| &t.rows);
    let new_cases = rows("new_cases");
    let national: Vec<&Vec<Cell>> = new_cases
        .iter()
        .filter(|r| text(r.get(1)) == NATIONAL)
        .collect();
    let chart_days = last(&national, CHART_DAYS);
    let labels: Vec<String> = chart_days
        .iter()
        .map(|r| text(r.first()).get(5..).unwrap_or("").to_string())
        .collect();
    let values: Vec<Option<i64>> = chart_days.iter().map(|r| count(r.get(2))).collect();
    let averages: Vec<Option<i64>> = chart_days
        .iter()
        .map(|r| match r.get(3) {
            Some(Cell::Tenths(t)) => *t,
            _ => None,
        })
        .collect();
    let as_of = data.as_of.to_string();
    let prefectures: Vec<&Vec<Cell>> = new_cases
        .iter()
        .filter(|r| text(r.first()) == as_of && text(r.get(1)) != NATIONAL)
        .collect();
    let by_status: Vec<&Vec<Cell>> = rows("cases_by_status")
        .iter()
        .filter(|r| text(r.first()) == as_of)
        .collect();
    let status_cell = |area: &str, status: &str| {
        by_status
            .iter()
            .find(|r| text(r.get(1)) == area && text(r.get(2)) == status)
            .and_then(|r| r.get(3))
    };
    let status_labels: Vec<String> = PUBLIC_STATUSES
        .iter()
        .map(|s| t(lang, status_key(s)).to_string())
        .collect();
    let status_values: Vec<Option<i64>> = PUBLIC_STATUSES
        .iter()
        .map(|s| count(status_cell(NATIONAL, s)))
        .collect();
    let status_areas: Vec<&str> = std::iter::once(NATIONAL)
        .chain(prefectures.iter().map(|r| text(r.get(1))))
        .collect();
    let notifications = rows("notifications");
    let keys_days = last(notifications, CHART_DAYS);
    let key_labels: Vec<String> = keys_days
        .iter()
        .map(|r| text(r.first()).get(5..).unwrap_or("").to_string())
        .collect();
    let key_values: Vec<Option<i64>> = keys_days.iter().map(|r| count(r.get(3))).collect();
    // The share over the days where both counts are shown: only published figures enter it.
    let (registered, cases) = notifications.iter().fold((0, 0), |(r, c), row| {
        match (count(row.get(2)), count(row.get(1))) {
            (Some(reg), Some(new)) => (r + reg, c + new),
            _ => (r, c),
        }
    });
    let share = (cases > 0).then(|| format!("{:.1} %", 100.0 * registered as f64 / cases as f64));
    let area_name = |area: &str| {
        if area == NATIONAL {
            t(lang, "open.national").to_string()
        } else {
            area.to_string()
        }
    };
    html! {
        h1 { (t(lang, "open.title")) }
        p #as-of { (t(lang, "open.as_of")) ": " strong { (as_of) } " · "
            (t(lang, "open.range")) ": " (data.from) " – " (as_of) }
        p.muted { (t(lang, "open.suppression")) " (<" (minimum) ", " (WITHHELD) ")" }

        section aria-labelledby="new-title" {
            h2 #new-title { (t(lang, "open.new_cases")) }
            figure.chart {
                (svg(bar_chart(t(lang, "open.new_cases"), &labels, &values, Some(&averages))))
                figcaption.muted { (t(lang, "open.new_cases.caption")) }
            }
            div.table-wrap { table #new-cases {
                caption { (t(lang, "open.last_days")) }
                thead { tr {
                    th scope="col" { (t(lang, "open.date")) }
                    th scope="col" { (t(lang, "open.count")) }
                    th scope="col" { (t(lang, "open.average7")) }
                } }
                tbody { @for row in last(&national, TABLE_DAYS).iter().rev() { tr {
                    th scope="row" { (text(row.first())) }
                    td { (shown(row.get(2), minimum)) }
                    td { (shown(row.get(3), minimum)) }
                } } }
            } }
        }

        section aria-labelledby="pref-title" {
            h2 #pref-title { (t(lang, "open.by_prefecture")) }
            div.table-wrap { table #by-prefecture {
                caption { (as_of) }
                thead { tr {
                    th scope="col" { (t(lang, "open.area")) }
                    th scope="col" { (t(lang, "open.count")) }
                    th scope="col" { (t(lang, "open.average7")) }
                } }
                tbody { @for row in &prefectures { tr {
                    th scope="row" { (text(row.get(1))) }
                    td { (shown(row.get(2), minimum)) }
                    td { (shown(row.get(3), minimum)) }
                } } }
            } }
        }

        section aria-labelledby="status-title" {
            h2 #status-title { (t(lang, "open.by_status")) }
            figure.chart {
                (svg(bar_chart(t(lang, "open.by_status"), &status_labels, &status_values, None)))
            }
            div.table-wrap { table #by-status {
                caption { (as_of) }
                thead { tr {
                    th scope="col" { (t(lang, "open.area")) }
                    @for label in &status_labels { th scope="col" { (label) } }
                } }
                tbody { @for area in &status_areas { tr {
                    th scope="row" { (area_name(area)) }
                    @for status in PUBLIC_STATUSES { td { (shown(status_cell(area, status), minimum)) } }
                } } }
            } }
        }

        section aria-labelledby="beds-title" {
            h2 #beds-title { (t(lang, "open.beds")) }
            p #beds-note { (t(lang, "open.beds.none")) }
        }

        section aria-labelledby="en-title" {
            h2 #en-title { (t(lang, "open.notifications")) }
            p { (t(lang, "open.share")) ": " strong #share { (share.unwrap_or_else(|| "–".into())) }
                " " span.muted { "(" (registered) " / " (cases) ") " (t(lang, "open.share.note")) } }
            figure.chart {
                (svg(bar_chart(t(lang, "open.keys"), &key_labels, &key_values, None)))
                figcaption.muted { (t(lang, "open.keys")) }
            }
            div.table-wrap { table #notifications {
                caption { (t(lang, "open.last_days")) }
                thead { tr {
                    th scope="col" { (t(lang, "open.date")) }
                    th scope="col" { (t(lang, "open.count")) }
                    th scope="col" { (t(lang, "open.registrations")) }
                    th scope="col" { (t(lang, "open.keys")) }
                } }
                tbody { @for row in last(notifications, TABLE_DAYS).iter().rev() { tr {
                    th scope="row" { (text(row.first())) }
                    td { (shown(row.get(1), minimum)) }
                    td { (shown(row.get(2), minimum)) }
                    td { (shown(row.get(3), minimum)) }
                } } }
            } }
        }

        section aria-labelledby="data-title" {
            h2 #data-title { (t(lang, "open.data")) }
            p { (t(lang, "open.data.intro")) }
            ul #files { @for table in TABLES { li {
                (table) ": "
                a href={ "/open/data/" (table) ".csv" } { "CSV" } " · "
                a href={ "/open/data/" (table) ".json" } { "JSON" }
            } } }
            dl {
                dt { code { "new_cases" } } dd { (t(lang, "open.cols.new_cases")) }
                dt { code { "cases_by_status" } } dd { (t(lang, "open.cols.cases_by_status")) }
                dt { code { "notifications" } } dd { (t(lang, "open.cols.notifications")) }
            }
            p { a href="/open/snapshots/manifest.json" { (t(lang, "open.snapshots")) } " – " (t(lang, "open.snapshots.note")) }
        }
    }
}

/// `GET /open/` (Japanese) and `GET /open/en/` (English).
pub async fn page(console: Data, lang: Lang) -> Page {
    let files = console
        .cases()
        .open_data()
        .await
        .map_err(|e| PageError::Service(lang, e))?;
    let markup = frame(lang, render(lang, &files));
    Ok(HttpResponse::build(StatusCode::OK)
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={CURRENT_MAX_AGE_SECONDS}"),
        ))
        .body(markup.into_string()))
}
