//! Health follow-up: plans, patients' link tokens, observations (by link or by staff on the
//! patient's behalf), alerts with their worklist, the per-case series and chart, and the
//! missed-report check the periodic job calls.
//!
//! Scope: the case's health center (case workers) plans, issues links and works alerts; a
//! contractor the plan delegates to (case workers or doctors) sees and works only the cases
//! delegated to it; the case's prefecture and reporting institution may read the series.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{CaseError, CaseRegistry, internal};
use crate::model::followup::{
    AlertKind, AlertRules, AlertState, DayPoint, ObservationInput, Reading, Severity, Symptoms,
    chart_svg, evaluate, local_day, local_midnight_ms, parse_reporting_times,
};
use crate::model::{
    Access, CaseScope, Date, FieldError, OrgKind, Principal, Role, in_scope, permits, secrets,
};
use crate::sql::StoreError;
use crate::store::CaseRecord;
use crate::store::followup::{AlertRecord, ObservationRecord, PlanRecord, WorklistScope};

/// Follow-up metrics: observations received, alerts opened by kind, open alerts by severity.
/// Labels are fixed sets (source, kind, severity); never a case, a person or a token.
#[derive(Debug, Clone)]
pub struct FollowUpMetrics {
    observations: prometheus::IntCounterVec,
    alerts_opened: prometheus::IntCounterVec,
    open_alerts: prometheus::IntGaugeVec,
}

impl FollowUpMetrics {
    /// Creates the metrics and registers them (a registry that already has them keeps its own).
    pub fn new(registry: &prometheus::Registry) -> Result<Self, prometheus::Error> {
        use prometheus::Opts;
        let metrics = FollowUpMetrics {
            observations: prometheus::IntCounterVec::new(
                Opts::new(
                    "mimamori_followup_observations_total",
                    "Health observations received, by source (link or proxy)",
                ),
                &["source"],
            )?,
            alerts_opened: prometheus::IntCounterVec::new(
                Opts::new(
                    "mimamori_followup_alerts_opened_total",
                    "Follow-up alerts opened, by kind",
                ),
                &["kind"],
            )?,
            open_alerts: prometheus::IntGaugeVec::new(
                Opts::new(
                    "mimamori_followup_open_alerts",
                    "Open or acknowledged follow-up alerts, by severity (refreshed every minute)",
                ),
                &["severity"],
            )?,
        };
        // Every fixed label value starts at 0, so rate() and the dashboard see the series
        // before the first observation or alert.
        for source in ["link", "proxy"] {
            metrics.observations.with_label_values(&[source]);
        }
        for kind in AlertKind::ALL {
            metrics.alerts_opened.with_label_values(&[kind.as_str()]);
        }
        for collector in [
            Box::new(metrics.observations.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(metrics.alerts_opened.clone()),
            Box::new(metrics.open_alerts.clone()),
        ] {
            match registry.register(collector) {
                Ok(()) | Err(prometheus::Error::AlreadyReg) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(metrics)
    }
}

/// The longest plan, in days.
pub const MAX_PLAN_DAYS: i64 = 60;

/// A plan's start lies at most this many days before or after today.
pub const MAX_PLAN_START_DISTANCE_DAYS: i64 = 366;

/// The missed-report check looks at every day of the plans that ended less than this many
/// days ago (a stopped job catches up for that long after a plan ends).
pub const MISSED_REPORT_LOOKBACK_DAYS: i64 = 14;

/// The largest worklist.
pub const MAX_WORKLIST: i64 = 500;

/// What is followed up: a case or a close contact (in quarantine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A case (patient in home or hotel care).
    Case,
    /// A close contact.
    Contact,
}

impl SubjectKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Case => "case",
            SubjectKind::Contact => "contact",
        }
    }

    /// The kind of a stored name (unknown names are cases, as rows from before contacts).
    pub fn parse(name: &str) -> SubjectKind {
        if name == "contact" {
            SubjectKind::Contact
        } else {
            SubjectKind::Case
        }
    }
}

/// A follow-up subject with what scope checks and plan defaults need.
#[derive(Debug, Clone)]
pub(crate) struct Subject {
    pub(crate) id: String,
    pub(crate) kind: SubjectKind,
    pub(crate) scope: CaseScope,
    /// A revoked case, or a contact no longer followed.
    pub(crate) closed: bool,
    /// Where a plan starts by default.
    pub(crate) default_start: Option<Date>,
    /// Where a plan ends by default (a contact's quarantine end).
    pub(crate) default_end: Option<Date>,
}

