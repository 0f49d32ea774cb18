-- OAuth 2.0 for MCP clients: registered clients (RFC 7591), grants (one per
-- approved connection of a client to a tenant: the token family),
-- authorization codes and tokens. Codes, tokens and client secrets are stored
-- only as SHA-256 hashes. Timestamps are milliseconds since the Unix epoch.
CREATE TABLE oauth_clients (
    id                  TEXT PRIMARY KEY,
    -- SHA-256 of the client secret; NULL for public clients (auth method 'none').
    secret_hash         TEXT,
    -- The name the client registered with, unverified; shown on the consent page.
    name                TEXT NOT NULL,
    -- JSON array of the redirect URIs, compared exactly (loopback: any port).
    redirect_uris       TEXT NOT NULL,
    -- JSON array: 'authorization_code', optionally 'refresh_token'.
    grant_types         TEXT NOT NULL,
    -- 'none', 'client_secret_post' or 'client_secret_basic'.
    auth_method         TEXT NOT NULL,
    created_at          BIGINT NOT NULL
);

-- An approved connection of a client to a tenant. Revoking it (the dashboard's
-- "disconnect", a reused code or refresh token) ends every token issued under it.
CREATE TABLE oauth_grants (
    id            TEXT PRIMARY KEY,
    client_id     TEXT NOT NULL REFERENCES oauth_clients(id),
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    -- Space-separated scopes granted.
    scope         TEXT NOT NULL,
    -- The protected resource (the MCP endpoint URL) tokens are bound to.
    resource      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    -- Set when the first tokens are issued (the code was exchanged).
    connected_at  BIGINT,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);
CREATE INDEX oauth_grants_tenant ON oauth_grants (tenant_id, client_id);

-- Authorization codes: single use, short-lived, bound to the grant approved,
-- the redirect URI and the PKCE S256 challenge.
CREATE TABLE oauth_codes (
    code_hash       TEXT PRIMARY KEY,
    grant_id        TEXT NOT NULL REFERENCES oauth_grants(id),
    redirect_uri    TEXT NOT NULL,
    code_challenge  TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);
CREATE INDEX oauth_codes_expiry ON oauth_codes (expires_at);

-- Access and refresh tokens. A refresh token is spent (used_at) when rotated.
CREATE TABLE oauth_tokens (
    token_hash  TEXT PRIMARY KEY,
    grant_id    TEXT NOT NULL REFERENCES oauth_grants(id),
    -- 'access' or 'refresh'.
    kind        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX oauth_tokens_grant ON oauth_tokens (grant_id);
CREATE INDEX oauth_tokens_expiry ON oauth_tokens (expires_at);
