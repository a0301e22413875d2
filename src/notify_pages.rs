//! The notifications page: newest first; opening it marks them read. A door above `auth`
//! (it takes the `CurrentUser`); the notifications it reads, `notify`, sit below `auth`,
//! which counts the unread ones for the nav.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, Action};
use crate::error::AppResult;
use crate::web::format::format_time;
use crate::web::respond::html;
use crate::web::{AppState, PageCtx};

/// The notifications page's route.
pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    cfg.route("/notifications", actix_web::web::get().to(list));
}

pub struct Row {
    pub title: String,
    pub link: String,
    pub at: String,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "notify/list.html")]
struct ListPage {
    ctx: PageCtx,
    rows: Vec<Row>,
}

pub async fn list(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let mut actor = user.0;
    authorize(&actor, Action::ViewDashboard)?;
    let id = actor.person()?;
    let rows = crate::db::run(&state.pool, move |conn| {
        let rows = crate::notify::recent(conn, id, 100)?;
        crate::notify::mark_read(conn, id, None)?;
        Ok(rows)
    })
    .await?;
    actor.unread = 0;
    let page = ListPage {
        ctx: PageCtx::new(&session, Some(&actor), "Notifications", "/notifications"),
        rows: rows
            .into_iter()
            .map(|n| Row {
                title: n.title,
                link: n.link,
                at: format_time(n.created_at),
                unread: n.read_at.is_none(),
            })
            .collect(),
    };
    html(StatusCode::OK, page.render())
}
