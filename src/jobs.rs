//! The scheduled jobs and the clokwerk thread that runs them: the daily reminder scans and
//! the outbox drain. Each run holds a PostgreSQL advisory lock for its job, so when several
//! instances share a database a job runs in one of them at a time. Runs are recorded for
//! Settings → Scheduler, which can also start one at once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use clokwerk::{Interval, Job as _, Scheduler, TimeUnits as _};
use diesel::prelude::*;

use crate::audit::{self, AuditEntry};
use crate::authz::{authorize, Action, Actor};
use crate::db::schema::job_runs;
use crate::error::AppError;
use crate::notify::{mail::Mailer, outbox, reminders};
use crate::web::AppState;

/// A scheduled job. Its name is what `job_runs.job`, the audit log and the "Run now" URL
/// hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Job {
    Reminders,
    Outbox,
    Backup,
    Offboardings,
}

impl Job {
    /// Every job, in the order Settings → Scheduler lists them.
    pub const ALL: [Job; 4] = [Job::Reminders, Job::Outbox, Job::Backup, Job::Offboardings];

    pub const fn as_str(self) -> &'static str {
        match self {
            Job::Reminders => "reminders",
            Job::Outbox => "outbox",
            Job::Backup => "backup",
            Job::Offboardings => "offboardings",
        }
    }

    pub fn parse(name: &str) -> Option<Job> {
        Job::ALL.into_iter().find(|j| j.as_str() == name)
    }

    /// What it does, for the settings page.
    pub fn what(self) -> &'static str {
        match self {
            Job::Reminders => "Payment reminders and task digests",
            Job::Outbox => "Send queued emails",
            Job::Backup => "Back up the database and uploads",
            Job::Offboardings => "Complete the offboardings waiting for their last day to end",
        }
    }

    /// The PostgreSQL advisory lock held while it runs.
    fn lock_key(self) -> i64 {
        match self {
            Job::Reminders => 0x706f_7274_0001,
            Job::Outbox => 0x706f_7274_0002,
            Job::Backup => 0x706f_7274_0003,
            Job::Offboardings => 0x706f_7274_0004,
        }
    }
}

impl std::fmt::Display for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub const REMINDERS: &str = Job::Reminders.as_str();
pub const OUTBOX: &str = Job::Outbox.as_str();
pub const BACKUP: &str = Job::Backup.as_str();
pub const OFFBOARDINGS: &str = Job::Offboardings.as_str();

/// A job's last recorded run (`job_runs`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = job_runs, check_for_backend(diesel::pg::Pg))]
pub struct JobRun {
    pub job: String,
    pub last_started_at: Option<DateTime<Utc>>,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub last_result: String,
    pub last_ok: bool,
}

/// Every job's last run, and the email queue (Admins: Settings → Scheduler).
pub struct SchedulerState {
    pub runs: Vec<JobRun>,
    pub queue: outbox::QueueState,
}

impl SchedulerState {
    /// The last recorded run of `job`, if it ever ran.
    pub fn last_run(&self, job: Job) -> Option<&JobRun> {
        self.runs.iter().find(|r| r.job == job.as_str())
    }
}

/// The scheduler's state for Settings → Scheduler.
pub fn scheduler_state(conn: &mut PgConnection, actor: &Actor) -> Result<SchedulerState, AppError> {
    authorize(actor, Action::ManageSettings)?;
    Ok(SchedulerState {
        runs: job_runs::table.select(JobRun::as_select()).load(conn)?,
        queue: outbox::queue_state(conn, actor)?,
    })
}

/// "Run now" from Settings → Scheduler (blocking): the audit entry, then the run. The outer
/// error is the audit's; the inner result is the run's, for the flash message.
pub fn run_now(
    state: &AppState,
    actor: &Actor,
    job: Job,
) -> Result<Result<String, AppError>, AppError> {
    authorize(actor, Action::ManageSettings)?;
    {
        let mut conn = state.pool.get()?;
        audit::record(
            &mut conn,
            AuditEntry::by(actor, "scheduler.run_now", "job", Some(job.to_string()))
                .summary(format!("Ran the '{job}' job by hand")),
        )?;
    }
    Ok(run(state, job))
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

/// Runs the job named `job` now (blocking) and records the run; `NotFound` for an unknown
/// name. "skipped" when another instance runs it.
pub fn run_job(state: &AppState, job: &str) -> Result<String, AppError> {
    run(state, Job::parse(job).ok_or(AppError::NotFound)?)
}

/// Runs `job` now (blocking) and records the run. "skipped" when another instance runs it.
pub fn run(state: &AppState, job: Job) -> Result<String, AppError> {
    let mut conn = state.pool.get()?;
    let key = job.lock_key();
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
            job_runs::job.eq(job.as_str()),
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
        tracing::error!(job = job.as_str(), result = %text, "scheduled job failed");
    }
    result
}

fn run_locked(state: &AppState, conn: &mut PgConnection, job: Job) -> Result<String, AppError> {
    let cfg = &state.config;
    match job {
        Job::Reminders => {
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
        Job::Backup => scheduled_backup(state, conn),
        Job::Offboardings => {
            let today = state.clock.today();
            let n = crate::workflows::commands::complete_after_last_day(conn, today)?;
            Ok(format!(
                "{n} offboarding(s) completed after the last day ({today})"
            ))
        }
        Job::Outbox => match &cfg.mail {
            None => Ok("email not configured (PORTALOPS_SMTP_HOST)".into()),
            Some(mail) => {
                let mailer = Mailer::new(mail).map_err(AppError::Internal)?;
                let key = cfg
                    .jwt_secret
                    .as_ref()
                    .ok_or_else(|| AppError::internal("JWT secret not resolved"))?;
                let d = outbox::drain(
                    conn,
                    &mailer,
                    key.expose(),
                    state.clock.now(),
                    cfg.outbox_max_attempts,
                )?;
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
pub fn next_run(state: &AppState, job: Job, last_finished: Option<DateTime<Utc>>) -> String {
    let cfg = &state.config;
    match job {
        Job::Reminders => {
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
        Job::Offboardings => "every hour".into(),
        Job::Backup => match &cfg.backup {
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
        Job::Outbox => match last_finished {
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
            if let Err(e) = run(&s1, Job::Reminders) {
                tracing::error!(error = %e, "reminder scan failed");
            }
        });
    let s2 = state.clone();
    let secs = state.config.outbox_interval.as_secs().max(1) as u32;
    scheduler.every(Interval::Seconds(secs)).run(move || {
        if let Err(e) = run(&s2, Job::Outbox) {
            tracing::error!(error = %e, "outbox drain failed");
        }
    });
    // Hourly rather than at midnight: a login already ends with the last day (the login
    // check), and an hour's slack covers a server that was down at midnight.
    let s4 = state.clone();
    scheduler.every(1.hour()).run(move || {
        if let Err(e) = run(&s4, Job::Offboardings) {
            tracing::error!(error = %e, "completing offboardings failed");
        }
    });
    if let Some(backup) = &state.config.backup {
        let s3 = state.clone();
        scheduler.every(1.day()).at_time(backup.at).run(move || {
            if let Err(e) = run(&s3, Job::Backup) {
                tracing::error!(error = %e, "scheduled backup failed");
            }
        });
    }
    tracing::info!(timezone = %state.config.timezone, at = %state.config.reminder_time, "scheduler started");
    scheduler.watch_thread(Duration::from_millis(500))
}