impl Subject {
    pub(crate) fn of_case(record: &CaseRecord) -> Subject {
        let result_date = serde_json::from_str::<serde_json::Value>(&record.data)
            .ok()
            .and_then(|v| v["resultDate"].as_str().map(String::from));
        Subject {
            id: record.id.clone(),
            kind: SubjectKind::Case,
            scope: CaseScope {
                health_center_id: record.health_center_id.clone(),
                prefecture_id: record.prefecture_id.clone(),
                reporting_org_id: record.reporting_org_id.clone(),
            },
            closed: record.revoked_at_ms.is_some(),
            default_start: record
                .onset_date
                .as_deref()
                .or(result_date.as_deref())
                .and_then(Date::parse)
                .or_else(|| Date::parse(&record.diagnosis_date)),
            default_end: None,
        }
    }

    pub(crate) fn of_contact(record: &crate::store::contacts::ContactRecord) -> Subject {
        Subject {
            id: record.id.clone(),
            kind: SubjectKind::Contact,
            // A contact is no clinic's: only the health center of residence and its
            // prefecture see them.
            scope: CaseScope {
                health_center_id: record.health_center_id.clone(),
                prefecture_id: record.prefecture_id.clone(),
                reporting_org_id: String::new(),
            },
            closed: crate::model::contacts::ContactStatus::parse(&record.status)
                .is_none_or(|s| !s.is_open()),
            default_start: record.quarantine_start.as_deref().and_then(Date::parse),
            default_end: record.quarantine_end.as_deref().and_then(Date::parse),
        }
    }

    fn target(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.id)
    }
}

/// A plan as staff set it; every field optional (defaults from the case and configuration).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanInput {
    /// First day (default: onset, or the test result date when asymptomatic).
    #[serde(default)]
    pub start_date: Option<String>,
    /// Last day, inclusive (default: start + `followup_days`).
    #[serde(default)]
    pub end_date: Option<String>,
    /// The responsible organization: the health center itself (default) or a contractor.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// Reporting times per day, `HH:MM` local (default `["09:00", "17:00"]`).
    #[serde(default)]
    pub reporting_times: Option<Vec<String>>,
}

/// A follow-up plan.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanView {
    /// The subject followed.
    pub subject_id: String,
    /// `case` or `contact`.
    pub subject_kind: SubjectKind,
    /// The case, when the subject is one.
    pub case_id: Option<String>,
    /// The responsible organization.
    pub organization_id: String,
    /// Whether a contractor is responsible.
    pub delegated: bool,
    /// First day.
    pub start_date: String,
    /// Last day, inclusive.
    pub end_date: String,
    /// Reporting times per day.
    pub reporting_times: Vec<String>,
}

/// A patient's follow-up link token (shown once; only its hash is stored).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FollowUpToken {
    /// Send as `Authorization: Bearer <token>` to `POST /api/followup/observations`.
    pub token: String,
    /// End of the plan's last day (Unix ms).
    pub expires_at_ms: i64,
}

/// A stored observation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObservationView {
    /// Id.
    pub id: String,
    /// Received (Unix ms).
    pub observed_at_ms: i64,
    /// Local report day.
    pub day: String,
    /// Temperature (°C).
    pub temperature: Option<f64>,
    /// SpO2 (%).
    pub spo2: Option<i64>,
    /// Pulse.
    pub pulse: Option<i64>,
    /// Symptoms.
    pub symptoms: Symptoms,
    /// Free text.
    pub note: Option<String>,
    /// Entered by staff on the patient's behalf.
    pub proxy: bool,
    /// Who entered it on the patient's behalf (`user:…`).
    pub entered_by: Option<String>,
}

/// The answer to a posted observation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObservationReceipt {
    /// The observation's id.
    pub id: String,
    /// The local day it counts for.
    pub day: String,
    /// Kinds of the alerts it opened (the care team is told).
    pub alerts_opened: Vec<String>,
}

/// An alert.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertView {
    /// Id.
    pub id: String,
    /// The subject.
    pub subject_id: String,
    /// `case` or `contact`.
    pub subject_kind: SubjectKind,
    /// The case, when the subject is one.
    pub case_id: Option<String>,
    /// The responsible organization.
    pub organization_id: String,
    /// `low_spo2`, `breathing_difficulty`, `persistent_fever`, `missed_report`.
    pub kind: String,
    /// `high`, `medium`, `low`.
    pub severity: String,
    /// The local day concerned.
    pub day: String,
    /// Values that triggered it.
    pub detail: String,
    /// `open`, `acknowledged`, `resolved`.
    pub state: String,
    /// Opened (Unix ms).
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

