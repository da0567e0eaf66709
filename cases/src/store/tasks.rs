//! Storage side of the health center's task list: call attempts, and the queries behind
//! each kind of task (each scoped to one health center, each bounded).

use async_trait::async_trait;

use super::DbCaseStore;
use crate::params;
use crate::sql::{self, StoreError};

/// A recorded call to a case or contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// Id (UUID).
    pub id: String,
    /// `case` or `contact`.
    pub subject_kind: String,
    /// The case's or contact's id.
    pub subject_id: String,
    /// `reached`, `no_answer`, `wrong_number` or `refused`.
    pub outcome: String,
    /// Who called.
    pub called_by: String,
    /// When (Unix ms).
    pub called_at_ms: i64,
}

/// One row of a task query: subject kind, id, name, and a detail (a day, a document kind, the
/// notification JSON for the missing-items check).
pub type TaskRow = (String, String, String, String);

/// Storage of call attempts and the task queries.
#[async_trait]
pub trait TaskStore: Send + Sync {
    /// Records a call attempt.
    async fn insert_call(&self, call: &CallRecord) -> Result<(), StoreError>;
    /// A subject's calls, newest first.
    async fn calls_of(&self, subject_id: &str) -> Result<Vec<CallRecord>, StoreError>;
    /// Open cases and contacts of a health center nobody has reached by phone yet.
    async fn first_calls_due(
        &self,
        health_center_id: &str,
        limit: i64,
    ) -> Result<Vec<TaskRow>, StoreError>;
    /// Open cases of a health center with their notification (detail), for missing items.
    async fn open_cases(
        &self,
        health_center_id: &str,
        limit: i64,
    ) -> Result<Vec<TaskRow>, StoreError>;
    /// Contacts in quarantine whose quarantine ends on `day`.
    async fn quarantines_ending(
        &self,
        health_center_id: &str,
        day: &str,
        limit: i64,
    ) -> Result<Vec<TaskRow>, StoreError>;
    /// Subjects of a health center with a plan running since before `since_day` and no report from `since_day`
    /// on (detail: the last day reported, or empty).
    async fn silent_subjects(
        &self,
        health_center_id: &str,
        since_day: &str,
        today: &str,
        limit: i64,
    ) -> Result<Vec<TaskRow>, StoreError>;
    /// Documents issued before `before_ms` that the person has not downloaded (detail: kind).
    async fn unconfirmed_documents(
        &self,
        health_center_id: &str,
        before_ms: i64,
        limit: i64,
    ) -> Result<Vec<TaskRow>, StoreError>;
}

fn rows(found: Vec<sql::Row>) -> Result<Vec<TaskRow>, StoreError> {
    found
        .iter()
        .map(|row| {
            Ok((
                row.text(0)?,
                row.text(1)?,
                row.text(2)?,
                row.opt_text(3)?.unwrap_or_default(),
            ))
        })
        .collect()
}

/// Cases still being worked (not closed, revoked, anonymised or merged into another).
const OPEN_CASE: &str = "c.status NOT IN ('recovered', 'deceased') AND c.revoked_at_ms IS NULL AND c.anonymised_at_ms IS NULL AND c.merged_into IS NULL";

#[async_trait]
impl TaskStore for DbCaseStore {
    async fn insert_call(&self, call: &CallRecord) -> Result<(), StoreError> {
        sql::execute(
            self.database(),
            "INSERT INTO subject_calls (id, subject_kind, subject_id, outcome, called_by, called_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
            params![&call.id, &call.subject_kind, &call.subject_id, &call.outcome, &call.called_by, call.called_at_ms],
        )
        .await?;
        Ok(())
    }

    async fn calls_of(&self, subject_id: &str) -> Result<Vec<CallRecord>, StoreError> {
        sql::query(
            self.database(),
            "SELECT id, subject_kind, subject_id, outcome, called_by, called_at_ms FROM subject_calls
             WHERE subject_id = $1 ORDER BY called_at_ms DESC, id LIMIT 200",
            params![subject_id],
        )
        .await?
        .iter()
        .map(|row| {
            Ok(CallRecord {
                id: row.text(0)?,
                subject_kind: row.text(1)?,
                subject_id: row.text(2)?,
                outcome: row.text(3)?,
                called_by: row.text(4)?,
                called_at_ms: row.int(5)?,
            })
        })
        .collect()
    }

