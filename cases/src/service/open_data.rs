//! The public open data: nation-wide and per-prefecture counts for anyone, without signing in.
//!
//! Three tables, each as CSV and JSON: `new_cases` (per day and area, with the 7-day
//! average), `cases_by_status` (home care, hotel, hospitalized, ICU/ventilator at the end of
//! each day) and `notifications` (the exposure-notification system: uploads and keys
//! published per day beside the day's new cases, as COCOA's own figures were reported).
//!
//! Privacy: only counts of areas no smaller than a prefecture, small counts hidden (`<5`) and,
//! because a nation-wide count is the sum of its prefectures', further counts withheld (`x`)
//! by [`crate::suppression::suppress`] until none can be derived by subtraction. Every file is
//! checked against that attacker again after it was rendered and parsed back.
//!
//! Determinism: the same data gives the same bytes on every backend and every replica (rows
//! in a fixed order, integers and tenths only, no build time inside a file). Build metadata
//! lives in the snapshot manifest only.
//!
//! Snapshots: once a day the files of the day just ended are parsed back, verified, stored
//! by SHA-256, read back and only then listed in the manifest, like the key server's export
//! files. A listed snapshot never changes; a later revision of a past day's figures shows in
//! the next snapshot, and its manifest entry names the revised days (`revisedDates`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::{CaseError, CaseRegistry, internal};
use crate::model::followup::{local_day, local_midnight_ms};
use crate::model::{Date, OrgKind};
use crate::store::statistics::{Area, StatisticsQuery, StatisticsTable};
use crate::suppression::{self, Published, SumRelation};

/// Days covered by the open data, ending with the last complete local day.
pub const WINDOW_DAYS: i64 = 120;

/// The `area` of nation-wide rows (prefecture rows carry the prefecture's name).
pub const NATIONAL: &str = "national";

/// The statuses published in `cases_by_status`, in this order.
pub const PUBLIC_STATUSES: [&str; 4] =
    ["home_care", "hotel_care", "hospitalized", "icu_ventilator"];

/// The tables, in the order of the files.
pub const TABLES: [&str; 3] = ["new_cases", "cases_by_status", "notifications"];

/// How long a reader (or a CDN) may keep the current files, in seconds; the server rebuilds
/// them at most this often.
pub const CURRENT_MAX_AGE_SECONDS: i64 = 300;

/// How long a snapshot file may be kept: a year (they never change).
pub const SNAPSHOT_MAX_AGE_SECONDS: i64 = 31_536_000;

/// Snapshot files kept in memory per process (verified bytes; they never change).
const SNAPSHOT_CACHE_ENTRIES: usize = 256;

/// One published cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// A text (a date, an area, a status).
    Text(String),
    /// A count, shown, `<N` or `x`.
    Count(Published),
    /// A value in tenths (the 7-day average), or empty where a day of its week is hidden.
    Tenths(Option<i64>),
}

/// One table of the open data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenTable {
    /// Its name (`new_cases`, `cases_by_status`, `notifications`).
    pub name: &'static str,
    /// Its column names.
    pub columns: &'static [&'static str],
    /// Its rows, one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

/// Every table for one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenData {
    /// The last day covered (yesterday, local).
    pub as_of: Date,
    /// The first day covered.
    pub from: Date,
    /// Counts from 1 to this − 1 are shown as `<N`.
    pub minimum: i64,
    /// The tables, in [`TABLES`] order.
    pub tables: Vec<OpenTable>,
}

/// One rendered file.
#[derive(Debug, Clone)]
pub struct OpenFile {
    /// File name, e.g. `new_cases.csv`.
    pub name: String,
    /// Its media type.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: Bytes,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
}

impl OpenFile {
    fn new(name: String, bytes: Vec<u8>) -> OpenFile {
        let content_type = if name.ends_with(".csv") {
            "text/csv; charset=utf-8"
        } else {
            "application/json"
        };
        OpenFile {
            sha256: sha256_hex(&bytes),
            name,
            content_type,
            bytes: Bytes::from(bytes),
        }
    }

    /// A strong ETag for the file: its SHA-256 (quoted).
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.sha256)
    }
}