impl From<AlertRecord> for AlertView {
    fn from(a: AlertRecord) -> Self {
        AlertView {
            severity: Severity::from_rank(a.severity)
                .map_or("unknown", Severity::as_str)
                .into(),
            id: a.id,
            subject_kind: SubjectKind::parse(&a.subject_kind),
            case_id: (SubjectKind::parse(&a.subject_kind) == SubjectKind::Case)
                .then(|| a.subject_id.clone()),
            subject_id: a.subject_id,
            organization_id: a.organization_id,
            kind: a.kind,
            day: a.day,
            detail: a.detail,
            state: a.state,
            opened_at_ms: a.opened_at_ms,
            acknowledged_by: a.acknowledged_by,
            acknowledged_at_ms: a.acknowledged_at_ms,
            resolved_by: a.resolved_by,
            resolved_at_ms: a.resolved_at_ms,
        }
    }
}

/// A subject's follow-up series.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Series {
    /// The plan, if any.
    pub plan: Option<PlanView>,
    /// One point per day of the plan up to today (or per reported day without a plan).
    pub days: Vec<DayPoint>,
    /// Every observation, oldest first.
    pub observations: Vec<ObservationView>,
    /// Every alert, oldest first.
    pub alerts: Vec<AlertView>,
    /// Alert thresholds: `{spo2, feverCelsius, feverDays}`.
    pub thresholds: serde_json::Value,
}

fn plan_view(plan: &PlanRecord, health_center_id: &str) -> PlanView {
    let kind = SubjectKind::parse(&plan.subject_kind);
    PlanView {
        subject_id: plan.subject_id.clone(),
        subject_kind: kind,
        case_id: (kind == SubjectKind::Case).then(|| plan.subject_id.clone()),
        organization_id: plan.organization_id.clone(),
        delegated: plan.organization_id != health_center_id,
        start_date: plan.start_date.clone(),
        end_date: plan.end_date.clone(),
        reporting_times: plan
            .reporting_times
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
    }
}

fn observation_view(o: ObservationRecord) -> ObservationView {
    ObservationView {
        id: o.id,
        observed_at_ms: o.observed_at_ms,
        day: o.day,
        temperature: o.temperature_tenths.map(|t| t as f64 / 10.0),
        spo2: o.spo2,
        pulse: o.pulse,
        symptoms: serde_json::from_str(&o.symptoms).unwrap_or_default(),
        note: o.note,
        proxy: o.proxy_actor.is_some(),
        entered_by: o.proxy_actor,
    }
}

fn bad_date(field: &'static str) -> CaseError {
    CaseError::Invalid(vec![FieldError {
        field,
        message: format!(
            "not a date (YYYY-MM-DD) within {MAX_PLAN_START_DISTANCE_DAYS} days of today"
        ),
    }])
}

fn corrupt(what: &str) -> CaseError {
    CaseError::Store(StoreError::Corrupt(what.into()))
}

impl CaseRegistry {
    /// Counts follow-up activity in `registry` (see [`FollowUpMetrics`]).
    pub fn with_metrics(mut self, registry: &prometheus::Registry) -> Result<Self, String> {
        self.metrics = Some(FollowUpMetrics::new(registry).map_err(|e| e.to_string())?);
        Ok(self)
    }

    /// Sets the open-alerts gauge from the database (the periodic job calls this).
    pub async fn refresh_followup_metrics(&self) -> Result<(), CaseError> {
        let Some(metrics) = &self.metrics else {
            return Ok(());
        };
        let counts = self.followup.open_alert_counts().await?;
        for severity in Severity::ALL {
            let count = counts
                .iter()
                .find(|(rank, _)| *rank == severity.rank())
                .map_or(0, |(_, n)| *n);
            metrics
                .open_alerts
                .with_label_values(&[severity.as_str()])
                .set(count);
        }
        Ok(())
    }

    async fn refresh_metrics_quietly(&self) {
        if let Err(error) = self.refresh_followup_metrics().await {
            tracing::warn!(error = %error, "follow-up metrics refresh failed");
        }
    }

    fn alert_rules(&self) -> AlertRules {
        AlertRules {
            spo2_threshold: self.config.spo2_alert_threshold,
            fever_tenths: (self.config.fever_threshold_celsius * 10.0).round() as i64,
            fever_days: self.config.fever_alert_days,
        }
    }

    pub(crate) fn local_today(&self) -> Date {
        local_day(self.now_ms(), self.config.utc_offset_minutes)
    }

