//! Workflows: `POST /api/v1/workflows/onboarding` and `/workflows/offboarding` (what an HR
//! system calls when someone is hired or leaves), the list, one workflow, and cancelling.
//! The workflow commands and queries of the pages, unchanged (Admins; each change one
//! transaction with its tasks, notifications and audit entry).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{page_number, ApiResult, ApiUser, Json, Page};
use crate::authz::{authorize, Action};
use crate::web::AppState;
use crate::workflows::commands::{self, OffboardForm, OnboardForm};
use crate::workflows::queries;

#[derive(Serialize, utoipa::ToSchema)]
struct Started {
    id: i64,
}

fn started(id: i64) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/workflows/{id}")))
        .json(Started { id })
}

/// Start an onboarding (Admins): what an HR system calls when someone is hired.
///
/// The person is created when the email address is new; each product becomes a grant task
/// for its administrator, due before the start date.
#[utoipa::path(post, path = "/api/v1/workflows/onboarding", tag = "workflows", operation_id = "start_onboarding",
    request_body = OnboardForm,
    responses((status = 201, description = "Started", body = Started,
        headers(("Location" = String, description = "The workflow")))))]
pub async fn onboard(
    user: ApiUser,
    state: web::Data<AppState>,
    body: Json<OnboardForm>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let form = body.into_inner();
    let lead = state.config.task_lead_days;
    let id = crate::db::run(&state.pool, move |conn| {
        Ok(commands::start_onboarding(conn, &actor, &form, lead))
    })
    .await??;
    Ok(started(id))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Offboarding {
    /// The leaver's email address.
    #[serde(default)]
    #[schema(required = true, format = Email)]
    email: String,
    /// The last working day, YYYY-MM-DD.
    #[serde(default)]
    #[schema(required = true, format = Date)]
    last_day: String,
    /// Disable the login now rather than after the last day.
    #[serde(default)]
    disable_now: bool,
}

/// Start an offboarding (Admins): every access the person has becomes a revoke task.
#[utoipa::path(post, path = "/api/v1/workflows/offboarding", tag = "workflows", operation_id = "start_offboarding",
    request_body = Offboarding,
    responses((status = 201, description = "Started", body = Started,
        headers(("Location" = String, description = "The workflow")))))]
pub async fn offboard(
    user: ApiUser,
    state: web::Data<AppState>,
    body: Json<Offboarding>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let body = body.into_inner();
    let form = OffboardForm {
        email: body.email,
        last_day: body.last_day,
        disable_now: body.disable_now.then(|| "on".to_string()),
    };
    let id = crate::db::run(&state.pool, move |conn| {
        Ok(commands::start_offboarding(conn, &actor, &form))
    })
    .await??;
    Ok(started(id))
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WorkflowKind {
    Onboarding,
    Offboarding,
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WorkflowStatus {
    Open,
    Completed,
    Cancelled,
    All,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorkflowQuery {
    /// Both kinds when absent.
    #[param(inline)]
    kind: Option<WorkflowKind>,
    /// `open` when absent.
    #[param(inline)]
    status: Option<WorkflowStatus>,
    /// The page (50 workflows each), from 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    page: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Progress {
    done: i64,
    open: i64,
    overdue: i64,
    /// Closed as not needed, or cancelled.
    closed_other: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Workflow {
    id: i64,
    /// `onboarding` or `offboarding`.
    kind: String,
    person_id: i64,
    person: String,
    /// The start date (onboarding) or last working day (offboarding).
    effective_on: chrono::NaiveDate,
    /// `open`, `completed` or `cancelled`.
    status: String,
    created_at: String,
    progress: Progress,
}

impl From<queries::WorkflowRow> for Workflow {
    fn from(r: queries::WorkflowRow) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            person_id: r.person_id,
            person: r.person_name,
            effective_on: r.effective_on,
            status: r.status,
            created_at: r.created_at,
            progress: Progress {
                done: r.progress.done,
                open: r.progress.open,
                overdue: r.progress.overdue,
                closed_other: r.progress.closed_other,
            },
        }
    }
}

/// Onboardings and offboardings, newest first (Admins).
#[utoipa::path(get, path = "/api/v1/workflows", tag = "workflows", operation_id = "list_workflows",
    params(WorkflowQuery),
    responses((status = 200, description = "One page of workflows", body = Page<Workflow>)))]
