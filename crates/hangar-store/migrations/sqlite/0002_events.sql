-- The event log behind the realtime feed: state changes published by any process,
-- read in id order by every api process. Ids only grow (AUTOINCREMENT never reuses
-- the ids of pruned rows), so a client resumes after the last id it saw.
CREATE TABLE hangar_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
