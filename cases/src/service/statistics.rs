//! Statistics tables for prefectures and the ministry: grouped counts only, small counts
//! suppressed, exportable as CSV. No name, contact detail or case id ever appears.

use serde::Serialize;

use super::{CaseError, CaseRegistry};
use crate::model::followup::local_midnight_ms;
use crate::model::{Date, OrgKind, Principal, Role};
use crate::store::statistics::{Area, StatisticsQuery, StatisticsTable};

/// The longest range of a dated table, in days.
pub const MAX_RANGE_DAYS: i64 = 366;

/// A statistics table.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatisticsTableView {
    /// `new_cases`, `cases_by_status`, `open_alerts` or `verification`.
    pub table: String,
    /// `national`, or the prefecture's or health center's organization id.
    pub area: String,
    /// First day (dated tables).
    pub from: String,
    /// Last day, inclusive.
    pub to: String,
    /// Counts from 1 to this − 1 are shown as `"<N"`.
    pub minimum_count: i64,
    /// Column names, the count last.
    pub columns: Vec<String>,
    /// Rows: objects keyed by column; `count` is a number or `"<N"`.
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// One CSV cell: a text starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
/// leading `'` so a spreadsheet shows it instead of running it as a formula (a health-center
/// name is chosen by people); quoted when it holds a comma, quote or line break.
pub(crate) fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

impl StatisticsTableView {
    /// The table as CSV (header line, then one line per row; CRLF).
    pub fn to_csv(&self) -> String {
        let mut out = self.columns.join(",");
        out.push_str("\r\n");
        for row in &self.rows {
            let fields: Vec<String> = self
                .columns
                .iter()
                .map(|c| match row.get(c) {
                    Some(serde_json::Value::String(s)) => csv_field(s),
                    Some(other) => csv_field(&other.to_string()),
                    None => String::new(),
                })
                .collect();
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

impl CaseRegistry {
    /// One statistics table for the caller's area (national: everything; prefecture and
    /// health center: their own). Statistics viewers and org admins only. `from`/`to`
    /// default to the last 30 days.
    pub async fn statistics_table(
        &self,
        principal: &Principal,
        table: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<StatisticsTableView, CaseError> {
        if !(principal.has(Role::StatisticsViewer) || principal.has(Role::OrgAdmin)) {
            return Err(CaseError::Forbidden);
        }
        let org = &principal.organization;
        let area = match org.kind {
            OrgKind::National => Area::National,
            OrgKind::Prefecture => Area::Prefecture(org.id.clone()),
            OrgKind::HealthCenter => Area::HealthCenter(org.id.clone()),
            _ => return Err(CaseError::Forbidden),
        };
        let table = StatisticsTable::parse(table).ok_or(CaseError::NotFound)?;
        let bad = |message: &str| CaseError::BadRequest {
            code: "invalid_range",
            message: message.into(),
        };
        let offset = self.config.utc_offset_minutes;
        let today = crate::model::followup::local_day(self.now_ms(), offset);
        let to = match to {
            Some(s) => Date::parse(s).ok_or_else(|| bad("to: not a date (YYYY-MM-DD)"))?,
            None => today,
        };
        let from = match from {
            Some(s) => Date::parse(s).ok_or_else(|| bad("from: not a date (YYYY-MM-DD)"))?,
            None => Date { days: to.days - 29 },
        };
        if from > to || to.days - from.days >= MAX_RANGE_DAYS {
            // Well-formed dates in an unusable order or span: 422, not 400.
            return Err(CaseError::Invalid(vec![crate::model::FieldError {
                field: "from",
                message: "from must not lie after to, and the range is at most 366 days".into(),
            }]));
        }
        let query = StatisticsQuery {
            table,
            area: area.clone(),
            from: from.to_string(),
            to: to.to_string(),
            from_ms: local_midnight_ms(from, offset),
            to_ms: local_midnight_ms(Date { days: to.days + 1 }, offset),
            offset_ms: offset * 60_000,
        };
        let counts = self.statistics.statistics(&query).await?;
        let minimum = self.config.statistics_minimum_count;
        let columns: Vec<String> = table.columns().iter().map(|c| c.to_string()).collect();
        let rows = counts
            .into_iter()
            .map(|(key, count)| {
                let mut row = serde_json::Map::new();
                for (column, value) in columns.iter().zip(key) {
                    row.insert(column.clone(), serde_json::Value::String(value));
                }
                // The rows are the finest cells and the table publishes no sums of them, so
                // no hidden count can be derived within it: primary suppression suffices
                // (no sum relations). Sums a reader makes (the console's charts) show a "+".
                let published = crate::suppression::suppress(&[count], &[], minimum);
                row.insert("count".into(), published[0].to_json(minimum));
                row
            })
            .collect();
        self.audit(
            &principal.actor,
            "statistics.read",
            &format!("organization:{} table:{}", org.id, table.as_str()),
        )
        .await?;
        Ok(StatisticsTableView {
            table: table.as_str().into(),
            area: match area {
                Area::National => "national".into(),
                Area::Prefecture(id) | Area::HealthCenter(id) => id,
            },
            from: query.from,
            to: query.to,
            minimum_count: minimum,
            columns,
            rows,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_cells_cannot_be_formulas() {
        assert_eq!(
            super::csv_field("=HYPERLINK(\"x\")"),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(super::csv_field("+1"), "'+1");
        assert_eq!(super::csv_field("-1"), "'-1");
        assert_eq!(super::csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(super::csv_field("Minato HC"), "Minato HC");
        assert_eq!(super::csv_field("<5"), "<5");
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        let mut row = serde_json::Map::new();
        row.insert("a".into(), "x,y".into());
        row.insert("count".into(), "<5".into());
        let view = super::StatisticsTableView {
            table: "t".into(),
            area: "national".into(),
            from: String::new(),
            to: String::new(),
            minimum_count: 5,
            columns: vec!["a".into(), "count".into()],
            rows: vec![row],
        };
        assert_eq!(view.to_csv(), "a,count\r\n\"x,y\",<5\r\n");
    }
}
