//! Changes to filed records: corrections of a notification (every replaced version kept,
//! the change in the case's history) and transfers of cases and close contacts between
//! health centers (the scope follows the record; the history and the audit log say who,
//! when, from where to where).

use serde::{Deserialize, Serialize};

use super::duplicates::PersonKind;
use super::{CaseError, CaseRegistry, CaseView};
use crate::model::{Access, FieldError, Notification, OrgKind, Principal};

/// A transfer to another health center.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Transfer {
    /// The receiving health center.
    pub health_center_id: String,
}

/// Where a transferred record went (the sender may not see it any more).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Transferred {
    /// The record.
    pub id: String,
    /// Its new health center.
    pub health_center_id: String,
    /// Its new prefecture.
    pub prefecture_id: String,
}

/// A replaced version of a notification.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    /// The notification as it was.
    pub notification: serde_json::Value,
    /// Who replaced it.
    pub replaced_by: String,
    /// When (Unix ms).
    pub replaced_at_ms: i64,
}

/// Fields a correction may not change: where the case belongs (a transfer moves it) and the
/// legal report date.
const FIXED_FIELDS: [&str; 2] = ["healthCenterId", "reportDate"];

impl CaseRegistry {
    /// A receiving health center other than `current`, with its prefecture.
    async fn receiving_health_center(&self, to: &str, current: &str) -> Result<String, CaseError> {
        let invalid = |message: &str| {
            CaseError::Invalid(vec![FieldError {
                field: "healthCenterId",
                message: message.into(),
            }])
        };
        if to == current {
            return Err(invalid("the record is already this health center's"));
        }
        let org = self
            .store
            .organization(to)
            .await?
            .filter(|o| o.kind == OrgKind::HealthCenter)
            .ok_or_else(|| invalid("a health center"))?;
        org.parent_id
            .ok_or_else(|| CaseError::Internal("health center without prefecture".into()))
    }

    /// Transfers a case to another health center (a case worker of its current one): the
    /// case, its follow-up plan and open alerts move; the history records it.
    pub async fn transfer_case(
        &self,
        principal: &Principal,
        id: &str,
        to: &str,
    ) -> Result<Transferred, CaseError> {
        let record = self
            .case_for(principal, id, Access::Write, "transfer")
            .await?;
        if principal.organization.kind != OrgKind::HealthCenter
            || principal.organization.id != record.health_center_id
        {
            return Err(CaseError::Forbidden);
        }
        let prefecture_id = self
            .receiving_health_center(to, &record.health_center_id)
            .await?;
        if !self
            .store
            .transfer_case(
                id,
                &record.health_center_id,
                to,
                &prefecture_id,
                self.now_ms(),
                &principal.actor,
            )
            .await?
        {
            return Err(CaseError::Conflict {
                code: "concurrent_change",
                message: "the case changed meanwhile; reload".into(),
            });
        }
        self.audit(
            &principal.actor,
            "case.transferred",
            &format!("case:{id} organization:{to}"),
        )
        .await?;
        // Its blocking keys move to the receiving prefecture.
        self.detect_duplicates_quietly(PersonKind::Case, id).await;
        Ok(Transferred {
            id: id.into(),
            health_center_id: to.into(),
            prefecture_id,
        })
    }

    /// Transfers a close contact to the health center of their (new) residence.
    pub async fn transfer_contact(
        &self,
        principal: &Principal,
        id: &str,
        to: &str,
    ) -> Result<Transferred, CaseError> {
        let record = self
            .contact_for(principal, id, Access::Write, "transfer")
            .await?;
        if principal.organization.kind != OrgKind::HealthCenter
            || principal.organization.id != record.health_center_id
        {
            return Err(CaseError::Forbidden);
        }
        let prefecture_id = self
            .receiving_health_center(to, &record.health_center_id)
            .await?;
        if !self
            .contacts
            .transfer_contact(
                id,
                &record.health_center_id,
                to,
                &prefecture_id,
                self.now_ms(),
            )
            .await?
        {
            return Err(CaseError::Conflict {
                code: "concurrent_change",
                message: "the contact changed meanwhile; reload".into(),
            });
        }
        self.audit(
            &principal.actor,
            "contact.transferred",
            &format!("contact:{id} organization:{to}"),
        )
        .await?;
        self.detect_duplicates_quietly(PersonKind::Contact, id)
            .await;
        Ok(Transferred {
            id: id.into(),
            health_center_id: to.into(),
            prefecture_id,
        })
    }

