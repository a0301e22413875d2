//! Workflow reads: the list with progress, a workflow's tasks, "my tasks", a task's page,
//! what the onboarding form offers, the offboarding evidence report, and what deciding a
//! task action needs to know (`task_facts`, for `authz::authorize_task`).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use serde::Deserialize;

use super::assign;
use crate::authz::{authorize, authorize_task, Action, Actor, TaskAction, TaskFacts};
use crate::db::schema::{access_grants, products, services, tasks, users, workflows};
use crate::domain::{
    GrantId, PersonId, ProductId, TaskId, TaskKind, TaskStatus, TemplateId, WorkflowId,
    WorkflowKind, WorkflowStatus,
};
use crate::error::AppError;
use crate::web::format::format_time;
use crate::web::pagination::{Pager, PER_PAGE};

#[derive(Debug, Clone, Default, Deserialize)]
pub struct WorkflowFilter {
    #[serde(default)]
    pub kind: String,
    /// "open" (default), "completed", "cancelled" or "all".
    #[serde(default)]
    pub status: String,
    pub page: Option<i64>,
}

impl WorkflowFilter {
    pub fn status_or_default(&self) -> &str {
        match self.status.as_str() {
            "completed" | "cancelled" | "all" => &self.status,
            _ => "open",
        }
    }
}

#[derive(Default, Clone, Copy)]
pub struct Progress {
    pub done: i64,
    pub open: i64,
    pub overdue: i64,
    pub closed_other: i64,
}

impl Progress {
    pub fn total(&self) -> i64 {
        self.done + self.open + self.closed_other
    }
    pub fn percent(&self) -> i64 {
        if self.total() == 0 {
            100
        } else {
            (self.done + self.closed_other) * 100 / self.total()
        }
    }
}

pub struct WorkflowRow {
    pub id: WorkflowId,
    pub kind: WorkflowKind,
    pub person_id: PersonId,
    pub person_name: String,
    pub effective_on: NaiveDate,
    pub status: WorkflowStatus,
    pub created_at: String,
    pub progress: Progress,
}

impl WorkflowRow {
    pub fn is_open(&self) -> bool {
        self.status == WorkflowStatus::Open
    }

    pub fn is_offboarding(&self) -> bool {
        self.kind == WorkflowKind::Offboarding
    }
}

/// Progress per workflow, in one grouped query.
fn progress_of(
    conn: &mut PgConnection,
    ids: &[WorkflowId],
    today: NaiveDate,
) -> Result<HashMap<WorkflowId, Progress>, AppError> {
    let rows: Vec<(WorkflowId, TaskStatus, NaiveDate, i64)> = tasks::table
        .filter(tasks::workflow_id.eq_any(ids))
        .group_by((tasks::workflow_id, tasks::status, tasks::due_on))
        .select((
            tasks::workflow_id,
            tasks::status,
            tasks::due_on,
            count_star(),
        ))
        .load(conn)?;
    let mut out: HashMap<WorkflowId, Progress> = HashMap::new();
    for (id, status, due, n) in rows {
        let late = due < today;
        let p = out.entry(id).or_default();
        match status {
            TaskStatus::Done => p.done += n,
            TaskStatus::Open => {
                p.open += n;
                if late {
                    p.overdue += n;
                }
            }
            TaskStatus::NotNeeded | TaskStatus::Cancelled => p.closed_other += n,
        }
    }
    Ok(out)
}

#[derive(Queryable, Selectable)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct WorkflowListed {
    #[diesel(select_expression = workflows::id)]
    id: WorkflowId,
    #[diesel(select_expression = workflows::kind)]
    kind: WorkflowKind,
    #[diesel(select_expression = workflows::person_id)]
    person_id: PersonId,
    #[diesel(select_expression = users::full_name)]
    person_name: String,
    #[diesel(select_expression = workflows::effective_on)]
    effective_on: NaiveDate,
    #[diesel(select_expression = workflows::status)]
    status: WorkflowStatus,
    #[diesel(select_expression = workflows::created_at)]
    created_at: DateTime<Utc>,
}

