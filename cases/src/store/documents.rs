//! Storage of issued documents (certificates and notices): what was printed, for whom, by
//! whom, and whether the person has downloaded it.

use async_trait::async_trait;

use super::DbCaseStore;
use crate::params;
use crate::sql::{self, Row, StoreError};

/// An issued document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRecord {
    /// Id (UUID).
    pub id: String,
    /// `case` or `contact`.
    pub subject_kind: String,
    /// The case's or contact's id.
    pub subject_id: String,
    /// The issuing health center.
    pub health_center_id: String,
    /// Document kind (stored name).
    pub kind: String,
    /// `ja` or `en`.
    pub language: String,
    /// The printed document number.
    pub number: String,
    /// The fields printed (JSON), so that a later download shows the same document.
    pub fields: String,
    /// Who issued it.
    pub issued_by: String,
    /// When (Unix ms).
    pub issued_at_ms: i64,
    /// When the person first downloaded it through their link.
    pub downloaded_at_ms: Option<i64>,
}

/// Storage of issued documents.
#[async_trait]
pub trait DocumentStore: Send + Sync {
    /// Stores issued documents (one transaction).
    async fn insert_documents(&self, documents: &[DocumentRecord]) -> Result<(), StoreError>;
    /// A document by id.
    async fn document(&self, id: &str) -> Result<Option<DocumentRecord>, StoreError>;
    /// A subject's documents, newest first.
    async fn documents_of(&self, subject_id: &str) -> Result<Vec<DocumentRecord>, StoreError>;
    /// Records the first download by the person.
    async fn mark_downloaded(&self, id: &str, now_ms: i64) -> Result<(), StoreError>;
}

const COLUMNS: &str = "id, subject_kind, subject_id, health_center_id, kind, language, number, fields, issued_by, issued_at_ms, downloaded_at_ms";

fn document_of(row: &Row) -> Result<DocumentRecord, StoreError> {
    Ok(DocumentRecord {
        id: row.text(0)?,
        subject_kind: row.text(1)?,
        subject_id: row.text(2)?,
        health_center_id: row.text(3)?,
        kind: row.text(4)?,
        language: row.text(5)?,
        number: row.text(6)?,
        fields: row.text(7)?,
        issued_by: row.text(8)?,
        issued_at_ms: row.int(9)?,
        downloaded_at_ms: row.opt_int(10)?,
    })
}

#[async_trait]
impl DocumentStore for DbCaseStore {
    async fn insert_documents(&self, documents: &[DocumentRecord]) -> Result<(), StoreError> {
        let statements = documents
            .iter()
            .map(|d| {
                sql::Statement::new(
                    format!("INSERT INTO documents ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)"),
                    params![
                        &d.id,
                        &d.subject_kind,
                        &d.subject_id,
                        &d.health_center_id,
                        &d.kind,
                        &d.language,
                        &d.number,
                        &d.fields,
                        &d.issued_by,
                        d.issued_at_ms
                    ],
                )
            })
            .collect();
        sql::transaction(self.database(), statements).await?;
        Ok(())
    }

    async fn document(&self, id: &str) -> Result<Option<DocumentRecord>, StoreError> {
        sql::query(
            self.database(),
            &format!("SELECT {COLUMNS} FROM documents WHERE id = $1"),
            params![id],
        )
        .await?
        .first()
        .map(document_of)
        .transpose()
    }

    async fn documents_of(&self, subject_id: &str) -> Result<Vec<DocumentRecord>, StoreError> {
        sql::query(
            self.database(),
            &format!(
                "SELECT {COLUMNS} FROM documents WHERE subject_id = $1 ORDER BY issued_at_ms DESC, id"
            ),
            params![subject_id],
        )
        .await?
        .iter()
        .map(document_of)
        .collect()
    }

    async fn mark_downloaded(&self, id: &str, now_ms: i64) -> Result<(), StoreError> {
        sql::execute(
            self.database(),
            "UPDATE documents SET downloaded_at_ms = $1 WHERE id = $2 AND downloaded_at_ms IS NULL",
            params![now_ms, id],
        )
        .await?;
        Ok(())
    }
}
