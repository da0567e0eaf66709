//! Aggregate counts for statistics tables. Every query groups; none returns a case id, a name
//! or a contact detail.

use async_trait::async_trait;

use super::DbCaseStore;
use crate::params;
use crate::sql::{self, StoreError, Value};

/// The statistics tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatisticsTable {
    /// New cases per diagnosis date: `date, prefectureId, healthCenterId, count`.
    NewCases,
    /// Cases in each status at the end of each local day, rebuilt from the status history.
    /// `icu_ventilator` is the status of that name, and also a stay in `hospitalized` with
    /// ICU, ventilator or ECMO ticked in the notification until staff first set the status:
    /// `date, prefectureId, healthCenterId, status, count`.
    CasesByStatus,
    /// Open and acknowledged alerts: `prefectureId, healthCenterId, kind, count`.
    OpenAlerts,
    /// Processing numbers issued and claimed, keys published, per local day:
    /// `date, prefectureId, healthCenterId, event, count`.
    Verification,
}

impl StatisticsTable {
    /// Every table.
    pub const ALL: [StatisticsTable; 4] = [
        StatisticsTable::NewCases,
        StatisticsTable::CasesByStatus,
        StatisticsTable::OpenAlerts,
        StatisticsTable::Verification,
    ];

    /// The name in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            StatisticsTable::NewCases => "new_cases",
            StatisticsTable::CasesByStatus => "cases_by_status",
            StatisticsTable::OpenAlerts => "open_alerts",
            StatisticsTable::Verification => "verification",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<StatisticsTable> {
        StatisticsTable::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Column names, the count last.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            StatisticsTable::NewCases => &["date", "prefectureId", "healthCenterId", "count"],
            StatisticsTable::CasesByStatus => {
                &["date", "prefectureId", "healthCenterId", "status", "count"]
            }
            StatisticsTable::OpenAlerts => &["prefectureId", "healthCenterId", "kind", "count"],
            StatisticsTable::Verification => {
                &["date", "prefectureId", "healthCenterId", "event", "count"]
            }
        }
    }
}

/// Which area a statistics query covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Area {
    /// The whole country.
    National,
    /// One prefecture.
    Prefecture(String),
    /// One health center.
    HealthCenter(String),
}

/// A statistics query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatisticsQuery {
    /// The table.
    pub table: StatisticsTable,
    /// The area.
    pub area: Area,
    /// First day, inclusive (`YYYY-MM-DD`; dated tables only).
    pub from: String,
    /// Last day, inclusive.
    pub to: String,
    /// Local midnight of `from` (Unix ms).
    pub from_ms: i64,
    /// Local midnight after `to` (Unix ms).
    pub to_ms: i64,
    /// Local offset from UTC in ms (to find an event's local day).
    pub offset_ms: i64,
}

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// Grouped counts: the group's key values (day numbers for dated event tables come back as
/// `YYYY-MM-DD`) and the count.
pub type CountRows = Vec<(Vec<String>, i64)>;

/// Storage of statistics.
#[async_trait]
pub trait StatisticsStore: Send + Sync {
    /// The grouped counts of a table, ordered by key.
    async fn statistics(&self, query: &StatisticsQuery) -> Result<CountRows, StoreError>;
}

