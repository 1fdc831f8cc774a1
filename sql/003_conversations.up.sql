-- Assistant conversations: one row per conversation, one per message.
-- id is the public conversation id ("c-<hex>").
CREATE TABLE conversations (
    id          text PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_user ON conversations (user_id, updated_at DESC);

CREATE TABLE conversation_messages (
    id                  bigserial PRIMARY KEY,
    conversation_id     text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role                text NOT NULL CHECK (role IN ('user', 'assistant')),
    content             text NOT NULL,
    intent              text,                 -- "transaction_search.by_merchant" on user messages
    entities            jsonb,
    processing_time_ms  double precision,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversation_messages_conv ON conversation_messages (conversation_id, id);
