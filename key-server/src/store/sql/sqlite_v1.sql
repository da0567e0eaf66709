CREATE TABLE ks_keys (
    region TEXT NOT NULL,
    key_data BLOB NOT NULL,
    rolling_start INTEGER NOT NULL,
    rolling_period INTEGER NOT NULL,
    transmission_risk INTEGER NOT NULL,
    report_type INTEGER NOT NULL,
    days_since_onset INTEGER,
    created_at_ms INTEGER NOT NULL,
    available_at_ms INTEGER NOT NULL,
    certificate_id TEXT,
    health_authority TEXT,
    traveler INTEGER NOT NULL DEFAULT 0,
    revised_report_type INTEGER,
    revised_transmission_risk INTEGER,
    revised_days_since_onset INTEGER,
    revised_at_ms INTEGER,
    PRIMARY KEY (region, key_data)
);
CREATE INDEX ks_keys_available ON ks_keys (region, available_at_ms);
CREATE INDEX ks_keys_revised ON ks_keys (region, revised_at_ms) WHERE revised_at_ms IS NOT NULL;
CREATE INDEX ks_keys_certificate ON ks_keys (certificate_id) WHERE certificate_id IS NOT NULL;
CREATE INDEX ks_keys_created ON ks_keys (created_at_ms);

CREATE TABLE ks_export_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    region TEXT NOT NULL,
    start_s INTEGER NOT NULL,
    end_s INTEGER NOT NULL,
    batch_num INTEGER NOT NULL,
    batch_size INTEGER NOT NULL,
    path TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    key_count INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    unlisted_at_ms INTEGER
);
CREATE INDEX ks_export_files_live ON ks_export_files (region, start_s) WHERE unlisted_at_ms IS NULL;

CREATE TABLE ks_export_checkpoints (
    region TEXT PRIMARY KEY,
    last_window_end_s INTEGER NOT NULL
);

CREATE TABLE ks_signing_keys (
    key_id TEXT NOT NULL,
    key_version TEXT NOT NULL,
    private_pkcs8 BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL,
    activates_at_ms INTEGER NOT NULL,
    retires_at_ms INTEGER,
    PRIMARY KEY (key_id, key_version)
);

CREATE TABLE ks_secrets (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