#[async_trait]
impl StatisticsStore for DbCaseStore {
    async fn statistics(&self, q: &StatisticsQuery) -> Result<CountRows, StoreError> {
        let (prefecture, health_center) = match &q.area {
            Area::National => (String::new(), String::new()),
            Area::Prefecture(id) => (id.clone(), String::new()),
            Area::HealthCenter(id) => (String::new(), id.clone()),
        };
        let scope = "($1 = '' OR c.prefecture_id = $1) AND ($2 = '' OR c.health_center_id = $2)";
        let (sql, params): (String, Vec<Value>) = match q.table {
            StatisticsTable::NewCases => (
                format!(
                    "SELECT c.diagnosis_date, c.prefecture_id, c.health_center_id, CAST(COUNT(*) AS BIGINT)
                     FROM cases c WHERE c.revoked_at_ms IS NULL AND c.merged_into IS NULL AND {scope}
                     AND c.diagnosis_date >= $3 AND c.diagnosis_date <= $4
                     GROUP BY c.diagnosis_date, c.prefecture_id, c.health_center_id
                     ORDER BY c.diagnosis_date, c.prefecture_id, c.health_center_id"
                ),
                params![prefecture, health_center, &q.from, &q.to],
            ),
            StatisticsTable::CasesByStatus => (
                // Each status event opens a span that the case's next status event closes; a
                // case counts on day d in the status whose span covers the end of d (local).
                format!(
                    "WITH RECURSIVE days(d) AS (
                       SELECT CAST($3 AS BIGINT) UNION ALL SELECT d + 1 FROM days WHERE d < CAST($4 AS BIGINT)
                     ),
                     history AS (
                       SELECT c.prefecture_id AS p, c.health_center_id AS h, c.data AS data,
                         e.detail AS status, e.at_ms AS since,
                         LEAD(e.at_ms) OVER (PARTITION BY e.case_id ORDER BY e.at_ms, e.seq) AS until,
                         MIN(CASE WHEN e.detail = 'icu_ventilator' THEN e.at_ms END)
                           OVER (PARTITION BY e.case_id) AS first_icu
                       FROM case_events e JOIN cases c ON c.id = e.case_id
                       WHERE e.kind = 'status' AND c.revoked_at_ms IS NULL AND c.merged_into IS NULL AND {scope} AND e.at_ms < $6
                     ),
                     spans AS (
                       SELECT p, h, since, until,
                         CASE WHEN status = 'hospitalized' AND (first_icu IS NULL OR since < first_icu)
                           AND (data LIKE '%\"icu\":true%' OR data LIKE '%\"ventilator\":true%' OR data LIKE '%\"ecmo\":true%')
                           THEN 'icu_ventilator' ELSE status END AS s
                       FROM history
                     )
                     SELECT days.d, spans.p, spans.h, spans.s, CAST(COUNT(*) AS BIGINT)
                     FROM days JOIN spans ON spans.since < (days.d + 1) * 86400000 - $5
                       AND (spans.until IS NULL OR spans.until >= (days.d + 1) * 86400000 - $5)
                     GROUP BY days.d, spans.p, spans.h, spans.s
                     ORDER BY days.d, spans.p, spans.h, spans.s"
                ),
                params![
                    prefecture,
                    health_center,
                    (q.from_ms + q.offset_ms).div_euclid(DAY_MS),
                    (q.to_ms + q.offset_ms).div_euclid(DAY_MS) - 1,
                    q.offset_ms,
                    q.to_ms
                ],
            ),
            StatisticsTable::OpenAlerts => (
                format!(
                    "SELECT c.prefecture_id, c.health_center_id, a.kind, CAST(COUNT(*) AS BIGINT)
                     FROM followup_alerts a JOIN cases c ON c.id = a.subject_id
                     WHERE a.state IN ('open', 'acknowledged') AND c.merged_into IS NULL AND {scope}
                     GROUP BY c.prefecture_id, c.health_center_id, a.kind
                     ORDER BY c.prefecture_id, c.health_center_id, a.kind"
                ),
                params![prefecture, health_center],
            ),
            StatisticsTable::Verification => (
                format!(
                    "SELECT CAST((e.at_ms + $5) / 86400000 AS BIGINT) AS d, c.prefecture_id, c.health_center_id, e.kind,
                       CAST(COUNT(*) AS BIGINT)
                     FROM case_events e JOIN cases c ON c.id = e.case_id
                     WHERE e.kind IN ('number_issued', 'number_claimed', 'keys_published') AND {scope}
                     AND e.at_ms >= $3 AND e.at_ms < $4
                     GROUP BY d, c.prefecture_id, c.health_center_id, e.kind
                     ORDER BY d, c.prefecture_id, c.health_center_id, e.kind"
                ),
                params![prefecture, health_center, q.from_ms, q.to_ms, q.offset_ms],
            ),
        };
        let rows = sql::query(self.database(), &sql, params).await?;
        let keys = q.table.columns().len() - 1;
        rows.iter()
            .map(|row| {
                let mut key = Vec::with_capacity(keys);
                for index in 0..keys {
                    key.push(match row.0.get(index) {
                        Some(Value::Int(days)) => crate::model::Date { days: *days }.to_string(),
                        _ => row.text(index)?,
                    });
                }
                Ok((key, row.int(keys)?))
            })
            .collect()
    }
}

/// The conformance suite of [`StatisticsStore`] (run after the case and follow-up suites'
/// data exist or on an empty database: it writes its own).
#[cfg(any(test, feature = "testing"))]
#[allow(clippy::unwrap_used)]
pub mod conformance {
    use super::*;
    use crate::store::followup::{AlertRecord, FollowUpStore};
    use crate::store::{CaseRecord, CaseStore};

    fn case(id: &str, pref: &str, hc: &str, status: &str, data: &str) -> CaseRecord {
        CaseRecord {
            id: id.into(),
            health_center_id: hc.into(),
            prefecture_id: pref.into(),
            reporting_org_id: "clinic".into(),
            status: status.into(),
            name: format!("Name {id}"),
            data: data.into(),
            onset_date: None,
            diagnosis_date: "2026-11-18".into(),
            created_at_ms: 1,
            updated_at_ms: 1,
            revoked_at_ms: None,
            merged_into: None,
        }
    }

