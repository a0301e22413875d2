//! Settings → Login locks (Admins): the locks in force, an unlock button for each, and the
//! untrusted-proxy warning. Thin: the queries and the command are in `locks`.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::current_user::CurrentUser;
use super::forwarding::{self, Forwarder};
use super::locks::{self, Lock};
use super::session::{self as sess, FlashKind};
use crate::authz::{authorize, Action};
use crate::error::AppResult;
use crate::web::format::format_time;
use crate::web::respond::{html, redirect};
use crate::web::{AppState, PageCtx};

#[derive(Template)]
#[template(path = "settings_logins.html")]
struct LocksPage {
    ctx: PageCtx,
    locks: Vec<(Lock, String)>,
    forwarders: Vec<(Forwarder, String)>,
}

pub async fn page(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    authorize(&user.0, Action::ManageSettings)?;
    let actor = user.0.clone();
    let now = state.clock.now();
    let trusted = state.config.trusted_proxies.clone();
    let (locks, forwarders) = crate::db::run(&state.pool, move |conn| {
        Ok((
            locks::in_force(conn, &actor, now)?,
            forwarding::recent(conn, &trusted, now)?,
        ))
    })
    .await?;
    let page = LocksPage {
        ctx: PageCtx::new(&session, Some(&user.0), "Login locks", "/settings"),
        locks: locks
            .into_iter()
            .map(|l| {
                let until = format_time(l.locked_until);
                (l, until)
            })
            .collect(),
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

#[derive(Deserialize)]
pub struct UnlockForm {
    #[serde(default)]
    key: String,
}

/// Lifts one lock (audited); a lock no longer in force answers 404.
pub async fn unlock(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
    form: crate::web::input::Form<UnlockForm>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManageSettings)?;
    // A hidden value naming the lock: nothing typed to refuse.
    let (form, _) = form.into_parts();
    let key = form.key;
    let now = state.clock.now();
    let what = crate::db::run(&state.pool, move |conn| {
        locks::unlock(conn, &actor, &key, now)
    })
    .await?;
    sess::flash(&session, FlashKind::Success, &format!("Unlocked: {what}."));
    Ok(redirect("/settings/logins"))
}
