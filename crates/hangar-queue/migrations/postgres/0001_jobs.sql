-- The job table is the system of record of the queue on every backend: workers
-- claim rows (in-database dispatch) or rows named by broker messages (RabbitMQ).
-- Times are milliseconds since the Unix epoch, so both dialects compare them the
-- same way.
CREATE TABLE hangar_jobs (
    id UUID PRIMARY KEY,
    queue TEXT NOT NULL,
    name TEXT NOT NULL,
    payload TEXT NOT NULL,
    priority SMALLINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'retrying', 'running', 'succeeded', 'dead', 'cancelled')),
    run_at BIGINT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    timeout_ms BIGINT NOT NULL,
    -- Bumped by every claim; a completion must name the fence it was claimed with.
    fence BIGINT NOT NULL DEFAULT 0,
    unique_key TEXT,
    worker TEXT,
    lease_expires_at BIGINT,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    -- RabbitMQ dispatch: when a message announcing the job was last published.
    announced_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);

CREATE UNIQUE INDEX hangar_jobs_unique_key ON hangar_jobs (unique_key)
    WHERE unique_key IS NOT NULL AND state IN ('pending', 'retrying', 'running');
CREATE INDEX hangar_jobs_ready ON hangar_jobs (queue, priority DESC, run_at, id)
    WHERE state IN ('pending', 'retrying');
CREATE INDEX hangar_jobs_leases ON hangar_jobs (lease_expires_at) WHERE state = 'running';
-- Listing dead jobs, newest first; other states are found through the partial
-- indexes above or the primary key, so state changes touch few indexes.
CREATE INDEX hangar_jobs_dead ON hangar_jobs (id) WHERE state = 'dead';

-- Every attempt that did not succeed, with its error: the history of a dead job.
CREATE TABLE hangar_job_attempts (
    job_id UUID NOT NULL REFERENCES hangar_jobs (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    worker TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT NOT NULL,
    PRIMARY KEY (job_id, attempt)
);
