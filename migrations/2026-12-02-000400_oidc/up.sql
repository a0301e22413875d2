-- Single sign-on with OpenID Connect (docs/sso.md).

-- A login begun at the provider and not yet finished: single use (deleted when the provider
-- sends the browser back), valid for ten minutes, shared by every instance. The state is
-- kept only as its SHA-256 hash; the nonce and the PKCE verifier are useless without the
-- authorization code, which only the browser sees.
CREATE TABLE sso_login_states (
    state_hash    BYTEA PRIMARY KEY,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    redirect_uri  TEXT NOT NULL,
    next_path     TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX sso_login_states_created_idx ON sso_login_states (created_at);

-- A person's identity at the sign-in provider (issuer + subject), linked once and used at
-- every later login.
CREATE TABLE identity_links (
    id            BIGSERIAL PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issuer        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    email         TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_login_at TIMESTAMPTZ,
    CONSTRAINT identity_links_issuer_subject_key UNIQUE (issuer, subject)
);
CREATE INDEX identity_links_user_idx ON identity_links (user_id);
