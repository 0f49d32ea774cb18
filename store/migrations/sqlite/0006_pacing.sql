-- A tenant's own least interval between two posts on a platform, in
-- milliseconds (replacing the server's --post-interval for that tenant).
CREATE TABLE tenant_pacing (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    interval_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, platform)
);
