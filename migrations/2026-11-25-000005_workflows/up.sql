-- Onboarding and offboarding: templates, workflows, their tasks, and in-app notifications.
-- A task's assignees are not stored: they are derived when read (the product's Product
-- Administrators, else its service's Service Administrators, else the Admins), so a task
-- falls back to the next in line as soon as an assignee loses their role.

CREATE TABLE onboarding_templates (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL CHECK (length(btrim(name)) > 0),
    department  TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX onboarding_templates_name_key ON onboarding_templates (lower(name));

CREATE TABLE template_products (
    template_id BIGINT NOT NULL REFERENCES onboarding_templates (id) ON DELETE CASCADE,
    product_id  BIGINT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    PRIMARY KEY (template_id, product_id)
);

CREATE TABLE workflows (
    id            BIGSERIAL PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('onboarding', 'offboarding')),
    person_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed', 'cancelled')),
    -- The start date (onboarding) or the last working day (offboarding).
    effective_on  DATE NOT NULL,
    template_id   BIGINT REFERENCES onboarding_templates (id) ON DELETE SET NULL,
    started_by    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at  TIMESTAMPTZ,
    cancelled_at  TIMESTAMPTZ,
    cancel_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX workflows_person_idx ON workflows (person_id);
CREATE INDEX workflows_status_idx ON workflows (status, id DESC);
-- Two open offboardings for one person are refused.
CREATE UNIQUE INDEX workflows_one_open_offboarding ON workflows (person_id)
    WHERE kind = 'offboarding' AND status = 'open';

CREATE TABLE tasks (
    id                 BIGSERIAL PRIMARY KEY,
    workflow_id        BIGINT NOT NULL REFERENCES workflows (id) ON DELETE RESTRICT,
    kind               TEXT NOT NULL CHECK (kind IN ('grant', 'revoke')),
    product_id         BIGINT NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    grant_id           BIGINT REFERENCES access_grants (id) ON DELETE RESTRICT,
    status             TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'not_needed', 'cancelled')),
    due_on             DATE NOT NULL,
    completed_by       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    completed_at       TIMESTAMPTZ,
    account_identifier TEXT NOT NULL DEFAULT '',
    note               TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX tasks_workflow_idx ON tasks (workflow_id);
CREATE INDEX tasks_open_idx ON tasks (product_id, due_on) WHERE status = 'open';

CREATE TABLE notifications (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    link       TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    read_at    TIMESTAMPTZ
);
CREATE INDEX notifications_unread_idx ON notifications (user_id, id DESC) WHERE read_at IS NULL;
CREATE INDEX notifications_user_idx ON notifications (user_id, id DESC);
