-- One clock: when an email is due is decided by the application's clock (the one the outbox
-- drain compares with), never by the database server's now(). Without a default, an insert
-- that forgets to say when it is due fails instead of silently using a second clock.
ALTER TABLE email_outbox ALTER COLUMN next_attempt_at DROP DEFAULT;
