//! Storage of follow-up plans, link tokens (hashed), observations and alerts of any
//! follow-up subject: a case or a close contact (`subject_kind`; ids are UUIDs of either).

use std::collections::HashSet;

use async_trait::async_trait;

use super::DbCaseStore;
use crate::params;
use crate::sql::{self, Row, Statement, StoreError};

/// A follow-up subject's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRecord {
    /// The subject (case or close contact).
    pub subject_id: String,
    /// `case` or `contact`.
    pub subject_kind: String,
    /// The responsible organization (the health center or a contractor it delegated to).
    pub organization_id: String,
    /// First day (`YYYY-MM-DD`, local).
    pub start_date: String,
    /// Last day, inclusive.
    pub end_date: String,
    /// Reporting times per day, `HH:MM` comma separated.
    pub reporting_times: String,
    /// Created.
    pub created_at_ms: i64,
    /// Last changed.
    pub updated_at_ms: i64,
}

/// A stored observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationRecord {
    /// Id.
    pub id: String,
    /// The subject.
    pub subject_id: String,
    /// When it was received (Unix ms).
    pub observed_at_ms: i64,
    /// Local report day (`YYYY-MM-DD`).
    pub day: String,
    /// Temperature in tenths of a degree.
    pub temperature_tenths: Option<i64>,
    /// SpO2 (%).
    pub spo2: Option<i64>,
    /// Pulse.
    pub pulse: Option<i64>,
    /// Symptoms as JSON.
    pub symptoms: String,
    /// Free text.
    pub note: Option<String>,
    /// The staff member who entered it on the patient's behalf (None: the patient's link).
    pub proxy_actor: Option<String>,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRecord {
    /// Id.
    pub id: String,
    /// The subject.
    pub subject_id: String,
    /// `case` or `contact`.
    pub subject_kind: String,
    /// The organization whose worklist shows it (the plan's responsible organization).
    pub organization_id: String,
    /// Kind name.
    pub kind: String,
    /// Severity rank (3 high … 1 low).
    pub severity: i64,
    /// The local day it concerns (one alert per case, kind and day).
    pub day: String,
    /// Values that triggered it (no personal data).
    pub detail: String,
    /// State name.
    pub state: String,
    /// Opened.
    pub opened_at_ms: i64,
    /// Who acknowledged.
    pub acknowledged_by: Option<String>,
    /// When.
    pub acknowledged_at_ms: Option<i64>,
    /// Who resolved.
    pub resolved_by: Option<String>,
    /// When.
    pub resolved_at_ms: Option<i64>,
}

/// Whose worklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorklistScope {
    /// Every alert of the health center's cases (delegated or not).
    HealthCenter(String),
    /// Alerts of plans delegated to this organization.
    Responsible(String),
}

