CREATE TABLE ks_export_blobs (
    blob_key TEXT PRIMARY KEY,
    bytes BYTEA NOT NULL,
    size_bytes BIGINT NOT NULL
);
