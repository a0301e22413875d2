-- Reminders: what has been reminded (exactly once), the durable email outbox, and the
-- scheduler's job runs.

-- One row per reminder decided: 'billing:<id>:<event>:<threshold>:<date>' or
-- 'digest:<user id>:<local date>'. Inserted in the same transaction as the emails and
-- notifications it causes, so a restart or a second instance cannot remind twice.
CREATE TABLE reminders_sent (
    key        TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE email_outbox (
    id              BIGSERIAL PRIMARY KEY,
    to_address      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    reminder_key    TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at         TIMESTAMPTZ,
    failed_at       TIMESTAMPTZ,
    last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX email_outbox_pending_idx ON email_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX email_outbox_failed_idx ON email_outbox (failed_at) WHERE failed_at IS NOT NULL AND sent_at IS NULL;

CREATE TABLE job_runs (
    job              TEXT PRIMARY KEY,
    last_started_at  TIMESTAMPTZ,
    last_finished_at TIMESTAMPTZ,
    last_result      TEXT NOT NULL DEFAULT '',
    last_ok          BOOLEAN NOT NULL DEFAULT TRUE
);
