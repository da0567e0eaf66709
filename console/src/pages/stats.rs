//! The statistics dashboard: daily new cases and cases by status for the viewer's area as
//! server-rendered SVG bar charts and tables, with CSV downloads. Counts only, small counts
//! suppressed by the case registry.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web as aweb};
use maud::html;
use mimamori_cases::model::Date;
use mimamori_cases::service::statistics::StatisticsTableView;

use super::Data;
use crate::i18n::{Lang, status_key, t};
use crate::layout::{self, svg};
use crate::web;
use crate::{Page, PageError};

pub(super) fn routes(config: &mut aweb::ServiceConfig) {
    config
        .route("/stats", aweb::get().to(dashboard))
        .route("/stats/{table}.csv", aweb::get().to(csv));
}

/// Sums a table's counts by `column`; the bool says some count was suppressed.
fn sum_by(table: &StatisticsTableView, column: &str) -> BTreeMap<String, (i64, bool)> {
    let mut out: BTreeMap<String, (i64, bool)> = BTreeMap::new();
    for row in &table.rows {
        let key = row
            .get(column)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let entry = out.entry(key).or_default();
        match row.get("count") {
            Some(serde_json::Value::Number(n)) => entry.0 += n.as_i64().unwrap_or(0),
            _ => entry.1 = true,
        }
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A vertical bar chart (one bar per label) as SVG.
fn bar_chart(title: &str, bars: &[(String, i64, bool)], label_every: usize) -> String {
    const W: f64 = 720.0;
    const H: f64 = 260.0;
    const LEFT: f64 = 40.0;
    const BOTTOM: f64 = 40.0;
    const TOP: f64 = 16.0;
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
    let n = bars.len().max(1) as f64;
    let slot = (W - LEFT - 10.0) / n;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" font-family="sans-serif" font-size="11"><title>{}</title><rect width="100%" height="100%" fill="#fff"/>"##,
        escape(title)
    );
    let base = H - BOTTOM;
    let _ = write!(
        s,
        r##"<line x1="{LEFT}" y1="{base}" x2="{}" y2="{base}" stroke="#333"/><text x="{}" y="{}" text-anchor="end">{}</text><text x="{}" y="{}" text-anchor="end">0</text>"##,
        W - 10.0,
        LEFT - 6.0,
        TOP + 4.0,
        max as i64,
        LEFT - 6.0,
        base + 4.0
    );
    for (i, (label, value, suppressed)) in bars.iter().enumerate() {
        let height = (base - TOP) * (*value as f64) / max;
        let width = (slot * 0.7).min(48.0);
        let x = LEFT + slot * i as f64 + (slot - width) / 2.0;
        let _ = write!(
            s,
            r##"<rect x="{x:.1}" y="{:.1}" width="{width:.1}" height="{height:.1}" fill="#0b5cad"><title>{}: {}{}</title></rect>"##,
            base - height,
            escape(label),
            value,
            if *suppressed { " (+)" } else { "" }
        );
        if *value > 0 || *suppressed {
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}{}</text>"##,
                x + width / 2.0,
                base - height - 3.0,
                value,
                if *suppressed { "+" } else { "" }
            );
        }
        if i % label_every.max(1) == 0 {
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                x + width / 2.0,
                base + 16.0,
                escape(label)
            );
        }
    }
    s.push_str("</svg>");
    s
}

async fn dashboard(console: Data, request: HttpRequest) -> Page {
    let staff = console.staff(&request).await?;
    let lang = staff.lang;
    let error = |e| PageError::Service(lang, e);
    let new_cases = console
        .cases()
        .statistics_table(&staff.principal, "new_cases", None, None)
        .await
        .map_err(error)?;
    let mut by_status = console
        .cases()
        .statistics_table(&staff.principal, "cases_by_status", None, None)
        .await
        .map_err(error)?;
    // The table has a row per day and status; the chart shows the last day (today so far).
    let last_day = serde_json::Value::String(by_status.to.clone());
    by_status
        .rows
        .retain(|row| row.get("date") == Some(&last_day));
    let per_day = sum_by(&new_cases, "date");
    let (from, to) = (
        Date::parse(&new_cases.from).map_or(0, |d| d.days),
        Date::parse(&new_cases.to).map_or(0, |d| d.days),
    );
    let days: Vec<(String, i64, bool)> = (from..=to)
        .map(|days| {
            let date = Date { days }.to_string();
            let (count, suppressed) = per_day.get(&date).copied().unwrap_or((0, false));
            (date[5..].to_string(), count, suppressed)
        })
        .collect();
    let statuses: Vec<(String, i64, bool)> = sum_by(&by_status, "status")
        .into_iter()
        .map(|(status, (count, suppressed))| {
            (t(lang, status_key(&status)).to_string(), count, suppressed)
        })
        .collect();
    let suppressed = days.iter().chain(&statuses).any(|d| d.2);
    let total_new: i64 = days.iter().map(|d| d.1).sum();
    let total_status: i64 = statuses.iter().map(|d| d.1).sum();
    let body = html! {
        h1 { (t(lang, "stats.title")) }
        p.muted { (staff.principal.organization.name) " · " (new_cases.from) " – " (new_cases.to) }
        @if suppressed { p.muted { (t(lang, "stats.suppressed")) } }
        section aria-labelledby="new-title" {
            h2 #new-title { (t(lang, "stats.new_cases")) }
            figure.chart { (svg(bar_chart(t(lang, "stats.new_cases"), &days, 5))) }
            p { (t(lang, "stats.total")) ": " strong #new-total { (total_new) } " · "
                a href="/console/stats/new_cases.csv" download { (t(lang, "stats.csv")) } }
        }
        section aria-labelledby="status-title" {
            h2 #status-title { (t(lang, "stats.by_status")) }
            figure.chart { (svg(bar_chart(t(lang, "stats.by_status"), &statuses, 1))) }
            div.table-wrap { table #by-status {
                thead { tr { th scope="col" { (t(lang, "cases.status")) } th scope="col" { (t(lang, "stats.count")) } } }
                tbody {
                    @for (status, count, suppressed) in &statuses {
                        tr { td { (status) } td { (count) @if *suppressed { "+" } } }
                    }
                    tr { th scope="row" { (t(lang, "stats.total")) } td #status-total { (total_status) } }
                }
            } }
            p { a href="/console/stats/cases_by_status.csv" download { (t(lang, "stats.csv")) } }
        }
    };
    Ok(web::html(
        StatusCode::OK,
        layout::page(&staff, "/console/stats", t(lang, "stats.title"), body),
    ))
}

async fn csv(console: Data, request: HttpRequest, path: aweb::Path<String>) -> Page {
    let staff = console.staff(&request).await?;
    let lang: Lang = staff.lang;
    let table = path.into_inner();
    if !matches!(table.as_str(), "new_cases" | "cases_by_status") {
        return Err(PageError::Service(
            lang,
            mimamori_cases::service::CaseError::NotFound,
        ));
    }
    let view = console
        .cases()
        .statistics_table(&staff.principal, &table, None, None)
        .await
        .map_err(|e| PageError::Service(lang, e))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"{table}_{}_{}.csv\"",
                view.from, view.to
            ),
        ))
        .body(view.to_csv()))
}
