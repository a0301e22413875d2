-- Long-lived API tokens for scripts (issue #17, SECURITY.md row 29): an opaque random secret
-- shown once, stored as its SHA-256 only; `prefix` is the visible start of the token, to
-- tell tokens apart on the pages. `scopes` (space-separated `area:read|write`) can only
-- narrow the owner's own rights. Revoked and expired tokens stay listed (and audited).
CREATE TABLE api_tokens (
    id            BIGSERIAL PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix        TEXT NOT NULL,
    token_hash    BYTEA NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    scopes        TEXT NOT NULL CHECK (scopes <> ''),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at    TIMESTAMPTZ,
    last_used_at  TIMESTAMPTZ,
    last_used_ip  TEXT,
    revoked_at    TIMESTAMPTZ,
    revoked_by    BIGINT REFERENCES users (id) ON DELETE SET NULL
);

CREATE INDEX api_tokens_user_idx ON api_tokens (user_id, created_at DESC);
