-- Admin dashboard: admin users, their server-side sessions, failed logins.
-- pgcrypto gives crypt()/gen_salt('bf', 12): bcrypt with cost 12, a slow
-- salted hash computed inside PostgreSQL, so no extra C library is needed
-- (docs/admin.md says why bcrypt over argon2id). pgcrypto is a trusted
-- extension (PostgreSQL 13+): the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE TABLE admin_users (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
    password_hash text NOT NULL,                 -- crypt(password, gen_salt('bf', 12))
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- The cookie holds a random 256-bit id; only its SHA-256 (hex) is stored,
-- so a leaked table does not give usable cookies.
CREATE TABLE admin_sessions (
    id_hash       text PRIMARY KEY,
    admin_id      bigint NOT NULL REFERENCES admin_users (id) ON DELETE CASCADE,
    csrf_token    text NOT NULL,                 -- 256-bit random hex, checked on every POST
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at);

-- One row per failed login; throttling counts recent rows per username and
-- per client address (docs/admin.md).
CREATE TABLE admin_login_failures (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL,
    address       text NOT NULL,
    failed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admin_login_failures_username ON admin_login_failures (username, failed_at);
CREATE INDEX admin_login_failures_address ON admin_login_failures (address, failed_at);
