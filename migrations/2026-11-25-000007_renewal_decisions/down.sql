ALTER TABLE users DROP COLUMN calendar_token_hash;
DROP INDEX billing_records_deadline_idx;
ALTER TABLE billing_records
    DROP COLUMN renewal_anchor_day,
    DROP COLUMN cancellation_deadline,
    DROP COLUMN minimum_term_months,
    DROP COLUMN notice_unit,
    DROP COLUMN notice_value;
