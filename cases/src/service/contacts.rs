//! Close contacts as people: created from a case's contact investigation, quarantined under
//! the rules in force on their last exposure (data: [`crate::config::QuarantineRule`]),
//! followed up through the generic follow-up (subject kind `contact`), and converted to a
//! case after a positive test.
//!
//! Scope: a contact belongs to the health center of residence (its case workers read and
//! work it; its prefecture's case workers read it); clinics never see contacts. Every read
//! and change is audited as `contact.<action>`.

use serde::{Deserialize, Serialize};

use super::duplicates::PersonKind;
use super::followup::{PlanInput, SubjectKind};
use super::{CaseError, CaseRegistry};
use crate::model::contacts::{ContactStatus, quarantine_after};
use crate::model::{
    Access, CaseScope, Date, FieldError, Notification, OrgKind, Principal, in_scope, permits,
};
use crate::store::contacts::{ContactRecord, ContactUpdate, ExposureRecord};

/// Longest free text in a contact's fields.
const MAX_TEXT: usize = 500;

/// How far back an exposure may lie (days before today).
pub const MAX_EXPOSURE_AGE_DAYS: i64 = 60;

/// The person of a new close contact.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonInput {
    /// Name.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Name in kana.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub kana: Option<String>,
    /// Date of birth.
    #[serde(default)]
    #[schema(format = Date)]
    pub birth_date: Option<String>,
    /// Phone numbers (at most 5).
    #[serde(default)]
    #[schema(max_items = 5)]
    pub phones: Vec<String>,
    /// Address.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub address: Option<String>,
    /// Who lives with them.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub household: Option<String>,
}

/// Where a contact was exposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExposureSetting {
    /// The same household.
    Household,
    /// Work.
    Workplace,
    /// School or nursery.
    School,
    /// A nursing home or other care facility.
    CareFacility,
    /// A hospital or clinic.
    Medical,
    /// An event or a meal.
    Event,
    /// Anything else.
    Other,
}

impl ExposureSetting {
    fn as_str(self) -> &'static str {
        match self {
            ExposureSetting::Household => "household",
            ExposureSetting::Workplace => "workplace",
            ExposureSetting::School => "school",
            ExposureSetting::CareFacility => "care_facility",
            ExposureSetting::Medical => "medical",
            ExposureSetting::Event => "event",
            ExposureSetting::Other => "other",
        }
    }
}

/// How close the contact was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Proximity {
    /// Within 1 m.
    #[serde(rename = "within_1m")]
    Within1m,
    /// Within 2 m.
    #[serde(rename = "within_2m")]
    Within2m,
    /// Farther.
    #[serde(rename = "over_2m")]
    Over2m,
    /// Not known.
    Unknown,
}

impl Proximity {
    fn as_str(self) -> &'static str {
        match self {
            Proximity::Within1m => "within_1m",
            Proximity::Within2m => "within_2m",
            Proximity::Over2m => "over_2m",
            Proximity::Unknown => "unknown",
        }
    }
}

/// One exposure as the contact investigation records it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExposureInput {
    /// The case the person was exposed to (text without U+0000, which no id holds: 400
    /// `invalid_character`).
    #[schema(pattern = "^[^\\u0000]*$")]
    pub case_id: String,
    /// The (last) day of contact, at most 60 days ago and not in the future.
    #[schema(format = Date)]
    pub date: String,
    /// Setting.
    pub setting: ExposureSetting,
    /// Minutes together (0 to 10,080).
    #[serde(default, deserialize_with = "crate::model::whole_number")]
    #[schema(minimum = 0, maximum = 10080)]
    pub duration_minutes: Option<i64>,
    /// Proximity.
    #[serde(default)]
    pub proximity: Option<Proximity>,
    /// How the investigation learnt of it (interview, phone, list, app, …).
    #[serde(default)]
    #[schema(max_length = 50)]
    pub method: Option<String>,
    /// Who answered (the case, the contact, family, the facility, …).
    #[serde(default)]
    #[schema(max_length = 50)]
    pub respondent: Option<String>,
}

/// A new close contact: the person, where they live, and the exposure that makes them one.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewContact {
    /// The person.
    pub person: PersonInput,
    /// The health center of residence (default: the investigating one); the contact belongs
    /// to it.
    #[serde(default)]
    pub health_center_id: Option<String>,
    /// The exposure.
    pub exposure: ExposureInput,
}

/// A status change of a contact.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactStatusChange {
    /// `quarantined` (starts quarantine and its follow-up plan), `completed`, `lost` or
    /// `refused`. (`converted` is reached by converting.)
    pub status: ContactStatus,
}

