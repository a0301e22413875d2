-- Inventory (services and their products), admin scopes, and access grants.
-- See docs/erd.md.

-- Trigram indexes make the lists' substring search (ILIKE '%…%') use an index.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE services (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL CHECK (length(btrim(name)) > 0),
    vendor      TEXT NOT NULL DEFAULT '',
    category    TEXT NOT NULL DEFAULT '',
    website     TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX services_name_key ON services (lower(name));
CREATE INDEX services_name_trgm ON services USING gin (name gin_trgm_ops);
CREATE INDEX services_vendor_trgm ON services USING gin (vendor gin_trgm_ops);
CREATE INDEX services_category_idx ON services (category);
CREATE INDEX services_status_idx ON services (status);

CREATE TABLE products (
    id              BIGSERIAL PRIMARY KEY,
    service_id      BIGINT NOT NULL REFERENCES services (id) ON DELETE RESTRICT,
    name            TEXT NOT NULL CHECK (length(btrim(name)) > 0),
    description     TEXT NOT NULL DEFAULT '',
    license_model   TEXT NOT NULL DEFAULT 'per_seat' CHECK (license_model IN ('per_seat', 'flat', 'usage')),
    seats_purchased INTEGER CHECK (seats_purchased IS NULL OR seats_purchased >= 0),
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX products_service_name_key ON products (service_id, lower(name));
CREATE INDEX products_name_trgm ON products USING gin (name gin_trgm_ops);

-- Scopes: which services a Service Administrator runs, which products a Product Administrator runs.
CREATE TABLE service_admins (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    service_id BIGINT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, service_id)
);
CREATE INDEX service_admins_service_idx ON service_admins (service_id);

CREATE TABLE product_admins (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, product_id)
);
CREATE INDEX product_admins_product_idx ON product_admins (product_id);

-- Who has access to what. Revoking keeps the row (when, by whom, why).
CREATE TABLE access_grants (
    id                 BIGSERIAL PRIMARY KEY,
    user_id            BIGINT NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    product_id         BIGINT NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    granted_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    granted_by         BIGINT REFERENCES users (id) ON DELETE SET NULL,
    account_identifier TEXT NOT NULL DEFAULT '',
    note               TEXT NOT NULL DEFAULT '',
    revoked_at         TIMESTAMPTZ,
    revoked_by         BIGINT REFERENCES users (id) ON DELETE SET NULL,
    revoke_note        TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX access_grants_active_key ON access_grants (user_id, product_id) WHERE revoked_at IS NULL;
CREATE INDEX access_grants_product_active_idx ON access_grants (product_id) WHERE revoked_at IS NULL;
CREATE INDEX access_grants_user_idx ON access_grants (user_id);

-- Directory search and filters.
CREATE INDEX users_full_name_trgm ON users USING gin (full_name gin_trgm_ops);
CREATE INDEX users_email_trgm ON users USING gin (email gin_trgm_ops);
CREATE INDEX users_username_trgm ON users USING gin (username gin_trgm_ops);
CREATE INDEX users_department_idx ON users (department);
CREATE INDEX users_status_idx ON users (employment_status);
CREATE INDEX users_full_name_idx ON users (lower(full_name), id);
