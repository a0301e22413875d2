DROP TABLE job_runs;
DROP TABLE email_outbox;
DROP TABLE reminders_sent;