    /// A subject by kind and id (`None`: no such subject).
    pub(crate) async fn subject(
        &self,
        kind: SubjectKind,
        id: &str,
    ) -> Result<Option<Subject>, CaseError> {
        Ok(match kind {
            SubjectKind::Case => self.store.case(id).await?.as_ref().map(Subject::of_case),
            SubjectKind::Contact => self
                .contacts
                .contact_person(id)
                .await?
                .as_ref()
                .map(Subject::of_contact),
        })
    }

    /// The subject and its plan when `principal` may see (`write`: work) its follow-up;
    /// audited as `followup.<action>`. Outside scope: 404.
    async fn followup_subject(
        &self,
        principal: &Principal,
        kind: SubjectKind,
        id: &str,
        write: bool,
        action: &str,
    ) -> Result<(Subject, Option<PlanRecord>), CaseError> {
        let subject = self.subject(kind, id).await?.ok_or(CaseError::NotFound)?;
        let plan = self.followup.plan(id).await?;
        let org = &principal.organization;
        if org.kind == OrgKind::Contractor {
            if plan.as_ref().is_none_or(|p| p.organization_id != org.id) {
                return Err(CaseError::NotFound);
            }
            if !(principal.has(Role::CaseWorker) || principal.has(Role::Doctor)) {
                return Err(CaseError::Forbidden);
            }
        } else {
            if !in_scope(principal, &subject.scope) {
                return Err(CaseError::NotFound);
            }
            let access = if write { Access::Write } else { Access::Read };
            if !permits(principal, access) {
                return Err(if permits(principal, Access::Read) {
                    CaseError::Forbidden
                } else {
                    CaseError::NotFound
                });
            }
        }
        self.audit(
            &principal.actor,
            &format!("followup.{action}"),
            &subject.target(),
        )
        .await?;
        Ok((subject, plan))
    }

    /// The subject when `principal` may change its follow-up (its health center's case
    /// workers), audited as `<kind>.<action>`.
    pub(crate) async fn writable_subject(
        &self,
        principal: &Principal,
        kind: SubjectKind,
        id: &str,
        action: &str,
    ) -> Result<Subject, CaseError> {
        let subject = match kind {
            SubjectKind::Case => {
                Subject::of_case(&self.case_for(principal, id, Access::Write, action).await?)
            }
            SubjectKind::Contact => Subject::of_contact(
                &self
                    .contact_for(principal, id, Access::Write, action)
                    .await?,
            ),
        };
        if principal.organization.kind != OrgKind::HealthCenter {
            return Err(CaseError::Forbidden);
        }
        Ok(subject)
    }

    /// Creates or replaces a subject's follow-up plan (its health center only).
    pub async fn set_plan(
        &self,
        principal: &Principal,
        kind: SubjectKind,
        id: &str,
        input: PlanInput,
    ) -> Result<PlanView, CaseError> {
        let subject = self
            .writable_subject(principal, kind, id, "followup.plan")
            .await?;
        if subject.closed {
            return Err(match kind {
                SubjectKind::Case => CaseError::Conflict {
                    code: "case_revoked",
                    message: "the case was revoked".into(),
                },
                SubjectKind::Contact => CaseError::Conflict {
                    code: "contact_closed",
                    message: "the contact is no longer followed".into(),
                },
            });
        }
        let today = Date::from_unix_ms(self.now_ms());
        let start = match &input.start_date {
            // A plan starts within a year of today: no year 1899 or 9999 in a plan.
            Some(s) => Date::parse(s)
                .filter(|d| (d.days - today.days).abs() <= MAX_PLAN_START_DISTANCE_DAYS)
                .ok_or_else(|| bad_date("startDate"))?,
            None => subject.default_start.ok_or_else(|| match kind {
                SubjectKind::Case => corrupt("case dates"),
                SubjectKind::Contact => CaseError::Conflict {
                    code: "not_quarantined",
                    message: "start the contact's quarantine first, or give startDate".into(),
                },
            })?,
        };
        let end = match &input.end_date {
            Some(s) => Date::parse(s).ok_or_else(|| bad_date("endDate"))?,
            None => subject.default_end.unwrap_or(Date {
                days: start.days + self.config.followup_days,
            }),
        };
        if end < start || end.days - start.days > MAX_PLAN_DAYS {
            return Err(CaseError::Invalid(vec![FieldError {
                field: "endDate",
                message: format!("must lie 0 to {MAX_PLAN_DAYS} days after the start"),
            }]));
        }
        let times = parse_reporting_times(
            &input
                .reporting_times
                .unwrap_or_else(|| vec!["09:00".into(), "17:00".into()]),
        )
        .map_err(|e| CaseError::Invalid(vec![e]))?;
        let health_center_id = subject.scope.health_center_id.clone();
        let organization_id = match input.organization_id {
            None => health_center_id.clone(),
            Some(id) if id == health_center_id => id,
            Some(id) => match self.store.organization(&id).await? {
                Some(org) if org.kind == OrgKind::Contractor => org.id,
                _ => {
                    return Err(CaseError::Invalid(vec![FieldError {
                        field: "organizationId",
                        message: "the health center itself or a contractor".into(),
                    }]));
                }
            },
        };
        let now = self.now_ms();
        let plan = PlanRecord {
            subject_id: id.into(),
            subject_kind: kind.as_str().into(),
            organization_id,
            start_date: start.to_string(),
            end_date: end.to_string(),
            reporting_times: times.join(","),
            created_at_ms: now,
            updated_at_ms: now,
        };
        let tokens_expire_at_ms = self.plan_end_ms(&plan)?;
        self.followup
            .upsert_plan(&plan, tokens_expire_at_ms)
            .await?;
        Ok(plan_view(&plan, &health_center_id))
    }

