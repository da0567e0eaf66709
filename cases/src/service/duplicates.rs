//! Duplicate persons: detection into a review queue, dismissal and merge.
//!
//! Detection ([`CaseRegistry::detect_duplicates`]) runs for one person when a case is filed,
//! corrected, transferred or revoked and when a contact is created or transferred: it stores
//! the person's blocking keys and scores only the persons of the same prefecture that share
//! one ([`crate::model::duplicates`]). `POST /api/duplicates/scan` repeats it for every person
//! of a health center. A pair of a case and a contact already converted into a case is never
//! a candidate (the conversion links them).
//!
//! Scope: a pair is visible to whoever sees both of its records (a health center's case
//! workers, its prefecture's readers); others get 404. Only case workers of the health
//! center that holds both records dismiss or merge (403 for prefecture readers). A merge
//! keeps both records: the duplicate gets `merged_into`, is left out of lists and statistics,
//! and answers with `mergedInto` set; a merged contact's exposures move to the kept one.
//! Every list, scan, dismissal and merge is audited (`duplicate.<action>`); dismissals and
//! merges also go into the history of each case in the pair.

use serde::{Deserialize, Serialize};

use super::followup::{PlanInput, SubjectKind};
use super::{CaseError, CaseRegistry};
use crate::model::contacts::{ContactStatus, quarantine_after};
use crate::model::duplicates::{PersonKeys, Score, blocking_keys, score};
use crate::model::{
    Access, CaseScope, Date, FieldError, OrgKind, Principal, Role, in_scope, permits,
};
use crate::store::CaseRecord;
use crate::store::contacts::ContactRecord;
use crate::store::duplicates::{Merge, PairRecord, PairScope};

/// Most pairs one list answers (best score first).
pub const MAX_LISTED_PAIRS: i64 = 500;

/// What a person record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PersonKind {
    /// A case (a notification of occurrence).
    Case,
    /// A close contact.
    Contact,
}

impl PersonKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PersonKind::Case => "case",
            PersonKind::Contact => "contact",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "case" => Some(PersonKind::Case),
            "contact" => Some(PersonKind::Contact),
            _ => None,
        }
    }
}

/// A person of a pair, as the reviewer compares them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DuplicatePerson {
    /// Case or contact.
    pub kind: PersonKind,
    /// Its id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kana.
    pub kana: Option<String>,
    /// Date of birth.
    pub birth_date: Option<String>,
    /// Phone numbers.
    pub phones: Vec<String>,
    /// Health center.
    pub health_center_id: String,
    /// Status (of the case or the contact).
    pub status: String,
    /// The record it was merged into, if merged.
    pub merged_into: Option<String>,
    /// Created (Unix ms).
    pub created_at_ms: i64,
}

/// A candidate pair of the review queue.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DuplicatePair {
    /// Id.
    pub id: String,
    /// Score out of 100 (a candidate from 60).
    pub score: i64,
    /// The evidence: `same_birth_date`, `same_kana`, `same_name`, `similar_name`,
    /// `same_phone`, `different_birth_date`.
    pub reasons: Vec<String>,
    /// `open`, `dismissed` or `merged`.
    pub state: String,
    /// When detected (Unix ms).
    pub detected_at_ms: i64,
    /// Who dismissed or merged it.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at_ms: Option<i64>,
    /// The record a merge kept.
    pub kept_id: Option<String>,
    /// One person.
    pub first: DuplicatePerson,
    /// The other.
    pub second: DuplicatePerson,
}

/// Which record of a pair a merge keeps.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MergeRequest {
    /// The id of the record to keep (one of the pair's two; the other is marked merged into
    /// it).
    #[schema(pattern = "^[^\\u0000]*$")]
    pub keep: String,
}

/// What a scan did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanReport {
    /// Persons (cases and contacts) of the health center compared.
    pub persons: usize,
    /// Open pairs of the health center after the scan.
    pub open_pairs: usize,
}

/// A case or a contact, for matching and scope.
#[derive(Debug, Clone)]
enum Person {
    Case(CaseRecord),
    Contact(ContactRecord),
}

impl Person {
    fn kind(&self) -> PersonKind {
        match self {
            Person::Case(_) => PersonKind::Case,
            Person::Contact(_) => PersonKind::Contact,
        }
    }

