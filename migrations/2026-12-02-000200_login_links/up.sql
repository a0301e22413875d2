-- Login links: an invitation to set a first password, or a password reset, sent by email
-- (issue #17). Only the SHA-256 of the link's token is stored; the email in the outbox
-- holds a sealed placeholder that the outbox fills in as it sends (crypto::sealed), so no
-- table ever holds a usable link. Redeeming is one UPDATE … WHERE used_at IS NULL AND
-- voided_at IS NULL AND expires_at > now RETURNING: of two tabs using one link, one wins.
-- Every time is written by the application's clock (no DEFAULT now()).
CREATE TABLE login_links (
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('invitation', 'reset')),
    token_hash  BYTEA NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    -- Replaced by a newer link of the same purpose, or the password was set another way.
    voided_at   TIMESTAMPTZ,
    -- The Admin who sent an invitation; NULL for a reset the person asked for.
    created_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX login_links_user_idx ON login_links (user_id, purpose, created_at);
