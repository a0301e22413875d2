-- The payment register: billing records per product (card data masked by construction:
-- only brand, last four digits and expiry exist), their attachments and payment history.
CREATE TABLE billing_records (
    id               BIGSERIAL PRIMARY KEY,
    product_id       BIGINT NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    reference        TEXT NOT NULL DEFAULT '',
    cycle            TEXT NOT NULL CHECK (cycle IN ('monthly', 'quarterly', 'annual', 'one_off', 'usage')),
    amount           NUMERIC(18, 4) NOT NULL CHECK (amount >= 0),
    currency         CHAR(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    next_renewal_on  DATE,
    contract_end_on  DATE,
    auto_renew       BOOLEAN NOT NULL DEFAULT FALSE,
    payment_method   TEXT NOT NULL CHECK (payment_method IN ('card', 'invoice', 'bank_transfer', 'other')),
    card_brand       TEXT,
    card_last4       TEXT CHECK (card_last4 ~ '^[0-9]{4}$'),
    card_exp_month   SMALLINT CHECK (card_exp_month BETWEEN 1 AND 12),
    card_exp_year    SMALLINT CHECK (card_exp_year BETWEEN 2000 AND 2100),
    -- The last day of the card's expiry month, for "expiring within N days".
    card_expires_on  DATE,
    billing_owner_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    cost_center      TEXT NOT NULL DEFAULT '',
    notes            TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- A card payment has its masked card; nothing else has one.
    CHECK ((payment_method = 'card') = (card_last4 IS NOT NULL AND card_exp_month IS NOT NULL
                                         AND card_exp_year IS NOT NULL AND card_expires_on IS NOT NULL))
);
CREATE INDEX billing_records_product_idx ON billing_records (product_id);
CREATE INDEX billing_records_renewal_idx ON billing_records (next_renewal_on) WHERE status = 'active';
CREATE INDEX billing_records_card_idx ON billing_records (card_expires_on) WHERE status = 'active';

CREATE TABLE attachments (
    id                BIGSERIAL PRIMARY KEY,
    billing_record_id BIGINT NOT NULL REFERENCES billing_records (id) ON DELETE RESTRICT,
    original_name     TEXT NOT NULL,
    stored_name       TEXT NOT NULL UNIQUE,
    content_type      TEXT NOT NULL CHECK (content_type IN ('application/pdf', 'image/png', 'image/jpeg')),
    size_bytes        BIGINT NOT NULL CHECK (size_bytes > 0),
    sha256            TEXT NOT NULL,
    uploaded_by       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    uploaded_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    removed_at        TIMESTAMPTZ,
    removed_by        BIGINT REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX attachments_record_idx ON attachments (billing_record_id);

CREATE TABLE payments (
    id                BIGSERIAL PRIMARY KEY,
    billing_record_id BIGINT NOT NULL REFERENCES billing_records (id) ON DELETE RESTRICT,
    paid_on           DATE NOT NULL,
    amount            NUMERIC(18, 4) NOT NULL CHECK (amount >= 0),
    currency          CHAR(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    invoice_ref       TEXT NOT NULL DEFAULT '',
    attachment_id     BIGINT REFERENCES attachments (id) ON DELETE SET NULL,
    recorded_by       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX payments_record_idx ON payments (billing_record_id, paid_on DESC);
