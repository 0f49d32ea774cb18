-- What the extension saw when a job failed (step, selectors tried, page URL,
-- a sanitized outline of the page). Shown only to the tenant, with its key.
ALTER TABLE jobs ADD COLUMN diagnostic TEXT;