/// A stored exposure.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExposureView {
    /// Id.
    pub id: String,
    /// The case.
    pub case_id: String,
    /// Day of contact.
    pub date: String,
    /// Setting.
    pub setting: String,
    /// Minutes.
    pub duration_minutes: Option<i64>,
    /// Proximity.
    pub proximity: Option<String>,
    /// Method.
    pub method: Option<String>,
    /// Respondent.
    pub respondent: Option<String>,
    /// Recorded by.
    pub recorded_by: String,
}

/// A close contact.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactView {
    /// Id.
    pub id: String,
    /// Health center of residence.
    pub health_center_id: String,
    /// Its prefecture.
    pub prefecture_id: String,
    /// Name.
    pub name: String,
    /// Kana.
    pub kana: Option<String>,
    /// Date of birth.
    pub birth_date: Option<String>,
    /// Phones.
    pub phones: Vec<String>,
    /// Address.
    pub address: Option<String>,
    /// Household.
    pub household: Option<String>,
    /// Status.
    pub status: ContactStatus,
    /// Latest exposure.
    pub last_exposure_date: String,
    /// First day of quarantine.
    pub quarantine_start: Option<String>,
    /// Last day of quarantine.
    pub quarantine_end: Option<String>,
    /// The case the contact became.
    pub converted_case_id: Option<String>,
    /// Exposures, oldest first (a merged contact's moved to the kept one).
    pub exposures: Vec<ExposureView>,
    /// The contact this one was merged into (the same person recorded twice; follow it), or
    /// null.
    pub merged_into: Option<String>,
}

/// The result of a conversion.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Conversion {
    /// The new case.
    pub case_id: String,
    /// The contact, now `converted`.
    pub contact: ContactView,
}

fn bad(field: &'static str, message: &str) -> CaseError {
    CaseError::Invalid(vec![FieldError {
        field,
        message: message.into(),
    }])
}

fn text_field(
    field: &'static str,
    value: &Option<String>,
    max: usize,
) -> Result<Option<String>, CaseError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) if text.chars().count() > max => {
            Err(bad(field, &format!("at most {max} characters")))
        }
        Some(text) => Ok(Some(text.to_string())),
    }
}

fn contact_scope(record: &ContactRecord) -> CaseScope {
    CaseScope {
        health_center_id: record.health_center_id.clone(),
        prefecture_id: record.prefecture_id.clone(),
        reporting_org_id: String::new(),
    }
}

impl CaseRegistry {
    /// The contact if `principal` may access it this way; 404 outside scope or without any
    /// case role (as for an unknown id), 403 when it may read but not act. Audited as
    /// `contact.<action>`.
    pub(crate) async fn contact_for(
        &self,
        principal: &Principal,
        id: &str,
        access: Access,
        action: &str,
    ) -> Result<ContactRecord, CaseError> {
        if id.contains('\0') {
            return Err(CaseError::NotFound);
        }
        let record = self
            .contacts
            .contact_person(id)
            .await?
            .ok_or(CaseError::NotFound)?;
        if principal.organization.kind == OrgKind::MedicalInstitution
            || !in_scope(principal, &contact_scope(&record))
        {
            return Err(CaseError::NotFound);
        }
        if !permits(principal, access) {
            return Err(if permits(principal, Access::Read) {
                CaseError::Forbidden
            } else {
                CaseError::NotFound
            });
        }
        self.audit(
            &principal.actor,
            &format!("contact.{action}"),
            &format!("contact:{id}"),
        )
        .await?;
        Ok(record)
    }

    async fn contact_view(&self, record: ContactRecord) -> Result<ContactView, CaseError> {
        let exposures = self.contacts.contact_exposures(&record.id).await?;
        Ok(ContactView {
            phones: serde_json::from_str(&record.phones).unwrap_or_default(),
            status: ContactStatus::parse(&record.status)
                .ok_or_else(|| CaseError::Internal("stored contact status".into()))?,
            id: record.id,
            health_center_id: record.health_center_id,
            prefecture_id: record.prefecture_id,
            name: record.name,
            kana: record.kana,
            birth_date: record.birth_date,
            address: record.address,
            household: record.household,
            last_exposure_date: record.last_exposure_date,
            quarantine_start: record.quarantine_start,
            quarantine_end: record.quarantine_end,
            converted_case_id: record.converted_case_id,
            merged_into: record.merged_into,
            exposures: exposures
                .into_iter()
                .map(|e| ExposureView {
                    id: e.id,
                    case_id: e.case_id,
                    date: e.exposure_date,
                    setting: e.setting,
                    duration_minutes: e.duration_minutes,
                    proximity: e.proximity,
                    method: e.method,
                    respondent: e.respondent,
                    recorded_by: e.recorded_by,
                })
                .collect(),
        })
    }

