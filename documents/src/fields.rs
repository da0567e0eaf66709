use serde::{Deserialize, Serialize};

use crate::date::Date;
use crate::{DocumentError, DocumentKind};

/// What goes into a document. One struct serves every [`DocumentKind`]; each kind reads the
/// fields it needs, and a needed field that is `None` or blank is a
/// [`DocumentError::MissingField`]. Dates are ISO `YYYY-MM-DD` strings, checked when rendering.
///
/// | kind | needs | shows if given |
/// | --- | --- | --- |
/// | isolation certificate | `birth_date`, `diagnosis_date`, `isolation_start`, `isolation_end` | `person_name_kana`, `address` |
/// | work restriction notice | `restricted_from`, `restricted_to` | `person_name_kana`, `address`, `restriction_reason` (else the standard reason) |
/// | quarantine start notice | `last_exposure_date`, `quarantine_start`, `quarantine_end`, `health_report_url`, `health_center_phone` | `person_name_kana`, `address` |
/// | quarantine end notice | `quarantine_start`, `quarantine_end` | `person_name_kana`, `health_center_phone` |
///
/// `document_number`, `person_name`, `health_center_name` and `issue_date` are always needed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentFields {
    /// The health center's number for this document (文書番号), printed top right.
    pub document_number: String,
    /// The person's name as written (山田 太郎).
    pub person_name: String,
    /// The name's reading in katakana (ヤマダ タロウ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_name_kana: Option<String>,
    /// Date of birth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    /// Address; long ones wrap, and a line break may be given as `\n`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Date of diagnosis, the date of the doctor's notification of occurrence (発生届).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis_date: Option<String>,
    /// First day of medical treatment / isolation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation_start: Option<String>,
    /// Last day of medical treatment / isolation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation_end: Option<String>,
    /// First day of the work restriction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restricted_from: Option<String>,
    /// Last day of the work restriction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restricted_to: Option<String>,
    /// Why work is restricted; the standard wording (a COVID-19 patient) when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restriction_reason: Option<String>,
    /// A close contact's last day of contact with the patient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exposure_date: Option<String>,
    /// First day of the close contact's quarantine (health monitoring).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine_start: Option<String>,
    /// Last day of the close contact's quarantine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine_end: Option<String>,
    /// Where the close contact reports daily health status (an `https://` or `http://` link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_report_url: Option<String>,
    /// The health center issuing the document (みなと保健所).
    pub health_center_name: String,
    /// The health center's phone number for the person to call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_center_phone: Option<String>,
    /// Date of issue.
    pub issue_date: String,
}

/// The longest value a field may have, in characters.
pub(crate) const MAX_FIELD_CHARS: usize = 400;

/// Checks and reads fields for one document kind.
pub(crate) struct Reader<'a> {
    kind: DocumentKind,
    fields: &'a DocumentFields,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(kind: DocumentKind, fields: &'a DocumentFields) -> Self {
        Reader { kind, fields }
    }

    pub(crate) fn fields(&self) -> &'a DocumentFields {
        self.fields
    }

    /// A text field that must be present.
    pub(crate) fn text(
        &self,
        field: &'static str,
        value: &'a str,
        multiline: bool,
    ) -> Result<&'a str, DocumentError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(DocumentError::MissingField {
                kind: self.kind,
                field,
            });
        }
        check_text(field, value, multiline)?;
        Ok(value)
    }

    /// An optional text field: `None` when absent or blank.
    pub(crate) fn optional_text(
        &self,
        field: &'static str,
        value: &'a Option<String>,
        multiline: bool,
    ) -> Result<Option<&'a str>, DocumentError> {
        match value.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(value) => check_text(field, value, multiline).map(|()| Some(value)),
        }
    }

    /// An optional text field that this kind needs.
    pub(crate) fn required_text(
        &self,
        field: &'static str,
        value: &'a Option<String>,
        multiline: bool,
    ) -> Result<&'a str, DocumentError> {
        self.optional_text(field, value, multiline)?
            .ok_or(DocumentError::MissingField {
                kind: self.kind,
                field,
            })
    }

    /// A date field that must be present.
    pub(crate) fn date(
        &self,
        field: &'static str,
        value: &'a str,
    ) -> Result<(&'static str, Date), DocumentError> {
        let value = self.text(field, value, false)?;
        parse_date(field, value)
    }

    /// An optional date field that this kind needs.
    pub(crate) fn required_date(
        &self,
        field: &'static str,
        value: &'a Option<String>,
    ) -> Result<(&'static str, Date), DocumentError> {
        let value = self.required_text(field, value, false)?;
        parse_date(field, value)
    }
}