    /// Every table, scoped by area.
    pub async fn statistics_store<S: CaseStore + FollowUpStore + StatisticsStore>(store: &S) {
        store
            .insert_cases(
                &[
                    case("a", "p1", "h1", "hospitalized", "{\"icu\":true}"),
                    case("b", "p1", "h1", "hospitalized", "{\"icu\":false}"),
                    case("c", "p2", "h2", "home_care", "{}"),
                ],
                "system",
            )
            .await
            .unwrap();
        let day_ms = crate::model::Date::parse("2026-11-20").unwrap().days * 86_400_000;
        store
            .add_event("a", "number_issued", "", day_ms + 1000, "system")
            .await
            .unwrap();
        store
            .add_event("a", "number_claimed", "", day_ms + 2000, "system")
            .await
            .unwrap();
        store
            .insert_alert(&AlertRecord {
                id: "x".into(),
                subject_id: "c".into(),
                subject_kind: "case".into(),
                organization_id: "h2".into(),
                kind: "low_spo2".into(),
                severity: 3,
                day: "2026-11-20".into(),
                detail: String::new(),
                state: "open".into(),
                opened_at_ms: 1,
                acknowledged_by: None,
                acknowledged_at_ms: None,
                resolved_by: None,
                resolved_at_ms: None,
            })
            .await
            .unwrap();
        let query = |table, area| StatisticsQuery {
            table,
            area,
            from: "2026-11-01".into(),
            to: "2026-11-30".into(),
            from_ms: day_ms - 19 * 86_400_000,
            to_ms: day_ms + 11 * 86_400_000,
            offset_ms: 0,
        };
        let key = |parts: &[&str]| parts.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            store
                .statistics(&query(StatisticsTable::NewCases, Area::National))
                .await
                .unwrap(),
            [
                (key(&["2026-11-18", "p1", "h1"]), 2),
                (key(&["2026-11-18", "p2", "h2"]), 1)
            ]
        );
        // b recovers during 2026-11-20: counted hospitalized on the 19th, recovered from
        // the 20th on; a stays in ICU on every day; nothing of p2 in p1's area.
        let change = |id: &'static str, from: &'static str, to: &'static str, at_ms: i64| async move {
            assert!(
                store
                    .change_status(id, from, to, at_ms, "system")
                    .await
                    .unwrap()
            );
        };
        change("b", "hospitalized", "recovered", day_ms + 5000).await;
        let by_status = StatisticsQuery {
            from: "2026-11-19".into(),
            to: "2026-11-21".into(),
            from_ms: day_ms - 86_400_000,
            to_ms: day_ms + 2 * 86_400_000,
            ..query(
                StatisticsTable::CasesByStatus,
                Area::Prefecture("p1".into()),
            )
        };
        let expected = |a_on_21st: &str| {
            let mut rows = vec![
                (key(&["2026-11-19", "p1", "h1", "hospitalized"]), 1),
                (key(&["2026-11-19", "p1", "h1", "icu_ventilator"]), 1),
                (key(&["2026-11-20", "p1", "h1", "icu_ventilator"]), 1),
                (key(&["2026-11-20", "p1", "h1", "recovered"]), 1),
                (key(&["2026-11-21", "p1", "h1", a_on_21st]), 1),
                (key(&["2026-11-21", "p1", "h1", "recovered"]), 1),
            ];
            rows.sort();
            rows
        };
        assert_eq!(
            store.statistics(&by_status).await.unwrap(),
            expected("icu_ventilator")
        );
        // a steps down from intensive care on the 21st: once staff have set the status, the
        // notification's ICU tick no longer decides, but the days before keep their figures.
        change("a", "hospitalized", "icu_ventilator", day_ms + 6000).await;
        change(
            "a",
            "icu_ventilator",
            "hospitalized",
            day_ms + 86_400_000 + 1000,
        )
        .await;
        assert_eq!(
            store.statistics(&by_status).await.unwrap(),
            expected("hospitalized")
        );
        // A day before anything existed in the local zone (+9 h) counts nothing: the cases'
        // status history starts at 1970-01-01T00:00:00.001Z, which is 09:00 local.
        let before = StatisticsQuery {
            from: "1969-12-31".into(),
            to: "1969-12-31".into(),
            from_ms: -86_400_000 - 9 * 3_600_000,
            to_ms: -9 * 3_600_000,
            offset_ms: 9 * 3_600_000,
            ..query(StatisticsTable::CasesByStatus, Area::National)
        };
        assert!(store.statistics(&before).await.unwrap().is_empty());
        assert_eq!(
            store
                .statistics(&query(
                    StatisticsTable::OpenAlerts,
                    Area::HealthCenter("h2".into())
                ))
                .await
                .unwrap(),
            [(key(&["p2", "h2", "low_spo2"]), 1)]
        );
        assert!(
            store
                .statistics(&query(
                    StatisticsTable::OpenAlerts,
                    Area::Prefecture("p1".into())
                ))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store
                .statistics(&query(StatisticsTable::Verification, Area::National))
                .await
                .unwrap(),
            [
                (key(&["2026-11-20", "p1", "h1", "number_claimed"]), 1),
                (key(&["2026-11-20", "p1", "h1", "number_issued"]), 1)
            ]
        );
    }
}
