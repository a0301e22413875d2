DROP TABLE untrusted_forwarders;
DROP INDEX login_throttle_user_idx;
DROP INDEX login_throttle_locked_idx;
DELETE FROM login_throttle;
ALTER TABLE login_throttle DROP COLUMN client_ip, DROP COLUMN user_id, DROP COLUMN kind;