fn parse_date(field: &'static str, value: &str) -> Result<(&'static str, Date), DocumentError> {
    Date::parse_iso(value)
        .map(|date| (field, date))
        .ok_or_else(|| DocumentError::InvalidDate {
            field,
            value: value.to_owned(),
        })
}

/// Fails unless `earlier` is on or before `later`.
pub(crate) fn check_order(
    earlier: (&'static str, Date),
    later: (&'static str, Date),
    fields: &DocumentFields,
) -> Result<(), DocumentError> {
    if later.1 >= earlier.1 {
        return Ok(());
    }
    let value = |name: &str| {
        raw_value(fields, name)
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    Err(DocumentError::DateOrder {
        earlier: earlier.0,
        earlier_value: value(earlier.0),
        later: later.0,
        later_value: value(later.0),
    })
}

fn raw_value<'a>(fields: &'a DocumentFields, name: &str) -> Option<&'a str> {
    let optional = |value: &'a Option<String>| value.as_deref();
    match name {
        "birth_date" => optional(&fields.birth_date),
        "diagnosis_date" => optional(&fields.diagnosis_date),
        "isolation_start" => optional(&fields.isolation_start),
        "isolation_end" => optional(&fields.isolation_end),
        "restricted_from" => optional(&fields.restricted_from),
        "restricted_to" => optional(&fields.restricted_to),
        "last_exposure_date" => optional(&fields.last_exposure_date),
        "quarantine_start" => optional(&fields.quarantine_start),
        "quarantine_end" => optional(&fields.quarantine_end),
        "issue_date" => Some(&fields.issue_date),
        _ => None,
    }
}

fn check_text(field: &'static str, value: &str, multiline: bool) -> Result<(), DocumentError> {
    let invalid = |reason: String| Err(DocumentError::InvalidField { field, reason });
    if value.chars().count() > MAX_FIELD_CHARS {
        return invalid(format!("longer than {MAX_FIELD_CHARS} characters"));
    }
    if let Some(c) = value
        .chars()
        .find(|&c| c.is_control() && !(multiline && (c == '\n' || c == '\r')))
    {
        return invalid(format!("control character U+{:04X}", u32::from(c)));
    }
    Ok(())
}

/// Checks a link the person is asked to open.
pub(crate) fn check_url(field: &'static str, value: &str) -> Result<(), DocumentError> {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.chars().any(char::is_whitespace) => Ok(()),
        _ => Err(DocumentError::InvalidField {
            field,
            reason: "not an http(s) link without spaces".to_owned(),
        }),
    }
}

impl DocumentFields {
    /// A filled example: a person of the sixth wave (January–February 2022) with every
    /// field `kind` may show (for samples, tests and benchmarks).
    pub fn example(kind: DocumentKind) -> DocumentFields {
        let some = |s: &str| Some(s.to_owned());
        let mut fields = DocumentFields {
            document_number: "みなと保第1234号".to_owned(),
            person_name: "山田 太郎".to_owned(),
            person_name_kana: some("ヤマダ タロウ"),
            address: some("東京都港区芝公園一丁目二番三号 みなとハイツ405"),
            health_center_name: "みなと保健所".to_owned(),
            health_center_phone: some("03-1234-5678"),
            issue_date: "2022-02-14".to_owned(),
            ..DocumentFields::default()
        };
        match kind {
            DocumentKind::IsolationCertificate => {
                fields.birth_date = some("1980-04-01");
                fields.diagnosis_date = some("2022-02-01");
                fields.isolation_start = some("2022-01-31");
                fields.isolation_end = some("2022-02-09");
            }
            DocumentKind::WorkRestrictionNotice => {
                fields.restricted_from = some("2022-02-01");
                fields.restricted_to = some("2022-02-09");
                fields.issue_date = "2022-02-01".to_owned();
            }
            DocumentKind::QuarantineStartNotice => {
                fields.last_exposure_date = some("2022-02-02");
                fields.quarantine_start = some("2022-02-03");
                fields.quarantine_end = some("2022-02-09");
                fields.health_report_url =
                    some("https://health.example.invalid/report?token=4f6b2c9a");
                fields.issue_date = "2022-02-03".to_owned();
            }
            DocumentKind::QuarantineEndNotice => {
                fields.quarantine_start = some("2022-02-03");
                fields.quarantine_end = some("2022-02-09");
                fields.issue_date = "2022-02-10".to_owned();
            }
        }
        fields
    }
}
