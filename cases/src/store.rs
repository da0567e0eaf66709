//! Storage of organizations, users, sessions, API keys, cases and the audit log.
//!
//! [`CaseStore`] is the trait; [`DbCaseStore`] implements it on both backends with one SQL
//! text per statement (see [`crate::sql`]). [`conformance`] is the suite both must pass.

use async_trait::async_trait;
use mimamori_storage::Database;

use crate::model::{OrgKind, Organization, Role};
use crate::params;
use crate::sql::{self, Row, Statement, StoreError};

pub mod clusters;
pub mod contacts;
pub mod documents;
pub mod duplicates;
pub mod followup;
pub mod lab_tests;
pub mod open_data;
pub mod outbox;
pub mod retention;
pub mod statistics;
pub mod tasks;

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Id.
    pub id: String,
    /// Organization id.
    pub organization_id: String,
    /// Sign-in name (unique).
    pub username: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// TOTP secret bytes.
    pub totp_secret: Vec<u8>,
    /// Last TOTP step accepted (replay prevention).
    pub totp_last_step: i64,
    /// Roles.
    pub roles: Vec<Role>,
    /// Creation time (Unix ms).
    pub created_at_ms: i64,
}

/// The kind of an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyKind {
    /// Integrations (issue API): acts as a case worker of its organization.
    Admin,
    /// Apps (device API: verify, certificate).
    Device,
}

impl ApiKeyKind {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKeyKind::Admin => "admin",
            ApiKeyKind::Device => "device",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(ApiKeyKind::Admin),
            "device" => Some(ApiKeyKind::Device),
            _ => None,
        }
    }
}

/// A stored API key (only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Id (public, used to revoke).
    pub id: String,
    /// SHA-256 of the key.
    pub key_hash: Vec<u8>,
    /// Owning organization.
    pub organization_id: String,
    /// Kind.
    pub kind: ApiKeyKind,
    /// Label.
    pub name: String,
    /// Creation time.
    pub created_at_ms: i64,
    /// Revocation time.
    pub revoked_at_ms: Option<i64>,
}

/// A stored case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    /// Case id.
    pub id: String,
    /// Health center of jurisdiction.
    pub health_center_id: String,
    /// Its prefecture.
    pub prefecture_id: String,
    /// The organization that filed it.
    pub reporting_org_id: String,
    /// Status name.
    pub status: String,
    /// Patient name (for search).
    pub name: String,
    /// The notification as JSON.
    pub data: String,
    /// Onset date (`YYYY-MM-DD`).
    pub onset_date: Option<String>,
    /// Diagnosis date.
    pub diagnosis_date: String,
    /// Creation time.
    pub created_at_ms: i64,
    /// Last change.
    pub updated_at_ms: i64,
    /// Revoked (false positive) at.
    pub revoked_at_ms: Option<i64>,
    /// The case this one was merged into (a duplicate of the same person): kept, but left out
    /// of lists and statistics.
    pub merged_into: Option<String>,
}

/// An entry of a case's history (status change or lifecycle event).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseEvent {
    /// Order.
    pub seq: i64,
    /// `status` or a lifecycle kind (`number_issued`, `number_claimed`, …).
    pub kind: String,
    /// The new status or event detail.
    pub detail: String,
    /// When (Unix ms).
    pub at_ms: i64,
    /// Who (`user:…`, `apikey:…`, `system`).
    pub actor: String,
}

/// Which cases a list may contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeFilter {
    /// Cases of a health center.
    HealthCenter(String),
    /// Cases of a prefecture.
    Prefecture(String),
    /// Cases reported by an institution.
    Reporter(String),
}

/// A page of cases.
#[derive(Debug, Clone)]
pub struct CasePage {
    /// The cases.
    pub items: Vec<CaseRecord>,
    /// Total matching.
    pub total: i64,
}

/// An audit log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When.
    pub at_ms: i64,
    /// Who.
    pub actor: String,
    /// What (`case.read`, `case.create`, …).
    pub action: String,
    /// On what (e.g. `case:<id>`).
    pub target: String,
    /// Hash of the previous entry (32 zero bytes for the first).
    pub prev_hash: Vec<u8>,
    /// This entry's hash.
    pub hash: Vec<u8>,
}

/// The hash of an audit entry over its predecessor's hash and its own fields.
pub fn audit_hash(
    prev_hash: &[u8],
    seq: i64,
    at_ms: i64,
    actor: &str,
    action: &str,
    target: &str,
) -> Vec<u8> {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(prev_hash);
    context.update(&seq.to_be_bytes());
    context.update(&at_ms.to_be_bytes());
    for field in [actor, action, target] {
        context.update(&(field.len() as u64).to_be_bytes());
        context.update(field.as_bytes());
    }
    context.finish().as_ref().to_vec()
}

/// Where the audit chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at entry {seq}: {reason}")]
pub struct ChainBreak {
    /// The first entry that does not verify.
    pub seq: i64,
    /// Why.
    pub reason: &'static str,
}