    async fn first_calls_due(
        &self,
        health_center_id: &str,
        limit: i64,
    ) -> Result<Vec<TaskRow>, StoreError> {
        rows(
            sql::query(
                self.database(),
                &format!(
                    "SELECT 'case', c.id, c.name, c.diagnosis_date FROM cases c WHERE c.health_center_id = $1 AND {OPEN_CASE}
                     AND NOT EXISTS (SELECT 1 FROM subject_calls k WHERE k.subject_id = c.id AND k.outcome = 'reached')
                     UNION ALL
                     SELECT 'contact', p.id, p.name, p.last_exposure_date FROM contacts p WHERE p.health_center_id = $1
                     AND p.status IN ('identified', 'quarantined') AND p.anonymised_at_ms IS NULL AND p.merged_into IS NULL
                     AND NOT EXISTS (SELECT 1 FROM subject_calls k WHERE k.subject_id = p.id AND k.outcome = 'reached')
                     ORDER BY 4, 2 LIMIT $2"
                ),
                params![health_center_id, limit],
            )
            .await?,
        )
    }

    async fn open_cases(
        &self,
        health_center_id: &str,
        limit: i64,
    ) -> Result<Vec<TaskRow>, StoreError> {
        rows(
            sql::query(
                self.database(),
                &format!(
                    "SELECT 'case', c.id, c.name, c.data FROM cases c WHERE c.health_center_id = $1 AND {OPEN_CASE}
                     ORDER BY c.created_at_ms, c.id LIMIT $2"
                ),
                params![health_center_id, limit],
            )
            .await?,
        )
    }

    async fn quarantines_ending(
        &self,
        health_center_id: &str,
        day: &str,
        limit: i64,
    ) -> Result<Vec<TaskRow>, StoreError> {
        rows(
            sql::query(
                self.database(),
                "SELECT 'contact', p.id, p.name, p.quarantine_end FROM contacts p WHERE p.health_center_id = $1
                 AND p.status = 'quarantined' AND p.quarantine_end = $2 ORDER BY p.id LIMIT $3",
                params![health_center_id, day, limit],
            )
            .await?,
        )
    }

    async fn silent_subjects(
        &self,
        health_center_id: &str,
        since_day: &str,
        today: &str,
        limit: i64,
    ) -> Result<Vec<TaskRow>, StoreError> {
        rows(
            sql::query(
                self.database(),
                "SELECT f.subject_kind, f.subject_id, COALESCE(c.name, p.name, ''),
                   (SELECT MAX(o.day) FROM followup_observations o WHERE o.subject_id = f.subject_id)
                 FROM followup_plans f
                 LEFT JOIN cases c ON f.subject_kind = 'case' AND c.id = f.subject_id
                 LEFT JOIN contacts p ON f.subject_kind = 'contact' AND p.id = f.subject_id
                 WHERE COALESCE(c.health_center_id, p.health_center_id) = $1 AND f.start_date < $2 AND f.end_date >= $3
                 AND NOT EXISTS (SELECT 1 FROM followup_observations o WHERE o.subject_id = f.subject_id AND o.day >= $2)
                 ORDER BY f.subject_id LIMIT $4",
                params![health_center_id, since_day, today, limit],
            )
            .await?,
        )
    }

    async fn unconfirmed_documents(
        &self,
        health_center_id: &str,
        before_ms: i64,
        limit: i64,
    ) -> Result<Vec<TaskRow>, StoreError> {
        rows(
            sql::query(
                self.database(),
                "SELECT d.subject_kind, d.subject_id, COALESCE(c.name, p.name, ''), d.kind FROM documents d
                 LEFT JOIN cases c ON d.subject_kind = 'case' AND c.id = d.subject_id
                 LEFT JOIN contacts p ON d.subject_kind = 'contact' AND p.id = d.subject_id
                 WHERE d.health_center_id = $1 AND d.downloaded_at_ms IS NULL AND d.issued_at_ms < $2
                 ORDER BY d.issued_at_ms, d.id LIMIT $3",
                params![health_center_id, before_ms, limit],
            )
            .await?,
        )
    }
}
