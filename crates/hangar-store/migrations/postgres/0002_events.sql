-- The event log behind the realtime feed: state changes published by any process,
-- read in id order by every api process. A client resumes after the last id it saw.
CREATE TABLE hangar_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
