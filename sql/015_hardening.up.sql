-- Per-user generations as the source of truth for the memcached copies of
-- metrics and profiles (app/cache/cachegen.h). The triggers bump them in the
-- same transaction as the write, whoever writes; *_synced is cleared with
-- every bump and set again once memcached's token has been raised.
ALTER TABLE metric_generations
    ADD COLUMN profile_generation bigint NOT NULL DEFAULT 0,
    ADD COLUMN metrics_synced boolean NOT NULL DEFAULT true,
    ADD COLUMN profiles_synced boolean NOT NULL DEFAULT true,
    -- the user's transactions, maintained by the trigger below: the dashboard
    -- counts without scanning transactions (exact, O(users) not O(rows))
    ADD COLUMN transaction_count bigint NOT NULL DEFAULT 0;
INSERT INTO metric_generations AS g (user_id, transaction_count)
SELECT user_id, count(*) FROM transactions GROUP BY user_id
ON CONFLICT (user_id) DO UPDATE SET transaction_count = EXCLUDED.transaction_count;
CREATE INDEX metric_generations_unsynced ON metric_generations (user_id)
    WHERE NOT (metrics_synced AND profiles_synced);

-- Transactions feed both metrics and profiles. Users deleted in the same
-- statement (ON DELETE CASCADE) are skipped: they have nothing to cache.
CREATE FUNCTION tally_transactions_generation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sign int := CASE TG_OP WHEN 'INSERT' THEN 1 WHEN 'DELETE' THEN -1 ELSE 0 END;
BEGIN
    INSERT INTO metric_generations AS g (user_id, generation, profile_generation, metrics_synced, profiles_synced,
                                         transaction_count)
    SELECT c.user_id, 1, 1, false, false, sign * count(*) FROM changed c
     WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = c.user_id) GROUP BY c.user_id ORDER BY c.user_id
    ON CONFLICT (user_id) DO UPDATE SET generation = g.generation + 1,
        profile_generation = g.profile_generation + 1, metrics_synced = false, profiles_synced = false,
        transaction_count = g.transaction_count + EXCLUDED.transaction_count;
    UPDATE pre_computed_metrics SET expires_at = now()
     WHERE user_id IN (SELECT user_id FROM changed) AND expires_at > now();
    RETURN NULL;
END $$;

CREATE TRIGGER transactions_generation_insert AFTER INSERT ON transactions
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION tally_transactions_generation();
CREATE TRIGGER transactions_generation_update AFTER UPDATE ON transactions
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION tally_transactions_generation();
CREATE TRIGGER transactions_generation_delete AFTER DELETE ON transactions
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION tally_transactions_generation();

-- A profile row is created by its first read or write, before anything of
-- it can be cached; every later change moves the profile generation.
CREATE FUNCTION tally_profile_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO metric_generations AS g (user_id, profile_generation, profiles_synced) VALUES (NEW.user_id, 1, false)
    ON CONFLICT (user_id) DO UPDATE SET profile_generation = g.profile_generation + 1, profiles_synced = false;
    RETURN NULL;
END $$;

CREATE TRIGGER user_profiles_generation AFTER UPDATE ON user_profiles
    FOR EACH ROW EXECUTE FUNCTION tally_profile_generation();

-- Login throttling counted before the password is checked, in one
-- statement (app/modules/admin_auth.c): one row per username ('u:...') and
-- per client address ('a:...'), a fixed window of attempts.
CREATE TABLE admin_login_attempts (
    key           text PRIMARY KEY,
    window_start  timestamptz NOT NULL DEFAULT now(),
    attempts      integer NOT NULL DEFAULT 0
);