pub async fn list(
    user: ApiUser,
    state: web::Data<AppState>,
    query: web::Query<WorkflowQuery>,
) -> ApiResult<HttpResponse> {
    authorize(&user.0, Action::ManagePeople)?;
    let q = query.into_inner();
    let page = page_number(q.page)?;
    let filter = queries::WorkflowFilter {
        kind: match q.kind {
            None => "",
            Some(WorkflowKind::Onboarding) => "onboarding",
            Some(WorkflowKind::Offboarding) => "offboarding",
        }
        .into(),
        status: match q.status {
            None | Some(WorkflowStatus::Open) => "open",
            Some(WorkflowStatus::Completed) => "completed",
            Some(WorkflowStatus::Cancelled) => "cancelled",
            Some(WorkflowStatus::All) => "all",
        }
        .into(),
        page: Some(page),
    };
    let (rows, total) =
        crate::db::run(&state.pool, move |conn| queries::list(conn, &filter)).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: rows.into_iter().map(Workflow::from).collect(),
        page,
        limit: crate::web::pagination::PER_PAGE,
        total,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Handover {
    id: i64,
    /// `service_admin`, `product_admin`, `billing_owner` or `template_maintainer`.
    kind: String,
    /// What is handed over.
    label: String,
    /// `open`, `done` or `cancelled`.
    status: String,
    new_owner: String,
    completed_by: String,
    completed_at: String,
    note: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct WorkflowDetail {
    #[serde(flatten)]
    workflow: Workflow,
    started_by: String,
    cancel_reason: String,
    tasks: Vec<super::tasks::Task>,
    handovers: Vec<Handover>,
}

/// One workflow with its tasks and handovers (Admins).
#[utoipa::path(get, path = "/api/v1/workflows/{id}", tag = "workflows", operation_id = "get_workflow",
    params(("id" = i64, Path, description = "The workflow's id")),
    responses((status = 200, description = "The workflow", body = WorkflowDetail)))]
pub async fn show(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    authorize(&user.0, Action::ManagePeople)?;
    let id = path.into_inner();
    let d = crate::db::run(&state.pool, move |conn| queries::detail(conn, id)).await?;
    Ok(HttpResponse::Ok().json(WorkflowDetail {
        workflow: d.row.into(),
        started_by: d.started_by,
        cancel_reason: d.cancel_reason,
        tasks: d.tasks.into_iter().map(Into::into).collect(),
        handovers: d
            .handovers
            .into_iter()
            .map(|h| Handover {
                id: h.id,
                kind: h.kind,
                label: h.label,
                status: h.status,
                new_owner: h.new_owner,
                completed_by: h.completed_by,
                completed_at: h.completed_at,
                note: h.note,
            })
            .collect(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Reason {
    /// Why (kept in the workflow and the audit log).
    #[serde(default)]
    #[schema(required = true, min_length = 1)]
    pub(super) reason: String,
}

/// Cancel an open workflow with a reason; its open tasks and handovers are cancelled too.
#[utoipa::path(post, path = "/api/v1/workflows/{id}/cancel", tag = "workflows", operation_id = "cancel_workflow",
    params(("id" = i64, Path, description = "The workflow's id")),
    request_body = Reason,
    responses((status = 204, description = "Cancelled")))]
pub async fn cancel(
    user: ApiUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: Json<Reason>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let id = path.into_inner();
    let reason = body.into_inner().reason;
    crate::db::run(&state.pool, move |conn| {
        Ok(commands::cancel(conn, &actor, id, &reason))
    })
    .await??;
    Ok(HttpResponse::NoContent().finish())
}
