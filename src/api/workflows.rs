//! Workflows: `POST /api/v1/workflows/onboarding` and `/workflows/offboarding` (what an HR
//! system calls when someone is hired or leaves), the list, one workflow, and cancelling.
//! The workflow commands and queries of the pages, with the same requests (Admins; each
//! change one transaction with its tasks, notifications and audit entry).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{page_number, ApiResult, ApiUser, Json, Page};
use crate::authz::{authorize, Action};
use crate::domain::{WorkflowId, WorkflowKind};
use crate::error::CommandError;
use crate::web::AppState;
use crate::workflows::commands;
use crate::workflows::queries;
use crate::workflows::requests::{Cancellation, NewOffboarding, NewOnboarding};

#[derive(Serialize, utoipa::ToSchema)]
struct Started {
    id: i64,
}

fn started(id: WorkflowId) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/workflows/{id}")))
        .json(Started { id: id.get() })
}

/// A new person to onboard, or an existing one (by email).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct Onboarding {
    #[serde(default)]
    #[schema(required = true, format = Email)]
    email: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    job_title: String,
    /// The first working day, YYYY-MM-DD.
    #[serde(default)]
    #[schema(required = true, format = Date)]
    start_date: String,
    template_id: Option<i64>,
    /// Products chosen (the template's are pre-selected on the form).
    #[serde(default)]
    product_ids: Vec<i64>,
}

/// Start an onboarding (Admins): what an HR system calls when someone is hired.
///
/// The person is created when the email address is new; each product becomes a grant task
/// for its administrator, due before the start date.
#[utoipa::path(post, path = "/api/v1/workflows/onboarding", tag = "workflows", operation_id = "start_onboarding",
    request_body = Onboarding,
    responses((status = 201, description = "Started", body = Started,
        headers(("Location" = String, description = "The workflow")))))]
pub async fn onboard(
    user: ApiUser,
    state: web::Data<AppState>,
    body: Json<Onboarding>,
) -> ApiResult<HttpResponse> {
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let b = body.into_inner();
    let request = NewOnboarding::new(
        &b.email,
        &b.full_name,
        &b.department,
        &b.job_title,
        &b.start_date,
        b.template_id,
        &b.product_ids,
    )
    .map_err(CommandError::Invalid)?;
    let lead = state.config.task_lead_days;
    let id = crate::db::run(&state.pool, move |conn| {
        Ok(commands::start_onboarding(conn, &actor, request, lead))
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
    let request = NewOffboarding::new(&body.email, &body.last_day, body.disable_now)
        .map_err(CommandError::Invalid)?;
    let id = crate::db::run(&state.pool, move |conn| {
        Ok(commands::start_offboarding(conn, &actor, request))
    })
    .await??;
    Ok(started(id))
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
    #[schema(value_type = String)]
    kind: WorkflowKind,
    person_id: i64,
    person: String,
    /// The start date (onboarding) or last working day (offboarding).
    effective_on: chrono::NaiveDate,
    /// `open`, `completed` or `cancelled`.
    #[schema(value_type = String)]
    status: crate::domain::WorkflowStatus,
    created_at: String,
    progress: Progress,
}

impl From<queries::WorkflowRow> for Workflow {
    fn from(r: queries::WorkflowRow) -> Self {
        Self {
            id: r.id.get(),
            kind: r.kind,
            person_id: r.person_id.get(),
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
        kind: q.kind.map(WorkflowKind::as_str).unwrap_or_default().into(),
        status: match q.status {
            None | Some(WorkflowStatus::Open) => "open",
            Some(WorkflowStatus::Completed) => "completed",
            Some(WorkflowStatus::Cancelled) => "cancelled",
            Some(WorkflowStatus::All) => "all",
        }
        .into(),
        page: Some(page),
    };
    let actor = user.0;
    let (rows, total) = crate::db::run(&state.pool, move |conn| {
        queries::list(conn, &actor, &filter)
    })
    .await?;
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
    #[schema(value_type = String)]
    kind: crate::domain::HandoverKind,
    /// What is handed over.
    label: String,
    /// `open`, `done` or `cancelled`.
    #[schema(value_type = String)]
    status: crate::domain::HandoverStatus,
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
    let actor = user.0;
    authorize(&actor, Action::ManagePeople)?;
    let id = WorkflowId(path.into_inner());
    let d = crate::db::run(&state.pool, move |conn| queries::detail(conn, &actor, id)).await?;
    Ok(HttpResponse::Ok().json(WorkflowDetail {
        workflow: d.row.into(),
        started_by: d.started_by,
        cancel_reason: d.cancel_reason,
        tasks: d.tasks.into_iter().map(Into::into).collect(),
        handovers: d
            .handovers
            .into_iter()
            .map(|h| Handover {
                id: h.id.get(),
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
    let id = WorkflowId(path.into_inner());
    let request = Cancellation::new(&body.into_inner().reason).map_err(CommandError::Invalid)?;
    crate::db::run(&state.pool, move |conn| {
        Ok(commands::cancel(conn, &actor, id, request))
    })
    .await??;
    Ok(HttpResponse::NoContent().finish())
}
