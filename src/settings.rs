//! Settings (Admins): the running configuration, without secrets, and Settings → Scheduler
//! (the jobs' last runs, "Run now", the email queue and its failed emails).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::current_user::CurrentUser;
use crate::auth::session::{self as sess, FlashKind};
use crate::authz::{authorize, Action};
use crate::domain::OutboxId;
use crate::error::{AppError, AppResult};
use crate::inventory::queries::format_time;
use crate::jobs::Job;
use crate::web::respond::{html, redirect};
use crate::web::{AppState, PageCtx};

/// The settings pages (the login locks are `auth`'s, the currency `payments`').
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings", web::get().to(show))
        .route("/settings/scheduler", web::get().to(scheduler))
        .route("/settings/scheduler/{job}/run", web::post().to(run_now))
        .route("/settings/outbox/{id}/retry", web::post().to(retry_email));
}

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
                let seen = format_time(f.last_seen);
                (f, seen)
            })
            .collect(),
    };
    html(StatusCode::OK, page.render())
}

// ---- Settings → Scheduler -------------------------------------------------------------------

pub struct JobRow {
    pub job: &'static str,
    pub what: &'static str,
    pub last_run: String,
    pub result: String,
    pub ok: bool,
    pub next_run: String,
}

pub struct FailedEmail {
    pub id: OutboxId,
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
    let a = user.0.clone();
    let st = crate::db::run(&state.pool, move |conn| {
        crate::jobs::scheduler_state(conn, &a)
    })
    .await?;
    let jobs = Job::ALL
        .into_iter()
        .map(|job| {
            let run = st.last_run(job);
            JobRow {
                job: job.as_str(),
                what: job.what(),
                last_run: run
                    .and_then(|r| r.last_started_at)
                    .map(format_time)
                    .unwrap_or_else(|| "never".into()),
                result: run.map(|r| r.last_result.clone()).unwrap_or_default(),
                ok: run.is_none_or(|r| r.last_ok),
                next_run: crate::jobs::next_run(&state, job, run.and_then(|r| r.last_finished_at)),
            }
        })
        .collect();
    let queue = st.queue;
    let page = SchedulerPage {
        ctx: PageCtx::new(&session, Some(&user.0), "Scheduler", "/settings"),
        jobs,
        failed: queue
            .failed
            .into_iter()
            .map(|f| FailedEmail {
                id: f.id,
                to: f.to,
                subject: f.subject,
                attempts: f.attempts,
                error: f.error,
                failed_at: f.failed_at.map(format_time).unwrap_or_default(),
            })
            .collect(),
        pending: queue.pending,
        sent: queue.sent,
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
    let job = Job::parse(&path.into_inner()).ok_or(AppError::NotFound)?;
    let st = state.get_ref().clone();
    let result = web::block(move || crate::jobs::run_now(&st, &actor, job))
        .await
        .map_err(|_| AppError::internal("job cancelled"))??;
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
    path: web::Path<OutboxId>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManageSettings)?;
    let id = path.into_inner();
    crate::db::run(&state.pool, move |conn| {
        crate::notify::outbox::retry(conn, &actor, id)
    })
    .await?;
    sess::flash(&session, FlashKind::Success, "The email is queued again.");
    Ok(redirect("/settings/scheduler"))
}
