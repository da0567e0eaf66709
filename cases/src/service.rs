//! The case registry's operations: sign-in, API keys, scope checks and the audit log around
//! the store. The HTTP API, the CLI and the verification service all go through here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mimamori_storage::{Database, SharedClock};
use serde::Serialize;

use crate::Config;
use crate::model::{
    Access, CaseScope, CaseStatus, Date, DateRules, FieldError, Notification, OrgKind,
    Organization, Principal, Role, in_scope, permits, secrets,
};
use crate::sql::StoreError;
use crate::store::followup::FollowUpStore;
use crate::store::statistics::StatisticsStore;
use crate::store::{
    ApiKeyKind, ApiKeyRecord, CaseEvent, CaseRecord, CaseStore, ChainBreak, DbCaseStore,
    ScopeFilter, UserRecord, verify_chain,
};

pub mod clusters;
pub mod contacts;
pub mod documents;
pub mod duplicates;
pub mod followup;
pub mod lab_tests;
pub mod open_data;
pub mod outbox;
pub mod records;
pub mod retention;
pub mod statistics;
pub mod tasks;

/// Why an operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// No or unknown credentials.
    #[error("authentication required")]
    Unauthenticated,
    /// Wrong user name, password or one-time code (deliberately not saying which).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failed sign-ins for this account or from this client: refused unchecked
    /// until the window ends.
    #[error("too many failed sign-ins; retry after {retry_after_seconds} s")]
    SignInLocked {
        /// When the limit ends.
        retry_after_seconds: u64,
    },
    /// Authenticated, but the role does not allow this.
    #[error("not permitted")]
    Forbidden,
    /// No such resource within the caller's scope.
    #[error("not found")]
    NotFound,
    /// The request is invalid; `code` is stable.
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Validation failed field by field (or row by row for imports).
    #[error("validation failed")]
    Invalid(Vec<FieldError>),
    /// A CSV import failed; nothing was stored.
    #[error("import rejected")]
    ImportRejected(Vec<crate::csv::RowError>),
    /// The request conflicts with the current state.
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// What conflicts.
        message: String,
    },
    /// A part the request needs is not set up on this server (503, with what to install).
    #[error("{message}")]
    Unavailable {
        /// Stable code.
        code: &'static str,
        /// What is missing.
        message: String,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something unexpected (randomness, hashing).
    #[error("internal: {0}")]
    Internal(String),
}

/// A new user's one-time credentials (shown once, never stored in clear).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewUser {
    /// User id.
    pub id: String,
    /// Sign-in name.
    pub username: String,
    /// Initial password.
    pub password: String,
    /// TOTP secret, base32 (for an authenticator app).
    pub totp_secret: String,
    /// `otpauth://` URI of the secret.
    pub totp_uri: String,
}

/// A user as administrators see them (no password hash, no TOTP secret).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    /// User id.
    pub id: String,
    /// Sign-in name.
    pub username: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Creation time (Unix ms).
    pub created_at_ms: i64,
}

/// An API key as administrators see it (never the key or its hash).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeySummary {
    /// Key id.
    pub id: String,
    /// `admin` or `device`.
    pub kind: String,
    /// What it is for.
    pub name: String,
    /// Creation time (Unix ms).
    pub created_at_ms: i64,
    /// Revocation time, if revoked.
    pub revoked_at_ms: Option<i64>,
}

/// A signed-in session.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// Bearer token (shown once; only its hash is stored).
    pub token: String,
    /// Expiry (Unix ms).
    pub expires_at_ms: i64,
}

/// A case as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseView {
    /// Case id.
    pub id: String,
    /// Status.
    pub status: String,
    /// Health center of jurisdiction.
    pub health_center_id: String,
    /// Its prefecture.
    pub prefecture_id: String,
    /// Filing organization.
    pub reporting_organization_id: String,
    /// Whether revoked as a false positive.
    pub revoked: bool,
    /// Creation time (Unix ms).
    pub created_at_ms: i64,
    /// Last change (Unix ms).
    pub updated_at_ms: i64,
    /// The notification of occurrence.
    pub notification: serde_json::Value,
    /// Status changes and lifecycle events, oldest first.
    pub history: Vec<CaseEvent>,
    /// Close contacts.
    pub contacts: Vec<serde_json::Value>,
    /// Linked cases (infection links).
    pub links: Vec<String>,
    /// The case this one was merged into (a duplicate of the same person; follow it), or
    /// null.
    pub merged_into: Option<String>,
}

/// A summary row of a case list.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseSummary {
    /// Case id.
    pub id: String,
    /// Status.
    pub status: String,
    /// Patient name.
    pub name: String,
    /// Health center.
    pub health_center_id: String,
    /// Diagnosis date.
    pub diagnosis_date: String,
    /// Creation time.
    pub created_at_ms: i64,
}

/// The highest page number of a case list (with the largest page size, far more cases than
/// any health center has; keeps the offset far from overflowing).
pub const MAX_PAGE: i64 = 1_000_000;

/// A page of a case list.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseList {
    /// The cases.
    pub items: Vec<CaseSummary>,
    /// Total matching.
    pub total: i64,
    /// Page number (from 1).
    pub page: i64,
    /// Page size.
    pub per_page: i64,
}

/// The default of [`Config::statistics_minimum_count`]: counts below it (and above zero) are
/// suppressed in statistics.
pub const SMALL_COUNT: i64 = 5;

/// Case statistics (counts only). A count is a number, `"<5"` (1 to 4) or `"x"` (5 or
/// more, withheld so that no `"<5"` can be derived by subtraction from the total or the other
/// counts).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Statistics {
    /// All cases in the area.
    pub total: serde_json::Value,
    /// By status.
    pub by_status: std::collections::BTreeMap<String, serde_json::Value>,
    /// By prefecture id.
    pub by_prefecture: std::collections::BTreeMap<String, serde_json::Value>,
}

