-- An account an admin disabled cannot sign in; its sessions were revoked when it
-- was. Unix epoch milliseconds, NULL while the account is enabled.
ALTER TABLE hangar_users ADD COLUMN disabled_at BIGINT;

-- One-use invitations to register while auth.registration = invite, stored as
-- the SHA-256 hash of the code. Times are Unix epoch milliseconds.
CREATE TABLE hangar_invites (
    code_hash TEXT PRIMARY KEY,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    used_by TEXT
);
