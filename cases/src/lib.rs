//! Case registry: organizations, users, notifications of occurrence, follow-up, statistics and audit log.
//!
//! Rooms: [`model`] (pure rules: roles, scope, statuses, validation, TOTP), [`store`] (the
//! [`store::CaseStore`] trait on SQLite and PostgreSQL), [`service`] (sign-in, scope checks
//! and audit around the store; used by the HTTP API, the CLI and the verification service)
//! and [`api`] (actix-web handlers). [`sql`] is the small two-backend SQL bridge.

pub mod api;
pub mod config;
pub mod csv;
pub mod limits;
pub mod model;
pub mod openapi;
pub mod service;
pub mod sql;
pub mod store;
pub mod suppression;

/// The PDF renderer of certificates and notices (its font is found at start).
pub use mimamori_documents;

pub use config::Config;
pub use openapi::openapi;
pub use service::CaseRegistry;

macro_rules! tables {
    ($seq:literal) => {
        concat!(
            "CREATE TABLE organizations (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                name TEXT NOT NULL,
                parent_id TEXT,
                created_at_ms BIGINT NOT NULL
            );
            CREATE TABLE users (
                id TEXT PRIMARY KEY,
                organization_id TEXT NOT NULL REFERENCES organizations (id),
                username TEXT NOT NULL UNIQUE,
                password_hash TEXT NOT NULL,
                totp_secret BYTEA NOT NULL,
                totp_last_step BIGINT NOT NULL DEFAULT 0,
                roles TEXT NOT NULL,
                created_at_ms BIGINT NOT NULL
            );
            CREATE TABLE sessions (
                token_hash BYTEA PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users (id),
                created_at_ms BIGINT NOT NULL,
                expires_at_ms BIGINT NOT NULL
            );
            CREATE TABLE api_keys (
                id TEXT PRIMARY KEY,
                key_hash BYTEA NOT NULL UNIQUE,
                organization_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                name TEXT NOT NULL,
                created_at_ms BIGINT NOT NULL,
                revoked_at_ms BIGINT
            );
            CREATE TABLE cases (
                id TEXT PRIMARY KEY,
                health_center_id TEXT NOT NULL,
                prefecture_id TEXT NOT NULL,
                reporting_org_id TEXT NOT NULL,
                status TEXT NOT NULL,
                name TEXT NOT NULL,
                data TEXT NOT NULL,
                onset_date TEXT,
                diagnosis_date TEXT NOT NULL,
                created_at_ms BIGINT NOT NULL,
                updated_at_ms BIGINT NOT NULL,
                revoked_at_ms BIGINT
            );
            CREATE INDEX cases_by_health_center ON cases (health_center_id, created_at_ms);
            CREATE INDEX cases_by_prefecture ON cases (prefecture_id, created_at_ms);
            CREATE INDEX cases_by_reporter ON cases (reporting_org_id, created_at_ms);
            CREATE TABLE case_events (
                seq ",
            $seq,
            ",
                case_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                detail TEXT NOT NULL,
                at_ms BIGINT NOT NULL,
                actor TEXT NOT NULL
            );
            CREATE INDEX case_events_by_case ON case_events (case_id, seq);
            CREATE TABLE close_contacts (
                id TEXT PRIMARY KEY,
                case_id TEXT NOT NULL,
                data TEXT NOT NULL,
                created_at_ms BIGINT NOT NULL
            );
            CREATE INDEX close_contacts_by_case ON close_contacts (case_id);
            CREATE TABLE case_links (
                source_case_id TEXT NOT NULL,
                target_case_id TEXT NOT NULL,
                created_at_ms BIGINT NOT NULL,
                PRIMARY KEY (source_case_id, target_case_id)
            );
            CREATE INDEX case_links_by_target ON case_links (target_case_id);
            CREATE TABLE audit_log (
                seq BIGINT PRIMARY KEY,
                at_ms BIGINT NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                prev_hash BYTEA NOT NULL,
                hash BYTEA NOT NULL
            );"
        )
    };
}

