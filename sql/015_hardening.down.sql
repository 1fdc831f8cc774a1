DROP TABLE admin_login_attempts;
DROP TRIGGER user_profiles_generation ON user_profiles;
DROP FUNCTION tally_profile_generation();
DROP TRIGGER transactions_generation_delete ON transactions;
DROP TRIGGER transactions_generation_update ON transactions;
DROP TRIGGER transactions_generation_insert ON transactions;
DROP FUNCTION tally_transactions_generation();
DROP INDEX metric_generations_unsynced;
ALTER TABLE metric_generations DROP COLUMN transaction_count, DROP COLUMN profiles_synced, DROP COLUMN metrics_synced,
    DROP COLUMN profile_generation;
