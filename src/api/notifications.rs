//! `GET /api/v1/notifications` and marking them read: the caller's own in-app notifications
//! (new tasks, finished workflows, reminders), through the same queries as their page.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{page_limit, ApiResult, ApiUser};
use crate::web::AppState;

#[derive(Serialize, utoipa::ToSchema)]
struct Notification {
    id: i64,
    /// What happened: `task.assigned`, `workflow.completed`, `handover.needed`,
    /// `reminder.tasks` or `reminder.<billing event>`.
    kind: String,
    title: String,
    /// The page it is about (a path of the web interface).
    link: String,
    created_at: chrono::DateTime<chrono::Utc>,
    read: bool,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// How many, newest first: 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// The caller's newest notifications; reading them here does not mark them read.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", operation_id = "list_notifications",
    params(NotificationQuery),
    responses((status = 200, description = "Newest first", body = Vec<Notification>)))]
pub async fn list(
    user: ApiUser,
    state: web::Data<AppState>,
    query: web::Query<NotificationQuery>,
) -> ApiResult<HttpResponse> {
    let limit = page_limit(query.limit)?;
    let id = user.0.person()?;
    let rows = crate::db::run(&state.pool, move |conn| {
        crate::notify::recent(conn, id, limit)
    })
    .await?;
    Ok(HttpResponse::Ok().json(
        rows.into_iter()
            .map(|n| Notification {
                id: n.id,
                kind: n.kind,
                title: n.title,
                link: n.link,
                created_at: n.created_at,
                read: n.read_at.is_some(),
            })
            .collect::<Vec<_>>(),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Marked {
    /// How many were unread and are now read.
    marked: usize,
}

/// Mark all of the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "notifications", operation_id = "mark_all_notifications_read",
    responses((status = 200, description = "Marked", body = Marked)))]
pub async fn read_all(user: ApiUser, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let id = user.0.person()?;
    let marked = crate::db::run(&state.pool, move |conn| {
        crate::notify::mark_read(conn, id, None)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Marked { marked }))
}

/// Mark one of the caller's notifications read (someone else's answers 404).
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", operation_id = "mark_notification_read",
    params(("id" = i64, Path, description = "The notification's id")),
    responses((status = 200, description = "Marked (0 if it was read already)", body = Marked)))]
pub async fn read_one(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let (user_id, id) = (user.0.person()?, path.into_inner());
    let marked = crate::db::run(&state.pool, move |conn| {
        let mine = crate::notify::owner_of(conn, id)? == Some(user_id);
        if !mine {
            return Err(crate::error::AppError::NotFound);
        }
        crate::notify::mark_read(conn, user_id, Some(id))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Marked { marked }))
}
