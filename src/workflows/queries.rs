//! Workflow reads: the list with progress, a workflow's tasks, "my tasks", a task's page,
//! and the offboarding evidence report.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use serde::Deserialize;

use super::assign;
use crate::authz::Actor;
use crate::db::schema::{access_grants, products, services, tasks, users, workflows};
use crate::error::AppError;
use crate::inventory::queries::format_time;
use crate::payments::queries::today;
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
    pub id: i64,
    pub kind: String,
    pub person_id: i64,
    pub person_name: String,
    pub effective_on: NaiveDate,
    pub status: String,
    pub created_at: String,
    pub progress: Progress,
}

/// Progress per workflow, in one grouped query.
fn progress_of(conn: &mut PgConnection, ids: &[i64]) -> Result<HashMap<i64, Progress>, AppError> {
    let today = today();
    let rows: Vec<(i64, String, NaiveDate, i64)> = tasks::table
        .filter(tasks::workflow_id.eq_any(ids))
        .group_by((tasks::workflow_id, tasks::status, tasks::due_on))
        .select((
            tasks::workflow_id,
            tasks::status,
            tasks::due_on,
            count_star(),
        ))
        .load(conn)?;
    let mut out: HashMap<i64, Progress> = HashMap::new();
    for (id, status, due, n) in rows {
        let late = due < today;
        let p = out.entry(id).or_default();
        match status.as_str() {
            "done" => p.done += n,
            "open" => {
                p.open += n;
                if late {
                    p.overdue += n;
                }
            }
            _ => p.closed_other += n,
        }
    }
    Ok(out)
}

pub fn list(
    conn: &mut PgConnection,
    f: &WorkflowFilter,
) -> Result<(Vec<WorkflowRow>, i64), AppError> {
    let filtered = || {
        let mut q = workflows::table.inner_join(users::table).into_boxed();
        if !f.kind.is_empty() {
            q = q.filter(workflows::kind.eq(f.kind.clone()));
        }
        match f.status_or_default() {
            "all" => {}
            s => q = q.filter(workflows::status.eq(s.to_string())),
        }
        q
    };
    let total: i64 = filtered().count().get_result(conn)?;
    let rows: Vec<(i64, String, i64, String, NaiveDate, String, DateTime<Utc>)> = filtered()
        .order(workflows::id.desc())
        .select((
            workflows::id,
            workflows::kind,
            workflows::person_id,
            users::full_name,
            workflows::effective_on,
            workflows::status,
            workflows::created_at,
        ))
        .limit(PER_PAGE)
        .offset(Pager::offset(f.page.unwrap_or(1)))
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let progress = progress_of(conn, &ids)?;
    Ok((
        rows.into_iter()
            .map(|r| WorkflowRow {
                progress: progress.get(&r.0).copied().unwrap_or_default(),
                id: r.0,
                kind: r.1,
                person_id: r.2,
                person_name: r.3,
                effective_on: r.4,
                status: r.5,
                created_at: format_time(r.6),
            })
            .collect(),
        total,
    ))
}

#[derive(Clone)]
pub struct TaskRow {
    pub id: i64,
    pub workflow_id: i64,
    pub kind: String,
    pub product_id: i64,
    pub product: String,
    pub person_id: i64,
    pub person: String,
    pub status: String,
    pub due_on: NaiveDate,
    pub overdue: bool,
    pub completed_by: String,
    pub completed_at: String,
    pub note: String,
    pub assignees: String,
}

type TaskTuple = (
    i64,
    i64,
    String,
    i64,
    String,
    i64,
    String,
    String,
    NaiveDate,
    Option<i64>,
    Option<DateTime<Utc>>,
    String,
);

fn task_rows(
    conn: &mut PgConnection,
    rows: Vec<TaskTuple>,
    with_assignees: bool,
) -> Result<Vec<TaskRow>, AppError> {
    let today = today();
    let completer_ids: Vec<i64> = rows.iter().filter_map(|r| r.9).collect();
    let names: HashMap<i64, String> = users::table
        .filter(users::id.eq_any(completer_ids))
        .select((users::id, users::full_name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let mut out = Vec::new();
    for r in rows {
        let assignees = if with_assignees && r.7 == "open" {
            let (ids, role) = assign::assignees(conn, r.3, r.5)?;
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
            overdue: r.7 == "open" && r.8 < today,
            completed_by: r
                .9
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_default(),
            completed_at: r.10.map(format_time).unwrap_or_default(),
            id: r.0,
            workflow_id: r.1,
            kind: r.2,
            product_id: r.3,
            product: r.4,
            person_id: r.5,
            person: r.6,
            status: r.7,
            due_on: r.8,
            note: r.11,
            assignees,
        });
    }
    Ok(out)
}

macro_rules! task_select {
    () => {
        (
            tasks::id,
            tasks::workflow_id,
            tasks::kind,
            tasks::product_id,
            services::name.concat(" → ").concat(products::name),
            workflows::person_id,
            users::full_name,
            tasks::status,
            tasks::due_on,
            tasks::completed_by,
            tasks::completed_at,
            tasks::note,
        )
    };
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
        self.handovers.iter().filter(|h| h.status == "open").count()
    }
}

