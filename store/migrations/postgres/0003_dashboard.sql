-- Dashboard sign-in: sessions, OpenID Connect identities, pending sign-ins
-- and spent ID-token nonces. Secrets are stored only as SHA-256 hashes.
-- Timestamps are milliseconds since the Unix epoch.
CREATE TABLE dashboard_sessions (
    -- SHA-256 of the session secret the browser holds in its cookie.
    id_hash     TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    -- How the session signed in: 'api_key' or 'oidc'.
    method      TEXT NOT NULL,
    email       TEXT,
    -- The tenant's API key, sealed (ChaCha20-Poly1305) under a key derived
    -- from the session secret: only a request bearing the cookie can open it.
    sealed_key  TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX dashboard_sessions_tenant ON dashboard_sessions (tenant_id);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);

-- Who signed in through an OpenID provider, and the tenant that account owns.
CREATE TABLE oidc_identities (
    issuer         TEXT NOT NULL,
    subject        TEXT NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    email          TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_login_at  BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX oidc_identities_tenant ON oidc_identities (tenant_id);

-- Sign-ins started and not yet finished: the hash of their `state`, and the
-- local page to return to. The PKCE verifier and nonce derive from a secret
-- kept only in the browser's cookie.
CREATE TABLE oidc_logins (
    state_hash  TEXT PRIMARY KEY,
    next_path   TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX oidc_logins_expiry ON oidc_logins (expires_at);

-- Nonces of ID tokens already accepted, so none is accepted twice.
CREATE TABLE oidc_nonces (
    nonce_hash  TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX oidc_nonces_expiry ON oidc_nonces (expires_at);