    /// Corrects a filed notification (a case worker of the case's health center): `changes`
    /// are merged over the current notification and checked like a new one; the replaced
    /// version is kept and the case's history lists the changed fields. The health center
    /// (see transfers) and the legal report date cannot change.
    pub async fn correct_case(
        &self,
        principal: &Principal,
        id: &str,
        changes: serde_json::Map<String, serde_json::Value>,
    ) -> Result<CaseView, CaseError> {
        let record = self.case_for(principal, id, Access::Write, "edit").await?;
        if principal.organization.kind != OrgKind::HealthCenter {
            return Err(CaseError::Forbidden);
        }
        if record.revoked_at_ms.is_some() {
            return Err(CaseError::Conflict {
                code: "case_revoked",
                message: "the case was revoked".into(),
            });
        }
        let serde_json::Value::Object(mut fields) = serde_json::from_str(&record.data)
            .map_err(|e| CaseError::Internal(format!("stored notification: {e}")))?
        else {
            return Err(CaseError::Internal("stored notification".into()));
        };
        let mut changed = Vec::new();
        let mut errors = Vec::new();
        for (key, value) in changes {
            if fields.get(&key) == Some(&value) {
                continue;
            }
            if let Some(fixed) = FIXED_FIELDS.iter().find(|f| **f == key) {
                errors.push(FieldError {
                    field: fixed,
                    message: "cannot be corrected (a transfer moves a case; the report date is the legal one)".into(),
                });
                continue;
            }
            changed.push(key.clone());
            fields.insert(key, value);
        }
        if !errors.is_empty() {
            return Err(CaseError::Invalid(errors));
        }
        if changed.is_empty() {
            return self.view(record).await;
        }
        let notification: Notification = serde_json::from_value(serde_json::Value::Object(fields))
            .map_err(|e| {
                CaseError::Invalid(vec![FieldError {
                    field: "notification",
                    message: format!("the corrected notification is not valid: {e}"),
                }])
            })?;
        notification
            .validate(self.date_rules())
            .map_err(CaseError::Invalid)?;
        changed.sort();
        let mut corrected = record.clone();
        corrected.data =
            serde_json::to_string(&notification).map_err(|e| CaseError::Internal(e.to_string()))?;
        corrected.name = notification.name.clone();
        corrected.onset_date = notification.onset_date.clone();
        corrected.diagnosis_date = notification.diagnosis_date.clone();
        corrected.updated_at_ms = self.now_ms().max(record.updated_at_ms + 1);
        if !self
            .store
            .correct_case(
                &corrected,
                record.updated_at_ms,
                &changed.join(", "),
                &principal.actor,
            )
            .await?
        {
            return Err(CaseError::Conflict {
                code: "concurrent_change",
                message: "the case changed meanwhile; reload".into(),
            });
        }
        self.detect_duplicates_quietly(PersonKind::Case, id).await;
        self.view(corrected).await
    }

    /// The replaced versions of a case's notification, oldest first.
    pub async fn case_revisions(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<Vec<Revision>, CaseError> {
        self.case_for(principal, id, Access::Read, "revisions")
            .await?;
        self.store
            .case_revisions(id)
            .await?
            .into_iter()
            .map(|(data, replaced_by, replaced_at_ms)| {
                Ok(Revision {
                    notification: serde_json::from_str(&data)
                        .map_err(|e| CaseError::Internal(format!("stored revision: {e}")))?,
                    replaced_by,
                    replaced_at_ms,
                })
            })
            .collect()
    }
}
