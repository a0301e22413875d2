-- The login throttle counts (username, client address) pairs, usernames from clients that are
-- not known devices, client addresses and known devices (see docs/rbac.md, "Login
-- throttling"). Keys no longer carry the typed username: it is a keyed hash. The old rows
-- (raw usernames, a few minutes of counters) are dropped rather than converted.
DELETE FROM login_throttle;

ALTER TABLE login_throttle
    ADD COLUMN kind      TEXT NOT NULL CHECK (kind IN ('pair', 'account', 'address', 'device')),
    ADD COLUMN user_id   BIGINT REFERENCES users (id) ON DELETE CASCADE,
    ADD COLUMN client_ip TEXT;

CREATE INDEX login_throttle_locked_idx ON login_throttle (locked_until)
    WHERE locked_until IS NOT NULL;
CREATE INDEX login_throttle_user_idx ON login_throttle (user_id)
    WHERE user_id IS NOT NULL;

-- Peers that sent X-Forwarded-For without being in PORTALOPS_TRUSTED_PROXIES: every client
-- behind them looks like one address, which Settings and the start-up log warn about.
CREATE TABLE untrusted_forwarders (
    peer        TEXT PRIMARY KEY,
    first_seen  TIMESTAMPTZ NOT NULL,
    last_seen   TIMESTAMPTZ NOT NULL,
    requests    BIGINT NOT NULL DEFAULT 1
);
