-- One reporting currency: application settings, and exchange rates kept by hand (PortalOps
-- works offline and never fetches rates).
CREATE TABLE app_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- `rate`: units of the reporting currency for one unit of `currency`, from `valid_from` on.
CREATE TABLE exchange_rates (
    id          BIGSERIAL PRIMARY KEY,
    currency    CHAR(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    rate        NUMERIC(24, 10) NOT NULL CHECK (rate > 0),
    valid_from  DATE NOT NULL,
    created_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (currency, valid_from)
);