/// The open data with its rendered files.
#[derive(Debug, Clone)]
pub struct OpenDataFiles {
    /// The tables.
    pub data: OpenData,
    /// The files, CSV then JSON of each table.
    pub files: Vec<OpenFile>,
    /// When they were built (Unix ms; never written into a file).
    pub built_at_ms: i64,
}

impl OpenDataFiles {
    /// The file called `name`.
    pub fn file(&self, name: &str) -> Option<&OpenFile> {
        self.files.iter().find(|f| f.name == name)
    }

    /// The table called `name`.
    pub fn table(&self, name: &str) -> Option<&OpenTable> {
        self.data.tables.iter().find(|t| t.name == name)
    }
}

/// What building the day's snapshot did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotOutcome {
    /// Built, verified and listed.
    Built(String),
    /// The day was listed already (by this or another replica); nothing changed.
    Existing(String),
}

/// Per-process caches: the current files and verified snapshot files.
#[derive(Default)]
pub(crate) struct OpenDataCache {
    current: tokio::sync::RwLock<Option<Arc<OpenDataFiles>>>,
    building: tokio::sync::Mutex<()>,
    snapshots: Mutex<HashMap<String, OpenFile>>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = String::with_capacity(64);
    for byte in digest.as_ref() {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

fn count_text(published: Published, minimum: i64) -> String {
    match published {
        Published::Count(n) => n.to_string(),
        Published::Small => format!("<{minimum}"),
        Published::Withheld => suppression::WITHHELD.to_string(),
    }
}

fn tenths_text(tenths: i64) -> String {
    format!("{}.{}", tenths / 10, tenths % 10)
}

impl Cell {
    fn csv(&self, minimum: i64) -> String {
        match self {
            Cell::Text(text) => super::statistics::csv_field(text),
            Cell::Count(published) => count_text(*published, minimum),
            Cell::Tenths(Some(tenths)) => tenths_text(*tenths),
            Cell::Tenths(None) => String::new(),
        }
    }

    fn json(&self, minimum: i64) -> serde_json::Value {
        match self {
            Cell::Text(text) => serde_json::Value::String(text.clone()),
            Cell::Count(published) => published.to_json(minimum),
            Cell::Tenths(Some(tenths)) => serde_json::Number::from_f64(*tenths as f64 / 10.0)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Cell::Tenths(None) => serde_json::Value::Null,
        }
    }
}

impl OpenTable {
    /// The table as CSV: a header line, then a line per row (CRLF).
    pub fn to_csv(&self, minimum: i64) -> String {
        let mut out = self.columns.join(",");
        out.push_str("\r\n");
        for row in &self.rows {
            let fields: Vec<String> = row.iter().map(|c| c.csv(minimum)).collect();
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
        out
    }

    /// The table as a JSON value (`table`, `from`, `to`, `minimumCount`, `columns`, `rows`).
    pub fn to_json(&self, data: &OpenData) -> serde_json::Value {
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|row| {
                let mut object = serde_json::Map::new();
                for (column, cell) in self.columns.iter().zip(row) {
                    object.insert((*column).to_string(), cell.json(data.minimum));
                }
                serde_json::Value::Object(object)
            })
            .collect();
        serde_json::json!({
            "table": self.name,
            "from": data.from.to_string(),
            "to": data.as_of.to_string(),
            "minimumCount": data.minimum,
            "columns": self.columns,
            "rows": rows,
        })
    }
}

impl OpenData {
    /// Renders every table as CSV and JSON.
    pub fn render(&self) -> Result<Vec<OpenFile>, CaseError> {
        let mut files = Vec::new();
        for table in &self.tables {
            files.push(OpenFile::new(
                format!("{}.csv", table.name),
                table.to_csv(self.minimum).into_bytes(),
            ));
            let mut json = serde_json::to_vec(&table.to_json(self))
                .map_err(|e| internal(format!("open data JSON: {e}")))?;
            json.push(b'\n');
            files.push(OpenFile::new(format!("{}.json", table.name), json));
        }
        Ok(files)
    }
}

/// Splits one CSV line into fields (quotes as [`super::statistics::csv_field`] writes them).
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (_, c) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Parses a published count back: a number, `<N` or `x`.
fn parse_count(text: &str, minimum: i64) -> Option<Published> {
    if text == suppression::WITHHELD {
        Some(Published::Withheld)
    } else if text == format!("<{minimum}") {
        Some(Published::Small)
    } else {
        text.parse().ok().map(Published::Count)
    }
}

/// Checks rendered files the way a reader gets them: each CSV and JSON parses back to the
/// tables' cells; every count is 0, at least the minimum, `<N` or `x`; and the careful reader
/// of [`suppression::reader_bounds`], given the parsed CSV and the sums it implies (a
/// nation-wide count is the sum of the prefectures'), pins no hidden count to one value.
pub fn verify_files(data: &OpenData, files: &[OpenFile]) -> Result<(), String> {
    for table in &data.tables {
        let csv_name = format!("{}.csv", table.name);
        let json_name = format!("{}.json", table.name);
        let find = |name: &str| {
            files
                .iter()
                .find(|f| f.name == name)
                .ok_or_else(|| format!("{name}: missing"))
        };
        let (csv, json) = (find(&csv_name)?, find(&json_name)?);
        for file in [csv, json] {
            if sha256_hex(&file.bytes) != file.sha256 {
                return Err(format!("{}: hash does not match", file.name));
            }
        }
        let text = std::str::from_utf8(&csv.bytes).map_err(|_| format!("{csv_name}: not UTF-8"))?;
        let lines: Vec<&str> = text
            .strip_suffix("\r\n")
            .ok_or_else(|| format!("{csv_name}: no final line break"))?
            .split("\r\n")
            .collect();
        if lines.first().copied() != Some(table.columns.join(",").as_str())
            || lines.len() != table.rows.len() + 1
        {
            return Err(format!("{csv_name}: header or row count differs"));
        }
        for (line, row) in lines[1..].iter().zip(&table.rows) {
            let expected: Vec<String> = row
                .iter()
                .map(|c| csv_fields(&c.csv(data.minimum)).concat())
                .collect();
            if csv_fields(line) != expected {
                return Err(format!("{csv_name}: a row does not parse back"));
            }
            for cell in row {
                if let Cell::Count(Published::Count(n)) = cell
                    && *n != 0
                    && *n < data.minimum
                {
                    return Err(format!("{csv_name}: a count below the threshold is shown"));
                }
            }
        }
        let parsed: serde_json::Value = serde_json::from_slice(&json.bytes)
            .map_err(|e| format!("{json_name}: does not parse: {e}"))?;
        if parsed != table.to_json(data) {
            return Err(format!("{json_name}: does not parse back to the table"));
        }
        verify_sums(table, &lines[1..], data.minimum).map_err(|e| format!("{csv_name}: {e}"))?;
    }
    Ok(())
}

/// The subtraction attack on a parsed CSV: rows that share every key but the area form one
/// sum (the nation-wide row is the total of the prefectures' rows).
fn verify_sums(table: &OpenTable, lines: &[&str], minimum: i64) -> Result<(), String> {
    let Some(area) = table.columns.iter().position(|c| *c == "area") else {
        return Ok(());
    };
    let Some(count) = table.columns.iter().position(|c| *c == "count") else {
        return Ok(());
    };
    // Group key: every column but the area, the count and derived averages.
    let mut groups: BTreeMap<Vec<String>, (Option<Published>, Vec<Published>)> = BTreeMap::new();
    for line in lines {
        let fields = csv_fields(line);
        let key: Vec<String> = fields
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != area && *i != count && table.columns[*i] != "average7")
            .map(|(_, f)| f.clone())
            .collect();
        let value = fields
            .get(count)
            .and_then(|f| parse_count(f, minimum))
            .ok_or("a count does not parse")?;
        let entry = groups.entry(key).or_default();
        if fields.get(area).map(String::as_str) == Some(NATIONAL) {
            entry.0 = Some(value);
        } else {
            entry.1.push(value);
        }
    }
    for (key, (total, parts)) in groups {
        let Some(total) = total else {
            return Err(format!("no nation-wide row for {key:?}"));
        };
        let published: Vec<Published> = std::iter::once(total).chain(parts).collect();
        let relation = SumRelation {
            total: 0,
            parts: (1..published.len()).collect(),
        };
        let bounds = suppression::reader_bounds(&published, &[relation], minimum);
        for (p, (low, high)) in published.iter().zip(bounds) {
            if p.is_hidden() && low >= high {
                return Err(format!("a hidden count of {key:?} can be derived"));
            }
        }
    }
    Ok(())
}

/// Lines of a CSV grouped by their first field (the date), for finding revised days.
fn lines_by_date(bytes: &[u8]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let text = String::from_utf8_lossy(bytes);
    for line in text.split("\r\n").skip(1).filter(|l| !l.is_empty()) {
        let date = line.split(',').next().unwrap_or("").to_string();
        out.entry(date).or_default().push(line.to_string());
    }
    out
}

/// Publishes one sum: `total` over `parts`, with primary and complementary suppression.
fn publish_sum(parts: &[i64], minimum: i64) -> (Published, Vec<Published>) {
    let total: i64 = parts.iter().sum();
    let counts: Vec<i64> = std::iter::once(total)
        .chain(parts.iter().copied())
        .collect();
    let relation = SumRelation {
        total: 0,
        parts: (1..counts.len()).collect(),
    };
    let published = suppression::suppress(&counts, &[relation], minimum);
    (published[0], published[1..].to_vec())
}

/// The 7-day average (tenths, rounded half up) ending at each day, where all seven counts are
/// shown (so it says nothing the published counts do not).
fn averages(series: &[Published]) -> Vec<Option<i64>> {
    (0..series.len())
        .map(|i| {
            if i < 6 {
                return None;
            }
            let mut sum = 0;
            for p in &series[i - 6..=i] {
                match p {
                    Published::Count(n) => sum += n,
                    _ => return None,
                }
            }
            Some((20 * sum + 7) / 14)
        })
        .collect()
}

impl CaseRegistry {
    /// The current open data (cached per process, rebuilt at most every
    /// [`CURRENT_MAX_AGE_SECONDS`] and when the day changes). Public: no principal.
    pub async fn open_data(&self) -> Result<Arc<OpenDataFiles>, CaseError> {
        let fresh = |files: &OpenDataFiles| {
            let now = self.now_ms();
            now >= files.built_at_ms
                && now - files.built_at_ms < CURRENT_MAX_AGE_SECONDS * 1000
                && files.data.as_of == self.open_data_as_of()
        };
        if let Some(files) = self.open_data.current.read().await.as_ref()
            && fresh(files)
        {
            return Ok(Arc::clone(files));
        }
        // One build per process at a time; the others wait and take its result.
        let _building = self.open_data.building.lock().await;
        if let Some(files) = self.open_data.current.read().await.as_ref()
            && fresh(files)
        {
            return Ok(Arc::clone(files));
        }
        let files = Arc::new(self.build_open_data().await?);
        *self.open_data.current.write().await = Some(Arc::clone(&files));
        Ok(files)
    }

