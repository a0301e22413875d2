//! The dashboard: the first page after login. Later modules add their panels (upcoming
//! renewals, open tasks); for now it shows the directory's size and recent activity.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::Utc;
use diesel::prelude::*;

use crate::audit::queries::{recent_for_actor, AuditRow};
use crate::auth::current_user::CurrentUser;
use crate::authz::{authorize, can, Action, Role};
use crate::db::schema::{audit_log, auth_sessions, users};
use crate::error::AppResult;
use crate::web::respond::html;
use crate::web::{AppState, PageCtx};

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    ctx: PageCtx,
    stats: Option<AdminStats>,
    recent: Vec<AuditRow>,
    show_audit_link: bool,
}

struct AdminStats {
    people: i64,
    login_accounts: i64,
    active_sessions: i64,
    audit_last_day: i64,
}

pub async fn show(
    user: CurrentUser,
    session: Session,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewDashboard)?;
    let is_admin = actor.role == Role::Admin;
    let actor_id = actor.id;
    let (stats, recent) = crate::db::run(&state.pool, move |conn| {
        let stats = if is_admin {
            let now = Utc::now();
            Some(AdminStats {
                people: users::table.count().get_result(conn)?,
                login_accounts: users::table
                    .filter(users::role.ne("user"))
                    .count()
                    .get_result(conn)?,
                active_sessions: auth_sessions::table
                    .filter(auth_sessions::revoked_at.is_null())
                    .filter(auth_sessions::expires_at.gt(now))
                    .count()
                    .get_result(conn)?,
                audit_last_day: audit_log::table
                    .filter(audit_log::at.gt(now - chrono::TimeDelta::days(1)))
                    .count()
                    .get_result(conn)?,
            })
        } else {
            None
        };
        Ok((stats, recent_for_actor(conn, actor_id, 5)?))
    })
    .await?;
    let page = DashboardPage {
        ctx: PageCtx::new(&session, Some(&actor), "Dashboard", "/"),
        stats,
        recent,
        show_audit_link: can(&actor, Action::ViewAuditLog),
    };
    html(StatusCode::OK, page.render())
}