/// This crate's database migrations (SQL for SQLite and PostgreSQL).
pub const MIGRATIONS: mimamori_storage::MigrationSet = mimamori_storage::MigrationSet {
    component: "cases",
    migrations: &[
        mimamori_storage::Migration {
            version: 1,
            name: "organizations_users_cases_audit",
            sqlite: tables!("INTEGER PRIMARY KEY AUTOINCREMENT"),
            postgres: tables!("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
        },
        mimamori_storage::Migration {
            version: 2,
            name: "followup_plans_tokens_observations_alerts",
            sqlite: FOLLOWUP_TABLES,
            postgres: FOLLOWUP_TABLES,
        },
        mimamori_storage::Migration {
            version: 3,
            name: "followup_subjects_close_contacts",
            sqlite: CONTACT_TABLES,
            postgres: CONTACT_TABLES,
        },
        mimamori_storage::Migration {
            version: 4,
            name: "case_revisions",
            sqlite: REVISION_TABLES,
            postgres: REVISION_TABLES,
        },
        mimamori_storage::Migration {
            version: 5,
            name: "clusters",
            sqlite: CLUSTER_TABLES,
            postgres: CLUSTER_TABLES,
        },
        mimamori_storage::Migration {
            version: 6,
            name: "lab_tests",
            sqlite: LAB_TEST_TABLES,
            postgres: LAB_TEST_TABLES,
        },
        mimamori_storage::Migration {
            version: 7,
            name: "retention",
            sqlite: RETENTION_COLUMNS,
            postgres: RETENTION_COLUMNS,
        },
        mimamori_storage::Migration {
            version: 8,
            name: "documents",
            sqlite: DOCUMENT_TABLES,
            postgres: DOCUMENT_TABLES,
        },
        mimamori_storage::Migration {
            version: 9,
            name: "outbox",
            sqlite: OUTBOX_TABLES,
            postgres: OUTBOX_TABLES,
        },
        mimamori_storage::Migration {
            version: 10,
            name: "duplicates",
            sqlite: DUPLICATE_TABLES,
            postgres: DUPLICATE_TABLES,
        },
        mimamori_storage::Migration {
            version: 11,
            name: "subject_calls",
            sqlite: CALL_TABLES,
            postgres: CALL_TABLES,
        },
        mimamori_storage::Migration {
            version: 12,
            name: "case_list_indexes",
            sqlite: "CREATE INDEX cases_list_by_health_center ON cases (health_center_id, status, name);
                CREATE INDEX cases_list_by_prefecture ON cases (prefecture_id, status, name);
                CREATE INDEX cases_list_by_reporter ON cases (reporting_org_id, status, name);",
            // Byte order, as the list's prefix range compares (see `list_cases`).
            postgres: "CREATE INDEX cases_list_by_health_center ON cases (health_center_id, status, name COLLATE \"C\");
                CREATE INDEX cases_list_by_prefecture ON cases (prefecture_id, status, name COLLATE \"C\");
                CREATE INDEX cases_list_by_reporter ON cases (reporting_org_id, status, name COLLATE \"C\");",
        },
        mimamori_storage::Migration {
            version: 13,
            name: "session_activity",
            // The console's idle clock, in the database so every replica sees the same one.
            sqlite: SESSION_ACTIVITY,
            postgres: SESSION_ACTIVITY,
        },
        mimamori_storage::Migration {
            version: 14,
            name: "open_data_snapshots",
            sqlite: OPEN_DATA_TABLES,
            postgres: OPEN_DATA_TABLES,
        },
    ],
};

/// The public open data's immutable snapshots: files by content hash, and one manifest entry
/// per day that names them (the same SQL on both backends).
const OPEN_DATA_TABLES: &str = "CREATE TABLE open_data_files (
        sha256 TEXT PRIMARY KEY,
        bytes BYTEA NOT NULL
    );
    CREATE TABLE open_data_snapshots (
        day TEXT PRIMARY KEY,
        built_at_ms BIGINT NOT NULL,
        entry TEXT NOT NULL
    );";

/// The last request of a console session (existing sessions start from their creation).
const SESSION_ACTIVITY: &str =
    "ALTER TABLE sessions ADD COLUMN last_seen_ms BIGINT NOT NULL DEFAULT 0;
    UPDATE sessions SET last_seen_ms = created_at_ms;";

/// Calls to cases and contacts (the first-call task reads them; the same SQL on both
/// backends). Version 10 is the duplicate review queue.
const CALL_TABLES: &str = "CREATE TABLE subject_calls (
        id TEXT PRIMARY KEY,
        subject_kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        outcome TEXT NOT NULL,
        called_by TEXT NOT NULL,
        called_at_ms BIGINT NOT NULL
    );
    CREATE INDEX subject_calls_by_subject ON subject_calls (subject_id, outcome);
    CREATE INDEX contacts_by_quarantine_end ON contacts (health_center_id, quarantine_end);";

/// The outbox of e-mail and SMS, and the opt-outs (keyed hashes only; the same SQL on both
/// backends).
const OUTBOX_TABLES: &str = "CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        template TEXT NOT NULL,
        language TEXT NOT NULL,
        recipient TEXT NOT NULL,
        recipient_hash BYTEA NOT NULL,
        subject TEXT,
        body TEXT NOT NULL,
        list_unsubscribe TEXT,
        subject_kind TEXT,
        subject_id TEXT,
        health_center_id TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts BIGINT NOT NULL,
        next_attempt_at_ms BIGINT NOT NULL,
        last_error TEXT,
        provider_id TEXT,
        dedupe_key TEXT UNIQUE,
        created_by TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        sent_at_ms BIGINT
    );
    CREATE INDEX outbox_due ON outbox (state, next_attempt_at_ms);
    CREATE INDEX outbox_by_recipient ON outbox (recipient_hash, created_at_ms);
    CREATE INDEX outbox_by_subject ON outbox (subject_id, created_at_ms);
    CREATE TABLE message_opt_outs (
        recipient_hash BYTEA PRIMARY KEY,
        created_at_ms BIGINT NOT NULL
    );";

