DROP TABLE recovery_codes;
DROP TABLE user_totp;
DELETE FROM app_settings WHERE key IN ('two_factor_required', 'encryption_key_fingerprint');
