//! Storage side of the line list (cases of a scope by diagnosis day) and of the retention
//! rule: personal data of closed cases and contacts is removed after a period, while every
//! column the statistics count on (days, places, statuses, the clinical flags) stays.

use async_trait::async_trait;

use super::{CASE_COLUMNS, CaseRecord, DbCaseStore, ScopeFilter, case_from_row};
use crate::params;
use crate::sql::{self, Statement, StoreError};

/// Case statuses after which a case is closed.
pub const CLOSED_CASE_STATUSES: [&str; 2] = ["recovered", "deceased"];

/// Contact statuses after which a contact is closed.
pub const CLOSED_CONTACT_STATUSES: [&str; 4] = ["completed", "converted", "lost", "refused"];

/// Storage of the line list and of the retention rule.
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// Cases of `scope` diagnosed from `from` to `to` (inclusive), by diagnosis day then id,
    /// at most `limit`.
    async fn line_list(
        &self,
        scope: &ScopeFilter,
        from: &str,
        to: &str,
        limit: i64,
    ) -> Result<Vec<CaseRecord>, StoreError>;
    /// Closed (or revoked) cases not yet anonymised whose last change is before `cutoff_ms`:
    /// (id, notification JSON), at most `limit`.
    async fn cases_due_for_anonymisation(
        &self,
        cutoff_ms: i64,
        limit: i64,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// Replaces a case's notification with `data` (its personal fields removed), deletes the
    /// earlier versions, the old free-form contact notes and the follow-up links, clears the
    /// notes of its reports and adds `anonymised` to its history; false when it was already
    /// anonymised.
    async fn anonymise_case(&self, id: &str, data: &str, now_ms: i64) -> Result<bool, StoreError>;
    /// Closed contacts not yet anonymised whose last change is before `cutoff_ms`.
    async fn contacts_due_for_anonymisation(
        &self,
        cutoff_ms: i64,
        limit: i64,
    ) -> Result<Vec<String>, StoreError>;
    /// Removes a contact's person data (name, kana, birth date, phones, address, household)
    /// and follow-up links, clears the notes of its reports; false when already done.
    async fn anonymise_contact(&self, id: &str, now_ms: i64) -> Result<bool, StoreError>;
}

