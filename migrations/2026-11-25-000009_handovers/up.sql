-- Handover when someone leaves: what the person owns besides their access (the services and
-- products they administer, the billing records they own, the onboarding templates they
-- maintain) becomes one task per item for the Admins, completed by choosing the new owner.
-- An offboarding cannot complete while one is open.
ALTER TABLE onboarding_templates
    ADD COLUMN maintainer_id BIGINT REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX onboarding_templates_maintainer_idx ON onboarding_templates (maintainer_id);
CREATE TABLE handovers (
    id            BIGSERIAL PRIMARY KEY,
    workflow_id   BIGINT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('service_admin', 'product_admin', 'billing_owner', 'template')),
    -- The service, product or billing record handed over.
    object_id     BIGINT NOT NULL,
    label         TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    new_owner_id  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    completed_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    completed_at  TIMESTAMPTZ,
    note          TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (workflow_id, kind, object_id)
);
CREATE INDEX handovers_open_idx ON handovers (workflow_id) WHERE status = 'open';