    /// Checks an exposure of the contact `contact_id` and makes its record (the case must be
    /// one `principal` works on).
    async fn exposure_record(
        &self,
        principal: &Principal,
        contact_id: &str,
        input: &ExposureInput,
    ) -> Result<ExposureRecord, CaseError> {
        self.case_for(
            principal,
            &input.case_id,
            Access::Write,
            "contact_investigation",
        )
        .await?;
        let today = Date::from_unix_ms(self.now_ms());
        let date = Date::parse(&input.date)
            .filter(|d| *d <= today && today.days - d.days <= MAX_EXPOSURE_AGE_DAYS)
            .ok_or_else(|| {
                bad(
                    "date",
                    &format!("a date (YYYY-MM-DD) within the last {MAX_EXPOSURE_AGE_DAYS} days"),
                )
            })?;
        if let Some(minutes) = input.duration_minutes
            && !(0..=10_080).contains(&minutes)
        {
            return Err(bad("durationMinutes", "0 to 10,080 minutes"));
        }
        Ok(ExposureRecord {
            id: uuid::Uuid::new_v4().to_string(),
            contact_id: contact_id.into(),
            case_id: input.case_id.clone(),
            exposure_date: date.to_string(),
            setting: input.setting.as_str().into(),
            duration_minutes: input.duration_minutes,
            proximity: input.proximity.map(|p| p.as_str().to_string()),
            method: text_field("method", &input.method, 50)?,
            respondent: text_field("respondent", &input.respondent, 50)?,
            recorded_by: principal.actor.clone(),
            recorded_at_ms: self.now_ms(),
        })
    }

