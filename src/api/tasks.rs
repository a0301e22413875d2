//! Tasks: `GET /api/v1/tasks` (the caller's open tasks, like "My tasks"), one task, and
//! closing one — done (which grants or revokes the access in the same transaction) or not
//! needed. The workflow commands of the pages, with the same requests and the same rule
//! (`authz::authorize_task`): a task is the caller's when they may complete it now; anyone
//! else gets 404.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::workflows::Reason;
use super::{ApiResult, ApiUser, Json};
use crate::authz::{authorize, Action};
use crate::domain::{TaskId, TaskKind, TaskStatus};
use crate::web::AppState;
use crate::workflows::commands;
use crate::workflows::queries::{self, TaskFilter, TaskRow};
use crate::workflows::requests::TaskCompletion;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Task {
    id: i64,
    workflow_id: i64,
    /// `grant` (onboarding) or `revoke` (offboarding).
    #[schema(value_type = String)]
    kind: TaskKind,
    product_id: i64,
    product: String,
    person_id: i64,
    person: String,
    /// `open`, `done`, `not_needed` or `cancelled`.
    #[schema(value_type = String)]
    status: TaskStatus,
    due_on: chrono::NaiveDate,
    overdue: bool,
    /// Who may complete it now.
    assignees: String,
    completed_by: String,
    completed_at: String,
    note: String,
}

impl From<TaskRow> for Task {
    fn from(t: TaskRow) -> Self {
        Self {
            id: t.id.get(),
            workflow_id: t.workflow_id.get(),
            kind: t.kind,
            product_id: t.product_id.get(),
            product: t.product,
            person_id: t.person_id.get(),
            person: t.person,
            status: t.status,
            due_on: t.due_on,
            overdue: t.overdue,
            assignees: t.assignees,
            completed_by: t.completed_by,
            completed_at: t.completed_at,
            note: t.note,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    /// Both kinds when absent.
    #[param(inline)]
    kind: Option<TaskKind>,
    /// Only the overdue ones.
    #[serde(default)]
    overdue: bool,
}

/// The caller's open tasks, overdue first (every administrator).
#[utoipa::path(get, path = "/api/v1/tasks", tag = "workflows", operation_id = "list_my_tasks",
    params(TaskQuery),
    responses((status = 200, description = "The caller's open tasks", body = Vec<Task>)))]
pub async fn mine(
    user: ApiUser,
    state: web::Data<AppState>,
    query: web::Query<TaskQuery>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ViewDashboard)?;
    let q = query.into_inner();
    let filter = TaskFilter {
        kind: q.kind.map(TaskKind::as_str).unwrap_or_default().into(),
        due: if q.overdue { "overdue" } else { "" }.into(),
    };
    let rows = crate::db::run(&state.pool, move |conn| {
        queries::my_tasks(conn, &actor, &filter)
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(Task::from).collect::<Vec<_>>()))
}

/// One task: open ones for whoever may complete them, closed ones for Admins and whoever
/// closed them.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "workflows", operation_id = "get_task",
    params(("id" = i64, Path, description = "The task's id")),
    responses((status = 200, description = "The task", body = Task)))]
pub async fn show(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    let id = TaskId(path.into_inner());
    let t = crate::db::run(&state.pool, move |conn| queries::task(conn, &actor, id)).await?;
    Ok(HttpResponse::Ok().json(Task::from(t)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Completion {
    /// The account the person got (grant tasks), e.g. their login at the vendor.
    #[serde(default)]
    account_identifier: String,
    #[serde(default)]
    note: String,
    /// Grant even though it goes over the purchased seats (else 422 on `over_seats`).
    #[serde(default)]
    over_seats: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Closed {
    /// The task's workflow, which completes with its last task.
    workflow_id: i64,
}

/// Mark a task done: a grant task grants the access, a revoke task revokes it, in the same
/// transaction as the task, its workflow's progress and the audit entry.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/complete", tag = "workflows", operation_id = "complete_task",
    params(("id" = i64, Path, description = "The task's id")),
    request_body = Completion,
    responses((status = 200, description = "Done", body = Closed)))]
pub async fn complete(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: Json<Completion>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    let id = TaskId(path.into_inner());
    let body = body.into_inner();
    let request = TaskCompletion::done(&body.account_identifier, &body.note)
        .map(|c| c.confirming_seats(body.over_seats));
    let workflow_id = crate::db::run(&state.pool, move |conn| {
        Ok(commands::close_task(conn, &actor, id, request))
    })
    .await??;
    Ok(HttpResponse::Ok().json(Closed {
        workflow_id: workflow_id.get(),
    }))
}

/// Close a task as not needed, with a reason.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/not-needed", tag = "workflows", operation_id = "close_task_not_needed",
    params(("id" = i64, Path, description = "The task's id")),
    request_body = Reason,
    responses((status = 200, description = "Closed", body = Closed)))]
pub async fn not_needed(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: Json<Reason>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    let id = TaskId(path.into_inner());
    let request = TaskCompletion::not_needed(&body.into_inner().reason);
    let workflow_id = crate::db::run(&state.pool, move |conn| {
        Ok(commands::close_task(conn, &actor, id, request))
    })
    .await??;
    Ok(HttpResponse::Ok().json(Closed {
        workflow_id: workflow_id.get(),
    }))
}
