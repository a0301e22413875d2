-- Renewal decisions: notice periods, minimum terms and the derived cancellation deadline;
-- the day of month renewals keep when they roll forward; personal calendar feed tokens.
ALTER TABLE billing_records
    ADD COLUMN notice_value          INTEGER CHECK (notice_value IS NULL OR notice_value BETWEEN 0 AND 3650),
    ADD COLUMN notice_unit           TEXT CHECK (notice_unit IS NULL OR notice_unit IN ('days', 'months')),
    ADD COLUMN minimum_term_months   INTEGER CHECK (minimum_term_months IS NULL OR minimum_term_months BETWEEN 0 AND 600),
    ADD COLUMN cancellation_deadline DATE,
    ADD COLUMN renewal_anchor_day    SMALLINT CHECK (renewal_anchor_day IS NULL OR renewal_anchor_day BETWEEN 1 AND 31),
    ADD CHECK ((notice_value IS NULL) = (notice_unit IS NULL));
CREATE INDEX billing_records_deadline_idx ON billing_records (cancellation_deadline) WHERE status = 'active';
UPDATE billing_records SET renewal_anchor_day = EXTRACT(DAY FROM next_renewal_on) WHERE next_renewal_on IS NOT NULL;

-- SHA-256 of the user's calendar feed token (the token itself is shown once).
ALTER TABLE users ADD COLUMN calendar_token_hash BYTEA UNIQUE;