struct CachedKey {
    principal: Principal,
    kind: ApiKeyKind,
    fetched_at_ms: i64,
}

/// How long an authenticated API key is trusted without a database look-up (revocation
/// reaches other replicas within this time; the revoking replica forgets at once).
const API_KEY_CACHE_MS: i64 = 5_000;

/// The case registry.
#[derive(Clone)]
pub struct CaseRegistry {
    store: Arc<dyn CaseStore>,
    followup: Arc<dyn FollowUpStore>,
    contacts: Arc<dyn crate::store::contacts::ContactStore>,
    clusters: Arc<dyn crate::store::clusters::ClusterStore>,
    lab_tests: Arc<dyn crate::store::lab_tests::LabTestStore>,
    retention: Arc<dyn crate::store::retention::RetentionStore>,
    documents: Arc<dyn crate::store::documents::DocumentStore>,
    duplicates: Arc<dyn crate::store::duplicates::DuplicateStore>,
    documents_renderer: Option<Arc<mimamori_documents::Renderer>>,
    outbox: Arc<dyn crate::store::outbox::OutboxStore>,
    tasks_store: Arc<dyn crate::store::tasks::TaskStore>,
    transports: Arc<outbox::Transports>,
    statistics: Arc<dyn StatisticsStore>,
    open_data_store: Arc<dyn crate::store::open_data::OpenDataStore>,
    open_data: Arc<open_data::OpenDataCache>,
    metrics: Option<followup::FollowUpMetrics>,
    config: Config,
    clock: SharedClock,
    api_keys: Arc<Mutex<HashMap<Vec<u8>, CachedKey>>>,
    sign_in: Arc<SignInLimits>,
}

/// What sign-in failures are counted on: keyed hashes only (no names, no addresses).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum SignInKey {
    /// A user name as typed (lower-cased), known or not, so that a lockout does not reveal
    /// which names exist.
    Account([u8; 16]),
    /// A client address.
    Client([u8; 16]),
}

impl crate::limits::LimitKeyText for SignInKey {
    fn text(&self) -> String {
        match self {
            SignInKey::Account(hash) => format!("account:{}", crate::limits::key_text(hash)),
            SignInKey::Client(hash) => format!("client:{}", crate::limits::key_text(hash)),
        }
    }
}

/// Sign-in failure limits, counted in the shared limit store (the database or Redis: one
/// count for every replica), with the key for hashing names and addresses shared by the
/// replicas the same way.
struct SignInLimits {
    limiter: crate::limits::FailureLimiter<SignInKey>,
    store: Arc<dyn mimamori_storage::limits::LimitStore>,
    key: tokio::sync::OnceCell<ring::hmac::Key>,
}

impl SignInLimits {
    fn new(store: Arc<dyn mimamori_storage::limits::LimitStore>, window_seconds: i64) -> Self {
        SignInLimits {
            limiter: crate::limits::FailureLimiter::new(
                Arc::clone(&store),
                "sign_in",
                window_seconds,
                u32::MAX,
            ),
            store,
            key: tokio::sync::OnceCell::new(),
        }
    }

    /// The hashing key every replica uses (stored on first use).
    async fn key(&self) -> Result<&ring::hmac::Key, CaseError> {
        self.key
            .get_or_try_init(|| async {
                let candidate = secrets::random_bytes(32).map_err(|_| internal("random"))?;
                let secret = self
                    .store
                    .secret("sign_in_limit_key", &candidate)
                    .await
                    .map_err(|e| CaseError::Store(e.into()))?;
                Ok(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret))
            })
            .await
    }

    async fn account(&self, username: &str) -> Result<SignInKey, CaseError> {
        let tag = ring::hmac::sign(self.key().await?, username.trim().to_lowercase().as_bytes());
        let mut hashed = [0u8; 16];
        hashed.copy_from_slice(&tag.as_ref()[..16]);
        Ok(SignInKey::Account(hashed))
    }
}

impl std::fmt::Debug for CaseRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseRegistry").finish_non_exhaustive()
    }
}

fn internal(e: impl std::fmt::Display) -> CaseError {
    CaseError::Internal(e.to_string())
}

