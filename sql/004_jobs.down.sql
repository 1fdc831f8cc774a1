DROP TRIGGER jobs_notify ON jobs;
DROP FUNCTION jobs_notify();
DROP TABLE job_schedules;
DROP TABLE job_runs;
DROP TABLE jobs;