fn in_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("'{name}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The statements that remove what hangs off a follow-up subject: its link tokens, the
/// notes of its reports and its issued documents (they print the person's data).
fn followup_cleanup(kind: &str, id: &str) -> [Statement; 3] {
    [
        Statement::new(
            "DELETE FROM documents WHERE subject_id = $1",
            params![id],
        ),
        Statement::new(
            "DELETE FROM followup_tokens WHERE subject_id = $1",
            params![id],
        ),
        Statement::new(
            "UPDATE followup_observations SET note = NULL WHERE subject_id = $1 AND note IS NOT NULL
             AND EXISTS (SELECT 1 FROM followup_plans WHERE subject_id = $1 AND subject_kind = $2)",
            params![id, kind],
        ),
    ]
}

/// The statements that remove a person's blocking keys (birth date, phones) and the
/// undecided duplicate pairs they made; decided pairs stay (ids and a score only).
fn duplicate_cleanup(kind: &str, id: &str) -> [Statement; 2] {
    [
        Statement::new(
            "DELETE FROM person_keys WHERE record_kind = $1 AND record_id = $2",
            params![kind, id],
        ),
        Statement::new(
            "DELETE FROM duplicate_pairs WHERE state = 'open'
             AND ((first_kind = $1 AND first_id = $2) OR (second_kind = $1 AND second_id = $2))",
            params![kind, id],
        ),
    ]
}

#[async_trait]
impl RetentionStore for DbCaseStore {
    async fn line_list(
        &self,
        scope: &ScopeFilter,
        from: &str,
        to: &str,
        limit: i64,
    ) -> Result<Vec<CaseRecord>, StoreError> {
        let (column, value) = match scope {
            ScopeFilter::HealthCenter(id) => ("health_center_id", id),
            ScopeFilter::Prefecture(id) => ("prefecture_id", id),
            ScopeFilter::Reporter(id) => ("reporting_org_id", id),
        };
        sql::query(
            self.database(),
            &format!(
                "SELECT {CASE_COLUMNS} FROM cases WHERE {column} = $1 AND merged_into IS NULL AND diagnosis_date >= $2 AND diagnosis_date <= $3
                 ORDER BY diagnosis_date, id LIMIT $4"
            ),
            params![value, from, to, limit],
        )
        .await?
        .iter()
        .map(case_from_row)
        .collect()
    }

    async fn cases_due_for_anonymisation(
        &self,
        cutoff_ms: i64,
        limit: i64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        sql::query(
            self.database(),
            &format!(
                "SELECT id, data FROM cases WHERE anonymised_at_ms IS NULL AND updated_at_ms < $1
                 AND (status IN ({}) OR revoked_at_ms IS NOT NULL) ORDER BY updated_at_ms, id LIMIT $2",
                in_list(&CLOSED_CASE_STATUSES)
            ),
            params![cutoff_ms, limit],
        )
        .await?
        .iter()
        .map(|row| Ok((row.text(0)?, row.text(1)?)))
        .collect()
    }

    async fn anonymise_case(&self, id: &str, data: &str, now_ms: i64) -> Result<bool, StoreError> {
        let mut statements = vec![
            Statement::new(
                "UPDATE cases SET data = $1, name = '', anonymised_at_ms = $2, updated_at_ms = $2
                 WHERE id = $3 AND anonymised_at_ms IS NULL RETURNING id",
                params![data, now_ms, id],
            ),
            Statement::new("DELETE FROM case_revisions WHERE case_id = $1", params![id]),
            Statement::new("DELETE FROM close_contacts WHERE case_id = $1", params![id]),
        ];
        statements.extend(duplicate_cleanup("case", id));
        statements.extend(followup_cleanup("case", id));
        statements.push(Statement::new(
            "INSERT INTO case_events (case_id, kind, detail, at_ms, actor)
             SELECT $1, 'anonymised', 'retention period ended', $2, 'system'
             WHERE EXISTS (SELECT 1 FROM cases WHERE id = $1 AND anonymised_at_ms = $2)
             AND NOT EXISTS (SELECT 1 FROM case_events WHERE case_id = $1 AND kind = 'anonymised')",
            params![id, now_ms],
        ));
        let results = sql::transaction(self.database(), statements).await?;
        Ok(results.first().is_some_and(|rows| !rows.is_empty()))
    }

    async fn contacts_due_for_anonymisation(
        &self,
        cutoff_ms: i64,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        sql::query(
            self.database(),
            &format!(
                "SELECT id FROM contacts WHERE anonymised_at_ms IS NULL AND updated_at_ms < $1
                 AND status IN ({}) ORDER BY updated_at_ms, id LIMIT $2",
                in_list(&CLOSED_CONTACT_STATUSES)
            ),
            params![cutoff_ms, limit],
        )
        .await?
        .iter()
        .map(|row| Ok(row.text(0)?))
        .collect()
    }

    async fn anonymise_contact(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let mut statements = vec![Statement::new(
            "UPDATE contacts SET name = '', kana = NULL, birth_date = NULL, phones = '[]', address = NULL,
             household = NULL, anonymised_at_ms = $1, updated_at_ms = $1
             WHERE id = $2 AND anonymised_at_ms IS NULL RETURNING id",
            params![now_ms, id],
        )];
        statements.extend(followup_cleanup("contact", id));
        statements.extend(duplicate_cleanup("contact", id));
        let results = sql::transaction(self.database(), statements).await?;
        Ok(results.first().is_some_and(|rows| !rows.is_empty()))
    }
}
