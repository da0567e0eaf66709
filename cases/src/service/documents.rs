//! Documents health centers issue (療養証明書, 就業制限通知, quarantine start and end
//! notices) as PDF: filled from the case or close contact, stored with the fields printed
//! (a later download shows the same document), printed in bulk, and downloadable by the
//! person through their follow-up link, which records that they received it.
//!
//! The PDF needs a Japanese font ([`mimamori_documents::FontSet::discover`]); without one the
//! document endpoints answer 503 naming the package to install.

use std::sync::Arc;

use mimamori_documents::{DocumentError, DocumentFields, DocumentKind, Language, Renderer};
use serde::{Deserialize, Serialize};

use super::followup::SubjectKind;
use super::{CaseError, CaseRegistry, secrets};
use crate::model::{Access, FieldError, OrgKind, Principal};
use crate::store::documents::DocumentRecord;

/// Most documents printed in one bundle.
pub const MAX_BUNDLE: usize = 500;

/// A kind of document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    /// 療養証明書: certificate of medical treatment / isolation (cases).
    IsolationCertificate,
    /// 就業制限通知: work-restriction notice (cases).
    WorkRestrictionNotice,
    /// Quarantine (health monitoring) start notice (close contacts).
    QuarantineStartNotice,
    /// Quarantine end notice (close contacts).
    QuarantineEndNotice,
}

impl DocumentType {
    fn kind(self) -> DocumentKind {
        match self {
            DocumentType::IsolationCertificate => DocumentKind::IsolationCertificate,
            DocumentType::WorkRestrictionNotice => DocumentKind::WorkRestrictionNotice,
            DocumentType::QuarantineStartNotice => DocumentKind::QuarantineStartNotice,
            DocumentType::QuarantineEndNotice => DocumentKind::QuarantineEndNotice,
        }
    }

    /// Who the document is for.
    pub fn subject_kind(self) -> SubjectKind {
        match self {
            DocumentType::IsolationCertificate | DocumentType::WorkRestrictionNotice => {
                SubjectKind::Case
            }
            DocumentType::QuarantineStartNotice | DocumentType::QuarantineEndNotice => {
                SubjectKind::Contact
            }
        }
    }
}

/// A document's language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentLanguage {
    /// Japanese.
    #[default]
    Ja,
    /// English.
    En,
}

impl DocumentLanguage {
    fn language(self) -> Language {
        match self {
            DocumentLanguage::Ja => Language::Ja,
            DocumentLanguage::En => Language::En,
        }
    }
}

/// What to issue for one case or contact. The person's data come from the record; the
/// period from the follow-up plan (cases) or the quarantine (contacts) unless given.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DocumentRequest {
    /// Kind (certificates and work restrictions for cases, quarantine notices for contacts).
    pub kind: DocumentType,
    /// Language (default Japanese).
    #[serde(default)]
    pub language: DocumentLanguage,
    /// The health center's phone for the person (needed on a quarantine start notice).
    #[serde(default)]
    #[schema(max_length = 30)]
    pub health_center_phone: Option<String>,
    /// Where the person reports daily (their follow-up link; needed on a quarantine start
    /// notice).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub health_report_url: Option<String>,
    /// Reason of a work restriction (default: the standard wording).
    #[serde(default)]
    #[schema(max_length = 500)]
    pub restriction_reason: Option<String>,
    /// First day of the period, instead of the plan's or quarantine's.
    #[serde(default)]
    #[schema(format = Date)]
    pub period_start: Option<String>,
    /// Last day of the period.
    #[serde(default)]
    #[schema(format = Date)]
    pub period_end: Option<String>,
}

impl DocumentRequest {
    /// Who the requested document is for.
    pub fn kind_subject(&self) -> SubjectKind {
        self.kind.subject_kind()
    }
}

/// One subject of a bundle.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleSubject {
    /// A case's or contact's id (by the document kind).
    #[schema(pattern = "^[^\\u0000]*$")]
    pub id: String,
}

/// Documents of one kind for many subjects, printed as one PDF (a page each).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleRequest {
    /// What to issue (the same for everyone).
    pub document: DocumentRequest,
    /// For whom (1 to 500).
    #[schema(min_items = 1, max_items = 500)]
    pub subjects: Vec<BundleSubject>,
}