    fn id(&self) -> &str {
        match self {
            Person::Case(c) => &c.id,
            Person::Contact(c) => &c.id,
        }
    }

    fn prefecture_id(&self) -> &str {
        match self {
            Person::Case(c) => &c.prefecture_id,
            Person::Contact(c) => &c.prefecture_id,
        }
    }

    fn merged_into(&self) -> Option<&str> {
        match self {
            Person::Case(c) => c.merged_into.as_deref(),
            Person::Contact(c) => c.merged_into.as_deref(),
        }
    }

    /// Whether the person takes part in detection: not merged, not a revoked case.
    fn takes_part(&self) -> bool {
        self.merged_into().is_none()
            && !matches!(self, Person::Case(c) if c.revoked_at_ms.is_some())
    }

    fn keys(&self) -> PersonKeys {
        match self {
            Person::Case(c) => {
                let data: serde_json::Value =
                    serde_json::from_str(&c.data).unwrap_or(serde_json::Value::Null);
                let text = |field: &str| data.get(field).and_then(|v| v.as_str()).map(String::from);
                PersonKeys {
                    name: c.name.clone(),
                    kana: text("kana"),
                    birth_date: text("dateOfBirth"),
                    phones: text("phone").into_iter().collect(),
                }
            }
            Person::Contact(c) => PersonKeys {
                name: c.name.clone(),
                kana: c.kana.clone(),
                birth_date: c.birth_date.clone(),
                phones: serde_json::from_str(&c.phones).unwrap_or_default(),
            },
        }
    }

    fn in_scope_of(&self, principal: &Principal) -> bool {
        match self {
            Person::Case(c) => in_scope(
                principal,
                &CaseScope {
                    health_center_id: c.health_center_id.clone(),
                    prefecture_id: c.prefecture_id.clone(),
                    reporting_org_id: c.reporting_org_id.clone(),
                },
            ),
            // Clinics never see contacts.
            Person::Contact(c) => {
                principal.organization.kind != OrgKind::MedicalInstitution
                    && in_scope(
                        principal,
                        &CaseScope {
                            health_center_id: c.health_center_id.clone(),
                            prefecture_id: c.prefecture_id.clone(),
                            reporting_org_id: String::new(),
                        },
                    )
            }
        }
    }

    fn summary(&self) -> DuplicatePerson {
        let keys = self.keys();
        let (health_center_id, status, created_at_ms) = match self {
            Person::Case(c) => (
                c.health_center_id.clone(),
                c.status.clone(),
                c.created_at_ms,
            ),
            Person::Contact(c) => (
                c.health_center_id.clone(),
                c.status.clone(),
                c.created_at_ms,
            ),
        };
        DuplicatePerson {
            kind: self.kind(),
            id: self.id().into(),
            name: keys.name,
            kana: keys.kana,
            birth_date: keys.birth_date,
            phones: keys.phones,
            health_center_id,
            status,
            merged_into: self.merged_into().map(String::from),
            created_at_ms,
        }
    }
}

/// A case and the contact that already became it: linked by the conversion, no candidate.
fn converted_into(a: &Person, b: &Person) -> bool {
    match (a, b) {
        (Person::Case(_), Person::Contact(k)) | (Person::Contact(k), Person::Case(_)) => {
            k.converted_case_id.is_some()
        }
        _ => false,
    }
}

/// The pair record of two persons, the lower (kind, id) first.
fn pair_of(a: &Person, b: &Person, s: &Score, now_ms: i64) -> PairRecord {
    let (first, second) = if (a.kind().as_str(), a.id()) <= (b.kind().as_str(), b.id()) {
        (a, b)
    } else {
        (b, a)
    };
    PairRecord {
        id: uuid::Uuid::new_v4().to_string(),
        first_kind: first.kind().as_str().into(),
        first_id: first.id().into(),
        second_kind: second.kind().as_str().into(),
        second_id: second.id().into(),
        score: s.points,
        reasons: s.reasons_text(),
        state: "open".into(),
        detected_at_ms: now_ms,
        decided_by: None,
        decided_at_ms: None,
        kept_id: None,
    }
}

fn same_pair(a: &PairRecord, b: &PairRecord) -> bool {
    (&a.first_kind, &a.first_id, &a.second_kind, &a.second_id)
        == (&b.first_kind, &b.first_id, &b.second_kind, &b.second_id)
}