/// Duplicate persons (the same SQL on both backends): `merged_into` on cases and contacts
/// (a merged record stays, pointing at the kept one), the blocking keys a candidate search
/// looks up (`dob:<date>`, `tel:<digits>`, per prefecture) and the review queue of candidate
/// pairs (`open`, `dismissed`, `merged`; each pair once, the lower (kind, id) first).
const DUPLICATE_TABLES: &str = "ALTER TABLE cases ADD COLUMN merged_into TEXT;
    ALTER TABLE contacts ADD COLUMN merged_into TEXT;
    CREATE TABLE person_keys (
        record_kind TEXT NOT NULL,
        record_id TEXT NOT NULL,
        block_key TEXT NOT NULL,
        prefecture_id TEXT NOT NULL,
        PRIMARY KEY (record_kind, record_id, block_key)
    );
    CREATE INDEX person_keys_by_block ON person_keys (prefecture_id, block_key);
    CREATE TABLE duplicate_pairs (
        id TEXT PRIMARY KEY,
        first_kind TEXT NOT NULL,
        first_id TEXT NOT NULL,
        second_kind TEXT NOT NULL,
        second_id TEXT NOT NULL,
        score BIGINT NOT NULL,
        reasons TEXT NOT NULL,
        state TEXT NOT NULL,
        detected_at_ms BIGINT NOT NULL,
        decided_by TEXT,
        decided_at_ms BIGINT,
        kept_id TEXT,
        UNIQUE (first_kind, first_id, second_kind, second_id)
    );
    CREATE INDEX duplicate_pairs_by_first ON duplicate_pairs (first_id, state);
    CREATE INDEX duplicate_pairs_by_second ON duplicate_pairs (second_id, state);
    CREATE INDEX duplicate_pairs_by_state ON duplicate_pairs (state, score);";

/// Issued certificates and notices with the fields they printed (the same SQL on both
/// backends).
const DOCUMENT_TABLES: &str = "CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        subject_kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        health_center_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        language TEXT NOT NULL,
        number TEXT NOT NULL,
        fields TEXT NOT NULL,
        issued_by TEXT NOT NULL,
        issued_at_ms BIGINT NOT NULL,
        downloaded_at_ms BIGINT
    );
    CREATE INDEX documents_by_subject ON documents (subject_id, issued_at_ms);
    CREATE INDEX documents_by_health_center ON documents (health_center_id, downloaded_at_ms);";

/// When a closed case's or contact's personal data was removed, and the indexes the line
/// list and the retention sweep read (the same SQL on both backends).
const RETENTION_COLUMNS: &str = "ALTER TABLE cases ADD COLUMN anonymised_at_ms BIGINT;
    ALTER TABLE contacts ADD COLUMN anonymised_at_ms BIGINT;
    CREATE INDEX cases_by_status_and_change ON cases (status, updated_at_ms);
    CREATE INDEX cases_by_prefecture_and_diagnosis ON cases (prefecture_id, diagnosis_date);
    CREATE INDEX cases_by_health_center_and_diagnosis ON cases (health_center_id, diagnosis_date);
    CREATE INDEX contacts_by_status_and_change ON contacts (status, updated_at_ms);";

/// Laboratory tests of a case after its notification, each its own record (the same SQL on
/// both backends).
const LAB_TEST_TABLES: &str = "CREATE TABLE lab_tests (
        id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        specimen TEXT NOT NULL,
        collected_on TEXT NOT NULL,
        method TEXT NOT NULL,
        laboratory TEXT,
        result TEXT NOT NULL,
        result_on TEXT,
        recorded_by TEXT NOT NULL,
        recorded_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL
    );
    CREATE INDEX lab_tests_by_case ON lab_tests (case_id, collected_on);";

