//! Settings (Admins): the running configuration, without secrets. Later modules add their
//! sections (scheduler, mail, backups).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, Action};
use crate::error::AppResult;
use crate::web::respond::html;
use crate::web::{AppState, PageCtx};

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    ctx: PageCtx,
    rows: Vec<(&'static str, String)>,
    locks_in_force: i64,
    /// Peers sending X-Forwarded-For without being trusted proxies, and when last seen.
    forwarders: Vec<(crate::auth::forwarding::Forwarder, String)>,
}

pub async fn show(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageSettings)?;
    let c = &state.config;
    let t = &c.throttle;
    let rows = vec![
        ("PortalOps version", env!("CARGO_PKG_VERSION").to_string()),
        ("Listening on", c.bind.to_string()),
        ("Public URL", c.public_url.clone()),
        (
            "Database",
            if c.database_url.is_some() {
                "external (DATABASE_URL)".into()
            } else {
                format!(
                    "embedded, under {}",
                    crate::db::embedded::cluster_dir(&c.data_dir).display()
                )
            },
        ),
        ("Data directory", c.data_dir.display().to_string()),
        ("Upload directory", c.upload_dir.display().to_string()),
        ("Secure cookie", if c.cookie_secure { "on".into() } else { "off (plain-http local use)".into() }),
        ("Access token lifetime", format!("{} s", c.access_token_ttl.as_secs())),
        ("Session (refresh token) lifetime", format!("{} h", c.refresh_token_ttl.as_secs() / 3600)),
        (
            "Login throttling",
            format!(
                "within {} min: {} failures lock a username from one address (or one known device), {} lock it from every client but its known devices, {} lock an address (known devices excepted); locks last {} min; delays from the 3rd attempt, starting at {} ms",
                t.lockout.as_secs() / 60,
                t.max_failures_per_user,
                t.max_failures_per_account,
                t.max_failures_per_ip,
                t.lockout.as_secs() / 60,
                t.delay_step.as_millis()
            ),
        ),
        ("Database pool", format!("{} connections", c.db_pool_size)),
        ("HTTP workers", c.workers.to_string()),
        (
            "Trusted reverse proxies",
            if c.trusted_proxies.is_empty() {
                "none (client addresses are the peers')".into()
            } else {
                c.trusted_proxies
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ),
    ];
    let now = state.clock.now();
    let trusted = c.trusted_proxies.clone();
    let (locks_in_force, forwarders) = crate::db::run(&state.pool, move |conn| {
        Ok((
            crate::auth::locks::count_in_force(conn, now)?,
            crate::auth::forwarding::recent(conn, &trusted, now)?,
        ))
    })
    .await?;
    let page = SettingsPage {
        ctx: PageCtx::new(&session, Some(&user.0), "Settings", "/settings"),
        rows,
        locks_in_force,
        forwarders: forwarders
            .into_iter()
            .map(|f| {
                let seen = crate::inventory::queries::format_time(f.last_seen);
                (f, seen)
            })
            .collect(),
    };
    html(StatusCode::OK, page.render())
}

// ---- Settings → Scheduler -------------------------------------------------------------------

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::audit::{self, AuditEntry};
use crate::auth::session::{self as sess, FlashKind};
use crate::db::schema::{email_outbox, job_runs};
use crate::error::AppError;
use crate::inventory::queries::format_time;
use crate::web::respond::redirect;

pub struct JobRow {
    pub job: &'static str,
    pub what: &'static str,
    pub last_run: String,
    pub result: String,
    pub ok: bool,
    pub next_run: String,
}

pub struct FailedEmail {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub attempts: i32,
    pub error: String,
    pub failed_at: String,
}

#[derive(Template)]
#[template(path = "settings_scheduler.html")]
struct SchedulerPage {
    ctx: PageCtx,
    jobs: Vec<JobRow>,
    failed: Vec<FailedEmail>,
    pending: i64,
    sent: i64,
    mail_configured: bool,
    scheduler_on: bool,
}

pub async fn scheduler(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageSettings)?;
    let (runs, failed, pending, sent) = crate::db::run(&state.pool, |conn| {
        let runs: Vec<(
            String,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
            String,
            bool,
        )> = job_runs::table
            .select((
                job_runs::job,
                job_runs::last_started_at,
                job_runs::last_finished_at,
                job_runs::last_result,
                job_runs::last_ok,
            ))
            .load(conn)?;
        let failed: Vec<(i64, String, String, i32, String, Option<DateTime<Utc>>)> =
            email_outbox::table
                .filter(email_outbox::failed_at.is_not_null())
                .filter(email_outbox::sent_at.is_null())
                .select((
                    email_outbox::id,
                    email_outbox::to_address,
                    email_outbox::subject,
                    email_outbox::attempts,
                    email_outbox::last_error,
                    email_outbox::failed_at,
                ))
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
        Ok((runs, failed, pending, sent))
    })
    .await?;
    let jobs = crate::jobs::JOBS
        .iter()
        .map(|(job, what)| {
            let run = runs.iter().find(|r| r.0 == *job);
            JobRow {
                job,
                what,
                last_run: run
                    .and_then(|r| r.1)
                    .map(format_time)
                    .unwrap_or_else(|| "never".into()),
                result: run.map(|r| r.3.clone()).unwrap_or_default(),
                ok: run.is_none_or(|r| r.4),
                next_run: crate::jobs::next_run(&state, job, run.and_then(|r| r.2)),
            }
        })
        .collect();
    let page = SchedulerPage {
        ctx: PageCtx::new(&session, Some(&user.0), "Scheduler", "/settings"),
        jobs,
        failed: failed
            .into_iter()
            .map(|f| FailedEmail {
                id: f.0,
                to: f.1,
                subject: f.2,
                attempts: f.3,
                error: f.4,
                failed_at: f.5.map(format_time).unwrap_or_default(),
            })
            .collect(),
        pending,
        sent,
        mail_configured: state.config.mail.is_some(),
        scheduler_on: state.config.scheduler,
    };
    html(StatusCode::OK, page.render())
}

/// "Run now" (audited).
pub async fn run_now(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManageSettings)?;
    let job = path.into_inner();
    let job: &'static str = crate::jobs::JOBS
        .iter()
        .find(|(j, _)| *j == job)
        .map(|(j, _)| *j)
        .ok_or(AppError::NotFound)?;
    let a = actor.clone();
    crate::db::run(&state.pool, move |conn| {
        audit::record(
            conn,
            AuditEntry::by(&a, "scheduler.run_now", "job", Some(job.to_string()))
                .summary(format!("Ran the '{job}' job by hand")),
        )
    })
    .await?;
    let st = state.get_ref().clone();
    let result = web::block(move || crate::jobs::run_job(&st, job))
        .await
        .map_err(|_| AppError::internal("job cancelled"))?;
    match result {
        Ok(text) => sess::flash(&session, FlashKind::Success, &format!("{job}: {text}")),
        Err(e) => sess::flash(&session, FlashKind::Error, &format!("{job} failed: {e}")),
    }
    Ok(redirect("/settings/scheduler"))
}

/// Puts a failed email back in the queue (audited).
pub async fn retry_email(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManageSettings)?;
    let id = path.into_inner();
    crate::db::run(&state.pool, move |conn| {
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
                AuditEntry::by(&actor, "email.retry", "email", Some(id.to_string()))
                    .summary("Queued a failed email again"),
            )?;
            Ok(())
        })
    })
    .await?;
    sess::flash(&session, FlashKind::Success, "The email is queued again.");
    Ok(redirect("/settings/scheduler"))
}