/// One page of workflows, newest first (Admins). A kind this code does not know matches
/// nothing; a status other than completed, cancelled or all means open.
pub fn list(
    conn: &mut PgConnection,
    actor: &Actor,
    f: &WorkflowFilter,
) -> Result<(Vec<WorkflowRow>, i64), AppError> {
    authorize(actor, Action::ManagePeople)?;
    let kind = match f.kind.as_str() {
        "" => None,
        k => match WorkflowKind::parse(k) {
            Some(k) => Some(k),
            None => return Ok((Vec::new(), 0)),
        },
    };
    let status = WorkflowStatus::parse(f.status_or_default());
    let filtered = || {
        let mut q = workflows::table.inner_join(users::table).into_boxed();
        if let Some(kind) = kind {
            q = q.filter(workflows::kind.eq(kind));
        }
        if let Some(status) = status {
            q = q.filter(workflows::status.eq(status));
        }
        q
    };
    let total: i64 = filtered().count().get_result(conn)?;
    let rows: Vec<WorkflowListed> = filtered()
        .order(workflows::id.desc())
        .select(WorkflowListed::as_select())
        .limit(PER_PAGE)
        .offset(Pager::offset(f.page.unwrap_or(1)))
        .load(conn)?;
    let ids: Vec<WorkflowId> = rows.iter().map(|r| r.id).collect();
    let progress = progress_of(conn, &ids, actor.today)?;
    Ok((
        rows.into_iter()
            .map(|r| WorkflowRow {
                progress: progress.get(&r.id).copied().unwrap_or_default(),
                id: r.id,
                kind: r.kind,
                person_id: r.person_id,
                person_name: r.person_name,
                effective_on: r.effective_on,
                status: r.status,
                created_at: format_time(r.created_at),
            })
            .collect(),
        total,
    ))
}

#[derive(Clone)]
pub struct TaskRow {
    pub id: TaskId,
    pub workflow_id: WorkflowId,
    pub kind: TaskKind,
    pub product_id: ProductId,
    pub product: String,
    pub person_id: PersonId,
    pub person: String,
    pub status: TaskStatus,
    pub due_on: NaiveDate,
    pub overdue: bool,
    pub completed_by: String,
    pub completed_at: String,
    pub note: String,
    pub assignees: String,
}

impl TaskRow {
    pub fn is_open(&self) -> bool {
        self.status == TaskStatus::Open
    }

    pub fn is_grant(&self) -> bool {
        self.kind == TaskKind::Grant
    }

    /// "Grant" or "Revoke".
    pub fn verb(&self) -> &'static str {
        super::commands::verb(self.kind)
    }
}

/// A task as its pages and the API show it, before names are looked up.
#[derive(Queryable, Selectable)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct TaskListed {
    #[diesel(select_expression = tasks::id)]
    id: TaskId,
    #[diesel(select_expression = tasks::workflow_id)]
    workflow_id: WorkflowId,
    #[diesel(select_expression = tasks::kind)]
    kind: TaskKind,
    #[diesel(select_expression = tasks::product_id)]
    product_id: ProductId,
    #[diesel(select_expression = services::name.concat(" → ").concat(products::name))]
    #[diesel(select_expression_type = diesel::dsl::Concat<diesel::dsl::Concat<services::name, &'static str>, products::name>)]
    product: String,
    #[diesel(select_expression = workflows::person_id)]
    person_id: PersonId,
    #[diesel(select_expression = users::full_name)]
    person: String,
    #[diesel(select_expression = tasks::status)]
    status: TaskStatus,
    #[diesel(select_expression = tasks::due_on)]
    due_on: NaiveDate,
    #[diesel(select_expression = tasks::completed_by)]
    completed_by: Option<PersonId>,
    #[diesel(select_expression = tasks::completed_at)]
    completed_at: Option<DateTime<Utc>>,
    #[diesel(select_expression = tasks::note)]
    note: String,
}

