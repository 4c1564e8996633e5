-- The id of a deleted film is never handed out again. On PostgreSQL the identity
-- column already guarantees it; this step exists for SQLite (see its script).
SELECT 1;
