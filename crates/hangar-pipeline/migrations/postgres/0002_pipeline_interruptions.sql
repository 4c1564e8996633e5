-- Tries interrupted by a lost worker (killed, or frozen past its lease) and run
-- again: the queue re-delivers the task's job and the same try starts over, so
-- the run view says so instead of showing one uneventful try.
CREATE TABLE hangar_pipeline_interruptions (
    run_id UUID NOT NULL REFERENCES hangar_pipeline_runs (id) ON DELETE CASCADE,
    task_id TEXT NOT NULL,
    try_number INTEGER NOT NULL,
    -- The attempt of the task's job that was interrupted.
    job_attempt INTEGER NOT NULL,
    -- `worker lost` or `timed out`.
    reason TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (run_id, task_id, try_number, job_attempt)
);
