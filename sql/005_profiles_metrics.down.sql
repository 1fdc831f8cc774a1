DELETE FROM job_schedules WHERE name IN ('nightly_cleanup_expired_metrics', 'nightly_precompute_all_users');
DROP TABLE pre_computed_metrics;
DROP TABLE metric_generations;
DROP TABLE user_profiles;