pub fn detail(conn: &mut PgConnection, id: i64) -> Result<WorkflowDetail, AppError> {
    let (kind, person_id, status, effective_on, created_at, cancel_reason, started_by): (
        String,
        i64,
        String,
        NaiveDate,
        DateTime<Utc>,
        String,
        Option<i64>,
    ) = workflows::table
        .find(id)
        .select((
            workflows::kind,
            workflows::person_id,
            workflows::status,
            workflows::effective_on,
            workflows::created_at,
            workflows::cancel_reason,
            workflows::started_by,
        ))
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    let person_name: String = users::table
        .find(person_id)
        .select(users::full_name)
        .first(conn)?;
    let started_by: String = match started_by {
        Some(s) => users::table
            .find(s)
            .select(users::full_name)
            .first(conn)
            .optional()?
            .unwrap_or_default(),
        None => String::new(),
    };
    let rows: Vec<TaskTuple> = tasks::table
        .inner_join(products::table.inner_join(services::table))
        .inner_join(workflows::table.inner_join(users::table))
        .filter(tasks::workflow_id.eq(id))
        .order((tasks::status.desc(), tasks::due_on.asc(), tasks::id.asc()))
        .select(task_select!())
        .load(conn)?;
    let tasks = task_rows(conn, rows, true)?;
    let progress = progress_of(conn, &[id])?.remove(&id).unwrap_or_default();
    Ok(WorkflowDetail {
        row: WorkflowRow {
            id,
            kind,
            person_id,
            person_name,
            effective_on,
            status,
            created_at: format_time(created_at),
            progress,
        },
        tasks,
        handovers: super::handover::list(conn, id)?,
        cancel_reason,
        started_by,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TaskFilter {
    #[serde(default)]
    pub kind: String,
    /// "overdue" to see only overdue tasks.
    #[serde(default)]
    pub due: String,
}

/// The actor's open tasks, overdue first.
pub fn my_tasks(
    conn: &mut PgConnection,
    actor: &Actor,
    f: &TaskFilter,
) -> Result<Vec<TaskRow>, AppError> {
    let q = tasks::table.inner_join(products::table).into_boxed();
    let mine_ids: Vec<i64> = assign::mine(actor, q)
        .filter(tasks::status.eq("open"))
        .select(tasks::id)
        .load(conn)?;
    let mut q = tasks::table
        .inner_join(products::table.inner_join(services::table))
        .inner_join(workflows::table.inner_join(users::table))
        .filter(tasks::id.eq_any(mine_ids))
        .into_boxed();
    if !f.kind.is_empty() {
        q = q.filter(tasks::kind.eq(f.kind.clone()));
    }
    if f.due == "overdue" {
        q = q.filter(tasks::due_on.lt(today()));
    }
    let rows: Vec<TaskTuple> = q
        .order((tasks::due_on.asc(), tasks::id.asc()))
        .limit(500)
        .select(task_select!())
        .load(conn)?;
    task_rows(conn, rows, false)
}

/// One task, if the actor may see it (an assignee or an Admin); others get 404.
pub fn task(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<TaskRow, AppError> {
    let rows: Vec<TaskTuple> = tasks::table
        .inner_join(products::table.inner_join(services::table))
        .inner_join(workflows::table.inner_join(users::table))
        .filter(tasks::id.eq(id))
        .select(task_select!())
        .load(conn)?;
    let row = task_rows(conn, rows, true)?
        .pop()
        .ok_or(AppError::NotFound)?;
    let allowed = actor.is_admin()
        || (row.status == "open"
            && assign::may_complete(conn, actor, row.product_id, row.person_id)?)
        || (row.status != "open"
            && tasks::table
                .find(id)
                .select(tasks::completed_by)
                .first::<Option<i64>>(conn)?
                == Some(actor.id));
    if allowed {
        Ok(row)
    } else {
        Err(AppError::NotFound)
    }
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

pub fn report(conn: &mut PgConnection, person_id: i64) -> Result<Vec<ReportRow>, AppError> {
    let (granter, revoker) = diesel::alias!(users as granter, users as revoker);
    let rows: Vec<(
        String,
        DateTime<Utc>,
        Option<String>,
        Option<DateTime<Utc>>,
        Option<String>,
        String,
    )> = access_grants::table
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
            product: r.0,
            granted_at: format_time(r.1),
            granted_by: r.2.unwrap_or_default(),
            revoked_at: r
                .3
                .map(format_time)
                .unwrap_or_else(|| "STILL ACTIVE".into()),
            revoked_by: r.4.unwrap_or_default(),
            note: r.5,
        })
        .collect())
}
