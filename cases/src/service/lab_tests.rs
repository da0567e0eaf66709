//! Laboratory tests of a case after its notification (repeat PCR or antigen tests, the
//! negative tests that used to end isolation): specimen, collection day, method, laboratory,
//! result, each its own record with the case's history saying who recorded what. A pending
//! test gets its result later, once.

use serde::{Deserialize, Serialize};

use super::{CaseError, CaseRegistry};
use crate::model::{Access, Date, FieldError, OrgKind, Principal};
use crate::store::lab_tests::LabTestRecord;

/// Most tests one case holds.
pub const MAX_TESTS_PER_CASE: usize = 200;

/// Longest laboratory name.
const MAX_LABORATORY: usize = 200;

/// What was sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Specimen {
    /// Nasopharyngeal swab.
    NasopharyngealSwab,
    /// Anterior nasal swab.
    NasalSwab,
    /// Saliva.
    Saliva,
    /// Sputum.
    Sputum,
    /// Blood (antibodies).
    Blood,
    /// Anything else.
    Other,
}

/// How it was tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TestMethod {
    /// PCR (nucleic acid amplification).
    Pcr,
    /// LAMP and other isothermal amplification.
    Lamp,
    /// Quantitative antigen test.
    AntigenQuantitative,
    /// Qualitative (lateral flow) antigen test.
    AntigenQualitative,
    /// Antibodies.
    Antibody,
    /// Anything else.
    Other,
}

/// What it showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TestResult {
    /// Not known yet.
    Pending,
    /// Positive.
    Positive,
    /// Negative.
    Negative,
    /// Neither.
    Inconclusive,
}

macro_rules! stored_names {
    ($type:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $type {
            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),+ }
            }

            /// The value of a stored name.
            pub fn parse(name: &str) -> Option<Self> {
                match name { $($name => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

stored_names!(Specimen {
    NasopharyngealSwab => "nasopharyngeal_swab",
    NasalSwab => "nasal_swab",
    Saliva => "saliva",
    Sputum => "sputum",
    Blood => "blood",
    Other => "other",
});
stored_names!(TestMethod {
    Pcr => "pcr",
    Lamp => "lamp",
    AntigenQuantitative => "antigen_quantitative",
    AntigenQualitative => "antigen_qualitative",
    Antibody => "antibody",
    Other => "other",
});
stored_names!(TestResult {
    Pending => "pending",
    Positive => "positive",
    Negative => "negative",
    Inconclusive => "inconclusive",
});

/// A new laboratory test.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewLabTest {
    /// Specimen.
    pub specimen: Specimen,
    /// Day the specimen was collected (not in the future).
    #[schema(format = Date)]
    pub collected_on: String,
    /// Method.
    pub method: TestMethod,
    /// Laboratory.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub laboratory: Option<String>,
    /// Result (`pending` until known).
    pub result: TestResult,
    /// Day the result was known (required unless pending; not before collection, not in
    /// the future).
    #[serde(default)]
    #[schema(format = Date)]
    pub result_on: Option<String>,
}

/// A later result of a pending test.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabResult {
    /// Result (not `pending`).
    pub result: TestResult,
    /// Day it was known.
    #[schema(format = Date)]
    pub result_on: String,
    /// Laboratory, when it was not known before.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub laboratory: Option<String>,
}

/// A stored laboratory test.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabTestView {
    /// Id.
    pub id: String,
    /// The case.
    pub case_id: String,
    /// Specimen.
    pub specimen: Specimen,
    /// Collection day.
    pub collected_on: String,
    /// Method.
    pub method: TestMethod,
    /// Laboratory.
    pub laboratory: Option<String>,
    /// Result.
    pub result: TestResult,
    /// Result day.
    pub result_on: Option<String>,
    /// Who recorded it.
    pub recorded_by: String,
    /// When (Unix ms).
    pub recorded_at_ms: i64,
}

fn invalid(field: &'static str, message: &str) -> CaseError {
    CaseError::Invalid(vec![FieldError {
        field,
        message: message.into(),
    }])
}

fn laboratory(value: Option<&str>) -> Result<Option<String>, CaseError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) if text.chars().count() > MAX_LABORATORY => Err(invalid(
            "laboratory",
            &format!("at most {MAX_LABORATORY} characters"),
        )),
        Some(text) => Ok(Some(text.to_string())),
    }
}

/// A day in the past or today.
fn past_day(field: &'static str, text: &str, today: Date) -> Result<Date, CaseError> {
    let day = Date::parse(text).ok_or_else(|| invalid(field, "not a date (YYYY-MM-DD)"))?;
    if day > today {
        return Err(invalid(field, "in the future"));
    }
    Ok(day)
}

/// The result day of a known result: required, a past day, not before collection.
fn result_day(
    result: TestResult,
    result_on: Option<&str>,
    collected: Date,
    today: Date,
) -> Result<Option<String>, CaseError> {
    match (result, result_on) {
        (TestResult::Pending, None) => Ok(None),
        (TestResult::Pending, Some(_)) => {
            Err(invalid("resultOn", "a pending test has no result day"))
        }
        (_, None) => Err(invalid("resultOn", "required with a result")),
        (_, Some(text)) => {
            if past_day("resultOn", text, today)? < collected {
                return Err(invalid("resultOn", "before the specimen was collected"));
            }
            Ok(Some(text.to_string()))
        }
    }
}

