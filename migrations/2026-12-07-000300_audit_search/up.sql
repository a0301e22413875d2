-- The audit log's free-text search (every word somewhere in the summary, the actor or the
-- action) from a trigram index instead of a scan of every entry. pg_trgm is a trusted
-- extension (the database's owner may create it); where the role may not, the search
-- still works, by scanning.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX audit_log_text_trgm ON audit_log
        USING gin ((summary || ' ' || actor_label || ' ' || action) gin_trgm_ops);
EXCEPTION WHEN insufficient_privilege OR undefined_file THEN
    RAISE NOTICE 'pg_trgm is not available here: the audit log search scans instead';
END
$$;
