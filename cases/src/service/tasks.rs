//! The health center's task list beyond clinical alerts: who has not been reached by a first
//! call, which cases lack items the follow-up needs, whose quarantine ends today, who has not
//! reported through their link for a day, and which documents the person has not yet
//! downloaded. Computed on request from the records (nothing to keep in step), each kind
//! bounded; plus the call log the first-call check reads.

use serde::{Deserialize, Serialize};

use super::followup::SubjectKind;
use super::{CaseError, CaseRegistry};
use crate::model::{Access, Date, OrgKind, Principal, permits};
use crate::store::tasks::{CallRecord, TaskRow};

/// Most tasks of one kind listed.
pub const MAX_TASKS_PER_KIND: i64 = 500;

/// Notification fields the follow-up needs: how to reach the person, their age, where they
/// stay.
pub const REQUIRED_ITEMS: [&str; 3] = ["phone", "dateOfBirth", "address"];

/// A kind of task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Nobody has reached the person by phone yet.
    FirstCall,
    /// The notification lacks a phone, the date of birth or the address.
    MissingItems,
    /// A close contact's quarantine ends today.
    QuarantineEndsToday,
    /// No report through the link yesterday or today.
    NoReport,
    /// A document issued over a day ago that the person has not downloaded.
    UnconfirmedDocument,
}

/// One task.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// Kind.
    pub kind: TaskKind,
    /// `case` or `contact`.
    pub subject_kind: String,
    /// The case or contact.
    pub subject_id: String,
    /// Their name.
    pub name: String,
    /// What: the missing items, the last day reported, the document kind, a day.
    pub detail: String,
}

/// The outcome of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// Spoke with the person (or their family).
    Reached,
    /// Nobody answered.
    NoAnswer,
    /// The number is not theirs.
    WrongNumber,
    /// They would not talk.
    Refused,
}

impl CallOutcome {
    fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Reached => "reached",
            CallOutcome::NoAnswer => "no_answer",
            CallOutcome::WrongNumber => "wrong_number",
            CallOutcome::Refused => "refused",
        }
    }
}

/// A call attempt to record.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallInput {
    /// What happened.
    pub outcome: CallOutcome,
}

/// A recorded call.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallView {
    /// Id.
    pub id: String,
    /// Outcome (`reached`, `no_answer`, `wrong_number`, `refused`).
    pub outcome: String,
    /// Who called.
    pub called_by: String,
    /// When (Unix ms).
    pub called_at_ms: i64,
}

fn task(kind: TaskKind, (subject_kind, subject_id, name, detail): TaskRow) -> Task {
    Task {
        kind,
        subject_kind,
        subject_id,
        name,
        detail,
    }
}

/// The required items a notification lacks.
fn missing_items(data: &str) -> Vec<&'static str> {
    let value: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
    REQUIRED_ITEMS
        .into_iter()
        .filter(|item| {
            value[*item]
                .as_str()
                .is_none_or(|text| text.trim().is_empty())
        })
        .collect()
}

impl CaseRegistry {
    /// The caller's health center's tasks, by kind then age (case workers of a health
    /// center). Audited as `tasks.read`.
    pub async fn tasks(&self, principal: &Principal) -> Result<Vec<Task>, CaseError> {
        if principal.organization.kind != OrgKind::HealthCenter || !permits(principal, Access::Read)
        {
            return Err(CaseError::Forbidden);
        }
        let hc = principal.organization.id.as_str();
        let today = self.local_today();
        let yesterday = Date {
            days: today.days - 1,
        };
        let limit = MAX_TASKS_PER_KIND;
        let mut tasks: Vec<Task> = Vec::new();
        for row in self.tasks_store.first_calls_due(hc, limit).await? {
            tasks.push(task(TaskKind::FirstCall, row));
        }
        let mut missing = 0;
        for (kind, id, name, data) in self.tasks_store.open_cases(hc, 10 * limit).await? {
            let items = missing_items(&data);
            if !items.is_empty() && missing < limit {
                missing += 1;
                tasks.push(task(
                    TaskKind::MissingItems,
                    (kind, id, name, items.join(", ")),
                ));
            }
        }
        for row in self
            .tasks_store
            .quarantines_ending(hc, &today.to_string(), limit)
            .await?
        {
            tasks.push(task(TaskKind::QuarantineEndsToday, row));
        }
        for row in self
            .tasks_store
            .silent_subjects(hc, &yesterday.to_string(), &today.to_string(), limit)
            .await?
        {
            tasks.push(task(TaskKind::NoReport, row));
        }
        for row in self
            .tasks_store
            .unconfirmed_documents(hc, self.now_ms() - 86_400_000, limit)
            .await?
        {
            tasks.push(task(TaskKind::UnconfirmedDocument, row));
        }
        self.audit(
            &principal.actor,
            "tasks.read",
            &format!("organization:{hc}"),
        )
        .await?;
        Ok(tasks)
    }

    /// Records a call to a case or contact (a case worker of its health center).
    pub async fn record_call(
        &self,
        principal: &Principal,
        kind: SubjectKind,
        id: &str,
        input: CallInput,
    ) -> Result<CallView, CaseError> {
        self.writable_subject(principal, kind, id, "call.record")
            .await?;
        let record = CallRecord {
            id: uuid::Uuid::new_v4().to_string(),
            subject_kind: kind.as_str().into(),
            subject_id: id.to_string(),
            outcome: input.outcome.as_str().into(),
            called_by: principal.actor.clone(),
            called_at_ms: self.now_ms(),
        };
        self.tasks_store.insert_call(&record).await?;
        Ok(CallView {
            id: record.id,
            outcome: record.outcome,
            called_by: record.called_by,
            called_at_ms: record.called_at_ms,
        })
    }

    /// A case's or contact's calls, newest first.
    pub async fn calls(
        &self,
        principal: &Principal,
        kind: SubjectKind,
        id: &str,
    ) -> Result<Vec<CallView>, CaseError> {
        match kind {
            SubjectKind::Case => {
                self.case_for(principal, id, Access::Read, "call.list")
                    .await?;
            }
            SubjectKind::Contact => {
                self.contact_for(principal, id, Access::Read, "call.list")
                    .await?;
            }
        }
        Ok(self
            .tasks_store
            .calls_of(id)
            .await?
            .into_iter()
            .map(|c| CallView {
                id: c.id,
                outcome: c.outcome,
                called_by: c.called_by,
                called_at_ms: c.called_at_ms,
            })
            .collect())
    }
}