fn view(record: LabTestRecord) -> Result<LabTestView, CaseError> {
    let corrupt = |what: &str| CaseError::Internal(format!("stored lab test {what}"));
    Ok(LabTestView {
        specimen: Specimen::parse(&record.specimen).ok_or_else(|| corrupt("specimen"))?,
        method: TestMethod::parse(&record.method).ok_or_else(|| corrupt("method"))?,
        result: TestResult::parse(&record.result).ok_or_else(|| corrupt("result"))?,
        id: record.id,
        case_id: record.case_id,
        collected_on: record.collected_on,
        laboratory: record.laboratory,
        result_on: record.result_on,
        recorded_by: record.recorded_by,
        recorded_at_ms: record.recorded_at_ms,
    })
}

/// The history line of a test: method, specimen, day, result (no laboratory or names).
fn event_text(record: &LabTestRecord) -> String {
    format!(
        "{} {} {}: {}",
        record.method, record.specimen, record.collected_on, record.result
    )
}

impl CaseRegistry {
    /// A case a health center's case worker may record tests of.
    async fn case_for_tests(
        &self,
        principal: &Principal,
        case_id: &str,
        action: &str,
    ) -> Result<(), CaseError> {
        let record = self
            .case_for(principal, case_id, Access::Write, action)
            .await?;
        if principal.organization.kind != OrgKind::HealthCenter {
            return Err(CaseError::Forbidden);
        }
        if record.revoked_at_ms.is_some() {
            return Err(CaseError::Conflict {
                code: "case_revoked",
                message: "the case was revoked".into(),
            });
        }
        Ok(())
    }

    /// Records a laboratory test of a case (a case worker of its health center).
    pub async fn record_lab_test(
        &self,
        principal: &Principal,
        case_id: &str,
        test: NewLabTest,
    ) -> Result<LabTestView, CaseError> {
        self.case_for_tests(principal, case_id, "lab_test.record")
            .await?;
        let today = Date::from_unix_ms(self.now_ms());
        let collected = past_day("collectedOn", &test.collected_on, today)?;
        let result_on = result_day(test.result, test.result_on.as_deref(), collected, today)?;
        if self.lab_tests.lab_tests(case_id).await?.len() >= MAX_TESTS_PER_CASE {
            return Err(CaseError::Conflict {
                code: "too_many_tests",
                message: format!("a case holds at most {MAX_TESTS_PER_CASE} tests"),
            });
        }
        let now = self.now_ms();
        let record = LabTestRecord {
            id: uuid::Uuid::new_v4().to_string(),
            case_id: case_id.to_string(),
            specimen: test.specimen.as_str().into(),
            collected_on: test.collected_on,
            method: test.method.as_str().into(),
            laboratory: laboratory(test.laboratory.as_deref())?,
            result: test.result.as_str().into(),
            result_on,
            recorded_by: principal.actor.clone(),
            recorded_at_ms: now,
            updated_at_ms: now,
        };
        self.lab_tests
            .insert_lab_test(&record, &event_text(&record))
            .await?;
        view(record)
    }

    /// A case's laboratory tests, by collection day.
    pub async fn lab_tests(
        &self,
        principal: &Principal,
        case_id: &str,
    ) -> Result<Vec<LabTestView>, CaseError> {
        self.case_for(principal, case_id, Access::Read, "lab_test.list")
            .await?;
        self.lab_tests
            .lab_tests(case_id)
            .await?
            .into_iter()
            .map(view)
            .collect()
    }

    /// Enters the result of a pending test (once: a known result is corrected by recording
    /// a new test).
    pub async fn enter_lab_result(
        &self,
        principal: &Principal,
        case_id: &str,
        test_id: &str,
        result: LabResult,
    ) -> Result<LabTestView, CaseError> {
        self.case_for_tests(principal, case_id, "lab_test.result")
            .await?;
        if test_id.contains('\0') {
            return Err(CaseError::NotFound);
        }
        let stored = self
            .lab_tests
            .lab_test(case_id, test_id)
            .await?
            .ok_or(CaseError::NotFound)?;
        if stored.result != TestResult::Pending.as_str() {
            return Err(CaseError::Conflict {
                code: "result_known",
                message: "the test already has its result".into(),
            });
        }
        if result.result == TestResult::Pending {
            return Err(invalid("result", "a result other than pending"));
        }
        let today = Date::from_unix_ms(self.now_ms());
        let collected = Date::parse(&stored.collected_on)
            .ok_or_else(|| CaseError::Internal("stored collection day".into()))?;
        let result_on = result_day(result.result, Some(&result.result_on), collected, today)?;
        let mut updated = stored.clone();
        updated.result = result.result.as_str().into();
        updated.result_on = result_on;
        if let Some(lab) = laboratory(result.laboratory.as_deref())? {
            updated.laboratory = Some(lab);
        }
        updated.updated_at_ms = self.now_ms().max(stored.updated_at_ms + 1);
        if !self
            .lab_tests
            .update_lab_result(
                &updated,
                stored.updated_at_ms,
                &event_text(&updated),
                &principal.actor,
            )
            .await?
        {
            return Err(CaseError::Conflict {
                code: "concurrent_change",
                message: "the test changed meanwhile; reload".into(),
            });
        }
        view(updated)
    }
}
