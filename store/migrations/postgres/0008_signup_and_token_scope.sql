-- The scope each OAuth token was issued with. A refresh may ask for a
-- narrower scope than its grant's (RFC 6749 §6): the access token it issues
-- carries only that scope. Tokens issued before keep their grant's scope.
ALTER TABLE oauth_tokens ADD COLUMN scope TEXT;
UPDATE oauth_tokens
   SET scope = (SELECT g.scope FROM oauth_grants g WHERE g.id = oauth_tokens.grant_id);

-- Invitations to sign in through the OpenID provider (`tenant invite`): an
-- account whose verified email is invited may sign in for the first time
-- even when sign-up is closed. Each invitation admits one first sign-in.
CREATE TABLE signup_invites (
    -- The invited email, in lower case.
    email       TEXT PRIMARY KEY,
    -- The existing tenant the account joins; NULL: a new tenant is created.
    tenant_id   TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    -- When a first sign-in used it.
    used_at     BIGINT
);
