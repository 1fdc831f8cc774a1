DROP TRIGGER opportunities_generation_delete ON opportunities;
DROP TRIGGER opportunities_generation_update ON opportunities;
DROP TRIGGER opportunities_generation_insert ON opportunities;
DROP FUNCTION tally_opportunities_generation();
DROP INDEX metric_generations_unsynced;
ALTER TABLE metric_generations DROP COLUMN opportunities_synced, DROP COLUMN opportunity_generation;
CREATE INDEX metric_generations_unsynced ON metric_generations (user_id)
    WHERE NOT (metrics_synced AND profiles_synced);
