//! The durable email outbox. Deciding to send an email writes it here, in the transaction
//! that decides it; `drain` sends what is due, one row at a time under
//! `FOR UPDATE SKIP LOCKED` (so instances never send the same row), retrying with backoff
//! and marking an email failed after the configured number of attempts.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::mail::Mailer;
use crate::audit::{self, AuditEntry};
use crate::authz::{authorize, Action, Actor};
use crate::db::schema::email_outbox;
use crate::domain::OutboxId;
use crate::error::AppError;

/// Queues one email, due at `now`: the application's clock decides when an email is due
/// (the column has no database default, so a caller cannot fall back on the database
/// server's own `now()` — a second clock that tests and skewed servers disagree with).
pub fn enqueue(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    to: &str,
    subject: &str,
    text: &str,
    html: &str,
    key: Option<&str>,
) -> Result<(), AppError> {
    diesel::insert_into(email_outbox::table)
        .values((
            email_outbox::to_address.eq(to),
            email_outbox::subject.eq(subject),
            email_outbox::body_text.eq(text),
            email_outbox::body_html.eq(html),
            email_outbox::reminder_key.eq(key),
            email_outbox::created_at.eq(now),
            email_outbox::next_attempt_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// An email that gave up (Settings → Scheduler lists them with a Retry button).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = email_outbox, check_for_backend(diesel::pg::Pg))]
pub struct FailedEmail {
    pub id: OutboxId,
    #[diesel(column_name = to_address)]
    pub to: String,
    pub subject: String,
    pub attempts: i32,
    #[diesel(column_name = last_error)]
    pub error: String,
    pub failed_at: Option<DateTime<Utc>>,
}

/// How the queue stands: the failed emails (newest first, at most 100), and how many are
/// waiting and sent.
#[derive(Debug, Clone)]
pub struct QueueState {
    pub failed: Vec<FailedEmail>,
    pub pending: i64,
    pub sent: i64,
}

/// The queue's state (Admins: Settings → Scheduler).
pub fn queue_state(conn: &mut PgConnection, actor: &Actor) -> Result<QueueState, AppError> {
    authorize(actor, Action::ManageSettings)?;
    let failed = email_outbox::table
        .filter(email_outbox::failed_at.is_not_null())
        .filter(email_outbox::sent_at.is_null())
        .select(FailedEmail::as_select())
        .order(email_outbox::id.desc())
        .limit(100)
        .load(conn)?;
    let pending: i64 = email_outbox::table
        .filter(email_outbox::sent_at.is_null())
        .filter(email_outbox::failed_at.is_null())
        .count()
        .get_result(conn)?;
    let sent: i64 = email_outbox::table
        .filter(email_outbox::sent_at.is_not_null())
        .count()
        .get_result(conn)?;
    Ok(QueueState {
        failed,
        pending,
        sent,
    })
}

/// Puts a failed email back in the queue, due now (audited); `NotFound` when there is no
/// failed email `id`.
pub fn retry(conn: &mut PgConnection, actor: &Actor, id: OutboxId) -> Result<(), AppError> {
    authorize(actor, Action::ManageSettings)?;
    conn.transaction(|conn| {
        let n = diesel::update(
            email_outbox::table
                .find(id)
                .filter(email_outbox::failed_at.is_not_null()),
        )
        .set((
            email_outbox::failed_at.eq(None::<DateTime<Utc>>),
            email_outbox::attempts.eq(0),
            email_outbox::next_attempt_at.eq(crate::clock::now()),
        ))
        .execute(conn)?;
        if n == 0 {
            return Err(AppError::NotFound);
        }
        audit::record(
            conn,
            AuditEntry::by(actor, "email.retry", "email", Some(id.to_string()))
                .summary("Queued a failed email again"),
        )?;
        Ok(())
    })
}

/// Wait after `attempts` failures: 30 s, doubling, at most an hour.
pub fn backoff(attempts: i32) -> chrono::TimeDelta {
    let secs = 30i64
        .saturating_mul(1i64 << attempts.clamp(0, 20))
        .min(3600);
    chrono::TimeDelta::seconds(secs)
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Drained {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// Sends every email due at `now` (at most 500 a run). Each email's sealed placeholders
/// (`crypto::sealed`: a login link's token) are filled in under `key` as it is sent; the
/// stored row keeps the placeholders.
pub fn drain(
    conn: &mut PgConnection,
    mailer: &Mailer,
    key: &[u8],
    now: DateTime<Utc>,
    max_attempts: i32,
) -> Result<Drained, AppError> {
    let mut out = Drained::default();
    for _ in 0..500 {
        let done = conn.transaction::<_, AppError, _>(|conn| {
            let row: Option<(i64, String, String, String, String, i32)> = email_outbox::table
                .filter(email_outbox::sent_at.is_null())
                .filter(email_outbox::failed_at.is_null())
                .filter(email_outbox::next_attempt_at.le(now))
                .order(email_outbox::id.asc())
                .select((
                    email_outbox::id,
                    email_outbox::to_address,
                    email_outbox::subject,
                    email_outbox::body_text,
                    email_outbox::body_html,
                    email_outbox::attempts,
                ))
                .for_update()
                .skip_locked()
                .first(conn)
                .optional()?;
            let Some((id, to, subject, text, html, attempts)) = row else {
                return Ok(true);
            };
            let (text, html) = (
                crate::crypto::sealed::unseal(key, &text),
                crate::crypto::sealed::unseal(key, &html),
            );
            match mailer.send(&to, &subject, &text, &html) {
                Ok(()) => {
                    diesel::update(email_outbox::table.find(id))
                        .set((
                            email_outbox::sent_at.eq(now),
                            email_outbox::attempts.eq(attempts + 1),
                        ))
                        .execute(conn)?;
                    out.sent += 1;
                }
                Err(e) => {
                    let attempts = attempts + 1;
                    let failed = attempts >= max_attempts;
                    tracing::warn!(email = id, attempts, error = %e, "sending an email failed");
                    diesel::update(email_outbox::table.find(id))
                        .set((
                            email_outbox::attempts.eq(attempts),
                            email_outbox::last_error.eq(e.chars().take(500).collect::<String>()),
                            email_outbox::next_attempt_at.eq(now + backoff(attempts)),
                            email_outbox::failed_at.eq(failed.then_some(now)),
                        ))
                        .execute(conn)?;
                    if failed {
                        out.failed += 1;
                    } else {
                        out.retrying += 1;
                    }
                }
            }
            Ok(false)
        })?;
        if done {
            break;
        }
    }
    Ok(out)
}
