-- Job queue (app/modules/jobs.c, docs/jobs.md). A job is ready when its
-- status is queued or failed (waiting for a retry) and run_at <= now();
-- runners take one with FOR UPDATE SKIP LOCKED in (priority, run_at, id)
-- order. priority: 0 high, 1 normal, 2 low. schedule_slot is set on jobs
-- fired by a schedule: (kind, schedule_slot) is unique, so a slot fires once
-- however many runners race for it.
CREATE TABLE jobs (
    id             bigserial PRIMARY KEY,
    kind           text NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
    payload        jsonb NOT NULL DEFAULT '{}'::jsonb,
    priority       smallint NOT NULL DEFAULT 1 CHECK (priority BETWEEN 0 AND 2),
    status         text NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead')),
    attempts       integer NOT NULL DEFAULT 0,
    max_attempts   integer NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 100),
    run_at         timestamptz NOT NULL DEFAULT now(),
    locked_by      text,
    locked_at      timestamptz,
    last_error     text,
    schedule_slot  timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz
);
CREATE INDEX jobs_ready ON jobs (priority, run_at, id) WHERE status IN ('queued', 'failed');
CREATE INDEX jobs_running ON jobs (locked_at) WHERE status = 'running';
CREATE INDEX jobs_status_kind ON jobs (status, kind, id);
CREATE UNIQUE INDEX jobs_schedule_slot ON jobs (kind, schedule_slot) WHERE schedule_slot IS NOT NULL;

-- One row per attempt, written by the runner when the attempt ends (whatever
-- its outcome), never updated: a job executed twice shows up as two rows.
CREATE TABLE job_runs (
    id           bigserial PRIMARY KEY,
    job_id       bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt      integer NOT NULL,
    runner       text NOT NULL,
    ok           boolean NOT NULL,
    error        text,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    retry_at     timestamptz           -- when the failed attempt is retried; NULL if none
);
CREATE INDEX job_runs_job ON job_runs (job_id, attempt);
CREATE INDEX job_runs_finished ON job_runs (finished_at);

-- Cron-like schedules (syntax in docs/jobs.md), evaluated in UTC.
CREATE TABLE job_schedules (
    name          text PRIMARY KEY,
    kind          text NOT NULL,
    cron          text NOT NULL,
    payload       jsonb NOT NULL DEFAULT '{}'::jsonb,
    priority      smallint NOT NULL DEFAULT 1 CHECK (priority BETWEEN 0 AND 2),
    max_attempts  integer NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 100),
    enabled       boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Wake sleeping runners (LISTEN tally_jobs) whenever a job becomes ready.
-- Notifications are folded per transaction, so a bulk insert sends one.
CREATE FUNCTION jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tally_jobs', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE OF status ON jobs
    FOR EACH ROW WHEN (NEW.status = 'queued') EXECUTE FUNCTION jobs_notify();
