-- Tenants, devices, jobs and pairing attempts. Timestamps are milliseconds
-- since the Unix epoch; JSON values are stored as text.
CREATE TABLE tenants (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    api_key_hash  TEXT NOT NULL UNIQUE,
    quota         BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE devices (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT REFERENCES tenants(id),
    name             TEXT NOT NULL,
    pairing_code     TEXT,
    code_expires_at  BIGINT NOT NULL,
    poll_token_hash  TEXT NOT NULL,
    token_hash       TEXT UNIQUE,
    paired_at        BIGINT,
    last_seen_at     BIGINT,
    revoked_at       BIGINT,
    pack_version     TEXT,
    created_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX devices_live_code ON devices (pairing_code) WHERE pairing_code IS NOT NULL;
CREATE INDEX devices_tenant ON devices (tenant_id);

CREATE TABLE jobs (
    seq              BIGSERIAL UNIQUE,
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    job_type         TEXT NOT NULL,
    platform         TEXT NOT NULL,
    text             TEXT NOT NULL,
    media_paths      TEXT NOT NULL,
    platform_payload TEXT,
    idempotency_key  TEXT,
    request_hash     TEXT NOT NULL,
    status           TEXT NOT NULL,
    device_id        TEXT,
    lease_expires_at BIGINT,
    submitting_at    BIGINT,
    attempts         BIGINT NOT NULL DEFAULT 0,
    post_url         TEXT,
    error            TEXT,
    error_code       TEXT,
    details          TEXT,
    pack_version     TEXT,
    ack_hash         TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    finished_at      BIGINT
);
CREATE UNIQUE INDEX jobs_idempotency ON jobs (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX jobs_queue ON jobs (tenant_id, status, seq);
CREATE INDEX jobs_lease ON jobs (status, lease_expires_at);
CREATE INDEX jobs_created ON jobs (tenant_id, created_at);

CREATE TABLE pair_failures (
    scope  TEXT NOT NULL,
    at     BIGINT NOT NULL
);
CREATE INDEX pair_failures_scope ON pair_failures (scope, at);
