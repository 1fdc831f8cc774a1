-- Versioned datasets (docs/datasets.md). A dataset belongs to a user (NULL:
-- uploaded with an admin token). Every version is immutable; its content is
-- the canonical CSV (no header) cut into chunks of whole rows, so a rows
-- page reads one or two chunks and a download or transform streams them in
-- order. PostgreSQL compresses each chunk (TOAST, lz4). Retention deletes a
-- version's chunks and sets purged_at; metadata and lineage stay.
CREATE TABLE datasets (
    id          bigserial PRIMARY KEY,
    user_id     bigint REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT datasets_user_name UNIQUE NULLS NOT DISTINCT (user_id, name)
);

CREATE TABLE dataset_versions (
    id              bigserial PRIMARY KEY,
    dataset_id      bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    version         integer NOT NULL CHECK (version >= 1),
    parent_version  integer,                  -- NULL for an upload
    steps           jsonb,                    -- the transform that made it; NULL for an upload
    sha256          char(64) NOT NULL,        -- of the canonical CSV, header included
    row_count       bigint NOT NULL,
    columns         jsonb NOT NULL,           -- [{name, type, missing, distinct, min, max, mean}]
    content_bytes   bigint NOT NULL,          -- canonical CSV size
    pinned          boolean NOT NULL DEFAULT false,
    purged_at       timestamptz,              -- content deleted by retention
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      bigint,                   -- user id of the token; NULL for an admin token
    CONSTRAINT dataset_versions_number UNIQUE (dataset_id, version)
);
CREATE INDEX dataset_versions_sha ON dataset_versions (dataset_id, sha256);

CREATE TABLE dataset_chunks (
    version_id  bigint NOT NULL REFERENCES dataset_versions (id) ON DELETE CASCADE,
    seq         integer NOT NULL,
    first_row   bigint NOT NULL,              -- 0-based index of the chunk's first row
    row_count   integer NOT NULL,
    data        text NOT NULL,                -- canonical CSV rows, LF-terminated
    PRIMARY KEY (version_id, seq)
);
ALTER TABLE dataset_chunks ALTER COLUMN data SET COMPRESSION lz4;

-- Transactions imported from CSV record the dataset version of their file.
ALTER TABLE transactions ADD COLUMN dataset_id bigint REFERENCES datasets (id) ON DELETE SET NULL,
                         ADD COLUMN dataset_version integer;

INSERT INTO job_schedules (name, kind, cron, priority) VALUES
    ('daily_datasets_retention', 'datasets_retention', '30 4 * * *', 2)
ON CONFLICT (name) DO NOTHING;
