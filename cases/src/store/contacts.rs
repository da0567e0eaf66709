//! Storage of close contacts as people (`contacts`) and the exposures that made them
//! contacts (`contact_exposures`, one per case and contact investigation).

use async_trait::async_trait;

use super::DbCaseStore;
use crate::params;
use crate::sql::{self, Row, Statement, StoreError};

/// A close contact: the person, their status and quarantine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    /// Id (UUID).
    pub id: String,
    /// The health center of residence (the contact belongs to it).
    pub health_center_id: String,
    /// Its prefecture.
    pub prefecture_id: String,
    /// Name.
    pub name: String,
    /// Name in kana.
    pub kana: Option<String>,
    /// Date of birth (`YYYY-MM-DD`).
    pub birth_date: Option<String>,
    /// Phone numbers, JSON array of strings.
    pub phones: String,
    /// Address.
    pub address: Option<String>,
    /// Household (who lives with them), free text.
    pub household: Option<String>,
    /// Status name (`identified`, `quarantined`, `completed`, `converted`, `lost`, `refused`).
    pub status: String,
    /// The latest exposure date (`YYYY-MM-DD`).
    pub last_exposure_date: String,
    /// First day of quarantine, once started.
    pub quarantine_start: Option<String>,
    /// Last day of quarantine, once started (moves with a later exposure).
    pub quarantine_end: Option<String>,
    /// The case the contact became, after a positive test.
    pub converted_case_id: Option<String>,
    /// Who created the record (actor).
    pub created_by: String,
    /// Created.
    pub created_at_ms: i64,
    /// Last changed.
    pub updated_at_ms: i64,
    /// The contact this one was merged into (the same person recorded twice).
    pub merged_into: Option<String>,
}

/// One exposure of a contact to a case, as the contact investigation recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposureRecord {
    /// Id (UUID).
    pub id: String,
    /// The contact.
    pub contact_id: String,
    /// The case they were exposed to.
    pub case_id: String,
    /// The (last) day of contact.
    pub exposure_date: String,
    /// Setting (`household`, `workplace`, `school`, `care_facility`, `medical`, `event`,
    /// `other`).
    pub setting: String,
    /// Duration in minutes.
    pub duration_minutes: Option<i64>,
    /// Proximity (`within_1m`, `within_2m`, `over_2m`, `unknown`).
    pub proximity: Option<String>,
    /// How the investigation learnt of it (`interview`, `phone`, `list`, `app`, …).
    pub method: Option<String>,
    /// Who answered (`case`, `contact`, `family`, `facility`, …).
    pub respondent: Option<String>,
    /// Who recorded it (actor).
    pub recorded_by: String,
    /// When.
    pub recorded_at_ms: i64,
}

/// A conditional change of a contact's status and quarantine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactUpdate {
    /// Applied only while the stored status is this.
    pub from_status: String,
    /// The new status.
    pub status: String,
    /// New quarantine start.
    pub quarantine_start: Option<String>,
    /// New quarantine end.
    pub quarantine_end: Option<String>,
    /// The case the contact became.
    pub converted_case_id: Option<String>,
    /// When.
    pub now_ms: i64,
}

