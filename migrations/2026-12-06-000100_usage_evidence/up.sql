-- Usage evidence (issue #18): a product's user export from its admin console (CSV), matched
-- against the product's grants in a dry run, then applied: each grant holder listed gets
-- the export's last active date (never moved back by an older export) and licence tier;
-- holders the export does not list are marked as absent from it.
CREATE TABLE usage_imports (
    id                 BIGSERIAL PRIMARY KEY,
    product_id         BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    filename           TEXT NOT NULL CHECK (length(filename) <= 255),
    -- The file, kept for the dry run while it is a preview; emptied once applied or
    -- discarded (the counts and the grants' evidence stay).
    csv_data           TEXT NOT NULL,
    email_column       TEXT,
    last_active_column TEXT,
    tier_column        TEXT,
    date_format        TEXT NOT NULL DEFAULT 'auto' CHECK (date_format IN ('auto', 'mdy', 'dmy')),
    status             TEXT NOT NULL DEFAULT 'preview' CHECK (status IN ('preview', 'applied', 'discarded')),
    uploaded_by        BIGINT REFERENCES users (id) ON DELETE SET NULL,
    uploaded_by_label  TEXT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    finished_at        TIMESTAMPTZ,
    total_rows         INT NOT NULL DEFAULT 0,
    matched            INT NOT NULL DEFAULT 0,
    unmatched          INT NOT NULL DEFAULT 0,
    absent             INT NOT NULL DEFAULT 0
);

CREATE INDEX usage_imports_product_idx ON usage_imports (product_id, created_at DESC);

ALTER TABLE access_grants
    ADD COLUMN last_active_on   DATE,
    ADD COLUMN usage_tier       TEXT CHECK (length(usage_tier) <= 200),
    -- When an applied export last covered the grant, and whether it listed the holder.
    ADD COLUMN usage_checked_at TIMESTAMPTZ,
    ADD COLUMN usage_listed     BOOLEAN;

-- The "inactive for N days" filters: a product's active grants by last activity.
CREATE INDEX access_grants_last_active_idx ON access_grants (product_id, last_active_on)
    WHERE revoked_at IS NULL;
