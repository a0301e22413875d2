-- Foundation: people and login accounts, sessions and refresh tokens, login throttling,
-- and the append-only audit log. See docs/erd.md.

CREATE TABLE users (
    id                BIGSERIAL PRIMARY KEY,
    full_name         TEXT NOT NULL CHECK (length(btrim(full_name)) > 0),
    email             TEXT NOT NULL CHECK (position('@' in email) > 1),
    username          TEXT,
    password_hash     TEXT,
    role              TEXT NOT NULL DEFAULT 'user'
                      CHECK (role IN ('admin', 'service_admin', 'product_admin', 'user')),
    is_active         BOOLEAN NOT NULL DEFAULT TRUE,
    department        TEXT,
    job_title         TEXT,
    manager_id        BIGINT REFERENCES users (id) ON DELETE SET NULL,
    employment_status TEXT NOT NULL DEFAULT 'active'
                      CHECK (employment_status IN ('active', 'onboarding', 'offboarding', 'offboarded')),
    start_date        DATE,
    end_date          DATE,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- A person who can log in has a username; a plain user (role 'user') cannot log in.
    CHECK (role = 'user' OR username IS NOT NULL)
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (lower(username)) WHERE username IS NOT NULL;
CREATE INDEX users_role_idx ON users (role) WHERE role <> 'user';

-- One row per login: the refresh-token family. Access tokens name it (claim `sid`), so a
-- revoked session is refused at the next request even while its access token is unexpired.
CREATE TABLE auth_sessions (
    id             BIGSERIAL PRIMARY KEY,
    user_id        BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at     TIMESTAMPTZ NOT NULL,
    last_seen_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at     TIMESTAMPTZ,
    revoked_reason TEXT,
    client_ip      TEXT,
    user_agent     TEXT
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id) WHERE revoked_at IS NULL;

-- Refresh tokens are stored only as SHA-256 hashes. `rotated_at` marks a used token; its
-- successor is derivable from it (HMAC), so concurrent refreshes inside a short grace window
-- all receive the same successor instead of tripping re-use detection.
CREATE TABLE refresh_tokens (
    id          BIGSERIAL PRIMARY KEY,
    session_id  BIGINT NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    token_hash  BYTEA NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    rotated_at  TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- Failed-login counters, keyed 'user:<lower username>' or 'ip:<address>'; shared by every
-- instance on the database.
CREATE TABLE login_throttle (
    key              TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL DEFAULT 0,
    window_start     TIMESTAMPTZ NOT NULL DEFAULT now(),
    locked_until     TIMESTAMPTZ
);

CREATE TABLE audit_log (
    id           BIGSERIAL PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor_id     BIGINT,
    actor_label  TEXT NOT NULL,
    action       TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    object_id    TEXT,
    summary      TEXT NOT NULL,
    before       JSONB,
    after        JSONB,
    client_ip    TEXT,
    request_id   TEXT
);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id DESC);
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, id DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, id DESC);
CREATE INDEX audit_log_at_idx ON audit_log (at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
