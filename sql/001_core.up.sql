-- Users and their transactions. Amounts are integer cents (exact money).
-- merchant_key / category_key hold text_fold() of the display value (lower
-- case, accents removed) for case- and accent-insensitive matching.
CREATE TABLE users (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    currency    char(3) NOT NULL DEFAULT 'EUR',
    language    text NOT NULL DEFAULT 'fr' CHECK (language IN ('fr', 'en')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE transactions (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    external_id   text,
    date          date NOT NULL,
    amount_cents  bigint NOT NULL CHECK (amount_cents <> 0),
    currency      char(3) NOT NULL,
    merchant      text,
    merchant_key  text,
    category      text,
    category_key  text,
    description   text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT transactions_user_external_id UNIQUE (user_id, external_id)
);

CREATE INDEX transactions_user_date ON transactions (user_id, date DESC, id DESC);
CREATE INDEX transactions_user_category ON transactions (user_id, category_key, date);
CREATE INDEX transactions_user_merchant ON transactions (user_id, merchant_key, date);