    /// The last day the open data covers: yesterday in local time.
    pub fn open_data_as_of(&self) -> Date {
        let today = local_day(self.now_ms(), self.config.utc_offset_minutes);
        Date {
            days: today.days - 1,
        }
    }

    /// Builds the open data from the registry now (no cache) and renders its files.
    pub async fn build_open_data(&self) -> Result<OpenDataFiles, CaseError> {
        let built_at_ms = self.now_ms();
        let offset = self.config.utc_offset_minutes;
        let minimum = self.config.statistics_minimum_count;
        let as_of = self.open_data_as_of();
        let from = Date {
            days: as_of.days - (WINDOW_DAYS - 1),
        };
        // Six days before the window too, so the window's first days have their average and
        // sliding the window never changes a published row.
        let lead = 6usize;
        let first = Date {
            days: from.days - lead as i64,
        };
        let query = |table| StatisticsQuery {
            table,
            area: Area::National,
            from: first.to_string(),
            to: as_of.to_string(),
            from_ms: local_midnight_ms(first, offset),
            to_ms: local_midnight_ms(
                Date {
                    days: as_of.days + 1,
                },
                offset,
            ),
            offset_ms: offset * 60_000,
        };
        let new_cases = self
            .statistics
            .statistics(&query(StatisticsTable::NewCases))
            .await?;
        let by_status = self
            .statistics
            .statistics(&query(StatisticsTable::CasesByStatus))
            .await?;
        let window = query(StatisticsTable::Verification);
        let keys = self
            .open_data_store
            .keys_published(window.from_ms, window.to_ms, window.offset_ms)
            .await?;

        // Prefectures by name (ids are random per installation; names are what readers know
        // and keep the files equal across installations with the same data).
        let mut names: BTreeMap<String, String> = self
            .store
            .organizations()
            .await?
            .into_iter()
            .filter(|o| o.kind == OrgKind::Prefecture)
            .map(|o| (o.id, o.name))
            .collect();
        for (key, _) in new_cases.iter().chain(&by_status) {
            if let Some(id) = key.get(1) {
                names.entry(id.clone()).or_insert_with(|| id.clone());
            }
        }
        let mut prefectures: Vec<(String, String)> =
            names.into_iter().map(|(id, name)| (name, id)).collect();
        prefectures.sort();
        let index: HashMap<&str, usize> = prefectures
            .iter()
            .enumerate()
            .map(|(i, (_, id))| (id.as_str(), i))
            .collect();
        let start = first;
        let days = usize::try_from(WINDOW_DAYS).unwrap_or(0) + lead;
        let day_index = |date: &str| {
            Date::parse(date)
                .map(|d| d.days - start.days)
                .and_then(|i| usize::try_from(i).ok())
                .filter(|i| *i < days)
        };

        // new_cases: per day, the nation-wide total over the prefectures.
        let mut grid = vec![vec![0i64; prefectures.len()]; days];
        for (key, count) in &new_cases {
            if let (Some(d), Some(p)) = (
                key.first().and_then(|d| day_index(d)),
                key.get(1).and_then(|p| index.get(p.as_str())),
            ) {
                grid[d][*p] += count;
            }
        }
        let published: Vec<(Published, Vec<Published>)> = grid
            .iter()
            .map(|parts| publish_sum(parts, minimum))
            .collect();
        let national: Vec<Published> = published.iter().map(|(t, _)| *t).collect();
        let national_average = averages(&national);
        let area_averages: Vec<Vec<Option<i64>>> = (0..prefectures.len())
            .map(|p| {
                averages(
                    &published
                        .iter()
                        .map(|(_, parts)| parts[p])
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        let date_of = |d: usize| Date {
            days: start.days + d as i64,
        };
        let mut rows = Vec::new();
        for (d, (total, parts)) in published.iter().enumerate().skip(lead) {
            let date = date_of(d).to_string();
            rows.push(vec![
                Cell::Text(date.clone()),
                Cell::Text(NATIONAL.into()),
                Cell::Count(*total),
                Cell::Tenths(national_average[d]),
            ]);
            for (p, part) in parts.iter().enumerate() {
                rows.push(vec![
                    Cell::Text(date.clone()),
                    Cell::Text(prefectures[p].0.clone()),
                    Cell::Count(*part),
                    Cell::Tenths(area_averages[p][d]),
                ]);
            }
        }
        let new_cases_table = OpenTable {
            name: "new_cases",
            columns: &["date", "area", "count", "average7"],
            rows,
        };

        // cases_by_status: per day and status, the nation-wide total over the prefectures.
        let mut grid = vec![vec![vec![0i64; prefectures.len()]; PUBLIC_STATUSES.len()]; days];
        for (key, count) in &by_status {
            if let (Some(d), Some(p), Some(s)) = (
                key.first().and_then(|d| day_index(d)),
                key.get(1).and_then(|p| index.get(p.as_str())),
                key.get(3)
                    .and_then(|s| PUBLIC_STATUSES.iter().position(|x| x == s)),
            ) {
                grid[d][s][*p] += count;
            }
        }
        let mut rows = Vec::new();
        for (d, statuses) in grid.iter().enumerate().skip(lead) {
            let date = date_of(d).to_string();
            let published: Vec<(Published, Vec<Published>)> = statuses
                .iter()
                .map(|parts| publish_sum(parts, minimum))
                .collect();
            for (s, (total, _)) in published.iter().enumerate() {
                rows.push(vec![
                    Cell::Text(date.clone()),
                    Cell::Text(NATIONAL.into()),
                    Cell::Text(PUBLIC_STATUSES[s].into()),
                    Cell::Count(*total),
                ]);
            }
            for (p, (name, _)) in prefectures.iter().enumerate() {
                for (s, (_, parts)) in published.iter().enumerate() {
                    rows.push(vec![
                        Cell::Text(date.clone()),
                        Cell::Text(name.clone()),
                        Cell::Text(PUBLIC_STATUSES[s].into()),
                        Cell::Count(parts[p]),
                    ]);
                }
            }
        }
        let by_status_table = OpenTable {
            name: "cases_by_status",
            columns: &["date", "area", "status", "count"],
            rows,
        };

        // notifications: nation-wide only; each count hidden on its own when small.
        let mut uploads = vec![(0i64, 0i64); days];
        for day in &keys {
            if let Some(d) = day_index(&day.date) {
                uploads[d] = (day.uploads, day.keys);
            }
        }
        let single = |n: i64| suppression::suppress(&[n], &[], minimum)[0];
        let rows = uploads
            .iter()
            .enumerate()
            .skip(lead)
            .map(|(d, (registrations, keys))| {
                vec![
                    Cell::Text(date_of(d).to_string()),
                    Cell::Count(national[d]),
                    Cell::Count(single(*registrations)),
                    Cell::Count(single(*keys)),
                ]
            })
            .collect();
        let notifications_table = OpenTable {
            name: "notifications",
            columns: &["date", "newCases", "registrations", "keys"],
            rows,
        };

        let data = OpenData {
            as_of,
            from,
            minimum,
            tables: vec![new_cases_table, by_status_table, notifications_table],
        };
        let files = data.render()?;
        Ok(OpenDataFiles {
            data,
            files,
            built_at_ms,
        })
    }

    /// Builds the snapshot of the day just ended if it is not listed yet: the files are
    /// verified ([`verify_files`]), stored by SHA-256, read back and compared, and only then
    /// listed in the manifest. Idempotent; safe on every replica at once (files are
    /// content-addressed and the first listing of a day wins).
    pub async fn open_data_snapshot(&self) -> Result<SnapshotOutcome, CaseError> {
        let date = self.open_data_as_of().to_string();
        let listed = self.open_data_store.snapshots().await?;
        if listed.iter().any(|(day, _)| *day == date) {
            return Ok(SnapshotOutcome::Existing(date));
        }
        let built = self.build_open_data().await?;
        if built.data.as_of.to_string() != date {
            // The day ended while building: the next round builds the new day's.
            return Ok(SnapshotOutcome::Existing(date));
        }
        verify_files(&built.data, &built.files)
            .map_err(|e| internal(format!("open data snapshot {date}: {e}")))?;
        // Days whose figures differ from the previous snapshot's (late reports, corrections).
        let previous = listed
            .iter()
            .rev()
            .find(|(day, _)| day.as_str() < date.as_str())
            .and_then(|(_, entry)| serde_json::from_str::<serde_json::Value>(entry).ok());
        let mut revised = serde_json::Map::new();
        for file in built.files.iter().filter(|f| f.name.ends_with(".csv")) {
            let Some(old_sha) = previous.as_ref().and_then(|entry| {
                entry["files"].as_array().and_then(|files| {
                    files
                        .iter()
                        .find(|f| f["name"] == file.name.as_str())
                        .and_then(|f| f["sha256"].as_str().map(str::to_string))
                })
            }) else {
                continue;
            };
            let Some(old) = self.open_data_store.snapshot_file(&old_sha).await? else {
                continue;
            };
            let (old, new) = (lines_by_date(&old), lines_by_date(&file.bytes));
            let dates: BTreeSet<&String> = new
                .iter()
                .filter(|(date, lines)| old.get(*date).is_some_and(|o| o != *lines))
                .map(|(date, _)| date)
                .collect();
            revised.insert(file.name.clone(), serde_json::json!(dates));
        }
        let mut listed_files = Vec::new();
        for file in &built.files {
            self.open_data_store
                .put_snapshot_file(&file.sha256, &file.bytes)
                .await?;
            let back = self
                .open_data_store
                .snapshot_file(&file.sha256)
                .await?
                .ok_or_else(|| internal("open data snapshot: a stored file is missing"))?;
            if sha256_hex(&back) != file.sha256 {
                return Err(internal(
                    "open data snapshot: a stored file reads back altered",
                ));
            }
            listed_files.push(serde_json::json!({
                "name": file.name,
                "sha256": file.sha256,
                "bytes": file.bytes.len(),
                "url": format!("/open/snapshots/{date}/{}", file.name),
            }));
        }
        let entry = serde_json::json!({
            "date": date,
            "from": built.data.from.to_string(),
            "builtAtMs": built.built_at_ms,
            "minimumCount": built.data.minimum,
            "files": listed_files,
            "revisedDates": revised,
        });
        let entry = serde_json::to_string(&entry)
            .map_err(|e| internal(format!("open data manifest: {e}")))?;
        if self
            .open_data_store
            .list_snapshot(&date, built.built_at_ms, &entry)
            .await?
        {
            tracing::info!(date = %date, "open data snapshot listed");
            Ok(SnapshotOutcome::Built(date))
        } else {
            Ok(SnapshotOutcome::Existing(date))
        }
    }

    /// The manifest of every listed snapshot (`{"snapshots": [...]}`, oldest first), with
    /// each file's SHA-256, size and URL, and the days each revised.
    pub async fn open_data_manifest(&self) -> Result<OpenFile, CaseError> {
        let entries = self
            .open_data_store
            .snapshots()
            .await?
            .into_iter()
            .map(|(_, entry)| serde_json::from_str::<serde_json::Value>(&entry))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| internal(format!("open data manifest entry: {e}")))?;
        let mut bytes = serde_json::to_vec(&serde_json::json!({ "snapshots": entries }))
            .map_err(|e| internal(format!("open data manifest: {e}")))?;
        bytes.push(b'\n');
        Ok(OpenFile::new("manifest.json".into(), bytes))
    }

    /// One file of a listed snapshot, checked against the SHA-256 its manifest entry names
    /// (a file that does not match is refused, never served). Unknown day or file: not found.
    pub async fn open_data_snapshot_file(
        &self,
        date: &str,
        name: &str,
    ) -> Result<OpenFile, CaseError> {
        let key = format!("{date}/{name}");
        if let Ok(cache) = self.open_data.snapshots.lock()
            && let Some(file) = cache.get(&key)
        {
            return Ok(file.clone());
        }
        if Date::parse(date).is_none()
            || !TABLES.iter().any(|t| {
                name.strip_prefix(t)
                    .is_some_and(|rest| rest == ".csv" || rest == ".json")
            })
        {
            return Err(CaseError::NotFound);
        }
        let entry = self
            .open_data_store
            .snapshots()
            .await?
            .into_iter()
            .find(|(day, _)| day == date)
            .ok_or(CaseError::NotFound)?
            .1;
        let entry: serde_json::Value = serde_json::from_str(&entry)
            .map_err(|e| internal(format!("open data manifest entry: {e}")))?;
        let sha = entry["files"]
            .as_array()
            .and_then(|files| files.iter().find(|f| f["name"] == name))
            .and_then(|f| f["sha256"].as_str())
            .ok_or(CaseError::NotFound)?
            .to_string();
        let bytes = self
            .open_data_store
            .snapshot_file(&sha)
            .await?
            .ok_or_else(|| internal("open data snapshot file missing"))?;
        let file = OpenFile::new(name.to_string(), bytes);
        if file.sha256 != sha {
            return Err(internal(
                "open data snapshot file does not match its manifest",
            ));
        }
        if let Ok(mut cache) = self.open_data.snapshots.lock() {
            if cache.len() >= SNAPSHOT_CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(key, file.clone());
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_split_back_into_fields() {
        assert_eq!(
            csv_fields("a,\"b,c\",\"d\"\"e\",'=x"),
            ["a", "b,c", "d\"e", "'=x"]
        );
        assert_eq!(csv_fields(""), [""]);
    }

    #[test]
    fn averages_need_seven_shown_days() {
        let shown = |n| Published::Count(n);
        let mut series = vec![shown(7); 7];
        assert_eq!(averages(&series)[6], Some(70));
        series[3] = Published::Small;
        assert_eq!(averages(&series)[6], None);
        let series: Vec<Published> = [1, 2, 0, 0, 0, 0, 0].map(shown).to_vec();
        // 3 / 7 = 0.428… → 0.4
        assert_eq!(averages(&series)[6], Some(4));
        assert_eq!(tenths_text(4), "0.4");
        assert_eq!(tenths_text(125), "12.5");
    }

    #[test]
    fn a_lone_small_prefecture_gets_a_complement() {
        let (total, parts) = publish_sum(&[7, 2], 5);
        assert_eq!(parts[1], Published::Small);
        assert!(parts[0].is_hidden() || total.is_hidden());
    }
}