    /// A subject's plan.
    pub async fn plan(
        &self,
        principal: &Principal,
        kind: SubjectKind,
        id: &str,
    ) -> Result<PlanView, CaseError> {
        let (subject, plan) = self
            .followup_subject(principal, kind, id, false, "plan.read")
            .await?;
        let plan = plan.ok_or(CaseError::NotFound)?;
        Ok(plan_view(&plan, &subject.scope.health_center_id))
    }

    fn plan_end_ms(&self, plan: &PlanRecord) -> Result<i64, CaseError> {
        let end = Date::parse(&plan.end_date).ok_or_else(|| corrupt("plan end date"))?;
        Ok(local_midnight_ms(
            Date { days: end.days + 1 },
            self.config.utc_offset_minutes,
        ))
    }

    /// Issues the subject's link token (valid to the end of the plan; earlier tokens stop
    /// working). The subject's health center only.
    pub async fn issue_followup_token(
        &self,
        principal: &Principal,
        kind: SubjectKind,
        id: &str,
    ) -> Result<FollowUpToken, CaseError> {
        let subject = self
            .writable_subject(principal, kind, id, "followup.token")
            .await?;
        if subject.closed {
            return Err(CaseError::Forbidden);
        }
        let plan = self.followup.plan(id).await?.ok_or(CaseError::Conflict {
            code: "no_plan",
            message: "set a follow-up plan first".into(),
        })?;
        let now = self.now_ms();
        let expires_at_ms = self.plan_end_ms(&plan)?;
        if expires_at_ms <= now {
            return Err(CaseError::Conflict {
                code: "plan_ended",
                message: "the follow-up plan has ended".into(),
            });
        }
        let token = secrets::new_token("mfu_").map_err(|_| internal("random"))?;
        self.followup
            .replace_followup_token(&secrets::token_hash(&token), id, now, expires_at_ms)
            .await?;
        Ok(FollowUpToken {
            token,
            expires_at_ms,
        })
    }

    /// A further link token for a subject's open plan, for a message: the person's other
    /// links keep working. `None` without an open plan.
    pub(crate) async fn extra_followup_token(
        &self,
        subject_id: &str,
    ) -> Result<Option<FollowUpToken>, CaseError> {
        let Some(plan) = self.followup.plan(subject_id).await? else {
            return Ok(None);
        };
        let now = self.now_ms();
        let expires_at_ms = self.plan_end_ms(&plan)?;
        if expires_at_ms <= now {
            return Ok(None);
        }
        let token = secrets::new_token("mfu_").map_err(|_| internal("random"))?;
        self.followup
            .add_followup_token(&secrets::token_hash(&token), subject_id, now, expires_at_ms)
            .await?;
        Ok(Some(FollowUpToken {
            token,
            expires_at_ms,
        }))
    }

    /// Revokes the subject's link tokens (its health center only).
    pub async fn revoke_followup_tokens(
        &self,
        principal: &Principal,
        kind: SubjectKind,
        id: &str,
    ) -> Result<(), CaseError> {
        self.writable_subject(principal, kind, id, "followup.token_revoke")
            .await?;
        self.followup
            .revoke_followup_tokens(id, self.now_ms())
            .await?;
        Ok(())
    }

