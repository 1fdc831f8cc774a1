-- Recruiter opportunities (docs/opportunities.md), the scoring preferences
-- of each user and the counters behind the business metrics on /metrics.
-- rev bumps on every write of a row; content_rev only when a scored field
-- changes (title, company, message, remote, salary_min, salary_max,
-- currency). A scoring job writes its score only while content_rev and the
-- preferences' rev are still those it scored, so a stale job never
-- overwrites a newer score.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE opportunities (
    id                 bigserial PRIMARY KEY,
    user_id            bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title              text NOT NULL,
    company            text,
    recruiter          text,
    recruiter_email    text,
    source             text NOT NULL DEFAULT 'manual'
                       CHECK (source IN ('linkedin', 'email', 'manual', 'other')),
    message            text,
    location           text,
    remote             boolean,
    salary_min         bigint CHECK (salary_min >= 0),
    salary_max         bigint CHECK (salary_max >= 0),
    currency           text NOT NULL DEFAULT 'EUR',
    status             text NOT NULL DEFAULT 'new'
                       CHECK (status IN ('new', 'contacted', 'interviewing', 'offer', 'rejected', 'archived')),
    tags               jsonb NOT NULL DEFAULT '[]',
    score              smallint CHECK (score BETWEEN 0 AND 100),
    tier               text CHECK (tier IN ('A', 'B', 'C')),
    score_details      jsonb,
    rev                bigint NOT NULL DEFAULT 1,
    content_rev        bigint NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    scored_at          timestamptz,
    CHECK (salary_min IS NULL OR salary_max IS NULL OR salary_min <= salary_max),
    CHECK ((score IS NULL) = (tier IS NULL))
);

-- One index per list filter and sort, for a user (the common case) and for
-- an admin listing every user. Sort keys: (created_at, id) and
-- (coalesce(score, -1), id) - unscored rows sort below every score.
CREATE INDEX opportunities_user_created ON opportunities (user_id, created_at, id);
CREATE INDEX opportunities_user_score ON opportunities (user_id, (coalesce(score, -1)), id);
CREATE INDEX opportunities_user_status ON opportunities (user_id, status, created_at, id);
CREATE INDEX opportunities_user_tier ON opportunities (user_id, tier, created_at, id);
CREATE INDEX opportunities_created ON opportunities (created_at, id);
CREATE INDEX opportunities_score ON opportunities ((coalesce(score, -1)), id);
CREATE INDEX opportunities_status ON opportunities (status, created_at, id);
CREATE INDEX opportunities_tier ON opportunities (tier, created_at, id);
-- q: case-insensitive substring of title, company or message (ILIKE on this
-- expression; the newlines keep a match from spanning two fields).
CREATE INDEX opportunities_text ON opportunities
    USING gin ((title || E'\n' || coalesce(company, '') || E'\n' || coalesce(message, '')) gin_trgm_ops);

CREATE TABLE opportunity_preferences (
    user_id     bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    prefs       jsonb NOT NULL,
    rev         bigint NOT NULL DEFAULT 1,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Monotonic counters for /metrics, shared by every process and host:
-- ('created', source) per opportunity created, ('scored', '0'..'100') per
-- score written (tiers and the score histogram are sums over the scores).
CREATE TABLE opportunity_counters (
    name   text NOT NULL,
    label  text NOT NULL,
    value  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (name, label)
);
