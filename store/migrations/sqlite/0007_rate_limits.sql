-- Rate limits kept in the database, so that they hold across instances: one
-- row per counted event (a registration, a sign-in, a wrong pairing code or
-- API key) under each scope it counts against, such as
-- 'register|203.0.113.0/24'. A limit counts a scope's events within its
-- window; events older than a day are deleted. `id` names the attempt, so
-- that an attempt's events can be given back. Replaces pair_failures.
CREATE TABLE rate_events (
    id     TEXT NOT NULL,
    scope  TEXT NOT NULL,
    at     INTEGER NOT NULL,
    PRIMARY KEY (id, scope)
);
CREATE INDEX rate_events_scope ON rate_events (scope, at);
CREATE INDEX rate_events_at ON rate_events (at);

DROP TABLE pair_failures;

-- Registrations never paired are swept once their code has expired.
CREATE INDEX devices_unpaired ON devices (code_expires_at) WHERE tenant_id IS NULL;
