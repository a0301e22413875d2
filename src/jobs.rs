//! The scheduled jobs and the clokwerk thread that runs them: the daily reminder scans and
//! the outbox drain. Each run holds a PostgreSQL advisory lock for its job, so when several
//! instances share a database a job runs in one of them at a time. Runs are recorded for
//! Settings → Scheduler, which can also start one at once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use clokwerk::{Interval, Job as _, Scheduler, TimeUnits as _};
use diesel::prelude::*;

use crate::db::schema::job_runs;
use crate::error::AppError;
use crate::notify::{mail::Mailer, outbox, reminders};
use crate::web::AppState;

pub const REMINDERS: &str = "reminders";
pub const OUTBOX: &str = "outbox";
pub const BACKUP: &str = "backup";
pub const OFFBOARDINGS: &str = "offboardings";

/// (job, what it does) for the settings page.
pub const JOBS: &[(&str, &str)] = &[
    (REMINDERS, "Payment reminders and task digests"),
    (OUTBOX, "Send queued emails"),
    (BACKUP, "Back up the database and uploads"),
    (
        OFFBOARDINGS,
        "Complete the offboardings waiting for their last day to end",
    ),
];

fn lock_key(job: &str) -> i64 {
    match job {
        REMINDERS => 0x706f_7274_0001,
        OUTBOX => 0x706f_7274_0002,
        OFFBOARDINGS => 0x706f_7274_0004,
        _ => 0x706f_7274_0003,
    }
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

/// Runs `job` now (blocking) and records the run. "skipped" when another instance runs it.
pub fn run_job(state: &AppState, job: &str) -> Result<String, AppError> {
    if !JOBS.iter().any(|(j, _)| *j == job) {
        return Err(AppError::NotFound);
    }
    let mut conn = state.pool.get()?;
    let key = lock_key(job);
    let got = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
        .bind::<diesel::sql_types::BigInt, _>(key)
        .get_result::<Locked>(&mut conn)?
        .locked;
    if !got {
        return Ok("skipped: running in another instance".into());
    }
    let started = crate::clock::now();
    let result = run_locked(state, &mut conn, job);
    let _ = diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<diesel::sql_types::BigInt, _>(key)
        .execute(&mut conn);
    let (ok, text) = match &result {
        Ok(t) => (true, t.clone()),
        Err(e) => (false, format!("error: {e}")),
    };
    diesel::insert_into(job_runs::table)
        .values((
            job_runs::job.eq(job),
            job_runs::last_started_at.eq(started),
            job_runs::last_finished_at.eq(crate::clock::now()),
            job_runs::last_result.eq(&text),
            job_runs::last_ok.eq(ok),
        ))
        .on_conflict(job_runs::job)
        .do_update()
        .set((
            job_runs::last_started_at.eq(started),
            job_runs::last_finished_at.eq(crate::clock::now()),
            job_runs::last_result.eq(&text),
            job_runs::last_ok.eq(ok),
        ))
        .execute(&mut conn)?;
    if !ok {
        tracing::error!(job, result = %text, "scheduled job failed");
    }
    result
}

fn run_locked(state: &AppState, conn: &mut PgConnection, job: &str) -> Result<String, AppError> {
    let cfg = &state.config;
    match job {
        REMINDERS => {
            let now = state.clock.now();
            let today = state.clock.today();
            let rolled = crate::payments::renewal::roll_forward_due(conn, today)?;
            let billing = reminders::scan_billing(conn, cfg, today, now)?;
            let digests = crate::workflows::digests::task_digests(conn, cfg, today, now)?;
            let rolled = if rolled > 0 {
                format!(", {rolled} renewal(s) rolled forward")
            } else {
                String::new()
            };
            Ok(format!(
                "{billing} billing reminder(s), {digests} task digest(s) for {today}{rolled}"
            ))
        }
        BACKUP => scheduled_backup(state, conn),
        OFFBOARDINGS => {
            let today = state.clock.today();
            let n = crate::workflows::commands::complete_after_last_day(conn, today)?;
            Ok(format!(
                "{n} offboarding(s) completed after the last day ({today})"
            ))
        }
        _ => match &cfg.mail {
            None => Ok("email not configured (PORTALOPS_SMTP_HOST)".into()),
            Some(mail) => {
                let mailer = Mailer::new(mail).map_err(AppError::Internal)?;
                let d = outbox::drain(conn, &mailer, state.clock.now(), cfg.outbox_max_attempts)?;
                Ok(format!(
                    "{} sent, {} to retry, {} failed",
                    d.sent, d.retrying, d.failed
                ))
            }
        },
    }
}

/// The scheduled backup: an archive into `PORTALOPS_BACKUP_DIR`, then all but the newest
/// `PORTALOPS_BACKUP_KEEP` deleted. A failure is emailed to every Admin (through the outbox)
/// and recorded as the run's result.
fn scheduled_backup(state: &AppState, conn: &mut PgConnection) -> Result<String, AppError> {
    let cfg = &state.config;
    let Some(schedule) = &cfg.backup else {
        return Ok("not configured (PORTALOPS_BACKUP_DIR)".into());
    };
    let url = state
        .db_url
        .clone()
        .ok_or_else(|| AppError::internal("the database address is not known"))?;
    let result = crate::backup::backup(&url, &cfg.upload_dir, &schedule.dir).and_then(|done| {
        let pruned = crate::backup::prune(&schedule.dir, schedule.keep)?;
        Ok(format!(
            "{} ({} rows, {} uploads); {pruned} older archive(s) deleted",
            done.archive.display(),
            done.manifest.tables.values().sum::<i64>(),
            done.manifest.uploads.len()
        ))
    });
    match result {
        Ok(text) => Ok(text),
        Err(e) => {
            let admins: Vec<String> = crate::db::schema::users::table
                .filter(crate::db::schema::users::role.eq("admin"))
                .filter(crate::db::schema::users::is_active.eq(true))
                .select(crate::db::schema::users::email)
                .load(conn)?;
            let text = format!(
                "The scheduled PortalOps backup into {} failed:\n\n{e}\n\nSettings → Scheduler \
                 shows the runs; `portalops backup` runs one by hand.",
                schedule.dir.display()
            );
            let escaped = crate::web::respond::html_escape(&text).replace('\n', "<br>");
            let html = format!("<p>{escaped}</p>");
            for email in &admins {
                outbox::enqueue(
                    conn,
                    state.clock.now(),
                    email,
                    "PortalOps: the scheduled backup failed",
                    &text,
                    &html,
                    None,
                )?;
            }
            Err(AppError::internal(format!("backup failed: {e}")))
        }
    }
}

/// When each job runs next (for the settings page).
pub fn next_run(state: &AppState, job: &str, last_finished: Option<DateTime<Utc>>) -> String {
    let cfg = &state.config;
    match job {
        REMINDERS => {
            let now = state.clock.now().with_timezone(&cfg.timezone);
            let mut date = now.date_naive();
            if now.time() >= cfg.reminder_time {
                date = date.succ_opt().unwrap_or(date);
            }
            format!(
                "{} {} ({})",
                date,
                cfg.reminder_time.format("%H:%M"),
                cfg.timezone
            )
        }
        OFFBOARDINGS => "every hour".into(),
        BACKUP => match &cfg.backup {
            None => "not configured (PORTALOPS_BACKUP_DIR)".into(),
            Some(b) => {
                let now = state.clock.now().with_timezone(&cfg.timezone);
                let mut date = now.date_naive();
                if now.time() >= b.at {
                    date = date.succ_opt().unwrap_or(date);
                }
                format!("{} {} ({})", date, b.at.format("%H:%M"), cfg.timezone)
            }
        },
        _ => match last_finished {
            Some(t) => (t + chrono::Duration::from_std(cfg.outbox_interval).unwrap_or_default())
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string(),
            None => "within a minute of start-up".into(),
        },
    }
}

/// Starts the scheduler thread; stop it by calling `stop` on the handle at shutdown.
pub fn start(state: AppState) -> clokwerk::ScheduleHandle {
    let mut scheduler = Scheduler::with_tz(state.config.timezone);
    let s1 = state.clone();
    scheduler
        .every(1.day())
        .at_time(state.config.reminder_time)
        .run(move || {
            if let Err(e) = run_job(&s1, REMINDERS) {
                tracing::error!(error = %e, "reminder scan failed");
            }
        });
    let s2 = state.clone();
    let secs = state.config.outbox_interval.as_secs().max(1) as u32;
    scheduler.every(Interval::Seconds(secs)).run(move || {
        if let Err(e) = run_job(&s2, OUTBOX) {
            tracing::error!(error = %e, "outbox drain failed");
        }
    });
    // Hourly rather than at midnight: a login already ends with the last day (the login
    // check), and an hour's slack covers a server that was down at midnight.
    let s4 = state.clone();
    scheduler.every(1.hour()).run(move || {
        if let Err(e) = run_job(&s4, OFFBOARDINGS) {
            tracing::error!(error = %e, "completing offboardings failed");
        }
    });
    if let Some(backup) = &state.config.backup {
        let s3 = state.clone();
        scheduler.every(1.day()).at_time(backup.at).run(move || {
            if let Err(e) = run_job(&s3, BACKUP) {
                tracing::error!(error = %e, "scheduled backup failed");
            }
        });
    }
    tracing::info!(timezone = %state.config.timezone, at = %state.config.reminder_time, "scheduler started");
    scheduler.watch_thread(Duration::from_millis(500))
}
