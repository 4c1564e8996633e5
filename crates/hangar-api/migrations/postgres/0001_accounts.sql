-- Accounts: users with roles, login sessions (one per login; a session is a refresh
-- token family), the refresh tokens of each session (stored as SHA-256 hashes), and
-- identities at OpenID Connect providers linked to users. Times are Unix epoch
-- milliseconds.
CREATE TABLE hangar_users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT,
    password_hash TEXT,
    roles TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE hangar_sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES hangar_users (id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_reason TEXT
);

CREATE INDEX hangar_sessions_user_idx ON hangar_sessions (user_id);

CREATE TABLE hangar_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES hangar_sessions (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE INDEX hangar_refresh_tokens_session_idx ON hangar_refresh_tokens (session_id);

CREATE TABLE hangar_identities (
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES hangar_users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (provider, subject)
);

-- Responses to creating POSTs sent with an Idempotency-Key, replayed for the same
-- key and body. A row without a status is a request still being handled.
CREATE TABLE hangar_idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER,
    content_type TEXT,
    location TEXT,
    body TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE INDEX hangar_idempotency_keys_created_idx ON hangar_idempotency_keys (created_at);
