-- Named leases: one holder at a time, until it stops renewing (leader election).
CREATE TABLE hangar_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