/// An issued document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentView {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: DocumentType,
    /// Language.
    pub language: DocumentLanguage,
    /// The printed document number.
    pub number: String,
    /// `case` or `contact`.
    pub subject_kind: String,
    /// The case or contact.
    pub subject_id: String,
    /// Who issued it.
    pub issued_by: String,
    /// When (Unix ms).
    pub issued_at_ms: i64,
    /// When the person downloaded it through their link (unconfirmed while null).
    pub downloaded_at_ms: Option<i64>,
}

fn view(record: &DocumentRecord) -> Result<DocumentView, CaseError> {
    let kind: DocumentType = serde_json::from_value(serde_json::Value::String(record.kind.clone()))
        .map_err(|_| CaseError::Internal("stored document kind".into()))?;
    let language: DocumentLanguage =
        serde_json::from_value(serde_json::Value::String(record.language.clone()))
            .map_err(|_| CaseError::Internal("stored document language".into()))?;
    Ok(DocumentView {
        id: record.id.clone(),
        kind,
        language,
        number: record.number.clone(),
        subject_kind: record.subject_kind.clone(),
        subject_id: record.subject_id.clone(),
        issued_by: record.issued_by.clone(),
        issued_at_ms: record.issued_at_ms,
        downloaded_at_ms: record.downloaded_at_ms,
    })
}

/// A rendering error as the client's (422) or ours (500).
fn render_error(error: DocumentError) -> CaseError {
    let field = |field: &'static str, message: String| {
        CaseError::Invalid(vec![FieldError { field, message }])
    };
    match error {
        DocumentError::InBundle { source, .. } => render_error(*source),
        DocumentError::MissingField { field: name, .. }
        | DocumentError::InvalidDate { field: name, .. }
        | DocumentError::InvalidField { field: name, .. }
        | DocumentError::UnsupportedCharacter { field: name, .. } => {
            let message = error.to_string();
            field(name, message)
        }
        DocumentError::DateOrder { later, .. } => {
            let message = error.to_string();
            field(later, message)
        }
        other => CaseError::Internal(format!("document rendering: {other}")),
    }
}

