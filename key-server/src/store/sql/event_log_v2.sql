CREATE TABLE ks_event_logs (
    id BYTEA PRIMARY KEY,
    received_at_ms BIGINT NOT NULL,
    platform TEXT NOT NULL,
    event_type TEXT NOT NULL,
    subtype TEXT NOT NULL,
    epoch_s BIGINT NOT NULL,
    content TEXT NOT NULL
);
CREATE INDEX ks_event_logs_received ON ks_event_logs (received_at_ms);
