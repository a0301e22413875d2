-- Provisioning rules (issue #18): what the identity provider's data starts in PortalOps.
-- A rule matches a SCIM group (by its displayName) or a department (as the provider sends
-- it), ignoring case, and names an onboarding template (its products become grant tasks)
-- and, for a group, an administrator role with an optional scope. Admins keep them under
-- Settings → Provisioning.
CREATE TABLE provisioning_rules (
    id          BIGSERIAL PRIMARY KEY,
    source      TEXT NOT NULL CHECK (source IN ('group', 'department')),
    match_value TEXT NOT NULL CHECK (length(match_value) BETWEEN 1 AND 200),
    template_id BIGINT REFERENCES onboarding_templates (id) ON DELETE CASCADE,
    role        TEXT CHECK (role IN ('admin', 'service_admin', 'product_admin')),
    service_id  BIGINT REFERENCES services (id) ON DELETE CASCADE,
    product_id  BIGINT REFERENCES products (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL,
    created_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    CHECK (template_id IS NOT NULL OR role IS NOT NULL),
    CHECK (role IS NULL OR source = 'group'),
    CHECK (service_id IS NULL OR role = 'service_admin'),
    CHECK (product_id IS NULL OR role = 'product_admin')
);

CREATE UNIQUE INDEX provisioning_rules_match_key ON provisioning_rules (source, lower(match_value));

-- What a rule did to a person, for their page (the audit log has the same, with the
-- provisioning token as the actor).
CREATE TABLE provisioning_effects (
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rule_id     BIGINT REFERENCES provisioning_rules (id) ON DELETE SET NULL,
    rule_label  TEXT NOT NULL,
    effect      TEXT NOT NULL,
    workflow_id BIGINT REFERENCES workflows (id) ON DELETE SET NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE INDEX provisioning_effects_user_idx ON provisioning_effects (user_id, created_at DESC);

-- A role a group rule raised: the role the person had before it (what they go back to
-- when no rule's group holds them any more), and the administrator scopes rules added.
ALTER TABLE scim_users ADD COLUMN role_before_rules TEXT
    CHECK (role_before_rules IN ('user', 'admin', 'service_admin', 'product_admin'));
-- The role the rules gave: a person whose role is something else now had it changed by an
-- Admin since, and the rules leave it alone.
ALTER TABLE scim_users ADD COLUMN role_from_rules TEXT
    CHECK (role_from_rules IN ('user', 'admin', 'service_admin', 'product_admin'));

-- The start date as the provider sent it (PortalOps' extension, `startDate`): the directory
-- keeps the date, in the company's time zone; the provider gets its own text back.
ALTER TABLE scim_users ADD COLUMN start_date_sent TEXT CHECK (length(start_date_sent) <= 64);

CREATE TABLE provisioning_scopes (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rule_id    BIGINT NOT NULL REFERENCES provisioning_rules (id) ON DELETE CASCADE,
    service_id BIGINT REFERENCES services (id) ON DELETE CASCADE,
    product_id BIGINT REFERENCES products (id) ON DELETE CASCADE,
    CHECK ((service_id IS NULL) <> (product_id IS NULL))
);

CREATE UNIQUE INDEX provisioning_scopes_key ON provisioning_scopes
    (user_id, rule_id, coalesce(service_id, 0), coalesce(product_id, 0));