fn view(pair: PairRecord, first: &Person, second: &Person) -> DuplicatePair {
    DuplicatePair {
        reasons: pair
            .reasons
            .split(',')
            .filter(|r| !r.is_empty())
            .map(String::from)
            .collect(),
        id: pair.id,
        score: pair.score,
        state: pair.state,
        detected_at_ms: pair.detected_at_ms,
        decided_by: pair.decided_by,
        decided_at_ms: pair.decided_at_ms,
        kept_id: pair.kept_id,
        first: first.summary(),
        second: second.summary(),
    }
}

fn pair_closed(pair: &PairRecord) -> CaseError {
    CaseError::Conflict {
        code: "pair_closed",
        message: format!("the pair was already {}", pair.state),
    }
}

impl CaseRegistry {
    async fn person(&self, kind: PersonKind, id: &str) -> Result<Option<Person>, CaseError> {
        Ok(match kind {
            PersonKind::Case => self.store.case(id).await?.map(Person::Case),
            PersonKind::Contact => self.contacts.contact_person(id).await?.map(Person::Contact),
        })
    }

    async fn stored_person(&self, kind: &str, id: &str) -> Result<Option<Person>, CaseError> {
        match PersonKind::parse(kind) {
            Some(kind) => self.person(kind, id).await,
            None => Err(CaseError::Internal(format!("stored person kind {kind}"))),
        }
    }

    /// Detects the duplicates of one person: stores its blocking keys, scores the persons of
    /// its prefecture sharing one, puts the candidates into the queue (a dismissed pair stays
    /// dismissed) and withdraws its open pairs that no longer score. Returns the number of
    /// candidates.
    pub async fn detect_duplicates(&self, kind: PersonKind, id: &str) -> Result<usize, CaseError> {
        let Some(person) = self.person(kind, id).await? else {
            return Ok(0);
        };
        let me = person.keys();
        let keys = if person.takes_part() {
            blocking_keys(&me)
        } else {
            Vec::new()
        };
        self.duplicates
            .replace_person_keys(kind.as_str(), id, person.prefecture_id(), &keys)
            .await?;
        let now = self.now_ms();
        let mut candidates = Vec::new();
        for (other_kind, other_id) in self
            .duplicates
            .block_members(person.prefecture_id(), &keys)
            .await?
        {
            if other_kind == kind.as_str() && other_id == id {
                continue;
            }
            let Some(other) = self.stored_person(&other_kind, &other_id).await? else {
                continue;
            };
            if !other.takes_part() || converted_into(&person, &other) {
                continue;
            }
            let s = score(&me, &other.keys());
            if s.is_candidate() {
                candidates.push(pair_of(&person, &other, &s, now));
            }
        }
        let withdrawn: Vec<String> = self
            .duplicates
            .pairs_of(kind.as_str(), id)
            .await?
            .into_iter()
            .filter(|p| p.state == "open" && !candidates.iter().any(|c| same_pair(c, p)))
            .map(|p| p.id)
            .collect();
        self.duplicates
            .record_detection(&candidates, &withdrawn)
            .await?;
        Ok(candidates.len())
    }

    /// [`CaseRegistry::detect_duplicates`] after a change that must not fail because of it
    /// (filing, corrections, transfers): a failure is logged and the next scan repeats it.
    pub(crate) async fn detect_duplicates_quietly(&self, kind: PersonKind, id: &str) {
        if let Err(error) = self.detect_duplicates(kind, id).await {
            tracing::warn!(error = %error, kind = kind.as_str(), "duplicate detection failed; a scan repeats it");
        }
    }

