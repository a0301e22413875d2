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
                format!("embedded, under {}", c.data_dir.join("postgres").display())
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
                "lock after {} failures per username or {} per address within {} min, for {} min; delays from the 3rd failure, starting at {} ms",
                t.max_failures_per_user,
                t.max_failures_per_ip,
                t.lockout.as_secs() / 60,
                t.lockout.as_secs() / 60,
                t.delay_step.as_millis()
            ),
        ),
        ("Database pool", format!("{} connections", c.db_pool_size)),
        ("HTTP workers", c.workers.to_string()),
        ("Trust proxy headers", if c.trust_proxy { "yes".into() } else { "no".into() }),
    ];
    let page = SettingsPage {
        ctx: PageCtx::new(&session, Some(&user.0), "Settings", "/settings"),
        rows,
    };
    html(StatusCode::OK, page.render())
}