fn task_rows(
    conn: &mut PgConnection,
    rows: Vec<TaskListed>,
    with_assignees: bool,
    today: NaiveDate,
) -> Result<Vec<TaskRow>, AppError> {
    let completer_ids: Vec<PersonId> = rows.iter().filter_map(|r| r.completed_by).collect();
    let names: HashMap<PersonId, String> = users::table
        .filter(users::id.eq_any(completer_ids))
        .select((users::id, users::full_name))
        .load::<(PersonId, String)>(conn)?
        .into_iter()
        .collect();
    let mut out = Vec::new();
    for r in rows {
        let open = r.status == TaskStatus::Open;
        let assignees = if with_assignees && open {
            let (ids, role) = assign::assignees(conn, r.product_id.get(), r.person_id.get())?;
            let people: Vec<String> = users::table
                .filter(users::id.eq_any(ids))
                .select(users::full_name)
                .order(users::full_name.asc())
                .load(conn)?;
            format!("{} ({})", people.join(", "), role.label())
        } else {
            String::new()
        };
        out.push(TaskRow {
            overdue: open && r.due_on < today,
            completed_by: r
                .completed_by
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_default(),
            completed_at: r.completed_at.map(format_time).unwrap_or_default(),
            id: r.id,
            workflow_id: r.workflow_id,
            kind: r.kind,
            product_id: r.product_id,
            product: r.product,
            person_id: r.person_id,
            person: r.person,
            status: r.status,
            due_on: r.due_on,
            note: r.note,
            assignees,
        });
    }
    Ok(out)
}

pub struct WorkflowDetail {
    pub row: WorkflowRow,
    pub tasks: Vec<TaskRow>,
    pub handovers: Vec<super::handover::HandoverRow>,
    pub cancel_reason: String,
    pub started_by: String,
}

impl WorkflowDetail {
    pub fn open_handovers(&self) -> usize {
        self.handovers.iter().filter(|h| h.is_open()).count()
    }

    /// "Onboarding of Ada Lovelace".
    pub fn title(&self) -> String {
        format!("{} of {}", self.row.kind.label(), self.row.person_name)
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = workflows, check_for_backend(diesel::pg::Pg))]
struct WorkflowStored {
    kind: WorkflowKind,
    person_id: PersonId,
    status: WorkflowStatus,
    effective_on: NaiveDate,
    created_at: DateTime<Utc>,
    cancel_reason: String,
    started_by: Option<PersonId>,
}

