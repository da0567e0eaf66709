//! The line list for prefectures and health centers (cases of the caller's scope by
//! diagnosis day, as CSV, audited) and the retention rule: the personal data of cases and
//! close contacts closed longer than `retention_days` is removed. What the statistics count
//! on stays (days, places, statuses, sex and age, the clinical flags), so no published count
//! changes.

use serde::Serialize;

use super::statistics::csv_field;
use super::{CaseError, CaseRegistry};
use crate::model::{Access, Date, OrgKind, Principal, permits};
use crate::store::ScopeFilter;

/// Most rows of one line list.
pub const MAX_LINE_LIST_ROWS: i64 = 100_000;

/// Longest period of one line list, in days.
pub const MAX_LINE_LIST_DAYS: i64 = 366;

/// Records anonymised per store call.
const RETENTION_BATCH: i64 = 500;

/// Notification fields that name or locate a person (or are free text that may): removed
/// when the retention period ends. `name` becomes empty; the others are removed.
pub const PERSONAL_FIELDS: [&str; 12] = [
    "name",
    "kana",
    "dateOfBirth",
    "address",
    "phone",
    "email",
    "workplace",
    "nationality",
    "reportingDoctor",
    "hospital",
    "underlyingConditions",
    "estimatedPlaceOfInfection",
];

/// The line list's columns: the case, where it belongs, its course and the clinical fields a
/// prefecture coordinates beds on. Contact details (address, phone, e-mail, workplace) stay
/// with the health center and are not exported.
pub const LINE_LIST_COLUMNS: [&str; 22] = [
    "caseId",
    "prefectureId",
    "healthCenterId",
    "status",
    "reportDate",
    "diagnosisDate",
    "onsetDate",
    "name",
    "sex",
    "age",
    "municipality",
    "vulnerableHousehold",
    "admitted",
    "hospital",
    "icu",
    "ventilator",
    "ecmo",
    "outcome",
    "diagnosisMethod",
    "infectionRoute",
    "infectionArea",
    "revoked",
];

/// What one retention run removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionReport {
    /// Cases anonymised.
    pub cases: u64,
    /// Close contacts anonymised.
    pub contacts: u64,
}

/// A line list: CSV text and its number of rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineList {
    /// CSV (header, then a line per case; CRLF).
    pub csv: String,
    /// Cases in it.
    pub rows: usize,
}

/// A notification with its personal fields removed (`name` empty).
pub fn anonymised_notification(data: &str) -> Result<String, CaseError> {
    let mut value: serde_json::Value = serde_json::from_str(data)
        .map_err(|e| CaseError::Internal(format!("stored notification: {e}")))?;
    let Some(fields) = value.as_object_mut() else {
        return Err(CaseError::Internal("stored notification".into()));
    };
    for field in PERSONAL_FIELDS {
        if field == "name" {
            fields.insert(field.into(), serde_json::Value::String(String::new()));
        } else {
            fields.remove(field);
        }
    }
    serde_json::to_string(&value).map_err(|e| CaseError::Internal(e.to_string()))
}

fn cell(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(text)) => csv_field(text),
        Some(other) => csv_field(&other.to_string()),
    }
}

impl CaseRegistry {
    /// The caller's cases diagnosed from `from` to `to` as CSV: case workers of a health
    /// center (its cases) or a prefecture (its health centers' cases). At most
    /// [`MAX_LINE_LIST_DAYS`] days and [`MAX_LINE_LIST_ROWS`] rows (more is 422: ask for a
    /// shorter period). Audited as `linelist.export` with the period and the row count.
    pub async fn line_list(
        &self,
        principal: &Principal,
        from: &str,
        to: &str,
    ) -> Result<LineList, CaseError> {
        let org = &principal.organization;
        let scope = match org.kind {
            OrgKind::HealthCenter => ScopeFilter::HealthCenter(org.id.clone()),
            OrgKind::Prefecture => ScopeFilter::Prefecture(org.id.clone()),
            _ => return Err(CaseError::Forbidden),
        };
        if !permits(principal, Access::Read) {
            return Err(CaseError::Forbidden);
        }
        let bad = |message: &str| CaseError::BadRequest {
            code: "invalid_range",
            message: message.into(),
        };
        let (Some(first), Some(last)) = (Date::parse(from), Date::parse(to)) else {
            return Err(bad("from and to are days (YYYY-MM-DD)"));
        };
        if last < first || last.days - first.days >= MAX_LINE_LIST_DAYS {
            // Well-formed but unusable: 422, as for statistics ranges.
            return Err(CaseError::Invalid(vec![crate::model::FieldError {
                field: "to",
                message: format!(
                    "to must not be before from, and the period at most {MAX_LINE_LIST_DAYS} days"
                ),
            }]));
        }
        let records = self
            .retention
            .line_list(&scope, from, to, MAX_LINE_LIST_ROWS + 1)
            .await?;
        if records.len() as i64 > MAX_LINE_LIST_ROWS {
            return Err(CaseError::Conflict {
                code: "too_many_rows",
                message: format!(
                    "more than {MAX_LINE_LIST_ROWS} cases in the period; ask for a shorter one"
                ),
            });
        }
        let mut csv = LINE_LIST_COLUMNS.join(",");
        csv.push_str("\r\n");
        for record in &records {
            let notification: serde_json::Value = serde_json::from_str(&record.data)
                .map_err(|e| CaseError::Internal(format!("stored notification: {e}")))?;
            let fields: Vec<String> = LINE_LIST_COLUMNS
                .iter()
                .map(|column| match *column {
                    "caseId" => csv_field(&record.id),
                    "prefectureId" => csv_field(&record.prefecture_id),
                    "healthCenterId" => csv_field(&record.health_center_id),
                    "status" => csv_field(&record.status),
                    "revoked" => record.revoked_at_ms.is_some().to_string(),
                    field => cell(notification.get(field)),
                })
                .collect();
            csv.push_str(&fields.join(","));
            csv.push_str("\r\n");
        }
        self.audit(
            &principal.actor,
            "linelist.export",
            &format!("{}:{from}..{to}:{} rows", org.id, records.len()),
        )
        .await?;
        Ok(LineList {
            csv,
            rows: records.len(),
        })
    }

