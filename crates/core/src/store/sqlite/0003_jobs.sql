-- tagsmith schema 3: the durable job queue, and job states in the change event log.
-- No foreign keys and no cascades on jobs: a job's history outlives whatever it worked on.
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id        TEXT,
    queue            TEXT NOT NULL,
    kind             TEXT NOT NULL,
    args             TEXT NOT NULL,
    priority         INTEGER NOT NULL,
    state            TEXT NOT NULL,
    attempt          INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    scheduled_at     INTEGER NOT NULL,
    -- The unique key holds over the states whose bits are set (bit i = i-th state below).
    unique_key       TEXT,
    unique_states    INTEGER NOT NULL DEFAULT 0,
    concurrency_key  TEXT,
    errors           TEXT NOT NULL DEFAULT '[]',
    progress         TEXT,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    created_at       INTEGER NOT NULL,
    attempted_at     INTEGER,
    finalized_at     INTEGER
);

-- What a claim scans: due jobs of a queue in priority, time and id order.
CREATE INDEX jobs_due ON jobs (queue, priority, scheduled_at, id)
    WHERE state IN ('available', 'scheduled', 'retryable');
-- What the rescuer scans, and the per-key concurrency check.
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_running_keys ON jobs (concurrency_key)
    WHERE state = 'running' AND concurrency_key IS NOT NULL;
CREATE INDEX jobs_tenant ON jobs (tenant_id, id) WHERE tenant_id IS NOT NULL;
-- At most one job per unique key among the states the key covers (River's unique_states).
CREATE UNIQUE INDEX jobs_unique ON jobs (unique_key)
    WHERE unique_key IS NOT NULL
      AND (unique_states & (CASE state
            WHEN 'available' THEN 1 WHEN 'scheduled' THEN 2 WHEN 'running' THEN 4
            WHEN 'retryable' THEN 8 WHEN 'completed' THEN 16 WHEN 'discarded' THEN 32
            WHEN 'cancelled' THEN 64 ELSE 0 END)) != 0;

ALTER TABLE events ADD COLUMN job_state TEXT;