fn text(value: &serde_json::Value, key: &str) -> Option<String> {
    value[key]
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

impl CaseRegistry {
    /// Sets the PDF renderer (a Japanese font found at start).
    pub fn with_document_renderer(mut self, renderer: Renderer) -> Self {
        self.documents_renderer = Some(Arc::new(renderer));
        self
    }

    fn renderer(&self) -> Result<&Renderer, CaseError> {
        self.documents_renderer
            .as_deref()
            .ok_or_else(|| CaseError::Unavailable {
                code: "documents_unavailable",
                message: format!(
                    "no Japanese font on this server: install {} or set {}",
                    mimamori_documents::FONT_PACKAGE,
                    mimamori_documents::FONT_ENV_VAR
                ),
            })
    }

    /// The fields of `request` for subject `id` (a case worker of its health center).
    async fn document_fields(
        &self,
        principal: &Principal,
        id: &str,
        request: &DocumentRequest,
        number: &str,
    ) -> Result<(DocumentFields, String), CaseError> {
        let mut fields = DocumentFields {
            document_number: number.to_string(),
            health_center_phone: request.health_center_phone.clone(),
            health_report_url: request.health_report_url.clone(),
            restriction_reason: request.restriction_reason.clone(),
            issue_date: format!("{}", self.local_today()),
            ..DocumentFields::default()
        };
        let health_center_id = match request.kind.subject_kind() {
            SubjectKind::Case => {
                let record = self
                    .case_for(principal, id, Access::Write, "document.issue")
                    .await?;
                let data: serde_json::Value = serde_json::from_str(&record.data)
                    .map_err(|e| CaseError::Internal(format!("stored notification: {e}")))?;
                fields.person_name = record.name.clone();
                fields.person_name_kana = text(&data, "kana");
                fields.birth_date = text(&data, "dateOfBirth");
                fields.address = text(&data, "address");
                fields.diagnosis_date = Some(record.diagnosis_date.clone());
                let plan = self.followup.plan(id).await?;
                let start = request
                    .period_start
                    .clone()
                    .or_else(|| plan.as_ref().map(|p| p.start_date.clone()));
                let end = request
                    .period_end
                    .clone()
                    .or_else(|| plan.as_ref().map(|p| p.end_date.clone()));
                fields.isolation_start = start.clone();
                fields.isolation_end = end.clone();
                fields.restricted_from = start;
                fields.restricted_to = end;
                record.health_center_id
            }
            SubjectKind::Contact => {
                let record = self
                    .contact_for(principal, id, Access::Write, "document.issue")
                    .await?;
                fields.person_name = record.name.clone();
                fields.person_name_kana = record.kana.clone();
                fields.birth_date = record.birth_date.clone();
                fields.address = record.address.clone();
                fields.last_exposure_date = Some(record.last_exposure_date.clone());
                fields.quarantine_start = request.period_start.clone().or(record.quarantine_start);
                fields.quarantine_end = request.period_end.clone().or(record.quarantine_end);
                record.health_center_id
            }
        };
        if principal.organization.kind != OrgKind::HealthCenter {
            return Err(CaseError::Forbidden);
        }
        if fields.person_name.is_empty() {
            return Err(CaseError::Conflict {
                code: "anonymised",
                message: "the record's personal data was removed (retention)".into(),
            });
        }
        fields.health_center_name = self
            .store
            .organization(&health_center_id)
            .await?
            .map(|org| org.name)
            .unwrap_or_default();
        Ok((fields, health_center_id))
    }

    /// A new document number: the year and eight random hex digits.
    fn document_number(&self) -> Result<String, CaseError> {
        let bytes =
            secrets::random_bytes(4).map_err(|_| CaseError::Internal("randomness".into()))?;
        let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
        let today = format!("{}", self.local_today());
        Ok(format!("{}-{hex}", today.get(0..4).unwrap_or("0000")))
    }

    async fn prepare_documents(
        &self,
        principal: &Principal,
        ids: &[&str],
        request: &DocumentRequest,
    ) -> Result<
        (
            Vec<DocumentRecord>,
            Vec<(DocumentKind, Language, DocumentFields)>,
        ),
        CaseError,
    > {
        let now = self.now_ms();
        let mut records = Vec::with_capacity(ids.len());
        let mut items = Vec::with_capacity(ids.len());
        for id in ids {
            let number = self.document_number()?;
            let (fields, health_center_id) = self
                .document_fields(principal, id, request, &number)
                .await?;
            records.push(DocumentRecord {
                id: uuid::Uuid::new_v4().to_string(),
                subject_kind: request.kind.subject_kind().as_str().into(),
                subject_id: id.to_string(),
                health_center_id,
                kind: request.kind.kind().as_str().into(),
                language: request.language.language().as_str().into(),
                number,
                fields: serde_json::to_string(&fields)
                    .map_err(|e| CaseError::Internal(e.to_string()))?,
                issued_by: principal.actor.clone(),
                issued_at_ms: now,
                downloaded_at_ms: None,
            });
            items.push((request.kind.kind(), request.language.language(), fields));
        }
        Ok((records, items))
    }

    /// Issues a document for a case or contact (a case worker of its health center) and
    /// returns it with its PDF. Audited as `document.issue` on the subject.
    pub async fn issue_document(
        &self,
        principal: &Principal,
        id: &str,
        request: DocumentRequest,
    ) -> Result<(DocumentView, Vec<u8>), CaseError> {
        let renderer = self.renderer()?;
        let (records, items) = self.prepare_documents(principal, &[id], &request).await?;
        let (kind, language, fields) = &items[0];
        let pdf = renderer
            .render(*kind, *language, fields)
            .map_err(render_error)?;
        self.documents.insert_documents(&records).await?;
        Ok((view(&records[0])?, pdf))
    }

    /// Issues one kind of document for many subjects at once and returns one PDF with a
    /// page per document (bulk printing). All or nothing.
    pub async fn issue_bundle(
        &self,
        principal: &Principal,
        request: BundleRequest,
    ) -> Result<(Vec<DocumentView>, Vec<u8>), CaseError> {
        let renderer = self.renderer()?;
        if request.subjects.is_empty() || request.subjects.len() > MAX_BUNDLE {
            return Err(CaseError::Invalid(vec![FieldError {
                field: "subjects",
                message: format!("1 to {MAX_BUNDLE} subjects"),
            }]));
        }
        let ids: Vec<&str> = request.subjects.iter().map(|s| s.id.as_str()).collect();
        let (records, items) = self
            .prepare_documents(principal, &ids, &request.document)
            .await?;
        let pdf = renderer.render_bundle(&items).map_err(render_error)?;
        self.documents.insert_documents(&records).await?;
        let views = records.iter().map(view).collect::<Result<_, _>>()?;
        Ok((views, pdf))
    }

    /// A subject's issued documents (whoever may read the subject).
    pub async fn documents(
        &self,
        principal: &Principal,
        kind: SubjectKind,
        id: &str,
    ) -> Result<Vec<DocumentView>, CaseError> {
        match kind {
            SubjectKind::Case => {
                self.case_for(principal, id, Access::Read, "document.list")
                    .await?;
            }
            SubjectKind::Contact => {
                self.contact_for(principal, id, Access::Read, "document.list")
                    .await?;
            }
        }
        self.documents
            .documents_of(id)
            .await?
            .iter()
            .map(view)
            .collect()
    }

    fn render_stored(&self, record: &DocumentRecord) -> Result<Vec<u8>, CaseError> {
        let renderer = self.renderer()?;
        let fields: DocumentFields = serde_json::from_str(&record.fields)
            .map_err(|e| CaseError::Internal(format!("stored document: {e}")))?;
        let kind = DocumentKind::parse(&record.kind)
            .map_err(|_| CaseError::Internal("stored document kind".into()))?;
        let language = Language::parse(&record.language)
            .map_err(|_| CaseError::Internal("stored document language".into()))?;
        renderer
            .render(kind, language, &fields)
            .map_err(|e| CaseError::Internal(format!("stored document: {e}")))
    }

    /// An issued document's PDF for staff who may read its subject.
    pub async fn document_pdf(
        &self,
        principal: &Principal,
        document_id: &str,
    ) -> Result<(DocumentView, Vec<u8>), CaseError> {
        if document_id.contains('\0') {
            return Err(CaseError::NotFound);
        }
        let record = self
            .documents
            .document(document_id)
            .await?
            .ok_or(CaseError::NotFound)?;
        match SubjectKind::parse(&record.subject_kind) {
            SubjectKind::Case => {
                self.case_for(principal, &record.subject_id, Access::Read, "document.read")
                    .await?;
            }
            SubjectKind::Contact => {
                self.contact_for(principal, &record.subject_id, Access::Read, "document.read")
                    .await?;
            }
        }
        let pdf = self.render_stored(&record)?;
        Ok((view(&record)?, pdf))
    }

    /// The subject of a valid follow-up link token.
    async fn link_subject(&self, token: &str) -> Result<String, CaseError> {
        self.followup
            .followup_token_case(&secrets::token_hash(token), self.now_ms())
            .await?
            .ok_or(CaseError::Unauthenticated)
    }

    /// The documents issued to the holder of a follow-up link.
    pub async fn link_documents(&self, token: &str) -> Result<Vec<DocumentView>, CaseError> {
        let subject_id = self.link_subject(token).await?;
        self.documents
            .documents_of(&subject_id)
            .await?
            .iter()
            .map(view)
            .collect()
    }

    /// A document's PDF for the holder of the follow-up link of its subject; the first
    /// download confirms receipt. Another subject's document is 404.
    pub async fn link_document_pdf(
        &self,
        token: &str,
        document_id: &str,
    ) -> Result<(DocumentView, Vec<u8>), CaseError> {
        let subject_id = self.link_subject(token).await?;
        if document_id.contains('\0') {
            return Err(CaseError::NotFound);
        }
        let record = self
            .documents
            .document(document_id)
            .await?
            .filter(|d| d.subject_id == subject_id)
            .ok_or(CaseError::NotFound)?;
        let pdf = self.render_stored(&record)?;
        self.documents
            .mark_downloaded(&record.id, self.now_ms())
            .await?;
        self.audit(
            "followup_link",
            "document.download",
            &format!("{}:{}", record.subject_kind, record.subject_id),
        )
        .await?;
        Ok((view(&record)?, pdf))
    }
}