/// Clusters (settings with several cases) and their members, cases or close contacts (the
/// same SQL on both backends).
const CLUSTER_TABLES: &str = "CREATE TABLE clusters (
        id TEXT PRIMARY KEY,
        health_center_id TEXT NOT NULL,
        prefecture_id TEXT NOT NULL,
        name TEXT NOT NULL,
        setting TEXT NOT NULL,
        first_date TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL
    );
    CREATE INDEX clusters_by_health_center ON clusters (health_center_id, created_at_ms);
    CREATE TABLE cluster_members (
        cluster_id TEXT NOT NULL,
        member_kind TEXT NOT NULL,
        member_id TEXT NOT NULL,
        added_by TEXT NOT NULL,
        added_at_ms BIGINT NOT NULL,
        PRIMARY KEY (cluster_id, member_kind, member_id)
    );";

/// Every earlier version of a corrected notification (the same SQL on both backends).
const REVISION_TABLES: &str = "CREATE TABLE case_revisions (
        id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        data TEXT NOT NULL,
        replaced_by TEXT NOT NULL,
        replaced_at_ms BIGINT NOT NULL
    );
    CREATE INDEX case_revisions_by_case ON case_revisions (case_id, replaced_at_ms);";

/// Follow-up of any subject (a case or a close contact), and close contacts as people with
/// their exposures (the same SQL on both backends). Existing follow-up rows are cases'.
const CONTACT_TABLES: &str = "ALTER TABLE followup_plans RENAME COLUMN case_id TO subject_id;
    ALTER TABLE followup_plans ADD COLUMN subject_kind TEXT NOT NULL DEFAULT 'case';
    ALTER TABLE followup_tokens RENAME COLUMN case_id TO subject_id;
    ALTER TABLE followup_observations RENAME COLUMN case_id TO subject_id;
    ALTER TABLE followup_alerts RENAME COLUMN case_id TO subject_id;
    ALTER TABLE followup_alerts ADD COLUMN subject_kind TEXT NOT NULL DEFAULT 'case';
    CREATE TABLE contacts (
        id TEXT PRIMARY KEY,
        health_center_id TEXT NOT NULL,
        prefecture_id TEXT NOT NULL,
        name TEXT NOT NULL,
        kana TEXT,
        birth_date TEXT,
        phones TEXT NOT NULL,
        address TEXT,
        household TEXT,
        status TEXT NOT NULL,
        last_exposure_date TEXT NOT NULL,
        quarantine_start TEXT,
        quarantine_end TEXT,
        converted_case_id TEXT,
        created_by TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL
    );
    CREATE INDEX contacts_by_health_center ON contacts (health_center_id, status);
    CREATE TABLE contact_exposures (
        id TEXT PRIMARY KEY,
        contact_id TEXT NOT NULL,
        case_id TEXT NOT NULL,
        exposure_date TEXT NOT NULL,
        setting TEXT NOT NULL,
        duration_minutes BIGINT,
        proximity TEXT,
        method TEXT,
        respondent TEXT,
        recorded_by TEXT NOT NULL,
        recorded_at_ms BIGINT NOT NULL
    );
    CREATE INDEX contact_exposures_by_contact ON contact_exposures (contact_id);
    CREATE INDEX contact_exposures_by_case ON contact_exposures (case_id);";

/// Follow-up tables (the same SQL on both backends).
const FOLLOWUP_TABLES: &str = "CREATE TABLE followup_plans (
        case_id TEXT PRIMARY KEY,
        organization_id TEXT NOT NULL,
        start_date TEXT NOT NULL,
        end_date TEXT NOT NULL,
        reporting_times TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL
    );
    CREATE INDEX followup_plans_by_organization ON followup_plans (organization_id);
    CREATE INDEX followup_plans_by_end ON followup_plans (end_date);
    CREATE TABLE followup_tokens (
        token_hash BYTEA PRIMARY KEY,
        case_id TEXT NOT NULL,
        created_at_ms BIGINT NOT NULL,
        expires_at_ms BIGINT NOT NULL,
        revoked_at_ms BIGINT
    );
    CREATE INDEX followup_tokens_by_case ON followup_tokens (case_id);
    CREATE TABLE followup_observations (
        id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        observed_at_ms BIGINT NOT NULL,
        day TEXT NOT NULL,
        temperature_tenths BIGINT,
        spo2 BIGINT,
        pulse BIGINT,
        symptoms TEXT NOT NULL,
        note TEXT,
        proxy_actor TEXT
    );
    CREATE INDEX followup_observations_by_case ON followup_observations (case_id, day);
    CREATE TABLE followup_alerts (
        id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        organization_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        severity BIGINT NOT NULL,
        day TEXT NOT NULL,
        detail TEXT NOT NULL,
        state TEXT NOT NULL,
        opened_at_ms BIGINT NOT NULL,
        acknowledged_by TEXT,
        acknowledged_at_ms BIGINT,
        resolved_by TEXT,
        resolved_at_ms BIGINT,
        UNIQUE (case_id, kind, day)
    );
    CREATE INDEX followup_alerts_by_organization ON followup_alerts (organization_id, state);";
