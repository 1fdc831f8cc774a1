DELETE FROM job_schedules WHERE name = 'hourly_learning_aggregate';
DELETE FROM jobs WHERE kind = 'learning_aggregate';
DROP TABLE learning_state;
DROP TABLE learning_dirty;
DROP TABLE learning_events;
DROP TABLE learning_form_profiles;
