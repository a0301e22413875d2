-- Service accounts (issue #17): what a script or a provisioning system acts as, instead of a
-- person. Not a row of `users`: no email, password, manager or employment, never in the
-- directory, seat counts, workflows or reminders. It acts only through its API tokens, with
-- its own role and scope (an Admin, or a Service or Product Administrator of the listed
-- services or products); the tokens' scopes narrow that. Disabling one stops every token
-- of it at the next request. Audit entries name it as "service: <name>".
CREATE TABLE service_accounts (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    role        TEXT NOT NULL CHECK (role IN ('admin', 'service_admin', 'product_admin')),
    created_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    disabled_at TIMESTAMPTZ,
    disabled_by BIGINT REFERENCES users (id) ON DELETE SET NULL
);

CREATE UNIQUE INDEX service_accounts_name_key ON service_accounts (lower(name));

-- What a Service Administrator service account runs.
CREATE TABLE service_account_services (
    service_account_id BIGINT NOT NULL REFERENCES service_accounts (id) ON DELETE CASCADE,
    service_id         BIGINT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    PRIMARY KEY (service_account_id, service_id)
);

-- What a Product Administrator service account runs.
CREATE TABLE service_account_products (
    service_account_id BIGINT NOT NULL REFERENCES service_accounts (id) ON DELETE CASCADE,
    product_id         BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    PRIMARY KEY (service_account_id, product_id)
);

-- A token belongs to a person or to a service account, never both.
ALTER TABLE api_tokens
    ALTER COLUMN user_id DROP NOT NULL,
    ADD COLUMN service_account_id BIGINT REFERENCES service_accounts (id) ON DELETE CASCADE,
    ADD CONSTRAINT api_tokens_one_owner CHECK ((user_id IS NULL) <> (service_account_id IS NULL));

CREATE INDEX api_tokens_service_account_idx ON api_tokens (service_account_id, created_at DESC)
    WHERE service_account_id IS NOT NULL;
