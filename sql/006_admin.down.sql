DROP TABLE admin_login_failures;
DROP TABLE admin_sessions;
DROP TABLE admin_users;
-- pgcrypto is left installed: other objects may use it.
