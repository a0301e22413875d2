DROP INDEX IF EXISTS audit_log_text_trgm;