    /// An observation posted with a patient's link token.
    pub async fn patient_observation(
        &self,
        token: &str,
        input: ObservationInput,
    ) -> Result<ObservationReceipt, CaseError> {
        let now = self.now_ms();
        let subject_id = self
            .followup
            .followup_token_case(&secrets::token_hash(token), now)
            .await?
            .ok_or(CaseError::Unauthenticated)?;
        let plan = self
            .followup
            .plan(&subject_id)
            .await?
            .ok_or(CaseError::Unauthenticated)?;
        let subject = self
            .subject(SubjectKind::parse(&plan.subject_kind), &subject_id)
            .await?
            .ok_or(CaseError::Unauthenticated)?;
        if subject.closed || self.plan_end_ms(&plan)? <= now {
            return Err(CaseError::Unauthenticated);
        }
        let receipt = self.record_observation(&plan, input, None).await?;
        self.audit("followup_link", "followup.observe", &subject.target())
            .await?;
        Ok(receipt)
    }

    /// An observation entered by staff on the patient's behalf (marked as proxy).
    pub async fn proxy_observation(
        &self,
        principal: &Principal,
        kind: SubjectKind,
        id: &str,
        input: ObservationInput,
    ) -> Result<ObservationReceipt, CaseError> {
        let (_, plan) = self
            .followup_subject(principal, kind, id, true, "observe")
            .await?;
        let plan = plan.ok_or(CaseError::Conflict {
            code: "no_plan",
            message: "no follow-up plan".into(),
        })?;
        self.record_observation(&plan, input, Some(&principal.actor))
            .await
    }

    async fn record_observation(
        &self,
        plan: &PlanRecord,
        input: ObservationInput,
        proxy: Option<&str>,
    ) -> Result<ObservationReceipt, CaseError> {
        input.validate().map_err(CaseError::Invalid)?;
        let now = self.now_ms();
        let day = self.local_today();
        let record = ObservationRecord {
            id: uuid::Uuid::new_v4().to_string(),
            subject_id: plan.subject_id.clone(),
            observed_at_ms: now,
            day: day.to_string(),
            temperature_tenths: input.temperature_tenths(),
            spo2: input.spo2,
            pulse: input.pulse,
            symptoms: serde_json::to_string(&input.symptoms).map_err(internal)?,
            note: input.note.clone().filter(|n| !n.trim().is_empty()),
            proxy_actor: proxy.map(String::from),
        };
        self.followup.insert_observation(&record).await?;
        if let Some(metrics) = &self.metrics {
            metrics
                .observations
                .with_label_values(&[if proxy.is_some() { "proxy" } else { "link" }])
                .inc();
        }
        let readings: Vec<Reading> = self
            .followup
            .observations(&plan.subject_id)
            .await?
            .iter()
            .filter_map(|o| {
                Some(Reading {
                    day: Date::parse(&o.day)?,
                    temperature_tenths: o.temperature_tenths,
                })
            })
            .collect();
        let mut opened = Vec::new();
        for (kind, detail) in evaluate(self.alert_rules(), day, &input, &readings) {
            if self.open_alert(plan, kind, day, detail).await? {
                opened.push(kind.as_str().to_string());
            }
        }
        Ok(ObservationReceipt {
            id: record.id,
            day: record.day,
            alerts_opened: opened,
        })
    }

    async fn open_alert(
        &self,
        plan: &PlanRecord,
        kind: AlertKind,
        day: Date,
        detail: String,
    ) -> Result<bool, CaseError> {
        let inserted = self
            .followup
            .insert_alert(&AlertRecord {
                id: uuid::Uuid::new_v4().to_string(),
                subject_id: plan.subject_id.clone(),
                subject_kind: plan.subject_kind.clone(),
                organization_id: plan.organization_id.clone(),
                kind: kind.as_str().into(),
                severity: kind.severity().rank(),
                day: day.to_string(),
                detail,
                state: AlertState::Open.as_str().into(),
                opened_at_ms: self.now_ms(),
                acknowledged_by: None,
                acknowledged_at_ms: None,
                resolved_by: None,
                resolved_at_ms: None,
            })
            .await?;
        if inserted {
            tracing::info!(kind = kind.as_str(), "follow-up alert opened");
            if let Some(metrics) = &self.metrics {
                metrics
                    .alerts_opened
                    .with_label_values(&[kind.as_str()])
                    .inc();
            }
            self.refresh_metrics_quietly().await;
        }
        Ok(inserted)
    }

