DELETE FROM job_schedules WHERE name = 'daily_datasets_retention';
ALTER TABLE transactions DROP COLUMN dataset_version, DROP COLUMN dataset_id;
DROP TABLE dataset_chunks;
DROP TABLE dataset_versions;
DROP TABLE datasets;