    /// Records a close contact found by a case's contact investigation (a health center's
    /// case worker working on that case). The contact belongs to the health center of
    /// residence.
    pub async fn create_contact(
        &self,
        principal: &Principal,
        input: NewContact,
    ) -> Result<ContactView, CaseError> {
        if principal.organization.kind != OrgKind::HealthCenter {
            return Err(CaseError::Forbidden);
        }
        let id = uuid::Uuid::new_v4().to_string();
        let exposure = self
            .exposure_record(principal, &id, &input.exposure)
            .await?;
        let person = &input.person;
        let name = person.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(bad("name", "1 to 200 characters"));
        }
        let birth_date = match person.birth_date.as_deref() {
            None | Some("") => None,
            Some(text) => Some(
                Date::parse(text)
                    .filter(|d| {
                        d.days <= Date::from_unix_ms(self.now_ms()).days && d.days > -25_567
                    })
                    .ok_or_else(|| {
                        bad(
                            "birthDate",
                            "a date (YYYY-MM-DD) after 1900, not in the future",
                        )
                    })?
                    .to_string(),
            ),
        };
        if person.phones.len() > 5
            || person
                .phones
                .iter()
                .any(|p| p.trim().is_empty() || p.chars().count() > 30)
        {
            return Err(bad("phones", "at most 5 numbers of 1 to 30 characters"));
        }
        let health_center_id = input
            .health_center_id
            .clone()
            .unwrap_or_else(|| principal.organization.id.clone());
        let health_center = self
            .store
            .organization(&health_center_id)
            .await?
            .filter(|o| o.kind == OrgKind::HealthCenter)
            .ok_or_else(|| bad("healthCenterId", "a health center"))?;
        let prefecture_id = health_center
            .parent_id
            .clone()
            .ok_or_else(|| CaseError::Internal("health center without prefecture".into()))?;
        let now = self.now_ms();
        let record = ContactRecord {
            id: id.clone(),
            health_center_id,
            prefecture_id,
            name: name.to_string(),
            kana: text_field("kana", &person.kana, 200)?,
            birth_date,
            phones: serde_json::to_string(
                &person.phones.iter().map(|p| p.trim()).collect::<Vec<_>>(),
            )
            .map_err(|e| CaseError::Internal(e.to_string()))?,
            address: text_field("address", &person.address, MAX_TEXT)?,
            household: text_field("household", &person.household, MAX_TEXT)?,
            status: ContactStatus::Identified.as_str().into(),
            last_exposure_date: exposure.exposure_date.clone(),
            quarantine_start: None,
            quarantine_end: None,
            converted_case_id: None,
            created_by: principal.actor.clone(),
            created_at_ms: now,
            updated_at_ms: now,
            merged_into: None,
        };
        self.contacts
            .insert_contact_person(&record, &exposure)
            .await?;
        self.audit(&principal.actor, "contact.create", &format!("contact:{id}"))
            .await?;
        self.detect_duplicates_quietly(PersonKind::Contact, &id)
            .await;
        self.contact_view(record).await
    }

    /// A close contact.
    pub async fn contact(&self, principal: &Principal, id: &str) -> Result<ContactView, CaseError> {
        let record = self
            .contact_for(principal, id, Access::Read, "read")
            .await?;
        self.contact_view(record).await
    }

    /// The close contacts of a case that `principal` may see (those living elsewhere belong
    /// to their own health center).
    pub async fn contacts_of_case(
        &self,
        principal: &Principal,
        case_id: &str,
    ) -> Result<Vec<ContactView>, CaseError> {
        self.case_for(principal, case_id, Access::Read, "contacts")
            .await?;
        let mut views = Vec::new();
        for record in self.contacts.contacts_of_case(case_id).await? {
            if in_scope(principal, &contact_scope(&record)) {
                views.push(self.contact_view(record).await?);
            }
        }
        Ok(views)
    }

    /// Adds a later exposure (another case, or the same case again); a quarantine in
    /// progress is extended to the rule's end after the new last exposure.
    pub async fn add_contact_exposure(
        &self,
        principal: &Principal,
        id: &str,
        input: ExposureInput,
    ) -> Result<ContactView, CaseError> {
        let record = self
            .contact_for(principal, id, Access::Write, "exposure")
            .await?;
        let status = ContactStatus::parse(&record.status)
            .ok_or_else(|| CaseError::Internal("stored contact status".into()))?;
        if !status.is_open() {
            return Err(CaseError::Conflict {
                code: "contact_closed",
                message: format!("a {} contact takes no new exposures", status.as_str()),
            });
        }
        let exposure = self.exposure_record(principal, id, &input).await?;
        let last = record
            .last_exposure_date
            .clone()
            .max(exposure.exposure_date.clone());
        let mut quarantine_end = record.quarantine_end.clone();
        if status == ContactStatus::Quarantined
            && let Some(q) =
                Date::parse(&last).and_then(|d| quarantine_after(&self.config.quarantine_rules, d))
            && quarantine_end
                .as_deref()
                .is_none_or(|end| q.end.to_string().as_str() > end)
        {
            quarantine_end = Some(q.end.to_string());
        }
        let now = self.now_ms();
        self.contacts
            .add_contact_exposure(&exposure, &last, quarantine_end.as_deref(), now)
            .await?;
        if quarantine_end != record.quarantine_end
            && let Some(plan) = self.followup.plan(id).await?
        {
            // The follow-up runs to the new end.
            let input = PlanInput {
                start_date: Some(plan.start_date),
                end_date: quarantine_end.clone(),
                organization_id: Some(plan.organization_id),
                reporting_times: Some(plan.reporting_times.split(',').map(String::from).collect()),
            };
            self.set_plan(principal, SubjectKind::Contact, id, input)
                .await?;
        }
        let record = self
            .contacts
            .contact_person(id)
            .await?
            .ok_or(CaseError::NotFound)?;
        self.contact_view(record).await
    }

    /// Moves a contact to `quarantined` (quarantine from the rule in force on the last
    /// exposure, with a follow-up plan over it), `completed`, `lost` or `refused` (their link
    /// tokens stop working).
    pub async fn change_contact_status(
        &self,
        principal: &Principal,
        id: &str,
        next: ContactStatus,
    ) -> Result<ContactView, CaseError> {
        let record = self
            .contact_for(principal, id, Access::Write, "status")
            .await?;
        if principal.organization.kind != OrgKind::HealthCenter {
            return Err(CaseError::Forbidden);
        }
        let current = ContactStatus::parse(&record.status)
            .ok_or_else(|| CaseError::Internal("stored contact status".into()))?;
        if !current.can_become(next) {
            return Err(CaseError::Conflict {
                code: "invalid_transition",
                message: format!(
                    "a {} contact cannot become {}",
                    current.as_str(),
                    next.as_str()
                ),
            });
        }
        let now = self.now_ms();
        let mut update = ContactUpdate {
            from_status: current.as_str().into(),
            status: next.as_str().into(),
            quarantine_start: record.quarantine_start.clone(),
            quarantine_end: record.quarantine_end.clone(),
            converted_case_id: None,
            now_ms: now,
        };
        if next == ContactStatus::Quarantined {
            let last = Date::parse(&record.last_exposure_date)
                .ok_or_else(|| CaseError::Internal("stored exposure date".into()))?;
            let q = quarantine_after(&self.config.quarantine_rules, last).ok_or_else(|| {
                CaseError::Conflict {
                    code: "no_quarantine_rule",
                    message: "no quarantine rule covers the last exposure date".into(),
                }
            })?;
            let today = Date::from_unix_ms(now);
            if q.end < today {
                return Err(CaseError::Conflict {
                    code: "quarantine_over",
                    message: format!("the quarantine after that exposure ended on {}", q.end),
                });
            }
            update.quarantine_start = Some(q.start.to_string());
            update.quarantine_end = Some(q.end.to_string());
        }
        if !self.contacts.update_contact_person(id, &update).await? {
            return Err(CaseError::Conflict {
                code: "concurrent_change",
                message: "the contact changed meanwhile; reload".into(),
            });
        }
        if next == ContactStatus::Quarantined {
            self.set_plan(principal, SubjectKind::Contact, id, PlanInput::default())
                .await?;
        } else {
            self.followup.revoke_followup_tokens(id, now).await?;
        }
        let record = self
            .contacts
            .contact_person(id)
            .await?
            .ok_or(CaseError::NotFound)?;
        self.contact_view(record).await
    }

    /// Converts a contact who tested positive into a case: files the notification (the
    /// health center of residence, `accepted`) with the person's data prefilled under the
    /// fields `notification` gives, links it to every case the contact was exposed to, and
    /// closes the contact (`converted`; link tokens stop working).
    pub async fn convert_contact(
        &self,
        principal: &Principal,
        id: &str,
        notification: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Conversion, CaseError> {
        let record = self
            .contact_for(principal, id, Access::Write, "convert")
            .await?;
        if principal.organization.kind != OrgKind::HealthCenter
            || principal.organization.id != record.health_center_id
        {
            return Err(CaseError::Forbidden);
        }
        let current = ContactStatus::parse(&record.status)
            .ok_or_else(|| CaseError::Internal("stored contact status".into()))?;
        if !current.is_open() {
            return Err(CaseError::Conflict {
                code: "invalid_transition",
                message: format!("a {} contact cannot be converted", current.as_str()),
            });
        }
        let phones: Vec<String> = serde_json::from_str(&record.phones).unwrap_or_default();
        let mut fields = serde_json::Map::new();
        fields.insert("name".into(), record.name.clone().into());
        for (key, value) in [
            ("kana", record.kana.clone()),
            ("dateOfBirth", record.birth_date.clone()),
            ("address", record.address.clone()),
            ("phone", phones.first().cloned()),
        ] {
            if let Some(value) = value {
                fields.insert(key.into(), value.into());
            }
        }
        fields.insert(
            "healthCenterId".into(),
            record.health_center_id.clone().into(),
        );
        fields.insert("linkedToOtherCase".into(), true.into());
        // What staff give wins over the prefill, except where the contact belongs.
        for (key, value) in notification {
            if key != "healthCenterId" {
                fields.insert(key, value);
            }
        }
        let notification: Notification = serde_json::from_value(serde_json::Value::Object(fields))
            // Well-formed JSON that does not make a notification with the prefill: 422.
            .map_err(|e| {
                CaseError::Invalid(vec![FieldError {
                    field: "notification",
                    message: format!("with the person's data it is no complete notification: {e}"),
                }])
            })?;
        let case = self.file_case_only(principal, notification).await?;
        let now = self.now_ms();
        let mut linked = std::collections::BTreeSet::new();
        for exposure in self.contacts.contact_exposures(id).await? {
            if linked.insert(exposure.case_id.clone()) {
                self.store
                    .insert_link(&case.id, &exposure.case_id, now)
                    .await?;
            }
        }
        let update = ContactUpdate {
            from_status: current.as_str().into(),
            status: ContactStatus::Converted.as_str().into(),
            quarantine_start: record.quarantine_start.clone(),
            quarantine_end: record.quarantine_end.clone(),
            converted_case_id: Some(case.id.clone()),
            now_ms: now,
        };
        if !self.contacts.update_contact_person(id, &update).await? {
            return Err(CaseError::Conflict {
                code: "concurrent_change",
                message: "the contact changed meanwhile; the case was filed, reload".into(),
            });
        }
        self.followup.revoke_followup_tokens(id, now).await?;
        // The contact became this case: no candidate pair; the case may duplicate others.
        self.detect_duplicates_quietly(PersonKind::Case, &case.id)
            .await;
        self.audit(
            &principal.actor,
            "contact.converted",
            &format!("case:{}", case.id),
        )
        .await?;
        let record = self
            .contacts
            .contact_person(id)
            .await?
            .ok_or(CaseError::NotFound)?;
        Ok(Conversion {
            case_id: case.id,
            contact: self.contact_view(record).await?,
        })
    }
}
