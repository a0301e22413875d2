ALTER TABLE email_outbox ALTER COLUMN next_attempt_at SET DEFAULT now();