/// Checks consecutive entries (starting at seq 1); returns how many verified.
pub fn verify_chain(entries: &[AuditEntry]) -> Result<usize, ChainBreak> {
    let mut prev = vec![0u8; 32];
    for (index, entry) in entries.iter().enumerate() {
        let expected_seq = index as i64 + 1;
        if entry.seq != expected_seq {
            return Err(ChainBreak {
                seq: expected_seq,
                reason: "missing entry",
            });
        }
        if entry.prev_hash != prev {
            return Err(ChainBreak {
                seq: entry.seq,
                reason: "previous hash does not match",
            });
        }
        let hash = audit_hash(
            &prev,
            entry.seq,
            entry.at_ms,
            &entry.actor,
            &entry.action,
            &entry.target,
        );
        if hash != entry.hash {
            return Err(ChainBreak {
                seq: entry.seq,
                reason: "entry was modified",
            });
        }
        prev = hash;
    }
    Ok(entries.len())
}

/// Storage of the case registry.
#[async_trait]
pub trait CaseStore: Send + Sync {
    /// Adds an organization.
    async fn insert_organization(&self, org: &Organization, now_ms: i64) -> Result<(), StoreError>;
    /// An organization by id.
    async fn organization(&self, id: &str) -> Result<Option<Organization>, StoreError>;
    /// Every organization.
    async fn organizations(&self) -> Result<Vec<Organization>, StoreError>;
    /// Adds a user (username unique: a duplicate is a unique violation).
    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    /// A user by sign-in name.
    async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, StoreError>;
    /// A user by id.
    async fn user(&self, id: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Replaces a user's password hash and ends all their sessions.
    async fn set_password_hash(&self, user_id: &str, password_hash: &str)
    -> Result<(), StoreError>;
    /// Records TOTP `step` as used if it is newer than the last one; false means replay.
    async fn advance_totp_step(&self, user_id: &str, step: i64) -> Result<bool, StoreError>;
    /// Stores a session.
    async fn insert_session(
        &self,
        token_hash: &[u8],
        user_id: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError>;
    /// The user of a live session.
    async fn session_user(
        &self,
        token_hash: &[u8],
        now_ms: i64,
    ) -> Result<Option<String>, StoreError>;
    /// Ends a session; true when it existed.
    async fn delete_session(&self, token_hash: &[u8]) -> Result<bool, StoreError>;
    /// Records a request of a live session that was last active at or after
    /// `active_since_ms`; false when it is unknown, expired or idle since before then (one
    /// conditional UPDATE: the same answer on every replica).
    async fn touch_session(
        &self,
        token_hash: &[u8],
        now_ms: i64,
        active_since_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Stores an API key.
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    /// A live (not revoked) API key by hash.
    async fn api_key_by_hash(&self, key_hash: &[u8]) -> Result<Option<ApiKeyRecord>, StoreError>;
    /// The users of an organization, by user name.
    async fn users_of(&self, organization_id: &str) -> Result<Vec<UserRecord>, StoreError>;
    /// The API keys of an organization (live and revoked), newest first.
    async fn api_keys_of(&self, organization_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Revokes a key of `organization_id`; true when it was live.
    async fn revoke_api_key(
        &self,
        id: &str,
        organization_id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Stores cases with their first status entry, all or nothing.
    async fn insert_cases(&self, cases: &[CaseRecord], actor: &str) -> Result<(), StoreError>;
    /// A case by id.
    async fn case(&self, id: &str) -> Result<Option<CaseRecord>, StoreError>;
    /// A page of cases in scope, newest first, optionally by status and name prefix.
    async fn list_cases(
        &self,
        scope: &ScopeFilter,
        status: Option<&str>,
        name_prefix: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<CasePage, StoreError>;
    /// Case counts by (prefecture, status), within `scope` (None: everywhere).
    async fn case_counts(
        &self,
        scope: Option<&ScopeFilter>,
    ) -> Result<Vec<(String, String, i64)>, StoreError>;
    /// Moves a case from `from` to `to` if it is still in `from`; records the history entry.
    async fn change_status(
        &self,
        id: &str,
        from: &str,
        to: &str,
        now_ms: i64,
        actor: &str,
    ) -> Result<bool, StoreError>;
    /// Appends a history entry (status change or lifecycle event).
    async fn add_event(
        &self,
        case_id: &str,
        kind: &str,
        detail: &str,
        now_ms: i64,
        actor: &str,
    ) -> Result<(), StoreError>;
    /// The history of a case, oldest first.
    async fn events(&self, case_id: &str) -> Result<Vec<CaseEvent>, StoreError>;
    /// Moves a case from health center `from` to `to` (and its prefecture), with its
    /// follow-up plan and open alerts where `from` was responsible, and records a
    /// `transferred` event; false when the case is no longer `from`'s.
    async fn transfer_case(
        &self,
        id: &str,
        from: &str,
        to: &str,
        to_prefecture: &str,
        now_ms: i64,
        actor: &str,
    ) -> Result<bool, StoreError>;
    /// Replaces a case's notification if it was not changed since `expected_updated_at_ms`:
    /// keeps the replaced version (`case_revisions`) and records an `edited` event with
    /// `changed` (the field names); false when it changed meanwhile.
    async fn correct_case(
        &self,
        record: &CaseRecord,
        expected_updated_at_ms: i64,
        changed: &str,
        actor: &str,
    ) -> Result<bool, StoreError>;
    /// The replaced versions of a case's notification, oldest first: (data, by, at).
    async fn case_revisions(&self, id: &str) -> Result<Vec<(String, String, i64)>, StoreError>;
    /// Marks a case revoked (false positive); true when it was not yet.
    async fn mark_revoked(&self, case_id: &str, now_ms: i64) -> Result<bool, StoreError>;
    /// Adds a close contact (JSON data).
    async fn insert_contact(
        &self,
        id: &str,
        case_id: &str,
        data: &str,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Close contacts of a case: (id, JSON data).
    async fn contacts(&self, case_id: &str) -> Result<Vec<(String, String)>, StoreError>;
    /// Links `source` to `target` (infection link); false when already linked.
    async fn insert_link(
        &self,
        source: &str,
        target: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Cases linked from or to a case.
    async fn links(&self, case_id: &str) -> Result<Vec<String>, StoreError>;
    /// Appends to the audit log (hash-chained); returns the entry.
    async fn audit_append(
        &self,
        at_ms: i64,
        actor: &str,
        action: &str,
        target: &str,
    ) -> Result<AuditEntry, StoreError>;
    /// Audit entries with `seq > after`, in order, at most `limit`.
    async fn audit_entries(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>, StoreError>;
}

/// [`CaseStore`] on either backend.
#[derive(Debug, Clone)]
pub struct DbCaseStore {
    database: Database,
    /// Serializes this process's audit appends (replicas still race through the retry).
    audit_lock: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl DbCaseStore {
    /// A store on a database with [`crate::MIGRATIONS`] applied.
    pub fn new(database: Database) -> Self {
        DbCaseStore {
            database,
            audit_lock: std::sync::Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.database
    }
}

fn org_from_row(row: &Row) -> Result<Organization, StoreError> {
    let kind = row.text(1)?;
    Ok(Organization {
        id: row.text(0)?,
        kind: OrgKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(kind.clone()))?,
        name: row.text(2)?,
        parent_id: row.opt_text(3)?,
    })
}

const USER_COLUMNS: &str = "id, organization_id, username, password_hash, totp_secret, totp_last_step, roles, created_at_ms";

fn user_from_row(row: &Row) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: row.text(0)?,
        organization_id: row.text(1)?,
        username: row.text(2)?,
        password_hash: row.text(3)?,
        totp_secret: row.bytes(4)?,
        totp_last_step: row.int(5)?,
        roles: Role::split(&row.text(6)?),
        created_at_ms: row.int(7)?,
    })
}

const CASE_COLUMNS: &str = "id, health_center_id, prefecture_id, reporting_org_id, status, name, data, onset_date, diagnosis_date, created_at_ms, updated_at_ms, revoked_at_ms, merged_into";

/// The smallest text greater than every text starting with `prefix` (byte order): the prefix
/// with its last character incremented; `None` when no such character exists.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = u32::from(last) + 1;
        if (0xD800..0xE000).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn case_from_row(row: &Row) -> Result<CaseRecord, StoreError> {
    Ok(CaseRecord {
        id: row.text(0)?,
        health_center_id: row.text(1)?,
        prefecture_id: row.text(2)?,
        reporting_org_id: row.text(3)?,
        status: row.text(4)?,
        name: row.text(5)?,
        data: row.text(6)?,
        onset_date: row.opt_text(7)?,
        diagnosis_date: row.text(8)?,
        created_at_ms: row.int(9)?,
        updated_at_ms: row.int(10)?,
        revoked_at_ms: row.opt_int(11)?,
        merged_into: row.opt_text(12)?,
    })
}

fn audit_from_row(row: &Row) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        seq: row.int(0)?,
        at_ms: row.int(1)?,
        actor: row.text(2)?,
        action: row.text(3)?,
        target: row.text(4)?,
        prev_hash: row.bytes(5)?,
        hash: row.bytes(6)?,
    })
}

fn api_key_from_row(row: &Row) -> Result<ApiKeyRecord, StoreError> {
    let kind = row.text(3)?;
    Ok(ApiKeyRecord {
        id: row.text(0)?,
        key_hash: row.bytes(1)?,
        organization_id: row.text(2)?,
        kind: ApiKeyKind::parse(&kind).ok_or(StoreError::Corrupt(kind))?,
        name: row.text(4)?,
        created_at_ms: row.int(5)?,
        revoked_at_ms: row.opt_int(6)?,
    })
}

#[async_trait]
impl CaseStore for DbCaseStore {
    async fn insert_organization(&self, org: &Organization, now_ms: i64) -> Result<(), StoreError> {
        sql::execute(
            &self.database,
            "INSERT INTO organizations (id, kind, name, parent_id, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
            params![&org.id, org.kind.as_str(), &org.name, org.parent_id.clone(), now_ms],
        )
        .await?;
        Ok(())
    }

    async fn organization(&self, id: &str) -> Result<Option<Organization>, StoreError> {
        sql::query_opt(
            &self.database,
            "SELECT id, kind, name, parent_id FROM organizations WHERE id = $1",
            params![id],
        )
        .await?
        .as_ref()
        .map(org_from_row)
        .transpose()
    }

    async fn organizations(&self) -> Result<Vec<Organization>, StoreError> {
        sql::query(
            &self.database,
            "SELECT id, kind, name, parent_id FROM organizations ORDER BY created_at_ms, id",
            vec![],
        )
        .await?
        .iter()
        .map(org_from_row)
        .collect()
    }

    async fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        sql::execute(
            &self.database,
            "INSERT INTO users (id, organization_id, username, password_hash, totp_secret, totp_last_step, roles, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            params![
                &user.id,
                &user.organization_id,
                &user.username,
                &user.password_hash,
                user.totp_secret.clone(),
                user.totp_last_step,
                Role::join(&user.roles),
                user.created_at_ms
            ],
        )
        .await?;
        Ok(())
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        sql::query_opt(
            &self.database,
            &format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1"),
            params![username],
        )
        .await?
        .as_ref()
        .map(user_from_row)
        .transpose()
    }

    async fn user(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        sql::query_opt(
            &self.database,
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
            params![id],
        )
        .await?
        .as_ref()
        .map(user_from_row)
        .transpose()
    }

    async fn set_password_hash(
        &self,
        user_id: &str,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        sql::transaction(
            &self.database,
            vec![
                Statement::new(
                    "UPDATE users SET password_hash = $1 WHERE id = $2",
                    params![password_hash, user_id],
                ),
                Statement::new("DELETE FROM sessions WHERE user_id = $1", params![user_id]),
            ],
        )
        .await?;
        Ok(())
    }

    async fn advance_totp_step(&self, user_id: &str, step: i64) -> Result<bool, StoreError> {
        Ok(sql::execute(
            &self.database,
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1",
            params![step, user_id],
        )
        .await?
            == 1)
    }

    async fn insert_session(
        &self,
        token_hash: &[u8],
        user_id: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        sql::execute(
            &self.database,
            "INSERT INTO sessions (token_hash, user_id, created_at_ms, expires_at_ms, last_seen_ms) VALUES ($1, $2, $3, $4, $3)",
            params![token_hash, user_id, now_ms, expires_at_ms],
        )
        .await?;
        Ok(())
    }

    async fn session_user(
        &self,
        token_hash: &[u8],
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(sql::query_opt(
            &self.database,
            "SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at_ms > $2",
            params![token_hash, now_ms],
        )
        .await?
        .map(|row| row.text(0))
        .transpose()?)
    }

    async fn delete_session(&self, token_hash: &[u8]) -> Result<bool, StoreError> {
        Ok(sql::execute(
            &self.database,
            "DELETE FROM sessions WHERE token_hash = $1",
            params![token_hash],
        )
        .await?
            > 0)
    }

    async fn touch_session(
        &self,
        token_hash: &[u8],
        now_ms: i64,
        active_since_ms: i64,
    ) -> Result<bool, StoreError> {
        Ok(sql::execute(
            &self.database,
            "UPDATE sessions SET last_seen_ms = $2
             WHERE token_hash = $1 AND expires_at_ms > $2 AND last_seen_ms >= $3",
            params![token_hash, now_ms, active_since_ms],
        )
        .await?
            == 1)
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        sql::execute(
            &self.database,
            "INSERT INTO api_keys (id, key_hash, organization_id, kind, name, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
            params![
                &key.id,
                key.key_hash.clone(),
                &key.organization_id,
                key.kind.as_str(),
                &key.name,
                key.created_at_ms
            ],
        )
        .await?;
        Ok(())
    }

    async fn users_of(&self, organization_id: &str) -> Result<Vec<UserRecord>, StoreError> {
        sql::query(
            &self.database,
            &format!(
                "SELECT {USER_COLUMNS} FROM users WHERE organization_id = $1 ORDER BY username"
            ),
            params![organization_id],
        )
        .await?
        .iter()
        .map(user_from_row)
        .collect()
    }

    async fn api_keys_of(&self, organization_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        sql::query(
            &self.database,
            "SELECT id, key_hash, organization_id, kind, name, created_at_ms, revoked_at_ms
             FROM api_keys WHERE organization_id = $1 ORDER BY created_at_ms DESC, id",
            params![organization_id],
        )
        .await?
        .iter()
        .map(api_key_from_row)
        .collect()
    }

    async fn api_key_by_hash(&self, key_hash: &[u8]) -> Result<Option<ApiKeyRecord>, StoreError> {
        sql::query_opt(
            &self.database,
            "SELECT id, key_hash, organization_id, kind, name, created_at_ms, revoked_at_ms
             FROM api_keys WHERE key_hash = $1 AND revoked_at_ms IS NULL",
            params![key_hash],
        )
        .await?
        .as_ref()
        .map(api_key_from_row)
        .transpose()
    }

    async fn revoke_api_key(
        &self,
        id: &str,
        organization_id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        Ok(sql::execute(
            &self.database,
            "UPDATE api_keys SET revoked_at_ms = $1 WHERE id = $2 AND organization_id = $3 AND revoked_at_ms IS NULL",
            params![now_ms, id, organization_id],
        )
        .await?
            == 1)
    }

    async fn insert_cases(&self, cases: &[CaseRecord], actor: &str) -> Result<(), StoreError> {
        let mut statements = Vec::with_capacity(cases.len() * 2);
        for case in cases {
            statements.push(Statement::new(
                format!(
                    "INSERT INTO cases ({CASE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                ),
                params![
                    &case.id,
                    &case.health_center_id,
                    &case.prefecture_id,
                    &case.reporting_org_id,
                    &case.status,
                    &case.name,
                    &case.data,
                    case.onset_date.clone(),
                    &case.diagnosis_date,
                    case.created_at_ms,
                    case.updated_at_ms,
                    case.revoked_at_ms,
                    case.merged_into.as_deref()
                ],
            ));
            statements.push(Statement::new(
                "INSERT INTO case_events (case_id, kind, detail, at_ms, actor) VALUES ($1, 'status', $2, $3, $4)",
                params![&case.id, &case.status, case.created_at_ms, actor],
            ));
        }
        sql::transaction(&self.database, statements).await?;
        Ok(())
    }

    async fn case(&self, id: &str) -> Result<Option<CaseRecord>, StoreError> {
        sql::query_opt(
            &self.database,
            &format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = $1"),
            params![id],
        )
        .await?
        .as_ref()
        .map(case_from_row)
        .transpose()
    }

    async fn list_cases(
        &self,
        scope: &ScopeFilter,
        status: Option<&str>,
        name_prefix: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<CasePage, StoreError> {
        let (column, value) = match scope {
            ScopeFilter::HealthCenter(id) => ("health_center_id", id),
            ScopeFilter::Prefecture(id) => ("prefecture_id", id),
            ScopeFilter::Reporter(id) => ("reporting_org_id", id),
        };
        // Only the filters given, and a name prefix as a range, so that an index
        // (scope, status, name) answers it; on PostgreSQL the range is in byte order
        // (`COLLATE "C"`), as SQLite's is, so it holds exactly the names with the prefix.
        let mut filter = format!("{column} = $1 AND merged_into IS NULL");
        let mut values: Vec<sql::Value> = params![value];
        if let Some(status) = status.filter(|s| !s.is_empty()) {
            values.push(status.into());
            filter.push_str(&format!(" AND status = ${}", values.len()));
        }
        if let Some(prefix) = name_prefix.filter(|p| !p.is_empty()) {
            let collate = match self.database.backend() {
                mimamori_storage::Backend::Postgres => " COLLATE \"C\"",
                mimamori_storage::Backend::Sqlite => "",
            };
            values.push(prefix.into());
            let at = values.len();
            filter.push_str(&format!(
                " AND substr(name, 1, length(${at})) = ${at} AND name{collate} >= ${at}"
            ));
            if let Some(end) = prefix_end(prefix) {
                values.push(end.into());
                filter.push_str(&format!(" AND name{collate} < ${}", values.len()));
            }
        }
        let total = sql::query_opt(
            &self.database,
            &format!("SELECT CAST(COUNT(*) AS BIGINT) FROM cases WHERE {filter}"),
            values.clone(),
        )
        .await?
        .map(|row| row.int(0))
        .transpose()?
        .unwrap_or(0);
        let (limit_at, offset_at) = (values.len() + 1, values.len() + 2);
        values.push(limit.into());
        values.push(offset.into());
        let items = sql::query(
            &self.database,
            &format!(
                "SELECT {CASE_COLUMNS} FROM cases WHERE {filter} ORDER BY created_at_ms DESC, id LIMIT ${limit_at} OFFSET ${offset_at}"
            ),
            values,
        )
        .await?
        .iter()
        .map(case_from_row)
        .collect::<Result<_, _>>()?;
        Ok(CasePage { items, total })
    }

    async fn case_counts(
        &self,
        scope: Option<&ScopeFilter>,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        let (column, value) = match scope {
            None => ("''", String::new()),
            Some(ScopeFilter::HealthCenter(id)) => ("health_center_id", id.clone()),
            Some(ScopeFilter::Prefecture(id)) => ("prefecture_id", id.clone()),
            Some(ScopeFilter::Reporter(id)) => ("reporting_org_id", id.clone()),
        };
        sql::query(
            &self.database,
            &format!(
                "SELECT prefecture_id, status, CAST(COUNT(*) AS BIGINT) FROM cases
                 WHERE {column} = $1 AND revoked_at_ms IS NULL AND merged_into IS NULL
                 GROUP BY prefecture_id, status ORDER BY prefecture_id, status"
            ),
            params![value],
        )
        .await?
        .iter()
        .map(|row| Ok((row.text(0)?, row.text(1)?, row.int(2)?)))
        .collect()
    }

    async fn change_status(
        &self,
        id: &str,
        from: &str,
        to: &str,
        now_ms: i64,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let results = sql::transaction(
            &self.database,
            vec![
                Statement::new(
                    "UPDATE cases SET status = $1, updated_at_ms = $2 WHERE id = $3 AND status = $4 RETURNING id",
                    params![to, now_ms, id, from],
                ),
                Statement::new(
                    "INSERT INTO case_events (case_id, kind, detail, at_ms, actor)
                     SELECT $1, 'status', $2, $3, $4 WHERE EXISTS (SELECT 1 FROM cases WHERE id = $1 AND status = $2 AND updated_at_ms = $3)",
                    params![id, to, now_ms, actor],
                ),
            ],
        )
        .await?;
        Ok(results.first().is_some_and(|rows| !rows.is_empty()))
    }

    async fn transfer_case(
        &self,
        id: &str,
        from: &str,
        to: &str,
        to_prefecture: &str,
        now_ms: i64,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let results = sql::transaction(
            &self.database,
            vec![
                Statement::new(
                    "UPDATE cases SET health_center_id = $1, prefecture_id = $2, updated_at_ms = $3
                     WHERE id = $4 AND health_center_id = $5 RETURNING id",
                    params![to, to_prefecture, now_ms, id, from],
                ),
                Statement::new(
                    "INSERT INTO case_events (case_id, kind, detail, at_ms, actor)
                     SELECT $1, 'transferred', $2, $3, $4
                     WHERE EXISTS (SELECT 1 FROM cases WHERE id = $1 AND health_center_id = $5 AND updated_at_ms = $3)",
                    params![id, format!("{from} → {to}"), now_ms, actor, to],
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

    async fn correct_case(
        &self,
        record: &CaseRecord,
        expected_updated_at_ms: i64,
        changed: &str,
        actor: &str,
    ) -> Result<bool, StoreError> {
        let now = record.updated_at_ms;
        let results = sql::transaction(
            &self.database,
            vec![
                Statement::new(
                    "INSERT INTO case_revisions (id, case_id, data, replaced_by, replaced_at_ms)
                     SELECT $1, id, data, $2, $3 FROM cases WHERE id = $4 AND updated_at_ms = $5 RETURNING id",
                    params![
                        uuid::Uuid::new_v4().to_string(),
                        actor,
                        now,
                        &record.id,
                        expected_updated_at_ms
                    ],
                ),
                Statement::new(
                    "UPDATE cases SET data = $1, name = $2, onset_date = $3, diagnosis_date = $4, updated_at_ms = $5
                     WHERE id = $6 AND updated_at_ms = $7",
                    params![
                        &record.data,
                        &record.name,
                        record.onset_date.as_deref(),
                        &record.diagnosis_date,
                        now,
                        &record.id,
                        expected_updated_at_ms
                    ],
                ),
                Statement::new(
                    "INSERT INTO case_events (case_id, kind, detail, at_ms, actor)
                     SELECT $1, 'edited', $2, $3, $4
                     WHERE EXISTS (SELECT 1 FROM case_revisions WHERE case_id = $1 AND replaced_at_ms = $3 AND replaced_by = $4)",
                    params![&record.id, changed, now, actor],
                ),
            ],
        )
        .await?;
        Ok(results.first().is_some_and(|rows| !rows.is_empty()))
    }

    async fn case_revisions(&self, id: &str) -> Result<Vec<(String, String, i64)>, StoreError> {
        sql::query(
            &self.database,
            "SELECT data, replaced_by, replaced_at_ms FROM case_revisions WHERE case_id = $1
             ORDER BY replaced_at_ms, id",
            params![id],
        )
        .await?
        .iter()
        .map(|row| Ok((row.text(0)?, row.text(1)?, row.int(2)?)))
        .collect()
    }

    async fn add_event(
        &self,
        case_id: &str,
        kind: &str,
        detail: &str,
        now_ms: i64,
        actor: &str,
    ) -> Result<(), StoreError> {
        sql::execute(
            &self.database,
            "INSERT INTO case_events (case_id, kind, detail, at_ms, actor) VALUES ($1, $2, $3, $4, $5)",
            params![case_id, kind, detail, now_ms, actor],
        )
        .await?;
        Ok(())
    }

    async fn events(&self, case_id: &str) -> Result<Vec<CaseEvent>, StoreError> {
        sql::query(
            &self.database,
            "SELECT seq, kind, detail, at_ms, actor FROM case_events WHERE case_id = $1 ORDER BY seq",
            params![case_id],
        )
        .await?
        .iter()
        .map(|row| {
            Ok(CaseEvent {
                seq: row.int(0)?,
                kind: row.text(1)?,
                detail: row.text(2)?,
                at_ms: row.int(3)?,
                actor: row.text(4)?,
            })
        })
        .collect()
    }

    async fn mark_revoked(&self, case_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        Ok(sql::execute(
            &self.database,
            "UPDATE cases SET revoked_at_ms = $1, updated_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL",
            params![now_ms, case_id],
        )
        .await?
            == 1)
    }

    async fn insert_contact(
        &self,
        id: &str,
        case_id: &str,
        data: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sql::execute(
            &self.database,
            "INSERT INTO close_contacts (id, case_id, data, created_at_ms) VALUES ($1, $2, $3, $4)",
            params![id, case_id, data, now_ms],
        )
        .await?;
        Ok(())
    }

    async fn contacts(&self, case_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        sql::query(
            &self.database,
            "SELECT id, data FROM close_contacts WHERE case_id = $1 ORDER BY created_at_ms, id",
            params![case_id],
        )
        .await?
        .iter()
        .map(|row| Ok((row.text(0)?, row.text(1)?)))
        .collect()
    }

    async fn insert_link(
        &self,
        source: &str,
        target: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        match sql::execute(
            &self.database,
            "INSERT INTO case_links (source_case_id, target_case_id, created_at_ms) VALUES ($1, $2, $3)",
            params![source, target, now_ms],
        )
        .await
        {
            Ok(_) => Ok(true),
            Err(e) if sql::is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn links(&self, case_id: &str) -> Result<Vec<String>, StoreError> {
        sql::query(
            &self.database,
            "SELECT target_case_id FROM case_links WHERE source_case_id = $1
             UNION SELECT source_case_id FROM case_links WHERE target_case_id = $1",
            params![case_id],
        )
        .await?
        .iter()
        .map(|row| Ok(row.text(0)?))
        .collect()
    }

    async fn audit_append(
        &self,
        at_ms: i64,
        actor: &str,
        action: &str,
        target: &str,
    ) -> Result<AuditEntry, StoreError> {
        // Optimistic: read the head, insert seq + 1; a concurrent writer (another replica)
        // makes the primary key collide and we retry on the new head.
        let _serial = self.audit_lock.lock().await;
        for _ in 0..1000 {
            let head = sql::query_opt(
                &self.database,
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                vec![],
            )
            .await?;
            let (seq, prev_hash) = match head {
                Some(row) => (row.int(0)? + 1, row.bytes(1)?),
                None => (1, vec![0u8; 32]),
            };
            let hash = audit_hash(&prev_hash, seq, at_ms, actor, action, target);
            let inserted = sql::execute(
                &self.database,
                "INSERT INTO audit_log (seq, at_ms, actor, action, target, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                params![seq, at_ms, actor, action, target, prev_hash.clone(), hash.clone()],
            )
            .await;
            match inserted {
                Ok(_) => {
                    return Ok(AuditEntry {
                        seq,
                        at_ms,
                        actor: actor.into(),
                        action: action.into(),
                        target: target.into(),
                        prev_hash,
                        hash,
                    });
                }
                Err(e) if sql::is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Corrupt(
            "audit log append kept colliding".into(),
        ))
    }

    async fn audit_entries(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        sql::query(
            &self.database,
            "SELECT seq, at_ms, actor, action, target, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
            params![after, limit],
        )
        .await?
        .iter()
        .map(audit_from_row)
        .collect()
    }
}

/// The conformance suite every [`CaseStore`] implementation must pass.
#[cfg(any(test, feature = "testing"))]
#[allow(clippy::unwrap_used)]
pub mod conformance {
    use super::*;

    fn case(id: &str, hc: &str, t: i64) -> CaseRecord {
        CaseRecord {
            id: id.into(),
            health_center_id: hc.into(),
            prefecture_id: "pref".into(),
            reporting_org_id: "clinic".into(),
            status: "reported".into(),
            name: format!("Name {id}"),
            data: "{}".into(),
            onset_date: Some("2026-01-01".into()),
            diagnosis_date: "2026-01-02".into(),
            created_at_ms: t,
            updated_at_ms: t,
            revoked_at_ms: None,
            merged_into: None,
        }
    }

    /// Organizations, users, TOTP replay, sessions, API keys, cases, history, links, audit.
    pub async fn case_store(store: &dyn CaseStore) {
        let org = Organization {
            id: "hc".into(),
            kind: OrgKind::HealthCenter,
            name: "HC".into(),
            parent_id: Some("pref".into()),
        };
        store.insert_organization(&org, 1).await.unwrap();
        assert_eq!(store.organization("hc").await.unwrap(), Some(org.clone()));
        assert_eq!(store.organizations().await.unwrap().len(), 1);

        let user = UserRecord {
            id: "u1".into(),
            organization_id: "hc".into(),
            username: "alice".into(),
            password_hash: "$argon2id$x".into(),
            totp_secret: vec![1, 2, 3],
            totp_last_step: 0,
            roles: vec![Role::CaseWorker, Role::OrgAdmin],
            created_at_ms: 1,
        };
        store.insert_user(&user).await.unwrap();
        let duplicate = store
            .insert_user(&UserRecord {
                id: "u2".into(),
                ..user.clone()
            })
            .await
            .unwrap_err();
        assert!(duplicate.is_unique_violation());
        assert_eq!(
            store.user_by_username("alice").await.unwrap(),
            Some(user.clone())
        );
        store.insert_session(b"h0", "u1", 0, 100).await.unwrap();
        store
            .set_password_hash("u1", "$argon2id$new")
            .await
            .unwrap();
        let changed = store.user("u1").await.unwrap().unwrap();
        assert_eq!(changed.password_hash, "$argon2id$new");
        assert_eq!(
            store.session_user(b"h0", 50).await.unwrap(),
            None,
            "sessions ended"
        );
        assert!(store.advance_totp_step("u1", 10).await.unwrap());
        assert!(!store.advance_totp_step("u1", 10).await.unwrap(), "replay");
        assert!(!store.advance_totp_step("u1", 9).await.unwrap());

        store.insert_session(b"h1", "u1", 0, 100).await.unwrap();
        assert_eq!(
            store.session_user(b"h1", 50).await.unwrap().as_deref(),
            Some("u1")
        );
        assert_eq!(
            store.session_user(b"h1", 100).await.unwrap(),
            None,
            "expired"
        );
        // The idle clock: active since 0; at 30, active since 10 or later counts; at 60
        // nothing since 31 happened, so it is idle.
        assert!(store.touch_session(b"h1", 20, 0).await.unwrap());
        assert!(store.touch_session(b"h1", 30, 10).await.unwrap());
        assert!(!store.touch_session(b"h1", 60, 31).await.unwrap(), "idle");
        assert!(
            !store.touch_session(b"h1", 100, 0).await.unwrap(),
            "expired"
        );
        assert!(
            !store.touch_session(b"nope", 20, 0).await.unwrap(),
            "unknown"
        );
        assert!(store.delete_session(b"h1").await.unwrap());
        assert_eq!(store.session_user(b"h1", 50).await.unwrap(), None);

        let key = ApiKeyRecord {
            id: "k1".into(),
            key_hash: vec![9; 32],
            organization_id: "hc".into(),
            kind: ApiKeyKind::Device,
            name: "app".into(),
            created_at_ms: 1,
            revoked_at_ms: None,
        };
        store.insert_api_key(&key).await.unwrap();
        assert_eq!(store.api_key_by_hash(&[9; 32]).await.unwrap(), Some(key));
        assert!(!store.revoke_api_key("k1", "other", 5).await.unwrap());
        assert!(store.revoke_api_key("k1", "hc", 5).await.unwrap());
        assert_eq!(store.api_key_by_hash(&[9; 32]).await.unwrap(), None);
        let listed = store.api_keys_of("hc").await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            listed[0].revoked_at_ms,
            Some(5),
            "revoked keys are listed too"
        );
        assert!(store.api_keys_of("other").await.unwrap().is_empty());
        let users = store.users_of(&user.organization_id).await.unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(users[0].username, "alice");
        assert!(store.users_of("nobody").await.unwrap().is_empty());

        // Cases: all-or-nothing insert.
        let a = case("a", "hc", 10);
        store
            .insert_cases(std::slice::from_ref(&a), "user:u1")
            .await
            .unwrap();
        let err = store
            .insert_cases(&[case("b", "hc", 11), a.clone()], "user:u1")
            .await;
        assert!(err.is_err());
        assert_eq!(store.case("b").await.unwrap(), None, "rolled back");
        store
            .insert_cases(&[case("b", "hc", 11), case("c", "hc2", 12)], "user:u1")
            .await
            .unwrap();
        let page = store
            .list_cases(&ScopeFilter::HealthCenter("hc".into()), None, None, 1, 0)
            .await
            .unwrap();
        assert_eq!(page.total, 2);
        assert_eq!(page.items[0].id, "b");
        let page = store
            .list_cases(
                &ScopeFilter::Prefecture("pref".into()),
                None,
                Some("Name c"),
                10,
                0,
            )
            .await
            .unwrap();
        assert_eq!(page.total, 1);

        assert!(
            store
                .change_status("a", "reported", "accepted", 20, "user:u1")
                .await
                .unwrap()
        );
        assert!(
            !store
                .change_status("a", "reported", "accepted", 21, "user:u1")
                .await
                .unwrap()
        );
        store
            .add_event("a", "number_issued", "", 22, "system")
            .await
            .unwrap();
        let events = store.events("a").await.unwrap();
        let kinds: Vec<_> = events
            .iter()
            .map(|e| (e.kind.as_str(), e.detail.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("status", "reported"),
                ("status", "accepted"),
                ("number_issued", "")
            ]
        );
        assert!(store.mark_revoked("a", 30).await.unwrap());
        assert!(!store.mark_revoked("a", 31).await.unwrap());

        store
            .insert_contact("x", "a", "{\"name\":\"n\"}", 1)
            .await
            .unwrap();
        assert_eq!(store.contacts("a").await.unwrap().len(), 1);
        assert!(store.insert_link("a", "b", 1).await.unwrap());
        assert!(!store.insert_link("a", "b", 1).await.unwrap());
        assert_eq!(store.links("b").await.unwrap(), ["a"]);

        // Audit chain, with concurrent appends.
        let mut handles = Vec::new();
        for i in 0..5 {
            handles.push(store.audit_append(i, "user:u1", "case.read", "case:a"));
        }
        for h in handles {
            h.await.unwrap();
        }
        let entries = store.audit_entries(0, 100).await.unwrap();
        assert_eq!(entries.len(), 5);
        assert_eq!(verify_chain(&entries), Ok(5));
        let mut tampered = entries.clone();
        tampered[2].target = "case:b".into();
        assert_eq!(verify_chain(&tampered).unwrap_err().seq, 3);
    }
}
