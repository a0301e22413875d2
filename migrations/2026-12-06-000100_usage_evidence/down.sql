DROP INDEX access_grants_last_active_idx;
ALTER TABLE access_grants
    DROP COLUMN last_active_on,
    DROP COLUMN usage_tier,
    DROP COLUMN usage_checked_at,
    DROP COLUMN usage_listed;
DROP TABLE usage_imports;
