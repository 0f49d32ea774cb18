-- Uploaded media. A row outlives its object (status 'deleted') so usage can
-- still count the bytes. Timestamps are milliseconds since the Unix epoch.
CREATE TABLE media (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    -- '<id>/<name>': the object's key in the media store and its URL path.
    object_key        TEXT NOT NULL UNIQUE,
    -- The file name the client gave.
    filename          TEXT NOT NULL,
    content_type      TEXT NOT NULL,
    -- The platform the upload was checked against, if any.
    platform          TEXT,
    -- The size announced when the upload URL was issued, if any.
    declared_bytes    BIGINT,
    -- The verified size and SHA-256 (hex), once uploaded.
    bytes             BIGINT,
    sha256            TEXT,
    -- pending | uploading | ready | deleted
    status            TEXT NOT NULL,
    upload_expires_at BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    uploaded_at       BIGINT,
    deleted_at        BIGINT
);
CREATE INDEX media_tenant_created ON media (tenant_id, created_at);
CREATE INDEX media_sweep ON media (status, expires_at);

-- Per-install secrets, such as the key that signs media URLs.
CREATE TABLE server_secrets (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
