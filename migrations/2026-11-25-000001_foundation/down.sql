DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE login_throttle;
DROP TABLE refresh_tokens;
DROP TABLE auth_sessions;
DROP TABLE users;