/// Storage of follow-up.
#[async_trait]
pub trait FollowUpStore: Send + Sync {
    /// Creates or replaces a case's plan (keeps `created_at_ms` of an existing one) and moves
    /// the end of the case's live link tokens to `tokens_expire_at_ms` (the plan's new end).
    async fn upsert_plan(
        &self,
        plan: &PlanRecord,
        tokens_expire_at_ms: i64,
    ) -> Result<(), StoreError>;
    /// A case's plan.
    async fn plan(&self, subject_id: &str) -> Result<Option<PlanRecord>, StoreError>;
    /// Plans whose days overlap `from..=to`.
    async fn plans_overlapping(&self, from: &str, to: &str) -> Result<Vec<PlanRecord>, StoreError>;
    /// Revokes the case's live tokens and stores a new one (hash only).
    async fn replace_followup_token(
        &self,
        token_hash: &[u8],
        subject_id: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError>;
    /// Every (subject, day) from `from` to `to` with a report or a missed-report alert, of
    /// every subject (one query: the missed-report sweep's "settled" days).
    async fn settled_days_between(
        &self,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// Subjects with a plan overlapping `from`..`to` whose record is gone or closed (a revoked
    /// case, a contact no longer followed).
    async fn closed_plan_subjects(&self, from: &str, to: &str) -> Result<Vec<String>, StoreError>;
    /// Opens alerts unless one of the same subject, kind and day exists (500 to a
    /// statement); returns how many were inserted.
    async fn insert_alerts(&self, alerts: &[AlertRecord]) -> Result<usize, StoreError>;
    /// Adds a link token without revoking the subject's others (a link sent in a message
    /// must not end the one the person already has).
    async fn add_followup_token(
        &self,
        token_hash: &[u8],
        subject_id: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError>;
    /// The case of a live token.
    async fn followup_token_case(
        &self,
        token_hash: &[u8],
        now_ms: i64,
    ) -> Result<Option<String>, StoreError>;
    /// Revokes every live token of a case; returns how many.
    async fn revoke_followup_tokens(
        &self,
        subject_id: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError>;
    /// Stores an observation.
    async fn insert_observation(&self, observation: &ObservationRecord) -> Result<(), StoreError>;
    /// A case's observations, oldest first.
    async fn observations(&self, subject_id: &str) -> Result<Vec<ObservationRecord>, StoreError>;
    /// The days (`YYYY-MM-DD`) the missed-report check need not look at again for a case:
    /// those with an observation or with a `missed_report` alert already.
    async fn missed_report_settled_days(
        &self,
        subject_id: &str,
    ) -> Result<HashSet<String>, StoreError>;
    /// Opens an alert unless one of the same case, kind and day exists; true when inserted.
    async fn insert_alert(&self, alert: &AlertRecord) -> Result<bool, StoreError>;
    /// An alert by id.
    async fn alert(&self, id: &str) -> Result<Option<AlertRecord>, StoreError>;
    /// Moves an alert from `from` to `to`, recording who and when; false when it was not in
    /// `from` any more.
    async fn transition_alert(
        &self,
        id: &str,
        from: &str,
        to: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    /// A case's alerts, oldest first.
    async fn subject_alerts(&self, subject_id: &str) -> Result<Vec<AlertRecord>, StoreError>;
    /// Open and acknowledged alerts by severity rank, everywhere: `(rank, count)`.
    async fn open_alert_counts(&self) -> Result<Vec<(i64, i64)>, StoreError>;
    /// A worklist: alerts in `states`, by severity (highest first), then age (oldest first).
    async fn worklist(
        &self,
        scope: &WorklistScope,
        states: &[&str],
        limit: i64,
    ) -> Result<Vec<AlertRecord>, StoreError>;
}

/// The columns an alert is inserted with.
const ALERT_INSERT_COLUMNS: &str = "id, subject_id, organization_id, kind, severity, day, detail, state, opened_at_ms, subject_kind";

const PLAN_COLUMNS: &str = "subject_id, organization_id, start_date, end_date, reporting_times, created_at_ms, updated_at_ms, subject_kind";

fn plan_from_row(row: &Row) -> Result<PlanRecord, StoreError> {
    Ok(PlanRecord {
        subject_id: row.text(0)?,
        organization_id: row.text(1)?,
        start_date: row.text(2)?,
        end_date: row.text(3)?,
        reporting_times: row.text(4)?,
        created_at_ms: row.int(5)?,
        updated_at_ms: row.int(6)?,
        subject_kind: row.text(7)?,
    })
}

const OBSERVATION_COLUMNS: &str = "id, subject_id, observed_at_ms, day, temperature_tenths, spo2, pulse, symptoms, note, proxy_actor";

fn observation_from_row(row: &Row) -> Result<ObservationRecord, StoreError> {
    Ok(ObservationRecord {
        id: row.text(0)?,
        subject_id: row.text(1)?,
        observed_at_ms: row.int(2)?,
        day: row.text(3)?,
        temperature_tenths: row.opt_int(4)?,
        spo2: row.opt_int(5)?,
        pulse: row.opt_int(6)?,
        symptoms: row.text(7)?,
        note: row.opt_text(8)?,
        proxy_actor: row.opt_text(9)?,
    })
}

const ALERT_COLUMNS: &str = "a.id, a.subject_id, a.organization_id, a.kind, a.severity, a.day, a.detail, a.state, a.opened_at_ms, a.acknowledged_by, a.acknowledged_at_ms, a.resolved_by, a.resolved_at_ms, a.subject_kind";

fn alert_from_row(row: &Row) -> Result<AlertRecord, StoreError> {
    Ok(AlertRecord {
        id: row.text(0)?,
        subject_id: row.text(1)?,
        organization_id: row.text(2)?,
        kind: row.text(3)?,
        severity: row.int(4)?,
        day: row.text(5)?,
        detail: row.text(6)?,
        state: row.text(7)?,
        opened_at_ms: row.int(8)?,
        acknowledged_by: row.opt_text(9)?,
        acknowledged_at_ms: row.opt_int(10)?,
        resolved_by: row.opt_text(11)?,
        resolved_at_ms: row.opt_int(12)?,
        subject_kind: row.text(13)?,
    })
}

#[async_trait]
impl FollowUpStore for DbCaseStore {
    async fn upsert_plan(
        &self,
        plan: &PlanRecord,
        tokens_expire_at_ms: i64,
    ) -> Result<(), StoreError> {
        sql::transaction(
            self.database(),
            vec![
                Statement::new(
                    format!(
                        "INSERT INTO followup_plans ({PLAN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                         ON CONFLICT (subject_id) DO UPDATE SET organization_id = excluded.organization_id,
                         start_date = excluded.start_date, end_date = excluded.end_date,
                         reporting_times = excluded.reporting_times, updated_at_ms = excluded.updated_at_ms"
                    ),
                    params![
                        &plan.subject_id,
                        &plan.organization_id,
                        &plan.start_date,
                        &plan.end_date,
                        &plan.reporting_times,
                        plan.created_at_ms,
                        plan.updated_at_ms,
                        &plan.subject_kind
                    ],
                ),
                Statement::new(
                    "UPDATE followup_tokens SET expires_at_ms = $1 WHERE subject_id = $2 AND revoked_at_ms IS NULL",
                    params![tokens_expire_at_ms, &plan.subject_id],
                ),
            ],
        )
        .await?;
        Ok(())
    }

    async fn plan(&self, subject_id: &str) -> Result<Option<PlanRecord>, StoreError> {
        sql::query_opt(
            self.database(),
            &format!("SELECT {PLAN_COLUMNS} FROM followup_plans WHERE subject_id = $1"),
            params![subject_id],
        )
        .await?
        .as_ref()
        .map(plan_from_row)
        .transpose()
    }

    async fn plans_overlapping(&self, from: &str, to: &str) -> Result<Vec<PlanRecord>, StoreError> {
        sql::query(
            self.database(),
            &format!(
                "SELECT {PLAN_COLUMNS} FROM followup_plans WHERE start_date <= $2 AND end_date >= $1 ORDER BY subject_id"
            ),
            params![from, to],
        )
        .await?
        .iter()
        .map(plan_from_row)
        .collect()
    }

    async fn replace_followup_token(
        &self,
        token_hash: &[u8],
        subject_id: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        sql::transaction(
            self.database(),
            vec![
                Statement::new(
                    "UPDATE followup_tokens SET revoked_at_ms = $1 WHERE subject_id = $2 AND revoked_at_ms IS NULL",
                    params![now_ms, subject_id],
                ),
                Statement::new(
                    "INSERT INTO followup_tokens (token_hash, subject_id, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4)",
                    params![token_hash, subject_id, now_ms, expires_at_ms],
                ),
            ],
        )
        .await?;
        Ok(())
    }

    async fn settled_days_between(
        &self,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        sql::query(
            self.database(),
            "SELECT subject_id, day FROM followup_observations WHERE day >= $1 AND day <= $2
             UNION SELECT subject_id, day FROM followup_alerts WHERE kind = 'missed_report' AND day >= $1 AND day <= $2",
            params![from, to],
        )
        .await?
        .iter()
        .map(|row| Ok((row.text(0)?, row.text(1)?)))
        .collect()
    }

    async fn closed_plan_subjects(&self, from: &str, to: &str) -> Result<Vec<String>, StoreError> {
        sql::query(
            self.database(),
            "SELECT p.subject_id FROM followup_plans p
             LEFT JOIN cases c ON p.subject_kind = 'case' AND c.id = p.subject_id
             LEFT JOIN contacts k ON p.subject_kind = 'contact' AND k.id = p.subject_id
             WHERE p.start_date <= $2 AND p.end_date >= $1
             AND ((p.subject_kind = 'contact' AND (k.id IS NULL OR k.status NOT IN ('identified', 'quarantined')))
               OR (p.subject_kind <> 'contact' AND (c.id IS NULL OR c.revoked_at_ms IS NOT NULL)))",
            params![from, to],
        )
        .await?
        .iter()
        .map(|row| Ok(row.text(0)?))
        .collect()
    }

    async fn insert_alerts(&self, alerts: &[AlertRecord]) -> Result<usize, StoreError> {
        let mut inserted = 0;
        // One multi-row statement per 500 alerts.
        for chunk in alerts.chunks(500) {
            let mut values = Vec::with_capacity(chunk.len() * 10);
            let mut rows = Vec::with_capacity(chunk.len());
            for a in chunk {
                let base = values.len();
                let placeholders: Vec<String> =
                    (1..=10).map(|i| format!("${}", base + i)).collect();
                rows.push(format!("({})", placeholders.join(", ")));
                values.extend(params![
                    &a.id,
                    &a.subject_id,
                    &a.organization_id,
                    &a.kind,
                    a.severity,
                    &a.day,
                    &a.detail,
                    &a.state,
                    a.opened_at_ms,
                    &a.subject_kind
                ]);
            }
            inserted += sql::query(
                self.database(),
                &format!(
                    "INSERT INTO followup_alerts ({ALERT_INSERT_COLUMNS}) VALUES {}
                     ON CONFLICT (subject_id, kind, day) DO NOTHING RETURNING id",
                    rows.join(", ")
                ),
                values,
            )
            .await?
            .len();
        }
        Ok(inserted)
    }

    async fn add_followup_token(
        &self,
        token_hash: &[u8],
        subject_id: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        sql::execute(
            self.database(),
            "INSERT INTO followup_tokens (token_hash, subject_id, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4)",
            params![token_hash, subject_id, now_ms, expires_at_ms],
        )
        .await?;
        Ok(())
    }

    async fn followup_token_case(
        &self,
        token_hash: &[u8],
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(sql::query_opt(
            self.database(),
            "SELECT subject_id FROM followup_tokens WHERE token_hash = $1 AND revoked_at_ms IS NULL AND expires_at_ms > $2",
            params![token_hash, now_ms],
        )
        .await?
        .map(|row| row.text(0))
        .transpose()?)
    }

    async fn revoke_followup_tokens(
        &self,
        subject_id: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        Ok(sql::execute(
            self.database(),
            "UPDATE followup_tokens SET revoked_at_ms = $1 WHERE subject_id = $2 AND revoked_at_ms IS NULL",
            params![now_ms, subject_id],
        )
        .await?)
    }

    async fn insert_observation(&self, o: &ObservationRecord) -> Result<(), StoreError> {
        sql::execute(
            self.database(),
            &format!(
                "INSERT INTO followup_observations ({OBSERVATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ),
            params![
                &o.id,
                &o.subject_id,
                o.observed_at_ms,
                &o.day,
                o.temperature_tenths,
                o.spo2,
                o.pulse,
                &o.symptoms,
                o.note.clone(),
                o.proxy_actor.clone()
            ],
        )
        .await?;
        Ok(())
    }

    async fn observations(&self, subject_id: &str) -> Result<Vec<ObservationRecord>, StoreError> {
        sql::query(
            self.database(),
            &format!(
                "SELECT {OBSERVATION_COLUMNS} FROM followup_observations WHERE subject_id = $1 ORDER BY observed_at_ms, id"
            ),
            params![subject_id],
        )
        .await?
        .iter()
        .map(observation_from_row)
        .collect()
    }

    async fn missed_report_settled_days(
        &self,
        subject_id: &str,
    ) -> Result<HashSet<String>, StoreError> {
        sql::query(
            self.database(),
            "SELECT day FROM followup_observations WHERE subject_id = $1
             UNION SELECT day FROM followup_alerts WHERE subject_id = $1 AND kind = 'missed_report'",
            params![subject_id],
        )
        .await?
        .iter()
        .map(|row| row.text(0).map_err(StoreError::from))
        .collect()
    }

    async fn insert_alert(&self, a: &AlertRecord) -> Result<bool, StoreError> {
        Ok(sql::execute(
            self.database(),
            &format!(
                "INSERT INTO followup_alerts ({ALERT_INSERT_COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (subject_id, kind, day) DO NOTHING"
            ),
            params![
                &a.id,
                &a.subject_id,
                &a.organization_id,
                &a.kind,
                a.severity,
                &a.day,
                &a.detail,
                &a.state,
                a.opened_at_ms,
                &a.subject_kind
            ],
        )
        .await?
            == 1)
    }

    async fn alert(&self, id: &str) -> Result<Option<AlertRecord>, StoreError> {
        sql::query_opt(
            self.database(),
            &format!("SELECT {ALERT_COLUMNS} FROM followup_alerts a WHERE a.id = $1"),
            params![id],
        )
        .await?
        .as_ref()
        .map(alert_from_row)
        .transpose()
    }

    async fn transition_alert(
        &self,
        id: &str,
        from: &str,
        to: &str,
        actor: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let sql = if to == "acknowledged" {
            "UPDATE followup_alerts SET state = $1, acknowledged_by = $2, acknowledged_at_ms = $3 WHERE id = $4 AND state = $5"
        } else {
            "UPDATE followup_alerts SET state = $1, resolved_by = $2, resolved_at_ms = $3 WHERE id = $4 AND state = $5"
        };
        Ok(sql::execute(self.database(), sql, params![to, actor, now_ms, id, from]).await? == 1)
    }

    async fn subject_alerts(&self, subject_id: &str) -> Result<Vec<AlertRecord>, StoreError> {
        sql::query(
            self.database(),
            &format!(
                "SELECT {ALERT_COLUMNS} FROM followup_alerts a WHERE a.subject_id = $1 ORDER BY a.opened_at_ms, a.id"
            ),
            params![subject_id],
        )
        .await?
        .iter()
        .map(alert_from_row)
        .collect()
    }

    async fn open_alert_counts(&self) -> Result<Vec<(i64, i64)>, StoreError> {
        sql::query(
            self.database(),
            "SELECT severity, CAST(COUNT(*) AS BIGINT) FROM followup_alerts
             WHERE state IN ('open', 'acknowledged') GROUP BY severity ORDER BY severity",
            vec![],
        )
        .await?
        .iter()
        .map(|row| Ok((row.int(0)?, row.int(1)?)))
        .collect()
    }

    async fn worklist(
        &self,
        scope: &WorklistScope,
        states: &[&str],
        limit: i64,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let (filter, value) = match scope {
            WorklistScope::HealthCenter(id) => (
                "a.subject_id IN (SELECT id FROM cases WHERE health_center_id = $1
                 UNION SELECT id FROM contacts WHERE health_center_id = $1)",
                id,
            ),
            WorklistScope::Responsible(id) => ("a.organization_id = $1", id),
        };
        let state = |i: usize| states.get(i).copied().unwrap_or("");
        sql::query(
            self.database(),
            &format!(
                "SELECT {ALERT_COLUMNS} FROM followup_alerts a WHERE {filter} AND a.state IN ($2, $3, $4)
                 ORDER BY a.severity DESC, a.opened_at_ms, a.id LIMIT $5"
            ),
            params![value, state(0), state(1), state(2), limit],
        )
        .await?
        .iter()
        .map(alert_from_row)
        .collect()
    }
}

/// The conformance suite of [`FollowUpStore`].
#[cfg(any(test, feature = "testing"))]
#[allow(clippy::unwrap_used)]
pub mod conformance {
    use super::*;
    use crate::store::{CaseRecord, CaseStore};

    fn alert(
        id: &str,
        subject_id: &str,
        kind: &str,
        severity: i64,
        day: &str,
        t: i64,
    ) -> AlertRecord {
        AlertRecord {
            id: id.into(),
            subject_id: subject_id.into(),
            subject_kind: "case".into(),
            organization_id: "contractor".into(),
            kind: kind.into(),
            severity,
            day: day.into(),
            detail: "d".into(),
            state: "open".into(),
            opened_at_ms: t,
            acknowledged_by: None,
            acknowledged_at_ms: None,
            resolved_by: None,
            resolved_at_ms: None,
        }
    }

    /// Plans, tokens, observations, alerts and worklists.
    pub async fn followup_store<S: CaseStore + FollowUpStore>(store: &S) {
        let case = CaseRecord {
            id: "c1".into(),
            health_center_id: "hc".into(),
            prefecture_id: "pref".into(),
            reporting_org_id: "clinic".into(),
            status: "home_care".into(),
            name: "N".into(),
            data: "{}".into(),
            onset_date: None,
            diagnosis_date: "2026-11-18".into(),
            created_at_ms: 1,
            updated_at_ms: 1,
            revoked_at_ms: None,
            merged_into: None,
        };
        store.insert_cases(&[case], "system").await.unwrap();
        let mut plan = PlanRecord {
            subject_id: "c1".into(),
            subject_kind: "case".into(),
            organization_id: "hc".into(),
            start_date: "2026-11-20".into(),
            end_date: "2026-11-29".into(),
            reporting_times: "09:00".into(),
            created_at_ms: 1,
            updated_at_ms: 1,
        };
        store.upsert_plan(&plan, 0).await.unwrap();
        plan.organization_id = "contractor".into();
        plan.updated_at_ms = 2;
        store
            .upsert_plan(
                &PlanRecord {
                    created_at_ms: 99,
                    ..plan.clone()
                },
                0,
            )
            .await
            .unwrap();
        assert_eq!(store.plan("c1").await.unwrap(), Some(plan.clone()));
        assert_eq!(
            store
                .plans_overlapping("2026-11-29", "2026-12-01")
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            store
                .plans_overlapping("2026-11-30", "2026-12-01")
                .await
                .unwrap()
                .is_empty()
        );

        store
            .replace_followup_token(b"t1", "c1", 10, 100)
            .await
            .unwrap();
        assert_eq!(
            store
                .followup_token_case(b"t1", 50)
                .await
                .unwrap()
                .as_deref(),
            Some("c1")
        );
        assert_eq!(store.followup_token_case(b"t1", 100).await.unwrap(), None);
        store.upsert_plan(&plan, 200).await.unwrap();
        assert_eq!(
            store
                .followup_token_case(b"t1", 150)
                .await
                .unwrap()
                .as_deref(),
            Some("c1"),
            "a changed plan moves the live tokens' end"
        );
        store
            .replace_followup_token(b"t2", "c1", 20, 100)
            .await
            .unwrap();
        assert_eq!(store.followup_token_case(b"t1", 50).await.unwrap(), None);
        assert_eq!(store.revoke_followup_tokens("c1", 30).await.unwrap(), 1);
        assert_eq!(store.followup_token_case(b"t2", 50).await.unwrap(), None);

        let observation = ObservationRecord {
            id: "o1".into(),
            subject_id: "c1".into(),
            observed_at_ms: 5,
            day: "2026-11-20".into(),
            temperature_tenths: Some(372),
            spo2: Some(96),
            pulse: None,
            symptoms: "{}".into(),
            note: Some("ok".into()),
            proxy_actor: Some("user:n".into()),
        };
        store.insert_observation(&observation).await.unwrap();
        assert_eq!(store.observations("c1").await.unwrap(), [observation]);
        let settled = |days: &[&str]| days.iter().map(|d| d.to_string()).collect::<HashSet<_>>();
        assert_eq!(
            store.missed_report_settled_days("c1").await.unwrap(),
            settled(&["2026-11-20"])
        );

        assert!(
            store
                .insert_alert(&alert("a1", "c1", "missed_report", 1, "2026-11-21", 10))
                .await
                .unwrap()
        );
        assert_eq!(
            store.missed_report_settled_days("c1").await.unwrap(),
            settled(&["2026-11-20", "2026-11-21"])
        );
        assert!(
            !store
                .insert_alert(&alert("a2", "c1", "missed_report", 1, "2026-11-21", 11))
                .await
                .unwrap(),
            "one per case, kind and day"
        );
        assert!(
            store
                .insert_alert(&alert("a3", "c1", "low_spo2", 3, "2026-11-22", 20))
                .await
                .unwrap()
        );
        let open = ["open", "acknowledged"];
        for scope in [
            WorklistScope::HealthCenter("hc".into()),
            WorklistScope::Responsible("contractor".into()),
        ] {
            let list = store.worklist(&scope, &open, 10).await.unwrap();
            let ids: Vec<_> = list.iter().map(|a| a.id.as_str()).collect();
            assert_eq!(ids, ["a3", "a1"], "severity first");
        }
        assert!(
            store
                .worklist(&WorklistScope::HealthCenter("other".into()), &open, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .transition_alert("a3", "open", "acknowledged", "user:n", 30)
                .await
                .unwrap()
        );
        assert!(
            !store
                .transition_alert("a3", "open", "acknowledged", "user:n", 31)
                .await
                .unwrap()
        );
        assert!(
            store
                .transition_alert("a3", "acknowledged", "resolved", "user:m", 40)
                .await
                .unwrap()
        );
        let a3 = store.alert("a3").await.unwrap().unwrap();
        assert_eq!(
            (
                a3.state.as_str(),
                a3.acknowledged_by.as_deref(),
                a3.acknowledged_at_ms,
                a3.resolved_by.as_deref(),
                a3.resolved_at_ms
            ),
            (
                "resolved",
                Some("user:n"),
                Some(30),
                Some("user:m"),
                Some(40)
            )
        );
        let list = store
            .worklist(&WorklistScope::Responsible("contractor".into()), &open, 10)
            .await
            .unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(store.subject_alerts("c1").await.unwrap().len(), 2);
        assert_eq!(store.open_alert_counts().await.unwrap(), [(1, 1)]);
    }
}
