-- tagsmith on PostgreSQL, schema 2: the durable job queue (as SQLite's schemas 3-4), and
-- `enqueue(...)` so a host adds a job in its own transaction from any driver:
--     SELECT tagsmith.enqueue('send_report', '{"to": "a@example.com"}', run_at => now() + '1 hour');
-- No foreign keys on jobs: a job's history outlives whatever it worked on.

-- A state's bit in `unique_states` (bit i = i-th state of the job model).
CREATE FUNCTION job_state_bit(state text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE state
        WHEN 'available' THEN 1 WHEN 'scheduled' THEN 2 WHEN 'running' THEN 4
        WHEN 'retryable' THEN 8 WHEN 'completed' THEN 16 WHEN 'discarded' THEN 32
        WHEN 'cancelled' THEN 64 ELSE 0 END $$;

CREATE TABLE jobs (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id        TEXT,
    queue            TEXT NOT NULL,
    kind             TEXT NOT NULL,
    args             JSONB NOT NULL,
    priority         SMALLINT NOT NULL,
    state            TEXT NOT NULL,
    attempt          INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    scheduled_at     TIMESTAMPTZ NOT NULL,
    unique_key       TEXT,
    unique_states    INTEGER NOT NULL DEFAULT 0,
    concurrency_key  TEXT,
    errors           JSONB NOT NULL DEFAULT '[]',
    progress         JSONB,
    lease_owner      TEXT,
    lease_expires_at TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    attempted_at     TIMESTAMPTZ,
    finalized_at     TIMESTAMPTZ
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
    WHERE unique_key IS NOT NULL AND (unique_states & job_state_bit(state)) <> 0;

-- Append a job's change to its tenant's log: the tenant row's `event_seq` is bumped in the
-- caller's transaction (as the engine does for every event). False if there is no such tenant.
CREATE FUNCTION append_job_event(tenant text, job bigint, action text, attempt integer,
                                 job_state text, at timestamptz) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
    AS $$
DECLARE
    next bigint;
BEGIN
    UPDATE tenants t SET event_seq = t.event_seq + 1 WHERE t.id = tenant
    RETURNING t.event_seq INTO next;
    IF next IS NULL THEN
        RETURN false;
    END IF;
    INSERT INTO events (tenant_id, seq, entity, record_id, action, version, job_state, at)
    VALUES (tenant, next, 'job', job::text, action, attempt, job_state, at);
    PERFORM pg_notify('tagsmith_events.' || current_schema(), tenant);
    RETURN true;
END $$;

-- A worker's claim in one call: lock up to `max` due jobs of `queue` in claim order (priority,
-- time, id), skipping rows other claims hold, at most one per concurrency key and none whose key
-- is running (checked under a per-key advisory lock, so claims in other processes agree), move
-- them to `running` under `worker`'s lease, log tenant jobs, and return them in claim order.
CREATE FUNCTION claim_jobs(queue text, due_by timestamptz, max integer, worker text,
                           lease_until timestamptz) RETURNS SETOF jobs
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
    AS $$
#variable_conflict use_variable
DECLARE
    r     record;
    keys  text[] := '{}';
    ids   bigint[] := '{}';
BEGIN
    FOR r IN
        SELECT j.id, j.concurrency_key FROM jobs j
        WHERE j.state IN ('available', 'scheduled', 'retryable') AND j.queue = queue
          AND j.scheduled_at <= due_by
        ORDER BY j.priority, j.scheduled_at, j.id LIMIT max
        FOR UPDATE SKIP LOCKED
    LOOP
        IF r.concurrency_key IS NOT NULL THEN
            CONTINUE WHEN r.concurrency_key = ANY (keys);
            PERFORM pg_advisory_xact_lock(
                hashtextextended('tagsmith concurrency key: ' || r.concurrency_key, 1));
            keys := keys || r.concurrency_key;
            CONTINUE WHEN EXISTS (SELECT 1 FROM jobs k WHERE k.state = 'running'
                                  AND k.concurrency_key = r.concurrency_key);
        END IF;
        ids := ids || r.id;
    END LOOP;
    IF cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    UPDATE jobs j SET state = 'running', attempt = j.attempt + 1, attempted_at = due_by,
                      lease_owner = worker, lease_expires_at = lease_until
    WHERE j.id = ANY (ids);
    PERFORM append_job_event(j.tenant_id, j.id, 'status_changed', j.attempt, 'running', due_by)
    FROM unnest(ids) WITH ORDINALITY AS u(id, n) JOIN jobs j ON j.id = u.id
    WHERE j.tenant_id IS NOT NULL ORDER BY u.n;
    RETURN QUERY SELECT j.* FROM unnest(ids) WITH ORDINALITY AS u(id, n)
                 JOIN jobs j ON j.id = u.id ORDER BY u.n;
END $$;

-- Complete a worker's attempts (`ids[i]` at `attempts[i]`) still leased to it, in one call;
-- returns the ids that were, logging tenant jobs.
CREATE FUNCTION complete_jobs(worker text, at timestamptz, ids bigint[], attempts integer[])
    RETURNS SETOF bigint
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
    AS $$
#variable_conflict use_variable
BEGIN
    RETURN QUERY
    WITH done AS (
        UPDATE jobs j SET state = 'completed', finalized_at = at, lease_owner = NULL,
                          lease_expires_at = NULL
        FROM unnest(ids, attempts) AS d(id, attempt)
        WHERE j.id = d.id AND j.state = 'running' AND j.attempt = d.attempt
          AND j.lease_owner = worker
        RETURNING j.id, j.tenant_id, j.attempt
    ), logged AS (
        SELECT done.id, CASE WHEN done.tenant_id IS NULL THEN true
            ELSE append_job_event(done.tenant_id, done.id, 'status_changed', done.attempt,
                                  'completed', at) END AS ok
        FROM done ORDER BY done.id
    )
    SELECT logged.id FROM logged;
END $$;

-- Add a job in the caller's transaction, with the rules of the engine's enqueue: bad values
-- raise 22023 (invalid_parameter_value) naming the argument; a unique key already held (over
-- the live states plus `unique_states`) returns the holder's id with `duplicate`. A tenant
-- job's `created` event goes to the tenant's log, and workers listening on this schema's
-- channel are woken at commit. `enqueue(...)` below returns just the id.
CREATE FUNCTION enqueue_job(
    kind            text,
    args            jsonb       DEFAULT '{}',
    queue           text        DEFAULT 'default',
    priority        integer     DEFAULT 0,
    run_at          timestamptz DEFAULT NULL,
    max_attempts    integer     DEFAULT 25,
    unique_key      text        DEFAULT NULL,
    tenant_id       text        DEFAULT NULL,
    concurrency_key text        DEFAULT NULL,
    unique_states   text[]      DEFAULT NULL,
    OUT id          bigint,
    OUT duplicate   boolean
)
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
    AS $$
#variable_conflict use_variable
DECLARE
    started timestamptz := now();
    due     timestamptz := coalesce(run_at, now());
    initial text := CASE WHEN coalesce(run_at, now()) > now() THEN 'scheduled' ELSE 'available' END;
    mask    integer := 0;
    s       text;
    new_id  bigint;
BEGIN
    duplicate := false;
    IF unique_states IS NOT NULL AND unique_key IS NULL THEN
        RAISE EXCEPTION 'tagsmith.enqueue: unique_states: needs a unique_key' USING ERRCODE = '22023';
    END IF;
    IF unique_key IS NOT NULL THEN
        mask := 15;
        FOREACH s IN ARRAY coalesce(unique_states, '{}') LOOP
            IF job_state_bit(s) = 0 THEN
                RAISE EXCEPTION 'tagsmith.enqueue: unique_states %: not a job state', quote_literal(s)
                    USING ERRCODE = '22023';
            END IF;
            mask := mask | job_state_bit(s);
        END LOOP;
    END IF;
    IF kind IS NULL OR kind !~ '^[A-Za-z0-9_.:-]{1,100}$' THEN
        RAISE EXCEPTION 'tagsmith.enqueue: kind %: must be 1 to 100 characters of A-Z a-z 0-9 _ . : -',
            coalesce(quote_literal(kind), 'NULL') USING ERRCODE = '22023';
    END IF;
    IF queue IS NULL OR queue !~ '^[A-Za-z0-9_.:-]{1,100}$' THEN
        RAISE EXCEPTION 'tagsmith.enqueue: queue %: must be 1 to 100 characters of A-Z a-z 0-9 _ . : -',
            coalesce(quote_literal(queue), 'NULL') USING ERRCODE = '22023';
    END IF;
    IF args IS NULL OR octet_length(args::text) > 1048576 THEN
        RAISE EXCEPTION 'tagsmith.enqueue: args: must be JSON of at most 1 MiB' USING ERRCODE = '22023';
    END IF;
    IF priority IS NULL OR priority NOT BETWEEN 0 AND 9 THEN
        RAISE EXCEPTION 'tagsmith.enqueue: priority %: must be 0 to 9', coalesce(priority::text, 'NULL')
            USING ERRCODE = '22023';
    END IF;
    IF max_attempts IS NULL OR max_attempts NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'tagsmith.enqueue: max_attempts %: must be 1 to 1000',
            coalesce(max_attempts::text, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF unique_key IS NOT NULL AND (octet_length(unique_key) NOT BETWEEN 1 AND 512
            OR unique_key ~ '[[:cntrl:]]') THEN
        RAISE EXCEPTION 'tagsmith.enqueue: unique_key %: must be 1 to 512 bytes without control characters',
            quote_literal(unique_key) USING ERRCODE = '22023';
    END IF;
    IF concurrency_key IS NOT NULL AND (octet_length(concurrency_key) NOT BETWEEN 1 AND 512
            OR concurrency_key ~ '[[:cntrl:]]') THEN
        RAISE EXCEPTION 'tagsmith.enqueue: concurrency_key %: must be 1 to 512 bytes without control characters',
            quote_literal(concurrency_key) USING ERRCODE = '22023';
    END IF;

    INSERT INTO jobs AS j (tenant_id, queue, kind, args, priority, state, max_attempts,
                           scheduled_at, unique_key, unique_states, concurrency_key, created_at)
    VALUES (tenant_id, queue, kind, args, priority, initial, max_attempts, due, unique_key, mask,
            concurrency_key, started)
    ON CONFLICT DO NOTHING
    RETURNING j.id INTO new_id;
    IF new_id IS NULL THEN
        SELECT j.id INTO id FROM jobs j
        WHERE j.unique_key = unique_key AND (j.unique_states & job_state_bit(j.state)) <> 0;
        duplicate := true;
        RETURN;
    END IF;
    id := new_id;

    IF tenant_id IS NOT NULL
            AND NOT append_job_event(tenant_id, new_id, 'created', 0, initial, started) THEN
        RAISE EXCEPTION 'tagsmith.enqueue: tenant_id %: no such tenant', quote_literal(tenant_id)
            USING ERRCODE = '22023';
    END IF;
    PERFORM pg_notify('tagsmith_jobs.' || current_schema(), queue);
END $$;

CREATE FUNCTION enqueue(
    kind            text,
    args            jsonb       DEFAULT '{}',
    queue           text        DEFAULT 'default',
    priority        integer     DEFAULT 0,
    run_at          timestamptz DEFAULT NULL,
    max_attempts    integer     DEFAULT 25,
    unique_key      text        DEFAULT NULL,
    tenant_id       text        DEFAULT NULL,
    concurrency_key text        DEFAULT NULL,
    unique_states   text[]      DEFAULT NULL
) RETURNS bigint
    LANGUAGE sql
    SET search_path FROM CURRENT
    AS $$ SELECT id FROM enqueue_job(kind, args, queue, priority, run_at, max_attempts,
                                     unique_key, tenant_id, concurrency_key, unique_states) $$;