/// Hashes a password with Argon2id (call on a blocking thread).
pub fn hash_password(password: &str, memory_kib: u32, iterations: u32) -> Result<String, String> {
    use argon2::PasswordHasher as _;
    let params = argon2::Params::new(memory_kib.max(8), iterations.max(1), 1, None)
        .map_err(|e| e.to_string())?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt_bytes = secrets::random_bytes(16).map_err(|_| "random".to_string())?;
    let salt =
        argon2::password_hash::SaltString::encode_b64(&salt_bytes).map_err(|e| e.to_string())?;
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks a password against a PHC string (call on a blocking thread).
pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::PasswordVerifier as _;
    match argon2::password_hash::PasswordHash::new(phc) {
        Ok(parsed) => argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

impl CaseRegistry {
    /// A registry over `database` (migrated with [`crate::MIGRATIONS`]).
    pub fn new(database: Database, config: Config, clock: SharedClock) -> Self {
        let store = Arc::new(DbCaseStore::new(database.clone()));
        CaseRegistry {
            followup: store.clone(),
            contacts: store.clone(),
            clusters: store.clone(),
            lab_tests: store.clone(),
            retention: store.clone(),
            documents: store.clone(),
            duplicates: store.clone(),
            documents_renderer: None,
            outbox: store.clone(),
            tasks_store: store.clone(),
            transports: Arc::new(outbox::Transports::default()),
            statistics: store.clone(),
            open_data_store: store.clone(),
            open_data: Arc::new(open_data::OpenDataCache::default()),
            metrics: None,
            store,
            clock,
            api_keys: Arc::new(Mutex::new(HashMap::new())),
            sign_in: Arc::new(SignInLimits::new(
                Arc::new(mimamori_storage::limits::DatabaseLimitStore::new(
                    database.clone(),
                )),
                config.sign_in_failure_window_seconds,
            )),
            config,
        }
    }

    /// Counts sign-in failures (and, through [`CaseRegistry::limit_store`], the
    /// verification service's limits) in `store` instead of the database's tables: the one
    /// store every replica shares (`[limits]` in the server). Call before serving.
    pub fn with_limit_store(
        mut self,
        store: Arc<dyn mimamori_storage::limits::LimitStore>,
    ) -> Self {
        self.sign_in = Arc::new(SignInLimits::new(
            store,
            self.config.sign_in_failure_window_seconds,
        ));
        self
    }

    /// The failure-limit store (the database's by default, see
    /// [`CaseRegistry::with_limit_store`]).
    pub fn limit_store(&self) -> Arc<dyn mimamori_storage::limits::LimitStore> {
        Arc::clone(&self.sign_in.store)
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn CaseStore> {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Now, in Unix ms.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    async fn hash_password(&self, password: String) -> Result<String, CaseError> {
        let (m, t) = (self.config.argon2_memory_kib, self.config.argon2_iterations);
        tokio::task::spawn_blocking(move || hash_password(&password, m, t))
            .await
            .map_err(internal)?
            .map_err(CaseError::Internal)
    }

    /// Writes an audit entry.
    pub async fn audit(&self, actor: &str, action: &str, target: &str) -> Result<(), CaseError> {
        self.store
            .audit_append(self.now_ms(), actor, action, target)
            .await?;
        Ok(())
    }

    /// Checks the whole audit chain; returns the number of entries.
    pub async fn verify_audit(&self) -> Result<Result<usize, ChainBreak>, CaseError> {
        let mut all = Vec::new();
        loop {
            let after = all.last().map_or(0, |e: &crate::store::AuditEntry| e.seq);
            let batch = self.store.audit_entries(after, 1000).await?;
            if batch.is_empty() {
                break;
            }
            all.extend(batch);
        }
        Ok(verify_chain(&all))
    }

    // ---- organizations, users, sessions, API keys ----

    /// Creates the national organization and its first admin; fails once any organization
    /// exists.
    pub async fn init(
        &self,
        name: &str,
        username: &str,
    ) -> Result<(Organization, NewUser), CaseError> {
        if !self.store.organizations().await?.is_empty() {
            return Err(CaseError::Conflict {
                code: "already_initialized",
                message: "organizations already exist; init runs once".into(),
            });
        }
        let org = Organization {
            id: uuid::Uuid::new_v4().to_string(),
            kind: OrgKind::National,
            name: name.into(),
            parent_id: None,
        };
        self.store.insert_organization(&org, self.now_ms()).await?;
        let user = self
            .insert_user(&org.id, username, vec![Role::OrgAdmin])
            .await?;
        self.audit(
            "cli",
            "organization.create",
            &format!("organization:{}", org.id),
        )
        .await?;
        self.audit("cli", "user.create", &format!("user:{}", user.id))
            .await?;
        Ok((org, user))
    }

    /// Creates an organization. `actor` None means the command line (trusted).
    pub async fn create_organization(
        &self,
        actor: Option<&Principal>,
        kind: OrgKind,
        name: &str,
        parent_id: Option<&str>,
    ) -> Result<Organization, CaseError> {
        if let Some(actor) = actor
            && !(actor.organization.kind == OrgKind::National && actor.has(Role::OrgAdmin))
        {
            return Err(CaseError::Forbidden);
        }
        if name.trim().is_empty() || name.len() > 200 {
            return Err(CaseError::BadRequest {
                code: "invalid_name",
                message: "name must be 1 to 200 characters".into(),
            });
        }
        let parent =
            match parent_id {
                Some(id) => Some(self.store.organization(id).await?.ok_or(
                    CaseError::BadRequest {
                        code: "unknown_parent",
                        message: "parent organization does not exist".into(),
                    },
                )?),
                None => None,
            };
        let parent_kind = parent.as_ref().map(|p| p.kind);
        let ok = match kind {
            OrgKind::National => false,
            OrgKind::Prefecture | OrgKind::Contractor => parent_kind.is_none(),
            OrgKind::HealthCenter => parent_kind == Some(OrgKind::Prefecture),
            OrgKind::MedicalInstitution => {
                parent_kind.is_none() || parent_kind == Some(OrgKind::HealthCenter)
            }
        };
        if !ok {
            return Err(CaseError::BadRequest {
                code: "invalid_parent",
                message: "a health center needs a prefecture as parent; a medical institution may name a health center; others have none".into(),
            });
        }
        let org = Organization {
            id: uuid::Uuid::new_v4().to_string(),
            kind,
            name: name.into(),
            parent_id: parent.map(|p| p.id),
        };
        self.store.insert_organization(&org, self.now_ms()).await?;
        let actor_name = actor.map_or("cli".to_string(), |a| a.actor.clone());
        self.audit(
            &actor_name,
            "organization.create",
            &format!("organization:{}", org.id),
        )
        .await?;
        Ok(org)
    }

    /// Every organization (national admins only; the CLI passes None).
    pub async fn organizations(
        &self,
        actor: Option<&Principal>,
    ) -> Result<Vec<Organization>, CaseError> {
        if let Some(actor) = actor
            && !(actor.organization.kind == OrgKind::National && actor.has(Role::OrgAdmin))
        {
            return Err(CaseError::Forbidden);
        }
        Ok(self.store.organizations().await?)
    }

    fn may_administer(actor: Option<&Principal>, organization_id: &str) -> bool {
        match actor {
            None => true,
            Some(a) => {
                a.has(Role::OrgAdmin)
                    && (a.organization.id == organization_id
                        || a.organization.kind == OrgKind::National)
            }
        }
    }

    /// Creates a user with a random initial password and TOTP secret.
    pub async fn create_user(
        &self,
        actor: Option<&Principal>,
        organization_id: &str,
        username: &str,
        roles: Vec<Role>,
    ) -> Result<NewUser, CaseError> {
        if !Self::may_administer(actor, organization_id) {
            return Err(if actor.is_some_and(|a| a.has(Role::OrgAdmin)) {
                CaseError::NotFound
            } else {
                CaseError::Forbidden
            });
        }
        if self.store.organization(organization_id).await?.is_none() {
            return Err(CaseError::NotFound);
        }
        let user = self.insert_user(organization_id, username, roles).await?;
        let actor_name = actor.map_or("cli".to_string(), |a| a.actor.clone());
        self.audit(&actor_name, "user.create", &format!("user:{}", user.id))
            .await?;
        Ok(user)
    }

    async fn insert_user(
        &self,
        organization_id: &str,
        username: &str,
        roles: Vec<Role>,
    ) -> Result<NewUser, CaseError> {
        let valid_name = !username.is_empty()
            && username.len() <= 64
            && username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
        if !valid_name {
            return Err(CaseError::BadRequest {
                code: "invalid_username",
                message: "username: 1 to 64 of a-z, 0-9, '.', '_', '-', '@'".into(),
            });
        }
        if roles.is_empty() {
            return Err(CaseError::BadRequest {
                code: "invalid_roles",
                message: "at least one role".into(),
            });
        }
        let password = secrets::new_password().map_err(|_| internal("random"))?;
        let totp_secret = secrets::random_bytes(20).map_err(|_| internal("random"))?;
        let password_hash = self.hash_password(password.clone()).await?;
        let record = UserRecord {
            id: uuid::Uuid::new_v4().to_string(),
            organization_id: organization_id.into(),
            username: username.into(),
            password_hash,
            totp_secret: totp_secret.clone(),
            totp_last_step: 0,
            roles,
            created_at_ms: self.now_ms(),
        };
        match self.store.insert_user(&record).await {
            Ok(()) => {}
            Err(e) if e.is_unique_violation() => {
                return Err(CaseError::Conflict {
                    code: "username_taken",
                    message: "username already exists".into(),
                });
            }
            Err(e) => return Err(e.into()),
        }
        let encoded = secrets::base32_encode(&totp_secret);
        Ok(NewUser {
            id: record.id,
            username: username.into(),
            password,
            totp_uri: format!(
                "otpauth://totp/Mimamori:{username}?secret={encoded}&issuer=Mimamori"
            ),
            totp_secret: encoded,
        })
    }

    /// Signs in with password and TOTP; each TOTP code works once. Failures (wrong name,
    /// password or code) count against the name typed and against `client`; past either
    /// limit every attempt is refused unchecked with [`CaseError::SignInLocked`] until the
    /// window ends, and an account's lockout is audited.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        totp: &str,
        client: Option<std::net::IpAddr>,
    ) -> Result<Session, CaseError> {
        let now = self.now_ms();
        let account = self.sign_in.account(username).await?;
        let mut limits = vec![(
            account.clone(),
            self.config.max_sign_in_failures_per_account,
        )];
        if let Some(ip) = client {
            limits.push((
                SignInKey::Client(crate::limits::client_hash(self.sign_in.key().await?, ip)),
                self.config.max_sign_in_failures_per_client,
            ));
        }
        match self.sign_in.limiter.check(&limits, now).await {
            Ok(()) => {}
            Err(crate::limits::LimitError::Exceeded {
                retry_after_seconds,
            }) => {
                return Err(CaseError::SignInLocked {
                    retry_after_seconds,
                });
            }
            Err(crate::limits::LimitError::Unavailable(e)) => {
                return Err(CaseError::Store(e.into()));
            }
        }
        match self.check_credentials(username, password, totp, now).await {
            Ok(user) => self.open_session(&user, now).await,
            Err(CaseError::InvalidCredentials) => {
                let keys: Vec<SignInKey> = limits.iter().map(|(k, _)| k.clone()).collect();
                self.sign_in
                    .limiter
                    .record_failure(&keys, now)
                    .await
                    .map_err(|e| CaseError::Store(e.into()))?;
                let failures = self
                    .sign_in
                    .limiter
                    .failures(&account, now)
                    .await
                    .map_err(|e| CaseError::Store(e.into()))?;
                if failures == self.config.max_sign_in_failures_per_account {
                    self.audit_lockout(username).await;
                }
                Err(CaseError::InvalidCredentials)
            }
            Err(other) => Err(other),
        }
    }

    /// Records that an account reached its sign-in failure limit (for a name that exists;
    /// the audit trail never holds names that were only typed).
    async fn audit_lockout(&self, username: &str) {
        let user = match self.store.user_by_username(username).await {
            Ok(Some(user)) => user,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(error = %error, storage_error_kind = %error.kind(), "could not look up a locked account");
                return;
            }
        };
        tracing::warn!(
            alert = "sign_in_lockout",
            window_seconds = self.config.sign_in_failure_window_seconds,
            "an account reached its sign-in failure limit"
        );
        let target = format!("user:{}", user.id);
        if let Err(error) = self.audit("system", "session.locked", &target).await {
            tracing::error!(error = %error, "could not audit a sign-in lockout");
        }
    }

    /// The user whose password and TOTP code these are (the code then spent).
    async fn check_credentials(
        &self,
        username: &str,
        password: &str,
        totp: &str,
        now: i64,
    ) -> Result<UserRecord, CaseError> {
        let user = self.store.user_by_username(username).await?;
        // Spend the same Argon2 work for unknown users so timing does not reveal names.
        let phc = user.as_ref().map(|u| u.password_hash.clone());
        let candidate = password.to_string();
        let (m, t) = (self.config.argon2_memory_kib, self.config.argon2_iterations);
        let password_ok = tokio::task::spawn_blocking(move || match phc {
            Some(phc) => verify_password(&candidate, &phc),
            None => {
                let _ = hash_password(&candidate, m, t);
                false
            }
        })
        .await
        .map_err(internal)?;
        let Some(user) = user.filter(|_| password_ok) else {
            return Err(CaseError::InvalidCredentials);
        };
        let step = secrets::totp_match(&user.totp_secret, totp, now.div_euclid(1000))
            .ok_or(CaseError::InvalidCredentials)?;
        if !self.store.advance_totp_step(&user.id, step).await? {
            return Err(CaseError::InvalidCredentials);
        }
        Ok(user)
    }

    async fn open_session(&self, user: &UserRecord, now: i64) -> Result<Session, CaseError> {
        let token = secrets::new_token("mms_").map_err(|_| internal("random"))?;
        let expires_at_ms = now + self.config.session_ttl_seconds * 1000;
        self.store
            .insert_session(&secrets::token_hash(&token), &user.id, now, expires_at_ms)
            .await?;
        self.audit(&format!("user:{}", user.id), "session.create", "session")
            .await?;
        Ok(Session {
            token,
            expires_at_ms,
        })
    }

    /// Changes the signed-in user's password (the initial one is meant to be replaced); every
    /// session of the user ends, so they sign in again.
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: &str,
        new: &str,
    ) -> Result<(), CaseError> {
        let user_id = principal.user_id.as_deref().ok_or(CaseError::Forbidden)?;
        if new.chars().count() < 12 || new.len() > 256 || new == current {
            return Err(CaseError::BadRequest {
                code: "weak_password",
                message: "the new password needs 12 to 256 characters and must differ".into(),
            });
        }
        let user = self
            .store
            .user(user_id)
            .await?
            .ok_or(CaseError::Unauthenticated)?;
        let (candidate, phc) = (current.to_string(), user.password_hash.clone());
        let ok = tokio::task::spawn_blocking(move || verify_password(&candidate, &phc))
            .await
            .map_err(internal)?;
        if !ok {
            return Err(CaseError::InvalidCredentials);
        }
        let hash = self.hash_password(new.to_string()).await?;
        self.store.set_password_hash(user_id, &hash).await?;
        self.audit(
            &principal.actor,
            "user.password",
            &format!("user:{user_id}"),
        )
        .await?;
        Ok(())
    }

    /// Ends a session.
    pub async fn logout(&self, token: &str) -> Result<(), CaseError> {
        self.store
            .delete_session(&secrets::token_hash(token))
            .await?;
        Ok(())
    }

    /// Records a console request of a session and ends the session when it was idle for
    /// more than `idle_ms` (the idle clock is in the database: every replica agrees).
    /// `Unauthenticated` when it ended now or before.
    pub async fn touch_session(&self, token: &str, idle_ms: i64) -> Result<(), CaseError> {
        let hash = secrets::token_hash(token);
        let now = self.now_ms();
        if self.store.touch_session(&hash, now, now - idle_ms).await? {
            return Ok(());
        }
        // Idle (or already gone): the session ends for every replica.
        self.store.delete_session(&hash).await?;
        Err(CaseError::Unauthenticated)
    }

    /// The principal of a session token.
    pub async fn authenticate_session(&self, token: &str) -> Result<Principal, CaseError> {
        let user_id = self
            .store
            .session_user(&secrets::token_hash(token), self.now_ms())
            .await?
            .ok_or(CaseError::Unauthenticated)?;
        let user = self
            .store
            .user(&user_id)
            .await?
            .ok_or(CaseError::Unauthenticated)?;
        let organization = self
            .store
            .organization(&user.organization_id)
            .await?
            .ok_or(CaseError::Unauthenticated)?;
        Ok(Principal {
            actor: format!("user:{}", user.id),
            user_id: Some(user.id),
            organization,
            roles: user.roles,
        })
    }

    /// Creates an API key for an organization; returns (id, key). The key is shown once.
    pub async fn create_api_key(
        &self,
        actor: Option<&Principal>,
        organization_id: &str,
        kind: ApiKeyKind,
        name: &str,
    ) -> Result<(String, String), CaseError> {
        if !Self::may_administer(actor, organization_id) {
            return Err(CaseError::Forbidden);
        }
        if self.store.organization(organization_id).await?.is_none() {
            return Err(CaseError::NotFound);
        }
        let key = secrets::new_token(match kind {
            ApiKeyKind::Admin => "mka_",
            ApiKeyKind::Device => "mkd_",
        })
        .map_err(|_| internal("random"))?;
        let record = ApiKeyRecord {
            id: uuid::Uuid::new_v4().to_string(),
            key_hash: secrets::token_hash(&key),
            organization_id: organization_id.into(),
            kind,
            name: name.into(),
            created_at_ms: self.now_ms(),
            revoked_at_ms: None,
        };
        self.store.insert_api_key(&record).await?;
        let actor_name = actor.map_or("cli".to_string(), |a| a.actor.clone());
        self.audit(
            &actor_name,
            "apikey.create",
            &format!("apikey:{}", record.id),
        )
        .await?;
        Ok((record.id, key))
    }

    /// The users of an organization (its org admins, national admins, or the CLI).
    pub async fn users(
        &self,
        actor: Option<&Principal>,
        organization_id: &str,
    ) -> Result<Vec<UserSummary>, CaseError> {
        if !Self::may_administer(actor, organization_id) {
            return Err(CaseError::Forbidden);
        }
        Ok(self
            .store
            .users_of(organization_id)
            .await?
            .into_iter()
            .map(|u| UserSummary {
                id: u.id,
                username: u.username,
                roles: u.roles,
                created_at_ms: u.created_at_ms,
            })
            .collect())
    }

    /// The API keys of an organization (its org admins, national admins, or the CLI).
    pub async fn api_keys(
        &self,
        actor: Option<&Principal>,
        organization_id: &str,
    ) -> Result<Vec<ApiKeySummary>, CaseError> {
        if !Self::may_administer(actor, organization_id) {
            return Err(CaseError::Forbidden);
        }
        Ok(self
            .store
            .api_keys_of(organization_id)
            .await?
            .into_iter()
            .map(|k| ApiKeySummary {
                id: k.id,
                kind: k.kind.as_str().into(),
                name: k.name,
                created_at_ms: k.created_at_ms,
                revoked_at_ms: k.revoked_at_ms,
            })
            .collect())
    }

    /// Revokes an API key of the actor's organization.
    pub async fn revoke_api_key(&self, actor: &Principal, id: &str) -> Result<(), CaseError> {
        if !actor.has(Role::OrgAdmin) {
            return Err(CaseError::Forbidden);
        }
        if !self
            .store
            .revoke_api_key(id, &actor.organization.id, self.now_ms())
            .await?
        {
            return Err(CaseError::NotFound);
        }
        if let Ok(mut cache) = self.api_keys.lock() {
            cache.retain(|_, cached| cached.principal.actor != format!("apikey:{id}"));
        }
        self.audit(&actor.actor, "apikey.revoke", &format!("apikey:{id}"))
            .await?;
        Ok(())
    }

    /// The principal of an API key of `kind`. Admin keys act as case workers of their
    /// organization; device keys have no role.
    pub async fn authenticate_api_key(
        &self,
        key: &str,
        kind: ApiKeyKind,
    ) -> Result<Principal, CaseError> {
        let hash = secrets::token_hash(key);
        let now = self.now_ms();
        if let Ok(cache) = self.api_keys.lock()
            && let Some(cached) = cache.get(&hash)
            && now - cached.fetched_at_ms < API_KEY_CACHE_MS
            && now >= cached.fetched_at_ms
        {
            return if cached.kind == kind {
                Ok(cached.principal.clone())
            } else {
                Err(CaseError::Unauthenticated)
            };
        }
        let record = self
            .store
            .api_key_by_hash(&hash)
            .await?
            .ok_or(CaseError::Unauthenticated)?;
        let organization = self
            .store
            .organization(&record.organization_id)
            .await?
            .ok_or(CaseError::Unauthenticated)?;
        let principal = Principal {
            actor: format!("apikey:{}", record.id),
            user_id: None,
            organization,
            roles: match record.kind {
                ApiKeyKind::Admin => vec![Role::CaseWorker],
                ApiKeyKind::Device => vec![],
            },
        };
        if let Ok(mut cache) = self.api_keys.lock() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(
                hash,
                CachedKey {
                    principal: principal.clone(),
                    kind: record.kind,
                    fetched_at_ms: now,
                },
            );
        }
        if record.kind != kind {
            return Err(CaseError::Unauthenticated);
        }
        Ok(principal)
    }

    // ---- cases ----

    fn date_rules(&self) -> DateRules {
        DateRules {
            today: Date::from_unix_ms(self.now_ms()),
            max_onset_after_diagnosis_days: self.config.max_onset_after_diagnosis_days,
        }
    }

    async fn prepare_case(
        &self,
        principal: &Principal,
        notification: &Notification,
        status: CaseStatus,
    ) -> Result<CaseRecord, Vec<FieldError>> {
        let mut errors = match notification.validate(self.date_rules()) {
            Ok(()) => Vec::new(),
            Err(errors) => errors,
        };
        let health_center = match self
            .store
            .organization(&notification.health_center_id)
            .await
        {
            Ok(Some(org)) if org.kind == OrgKind::HealthCenter => Some(org),
            _ => None,
        };
        if principal.organization.kind == OrgKind::HealthCenter
            && notification.health_center_id != principal.organization.id
        {
            errors.push(FieldError {
                field: "healthCenterId",
                message: "a health center enters cases of its own jurisdiction".into(),
            });
        }
        let prefecture_id = health_center.as_ref().and_then(|hc| hc.parent_id.clone());
        let Some(prefecture_id) = prefecture_id else {
            errors.push(FieldError {
                field: "healthCenterId",
                message: "unknown health center".into(),
            });
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let now = self.now_ms();
        Ok(CaseRecord {
            id: uuid::Uuid::new_v4().to_string(),
            health_center_id: notification.health_center_id.clone(),
            prefecture_id,
            reporting_org_id: principal.organization.id.clone(),
            status: status.as_str().into(),
            name: notification.name.clone(),
            data: serde_json::to_string(notification).unwrap_or_default(),
            onset_date: notification.onset_date.clone(),
            diagnosis_date: notification.diagnosis_date.clone(),
            created_at_ms: now,
            updated_at_ms: now,
            revoked_at_ms: None,
            merged_into: None,
        })
    }

    fn may_file(principal: &Principal) -> bool {
        match principal.organization.kind {
            OrgKind::MedicalInstitution => principal.has(Role::Doctor),
            OrgKind::HealthCenter => principal.has(Role::CaseWorker),
            _ => false,
        }
    }

    /// Files a notification of occurrence (clinic: `reported`; health center: `accepted`),
    /// then looks for duplicates of the person.
    pub async fn file(
        &self,
        principal: &Principal,
        notification: Notification,
    ) -> Result<CaseView, CaseError> {
        let view = self.file_case_only(principal, notification).await?;
        self.detect_duplicates_quietly(duplicates::PersonKind::Case, &view.id)
            .await;
        Ok(view)
    }

    /// [`CaseRegistry::file`] without the duplicate detection (a conversion detects once the
    /// contact is marked converted).
    pub(crate) async fn file_case_only(
        &self,
        principal: &Principal,
        notification: Notification,
    ) -> Result<CaseView, CaseError> {
        if !Self::may_file(principal) {
            return Err(CaseError::Forbidden);
        }
        let status = if principal.organization.kind == OrgKind::HealthCenter {
            CaseStatus::Accepted
        } else {
            CaseStatus::Reported
        };
        let record = self
            .prepare_case(principal, &notification, status)
            .await
            .map_err(CaseError::Invalid)?;
        self.store
            .insert_cases(std::slice::from_ref(&record), &principal.actor)
            .await?;
        self.audit(
            &principal.actor,
            "case.create",
            &format!("case:{}", record.id),
        )
        .await?;
        self.view(record).await
    }

    /// The case if `principal` may access it this way; 404 outside scope or without any case
    /// role (as for an unknown id), 403 when it may read but not act.
    /// Every successful access is audited as `case.<action>`.
    pub async fn case_for(
        &self,
        principal: &Principal,
        id: &str,
        access: Access,
        action: &str,
    ) -> Result<CaseRecord, CaseError> {
        let record = self.store.case(id).await?.ok_or(CaseError::NotFound)?;
        let scope = CaseScope {
            health_center_id: record.health_center_id.clone(),
            prefecture_id: record.prefecture_id.clone(),
            reporting_org_id: record.reporting_org_id.clone(),
        };
        if !in_scope(principal, &scope) {
            return Err(CaseError::NotFound);
        }
        if !permits(principal, access) {
            // Whoever may not even read cases learns nothing about which ids exist: the same
            // 404 as an unknown id. Who may read it (but not change it) knows it exists.
            return Err(if permits(principal, Access::Read) {
                CaseError::Forbidden
            } else {
                CaseError::NotFound
            });
        }
        self.audit(
            &principal.actor,
            &format!("case.{action}"),
            &format!("case:{id}"),
        )
        .await?;
        Ok(record)
    }

    async fn view(&self, record: CaseRecord) -> Result<CaseView, CaseError> {
        let history = self.store.events(&record.id).await?;
        let contacts = self
            .store
            .contacts(&record.id)
            .await?
            .into_iter()
            .map(|(id, data)| {
                let mut value: serde_json::Value =
                    serde_json::from_str(&data).unwrap_or(serde_json::Value::Null);
                if let Some(object) = value.as_object_mut() {
                    object.insert("id".into(), serde_json::Value::String(id));
                }
                value
            })
            .collect();
        let links = self.store.links(&record.id).await?;
        Ok(CaseView {
            notification: serde_json::from_str(&record.data)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            id: record.id,
            status: record.status,
            health_center_id: record.health_center_id,
            prefecture_id: record.prefecture_id,
            reporting_organization_id: record.reporting_org_id,
            revoked: record.revoked_at_ms.is_some(),
            created_at_ms: record.created_at_ms,
            updated_at_ms: record.updated_at_ms,
            merged_into: record.merged_into,
            history,
            contacts,
            links,
        })
    }

    /// Reads a case with its history, contacts and links.
    pub async fn read(&self, principal: &Principal, id: &str) -> Result<CaseView, CaseError> {
        let record = self.case_for(principal, id, Access::Read, "read").await?;
        self.view(record).await
    }

    /// Lists cases in scope.
    pub async fn list(
        &self,
        principal: &Principal,
        status: Option<&str>,
        name_prefix: Option<&str>,
        page: i64,
        per_page: i64,
    ) -> Result<CaseList, CaseError> {
        let org = &principal.organization;
        let scope = match org.kind {
            OrgKind::HealthCenter => ScopeFilter::HealthCenter(org.id.clone()),
            OrgKind::Prefecture => ScopeFilter::Prefecture(org.id.clone()),
            OrgKind::MedicalInstitution => ScopeFilter::Reporter(org.id.clone()),
            _ => return Err(CaseError::Forbidden),
        };
        if !permits(principal, Access::Read) {
            return Err(CaseError::Forbidden);
        }
        if let Some(status) = status
            && CaseStatus::parse(status).is_none()
        {
            return Err(CaseError::BadRequest {
                code: "invalid_status",
                message: "unknown status".into(),
            });
        }
        if !(1..=MAX_PAGE).contains(&page) || per_page < 1 {
            return Err(CaseError::BadRequest {
                code: "invalid_page",
                message: format!("page must be 1 to {MAX_PAGE} and perPage at least 1"),
            });
        }
        let per_page = per_page.min(self.config.max_page_size);
        let result = self
            .store
            .list_cases(&scope, status, name_prefix, per_page, (page - 1) * per_page)
            .await?;
        self.audit(
            &principal.actor,
            "case.list",
            &format!("organization:{}", org.id),
        )
        .await?;
        Ok(CaseList {
            items: result
                .items
                .into_iter()
                .map(|r| CaseSummary {
                    id: r.id,
                    status: r.status,
                    name: r.name,
                    health_center_id: r.health_center_id,
                    diagnosis_date: r.diagnosis_date,
                    created_at_ms: r.created_at_ms,
                })
                .collect(),
            total: result.total,
            page,
            per_page,
        })
    }

    /// Case counts for statistics: no names or contact details; counts from 1 to
    /// `statistics_minimum_count` − 1 shown as `"<5"`, and larger ones withheld as `"x"` where
    /// a small one could otherwise be derived ([`crate::suppression`]). National users see the whole country,
    /// prefectures and health centers their own area; statistics viewers and org admins only.
    pub async fn statistics(&self, principal: &Principal) -> Result<Statistics, CaseError> {
        if !(principal.has(Role::StatisticsViewer) || principal.has(Role::OrgAdmin)) {
            return Err(CaseError::Forbidden);
        }
        let org = &principal.organization;
        let scope = match org.kind {
            OrgKind::National => None,
            OrgKind::Prefecture => Some(ScopeFilter::Prefecture(org.id.clone())),
            OrgKind::HealthCenter => Some(ScopeFilter::HealthCenter(org.id.clone())),
            _ => return Err(CaseError::Forbidden),
        };
        let rows = self.store.case_counts(scope.as_ref()).await?;
        let minimum = self.config.statistics_minimum_count;
        let mut by_status: std::collections::BTreeMap<String, i64> = Default::default();
        let mut by_prefecture: std::collections::BTreeMap<String, i64> = Default::default();
        let mut total = 0;
        for (prefecture, status, count) in rows {
            *by_status.entry(status).or_default() += count;
            *by_prefecture.entry(prefecture).or_default() += count;
            total += count;
        }
        // One list of counts: the total, then the split by status, then by prefecture; both
        // splits sum to the total.
        let mut counts = vec![total];
        counts.extend(by_status.values());
        counts.extend(by_prefecture.values());
        let statuses = by_status.len();
        let relations = [
            crate::suppression::SumRelation {
                total: 0,
                parts: (1..=statuses).collect(),
            },
            crate::suppression::SumRelation {
                total: 0,
                parts: (statuses + 1..counts.len()).collect(),
            },
        ];
        let published = crate::suppression::suppress(&counts, &relations, minimum);
        let shown = |i: usize| published[i].to_json(minimum);
        self.audit(
            &principal.actor,
            "statistics.read",
            &format!("organization:{}", org.id),
        )
        .await?;
        Ok(Statistics {
            total: shown(0),
            by_status: by_status
                .into_keys()
                .enumerate()
                .map(|(i, k)| (k, shown(1 + i)))
                .collect(),
            by_prefecture: by_prefecture
                .into_keys()
                .enumerate()
                .map(|(i, k)| (k, shown(1 + statuses + i)))
                .collect(),
        })
    }

    /// Changes a case's status along the allowed transitions.
    pub async fn change_status(
        &self,
        principal: &Principal,
        id: &str,
        next: &str,
    ) -> Result<CaseView, CaseError> {
        let next_status = CaseStatus::parse(next).ok_or(CaseError::BadRequest {
            code: "invalid_status",
            message: "unknown status".into(),
        })?;
        let record = self
            .case_for(principal, id, Access::Write, "status")
            .await?;
        let current = CaseStatus::parse(&record.status)
            .ok_or_else(|| StoreError::Corrupt("status".into()))?;
        if !current.can_become(next_status) {
            return Err(CaseError::Conflict {
                code: "invalid_transition",
                message: format!("a {} case cannot become {}", current.as_str(), next),
            });
        }
        if !self
            .store
            .change_status(id, current.as_str(), next, self.now_ms(), &principal.actor)
            .await?
        {
            return Err(CaseError::Conflict {
                code: "concurrent_change",
                message: "the case changed meanwhile; reload".into(),
            });
        }
        let record = self.store.case(id).await?.ok_or(CaseError::NotFound)?;
        self.view(record).await
    }

    /// Adds a close contact (free-form JSON object: name, phone, last contact date, …).
    pub async fn add_contact(
        &self,
        principal: &Principal,
        id: &str,
        data: serde_json::Value,
    ) -> Result<String, CaseError> {
        if !data.is_object() {
            return Err(CaseError::BadRequest {
                code: "invalid_contact",
                message: "a contact is a JSON object".into(),
            });
        }
        self.case_for(principal, id, Access::Write, "contact.add")
            .await?;
        let contact_id = uuid::Uuid::new_v4().to_string();
        self.store
            .insert_contact(&contact_id, id, &data.to_string(), self.now_ms())
            .await?;
        Ok(contact_id)
    }

    /// Links two cases (both must be writable by the principal).
    pub async fn add_link(
        &self,
        principal: &Principal,
        id: &str,
        other: &str,
    ) -> Result<(), CaseError> {
        if id == other {
            return Err(CaseError::BadRequest {
                code: "invalid_link",
                message: "a case cannot be linked to itself".into(),
            });
        }
        self.case_for(principal, id, Access::Write, "link").await?;
        self.case_for(principal, other, Access::Write, "link")
            .await?;
        self.store.insert_link(id, other, self.now_ms()).await?;
        Ok(())
    }

    /// Imports earlier records from CSV (all or nothing); returns the new case ids.
    pub async fn import_csv(
        &self,
        principal: &Principal,
        text: &str,
    ) -> Result<Vec<String>, CaseError> {
        if principal.organization.kind != OrgKind::HealthCenter || !principal.has(Role::CaseWorker)
        {
            return Err(CaseError::Forbidden);
        }
        let rows = crate::csv::parse_import(
            text,
            &principal.organization.id,
            self.config.max_import_rows,
        )
        .map_err(CaseError::ImportRejected)?;
        let mut records = Vec::with_capacity(rows.len());
        let mut errors = Vec::new();
        for (line, notification, status) in rows {
            match self.prepare_case(principal, &notification, status).await {
                Ok(record) => records.push(record),
                Err(field_errors) => {
                    errors.extend(field_errors.into_iter().map(|e| crate::csv::RowError {
                        row: line,
                        column: e.field.to_string(),
                        message: e.message,
                    }))
                }
            }
        }
        if !errors.is_empty() {
            return Err(CaseError::ImportRejected(errors));
        }
        self.store.insert_cases(&records, &principal.actor).await?;
        for record in &records {
            self.detect_duplicates_quietly(duplicates::PersonKind::Case, &record.id)
                .await;
        }
        self.audit(
            &principal.actor,
            "case.import",
            &format!(
                "organization:{} rows:{}",
                principal.organization.id,
                records.len()
            ),
        )
        .await?;
        Ok(records.into_iter().map(|r| r.id).collect())
    }

    /// Records a lifecycle event written by the system (verification service).
    pub async fn record_event(
        &self,
        case_id: &str,
        kind: &str,
        detail: &str,
    ) -> Result<(), CaseError> {
        self.store
            .add_event(case_id, kind, detail, self.now_ms(), "system")
            .await?;
        Ok(())
    }

    /// Marks a case revoked (false positive); the caller has checked write access.
    pub async fn mark_revoked(
        &self,
        principal: &Principal,
        case_id: &str,
    ) -> Result<bool, CaseError> {
        let changed = self.store.mark_revoked(case_id, self.now_ms()).await?;
        self.store
            .add_event(
                case_id,
                "revoked",
                "false positive",
                self.now_ms(),
                &principal.actor,
            )
            .await?;
        // A revoked case is nobody's duplicate.
        self.detect_duplicates_quietly(duplicates::PersonKind::Case, case_id)
            .await;
        Ok(changed)
    }
}
