//! The notifications page: newest first; opening it marks them read.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, Action};
use crate::db::schema::notifications;
use crate::error::AppResult;
use crate::inventory::queries::format_time;
use crate::web::respond::html;
use crate::web::{AppState, PageCtx};

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
    let id = actor.id;
    let rows = crate::db::run(&state.pool, move |conn| {
        let rows: Vec<(String, String, DateTime<Utc>, Option<DateTime<Utc>>)> =
            notifications::table
                .filter(notifications::user_id.eq(id))
                .order(notifications::id.desc())
                .limit(100)
                .select((
                    notifications::title,
                    notifications::link,
                    notifications::created_at,
                    notifications::read_at,
                ))
                .load(conn)?;
        diesel::update(
            notifications::table
                .filter(notifications::user_id.eq(id))
                .filter(notifications::read_at.is_null()),
        )
        .set(notifications::read_at.eq(Utc::now()))
        .execute(conn)?;
        Ok(rows)
    })
    .await?;
    actor.unread = 0;
    let page = ListPage {
        ctx: PageCtx::new(&session, Some(&actor), "Notifications", "/notifications"),
        rows: rows
            .into_iter()
            .map(|(title, link, at, read)| Row {
                title,
                link,
                at: format_time(at),
                unread: read.is_none(),
            })
            .collect(),
    };
    html(StatusCode::OK, page.render())
}