/// Storage of close contacts.
#[async_trait]
pub trait ContactStore: Send + Sync {
    /// Stores a new contact with the exposure that made them one (one transaction).
    async fn insert_contact_person(
        &self,
        contact: &ContactRecord,
        exposure: &ExposureRecord,
    ) -> Result<(), StoreError>;
    /// A contact by id.
    async fn contact_person(&self, id: &str) -> Result<Option<ContactRecord>, StoreError>;
    /// A contact's exposures, oldest first.
    async fn contact_exposures(&self, contact_id: &str) -> Result<Vec<ExposureRecord>, StoreError>;
    /// The contacts exposed to a case, by creation.
    async fn contacts_of_case(&self, case_id: &str) -> Result<Vec<ContactRecord>, StoreError>;
    /// The contacts of a health center, newest first (at most `limit`).
    async fn contacts_of_health_center(
        &self,
        health_center_id: &str,
        limit: i64,
    ) -> Result<Vec<ContactRecord>, StoreError>;
    /// Adds an exposure and moves the contact's last exposure date and quarantine end to
    /// the given values (one transaction).
    async fn add_contact_exposure(
        &self,
        exposure: &ExposureRecord,
        last_exposure_date: &str,
        quarantine_end: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Applies `update` if the status is still `update.from_status`; false when it changed
    /// meanwhile.
    async fn update_contact_person(
        &self,
        id: &str,
        update: &ContactUpdate,
    ) -> Result<bool, StoreError>;
    /// Moves a contact from health center `from` to `to` (and its prefecture), with the
    /// follow-up plan and open alerts `from` was responsible for; false when the contact is
    /// no longer `from`'s.
    async fn transfer_contact(
        &self,
        id: &str,
        from: &str,
        to: &str,
        to_prefecture: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
}

const CONTACT_COLUMNS: &str = "id, health_center_id, prefecture_id, name, kana, birth_date, phones, address, household, status, last_exposure_date, quarantine_start, quarantine_end, converted_case_id, created_by, created_at_ms, updated_at_ms, merged_into";

fn contact_from_row(row: &Row) -> Result<ContactRecord, StoreError> {
    Ok(ContactRecord {
        id: row.text(0)?,
        health_center_id: row.text(1)?,
        prefecture_id: row.text(2)?,
        name: row.text(3)?,
        kana: row.opt_text(4)?,
        birth_date: row.opt_text(5)?,
        phones: row.text(6)?,
        address: row.opt_text(7)?,
        household: row.opt_text(8)?,
        status: row.text(9)?,
        last_exposure_date: row.text(10)?,
        quarantine_start: row.opt_text(11)?,
        quarantine_end: row.opt_text(12)?,
        converted_case_id: row.opt_text(13)?,
        created_by: row.text(14)?,
        created_at_ms: row.int(15)?,
        updated_at_ms: row.int(16)?,
        merged_into: row.opt_text(17)?,
    })
}

const EXPOSURE_COLUMNS: &str = "id, contact_id, case_id, exposure_date, setting, duration_minutes, proximity, method, respondent, recorded_by, recorded_at_ms";

fn exposure_from_row(row: &Row) -> Result<ExposureRecord, StoreError> {
    Ok(ExposureRecord {
        id: row.text(0)?,
        contact_id: row.text(1)?,
        case_id: row.text(2)?,
        exposure_date: row.text(3)?,
        setting: row.text(4)?,
        duration_minutes: row.opt_int(5)?,
        proximity: row.opt_text(6)?,
        method: row.opt_text(7)?,
        respondent: row.opt_text(8)?,
        recorded_by: row.text(9)?,
        recorded_at_ms: row.int(10)?,
    })
}

fn insert_exposure(e: &ExposureRecord) -> Statement {
    Statement::new(
        format!(
            "INSERT INTO contact_exposures ({EXPOSURE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ),
        params![
            &e.id,
            &e.contact_id,
            &e.case_id,
            &e.exposure_date,
            &e.setting,
            e.duration_minutes,
            e.proximity.as_deref(),
            e.method.as_deref(),
            e.respondent.as_deref(),
            &e.recorded_by,
            e.recorded_at_ms
        ],
    )
}

#[async_trait]
impl ContactStore for DbCaseStore {
    async fn insert_contact_person(
        &self,
        c: &ContactRecord,
        exposure: &ExposureRecord,
    ) -> Result<(), StoreError> {
        sql::transaction(
            self.database(),
            vec![
                Statement::new(
                    format!(
                        "INSERT INTO contacts ({CONTACT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
                    ),
                    params![
                        &c.id,
                        &c.health_center_id,
                        &c.prefecture_id,
                        &c.name,
                        c.kana.as_deref(),
                        c.birth_date.as_deref(),
                        &c.phones,
                        c.address.as_deref(),
                        c.household.as_deref(),
                        &c.status,
                        &c.last_exposure_date,
                        c.quarantine_start.as_deref(),
                        c.quarantine_end.as_deref(),
                        c.converted_case_id.as_deref(),
                        &c.created_by,
                        c.created_at_ms,
                        c.updated_at_ms,
                        c.merged_into.as_deref()
                    ],
                ),
                insert_exposure(exposure),
            ],
        )
        .await?;
        Ok(())
    }

    async fn contact_person(&self, id: &str) -> Result<Option<ContactRecord>, StoreError> {
        sql::query_opt(
            self.database(),
            &format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = $1"),
            params![id],
        )
        .await?
        .as_ref()
        .map(contact_from_row)
        .transpose()
    }

    async fn contact_exposures(&self, contact_id: &str) -> Result<Vec<ExposureRecord>, StoreError> {
        sql::query(
            self.database(),
            &format!(
                "SELECT {EXPOSURE_COLUMNS} FROM contact_exposures WHERE contact_id = $1 ORDER BY exposure_date, recorded_at_ms, id"
            ),
            params![contact_id],
        )
        .await?
        .iter()
        .map(exposure_from_row)
        .collect()
    }

    async fn contacts_of_case(&self, case_id: &str) -> Result<Vec<ContactRecord>, StoreError> {
        let columns = CONTACT_COLUMNS
            .split(", ")
            .map(|c| format!("c.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        sql::query(
            self.database(),
            &format!(
                "SELECT {columns} FROM contacts c WHERE c.id IN (SELECT contact_id FROM contact_exposures WHERE case_id = $1)
                 ORDER BY c.created_at_ms, c.id"
            ),
            params![case_id],
        )
        .await?
        .iter()
        .map(contact_from_row)
        .collect()
    }

    async fn contacts_of_health_center(
        &self,
        health_center_id: &str,
        limit: i64,
    ) -> Result<Vec<ContactRecord>, StoreError> {
        sql::query(
            self.database(),
            &format!(
                "SELECT {CONTACT_COLUMNS} FROM contacts WHERE health_center_id = $1 AND merged_into IS NULL
                 ORDER BY created_at_ms DESC, id LIMIT $2"
            ),
            params![health_center_id, limit],
        )
        .await?
        .iter()
        .map(contact_from_row)
        .collect()
    }

    async fn add_contact_exposure(
        &self,
        exposure: &ExposureRecord,
        last_exposure_date: &str,
        quarantine_end: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sql::transaction(
            self.database(),
            vec![
                insert_exposure(exposure),
                Statement::new(
                    "UPDATE contacts SET last_exposure_date = $1, quarantine_end = $2, updated_at_ms = $3 WHERE id = $4",
                    params![
                        last_exposure_date,
                        quarantine_end,
                        now_ms,
                        &exposure.contact_id
                    ],
                ),
            ],
        )
        .await?;
        Ok(())
    }

    async fn update_contact_person(&self, id: &str, u: &ContactUpdate) -> Result<bool, StoreError> {
        Ok(sql::execute(
            self.database(),
            "UPDATE contacts SET status = $1, quarantine_start = $2, quarantine_end = $3,
             converted_case_id = $4, updated_at_ms = $5 WHERE id = $6 AND status = $7",
            params![
                &u.status,
                u.quarantine_start.as_deref(),
                u.quarantine_end.as_deref(),
                u.converted_case_id.as_deref(),
                u.now_ms,
                id,
                &u.from_status
            ],
        )
        .await?
            == 1)
    }

    async fn transfer_contact(
        &self,
        id: &str,
        from: &str,
        to: &str,
        to_prefecture: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let results = sql::transaction(
            self.database(),
            vec![
                Statement::new(
                    "UPDATE contacts SET health_center_id = $1, prefecture_id = $2, updated_at_ms = $3
                     WHERE id = $4 AND health_center_id = $5 RETURNING id",
                    params![to, to_prefecture, now_ms, id, from],
                ),
                Statement::new(
                    "UPDATE followup_plans SET organization_id = $1 WHERE subject_id = $2 AND organization_id = $3",
                    params![to, id, from],
                ),
                Statement::new(
                    "UPDATE followup_alerts SET organization_id = $1
                     WHERE subject_id = $2 AND organization_id = $3 AND state <> 'resolved'",
                    params![to, id, from],
                ),
            ],
        )
        .await?;
        Ok(results.first().is_some_and(|rows| !rows.is_empty()))
    }
}
