-- Bearer tokens: only the SHA-256 (hex) of a token is stored. user_id NULL
-- with is_admin = true is an admin token.
CREATE TABLE api_tokens (
    id          bigserial PRIMARY KEY,
    token_hash  char(64) NOT NULL UNIQUE,
    user_id     bigint REFERENCES users (id) ON DELETE CASCADE,
    is_admin    boolean NOT NULL DEFAULT false,
    label       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    CHECK (is_admin OR user_id IS NOT NULL)
);