    /// The pair and its two persons if `principal` sees both (404 otherwise, as for an unknown
    /// id); 403 when it may read them but not act.
    async fn pair_for(
        &self,
        principal: &Principal,
        id: &str,
        access: Access,
    ) -> Result<(PairRecord, Person, Person), CaseError> {
        if id.contains('\0') {
            return Err(CaseError::NotFound);
        }
        let pair = self.duplicates.pair(id).await?.ok_or(CaseError::NotFound)?;
        let first = self
            .stored_person(&pair.first_kind, &pair.first_id)
            .await?
            .ok_or(CaseError::NotFound)?;
        let second = self
            .stored_person(&pair.second_kind, &pair.second_id)
            .await?
            .ok_or(CaseError::NotFound)?;
        if !first.in_scope_of(principal) || !second.in_scope_of(principal) {
            return Err(CaseError::NotFound);
        }
        if !permits(principal, access) {
            return Err(if permits(principal, Access::Read) {
                CaseError::Forbidden
            } else {
                CaseError::NotFound
            });
        }
        if access == Access::Write && principal.organization.kind != OrgKind::HealthCenter {
            return Err(CaseError::Forbidden);
        }
        Ok((pair, first, second))
    }

    /// The open pairs with both records in the caller's health center (or, for a prefecture,
    /// in its health centers), best score first.
    pub async fn duplicate_pairs(
        &self,
        principal: &Principal,
    ) -> Result<Vec<DuplicatePair>, CaseError> {
        let org = &principal.organization;
        let scope = match org.kind {
            OrgKind::HealthCenter => PairScope::HealthCenter(org.id.clone()),
            OrgKind::Prefecture => PairScope::Prefecture(org.id.clone()),
            _ => return Err(CaseError::Forbidden),
        };
        if !permits(principal, Access::Read) {
            return Err(CaseError::Forbidden);
        }
        let mut views = Vec::new();
        for pair in self.duplicates.open_pairs(&scope, MAX_LISTED_PAIRS).await? {
            let first = self.stored_person(&pair.first_kind, &pair.first_id).await?;
            let second = self
                .stored_person(&pair.second_kind, &pair.second_id)
                .await?;
            if let (Some(first), Some(second)) = (first, second) {
                views.push(view(pair, &first, &second));
            }
        }
        self.audit(
            &principal.actor,
            "duplicate.list",
            &format!("organization:{}", org.id),
        )
        .await?;
        Ok(views)
    }

    /// Runs detection for every person of the caller's health center (its case workers).
    pub async fn scan_duplicates(&self, principal: &Principal) -> Result<ScanReport, CaseError> {
        let org = &principal.organization;
        if org.kind != OrgKind::HealthCenter || !principal.has(Role::CaseWorker) {
            return Err(CaseError::Forbidden);
        }
        let persons = self.duplicates.persons_of_health_center(&org.id).await?;
        for (kind, id) in &persons {
            if let Some(kind) = PersonKind::parse(kind) {
                self.detect_duplicates(kind, id).await?;
            }
        }
        self.audit(
            &principal.actor,
            "duplicate.scan",
            &format!("organization:{}", org.id),
        )
        .await?;
        let open_pairs = self
            .duplicates
            .open_pairs(&PairScope::HealthCenter(org.id.clone()), MAX_LISTED_PAIRS)
            .await?
            .len();
        Ok(ScanReport {
            persons: persons.len(),
            open_pairs,
        })
    }

    async fn reloaded(
        &self,
        id: &str,
        first: &Person,
        second: &Person,
    ) -> Result<DuplicatePair, CaseError> {
        let pair = self.duplicates.pair(id).await?.ok_or(CaseError::NotFound)?;
        let first = self
            .person(first.kind(), first.id())
            .await?
            .ok_or(CaseError::NotFound)?;
        let second = self
            .person(second.kind(), second.id())
            .await?
            .ok_or(CaseError::NotFound)?;
        Ok(view(pair, &first, &second))
    }

