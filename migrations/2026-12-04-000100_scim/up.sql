-- SCIM 2.0 provisioning (issue #18): the identity provider's view of a directory person.
-- A row links a person to the provider: its `userName` and `externalId` as the provider
-- sent them (round-tripped exactly), and the name parts the directory keeps as one full
-- name. Only linked people are SCIM resources; deleting one through SCIM removes the link
-- (the person stays in the directory, being offboarded). `version` is the ETag.
CREATE TABLE scim_users (
    user_id         BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    user_name       TEXT NOT NULL CHECK (length(user_name) BETWEEN 1 AND 254),
    external_id     TEXT CHECK (length(external_id) <= 254),
    given_name      TEXT CHECK (length(given_name) <= 200),
    family_name     TEXT CHECK (length(family_name) <= 200),
    formatted_name  TEXT CHECK (length(formatted_name) <= 200),
    display_name    TEXT CHECK (length(display_name) <= 200),
    employee_number TEXT CHECK (length(employee_number) <= 100),
    -- The provider's email list as sent (the directory keeps the primary one as the email).
    emails          JSONB,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    version         BIGINT NOT NULL DEFAULT 1
);

CREATE UNIQUE INDEX scim_users_user_name_key ON scim_users (lower(user_name));
CREATE UNIQUE INDEX scim_users_external_id_key ON scim_users (external_id) WHERE external_id IS NOT NULL;

-- The provider's groups and their members.
CREATE TABLE scim_groups (
    id           BIGSERIAL PRIMARY KEY,
    display_name TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    external_id  TEXT CHECK (length(external_id) <= 254),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    version      BIGINT NOT NULL DEFAULT 1
);

CREATE UNIQUE INDEX scim_groups_display_name_key ON scim_groups (lower(display_name));

CREATE TABLE scim_group_members (
    group_id BIGINT NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    user_id  BIGINT NOT NULL REFERENCES scim_users (user_id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);

CREATE INDEX scim_group_members_user_idx ON scim_group_members (user_id);
