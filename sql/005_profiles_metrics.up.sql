-- User profiles (one row per user, created on first read) and pre-computed
-- metrics (one row per user, metric type and period; upserted). The rules
-- behind every column: docs/profiles-metrics.md.
CREATE TABLE user_profiles (
    user_id                   bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    preferred_categories      jsonb NOT NULL DEFAULT '[]',
    preferred_merchants       jsonb NOT NULL DEFAULT '[]',
    notification_preference   text,
    frequent_query_patterns   jsonb NOT NULL DEFAULT '[]',   -- intents asked 5+ times, in promotion order
    query_frequency           jsonb NOT NULL DEFAULT '{}',   -- intent -> count
    accepted_recommendations  jsonb NOT NULL DEFAULT '[]',   -- recommendation ids
    dismissed_recommendations jsonb NOT NULL DEFAULT '[]',
    total_queries             bigint NOT NULL DEFAULT 0,
    total_sessions            bigint NOT NULL DEFAULT 0,
    session_seconds_sum       numeric NOT NULL DEFAULT 0,    -- moving averages = sum / total_sessions
    session_queries_sum       bigint NOT NULL DEFAULT 0,
    last_active               timestamptz,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now()
);

-- generation bumps on every transaction insert of the user; a stored metric
-- is valid only while its generation equals the user's current one.
CREATE TABLE metric_generations (
    user_id     bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    generation  bigint NOT NULL DEFAULT 0
);

CREATE TABLE pre_computed_metrics (
    id                   bigserial PRIMARY KEY,
    user_id              bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    metric_type          text NOT NULL CHECK (metric_type IN ('monthly_total', 'category_breakdown',
                                                              'mom_comparison', 'trends_6m')),
    period               char(7) NOT NULL,                  -- YYYY-MM
    metric_value         jsonb NOT NULL,
    computed_at          timestamptz NOT NULL DEFAULT now(),
    expires_at           timestamptz NOT NULL,
    computation_time_ms  double precision NOT NULL DEFAULT 0,
    data_points_count    integer NOT NULL DEFAULT 0,
    generation           bigint NOT NULL DEFAULT 0,
    CONSTRAINT pre_computed_metrics_lookup UNIQUE (user_id, metric_type, period)
);
-- The unique constraint is the lookup index on (user_id, metric_type, period).
CREATE INDEX pre_computed_metrics_expires ON pre_computed_metrics (expires_at);

-- Nightly batch work (docs/jobs.md): expired metrics cleaned at 02:00 UTC,
-- every active user's metrics pre-computed at 03:00 UTC.
INSERT INTO job_schedules (name, kind, cron, priority) VALUES
    ('nightly_cleanup_expired_metrics', 'cleanup_expired_metrics', '0 2 * * *', 2),
    ('nightly_precompute_all_users', 'precompute_all_users', '0 3 * * *', 2)
ON CONFLICT (name) DO NOTHING;