    /// Opens a `missed_report` alert for every plan day (from the day the plan was set) whose
    /// cut-off has passed without a report. It looks at every day of every plan that ended
    /// less than [`MISSED_REPORT_LOOKBACK_DAYS`] ago, so a job that was stopped catches up on
    /// the whole plan; idempotent, so every replica may run it. Three queries in all, then the
    /// alerts in batches of 1,000. Returns
    /// how many alerts it opened.
    pub async fn check_missed_reports(&self) -> Result<usize, CaseError> {
        let now = self.now_ms();
        let offset = self.config.utc_offset_minutes;
        let today = local_day(now, offset);
        let cutoff_ms = self.config.missed_report_cutoff_minutes * 60_000;
        // The last day whose cut-off has passed (the cut-off may lie on a later day).
        let mut last_due = today;
        while now < local_midnight_ms(last_due, offset) + cutoff_ms {
            last_due = Date {
                days: last_due.days - 1,
            };
        }
        let floor = Date {
            days: today.days - MISSED_REPORT_LOOKBACK_DAYS,
        };
        let (from, to) = (floor.to_string(), last_due.to_string());
        // Three queries for every plan together, then the alerts in batches: the sweep's cost
        // grows with the number of plans, not with round trips per plan.
        let plans = self.followup.plans_overlapping(&from, &to).await?;
        let mut settled: HashMap<String, HashSet<String>> = HashMap::new();
        for (subject, day) in self.followup.settled_days_between(&from, &to).await? {
            settled.entry(subject).or_default().insert(day);
        }
        let closed: HashSet<String> = self
            .followup
            .closed_plan_subjects(&from, &to)
            .await?
            .into_iter()
            .collect();
        let now = self.now_ms();
        let kind = AlertKind::MissedReport;
        let mut alerts = Vec::new();
        for plan in plans {
            let (Some(start), Some(end)) =
                (Date::parse(&plan.start_date), Date::parse(&plan.end_date))
            else {
                continue;
            };
            if closed.contains(&plan.subject_id) {
                continue;
            }
            // Days before the plan existed cannot have been reported through it.
            let first = start.max(local_day(plan.created_at_ms, offset)).max(floor);
            let last = end.min(last_due);
            let done = settled.get(&plan.subject_id);
            for days in first.days..=last.days {
                let day = Date { days };
                if done.is_some_and(|d| d.contains(&day.to_string())) {
                    continue;
                }
                alerts.push(AlertRecord {
                    id: uuid::Uuid::new_v4().to_string(),
                    subject_id: plan.subject_id.clone(),
                    subject_kind: plan.subject_kind.clone(),
                    organization_id: plan.organization_id.clone(),
                    kind: kind.as_str().into(),
                    severity: kind.severity().rank(),
                    day: day.to_string(),
                    detail: format!("no report on {day}"),
                    state: AlertState::Open.as_str().into(),
                    opened_at_ms: now,
                    acknowledged_by: None,
                    acknowledged_at_ms: None,
                    resolved_by: None,
                    resolved_at_ms: None,
                });
            }
        }
        let opened = self.followup.insert_alerts(&alerts).await?;
        if opened > 0 {
            tracing::info!(
                kind = kind.as_str(),
                count = opened,
                "follow-up alerts opened"
            );
            if let Some(metrics) = &self.metrics {
                metrics
                    .alerts_opened
                    .with_label_values(&[kind.as_str()])
                    .inc_by(opened as u64);
            }
            self.refresh_metrics_quietly().await;
        }
        Ok(opened)
    }

    async fn day_points(
        &self,
        plan: Option<&PlanRecord>,
        observations: &[ObservationRecord],
    ) -> Vec<DayPoint> {
        let days: Vec<Date> = match plan
            .and_then(|p| Some((Date::parse(&p.start_date)?, Date::parse(&p.end_date)?)))
        {
            Some((start, end)) => {
                let last = end.min(self.local_today()).max(start);
                (start.days..=last.days).map(|days| Date { days }).collect()
            }
            None => {
                let mut days: Vec<Date> = observations
                    .iter()
                    .filter_map(|o| Date::parse(&o.day))
                    .collect();
                days.dedup();
                days
            }
        };
        days.into_iter()
            .map(|d| {
                let date = d.to_string();
                let of_day: Vec<&ObservationRecord> =
                    observations.iter().filter(|o| o.day == date).collect();
                DayPoint {
                    max_temperature: of_day
                        .iter()
                        .filter_map(|o| o.temperature_tenths)
                        .max()
                        .map(|t| t as f64 / 10.0),
                    min_spo2: of_day.iter().filter_map(|o| o.spo2).min(),
                    reports: of_day.len() as i64,
                    date,
                }
            })
            .collect()
    }

