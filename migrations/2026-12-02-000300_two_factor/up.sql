-- Two-factor login (docs/rbac.md, "Two-factor login"): one TOTP authenticator per user and
-- their one-time recovery codes. The TOTP secret is stored encrypted (AES-256-GCM under
-- PORTALOPS_ENCRYPTION_KEY, see src/crypto/aead.rs), never in clear; recovery codes are
-- stored as SHA-256 hashes. `last_used_step` makes each code single-use: a code is accepted
-- only for a time step above it, set by one conditional UPDATE.
CREATE TABLE user_totp (
    user_id           BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_ciphertext BYTEA NOT NULL,
    secret_nonce      BYTEA NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    -- NULL while enrolment has started but no code confirmed it: no factor yet.
    confirmed_at      TIMESTAMPTZ,
    last_used_step    BIGINT NOT NULL DEFAULT -1
);

CREATE TABLE recovery_codes (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    used_at    TIMESTAMPTZ,
    UNIQUE (user_id, code_hash)
);