    /// [`CaseRegistry::run_retention`] on request of an org admin of the national
    /// organization (audited as `retention.run`).
    pub async fn run_retention_for(
        &self,
        principal: &Principal,
    ) -> Result<RetentionReport, CaseError> {
        if principal.organization.kind != OrgKind::National
            || !principal.has(crate::model::Role::OrgAdmin)
        {
            return Err(CaseError::Forbidden);
        }
        self.audit(&principal.actor, "retention.run", "retention")
            .await?;
        self.run_retention().await
    }

    /// Anonymises the cases and close contacts closed (final status, or revoked) more than
    /// `retention_days` ago; 0 days keeps everything. Idempotent (a conditional update per
    /// record), so every replica may run it. Each anonymisation is audited.
    pub async fn run_retention(&self) -> Result<RetentionReport, CaseError> {
        let mut report = RetentionReport::default();
        let days = self.config.retention_days;
        if days <= 0 {
            return Ok(report);
        }
        let now = self.now_ms();
        let cutoff = now - days * 86_400_000;
        loop {
            let due = self
                .retention
                .cases_due_for_anonymisation(cutoff, RETENTION_BATCH)
                .await?;
            let batch = due.len() as i64;
            for (id, data) in due {
                if self
                    .retention
                    .anonymise_case(&id, &anonymised_notification(&data)?, now)
                    .await?
                {
                    report.cases += 1;
                    self.audit("system", "case.anonymised", &format!("case:{id}"))
                        .await?;
                }
            }
            if batch < RETENTION_BATCH {
                break;
            }
        }
        loop {
            let due = self
                .retention
                .contacts_due_for_anonymisation(cutoff, RETENTION_BATCH)
                .await?;
            let batch = due.len() as i64;
            for id in due {
                if self.retention.anonymise_contact(&id, now).await? {
                    report.contacts += 1;
                    self.audit("system", "contact.anonymised", &format!("contact:{id}"))
                        .await?;
                }
            }
            if batch < RETENTION_BATCH {
                break;
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn anonymising_removes_every_personal_field_and_keeps_the_rest() {
        let data = serde_json::json!({
            "name": "山田 太郎", "kana": "ヤマダ タロウ", "dateOfBirth": "1980-01-01", "address": "港区1-2-3",
            "phone": "090-0000-0000", "email": "a@example.org", "workplace": "X", "nationality": "JP",
            "reportingDoctor": "Dr", "hospital": "H", "underlyingConditions": "none",
            "estimatedPlaceOfInfection": "bar", "sex": "male", "age": 46, "municipality": "港区",
            "diagnosisDate": "2026-11-20", "icu": true
        });
        let out: serde_json::Value =
            serde_json::from_str(&super::anonymised_notification(&data.to_string()).unwrap())
                .unwrap();
        let object = out.as_object().unwrap();
        assert_eq!(object["name"], "");
        for field in super::PERSONAL_FIELDS.iter().filter(|f| **f != "name") {
            assert!(!object.contains_key(*field), "{field}");
        }
        for kept in ["sex", "age", "municipality", "diagnosisDate", "icu"] {
            assert_eq!(object[kept], data[kept], "{kept}");
        }
    }
}
