-- Learning (autofill): form profiles, the extension's autofill events, the
-- aggregator's state and counters (docs/learning.md). user_id is bigint like
-- users.id (the seed's migration failed on a uuid/varchar mismatch there).
CREATE TABLE learning_form_profiles (
    id              bigserial PRIMARY KEY,
    host            text NOT NULL CHECK (length(host) BETWEEN 1 AND 255),
    schema_hash     text NOT NULL CHECK (length(schema_hash) BETWEEN 1 AND 128),
    family          text NOT NULL,             -- lower-cased; the latest event's
    segment_key     text CHECK (segment_key IN ('intern', 'junior', 'senior', 'default')),
    runs            integer NOT NULL DEFAULT 0, -- the form's events in the window at aggregated_at
    style_hint      jsonb,                     -- NULL until aggregated
    explanation     text,
    aggregated_at   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT learning_form_profiles_form UNIQUE (host, schema_hash)
);
CREATE INDEX learning_form_profiles_family ON learning_form_profiles (family);

CREATE TABLE learning_events (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_id        text CHECK (length(event_id) BETWEEN 1 AND 128),   -- client-made, unique per user
    profile_id      bigint NOT NULL REFERENCES learning_form_profiles (id) ON DELETE CASCADE,
    family          text NOT NULL,
    gen_style_id    text,
    applied         boolean NOT NULL,
    edit_chars      integer NOT NULL CHECK (edit_chars >= 0),
    helpful         boolean,
    job_title       text,
    job_normalized_title text,
    segment_key     text CHECK (segment_key IN ('intern', 'junior', 'senior', 'default')),
    created_at      timestamptz NOT NULL,      -- the client's, else the time received
    received_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT learning_events_user_event UNIQUE (user_id, event_id)
);
-- The aggregation's reads: a form's window, a family's and a (family,
-- segment)'s window, the events leaving the window; the segment index the
-- issue asks for; the 24 h count of the stats.
CREATE INDEX learning_events_profile_time ON learning_events (profile_id, created_at);
CREATE INDEX learning_events_family_segment ON learning_events (family, segment_key, created_at);
CREATE INDEX learning_events_segment_key ON learning_events (segment_key);
CREATE INDEX learning_events_created ON learning_events (created_at);
CREATE INDEX learning_events_received ON learning_events (received_at);

-- Forms with new events since the aggregator last read this table: one row
-- per (sync call, form), appended by the sync statement. The aggregator
-- deletes exactly the rows it read, so a mark committed meanwhile survives
-- for the next run (no lost update, and a sync never waits for a run).
CREATE TABLE learning_dirty (
    mark        bigserial PRIMARY KEY,
    profile_id  bigint NOT NULL REFERENCES learning_form_profiles (id) ON DELETE CASCADE
);

-- One row: what the last aggregation saw, and the counters /metrics shows
-- (kept here so that every worker and host reports the same totals).
CREATE TABLE learning_state (
    id                  integer PRIMARY KEY CHECK (id = 1),
    window_start        timestamptz,           -- of the last run
    window_days         integer,
    runs_total          bigint NOT NULL DEFAULT 0,
    skipped_total       bigint NOT NULL DEFAULT 0,
    duration_ms_total   double precision NOT NULL DEFAULT 0,
    last_duration_ms    double precision,
    last_run_at         timestamptz,
    profiles_updated_total bigint NOT NULL DEFAULT 0,
    events_accepted     bigint NOT NULL DEFAULT 0,
    events_duplicate    bigint NOT NULL DEFAULT 0,
    events_rejected     bigint NOT NULL DEFAULT 0
);
INSERT INTO learning_state (id) VALUES (1);

-- Hourly aggregation (docs/jobs.md, docs/learning.md).
INSERT INTO job_schedules (name, kind, cron, priority) VALUES
    ('hourly_learning_aggregate', 'learning_aggregate', '7 * * * *', 1)
ON CONFLICT (name) DO NOTHING;
