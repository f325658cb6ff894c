-- Web console sessions (host/src/front/console/session.rs). Kept in PostgreSQL so that
-- every coffer process sharing the database honours them. The token itself is never
-- stored: only its SHA-256, so a read of this table does not yield a usable cookie.
CREATE TABLE console_sessions (
    token_hash  BYTEA PRIMARY KEY,
    -- The key the user logged in with: revoking it ends the session (the join in
    -- store/console_sessions.rs requires it active), deleting it deletes the session.
    access_key  TEXT NOT NULL REFERENCES access_keys (access_key) ON DELETE CASCADE,
    -- Sent with every state-changing request in X-CSRF-Token.
    csrf_token  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Idle expiry counts from here; refreshed at most once a minute.
    last_seen   TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Absolute expiry.
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);
CREATE INDEX console_sessions_key_idx ON console_sessions (access_key);