    /// A subject's follow-up series (plan, days, observations, alerts).
    pub async fn series(
        &self,
        principal: &Principal,
        kind: SubjectKind,
        id: &str,
    ) -> Result<Series, CaseError> {
        let (subject, plan) = self
            .followup_subject(principal, kind, id, false, "series")
            .await?;
        let observations = self.followup.observations(id).await?;
        let days = self.day_points(plan.as_ref(), &observations).await;
        let alerts = self.followup.subject_alerts(id).await?;
        let rules = self.alert_rules();
        Ok(Series {
            plan: plan
                .as_ref()
                .map(|p| plan_view(p, &subject.scope.health_center_id)),
            days,
            observations: observations.into_iter().map(observation_view).collect(),
            alerts: alerts.into_iter().map(AlertView::from).collect(),
            thresholds: serde_json::json!({
                "spo2": rules.spo2_threshold,
                "feverCelsius": rules.fever_tenths as f64 / 10.0,
                "feverDays": rules.fever_days,
            }),
        })
    }

    /// A subject's chart as SVG (temperature and SpO2 per day, thresholds drawn).
    pub async fn chart(
        &self,
        principal: &Principal,
        kind: SubjectKind,
        id: &str,
    ) -> Result<String, CaseError> {
        let (_, plan) = self
            .followup_subject(principal, kind, id, false, "chart")
            .await?;
        let observations = self.followup.observations(id).await?;
        let days = self.day_points(plan.as_ref(), &observations).await;
        Ok(chart_svg(
            &days,
            self.alert_rules(),
            "Follow-up: temperature and SpO2",
        ))
    }

    /// The caller's organization's worklist: `state` `open`, `acknowledged`, `resolved`, or
    /// `active` (default: open and acknowledged), by severity then age.
    pub async fn worklist(
        &self,
        principal: &Principal,
        state: Option<&str>,
    ) -> Result<Vec<AlertView>, CaseError> {
        let org = &principal.organization;
        let scope = match org.kind {
            OrgKind::HealthCenter if principal.has(Role::CaseWorker) => {
                WorklistScope::HealthCenter(org.id.clone())
            }
            OrgKind::Contractor
                if principal.has(Role::CaseWorker) || principal.has(Role::Doctor) =>
            {
                WorklistScope::Responsible(org.id.clone())
            }
            _ => return Err(CaseError::Forbidden),
        };
        let states: &[&str] = match state.unwrap_or("active") {
            "active" => &["open", "acknowledged"],
            "open" => &["open"],
            "acknowledged" => &["acknowledged"],
            "resolved" => &["resolved"],
            _ => {
                return Err(CaseError::BadRequest {
                    code: "invalid_state",
                    message: "state: open, acknowledged, resolved or active".into(),
                });
            }
        };
        let alerts = self.followup.worklist(&scope, states, MAX_WORKLIST).await?;
        self.audit(
            &principal.actor,
            "alert.list",
            &format!("organization:{}", org.id),
        )
        .await?;
        Ok(alerts.into_iter().map(AlertView::from).collect())
    }

    /// Acknowledges (`acknowledged`) or resolves (`resolved`) an alert, recording who and when.
    pub async fn transition_alert(
        &self,
        principal: &Principal,
        alert_id: &str,
        next: AlertState,
    ) -> Result<AlertView, CaseError> {
        let alert = self
            .followup
            .alert(alert_id)
            .await?
            .ok_or(CaseError::NotFound)?;
        self.followup_subject(
            principal,
            SubjectKind::parse(&alert.subject_kind),
            &alert.subject_id,
            true,
            "alert",
        )
        .await?;
        let current = AlertState::parse(&alert.state).ok_or_else(|| corrupt("alert state"))?;
        if !current.can_become(next) {
            return Err(CaseError::Conflict {
                code: "invalid_transition",
                message: format!(
                    "an {} alert cannot become {}",
                    current.as_str(),
                    next.as_str()
                ),
            });
        }
        if !self
            .followup
            .transition_alert(
                alert_id,
                current.as_str(),
                next.as_str(),
                &principal.actor,
                self.now_ms(),
            )
            .await?
        {
            return Err(CaseError::Conflict {
                code: "concurrent_change",
                message: "the alert changed meanwhile; reload".into(),
            });
        }
        self.refresh_metrics_quietly().await;
        let alert = self
            .followup
            .alert(alert_id)
            .await?
            .ok_or(CaseError::NotFound)?;
        Ok(alert.into())
    }
}
