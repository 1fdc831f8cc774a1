-- Per-user generation of the memcached copies of opportunities (one
-- opportunity, the stats), the same scheme as metrics and profiles
-- (sql/015, app/cache/cachegen.h): the triggers bump it in the same
-- transaction as the write, whoever writes (tallyd, a scoring job, tallyctl,
-- psql, a second tallyd), and clear opportunities_synced until memcached's
-- token has been raised.
ALTER TABLE metric_generations
    ADD COLUMN opportunity_generation bigint NOT NULL DEFAULT 0,
    ADD COLUMN opportunities_synced boolean NOT NULL DEFAULT true;
DROP INDEX metric_generations_unsynced;
CREATE INDEX metric_generations_unsynced ON metric_generations (user_id)
    WHERE NOT (metrics_synced AND profiles_synced AND opportunities_synced);

-- The users whose rows changed, both sides of an update (a user_id changed
-- by hand moves a row from one user's copies to another's). Users deleted
-- in the same statement (ON DELETE CASCADE) are skipped: nothing of theirs
-- is served any more. plpgsql plans a statement when it first runs it, so
-- each branch names only the transition tables its event has.
CREATE FUNCTION tally_opportunities_generation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT user_id) INTO changed FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT user_id) INTO changed FROM old_rows;
    ELSE
        SELECT array_agg(DISTINCT user_id) INTO changed
          FROM (SELECT user_id FROM new_rows UNION SELECT user_id FROM old_rows) c;
    END IF;
    INSERT INTO metric_generations AS g (user_id, opportunity_generation, opportunities_synced)
    SELECT u.id, 1, false FROM users u WHERE u.id = ANY (changed) ORDER BY u.id
    ON CONFLICT (user_id) DO UPDATE SET opportunity_generation = g.opportunity_generation + 1,
        opportunities_synced = false;
    RETURN NULL;
END $$;

CREATE TRIGGER opportunities_generation_insert AFTER INSERT ON opportunities
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tally_opportunities_generation();
CREATE TRIGGER opportunities_generation_update AFTER UPDATE ON opportunities
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tally_opportunities_generation();
CREATE TRIGGER opportunities_generation_delete AFTER DELETE ON opportunities
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tally_opportunities_generation();
