//! Storage of laboratory tests of a case (repeat tests after the notification: specimen,
//! date, method, laboratory, result), each its own record.

use async_trait::async_trait;

use super::DbCaseStore;
use crate::params;
use crate::sql::{self, Row, Statement, StoreError};

/// A stored laboratory test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabTestRecord {
    /// Id (UUID).
    pub id: String,
    /// The case.
    pub case_id: String,
    /// Specimen (stored name).
    pub specimen: String,
    /// Day the specimen was collected.
    pub collected_on: String,
    /// Method (stored name).
    pub method: String,
    /// Laboratory.
    pub laboratory: Option<String>,
    /// Result (stored name).
    pub result: String,
    /// Day the result was known.
    pub result_on: Option<String>,
    /// Who recorded it.
    pub recorded_by: String,
    /// When (Unix ms).
    pub recorded_at_ms: i64,
    /// Last change (Unix ms).
    pub updated_at_ms: i64,
}

/// Storage of laboratory tests.
#[async_trait]
pub trait LabTestStore: Send + Sync {
    /// Stores a new test and adds `event` to the case's history, in one transaction.
    async fn insert_lab_test(&self, test: &LabTestRecord, event: &str) -> Result<(), StoreError>;
    /// One test of a case.
    async fn lab_test(&self, case_id: &str, id: &str) -> Result<Option<LabTestRecord>, StoreError>;
    /// A case's tests, by collection day then recording time.
    async fn lab_tests(&self, case_id: &str) -> Result<Vec<LabTestRecord>, StoreError>;
    /// Enters a result when the stored test was last changed at `expected_updated_at_ms`,
    /// with `event` by `actor` in the case's history; false when it changed meanwhile.
    async fn update_lab_result(
        &self,
        test: &LabTestRecord,
        expected_updated_at_ms: i64,
        event: &str,
        actor: &str,
    ) -> Result<bool, StoreError>;
}

const COLUMNS: &str = "id, case_id, specimen, collected_on, method, laboratory, result, result_on, recorded_by, recorded_at_ms, updated_at_ms";

fn lab_test_of(row: &Row) -> Result<LabTestRecord, StoreError> {
    Ok(LabTestRecord {
        id: row.text(0)?,
        case_id: row.text(1)?,
        specimen: row.text(2)?,
        collected_on: row.text(3)?,
        method: row.text(4)?,
        laboratory: row.opt_text(5)?,
        result: row.text(6)?,
        result_on: row.opt_text(7)?,
        recorded_by: row.text(8)?,
        recorded_at_ms: row.int(9)?,
        updated_at_ms: row.int(10)?,
    })
}

fn history(test: &LabTestRecord, event: &str, at_ms: i64) -> Statement {
    Statement::new(
        "INSERT INTO case_events (case_id, kind, detail, at_ms, actor) VALUES ($1, 'lab_test', $2, $3, $4)",
        params![&test.case_id, event, at_ms, &test.recorded_by],
    )
}

#[async_trait]
impl LabTestStore for DbCaseStore {
    async fn insert_lab_test(&self, test: &LabTestRecord, event: &str) -> Result<(), StoreError> {
        sql::transaction(
            self.database(),
            vec![
                Statement::new(
                    "INSERT INTO lab_tests (id, case_id, specimen, collected_on, method, laboratory, result, result_on, recorded_by, recorded_at_ms, updated_at_ms)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    params![
                        &test.id,
                        &test.case_id,
                        &test.specimen,
                        &test.collected_on,
                        &test.method,
                        test.laboratory.as_deref(),
                        &test.result,
                        test.result_on.as_deref(),
                        &test.recorded_by,
                        test.recorded_at_ms,
                        test.updated_at_ms
                    ],
                ),
                history(test, event, test.recorded_at_ms),
            ],
        )
        .await?;
        Ok(())
    }

    async fn lab_test(&self, case_id: &str, id: &str) -> Result<Option<LabTestRecord>, StoreError> {
        sql::query(
            self.database(),
            &format!("SELECT {COLUMNS} FROM lab_tests WHERE case_id = $1 AND id = $2"),
            params![case_id, id],
        )
        .await?
        .first()
        .map(lab_test_of)
        .transpose()
    }

    async fn lab_tests(&self, case_id: &str) -> Result<Vec<LabTestRecord>, StoreError> {
        sql::query(
            self.database(),
            &format!(
                "SELECT {COLUMNS} FROM lab_tests WHERE case_id = $1 ORDER BY collected_on, recorded_at_ms, id"
            ),
            params![case_id],
        )
        .await?
        .iter()
        .map(lab_test_of)
        .collect()
    }

    async fn update_lab_result(
        &self,
        test: &LabTestRecord,
        expected_updated_at_ms: i64,
        event: &str,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let results = sql::transaction(
            self.database(),
            vec![
                Statement::new(
                    "UPDATE lab_tests SET result = $1, result_on = $2, laboratory = $3, updated_at_ms = $4
                     WHERE id = $5 AND case_id = $6 AND updated_at_ms = $7 RETURNING id",
                    params![
                        &test.result,
                        test.result_on.as_deref(),
                        test.laboratory.as_deref(),
                        test.updated_at_ms,
                        &test.id,
                        &test.case_id,
                        expected_updated_at_ms
                    ],
                ),
                Statement::new(
                    "INSERT INTO case_events (case_id, kind, detail, at_ms, actor)
                     SELECT $1, 'lab_test', $2, $3, $4
                     WHERE EXISTS (SELECT 1 FROM lab_tests WHERE id = $5 AND updated_at_ms = $3)",
                    params![&test.case_id, event, test.updated_at_ms, actor, &test.id],
                ),
            ],
        )
        .await?;
        Ok(results.first().is_some_and(|rows| !rows.is_empty()))
    }
}
