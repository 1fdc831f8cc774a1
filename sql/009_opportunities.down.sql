DROP TABLE opportunity_counters;
DROP TABLE opportunity_preferences;
DROP TABLE opportunities;
DROP EXTENSION IF EXISTS pg_trgm;