/// One workflow with its tasks and handovers (Admins; 404 when there is none).
pub fn detail(
    conn: &mut PgConnection,
    actor: &Actor,
    id: WorkflowId,
) -> Result<WorkflowDetail, AppError> {
    authorize(actor, Action::ManagePeople)?;
    let w: WorkflowStored = workflows::table
        .find(id)
        .select(WorkflowStored::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    let person_name: String = users::table
        .find(w.person_id)
        .select(users::full_name)
        .first(conn)?;
    let started_by: String = match w.started_by {
        Some(s) => users::table
            .find(s)
            .select(users::full_name)
            .first(conn)
            .optional()?
            .unwrap_or_default(),
        None => String::new(),
    };
    let rows: Vec<TaskListed> = tasks::table
        .inner_join(products::table.inner_join(services::table))
        .inner_join(workflows::table.inner_join(users::table))
        .filter(tasks::workflow_id.eq(id))
        .order((tasks::status.desc(), tasks::due_on.asc(), tasks::id.asc()))
        .select(TaskListed::as_select())
        .load(conn)?;
    let tasks = task_rows(conn, rows, true, actor.today)?;
    let progress = progress_of(conn, &[id], actor.today)?
        .remove(&id)
        .unwrap_or_default();
    Ok(WorkflowDetail {
        row: WorkflowRow {
            id,
            kind: w.kind,
            person_id: w.person_id,
            person_name,
            effective_on: w.effective_on,
            status: w.status,
            created_at: format_time(w.created_at),
            progress,
        },
        tasks,
        handovers: super::handover::list(conn, id)?,
        cancel_reason: w.cancel_reason,
        started_by,
    })
}

/// The offboarding report of workflow `id`: the workflow and every access its person ever
/// had (Admins; 404 for an onboarding or no workflow).
pub fn offboarding_report(
    conn: &mut PgConnection,
    actor: &Actor,
    id: WorkflowId,
) -> Result<(WorkflowDetail, Vec<ReportRow>), AppError> {
    let d = detail(conn, actor, id)?;
    let rows = report(conn, d.row.person_id)?;
    if !d.row.is_offboarding() {
        return Err(AppError::NotFound);
    }
    Ok((d, rows))
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TaskFilter {
    #[serde(default)]
    pub kind: String,
    /// "overdue" to see only overdue tasks.
    #[serde(default)]
    pub due: String,
}

/// The actor's open tasks, overdue first. A kind this code does not know matches nothing.
pub fn my_tasks(
    conn: &mut PgConnection,
    actor: &Actor,
    f: &TaskFilter,
) -> Result<Vec<TaskRow>, AppError> {
    let kind = match f.kind.as_str() {
        "" => None,
        k => match TaskKind::parse(k) {
            Some(k) => Some(k),
            None => return Ok(Vec::new()),
        },
    };
    let q = tasks::table.inner_join(products::table).into_boxed();
    let mine_ids: Vec<TaskId> = assign::mine(actor, q)
        .filter(tasks::status.eq(TaskStatus::Open))
        .select(tasks::id)
        .load(conn)?;
    let mut q = tasks::table
        .inner_join(products::table.inner_join(services::table))
        .inner_join(workflows::table.inner_join(users::table))
        .filter(tasks::id.eq_any(mine_ids))
        .into_boxed();
    if let Some(kind) = kind {
        q = q.filter(tasks::kind.eq(kind));
    }
    if f.due == "overdue" {
        q = q.filter(tasks::due_on.lt(actor.today));
    }
    let rows: Vec<TaskListed> = q
        .order((tasks::due_on.asc(), tasks::id.asc()))
        .limit(500)
        .select(TaskListed::as_select())
        .load(conn)?;
    task_rows(conn, rows, false, actor.today)
}

/// What closing a task needs to know about it, read with the row locked.
pub struct TaskState {
    pub workflow_id: WorkflowId,
    pub kind: TaskKind,
    pub product_id: ProductId,
    pub grant_id: Option<GrantId>,
    pub status: TaskStatus,
    pub completed_by: Option<PersonId>,
    pub person_id: PersonId,
    pub person_name: String,
}

/// Task `id`, locked for the transaction that closes it (404 when there is none).
pub(crate) fn task_for_update(conn: &mut PgConnection, id: TaskId) -> Result<TaskState, AppError> {
    let r: (
        WorkflowId,
        TaskKind,
        ProductId,
        Option<GrantId>,
        TaskStatus,
        Option<PersonId>,
        PersonId,
        String,
    ) = tasks::table
        .inner_join(workflows::table.inner_join(users::table))
        .filter(tasks::id.eq(id))
        .select((
            tasks::workflow_id,
            tasks::kind,
            tasks::product_id,
            tasks::grant_id,
            tasks::status,
            tasks::completed_by,
            workflows::person_id,
            users::full_name,
        ))
        .for_update()
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    Ok(TaskState {
        workflow_id: r.0,
        kind: r.1,
        product_id: r.2,
        grant_id: r.3,
        status: r.4,
        completed_by: r.5,
        person_id: r.6,
        person_name: r.7,
    })
}

/// What `authz::authorize_task` decides from: the task's person, whether the actor is one
/// of its assignees now, and how it stands.
pub(crate) fn task_facts(
    conn: &mut PgConnection,
    actor: &Actor,
    t: &TaskState,
) -> Result<TaskFacts, AppError> {
    // Admins and the task's person are decided without the assignees.
    // A service account is never an assignee.
    let assigned_to_actor = match actor.person_id() {
        Some(me) if !actor.is_admin() && me != t.person_id.get() => {
            assign::assignees(conn, t.product_id.get(), t.person_id.get())?
                .0
                .contains(&me)
        }
        _ => false,
    };
    Ok(TaskFacts {
        person_id: t.person_id.get(),
        assigned_to_actor,
        open: t.status == TaskStatus::Open,
        completed_by: t.completed_by.map(PersonId::get),
    })
}

/// One task, if the actor may see it (`authz::authorize_task`); others get 404.
pub fn task(conn: &mut PgConnection, actor: &Actor, id: TaskId) -> Result<TaskRow, AppError> {
    let rows: Vec<TaskListed> = tasks::table
        .inner_join(products::table.inner_join(services::table))
        .inner_join(workflows::table.inner_join(users::table))
        .filter(tasks::id.eq(id))
        .select(TaskListed::as_select())
        .load(conn)?;
    let Some(listed) = rows.first() else {
        return Err(AppError::NotFound);
    };
    let state = TaskState {
        workflow_id: listed.workflow_id,
        kind: listed.kind,
        product_id: listed.product_id,
        grant_id: None,
        status: listed.status,
        completed_by: listed.completed_by,
        person_id: listed.person_id,
        person_name: String::new(),
    };
    let facts = task_facts(conn, actor, &state)?;
    authorize_task(actor, TaskAction::View, &facts)?;
    task_rows(conn, rows, true, actor.today)?
        .pop()
        .ok_or(AppError::NotFound)
}

/// What the onboarding form offers.
pub struct OnboardingChoices {
    /// The templates, (id, name).
    pub templates: Vec<(TemplateId, String)>,
    /// The products the actor may grant, (id, label).
    pub products: Vec<(i64, String)>,
}

/// What the onboarding form offers: the templates and the products the actor may grant.
pub fn onboarding_choices(
    conn: &mut PgConnection,
    actor: &Actor,
) -> Result<OnboardingChoices, AppError> {
    authorize(actor, Action::ManagePeople)?;
    Ok(OnboardingChoices {
        templates: super::templates::names(conn)?,
        products: crate::directory::queries::grantable_products(conn, actor)?,
    })
}

/// What a new onboarding form starts from: the template's products, and the person's
/// name, department and job title when `email` is someone in the directory.
pub struct OnboardingDefaults {
    pub product_ids: Vec<ProductId>,
    pub full_name: String,
    pub department: String,
    pub job_title: String,
}

pub fn onboarding_defaults(
    conn: &mut PgConnection,
    actor: &Actor,
    template: Option<TemplateId>,
    email: &str,
) -> Result<OnboardingDefaults, AppError> {
    authorize(actor, Action::ManagePeople)?;
    let product_ids = match template {
        Some(t) => super::templates::product_ids(conn, t)?,
        None => Vec::new(),
    };
    let person: Option<(String, Option<String>, Option<String>)> = if email.is_empty() {
        None
    } else {
        users::table
            .filter(crate::db::lower(users::email).eq(email.to_lowercase()))
            .select((users::full_name, users::department, users::job_title))
            .first(conn)
            .optional()?
    };
    let (full_name, department, job_title) = person.unwrap_or_default();
    Ok(OnboardingDefaults {
        product_ids,
        full_name,
        department: department.unwrap_or_default(),
        job_title: job_title.unwrap_or_default(),
    })
}

/// Every access the person ever had, with who granted and who revoked it, for the
/// offboarding report.
pub struct ReportRow {
    pub product: String,
    pub granted_at: String,
    pub granted_by: String,
    pub revoked_at: String,
    pub revoked_by: String,
    pub note: String,
}

/// One grant of the report, as selected (columns in order).
#[derive(Queryable)]
struct ReportGrant {
    product: String,
    granted_at: DateTime<Utc>,
    granted_by: Option<String>,
    revoked_at: Option<DateTime<Utc>>,
    revoked_by: Option<String>,
    revoke_note: String,
}

fn report(conn: &mut PgConnection, person_id: PersonId) -> Result<Vec<ReportRow>, AppError> {
    let (granter, revoker) = diesel::alias!(users as granter, users as revoker);
    let rows: Vec<ReportGrant> = access_grants::table
        .inner_join(products::table.inner_join(services::table))
        .left_join(
            granter.on(granter
                .field(users::id)
                .nullable()
                .eq(access_grants::granted_by)),
        )
        .left_join(
            revoker.on(revoker
                .field(users::id)
                .nullable()
                .eq(access_grants::revoked_by)),
        )
        .filter(access_grants::user_id.eq(person_id))
        .order((
            services::name.asc(),
            products::name.asc(),
            access_grants::granted_at.asc(),
        ))
        .select((
            services::name.concat(" → ").concat(products::name),
            access_grants::granted_at,
            granter.field(users::full_name).nullable(),
            access_grants::revoked_at,
            revoker.field(users::full_name).nullable(),
            access_grants::revoke_note,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| ReportRow {
            product: r.product,
            granted_at: format_time(r.granted_at),
            granted_by: r.granted_by.unwrap_or_default(),
            revoked_at: r
                .revoked_at
                .map(format_time)
                .unwrap_or_else(|| "STILL ACTIVE".into()),
            revoked_by: r.revoked_by.unwrap_or_default(),
            note: r.revoke_note,
        })
        .collect())
}