    /// Dismisses an open pair: not the same person (it is not proposed again).
    pub async fn dismiss_duplicate(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<DuplicatePair, CaseError> {
        let (pair, first, second) = self.pair_for(principal, id, Access::Write).await?;
        if pair.state != "open" {
            return Err(pair_closed(&pair));
        }
        if !self
            .duplicates
            .dismiss_pair(&pair, &principal.actor, self.now_ms())
            .await?
        {
            return Err(CaseError::Conflict {
                code: "concurrent_change",
                message: "the pair changed meanwhile; reload".into(),
            });
        }
        self.audit(
            &principal.actor,
            "duplicate.dismiss",
            &format!(
                "duplicate:{id} {}:{} {}:{}",
                pair.first_kind, pair.first_id, pair.second_kind, pair.second_id
            ),
        )
        .await?;
        self.reloaded(id, &first, &second).await
    }

    /// Merges an open pair of two cases or two contacts, keeping `keep`: the other is marked
    /// merged into it (never deleted). A case and a contact are not merged (422: the contact
    /// became the case; convert it).
    pub async fn merge_duplicate(
        &self,
        principal: &Principal,
        id: &str,
        request: MergeRequest,
    ) -> Result<DuplicatePair, CaseError> {
        let (pair, first, second) = self.pair_for(principal, id, Access::Write).await?;
        if pair.state != "open" {
            return Err(pair_closed(&pair));
        }
        if first.kind() != second.kind() {
            let contact = if first.kind() == PersonKind::Contact {
                first.id()
            } else {
                second.id()
            };
            return Err(CaseError::Invalid(vec![FieldError {
                field: "keep",
                message: format!(
                    "a case and a close contact of the same person are not merged: the contact became a case; record that with the contact's conversion (POST /api/contacts/{contact}/convert), or dismiss the pair"
                ),
            }]));
        }
        let (kept, merged) = if request.keep == first.id() {
            (&first, &second)
        } else if request.keep == second.id() {
            (&second, &first)
        } else {
            return Err(CaseError::Invalid(vec![FieldError {
                field: "keep",
                message: "the id of one of the pair's two records".into(),
            }]));
        };
        if kept.merged_into().is_some() || merged.merged_into().is_some() {
            return Err(CaseError::Conflict {
                code: "already_merged",
                message:
                    "a record of the pair was merged into another meanwhile; follow mergedInto"
                        .into(),
            });
        }
        let merge = Merge {
            pair_id: pair.id.clone(),
            keep: kept.id().into(),
            merged: merged.id().into(),
            actor: principal.actor.clone(),
            now_ms: self.now_ms(),
        };
        let done = match (kept, merged) {
            (Person::Contact(k), Person::Contact(m)) => {
                self.merge_contact_records(principal, &merge, k, m).await?
            }
            _ => self.duplicates.merge_cases(&merge).await?,
        };
        if !done {
            return Err(CaseError::Conflict {
                code: "concurrent_change",
                message: "the pair or a record changed meanwhile; reload".into(),
            });
        }
        let kind = kept.kind().as_str();
        self.audit(
            &principal.actor,
            "duplicate.merge",
            &format!(
                "duplicate:{id} kept:{kind}:{} merged:{kind}:{}",
                merge.keep, merge.merged
            ),
        )
        .await?;
        // The merged record leaves the queue; the kept one is compared afresh.
        self.detect_duplicates_quietly(merged.kind(), merged.id())
            .await;
        self.detect_duplicates_quietly(kept.kind(), kept.id()).await;
        self.reloaded(id, &first, &second).await
    }

    /// Merges contact `m` into `k`: the exposures move, the last exposure is the later one and
    /// a quarantine in progress on `k` runs to the rule's end after it (with its follow-up).
    async fn merge_contact_records(
        &self,
        principal: &Principal,
        merge: &Merge,
        k: &ContactRecord,
        m: &ContactRecord,
    ) -> Result<bool, CaseError> {
        let last = k
            .last_exposure_date
            .clone()
            .max(m.last_exposure_date.clone());
        let mut quarantine_end = k.quarantine_end.clone();
        if ContactStatus::parse(&k.status) == Some(ContactStatus::Quarantined)
            && let Some(q) =
                Date::parse(&last).and_then(|d| quarantine_after(&self.config.quarantine_rules, d))
            && quarantine_end
                .as_deref()
                .is_none_or(|end| q.end.to_string().as_str() > end)
        {
            quarantine_end = Some(q.end.to_string());
        }
        if !self
            .duplicates
            .merge_contacts(merge, &last, quarantine_end.as_deref())
            .await?
        {
            return Ok(false);
        }
        if quarantine_end != k.quarantine_end
            && let Some(plan) = self.followup.plan(&k.id).await?
        {
            let input = PlanInput {
                start_date: Some(plan.start_date),
                end_date: quarantine_end.clone(),
                organization_id: Some(plan.organization_id),
                reporting_times: Some(plan.reporting_times.split(',').map(String::from).collect()),
            };
            self.set_plan(principal, SubjectKind::Contact, &k.id, input)
                .await?;
        }
        Ok(true)
    }
}
