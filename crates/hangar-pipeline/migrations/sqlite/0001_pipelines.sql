-- Pipeline runs and their task instances. Times are milliseconds since the epoch.
CREATE TABLE hangar_pipeline_runs (
    id BLOB PRIMARY KEY,
    pipeline TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'success', 'failed', 'cancelled')),
    params TEXT NOT NULL,
    triggered_by TEXT NOT NULL,
    -- Scheduled runs: the cron time they stand for; one run per pipeline and time.
    logical_date INTEGER,
    error TEXT,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER
);

CREATE UNIQUE INDEX hangar_pipeline_runs_scheduled ON hangar_pipeline_runs (pipeline, logical_date)
    WHERE logical_date IS NOT NULL;
CREATE INDEX hangar_pipeline_runs_by_pipeline ON hangar_pipeline_runs (pipeline, id);
CREATE INDEX hangar_pipeline_runs_active ON hangar_pipeline_runs (pipeline, created_at)
    WHERE state IN ('queued', 'running');

CREATE TABLE hangar_pipeline_tasks (
    run_id BLOB NOT NULL REFERENCES hangar_pipeline_runs (id) ON DELETE CASCADE,
    task_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'queued', 'running', 'success', 'failed',
        'up_for_retry', 'upstream_failed', 'skipped', 'cancelled')),
    try_number INTEGER NOT NULL DEFAULT 1,
    max_tries INTEGER NOT NULL,
    job_id BLOB,
    error TEXT,
    output TEXT,
    queued_at INTEGER,
    started_at INTEGER,
    finished_at INTEGER,
    PRIMARY KEY (run_id, task_id)
);

-- Log lines of each try of each task.
CREATE TABLE hangar_pipeline_logs (
    run_id BLOB NOT NULL REFERENCES hangar_pipeline_runs (id) ON DELETE CASCADE,
    task_id TEXT NOT NULL,
    try_number INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (run_id, task_id, try_number, seq)
);

-- The last cron time each scheduled pipeline was triggered for.
CREATE TABLE hangar_pipeline_schedules (
    pipeline TEXT PRIMARY KEY,
    last_fired_at INTEGER NOT NULL
);
